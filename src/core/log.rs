//! The library's log sink. The FFI layer installs a C callback here; the core only calls
//! [`log`]. Messages must never contain credentials; personal data only at [`Level::Trace`].

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Condvar, Mutex, RwLock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl Level {
    pub fn from_u32(n: u32) -> Option<Level> {
        [
            Level::Error,
            Level::Warn,
            Level::Info,
            Level::Debug,
            Level::Trace,
        ]
        .into_iter()
        .find(|l| *l as u32 == n)
    }
}

pub type Sink = Box<dyn Fn(Level, &str) + Send + Sync>;

/// The installed sink and the count of its calls in progress.
struct Installed {
    sink: Arc<Sink>,
    max_level: Level,
    calls: Arc<Calls>,
}

#[derive(Default)]
struct Calls {
    running: Mutex<usize>,
    idle: Condvar,
}

impl Calls {
    fn enter(&self) {
        *self.running.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }

    fn exit(&self) {
        let mut n = self.running.lock().unwrap_or_else(|e| e.into_inner());
        *n -= 1;
        if *n == 0 {
            self.idle.notify_all();
        }
    }

    fn wait_idle(&self) {
        let mut n = self.running.lock().unwrap_or_else(|e| e.into_inner());
        while *n > 0 {
            n = self.idle.wait(n).unwrap_or_else(|e| e.into_inner());
        }
    }
}

static LOGGER: RwLock<Option<Installed>> = RwLock::new(None);

thread_local! {
    /// Sink calls this thread is inside of (a sink that logs, or changes the sink).
    static IN_SINK: Cell<usize> = const { Cell::new(0) };
    /// Library locks this thread holds (see [`defer`]) and the lines held back meanwhile.
    static HOLDS: Cell<usize> = const { Cell::new(0) };
    static HELD_BACK: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
}

/// Installs (or with `None` removes) the process-wide sink. When it returns, the previous sink
/// is not running on any other thread and will not be called again. Called from inside a sink
/// (a sink replacing itself) it does not wait: that call is still running.
pub fn set_sink(sink: Option<Sink>, max_level: Level) {
    let sink_level = sink.as_ref().map(|_| max_level);
    super::fork::install(None);
    let old = {
        let mut guard = LOGGER.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(
            &mut *guard,
            sink.map(|sink| Installed {
                sink: Arc::new(sink),
                max_level,
                calls: Arc::default(),
            }),
        )
    };
    if let Some(old) = old {
        if IN_SINK.with(Cell::get) == 0 {
            old.calls.wait_idle();
        }
    }
    super::log_env::callback_changed(sink_level);
}

/// Whether a message at `level` would reach the sink (to skip formatting otherwise).
pub fn enabled(level: Level) -> bool {
    if super::log_env::enabled(level) {
        return true;
    }
    let guard = LOGGER.read().unwrap_or_else(|e| e.into_inner());
    matches!(&*guard, Some(l) if level <= l.max_level)
}

/// Sends a line to the sink, or holds it back until this thread has released the library's
/// locks (see [`defer`]): a sink may call any function of the library.
pub fn emit(level: Level, message: &str) {
    // The environment's log (KLARNA_POS_LOG) at once: it calls nothing of the till's.
    super::log_env::write(level, message);
    if HOLDS.with(Cell::get) > 0 {
        HELD_BACK.with(|h| h.borrow_mut().push((level, message.to_string())));
        return;
    }
    deliver(level, message);
}

fn deliver(level: Level, message: &str) {
    // The call is counted while the read lock is held, so a `set_sink` that swapped the sink
    // out sees it and waits for it.
    let (sink, calls) = {
        let guard = LOGGER.read().unwrap_or_else(|e| e.into_inner());
        match &*guard {
            Some(l) if level <= l.max_level => {
                l.calls.enter();
                (l.sink.clone(), l.calls.clone())
            }
            _ => return,
        }
    };
    struct Leave(Arc<Calls>);
    impl Drop for Leave {
        fn drop(&mut self) {
            IN_SINK.with(|n| n.set(n.get() - 1));
            self.0.exit();
        }
    }
    IN_SINK.with(|n| n.set(n.get() + 1));
    let _leave = Leave(calls);
    sink(level, message);
}

/// Marks a stretch where this thread holds a library lock: lines logged meanwhile are sent
/// when the last such guard of the thread is dropped (after the lock is released, as long as
/// the guard is made before the lock is taken).
#[must_use]
pub struct Deferred(());

pub fn defer() -> Deferred {
    HOLDS.with(|n| n.set(n.get() + 1));
    Deferred(())
}

impl Drop for Deferred {
    fn drop(&mut self) {
        let left = HOLDS.with(|n| {
            n.set(n.get() - 1);
            n.get()
        });
        if left == 0 {
            let lines = HELD_BACK.with(|h| std::mem::take(&mut *h.borrow_mut()));
            for (level, message) in lines {
                deliver(level, &message);
            }
        }
    }
}

/// The sink's lock, held by the fork handlers across `fork`.
#[cfg(unix)]
pub(crate) fn hold_for_fork() -> Box<dyn std::any::Any> {
    Box::new(LOGGER.write().unwrap_or_else(|e| e.into_inner()))
}

/// In a forked child: calls that were running in the parent's other threads are not running
/// here, so the child counts its own from zero (the parent's count is left behind, unused).
#[cfg(unix)]
pub(crate) fn forked() {
    let mut guard = LOGGER.write().unwrap_or_else(|e| e.into_inner());
    if let Some(l) = guard.as_mut() {
        std::mem::forget(std::mem::take(&mut l.calls));
    }
}

/// `log!(Level::Debug, "fmt", args)`: formats only when the level is enabled.
macro_rules! log {
    ($level:expr, $($arg:tt)*) => {
        if $crate::core::log::enabled($level) {
            $crate::core::log::emit($level, &format!($($arg)*));
        }
    };
}
pub(crate) use log;
