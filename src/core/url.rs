//! The few URL facts the library needs: scheme, host, whether plain HTTP is acceptable, path
//! segment encoding, and the query parameter names of webhook callback URLs.
//!
//! Plain `http://` is allowed only to loopback hosts (the simulator) unless the caller opted in
//! with `allow_insecure_http`; everything else must be `https://`.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Query parameter of a callback URL naming its session (not secret: it only selects which token
/// to compare). See `webhook`.
pub const REFERENCE_PARAM: &str = "kpos_ref";
/// Query parameter of a callback URL carrying its session's secret token.
pub const TOKEN_PARAM: &str = "kpos_token";

/// Scheme, host and port of an absolute `http(s)://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub https: bool,
    pub host: &'a str,
    /// The port written in the URL, if any (1..=65535).
    pub port: Option<u16>,
}

impl UrlParts<'_> {
    /// The port requests go to: the written one, or the scheme's default.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(if self.https { 443 } else { 80 })
    }
}

/// Splits an absolute http(s) URL; `Err` says why it is not one.
pub fn parse(url: &str) -> Result<UrlParts<'_>, String> {
    let (https, rest) = if let Some(r) = strip_prefix_ci(url, "https://") {
        (true, r)
    } else if let Some(r) = strip_prefix_ci(url, "http://") {
        (false, r)
    } else {
        return Err("must be an absolute http:// or https:// URL".into());
    };
    let end = rest
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') {
        return Err("must not carry credentials in the URL".into());
    }
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        // [v6]:port
        let (host, after) = inner.split_once(']').unwrap_or((inner, ""));
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    if !host.is_ascii() {
        return Err(format!(
            "has a host name that is not ASCII ({}): give its ASCII (IDNA, xn--...) form",
            host
        ));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n >= 1 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                return Err(format!(
                    "has port {:?}; a port is a number from 1 to 65535",
                    p
                ))
            }
        },
    };
    if has_space_or_control(url) {
        return Err("contains spaces or control characters".into());
    }
    Ok(UrlParts { https, host, port })
}

/// Whether `s` holds a space or a control character (`char::is_control`: U+0000 to U+001F and
/// U+007F to U+009F). A URL is ASCII but for a rare IDNA host or path, so its bytes are looked
/// at first, and its characters only when it is not ASCII.
fn has_space_or_control(s: &str) -> bool {
    s.bytes().any(|c| c <= b' ' || c == 0x7F) || (!s.is_ascii() && s.chars().any(char::is_control))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len() && s.is_char_boundary(prefix.len()) {
        let (head, tail) = s.split_at(prefix.len());
        if head.eq_ignore_ascii_case(prefix) {
            return Some(tail);
        }
    }
    None
}

/// Whether `host` names this machine: `localhost`, 127.0.0.0/8 or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    false
}

/// The origin of an absolute URL: scheme, host name (lowercase), port (default ports written
/// out). A client keeps api_url's, so that a URL is checked against it with one parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    pub fn of(url: &str) -> Result<Origin, String> {
        let p = parse(url)?;
        Ok(Origin {
            https: p.https,
            host: p.host.to_ascii_lowercase(),
            port: p.effective_port(),
        })
    }
}

/// Whether `url` is on the origin (scheme, host, port; default ports normalised, host names
/// compared without case) of `base`: the only place the client's credentials may go. `Err`
/// says why not.
pub fn require_same_origin(url: &str, base: &str) -> Result<(), String> {
    same_origin(&parse(url)?, &Origin::of(base)?)
}

/// [`require_secure`] and [`require_same_origin`] with one parse of `url`.
pub fn require_secure_on(
    url: &str,
    base: &Origin,
    allow_insecure_http: bool,
) -> Result<(), String> {
    let parts = parse(url)?;
    secure(&parts, allow_insecure_http)?;
    same_origin(&parts, base)
}

fn same_origin(u: &UrlParts<'_>, b: &Origin) -> Result<(), String> {
    let scheme = |https: bool| if https { "https" } else { "http" };
    if u.https != b.https || !u.host.eq_ignore_ascii_case(&b.host) || u.effective_port() != b.port {
        return Err(format!(
            "is on {}://{}:{}, not on api_url's origin {}://{}:{}: the client's credentials are \
             only sent to api_url",
            scheme(u.https),
            u.host,
            u.effective_port(),
            scheme(b.https),
            b.host,
            b.port
        ));
    }
    Ok(())
}

/// Accepts `https://` anywhere, `http://` only to loopback or when `allow_insecure_http`.
pub fn require_secure(url: &str, allow_insecure_http: bool) -> Result<(), String> {
    secure(&parse(url)?, allow_insecure_http)
}

fn secure(parts: &UrlParts<'_>, allow_insecure_http: bool) -> Result<(), String> {
    if !parts.https && !allow_insecure_http && !is_loopback_host(parts.host) {
        return Err(format!(
            "plain http:// is only allowed to loopback addresses (got host {}); use https://",
            parts.host
        ));
    }
    Ok(())
}

/// Everything but the unreserved characters of RFC 3986 (letters, digits, `-._~`) is encoded in
/// a path segment.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment (a session or order id), so an id can never change the
/// path it is put into.
pub fn encode_path_segment(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// Refuses a configured `webhook_url` that has a fragment or whose query already uses the
/// callback parameter names.
pub fn check_base_url(url: &str) -> std::result::Result<(), String> {
    if url.contains('#') {
        return Err("must not contain a fragment (#...)".into());
    }
    let query = url.split_once('?').map_or("", |(_, q)| q);
    if query.split('&').any(|p| {
        let name = p.split('=').next().unwrap_or("");
        name == REFERENCE_PARAM || name == TOKEN_PARAM
    }) {
        return Err(format!(
            "must not contain {REFERENCE_PARAM} or {TOKEN_PARAM}: the library adds them per session"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte scan finds exactly what `char::is_control` and a space find, in every character
    /// of the first 0x3000 and their neighbours in a URL.
    #[test]
    fn space_or_control_matches_the_char_test() {
        for c in (0..0x3000u32).filter_map(char::from_u32) {
            for s in [
                format!("https://a.example/{c}"),
                format!("https://a.example/{c}\u{e9}x"),
            ] {
                let expected = s.chars().any(|c| c.is_control() || c == ' ');
                assert_eq!(has_space_or_control(&s), expected, "{:?}", c);
            }
        }
    }

    #[test]
    fn https_is_accepted_anywhere() {
        assert!(require_secure("https://api.playground.klarna.com", false).is_ok());
    }

    #[test]
    fn http_is_accepted_only_for_loopback() {
        assert!(require_secure("http://127.0.0.1:8080/x", false).is_ok());
        assert!(require_secure("http://localhost/x", false).is_ok());
        assert!(require_secure("http://[::1]:9/x", false).is_ok());
        assert!(require_secure("http://10.0.0.5/x", false).is_err());
        assert!(require_secure("http://shop.example/x", false).is_err());
        assert!(require_secure("http://shop.example/x", true).is_ok());
    }

    #[test]
    fn malformed_urls_are_refused() {
        assert!(parse("ftp://x").is_err());
        assert!(parse("https://").is_err());
        assert!(parse("https://user:pw@host/").is_err());
        assert!(parse("https://ho st/").is_err());
        assert!(parse("localhost:8080").is_err());
    }

    #[test]
    fn credentials_go_only_to_the_api_origin() {
        let api = "https://api.klarna.com";
        for same in [
            "https://api.klarna.com/instore/v1/x?dt=1",
            "https://API.Klarna.com:443/x",
            "HTTPS://api.klarna.com",
        ] {
            assert!(require_same_origin(same, api).is_ok(), "{same}");
        }
        for other in [
            "http://api.klarna.com/x",
            "https://api.klarna.com:8443/x",
            "https://api.klarna.com.evil.example/x",
            "https://evil.example/x",
        ] {
            assert!(require_same_origin(other, api).is_err(), "{other}");
        }
        assert!(require_same_origin("http://127.0.0.1:80/x", "http://127.0.0.1").is_ok());
        assert!(require_same_origin("http://[::1]:8080/x", "http://[::1]:8080").is_ok());
        assert!(require_same_origin("http://[::1]:8081/x", "http://[::1]:8080").is_err());
    }

    #[test]
    fn ports_and_host_names_are_checked() {
        assert_eq!(parse("https://h:8443/x").unwrap().port, Some(8443));
        assert_eq!(parse("https://h/x").unwrap().effective_port(), 443);
        assert_eq!(parse("http://[::1]/x").unwrap().effective_port(), 80);
        for bad in [
            "https://h:0",
            "https://h:65536",
            "https://h:99999/x",
            "https://h:+80",
            "https://h:",
            "https://[::1]:x",
            "https://bücher.example",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_encoded_in_paths() {
        assert_eq!(encode_path_segment("ab-1_~."), "ab-1_~.");
        assert_eq!(encode_path_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(
            encode_path_segment("?#%+:@=&;,'!*()[]\\\"é\u{7f}\n"),
            "%3F%23%25%2B%3A%40%3D%26%3B%2C%27%21%2A%28%29%5B%5D%5C%22%C3%A9%7F%0A"
        );
    }

    #[test]
    fn base_urls_may_not_preempt_the_librarys_parameters() {
        assert!(check_base_url("https://t.example/h?store=1").is_ok());
        assert!(check_base_url("https://t.example/h?kpos_token=1").is_err());
        assert!(check_base_url("https://t.example/h#x").is_err());
    }
}
