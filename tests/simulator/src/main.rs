//! klarna-pos-sim: an offline stand-in for Klarna's in-store payments API.
//!
//! It speaks HTTP/1.1 itself over `std::net` (one thread per connection) so that tests
//! can inject faults at the socket level and count connections. See `--help`.

mod faults;
mod http;
mod orders;
mod png;
mod routes;
mod state;
mod tls;
mod util;
mod validate;
mod webhook;

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use http::{ReadError, Request};
use state::{Config, Sim, State};

const USAGE: &str = "\
Usage: klarna-pos-sim [OPTIONS]

An offline simulator of Klarna's in-store payments API, for tests and demos.

Options:
  --listen ADDR:PORT      address to listen on (default 127.0.0.1:0, port 0 = any free port)
  --username U            HTTP Basic user name clients must send (default test_user)
  --password P            HTTP Basic password clients must send (default test_password)
  --customer manual|auto  manual: the customer is scripted through /_sim/ (default);
                          auto: each session is scanned and approved on its own after
                          its first poll
  --auto-delay-ms N       time from the first poll to approval in auto mode (default 2000)
  --auto-delay-max-ms M   each session's customer takes a random time from N to M instead
  --auto-start WHEN       first-poll (default): the customer's clock starts at the first
                          status read; creation: when the session is created (as with
                          sessions followed by webhook)
  --merchant U:P          another merchant's API credentials (repeatable); each merchant,
                          the --username one included, has its own rate limits
  --rate-limits L         Klarna's per-merchant limits per second over all connections:
                          production (40 session creations, 200 other requests),
                          playground (5 and 50), CREATES/OTHERS, or off (default);
                          beyond them: 429 with Retry-After
  --webhook-ca FILE       PEM certificates to trust for https:// callbacks, besides
                          Mozilla's roots (e.g. a test receiver's own CA)
  --exit-on-stdin-eof     exit when standard input reaches end of file
  --tls-cert FILE         serve HTTPS with this PEM certificate chain (needs --tls-key)
  --tls-key FILE          the PEM private key of --tls-cert
  -h, --help              print this help

The first line on standard output is `listening on http://HOST:PORT` (https with --tls-cert).
Logs, one line per request, go to standard error.

Control endpoints (no auth):
/_sim/sessions[/ID[/scan|approve|cancel|fail|expire|force|webhook_replay]],
/_sim/short_codes[/CODE/expire], /_sim/orders[/ID], /_sim/stats, /_sim/config, /_sim/faults.
";

struct Options {
    listen: String,
    username: String,
    password: String,
    customer_auto: bool,
    auto_delay_ms: u64,
    auto_delay_max_ms: u64,
    auto_start_at_creation: bool,
    merchants: Vec<(String, String)>,
    rate_limits: Option<state::RateLimits>,
    webhook_ca: Option<String>,
    exit_on_stdin_eof: bool,
    tls_cert: Option<String>,
    tls_key: Option<String>,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut o = Options {
        listen: "127.0.0.1:0".into(),
        username: "test_user".into(),
        password: "test_password".into(),
        customer_auto: false,
        auto_delay_ms: 2000,
        auto_delay_max_ms: 0,
        auto_start_at_creation: false,
        merchants: Vec::new(),
        rate_limits: None,
        webhook_ca: None,
        exit_on_stdin_eof: false,
        tls_cert: None,
        tls_key: None,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => o.listen = value()?,
            "--username" => o.username = value()?,
            "--password" => o.password = value()?,
            "--customer" => {
                o.customer_auto = match value()?.as_str() {
                    "auto" => true,
                    "manual" => false,
                    other => {
                        return Err(format!("--customer must be manual or auto, not {other:?}"))
                    }
                }
            }
            "--auto-delay-ms" => {
                let v = value()?;
                o.auto_delay_ms = v
                    .parse()
                    .map_err(|_| format!("--auto-delay-ms needs a number, not {v:?}"))?;
            }
            "--auto-delay-max-ms" => {
                let v = value()?;
                o.auto_delay_max_ms = v
                    .parse()
                    .map_err(|_| format!("--auto-delay-max-ms needs a number, not {v:?}"))?;
            }
            "--auto-start" => {
                o.auto_start_at_creation = match value()?.as_str() {
                    "creation" => true,
                    "first-poll" => false,
                    other => {
                        return Err(format!(
                            "--auto-start must be creation or first-poll, not {other:?}"
                        ))
                    }
                }
            }
            "--merchant" => {
                let v = value()?;
                match v.split_once(':') {
                    Some((u, p)) if !u.is_empty() => o.merchants.push((u.into(), p.into())),
                    _ => return Err("--merchant needs USERNAME:PASSWORD".into()),
                }
            }
            "--rate-limits" => o.rate_limits = state::RateLimits::parse(&value()?)?,
            "--webhook-ca" => o.webhook_ca = Some(value()?),
            "--exit-on-stdin-eof" => o.exit_on_stdin_eof = true,
            "--tls-cert" => o.tls_cert = Some(value()?),
            "--tls-key" => o.tls_key = Some(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.tls_cert.is_some() != o.tls_key.is_some() {
        return Err("--tls-cert and --tls-key go together".into());
    }
    Ok(Some(o))
}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("klarna-pos-sim: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let extra_roots = match &opts.webhook_ca {
        Some(path) => match std::fs::read(path) {
            Ok(pem) => Some(pem),
            Err(e) => {
                eprintln!("klarna-pos-sim: cannot read --webhook-ca {path}: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let agent = match webhook::agent(extra_roots.as_deref()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("klarna-pos-sim: --webhook-ca: {e}");
            return ExitCode::from(2);
        }
    };
    let tls_config = match (&opts.tls_cert, &opts.tls_key) {
        (Some(cert), Some(key)) => match tls::server_config(cert.as_ref(), key.as_ref()) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("klarna-pos-sim: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let listener = match TcpListener::bind(&opts.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("klarna-pos-sim: cannot listen on {}: {e}", opts.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("klarna-pos-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    // With TLS the announced listener is the TLS front door; plain HTTP is served on a private
    // loopback listener behind it.
    let scheme = if tls_config.is_some() {
        "https"
    } else {
        "http"
    };
    let (listener, tls_front) = match tls_config {
        None => (listener, None),
        Some(config) => match TcpListener::bind("127.0.0.1:0").and_then(|inner| {
            let inner_addr = inner.local_addr()?;
            Ok((inner, (listener, inner_addr, config)))
        }) {
            Ok((inner, front)) => (inner, Some(front)),
            Err(e) => {
                eprintln!("klarna-pos-sim: cannot listen behind TLS: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    // Whoever spawned us waits for this exact line to learn the port.
    {
        let mut out = io::stdout().lock();
        if writeln!(out, "listening on {scheme}://{addr}")
            .and_then(|_| out.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }

    let config = Config {
        customer_auto: opts.customer_auto,
        auto_delay_ms: opts.auto_delay_ms,
        auto_delay_max_ms: opts.auto_delay_max_ms,
        auto_start_at_creation: opts.auto_start_at_creation,
        rate_limits: opts.rate_limits,
        cancel_spelling: "CANCELED",
        qr_field: "qr_code",
        webhook_duplicate: false,
        auto_capture: false,
    };
    let (hooks_tx, hooks_rx) = mpsc::channel();
    let mut merchants = vec![(opts.username, opts.password)];
    merchants.extend(opts.merchants);
    let sim = Arc::new(Sim::new(merchants, State::new(config, hooks_tx)));
    webhook::spawn_worker(Arc::clone(&sim), agent, hooks_rx);
    spawn_auto_customer(Arc::clone(&sim));

    if opts.exit_on_stdin_eof {
        // Test harnesses keep our stdin open; when they die it closes and so do we.
        thread::spawn(|| {
            let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
            std::process::exit(0);
        });
    }

    if let Some((front, inner_addr, config)) = tls_front {
        thread::spawn(move || tls::serve(front, inner_addr, config));
    }

    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let sim = Arc::clone(&sim);
                let spawned = thread::Builder::new()
                    .name("connection".into())
                    .spawn(move || serve(&sim, stream, scheme));
                if let Err(e) = spawned {
                    eprintln!("cannot start a connection thread: {e}");
                }
            }
            Err(e) => {
                // Typically out of file descriptors: back off instead of spinning.
                eprintln!("accept failed: {e}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
    ExitCode::SUCCESS
}

/// Moves the automatic customer along for sessions nobody polls (those followed by webhook),
/// so their status changes, and so their callbacks, happen on time (within a millisecond or
/// two: the thread sleeps until the next change is due, 50 ms at most). Polled sessions are
/// brought up to date when read anyway.
fn spawn_auto_customer(sim: Arc<Sim>) {
    const IDLE: Duration = Duration::from_millis(50);
    let spawned = thread::Builder::new()
        .name("auto-customer".into())
        .spawn(move || {
            let mut pause = IDLE;
            loop {
                thread::sleep(pause);
                pause = IDLE;
                let mut st = sim.lock();
                if !st.config.customer_auto {
                    continue;
                }
                let live: Vec<(String, std::time::Instant, Duration, bool)> = st
                    .sessions
                    .values()
                    .filter(|s| s.callback_url().is_some() && !state::is_terminal(&s.status))
                    .filter_map(|s| {
                        let t0 = s.auto_clock?;
                        Some((
                            s.id.clone(),
                            t0,
                            st.auto_delay(s),
                            s.status == state::ACCESSED,
                        ))
                    })
                    .collect();
                for (id, t0, delay, accessed) in live {
                    st.refresh(&id);
                    let next = if accessed || t0.elapsed() >= delay / 2 {
                        delay
                    } else {
                        delay / 2
                    };
                    let left = next.saturating_sub(t0.elapsed());
                    if !left.is_zero() {
                        pause = pause.min(left + Duration::from_millis(1));
                    }
                }
            }
        });
    if let Err(e) = spawned {
        eprintln!("cannot start the automatic customer: {e}");
    }
}

/// Absolute base URL for links we hand out: the Host the client used when it looks
/// sane (so links work through port forwards and names), else our local address.
fn base_url(req: &Request, local: Option<SocketAddr>, scheme: &str) -> String {
    if let Some(host) = req.header("host") {
        if !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b))
        {
            return format!("{scheme}://{host}");
        }
    }
    match local {
        Some(a) => format!("{scheme}://{a}"),
        None => format!("{scheme}://127.0.0.1"),
    }
}

fn log(method: &str, path: &str, outcome: &str) {
    // The query is left out: the result_url's token is a capability. The line is put together
    // first so that it reaches unbuffered stderr in one write.
    let mut line = String::with_capacity(method.len() + path.len() + outcome.len() + 3);
    for (i, part) in [method, path, outcome].into_iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(part);
    }
    line.push('\n');
    eprint!("{line}");
}

/// Closes after a final answer without losing it: a close with unread input makes the
/// kernel send RST, which can destroy the answer in flight, so input is drained briefly.
fn close_gracefully(stream: &TcpStream, reader: &mut BufReader<TcpStream>) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = io::copy(
        &mut reader.by_ref().take(2 * http::MAX_BODY as u64),
        &mut io::sink(),
    );
}

/// Serves one connection: requests in sequence until either side wants to close.
/// `scheme` is what clients used to reach us (`https` behind the TLS front door), for the
/// absolute URLs in answers.
fn serve(sim: &Sim, stream: TcpStream, scheme: &str) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().ok();
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut first = true;
    loop {
        let mut out = &stream;
        let head = http::read_head(&mut reader);
        let correlation_id = util::uuid_v4();
        let reject = |status: u16, code: &str, message: &str| {
            routes::klarna_error(status, code, message, &correlation_id).closing()
        };
        let mut req = match head {
            Ok(r) => r,
            Err(ReadError::Closed | ReadError::Io(_)) => return,
            Err(e) => {
                // An unparseable first request still counts as a client connection.
                {
                    let mut st = sim.lock();
                    st.stats.connections += u64::from(first);
                    st.stats.requests += 1;
                }
                let resp = match e {
                    ReadError::HeadTooLarge => reject(431, "BAD_VALUE", "Request header too large"),
                    ReadError::Malformed(m) => {
                        reject(400, "BAD_VALUE", &format!("Malformed request: {m}"))
                    }
                    _ => reject(400, "BAD_VALUE", "Malformed request"),
                };
                let _ = out.write_all(&resp.to_bytes(&correlation_id, Some("close")));
                log("-", "-", &resp.status.to_string());
                close_gracefully(&stream, &mut reader);
                return;
            }
        };

        let control = routes::is_control(&req.path);
        if !control {
            let mut st = sim.lock();
            st.stats.connections += u64::from(first);
            st.stats.requests += 1;
            routes::count(&mut st, &req.method, &req.path);
        }
        first = false;

        let read = http::read_body(&mut reader, &mut out, &mut req);
        // A create request's body is parsed once, here (outside the lock), for duplicate
        // detection and for the creation itself.
        let mut create_body = None;
        if !control && read.is_ok() && routes::is_create(&req.method, &req.path) {
            let parsed = serde_json::from_slice::<serde_json::Value>(&req.body).ok();
            sim.lock().note_create(parsed.as_ref());
            create_body = parsed;
        }
        if let Err(e) = read {
            let resp = match e {
                ReadError::Closed | ReadError::Io(_) => return,
                ReadError::BodyTooLarge => {
                    reject(413, "PAYLOAD_TOO_LARGE", "Request body larger than 1 MB")
                }
                ReadError::Malformed(m) => {
                    reject(400, "BAD_VALUE", &format!("Malformed request: {m}"))
                }
                ReadError::HeadTooLarge => reject(400, "BAD_VALUE", "Malformed request"),
            };
            let _ = out.write_all(&resp.to_bytes(&correlation_id, Some("close")));
            log(&req.method, &req.path, &resp.status.to_string());
            close_gracefully(&stream, &mut reader);
            return;
        }

        let fault = if control {
            None
        } else {
            sim.lock().take_fault(&req.method, &req.path)
        };
        let fault_note = fault
            .as_ref()
            .map(|r| format!(" (fault {})", r.mode.name()))
            .unwrap_or_default();
        let ctx = routes::Ctx {
            sim,
            correlation_id: &correlation_id,
            base_url: base_url(&req, local, scheme),
            create_body: std::cell::Cell::new(create_body),
        };
        let mut close_after = false;
        let (resp, drip) = match fault.map(|r| faults::action(&r, &correlation_id)) {
            None => (routes::handle(&ctx, &req), None),
            Some(faults::Action::CloseAfterAnswer) => {
                close_after = true;
                (routes::handle(&ctx, &req), None)
            }
            Some(faults::Action::Respond(r)) => (r, None),
            Some(faults::Action::Drip(d)) => (routes::handle(&ctx, &req), Some(d)),
            Some(faults::Action::Reset) => {
                log(&req.method, &req.path, &format!("reset{fault_note}"));
                faults::set_reset_on_close(&stream);
                return;
            }
            Some(faults::Action::LoseAnswer(hold)) => {
                // The action happens; only its answer is lost, as when a link dies mid-answer.
                let resp = routes::handle(&ctx, &req);
                log(
                    &req.method,
                    &req.path,
                    &format!("{} lost{fault_note}", resp.status),
                );
                thread::sleep(hold);
                return;
            }
            Some(faults::Action::Stall(d)) => {
                log(&req.method, &req.path, &format!("stalled{fault_note}"));
                // Only this connection's thread waits; others are unaffected.
                thread::sleep(d);
                return;
            }
        };

        let close = resp.close || !req.keep_alive();
        let connection = if close {
            Some("close")
        } else if req.http10 {
            Some("keep-alive")
        } else {
            None
        };
        let bytes = resp.to_bytes(&correlation_id, connection);
        let written = match drip {
            None => out.write_all(&bytes),
            Some(pause) => bytes.iter().try_for_each(|b| {
                out.write_all(std::slice::from_ref(b))?;
                thread::sleep(pause);
                Ok(())
            }),
        };
        log(
            &req.method,
            &req.path,
            &format!("{}{fault_note}", resp.status),
        );
        if written.is_err() {
            return;
        }
        if close_after {
            // The answer said keep-alive; the close (a FIN, sent by the shutdown) comes
            // unannounced once the answer is out. Counted after it, so a client that sees the
            // count has the FIN in its socket.
            let _ = stream.shutdown(Shutdown::Both);
            sim.lock().stats.closed_after_answer += 1;
            return;
        }
        if close {
            close_gracefully(&stream, &mut reader);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Options>, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn command_line() {
        let o = args(&[]).unwrap().unwrap();
        assert_eq!(
            (o.listen.as_str(), o.username.as_str()),
            ("127.0.0.1:0", "test_user")
        );
        assert!(!o.customer_auto && o.auto_delay_ms == 2000 && !o.exit_on_stdin_eof);
        let o = args(&[
            "--listen=0.0.0.0:8080",
            "--customer",
            "auto",
            "--auto-delay-ms",
            "5",
            "--exit-on-stdin-eof",
            "--webhook-ca",
            "ca.pem",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(o.listen, "0.0.0.0:8080");
        assert_eq!(o.webhook_ca.as_deref(), Some("ca.pem"));
        assert!(o.customer_auto && o.auto_delay_ms == 5 && o.exit_on_stdin_eof);
        assert!(args(&["--help"]).unwrap().is_none());
        assert!(args(&["--customer", "robot"]).is_err());
        assert!(args(&["--listen"]).is_err());
        assert!(args(&["--bogus"]).is_err());
        assert!(args(&["--tls-cert", "c.pem"]).is_err());
        let o = args(&[
            "--rate-limits",
            "production",
            "--merchant",
            "other:secret",
            "--auto-delay-max-ms=30000",
            "--auto-start",
            "creation",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            o.rate_limits,
            Some(state::RateLimits {
                creates: 40,
                others: 200
            })
        );
        assert_eq!(o.merchants, [("other".to_string(), "secret".to_string())]);
        assert_eq!(o.auto_delay_max_ms, 30000);
        assert!(o.auto_start_at_creation);
        assert!(args(&["--auto-start", "later"]).is_err());
        assert_eq!(
            args(&["--rate-limits", "2/3"])
                .unwrap()
                .unwrap()
                .rate_limits,
            Some(state::RateLimits {
                creates: 2,
                others: 3
            })
        );
        assert!(args(&["--rate-limits", "off"])
            .unwrap()
            .unwrap()
            .rate_limits
            .is_none());
        assert!(args(&["--rate-limits", "fast"]).is_err());
        assert!(args(&["--rate-limits", "0/3"]).is_err());
        assert!(args(&["--merchant", "nocolon"]).is_err());
        let o = args(&["--tls-cert", "c.pem", "--tls-key", "k.pem"])
            .unwrap()
            .unwrap();
        assert_eq!(o.tls_key.as_deref(), Some("k.pem"));
    }
}
