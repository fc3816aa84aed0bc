//! Webhooks (`distribution.callback_urls.status_update`). Klarna does not sign its callbacks, so,
//! as it advises, each session's callback URL carries a reference and a one-time secret token of
//! its own: the client's `webhook_url` plus `kpos_ref=<32 hex digits>&kpos_token=<43 base64url
//! characters>` (16 and 32 bytes from the operating system's CSPRNG). A callback is believed only
//! when its token matches the one of the session its reference names, compared in constant time.
//!
//! With `webhook_secret` configured the token is not random but HMAC-SHA256, under that secret,
//! of the reference (see [`WebhookKeys`]): any process holding the same secret verifies a
//! callback without having made it, e.g. a chain's central receiver, or a till that resumed the
//! session after a restart. The reference is fresh for every session, so a token made for one
//! session's callback URL authenticates no other.
//!
//! The registry maps references to sessions weakly: a freed session drops out, and its callbacks
//! are then refused as unknown (or, with `webhook_secret`, reported as to a receiver).

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use base64::Engine as _;
use percent_encoding::percent_decode;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::config::Secret;
use super::error::{Code, Error, Result};
use super::url::{REFERENCE_PARAM, TOKEN_PARAM};

const REFERENCE_BYTES: usize = 16;
const TOKEN_BYTES: usize = 32;
/// Bounds of a decoded `webhook_secret`: at least the HMAC-SHA256 output, at most one block.
pub const SECRET_MIN_BYTES: usize = 32;
pub const SECRET_MAX_BYTES: usize = 64;
/// What a callback token authenticates: this label, then the reference. The label keeps the
/// secret's MACs apart from any other use of it.
const TOKEN_LABEL: &[u8] = b"klarna-pos webhook v1\n";

/// The `webhook_secret` (and, during a rotation, `webhook_secret_previous`): callback tokens are
/// HMAC-SHA256 of the callback's reference under the current secret; a token made under either
/// secret is accepted. The decoded secrets are wiped from memory when dropped and never printed.
pub struct WebhookKeys {
    current: Zeroizing<Vec<u8>>,
    previous: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for WebhookKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookKeys(***)")
    }
}

impl WebhookKeys {
    /// Decodes the configured secrets; errors name the configuration key (`key_current`,
    /// `key_previous`) and never quote the value.
    pub fn parse(
        current: &str,
        previous: Option<&str>,
        key_current: &str,
        key_previous: &str,
    ) -> Result<WebhookKeys> {
        Ok(WebhookKeys {
            current: decode_secret(current).map_err(|m| Error::bad_config(key_current, m))?,
            previous: match previous {
                Some(p) => Some(decode_secret(p).map_err(|m| Error::bad_config(key_previous, m))?),
                None => None,
            },
        })
    }

    /// The token for a callback URL carrying `reference`, under the current secret.
    fn token(&self, reference: &str) -> Secret {
        let tag = ring::hmac::sign(&hmac_key(&self.current), &message(reference));
        Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Whether `token` is the MAC of `reference` under the current or the previous secret.
    /// Both are always checked, each comparison in constant time (`ring::hmac::verify`), so the
    /// time taken says nothing about how close a forged token came, nor which secret made it.
    pub fn verify(&self, reference: &str, token: &[u8]) -> bool {
        let mut tag = Zeroizing::new([0u8; 64]);
        let tag = match base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode_slice(token, &mut tag[..])
        {
            Ok(n) if n == TOKEN_BYTES => &tag[..n],
            // A token of another length or alphabet cannot be a MAC: refused without comparing.
            _ => return false,
        };
        let msg = message(reference);
        let current = ring::hmac::verify(&hmac_key(&self.current), &msg, tag).is_ok();
        let previous = self
            .previous
            .as_ref()
            .is_some_and(|p| ring::hmac::verify(&hmac_key(p), &msg, tag).is_ok());
        current | previous
    }
}

fn hmac_key(secret: &[u8]) -> ring::hmac::Key {
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret)
}

fn message(reference: &str) -> Vec<u8> {
    [TOKEN_LABEL, reference.as_bytes()].concat()
}

/// A secret given as hex (an even number of hex digits) or base64url (padding optional), of
/// `SECRET_MIN_BYTES` to `SECRET_MAX_BYTES` bytes. The message never quotes the value.
fn decode_secret(text: &str) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
    const HOW: &str = "generate one with `openssl rand -hex 32`";
    let text = text.trim();
    let is_hex = !text.is_empty()
        && text.len().is_multiple_of(2)
        && text.bytes().all(|b| b.is_ascii_hexdigit());
    let bytes = if is_hex {
        let mut out = Zeroizing::new(Vec::with_capacity(text.len() / 2));
        for pair in text.as_bytes().chunks(2) {
            let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            out.push(digit(pair[0]) << 4 | digit(pair[1]));
        }
        out
    } else {
        let mut out = Zeroizing::new(vec![0u8; text.len()]);
        match base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode_slice(text.trim_end_matches('='), &mut out[..])
        {
            Ok(n) => out.truncate(n),
            Err(_) => return Err(format!("must be hex or base64url (A-Z a-z 0-9 - _); {HOW}")),
        }
        out
    };
    if bytes.len() < SECRET_MIN_BYTES || bytes.len() > SECRET_MAX_BYTES {
        return Err(format!(
            "must hold {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} random bytes, this holds {}; {HOW}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

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
    /// The token is random, or the MAC of the reference under `keys` when given.
    pub fn reserve(
        &self,
        base_url: &str,
        keys: Option<&WebhookKeys>,
    ) -> Result<Reservation<'_, S>> {
        let reference: String = random_bytes::<REFERENCE_BYTES>()?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let token = match keys {
            Some(k) => k.token(&reference),
            None => Secret::new(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(random_bytes::<TOKEN_BYTES>()?),
            ),
        };
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
    /// Whether the token is the MAC of the reference under `keys` (see [`WebhookKeys::verify`]).
    pub fn authenticated_by(&self, keys: &WebhookKeys) -> bool {
        keys.verify(&self.reference, &self.token)
    }

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
        let a = r.reserve("https://till.example/klarna", None).unwrap();
        let b = r
            .reserve("https://till.example/klarna?store=42", None)
            .unwrap();
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

    const SECRET_A: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const SECRET_B: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    fn keys(current: &str, previous: Option<&str>) -> WebhookKeys {
        WebhookKeys::parse(
            current,
            previous,
            "webhook_secret",
            "webhook_secret_previous",
        )
        .unwrap()
    }

    #[test]
    fn with_a_secret_the_token_is_the_mac_of_the_reference_and_binds_to_it() {
        let k = keys(SECRET_A, None);
        let r = Registry::<String>::default();
        let (a, b) = (
            r.reserve("https://t.example/h", Some(&k)).unwrap(),
            r.reserve("https://t.example/h", Some(&k)).unwrap(),
        );
        let (qa, qb) = (query_of(a.url()), query_of(b.url()));
        assert_eq!(qa.token.len(), 43);
        assert!(qa.authenticated_by(&k) && qb.authenticated_by(&k));
        // Another process with the same secret verifies it; one with another secret does not.
        assert!(qa.authenticated_by(&keys(SECRET_A, None)));
        let other = "ff".repeat(32);
        assert!(!qa.authenticated_by(&keys(&other, None)));
        // A's token does not authenticate B's reference.
        let swapped = CallbackQuery {
            reference: qb.reference.clone(),
            token: qa.token.clone(),
        };
        assert!(!swapped.authenticated_by(&k));
        // Altered in any byte, truncated, extended: refused.
        for i in 0..qa.token.len() {
            let mut t = qa.token.clone();
            t[i] = if t[i] == b'A' { b'B' } else { b'A' };
            assert!(!k.verify(&qa.reference, &t), "byte {i}");
        }
        assert!(!k.verify(&qa.reference, &qa.token[..42]));
        assert!(!k.verify(&qa.reference, &[&qa.token[..], b"A"].concat()));
        assert!(!k.verify(&qa.reference, b""));
    }

    #[test]
    fn during_a_rotation_tokens_of_the_previous_secret_are_accepted() {
        let new_secret = "5a".repeat(40);
        let old = keys(SECRET_B, None);
        let r = Registry::<String>::default();
        let made_before = query_of(r.reserve("https://t.example/h", Some(&old)).unwrap().url());
        let rotated = keys(&new_secret, Some(SECRET_B));
        assert!(made_before.authenticated_by(&rotated));
        assert!(!made_before.authenticated_by(&keys(&new_secret, None)));
        let made_after = query_of(
            r.reserve("https://t.example/h", Some(&rotated))
                .unwrap()
                .url(),
        );
        assert!(made_after.authenticated_by(&keys(&new_secret, None)));
        assert!(!made_after.authenticated_by(&old));
    }

    #[test]
    fn secrets_are_hex_or_base64url_of_32_to_64_bytes() {
        // The same 32 bytes, in hex and in base64url (with or without padding).
        let (hex, b64) = (keys(SECRET_A, None), keys(SECRET_B, None));
        let q = query_of(
            Registry::<String>::default()
                .reserve("https://t.example/h", Some(&hex))
                .unwrap()
                .url(),
        );
        assert!(q.authenticated_by(&b64));
        assert!(q.authenticated_by(&keys(&format!("{SECRET_B}="), None)));
        assert!(q.authenticated_by(&keys(&SECRET_A.to_uppercase(), None)));
        for (bad, says) in [
            ("", "random bytes"),
            (&SECRET_A[..62], "holds 31"),
            (&"ab".repeat(65), "holds 65"),
            (
                "not a secret at all, just words!!!!!!!!!!!!!!!",
                "hex or base64url",
            ),
            (&format!("{}+/", &SECRET_B[..41]), "hex or base64url"),
        ] {
            let e = WebhookKeys::parse(bad, None, "webhook_secret", "p").unwrap_err();
            assert_eq!(e.field.as_deref(), Some("webhook_secret"), "{bad}");
            assert!(e.message.contains(says), "{bad}: {}", e.message);
            assert!(e.message.contains("openssl rand"), "{}", e.message);
            if !bad.is_empty() {
                assert!(!e.message.contains(bad), "the value is never quoted");
            }
        }
        let e = WebhookKeys::parse(
            SECRET_A,
            Some("short"),
            "webhook_secret",
            "webhook_secret_previous",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("webhook_secret_previous"));
        assert!(!format!("{:?}", keys(SECRET_A, None)).contains("0001"));
    }

    #[test]
    fn a_dropped_reservation_is_forgotten() {
        let r = Registry::<String>::default();
        let url = r
            .reserve("https://t.example/h", None)
            .unwrap()
            .url()
            .to_string();
        let e = r.find(&query_of(&url), Duration::ZERO).err().unwrap();
        assert_eq!(e.code, Code::NotFound);
    }

    #[test]
    fn a_wrong_token_is_refused_even_while_the_session_is_created() {
        let r = Registry::<String>::default();
        let reservation = r.reserve("https://t.example/h", None).unwrap();
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
        let reservation = r.reserve("https://t.example/h", None).unwrap();
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
