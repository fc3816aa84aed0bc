//! Property tests on stable Rust over the three parsers that take outside data: order
//! validation (`prepare_session_request`), client configuration (`Config::from_json`) and
//! distribution status payloads (`StatusPayload::parse`). None of them may panic on any input,
//! and their answers keep the invariants below. The same entry points have cargo-fuzz targets
//! in fuzz/ for nightly toolchains.

// The library's errors carry Klarna's whole detail; their size is fine on this rare path.
#![allow(clippy::result_large_err)]

use klarna_pos::core::config::Config;
use klarna_pos::core::order::prepare_session_request;
use klarna_pos::core::status::Status;
use klarna_pos::core::status::StatusPayload;
use klarna_pos::core::Code;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// One order line as a till computes it.
#[derive(Debug, Clone)]
struct Line {
    quantity: i64,
    unit_price: i64,
    discount: i64,
    tax_rate: i64,
}

fn line() -> impl Strategy<Value = Line> {
    (
        1i64..=20,
        0i64..=50_000,
        prop_oneof![Just(0i64), Just(600), Just(1200), Just(2500)],
    )
        .prop_flat_map(|(quantity, unit_price, tax_rate)| {
            (0..=quantity * unit_price).prop_map(move |discount| Line {
                quantity,
                unit_price,
                discount,
                tax_rate,
            })
        })
}

/// A valid Swedish order with these lines: totals and taxes computed as Klarna defines them.
fn order(lines: &[Line]) -> Value {
    let mut order_amount = 0;
    let mut order_tax_amount = 0;
    let lines: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let total = l.quantity * l.unit_price - l.discount;
            let tax = total - total * 10_000 / (10_000 + l.tax_rate);
            order_amount += total;
            order_tax_amount += tax;
            json!({"type": "physical", "reference": format!("SKU-{i}"), "name": format!("Article {i}"),
                   "quantity": l.quantity, "unit_price": l.unit_price,
                   "total_discount_amount": l.discount, "tax_rate": l.tax_rate,
                   "total_amount": total, "total_tax_amount": tax})
        })
        .collect();
    json!({"purchase_country": "SE", "purchase_currency": "SEK", "locale": "sv-SE",
           "order_amount": order_amount, "order_tax_amount": order_tax_amount,
           "order_lines": lines, "merchant_reference1": "P-1"})
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn prepare(v: &Value) -> Result<klarna_pos::core::order::SessionRequest, klarna_pos::core::Error> {
    prepare_session_request(&v.to_string(), false, None)
}

/// Every path to a value inside `v`, as JSON pointers.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| {
            let p = format!("{at}/{k}");
            out.push(p.clone());
            pointers(c, p, out);
        }),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| {
            let p = format!("{at}/{i}");
            out.push(p.clone());
            pointers(c, p, out);
        }),
        _ => {}
    }
}

const KNOWN_ORDER_KEYS: &[&str] = &[
    "purchase_country",
    "purchase_currency",
    "locale",
    "order_amount",
    "order_tax_amount",
    "order_lines",
    "merchant_reference1",
    "merchant_reference2",
    "acquiring_channel",
    "distribution",
    "attachment",
];

proptest! {
    // 256 cases per property; failures are printed with their minimal input, not persisted.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn valid_orders_are_accepted_with_their_amount(lines in prop::collection::vec(line(), 1..8)) {
        let o = order(&lines);
        let prepared = prepare(&o).unwrap();
        prop_assert_eq!(prepared.order_amount, o["order_amount"].as_i64().unwrap());
        prop_assert_eq!(prepared.purchase_currency, "SEK");
    }

    #[test]
    fn a_valid_order_stays_valid_with_an_unknown_field_which_is_passed_on(
        lines in prop::collection::vec(line(), 1..5),
        key in "x_[a-z]{1,10}",
        value in any_json(),
        in_line in any::<bool>(),
    ) {
        let mut o = order(&lines);
        if in_line {
            o["order_lines"][0][&key] = value.clone();
        } else {
            o[&key] = value.clone();
        }
        let prepared = prepare(&o).unwrap();
        let body: Value = serde_json::from_str(&prepared.body).unwrap();
        let sent = if in_line { &body["order_lines"][0][&key] } else { &body[&key] };
        prop_assert_eq!(sent, &value);
    }

    #[test]
    fn a_line_total_off_by_one_is_refused_naming_that_line(
        lines in prop::collection::vec(line(), 1..8),
        which in any::<prop::sample::Index>(),
        up in any::<bool>(),
    ) {
        let mut o = order(&lines);
        let i = which.index(lines.len());
        let total = o["order_lines"][i]["total_amount"].as_i64().unwrap();
        o["order_lines"][i]["total_amount"] = json!(if up { total + 1 } else { total - 1 });
        let e = prepare(&o).unwrap_err();
        prop_assert_eq!(e.code, Code::BadRequest);
        prop_assert_eq!(e.field, Some(format!("order_lines[{i}].total_amount")));
    }

    #[test]
    fn any_value_in_any_place_of_a_valid_order_is_answered_without_panicking(
        lines in prop::collection::vec(line(), 1..4),
        which in any::<prop::sample::Index>(),
        value in any_json(),
    ) {
        let mut o = order(&lines);
        let mut places = Vec::new();
        pointers(&o, String::new(), &mut places);
        let place = &places[which.index(places.len())];
        *o.pointer_mut(place).unwrap() = value;
        match prepare(&o) {
            Ok(p) => prop_assert!(!p.body.is_empty()),
            Err(e) => {
                prop_assert!(matches!(e.code, Code::BadRequest | Code::InvalidArgument), "{}", e);
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn any_json_or_text_as_an_order_is_answered_without_panicking(
        value in any_json(),
        text in "\\PC{0,64}",
    ) {
        for input in [value.to_string(), text] {
            if let Err(e) = prepare_session_request(&input, false, None) {
                prop_assert!(matches!(e.code, Code::BadRequest | Code::InvalidArgument), "{}", e);
                prop_assert!(!e.message.is_empty());
                if let Some(f) = &e.field {
                    let top = f.split(['.', '[']).next().unwrap();
                    prop_assert!(KNOWN_ORDER_KEYS.contains(&top), "{}", f);
                }
            }
        }
    }

    #[test]
    fn any_configuration_is_answered_without_panicking_and_names_a_key_it_refuses(
        entries in prop::collection::btree_map(
            prop_oneof![
                Just("api_url".to_string()), Just("username".to_string()),
                Just("password".to_string()), Just("request_timeout_ms".to_string()),
                Just("poll_interval_ms".to_string()), Just("max_retries".to_string()),
                Just("region".to_string()), Just("environment".to_string()),
                Just("allow_insecure_http".to_string()), Just("proxy".to_string()),
                Just("user_agent".to_string()), "[a-z_]{1,12}",
            ],
            any_json(),
            0..8,
        ),
    ) {
        let config = Value::Object(entries.into_iter().collect());
        if let Err(e) = Config::from_json(&config.to_string()) {
            prop_assert_eq!(e.code, Code::InvalidArgument);
            prop_assert!(!e.message.is_empty());
            if let Some(f) = &e.field {
                prop_assert!(config.get(f).is_some() || ["api_url", "username"].contains(&f.as_str()), "{}", f);
            }
        }
    }

    #[test]
    fn a_valid_configuration_with_an_unknown_key_is_refused_naming_it(
        key in "zz_[a-z]{1,10}",
        value in any_json(),
        timeout in 1u64..=600_000,
    ) {
        let mut config = json!({"api_url": "https://api.playground.klarna.com", "username": "u",
                                "password": "p", "request_timeout_ms": timeout});
        prop_assert!(Config::from_json(&config.to_string()).is_ok());
        config[&key] = value;
        let e = Config::from_json(&config.to_string()).unwrap_err();
        prop_assert_eq!(e.field, Some(key));
    }

    #[test]
    fn any_status_payload_is_read_without_panicking_and_failures_map_to_three_codes(
        payload in any_json(),
    ) {
        let text = serde_json::to_vec(&payload).unwrap();
        if let Some(p) = StatusPayload::parse(&StatusPayload::read(&text).unwrap()) {
            prop_assert_eq!(p.status, Status::from_klarna(&p.raw_status));
            prop_assert_eq!(p.failure.is_some(), p.status == Status::Failed);
            if let Some(f) = p.failure {
                prop_assert!(matches!(
                    f.code,
                    Code::BadRequest | Code::PermissionDenied | Code::Unknown
                ));
            }
        } else {
            prop_assert!(payload
                .get("status")
                .is_none_or(|s| s.as_str().is_none_or(str::is_empty)));
        }
    }

    #[test]
    fn known_statuses_are_read_in_any_case_with_any_extra_fields(
        which in 0usize..8,
        lower in any::<bool>(),
        extra in any_json(),
        error_code in prop_oneof![Just("BAD_REQUEST"), Just("PERMISSION_DENIED"), Just("UNKNOWN"), Just("NEW_CODE")],
    ) {
        let names = [
            ("WAITING", Status::Waiting),
            ("DISTRIBUTED", Status::Distributed),
            ("ACCESSED", Status::Accessed),
            ("COMPLETED", Status::Completed),
            ("CANCELED", Status::Canceled),
            ("CANCELLED", Status::Canceled),
            ("FAILED", Status::Failed),
            ("EXPIRED", Status::Expired),
        ];
        let (spelling, status) = names[which];
        let name = if lower { spelling.to_lowercase() } else { spelling.to_string() };
        let payload = json!({"status": name, "x_extra": extra, "error": {"code": error_code}});
        let text = serde_json::to_vec(&payload).unwrap();
        let p = StatusPayload::parse(&StatusPayload::read(&text).unwrap()).unwrap();
        prop_assert_eq!(p.status, status);
        if p.status == Status::Failed {
            let expected = match error_code {
                "BAD_REQUEST" => Code::BadRequest,
                "PERMISSION_DENIED" => Code::PermissionDenied,
                _ => Code::Unknown,
            };
            prop_assert_eq!(p.failure.unwrap().code, expected);
        }
    }
}
