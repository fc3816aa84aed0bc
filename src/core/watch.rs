//! Status events: a session followed in the background and its listener called once per status
//! change, in order, and exactly once with the final status.
//!
//! Threads: each client with watched sessions has one poller thread, which reads the statuses
//! of that client's watched sessions when they are due (paced as `Session::wait` paces its
//! reads: `poll_interval` growing while nothing changes, `webhook_poll_interval` for sessions
//! followed by webhook). Every listener of the process is called on one dispatcher thread, one
//! call at a time, so a listener never runs concurrently with another, and stopping any watch
//! from inside a listener cannot wait for a listener running elsewhere. Both kinds of thread
//! start when needed and end when idle: the library runs at most one thread per client with
//! watched sessions plus one.
//!
//! A status change reaches the listener whoever learnt it: the poller, a webhook merged by
//! `Client::handle_webhook`, a `poll`/`wait` of the till, or a `cancel`.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, Weak};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use super::error::{Code, Error, Result};
use super::fork::ForkLock;
use super::http::Limits;
use super::jitter::AFTER_RETRY_AFTER;
use super::log::{log, Level};
use super::session::Session;
use super::status::Status;

/// Called with each status; the last call has a terminal status.
pub type Listener = Box<dyn FnMut(Status) + Send>;

/// How long an idle dispatcher thread stays for the next event before it ends.
const DISPATCHER_LINGER: Duration = Duration::from_secs(5);

/// A session's current watch, if any (a field of `Session`).
#[derive(Default)]
pub struct Slot(Mutex<Option<Arc<Watch>>>);

impl Slot {
    fn get(&self) -> Option<Arc<Watch>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn take(&self) -> Option<Arc<Watch>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

pub struct Watch {
    /// The process that started the watch. A forked child's copy is inert: its listener is
    /// never called there, and ending it waits for nothing (the parent's threads do not exist
    /// in the child).
    pid: u32,
    session: Weak<Session>,
    poller: Arc<Poller>,
    listener: Mutex<Listener>,
    state: Mutex<State>,
    /// Signalled when a listener call returns.
    idle: Condvar,
}

struct State {
    /// The status last queued for the listener.
    queued: Option<Status>,
    /// Nothing more will be queued: the final status is queued, or the watch was stopped.
    closed: bool,
    /// Stopped by the till: calls still queued are dropped.
    stopped: bool,
    /// The final call has returned.
    finished: bool,
    /// The thread running the listener right now.
    running: Option<ThreadId>,
    /// When the poller reads the status next, and how many reads found no change.
    next_poll: Instant,
    unchanged_polls: u32,
}

impl Watch {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the session's status for the listener when it differs from the last one queued.
    /// The status is read under the watch's lock, so concurrent callers queue in order.
    fn observe(self: &Arc<Self>, session: &Session) {
        if self.pid != std::process::id() {
            return;
        }
        let mut st = self.lock();
        if st.closed {
            return;
        }
        let status = session.status();
        if st.queued == Some(status) {
            return;
        }
        st.queued = Some(status);
        let last = status.is_terminal();
        if last {
            st.closed = true;
            self.poller.wake.notify_all();
        }
        dispatch(Event {
            watch: self.clone(),
            status,
            last,
        });
    }

    /// Ends the watch: no call starts after this returns, and a call running on another thread
    /// has returned. Called from inside this watch's own listener it returns at once (that call
    /// is the caller's own; none follows it).
    fn stop(&self) {
        let mut st = self.lock();
        st.stopped = true;
        st.closed = true;
        self.poller.wake.notify_all();
        let me = thread::current().id();
        while let Some(running) = st.running {
            if running == me || self.pid != std::process::id() {
                return;
            }
            st = self.idle.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        drop(st);
        self.release_listener();
    }

    /// Waits until the final call has returned (or the watch was stopped meanwhile).
    fn wait_finished(&self) {
        if self.pid != std::process::id() {
            return;
        }
        let mut st = self.lock();
        while !(st.finished || st.stopped) || st.running.is_some() {
            st = self.idle.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Drops the till's listener (and what it holds) once it will not be called again.
    fn release_listener(&self) {
        *self.listener.lock().unwrap_or_else(|e| e.into_inner()) = Box::new(|_| {});
    }
}

impl Session {
    /// Follows the session in the background, calling `listener` first with the current
    /// status, then once per change, the last time with a terminal status. Replaces (and first
    /// stops, see [`Session::unwatch`]) a watch the session already has.
    pub fn watch(self: &Arc<Self>, listener: Listener) -> Result<()> {
        self.unwatch();
        let key = Arc::as_ptr(self.client()) as usize;
        let mut pollers = POLLERS.lock().unwrap_or_else(|e| e.into_inner());
        let (poller, new) = match pollers.get(&key) {
            // A poller of the parent of a forked process has no thread here.
            Some(p) if p.pid == std::process::id() => (p.clone(), false),
            _ => {
                let p = Arc::new(Poller {
                    key,
                    pid: std::process::id(),
                    watches: Mutex::default(),
                    wake: Condvar::new(),
                });
                pollers.insert(key, p.clone());
                (p, true)
            }
        };
        let first_poll = if self.by_webhook() {
            Instant::now() + self.client().config.webhook_poll_interval
        } else {
            Instant::now()
        };
        let watch = Arc::new(Watch {
            pid: std::process::id(),
            session: Arc::downgrade(self),
            poller: poller.clone(),
            listener: Mutex::new(listener),
            state: Mutex::new(State {
                queued: None,
                closed: false,
                stopped: false,
                finished: false,
                running: None,
                next_poll: first_poll,
                unchanged_polls: 0,
            }),
            idle: Condvar::new(),
        });
        poller.lock().push(watch.clone());
        if new {
            let p = poller.clone();
            let spawned = thread::Builder::new()
                .name("kpos-poller".into())
                .spawn(move || p.run());
            if let Err(e) = spawned {
                pollers.remove(&key);
                return Err(Error::new(
                    Code::Internal,
                    format!("the status poller thread could not be started: {e}"),
                ));
            }
        } else {
            poller.wake.notify_all();
        }
        drop(pollers);
        *self.watch.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(watch.clone());
        watch.observe(self);
        Ok(())
    }

    /// Ends the session's watch, if any, without a final call. When it returns, the listener is
    /// not running and will not run again, except when called from inside that listener: then
    /// the running call (the caller's own) is the last one.
    pub fn unwatch(&self) {
        if let Some(w) = self.watch.take() {
            w.stop();
        }
    }

    /// Tells the session's watch, if any, that its status may have changed.
    pub(super) fn watch_changed(&self) {
        if let Some(w) = self.watch.get() {
            w.observe(self);
        }
    }

    /// Ends the watch after a `cancel`: once the session is terminal (the cancel succeeded, or
    /// the payment COMPLETED first), after the final call has returned; when the cancel left it
    /// live (it failed), without a final call. On the listener thread (a listener cancelling) it
    /// does not wait: the final call comes after the running listener returns.
    pub fn end_watch_after_cancel(&self) {
        let Some(w) = self.watch.get() else {
            return;
        };
        if !self.status().is_terminal() {
            self.unwatch();
            return;
        }
        w.observe(self);
        if !ON_DISPATCHER.with(Cell::get) {
            w.wait_finished();
        }
    }
}

/// One listener call.
struct Event {
    watch: Arc<Watch>,
    status: Status,
    last: bool,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Event>,
    /// The process whose dispatcher thread is running, if any (after a fork, the child has no
    /// thread of its parent's).
    running: Option<u32>,
}

static QUEUE: LazyLock<Mutex<Queue>> = LazyLock::new(Mutex::default);
/// Signalled when an event is queued.
static READY: Condvar = Condvar::new();

/// The listener queue's lock, for the fork handlers (see `fork.rs`).
pub(crate) fn queue_fork_lock() -> &'static dyn ForkLock {
    &QUEUE
}

/// The pollers' registry lock, for the fork handlers.
pub(crate) fn pollers_fork_lock() -> &'static dyn ForkLock {
    &POLLERS
}

thread_local! {
    /// This thread is the dispatcher (it calls the listeners).
    static ON_DISPATCHER: Cell<bool> = const { Cell::new(false) };
}

fn dispatch(event: Event) {
    let mut q = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
    q.events.push_back(event);
    let pid = std::process::id();
    if q.running == Some(pid) {
        READY.notify_one();
        return;
    }
    q.running = Some(pid);
    let spawned = thread::Builder::new()
        .name("kpos-events".into())
        .spawn(run_dispatcher);
    if let Err(e) = spawned {
        // Tried again with the next event; meanwhile the queue keeps the calls in order.
        q.running = None;
        drop(q);
        log!(
            Level::Error,
            "the listener thread could not be started ({e}); status events wait for the next change"
        );
    }
}

fn run_dispatcher() {
    ON_DISPATCHER.with(|d| d.set(true));
    loop {
        let event = {
            let mut q = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(e) = q.events.pop_front() {
                    break e;
                }
                let (guard, timeout) = READY
                    .wait_timeout(q, DISPATCHER_LINGER)
                    .unwrap_or_else(|e| e.into_inner());
                q = guard;
                if timeout.timed_out() && q.events.is_empty() {
                    q.running = None;
                    return;
                }
            }
        };
        deliver(event);
    }
}

fn deliver(event: Event) {
    let w = &event.watch;
    {
        let mut st = w.lock();
        if st.stopped {
            return;
        }
        st.running = Some(thread::current().id());
    }
    let outcome = {
        let mut listener = w.listener.lock().unwrap_or_else(|e| e.into_inner());
        catch_unwind(AssertUnwindSafe(|| listener(event.status)))
    };
    if outcome.is_err() {
        log!(
            Level::Error,
            "a status listener panicked; its call was skipped"
        );
    }
    let done = {
        let mut st = w.lock();
        st.running = None;
        if event.last {
            st.finished = true;
        }
        st.finished || st.stopped
    };
    w.idle.notify_all();
    if done {
        w.release_listener();
    }
}

/// The poller of one client's watched sessions.
struct Poller {
    /// The client's address, its key in [`POLLERS`].
    key: usize,
    /// The process the poller's thread runs in.
    pid: u32,
    watches: Mutex<Vec<Arc<Watch>>>,
    /// Signalled when a watch is added or closed.
    wake: Condvar,
}

static POLLERS: LazyLock<Mutex<HashMap<usize, Arc<Poller>>>> = LazyLock::new(Mutex::default);

impl Poller {
    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Watch>>> {
        self.watches.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(self: Arc<Self>) {
        while let Some(watch) = self.next_due() {
            let Some(session) = watch.session.upgrade() else {
                watch.stop();
                continue;
            };
            let before = session.status();
            let config = &session.client().config;
            let read = session.fetch(Limits {
                min_pause: config.poll_interval,
                ..Limits::default()
            });
            if let Err(e) = read {
                log!(
                    Level::Info,
                    "session {}: status read for its listener failed, reading again later: {}",
                    session.id(),
                    e
                );
            }
            // `fetch` merged the answer, which queued any change for the listener.
            let mut st = watch.lock();
            if session.status() == before {
                st.unchanged_polls += 1;
            } else {
                st.unchanged_polls = 0;
            }
            let paced = Instant::now() + session.poll_pause(st.unchanged_polls);
            // Klarna's Retry-After: nothing is sent before it ends anyway; then the read comes
            // at a random moment of the next second.
            let transport = session.client().transport();
            st.next_poll = match transport.not_before() {
                Some(t) => paced.max(t + transport.jitter().up_to(AFTER_RETRY_AFTER)),
                None => paced,
            };
        }
    }

    /// The watch whose status read is due next, after sleeping until it is due; `None` (and the
    /// poller is unregistered) once no watch is left.
    fn next_due(&self) -> Option<Arc<Watch>> {
        let mut watches = self.lock();
        loop {
            watches.retain(|w| !w.lock().closed);
            if watches.is_empty() {
                drop(watches);
                let mut pollers = POLLERS.lock().unwrap_or_else(|e| e.into_inner());
                watches = self.lock();
                if watches.is_empty() {
                    if pollers
                        .get(&self.key)
                        .is_some_and(|p| std::ptr::eq(&**p, self))
                    {
                        pollers.remove(&self.key);
                    }
                    return None;
                }
                continue;
            }
            let (due, at) = watches
                .iter()
                .map(|w| (w, w.lock().next_poll))
                .min_by_key(|(_, at)| *at)
                .expect("not empty");
            let now = Instant::now();
            if at <= now {
                return Some(due.clone());
            }
            watches = self
                .wake
                .wait_timeout(watches, at - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_listener_does_not_stop_the_dispatcher() {
        // Events are delivered through the real queue; the watch here has no session.
        let poller = Arc::new(Poller {
            key: 0,
            pid: std::process::id(),
            watches: Mutex::default(),
            wake: Condvar::new(),
        });
        let seen = Arc::new(Mutex::new(Vec::new()));
        let make = |panics: bool| {
            let seen = seen.clone();
            Arc::new(Watch {
                pid: std::process::id(),
                session: Weak::new(),
                poller: poller.clone(),
                listener: Mutex::new(Box::new(move |s: Status| {
                    seen.lock().unwrap().push((panics, s));
                    if panics {
                        panic!("listener fails");
                    }
                })),
                state: Mutex::new(State {
                    queued: None,
                    closed: false,
                    stopped: false,
                    finished: false,
                    running: None,
                    next_poll: Instant::now(),
                    unchanged_polls: 0,
                }),
                idle: Condvar::new(),
            })
        };
        let (bad, good) = (make(true), make(false));
        for (w, status) in [(&bad, Status::Completed), (&good, Status::Expired)] {
            dispatch(Event {
                watch: w.clone(),
                status,
                last: true,
            });
        }
        good.wait_finished();
        bad.wait_finished();
        assert_eq!(
            *seen.lock().unwrap(),
            [(true, Status::Completed), (false, Status::Expired)]
        );
    }
}
