//! The log callback sees what the library does, and never a credential: at every level, on
//! the successful path and on every failing one, no log line and no error message holds the
//! password, the Authorization header, a webhook secret or the result_url's token; personal
//! data (names, addresses, e-mails) never appear at DEBUG or below. (The library logs nothing
//! at TRACE today; that level is reserved for personal data, see docs/conventions.md.)

mod common;

use std::ffi::{c_char, c_void, CStr};
use std::sync::Mutex;

use base64::Engine as _;
use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::kpos_string_free;
use klarna_pos::ffi::log::*;
use klarna_pos::ffi::webhook::kpos_webhook_verify;
use serde_json::json;

static LINES: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());
/// The callback is process-wide: tests that install one take turns.
static SERIAL: Mutex<()> = Mutex::new(());

unsafe extern "C" fn collect(_userdata: *mut c_void, level: u32, message: *const c_char) {
    let text = CStr::from_ptr(message).to_string_lossy().into_owned();
    LINES.lock().unwrap().push((level, text));
}

/// Installs `collect` at `level` with no line collected yet.
fn start_collecting(level: u32) {
    LINES.lock().unwrap().clear();
    assert_eq!(
        unsafe { kpos_set_log_callback(Some(collect), std::ptr::null_mut(), level) },
        KPOS_OK
    );
}

/// Removes the callback and returns the lines it collected.
fn stop_collecting() -> Vec<(u32, String)> {
    let removed = unsafe { kpos_set_log_callback(None, std::ptr::null_mut(), KPOS_LOG_TRACE) };
    assert_eq!(removed, KPOS_OK);
    LINES.lock().unwrap().clone()
}

#[test]
fn trace_logs_cover_the_flow_but_never_the_password_or_authorization() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const PASSWORD: &str = "s3cret-Pa55word";
    let sim = Sim::start_with(&["--password", PASSWORD]);
    start_collecting(KPOS_LOG_TRACE);
    let client = Client::new(&sim.config_json(json!({"password": PASSWORD}))).unwrap();
    let s = client.create(&order()).unwrap();
    s.poll().unwrap();
    sim.act(&s.id(), "approve", None);
    s.wait(10_000).unwrap();
    // A failing request too: its error message goes to the log.
    let wrong = Client::new(&sim.config_json(json!({"password": "other-" }))).unwrap();
    assert!(wrong.create(&order()).is_err());
    let lines = stop_collecting();
    assert!(
        lines.iter().any(|(_, l)| l.contains("COMPLETED")),
        "{:?}",
        lines
    );
    assert!(lines.iter().any(|(lvl, _)| *lvl == KPOS_LOG_DEBUG));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", USER, PASSWORD));
    for (_, line) in &lines {
        assert!(!line.contains(PASSWORD), "password in log: {}", line);
        assert!(!line.contains(&basic), "authorization in log: {}", line);
        assert!(!line.contains("dt="), "result_url token in log: {}", line);
    }
    let error = owned(kpos_last_error_json()).unwrap();
    assert!(!error.contains(PASSWORD));
}

#[test]
fn an_out_of_range_log_level_is_refused() {
    assert_eq!(
        unsafe { kpos_set_log_callback(Some(collect), std::ptr::null_mut(), 9) },
        KPOS_E_INVALID_ARGUMENT
    );
}

const SECRET_PASSWORD: &str = "Pw-7f3a9c1e-never-logged";
const WEBHOOK_SECRET: &str = "whsec-5d2e8b40";
/// Personal data of the order's billing address.
const PERSONAL: [&str; 5] = [
    "Astrid",
    "Lindqvist",
    "astrid.lindqvist@example.se",
    "Sveavägen 44",
    "+46701234567",
];

fn order_with_personal_data_and_webhook() -> String {
    let mut o: serde_json::Value = serde_json::from_str(&order()).unwrap();
    o["billing_address"] = json!({
        "given_name": PERSONAL[0], "family_name": PERSONAL[1], "email": PERSONAL[2],
        "street_address": PERSONAL[3], "phone": PERSONAL[4],
        "postal_code": "11157", "city": "Stockholm", "country": "SE"
    });
    o["distribution"] = json!({"method": "one_qr", "callback_urls": {
        "status_update": format!("https://till.example/klarna?till=4&secret={WEBHOOK_SECRET}")
    }});
    o.to_string()
}

/// Runs the successful flow and every failing path once, returning the last-error messages.
fn flow_with_failures(sim: &Sim, tls_sim: &Sim) -> Vec<String> {
    let mut errors = Vec::new();
    let mut keep = |f: Failure| errors.push(f.detail.to_string());
    let client = Client::new(&sim.config_json(json!({"password": SECRET_PASSWORD,
        "request_timeout_ms": 1000, "max_retries": 1})))
    .unwrap();
    let s = client
        .create(&order_with_personal_data_and_webhook())
        .unwrap();
    s.poll().unwrap();
    sim.act(&s.id(), "scan", None);
    s.wait(5000).unwrap();
    for mode in [
        "status_503",
        "html_401",
        "malformed_json",
        "reset",
        "rate_limit",
    ] {
        sim.fault(json!({"mode": mode, "count": 2, "retry_after": 0}));
        if let Err(f) = s.poll() {
            keep(f);
        }
        if let Err(f) = client.create(&order_with_personal_data_and_webhook()) {
            keep(f);
        }
        sim.clear_faults();
    }
    sim.fault(json!({"mode": "bad_value", "field": "billing_address.email"}));
    if let Err(f) = client.create(&order_with_personal_data_and_webhook()) {
        keep(f);
    }
    sim.act(&s.id(), "approve", None);
    s.wait(5000).unwrap();
    keep(s.cancel().unwrap_err());

    // Refused locally: a webhook over plain http, and a bad amount next to personal data.
    let mut o: serde_json::Value =
        serde_json::from_str(&order_with_personal_data_and_webhook()).unwrap();
    o["distribution"]["callback_urls"]["status_update"] = json!(format!(
        "http://till.example/klarna?secret={WEBHOOK_SECRET}"
    ));
    keep(client.create(&o.to_string()).unwrap_err());
    o["order_amount"] = json!(1);
    keep(client.create(&o.to_string()).unwrap_err());

    // Wrong password, an unreachable API, an untrusted certificate.
    let wrong =
        Client::new(&sim.config_json(json!({"password": format!("{SECRET_PASSWORD}-x")}))).unwrap();
    keep(wrong.create(&order()).unwrap_err());
    let unreachable = Client::new(
        &json!({"api_url": "http://127.0.0.1:9", "username": USER, "password": SECRET_PASSWORD})
            .to_string(),
    )
    .unwrap();
    keep(unreachable.create(&order()).unwrap_err());
    let untrusted =
        Client::new(&tls_sim.config_json(json!({"password": SECRET_PASSWORD}))).unwrap();
    keep(untrusted.create(&order()).unwrap_err());
    // A configuration refused with the password in it.
    keep(
        Client::new(&sim.config_json(json!({"password": SECRET_PASSWORD, "max_retries": "x"})))
            .unwrap_err(),
    );
    errors
}

#[test]
fn no_level_ever_shows_credentials_webhook_secrets_or_tokens_and_personal_data_stays_out() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let sim = Sim::start_with(&["--password", SECRET_PASSWORD]);
    let tls_sim = Sim::start_tls("localhost", &[]);
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", USER, SECRET_PASSWORD));
    for level in [
        KPOS_LOG_ERROR,
        KPOS_LOG_WARN,
        KPOS_LOG_INFO,
        KPOS_LOG_DEBUG,
        KPOS_LOG_TRACE,
    ] {
        start_collecting(level);
        let errors = flow_with_failures(&sim, &tls_sim);
        let lines = stop_collecting();
        report(
            "redaction",
            &format!(
                "log level {}: {} lines, {} error messages checked",
                level,
                lines.len(),
                errors.len()
            ),
        );
        assert!(errors.len() >= 12, "{errors:?}");
        let texts = lines.iter().map(|(_, l)| l).chain(errors.iter());
        for text in texts {
            for secret in [SECRET_PASSWORD, basic.as_str(), WEBHOOK_SECRET, "dt="] {
                assert!(
                    !text.contains(secret),
                    "level {level}: {secret:?} in {text}"
                );
            }
            assert!(
                !text.to_ascii_lowercase().contains("authorization"),
                "level {level}: {text}"
            );
        }
        for (line_level, line) in &lines {
            assert!(
                *line_level <= level,
                "a level {line_level} line at max level {level}"
            );
            if *line_level <= KPOS_LOG_DEBUG {
                for p in PERSONAL {
                    assert!(
                        !line.contains(p),
                        "personal data {p:?} at level {line_level}: {line}"
                    );
                }
            }
        }
        if level >= KPOS_LOG_INFO {
            assert!(
                lines.iter().any(|(_, l)| l.contains("failed")),
                "failures are logged"
            );
        }
    }
}

/// Delivers a callback to `kpos_webhook_verify` as the till's receiver would.
fn deliver(client: &Client, request: &str, body: serde_json::Value) -> (u32, u32) {
    let request = cstring(request);
    let body = cstring(&body.to_string());
    let mut id: *mut c_char = std::ptr::null_mut();
    let mut status = 0u32;
    let code = unsafe {
        kpos_webhook_verify(
            client.0,
            request.as_bytes().as_ptr(),
            request.as_bytes().len(),
            body.as_bytes().as_ptr(),
            body.as_bytes().len(),
            &mut id,
            &mut status,
        )
    };
    if !id.is_null() {
        unsafe { kpos_string_free(id) };
    }
    (code, status)
}

#[test]
fn trace_of_a_webhook_payment_and_a_refund_never_shows_the_token_password_or_authorization() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let sim = Sim::start_with(&["--password", SECRET_PASSWORD]);
    sim.config(json!({"auto_capture": true}));
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", USER, SECRET_PASSWORD));
    start_collecting(KPOS_LOG_TRACE);
    let mut errors = Vec::new();
    let client = Client::new(&sim.config_json(json!({"password": SECRET_PASSWORD,
        "webhook_url": "http://127.0.0.1:9/klarna-hook", "request_timeout_ms": 1000,
        "max_retries": 2})))
    .unwrap();
    let s = client.create(&order()).unwrap();
    let record = sim.session(&s.id()).to_string();
    let at = record
        .find("kpos_ref=")
        .expect("a callback URL with kpos_ref");
    let query: String = record[at..]
        .chars()
        .take_while(|c| *c != '"' && *c != '\\')
        .collect();
    let token = query
        .split('&')
        .find_map(|p| p.strip_prefix("kpos_token="))
        .expect("a token")
        .to_string();
    assert!(token.len() >= 40, "{query}");
    let request = format!("/klarna-hook?{query}");

    // The payment, driven by callbacks: DISTRIBUTED, ACCESSED, then COMPLETED (confirmed).
    assert_eq!(
        deliver(
            &client,
            &request,
            json!({"session_id": s.id(), "status": "DISTRIBUTED"})
        )
        .0,
        KPOS_OK
    );
    sim.act(&s.id(), "scan", None);
    assert_eq!(
        deliver(
            &client,
            &request,
            json!({"session_id": s.id(), "status": "ACCESSED"})
        )
        .0,
        KPOS_OK
    );
    let approved = sim.act(&s.id(), "approve", None);
    // First the confirming GET fails, then a late duplicate is delivered.
    sim.fault(json!({"mode": "status_503", "count": 3, "path": "/instore/"}));
    let (code, _) = deliver(
        &client,
        &request,
        json!({"session_id": s.id(), "status": "COMPLETED"}),
    );
    assert_eq!(code, KPOS_E_UNKNOWN);
    errors.push(last_error().to_string());
    sim.clear_faults();
    let (code, status) = deliver(
        &client,
        &request,
        json!({"session_id": s.id(), "status": "COMPLETED"}),
    );
    assert_eq!(
        (code, status),
        (KPOS_OK, klarna_pos::ffi::session::KPOS_STATUS_COMPLETED)
    );
    // Forged, altered and unknown callbacks.
    let forged = request.replace(&token, &"A".repeat(token.len()));
    assert_eq!(
        deliver(&client, &forged, json!({"status": "COMPLETED"})).0,
        KPOS_E_PERMISSION_DENIED
    );
    errors.push(last_error().to_string());
    assert_eq!(
        deliver(&client, &format!("{request}x"), json!({"status": "FAILED"})).0,
        KPOS_E_PERMISSION_DENIED
    );
    errors.push(last_error().to_string());
    assert_eq!(deliver(&client, &request, json!([1])).0, KPOS_E_BAD_REQUEST);
    errors.push(last_error().to_string());

    // Order Management: a refund through a server error and a lost answer, then a refused one.
    let order_id = approved["order_id"].as_str().unwrap().to_string();
    client.order_get(&order_id).unwrap();
    sim.fault(json!({"mode": "status_503", "count": 1, "method": "POST",
                     "path": "/ordermanagement/"}));
    sim.fault(json!({"mode": "lose_answer", "count": 1, "method": "POST",
                     "path": "/ordermanagement/"}));
    client
        .refund(&order_id, r#"{"refunded_amount": 500}"#, Some("log-R1"))
        .unwrap();
    sim.clear_faults();
    errors.push(
        client
            .refund(&order_id, r#"{"refunded_amount": 99999999}"#, None)
            .unwrap_err()
            .detail
            .to_string(),
    );
    errors.push(
        client
            .order_get("no-such-order")
            .unwrap_err()
            .detail
            .to_string(),
    );
    let lines = stop_collecting();
    report(
        "redaction",
        &format!(
            "webhook payment and refund at TRACE: {} lines, {} error messages checked",
            lines.len(),
            errors.len()
        ),
    );
    assert!(
        lines.iter().any(|(_, l)| l.contains("COMPLETED")),
        "{lines:?}"
    );
    for text in lines.iter().map(|(_, l)| l).chain(errors.iter()) {
        for secret in [
            SECRET_PASSWORD,
            basic.as_str(),
            token.as_str(),
            "kpos_token=",
            "dt=",
        ] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
        assert!(
            !text.to_ascii_lowercase().contains("authorization"),
            "{text}"
        );
    }
}

/// A chain's flow with `webhook_secret` at TRACE: a till creates a session, a receiver holding
/// only the secret verifies its callbacks (and refuses forged ones and another secret's), the
/// till applies them, a restarted till resumes the session, and a configuration with a short
/// secret is refused. No log line and no error message holds either secret (hex or base64url)
/// or a callback token.
#[test]
fn trace_of_a_chain_webhook_flow_never_shows_the_webhook_secret_or_a_token() {
    const CHAIN_SECRET: &str = "6a1f0c9e4b7d2385f0e1a6c4b9d72e53a8f1c0d4e7b2965a3c8e1f4d0b7a2c69";
    const OTHER_SECRET: &str = "q2Vx8Lm4Rt7Yb1Nc5Hd9Ks3Pf6Wg0Zj2Ue8Ia4Oo7Ss";
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let sim = Sim::start();
    start_collecting(KPOS_LOG_TRACE);
    let mut errors = Vec::new();
    let till_config = sim.config_json(json!({
        "webhook_url": "http://127.0.0.1:9/klarna/status?till=4",
        "webhook_secret": CHAIN_SECRET,
    }));
    let till = Client::new(&till_config).unwrap();
    let receiver = Client::new(&sim.config_json(json!({"webhook_secret": CHAIN_SECRET}))).unwrap();
    let rogue = Client::new(&sim.config_json(json!({
        "webhook_url": "http://127.0.0.1:9/klarna/status?till=4",
        "webhook_secret": OTHER_SECRET,
    })))
    .unwrap();
    let s = till.create(&order()).unwrap();
    let url = sim.session(&s.id())["callback_url"]
        .as_str()
        .unwrap()
        .to_string();
    let token = url.split("kpos_token=").nth(1).unwrap().to_string();
    let request = url[url.find("/klarna").unwrap()..].to_string();
    let rogue_url = sim.session(&rogue.create(&order()).unwrap().id())["callback_url"]
        .as_str()
        .unwrap()
        .to_string();
    let rogue_token = rogue_url.split("kpos_token=").nth(1).unwrap().to_string();

    let distributed = json!({"session_id": s.id(), "status": "DISTRIBUTED"});
    assert_eq!(deliver(&receiver, &request, distributed.clone()).0, KPOS_OK);
    assert_eq!(deliver(&till, &request, distributed.clone()).0, KPOS_OK);
    let forged = request.replace(&token, &"B".repeat(token.len()));
    assert_eq!(
        deliver(&receiver, &forged, distributed.clone()).0,
        KPOS_E_PERMISSION_DENIED
    );
    errors.push(last_error().to_string());
    let other = request.replace(&token, &rogue_token);
    assert_eq!(
        deliver(&receiver, &other, distributed.clone()).0,
        KPOS_E_PERMISSION_DENIED
    );
    errors.push(last_error().to_string());
    assert_eq!(
        deliver(&receiver, &request, json!([1])).0,
        KPOS_E_BAD_REQUEST
    );
    errors.push(last_error().to_string());

    sim.act(&s.id(), "approve", None);
    let completed = json!({"session_id": s.id(), "status": "COMPLETED"});
    assert_eq!(deliver(&receiver, &request, completed.clone()).0, KPOS_OK);
    let restarted = Client::new(&till_config).unwrap();
    let resumed = restarted.resume(&s.id(), &s.result_url()).unwrap();
    assert_eq!(
        deliver(&restarted, &request, completed.clone()),
        (KPOS_OK, klarna_pos::ffi::session::KPOS_STATUS_COMPLETED)
    );
    assert_eq!(
        resumed.status(),
        klarna_pos::ffi::session::KPOS_STATUS_COMPLETED
    );
    for short in [&CHAIN_SECRET[..60], &OTHER_SECRET[..40]] {
        let refused = Client::new(&sim.config_json(json!({"webhook_secret": short}))).unwrap_err();
        assert_eq!(refused.detail["field"], "webhook_secret");
        errors.push(refused.detail.to_string());
    }
    let lines = stop_collecting();
    report(
        "redaction",
        &format!(
            "chain webhook flow with webhook_secret at TRACE: {} lines, {} error messages checked",
            lines.len(),
            errors.len()
        ),
    );
    assert!(
        lines.iter().any(|(_, l)| l.contains("not confirmed")),
        "the receiver's report is logged: {lines:?}"
    );
    for text in lines.iter().map(|(_, l)| l).chain(errors.iter()) {
        for secret in [
            CHAIN_SECRET,
            &CHAIN_SECRET[..40],
            OTHER_SECRET,
            &OTHER_SECRET[..30],
            token.as_str(),
            rogue_token.as_str(),
            "kpos_token=",
        ] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
    }
}
