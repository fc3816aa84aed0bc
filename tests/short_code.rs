//! The static-QR flow through the C ABI: the customer scans the store's printed QR, reads the
//! short code it shows to the cashier, and the till creates the session with that code.

mod common;

use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::session::*;
use serde_json::{json, Value};

/// The customer scanning the store's printed QR: the simulator hands out a fresh code.
fn scan_store_qr(sim: &Sim) -> String {
    let answer = sim.control("POST", "short_codes", None);
    let code = answer["short_code"].as_str().unwrap().to_string();
    assert!((2..=20).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()));
    code
}

fn order_with_short_code(code: Value) -> String {
    let mut order: Value = serde_json::from_str(&order()).unwrap();
    order["distribution"] = json!({ "short_code": code });
    order.to_string()
}

#[test]
fn a_short_code_payment_completes_without_a_qr_code_to_show() {
    let sim = Sim::start();
    let client = sim.client();
    let code = scan_store_qr(&sim);
    let s = client.create(&order_with_short_code(json!(code))).unwrap();
    assert_eq!(sim.session(&s.id())["short_code"], code.as_str());

    assert_eq!(s.wait(10_000).unwrap(), KPOS_STATUS_DISTRIBUTED);
    assert_eq!(
        s.qr_url(),
        None,
        "the payment is already on the customer's phone"
    );
    sim.act(&s.id(), "scan", None);
    assert_eq!(s.wait(10_000).unwrap(), KPOS_STATUS_ACCESSED);
    sim.act(
        &s.id(),
        "approve",
        Some(json!({"order_id": "short-code-order"})),
    );
    assert_eq!(s.wait(10_000).unwrap(), KPOS_STATUS_COMPLETED);
    assert_eq!(s.order_id().as_deref(), Some("short-code-order"));
}

#[test]
fn a_short_code_with_leading_zeros_and_twenty_digits_is_sent_as_given() {
    let sim = Sim::start();
    let client = sim.client();
    // One code in ten starts with 0: ask until one does (a bounded number of times).
    let code = (0..500)
        .map(|_| sim.control("POST", "short_codes", Some(json!({"digits": 20}))))
        .map(|c| c["short_code"].as_str().unwrap().to_string())
        .find(|c| c.starts_with('0'))
        .expect("a code with a leading zero");
    assert_eq!(code.len(), 20);
    let s = client.create(&order_with_short_code(json!(code))).unwrap();
    let sent: Value =
        serde_json::from_str(sim.session(&s.id())["request_body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["distribution"]["short_code"], code.as_str());
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
}

/// The three ways a well-formed code can be wrong: never issued, expired, already used.
#[test]
fn an_unknown_expired_or_used_short_code_fails_the_distribution_with_bad_request() {
    let sim = Sim::start();
    let client = sim.client();

    let expired = scan_store_qr(&sim);
    sim.control("POST", &format!("short_codes/{expired}/expire"), None);
    let used = scan_store_qr(&sim);
    client.create(&order_with_short_code(json!(used))).unwrap();

    // The simulator's codes have 6 digits: a 20-digit one was never issued.
    for code in ["12345678901234567890", expired.as_str(), used.as_str()] {
        let s = client.create(&order_with_short_code(json!(code))).unwrap();
        assert_eq!(s.wait(10_000).unwrap(), KPOS_STATUS_FAILED, "{code}");
        let f = s.failure().unwrap_err();
        assert_eq!(f.code, KPOS_E_BAD_REQUEST, "{code}");
        assert_eq!(f.detail["klarna_error_code"], "BAD_REQUEST");
        assert_eq!(kpos_result_action(f.code), KPOS_ACTION_FIX_INPUT);
    }
}

#[test]
fn malformed_short_codes_are_refused_locally_and_nothing_is_sent() {
    let sim = Sim::start();
    let client = sim.client();
    for code in [
        json!("1"),
        json!("12a4"),
        json!(" 1234"),
        json!("1".repeat(21)),
        json!(""),
        json!(1234),
    ] {
        let f = client
            .create(&order_with_short_code(code.clone()))
            .unwrap_err();
        assert_eq!(f.code, KPOS_E_BAD_REQUEST, "{code}");
        assert_eq!(f.detail["field"], "distribution.short_code", "{code}");
    }
    assert_eq!(sim.stats()["requests"], 0);
}
