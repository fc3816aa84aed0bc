//! Klarna's per-merchant rate limits, enforced by the simulator (`--rate-limits`), against the
//! library: a rate limit never turns into a failed payment while a wait has time, a creation
//! refused with 429 is reported and never sent again on its own, and a cancel is not refused
//! because an earlier request of the till met a 429.

mod common;

use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::session::*;
use serde_json::json;

/// Status reads every 100 ms against a budget of 2 other requests a second: the wait meets
/// 429s, backs off as Retry-After says, and still returns the changes in order and finally
/// COMPLETED.
#[test]
fn a_wait_that_meets_429s_still_completes() {
    let sim = Sim::start_with(&[
        "--rate-limits",
        "5/2",
        "--customer",
        "auto",
        "--auto-delay-ms",
        "3000",
    ]);
    let client = Client::new(&sim.config_json(json!({
        "poll_interval_ms": 100,
        "max_safe_requests_per_second": 0,
    })))
    .unwrap();
    let s = client.create(&order()).unwrap();
    let mut seen = Vec::new();
    while seen.last() != Some(&KPOS_STATUS_COMPLETED) {
        match s.wait(30_000) {
            Ok(status) => seen.push(status),
            Err((f, _)) => panic!("the wait failed: {:?}", f.detail),
        }
        assert!(seen.len() < 10, "statuses {seen:?}");
    }
    // Each change once and in order; a change that lasted less than a backoff (ACCESSED, when
    // the customer approves within Retry-After) may be passed over, as polling passes it over.
    let order = [
        KPOS_STATUS_DISTRIBUTED,
        KPOS_STATUS_ACCESSED,
        KPOS_STATUS_COMPLETED,
    ];
    let mut rest = order.iter();
    assert!(
        seen.iter().all(|s| rest.any(|o| o == s)),
        "statuses out of order or repeated: {seen:?}"
    );
    let stats = sim.stats();
    assert!(
        stats["rate_limited"].as_u64().unwrap() > 0,
        "the reads met no 429: {stats}"
    );
    assert_eq!(stats["rate_limited_creates"], 0);
}

/// One creation a second: the second is refused with 429, reported as KPOS_E_RATE_LIMITED with
/// Klarna's Retry-After, and the simulator saw it once; a third one inside the Retry-After is
/// not sent at all. Status reads have a budget of their own and go on.
#[test]
fn a_create_at_the_limit_is_reported_and_sent_once() {
    let sim = Sim::start_with(&["--rate-limits", "1/50"]);
    let client = sim.client();
    let first = client.create(&order()).unwrap();
    let Err(refused) = client.create(&order()) else {
        panic!("the second creation within a second was accepted")
    };
    assert_eq!(refused.code, KPOS_E_RATE_LIMITED, "{:?}", refused.detail);
    assert_eq!(refused.detail["http_status"], 429);
    assert_eq!(refused.detail["klarna_error_code"], "TOO_MANY_REQUESTS");
    assert_eq!(refused.detail["retry_after_ms"], 1000);
    assert_eq!(
        kpos_last_error_retry_after_ms(),
        1000,
        "the getter gives what the JSON gives"
    );
    assert_eq!(sim.stat("create_requests"), 2);
    assert_eq!(sim.stat("sessions_created"), 1);

    let Err(held) = client.create(&order()) else {
        panic!("a creation within Retry-After was accepted")
    };
    assert_eq!(held.code, KPOS_E_RATE_LIMITED);
    let left = held.detail["retry_after_ms"].as_u64().unwrap();
    assert!(left <= 1000, "retry_after_ms {left}");
    assert_eq!(u64::from(kpos_last_error_retry_after_ms()), left);
    assert!(held.detail["message"]
        .as_str()
        .unwrap()
        .contains("nothing was sent"));
    assert_eq!(
        sim.stat("create_requests"),
        2,
        "nothing sent within Retry-After"
    );

    assert_eq!(first.poll().unwrap(), KPOS_STATUS_DISTRIBUTED);
}

/// A status read refused with Retry-After: 2 (no retries configured), then the till gives up
/// and cancels: the cancel waits out the window and is sent, instead of being refused at once.
#[test]
fn a_cancel_inside_a_retry_after_window_is_sent_when_it_ends() {
    let sim = Sim::start();
    let client = Client::new(&sim.config_json(json!({"max_retries": 0}))).unwrap();
    let s = client.create(&order()).unwrap();
    sim.fault(json!({"mode": "rate_limit", "retry_after": 2, "count": 1, "path": "/instore/"}));
    assert_eq!(s.poll().unwrap_err().code, KPOS_E_RATE_LIMITED);
    let t = std::time::Instant::now();
    s.cancel().unwrap();
    let elapsed = t.elapsed().as_millis();
    assert!(
        elapsed >= 1000,
        "the cancel was sent {elapsed} ms after the 429"
    );
    assert_eq!(sim.stat("deletes"), 1);
    assert_eq!(sim.session(&s.id())["status"], "CANCELED");
    assert_eq!(s.status(), KPOS_STATUS_CANCELED);
}
