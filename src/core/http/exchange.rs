//! One HTTP/1.1 exchange: the request written in one piece, the answer read and framed, the
//! connection kept for the next request when HTTP allows it.
//!
//! Connections come from the connector chain of `conn.rs` (the CONNECT proxy when one is used,
//! the socket, rustls for `https://`), so TLS and proxies are what they were; this module only
//! does what goes over a connection once it is open:
//!
//! - The request line and headers are written straight into the connection's output buffer with
//!   the body, from pieces the client built once (Authorization, User-Agent), so a request costs
//!   no header map, no URI parse and no allocation but the one buffer.
//! - The answer's head is read with `httparse` (headers kept as text, names in lowercase); its
//!   body is framed by `Transfer-Encoding: chunked`, by `Content-Length`, or by the end of the
//!   connection, as RFC 9112 section 6.3 orders them. Interim (1xx) answers are skipped.
//! - Nothing is ever sent twice here: a failure after the request went out is returned as it is,
//!   and only the retry policy of `http.rs` decides whether to repeat a request.
//! - A connection goes back to the pool only when its answer was read to its end, the server did
//!   not ask to close it, and nothing else arrived after it. Before reuse, each connection is
//!   checked (`is_open`: one peek) and is at most [`MAX_IDLE_AGE`] idle.
//! - Every step runs under one deadline (the request's), handed to the connection as the time
//!   left; connecting also under the connect timeout.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use ureq::unversioned::resolver::Resolver;
use ureq::unversioned::transport::{
    time as utime, ConnectionDetails, Connector, NextTimeout, ShutdownHandle,
    Transport as Connection,
};
use ureq::Timeout;

use super::super::error::{Code, Error, Result};
use super::super::url;

/// The longest head (status line and headers) an answer may have.
const MAX_HEAD: usize = 64 * 1024;
/// The most headers an answer may have.
const MAX_HEADERS: usize = 64;
/// An idle connection older than this is closed instead of reused (servers close theirs after
/// some idle time; Klarna's and most load balancers' is longer than this).
const MAX_IDLE_AGE: Duration = Duration::from_secs(15);

type RunConnector = dyn Fn(&ConnectionDetails) -> std::result::Result<Box<dyn Connection>, ureq::Error>
    + Send
    + Sync;

/// The answer as read off the connection.
pub(super) struct Answer {
    pub status: u16,
    /// Names in lowercase; values that are not text are left out.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A request ready to go: the bytes of its head but the request line's target and Host (which
/// come from the URL) are built by the caller; see [`Connections::exchange`].
pub(super) struct Outgoing<'a> {
    pub method: &'static str,
    pub url: &'a str,
    /// Header lines, each ending in CRLF (Authorization, User-Agent, Accept, ...).
    pub header_lines: &'a [&'a [u8]],
    pub body: Option<&'a [u8]>,
}

/// Where a connection goes: scheme, host and port (the proxy, if any, is the client's one).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    https: bool,
    host: String,
    port: u16,
}

struct Idle {
    key: Key,
    conn: Box<dyn Connection>,
    since: Instant,
}

/// The keep-alive pool of one client in one process, and how it makes connections.
pub(super) struct Connections {
    run_connector: Arc<RunConnector>,
    config: ureq::config::Config,
    resolver: Box<dyn Resolver>,
    idle: Mutex<Vec<Idle>>,
    /// Idle connections kept per host.
    max_idle: usize,
    connect_timeout: Duration,
    max_body: u64,
}

impl Connections {
    pub(super) fn new<C>(
        connector: C,
        config: ureq::config::Config,
        resolver: Box<dyn Resolver>,
        max_idle: usize,
        connect_timeout: Duration,
        max_body: u64,
    ) -> Connections
    where
        C: Connector<()> + 'static,
    {
        let run_connector: Arc<RunConnector> = Arc::new(move |details: &ConnectionDetails| {
            match connector.connect(details, None)? {
                Some(conn) => Ok(conn.boxed()),
                None => Err(ureq::Error::ConnectionFailed),
            }
        });
        Connections {
            run_connector,
            config,
            resolver,
            idle: Mutex::new(Vec::new()),
            max_idle,
            connect_timeout,
            max_body,
        }
    }

    /// Sends `out` and reads its answer, all before `deadline` (`None`: no deadline).
    pub(super) fn exchange(&self, out: &Outgoing<'_>, deadline: Option<Instant>) -> Result<Answer> {
        let parts = url::parse(out.url)
            .and_then(|p| match out.url.is_ascii() {
                true => Ok(p),
                false => Err("is not ASCII (its path must be percent-encoded)".to_string()),
            })
            .map_err(|why| {
                Error::new(
                    Code::Protocol,
                    format!("cannot call {}: {}", super::loggable_url(out.url), why),
                )
            })?;
        let key = Key {
            https: parts.https,
            host: parts.host.to_string(),
            port: parts.effective_port(),
        };
        let mut conn = match self.take_idle(&key) {
            Some(conn) => conn,
            None => self.connect(out.url, parts.https, deadline)?,
        };
        let request = request_bytes(out, &parts);
        let result = send(&mut *conn, &request, deadline)
            .and_then(|()| read_answer(&mut *conn, deadline, self.max_body));
        wipe(request);
        let (answer, reusable) = result?;
        if reusable {
            self.put_idle(key, conn);
        }
        Ok(answer)
    }

    fn take_idle(&self, key: &Key) -> Option<Box<dyn Connection>> {
        loop {
            let found = {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                let at = idle.iter().rposition(|c| c.key == *key)?;
                idle.remove(at)
            };
            let mut conn = found.conn;
            if found.since.elapsed() <= MAX_IDLE_AGE && conn.is_open() {
                return Some(conn);
            }
            // Closed, or idle too long: dropped (closed) outside the lock, and the next tried.
        }
    }

    fn put_idle(&self, key: Key, mut conn: Box<dyn Connection>) {
        // Asked once when the answer was just read (the socket answers from what it knows, with
        // no system call), so that the question before reuse is the one that probes.
        if !conn.is_open() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.iter().filter(|c| c.key == key).count() >= self.max_idle {
            // Too many for this host: the oldest goes.
            if let Some(at) = idle.iter().position(|c| c.key == key) {
                let old = idle.remove(at);
                idle.push(Idle {
                    key,
                    conn,
                    since: Instant::now(),
                });
                drop(idle);
                drop(old);
                return;
            }
        }
        idle.push(Idle {
            key,
            conn,
            since: Instant::now(),
        });
    }

    /// A new connection through the connector chain (proxy, socket, TLS).
    fn connect(
        &self,
        target: &str,
        https: bool,
        deadline: Option<Instant>,
    ) -> Result<Box<dyn Connection>> {
        let uri = target.parse::<ureq::http::Uri>().map_err(|e| {
            Error::new(
                Code::Protocol,
                format!("cannot call {}: {}", super::loggable_url(target), e),
            )
        })?;
        let connect_deadline = Instant::now() + self.connect_timeout;
        let connect_deadline = deadline.map_or(connect_deadline, |d| d.min(connect_deadline));
        let timeout = next_timeout(Some(connect_deadline), Timeout::Connect)?;
        // Through a proxy, the proxy looks the name up (the till may not be able to).
        let proxied = self
            .config
            .proxy()
            .is_some_and(|p| !p.is_no_proxy(&uri) && !p.resolve_target());
        let addrs = if proxied {
            self.resolver.empty()
        } else {
            self.resolver
                .resolve(&uri, &self.config, timeout)
                .map_err(super::transport_error)?
        };
        let timeout = next_timeout(Some(connect_deadline), Timeout::Connect)?;
        let details = ConnectionDetails {
            uri: &uri,
            addrs,
            config: &self.config,
            request_level: false,
            resolver: &*self.resolver,
            now: utime::Instant::now(),
            timeout,
            current_time: Arc::new(utime::Instant::now),
            run_connector: Arc::clone(&self.run_connector),
            register_shutdown: Arc::new(|_: Weak<dyn ShutdownHandle>| Ok(())),
        };
        let conn = (self.run_connector)(&details).map_err(super::transport_error)?;
        if https && !conn.is_tls() {
            return Err(super::transport_error(ureq::Error::TlsRequired));
        }
        Ok(conn)
    }
}

/// The request line, Host, the client's header lines, Content-Length when there is a body, the
/// blank line and the body, in one buffer.
fn request_bytes(out: &Outgoing<'_>, parts: &url::UrlParts<'_>) -> Vec<u8> {
    let after_scheme = &out.url[if parts.https { 8 } else { 7 }..];
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let authority = &after_scheme[..authority_end];
    let rest = &after_scheme[authority_end..];
    let rest = rest.split('#').next().unwrap_or(rest);
    let body = out.body.unwrap_or(&[]);
    let lines: usize = out.header_lines.iter().map(|l| l.len()).sum();
    let mut buf = Vec::with_capacity(64 + rest.len() + authority.len() + lines + body.len());
    buf.extend_from_slice(out.method.as_bytes());
    buf.push(b' ');
    if !rest.starts_with('/') {
        buf.push(b'/');
    }
    buf.extend_from_slice(rest.as_bytes());
    buf.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    buf.extend_from_slice(authority.as_bytes());
    buf.extend_from_slice(b"\r\n");
    for line in out.header_lines {
        buf.extend_from_slice(line);
    }
    // A POST always says its length (some servers refuse one that does not, with 411).
    if out.body.is_some() || out.method == "POST" {
        buf.extend_from_slice(b"Content-Length: ");
        buf.extend_from_slice(body.len().to_string().as_bytes());
        buf.extend_from_slice(b"\r\n");
    }
    buf.extend_from_slice(b"\r\n");
    buf.extend_from_slice(body);
    buf
}

/// Overwrites the request's bytes (they hold the credentials) before freeing them.
fn wipe(mut buf: Vec<u8>) {
    use zeroize::Zeroize as _;
    buf.zeroize();
}

/// The time left until `deadline` as the connection layer takes it; past it, a timeout.
fn next_timeout(deadline: Option<Instant>, reason: Timeout) -> Result<NextTimeout> {
    let after = match deadline {
        None => utime::Duration::NotHappening,
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(super::transport_error(ureq::Error::Timeout(reason)));
            }
            utime::Duration::Exact(left)
        }
    };
    Ok(NextTimeout {
        after,
        reason,
        per_read: None,
        per_write: None,
    })
}

fn send(conn: &mut dyn Connection, request: &[u8], deadline: Option<Instant>) -> Result<()> {
    let mut sent = 0;
    while sent < request.len() {
        let timeout = next_timeout(deadline, Timeout::SendRequest)?;
        let output = conn.buffers().output();
        let n = output.len().min(request.len() - sent);
        output[..n].copy_from_slice(&request[sent..sent + n]);
        conn.transmit_output(n, timeout)
            .map_err(super::transport_error)?;
        sent += n;
    }
    Ok(())
}

/// Reads more of the answer into the connection's input buffer; `false` at the end of the
/// stream.
fn fill(conn: &mut dyn Connection, deadline: Option<Instant>) -> Result<bool> {
    let timeout = next_timeout(deadline, Timeout::RecvResponse)?;
    conn.await_input(timeout).map_err(super::transport_error)
}

fn protocol(what: impl Into<String>) -> Error {
    Error::new(
        Code::Protocol,
        format!("unexpected answer: {}", what.into()),
    )
}

fn closed_early() -> Error {
    Error::new(
        Code::Network,
        "connection error: the server closed the connection before its answer was complete",
    )
}

/// How the body of an answer ends.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Reads one answer: its head (after any interim 1xx ones) and its body. The flag says whether
/// the connection may carry another request.
fn read_answer(
    conn: &mut dyn Connection,
    deadline: Option<Instant>,
    max_body: u64,
) -> Result<(Answer, bool)> {
    let (status, headers, framing, keep_alive) = loop {
        let head = read_head(conn, deadline)?;
        match head {
            Some(head) => break head,
            None => continue, // an interim answer, skipped
        }
    };
    let mut body = Vec::new();
    let delimited = match framing {
        Framing::None => true,
        Framing::Length(n) => {
            if n > max_body {
                return Err(too_large(max_body));
            }
            body.reserve_exact(n as usize);
            read_exact(conn, deadline, n as usize, &mut body)?;
            true
        }
        Framing::Chunked => {
            read_chunked(conn, deadline, max_body, &mut body)?;
            true
        }
        Framing::UntilClose => {
            loop {
                let input = conn.buffers().input();
                if body.len() as u64 + input.len() as u64 > max_body {
                    return Err(too_large(max_body));
                }
                body.extend_from_slice(input);
                let n = input.len();
                conn.buffers().input_consume(n);
                if !fill(conn, deadline)? {
                    break;
                }
            }
            false
        }
    };
    let reusable = delimited && keep_alive && conn.buffers().input().is_empty();
    Ok((
        Answer {
            status,
            headers,
            body,
        },
        reusable,
    ))
}

fn too_large(max_body: u64) -> Error {
    protocol(format!(
        "the answer is larger than {} bytes, which no Klarna answer is",
        max_body
    ))
}

type Head = (u16, Vec<(String, String)>, Framing, bool);

/// Reads one head; `None` for an interim (1xx) answer, which is consumed.
fn read_head(conn: &mut dyn Connection, deadline: Option<Instant>) -> Result<Option<Head>> {
    loop {
        let input = conn.buffers().input();
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut slots);
        match parsed.parse(input) {
            Ok(httparse::Status::Complete(len)) => {
                let head = head_of(&parsed)?;
                conn.buffers().input_consume(len);
                return Ok(head);
            }
            Ok(httparse::Status::Partial) => {
                if input.len() >= MAX_HEAD {
                    return Err(protocol(format!(
                        "the answer's headers are longer than {} bytes",
                        MAX_HEAD
                    )));
                }
            }
            Err(e) => return Err(protocol(format!("not an HTTP/1.1 answer ({})", e))),
        }
        if !fill(conn, deadline)? {
            return Err(if conn.buffers().input().is_empty() {
                Error::new(
                    Code::Network,
                    "connection error: the server closed the connection without answering",
                )
            } else {
                closed_early()
            });
        }
    }
}

fn head_of(parsed: &httparse::Response<'_, '_>) -> Result<Option<Head>> {
    let status = parsed.code.unwrap_or(0);
    if status == 101 {
        return Err(protocol("HTTP 101: the server switched protocols"));
    }
    if (100..200).contains(&status) {
        return Ok(None);
    }
    let mut headers = Vec::with_capacity(parsed.headers.len());
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut coded = false;
    let mut close = parsed.version == Some(0);
    for h in parsed.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let Ok(value) = std::str::from_utf8(h.value) else {
            continue;
        };
        match name.as_str() {
            "content-length" => {
                let n: u64 = value
                    .trim()
                    .parse()
                    .map_err(|_| protocol(format!("Content-Length {:?} is not a number", value)))?;
                if length.is_some_and(|m| m != n) {
                    return Err(protocol("two different Content-Length headers"));
                }
                length = Some(n);
            }
            "transfer-encoding" => {
                coded = true;
                // Only the last coding decides whether the body is chunked.
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"));
            }
            "connection" => {
                for token in value.split(',') {
                    let token = token.trim();
                    if token.eq_ignore_ascii_case("close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case("keep-alive") && parsed.version == Some(0)
                    {
                        close = false;
                    }
                }
            }
            _ => {}
        }
        headers.push((name, value.to_string()));
    }
    // Both framings at once is how request smuggling starts: the body is read by its coding,
    // and the connection is not used again (RFC 9112, 6.3).
    if coded && length.is_some() {
        close = true;
    }
    let framing = if status == 204 || status == 304 {
        Framing::None
    } else if coded {
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    Ok(Some((status, headers, framing, !close)))
}

/// Appends exactly `n` more bytes of the answer to `body`.
fn read_exact(
    conn: &mut dyn Connection,
    deadline: Option<Instant>,
    mut n: usize,
    body: &mut Vec<u8>,
) -> Result<()> {
    loop {
        let input = conn.buffers().input();
        let take = input.len().min(n);
        body.extend_from_slice(&input[..take]);
        conn.buffers().input_consume(take);
        n -= take;
        if n == 0 {
            return Ok(());
        }
        if !fill(conn, deadline)? {
            return Err(closed_early());
        }
    }
}

/// Reads one CRLF-terminated line of the chunked framing and consumes it; returns it without
/// the CRLF.
fn read_line(conn: &mut dyn Connection, deadline: Option<Instant>) -> Result<Vec<u8>> {
    loop {
        let input = conn.buffers().input();
        if let Some(at) = input.windows(2).position(|w| w == b"\r\n") {
            let line = input[..at].to_vec();
            conn.buffers().input_consume(at + 2);
            return Ok(line);
        }
        if input.len() >= MAX_HEAD {
            return Err(protocol("a chunk header or trailer line is too long"));
        }
        if !fill(conn, deadline)? {
            return Err(closed_early());
        }
    }
}

fn read_chunked(
    conn: &mut dyn Connection,
    deadline: Option<Instant>,
    max_body: u64,
    body: &mut Vec<u8>,
) -> Result<()> {
    loop {
        let line = read_line(conn, deadline)?;
        let size_text = line.split(|b| *b == b';').next().unwrap_or(&line);
        let size_text = std::str::from_utf8(size_text)
            .map_err(|_| protocol("a chunk size is not text"))?
            .trim();
        let size = u64::from_str_radix(size_text, 16)
            .map_err(|_| protocol(format!("chunk size {:?} is not hexadecimal", size_text)))?;
        if size == 0 {
            // Trailers, then the blank line.
            while !read_line(conn, deadline)?.is_empty() {}
            return Ok(());
        }
        if size > max_body.saturating_sub(body.len() as u64) {
            return Err(too_large(max_body));
        }
        read_exact(conn, deadline, size as usize, body)?;
        if !read_line(conn, deadline)?.is_empty() {
            return Err(protocol("a chunk is longer than its size says"));
        }
    }
}

#[cfg(test)]
mod tests {
    //! Each answer's framing over a real loopback connection, from a server that replies with
    //! fixed bytes and counts its connections.

    use super::*;
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use ureq::unversioned::resolver::DefaultResolver;

    /// One fixed answer, and whether the server closes the connection after it.
    struct Reply(&'static [u8], bool);

    struct Server {
        url: String,
        connections: Arc<AtomicUsize>,
        requests: Arc<Mutex<Vec<Vec<u8>>>>,
    }

    /// Reads one request (head, and a body by its Content-Length); `None` at the end.
    fn read_request(stream: &mut std::net::TcpStream) -> Option<Vec<u8>> {
        let mut req = Vec::new();
        let mut byte = [0u8; 1];
        while !req.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).ok()? == 0 {
                return None;
            }
            req.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&req).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map_or(0, |n| n.trim().parse::<usize>().unwrap());
        let mut body = vec![0; length];
        stream.read_exact(&mut body).ok()?;
        req.extend_from_slice(&body);
        Some(req)
    }

    fn serve(replies: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (c, r) = (Arc::clone(&connections), Arc::clone(&requests));
        std::thread::spawn(move || {
            let mut replies = replies.into_iter();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                c.fetch_add(1, Ordering::SeqCst);
                while let Some(req) = read_request(&mut stream) {
                    r.lock().unwrap().push(req);
                    let Some(Reply(bytes, close)) = replies.next() else {
                        return;
                    };
                    stream.write_all(bytes).unwrap();
                    if close {
                        let _ = stream.shutdown(Shutdown::Both);
                        break;
                    }
                }
            }
        });
        Server {
            url,
            connections,
            requests,
        }
    }

    fn connections(max_body: u64) -> Connections {
        Connections::new(
            super::super::conn::connector(),
            ureq::Agent::config_builder().build(),
            Box::new(DefaultResolver::default()),
            4,
            Duration::from_secs(5),
            max_body,
        )
    }

    fn get(conns: &Connections, url: &str) -> Result<Answer> {
        let out = Outgoing {
            method: "GET",
            url,
            header_lines: &[b"Accept: application/json\r\n"],
            body: None,
        };
        conns.exchange(&out, Some(Instant::now() + Duration::from_secs(5)))
    }

    fn two_gets(replies: Vec<Reply>) -> (Result<Answer>, Result<Answer>, usize) {
        let server = serve(replies);
        let conns = connections(1 << 20);
        let url = format!("{}/a", server.url);
        let first = get(&conns, &url);
        let second = get(&conns, &url);
        (first, second, server.connections.load(Ordering::SeqCst))
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    #[test]
    fn a_length_delimited_answer_is_read_and_its_connection_reused() {
        let (a, b, conns) = two_gets(vec![
            Reply(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKlarna-Correlation-Id: c-1\r\n\r\nhello",
                false,
            ),
            Reply(OK, false),
        ]);
        let a = a.unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"hello"[..]));
        assert!(a
            .headers
            .contains(&("klarna-correlation-id".into(), "c-1".into())));
        assert_eq!(b.unwrap().body, b"ok");
        assert_eq!(conns, 1);
    }

    #[test]
    fn a_chunked_answer_with_extensions_and_trailers_is_joined() {
        let (a, b, conns) = two_gets(vec![
            Reply(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\nA\r\n:\"0123456\"\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n",
                false,
            ),
            Reply(OK, false),
        ]);
        assert_eq!(a.unwrap().body, b"{\"a\":\"0123456\"}");
        assert_eq!(b.unwrap().body, b"ok");
        assert_eq!(
            conns, 1,
            "a chunked answer read to its end leaves the connection usable"
        );
    }

    #[test]
    fn connection_close_and_http_1_0_answers_are_not_reused() {
        for first in [
            &b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"[..],
            b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ] {
            let (a, b, conns) = two_gets(vec![Reply(first, false), Reply(OK, false)]);
            assert_eq!(a.unwrap().body, b"ok");
            assert_eq!(b.unwrap().body, b"ok");
            assert_eq!(conns, 2, "{}", String::from_utf8_lossy(first));
        }
    }

    #[test]
    fn an_answer_without_length_ends_with_the_connection() {
        let (a, b, conns) = two_gets(vec![
            Reply(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", true),
            Reply(OK, false),
        ]);
        assert_eq!(a.unwrap().body, b"until the end");
        assert_eq!(b.unwrap().body, b"ok");
        assert_eq!(conns, 2);
    }

    #[test]
    fn interim_answers_are_skipped() {
        let (a, _, _) = two_gets(vec![
            Reply(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", false),
            Reply(OK, false),
        ]);
        let a = a.unwrap();
        assert_eq!((a.status, a.body.len()), (201, 0));
    }

    #[test]
    fn chunked_and_length_together_read_by_the_coding_and_close() {
        let (a, b, conns) = two_gets(vec![
            Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false),
            Reply(OK, false),
        ]);
        assert_eq!(a.unwrap().body, b"ok");
        assert_eq!(b.unwrap().body, b"ok");
        assert_eq!(conns, 2);
    }

    #[test]
    fn bytes_after_an_answer_make_its_connection_unusable() {
        let (a, b, conns) = two_gets(vec![
            Reply(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",
                false,
            ),
            Reply(OK, false),
        ]);
        assert_eq!(a.unwrap().body, b"ok");
        assert_eq!(b.unwrap().body, b"ok");
        assert_eq!(conns, 2);
    }

    fn one_failure(reply: &'static [u8], close: bool, max_body: u64) -> Error {
        let server = serve(vec![Reply(reply, close)]);
        let conns = connections(max_body);
        get(&conns, &format!("{}/a", server.url))
            .map(|_| ())
            .unwrap_err()
    }

    #[test]
    fn malformed_answers_are_protocol_errors() {
        let big_head: &'static [u8] = Box::leak(
            [
                &b"HTTP/1.1 200 OK\r\n"[..],
                &b"X-Filler: "[..],
                &b"a".repeat(70_000),
                &b"\r\n"[..],
            ]
            .concat()
            .into_boxed_slice(),
        );
        for (reply, mentions) in [
            (
                &b"SSH-2.0-OpenSSH_9.2\r\n\r\n"[..],
                "not an HTTP/1.1 answer",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
                "two different",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n",
                "not a number",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "not hexadecimal",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n0\r\n\r\n",
                "longer than its size",
            ),
            (
                b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
                "switched protocols",
            ),
            (big_head, "longer than 65536 bytes"),
        ] {
            let e = one_failure(reply, false, 1 << 20);
            assert_eq!(e.code, Code::Protocol, "{}", e.message);
            assert!(e.message.contains(mentions), "{}", e.message);
        }
    }

    #[test]
    fn an_answer_over_the_body_limit_is_refused_however_it_is_framed() {
        for reply in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n5\r\n67890\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n01234567890",
        ] {
            let e = one_failure(reply, true, 10);
            assert_eq!(e.code, Code::Protocol, "{}", e.message);
            assert!(e.message.contains("larger than 10 bytes"), "{}", e.message);
        }
    }

    #[test]
    fn a_connection_closed_before_the_answer_ends_is_a_network_error() {
        for reply in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\nContent-Le",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc",
        ] {
            let e = one_failure(reply, true, 1 << 20);
            assert_eq!(e.code, Code::Network, "{}", e.message);
        }
    }

    #[test]
    fn an_answer_that_never_comes_ends_at_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/a", listener.local_addr().unwrap());
        let conns = connections(1 << 20);
        let out = Outgoing {
            method: "GET",
            url: &url,
            header_lines: &[],
            body: None,
        };
        let e = conns
            .exchange(&out, Some(Instant::now() + Duration::from_millis(100)))
            .map(|_| ())
            .unwrap_err();
        assert_eq!(e.code, Code::Timeout, "{}", e.message);
        drop(listener);
    }

    #[test]
    fn the_request_is_written_as_http_1_1_with_host_and_length() {
        let server = serve(vec![Reply(OK, false), Reply(OK, false), Reply(OK, false)]);
        let conns = connections(1 << 20);
        let host = server.url.trim_start_matches("http://").to_string();
        let lines: &[&[u8]] = &[b"Accept: application/json\r\n", b"X-One: 1\r\n"];
        let deadline = Some(Instant::now() + Duration::from_secs(5));
        for (method, path, body) in [
            ("POST", "/payments/v1/sessions", Some(&b"{\"a\":1}"[..])),
            ("POST", "/orders/o-1/cancel?x=1#frag", None),
            ("GET", "", None),
        ] {
            let url = format!("{}{}", server.url, path);
            let out = Outgoing {
                method,
                url: &url,
                header_lines: lines,
                body,
            };
            conns.exchange(&out, deadline).unwrap();
        }
        let seen: Vec<String> = server
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| String::from_utf8(r.clone()).unwrap())
            .collect();
        let common = format!("Host: {host}\r\nAccept: application/json\r\nX-One: 1\r\n");
        assert_eq!(
            seen,
            [
                format!("POST /payments/v1/sessions HTTP/1.1\r\n{common}Content-Length: 7\r\n\r\n{{\"a\":1}}"),
                format!("POST /orders/o-1/cancel?x=1 HTTP/1.1\r\n{common}Content-Length: 0\r\n\r\n"),
                format!("GET / HTTP/1.1\r\n{common}\r\n"),
            ]
        );
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn mangled_answers_end_in_an_answer_or_a_documented_error() {
        // Valid answers with bytes replaced, cut, repeated or inserted; deterministic (xorshift).
        let seeds: [&[u8]; 4] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nuntil close",
        ];
        const ALPHABET: &[u8] = b"0f:\r\n ;9-";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for case in 0..300 {
            let mut bytes = seeds[case % seeds.len()].to_vec();
            for _ in 0..1 + next(3) {
                let at = next(bytes.len() + 1);
                match next(5) {
                    0 if at < bytes.len() => bytes[at] = ALPHABET[next(ALPHABET.len())],
                    1 => bytes.truncate(at),
                    2 => drop(bytes.splice(at..at, *b"\r\n")),
                    3 => drop(bytes.splice(at..at, *b"ffffffffffffffff")),
                    _ => {
                        let piece = bytes[at..].to_vec();
                        bytes.extend_from_slice(&piece);
                    }
                }
            }
            let reply: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            let server = serve(vec![Reply(reply, true)]);
            match get(&connections(64), &format!("{}/a", server.url)) {
                Ok(answer) => assert!(answer.body.len() <= 64),
                Err(e) => assert!(
                    matches!(e.code, Code::Protocol | Code::Network),
                    "{:?} for {:?}",
                    e,
                    String::from_utf8_lossy(reply)
                ),
            }
        }
    }

    #[test]
    fn a_url_that_is_not_ascii_is_refused_before_connecting() {
        let conns = connections(1 << 20);
        let e = get(&conns, "http://127.0.0.1:9/caf\u{e9}")
            .map(|_| ())
            .unwrap_err();
        assert_eq!(e.code, Code::Protocol, "{}", e.message);
        assert!(e.message.contains("not ASCII"), "{}", e.message);
    }
}
