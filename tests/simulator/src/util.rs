//! Small helpers the simulator needs: identifiers, random tokens, base64 (with the `base64`
//! crate) and date formatting.

use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

static SEED: OnceLock<u64> = OnceLock::new();
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Per-process seed, from the OS when possible. The values derived from it only need to
/// be unique and unguessable enough for a local test server, not cryptographically strong.
fn seed() -> u64 {
    *SEED.get_or_init(|| {
        let mut buf = [0u8; 8];
        if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
            if f.read_exact(&mut buf).is_ok() {
                return u64::from_le_bytes(buf);
            }
        }
        // RandomState is seeded by the OS on every platform std supports.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.finish()
    })
}

/// A 64-bit pseudo-random value: splitmix64 over the seed and a global counter, so
/// concurrent callers never see the same value.
pub fn random_u64() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    let mut z = seed().wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random version-4 UUID in its usual lowercase textual form.
pub fn uuid_v4() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&random_u64().to_le_bytes());
    b[8..].copy_from_slice(&random_u64().to_le_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut text = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(x >> 4)]));
        text.push(char::from(HEX[usize::from(x & 0x0f)]));
    }
    text
}

/// A random string of `len` characters drawn from `alphabet`.
pub fn random_string(len: usize, alphabet: &[u8]) -> String {
    (0..len)
        .map(|_| alphabet[(random_u64() % alphabet.len() as u64) as usize] as char)
        .collect()
}

pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const UPPER_ALNUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Base64 without padding, URL-safe alphabet (used for the JWT-shaped client token).
pub fn base64url_encode(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Standard base64 that tolerates what clients send: any trailing `=`, or none, and unused
/// bits that are not zero.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes standard base64; padding is optional. `None` on any invalid input.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    LENIENT.decode(text.trim_end_matches('=')).ok()
}

/// (year, month, day) for a count of days since 1970-01-01 in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn split_time(t: SystemTime) -> (i64, u32, u32, u64) {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    (y, m, d, secs % 86_400)
}

/// Milliseconds since the Unix epoch (what the control endpoints report times in).
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `2024-05-01T12:34:56Z`
pub fn rfc3339(t: SystemTime) -> String {
    let mut out = Vec::with_capacity(20);
    push_rfc3339(&mut out, t);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `rfc3339(t)`.
pub fn push_rfc3339(out: &mut Vec<u8>, t: SystemTime) {
    let (y, m, d, s) = split_time(t);
    // Days are counted from 1970 on, so the year is never negative; at least four digits.
    let year = y.max(0) as u64;
    for width in [1000, 100, 10] {
        if year < width {
            out.push(b'0');
        }
    }
    push_decimal(out, year);
    let two = |out: &mut Vec<u8>, sep: u8, n: u64| {
        out.extend_from_slice(&[sep, b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
    };
    two(out, b'-', u64::from(m));
    two(out, b'-', u64::from(d));
    two(out, b'T', s / 3600);
    two(out, b':', s / 60 % 60);
    two(out, b':', s % 60);
    out.push(b'Z');
}

/// `Wed, 01 May 2024 12:34:56 GMT`, for the Date header.
pub fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d, s) = split_time(t);
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        DAYS[(secs / 86_400 % 7) as usize],
        MONTHS[(m - 1) as usize],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `http_date` of the current second, formatted once per second per thread (each connection
/// has its own thread).
pub fn http_date_now(out: &mut Vec<u8>) {
    thread_local! {
        static CACHE: std::cell::RefCell<(u64, String)> =
            const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with_borrow_mut(|(at, text)| {
        if *at != secs {
            *at = secs;
            *text = http_date(now);
        }
        out.extend_from_slice(text.as_bytes());
    });
}

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Whether serde_json writes `s` inside quotes as it is: it escapes only quotes,
/// backslashes and control characters.
fn json_plain(s: &str) -> bool {
    // No early exit, so that the loop vectorises.
    !s.bytes().fold(false, |bad, b| {
        bad | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// Appends `s` as a JSON string, quoted and escaped exactly as serde_json writes it.
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    push_json_concat(out, &[s]);
}

/// Appends the concatenation of `parts` as one JSON string.
pub fn push_json_concat(out: &mut Vec<u8>, parts: &[&str]) {
    if parts.iter().all(|p| json_plain(p)) {
        out.push(b'"');
        for p in parts {
            out.extend_from_slice(p.as_bytes());
        }
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail, and a str always serializes.
        let _ = serde_json::to_writer(&mut *out, &parts.concat());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn base64_round_trip() {
        use base64::engine::general_purpose::STANDARD;
        let base64_encode = |data: &[u8]| STANDARD.encode(data);
        assert_eq!(
            base64_encode(b"test_user:test_password"),
            "dGVzdF91c2VyOnRlc3RfcGFzc3dvcmQ="
        );
        for s in ["", "a", "ab", "abc", "abcd", "user:pässword"] {
            assert_eq!(
                base64_decode(&base64_encode(s.as_bytes())).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(base64_decode("YWI").unwrap(), b"ab");
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("a*b=").is_none());
        // What a lenient reader of Authorization headers accepts: extra or missing padding and
        // non-zero unused bits.
        assert_eq!(base64_decode("YWI===").unwrap(), b"ab");
        assert_eq!(base64_decode("YWJ").unwrap(), b"ab");
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn dates() {
        let t = UNIX_EPOCH + Duration::from_secs(1_714_566_896);
        assert_eq!(rfc3339(t), "2024-05-01T12:34:56Z");
        assert_eq!(http_date(t), "Wed, 01 May 2024 12:34:56 GMT");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(253_402_300_799)),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(253_402_300_800)),
            "10000-01-01T00:00:00Z"
        );
    }

    #[test]
    fn uuid_shape() {
        let a = uuid_v4();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_ne!(a, uuid_v4());
        for _ in 0..100 {
            let u = uuid_v4();
            let dashes: Vec<usize> = u.match_indices('-').map(|(i, _)| i).collect();
            assert_eq!(dashes, [8, 13, 18, 23]);
            assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        }
    }

    #[test]
    fn writers() {
        let mut out = Vec::new();
        for n in [0, 7, 10, 413, u64::MAX] {
            out.clear();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        out.clear();
        push_json_concat(&mut out, &["http://h:1", "/pay/", "x"]);
        assert_eq!(out, b"\"http://h:1/pay/x\"");
        out.clear();
        push_json_concat(&mut out, &["a\"", "\n"]);
        assert_eq!(out, b"\"a\\\"\\n\"");
        for text in ["a\"b\\c\u{1}é\u{7f}", "plain é/\u{2028}", ""] {
            out.clear();
            push_json_str(&mut out, text);
            assert_eq!(out, serde_json::json!(text).to_string().as_bytes());
        }
        for _ in 0..2 {
            out.clear();
            let before = SystemTime::now();
            http_date_now(&mut out);
            let after = SystemTime::now();
            let text = String::from_utf8(out.clone()).unwrap();
            assert!(
                text == http_date(before) || text == http_date(after),
                "{text}"
            );
        }
    }
}
