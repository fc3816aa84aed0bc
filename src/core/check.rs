//! The health check (`kpos_client_check`): can this till reach Klarna with these credentials?
//! Runs, within the client's timeouts and without creating anything at Klarna: name resolution,
//! TCP connect, the proxy's CONNECT tunnel, the TLS handshake (verified chain, certificate
//! expiry), the credentials (an authenticated read of a session that cannot exist: Klarna
//! answers 404 to good credentials and 401/403 to wrong ones) and the clock's offset from the
//! `Date` header of that answer.
//!
//! The first four steps are made by hand, each timed on its own, on a connection used for
//! nothing else; the credentials step goes through the client's own HTTP path (pool, proxy and
//! TLS as a payment would use them).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{json, Value};

use super::client::Client;
use super::clock;
use super::error::{Code, Error, Result};
use super::http::{error_from_response, Limits, Method, Request, Retry};
use super::log::{log, Level};
use super::{proxy, trust};

/// A clock further than this from Klarna's is reported as a warning (it does not fail the
/// check: requests still work, but certificate validity and logs are judged against it).
const CLOCK_WARNING_SECONDS: i64 = 60;
/// A server certificate expiring sooner than this is reported as a warning.
const EXPIRY_WARNING_DAYS: i64 = 14;
/// The session id read by the credentials step: not a form Klarna gives out.
const ABSENT_SESSION_ID: &str = "klarna-pos-health-check";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Warning,
    Failed,
    Skipped,
}

impl Verdict {
    fn name(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Failed => "failed",
            Verdict::Skipped => "skipped",
        }
    }
}

struct Step {
    name: &'static str,
    verdict: Verdict,
    ms: u128,
    detail: String,
    /// For a failed step: its result code and what to do.
    failure: Option<(Code, String)>,
    extra: Option<(&'static str, Value)>,
}

impl Step {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "step": self.name,
            "verdict": self.verdict.name(),
            "ms": self.ms as u64,
            "detail": self.detail,
        });
        if let Some((code, action)) = &self.failure {
            v["code"] = json!(*code as u32);
            v["code_name"] = json!(code.name());
            v["action"] = json!(action);
        }
        if let Some((k, x)) = &self.extra {
            v[*k] = x.clone();
        }
        v
    }
}

/// Where the check connects, from the client's configuration.
struct Target {
    https: bool,
    host: String,
    port: u16,
}

/// Runs the check. Returns the report (always) and the first failing step's error.
pub fn run(client: &Arc<Client>) -> (Value, Option<Error>) {
    let config = &client.config;
    let mut steps: Vec<Step> = Vec::new();
    let started = Instant::now();
    let choice = proxy::choose(config.proxy.as_deref(), &config.api_url);
    let target = target_of(&config.api_url, 80);
    let proxy_target = choice.url.as_deref().map(|p| (p, target_of(p, 80)));
    let connect_timeout = config.connect_timeout;

    // 1-4: by hand, each step on the connection of the one before.
    let manual = match (&target, &proxy_target) {
        (None, _) => Err((
            "the api_url has no usable host and port".to_string(),
            Code::InvalidArgument,
        )),
        (_, Some((p, None))) | (_, Some((p, Some(Target { https: true, .. })))) => Err((
            format!(
                "the proxy {} is not an http:// proxy; only the credentials step can run",
                proxy::without_credentials(p)
            ),
            Code::Ok,
        )),
        (Some(t), proxy) => Ok((
            t,
            proxy
                .as_ref()
                .and_then(|(u, p)| p.as_ref().map(|p| (*u, p))),
        )),
    };
    match manual {
        Err((why, Code::Ok)) => {
            for name in ["dns", "tcp", "proxy", "tls"] {
                steps.push(skipped(name, &why));
            }
        }
        Err((why, code)) => steps.push(failed("dns", 0, why, code, "Correct api_url.")),
        Ok((t, proxy)) => manual_steps(client, t, proxy, connect_timeout, &mut steps),
    }

    // 5-6: the credentials, through the client's own HTTP path, and the clock.
    if steps.iter().any(|s| s.verdict == Verdict::Failed) {
        steps.push(skipped("credentials", "an earlier step failed"));
        steps.push(skipped("clock", "an earlier step failed"));
    } else {
        credentials_and_clock(client, &mut steps);
    }

    let first_failure = steps
        .iter()
        .find(|s| s.verdict == Verdict::Failed)
        .and_then(|s| s.failure.as_ref().map(|f| (s, f)));
    let error = first_failure.map(|(s, (code, action))| {
        Error::new(
            *code,
            format!(
                "health check step {} failed: {} ({})",
                s.name, s.detail, action
            ),
        )
    });
    let code = error.as_ref().map_or(Code::Ok, |e| e.code);
    let report = json!({
        "ok": error.is_none(),
        "code": code as u32,
        "code_name": code.name(),
        "api_url": config.api_url,
        "proxy": choice.display(),
        "proxy_source": choice.source,
        "trust_store": config.trust_store.name(),
        "ms": started.elapsed().as_millis() as u64,
        "steps": steps.iter().map(Step::to_json).collect::<Vec<_>>(),
    });
    log!(
        if error.is_none() {
            Level::Info
        } else {
            Level::Warn
        },
        "{}",
        error
            .as_ref()
            .map_or("health check: every step passed".to_string(), |e| e
                .message
                .clone())
    );
    (report, error)
}

fn manual_steps(
    client: &Client,
    target: &Target,
    proxy: Option<(&str, &Target)>,
    timeout: Duration,
    steps: &mut Vec<Step>,
) {
    let config = &client.config;
    // DNS: the proxy's name when there is one (the proxy resolves Klarna's).
    let (lookup_host, lookup_port) = match proxy {
        Some((_, p)) => (&p.host, p.port),
        None => (&target.host, target.port),
    };
    let t = Instant::now();
    let addrs = match resolve(lookup_host, lookup_port, timeout) {
        Ok(a) => {
            steps.push(ok(
                "dns",
                t,
                format!(
                    "{} has {} address(es): {}",
                    lookup_host,
                    a.len(),
                    a.iter()
                        .map(|a| a.ip().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            a
        }
        Err((msg, code)) => {
            steps.push(failed(
                "dns",
                ms(t),
                msg,
                code,
                "Check the host name and the till's DNS settings (or the proxy's name).",
            ));
            return;
        }
    };

    // TCP.
    let t = Instant::now();
    let deadline = Instant::now() + timeout;
    let mut stream = None;
    let mut last = String::new();
    for addr in &addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(addr, left) {
            Ok(s) => {
                stream = Some((s, *addr));
                break;
            }
            Err(e) => last = format!("{}: {}", addr, e),
        }
    }
    let Some((mut stream, addr)) = stream else {
        let code = if last.contains("timed out") || last.is_empty() {
            Code::Timeout
        } else {
            Code::Network
        };
        steps.push(failed(
            "tcp",
            ms(t),
            format!(
                "no connection to {}:{} ({})",
                lookup_host,
                lookup_port,
                if last.is_empty() {
                    "connect timeout".to_string()
                } else {
                    last
                }
            ),
            code,
            "Check that the till may connect out to this host and port (firewall, proxy settings).",
        ));
        return;
    };
    steps.push(ok("tcp", t, format!("connected to {}", addr)));
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));

    // Proxy.
    match proxy {
        None => steps.push(skipped("proxy", "no proxy is used")),
        Some((url, _)) => {
            let t = Instant::now();
            match connect_tunnel(&mut stream, url, target) {
                Ok(()) => steps.push(ok(
                    "proxy",
                    t,
                    format!(
                        "{} opened a tunnel to {}:{}",
                        proxy::without_credentials(url),
                        target.host,
                        target.port
                    ),
                )),
                Err((msg, code, action)) => {
                    steps.push(failed("proxy", ms(t), msg, code, action));
                    return;
                }
            }
        }
    }

    // TLS.
    if !target.https {
        steps.push(skipped("tls", "the api_url is plain http"));
        return;
    }
    let t = Instant::now();
    match handshake(&mut stream, &target.host, config) {
        Ok((not_after, protocol)) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let (verdict, detail, extra) = match not_after {
                Some(na) => {
                    let days = (na - now).div_euclid(86_400);
                    let when =
                        clock::rfc3339_utc(UNIX_EPOCH + Duration::from_secs(na.max(0) as u64));
                    let verdict = if days < EXPIRY_WARNING_DAYS {
                        Verdict::Warning
                    } else {
                        Verdict::Ok
                    };
                    (verdict, format!("{} with a verified certificate chain for {}; the certificate expires {} ({} days)",
                        protocol, target.host, when, days), Some(("certificate_expires", json!(when))))
                }
                None => (
                    Verdict::Ok,
                    format!(
                        "{} with a verified certificate chain for {}",
                        protocol, target.host
                    ),
                    None,
                ),
            };
            steps.push(Step {
                name: "tls",
                verdict,
                ms: ms(t),
                detail,
                failure: None,
                extra,
            });
        }
        Err(msg) => steps.push(failed(
            "tls",
            ms(t),
            msg,
            Code::Tls,
            "If the shop's proxy inspects TLS, install its CA in the system's certificate store \
             or name it in ca_file; check the till's clock; see docs/operations.md.",
        )),
    }
}

fn credentials_and_clock(client: &Client, steps: &mut Vec<Step>) {
    let config = &client.config;
    let url = format!(
        "{}/payments/v1/sessions/{}",
        config.api_url, ABSENT_SESSION_ID
    );
    let t = Instant::now();
    let sent = SystemTime::now();
    let answer = client.transport().send_unchecked(
        &Request {
            method: Method::Get,
            url: &url,
            body: None,
            retry: Retry::Never,
            idempotency_key: None,
        },
        Limits::default(),
    );
    let elapsed = t.elapsed();
    let resp = match answer {
        Ok(r) => r,
        Err(e) => {
            let action = match e.code {
                Code::Tls => "Check the trust store (ca_file, trust_store) and the clock; see docs/operations.md.",
                Code::Timeout => "Check the network and proxy; raise request_timeout_ms if the line is slow.",
                _ => "Check the network and proxy settings.",
            };
            steps.push(failed(
                "credentials",
                elapsed.as_millis(),
                e.message.clone(),
                e.code,
                action,
            ));
            steps.push(skipped("clock", "no answer from Klarna"));
            return;
        }
    };
    let status = resp.status;
    let correlation = resp.correlation_id().map(str::to_string);
    let with_correlation = |s: String| match &correlation {
        Some(c) => format!("{} (correlation_id {})", s, c),
        None => s,
    };
    match status {
        404 | 200..=299 => steps.push(Step {
            name: "credentials",
            verdict: Verdict::Ok,
            ms: elapsed.as_millis(),
            detail: with_correlation(format!(
                "accepted (HTTP {} to an authenticated read)",
                status
            )),
            failure: None,
            extra: None,
        }),
        401 | 403 => steps.push(failed(
            "credentials",
            elapsed.as_millis(),
            with_correlation(format!("refused with HTTP {}", status)),
            Code::PermissionDenied,
            "Check username and password, and that they belong to this api_url's region and \
             environment (playground credentials do not work in production).",
        )),
        _ => {
            let e = error_from_response(&resp);
            steps.push(failed("credentials", elapsed.as_millis(), with_correlation(e.message), e.code,
                "Klarna did not answer as expected; retry later or contact Klarna merchant support."));
        }
    }
    // The clock: the Date header against the middle of the request.
    let local = sent + elapsed / 2;
    let local_s = local
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    match resp.header("date").and_then(clock::parse_http_date) {
        Some(server) => {
            let offset = local_s - server;
            let verdict = if offset.abs() > CLOCK_WARNING_SECONDS {
                Verdict::Warning
            } else {
                Verdict::Ok
            };
            steps.push(Step {
                name: "clock",
                verdict,
                ms: 0,
                detail: format!(
                    "the till's clock is {} s {} Klarna's",
                    offset.abs(),
                    if offset >= 0 { "ahead of" } else { "behind" }
                ),
                failure: None,
                extra: Some(("offset_s", json!(offset))),
            });
        }
        None => steps.push(skipped("clock", "the answer had no usable Date header")),
    }
}

fn target_of(url: &str, default_port: u16) -> Option<Target> {
    let (scheme, rest) = url.split_once("://")?;
    let https = scheme.eq_ignore_ascii_case("https");
    if !https && !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let default_port = if https { 443 } else { default_port };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port,
    };
    if host.is_empty() {
        return None;
    }
    Some(Target {
        https,
        host: host.to_string(),
        port,
    })
}

/// Looks `host` up within `timeout` (on a helper thread: the system resolver has no timeout).
fn resolve(
    host: &str,
    port: u16,
    timeout: Duration,
) -> std::result::Result<Vec<SocketAddr>, (String, Code)> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_string();
    std::thread::Builder::new()
        .name("kpos-check-dns".into())
        .spawn(move || {
            let _ = tx.send(
                (name.as_str(), port)
                    .to_socket_addrs()
                    .map(|a| a.collect::<Vec<_>>()),
            );
        })
        .map_err(|e| (format!("cannot start the lookup: {}", e), Code::Internal))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(a)) if !a.is_empty() => Ok(a),
        Ok(Ok(_)) => Err((format!("{} has no address", host), Code::Network)),
        Ok(Err(e)) => Err((format!("{} cannot be resolved: {}", host, e), Code::Network)),
        Err(_) => Err((
            format!("no answer for {} within the connect timeout", host),
            Code::Timeout,
        )),
    }
}

/// Sends CONNECT through the proxy and reads its answer's head.
fn connect_tunnel(
    stream: &mut TcpStream,
    proxy_url: &str,
    target: &Target,
) -> std::result::Result<(), (String, Code, &'static str)> {
    let authority = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut head = format!("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n", authority);
    if let Some(credentials) = proxy_credentials(proxy_url) {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(credentials.expose().as_bytes());
        head.push_str("Proxy-Authorization: Basic ");
        head.push_str(&encoded);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let head = super::config::Secret::new(head);
    let shown = proxy::without_credentials(proxy_url);
    let io = |e: std::io::Error| {
        let code = if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            Code::Timeout
        } else {
            Code::Network
        };
        (
            format!("the proxy {} failed: {}", shown, e),
            code,
            "Check the proxy's address and that it is running.",
        )
    };
    stream.write_all(head.expose().as_bytes()).map_err(io)?;
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        if answer.len() > 16 * 1024 || stream.read(&mut byte).map_err(io)? == 0 {
            return Err((
                format!(
                    "the proxy {} closed the connection without a complete answer",
                    shown
                ),
                Code::Network,
                "Check that the proxy address names an HTTP proxy.",
            ));
        }
        answer.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next().unwrap_or("").trim().to_string();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    match status {
        200..=299 => Ok(()),
        407 => Err((
            format!("the proxy {} asks for credentials ({})", shown, status_line),
            Code::PermissionDenied,
            "Put the proxy's user and password in the proxy URL (http://user:password@host:port).",
        )),
        _ => Err((
            format!("the proxy {} refused the tunnel ({})", shown, status_line),
            Code::Network,
            "Ask the shop's IT to allow CONNECT to this host and port.",
        )),
    }
}

/// `user:password` of a proxy URL, percent-decoded.
fn proxy_credentials(url: &str) -> Option<super::config::Secret> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let decoded = percent_encoding::percent_decode_str(userinfo).decode_utf8_lossy();
    Some(super::config::Secret::new(decoded.into_owned()))
}

/// The TLS handshake over `stream`, verified against the client's roots. Returns the leaf
/// certificate's expiry (seconds since the epoch) and the protocol version.
fn handshake(
    stream: &mut TcpStream,
    host: &str,
    config: &super::config::Config,
) -> std::result::Result<(Option<i64>, &'static str), String> {
    let roots =
        trust::roots(config.trust_store, config.ca_file.as_deref()).map_err(|e| e.message)?;
    let mut store = rustls::RootCertStore::empty();
    store.add_parsable_certificates(
        roots
            .certs
            .iter()
            .map(|c| rustls::pki_types::CertificateDer::from(c.der().to_vec())),
    );
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(store)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("{} is not a valid server name: {}", host, e))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(tls), name).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(stream) {
            return Err(format!(
                "handshake with {} failed: {} (trusting {})",
                host, e, roots.description
            ));
        }
    }
    let protocol = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
        _ => "TLS",
    };
    let not_after = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|leaf| not_after(leaf.as_ref()));
    conn.send_close_notify();
    let _ = conn.complete_io(stream);
    Ok((not_after, protocol))
}

/// The `notAfter` time of a DER certificate, in seconds since the epoch.
fn not_after(der: &[u8]) -> Option<i64> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serial,
    // signature, issuer, validity SEQUENCE { notBefore, notAfter }, ... }, ... }
    let (_, cert, _) = der_item(der)?;
    let (_, mut tbs, _) = der_item(cert)?;
    let (tag, _, rest) = der_item(tbs)?;
    if tag == 0xa0 {
        tbs = rest;
    }
    for _ in 0..3 {
        tbs = der_item(tbs)?.2; // serial, signature, issuer
    }
    let (_, validity, _) = der_item(tbs)?;
    let (_, _, rest) = der_item(validity)?;
    let (tag, time, _) = der_item(rest)?;
    let text = std::str::from_utf8(time).ok()?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i64 = text.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        0x18 => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    let num = |r: std::ops::Range<usize>| rest.get(r).and_then(|s| s.parse::<i64>().ok());
    Some(clock::unix_seconds(
        year,
        num(0..2)?,
        num(2..4)?,
        num(4..6)?,
        num(6..8)?,
        num(8..10)?,
    ))
}

/// One DER item: (tag, contents, what follows).
fn der_item(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *data.first()?;
    let first = *data.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *data.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some((tag, data.get(header..end)?, data.get(end..)?))
}

fn ms(t: Instant) -> u128 {
    t.elapsed().as_millis()
}

fn ok(name: &'static str, t: Instant, detail: String) -> Step {
    Step {
        name,
        verdict: Verdict::Ok,
        ms: ms(t),
        detail,
        failure: None,
        extra: None,
    }
}

fn skipped(name: &'static str, why: &str) -> Step {
    Step {
        name,
        verdict: Verdict::Skipped,
        ms: 0,
        detail: why.to_string(),
        failure: None,
        extra: None,
    }
}

fn failed(name: &'static str, ms: u128, detail: String, code: Code, action: &str) -> Step {
    Step {
        name,
        verdict: Verdict::Failed,
        ms,
        detail,
        failure: Some((code, action.to_string())),
        extra: None,
    }
}

/// The report as text, and the error for the result code.
pub fn check(client: &Arc<Client>) -> (String, Result<()>) {
    let (report, error) = run(client);
    let text = report.to_string();
    (text, error.map_or(Ok(()), Err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_take_default_ports_and_drop_credentials() {
        let t = target_of("https://api.klarna.com", 80).unwrap();
        assert!(t.https);
        assert_eq!((t.host.as_str(), t.port), ("api.klarna.com", 443));
        let p = target_of("http://u:p@proxy.shop", 3128).unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.shop", 3128));
        let v6 = target_of("http://[::1]:8080/x", 80).unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 8080));
        assert!(target_of("socks5://p:1", 80).is_none());
    }

    #[test]
    fn expiry_is_read_from_the_bundled_roots() {
        // Every bundled root has a notAfter this reader understands.
        for c in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            let t = not_after(c.as_ref()).expect("a notAfter");
            assert!(t > 1_500_000_000, "{}", t);
        }
    }

    #[test]
    fn proxy_credentials_are_percent_decoded() {
        assert_eq!(
            proxy_credentials("http://us%40er:p%3Ass@proxy:3128")
                .unwrap()
                .expose(),
            "us@er:p:ss"
        );
        assert!(proxy_credentials("http://proxy:3128").is_none());
    }
}
