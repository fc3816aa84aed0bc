//! 16 threads share one client for 256 sessions while about 15 % of the simulator's answers
//! are faults: every call returns a documented code, nothing crashes, every handle is released,
//! and the simulator never sees a session created twice. The numbers go to
//! target/hardening/stress.txt.

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use common::*;
use klarna_pos::core::Code;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::handle::live_handles;
use klarna_pos::ffi::session::*;
use serde_json::{json, Value};

const THREADS: usize = 16;
const SESSIONS_PER_THREAD: usize = 16;

/// The faults mixed into every answer outside /_sim/: 1 - (0.95 x 0.97^3 x 0.98) = 14 %.
fn fault_mix() -> Vec<Value> {
    [
        ("status_503", 0.05),
        ("reset", 0.03),
        ("html_500", 0.03),
        ("malformed_json", 0.02),
    ]
    .iter()
    .map(|(mode, p)| json!({"mode": mode, "probability": p, "count": 1_000_000}))
    .chain([
        json!({"mode": "rate_limit", "probability": 0.03, "count": 1_000_000, "retry_after": 0}),
    ])
    .collect()
}

#[derive(Default)]
struct Tally {
    calls: u64,
    successes: u64,
    creates: u64,
    codes: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, call: &str, code: u32) {
        self.calls += 1;
        if code == KPOS_OK {
            self.successes += 1;
        }
        assert!(
            Code::from_u32(code).is_some(),
            "{call} returned the undocumented code {code}"
        );
        *self
            .codes
            .entry(format!("{call} {}", owned(kpos_result_name(code)).unwrap()))
            .or_default() += 1;
    }
}

fn order(reference: &str) -> String {
    let mut o: Value = serde_json::from_str(&common::order()).unwrap();
    o["merchant_reference1"] = json!(reference);
    o.to_string()
}

fn code<T>(r: Result<T, Failure>) -> u32 {
    r.err().map_or(KPOS_OK, |f| f.code)
}

#[test]
fn sixteen_threads_share_one_client_through_a_storm_of_faults() {
    let handles_before = live_handles();
    let sim = Sim::start();
    let client = Client::new(&sim.config_json(json!({
        "request_timeout_ms": 2000,
        "max_retries": 2,
        "poll_interval_ms": 100,
    })))
    .unwrap();
    for rule in fault_mix() {
        sim.fault(rule);
    }
    let tally = Mutex::new(Tally::default());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (client, sim, tally) = (&client, &sim, &tally);
            scope.spawn(move || {
                for n in 0..SESSIONS_PER_THREAD {
                    let created = client.create(&order(&format!("STRESS-{t}-{n}")));
                    tally.lock().unwrap().creates += 1;
                    tally
                        .lock()
                        .unwrap()
                        .record("create", created.as_ref().err().map_or(KPOS_OK, |f| f.code));
                    let Ok(session) = created else { continue };
                    let polled = code(session.poll());
                    tally.lock().unwrap().record("poll", polled);
                    if n % 2 == 0 {
                        sim.act(&session.id(), "approve", None);
                        let waited = session.wait(5000);
                        let c = match &waited {
                            Ok(status) => {
                                assert_eq!(*status, KPOS_STATUS_COMPLETED);
                                KPOS_OK
                            }
                            Err((f, _)) => f.code,
                        };
                        tally.lock().unwrap().record("wait", c);
                    } else {
                        let cancelled = code(session.cancel());
                        tally.lock().unwrap().record("cancel", cancelled);
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    drop(client);

    let stats = sim.stats();
    let tally = tally.into_inner().unwrap();
    report(
        "stress",
        &format!(
            "{} threads, {} sessions attempted, {:.1} s: {} calls, {} succeeded ({:.1} %), {} faults injected of {} requests ({:.1} %)",
            THREADS,
            tally.creates,
            elapsed.as_secs_f64(),
            tally.calls,
            tally.successes,
            100.0 * tally.successes as f64 / tally.calls as f64,
            stats["faults_triggered"],
            stats["requests"],
            100.0 * stats["faults_triggered"].as_f64().unwrap() / stats["requests"].as_f64().unwrap(),
        ),
    );
    for (k, v) in &tally.codes {
        report("stress", &format!("  {k}: {v}"));
    }
    report(
        "stress",
        &format!(
            "  create requests seen {}, sessions created {}, duplicate creates {}, live handles after {}",
            stats["create_requests"],
            stats["sessions_created"],
            stats["duplicate_creates"],
            live_handles() - handles_before
        ),
    );
    assert_eq!(stats["duplicate_creates"], 0, "a session was created twice");
    assert_eq!(
        stats["create_requests"].as_u64().unwrap(),
        tally.creates,
        "each kpos_session_create sends exactly one request"
    );
    assert_eq!(live_handles(), handles_before, "every handle was released");
    assert!(tally.successes > 0);
}
