//! The table of rules (`klarna_pos::core::order::rules::all`), tested at every boundary through
//! the C ABI against the simulator: for each rule, the value at the limit is accepted (a session
//! is created; a capture or refund reaches the simulator, which answers 404 for the unknown
//! order), and the value one past it is refused locally with the field's path while the
//! simulator's request counter stays where it was.

mod common;

use common::*;
use klarna_pos::core::order::rules::{self, Form, Limit, Rule, Scope, MAX_AMOUNT};
use klarna_pos::core::order::EMD_CONTENT_TYPE;
use serde_json::{json, Value};

const KPOS_E_BAD_REQUEST: u32 = 10;
const KPOS_E_NOT_FOUND: u32 = 13;

/// A one-line order with no tax: every probe changes one thing and keeps the rest consistent.
fn base_order() -> Value {
    json!({
        "purchase_country": "SE", "purchase_currency": "SEK", "locale": "sv-SE",
        "order_amount": 100, "order_tax_amount": 0,
        "order_lines": [{"type": "physical", "name": "Kaffe", "quantity": 1, "unit_price": 100,
                         "tax_rate": 0, "total_amount": 100, "total_tax_amount": 0}],
        "merchant_reference1": "LIMITS-1"
    })
}

fn line() -> Value {
    json!({"name": "Kaffe", "quantity": 1, "unit_price": 100, "tax_rate": 0,
           "total_amount": 100, "total_tax_amount": 0})
}

/// What a probe does to the rule's field.
#[derive(Debug, Clone)]
enum Probe {
    Set(Value),
    Absent,
}

/// The probes of a rule: (probe, accepted?).
fn probes(rule: &Rule) -> Vec<(Probe, bool)> {
    let set = |v: Value, ok: bool| (Probe::Set(v), ok);
    let text = |n: usize| Value::String("x".repeat(n));
    match rule.limit {
        Limit::Chars { min, max, .. } => {
            let mut p = vec![set(text(max), true), set(text(max + 1), false)];
            if min > 0 {
                p.push(set(text(min), true));
                p.push(set(text(min - 1), false));
            }
            p
        }
        Limit::Integer { min, max } => {
            let mut p = Vec::new();
            if let Some(min) = min {
                p.push(set(json!(min), true));
                p.push(set(json!(min - 1), false));
            }
            if let Some(max) = max {
                p.push(set(json!(max), true));
                p.push(set(json!(max + 1), false));
            }
            p
        }
        Limit::Items { min, max } => {
            let entry = if rule.key == "shipping_info" {
                json!({"shipping_method": "Home"})
            } else {
                line()
            };
            let items = |n: usize| Value::Array(vec![entry.clone(); n]);
            let mut p = vec![set(items(max), true), set(items(max + 1), false)];
            if min > 0 {
                p.push(set(items(min), true));
                p.push(set(items(min - 1), false));
            }
            p
        }
        Limit::OneOf(allowed) => {
            let mut p: Vec<_> = allowed.iter().map(|a| set(json!(a), true)).collect();
            p.push(set(json!("x_unlisted"), false));
            p
        }
        Limit::Form {
            example, counter, ..
        } => vec![set(json!(example), true), set(json!(counter), false)],
        Limit::ReadOnly => vec![(Probe::Absent, true), set(json!("x"), false)],
        Limit::Required => vec![set(json!(EMD_CONTENT_TYPE), true), (Probe::Absent, false)],
        Limit::Keys(known) => vec![
            set(json!({"method": "one_qr"}), true),
            set(json!({known[0]: "one_qr", "x_unlisted": 1}), false),
        ],
    }
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Session,
    Capture,
    Refund,
}

/// Makes the lines and the order's totals consistent again, as a till computes them: each
/// line's total from quantity, unit price and discount, its tax from its rate, the order's sums;
/// a compensating line keeps the order's amount from going negative. `keep` names the line field
/// under test, which is left as it is (its inputs are derived from it instead).
fn settle(lines: &mut [Value], keep: &str) {
    for l in lines.iter_mut() {
        let int = |l: &Value, k: &str| l.get(k).and_then(Value::as_i64).unwrap_or(0);
        match keep {
            "total_amount" => {
                let t = int(l, "total_amount");
                l["quantity"] = json!(t.unsigned_abs().min(i64::MAX as u64) as i64);
                l["unit_price"] = json!(if t < 0 { -1 } else { 1 });
            }
            "total_discount_amount" => {
                let d = int(l, "total_discount_amount");
                l["unit_price"] = json!(d.clamp(100, MAX_AMOUNT));
            }
            _ => {}
        }
        let total = i128::from(int(l, "quantity")) * i128::from(int(l, "unit_price"))
            - i128::from(int(l, "total_discount_amount"));
        if keep != "total_amount" {
            l["total_amount"] = json!(total.clamp(i64::MIN.into(), i64::MAX.into()) as i64);
        }
        let total = i128::from(int(l, "total_amount"));
        let rate = i128::from(int(l, "tax_rate"));
        if rate >= 0 {
            l["total_tax_amount"] = json!((total - total * 10_000 / (10_000 + rate)) as i64);
        }
    }
}

fn settle_order(order: &mut Value, keep: &str) {
    let lines = order["order_lines"].as_array_mut().unwrap();
    settle(lines, keep);
    let sum: i64 = lines
        .iter()
        .filter_map(|l| l["total_amount"].as_i64())
        .sum();
    if sum < 0 {
        let mut fix = line();
        fix["unit_price"] = json!(-sum);
        fix["total_amount"] = json!(-sum);
        lines.push(fix);
    }
    let sum: i64 = lines
        .iter()
        .filter_map(|l| l["total_amount"].as_i64())
        .sum();
    // In the US sales-tax model the order's tax is the sales_tax lines' amount.
    let sales_tax = lines.iter().any(|l| l["type"] == "sales_tax");
    let tax: i64 = lines
        .iter()
        .filter(|l| !sales_tax || l["type"] == "sales_tax")
        .filter_map(|l| {
            l[if sales_tax {
                "total_amount"
            } else {
                "total_tax_amount"
            }]
            .as_i64()
        })
        .sum();
    // Clamped, so that a line beyond the amount limit is what is refused.
    order["order_amount"] = json!(sum.min(MAX_AMOUNT));
    order["order_tax_amount"] = json!(tax);
}

fn put(obj: &mut Value, key: &str, probe: &Probe) {
    match probe {
        Probe::Set(v) => obj[key] = v.clone(),
        Probe::Absent => {
            obj.as_object_mut().unwrap().remove(key);
        }
    }
}

/// The request carrying the probe, and the path a refusal must name.
fn request(rule: &Rule, probe: &Probe, variant: &str) -> (Target, Value, String) {
    let key = rule.key;
    let path = rule.scope.example_path(key);
    match rule.scope {
        Scope::Order => {
            let mut o = base_order();
            put(&mut o, key, probe);
            match (key, probe) {
                ("order_amount", Probe::Set(v)) => {
                    let a = v.as_i64().unwrap();
                    o["order_lines"][0]["quantity"] = json!(a.max(0));
                    o["order_lines"][0]["unit_price"] = json!(1);
                    settle_order(&mut o, "");
                    o["order_amount"] = v.clone();
                }
                ("order_lines", _) => settle_order(&mut o, ""),
                _ => {}
            }
            (Target::Session, o, path)
        }
        Scope::OrderLine => {
            let mut o = base_order();
            put(&mut o["order_lines"][0], key, probe);
            settle_order(&mut o, key);
            (Target::Session, o, path)
        }
        Scope::Address => {
            let mut o = base_order();
            o[variant] = json!({});
            put(&mut o[variant], key, probe);
            (Target::Session, o, format!("{variant}.{key}"))
        }
        Scope::Customer | Scope::Options | Scope::MerchantUrls | Scope::Distribution => {
            let object = path.split('.').next().unwrap().to_string();
            let mut o = base_order();
            if key.is_empty() {
                // The object itself (its keys).
                put(&mut o, &object, probe);
                return (Target::Session, o, format!("{object}.x_unlisted"));
            }
            o[&object] = json!({});
            put(&mut o[&object], key, probe);
            (Target::Session, o, path)
        }
        Scope::Attachment => {
            let mut o = base_order();
            o["attachment"] = json!({"content_type": EMD_CONTENT_TYPE, "body": "{\"a\":1}"});
            put(&mut o["attachment"], key, probe);
            (Target::Session, o, path)
        }
        Scope::Capture | Scope::Refund => {
            let (target, amount) = if rule.scope == Scope::Capture {
                (Target::Capture, "captured_amount")
            } else {
                (Target::Refund, "refunded_amount")
            };
            let mut b = json!({amount: 100});
            put(&mut b, key, probe);
            (target, b, path)
        }
        Scope::ManagedLine => {
            let mut b = json!({"captured_amount": 100, "order_lines": [line()]});
            put(&mut b["order_lines"][0], key, probe);
            settle(b["order_lines"].as_array_mut().unwrap(), key);
            (Target::Capture, b, path)
        }
        Scope::ShippingInfo => {
            let mut b = json!({"captured_amount": 100, "shipping_info": [{}]});
            put(&mut b["shipping_info"][0], key, probe);
            (Target::Capture, b, path)
        }
    }
}

#[test]
fn every_rule_accepts_its_limit_and_refuses_one_past_it_before_any_request() {
    let sim = Sim::start();
    let client = sim.client();
    let table = rules::all();
    let mut wrong = Vec::new();
    let mut probes_run = 0;
    for rule in &table {
        let variants: &[&str] = if rule.scope == Scope::Address {
            &["billing_address", "shipping_address"]
        } else {
            &[""]
        };
        for variant in variants {
            for (probe, accepted) in probes(rule) {
                probes_run += 1;
                let (target, body, path) = request(rule, &probe, variant);
                let text = body.to_string();
                let before = sim.stat("requests");
                let result = match target {
                    Target::Session => client.create(&text).map(|_| ()),
                    Target::Capture => client.capture("NO-SUCH-ORDER", &text, None).map(|_| ()),
                    Target::Refund => client.refund("NO-SUCH-ORDER", &text, None).map(|_| ()),
                };
                let sent = sim.stat("requests") - before;
                let what = format!("{path} = {probe:?} ({target:?})");
                let what = if what.len() > 160 {
                    format!("{}...", &what[..160])
                } else {
                    what
                };
                match (accepted, target, result) {
                    (true, Target::Session, Ok(())) if sent == 1 => {}
                    (true, Target::Capture | Target::Refund, Err(f))
                        if f.code == KPOS_E_NOT_FOUND && f.detail["http_status"] == 404 => {}
                    (false, _, Err(f))
                        if f.code == KPOS_E_BAD_REQUEST
                            && f.detail["field"] == path.as_str()
                            && sent == 0 => {}
                    (_, _, result) => wrong.push(format!(
                        "{what}: want {}, got {:?} with {sent} request(s)",
                        if accepted {
                            "accepted"
                        } else {
                            "refused locally"
                        },
                        result.map_err(|f| f.detail)
                    )),
                }
            }
        }
    }
    eprintln!(
        "{} rules in the table, {probes_run} probes at and past their limits",
        table.len()
    );
    assert!(table.len() >= 70, "only {} rules", table.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The forms the table names accept what Klarna documents.
#[test]
fn forms_accept_klarnas_examples() {
    assert!(
        Form::Locale.accepts("sv-SE")
            && Form::Locale.accepts("en")
            && !Form::Locale.accepts("sv_SE")
    );
    assert!(Form::HexColor.accepts("#a0B1c2") && !Form::HexColor.accepts("#a0B1c"));
    assert!(Form::LastFourSsn.accepts("123456789") && !Form::LastFourSsn.accepts("12345678"));
    assert!(Form::ShortCode.accepts("01") && !Form::ShortCode.accepts("1"));
    assert!(Form::JsonObjectText.accepts("{}") && !Form::JsonObjectText.accepts("[]"));
}
