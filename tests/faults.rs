//! Every fault mode of the simulator against every operation that talks to Klarna: the right
//! code, a call that returns (bounded by the configured request timeout, which the library
//! enforces; the measured times are reported in target/hardening/faults.txt, not asserted),
//! retries with backoff only for requests that are safe to repeat, a session create sent
//! exactly once, and polling that stays under Klarna's rate limit.
//!
//! New operations and new fault modes are one entry each in OPERATIONS / MODES.

mod common;

use std::cell::Cell;
use std::ffi::c_char;
use std::time::{Duration, Instant};

use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::kpos_string_free;
use klarna_pos::ffi::webhook::kpos_webhook_verify;
use serde_json::{json, Value};

const REQUEST_TIMEOUT_MS: u64 = 1000;
const MAX_RETRIES: u64 = 2;

fn config(sim: &Sim) -> String {
    sim.config_json(json!({
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
        "connect_timeout_ms": 1000,
        "max_retries": MAX_RETRIES,
    }))
}

/// What an operation works on: a client and a session created and polled before any fault,
/// an order captured in full (for refunds) and one only authorized (for captures), and a
/// session of a client with `webhook_url` that the simulator's customer has approved, with the
/// reference and token of its callback URL.
struct Fixture {
    client: Client,
    session: Session,
    captured_order: String,
    authorized_order: String,
    hook_client: Client,
    hook_session: Session,
    hook_request: String,
    /// The idempotency key of the last capture or refund, a new one per call.
    key: Cell<u32>,
}

impl Fixture {
    fn new_key(&self, action: &str) -> String {
        self.key.set(self.key.get() + 1);
        self.key_of(action)
    }

    fn key_of(&self, action: &str) -> String {
        format!("faults-{}-{}", action, self.key.get())
    }

    fn capture(&self, key: &str) -> u32 {
        code_of(self.client.capture(
            &self.authorized_order,
            r#"{"captured_amount": 1, "description": "fault test"}"#,
            Some(key),
        ))
    }

    fn refund(&self, key: &str) -> u32 {
        code_of(self.client.refund(
            &self.captured_order,
            r#"{"refunded_amount": 1, "description": "fault test"}"#,
            Some(key),
        ))
    }

    /// The customer's COMPLETED callback, which the library confirms with a GET.
    fn completed_callback(&self) -> u32 {
        let request = cstring(&self.hook_request);
        let body = cstring(
            &json!({"session_id": self.hook_session.id(), "status": "COMPLETED"}).to_string(),
        );
        let mut id: *mut c_char = std::ptr::null_mut();
        let mut status = 0u32;
        let code = unsafe {
            kpos_webhook_verify(
                self.hook_client.0,
                request.as_bytes().as_ptr(),
                request.as_bytes().len(),
                body.as_bytes().as_ptr(),
                body.as_bytes().len(),
                &mut id,
                &mut status,
            )
        };
        if code == KPOS_OK {
            unsafe { kpos_string_free(id) };
        } else {
            let message = last_error()["message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(!message.is_empty(), "a failure without a message");
            assert_eq!(
                self.hook_session.status(),
                klarna_pos::ffi::session::KPOS_STATUS_DISTRIBUTED,
                "a failed confirmation leaves the session unchanged"
            );
        }
        code
    }
}

/// The simulator ledger's action, the order it books on, and the call repeated with its key.
type ExactlyOnce = (&'static str, fn(&Fixture) -> &str, fn(&Fixture) -> u32);

/// One library call that reaches Klarna.
struct Operation {
    name: &'static str,
    /// Sent again by the library on transient failures (GET, DELETE).
    safe: bool,
    /// The fault rule's filter: the requests of this operation only.
    filter: fn() -> Value,
    /// The /_sim/stats counter of this operation's requests.
    counter: &'static str,
    call: fn(&Fixture) -> u32,
    /// For a call with an idempotency key: the simulator ledger's action and the order, and
    /// the call repeated with the same key once the fault is gone.
    exactly_once: Option<ExactlyOnce>,
    /// The whole call is bounded by one request timeout: it retries failures that answer at
    /// once, but a stalled, dripping or rate-limited (Retry-After 1 s) answer uses it up.
    one_timeout: bool,
    /// Klarna's refusals (400, 401/403) come back as `KPOS_E_UNKNOWN`: a failed confirmation
    /// of an authentic callback must not read as a verdict on it.
    refusals_as_unknown: bool,
}

fn code_of<T>(r: Result<T, Failure>) -> u32 {
    match r {
        Ok(_) => KPOS_OK,
        Err(f) => {
            let message = f.detail["message"].as_str().unwrap_or_default();
            assert!(!message.is_empty(), "a failure without a message");
            f.code
        }
    }
}

const OPERATIONS: &[Operation] = &[
    Operation {
        name: "kpos_session_create",
        safe: false,
        filter: || json!({"method": "POST", "path": "/payments/v1/sessions"}),
        counter: "create_requests",
        call: |f| code_of(f.client.create(&order())),
        exactly_once: None,
        one_timeout: false,
        refusals_as_unknown: false,
    },
    Operation {
        name: "kpos_session_poll",
        safe: true,
        filter: || json!({"method": "GET", "path": "/instore/"}),
        counter: "polls",
        call: |f| code_of(f.session.poll()),
        exactly_once: None,
        one_timeout: false,
        refusals_as_unknown: false,
    },
    Operation {
        name: "kpos_session_cancel",
        safe: true,
        filter: || json!({"method": "DELETE", "path": "/payments/v1/sessions/"}),
        counter: "deletes",
        call: |f| code_of(f.session.cancel()),
        exactly_once: None,
        one_timeout: false,
        refusals_as_unknown: false,
    },
    Operation {
        name: "kpos_order_get",
        safe: true,
        filter: || json!({"method": "GET", "path": "/ordermanagement/v1/orders/"}),
        counter: "requests",
        call: |f| code_of(f.client.order_get(&f.captured_order)),
        exactly_once: None,
        one_timeout: false,
        refusals_as_unknown: false,
    },
    Operation {
        // A POST, but repeated with its idempotency key: Klarna captures once per key.
        name: "kpos_order_capture",
        safe: true,
        filter: || json!({"method": "POST", "path": "/ordermanagement/v1/orders/"}),
        counter: "requests",
        call: |f| f.capture(&f.new_key("capture")),
        exactly_once: Some((
            "captures",
            |f| &f.authorized_order,
            |f| f.capture(&f.key_of("capture")),
        )),
        one_timeout: false,
        refusals_as_unknown: false,
    },
    Operation {
        name: "kpos_order_refund",
        safe: true,
        filter: || json!({"method": "POST", "path": "/ordermanagement/v1/orders/"}),
        counter: "requests",
        call: |f| f.refund(&f.new_key("refund")),
        exactly_once: Some((
            "refunds",
            |f| &f.captured_order,
            |f| f.refund(&f.key_of("refund")),
        )),
        one_timeout: false,
        refusals_as_unknown: false,
    },
    Operation {
        name: "kpos_webhook_verify (confirming GET)",
        safe: true,
        filter: || json!({"method": "GET", "path": "/instore/"}),
        counter: "polls",
        call: |f| f.completed_callback(),
        exactly_once: None,
        one_timeout: true,
        refusals_as_unknown: true,
    },
];

/// The bookings (answered, not replayed) of `action` with `key` in an order's ledger.
fn booked(ledger: &Value, action: &str, key: &str) -> usize {
    ledger["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["action"] == action
                && r["idempotency_key"] == key
                && r["replayed"] != true
                && r["status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))
        })
        .count()
}

/// The reference and token of a session's callback URL, as the simulator received it.
fn callback_query(sim: &Sim, session_id: &str) -> String {
    let record = sim.session(session_id).to_string();
    let at = record
        .find("kpos_ref=")
        .expect("a callback URL with kpos_ref");
    let query: String = record[at..]
        .chars()
        .take_while(|c| *c != '"' && *c != '\\')
        .collect();
    format!("/hook?{}", query)
}

/// One fault mode: the rule's extra keys and the code every operation must return.
struct Mode {
    mode: &'static str,
    rule: fn() -> Value,
    code: u32,
    /// A failure worth repeating for a safe request (5xx, 429, network, timeout).
    transient: bool,
    /// Operations that succeed despite the fault, e.g. a cancel, whose answer body is ignored,
    /// under malformed JSON.
    succeeds: &'static [&'static str],
}

const MODES: &[Mode] = &[
    Mode {
        mode: "status_500",
        rule: || json!({}),
        code: KPOS_E_UNKNOWN,
        transient: true,
        succeeds: &[],
    },
    Mode {
        mode: "status_502",
        rule: || json!({}),
        code: KPOS_E_UNKNOWN,
        transient: true,
        succeeds: &[],
    },
    Mode {
        mode: "status_503",
        rule: || json!({}),
        code: KPOS_E_UNKNOWN,
        transient: true,
        succeeds: &[],
    },
    Mode {
        mode: "rate_limit",
        rule: || json!({"retry_after": 1}),
        code: KPOS_E_RATE_LIMITED,
        transient: true,
        succeeds: &[],
    },
    Mode {
        mode: "reset",
        rule: || json!({}),
        code: KPOS_E_NETWORK,
        transient: true,
        succeeds: &[],
    },
    Mode {
        mode: "stall",
        rule: || json!({"stall_ms": 30_000}),
        code: KPOS_E_TIMEOUT,
        transient: true,
        succeeds: &[],
    },
    Mode {
        mode: "malformed_json",
        rule: || json!({}),
        code: KPOS_E_PROTOCOL,
        transient: false,
        succeeds: &["kpos_session_cancel"],
    },
    Mode {
        mode: "html_401",
        rule: || json!({}),
        code: KPOS_E_PERMISSION_DENIED,
        transient: false,
        succeeds: &[],
    },
    Mode {
        mode: "html_500",
        rule: || json!({}),
        code: KPOS_E_UNKNOWN,
        transient: true,
        succeeds: &[],
    },
    Mode {
        // 50 ms per byte: even a bodiless answer takes seconds, past the 1 s request timeout.
        mode: "slow_drip",
        rule: || json!({"drip_ms": 50}),
        code: KPOS_E_TIMEOUT,
        transient: true,
        succeeds: &[],
    },
    Mode {
        mode: "bad_value",
        rule: || json!({"field": "order_lines[0].name"}),
        code: KPOS_E_BAD_REQUEST,
        transient: false,
        succeeds: &[],
    },
];

fn run_mode(name: &str) {
    let mode = MODES
        .iter()
        .find(|m| m.mode == name)
        .unwrap_or_else(|| panic!("no mode {name}"));
    let sim = Sim::start();
    let client = Client::new(&config(&sim)).unwrap();
    let session = client.create(&order()).unwrap();
    session.poll().unwrap();
    sim.config(json!({"auto_capture": true}));
    let captured_order = sim.paid_order(&client);
    sim.config(json!({"auto_capture": false}));
    let authorized_order = sim.paid_order(&client);
    let mut hook_config: Value = serde_json::from_str(&config(&sim)).unwrap();
    hook_config["webhook_url"] = json!("http://127.0.0.1:9/hook");
    let hook_client = Client::new(&hook_config.to_string()).unwrap();
    let hook_session = hook_client.create(&order()).unwrap();
    hook_session.poll().unwrap();
    sim.act(&hook_session.id(), "approve", None);
    let hook_request = callback_query(&sim, &hook_session.id());
    let fixture = Fixture {
        client,
        session,
        captured_order,
        authorized_order,
        hook_client,
        hook_session,
        hook_request,
        key: Cell::new(0),
    };

    for op in OPERATIONS {
        let mut rule = (mode.rule)();
        rule["mode"] = json!(mode.mode);
        rule["count"] = json!(1000);
        for (k, v) in (op.filter)().as_object().unwrap() {
            rule[k] = v.clone();
        }
        let before = sim.stat(op.counter);
        let creates_before = sim.stat("create_requests");
        sim.fault(rule);
        let started = Instant::now();
        let code = (op.call)(&fixture);
        let elapsed = started.elapsed();
        sim.clear_faults();
        let attempts = sim.stat(op.counter) - before;
        if mode.mode == "rate_limit" {
            // The client sends nothing before Klarna's Retry-After (1 s) has passed, also in
            // the calls that follow: the next operation starts after it.
            std::thread::sleep(Duration::from_secs(1));
        }

        let expected = if mode.succeeds.contains(&op.name) {
            KPOS_OK
        } else if op.refusals_as_unknown
            && [KPOS_E_BAD_REQUEST, KPOS_E_PERMISSION_DENIED].contains(&mode.code)
        {
            KPOS_E_UNKNOWN
        } else {
            mode.code
        };
        let slow = matches!(mode.mode, "stall" | "slow_drip" | "rate_limit");
        let expected_attempts =
            if op.safe && mode.transient && expected != KPOS_OK && !(op.one_timeout && slow) {
                1 + MAX_RETRIES
            } else {
                1
            };
        report(
            "faults",
            &format!(
                "{:<15} {:<20} -> {:<24} attempts {} in {:>5} ms (request timeout {} ms, {} retries)",
                mode.mode,
                op.name,
                owned(kpos_result_name(code)).unwrap(),
                attempts,
                elapsed.as_millis(),
                REQUEST_TIMEOUT_MS,
                MAX_RETRIES
            ),
        );
        assert_eq!(
            code,
            expected,
            "{} under {}: got {}",
            op.name,
            mode.mode,
            owned(kpos_result_name(code)).unwrap()
        );
        assert_eq!(
            attempts, expected_attempts,
            "{} under {}: requests sent",
            op.name, mode.mode
        );
        if op.one_timeout {
            // One request timeout, with room for a loaded machine.
            assert!(
                elapsed <= Duration::from_millis(REQUEST_TIMEOUT_MS + 1000),
                "{} under {}: {} ms",
                op.name,
                mode.mode,
                elapsed.as_millis()
            );
        }
        if let Some((action, order_of, repeat)) = op.exactly_once {
            let key = fixture.key_of(&action[..action.len() - 1]);
            let order_id = order_of(&fixture).to_string();
            assert!(
                booked(&sim.order(&order_id), action, &key) <= 1,
                "{} under {}: booked more than once",
                op.name,
                mode.mode
            );
            // The till repeats the call with its key once Klarna answers again.
            assert_eq!(repeat(&fixture), KPOS_OK, "{} repeated", op.name);
            assert_eq!(
                booked(&sim.order(&order_id), action, &key),
                1,
                "{} under {} then repeated: booked exactly once",
                op.name,
                mode.mode
            );
        }
        if op.counter == "create_requests" {
            assert_eq!(
                sim.stat("create_requests") - creates_before,
                1,
                "a session create is sent exactly once under {}",
                mode.mode
            );
        }
    }
}

#[test]
fn status_500() {
    run_mode("status_500");
}

#[test]
fn status_502() {
    run_mode("status_502");
}

#[test]
fn status_503() {
    run_mode("status_503");
}

#[test]
fn rate_limit() {
    run_mode("rate_limit");
}

#[test]
fn reset() {
    run_mode("reset");
}

#[test]
fn stall() {
    run_mode("stall");
}

#[test]
fn malformed_json() {
    run_mode("malformed_json");
}

#[test]
fn html_401() {
    run_mode("html_401");
}

#[test]
fn html_500() {
    run_mode("html_500");
}

#[test]
fn slow_drip() {
    run_mode("slow_drip");
}

#[test]
fn bad_value() {
    run_mode("bad_value");
}

/// Each mode of the table has its test above, so a new mode cannot be forgotten.
#[test]
fn every_mode_has_a_test() {
    let source = include_str!("faults.rs");
    for m in MODES {
        assert!(
            source.contains(&format!("run_mode(\"{}\")", m.mode)),
            "{} has no test",
            m.mode
        );
    }
}

/// A wait without change polls at most once per configured floor interval, also while every
/// status read fails (the transport's retries keep to the floor too).
#[test]
fn a_wait_polls_no_faster_than_the_configured_floor() {
    const FLOOR_MS: u64 = 250;
    const WAIT_MS: u32 = 2000;
    let sim = Sim::start();
    let client = Client::new(&sim.config_json(json!({"poll_interval_ms": FLOOR_MS}))).unwrap();
    let s = client.create(&order()).unwrap();
    s.poll().unwrap();
    for fault in [None, Some("status_503")] {
        if let Some(mode) = fault {
            sim.fault(json!({"mode": mode, "count": 1000, "path": "/instore/"}));
        }
        let before = sim.stat("polls");
        let started = Instant::now();
        let (failure, status) = s.wait(WAIT_MS).unwrap_err();
        let elapsed = started.elapsed();
        let polls = sim.stat("polls") - before;
        sim.clear_faults();
        report(
            "rate",
            &format!(
                "kpos_session_wait {} ms, floor {} ms, fault {:<10}: {} polls in {} ms ({:.1}/s)",
                WAIT_MS,
                FLOOR_MS,
                fault.unwrap_or("none"),
                polls,
                elapsed.as_millis(),
                polls as f64 / elapsed.as_secs_f64()
            ),
        );
        assert_eq!(failure.code, KPOS_E_TIMEOUT);
        assert_eq!(status, klarna_pos::ffi::session::KPOS_STATUS_DISTRIBUTED);
        // Polls start at most once per floor interval within the measured time.
        let bound = elapsed.as_millis() as u64 / FLOOR_MS + 1;
        assert!(polls <= bound, "{polls} polls, at most {bound} allowed");
    }
}

/// Many sessions waiting at once on one client share its pace: Klarna counts "other calls"
/// per merchant (50/s on the playground), and the library sends at most 40/s per client.
#[test]
fn many_waiting_sessions_stay_under_klarnas_rate_limit() {
    const SESSIONS: usize = 12;
    let sim = Sim::start();
    let client = Client::new(&sim.config_json(json!({"poll_interval_ms": 100}))).unwrap();
    let sessions: Vec<Session> = (0..SESSIONS)
        .map(|_| client.create(&order()).unwrap())
        .collect();
    // Seen once, so that each wait has nothing new to report and keeps polling.
    for s in &sessions {
        s.poll().unwrap();
    }
    let before = sim.stat("polls");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for s in &sessions {
            scope.spawn(move || {
                let _ = s.wait(2000);
            });
        }
    });
    let elapsed = started.elapsed();
    let polls = sim.stat("polls") - before;
    let spacing = Duration::from_millis(25);
    report(
        "rate",
        &format!(
            "{} sessions waiting 2000 ms with a 100 ms floor on one client: {} polls in {} ms ({:.1}/s; unpaced would be ~{}/s; Klarna playground limit 50/s)",
            SESSIONS,
            polls,
            elapsed.as_millis(),
            polls as f64 / elapsed.as_secs_f64(),
            SESSIONS * 10
        ),
    );
    let bound = (elapsed.as_millis() / spacing.as_millis()) as u64 + 2;
    assert!(polls <= bound, "{polls} polls, at most {bound} allowed");
}
