//! The simulator's memory: sessions and their distribution status, the control
//! configuration, statistics and fault rules, all behind one mutex.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Map, Value};

use crate::faults::Rule;
use crate::orders::Orders;
use crate::util;
use crate::webhook::Job;

pub const DISTRIBUTED: &str = "DISTRIBUTED";
pub const ACCESSED: &str = "ACCESSED";
pub const COMPLETED: &str = "COMPLETED";
pub const CANCELED: &str = "CANCELED";
pub const FAILED: &str = "FAILED";
pub const EXPIRED: &str = "EXPIRED";

/// Klarna lets an in-store session live 46 hours.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(46 * 3600);
/// How long a short code from the store's printed QR stays usable.
pub const SHORT_CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// What a session created with an unknown, expired or used short code fails with.
pub const SHORT_CODE_ERROR: (&str, &str) = (
    "BAD_REQUEST",
    "The short code is unknown, expired or already used",
);

/// A short code handed to a customer who scanned the store's printed QR.
#[derive(Debug)]
pub struct ShortCode {
    pub issued: Instant,
    /// Set by `/_sim/short_codes/{code}/expire`, to test expiry without waiting.
    pub expired: bool,
    pub used: bool,
}

/// Terminal statuses are final for the normal state machine. The British spelling is
/// included because `/_sim/.../force` can store any raw string.
pub fn is_terminal(status: &str) -> bool {
    matches!(
        status,
        COMPLETED | CANCELED | "CANCELLED" | FAILED | EXPIRED
    )
}

/// Klarna's per-merchant request limits: session creations and other requests per second,
/// counted per API username over all connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub creates: u32,
    pub others: u32,
}

impl RateLimits {
    /// `production` (40 and 200), `playground` (5 and 50), `off`, or `CREATES/OTHERS`.
    pub fn parse(text: &str) -> Result<Option<RateLimits>, String> {
        let limits = match text {
            "off" => return Ok(None),
            "production" => RateLimits {
                creates: 40,
                others: 200,
            },
            "playground" => RateLimits {
                creates: 5,
                others: 50,
            },
            other => {
                let parsed = other
                    .split_once('/')
                    .and_then(|(c, o)| Some((c.parse().ok()?, o.parse().ok()?)));
                match parsed {
                    Some((creates, others)) if creates > 0 && others > 0 => {
                        RateLimits { creates, others }
                    }
                    _ => {
                        return Err(format!(
                            "rate limits must be production, playground, off or \
                             CREATES/OTHERS (per second, at least 1), not {other:?}"
                        ))
                    }
                }
            }
        };
        Ok(Some(limits))
    }

    pub fn to_json(limits: Option<RateLimits>) -> Value {
        match limits {
            None => json!("off"),
            Some(l) => json!(format!("{}/{}", l.creates, l.others)),
        }
    }
}

/// The window Klarna's limits are counted over.
pub const RATE_WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Config {
    /// Automatic customer: scans and approves on its own after the first poll.
    pub customer_auto: bool,
    pub auto_delay_ms: u64,
    /// When above `auto_delay_ms`: each session's customer takes a delay drawn uniformly from
    /// `auto_delay_ms..=auto_delay_max_ms` (chosen when the session is created).
    pub auto_delay_max_ms: u64,
    /// The automatic customer's clock starts when the session is created, not at its first
    /// status read (sessions with a callback URL always start it at creation).
    pub auto_start_at_creation: bool,
    /// Klarna's per-merchant limits; `None`: unlimited.
    pub rate_limits: Option<RateLimits>,
    /// How status payloads spell CANCELED (Klarna's docs use both spellings).
    pub cancel_spelling: &'static str,
    /// Name of the QR image URL field in status payloads (`qr_code` or `qr`).
    pub qr_field: &'static str,
    /// Deliver every webhook twice, as Klarna may.
    pub webhook_duplicate: bool,
    /// Capture every placed order in full at once (as merchants with instant delivery do).
    pub auto_capture: bool,
}

impl Config {
    pub fn to_json(&self) -> Value {
        json!({
            "customer": if self.customer_auto { "auto" } else { "manual" },
            "auto_delay_ms": self.auto_delay_ms,
            "auto_delay_max_ms": self.auto_delay_max_ms,
            "auto_start": if self.auto_start_at_creation { "creation" } else { "first-poll" },
            "rate_limits": RateLimits::to_json(self.rate_limits),
            "cancel_spelling": self.cancel_spelling,
            "qr_field": self.qr_field,
            "webhook_duplicate": self.webhook_duplicate,
            "auto_capture": self.auto_capture,
        })
    }

    /// Applies a partial configuration; nothing changes unless every given key is valid.
    pub fn apply(&mut self, body: &Map<String, Value>) -> Result<(), String> {
        let mut next = self.clone();
        for (key, value) in body {
            match (key.as_str(), value) {
                ("customer", Value::String(s)) if s == "auto" || s == "manual" => {
                    next.customer_auto = s == "auto";
                }
                ("auto_delay_ms", v) if v.as_u64().is_some() => {
                    next.auto_delay_ms = v.as_u64().unwrap_or_default();
                }
                ("auto_delay_max_ms", v) if v.as_u64().is_some() => {
                    next.auto_delay_max_ms = v.as_u64().unwrap_or_default();
                }
                ("auto_start", Value::String(s)) if s == "creation" || s == "first-poll" => {
                    next.auto_start_at_creation = s == "creation";
                }
                ("rate_limits", Value::String(s)) => {
                    next.rate_limits = RateLimits::parse(s)?;
                }
                ("cancel_spelling", Value::String(s)) if s == "CANCELED" || s == "CANCELLED" => {
                    next.cancel_spelling = if s == "CANCELED" {
                        "CANCELED"
                    } else {
                        "CANCELLED"
                    };
                }
                ("qr_field", Value::String(s)) if s == "qr_code" || s == "qr" => {
                    next.qr_field = if s == "qr" { "qr" } else { "qr_code" };
                }
                ("webhook_duplicate", Value::Bool(b)) => next.webhook_duplicate = *b,
                ("auto_capture", Value::Bool(b)) => next.auto_capture = *b,
                (
                    "customer" | "auto_delay_ms" | "auto_delay_max_ms" | "auto_start"
                    | "rate_limits" | "cancel_spelling" | "qr_field" | "webhook_duplicate"
                    | "auto_capture",
                    v,
                ) => {
                    return Err(format!("bad value for {key:?}: {v}"));
                }
                _ => return Err(format!("unknown config key {key:?}")),
            }
        }
        *self = next;
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct Stats {
    /// Connections whose first request was not a control request.
    pub connections: u64,
    /// Requests outside /_sim/, faulted or not.
    pub requests: u64,
    /// Every `POST /payments/v1/sessions` received, valid or not.
    pub create_requests: u64,
    pub sessions_created: u64,
    /// Every `GET` of a result_url path received.
    pub polls: u64,
    /// Every `DELETE /payments/v1/sessions/{id}` received.
    pub deletes: u64,
    pub faults_triggered: u64,
    /// Create requests whose `merchant_reference1` an earlier create request already carried:
    /// a till gives each sale its own reference, so any count here is a repeated creation.
    pub duplicate_creates: u64,
    /// Connections closed by the `close_after_answer` fault (counted once the FIN is sent).
    pub closed_after_answer: u64,
    /// Requests answered 429 by the rate limits (`--rate-limits`), creations among them.
    pub rate_limited: u64,
    pub rate_limited_creates: u64,
}

impl Stats {
    pub fn to_json(&self) -> Value {
        json!({
            "connections": self.connections,
            "requests": self.requests,
            "create_requests": self.create_requests,
            "sessions_created": self.sessions_created,
            "polls": self.polls,
            "deletes": self.deletes,
            "faults_triggered": self.faults_triggered,
            "duplicate_creates": self.duplicate_creates,
            "closed_after_answer": self.closed_after_answer,
            "rate_limited": self.rate_limited,
            "rate_limited_creates": self.rate_limited_creates,
        })
    }
}

#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub status: String,
    /// The payload as sent, kept for replays.
    pub body: String,
    pub attempts: u32,
    pub delivered: bool,
    /// HTTP status of the last attempt, or why it failed.
    pub last_result: Option<String>,
}

#[derive(Debug)]
pub struct Session {
    pub id: String,
    /// The `dt` token of the result_url: a client must call the URL exactly as returned.
    pub token: String,
    /// `http://host:port` as the creating client addressed the simulator.
    pub base_url: String,
    pub created: SystemTime,
    pub expires: SystemTime,
    /// Raw status string (the state machine only ever stores the constants above;
    /// `force` may store anything).
    pub status: String,
    pub order_id: Option<String>,
    pub klarna_reference: Option<String>,
    /// Failure code and message, set when FAILED.
    pub error: Option<(String, String)>,
    /// The create request exactly as received (lossy only if it was not UTF-8).
    pub request_body: String,
    /// Request headers of the create call, without Authorization.
    pub headers: Vec<(String, String)>,
    /// The parsed create request.
    pub order: Value,
    pub polls: u64,
    pub deletes: u64,
    /// When the automatic customer's clock started (first poll while in auto mode).
    pub auto_clock: Option<Instant>,
    /// This session's customer takes this much longer than `auto_delay_ms` to approve.
    pub auto_delay_extra_ms: u64,
    /// When the customer approved (the automatic customer's scheduled moment, even when the
    /// change is evaluated later, on the next read).
    pub approved_at: Option<SystemTime>,
    pub history: Vec<String>,
    pub webhooks: Vec<WebhookRecord>,
    /// `distribution.short_code` of a static-QR session: the payment went to the phone that
    /// scanned the store's QR, so there is no QR code or link to show.
    pub short_code: Option<String>,
}

impl Session {
    pub fn result_url(&self) -> String {
        format!(
            "{}/instore/v1/distributions/{}?dt={}",
            self.base_url, self.id, self.token
        )
    }

    pub fn payment_link(&self) -> String {
        format!("{}/pay/{}", self.base_url, self.id)
    }

    pub fn callback_url(&self) -> Option<&str> {
        // Key by key rather than by JSON pointer, which allocates for each step.
        self.order
            .get("distribution")
            .and_then(|d| d.get("callback_urls"))
            .and_then(|c| c.get("status_update"))
            .and_then(Value::as_str)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The distribution status payload (answer of the result_url, and webhook body), written
    /// directly as JSON text (keys in sorted order, as a `serde_json::Value` object writes them).
    pub fn status_payload(&self, cfg: &Config) -> Vec<u8> {
        let status = if self.status == CANCELED {
            cfg.cancel_spelling
        } else {
            self.status.as_str()
        };
        let completed = self.status == COMPLETED;
        let mut out = Vec::with_capacity(160 + 2 * self.base_url.len());
        out.push(b'{');
        if let (FAILED, Some((code, message))) = (self.status.as_str(), &self.error) {
            out.extend_from_slice(b"\"error\":{\"code\":");
            util::push_json_str(&mut out, code);
            out.extend_from_slice(b",\"message\":");
            util::push_json_str(&mut out, message);
            out.extend_from_slice(b"},");
        }
        out.extend_from_slice(b"\"expires_at\":\"");
        util::push_rfc3339(&mut out, self.expires);
        out.push(b'"');
        if let (true, Some(r)) = (completed, &self.klarna_reference) {
            out.extend_from_slice(b",\"klarna_reference\":");
            util::push_json_str(&mut out, r);
        }
        if let (true, Some(id)) = (completed, &self.order_id) {
            out.extend_from_slice(b",\"order_id\":");
            util::push_json_str(&mut out, id);
        }
        if self.short_code.is_none() {
            out.extend_from_slice(b",\"payment_link\":");
            util::push_json_concat(&mut out, &[&self.base_url, "/pay/", &self.id]);
            out.extend_from_slice(b",\"");
            out.extend_from_slice(cfg.qr_field.as_bytes());
            out.extend_from_slice(b"\":");
            util::push_json_concat(&mut out, &[&self.base_url, "/qr/", &self.id, ".png"]);
        }
        out.extend_from_slice(b",\"session_id\":");
        util::push_json_str(&mut out, &self.id);
        out.extend_from_slice(b",\"status\":");
        util::push_json_str(&mut out, status);
        out.push(b'}');
        out
    }

    /// Answer of `GET /payments/v1/sessions/{id}`: Klarna's read-session shape.
    pub fn read_view(&self) -> Value {
        let mut m = Map::new();
        m.insert("session_id".into(), json!(self.id));
        let status = if self.status == COMPLETED {
            "complete"
        } else {
            "incomplete"
        };
        m.insert("status".into(), json!(status));
        for key in [
            "purchase_country",
            "purchase_currency",
            "locale",
            "order_amount",
            "order_tax_amount",
            "order_lines",
            "merchant_reference1",
            "merchant_reference2",
            "acquiring_channel",
        ] {
            if let Some(v) = self.order.get(key).filter(|v| !v.is_null()) {
                m.insert(key.into(), v.clone());
            }
        }
        m.insert("expires_at".into(), json!(util::rfc3339(self.expires)));
        Value::Object(m)
    }

    /// Everything recorded, for `GET /_sim/sessions/{id}`.
    pub fn sim_view(&self) -> Value {
        let field = |k: &str| self.order.get(k).cloned().unwrap_or(Value::Null);
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        json!({
            "session_id": self.id,
            "status": self.status,
            "created_at": util::rfc3339(self.created),
            "expires_at": util::rfc3339(self.expires),
            "result_url": self.result_url(),
            "request_body": self.request_body,
            "user_agent": self.header("user-agent"),
            "content_type": self.header("content-type"),
            "headers": headers,
            "purchase_country": field("purchase_country"),
            "purchase_currency": field("purchase_currency"),
            "order_amount": field("order_amount"),
            "order_tax_amount": field("order_tax_amount"),
            "merchant_reference1": field("merchant_reference1"),
            "merchant_reference2": field("merchant_reference2"),
            "order_lines": field("order_lines"),
            "short_code": self.short_code,
            "callback_url": self.callback_url(),
            "polls": self.polls,
            "deletes": self.deletes,
            "order_id": self.order_id,
            "klarna_reference": self.klarna_reference,
            "approved_at_ms": self.approved_at.map(util::unix_ms),
            "error": self.error.as_ref().map(|(c, m)| json!({"code": c, "message": m})),
            "history": self.history,
            "webhooks": self.webhooks.iter().map(|w| json!({
                "status": w.status,
                "attempts": w.attempts,
                "delivered": w.delivered,
                "last_result": w.last_result,
            })).collect::<Vec<_>>(),
        })
    }
}

pub struct State {
    pub sessions: HashMap<String, Session>,
    /// Session ids in creation order, for listings.
    pub order: Vec<String>,
    pub config: Config,
    pub stats: Stats,
    pub faults: Vec<Rule>,
    /// Short codes handed out by `/_sim/short_codes`, by code.
    pub short_codes: HashMap<String, ShortCode>,
    /// Orders placed by completed sessions (Order Management).
    pub orders: Orders,
    /// Every `merchant_reference1` seen on a create request, to count duplicates.
    pub merchant_references: HashSet<String>,
    /// Per merchant (API username): when its accepted creations and other requests of the last
    /// `RATE_WINDOW` arrived.
    rate_windows: HashMap<String, [VecDeque<Instant>; 2]>,
    webhooks: Sender<Job>,
}

impl State {
    pub fn new(config: Config, webhooks: Sender<Job>) -> State {
        State {
            sessions: HashMap::new(),
            order: Vec::new(),
            config,
            stats: Stats::default(),
            faults: Vec::new(),
            short_codes: HashMap::new(),
            orders: Orders::default(),
            merchant_references: HashSet::new(),
            rate_windows: HashMap::new(),
            webhooks,
        }
    }

    /// A fresh code of `digits` digits, as the store's printed QR shows a scanning customer.
    pub fn issue_short_code(&mut self, digits: usize) -> String {
        loop {
            let code: String = (0..digits)
                .map(|_| char::from(b'0' + (util::random_u64() % 10) as u8))
                .collect();
            if !self.short_codes.contains_key(&code) {
                self.short_codes.insert(
                    code.clone(),
                    ShortCode {
                        issued: Instant::now(),
                        expired: false,
                        used: false,
                    },
                );
                return code;
            }
        }
    }

    /// Uses up a short code; `false` when it is unknown, expired or used already.
    pub fn redeem_short_code(&mut self, code: &str) -> bool {
        match self.short_codes.get_mut(code) {
            Some(c) if !c.used && !c.expired && c.issued.elapsed() < SHORT_CODE_LIFETIME => {
                c.used = true;
                true
            }
            _ => false,
        }
    }

    pub fn insert(&mut self, session: Session) {
        let id = session.id.clone();
        self.order.push(id.clone());
        self.sessions.insert(id.clone(), session);
        self.notify(&id);
    }

    /// Sets a session's status, records it, and queues a webhook when the session has a
    /// callback URL. Setting the current status again is a no-op unless `force`d.
    pub fn set_status(&mut self, id: &str, status: &str, force: bool) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        if s.status == status && !force {
            return;
        }
        s.status = status.to_string();
        s.history.push(status.to_string());
        if status == COMPLETED {
            self.place_order(id);
        }
        self.notify(id);
    }

    /// Queues the current status payload for the session's webhook, if it has one.
    fn notify(&mut self, id: &str) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        let Some(url) = s.callback_url().map(str::to_string) else {
            return;
        };
        // The payload is written from strings only, so it is UTF-8.
        let body = String::from_utf8(s.status_payload(&self.config)).unwrap_or_default();
        let status = s.status.clone();
        let times = if self.config.webhook_duplicate { 2 } else { 1 };
        for _ in 0..times {
            self.queue_webhook(id, &url, &status, &body);
        }
    }

    /// Records one delivery of `body` to `url` and hands it to the webhook worker.
    fn queue_webhook(&mut self, id: &str, url: &str, status: &str, body: &str) {
        let Some(s) = self.sessions.get_mut(id) else {
            return;
        };
        s.webhooks.push(WebhookRecord {
            status: status.to_string(),
            body: body.to_string(),
            attempts: 0,
            delivered: false,
            last_result: None,
        });
        let job = Job {
            session_id: id.to_string(),
            index: s.webhooks.len() - 1,
            url: url.to_string(),
            body: body.to_string(),
        };
        // The worker only stops with the process; a failed send has nobody to tell.
        let _ = self.webhooks.send(job);
    }

    /// Sends every payload delivered so far again, newest first (`reverse`) or in the original
    /// order: late, repeated and reordered callbacks on demand. Returns how many were queued.
    pub fn replay_webhooks(&mut self, id: &str, reverse: bool) -> usize {
        let Some(s) = self.sessions.get(id) else {
            return 0;
        };
        let Some(url) = s.callback_url().map(str::to_string) else {
            return 0;
        };
        let mut sent: Vec<(String, String)> = s
            .webhooks
            .iter()
            .map(|w| (w.status.clone(), w.body.clone()))
            .collect();
        if reverse {
            sent.reverse();
        }
        for (status, body) in &sent {
            self.queue_webhook(id, &url, status, body);
        }
        sent.len()
    }

    /// Brings a session up to date before its status is read: expiry, and the progress
    /// of the automatic customer. Evaluated lazily so that no timer threads are needed.
    pub fn refresh(&mut self, id: &str) {
        let Some(s) = self.sessions.get(id) else {
            return;
        };
        if is_terminal(&s.status) {
            return;
        }
        if SystemTime::now() >= s.expires {
            self.set_status(id, EXPIRED, false);
            return;
        }
        let (Some(t0), true) = (s.auto_clock, self.config.customer_auto) else {
            return;
        };
        let elapsed = t0.elapsed();
        let delay = self.auto_delay(s);
        if elapsed >= delay / 2 {
            self.set_status(id, ACCESSED, false);
        }
        if elapsed >= delay {
            // The customer approved at the scheduled moment, however late it is noticed.
            let approved = SystemTime::now()
                .checked_sub(elapsed - delay)
                .unwrap_or_else(SystemTime::now);
            self.complete(id, None, None);
            if let Some(s) = self.sessions.get_mut(id) {
                s.approved_at = Some(approved);
            }
        }
    }

    /// How long the automatic customer takes for `s`.
    pub fn auto_delay(&self, s: &Session) -> Duration {
        Duration::from_millis(self.config.auto_delay_ms + s.auto_delay_extra_ms)
    }

    /// The extra approval delay of a new session's customer (see `Config::auto_delay_max_ms`).
    pub fn pick_auto_delay_extra(&self) -> u64 {
        let spread = self
            .config
            .auto_delay_max_ms
            .saturating_sub(self.config.auto_delay_ms);
        if spread == 0 {
            0
        } else {
            util::random_u64() % (spread + 1)
        }
    }

    /// Counts a request of `merchant` against Klarna's limits: `Err(retry_after)` when the limit
    /// of its kind is reached within the last `RATE_WINDOW` (the request is refused and not
    /// counted), with the time until the oldest counted request leaves the window.
    pub fn admit(&mut self, merchant: &str, create: bool) -> Result<(), Duration> {
        let Some(limits) = self.config.rate_limits else {
            return Ok(());
        };
        let (limit, index) = if create {
            (limits.creates, 0)
        } else {
            (limits.others, 1)
        };
        let now = Instant::now();
        let window = &mut self.rate_windows.entry(merchant.to_string()).or_default()[index];
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            let oldest = window.front().copied().unwrap_or(now);
            self.stats.rate_limited += 1;
            self.stats.rate_limited_creates += u64::from(create);
            return Err(RATE_WINDOW.saturating_sub(now.duration_since(oldest)));
        }
        window.push_back(now);
        Ok(())
    }

    /// Places the order: COMPLETED with an order id (generated unless given).
    pub fn complete(&mut self, id: &str, order_id: Option<String>, reference: Option<String>) {
        if let Some(s) = self.sessions.get_mut(id) {
            s.approved_at = Some(SystemTime::now());
            s.order_id = Some(order_id.unwrap_or_else(util::uuid_v4));
            s.klarna_reference =
                Some(reference.unwrap_or_else(|| util::random_string(8, util::UPPER_ALNUM)));
        }
        self.set_status(id, COMPLETED, false);
    }

    /// Records a create request's body (valid or not; `None` when it is not JSON) for
    /// duplicate detection.
    pub fn note_create(&mut self, body: Option<&Value>) {
        let reference = body.and_then(|v| v.get("merchant_reference1").and_then(Value::as_str));
        if let Some(r) = reference {
            if !self.merchant_references.insert(r.to_string()) {
                self.stats.duplicate_creates += 1;
            }
        }
    }

    /// Consumes one use of the first fault rule matching the request that fires (a rule with a
    /// probability fires on a random share of its matches), if any.
    pub fn take_fault(&mut self, method: &str, path: &str) -> Option<Rule> {
        let i = self.faults.iter().position(|r| {
            r.matches(method, path)
                && r.probability
                    .is_none_or(|p| (util::random_u64() as f64 / u64::MAX as f64) < p)
        })?;
        let rule = self.faults[i].clone();
        self.faults[i].remaining -= 1;
        if self.faults[i].remaining == 0 {
            self.faults.remove(i);
        }
        self.stats.faults_triggered += 1;
        Some(rule)
    }
}

pub struct Sim {
    /// The merchants' API credentials (username, password); each merchant has its own limits.
    pub merchants: Vec<(String, String)>,
    state: Mutex<State>,
}

impl Sim {
    pub fn new(merchants: Vec<(String, String)>, state: State) -> Sim {
        Sim {
            merchants,
            state: Mutex::new(state),
        }
    }

    /// A panicking connection thread must not take the whole simulator down with it,
    /// so a poisoned lock is simply taken over.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(status: &str) -> Session {
        let created = std::time::UNIX_EPOCH + Duration::from_secs(1_714_566_896);
        Session {
            id: "s-1".into(),
            token: "tok".into(),
            base_url: "http://h:1".into(),
            created,
            expires: created + SESSION_LIFETIME,
            status: status.into(),
            order_id: Some("o-1".into()),
            klarna_reference: Some("REF".into()),
            error: Some(("CODE".into(), "it \"failed\"".into())),
            request_body: String::new(),
            headers: Vec::new(),
            order: json!({}),
            polls: 0,
            deletes: 0,
            auto_clock: None,
            auto_delay_extra_ms: 0,
            approved_at: None,
            history: Vec::new(),
            webhooks: Vec::new(),
            short_code: None,
        }
    }

    fn config() -> Config {
        Config {
            customer_auto: false,
            auto_delay_ms: 0,
            auto_delay_max_ms: 0,
            auto_start_at_creation: false,
            rate_limits: None,
            cancel_spelling: "CANCELED",
            qr_field: "qr_code",
            webhook_duplicate: false,
            auto_capture: false,
        }
    }

    /// The payload, checked to be exactly what serde_json writes for the same object.
    fn payload(s: &Session, cfg: &Config) -> Value {
        let text = s.status_payload(cfg);
        let v: Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(serde_json::to_vec(&v).unwrap(), text);
        v
    }

    #[test]
    fn status_payloads() {
        let mut cfg = config();
        let links = |v: Value| {
            let mut v = v;
            v["qr_code"] = json!("http://h:1/qr/s-1.png");
            v["payment_link"] = json!("http://h:1/pay/s-1");
            v
        };
        let base = |status: &str| json!({"status": status, "session_id": "s-1", "expires_at": "2024-05-03T10:34:56Z"});
        assert_eq!(
            payload(&session(DISTRIBUTED), &cfg),
            links(base(DISTRIBUTED))
        );
        let mut completed = links(base(COMPLETED));
        completed["order_id"] = json!("o-1");
        completed["klarna_reference"] = json!("REF");
        assert_eq!(payload(&session(COMPLETED), &cfg), completed);
        let mut failed = links(base(FAILED));
        failed["error"] = json!({"code": "CODE", "message": "it \"failed\""});
        assert_eq!(payload(&session(FAILED), &cfg), failed);
        let mut s = session(CANCELED);
        s.short_code = Some("1234".into());
        cfg.cancel_spelling = "CANCELLED";
        assert_eq!(payload(&s, &cfg), base("CANCELLED"));
        cfg.qr_field = "qr";
        let mut v = links(base("a\"b"));
        let qr = v.as_object_mut().unwrap().remove("qr_code").unwrap();
        v["qr"] = qr;
        assert_eq!(payload(&session("a\"b"), &cfg), v);
    }
}
