//! The C examples, compiled with gcc against the committed header and run against the
//! simulator.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use serde_json::json;

#[test]
fn the_c_webhook_receiver_learns_the_payment_from_callbacks() {
    let bin = compile_c("examples/c/webhook_receiver.c", "webhook_receiver");
    let sim = Sim::start();
    let mut child = Command::new(bin)
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/orders/se_coffee.json"),
        )
        .args(["--timeout-ms", "30000"])
        .env("KLARNA_API_URL", &sim.url)
        .env("KLARNA_USERNAME", USER)
        .env("KLARNA_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut session_id = String::new();
    // Plays the customer as the till reports each step.
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("session_id=") {
            session_id = id.to_string();
        }
        match line.as_str() {
            "status=DISTRIBUTED" => {
                sim.act(&session_id, "scan", None);
            }
            "status=ACCESSED" => {
                sim.act(
                    &session_id,
                    "approve",
                    Some(json!({"order_id": "c-webhook"})),
                );
            }
            _ => {}
        }
        lines.push(line);
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert!(
        stderr.contains('\u{2588}') && stderr.lines().count() > 10,
        "the payment link drawn as a terminal QR code: {stderr}"
    );
    assert_eq!(status.code(), Some(0), "{lines:#?}");
    for expected in [
        "status=DISTRIBUTED",
        "display=Scan the QR code with your phone",
        "status=ACCESSED",
        "display=Payment in progress",
        "status=COMPLETED",
        "display=Payment is done",
        "order_id=c-webhook",
        "callback=DISTRIBUTED KPOS_OK",
        "callback=ACCESSED KPOS_OK",
        "callback=COMPLETED KPOS_OK",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "no {expected:?} in {lines:#?}"
        );
    }
    assert!(lines.iter().any(|l| l.starts_with("qr_url=")), "{lines:#?}");
    assert_eq!(
        sim.session(&session_id)["polls"],
        1,
        "the till polled only to confirm COMPLETED"
    );
}
