//! The C example tills (examples/c/refund.c, recover.c, day_report.c), compiled with gcc against the committed
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

/// A one-line order of `amount` minor units in SEK with `reference` as merchant_reference1.
fn sek_sale(amount: i64, reference: &str) -> String {
    json!({
        "purchase_country": "SE", "purchase_currency": "SEK",
        "order_amount": amount, "order_tax_amount": amount / 5,
        "order_lines": [{"type": "physical", "name": "Item", "quantity": 1, "unit_price": amount,
                         "tax_rate": 2500, "total_amount": amount, "total_tax_amount": amount / 5}],
        "merchant_reference1": reference,
    })
    .to_string()
}

#[test]
fn the_c_day_report_example_prints_the_cash_up_table() {
    let day_report = compile("day_report");
    let sim = Sim::start();
    let dir = scratch_dir("day-report-example");
    let mut cfg: Value = serde_json::from_str(&sim.config_json(json!({}))).unwrap();
    cfg["journal_dir"] = json!(dir.to_str().unwrap());
    let now = std::time::SystemTime::now();
    let hour = std::time::Duration::from_secs(3600);
    let from = klarna_pos::core::clock::rfc3339_utc(now - hour);
    let to = klarna_pos::core::clock::rfc3339_utc(now + hour);
    {
        let till = Client::new(&cfg.to_string()).unwrap();
        let mut orders = Vec::new();
        for (i, amount) in [12500, 1000, 250].into_iter().enumerate() {
            let s = till.create(&sek_sale(amount, &format!("day-{i}"))).unwrap();
            sim.act(&s.id(), "approve", None);
            assert_eq!(
                s.poll().unwrap(),
                klarna_pos::ffi::session::KPOS_STATUS_COMPLETED
            );
            orders.push(s.order_id().unwrap());
        }
        till.create(&sek_sale(500, "day-3"))
            .unwrap()
            .cancel()
            .unwrap();
        till.capture(&orders[0], r#"{"captured_amount": 12500}"#, None)
            .unwrap();
        till.refund(&orders[0], r#"{"refunded_amount": 1000}"#, None)
            .unwrap();
    }

    let (out, stdout) = run(&day_report, &sim, Some(&dir), &[&from, &to]);
    assert!(out.status.success(), "{}", stdout);
    let row = |outcome: &str, count: u32, amount: &str| {
        format!("{:<8} {:<20} {:>5} {:>15}", "SEK", outcome, count, amount)
    };
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("Klarna cash-up from {from} to {to}"));
    assert_eq!(
        &lines[2..8],
        &[
            row("paid", 3, "137.50").as_str(),
            row("cancelled", 1, "5.00").as_str(),
            row("captured", 1, "125.00").as_str(),
            row("refunded", 1, "10.00").as_str(),
            format!(
                "{:<8} {:<26} {:>15}",
                "SEK", "net (paid - refunded)", "127.50"
            )
            .as_str(),
            "items:",
        ],
        "{stdout}"
    );
    assert_eq!(lines.len(), 8 + 6, "six items: {stdout}");
    assert!(
        lines[8].contains(" paid 125.00 SEK ref=day-0 order="),
        "{stdout}"
    );

    let (out, stdout) = run(&day_report, &sim, Some(&dir), &["today", &to]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.starts_with("error=KPOS_E_INVALID_ARGUMENT") && stdout.contains("field=from"),
        "{stdout}"
    );
}
