//! The log callback sees what the library does, and never a credential.

mod common;

use std::ffi::{c_char, c_void, CStr};
use std::sync::Mutex;

use base64::Engine as _;
use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::log::*;
use serde_json::json;

static LINES: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());

unsafe extern "C" fn collect(_userdata: *mut c_void, level: u32, message: *const c_char) {
    let text = CStr::from_ptr(message).to_string_lossy().into_owned();
    LINES.lock().unwrap().push((level, text));
}

#[test]
fn trace_logs_cover_the_flow_but_never_the_password_or_authorization() {
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
