//! One in-store payment session, the state machine behind a session handle: status following
//! through Klarna's `result_url` (polls, waits with backoff, statuses merged from webhooks, never
//! moving backwards), and cancellation. Sessions are made by [`Client`], which each keeps alive.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use super::client::Client;
use super::error::{Code, Error, Result};
use super::http::{Interrupt, Limits, Method, Request, Retry};
use super::jitter;
use super::journal::{Finished, RecordId};
use super::log::{self, log, Level};
use super::status::{Status, StatusPayload};
use super::url;
use super::watch;

/// After this many polls without a change, the interval grows (Klarna's rate limits are per
/// merchant, shared by every till of the shop).
const POLLS_AT_FLOOR: u32 = 10;
/// The interval never grows beyond this multiple of the configured floor.
const MAX_BACKOFF_FACTOR: u32 = 5;

/// What is known about a session. Write-once fields (`qr_url`, `payment_link`, `order_id`) are
/// set the first time they are seen and never replaced, so pointers handed to C stay valid.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub status: Option<Status>,
    pub qr_url: Option<String>,
    pub payment_link: Option<String>,
    pub order_id: Option<String>,
    pub klarna_reference: Option<String>,
    pub failure: Option<Error>,
    /// When this process first saw the session terminal.
    pub finished_at: Option<SystemTime>,
}

/// What the till asked for, as far as this process knows it: a session resumed without an open
/// journal record knows nothing of it.
#[derive(Debug, Clone, Default)]
pub struct Sale {
    pub order_amount: Option<i64>,
    pub purchase_currency: Option<String>,
    pub merchant_reference1: Option<String>,
    pub merchant_reference2: Option<String>,
}

struct State {
    snapshot: Snapshot,
    /// Highest known progress step seen; older updates never move the session back.
    progress: u8,
    /// The status last returned to the caller by `poll`/`wait`.
    last_reported: Status,
    /// Number of `cancel` calls with a DELETE in flight.
    cancels_in_flight: u32,
    /// Threads waiting on `changed`: a change with nobody waiting wakes nobody (std's notify
    /// is a system call even then).
    waiters: u32,
}

pub struct Session {
    client: Arc<Client>,
    id: String,
    result_url: String,
    /// Klarna reports this session's changes by webhook; polling is only the safety net.
    by_webhook: bool,
    sale: Sale,
    state: Mutex<State>,
    changed: Condvar,
    interrupt: Interrupt,
    /// The journal record, taken (and closed) once the session is terminal.
    record: Mutex<Option<RecordId>>,
    /// The confirming GET in flight for webhook callbacks, shared by concurrent ones.
    confirming: Mutex<Option<Arc<Confirmation>>>,
    /// The background watch calling the till's listener (see `watch.rs`).
    pub(super) watch: watch::Slot,
}

/// One confirming GET and its outcome, awaited by every callback that needs it.
#[derive(Default)]
struct Confirmation {
    outcome: Mutex<Option<Result<Status>>>,
    done: Condvar,
}

impl Session {
    pub(super) fn new(
        client: Arc<Client>,
        id: String,
        result_url: String,
        by_webhook: bool,
        sale: Sale,
        record: Option<RecordId>,
    ) -> Session {
        Session {
            client,
            id,
            result_url,
            by_webhook,
            sale,
            record: Mutex::new(record),
            confirming: Mutex::new(None),
            watch: watch::Slot::default(),
            state: Mutex::new(State {
                snapshot: Snapshot::default(),
                progress: 0,
                last_reported: Status::Created,
                cancels_in_flight: 0,
                waiters: 0,
            }),
            changed: Condvar::new(),
            interrupt: Interrupt::default(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn result_url(&self) -> &str {
        &self.result_url
    }

    pub fn sale(&self) -> &Sale {
        &self.sale
    }

    pub(super) fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// Klarna reports this session's changes by webhook (polling is the safety net).
    pub(super) fn by_webhook(&self) -> bool {
        self.by_webhook
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn status(&self) -> Status {
        self.lock().snapshot.status.unwrap_or(Status::Created)
    }

    pub fn snapshot(&self) -> Snapshot {
        self.lock().snapshot.clone()
    }

    /// One status request.
    pub fn poll(&self) -> Result<Status> {
        let status = self.fetch(Limits::default())?;
        self.lock().last_reported = status;
        Ok(status)
    }

    /// Confirms a callback's COMPLETED with a GET of the result_url. Callbacks arriving while
    /// one is in flight share it (a burst of duplicates costs one read); each caller waits at
    /// most until its `deadline` (`Err(Timeout)` then).
    pub(super) fn confirm(&self, deadline: Instant) -> Result<Status> {
        let (flight, leader) = {
            let mut slot = self.confirming.lock().unwrap_or_else(|e| e.into_inner());
            let status = self.status();
            if status == Status::Completed {
                return Ok(status);
            }
            match &*slot {
                Some(f) => (f.clone(), false),
                None => {
                    let f = Arc::new(Confirmation::default());
                    *slot = Some(f.clone());
                    (f, true)
                }
            }
        };
        if leader {
            let outcome = self.fetch(Limits {
                deadline: Some(deadline),
                ..Limits::default()
            });
            // Whoever comes next finds the merged status, or starts a read of its own.
            *self.confirming.lock().unwrap_or_else(|e| e.into_inner()) = None;
            *flight.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome.clone());
            flight.done.notify_all();
            return outcome;
        }
        let mut outcome = flight.outcome.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(o) = &*outcome {
                return o.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::new(
                    Code::Timeout,
                    "the confirming status read did not finish within request_timeout_ms",
                ));
            }
            outcome = flight
                .done
                .wait_timeout(outcome, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    pub(super) fn fetch(&self, limits: Limits<'_>) -> Result<Status> {
        let resp = self.client.transport().send(
            &Request {
                method: Method::Get,
                url: &self.result_url,
                body: None,
                retry: Retry::Safe,
                idempotency_key: None,
            },
            limits,
        )?;
        let fields = resp.parse().map(|o: super::http::Object<_>| o.0)?;
        let payload = StatusPayload::parse(&fields).ok_or_else(|| {
            Error::protocol(
                "the status answer has no status field",
                resp.status,
                resp.correlation_id(),
            )
        })?;
        Ok(self.apply(payload))
    }

    /// Merges a status payload (from a poll or, later, a webhook) and returns the resulting
    /// status. Terminal statuses are final; progress never goes backwards.
    pub fn apply(&self, payload: StatusPayload) -> Status {
        // Lines logged under the state lock reach the callback after it is released.
        let _quiet = log::defer();
        let mut st = self.lock();
        let current = st.snapshot.status.unwrap_or(Status::Created);
        if !current.is_terminal() {
            let rank = progress_rank(payload.status);
            if payload.status == Status::Unknown {
                log!(
                    Level::Warn,
                    "session {}: unknown status {:?} from Klarna, treated as UNKNOWN",
                    self.id,
                    payload.raw_status
                );
                st.snapshot.status = Some(Status::Unknown);
            } else if rank >= st.progress {
                st.progress = rank;
                st.snapshot.status = Some(payload.status);
            }
        }
        let snap = &mut st.snapshot;
        let status = snap.status.unwrap_or(Status::Created);
        if snap.qr_url.is_none() {
            snap.qr_url = payload.qr_url;
        }
        if snap.payment_link.is_none() {
            snap.payment_link = payload.payment_link;
        }
        if status == Status::Completed {
            if snap.order_id.is_none() {
                snap.order_id = payload.order_id;
            }
            if snap.klarna_reference.is_none() {
                snap.klarna_reference = payload.klarna_reference;
            }
        }
        if status == Status::Failed && snap.failure.is_none() {
            snap.failure = payload.failure;
        }
        if status.is_terminal() && snap.finished_at.is_none() {
            snap.finished_at = Some(SystemTime::now());
        }
        if status != current {
            log!(
                Level::Info,
                "session {}: {} -> {}",
                self.id,
                current.name(),
                status.name()
            );
        }
        let wake = st.waiters > 0;
        drop(st);
        if wake {
            self.changed.notify_all();
        }
        self.watch_changed();
        self.close_record_if_terminal(status);
        status
    }

    fn close_record_if_terminal(&self, status: Status) {
        if !status.is_terminal() {
            return;
        }
        let record = self.record.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(r) = record {
            let snap = self.snapshot();
            let failure_code = snap
                .failure
                .map(|e| e.klarna_error_code.unwrap_or_else(|| e.code.name().into()));
            let finished = Finished {
                session_id: Some(self.id.clone()),
                order_id: snap.order_id,
                klarna_reference: snap.klarna_reference,
                failure_code,
                created_id: None,
            };
            self.client.close_record(&r, status.name(), &finished);
        }
    }

    /// The mapped failure when the session FAILED.
    pub fn failure(&self) -> Option<Error> {
        let st = self.lock();
        match st.snapshot.status {
            Some(Status::Failed) => Some(st.snapshot.failure.clone().unwrap_or_else(|| {
                Error::new(
                    Code::Unknown,
                    "Klarna reported the session FAILED without detail",
                )
            })),
            _ => None,
        }
    }

    /// Blocks until the status differs from the one last reported, is terminal, the timeout
    /// passes (`Timeout`), or `cancel` is called (`Cancelled`, unless the payment completed
    /// meanwhile, which wins). A status merged from a webhook meanwhile ends the wait at once;
    /// a session whose status comes by webhook is polled only every `webhook_poll_interval`,
    /// starting after the first interval.
    pub fn wait(&self, timeout: Duration) -> Result<Status> {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut unchanged_polls = 0u32;
        let mut last_error: Option<Error> = None;
        let epoch = self.interrupt.epoch();
        let mut next_poll = if self.by_webhook {
            started + self.client.config.webhook_poll_interval
        } else {
            started
        };
        loop {
            if let Some(outcome) = self.settled(epoch, deadline) {
                return outcome;
            }
            if Instant::now() >= next_poll {
                match self.fetch(Limits {
                    deadline: Some(deadline),
                    interrupt: Some((&self.interrupt, epoch)),
                    min_pause: self.client.config.poll_interval,
                    ..Limits::default()
                }) {
                    Ok(_) => last_error = None,
                    Err(e) if e.code == Code::Cancelled => {}
                    // A rate limit included: the wait goes on until its deadline (a webhook may
                    // still bring the change), reading again once Klarna's Retry-After is over.
                    Err(e) if is_worth_waiting_through(&e) => {
                        log!(
                            Level::Info,
                            "session {}: status read failed, waiting on: {}",
                            self.id,
                            e
                        );
                        last_error = Some(e);
                    }
                    Err(e) => return Err(e),
                }
                if let Some(outcome) = self.settled(epoch, deadline) {
                    return outcome;
                }
                unchanged_polls += 1;
                next_poll = Instant::now() + self.poll_pause(unchanged_polls);
                if let Some(allowed) = self.client.transport().not_before() {
                    // Nothing is sent before Klarna's Retry-After ends; then resume at a random
                    // moment of the next second.
                    let spread = self
                        .client
                        .transport()
                        .jitter()
                        .up_to(jitter::AFTER_RETRY_AFTER);
                    next_poll = next_poll.max(allowed + spread);
                }
            }
            if Instant::now() >= deadline {
                let mut e = Error::new(
                    Code::Timeout,
                    format!(
                        "the status did not change within {} ms",
                        timeout.as_millis()
                    ),
                );
                if let Some(last) = last_error {
                    e.message
                        .push_str(&format!(" (last status read failed: {})", last));
                }
                return Err(e);
            }
            self.sleep_until(next_poll.min(deadline), epoch);
        }
    }

    /// The pause before the next status read of `wait`: the configured floor, growing while
    /// nothing changes; the webhook safety-net interval for sessions followed by webhook. Either
    /// is lengthened by a random part of up to a quarter (the client's jitter), so that the reads
    /// of many tills, and of many sessions of one till, do not stay in step.
    pub(super) fn poll_pause(&self, unchanged_polls: u32) -> Duration {
        let config = &self.client.config;
        let base = if self.by_webhook {
            config.webhook_poll_interval
        } else {
            let factor = if unchanged_polls <= POLLS_AT_FLOOR {
                1
            } else {
                (1 + (unchanged_polls - POLLS_AT_FLOOR) / 5).min(MAX_BACKOFF_FACTOR)
            };
            config.poll_interval * factor
        };
        base + self
            .client
            .transport()
            .jitter()
            .up_to(base / jitter::POLL_SPREAD_DIVISOR)
    }

    /// Sleeps until `until`, or until the status changes unreported (a webhook, another thread's
    /// poll) or a cancel after `epoch` finishes, whichever comes first.
    fn sleep_until(&self, until: Instant, epoch: u64) {
        let mut st = self.lock();
        loop {
            let status = st.snapshot.status.unwrap_or(Status::Created);
            if self.interrupt.epoch() != epoch || status != st.last_reported || status.is_terminal()
            {
                return;
            }
            let now = Instant::now();
            if now >= until {
                return;
            }
            st.waiters += 1;
            st = self
                .changed
                .wait_timeout(st, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            st.waiters -= 1;
        }
    }

    /// `Some` when `wait` should return now: a change since the last report, a terminal
    /// status, or a cancellation (after waiting for the cancel's DELETE to finish).
    ///
    /// The cancel's DELETE is waited for until the wait's deadline, or one request timeout
    /// after the cancel when that is later: the wait keeps its bound of timeout plus one
    /// request timeout even when the DELETE never answers.
    fn settled(&self, epoch: u64, deadline: Instant) -> Option<Result<Status>> {
        let mut st = self.lock();
        if self.interrupt.epoch() != epoch {
            let patience = deadline.max(Instant::now() + self.client.config.request_timeout);
            while st.cancels_in_flight > 0 {
                let now = Instant::now();
                if now >= patience {
                    break;
                }
                st.waiters += 1;
                st = self
                    .changed
                    .wait_timeout(st, patience - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                st.waiters -= 1;
            }
            let status = st.snapshot.status.unwrap_or(Status::Created);
            st.last_reported = status;
            return Some(if status == Status::Completed {
                Ok(status)
            } else {
                Err(Error::new(
                    Code::Cancelled,
                    "the wait was interrupted by kpos_session_cancel",
                ))
            });
        }
        let status = st.snapshot.status.unwrap_or(Status::Created);
        if status != st.last_reported || status.is_terminal() {
            st.last_reported = status;
            return Some(Ok(status));
        }
        None
    }

    /// Cancels the payment with Klarna. Callable from any thread; idempotent. `Conflict` once
    /// the payment COMPLETED (refund instead).
    pub fn cancel(&self) -> Result<()> {
        let _quiet = log::defer();
        {
            let mut st = self.lock();
            match st.snapshot.status {
                Some(Status::Completed) => return Err(completed_conflict()),
                Some(s) if s.is_terminal() => return Ok(()),
                _ => {}
            }
            st.cancels_in_flight += 1;
        }
        self.interrupt.trigger();
        let result = self.send_delete();
        let mut st = self.lock();
        st.cancels_in_flight -= 1;
        let outcome = match result {
            Ok(()) => {
                if !st.snapshot.status.is_some_and(Status::is_terminal) {
                    st.snapshot.status = Some(Status::Canceled);
                    st.snapshot.finished_at = Some(SystemTime::now());
                    log!(Level::Info, "session {}: cancelled by the till", self.id);
                }
                match st.snapshot.status {
                    Some(Status::Completed) => Err(completed_conflict()),
                    _ => Ok(()),
                }
            }
            Err(e) => Err(e),
        };
        let status = st.snapshot.status.unwrap_or(Status::Created);
        let wake = st.waiters > 0;
        drop(st);
        if wake {
            self.changed.notify_all();
        }
        self.watch_changed();
        self.close_record_if_terminal(status);
        match outcome {
            Err(e) if e.code == Code::Conflict => {
                // Klarna refused: learn the real state so the till sees COMPLETED.
                let _ = self.fetch(Limits::default());
                Err(e)
            }
            other => other,
        }
    }

    /// The DELETE of a cancel. Klarna's `Retry-After` for this client does not refuse it: the
    /// cancel waits for the window to end when it ends within one `request_timeout`, and is sent
    /// then (a till that gave up on a payment must be able to cancel it); a longer window gives
    /// `RateLimited` with nothing sent.
    fn send_delete(&self) -> Result<()> {
        let url = format!(
            "{}/payments/v1/sessions/{}",
            self.client.config.api_url,
            url::encode_path_segment(&self.id)
        );
        self.client
            .transport()
            .send(
                &Request {
                    method: Method::Delete,
                    url: &url,
                    body: None,
                    retry: Retry::Safe,
                    idempotency_key: None,
                },
                Limits {
                    retry_after_patience: Some(self.client.config.request_timeout),
                    ..Limits::default()
                },
            )
            .map(|_| ())
    }
}

fn completed_conflict() -> Error {
    Error::new(
        Code::Conflict,
        "the payment is already COMPLETED and cannot be cancelled; refund it instead",
    )
}

/// Failures after which `wait` keeps polling until its deadline instead of giving up.
fn is_worth_waiting_through(e: &Error) -> bool {
    matches!(
        e.code,
        Code::Network | Code::Timeout | Code::RateLimited | Code::Protocol
    ) || (e.code == Code::Unknown && e.http_status.is_some_and(|s| s >= 500))
}

fn progress_rank(s: Status) -> u8 {
    match s {
        Status::Created | Status::Unknown => 0,
        Status::Waiting => 1,
        Status::Distributed => 2,
        Status::Accessed => 3,
        Status::Completed | Status::Canceled | Status::Failed | Status::Expired => 4,
    }
}
