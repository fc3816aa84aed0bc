//! The C example tills (examples/c/refund.c, recover.c), compiled with gcc against the committed
//! header exactly as a till developer would, and run against the simulator.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::{json, Value};

/// Compiles `examples/c/{name}.c` with the C till's flags.
fn compile(name: &str) -> PathBuf {
    compile_c(&format!("examples/c/{}.c", name), name)
}

fn run(program: &Path, sim: &Sim, journal: Option<&Path>, args: &[&str]) -> (Output, String) {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("KLARNA_API_URL", &sim.url)
        .env("KLARNA_USERNAME", USER)
        .env("KLARNA_PASSWORD", PASSWORD)
        .env_remove("KLARNA_JOURNAL_DIR");
    if let Some(dir) = journal {
        cmd.env("KLARNA_JOURNAL_DIR", dir);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    (out, stdout)
}

/// The value of `key=` on the line starting with `prefix`.
fn value_of<'a>(stdout: &'a str, prefix: &str, key: &str) -> Option<&'a str> {
    stdout
        .lines()
        .filter(|l| l.starts_with(prefix))
        .find_map(|l| {
            l.split(' ')
                .find_map(|w| w.strip_prefix(&format!("{}=", key)))
        })
}

#[test]
fn the_c_refund_example_returns_one_line_of_an_order_and_prints_the_refund_id() {
    let refund = compile("refund");
    let sim = Sim::start();
    sim.config(json!({"auto_capture": true}));
    let order_id = sim.paid_order(&sim.client());

    let (out, stdout) = run(&refund, &sim, None, &[&order_id, "1", "return-R1001"]);
    assert!(out.status.success(), "{}", stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "order_status=CAPTURED");
    assert_eq!(lines[1], "line=Kanelbulle refunded_amount=3500");
    let refund_id = lines[2].strip_prefix("refund_id=").unwrap();

    let ledger = sim.order(&order_id);
    assert_eq!(ledger["refunded_amount"], 3500);
    assert_eq!(ledger["refunds"][0]["refund_id"], refund_id);
    assert_eq!(
        ledger["refunds"][0]["order_lines"][0]["reference"],
        "BAK-KANEL"
    );

    // The same return again, with the same receipt key: Klarna refunds once.
    let (out, again) = run(&refund, &sim, None, &[&order_id, "1", "return-R1001"]);
    assert!(out.status.success(), "{}", again);
    assert_eq!(value_of(&again, "refund_id", "refund_id"), Some(refund_id));
    assert_eq!(sim.order(&order_id)["refunds"].as_array().unwrap().len(), 1);
}

#[test]
fn the_c_refund_example_reports_klarnas_refusal() {
    let refund = compile("refund");
    let sim = Sim::start();
    let order_id = sim.paid_order(&sim.client()); // authorized, nothing captured
    let (out, stdout) = run(&refund, &sim, None, &[&order_id, "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout);
    let error = stdout.lines().find(|l| l.starts_with("error=")).unwrap();
    assert!(error.starts_with("error=KPOS_E_CONFLICT "), "{}", error);
    assert!(error.contains("REFUND_NOT_ALLOWED"), "{}", error);
    assert!(!value_of(error, "error", "correlation_id")
        .unwrap()
        .is_empty());
}

#[test]
fn the_c_recover_example_finishes_what_a_till_left_open() {
    let recover = compile("recover");
    let sim = Sim::start();
    sim.config(json!({"auto_capture": true}));
    let order_id = sim.paid_order(&sim.client());
    let dir = scratch_dir("recover-example");
    let mut cfg: Value = serde_json::from_str(&sim.config_json(json!({}))).unwrap();
    cfg["journal_dir"] = json!(dir.to_str().unwrap());
    let session_id = {
        let till = Client::new(&cfg.to_string()).unwrap();
        // A session the till stopped following, a refund Klarna never answered, and a create
        // whose answer was lost.
        let s = till.create(&order()).unwrap();
        sim.fault(json!({"mode": "status_503", "count": 3, "path": "/ordermanagement/"}));
        till.refund(&order_id, r#"{"refunded_amount": 1000}"#, Some("ret-77"))
            .unwrap_err();
        sim.fault(
            json!({"mode": "lose_answer", "path": "/payments/v1/sessions", "method": "POST"}),
        );
        till.create(&order()).unwrap_err();
        s.id()
    };
    sim.config(json!({"customer": "auto", "auto_delay_ms": 0}));

    let (out, stdout) = run(&recover, &sim, Some(&dir), &["--wait-ms", "10000"]);
    assert!(out.status.success(), "{}", stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "pending=3", "{}", stdout);
    assert_eq!(
        value_of(&stdout, "session ", "session_id"),
        Some(session_id.as_str())
    );
    assert_eq!(value_of(&stdout, "session ", "status"), Some("COMPLETED"));
    assert!(
        value_of(&stdout, "session ", "order_id").is_some(),
        "{}",
        stdout
    );
    assert_eq!(
        value_of(&stdout, "refund ", "idempotency_key"),
        Some("ret-77")
    );
    assert_eq!(
        value_of(&stdout, "session_unanswered", "order_amount"),
        Some("32400")
    );
    assert_eq!(
        *lines.last().unwrap(),
        "remaining=1",
        "only the unanswered create: {}",
        stdout
    );

    let ledger = sim.order(&order_id);
    assert_eq!(ledger["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(
        ledger["refunds"][0]["refund_id"].as_str(),
        value_of(&stdout, "refund ", "refund_id")
    );
    assert_eq!(ledger["idempotency_keys"]["refunds"], json!(["ret-77"]));
}
