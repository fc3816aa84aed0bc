//! The crash-safe journal through the C ABI: work a killed till left open is listed after the
//! restart and finished exactly once; the file survives torn writes, concurrent writers and
//! compaction.
//!
//! The kill tests run a real till in a child process: this test binary re-executed with
//! `KPOS_TILL_CHILD` set, which runs the child part of the test and then blocks until killed.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::session::*;
use serde_json::{json, Value};

const JOURNAL_FILE: &str = "klarna-pos.journal";

fn journal_client(sim: &Sim, dir: &Path, extra: Value) -> Client {
    let mut cfg: Value = serde_json::from_str(&sim.config_json(extra)).unwrap();
    cfg["journal_dir"] = json!(dir.to_str().unwrap());
    Client::new(&cfg.to_string()).unwrap()
}

fn journal_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(JOURNAL_FILE))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// In the child: the simulator URL and journal directory the parent handed over.
fn child_client() -> Client {
    let url = std::env::var("KPOS_TILL_SIM").unwrap();
    let dir = std::env::var("KPOS_TILL_JOURNAL").unwrap();
    let cfg = json!({"api_url": url, "username": USER, "password": PASSWORD,
                     "journal_dir": dir, "request_timeout_ms": 600_000});
    Client::new(&cfg.to_string()).unwrap()
}

/// The child blocks here until the parent kills it with SIGKILL.
fn block_until_killed() -> ! {
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    panic!("the parent was supposed to kill this till");
}

/// Runs `test` of this binary as a child till with `mode`; returns it with its stdout lines.
fn spawn_till(
    test: &str,
    mode: &str,
    sim: &Sim,
    dir: &Path,
    env: &[(&str, &str)],
) -> (
    std::process::Child,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("KPOS_TILL_CHILD", mode)
        .env("KPOS_TILL_SIM", &sim.url)
        .env("KPOS_TILL_JOURNAL", dir)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

fn child_mode() -> Option<String> {
    std::env::var("KPOS_TILL_CHILD").ok()
}

#[test]
fn a_till_killed_right_after_creating_a_session_resumes_it_after_the_restart() {
    if child_mode().as_deref() == Some("session") {
        let client = child_client();
        let s = client.create(&order()).unwrap();
        // Straight to the pipe: the test harness may capture print! output.
        let mut out = std::io::stdout().lock();
        writeln!(out, "session_id={}", s.id()).unwrap();
        out.flush().unwrap();
        block_until_killed();
    }
    let sim = Sim::start();
    let dir = scratch_dir("killed-session");
    let test = "a_till_killed_right_after_creating_a_session_resumes_it_after_the_restart";
    let (mut till, mut lines) = spawn_till(test, "session", &sim, &dir, &[]);
    let session_id = lines
        .by_ref()
        .map_while(Result::ok)
        // The harness may have begun the line with the test's name.
        .find_map(|l| l.split_once("session_id=").map(|(_, id)| id.to_string()))
        .expect("the till printed its session id");
    till.kill().unwrap(); // SIGKILL: no destructor, no flush, no goodbye
    till.wait().unwrap();

    let client = journal_client(&sim, &dir, json!({}));
    let pending = client.pending().unwrap();
    assert_eq!(pending.len(), 1, "{:?}", pending);
    let record = &pending[0];
    assert_eq!(record["kind"], "session");
    assert_eq!(record["session_id"], session_id.as_str());
    assert_eq!(record["order_amount"], 32400);
    assert_eq!(record["merchant_reference1"], "K042-1-000731");
    assert!(record["created_at"].as_str().unwrap().ends_with('Z'));
    let resumed = client
        .resume(&session_id, record["result_url"].as_str().unwrap())
        .unwrap();
    sim.act(&session_id, "approve", None);
    let mut status = resumed.status();
    while kpos_status_is_terminal(status) == 0 {
        status = resumed.wait(10_000).unwrap();
    }
    assert_eq!(status, KPOS_STATUS_COMPLETED);
    assert!(client.pending().unwrap().is_empty());
    // A process started later agrees.
    drop(client);
    assert!(journal_client(&sim, &dir, json!({}))
        .pending()
        .unwrap()
        .is_empty());
}

#[test]
fn a_refund_killed_mid_flight_is_finished_exactly_once_after_the_restart() {
    if child_mode().as_deref() == Some("refund") {
        let client = child_client();
        let order_id = std::env::var("KPOS_TILL_ORDER").unwrap();
        let _ = client.refund(
            &order_id,
            r#"{"refunded_amount": 9000, "reference": "R-17"}"#,
            None,
        );
        panic!("the refund was supposed to hang until the till is killed");
    }
    let sim = Sim::start();
    sim.config(json!({"auto_capture": true}));
    let order_id = sim.paid_order(&sim.client());
    // Klarna books the refund, then the answer never comes: the till hangs mid-flight.
    sim.fault(
        json!({"mode": "lose_answer", "hold_ms": 600_000, "method": "POST",
                     "path": format!("/ordermanagement/v1/orders/{}/refunds", order_id)}),
    );
    let dir = scratch_dir("killed-refund");
    let test = "a_refund_killed_mid_flight_is_finished_exactly_once_after_the_restart";
    let (mut till, _output) = spawn_till(
        test,
        "refund",
        &sim,
        &dir,
        &[("KPOS_TILL_ORDER", &order_id)],
    );
    until("Klarna booked the refund", || {
        sim.order(&order_id)["refunds"].as_array().unwrap().len() == 1
    });
    till.kill().unwrap();
    till.wait().unwrap();

    let client = journal_client(&sim, &dir, json!({}));
    let pending = client.pending().unwrap();
    assert_eq!(pending.len(), 1, "{:?}", pending);
    let record = &pending[0];
    assert_eq!(record["kind"], "refund");
    assert_eq!(record["order_id"], order_id.as_str());
    assert_eq!(
        record["body"],
        json!({"refunded_amount": 9000, "reference": "R-17"})
    );
    let key = record["idempotency_key"].as_str().unwrap();

    let refund_id = client
        .refund(&order_id, &record["body"].to_string(), Some(key))
        .unwrap();
    let ledger = sim.order(&order_id);
    assert_eq!(ledger["refunds"].as_array().unwrap().len(), 1, "{}", ledger);
    assert_eq!(ledger["refunds"][0]["refund_id"], refund_id.as_str());
    assert_eq!(ledger["refunded_amount"], 9000);
    assert_eq!(ledger["idempotency_keys"]["refunds"], json!([key]));
    assert!(client.pending().unwrap().is_empty());
}

#[test]
fn a_torn_last_line_is_skipped_and_the_next_record_is_not_swallowed() {
    let sim = Sim::start();
    sim.config(json!({"auto_capture": true}));
    let order_id = sim.paid_order(&sim.client());
    let dir = scratch_dir("torn");
    let open = json!({"op": "open", "id": "r-1", "kind": "refund", "created_at": "2026-01-01T00:00:00Z",
                      "created_unix": 1_767_225_600u64, "order_id": order_id,
                      "idempotency_key": "k-1", "body": {"refunded_amount": 100}});
    std::fs::write(
        dir.join(JOURNAL_FILE),
        format!("{{\"klarna_pos_journal\":1}}\n{}\n", open),
    )
    .unwrap();
    let client = journal_client(&sim, &dir, json!({}));
    // Another process sharing the directory is killed mid-write (opening the journal would
    // have compacted a torn line away: it is cut after the client opened it).
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(JOURNAL_FILE))
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"op\":\"open\",\"id\":\"r-2\",\"ki").unwrap();
    drop(f);
    let pending = client.pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["idempotency_key"], "k-1");

    // A new call that stays open (Klarna unavailable through every retry) is recorded intact.
    sim.fault(json!({"mode": "status_503", "count": 3, "path": "/ordermanagement/"}));
    let f = client
        .refund(&order_id, r#"{"refunded_amount": 200}"#, Some("k-2"))
        .unwrap_err();
    assert_eq!(f.code, KPOS_E_UNKNOWN);
    let keys: Vec<Value> = client
        .pending()
        .unwrap()
        .iter()
        .map(|r| r["idempotency_key"].clone())
        .collect();
    assert_eq!(keys, [json!("k-1"), json!("k-2")]);
    let lines = journal_lines(&dir);
    assert!(
        lines[2].ends_with("\"ki"),
        "the torn line stays as it was: {:?}",
        lines
    );
    assert!(
        serde_json::from_str::<Value>(&lines[3]).is_ok(),
        "{:?}",
        lines
    );
}

#[test]
fn two_clients_of_one_process_write_one_journal_concurrently() {
    let sim = Sim::start();
    sim.config(json!({"auto_capture": true}));
    let order_id = sim.paid_order(&sim.client());
    let dir = scratch_dir("concurrent");
    let tills = [
        journal_client(&sim, &dir, json!({})),
        journal_client(&sim, &dir, json!({})),
    ];
    std::thread::scope(|scope| {
        for (t, client) in tills.iter().enumerate() {
            let order_id = &order_id;
            scope.spawn(move || {
                for i in 0..10 {
                    client
                        .refund(
                            order_id,
                            r#"{"refunded_amount": 10}"#,
                            Some(&format!("t{}-{}", t, i)),
                        )
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(
        sim.order(&order_id)["refunds"].as_array().unwrap().len(),
        20
    );
    let lines = journal_lines(&dir);
    assert_eq!(lines.len(), 1 + 20 + 20, "header, 20 opens, 20 closes");
    for line in &lines {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "interleaved: {}",
            line
        );
    }
    assert!(tills[0].pending().unwrap().is_empty());
}

#[test]
fn two_till_processes_share_one_journal_without_corrupting_it() {
    if child_mode().as_deref() == Some("refunds") {
        let client = child_client();
        let order_id = std::env::var("KPOS_TILL_ORDER").unwrap();
        let till = std::process::id();
        for i in 0..10 {
            client
                .refund(
                    &order_id,
                    r#"{"refunded_amount": 10}"#,
                    Some(&format!("p{}-{}", till, i)),
                )
                .unwrap();
        }
        return;
    }
    let sim = Sim::start();
    sim.config(json!({"auto_capture": true}));
    let order_id = sim.paid_order(&sim.client());
    let dir = scratch_dir("two-processes");
    let test = "two_till_processes_share_one_journal_without_corrupting_it";
    let env = [("KPOS_TILL_ORDER", order_id.as_str())];
    let tills = [
        spawn_till(test, "refunds", &sim, &dir, &env),
        spawn_till(test, "refunds", &sim, &dir, &env),
    ];
    for (mut till, output) in tills {
        let output: Vec<String> = output.map_while(Result::ok).collect();
        assert!(till.wait().unwrap().success(), "{:?}", output);
    }
    assert_eq!(
        sim.order(&order_id)["refunds"].as_array().unwrap().len(),
        20
    );
    // Whether or not one process compacted while the other wrote, every line is whole and
    // nothing is left open.
    for line in journal_lines(&dir) {
        assert!(
            serde_json::from_str::<Value>(&line).is_ok(),
            "corrupt: {}",
            line
        );
    }
    assert!(journal_client(&sim, &dir, json!({}))
        .pending()
        .unwrap()
        .is_empty());
}

#[test]
fn compaction_keeps_only_the_open_records() {
    let sim = Sim::start();
    sim.config(json!({"auto_capture": true}));
    let order_id = sim.paid_order(&sim.client());
    let dir = scratch_dir("compaction");
    let first = journal_client(&sim, &dir, json!({}));
    for i in 0..3 {
        first
            .refund(
                &order_id,
                r#"{"refunded_amount": 10}"#,
                Some(&format!("done-{}", i)),
            )
            .unwrap();
    }
    sim.fault(json!({"mode": "status_503", "count": 3, "path": "/ordermanagement/"}));
    first
        .refund(&order_id, r#"{"refunded_amount": 10}"#, Some("open-1"))
        .unwrap_err();
    assert_eq!(journal_lines(&dir).len(), 1 + 4 + 3);
    drop(first);

    // Three closed records outnumber the open one: the next start compacts.
    let second = journal_client(&sim, &dir, json!({}));
    let lines = journal_lines(&dir);
    assert_eq!(lines.len(), 2, "{:?}", lines);
    assert_eq!(lines[0], "{\"klarna_pos_journal\":1}");
    let open: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(
        (open["op"].as_str(), open["idempotency_key"].as_str()),
        (Some("open"), Some("open-1"))
    );
    let pending = second.pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["idempotency_key"], "open-1");
}

#[test]
fn session_records_close_when_the_session_ends_or_its_create_is_refused() {
    let sim = Sim::start();
    let dir = scratch_dir("session-records");
    let client = journal_client(&sim, &dir, json!({}));
    let cancelled = client.create(&order()).unwrap();
    let failed = client.create(&order()).unwrap();
    assert_eq!(client.pending().unwrap().len(), 2);
    cancelled.cancel().unwrap();
    sim.act(&failed.id(), "fail", None);
    assert_eq!(failed.poll().unwrap(), KPOS_STATUS_FAILED);
    assert!(client.pending().unwrap().is_empty());

    sim.fault(json!({"mode": "bad_value", "path": "/payments/v1/sessions", "method": "POST"}));
    assert_eq!(
        client.create(&order()).unwrap_err().code,
        KPOS_E_BAD_REQUEST
    );
    assert!(
        client.pending().unwrap().is_empty(),
        "a refused create left no session"
    );

    // An invalid order is refused before anything is recorded.
    assert_eq!(client.create("{}").unwrap_err().code, KPOS_E_BAD_REQUEST);
    assert!(client.pending().unwrap().is_empty());
}

#[test]
fn a_create_whose_answer_never_came_is_listed_without_a_session_id() {
    let sim = Sim::start();
    let dir = scratch_dir("unanswered");
    let client = journal_client(&sim, &dir, json!({}));
    sim.fault(json!({"mode": "lose_answer", "path": "/payments/v1/sessions", "method": "POST"}));
    assert_eq!(client.create(&order()).unwrap_err().code, KPOS_E_NETWORK);
    assert_eq!(sim.stats()["sessions_created"], 1, "Klarna did create it");
    let pending = client.pending().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["session_id"], Value::Null);
    assert_eq!(pending[0]["result_url"], Value::Null);
    assert_eq!(pending[0]["order_amount"], 32400);
    assert_eq!(pending[0]["merchant_reference1"], "K042-1-000731");
}

#[test]
fn an_unusable_journal_fails_before_anything_is_sent() {
    let sim = Sim::start();
    let dir = scratch_dir("unusable");
    let file = dir.join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let mut cfg: Value = serde_json::from_str(&sim.config_json(json!({}))).unwrap();
    cfg["journal_dir"] = json!(file.to_str().unwrap());
    let f = Client::new(&cfg.to_string()).unwrap_err();
    assert_eq!(f.code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(f.detail["field"], "journal_dir");

    // The journal disappears under a running client: calls fail unsent.
    let journal = dir.join("journal");
    let client = journal_client(&sim, &journal, json!({}));
    std::fs::remove_dir_all(&journal).unwrap();
    std::fs::write(&journal, "x").unwrap();
    let f = client.create(&order()).unwrap_err();
    assert_eq!(f.code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(f.detail["field"], "journal_dir");
    let f = client
        .refund("o-1", r#"{"refunded_amount": 1}"#, None)
        .unwrap_err();
    assert_eq!(f.code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(sim.stats()["requests"], 0);
}

#[test]
fn pending_work_needs_a_journal() {
    let sim = Sim::start();
    let f = sim.client().pending().unwrap_err();
    assert_eq!(f.code, KPOS_E_INVALID_ARGUMENT);
}

#[test]
fn a_journal_of_a_newer_format_is_refused_rather_than_misread() {
    let sim = Sim::start();
    let dir = scratch_dir("newer");
    std::fs::write(dir.join(JOURNAL_FILE), "{\"klarna_pos_journal\":2}\n").unwrap();
    let mut cfg: Value = serde_json::from_str(&sim.config_json(json!({}))).unwrap();
    cfg["journal_dir"] = json!(dir.to_str().unwrap());
    let f = Client::new(&cfg.to_string()).unwrap_err();
    assert_eq!(f.code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(f.detail["field"], "journal_dir");
}
