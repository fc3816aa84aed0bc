//! The log callback sees what the library does, and never a credential: at every level, on
//! the successful path and on every failing one, no log line and no error message holds the
//! password, the Authorization header, a webhook secret or the result_url's token; personal
//! data (names, addresses, e-mails) never appear at DEBUG or below. (The library logs nothing
//! at TRACE today; that level is reserved for personal data, see the README.)

mod common;

use std::ffi::{c_char, c_void, CStr};
use std::sync::Mutex;

use base64::Engine as _;
use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::log::*;
use serde_json::json;

static LINES: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());
/// The callback is process-wide: tests that install one take turns.
static SERIAL: Mutex<()> = Mutex::new(());

unsafe extern "C" fn collect(_userdata: *mut c_void, level: u32, message: *const c_char) {
    let text = CStr::from_ptr(message).to_string_lossy().into_owned();
    LINES.lock().unwrap().push((level, text));
}

#[test]
fn trace_logs_cover_the_flow_but_never_the_password_or_authorization() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    LINES.lock().unwrap().clear();
    const PASSWORD: &str = "s3cret-Pa55word";
    let sim = Sim::start_with(&["--password", PASSWORD]);
    assert_eq!(
        unsafe { kpos_set_log_callback(Some(collect), std::ptr::null_mut(), KPOS_LOG_TRACE) },
        KPOS_OK
    );
    let client = Client::new(&sim.config_json(json!({"password": PASSWORD}))).unwrap();
    let s = client.create(&order()).unwrap();
    s.poll().unwrap();
    sim.act(&s.id(), "approve", None);
    s.wait(10_000).unwrap();
    // A failing request too: its error message goes to the log.
    let wrong = Client::new(&sim.config_json(json!({"password": "other-" }))).unwrap();
    assert!(wrong.create(&order()).is_err());
    unsafe { kpos_set_log_callback(None, std::ptr::null_mut(), KPOS_LOG_TRACE) };

    let lines = LINES.lock().unwrap().clone();
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
        LINES.lock().unwrap().clear();
        assert_eq!(
            unsafe { kpos_set_log_callback(Some(collect), std::ptr::null_mut(), level) },
            KPOS_OK
        );
        let errors = flow_with_failures(&sim, &tls_sim);
        unsafe { kpos_set_log_callback(None, std::ptr::null_mut(), KPOS_LOG_TRACE) };
        let lines = LINES.lock().unwrap().clone();
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
