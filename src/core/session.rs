//! The client (configuration + transport) and one in-store payment session: creation, status
//! following through Klarna's `result_url`, waiting, and cancellation.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::config::Config;
use super::error::{Code, Error, Result};
use super::http::{Interrupt, Limits, Method, Request, Response, Retry, Transport};
use super::journal::{Journal, RecordId};
use super::log::{log, Level};
use super::order;
use super::status::Status;
use super::url;
use super::webhook::{self, CallbackQuery};

/// After this many polls without a change, the interval grows (Klarna's rate limits are per
/// merchant, shared by every till of the shop).
const POLLS_AT_FLOOR: u32 = 10;
/// The interval never grows beyond this multiple of the configured floor.
const MAX_BACKOFF_FACTOR: u32 = 5;

pub struct Client {
    pub config: Config,
    transport: Transport,
    /// Callback references and tokens of this client's sessions (with `webhook_url`).
    webhooks: webhook::Registry,
    /// The crash-safe record of in-flight work, when `journal_dir` is configured.
    journal: Option<Journal>,
}

/// What a verified webhook did: the session it belongs to and the status after merging it.
pub struct WebhookOutcome {
    pub session: Arc<Session>,
    pub status: Status,
}

impl Client {
    pub fn new(config: Config) -> Result<Client> {
        let transport = Transport::new(&config)?;
        let journal = match &config.journal_dir {
            Some(dir) => Some(Journal::open(dir)?),
            None => None,
        };
        log!(
            Level::Info,
            "client for {} (connect timeout {} ms, request timeout {} ms)",
            config.api_url,
            config.connect_timeout.as_millis(),
            config.request_timeout.as_millis()
        );
        Ok(Client {
            config,
            transport,
            webhooks: webhook::Registry::default(),
            journal,
        })
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// Validates the order locally, records it in the journal (when configured), then creates
    /// the session with one POST (never repeated automatically: a second POST could start a
    /// second payment). With `webhook_url` configured, the session gets its own callback URL.
    pub fn create_session(self: &Arc<Self>, order_json: &str) -> Result<Arc<Session>> {
        let reservation = match &self.config.webhook_url {
            Some(base) => Some(self.webhooks.reserve(base)?),
            None => None,
        };
        let prepared = order::prepare_session_request(
            order_json,
            self.config.allow_insecure_http,
            reservation.as_ref().map(|r| r.url()),
        )?;
        let record = match &self.journal {
            Some(j) => Some(j.open_session(
                prepared.order_amount,
                prepared.merchant_reference1.as_deref(),
            )?),
            None => None,
        };
        let url = format!("{}/payments/v1/sessions", self.config.api_url);
        let answer = self
            .transport
            .send(
                &Request {
                    method: Method::Post,
                    url: &url,
                    body: Some(prepared.body.as_bytes()),
                    retry: Retry::Never,
                    idempotency_key: None,
                },
                Limits::default(),
            )
            .and_then(|resp| self.parse_create_answer(&resp));
        let (session_id, result_url) = match answer {
            Ok(created) => created,
            Err(e) => {
                if let Some(r) = &record {
                    // Refused for good: no session exists. Otherwise one may: the record stays.
                    if is_definitive_refusal(&e) {
                        self.close_record(r, "REFUSED");
                    }
                }
                return Err(e);
            }
        };
        if let (Some(j), Some(r)) = (&self.journal, &record) {
            if let Err(e) = j.session_created(r, &session_id, &result_url) {
                log!(
                    Level::Warn,
                    "session {}: the journal could not record its id ({}); after a crash it \
                     would be listed without one",
                    session_id,
                    e
                );
            }
        }
        log!(
            Level::Info,
            "session {} created ({} minor units {}{})",
            session_id,
            prepared.order_amount,
            prepared.purchase_currency,
            if reservation.is_some() {
                ", status by webhook"
            } else {
                ""
            }
        );
        let session = Arc::new(Session::new(
            self.clone(),
            session_id,
            result_url,
            reservation.is_some(),
            record,
        ));
        if let Some(r) = reservation {
            r.publish(&session);
        }
        Ok(session)
    }

    /// Closes a journal record after the request; a failure only leaves it open (logged),
    /// which makes the work show up as pending again: harmless to repeat.
    pub(crate) fn close_record(&self, record: &RecordId, outcome: &str) {
        if let Some(j) = &self.journal {
            if let Err(e) = j.close(record, outcome) {
                log!(
                    Level::Warn,
                    "journal: a finished record could not be closed ({}); it stays pending",
                    e
                );
            }
        }
    }

    /// Verifies a webhook call and merges its status into its session. `request` is the URL,
    /// request target or query the callback was received on, `body` its body; both are untrusted
    /// bytes.
    ///
    /// The token is checked before anything else, so a forged call changes nothing. A status
    /// goes through [`Session::apply`] like a polled one, so late, repeated and reordered calls
    /// never move a session backwards. A COMPLETED is not taken from the callback: as Klarna
    /// advises, the library confirms it with a GET of the result_url (bounded by the request
    /// timeout) and the session takes the status that answer gives.
    pub fn handle_webhook(&self, request: &[u8], body: &[u8]) -> Result<WebhookOutcome> {
        let refused = |e: Error| {
            log!(Level::Warn, "webhook call refused: {}", e.message);
            e
        };
        let query = CallbackQuery::parse(request).map_err(refused)?;
        let session = self
            .webhooks
            .find(&query, self.config.request_timeout)
            .map_err(refused)?;
        let payload = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|json| {
                let named = json.get("session_id").and_then(Value::as_str);
                if named.is_some_and(|id| id != session.id) {
                    return None;
                }
                StatusPayload::parse(&json)
            })
            .ok_or_else(|| {
                refused(Error::new(
                    Code::BadRequest,
                    format!(
                        "session {}: the webhook body is not a status payload of this session",
                        session.id
                    ),
                ))
            })?;
        log!(
            Level::Info,
            "session {}: webhook reports {}",
            session.id,
            payload.status.name()
        );
        let status = if payload.status == Status::Completed && session.status() != Status::Completed
        {
            session
                .fetch(Limits {
                    deadline: Some(Instant::now() + self.config.request_timeout),
                    ..Limits::default()
                })
                .map_err(unconfirmed)?
        } else {
            session.apply(payload)
        };
        Ok(WebhookOutcome { session, status })
    }

    /// Continues a session created earlier (e.g. before a till restart). Its status comes from
    /// polling: callbacks for it cannot be verified, since their token lived in the old process.
    pub fn resume_session(
        self: &Arc<Self>,
        session_id: &str,
        result_url: &str,
    ) -> Result<Arc<Session>> {
        if session_id.trim().is_empty() || session_id.chars().any(|c| c.is_control() || c == '/') {
            return Err(Error::invalid_argument("session_id is empty or malformed"));
        }
        self.check_result_url(result_url)
            .map_err(|m| Error::invalid_argument(format!("result_url {}", m)))?;
        // A journaled session closes its record when it ends, whichever process ends it.
        let record = match &self.journal {
            Some(j) => j.find_session(session_id)?,
            None => None,
        };
        Ok(Arc::new(Session::new(
            self.clone(),
            session_id.to_string(),
            result_url.to_string(),
            false,
            record,
        )))
    }

    fn parse_create_answer(&self, resp: &Response) -> Result<(String, String)> {
        let json = resp.json()?;
        let protocol = |what: &str| {
            let mut e = Error::new(Code::Protocol, format!("Klarna's session answer {}", what));
            e.http_status = Some(resp.status);
            e.correlation_id = resp.correlation_id().map(str::to_string);
            e
        };
        let session_id = json
            .get("session_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| protocol("has no session_id"))?;
        let result_url = json
            .pointer("/distribution/result_url")
            .and_then(Value::as_str)
            .ok_or_else(|| protocol("has no distribution.result_url"))?;
        self.check_result_url(result_url)
            .map_err(|m| protocol(&format!("has an unusable result_url: {}", m)))?;
        Ok((session_id.to_string(), result_url.to_string()))
    }

    fn check_result_url(&self, result_url: &str) -> std::result::Result<(), String> {
        url::require_secure(result_url, self.config.allow_insecure_http)
    }
}

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
    state: Mutex<State>,
    changed: Condvar,
    interrupt: Interrupt,
    /// The journal record, taken (and closed) once the session is terminal.
    record: Mutex<Option<RecordId>>,
}

impl Session {
    fn new(
        client: Arc<Client>,
        id: String,
        result_url: String,
        by_webhook: bool,
        record: Option<RecordId>,
    ) -> Session {
        Session {
            client,
            id,
            result_url,
            by_webhook,
            record: Mutex::new(record),
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

    fn fetch(&self, limits: Limits<'_>) -> Result<Status> {
        let resp = self.client.transport.send(
            &Request {
                method: Method::Get,
                url: &self.result_url,
                body: None,
                retry: Retry::Safe,
                idempotency_key: None,
            },
            limits,
        )?;
        let json = resp.json()?;
        let payload = StatusPayload::parse(&json).ok_or_else(|| {
            let mut e = Error::new(Code::Protocol, "the status answer has no status field");
            e.http_status = Some(resp.status);
            e.correlation_id = resp.correlation_id().map(str::to_string);
            e
        })?;
        Ok(self.apply(payload))
    }

    /// Merges a status payload (from a poll or, later, a webhook) and returns the resulting
    /// status. Terminal statuses are final; progress never goes backwards.
    pub fn apply(&self, payload: StatusPayload) -> Status {
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
        self.close_record_if_terminal(status);
        status
    }

    fn close_record_if_terminal(&self, status: Status) {
        if !status.is_terminal() {
            return;
        }
        let record = self.record.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(r) = record {
            self.client.close_record(&r, status.name());
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
            if let Some(outcome) = self.settled(epoch) {
                return outcome;
            }
            if Instant::now() >= next_poll {
                match self.fetch(Limits {
                    deadline: Some(deadline),
                    interrupt: Some((&self.interrupt, epoch)),
                    min_pause: self.client.config.poll_interval,
                }) {
                    Ok(_) => last_error = None,
                    Err(e) if e.code == Code::Cancelled => {}
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
                if let Some(outcome) = self.settled(epoch) {
                    return outcome;
                }
                unchanged_polls += 1;
                next_poll = Instant::now() + self.poll_pause(unchanged_polls);
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
    /// nothing changes; the webhook safety-net interval for sessions followed by webhook.
    fn poll_pause(&self, unchanged_polls: u32) -> Duration {
        let config = &self.client.config;
        if self.by_webhook {
            return config.webhook_poll_interval;
        }
        let factor = if unchanged_polls <= POLLS_AT_FLOOR {
            1
        } else {
            (1 + (unchanged_polls - POLLS_AT_FLOOR) / 5).min(MAX_BACKOFF_FACTOR)
        };
        config.poll_interval * factor
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
    fn settled(&self, epoch: u64) -> Option<Result<Status>> {
        let mut st = self.lock();
        if self.interrupt.epoch() != epoch {
            while st.cancels_in_flight > 0 {
                st.waiters += 1;
                st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
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

    fn send_delete(&self) -> Result<()> {
        let url = format!(
            "{}/payments/v1/sessions/{}",
            self.client.config.api_url,
            url::encode_path_segment(&self.id)
        );
        self.client
            .transport
            .send(
                &Request {
                    method: Method::Delete,
                    url: &url,
                    body: None,
                    retry: Retry::Safe,
                    idempotency_key: None,
                },
                Limits::default(),
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

/// A confirming GET that failed. Its answer must not look like a verdict on the callback (403
/// forged, 404 unknown, 400 malformed): whatever Klarna said, the callback itself was authentic,
/// so the till should answer 503 and Klarna deliver it again. Klarna's refusals become
/// `Unknown`, keeping their detail; transport failures keep their code.
fn unconfirmed(mut e: Error) -> Error {
    if matches!(
        e.code,
        Code::PermissionDenied | Code::NotFound | Code::BadRequest | Code::Conflict
    ) {
        e.code = Code::Unknown;
    }
    e.message = format!(
        "the callback's COMPLETED could not be confirmed with Klarna: {}",
        e.message
    );
    e
}

/// Whether Klarna refused a request for good (a 4xx other than 408 and 429): nothing happened
/// and repeating it unchanged cannot succeed.
pub(crate) fn is_definitive_refusal(e: &Error) -> bool {
    e.http_status
        .is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429)
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

/// A distribution status payload, read tolerantly (`qr_code` or `qr`, both spellings of
/// cancelled, unknown statuses).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusPayload {
    pub status: Status,
    pub raw_status: String,
    pub qr_url: Option<String>,
    pub payment_link: Option<String>,
    pub order_id: Option<String>,
    pub klarna_reference: Option<String>,
    pub failure: Option<Error>,
}

impl StatusPayload {
    /// `None` when the payload has no status string at all.
    pub fn parse(json: &Value) -> Option<StatusPayload> {
        let text = |k: &str| {
            json.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let raw_status = text("status")?;
        let status = Status::from_klarna(&raw_status);
        let failure = (status == Status::Failed).then(|| distribution_failure(json.get("error")));
        Some(StatusPayload {
            status,
            raw_status,
            qr_url: text("qr_code").or_else(|| text("qr")),
            payment_link: text("payment_link"),
            order_id: text("order_id"),
            klarna_reference: text("klarna_reference"),
            failure,
        })
    }
}

/// Maps the `error` of a FAILED distribution to the in-store guide's three codes.
fn distribution_failure(error: Option<&Value>) -> Error {
    let code = error
        .and_then(|e| e.get("code").or_else(|| e.get("error_code")))
        .and_then(Value::as_str)
        .map(str::to_string);
    let message = error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mapped = match code.as_deref() {
        Some("BAD_REQUEST") => Code::BadRequest,
        Some("PERMISSION_DENIED") => Code::PermissionDenied,
        _ => Code::Unknown,
    };
    let mut e = Error::new(
        mapped,
        format!(
            "Klarna reported the payment FAILED ({}){}{}",
            code.as_deref().unwrap_or("no error code"),
            if message.is_empty() { "" } else { ": " },
            message
        ),
    );
    e.klarna_error_code = code;
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payload_reads_qr_under_either_name() {
        let p = StatusPayload::parse(&json!({"status":"DISTRIBUTED","qr":"https://q"})).unwrap();
        assert_eq!(p.qr_url.as_deref(), Some("https://q"));
        let p =
            StatusPayload::parse(&json!({"status":"DISTRIBUTED","qr_code":"https://c"})).unwrap();
        assert_eq!(p.qr_url.as_deref(), Some("https://c"));
    }

    #[test]
    fn distribution_errors_map_to_the_guides_three_codes() {
        for (k, code) in [
            ("BAD_REQUEST", Code::BadRequest),
            ("PERMISSION_DENIED", Code::PermissionDenied),
            ("UNKNOWN", Code::Unknown),
            ("INTERNAL_ERROR", Code::Unknown),
            ("SOMETHING_NEW", Code::Unknown),
        ] {
            let p = StatusPayload::parse(&json!({"status":"FAILED","error":{"code":k}})).unwrap();
            let f = p.failure.unwrap();
            assert_eq!(f.code, code, "{}", k);
            assert_eq!(f.klarna_error_code.as_deref(), Some(k));
        }
    }

    #[test]
    fn payload_without_status_is_rejected() {
        assert!(StatusPayload::parse(&json!({"qr":"x"})).is_none());
    }
}
