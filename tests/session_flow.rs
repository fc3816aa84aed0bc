//! An in-store payment through the C ABI against the simulator, over real sockets.

mod common;

use std::time::{Duration, Instant};

use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::session::*;
use serde_json::{json, Value};

/// Waits (bounded) until the simulator has seen `n` status reads of `id`: proof that a waiting
/// thread is inside its poll loop.
fn until_polled(sim: &Sim, id: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.session(id)["polls"].as_u64().unwrap() < n {
        assert!(Instant::now() < deadline, "the session was never polled");
        std::thread::yield_now();
    }
}

#[test]
fn a_full_payment_goes_distributed_accessed_completed_with_the_order_id() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    assert_eq!(s.status(), KPOS_STATUS_CREATED);
    assert!(s.qr_url().is_none(), "no QR before the first status read");

    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
    let qr = s.qr_url().expect("QR URL once distributed");
    assert!(qr.starts_with(&sim.url) && qr.ends_with(".png"), "{}", qr);
    assert!(s.payment_link().is_some());
    assert!(s.order_id().is_none());

    sim.act(&s.id(), "scan", None);
    assert_eq!(s.wait(10_000).unwrap(), KPOS_STATUS_ACCESSED);
    sim.act(&s.id(), "approve", Some(json!({"order_id": "order-4711"})));
    assert_eq!(s.wait(10_000).unwrap(), KPOS_STATUS_COMPLETED);
    assert_eq!(s.order_id().as_deref(), Some("order-4711"));
    assert_eq!(s.status(), KPOS_STATUS_COMPLETED);
    assert!(s.failure().is_ok());
}

#[test]
fn getter_strings_stay_at_the_same_address_while_the_session_lives() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    s.poll().unwrap();
    let first = unsafe { kpos_session_qr_url(s.0) };
    s.poll().unwrap();
    assert_eq!(first, unsafe { kpos_session_qr_url(s.0) });
    assert_eq!(unsafe { kpos_session_id(s.0) }, unsafe {
        kpos_session_id(s.0)
    });
}

#[test]
fn a_cancel_from_another_thread_releases_a_long_wait() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
    let id = s.id();
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| s.wait(10_000));
        until_polled(&sim, &id, 2);
        let cancelled_at = Instant::now();
        s.cancel().unwrap();
        let (failure, _) = waiter.join().unwrap().unwrap_err();
        let released_after = cancelled_at.elapsed();
        eprintln!(
            "wait released {} ms after cancel",
            released_after.as_millis()
        );
        assert_eq!(failure.code, KPOS_E_CANCELLED);
    });
    assert_eq!(s.status(), KPOS_STATUS_CANCELED);
    let recorded = sim.session(&id);
    assert_eq!(recorded["status"], "CANCELED");
    assert_eq!(recorded["deletes"], 1);
}

#[test]
fn a_wait_without_change_times_out_and_still_reports_the_status() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
    let (failure, status) = s.wait(300).unwrap_err();
    assert_eq!(failure.code, KPOS_E_TIMEOUT);
    assert_eq!(status, KPOS_STATUS_DISTRIBUTED);
}

#[test]
fn wait_returns_at_once_when_the_status_already_changed_unseen() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    // The first wait reports the first status read: CREATED -> DISTRIBUTED is a change.
    assert_eq!(s.wait(10_000).unwrap(), KPOS_STATUS_DISTRIBUTED);
}

#[test]
fn distribution_failures_map_to_the_in_store_guides_three_codes() {
    let sim = Sim::start();
    let client = sim.client();
    for (klarna, expected) in [
        ("BAD_REQUEST", KPOS_E_BAD_REQUEST),
        ("PERMISSION_DENIED", KPOS_E_PERMISSION_DENIED),
        ("UNKNOWN", KPOS_E_UNKNOWN),
        ("INTERNAL_ERROR", KPOS_E_UNKNOWN),
    ] {
        let s = client.create(&order()).unwrap();
        sim.act(&s.id(), "fail", Some(json!({"code": klarna})));
        assert_eq!(s.wait(10_000).unwrap(), KPOS_STATUS_FAILED, "{}", klarna);
        let f = s.failure().unwrap_err();
        assert_eq!(f.code, expected, "{}", klarna);
        assert_eq!(f.detail["klarna_error_code"], klarna);
    }
}

#[test]
fn a_wrong_password_answered_with_html_is_permission_denied() {
    let sim = Sim::start();
    let client = Client::new(&sim.config_json(json!({"password": "wrong"}))).unwrap();
    let f = client.create(&order()).unwrap_err();
    assert_eq!(f.code, KPOS_E_PERMISSION_DENIED);
    assert_eq!(f.detail["http_status"], 401);
    assert!(f.detail["correlation_id"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    assert_eq!(kpos_result_action(f.code), KPOS_ACTION_CONTACT_SUPPORT);
}

#[test]
fn every_invalid_order_is_refused_locally_with_its_field_and_nothing_is_sent() {
    let sim = Sim::start();
    let client = sim.client();
    let cases: Vec<Value> = serde_json::from_str(&read("tests/data/invalid_orders.json")).unwrap();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    for case in &cases {
        let f = client.create(&case["order"].to_string()).unwrap_err();
        assert_eq!(f.code, KPOS_E_BAD_REQUEST, "{}", case["name"]);
        assert_eq!(f.detail["field"], case["field"], "{}", case["name"]);
        let message = f.detail["message"].as_str().unwrap();
        assert!(
            message.contains(case["field"].as_str().unwrap()),
            "{}",
            message
        );
    }
    let stats = sim.stats();
    assert_eq!(stats["requests"], 0, "{}", stats);
    assert_eq!(stats["connections"], 0, "{}", stats);
}

#[test]
fn valid_se_gb_us_and_emd_orders_are_accepted_and_sent_as_klarna_expects() {
    let sim = Sim::start();
    let client = sim.client();
    for name in ["se_vat_discount", "gb", "us_sales_tax", "de_emd"] {
        let s = client
            .create(&read(&format!("tests/data/valid_orders/{}.json", name)))
            .unwrap_or_else(|f| panic!("{}: {:?}", name, f));
        let recorded = sim.session(&s.id());
        let sent: Value = serde_json::from_str(recorded["request_body"].as_str().unwrap()).unwrap();
        assert_eq!(sent["acquiring_channel"], "in_store", "{}", name);
        assert_eq!(sent["distribution"]["method"], "one_qr", "{}", name);
        if name == "de_emd" {
            assert!(
                sent["attachment"]["body"].is_string(),
                "EMD body is sent as a string"
            );
            assert_eq!(
                sent["attachment"]["content_type"],
                "application/vnd.klarna.internal.emd-v2+json"
            );
            assert_eq!(sent["x_till_extension"], json!({"keep": true}));
        }
    }
}

#[test]
fn the_user_agent_names_the_pos_then_the_library() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    assert_eq!(
        sim.session(&s.id())["user_agent"],
        format!(
            "TestTill/1.0 (store 042) klarna-pos/{}",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn twenty_sessions_on_one_client_use_one_tcp_connection() {
    let sim = Sim::start();
    let client = sim.client();
    for _ in 0..20 {
        let s = client.create(&order()).unwrap();
        assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
    }
    let stats = sim.stats();
    assert_eq!(stats["sessions_created"], 20);
    assert_eq!(stats["connections"], 1, "{}", stats);
}

#[test]
fn other_spellings_of_the_status_payload_are_understood() {
    let sim = Sim::start();
    sim.config(json!({"cancel_spelling": "CANCELLED", "qr_field": "qr"}));
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
    assert!(s.qr_url().is_some(), "QR URL read from `qr`");
    sim.act(&s.id(), "cancel", None);
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_CANCELED);
}

#[test]
fn a_status_klarna_adds_later_is_unknown_not_an_error() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    sim.act(&s.id(), "force", Some(json!({"status": "PENDING_REVIEW"})));
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_UNKNOWN);
    assert_eq!(kpos_status_is_terminal(KPOS_STATUS_UNKNOWN), 0);
    sim.act(&s.id(), "force", Some(json!({"status": "COMPLETED"})));
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_COMPLETED);
}

#[test]
fn completed_is_never_downgraded_by_a_later_answer() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    sim.act(&s.id(), "approve", Some(json!({"order_id": "o-1"})));
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_COMPLETED);
    for late in ["ACCESSED", "FAILED", "CANCELED", "DISTRIBUTED"] {
        sim.act(&s.id(), "force", Some(json!({"status": late})));
        assert_eq!(s.poll().unwrap(), KPOS_STATUS_COMPLETED, "after {}", late);
    }
    assert_eq!(s.order_id().as_deref(), Some("o-1"));
}

#[test]
fn cancel_is_idempotent_and_refused_after_completion() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    s.cancel().unwrap();
    s.cancel().unwrap();
    assert_eq!(s.status(), KPOS_STATUS_CANCELED);
    assert_eq!(sim.session(&s.id())["status"], "CANCELED");

    let paid = client.create(&order()).unwrap();
    sim.act(&paid.id(), "approve", None);
    // The till has not seen COMPLETED yet: Klarna refuses the DELETE and the library learns why.
    let f = paid.cancel().unwrap_err();
    assert_eq!(f.code, KPOS_E_CONFLICT);
    assert_eq!(paid.status(), KPOS_STATUS_COMPLETED);
    assert!(paid.order_id().is_some());
}

#[test]
fn a_status_read_is_retried_through_a_burst_of_server_errors() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    sim.fault(json!({"mode": "status_503", "count": 2, "path": "/instore/"}));
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
    // The simulator counts faulted requests too: two 503s, then the answered read.
    assert_eq!(sim.session(&s.id())["polls"], 3);
}

#[test]
fn a_session_create_is_never_repeated_automatically() {
    let sim = Sim::start();
    let client = sim.client();
    sim.fault(json!({"mode": "status_500", "count": 1, "path": "/payments/v1/sessions", "method": "POST"}));
    let f = client.create(&order()).unwrap_err();
    assert_eq!(f.code, KPOS_E_UNKNOWN);
    let stats = sim.stats();
    assert_eq!(stats["create_requests"], 1);
    assert_eq!(stats["sessions_created"], 0);
}

#[test]
fn a_rate_limited_status_read_waits_for_retry_after_then_succeeds() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    sim.fault(json!({"mode": "rate_limit", "retry_after": 1, "count": 1, "path": "/instore/"}));
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
}

#[test]
fn a_malformed_status_answer_is_a_protocol_error() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client.create(&order()).unwrap();
    sim.fault(json!({"mode": "malformed_json", "count": 1, "path": "/instore/"}));
    assert_eq!(s.poll().unwrap_err().code, KPOS_E_PROTOCOL);
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
}

#[test]
fn a_session_resumed_by_another_client_continues_where_it_was() {
    let sim = Sim::start();
    let first = sim.client();
    let s = first.create(&order()).unwrap();
    sim.act(&s.id(), "scan", None);
    let (id, url) = (s.id(), s.result_url());
    drop(s);
    drop(first);

    let second = sim.client();
    let resumed = second.resume(&id, &url).unwrap();
    assert_eq!(resumed.id(), id);
    assert_eq!(resumed.poll().unwrap(), KPOS_STATUS_ACCESSED);
    sim.act(&id, "approve", Some(json!({"order_id": "after-restart"})));
    assert_eq!(resumed.wait(10_000).unwrap(), KPOS_STATUS_COMPLETED);
    assert_eq!(resumed.order_id().as_deref(), Some("after-restart"));
}

#[test]
fn resuming_with_a_result_url_klarna_does_not_know_gives_not_found() {
    let sim = Sim::start();
    let client = sim.client();
    let s = client
        .resume(
            "nope",
            &format!("{}/instore/v1/distributions/nope?dt=x", sim.url),
        )
        .unwrap();
    assert_eq!(s.poll().unwrap_err().code, KPOS_E_NOT_FOUND);
}

#[test]
fn an_unreachable_api_is_a_network_error() {
    // Bind then drop a listener to get a loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(
        &json!({"api_url": format!("http://127.0.0.1:{}", port), "username": "u", "password": "p"})
            .to_string(),
    )
    .unwrap();
    let f = client.create(&order()).unwrap_err();
    assert_eq!(f.code, KPOS_E_NETWORK);
    assert_eq!(kpos_result_action(f.code), KPOS_ACTION_RETRY);
}

#[test]
fn klarnas_bad_value_is_bad_request_with_field_and_correlation_id() {
    let sim = Sim::start();
    let client = sim.client();
    sim.fault(
        json!({"mode": "bad_value", "field": "order_lines[0].total_tax_amount",
                     "path": "/payments/v1/sessions", "method": "POST"}),
    );
    let f = client.create(&order()).unwrap_err();
    assert_eq!(f.code, KPOS_E_BAD_REQUEST);
    assert_eq!(f.detail["http_status"], 400);
    assert_eq!(f.detail["klarna_error_code"], "BAD_VALUE");
    assert_eq!(f.detail["field"], "order_lines[0].total_tax_amount");
    let correlation = f.detail["correlation_id"].as_str().unwrap();
    assert!(!correlation.is_empty());
    assert!(f.detail["message"].as_str().unwrap().contains("Bad value"));
    assert_eq!(kpos_result_action(f.code), KPOS_ACTION_FIX_INPUT);
}

#[test]
fn a_freed_handle_is_refused_even_after_new_sessions_are_created() {
    let sim = Sim::start();
    let client = sim.client();
    let url = format!("{}/instore/v1/distributions/x?dt=y", sim.url);
    let first = client.resume("first", &url).unwrap();
    let stale = first.0;
    drop(first);
    let second = client.resume("second", &url).unwrap();
    assert_ne!(second.0, stale, "handle numbers are never reused");
    assert!(owned(unsafe { kpos_session_id(stale) }).is_none());
    let mut status = 0;
    assert_eq!(
        unsafe { kpos_session_poll(stale, &mut status) },
        KPOS_E_INVALID_ARGUMENT
    );
    assert_eq!(second.id(), "second");
}
