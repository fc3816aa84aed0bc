//! Every fault mode of the simulator against every operation that talks to Klarna: the right
//! code, a call that returns (bounded by the configured request timeout, which the library
//! enforces; the measured times are reported in target/hardening/faults.txt, not asserted),
//! retries with backoff only for requests that are safe to repeat, a session create sent
//! exactly once, and polling that stays under Klarna's rate limit.
//!
//! New operations and new fault modes are one entry each in OPERATIONS / MODES.

mod common;

use std::time::{Duration, Instant};

use common::*;
use klarna_pos::ffi::error::*;
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

/// What an operation works on: a client and a session created and polled before any fault.
struct Fixture {
    client: Client,
    session: Session,
}

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
    },
    Operation {
        name: "kpos_session_poll",
        safe: true,
        filter: || json!({"method": "GET", "path": "/instore/"}),
        counter: "polls",
        call: |f| code_of(f.session.poll()),
    },
    Operation {
        name: "kpos_session_cancel",
        safe: true,
        filter: || json!({"method": "DELETE", "path": "/payments/v1/sessions/"}),
        counter: "deletes",
        call: |f| code_of(f.session.cancel()),
    },
];

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
    let fixture = Fixture { client, session };

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

        let expected = if mode.succeeds.contains(&op.name) {
            KPOS_OK
        } else {
            mode.code
        };
        let expected_attempts = if op.safe && mode.transient && expected != KPOS_OK {
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
        if !op.safe {
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
