//! The one HTTP path of the library: one keep-alive pool per client (shared by all threads, one
//! per process after a fork), Basic auth, the User-Agent, one retry policy and one tolerant error
//! parser. Connections are made by the connector chain of `http/conn.rs` (CONNECT proxy, socket,
//! rustls); each request and its answer go over one in `http/exchange.rs`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use super::config::{Config, Secret};
use super::error::{Code, Error, Result};
use super::fork;
use super::jitter::{self, Jitter};
use super::log::{log, Level};
use super::{proxy, trust};

#[cfg(unix)]
mod conn;
mod exchange;
// Elsewhere (Windows) ureq's own TCP connector: the refinements of `conn.rs` are Unix calls.
#[cfg(not(unix))]
#[path = "http/conn_portable.rs"]
mod conn;

/// Upper bound on a response body; Klarna's are small, anything larger is not Klarna.
const MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
/// First pause between retries; doubles each time.
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(4);
/// A `Retry-After` longer than this is not waited out: the caller gets `RateLimited`.
const RETRY_AFTER_MAX: Duration = Duration::from_secs(30);
/// Idle keep-alive connections kept per host: one per till thread of a busy store process
/// sharing the client (with 3, a fourth concurrent till reconnected on every request).
const IDLE_CONNECTIONS_PER_HOST: usize = 32;
/// How long the addresses of a host name are reused: libcurl's default DNS cache time.
const HOST_LOOKUP_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// Whether the transport may send a request again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Never repeat (a session create: Klarna does not document idempotency for it).
    Never,
    /// Safe to repeat: GET, DELETE, or a POST carrying an idempotency key.
    Safe,
}

/// Klarna's two per-merchant limits: session creations, and every other request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Budget {
    Creations = 0,
    Others = 1,
}

pub struct Request<'a> {
    pub method: Method,
    /// Absolute URL, called exactly as given (query included).
    pub url: &'a str,
    pub body: Option<&'a [u8]>,
    pub retry: Retry,
    pub idempotency_key: Option<&'a str>,
}

impl Request<'_> {
    /// A POST that is never repeated is a session creation.
    fn budget(&self) -> Budget {
        if self.method == Method::Post && self.retry == Retry::Never {
            Budget::Creations
        } else {
            Budget::Others
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The headers that are text, names in lowercase, in the order they came.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of header `name` (any case), when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn correlation_id(&self) -> Option<&str> {
        self.header("klarna-correlation-id")
    }

    /// The body as a JSON tree; see [`Response::parse`].
    pub fn json(&self) -> Result<Value> {
        self.parse()
    }

    /// The body read as `T` (typically an [`Object`] of [`Text`] fields, borrowing from the
    /// body); a body that is not JSON is a protocol error carrying the correlation id.
    pub fn parse<'a, T: Deserialize<'a>>(&'a self) -> Result<T> {
        read_json(&self.body).map_err(|e| {
            let mut err = Error::new(
                Code::Protocol,
                format!(
                    "the server answered HTTP {} with a body that is not JSON ({})",
                    self.status, e
                ),
            );
            err.http_status = Some(self.status);
            err.correlation_id = self.correlation_id().map(str::to_string);
            err
        })
    }

    /// A response with these headers, for unit tests of what is read from answers.
    #[cfg(test)]
    pub fn for_test(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                .collect(),
            body: body.to_vec(),
        }
    }
}

/// Reads JSON text as `T`. Text that is not UTF-8 is not JSON, also where `T` skips it unread
/// (serde_json checks only the strings it reads).
pub fn read_json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    let text = std::str::from_utf8(bytes).map_err(de::Error::custom)?;
    serde_json::from_str(text)
}

/// A field of a Klarna answer, read tolerantly: its text when it is a JSON string (borrowed from
/// the answer unless it had escapes), no text when it is any other value. `present` tells a field
/// that is there but no string from one that is missing.
#[derive(Debug, Default)]
pub struct Text<'a> {
    pub present: bool,
    pub text: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> Text<'a> {
    /// The text when there is some (an empty string is none).
    pub fn non_empty(&self) -> Option<&str> {
        self.text.as_deref().filter(|s| !s.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Option<std::borrow::Cow<'a, str>>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                s: &'de str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(Some(std::borrow::Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Self::Value, E> {
                Ok(Some(std::borrow::Cow::Owned(s.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_seq<S: SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> std::result::Result<Self::Value, S::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(None)
            }
            fn visit_map<M: MapAccess<'de>>(
                self,
                mut map: M,
            ) -> std::result::Result<Self::Value, M::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(None)
            }
        }
        Ok(Text {
            present: true,
            text: d.deserialize_any(V(std::marker::PhantomData))?,
        })
    }
}

/// A JSON object read as the fields `T` names (others skipped unread); any other JSON value
/// reads as an object without fields, `T::default()`.
#[derive(Debug, Default)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> std::result::Result<T, M::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> std::result::Result<T, S::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(T::default())
            }
            fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> std::result::Result<T, E> {
                Ok(T::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<T, E> {
                Ok(T::default())
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<T, E> {
                Ok(T::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<T, E> {
                Ok(T::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<T, E> {
                Ok(T::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<T, E> {
                Ok(T::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<T, E> {
                Ok(T::default())
            }
        }
        d.deserialize_any(V(std::marker::PhantomData)).map(Object)
    }
}

/// Cancellation signal shared by a session and whoever cancels it. Each cancel bumps an epoch;
/// a waiter remembers the epoch it started in, so a cancel that happened before it started does
/// not interrupt it.
#[derive(Default)]
pub struct Interrupt {
    epoch: Mutex<u64>,
    wake: Condvar,
}

impl Interrupt {
    pub fn epoch(&self) -> u64 {
        *self.epoch.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn trigger(&self) {
        *self.epoch.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.wake.notify_all();
    }

    /// Sleeps for `d` unless a cancel after `seen` comes first; returns whether one came.
    pub fn sleep(&self, d: Duration, seen: u64) -> bool {
        let deadline = Instant::now() + d;
        let mut guard = self.epoch.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if *guard != seen {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = self
                .wake
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Limits on one `send`: a deadline (for `kpos_session_wait`), an interrupt (cancel), and the
/// shortest pause between attempts (a waiting session's poll interval, so that retries never
/// poll faster than the configured floor).
#[derive(Default, Clone, Copy)]
pub struct Limits<'a> {
    pub deadline: Option<Instant>,
    /// The interrupt and the epoch the caller started in.
    pub interrupt: Option<(&'a Interrupt, u64)>,
    pub min_pause: Duration,
    /// Without a deadline: a `Retry-After` of this client's that ends within this is waited out
    /// instead of refused with `RateLimited` (a cancel must be able to withdraw a payment).
    pub retry_after_patience: Option<Duration>,
}

pub struct Transport {
    /// This process's connection pool and pacing; see [`Transport::pool`].
    pool: AtomicPtr<Pool>,
    /// What the connector chain reads: the TLS roots and the proxy.
    connector_config: ureq::config::Config,
    /// Header lines built once (each ends in CRLF); a request copies them into its buffer,
    /// which is wiped after use. The Authorization line is a [`Secret`], wiped when the client
    /// goes.
    authorization: Secret,
    user_agent: Vec<u8>,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_retries: u32,
    safe_request_spacing: Duration,
    /// Spreads resumptions after `Retry-After` and the pauses of waits (see `jitter.rs`).
    jitter: Jitter,
}

/// What belongs to one process: after a `fork` the child builds its own (see `core::fork`).
struct Pool {
    /// The fork generation of the process that built it.
    generation: u64,
    connections: exchange::Connections,
    /// Earliest moment the next safe request may start (see `Config::safe_request_spacing`).
    next_safe_slot: Mutex<Instant>,
    /// Per [`Budget`]: until when Klarna asked (`Retry-After`) that this client send no request
    /// of that kind.
    not_before: [Mutex<Option<Instant>>; 2],
}

impl Pool {
    fn new(
        connector_config: &ureq::config::Config,
        connect_timeout: Duration,
        generation: u64,
    ) -> Pool {
        Pool {
            generation,
            connections: exchange::Connections::new(
                conn::connector(),
                connector_config.clone(),
                Box::new(HostLookup::default()),
                IDLE_CONNECTIONS_PER_HOST,
                connect_timeout,
                MAX_RESPONSE_BYTES,
            ),
            next_safe_slot: Mutex::new(Instant::now()),
            not_before: [Mutex::new(None), Mutex::new(None)],
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        // SAFETY: the pointer came from Box::into_raw and nothing else can use it now.
        let pool = unsafe { Box::from_raw(*self.pool.get_mut()) };
        if pool.generation != fork::generation() {
            // The parent's connections: closing them here could end the parent's TLS sessions.
            std::mem::forget(pool);
        }
    }
}

impl Transport {
    pub fn new(config: &Config) -> Result<Transport> {
        let user_agent = match &config.user_agent {
            Some(pos) => format!("{} klarna-pos/{}", pos, env!("CARGO_PKG_VERSION")),
            None => format!("klarna-pos/{}", env!("CARGO_PKG_VERSION")),
        };
        let (roots, description) =
            trust::shared_roots(config.trust_store, config.ca_file.as_deref())?;
        log!(Level::Info, "trusting {}", description);
        // Certificates are always verified, against these roots, with rustls' ring provider.
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(roots)
            .unversioned_rustls_crypto_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ));
        let choice = proxy::choose(config.proxy.as_deref(), &config.api_url);
        let proxy = match &choice.url {
            Some(p) => {
                log!(
                    Level::Info,
                    "proxy {} (from {})",
                    choice.display().unwrap_or_default(),
                    choice.source
                );
                Some(ureq::Proxy::new(p).map_err(|e| {
                    Error::bad_config(
                        "proxy",
                        format!(
                            "{} from {}: {}",
                            proxy::without_credentials(p),
                            choice.source,
                            e
                        ),
                    )
                })?)
            }
            None => {
                log!(Level::Debug, "no proxy ({})", choice.source);
                None
            }
        };
        if user_agent
            .bytes()
            .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(Error::bad_config(
                "user_agent",
                "is not a valid header value",
            ));
        }
        let user_agent = format!("User-Agent: {}\r\n", user_agent).into_bytes();
        // What the connector chain reads: TLS roots, the proxy, TCP_NODELAY.
        let connector_config = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .proxy(proxy)
            .build();
        // Each intermediate copy is a Secret built at its final capacity, so no reallocation
        // leaves an unwiped copy of the credentials behind.
        let password = config.password.expose();
        let mut credentials = String::with_capacity(config.username.len() + 1 + password.len());
        credentials.push_str(&config.username);
        credentials.push(':');
        credentials.push_str(password);
        let credentials = Secret::new(credentials);
        let encoded = Secret::new(
            base64::engine::general_purpose::STANDARD.encode(credentials.expose().as_bytes()),
        );
        // Base64 is always valid in a header.
        const PREFIX: &str = "Authorization: Basic ";
        let mut line = String::with_capacity(PREFIX.len() + encoded.expose().len() + 2);
        line.push_str(PREFIX);
        line.push_str(encoded.expose());
        line.push_str("\r\n");
        let authorization = Secret::new(line);
        fork::install(None);
        let pool = Box::new(Pool::new(
            &connector_config,
            config.connect_timeout,
            fork::generation(),
        ));
        Ok(Transport {
            pool: AtomicPtr::new(Box::into_raw(pool)),
            connector_config,
            authorization,
            user_agent,
            connect_timeout: config.connect_timeout,
            request_timeout: config.request_timeout,
            max_retries: config.max_retries,
            safe_request_spacing: config.safe_request_spacing,
            jitter: Jitter::new(),
        })
    }

    /// This process's pool. A forked child never uses a connection its parent opened: on its
    /// first request it starts an empty pool of its own, leaving the parent's untouched (neither
    /// used nor closed; its memory stays with the child).
    fn pool(&self) -> &Pool {
        let generation = fork::generation();
        loop {
            let current = self.pool.load(Ordering::Acquire);
            // SAFETY: a pool is freed only when the Transport is dropped.
            let pool = unsafe { &*current };
            if pool.generation == generation {
                return pool;
            }
            let fresh = Box::into_raw(Box::new(Pool::new(
                &self.connector_config,
                self.connect_timeout,
                generation,
            )));
            match self
                .pool
                .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    log!(
                        Level::Debug,
                        "forked process: new connection pool (the parent's is left untouched)"
                    );
                    // SAFETY: just published; freed only by Drop.
                    return unsafe { &*fresh };
                }
                // Another thread of the child was first: use its pool.
                // SAFETY: `fresh` was never shared.
                Err(_) => drop(unsafe { Box::from_raw(fresh) }),
            }
        }
    }

    /// This client's random spreading of pauses.
    pub fn jitter(&self) -> &Jitter {
        &self.jitter
    }

    /// Until when a `Retry-After` from Klarna asks this client to send no request other than a
    /// session creation (status reads, cancels, Order Management), if it has not passed yet.
    pub fn not_before(&self) -> Option<Instant> {
        self.not_before_of(Budget::Others)
    }

    fn not_before_of(&self, budget: Budget) -> Option<Instant> {
        let until = *self.pool().not_before[budget as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        until.filter(|t| *t > Instant::now())
    }

    /// Holds a request until Klarna's `Retry-After` for its kind has passed, then for a random
    /// part of a second more (clients refused together do not come back together), within the
    /// deadline: `Err(RateLimited)` at once, nothing sent, when it ends after the deadline (or
    /// the call has none to wait within).
    fn respect_retry_after(&self, budget: Budget, limits: Limits<'_>) -> Result<()> {
        let Some(until) = self.not_before_of(budget) else {
            return Ok(());
        };
        let now = Instant::now();
        let left = until.saturating_duration_since(now);
        let wait_until = limits
            .deadline
            .or_else(|| limits.retry_after_patience.map(|p| now + p));
        match wait_until {
            Some(deadline) if until < deadline => {
                let spread = self.jitter.up_to(jitter::AFTER_RETRY_AFTER);
                let pause = (left + spread).min(deadline - now);
                log!(
                    Level::Info,
                    "waiting {} ms for Klarna's Retry-After",
                    pause.as_millis()
                );
                sleep(pause, limits)
            }
            _ => Err(rate_limited(
                format!(
                    "Klarna asked this client to retry after {} ms (Retry-After); nothing was sent",
                    left.as_millis()
                ),
                left,
            )),
        }
    }

    /// Waits for this client's next slot for a safe request; `Err(Cancelled)` when a cancel
    /// interrupts the wait, `Err(Timeout)` (nothing reserved) when the slot comes after the
    /// deadline.
    fn pace(&self, limits: Limits<'_>) -> Result<()> {
        if self.safe_request_spacing.is_zero() {
            return Ok(());
        }
        let slot = {
            let mut next = self
                .pool()
                .next_safe_slot
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let slot = (*next).max(Instant::now());
            if limits.deadline.is_some_and(|d| slot >= d) {
                return Err(Error::new(
                    Code::Timeout,
                    "the deadline came before this client's next request slot \
                     (max_safe_requests_per_second)",
                ));
            }
            *next = slot + self.safe_request_spacing;
            slot
        };
        sleep(slot.saturating_duration_since(Instant::now()), limits)
    }

    /// Sends `req`, retrying it when `req.retry` allows, and returns a 2xx response or the
    /// mapped error.
    pub fn send(&self, req: &Request<'_>, limits: Limits<'_>) -> Result<Response> {
        let attempts = match req.retry {
            Retry::Never => 1,
            Retry::Safe => 1 + self.max_retries,
        };
        let mut backoff = BACKOFF_START;
        let mut attempt = 1;
        loop {
            self.respect_retry_after(req.budget(), limits)?;
            if req.retry == Retry::Safe {
                self.pace(limits)?;
            }
            let started = Instant::now();
            let result = self.send_once(req, limits);
            let error = match result {
                Ok(resp) if (200..300).contains(&resp.status) => {
                    log!(
                        Level::Debug,
                        "{} {} -> {} in {} ms (correlation_id {})",
                        req.method.as_str(),
                        loggable_url(req.url),
                        resp.status,
                        started.elapsed().as_millis(),
                        resp.correlation_id().unwrap_or("-")
                    );
                    return Ok(resp);
                }
                Ok(resp) => (error_from_response(&resp), retry_after(&resp)),
                Err(e) => (e, None),
            };
            let (mut err, retry_after) = error;
            if let Some(ra) = retry_after {
                let until = Instant::now() + ra;
                let mut nb = self.pool().not_before[req.budget() as usize]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                *nb = Some(nb.map_or(until, |t| t.max(until)));
                if err.code == Code::RateLimited {
                    err.retry_after = Some(ra);
                }
            }
            log!(
                Level::Info,
                "{} {} failed (attempt {}/{}): {}",
                req.method.as_str(),
                loggable_url(req.url),
                attempt,
                attempts,
                err
            );
            if attempt >= attempts || !is_transient(&err) {
                return Err(err);
            }
            let pause = match retry_after {
                Some(ra) if ra > RETRY_AFTER_MAX => return Err(err),
                Some(ra) => ra.max(backoff) + self.jitter.up_to(jitter::AFTER_RETRY_AFTER),
                None => backoff,
            }
            .max(limits.min_pause);
            if let Some(deadline) = limits.deadline {
                if Instant::now() + pause >= deadline {
                    return Err(err);
                }
            }
            sleep(pause, limits)?;
            backoff = (backoff * 2).min(BACKOFF_MAX);
            attempt += 1;
        }
    }

    /// Sends `req` once and returns whatever the server answered, a 4xx or 5xx included (for
    /// the health check, which judges the status itself).
    pub fn send_unchecked(&self, req: &Request<'_>, limits: Limits<'_>) -> Result<Response> {
        self.send_once(req, limits)
    }

    fn send_once(&self, req: &Request<'_>, limits: Limits<'_>) -> Result<Response> {
        // The request's deadline: `request_timeout`, or sooner when the caller's ends sooner.
        let now = Instant::now();
        let mut deadline = now + self.request_timeout;
        if let Some(d) = limits.deadline {
            deadline = deadline.min(d.max(now + Duration::from_millis(1)));
        }
        const ACCEPT: &[u8] = b"Accept: application/json\r\n";
        const CONTENT_TYPE: &[u8] = b"Content-Type: application/json\r\n";
        let key_line;
        let mut lines: [&[u8]; 5] = [
            self.authorization.expose().as_bytes(),
            &self.user_agent,
            ACCEPT,
            b"",
            b"",
        ];
        let mut count = 3;
        if let Some(key) = req.idempotency_key {
            // Checked where it is taken (orders.rs); never a line break into the request.
            if key.bytes().any(|b| b < 0x20 || b == 0x7f) {
                let mut e = Error::invalid_argument("idempotency_key: must be printable ASCII");
                e.field = Some("idempotency_key".into());
                return Err(e);
            }
            key_line = format!("Klarna-Idempotency-Key: {}\r\n", key);
            lines[count] = key_line.as_bytes();
            count += 1;
        }
        if req.body.is_some() {
            lines[count] = CONTENT_TYPE;
            count += 1;
        }
        let outgoing = exchange::Outgoing {
            method: req.method.as_str(),
            url: req.url,
            header_lines: &lines[..count],
            body: req.body,
        };
        let answer = self
            .pool()
            .connections
            .exchange(&outgoing, Some(deadline))?;
        Ok(Response {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
        })
    }
}

/// Sleeps for `d` unless the caller's cancel comes first (`Err(Cancelled)`).
fn sleep(d: Duration, limits: Limits<'_>) -> Result<()> {
    if d.is_zero() {
        return Ok(());
    }
    let interrupted = match limits.interrupt {
        Some((i, seen)) => i.sleep(d, seen),
        None => {
            std::thread::sleep(d);
            false
        }
    };
    if interrupted {
        return Err(Error::new(Code::Cancelled, "interrupted by a cancellation"));
    }
    Ok(())
}

/// Host name lookups for new connections (a pooled one needs none). ureq's resolver starts a
/// thread for each lookup made with a timeout, so lookups are kept: an IP address needs no
/// lookup; a name is looked up (by ureq's resolver, within
/// the connect timeout) at most once per HOST_LOOKUP_TTL.
#[derive(Debug, Default)]
struct HostLookup {
    system: DefaultResolver,
    recent: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl Resolver for HostLookup {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> std::result::Result<ResolvedSocketAddrs, ureq::Error> {
        let authority = uri.authority().ok_or(ureq::Error::HostNotFound)?;
        let port = authority.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        let host = authority.host();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let (Ok(ip), Some(port)) = (literal.parse::<IpAddr>(), port) {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        let key = format!("{}://{}", uri.scheme_str().unwrap_or(""), authority);
        let now = Instant::now();
        {
            let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, addrs)) = recent.get(&key) {
                if now.duration_since(*at) < HOST_LOOKUP_TTL {
                    return Ok(addrs.clone());
                }
            }
        }
        let addrs = self.system.resolve(uri, config, timeout)?;
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|_, (at, _)| now.duration_since(*at) < HOST_LOOKUP_TTL);
        recent.insert(key, (now, addrs.clone()));
        Ok(addrs)
    }
}

/// `RateLimited` with nothing sent: Klarna's `Retry-After` has `left` to run.
fn rate_limited(message: String, left: Duration) -> Error {
    let mut e = Error::new(Code::RateLimited, message);
    e.http_status = Some(429);
    e.retry_after = Some(left);
    e
}

/// Failures worth repeating for a request that is safe to repeat.
fn is_transient(e: &Error) -> bool {
    match e.code {
        Code::Network | Code::Timeout | Code::RateLimited => true,
        Code::Unknown => e.http_status.is_some_and(|s| s >= 500),
        _ => false,
    }
}

fn retry_after(resp: &Response) -> Option<Duration> {
    if resp.status != 429 && resp.status != 503 {
        return None;
    }
    let secs: u64 = resp.header("retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

/// Drops the query so tokens in URLs never reach logs.
fn loggable_url(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// The one tolerant parser of Klarna error answers: Klarna JSON, other JSON shapes, HTML, or
/// nothing at all.
pub fn error_from_response(resp: &Response) -> Error {
    let status = resp.status;
    let json: Option<Value> = serde_json::from_slice(&resp.body).ok();
    let field_str = |k: &str| -> Option<String> {
        json.as_ref()
            .and_then(|j| j.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let klarna_code = field_str("error_code").or_else(|| field_str("code"));
    let messages: Vec<String> = json
        .as_ref()
        .and_then(|j| j.get("error_messages"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .or_else(|| field_str("message").map(|m| vec![m]))
        .unwrap_or_default();
    let correlation_id =
        field_str("correlation_id").or_else(|| resp.correlation_id().map(str::to_string));

    let code = match status {
        400 | 413 | 422 => Code::BadRequest,
        401 => Code::PermissionDenied,
        403 => match klarna_code.as_deref() {
            Some(c)
                if c == "NOT_ALLOWED"
                    || c.ends_with("_NOT_ALLOWED")
                    || c == "INVALID_OPERATION" =>
            {
                Code::Conflict
            }
            _ => Code::PermissionDenied,
        },
        404 => Code::NotFound,
        409 => Code::Conflict,
        429 => Code::RateLimited,
        500..=599 => Code::Unknown,
        _ => Code::Protocol,
    };
    let mut message = format!("Klarna answered HTTP {}", status);
    if let Some(c) = &klarna_code {
        message.push(' ');
        message.push_str(c);
    }
    if !messages.is_empty() {
        message.push_str(": ");
        message.push_str(&messages.join("; "));
    } else if json.is_none() && !resp.body.is_empty() {
        message.push_str(" (the body was not Klarna JSON)");
    }
    let field = messages
        .iter()
        .find_map(|m| m.strip_prefix("Bad value: "))
        .map(|f| f.trim().to_string());
    Error {
        code,
        message,
        http_status: Some(status),
        klarna_error_code: klarna_code,
        error_messages: messages,
        correlation_id,
        field,
        retry_after: None,
    }
}

pub(super) fn transport_error(e: ureq::Error) -> Error {
    use ureq::Error as U;
    let (code, what) = match &e {
        U::Timeout(_) => (Code::Timeout, "no answer in time"),
        U::HostNotFound => (Code::Network, "host not found"),
        U::ConnectionFailed | U::ConnectProxyFailed(_) | U::InvalidProxyUrl => {
            (Code::Network, "connection failed")
        }
        U::Io(io) => match io.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                (Code::Timeout, "no answer in time")
            }
            _ if io_is_tls(io) => (Code::Tls, "TLS failure"),
            _ => (Code::Network, "connection error"),
        },
        U::Tls(_) | U::Pem(_) | U::Rustls(_) | U::TlsRequired | U::RequireHttpsOnly(_) => {
            (Code::Tls, "TLS failure")
        }
        _ => (Code::Protocol, "unexpected answer"),
    };
    Error::new(code, format!("{}: {}", what, e))
}

fn io_is_tls(io: &std::io::Error) -> bool {
    io.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> Response {
        Response::for_test(
            status,
            &[("Klarna-Correlation-Id", "hdr-corr")],
            body.as_bytes(),
        )
    }

    #[test]
    fn klarna_bad_value_gives_bad_request_with_field_and_correlation_id() {
        let e = error_from_response(&resp(
            400,
            r#"{"error_code":"BAD_VALUE","error_messages":["Bad value: order_lines[0].total_tax_amount"],"correlation_id":"c-1"}"#,
        ));
        assert_eq!(e.code, Code::BadRequest);
        assert_eq!(e.field.as_deref(), Some("order_lines[0].total_tax_amount"));
        assert_eq!(e.correlation_id.as_deref(), Some("c-1"));
        assert_eq!(e.klarna_error_code.as_deref(), Some("BAD_VALUE"));
    }

    #[test]
    fn html_401_gives_permission_denied_with_header_correlation_id() {
        let e = error_from_response(&resp(401, "<html><body>401</body></html>"));
        assert_eq!(e.code, Code::PermissionDenied);
        assert_eq!(e.correlation_id.as_deref(), Some("hdr-corr"));
        assert!(e.message.contains("not Klarna JSON"));
    }

    #[test]
    fn not_allowed_403_is_a_conflict_but_plain_403_is_permission() {
        assert_eq!(
            error_from_response(&resp(403, r#"{"error_code":"REFUND_NOT_ALLOWED"}"#)).code,
            Code::Conflict
        );
        // Klarna's plain NOT_ALLOWED (a release on a cancelled order or one without captures).
        assert_eq!(
            error_from_response(&resp(403, r#"{"error_code":"NOT_ALLOWED"}"#)).code,
            Code::Conflict
        );
        assert_eq!(
            error_from_response(&resp(403, r#"{"error_code":"INVALID_OPERATION"}"#)).code,
            Code::Conflict
        );
        assert_eq!(
            error_from_response(&resp(403, "")).code,
            Code::PermissionDenied
        );
    }

    #[test]
    fn server_errors_are_unknown_and_transient() {
        let e = error_from_response(&resp(503, r#"{"error_code":"TEMPORARILY_UNAVAILABLE"}"#));
        assert_eq!(e.code, Code::Unknown);
        assert!(is_transient(&e));
        assert!(!is_transient(&error_from_response(&resp(400, "{}"))));
    }

    #[test]
    fn ip_addresses_need_no_lookup_and_names_are_looked_up_once_per_ttl() {
        let lookup = HostLookup::default();
        let config = ureq::config::Config::default();
        let resolve = |url: &str| {
            let uri: ureq::http::Uri = url.parse().unwrap();
            lookup
                .resolve(&uri, &config, NextTimeout::default())
                .unwrap()
                .to_vec()
        };
        assert_eq!(
            resolve("http://127.0.0.1:8080/x"),
            ["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]
        );
        assert_eq!(
            resolve("https://[::1]/x"),
            ["[::1]:443".parse::<SocketAddr>().unwrap()]
        );
        assert!(lookup.recent.lock().unwrap().is_empty());
        let first = resolve("http://localhost:8080/a");
        assert!(!first.is_empty());
        assert_eq!(lookup.recent.lock().unwrap().len(), 1);
        assert_eq!(resolve("http://localhost:8080/b"), first);
    }

    #[test]
    fn interrupt_wakes_a_sleeper() {
        let i = std::sync::Arc::new(Interrupt::default());
        let i2 = i.clone();
        let seen = i.epoch();
        let t = std::thread::spawn(move || i2.sleep(Duration::from_secs(60), seen));
        i.trigger();
        assert!(t.join().unwrap());
    }
}
