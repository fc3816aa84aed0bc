//! The store's day through the C ABI against the simulator: the history kept in `journal_dir`,
//! the end-of-day report, the lookup by merchant reference after a lost answer, and the
//! receipt lines.

mod common;

use std::ffi::c_char;
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::*;
use klarna_pos::core::clock::rfc3339_utc;
use klarna_pos::ffi::day::*;
use klarna_pos::ffi::error::*;
use klarna_pos::ffi::kpos_string_free;
use klarna_pos::ffi::session::*;
use serde_json::{json, Value};

fn journal_client(sim: &Sim, dir: &Path) -> Client {
    let mut cfg: Value = serde_json::from_str(&sim.config_json(json!({}))).unwrap();
    cfg["journal_dir"] = json!(dir.to_str().unwrap());
    Client::new(&cfg.to_string()).unwrap()
}

/// A one-line order of `amount` minor units (25 % tax) with `reference` as merchant_reference1.
fn sale(amount: i64, currency: &str, reference: &str) -> String {
    let country = if currency == "EUR" { "DE" } else { "SE" };
    json!({
        "purchase_country": country, "purchase_currency": currency,
        "order_amount": amount, "order_tax_amount": amount / 5,
        "order_lines": [{"type": "physical", "name": "Item", "quantity": 1, "unit_price": amount,
                         "tax_rate": 2500, "total_amount": amount, "total_tax_amount": amount / 5}],
        "merchant_reference1": reference, "merchant_reference2": "till-7",
    })
    .to_string()
}

fn take(code: u32, out: *mut c_char) -> Result<String, Failure> {
    if code != KPOS_OK {
        return Err(Failure {
            code,
            detail: last_error(),
        });
    }
    let s = owned(out).unwrap();
    unsafe { kpos_string_free(out) };
    Ok(s)
}

fn report_text(client: &Client, from: Option<&str>, to: Option<&str>) -> Result<String, Failure> {
    let (f, t) = (from.map(cstring), to.map(cstring));
    let ptr = |c: &Option<std::ffi::CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    let mut out = std::ptr::null_mut();
    let code = unsafe { kpos_history_report(client.0, ptr(&f), ptr(&t), &mut out) };
    take(code, out)
}

fn report(client: &Client, from: &str, to: &str) -> Value {
    serde_json::from_str(&report_text(client, Some(from), Some(to)).unwrap()).unwrap()
}

fn find(client: &Client, reference: &str) -> Result<Vec<Value>, Failure> {
    let r = cstring(reference);
    let mut out = std::ptr::null_mut();
    let code = unsafe { kpos_history_find(client.0, r.as_ptr(), &mut out) };
    take(code, out).map(|s| serde_json::from_str(&s).unwrap())
}

fn receipt(s: &Session, language: Option<&str>) -> Result<String, Failure> {
    let l = language.map(cstring);
    let mut out = std::ptr::null_mut();
    let code = unsafe {
        kpos_session_receipt_text(
            s.0,
            l.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            &mut out,
        )
    };
    take(code, out)
}

/// A bound one hour around now.
fn around_now() -> (String, String) {
    let now = SystemTime::now();
    (
        rfc3339_utc(now - Duration::from_secs(3600)),
        rfc3339_utc(now + Duration::from_secs(3600)),
    )
}

/// The totals of `currency` and `outcome` in a report: (count, amount).
fn total(report: &Value, currency: &str, outcome: &str) -> (i64, i64) {
    let row = report["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["currency"] == currency)
        .unwrap_or_else(|| panic!("no {currency} row in {report}"));
    (
        row[outcome]["count"].as_i64().unwrap(),
        row[outcome]["amount"].as_i64().unwrap(),
    )
}

/// Pays a new session as the customer would and returns it with its order id.
fn pay(sim: &Sim, client: &Client, order: &str) -> (Session, String) {
    let s = client.create(order).unwrap();
    sim.act(&s.id(), "approve", None);
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_COMPLETED);
    let order_id = s.order_id().unwrap();
    (s, order_id)
}

#[test]
fn a_day_of_twenty_payments_and_three_refunds_is_reported_exactly() {
    let sim = Sim::start();
    let dir = scratch_dir("day");
    let client = journal_client(&sim, &dir);
    let (from, to) = around_now();
    let mut paid = Vec::new();
    let (mut paid_sek, mut cancelled_sek, mut failed_sek, mut expired_sek) = (0, 0, 0, 0);
    for i in 0..20i64 {
        let amount = 1000 + 35 * i;
        let currency = if i % 10 == 9 { "EUR" } else { "SEK" };
        let order = sale(amount, currency, &format!("sale-{i}"));
        let s = client.create(&order).unwrap();
        let status = match i {
            3 | 11 | 15 => {
                s.cancel().unwrap();
                cancelled_sek += amount;
                KPOS_STATUS_CANCELED
            }
            5 | 13 => {
                sim.act(&s.id(), "fail", Some(json!({"code": "PAYMENT_DECLINED"})));
                failed_sek += amount;
                KPOS_STATUS_FAILED
            }
            17 => {
                sim.act(&s.id(), "expire", None);
                expired_sek += amount;
                KPOS_STATUS_EXPIRED
            }
            _ => {
                sim.act(&s.id(), "approve", None);
                if currency == "SEK" {
                    paid_sek += amount;
                }
                KPOS_STATUS_COMPLETED
            }
        };
        assert_eq!(s.poll().unwrap(), status, "sale-{i}");
        // Getters called again and again write nothing more.
        for _ in 0..3 {
            assert_eq!(s.poll().unwrap(), status);
            assert_eq!(s.wait(1000).unwrap(), status);
        }
        if status == KPOS_STATUS_COMPLETED {
            paid.push((s.order_id().unwrap(), amount, currency));
        }
    }
    // A session started today whose outcome is not known yet.
    let open = client.create(&sale(777, "SEK", "sale-open")).unwrap();
    // Three refunds (one in EUR), one capture, then one refund Klarna refuses.
    let refunds = [(0usize, 300i64), (1, 1000), (paid.len() - 1, 500)];
    for (n, (index, amount)) in refunds.iter().enumerate() {
        let (order_id, _, _) = &paid[*index];
        let body = json!({"refunded_amount": amount}).to_string();
        client
            .capture(
                order_id,
                &json!({"captured_amount": paid[*index].1}).to_string(),
                Some(&format!("cap-{n}")),
            )
            .unwrap();
        client
            .refund(order_id, &body, Some(&format!("ref-{n}")))
            .unwrap();
    }
    // A refund and a capture repeated with their idempotency keys (a till retrying after a
    // lost answer): Klarna answers with the same refund and capture, and the day counts each once.
    let (order_id, amount, _) = &paid[0];
    let first = client
        .refund(
            order_id,
            &json!({"refunded_amount": 300}).to_string(),
            Some("ref-0"),
        )
        .unwrap();
    client
        .capture(
            order_id,
            &json!({"captured_amount": amount}).to_string(),
            Some("cap-0"),
        )
        .unwrap();
    assert!(!first.is_empty());
    let over = json!({"refunded_amount": 100_000}).to_string();
    assert!(client.refund(&paid[2].0, &over, Some("too-much")).is_err());

    let r = report(&client, &from, &to);
    assert_eq!(r["unwritten"], 0);
    assert_eq!(r["from"], from.as_str());
    assert_eq!(total(&r, "SEK", "paid"), (12, paid_sek));
    assert_eq!(total(&r, "SEK", "cancelled"), (3, cancelled_sek));
    assert_eq!(total(&r, "SEK", "failed"), (2, failed_sek));
    assert_eq!(total(&r, "SEK", "expired"), (1, expired_sek));
    assert_eq!(total(&r, "SEK", "open"), (1, 777));
    assert_eq!(
        total(&r, "EUR", "paid"),
        (2, (1000 + 35 * 9) + (1000 + 35 * 19))
    );
    assert_eq!(total(&r, "EUR", "cancelled"), (0, 0));
    let (eur_refund_order, eur_amount, _) = &paid[paid.len() - 1];
    assert_eq!(total(&r, "EUR", "captured"), (1, *eur_amount));
    assert_eq!(total(&r, "EUR", "refunded"), (1, 500));
    assert_eq!(total(&r, "SEK", "captured"), (2, paid[0].1 + paid[1].1));
    assert_eq!(total(&r, "SEK", "refunded"), (2, 1300));
    assert_eq!(total(&r, "SEK", "refused"), (1, 100_000));
    assert_eq!(r["currencies"].as_array().unwrap().len(), 2);
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 20 + 1 + 3 + 3 + 1);
    let refund = items
        .iter()
        .find(|e| e["kind"] == "refund" && e["order_id"] == eur_refund_order.as_str())
        .unwrap();
    assert_eq!(refund["idempotency_key"], "ref-2");
    assert_eq!(refund["merchant_reference1"], "sale-19");
    assert!(refund["created_id"].is_string(), "{refund}");
    let failed = items.iter().find(|e| e["outcome"] == "failed").unwrap();
    assert_eq!(failed["failure_code"], "PAYMENT_DECLINED");
    assert_eq!(failed["status"], "FAILED");
    let first_paid = items.iter().find(|e| e["outcome"] == "paid").unwrap();
    assert_eq!(first_paid["order_id"], paid[0].0.as_str());
    assert_eq!(first_paid["merchant_reference2"], "till-7");
    // The report text is one currency row and one item per line.
    let text = report_text(&client, Some(&from), Some(&to)).unwrap();
    assert_eq!(text.lines().count(), 2 + 2 + 2 + items.len() + 1);

    // A range that ends before the day began is empty; one that starts after it is empty.
    let empty = report(&client, "2000-01-01T00:00:00Z", "2000-01-02T00:00:00+01:00");
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["currencies"], json!([]));
    drop(open);
}

#[test]
fn a_sale_whose_answer_was_lost_is_found_by_reference_from_a_new_client() {
    let sim = Sim::start();
    let dir = scratch_dir("lost");
    {
        let till = journal_client(&sim, &dir);
        // The create's answer never arrives: Klarna made the session, the till cannot know.
        sim.fault(
            json!({"mode": "lose_answer", "path": "/payments/v1/sessions",
                         "method": "POST", "count": 1}),
        );
        assert_eq!(
            till.create(&sale(4711, "SEK", "4711")).unwrap_err().code,
            KPOS_E_NETWORK
        );
        // The next sale is created, the customer pays, and the till dies before reading the
        // result: its handles are abandoned, nothing more is written.
        let s = till.create(&sale(4712, "SEK", "4712")).unwrap();
        sim.act(&s.id(), "approve", None);
        std::mem::forget(s);
        std::mem::forget(till);
    }
    // The restarted till, a new client on the same journal_dir.
    let client = journal_client(&sim, &dir);
    let lost = find(&client, "4711").unwrap();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0]["outcome"], "open");
    assert_eq!(lost[0]["session_id"], Value::Null);
    assert_eq!(lost[0]["amount"], 4711);
    let unread = find(&client, "4712").unwrap();
    assert_eq!(unread.len(), 1);
    assert_eq!(unread[0]["outcome"], "open");
    let session_id = unread[0]["session_id"].as_str().unwrap().to_string();
    // Found by merchant_reference2 too.
    assert_eq!(find(&client, "till-7").unwrap().len(), 2);
    assert_eq!(find(&client, "4713").unwrap(), Vec::<Value>::new());

    // Resuming the open session learns its outcome; the lookup then says it was paid.
    let pending = client.pending().unwrap();
    let result_url = pending
        .iter()
        .find(|p| p["session_id"] == session_id.as_str())
        .unwrap()["result_url"]
        .as_str()
        .unwrap()
        .to_string();
    let s = client.resume(&session_id, &result_url).unwrap();
    assert_eq!(s.poll().unwrap(), KPOS_STATUS_COMPLETED);
    let order_id = s.order_id().unwrap();
    // The resumed session knows its sale from the journal: it has a receipt.
    assert!(receipt(&s, Some("sv")).unwrap().contains("47,12 SEK"));
    let paid = find(&client, "4712").unwrap();
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(paid[0]["outcome"], "paid");
    assert_eq!(paid[0]["order_id"], order_id.as_str());
    // A refund on that order is found by the sale's reference as well.
    client
        .capture(&order_id, r#"{"captured_amount": 4712}"#, Some("c-4712"))
        .unwrap();
    client
        .refund(&order_id, r#"{"refunded_amount": 12}"#, Some("r-4712"))
        .unwrap();
    let all = find(&client, "4712").unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1]["outcome"], "captured");
    assert_eq!(all[2]["outcome"], "refunded");
    assert_eq!(all[2]["amount"], 12);
}

#[test]
fn a_receipt_has_at_most_42_characters_per_line_in_every_language() {
    let sim = Sim::start();
    let dir = scratch_dir("receipt");
    let client = journal_client(&sim, &dir);
    // The longest merchant reference Klarna takes, with characters of 2 and 3 bytes.
    let reference: String = "Köp-€-".repeat(50).chars().take(255).collect();
    let (s, order_id) = pay(&sim, &client, &sale(123_450, "SEK", &reference));
    let languages = [
        "en", "sv", "nb", "da", "fi", "de", "nl", "fr", "es", "it", "pl", "cs", "pt",
    ];
    let mut texts = std::collections::HashSet::new();
    for language in languages {
        let text = receipt(&s, Some(language)).unwrap();
        for line in text.lines() {
            assert!(
                line.chars().count() <= 42,
                "{language}: {line:?} is {} characters",
                line.chars().count()
            );
        }
        let joined: String = text.lines().collect();
        assert!(joined.contains(&order_id), "{language}: {text}");
        assert!(joined.contains(&reference), "{language}: {text}");
        assert!(text.contains("Klarna"), "{language}: {text}");
        let amount = if language == "en" {
            "1234.50 SEK"
        } else {
            "1234,50 SEK"
        };
        assert!(text.contains(amount), "{language}: {text}");
        texts.insert(text.lines().next().unwrap().to_string());
    }
    // Each language says "paid with Klarna" its own way (nb and da share their words).
    assert_eq!(texts.len(), languages.len() - 1);
    assert_eq!(
        receipt(&s, None).unwrap(),
        receipt(&s, Some("xx-YY")).unwrap()
    );
    assert!(receipt(&s, Some("de-AT"))
        .unwrap()
        .starts_with("Bezahlt mit Klarna"));

    // Not completed: no receipt.
    let waiting = client.create(&sale(500, "SEK", "R-2")).unwrap();
    let f = receipt(&waiting, Some("en")).unwrap_err();
    assert_eq!(f.code, KPOS_E_CONFLICT);
    waiting.cancel().unwrap();
    assert_eq!(
        receipt(&waiting, Some("en")).unwrap_err().code,
        KPOS_E_CONFLICT
    );
    // Bad arguments.
    let mut out = std::ptr::null_mut();
    let code = unsafe { kpos_session_receipt_text(std::ptr::null(), std::ptr::null(), &mut out) };
    assert_eq!(code, KPOS_E_INVALID_ARGUMENT);
    let code = unsafe { kpos_session_receipt_text(s.0, std::ptr::null(), std::ptr::null_mut()) };
    assert_eq!(code, KPOS_E_INVALID_ARGUMENT);
}

#[test]
fn compaction_of_the_journal_keeps_the_history() {
    let sim = Sim::start();
    let dir = scratch_dir("compaction");
    let (from, to) = around_now();
    let client = journal_client(&sim, &dir);
    for i in 0..3 {
        pay(&sim, &client, &sale(2000, "SEK", &format!("c-{i}")));
    }
    drop(client);
    // Opening the journal compacts it: the closed records are gone from it.
    let client = journal_client(&sim, &dir);
    let journal = std::fs::read_to_string(dir.join("klarna-pos.journal")).unwrap();
    assert_eq!(journal.lines().count(), 1, "{journal}");
    let r = report(&client, &from, &to);
    assert_eq!(total(&r, "SEK", "paid"), (3, 6000));
    assert_eq!(find(&client, "c-1").unwrap()[0]["outcome"], "paid");
}

#[test]
fn clients_appending_at_once_lose_no_line() {
    let sim = Sim::start();
    let dir = scratch_dir("concurrent");
    let (from, to) = around_now();
    std::thread::scope(|scope| {
        for t in 0..3 {
            let (sim, dir) = (&sim, &dir);
            scope.spawn(move || {
                let client = journal_client(sim, dir);
                for i in 0..6 {
                    pay(sim, &client, &sale(100 + t, "SEK", &format!("t{t}-{i}")));
                }
            });
        }
    });
    let client = journal_client(&sim, &dir);
    let r = report(&client, &from, &to);
    assert_eq!(total(&r, "SEK", "paid"), (18, 6 * (100 + 101 + 102)));
}

#[test]
fn a_history_that_cannot_be_written_does_not_fail_the_sale() {
    let sim = Sim::start();
    let dir = scratch_dir("unwritable");
    let (from, to) = around_now();
    let client = journal_client(&sim, &dir);
    // This month's file cannot be opened for writing (as on a full disk, the write fails).
    let month = &rfc3339_utc(SystemTime::now())[..7];
    let file = dir.join(format!("history-{month}.jsonl"));
    std::fs::create_dir(&file).unwrap();
    let (s, _) = pay(&sim, &client, &sale(900, "SEK", "u-1"));
    assert_eq!(s.status(), KPOS_STATUS_COMPLETED);
    assert!(s.failure().is_ok());
    let r = report(&client, &from, &to);
    assert_eq!(r["unwritten"], 1);
    assert_eq!(total(&r, "SEK", "paid"), (1, 900));
    // Writable again: the kept line is written before the next one.
    std::fs::remove_dir(&file).unwrap();
    pay(&sim, &client, &sale(100, "SEK", "u-2"));
    let r = report(&client, &from, &to);
    assert_eq!(r["unwritten"], 0);
    assert_eq!(total(&r, "SEK", "paid"), (2, 1000));
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        written.lines().count(),
        3,
        "header and two lines: {written}"
    );
}

#[test]
fn bad_bounds_and_references_are_refused_naming_the_argument() {
    let sim = Sim::start();
    let dir = scratch_dir("bounds");
    let client = journal_client(&sim, &dir);
    let ok = "2026-11-30T00:00:00Z";
    for (from, to, field) in [
        (None, Some(ok), "from"),
        (Some(ok), None, "to"),
        (Some("yesterday"), Some(ok), "from"),
        (Some("2026-11-30"), Some(ok), "from"),
        (Some(ok), Some("2026-11-31T00:00:00Z"), "to"),
        (Some(ok), Some("2026-12-01T00:00:00"), "to"),
        (Some(ok), Some(ok), "to"),
        (Some(ok), Some("2026-11-30T00:59:59+01:00"), "to"),
    ] {
        let f = report_text(&client, from, to).unwrap_err();
        assert_eq!(f.code, KPOS_E_INVALID_ARGUMENT, "{from:?} {to:?}");
        assert_eq!(f.detail["field"], field, "{from:?} {to:?}: {}", f.detail);
    }
    for bad in ["", &"r".repeat(256), "a\nb"] {
        let f = find(&client, bad).unwrap_err();
        assert_eq!(f.code, KPOS_E_INVALID_ARGUMENT);
        assert_eq!(f.detail["field"], "merchant_reference");
    }
    let mut out = std::ptr::null_mut();
    let code = unsafe { kpos_history_find(client.0, std::ptr::null(), &mut out) };
    assert_eq!(code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(last_error()["field"], "merchant_reference");
    let r = cstring(ok);
    let code =
        unsafe { kpos_history_report(client.0, r.as_ptr(), r.as_ptr(), std::ptr::null_mut()) };
    assert_eq!(code, KPOS_E_INVALID_ARGUMENT);
    assert_eq!(last_error()["field"], "report_json");
    // Without journal_dir there is no history.
    let plain = sim.client();
    assert_eq!(
        find(&plain, "4711").unwrap_err().code,
        KPOS_E_INVALID_ARGUMENT
    );
    let f = report_text(&plain, Some(ok), Some("2026-12-01T00:00:00Z")).unwrap_err();
    assert_eq!(f.code, KPOS_E_INVALID_ARGUMENT);
    assert!(f.detail["message"]
        .as_str()
        .unwrap()
        .contains("journal_dir"));
}

#[cfg(unix)]
#[test]
fn a_link_planted_as_the_history_is_neither_followed_nor_read() {
    let sim = Sim::start();
    let dir = scratch_dir("planted");
    let (from, to) = around_now();
    let client = journal_client(&sim, &dir);
    let victim = scratch_dir("victim").join("victim.txt");
    std::fs::write(&victim, "untouched\n").unwrap();
    let month = &rfc3339_utc(SystemTime::now())[..7];
    std::os::unix::fs::symlink(&victim, dir.join(format!("history-{month}.jsonl"))).unwrap();
    let (s, _) = pay(&sim, &client, &sale(300, "SEK", "p-1"));
    assert_eq!(s.status(), KPOS_STATUS_COMPLETED);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
    let r = report(&client, &from, &to);
    assert_eq!(r["unwritten"], 1, "the line waits in memory");
    assert_eq!(total(&r, "SEK", "paid"), (1, 300));
}
