//! Webhook-driven payments through the C ABI: the simulator calls back a loopback receiver (a
//! till backend in miniature) that hands every call to `kpos_webhook_verify`.

mod common;

use std::ffi::{c_char, c_void, CStr};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::kpos_string_free;
use klarna_pos::ffi::log::*;
use klarna_pos::ffi::session::*;
use klarna_pos::ffi::webhook::kpos_webhook_verify;
use serde_json::{json, Value};

/// What the receiver did with one call.
#[derive(Debug)]
struct Delivery {
    code: u32,
    status: u32,
    session_id: Option<String>,
    payload_status: String,
    /// The request target and body as received, for relaying.
    target: String,
    body: String,
}

/// Verifies one callback through the C ABI: the result code, the status written (or
/// `u32::MAX` when none was) and the session id.
fn verify(client: &Client, request: &str, body: &str) -> (u32, u32, Option<String>) {
    verify_bytes(client, request.as_bytes(), body.as_bytes())
}

/// As [`verify`], for any bytes (NULs included), passed with their lengths.
fn verify_bytes(client: &Client, request: &[u8], body: &[u8]) -> (u32, u32, Option<String>) {
    let mut status = u32::MAX;
    let mut id: *mut c_char = std::ptr::null_mut();
    let code = unsafe {
        kpos_webhook_verify(
            client.0,
            request.as_ptr(),
            request.len(),
            body.as_ptr(),
            body.len(),
            &mut id,
            &mut status,
        )
    };
    let session_id = owned(id);
    unsafe { kpos_string_free(id) };
    (code, status, session_id)
}

/// A loopback HTTP listener standing in for the till backend's webhook endpoint, plain or with
/// TLS (the test certificate of tests/data/tls, issued for 127.0.0.1 by the test CA).
struct Receiver {
    listener: TcpListener,
    url: String,
    tls: Option<Arc<rustls::ServerConfig>>,
}

fn tls_file(name: &str) -> String {
    format!("{}/tests/data/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

impl Receiver {
    fn bind() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/klarna/status", listener.local_addr().unwrap());
        Receiver {
            listener,
            url,
            tls: None,
        }
    }

    fn bind_tls() -> Receiver {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_file_iter(tls_file("receiver.crt"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(tls_file("receiver.key")).unwrap();
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let plain = Receiver::bind();
        Receiver {
            url: plain.url.replace("http://", "https://"),
            listener: plain.listener,
            tls: Some(Arc::new(config)),
        }
    }

    /// Serves callbacks for `client` on a thread until the test ends; each call's outcome is
    /// sent to the returned channel.
    fn serve(self, client: &'static Client) -> mpsc::Receiver<Delivery> {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in self.listener.incoming() {
                let Ok(stream) = stream else { continue };
                let delivery = match &self.tls {
                    None => answer(client, &mut &stream),
                    Some(config) => {
                        let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                        let mut tls = rustls::StreamOwned::new(conn, stream);
                        let delivery = answer(client, &mut tls);
                        tls.conn.send_close_notify();
                        let _ = tls.flush();
                        delivery
                    }
                };
                if let Some(d) = delivery {
                    let _ = tx.send(d);
                }
            }
        });
        rx
    }
}

/// Reads one callback from `stream`, verifies it and answers it as the header advises.
fn answer(client: &Client, stream: &mut (impl Read + Write)) -> Option<Delivery> {
    let mut reader = BufReader::new(&mut *stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let target = line.split(' ').nth(1)?.to_string();
    let mut len = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        if h.trim_end().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    drop(reader);
    let body = String::from_utf8(body).ok()?;
    let (code, status, session_id) = verify(client, &target, &body);
    let answer = match code {
        KPOS_OK => "200 OK",
        KPOS_E_PERMISSION_DENIED => "403 Forbidden",
        KPOS_E_NOT_FOUND => "404 Not Found",
        KPOS_E_BAD_REQUEST => "400 Bad Request",
        _ => "503 Service Unavailable",
    };
    let _ = stream.write_all(
        format!("HTTP/1.1 {answer}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let payload: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    Some(Delivery {
        code,
        status,
        session_id,
        payload_status: payload["status"].as_str().unwrap_or("").to_string(),
        target,
        body,
    })
}

/// A client whose sessions report by webhook to a receiver serving it. The client lives for
/// the rest of the test process, as the receiver thread does.
fn webhook_client(sim: &Sim) -> (&'static Client, mpsc::Receiver<Delivery>) {
    webhook_client_on(sim, Receiver::bind())
}

fn webhook_client_on(sim: &Sim, receiver: Receiver) -> (&'static Client, mpsc::Receiver<Delivery>) {
    let client = Client::new(&sim.config_json(json!({"webhook_url": receiver.url}))).unwrap();
    let client: &'static Client = Box::leak(Box::new(client));
    let deliveries = receiver.serve(client);
    (client, deliveries)
}

/// The next `n` calls the receiver handled (bounded, so a missing call fails the test).
fn next(deliveries: &mpsc::Receiver<Delivery>, n: usize) -> Vec<Delivery> {
    (0..n)
        .map(|i| {
            deliveries
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("callback {} of {} never arrived", i + 1, n))
        })
        .collect()
}

fn callback_url(sim: &Sim, session: &Session) -> String {
    sim.session(&session.id())["callback_url"]
        .as_str()
        .unwrap()
        .to_string()
}

fn param<'a>(url: &'a str, name: &str) -> &'a str {
    url.split(['?', '&'])
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap()
}

fn polls(sim: &Sim, session: &Session) -> u64 {
    sim.session(&session.id())["polls"].as_u64().unwrap()
}

#[test]
fn a_webhook_driven_payment_completes_with_one_status_read_to_confirm_completed() {
    let sim = Sim::start();
    let (client, deliveries) = webhook_client(&sim);
    let s = client.create(&order()).unwrap();

    let url = callback_url(&sim, &s);
    assert!(url.contains("/klarna/status?kpos_ref="), "{url}");
    assert_eq!(param(&url, "kpos_ref").len(), 32);
    assert_eq!(param(&url, "kpos_token").len(), 43);

    assert_eq!(s.wait(20_000).unwrap(), KPOS_STATUS_DISTRIBUTED);
    assert!(s.qr_url().is_some(), "the QR URL came with the callback");
    sim.act(&s.id(), "scan", None);
    assert_eq!(s.wait(20_000).unwrap(), KPOS_STATUS_ACCESSED);
    assert_eq!(
        polls(&sim, &s),
        0,
        "DISTRIBUTED and ACCESSED were learned from callbacks"
    );

    sim.act(&s.id(), "approve", Some(json!({"order_id": "by-webhook"})));
    assert_eq!(s.wait(20_000).unwrap(), KPOS_STATUS_COMPLETED);
    assert_eq!(s.order_id().as_deref(), Some("by-webhook"));
    assert_eq!(
        polls(&sim, &s),
        1,
        "one GET confirmed the COMPLETED callback"
    );

    let handled = next(&deliveries, 3);
    let statuses: Vec<&str> = handled.iter().map(|d| d.payload_status.as_str()).collect();
    assert_eq!(statuses, ["DISTRIBUTED", "ACCESSED", "COMPLETED"]);
    for d in &handled {
        assert_eq!(d.code, KPOS_OK, "{d:?}");
        assert_eq!(d.session_id.as_deref(), Some(s.id().as_str()));
    }
    assert_eq!(handled[2].status, KPOS_STATUS_COMPLETED);
}

#[test]
fn callbacks_over_https_are_verified_the_same_way() {
    let sim = Sim::start_with(&["--webhook-ca", &tls_file("ca.crt")]);
    let (client, deliveries) = webhook_client_on(&sim, Receiver::bind_tls());
    let s = client.create(&order()).unwrap();
    assert!(callback_url(&sim, &s).starts_with("https://127.0.0.1:"));
    assert_eq!(s.wait(20_000).unwrap(), KPOS_STATUS_DISTRIBUTED);
    sim.act(&s.id(), "approve", Some(json!({"order_id": "over-tls"})));
    assert_eq!(s.wait(20_000).unwrap(), KPOS_STATUS_COMPLETED);
    assert_eq!(s.order_id().as_deref(), Some("over-tls"));
    let handled = next(&deliveries, 2);
    assert!(handled.iter().all(|d| d.code == KPOS_OK), "{handled:?}");
    assert_eq!(polls(&sim, &s), 1);
}

#[test]
fn forged_or_missing_tokens_are_refused_and_leave_the_session_untouched() {
    let sim = Sim::start();
    let (client, deliveries) = webhook_client(&sim);
    let s = client.create(&order()).unwrap();
    assert_eq!(s.wait(20_000).unwrap(), KPOS_STATUS_DISTRIBUTED);
    next(&deliveries, 1);

    let url = callback_url(&sim, &s);
    let (reference, token) = (param(&url, "kpos_ref"), param(&url, "kpos_token"));
    let flipped = {
        let mut t = token.as_bytes().to_vec();
        t[42] = if t[42] == b'A' { b'B' } else { b'A' };
        String::from_utf8(t).unwrap()
    };
    let path = "/klarna/status";
    let forged_body = json!({"status": "COMPLETED", "order_id": "forged"}).to_string();
    for request in [
        format!("{path}?kpos_ref={reference}&kpos_token={flipped}"),
        format!("{path}?kpos_ref={reference}&kpos_token={}", &token[..42]),
        format!("{path}?kpos_ref={reference}&kpos_token="),
        format!("{path}?kpos_ref={reference}"),
        format!("{path}?kpos_token={token}"),
        path.to_string(),
        format!("{path}?kpos_ref={reference}&kpos_token={flipped}&kpos_token={token}"),
    ] {
        let (code, status, id) = verify(client, &request, &forged_body);
        assert_eq!(code, KPOS_E_PERMISSION_DENIED, "{request}");
        assert_eq!(
            (status, id),
            (u32::MAX, None),
            "nothing written for {request}"
        );
        let error = owned(kpos_last_error_json()).unwrap();
        assert!(
            !error.contains(token) && !error.contains(&flipped),
            "{error}"
        );
    }
    let unknown = format!("{path}?kpos_ref={}&kpos_token={token}", "0".repeat(32));
    assert_eq!(verify(client, &unknown, &forged_body).0, KPOS_E_NOT_FOUND);

    assert_eq!(s.status(), KPOS_STATUS_DISTRIBUTED);
    assert_eq!(s.order_id(), None);
    assert_eq!(polls(&sim, &s), 0, "a refused call causes no traffic");

    // The genuine URL with a body that is not a status payload of this session.
    let genuine = format!("{path}?kpos_ref={reference}&kpos_token={token}");
    for body in [
        "not json",
        "{}",
        r#"{"status":"ACCESSED","session_id":"another"}"#,
    ] {
        assert_eq!(
            verify(client, &genuine, body).0,
            KPOS_E_BAD_REQUEST,
            "{body}"
        );
    }
    assert_eq!(s.status(), KPOS_STATUS_DISTRIBUTED);
}

/// Target and body are bytes with lengths: a NUL byte is read as any other byte and never cuts
/// the input short, so what follows a NUL cannot be hidden from the check.
#[test]
fn nul_bytes_in_target_or_body_are_refused_never_cut_off() {
    let sim = Sim::start();
    let (client, deliveries) = webhook_client(&sim);
    let s = client.create(&order()).unwrap();
    assert_eq!(s.wait(20_000).unwrap(), KPOS_STATUS_DISTRIBUTED);
    next(&deliveries, 1);

    let url = callback_url(&sim, &s);
    let (reference, token) = (param(&url, "kpos_ref"), param(&url, "kpos_token"));
    let genuine = format!("/klarna/status?kpos_ref={reference}&kpos_token={token}");
    let accessed = json!({"session_id": s.id(), "status": "ACCESSED"}).to_string();

    // Read up to the NUL, each of these would be a genuine call.
    let mut token_with_nul = genuine.clone().into_bytes();
    token_with_nul.extend_from_slice(b"\0forged");
    let (code, status, id) = verify_bytes(client, &token_with_nul, accessed.as_bytes());
    assert_eq!(
        (code, status, id),
        (KPOS_E_PERMISSION_DENIED, u32::MAX, None)
    );

    let reference_with_nul = format!("/klarna/status?kpos_ref={reference}\0x&kpos_token={token}");
    let (code, _, _) = verify_bytes(client, reference_with_nul.as_bytes(), accessed.as_bytes());
    assert_eq!(code, KPOS_E_NOT_FOUND);

    let mut body_with_nul = accessed.clone().into_bytes();
    body_with_nul.extend_from_slice(b"\0{\"status\":\"COMPLETED\"}");
    let (code, status, _) = verify_bytes(client, genuine.as_bytes(), &body_with_nul);
    assert_eq!((code, status), (KPOS_E_BAD_REQUEST, u32::MAX));
    assert_eq!(
        s.status(),
        KPOS_STATUS_DISTRIBUTED,
        "no refused call moved the session"
    );

    // The same call without the NULs is accepted.
    let (code, status, _) = verify_bytes(client, genuine.as_bytes(), accessed.as_bytes());
    assert_eq!((code, status), (KPOS_OK, KPOS_STATUS_ACCESSED));
}

#[test]
fn replayed_duplicated_and_reordered_callbacks_leave_a_completed_session_completed() {
    let sim = Sim::start();
    sim.config(json!({"webhook_duplicate": true}));
    let (client, deliveries) = webhook_client(&sim);
    let s = client.create(&order()).unwrap();
    assert_eq!(s.wait(20_000).unwrap(), KPOS_STATUS_DISTRIBUTED);
    sim.act(&s.id(), "scan", None);
    sim.act(&s.id(), "approve", Some(json!({"order_id": "o-1"})));
    while s.status() != KPOS_STATUS_COMPLETED {
        s.wait(20_000).unwrap();
    }
    // Each of DISTRIBUTED, ACCESSED, COMPLETED was delivered twice.
    let first = next(&deliveries, 6);
    assert!(first.iter().all(|d| d.code == KPOS_OK), "{first:?}");

    // All six again, newest first: COMPLETED, COMPLETED, ACCESSED, ACCESSED, DISTRIBUTED, ...
    let replay = sim.act(&s.id(), "webhook_replay", Some(json!({"order": "reverse"})));
    assert_eq!(replay["queued"], 6);
    let late = next(&deliveries, 6);
    assert_eq!(late[0].payload_status, "COMPLETED");
    assert_eq!(late[5].payload_status, "DISTRIBUTED");
    for d in &late {
        assert_eq!(
            (d.code, d.status),
            (KPOS_OK, KPOS_STATUS_COMPLETED),
            "{d:?}"
        );
    }
    assert_eq!(s.status(), KPOS_STATUS_COMPLETED);
    assert_eq!(s.order_id().as_deref(), Some("o-1"));
    assert_eq!(
        polls(&sim, &s),
        1,
        "only the first COMPLETED needed confirming"
    );
}

#[test]
fn a_completed_callback_that_klarna_does_not_confirm_does_not_complete_the_session() {
    let sim = Sim::start();
    let (client, deliveries) = webhook_client(&sim);
    let s = client.create(&order()).unwrap();
    assert_eq!(s.wait(20_000).unwrap(), KPOS_STATUS_DISTRIBUTED);
    next(&deliveries, 1);
    // A caller who knows the token (say it leaked) claims COMPLETED; Klarna says DISTRIBUTED.
    let url = callback_url(&sim, &s);
    let request = &url[url.find("/klarna").unwrap()..];
    let body = json!({"status": "COMPLETED", "order_id": "fake"}).to_string();
    let (code, status, _) = verify(client, request, &body);
    assert_eq!((code, status), (KPOS_OK, KPOS_STATUS_DISTRIBUTED));
    assert_eq!(s.status(), KPOS_STATUS_DISTRIBUTED);
    assert_eq!(s.order_id(), None);
    assert_eq!(polls(&sim, &s), 1, "the claim was checked with a GET");
}

#[test]
fn a_confirmation_klarna_refuses_asks_for_redelivery_instead_of_rejecting_the_callback() {
    let sim = Sim::start();
    let (client, deliveries) = webhook_client(&sim);
    let s = client.create(&order()).unwrap();
    assert_eq!(s.wait(20_000).unwrap(), KPOS_STATUS_DISTRIBUTED);
    next(&deliveries, 1);
    let url = callback_url(&sim, &s);
    let request = &url[url.find("/klarna").unwrap()..];
    let body = json!({"status": "COMPLETED", "order_id": "o-1"}).to_string();
    // The confirming GET is refused with Klarna's 401 (HTML), or fails with 500s: neither may
    // read as a verdict on the callback ("forged", 403) to the till's receiver.
    for mode in ["html_401", "status_500"] {
        sim.fault(json!({"mode": mode, "count": 3, "path": "/instore/"}));
        let (code, _, _) = verify(client, request, &body);
        assert_eq!(code, KPOS_E_UNKNOWN, "{mode}");
        let detail = last_error();
        assert!(
            detail["message"]
                .as_str()
                .unwrap()
                .contains("could not be confirmed"),
            "{detail}"
        );
        assert_eq!(s.status(), KPOS_STATUS_DISTRIBUTED, "{mode}");
        sim.control("DELETE", "faults", None);
    }
}

#[test]
fn an_order_may_not_bring_its_own_callback_url_when_the_client_sets_one() {
    let sim = Sim::start();
    let client =
        Client::new(&sim.config_json(json!({"webhook_url": "https://till.example/k"}))).unwrap();
    let mut order: Value = serde_json::from_str(&order()).unwrap();
    order["distribution"] = json!({"callback_urls": {"status_update": "https://own.example/x"}});
    let f = client.create(&order.to_string()).unwrap_err();
    assert_eq!(f.code, KPOS_E_BAD_REQUEST);
    assert_eq!(
        f.detail["field"],
        "distribution.callback_urls.status_update"
    );
    assert_eq!(sim.stats()["requests"], 0);

    // Without webhook_url the order's own callback URL is sent as it is.
    let plain = sim.client();
    let s = plain.create(&order.to_string()).unwrap();
    assert_eq!(
        sim.session(&s.id())["callback_url"],
        "https://own.example/x"
    );
}

#[test]
fn webhook_url_over_plain_http_is_refused_unless_loopback() {
    let sim = Sim::start();
    let f =
        Client::new(&sim.config_json(json!({"webhook_url": "http://till.example/k"}))).unwrap_err();
    assert_eq!(f.code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(f.detail["field"], "webhook_url");
}

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn collect(_userdata: *mut c_void, _level: u32, message: *const c_char) {
    let text = CStr::from_ptr(message).to_string_lossy().into_owned();
    LINES.lock().unwrap().push(text);
}

#[test]
fn the_callback_token_never_reaches_the_log_or_the_last_error() {
    let sim = Sim::start();
    assert_eq!(
        unsafe { kpos_set_log_callback(Some(collect), std::ptr::null_mut(), KPOS_LOG_TRACE) },
        KPOS_OK
    );
    let (client, deliveries) = webhook_client(&sim);
    let s = client.create(&order()).unwrap();
    assert_eq!(s.wait(20_000).unwrap(), KPOS_STATUS_DISTRIBUTED);
    sim.act(&s.id(), "approve", None);
    while s.status() != KPOS_STATUS_COMPLETED {
        s.wait(20_000).unwrap();
    }
    next(&deliveries, 2);
    let url = callback_url(&sim, &s);
    let token = param(&url, "kpos_token");
    let forged = url.replace(token, &"A".repeat(43));
    assert_eq!(verify(client, &forged, "{}").0, KPOS_E_PERMISSION_DENIED);
    assert_eq!(
        unsafe { kpos_set_log_callback(None, std::ptr::null_mut(), KPOS_LOG_TRACE) },
        KPOS_OK
    );

    let lines = LINES.lock().unwrap().clone();
    assert!(lines.iter().any(|l| l.contains("webhook")), "{lines:?}");
    for line in &lines {
        assert!(!line.contains(token), "token in log: {line}");
        assert!(!line.contains("kpos_token"), "callback URL in log: {line}");
    }
    let error = owned(kpos_last_error_json()).unwrap();
    assert!(!error.contains(token) && !error.contains(&"A".repeat(43)));
}

#[test]
fn null_arguments_are_invalid() {
    let sim = Sim::start();
    let client = sim.client();
    let q = b"/x?kpos_ref=1&kpos_token=2";
    let mut status = 0;
    let code = unsafe {
        kpos_webhook_verify(
            client.0,
            q.as_ptr(),
            q.len(),
            std::ptr::null(),
            0,
            std::ptr::null_mut(),
            &mut status,
        )
    };
    assert_eq!(code, KPOS_E_INVALID_ARGUMENT);
    let code = unsafe {
        kpos_webhook_verify(
            std::ptr::null_mut(),
            q.as_ptr(),
            q.len(),
            q.as_ptr(),
            q.len(),
            std::ptr::null_mut(),
            &mut status,
        )
    };
    assert_eq!(code, KPOS_E_INVALID_ARGUMENT);
    // A length no buffer can have is refused before anything is read.
    let code = unsafe {
        kpos_webhook_verify(
            client.0,
            q.as_ptr(),
            usize::MAX,
            q.as_ptr(),
            q.len(),
            std::ptr::null_mut(),
            &mut status,
        )
    };
    assert_eq!(code, KPOS_E_INVALID_ARGUMENT);
    assert!(last_error()["message"]
        .as_str()
        .unwrap()
        .contains("target_len"));
}

unsafe extern "C" fn record_status(
    userdata: *mut c_void,
    _session: *mut kpos_session,
    status: u32,
) {
    let (heard, changed) = &*(userdata as *const (Mutex<Vec<u32>>, std::sync::Condvar));
    heard.lock().unwrap().push(status);
    changed.notify_all();
}

/// A watched session followed by webhook hears each status from its callback, without a status
/// read of its own (the safety-net interval is ten minutes); only the COMPLETED callback is
/// confirmed by one GET.
#[test]
fn a_watched_session_hears_each_callback_without_polling() {
    let sim = Sim::start();
    let receiver = Receiver::bind();
    let client = Client::new(&sim.config_json(json!({
        "webhook_url": receiver.url,
        "webhook_poll_interval_ms": 600_000,
    })))
    .unwrap();
    let client: &'static Client = Box::leak(Box::new(client));
    let _deliveries = receiver.serve(client);
    let s = client.create(&order()).unwrap();
    let heard = (Mutex::new(Vec::<u32>::new()), std::sync::Condvar::new());
    let code = unsafe {
        klarna_pos::ffi::watch::kpos_session_watch(
            s.0,
            Some(record_status),
            &heard as *const _ as *mut c_void,
        )
    };
    assert_eq!(code, KPOS_OK);
    let wait_for = |status: u32| {
        let guard = heard.0.lock().unwrap();
        let (guard, _) = heard
            .1
            .wait_timeout_while(guard, Duration::from_secs(30), |h| !h.contains(&status))
            .unwrap();
        assert!(guard.contains(&status), "{status} never heard: {guard:?}");
    };
    wait_for(KPOS_STATUS_DISTRIBUTED);
    sim.act(&s.id(), "scan", None);
    wait_for(KPOS_STATUS_ACCESSED);
    sim.act(&s.id(), "approve", None);
    wait_for(KPOS_STATUS_COMPLETED);
    let mut statuses = heard.0.lock().unwrap().clone();
    // The creation's callback may be merged before the watch starts.
    statuses.retain(|s| *s != KPOS_STATUS_CREATED);
    assert_eq!(
        statuses,
        [
            KPOS_STATUS_DISTRIBUTED,
            KPOS_STATUS_ACCESSED,
            KPOS_STATUS_COMPLETED
        ]
    );
    assert_eq!(polls(&sim, &s), 1, "one GET confirmed COMPLETED");
}

/// 32 random bytes in hex, as `openssl rand -hex 32` makes them.
const SECRET: &str = "4f1c9a0e7d2b86c35e90a1f47b2d6c08e3a95f1d27c4b80e6f3a1d5c9b7e2048";
const OTHER_SECRET: &str = "d3b07384d113edec49eaa6238ad5ff00c86c39d2e1f4a7b5c6d8e9f0a1b2c3d4";

/// A receiver holding only `secret`: no webhook_url, no session of its own.
fn secret_receiver(sim: &Sim, secret: Value) -> (Receiver, &'static Client) {
    let receiver = Receiver::bind();
    let client = Client::new(&sim.config_json(json!({"webhook_secret": secret}))).unwrap();
    (receiver, Box::leak(Box::new(client)))
}

#[test]
fn with_webhook_secret_a_receiver_without_the_session_verifies_and_the_till_applies_the_relay() {
    let sim = Sim::start();
    let (receiver, central) = secret_receiver(&sim, json!(SECRET));
    let till = Client::new(&sim.config_json(json!({
        "webhook_url": receiver.url,
        "webhook_secret": SECRET,
        "webhook_poll_interval_ms": 600_000,
    })))
    .unwrap();
    let deliveries = receiver.serve(central);
    let s = till.create(&order()).unwrap();

    // The receiver authenticates the callback and reports its session and status.
    let d = next(&deliveries, 1).remove(0);
    assert_eq!(
        (d.code, d.status, d.session_id.as_deref()),
        (KPOS_OK, KPOS_STATUS_DISTRIBUTED, Some(s.id().as_str())),
        "{d:?}"
    );
    // Relayed to the till, it is applied to the live session.
    assert_eq!(
        verify(&till, &d.target, &d.body),
        (KPOS_OK, KPOS_STATUS_DISTRIBUTED, Some(s.id()))
    );
    assert_eq!(s.status(), KPOS_STATUS_DISTRIBUTED);

    sim.act(&s.id(), "approve", Some(json!({"order_id": "relayed"})));
    let d = next(&deliveries, 1).remove(0);
    assert_eq!(
        (d.code, d.status),
        (KPOS_OK, KPOS_STATUS_COMPLETED),
        "reported, not confirmed"
    );
    assert_eq!(polls(&sim, &s), 0, "the receiver confirms nothing");
    assert_eq!(s.status(), KPOS_STATUS_DISTRIBUTED);
    assert_eq!(
        verify(&till, &d.target, &d.body),
        (KPOS_OK, KPOS_STATUS_COMPLETED, Some(s.id()))
    );
    assert_eq!(s.order_id().as_deref(), Some("relayed"));
    assert_eq!(
        polls(&sim, &s),
        1,
        "the till confirmed COMPLETED with one GET"
    );

    // Another session's reference with this token, another secret's token, a forgery: refused
    // by the receiver and by the till alike.
    let url = callback_url(&sim, &s);
    let (reference, token) = (param(&url, "kpos_ref"), param(&url, "kpos_token"));
    let s2 = till.create(&order()).unwrap();
    let url2 = callback_url(&sim, &s2);
    let reference2 = param(&url2, "kpos_ref");
    let other = Client::new(&sim.config_json(json!({
        "webhook_url": "http://127.0.0.1:9/klarna/status",
        "webhook_secret": OTHER_SECRET,
    })))
    .unwrap();
    let s3 = other.create(&order()).unwrap();
    let url3 = callback_url(&sim, &s3);
    let body2 = json!({"session_id": s2.id(), "status": "COMPLETED"}).to_string();
    for request in [
        format!("/klarna/status?kpos_ref={reference2}&kpos_token={token}"),
        format!(
            "/klarna/status?kpos_ref={reference2}&kpos_token={}",
            param(&url3, "kpos_token")
        ),
        format!(
            "/klarna/status?kpos_ref={reference}&kpos_token={}",
            &token[..40]
        ),
        format!(
            "/klarna/status?kpos_ref={reference2}&kpos_token={}",
            "A".repeat(43)
        ),
    ] {
        for client in [central, &till] {
            let (code, status, id) = verify(client, &request, &body2);
            assert_eq!(
                (code, status, id),
                (KPOS_E_PERMISSION_DENIED, u32::MAX, None)
            );
        }
    }
    assert_eq!(s2.status(), KPOS_STATUS_CREATED);
    assert_eq!(polls(&sim, &s2), 0);
}

#[test]
fn with_webhook_secret_a_resumed_session_takes_relayed_callbacks() {
    let sim = Sim::start();
    let (receiver, central) = secret_receiver(&sim, json!(SECRET));
    let receiver_url = receiver.url.clone();
    let deliveries = receiver.serve(central);
    let config = sim.config_json(json!({
        "webhook_url": receiver_url,
        "webhook_secret": SECRET,
    }));
    let before_restart = Client::new(&config).unwrap();
    let created = before_restart.create(&order()).unwrap();
    let (id, result_url) = (created.id(), created.result_url());
    let first = next(&deliveries, 1).remove(0);
    drop(created);
    drop(before_restart);

    let till = Client::new(&config).unwrap();
    let s = till.resume(&id, &result_url).unwrap();
    // A resumed session reads what a callback announces (one GET each), as its reference was
    // made by the old process.
    assert_eq!(
        verify(&till, &first.target, &first.body),
        (KPOS_OK, KPOS_STATUS_DISTRIBUTED, Some(id.clone()))
    );
    assert_eq!(polls(&sim, &s), 1);
    assert_eq!(
        verify(&till, &first.target, &first.body),
        (KPOS_OK, KPOS_STATUS_DISTRIBUTED, Some(id.clone())),
        "a repeated callback changes nothing and costs nothing"
    );
    assert_eq!(polls(&sim, &s), 1);

    // Another session's authentic callback URL with a body naming this session: its claim is
    // not believed; the session reads Klarna's status.
    let other = Client::new(&config).unwrap();
    let o = other.create(&order()).unwrap();
    let other_url = callback_url(&sim, &o);
    next(&deliveries, 1);
    let claim = json!({"session_id": id, "status": "CANCELED"}).to_string();
    assert_eq!(
        verify(&till, &other_url, &claim),
        (KPOS_OK, KPOS_STATUS_DISTRIBUTED, Some(id.clone()))
    );
    assert_eq!(s.status(), KPOS_STATUS_DISTRIBUTED);
    assert_eq!(sim.session(&id)["status"], "DISTRIBUTED");

    sim.act(&id, "approve", None);
    let d = next(&deliveries, 1).remove(0);
    assert_eq!((d.code, d.status), (KPOS_OK, KPOS_STATUS_COMPLETED));
    assert_eq!(
        verify(&till, &d.target, &d.body),
        (KPOS_OK, KPOS_STATUS_COMPLETED, Some(id.clone()))
    );
    assert_eq!(s.status(), KPOS_STATUS_COMPLETED);

    // Without webhook_secret a resumed session's callbacks cannot be verified (as before).
    let plain = Client::new(&sim.config_json(json!({"webhook_url": receiver_url}))).unwrap();
    let _s = plain.resume(&id, &result_url).unwrap();
    assert_eq!(verify(&plain, &d.target, &d.body).0, KPOS_E_NOT_FOUND);
}
