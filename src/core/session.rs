//! The client (configuration + transport) and one in-store payment session: creation, status
//! following through Klarna's `result_url`, waiting, and cancellation.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::config::Config;
use super::error::{Code, Error, Result};
use super::http::{Interrupt, Limits, Method, Request, Response, Retry, Transport};
use super::log::{log, Level};
use super::order;
use super::status::Status;
use super::url;

/// After this many polls without a change, the interval grows (Klarna's rate limits are per
/// merchant, shared by every till of the shop).
const POLLS_AT_FLOOR: u32 = 10;
/// The interval never grows beyond this multiple of the configured floor.
const MAX_BACKOFF_FACTOR: u32 = 5;

pub struct Client {
    pub config: Config,
    transport: Transport,
}

impl Client {
    pub fn new(config: Config) -> Result<Client> {
        let transport = Transport::new(&config)?;
        log!(
            Level::Info,
            "client for {} (connect timeout {} ms, request timeout {} ms)",
            config.api_url,
            config.connect_timeout.as_millis(),
            config.request_timeout.as_millis()
        );
        Ok(Client { config, transport })
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Validates the order locally, then creates the session with one POST (never repeated
    /// automatically: a second POST could start a second payment).
    pub fn create_session(self: &Arc<Self>, order_json: &str) -> Result<Session> {
        let prepared = order::prepare_session_request(order_json, self.config.allow_insecure_http)?;
        let url = format!("{}/payments/v1/sessions", self.config.api_url);
        let resp = self.transport.send(
            &Request {
                method: Method::Post,
                url: &url,
                body: Some(prepared.body.as_bytes()),
                retry: Retry::Never,
                idempotency_key: None,
            },
            Limits::default(),
        )?;
        let (session_id, result_url) = self.parse_create_answer(&resp)?;
        log!(
            Level::Info,
            "session {} created ({} minor units {})",
            session_id,
            prepared.order_amount,
            prepared.purchase_currency
        );
        Ok(Session::new(self.clone(), session_id, result_url))
    }

    /// Continues a session created earlier (e.g. before a till restart).
    pub fn resume_session(self: &Arc<Self>, session_id: &str, result_url: &str) -> Result<Session> {
        if session_id.trim().is_empty() || session_id.chars().any(|c| c.is_control() || c == '/') {
            return Err(Error::invalid_argument("session_id is empty or malformed"));
        }
        self.check_result_url(result_url)
            .map_err(|m| Error::invalid_argument(format!("result_url {}", m)))?;
        Ok(Session::new(
            self.clone(),
            session_id.to_string(),
            result_url.to_string(),
        ))
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
}

pub struct Session {
    client: Arc<Client>,
    id: String,
    result_url: String,
    state: Mutex<State>,
    changed: Condvar,
    interrupt: Interrupt,
}

impl Session {
    fn new(client: Arc<Client>, id: String, result_url: String) -> Session {
        Session {
            client,
            id,
            result_url,
            state: Mutex::new(State {
                snapshot: Snapshot::default(),
                progress: 0,
                last_reported: Status::Created,
                cancels_in_flight: 0,
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
        drop(st);
        self.changed.notify_all();
        status
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
    /// meanwhile, which wins).
    pub fn wait(&self, timeout: Duration) -> Result<Status> {
        let started = Instant::now();
        let deadline = started + timeout;
        let floor = self.client.config.poll_interval;
        let mut unchanged_polls = 0u32;
        let mut last_error: Option<Error> = None;
        let epoch = self.interrupt.epoch();
        loop {
            if let Some(outcome) = self.settled(epoch) {
                return outcome;
            }
            match self.fetch(Limits {
                deadline: Some(deadline),
                interrupt: Some((&self.interrupt, epoch)),
                min_pause: floor,
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
            let now = Instant::now();
            if now >= deadline {
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
            let factor = if unchanged_polls <= POLLS_AT_FLOOR {
                1
            } else {
                (1 + (unchanged_polls - POLLS_AT_FLOOR) / 5).min(MAX_BACKOFF_FACTOR)
            };
            self.interrupt
                .sleep((floor * factor).min(deadline - now), epoch);
        }
    }

    /// `Some` when `wait` should return now: a change since the last report, a terminal
    /// status, or a cancellation (after waiting for the cancel's DELETE to finish).
    fn settled(&self, epoch: u64) -> Option<Result<Status>> {
        let mut st = self.lock();
        if self.interrupt.epoch() != epoch {
            while st.cancels_in_flight > 0 {
                st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
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
        drop(st);
        self.changed.notify_all();
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
            percent_encode_segment(&self.id)
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

fn percent_encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{:02X}", b));
        }
    }
    out
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

    #[test]
    fn session_ids_are_encoded_in_paths() {
        assert_eq!(percent_encode_segment("ab-1_~."), "ab-1_~.");
        assert_eq!(percent_encode_segment("a/b c"), "a%2Fb%20c");
    }
}
