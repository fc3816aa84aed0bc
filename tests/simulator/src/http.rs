//! A deliberately small HTTP/1.1 server side: request parsing from any `BufRead` and
//! response serialisation. Written by hand (rather than with a framework) because the
//! simulator needs socket-level control for fault injection and connection counting.

use serde_json::Value;
use std::io::{self, BufRead, Read, Write};

use crate::util;

/// Klarna rejects bodies above 1 MB with 413.
pub const MAX_BODY: usize = 1024 * 1024;
/// Budget for the request line plus all header lines.
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
/// Budget for one chunk-size line, and for all trailer lines together.
const MAX_CHUNK_LINE: usize = 4 * 1024;
const MAX_TRAILERS: usize = 16 * 1024;

#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// Path without the query string, as sent (no percent-decoding: ids are plain ASCII).
    pub path: String,
    /// Query string without the leading `?` (empty when absent).
    pub query: String,
    pub http10: bool,
    /// Header names are lowercased; values keep their case, surrounding blanks removed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the connection cleanly between requests.
    Closed,
    /// Socket error or EOF in the middle of a request: nothing sensible to answer.
    Io(io::Error),
    /// Syntactically broken request: answer 400 and close.
    Malformed(&'static str),
    /// Body above `MAX_BODY`: answer 413 and close (the body is not drained).
    BodyTooLarge,
    /// Request line and headers above their budget: answer 431 and close.
    HeadTooLarge,
}

impl Request {
    /// First value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether any value of a comma-separated header contains `token` (case-insensitive).
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// HTTP/1.1 connections persist unless the client says `close`; HTTP/1.0 ones only
    /// when the client asks for `keep-alive`.
    pub fn keep_alive(&self) -> bool {
        if self.http10 {
            self.has_token("connection", "keep-alive")
        } else {
            !self.has_token("connection", "close")
        }
    }

    /// Value of a query parameter, percent-decoded; `None` when absent.
    pub fn query_param(&self, key: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == key).then(|| percent_decode(v))
        })
    }
}

/// Form-style decoding: `+` is a space, `%XY` its byte, an incomplete escape stays as it is.
fn percent_decode(s: &str) -> String {
    if !s.contains(['+', '%']) {
        return s.to_string();
    }
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Reads one line ending in LF (a preceding CR is dropped) into `buf` (cleared first) while
/// spending at most `budget` bytes. `Ok(false)` means EOF before any byte.
fn read_line<R: BufRead>(
    r: &mut R,
    budget: &mut usize,
    buf: &mut Vec<u8>,
) -> Result<bool, ReadError> {
    if *budget == 0 {
        return Err(ReadError::HeadTooLarge);
    }
    buf.clear();
    let n = r
        .by_ref()
        .take(*budget as u64)
        .read_until(b'\n', buf)
        .map_err(ReadError::Io)?;
    if n == 0 {
        return Ok(false);
    }
    if buf.last() != Some(&b'\n') {
        if n == *budget {
            return Err(ReadError::HeadTooLarge);
        }
        return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
    }
    *budget -= n;
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(true)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Reads one complete request (head, then body).
#[cfg(test)]
pub fn read_request<R: BufRead, W: Write>(
    r: &mut R,
    interim: &mut W,
) -> Result<Request, ReadError> {
    let mut req = read_head(r)?;
    read_body(r, interim, &mut req)?;
    Ok(req)
}

/// Reads the request line and headers; the body is left for `read_body`, so that the
/// caller can account for the request even when its body turns out to be too large.
pub fn read_head<R: BufRead>(r: &mut R) -> Result<Request, ReadError> {
    let mut budget = MAX_HEAD;
    let mut line = Vec::with_capacity(256);
    // RFC 9112 section 2.2: ignore empty lines received before the request line.
    loop {
        if !read_line(r, &mut budget, &mut line)? {
            return Err(ReadError::Closed);
        }
        if !line.is_empty() {
            break;
        }
    }
    let request_line =
        std::str::from_utf8(&line).map_err(|_| ReadError::Malformed("request line is not text"))?;
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => return Err(ReadError::Malformed("bad request line")),
    };
    if !is_token(method) {
        return Err(ReadError::Malformed("bad method"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(ReadError::Malformed("unsupported HTTP version")),
    };
    // Absolute-form targets (sent through proxies) are reduced to their path.
    let target = match target.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            match rest.find('/') {
                Some(i) => &rest[i..],
                None => "/",
            }
        }
        _ => target,
    };
    if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(ReadError::Malformed("bad request target"));
    }
    let target = target.split('#').next().unwrap_or(target);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));

    let (method, path, query) = (method.to_string(), path.to_string(), query.to_string());

    let mut headers = Vec::with_capacity(16);
    loop {
        if !read_line(r, &mut budget, &mut line)? {
            return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(ReadError::Malformed("obsolete header line folding"));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(ReadError::Malformed("header line without colon"))?;
        let name = std::str::from_utf8(&line[..colon])
            .map_err(|_| ReadError::Malformed("bad header name"))?;
        if !is_token(name) {
            return Err(ReadError::Malformed("bad header name"));
        }
        let blank = |c| c == ' ' || c == '\t';
        let value = match std::str::from_utf8(&line[colon + 1..]) {
            Ok(v) => v.trim_matches(blank).to_string(),
            Err(_) => String::from_utf8_lossy(&line[colon + 1..])
                .trim_matches(blank)
                .to_string(),
        };
        if headers.len() == MAX_HEADERS {
            return Err(ReadError::HeadTooLarge);
        }
        headers.push((name.to_ascii_lowercase(), value));
    }

    Ok(Request {
        method,
        path,
        query,
        http10,
        headers,
        body: Vec::new(),
    })
}

/// Reads the body announced by the head into `req.body`. `interim` receives the
/// `100 Continue` answer when the client asked for it (curl does so for larger bodies).
pub fn read_body<R: BufRead, W: Write>(
    r: &mut R,
    interim: &mut W,
    req: &mut Request,
) -> Result<(), ReadError> {
    req.body = read_body_bytes(r, interim, req)?;
    Ok(())
}

fn read_body_bytes<R: BufRead, W: Write>(
    r: &mut R,
    interim: &mut W,
    req: &Request,
) -> Result<Vec<u8>, ReadError> {
    let all = |name: &str| -> Vec<&str> {
        req.headers
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .collect()
    };
    let codings = all("transfer-encoding");
    let lengths = all("content-length");
    let expects_continue = !req.http10
        && req
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let mut send_continue = || -> Result<(), ReadError> {
        if expects_continue {
            interim
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .and_then(|_| interim.flush())
                .map_err(ReadError::Io)?;
        }
        Ok(())
    };

    if !codings.is_empty() {
        // Both framings at once is a request-smuggling pattern: refuse it.
        if !lengths.is_empty() {
            return Err(ReadError::Malformed(
                "both Content-Length and Transfer-Encoding",
            ));
        }
        if req.http10 || codings.len() != 1 || !codings[0].eq_ignore_ascii_case("chunked") {
            return Err(ReadError::Malformed("unsupported Transfer-Encoding"));
        }
        send_continue()?;
        return read_chunked(r);
    }
    if lengths.is_empty() {
        return Ok(Vec::new());
    }
    if lengths
        .iter()
        .any(|v| v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()))
        || lengths.iter().any(|v| *v != lengths[0])
    {
        return Err(ReadError::Malformed("bad Content-Length"));
    }
    // All digits: a parse failure can only be an overflow, i.e. far too large.
    let len: usize = lengths[0].parse().map_err(|_| ReadError::BodyTooLarge)?;
    if len > MAX_BODY {
        return Err(ReadError::BodyTooLarge);
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    send_continue()?;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).map_err(ReadError::Io)?;
    Ok(body)
}

fn read_chunked<R: BufRead>(r: &mut R) -> Result<Vec<u8>, ReadError> {
    let eof = || ReadError::Io(io::ErrorKind::UnexpectedEof.into());
    let too_long = |e: ReadError| match e {
        ReadError::HeadTooLarge => ReadError::Malformed("chunk line too long"),
        e => e,
    };
    let mut body = Vec::new();
    let mut line = Vec::new();
    loop {
        let mut budget = MAX_CHUNK_LINE;
        if !read_line(r, &mut budget, &mut line).map_err(too_long)? {
            return Err(eof());
        }
        let text = String::from_utf8_lossy(&line);
        let size = text.split(';').next().unwrap_or("").trim();
        if size.is_empty() || size.len() > 16 {
            return Err(ReadError::Malformed("bad chunk size"));
        }
        let size =
            u64::from_str_radix(size, 16).map_err(|_| ReadError::Malformed("bad chunk size"))?;
        if size == 0 {
            // Trailer fields are read and ignored.
            let mut budget = MAX_TRAILERS;
            loop {
                if !read_line(r, &mut budget, &mut line).map_err(too_long)? {
                    return Err(eof());
                }
                if line.is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() as u64 + size > MAX_BODY as u64 {
            return Err(ReadError::BodyTooLarge);
        }
        let start = body.len();
        body.resize(start + size as usize, 0);
        r.read_exact(&mut body[start..]).map_err(ReadError::Io)?;
        let mut budget = 2;
        match read_line(r, &mut budget, &mut line) {
            Ok(true) if line.is_empty() => {}
            Ok(false) => return Err(eof()),
            Err(ReadError::Io(e)) => return Err(ReadError::Io(e)),
            _ => return Err(ReadError::Malformed("chunk not followed by CRLF")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Close the connection after this response whatever the client asked.
    pub close: bool,
}

impl Response {
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            close: false,
        }
    }

    pub fn json(status: u16, value: &Value) -> Self {
        // A Value always serializes; writing into a Vec cannot fail.
        Response::json_text(status, serde_json::to_vec(value).unwrap_or_default())
    }

    /// A JSON answer whose body is already written.
    pub fn json_text(status: u16, body: Vec<u8>) -> Self {
        Response::new(status)
            .header("Content-Type", "application/json")
            .body(body)
    }

    pub fn html(status: u16, html: &str) -> Self {
        Response::new(status)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(html.as_bytes().to_vec())
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    pub fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    /// The bytes on the wire. `connection` is the value of the Connection header, if any.
    /// Content-Length is always sent, except where HTTP forbids it (1xx, 204, 304).
    pub fn to_bytes(&self, correlation_id: &str, connection: Option<&str>) -> Vec<u8> {
        let bodiless = self.status < 200 || self.status == 204 || self.status == 304;
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum();
        let mut out = Vec::with_capacity(192 + headers + self.body.len());
        out.extend_from_slice(b"HTTP/1.1 ");
        util::push_decimal(&mut out, u64::from(self.status));
        out.push(b' ');
        out.extend_from_slice(reason(self.status).as_bytes());
        out.extend_from_slice(b"\r\nDate: ");
        util::http_date_now(&mut out);
        out.extend_from_slice(b"\r\nKlarna-Correlation-Id: ");
        out.extend_from_slice(correlation_id.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (k, v) in &self.headers {
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !bodiless {
            out.extend_from_slice(b"Content-Length: ");
            util::push_decimal(&mut out, self.body.len() as u64);
            out.extend_from_slice(b"\r\n");
        }
        if let Some(c) = connection {
            out.extend_from_slice(b"Connection: ");
            out.extend_from_slice(c.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !bodiless {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn parse(raw: &str) -> (Result<Request, ReadError>, Vec<u8>) {
        let mut cur = Cursor::new(raw.as_bytes().to_vec());
        let mut interim = Vec::new();
        let r = read_request(&mut cur, &mut interim);
        (r, interim)
    }

    #[test]
    fn simple_get_with_query() {
        let (r, _) = parse("GET /a/b?dt=x%2By&z HTTP/1.1\r\nHost: h\r\nX-Thing:  v1 \r\n\r\n");
        let r = r.unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/a/b");
        assert_eq!(r.query_param("dt").as_deref(), Some("x+y"));
        assert_eq!(r.query_param("z").as_deref(), Some(""));
        assert_eq!(r.query_param("q"), None);
        assert_eq!(r.header("x-THING"), Some("v1"));
        assert!(r.keep_alive());
    }

    #[test]
    fn query_values_are_form_decoded_and_keep_incomplete_escapes() {
        assert_eq!(percent_decode("a+b%20c%2B"), "a b c+");
        assert_eq!(percent_decode("%%41%4g%2%"), "%A%4g%2%");
        assert_eq!(percent_decode("%C3%A9%FF"), "é\u{fffd}");
        assert_eq!(percent_decode("plain-é"), "plain-é");
    }

    #[test]
    fn keep_alive_rules() {
        let (r, _) = parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n");
        assert!(!r.unwrap().keep_alive());
        let (r, _) = parse("GET / HTTP/1.0\r\n\r\n");
        assert!(!r.unwrap().keep_alive());
        let (r, _) = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert!(r.unwrap().keep_alive());
    }

    #[test]
    fn content_length_body_and_continue() {
        let (r, interim) = parse(
            "POST /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhelloEXTRA",
        );
        assert_eq!(r.unwrap().body, b"hello");
        assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn chunked_body() {
        let (r, _) = parse(
            "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n",
        );
        assert_eq!(r.unwrap().body, b"Wikipedia");
    }

    #[test]
    fn bad_requests() {
        for raw in [
            "GARBAGE\r\n\r\n",
            "GET / HTTP/2.0\r\n\r\n",
            "GET nopath HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
            "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        ] {
            assert!(
                matches!(parse(raw).0, Err(ReadError::Malformed(_))),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn limits_and_eof() {
        let raw = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(matches!(parse(&raw).0, Err(ReadError::BodyTooLarge)));
        let raw = "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n";
        assert!(matches!(parse(raw).0, Err(ReadError::BodyTooLarge)));
        let raw = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(matches!(parse(&raw).0, Err(ReadError::HeadTooLarge)));
        assert!(matches!(parse("").0, Err(ReadError::Closed)));
        assert!(matches!(
            parse("GET / HTTP/1.1\r\nA: b\r\n").0,
            Err(ReadError::Io(_))
        ));
        assert!(matches!(
            parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").0,
            Err(ReadError::Io(_))
        ));
    }

    #[test]
    fn response_framing() {
        let r = Response::json(200, &serde_json::json!({"a": 1}));
        let text = String::from_utf8(r.to_bytes("cid", Some("close"))).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("Klarna-Correlation-Id: cid\r\n"));
        assert!(text.contains("Content-Length: 7\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        assert!(text.ends_with("\r\n\r\n{\"a\":1}"));
        let text = String::from_utf8(Response::new(204).to_bytes("cid", None)).unwrap();
        assert!(!text.contains("Content-Length"));
        let r = Response::json(201, &serde_json::json!({"a": 1})).header("Location", "/x");
        let text = String::from_utf8(r.to_bytes("cid", Some("keep-alive"))).unwrap();
        let date = text
            .split("\r\n")
            .nth(1)
            .unwrap()
            .strip_prefix("Date: ")
            .unwrap();
        assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
        assert_eq!(
            text,
            format!(
                "HTTP/1.1 201 Created\r\nDate: {date}\r\nKlarna-Correlation-Id: cid\r\n\
                 Content-Type: application/json\r\nLocation: /x\r\nContent-Length: 7\r\n\
                 Connection: keep-alive\r\n\r\n{{\"a\":1}}"
            )
        );
    }
}
