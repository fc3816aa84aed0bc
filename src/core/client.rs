//! The client: one configuration, one transport (connection pool, pacing, retries), the
//! callback registry and the journal, shared by every session it creates. It creates sessions,
//! resumes sessions created earlier, and verifies webhook calls. The Order Management methods
//! (read an order, capture, refund, cancel, release) are on `Client` too, in `orders.rs`.
//!
//! `client` and `session` use each other, the one import circle in `src/core`: the client
//! creates sessions, and a session keeps its client alive (an `Arc<Client>`) because its status
//! reads, its cancel and its journal record go through the client's transport, configuration
//! and journal, also after the till freed its client handle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use super::config::Config;
use super::error::{Code, Error, Result};
use super::http::{Limits, Method, Object, Request, Response, Retry, Text, Transport};
use super::journal::{Finished, Journal, RecordId};
use super::log::{log, Level};
use super::order;
use super::session::{Sale, Session};
use super::status::{Status, StatusPayload};
use super::url;
use super::webhook::{self, CallbackQuery};

pub struct Client {
    pub config: Config,
    transport: Transport,
    /// Callback references and tokens of this client's sessions (with `webhook_url`).
    webhooks: webhook::Registry<Session>,
    /// Resumed sessions of this client by id, when `webhook_secret` makes their callbacks
    /// verifiable.
    resumed: Mutex<HashMap<String, Weak<Session>>>,
    /// The crash-safe record of in-flight work, when `journal_dir` is configured.
    journal: Option<Journal>,
    /// api_url's origin, where result_urls must be.
    api_origin: url::Origin,
    /// Where sessions are created (written once, not per create).
    sessions_url: String,
}

/// Which statuses of an authenticated callback's body a session takes as they are; the others
/// it learns with a status read instead.
#[derive(Clone, Copy)]
enum Believe {
    /// The token was made for this very session (its reference is in the registry): every
    /// status but COMPLETED, which Klarna advises to confirm.
    AllButCompleted,
    /// The token authenticates the callback URL, not the session its body names (a resumed
    /// session, whose reference this process never saw): none; a callback that would change
    /// the session only makes it read its status.
    Nothing,
}

/// What a verified webhook did.
pub struct WebhookOutcome {
    /// Klarna's id of the session the callback is about.
    pub session_id: String,
    /// The session's status after merging the callback; for a callback only authenticated by
    /// `webhook_secret` (no live session here), the status it reports, not confirmed (a
    /// COMPLETED included).
    pub status: Status,
}

impl Client {
    pub fn new(config: Config) -> Result<Client> {
        let transport = Transport::new(&config)?;
        let api_origin =
            url::Origin::of(&config.api_url).map_err(|m| Error::bad_config("api_url", m))?;
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
            transport,
            webhooks: webhook::Registry::default(),
            resumed: Mutex::default(),
            journal,
            api_origin,
            sessions_url: format!("{}/payments/v1/sessions", config.api_url),
            config,
        })
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// The journal, and with it the history, for a call that needs them (`what`): a client
    /// without `journal_dir` has neither, and asking it is the caller's mistake.
    pub fn journal_for(&self, what: &str) -> Result<&Journal> {
        self.journal().ok_or_else(|| {
            Error::invalid_argument(format!(
                "the client has no journal: {what} needs journal_dir in its config"
            ))
        })
    }

    /// Validates the order locally, records it in the journal (when configured), then creates
    /// the session with one POST (never repeated automatically: a second POST could start a
    /// second payment). With `webhook_url` configured, the session gets its own callback URL.
    pub fn create_session(self: &Arc<Self>, order_json: &str) -> Result<Arc<Session>> {
        let reservation = match &self.config.webhook_url {
            Some(base) => Some(
                self.webhooks
                    .reserve(base, self.config.webhook_keys.as_ref())?,
            ),
            None => None,
        };
        let prepared = order::prepare_session_request(
            order_json,
            self.config.allow_insecure_http,
            reservation.as_ref().map(|r| r.url()),
        )?;
        let record = match &self.journal {
            Some(j) => Some(j.open_session(&prepared)?),
            None => None,
        };
        let answer = self
            .transport
            .send(
                &Request {
                    method: Method::Post,
                    url: &self.sessions_url,
                    body: Some(prepared.body.as_bytes()),
                    retry: Retry::Never,
                    idempotency_key: None,
                },
                Limits::default(),
            )
            .and_then(|resp| read_create_answer(&resp, |u| self.check_result_url(u)));
        let (session_id, result_url) = match answer {
            Ok(created) => created,
            Err(e) => {
                if let Some(r) = &record {
                    // Refused for good: no session exists. Otherwise one may: the record stays.
                    if is_definitive_refusal(&e) {
                        self.close_record(r, "REFUSED", &Finished::default());
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
        let sale = Sale {
            order_amount: Some(prepared.order_amount),
            purchase_currency: Some(prepared.purchase_currency),
            merchant_reference1: prepared.merchant_reference1,
            merchant_reference2: prepared.merchant_reference2,
        };
        let session = Arc::new(Session::new(
            self.clone(),
            session_id,
            result_url,
            reservation.is_some(),
            sale,
            record,
        ));
        if let Some(r) = reservation {
            r.publish(&session);
        }
        Ok(session)
    }

    /// Closes a journal record after the request, adding the finished work to the history
    /// with `finished` (see [`Journal::close`]); a failure only leaves it open (logged), which
    /// makes the work show up as pending again: harmless to repeat.
    pub(crate) fn close_record(&self, record: &RecordId, outcome: &str, finished: &Finished) {
        if let Some(j) = &self.journal {
            if let Err(e) = j.close(record, outcome, finished) {
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
    ///
    /// With `webhook_secret`, a callback whose reference no session created here has is
    /// authenticated by its MAC instead. The MAC vouches for the callback URL, not for the
    /// session its body names, so a resumed session of that name takes no status from the body:
    /// a callback that would change it makes it read its status (one GET). When this client has
    /// no such session (a chain's receiver), the callback is reported as it is, unconfirmed and
    /// applied to nothing.
    pub fn handle_webhook(&self, request: &[u8], body: &[u8]) -> Result<WebhookOutcome> {
        // One bound for the whole call: waiting for a session still being created and the
        // confirming GET share it.
        let deadline = Instant::now() + self.config.request_timeout;
        let query = CallbackQuery::parse(request).map_err(refused)?;
        match self.webhooks.find(&query, self.config.request_timeout) {
            Ok(session) => self.apply_callback(&session, body, deadline, Believe::AllButCompleted),
            Err(e) if e.code == Code::NotFound => match &self.config.webhook_keys {
                Some(keys) => {
                    if !query.authenticated_by(keys) {
                        return Err(refused(Error::new(
                            Code::PermissionDenied,
                            "the callback's token is no MAC of its reference under \
                             webhook_secret or webhook_secret_previous: forged, altered or made \
                             with another secret",
                        )));
                    }
                    self.authenticated_callback(body, deadline)
                }
                None => Err(refused(e)),
            },
            Err(e) => Err(refused(e)),
        }
    }

    /// A callback authenticated by `webhook_secret` with no session created here: news for the
    /// resumed session its body names, else reported as it is.
    fn authenticated_callback(&self, body: &[u8], deadline: Instant) -> Result<WebhookOutcome> {
        let not_a_payload = || {
            refused(Error::new(
                Code::BadRequest,
                "the webhook body is not a status payload naming its session_id",
            ))
        };
        let fields = StatusPayload::read(body).map_err(|_| not_a_payload())?;
        // The id goes into log lines and to the receiver's routing: a plausible one only.
        let session_id = fields
            .session_id
            .non_empty()
            .filter(|id| id.len() <= MAX_CALLBACK_SESSION_ID && is_session_id(id))
            .ok_or_else(not_a_payload)?
            .to_string();
        let payload = StatusPayload::parse(&fields).ok_or_else(not_a_payload)?;
        if let Some(session) = self.resumed(&session_id) {
            // The token authenticates the callback URL, not which session the body names: a
            // resumed session takes no status from a body, it reads its own.
            return self.apply_callback(&session, body, deadline, Believe::Nothing);
        }
        log!(
            Level::Info,
            "session {}: authenticated webhook reports {} (no live session here; not confirmed)",
            session_id,
            payload.status.name()
        );
        Ok(WebhookOutcome {
            session_id,
            status: payload.status,
        })
    }

    /// The live resumed session `session_id`, if this client has one.
    fn resumed(&self, session_id: &str) -> Option<Arc<Session>> {
        let mut resumed = self.resumed.lock().unwrap_or_else(|e| e.into_inner());
        resumed.retain(|_, r| r.strong_count() > 0);
        resumed.get(session_id).and_then(Weak::upgrade)
    }

    /// Merges an authenticated callback's status into `session`, confirming with one status
    /// read what `believe` does not take from the body.
    fn apply_callback(
        &self,
        session: &Arc<Session>,
        body: &[u8],
        deadline: Instant,
        believe: Believe,
    ) -> Result<WebhookOutcome> {
        let payload = StatusPayload::read(body)
            .ok()
            .and_then(|fields| {
                let named = fields.session_id.text.as_deref();
                if named.is_some_and(|id| id != session.id()) {
                    return None;
                }
                StatusPayload::parse(&fields)
            })
            .ok_or_else(|| {
                refused(Error::new(
                    Code::BadRequest,
                    format!(
                        "session {}: the webhook body is not a status payload of this session",
                        session.id()
                    ),
                ))
            })?;
        log!(
            Level::Info,
            "session {}: webhook reports {}",
            session.id(),
            payload.status.name()
        );
        let now = session.status();
        let confirm = match believe {
            Believe::AllButCompleted => {
                payload.status == Status::Completed && now != Status::Completed
            }
            Believe::Nothing => payload.status != now && !now.is_terminal(),
        };
        let status = if confirm {
            session.confirm(deadline).map_err(unconfirmed)?
        } else {
            session.apply(payload)
        };
        Ok(WebhookOutcome {
            session_id: session.id().to_string(),
            status,
        })
    }

    /// Continues a session created earlier (e.g. before a till restart). Its status comes from
    /// polling; with `webhook_secret`, its callbacks are verified and applied too (without it
    /// they cannot be: their token lived in the old process).
    pub fn resume_session(
        self: &Arc<Self>,
        session_id: &str,
        result_url: &str,
    ) -> Result<Arc<Session>> {
        if !is_session_id(session_id) {
            return Err(Error::invalid_argument("session_id is empty or malformed"));
        }
        self.check_result_url(result_url)
            .map_err(|m| Error::bad_config("result_url", format!("result_url {}", m)))?;
        // A journaled session closes its record when it ends, whichever process ends it.
        let (record, sale) = match &self.journal {
            Some(j) => j.find_session(session_id)?.unzip(),
            None => (None, None),
        };
        let session = Arc::new(Session::new(
            self.clone(),
            session_id.to_string(),
            result_url.to_string(),
            false,
            sale.unwrap_or_default(),
            record,
        ));
        if self.config.webhook_keys.is_some() {
            let mut resumed = self.resumed.lock().unwrap_or_else(|e| e.into_inner());
            resumed.retain(|_, r| r.strong_count() > 0);
            resumed.insert(session_id.to_string(), Arc::downgrade(&session));
        }
        Ok(session)
    }

    /// A result_url is read with the client's credentials, so it must be on api_url's origin
    /// (Klarna's lives on the API host); a foreign or downgraded one is refused before anything
    /// is sent.
    fn check_result_url(&self, result_url: &str) -> std::result::Result<(), String> {
        url::require_secure_on(
            result_url,
            &self.api_origin,
            self.config.allow_insecure_http,
        )
    }
}

/// The session id and result URL of Klarna's answer to a session create.
/// `check` is the client's rule for a result_url (see `Client::check_result_url`).
fn read_create_answer(
    resp: &Response,
    check: impl Fn(&str) -> std::result::Result<(), String>,
) -> Result<(String, String)> {
    let Object(answer) = resp.parse::<Object<CreateAnswer>>()?;
    let protocol = |what: &str| {
        Error::protocol(
            format!("Klarna's session answer {what}"),
            resp.status,
            resp.correlation_id(),
        )
    };
    let session_id = answer
        .session_id
        .non_empty()
        .ok_or_else(|| protocol("has no session_id"))?;
    let result_url = answer
        .distribution
        .0
        .result_url
        .text
        .as_deref()
        .ok_or_else(|| protocol("has no distribution.result_url"))?;
    check(result_url).map_err(|m| {
        let mut e = protocol(&format!("has an unusable result_url: {}", m));
        e.field = Some("result_url".into());
        e
    })?;
    Ok((session_id.to_string(), result_url.to_string()))
}

/// What is read of Klarna's answer to a session create (other fields are skipped unread).
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct CreateAnswer<'a> {
    #[serde(borrow)]
    session_id: Text<'a>,
    #[serde(borrow)]
    distribution: Object<Distribution<'a>>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Distribution<'a> {
    #[serde(borrow)]
    result_url: Text<'a>,
}

/// Longest session id a callback body may name (Klarna's are UUIDs, 36 characters).
const MAX_CALLBACK_SESSION_ID: usize = 256;

/// Whether `id` can be a session id: not blank, no control characters, no `/` (it goes into
/// request paths and log lines).
fn is_session_id(id: &str) -> bool {
    !id.trim().is_empty() && !id.chars().any(|c| c.is_control() || c == '/')
}

/// Logs a refused webhook call (the message never holds its token) and passes the error on.
fn refused(e: Error) -> Error {
    log!(Level::Warn, "webhook call refused: {}", e.message);
    e
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Result<(String, String)> {
        read_create_answer(&Response::for_test(200, &[], body.as_bytes()), |u| {
            url::require_secure(u, false)
        })
    }

    #[test]
    fn the_create_answer_gives_id_and_result_url_whatever_else_it_holds() {
        let (id, url) = read(
            r#"{"client_token":"t","session_id":"s-1","payment_method_categories":[{"a":1}],
                "distribution":{"x":null,"result_url":"https:\/\/k\/r?dt=1"}}"#,
        )
        .unwrap();
        assert_eq!((id.as_str(), url.as_str()), ("s-1", "https://k/r?dt=1"));
    }

    #[test]
    fn a_create_answer_without_usable_fields_is_a_protocol_error_naming_the_field() {
        for (body, says) in [
            (
                r#"{"distribution":{"result_url":"https://k/r"}}"#,
                "has no session_id",
            ),
            (
                r#"{"session_id":"","distribution":{"result_url":"https://k/r"}}"#,
                "has no session_id",
            ),
            (
                r#"{"session_id":7,"distribution":{"result_url":"https://k/r"}}"#,
                "has no session_id",
            ),
            (r#"[1,2]"#, "has no session_id"),
            (r#"{"session_id":"s"}"#, "has no distribution.result_url"),
            (
                r#"{"session_id":"s","distribution":["https://k/r"]}"#,
                "has no distribution.result_url",
            ),
            (
                r#"{"session_id":"s","distribution":{"result_url":null}}"#,
                "has no distribution.result_url",
            ),
            (
                r#"{"session_id":"s","distribution":{"result_url":"http://k/r"}}"#,
                "unusable result_url",
            ),
            ("<html>", "not JSON"),
        ] {
            let e = read(body).unwrap_err();
            assert_eq!(e.code, Code::Protocol, "{body}");
            assert!(e.message.contains(says), "{body}: {}", e.message);
            assert_eq!(e.http_status, Some(200));
        }
        // Not UTF-8, also in a field that is skipped unread.
        let body = b"{\"session_id\":\"s\",\"x\":\"\xff\",\"distribution\":{\"result_url\":\"https://k/r\"}}";
        let e = read_create_answer(&Response::for_test(200, &[], body), |_| Ok(())).unwrap_err();
        assert!(e.message.contains("not JSON"), "{}", e.message);
    }

    fn answer(result_url: &str) -> Response {
        let body =
            serde_json::json!({"session_id": "s-1", "distribution": {"result_url": result_url}});
        Response::for_test(200, &[], body.to_string().as_bytes())
    }

    /// A create answer naming a result_url on another origin than api_url (or a downgrade to
    /// http) is a protocol error on field result_url: the URL is never called.
    #[test]
    fn a_create_answer_with_a_foreign_result_url_is_refused() {
        let config = Config::from_json(
            r#"{"api_url":"https://api.klarna.com","username":"u","password":"p"}"#,
        )
        .unwrap();
        let client = Client::new(config).unwrap();
        let check = |u: &str| client.check_result_url(u);
        let ok = read_create_answer(
            &answer("https://api.klarna.com/instore/v1/d/s-1?dt=x"),
            check,
        )
        .unwrap();
        assert_eq!(ok.0, "s-1");
        for foreign in [
            "https://evil.example/instore/v1/d/s-1",
            "http://api.klarna.com/instore/v1/d/s-1",
            "https://api.klarna.com:8443/instore/v1/d/s-1",
        ] {
            let e = read_create_answer(&answer(foreign), check).unwrap_err();
            assert_eq!(e.code, Code::Protocol, "{foreign}");
            assert_eq!(e.field.as_deref(), Some("result_url"), "{foreign}");
        }
    }
}
