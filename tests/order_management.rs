//! Order Management after the sale, through the C ABI against the simulator: exactly-once
//! refunds through idempotency keys, Klarna's refusals, and local validation.

mod common;

use common::*;
use klarna_pos::ffi::error::*;
use serde_json::{json, Value};

/// A simulator whose orders are captured in full when placed (refunds need captures).
fn captured_sim() -> Sim {
    let sim = Sim::start();
    sim.config(json!({"auto_capture": true}));
    sim
}

fn refund_body(amount: i64) -> String {
    json!({"refunded_amount": amount, "description": "Return at till 3"}).to_string()
}

fn keys(ledger: &Value, action: &str) -> Vec<String> {
    ledger["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == action)
        .map(|r| r["idempotency_key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_order_of_a_completed_payment_reads_as_klarnas_json() {
    let sim = Sim::start();
    let client = sim.client();
    let order_id = sim.paid_order(&client);
    let o = client.order_get(&order_id).unwrap();
    assert_eq!(o["order_id"], order_id.as_str());
    assert_eq!(o["status"], "AUTHORIZED");
    assert_eq!(o["order_amount"], 32400);
    assert_eq!(o["remaining_authorized_amount"], 32400);
    let placed: Value = serde_json::from_str(&order()).unwrap();
    assert_eq!(o["order_lines"], placed["order_lines"]);
}

#[test]
fn a_refund_repeated_with_its_key_is_booked_once_with_the_same_refund_id() {
    let sim = captured_sim();
    let client = sim.client();
    let order_id = sim.paid_order(&client);
    let first = client
        .refund(&order_id, &refund_body(500), Some("till3-R1001"))
        .unwrap();
    let second = client
        .refund(&order_id, &refund_body(500), Some("till3-R1001"))
        .unwrap();
    assert_eq!(first, second);

    let ledger = sim.order(&order_id);
    assert_eq!(ledger["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(ledger["refunds"][0]["refund_id"], first.as_str());
    assert_eq!(ledger["refunded_amount"], 500);
    assert_eq!(keys(&ledger, "refunds"), ["till3-R1001", "till3-R1001"]);
}

#[test]
fn a_refund_whose_answer_is_lost_succeeds_once_because_the_retry_carries_the_same_key() {
    let sim = captured_sim();
    let client = sim.client();
    let order_id = sim.paid_order(&client);
    sim.fault(json!({"mode": "lose_answer", "count": 1, "method": "POST",
                     "path": format!("/ordermanagement/v1/orders/{}/refunds", order_id)}));
    // No key from the till: the library makes one and keeps it for its own retry.
    let refund_id = client.refund(&order_id, &refund_body(700), None).unwrap();

    let ledger = sim.order(&order_id);
    assert_eq!(ledger["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(ledger["refunds"][0]["refund_id"], refund_id.as_str());
    let sent = keys(&ledger, "refunds");
    assert_eq!(sent.len(), 2, "the lost attempt and the retry: {}", ledger);
    assert_eq!(sent[0], sent[1]);
    assert_eq!(sent[0].len(), 36, "a generated UUID: {}", sent[0]);
    assert_eq!(
        ledger["idempotency_keys"]["refunds"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(ledger["requests"][1]["replayed"], true);
}

#[test]
fn a_capture_retried_through_server_errors_keeps_its_key_and_returns_the_capture_id() {
    let sim = Sim::start();
    let client = sim.client();
    let order_id = sim.paid_order(&client);
    sim.fault(json!({"mode": "lose_answer", "count": 1, "method": "POST",
                     "path": "/ordermanagement/"}));
    sim.fault(json!({"mode": "status_503", "count": 1, "method": "POST",
                     "path": "/ordermanagement/"}));
    let capture_id = client
        .capture(&order_id, r#"{"captured_amount": 32400}"#, Some("cap-1"))
        .unwrap();
    let ledger = sim.order(&order_id);
    assert_eq!(ledger["status"], "CAPTURED");
    assert_eq!(ledger["captures"][0]["capture_id"], capture_id.as_str());
    assert_eq!(keys(&ledger, "captures"), ["cap-1", "cap-1"]);
}

#[test]
fn a_refund_above_the_captured_amount_is_a_conflict() {
    let sim = captured_sim();
    let client = sim.client();
    let order_id = sim.paid_order(&client);
    let f = client
        .refund(&order_id, &refund_body(32401), None)
        .unwrap_err();
    assert_eq!(f.code, KPOS_E_CONFLICT);
    assert_eq!(f.detail["http_status"], 403);
    assert_eq!(f.detail["klarna_error_code"], "REFUND_NOT_ALLOWED");
    assert!(f.detail["correlation_id"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    assert_eq!(sim.order(&order_id)["refunded_amount"], 0);
}

#[test]
fn a_cancel_after_a_capture_is_a_conflict_and_before_one_it_cancels() {
    let sim = Sim::start();
    let client = sim.client();
    let captured = sim.paid_order(&client);
    client
        .capture(&captured, r#"{"captured_amount": 1000}"#, None)
        .unwrap();
    let f = client.cancel_order(&captured, None).unwrap_err();
    assert_eq!(f.code, KPOS_E_CONFLICT);
    assert_eq!(f.detail["klarna_error_code"], "CANCEL_NOT_ALLOWED");

    let untouched = sim.paid_order(&client);
    client.cancel_order(&untouched, Some("void-1")).unwrap();
    assert_eq!(client.order_get(&untouched).unwrap()["status"], "CANCELLED");
    let ledger = sim.order(&untouched);
    assert_eq!(keys(&ledger, "cancel"), ["void-1"]);
}

#[test]
fn releasing_the_remaining_authorization_needs_a_capture_and_ends_further_captures() {
    let sim = Sim::start();
    let client = sim.client();
    let order_id = sim.paid_order(&client);
    // Klarna: 403 NOT_ALLOWED without a capture (or on a cancelled order), a state conflict.
    let f = client.release(&order_id, None).unwrap_err();
    assert_eq!(f.code, KPOS_E_CONFLICT, "{:?}", f.detail);
    assert_eq!(f.detail["klarna_error_code"], "NOT_ALLOWED");

    client
        .capture(&order_id, r#"{"captured_amount": 1000}"#, None)
        .unwrap();
    client.release(&order_id, None).unwrap();
    let o = client.order_get(&order_id).unwrap();
    assert_eq!(o["status"], "CAPTURED");
    assert_eq!(o["remaining_authorized_amount"], 0);
    let f = client
        .capture(&order_id, r#"{"captured_amount": 100}"#, None)
        .unwrap_err();
    assert_eq!(f.code, KPOS_E_CONFLICT);

    let cancelled = sim.paid_order(&client);
    client.cancel_order(&cancelled, None).unwrap();
    let f = client.release(&cancelled, None).unwrap_err();
    assert_eq!(f.code, KPOS_E_CONFLICT);
    assert_eq!(f.detail["klarna_error_code"], "NOT_ALLOWED");
}

#[test]
fn an_unknown_order_is_not_found_and_its_id_stays_inside_the_path() {
    let sim = Sim::start();
    let client = sim.client();
    for id in ["no-such-order", "../../payments/v1/sessions"] {
        let f = client.order_get(id).unwrap_err();
        assert_eq!(f.code, KPOS_E_NOT_FOUND, "{}", id);
        assert_eq!(f.detail["klarna_error_code"], "NO_SUCH_ORDER", "{}", id);
        let f = client.refund(id, &refund_body(1), None).unwrap_err();
        assert_eq!(f.code, KPOS_E_NOT_FOUND, "{}", id);
    }
}

/// What Klarna's Order Management allows is not refused locally: a capture of 0, a partial
/// goodwill refund that lists the line it concerns, a line with an empty name or a tax rate
/// above 10000, an empty line list.
#[test]
fn bodies_klarna_allows_are_sent() {
    let sim = Sim::start();
    let client = sim.client();
    let order_id = sim.paid_order(&client);
    client
        .capture(
            &order_id,
            r#"{"captured_amount": 0, "order_lines": []}"#,
            None,
        )
        .unwrap();
    client
        .capture(&order_id, r#"{"captured_amount": 1000}"#, None)
        .unwrap();
    let goodwill = json!({"refunded_amount": 300, "description": "scratched mug",
        "order_lines": [{"type": "physical", "name": "", "quantity": 1, "unit_price": 1000,
                         "tax_rate": 12000, "total_amount": 1000, "total_tax_amount": 545}]});
    client
        .refund(&order_id, &goodwill.to_string(), None)
        .unwrap();
    let o = client.order_get(&order_id).unwrap();
    assert_eq!(
        (o["captured_amount"].as_i64(), o["refunded_amount"].as_i64()),
        (Some(1000), Some(300))
    );
}

#[test]
fn invalid_capture_and_refund_bodies_are_refused_locally_with_the_field_and_nothing_is_sent() {
    let sim = Sim::start();
    let client = sim.client();
    let line = json!({"type": "physical", "name": "Coffee", "quantity": 1, "unit_price": 1000,
                      "tax_rate": 2500, "total_amount": 1000, "total_tax_amount": 200});
    let mut bad_tax = line.clone();
    bad_tax["total_tax_amount"] = json!(150);
    let cases = [
        (json!({}), "refunded_amount"),
        (json!({"refunded_amount": -100}), "refunded_amount"),
        (json!({"refunded_amount": 1e30}), "refunded_amount"),
        (json!({"refunded_amount": 12.5}), "refunded_amount"),
        (json!({"refunded_amount": 200_000_001}), "refunded_amount"),
        (
            json!({"refunded_amount": 100, "description": 5}),
            "description",
        ),
        (
            json!({"refunded_amount": 100, "reference": "r".repeat(256)}),
            "reference",
        ),
        (
            json!({"refunded_amount": 1000, "order_lines": [bad_tax]}),
            "order_lines[0].total_tax_amount",
        ),
        (
            json!({"refunded_amount": 1000, "order_lines": {}}),
            "order_lines",
        ),
        (
            json!({"refunded_amount": 1000, "order_lines": vec![line.clone(); 1001]}),
            "order_lines",
        ),
    ];
    for (body, field) in &cases {
        let f = client
            .refund("any-order", &body.to_string(), None)
            .unwrap_err();
        assert_eq!(f.code, KPOS_E_BAD_REQUEST, "{}", body);
        assert_eq!(f.detail["field"], *field, "{}", body);
        let capture = body
            .to_string()
            .replace("refunded_amount", "captured_amount");
        let f = client.capture("any-order", &capture, None).unwrap_err();
        assert_eq!(f.code, KPOS_E_BAD_REQUEST, "{}", capture);
        assert_eq!(
            f.detail["field"],
            field.replace("refunded_amount", "captured_amount"),
            "{}",
            capture
        );
    }
    for key in ["", "with space", &"k".repeat(65)] {
        let f = client
            .refund("any-order", &refund_body(1), Some(key))
            .unwrap_err();
        assert_eq!(f.code, KPOS_E_INVALID_ARGUMENT, "{:?}", key);
        assert_eq!(f.detail["field"], "idempotency_key");
    }
    assert_eq!(
        client
            .refund("any-order", "not json", None)
            .unwrap_err()
            .code,
        KPOS_E_INVALID_ARGUMENT
    );
    let stats = sim.stats();
    assert_eq!(stats["requests"], 0, "{}", stats);
    assert_eq!(stats["connections"], 0, "{}", stats);
}

#[test]
fn a_refund_of_one_order_line_carries_the_line_to_klarna() {
    let sim = captured_sim();
    let client = sim.client();
    let order_id = sim.paid_order(&client);
    let o = client.order_get(&order_id).unwrap();
    let line = o["order_lines"][0].clone();
    let body = json!({"refunded_amount": line["total_amount"], "order_lines": [line],
                      "x_till_extension": {"receipt": "R-1"}});
    let refund_id = client.refund(&order_id, &body.to_string(), None).unwrap();
    let ledger = sim.order(&order_id);
    assert_eq!(ledger["refunds"][0]["refund_id"], refund_id.as_str());
    assert_eq!(ledger["refunds"][0]["order_lines"][0], o["order_lines"][0]);
    assert_eq!(
        ledger["refunds"][0]["x_till_extension"],
        json!({"receipt": "R-1"})
    );
}

#[test]
fn a_refund_rate_limited_through_every_retry_is_rate_limited_and_a_later_repeat_books_it_once() {
    let sim = captured_sim();
    let client = sim.client();
    let order_id = sim.paid_order(&client);
    // max_retries 2: three attempts, all answered 429.
    sim.fault(
        json!({"mode": "rate_limit", "retry_after": 0, "count": 3, "path": "/ordermanagement/"}),
    );
    let f = client
        .refund(&order_id, &refund_body(300), Some("R-429"))
        .unwrap_err();
    assert_eq!(f.code, KPOS_E_RATE_LIMITED);
    assert_eq!(kpos_result_action(f.code), KPOS_ACTION_RETRY);
    assert_eq!(sim.order(&order_id)["refunded_amount"], 0);

    let refund_id = client
        .refund(&order_id, &refund_body(300), Some("R-429"))
        .unwrap();
    let ledger = sim.order(&order_id);
    assert_eq!(ledger["refunds"][0]["refund_id"], refund_id.as_str());
    assert_eq!(ledger["refunded_amount"], 300);
}
