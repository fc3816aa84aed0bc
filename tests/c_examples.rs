//! The C examples, compiled with gcc against the committed header and run against the
//! simulator.

mod common;

use std::process::Command;

use common::*;

#[test]
fn the_c_webhook_receiver_learns_the_payment_from_callbacks() {
    let bin = compile_c("examples/c/webhook_receiver.c", "webhook_receiver");
    let sim = Sim::start();
    let mut cmd = Command::new(bin);
    cmd.arg(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/orders/se_coffee.json"),
    )
    .args(["--timeout-ms", "30000"])
    .env("KLARNA_API_URL", &sim.url)
    .env("KLARNA_USERNAME", USER)
    .env("KLARNA_PASSWORD", PASSWORD);
    let (lines, code, stderr) = pay_with_till(cmd, &sim, "c-webhook");
    let session_id = lines
        .iter()
        .find_map(|l| l.strip_prefix("session_id="))
        .unwrap_or_default()
        .to_string();
    assert!(
        stderr.contains('\u{2588}') && stderr.lines().count() > 10,
        "the payment link drawn as a terminal QR code: {stderr}"
    );
    assert_eq!(code, Some(0), "{lines:#?}");
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
