//! Webhooks (`distribution.callback_urls.status_update`). Klarna does not sign its callbacks, so,
//! as it advises, each session's callback URL carries a reference and a one-time secret token of
//! its own: the client's `webhook_url` plus `kpos_ref=<32 hex digits>&kpos_token=<43 base64url
//! characters>` (16 and 32 bytes from the operating system's CSPRNG). A callback is believed only
//! when its token matches the one of the session its reference names, compared in constant time.
//!
//! The registry maps references to sessions weakly: a freed session drops out, and its callbacks
//! are then refused as unknown.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use base64::Engine as _;
use percent_encoding::percent_decode;
use subtle::ConstantTimeEq;

use super::config::Secret;
use super::error::{Code, Error, Result};
use super::url::{REFERENCE_PARAM, TOKEN_PARAM};

const REFERENCE_BYTES: usize = 16;
const TOKEN_BYTES: usize = 32;

struct Entry<S> {
    token: Secret,
    /// `None` while the session creation is in flight: Klarna may call back before it answers.
    session: Option<Weak<S>>,
}

/// The live callback references of one client, each naming a session `S`.
pub struct Registry<S> {
    live: Mutex<HashMap<String, Entry<S>>>,
    published: Condvar,
}

impl<S> Default for Registry<S> {
    fn default() -> Self {
        Registry {
            live: Mutex::default(),
            published: Condvar::new(),
        }
    }
}

/// A reference and token reserved for a session being created. Dropping it unpublished (the
/// creation failed) removes them again.
pub struct Reservation<'a, S> {
    registry: &'a Registry<S>,
    reference: String,
    url: String,
    published: bool,
}

impl<S> Reservation<'_, S> {
    /// The callback URL to send as `distribution.callback_urls.status_update`. It contains the
    /// secret: never log it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Binds the reference to the created session and releases callbacks waiting for it.
    pub fn publish(mut self, session: &Arc<S>) {
        if let Some(e) = self.registry.lock().get_mut(&self.reference) {
            e.session = Some(Arc::downgrade(session));
        }
        self.published = true;
        self.registry.published.notify_all();
    }
}

impl<S> Drop for Reservation<'_, S> {
    fn drop(&mut self) {
        if !self.published {
            self.registry.lock().remove(&self.reference);
            self.registry.published.notify_all();
        }
    }
}

impl<S> Registry<S> {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry<S>>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes a fresh reference and token and the callback URL carrying them under `base_url`.
    pub fn reserve(&self, base_url: &str) -> Result<Reservation<'_, S>> {
        let reference: String = random_bytes::<REFERENCE_BYTES>()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let token = Secret::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<TOKEN_BYTES>()?),
        );
        let separator = match base_url.find('?') {
            None => "?",
            Some(_) if base_url.ends_with(['?', '&']) => "",
            Some(_) => "&",
        };
        let url = format!(
            "{base_url}{separator}{REFERENCE_PARAM}={reference}&{TOKEN_PARAM}={}",
            token.expose()
        );
        let mut live = self.lock();
        // Sessions freed since the last creation leave dead entries behind; drop them here.
        live.retain(|_, e| e.session.as_ref().is_none_or(|w| w.strong_count() > 0));
        live.insert(
            reference.clone(),
            Entry {
                token,
                session: None,
            },
        );
        Ok(Reservation {
            registry: self,
            reference,
            url,
            published: false,
        })
    }

    /// The session a callback belongs to, after checking its token. A callback that arrives while
    /// its session is still being created waits for the creation, at most `patience`.
    ///
    /// `PermissionDenied` for a missing or wrong token; `NotFound` for a reference no live session
    /// has; `Timeout` when the creation did not finish in time.
    pub fn find(&self, query: &CallbackQuery, patience: Duration) -> Result<Arc<S>> {
        let deadline = Instant::now() + patience;
        let mut live = self.lock();
        loop {
            let Some(entry) = live.get(&query.reference) else {
                return Err(Error::new(
                    Code::NotFound,
                    "no live session has this callback's reference (freed, created before a \
                     restart, or by another client)",
                ));
            };
            let expected = entry.token.expose().as_bytes();
            if !bool::from(expected.ct_eq(&query.token)) {
                return Err(Error::new(
                    Code::PermissionDenied,
                    "the callback's token does not match its session's: forged or altered",
                ));
            }
            match &entry.session {
                Some(weak) => {
                    return weak.upgrade().ok_or_else(|| {
                        Error::new(Code::NotFound, "the callback's session was freed")
                    })
                }
                None => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(Error::new(
                            Code::Timeout,
                            "the callback's session is still being created; answer 503 so it \
                             is delivered again",
                        ));
                    }
                    live = self
                        .published
                        .wait_timeout(live, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

/// The reference and token a callback request presented.
pub struct CallbackQuery {
    reference: String,
    token: Vec<u8>,
}

impl CallbackQuery {
    /// Reads `kpos_ref` and `kpos_token` from a request URL, request target (`/path?query`) or
    /// bare query. Untrusted input: any bytes. Each parameter must appear exactly once.
    pub fn parse(request: &[u8]) -> Result<CallbackQuery> {
        let without_fragment = request.split(|&b| b == b'#').next().unwrap_or_default();
        let query = match without_fragment.iter().position(|&b| b == b'?') {
            Some(i) => &without_fragment[i + 1..],
            None => without_fragment,
        };
        // `%XY` becomes its byte; anything else, a lone `%` included, stays as it is.
        let decode = |s: &[u8]| -> Vec<u8> { percent_decode(s).collect() };
        let (mut reference, mut token) = (Vec::new(), Vec::new());
        for pair in query.split(|&b| b == b'&') {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (decode(&pair[..i]), decode(&pair[i + 1..])),
                None => (decode(pair), Vec::new()),
            };
            if name == REFERENCE_PARAM.as_bytes() {
                reference.push(value);
            } else if name == TOKEN_PARAM.as_bytes() {
                token.push(value);
            }
        }
        let (Ok([reference]), Ok([token])) = (
            <[Vec<u8>; 1]>::try_from(reference),
            <[Vec<u8>; 1]>::try_from(token),
        ) else {
            return Err(Error::new(
                Code::PermissionDenied,
                "the callback URL must carry kpos_ref and kpos_token exactly once each: not a \
                 callback this library set up, or its query was cut off",
            ));
        };
        let reference = String::from_utf8(reference).map_err(|_| {
            Error::new(
                Code::PermissionDenied,
                "the callback's kpos_ref is malformed",
            )
        })?;
        Ok(CallbackQuery { reference, token })
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| {
        Error::new(
            Code::Internal,
            format!("the operating system's random number generator failed: {e}"),
        )
    })?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_of(url: &str) -> CallbackQuery {
        CallbackQuery::parse(url.as_bytes()).unwrap()
    }

    #[test]
    fn callback_urls_carry_a_fresh_reference_and_token_under_the_base() {
        let r = Registry::<String>::default();
        let a = r.reserve("https://till.example/klarna").unwrap();
        let b = r.reserve("https://till.example/klarna?store=42").unwrap();
        assert!(a.url().starts_with("https://till.example/klarna?kpos_ref="));
        assert!(b
            .url()
            .starts_with("https://till.example/klarna?store=42&kpos_ref="));
        let (qa, qb) = (query_of(a.url()), query_of(b.url()));
        assert_eq!(qa.reference.len(), 32);
        assert_eq!(qa.token.len(), 43);
        assert_ne!(qa.reference, qb.reference);
        assert_ne!(qa.token, qb.token);
    }

    #[test]
    fn a_dropped_reservation_is_forgotten() {
        let r = Registry::<String>::default();
        let url = r.reserve("https://t.example/h").unwrap().url().to_string();
        let e = r.find(&query_of(&url), Duration::ZERO).err().unwrap();
        assert_eq!(e.code, Code::NotFound);
    }

    #[test]
    fn a_wrong_token_is_refused_even_while_the_session_is_created() {
        let r = Registry::<String>::default();
        let reservation = r.reserve("https://t.example/h").unwrap();
        let mut forged = query_of(reservation.url());
        forged.token[0] ^= 1;
        let e = r.find(&forged, Duration::ZERO).err().unwrap();
        assert_eq!(e.code, Code::PermissionDenied);
        let e = r
            .find(&query_of(reservation.url()), Duration::ZERO)
            .err()
            .unwrap();
        assert_eq!(
            e.code,
            Code::Timeout,
            "right token, creation still in flight"
        );
    }

    #[test]
    fn a_callback_arriving_during_the_creation_waits_for_its_session() {
        // The registry holds any session type; a string stands in for one here.
        let session = Arc::new(String::from("s-1"));
        let r = Registry::<String>::default();
        let reservation = r.reserve("https://t.example/h").unwrap();
        let query = query_of(reservation.url());
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| r.find(&query, Duration::from_secs(60)));
            // Publishing releases the waiting callback, whether it already waits or not.
            reservation.publish(&session);
            let found = waiting.join().unwrap().ok().unwrap();
            assert!(Arc::ptr_eq(&found, &session));
        });
        drop(session);
        let e = r.find(&query, Duration::ZERO).err().unwrap();
        assert_eq!(e.code, Code::NotFound, "a freed session drops out");
    }

    #[test]
    fn queries_are_read_from_urls_targets_or_bare_and_percent_decoded() {
        for request in [
            "https://h/p?a=1&kpos_ref=ab&kpos_token=t-_0#frag",
            "/p?kpos_token=t%2D_0&kpos_ref=ab",
            "kpos_ref=ab&kpos_token=t-_0",
        ] {
            let q = query_of(request);
            assert_eq!(
                (q.reference.as_str(), q.token.as_slice()),
                ("ab", &b"t-_0"[..])
            );
        }
    }

    #[test]
    fn percent_decoding_leaves_incomplete_escapes_alone() {
        let q = query_of("kpos_ref=%61%2%&kpos_token=%%41%4a%4G%e2%82%ac%");
        assert_eq!(q.reference, "a%2%");
        assert_eq!(q.token, "%AJ%4G€%".as_bytes());
        let q = query_of("kpos%5Fref=x+y&kpos_token=%00%FF");
        assert_eq!(q.reference, "x+y", "+ is not a space in a callback query");
        assert_eq!(q.token, [0, 0xff]);
    }

    #[test]
    fn missing_or_repeated_parameters_are_permission_denied() {
        for request in [
            "/p",
            "/p?kpos_ref=ab",
            "/p?kpos_token=x",
            "/p?kpos_ref=ab&kpos_token=x&kpos_token=y",
        ] {
            let e = CallbackQuery::parse(request.as_bytes()).err().unwrap();
            assert_eq!(e.code, Code::PermissionDenied, "{request}");
        }
    }
}
