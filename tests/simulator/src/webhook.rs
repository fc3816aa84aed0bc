//! Webhook delivery: Klarna POSTs the status payload to the session's
//! `distribution.callback_urls.status_update` on every change. One worker thread delivers
//! the queued payloads in order (3 s timeout, up to 3 retries with backoff). Only plain
//! `http://` URLs can be reached; others are recorded as undeliverable.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::state::Sim;
use crate::util;

const TIMEOUT: Duration = Duration::from_secs(3);
const BACKOFF_MS: [u64; 3] = [500, 1000, 2000];

pub struct Job {
    pub session_id: String,
    /// Index of this delivery in the session's webhook records.
    pub index: usize,
    pub url: String,
    pub body: String,
}

pub fn spawn_worker(sim: Arc<Sim>, jobs: Receiver<Job>) {
    thread::Builder::new()
        .name("webhooks".into())
        .spawn(move || {
            for job in jobs {
                deliver(&sim, &job);
            }
        })
        .expect("spawning the webhook thread");
}

fn deliver(sim: &Sim, job: &Job) {
    for attempt in 0..=BACKOFF_MS.len() {
        if attempt > 0 {
            thread::sleep(Duration::from_millis(BACKOFF_MS[attempt - 1]));
        }
        let result = post(&job.url, &job.body);
        let (delivered, text, retry) = match &result {
            Ok(status) => ((200..300).contains(status), status.to_string(), true),
            Err(Failure::Permanent(e)) => (false, e.clone(), false),
            Err(Failure::Transient(e)) => (false, e.clone(), true),
        };
        // The URL is not logged: its query may carry the integrator's secret.
        eprintln!(
            "webhook {} attempt {}: {}",
            job.session_id,
            attempt + 1,
            text
        );
        if let Some(rec) = sim
            .lock()
            .sessions
            .get_mut(&job.session_id)
            .and_then(|s| s.webhooks.get_mut(job.index))
        {
            rec.attempts = attempt as u32 + 1;
            rec.delivered = delivered;
            rec.last_result = Some(text);
        }
        if delivered || !retry {
            return;
        }
    }
}

enum Failure {
    Permanent(String),
    Transient(String),
}

/// One POST; the answer's status code.
fn post(url: &str, body: &str) -> Result<u16, Failure> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| Failure::Permanent("only http:// callbacks can be delivered".into()))?;
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let path = match path {
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_string(),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, p.parse::<u16>().ok()),
        _ => (authority, Some(80)),
    };
    let port = port.ok_or_else(|| Failure::Permanent("bad port in callback URL".into()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| Failure::Transient(format!("cannot resolve: {e}")))?;
    let mut last = Failure::Transient("no address".into());
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(stream) => return exchange(stream, authority, &path, body),
            Err(e) => last = Failure::Transient(format!("connect: {e}")),
        }
    }
    Err(last)
}

fn exchange(stream: TcpStream, authority: &str, path: &str, body: &str) -> Result<u16, Failure> {
    let io = |e: std::io::Error| Failure::Transient(e.to_string());
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nUser-Agent: klarna-pos-sim/{}\r\nKlarna-Correlation-Id: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len(),
        env!("CARGO_PKG_VERSION"),
        util::uuid_v4()
    );
    (&stream).write_all(request.as_bytes()).map_err(io)?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).map_err(io)?;
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Failure::Transient(format!("bad answer: {:?}", line.trim_end())))
}
