//! Local validation of the till's order JSON before a session is created.
//!
//! Klarna rejects a bad order with a 400 naming one field. Checking the same rules here saves a
//! round trip, works offline, and names the field in a form the cashier's software can show:
//! `purchase_country`, `order_lines[1].total_tax_amount`, `distribution.short_code`. The limits
//! are in one table ([`rules`]); docs/validation.md lists them with their sources.
//!
//! Unreadable JSON and a top level that is not an object are caller mistakes
//! ([`Error::invalid_argument`]); everything else is [`Error::bad_field`] with the path of the
//! first offending field, found by checking in this fixed order:
//!
//! 1. top-level fields ([`top`]): read-only fields Klarna sets, `purchase_country`,
//!    `purchase_currency` (form, then that it is the country's currency), `locale`,
//!    `order_amount`, `order_tax_amount`, `merchant_reference1`, `merchant_reference2`,
//!    `merchant_data`, `intent`, `acquiring_channel`;
//! 2. `order_lines` ([`lines`]): the array, then each line's rules in order;
//! 3. `order_amount` against the sum of the lines, `order_tax_amount` against their tax (or, in
//!    the US sales-tax model, against the `sales_tax` lines);
//! 4. `billing_address`, `shipping_address`, `customer`, `options`, `merchant_urls`;
//! 5. `distribution` ([`top::check_distribution`]), then `attachment`.
//!
//! A JSON `null` counts as an absent field: tills written against other serialisers often emit
//! nulls for unset optional fields. An order above 1 MB of JSON (Klarna's limit) is refused
//! before it is parsed.
//!
//! The order is read in one pass as a borrowed view ([`raw`]): the lines are checked from the
//! till's text, never copied. The body sent is the till's text itself with only these top-level
//! changes, patched in where the fields are: `acquiring_channel` set to `in_store` (added at the
//! end when absent, normalised in place when given in another case), `distribution` added as
//! `{"method":"one_qr"}` or its missing `method` filled in (the older `qr` and `payment_link`
//! sent as `one_qr`), and an EMD `attachment.body` given as a JSON object serialised to a string
//! (with `content_type` filled in when missing). Unknown fields stay where they were, with their exact text, so a till can use
//! Klarna fields this library does not know. A key given twice (top level, or a checked field of
//! a line) is refused: Klarna might read the other one.

pub mod lines;
pub mod raw;
pub mod rules;
mod top;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::core::field::{self, Json};
use crate::core::{Code, Error, Result};

pub use rules::{MAX_AMOUNT, MAX_ORDER_LINES};

/// Klarna refuses request bodies above 1 MB (HTTP 413); larger orders are refused before any
/// parsing or sending.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Content type of Klarna's extra merchant data.
pub const EMD_CONTENT_TYPE: &str = "application/vnd.klarna.internal.emd-v2+json";

/// A session request ready to send: the JSON body with in-store defaults filled in, plus facts the
/// library needs for its own bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRequest {
    /// The JSON text to POST to `/payments/v1/sessions`.
    pub body: String,
    pub order_amount: i64,
    /// Upper-cased; the body keeps the till's spelling.
    pub purchase_currency: String,
    pub merchant_reference1: Option<String>,
    pub merchant_reference2: Option<String>,
    /// `distribution.short_code`, if given (static-QR flow).
    pub short_code: Option<String>,
    /// `distribution.callback_urls.status_update`, if given.
    pub webhook_url: Option<String>,
}

/// Validates the till's order JSON and turns it into the body of a session creation.
///
/// `allow_insecure_http` lets the webhook URL use plain `http://` to hosts other than loopback.
/// `callback_url`, the library's own webhook URL for this session, becomes
/// `distribution.callback_urls.status_update`; an order that sets that field itself is then
/// refused, because a session has one callback URL and the library could not verify the
/// order's.
pub fn prepare_session_request(
    order_json: &str,
    allow_insecure_http: bool,
    callback_url: Option<&str>,
) -> Result<SessionRequest> {
    if order_json.len() > MAX_BODY_BYTES {
        return Err(too_large(order_json.len()));
    }
    let order = read(order_json, "order", raw::order)?;
    let facts = top::validate(&order, allow_insecure_http)?;
    if callback_url.is_some() && facts.webhook_url.is_some() {
        return Err(Error::bad_field(
            "distribution.callback_urls.status_update",
            "is set by the library from the client's webhook_url; leave it out of the order, or \
             configure no webhook_url to handle callbacks without the library",
        ));
    }
    let body = build_body(order_json, &order, callback_url)?;
    if body.len() > MAX_BODY_BYTES {
        return Err(too_large(body.len()));
    }
    Ok(SessionRequest {
        body,
        order_amount: facts.order_amount,
        purchase_currency: facts.purchase_currency,
        merchant_reference1: facts.merchant_reference1,
        merchant_reference2: facts.merchant_reference2,
        short_code: facts.short_code,
        webhook_url: facts.webhook_url,
    })
}

/// The top-level fields of a request object, in the caller's order, as raw JSON. `what` names
/// the request in messages ("order", "request").
pub(crate) fn read_object<'a>(json: &'a str, what: &str) -> Result<raw::RawFields<'a>> {
    read(json, what, raw::object)
}

fn read<'a>(
    json: &'a str,
    what: &str,
    reader: fn(&'a str) -> serde_json::Result<raw::RawObject<'a>>,
) -> Result<raw::RawFields<'a>> {
    // serde_json's recursion limit (128) turns absurdly deep nesting into an error instead of a
    // stack overflow.
    match reader(json) {
        Ok(raw::RawObject::Object(fields)) => Ok(fields),
        Ok(raw::RawObject::NotObject(_)) => match serde_json::from_str::<Value>(json) {
            Ok(v) => Err(Error::invalid_argument(format!(
                "{what} JSON must be an object ({{...}}), not {}",
                v.describe()
            ))),
            Err(e) => Err(Error::invalid_argument(format!(
                "{what} JSON is unreadable: {e}"
            ))),
        },
        Err(e) => Err(Error::invalid_argument(format!(
            "{what} JSON is unreadable: {e}"
        ))),
    }
}

fn too_large(bytes: usize) -> Error {
    Error::new(
        Code::BadRequest,
        format!("the order is {bytes} bytes of JSON; Klarna accepts at most {MAX_BODY_BYTES}"),
    )
}

/// The body to send: the till's text itself, with the in-store changes to top-level fields
/// (module doc) patched in where those fields are and the missing ones added at the end.
fn build_body(
    json: &str,
    order: &raw::RawFields<'_>,
    callback_url: Option<&str>,
) -> Result<String> {
    let internal = || Error::new(Code::Internal, "the order's text could not be patched");
    // Where a value lies in the till's text: the raw values point into it.
    let span = |v: &RawValue| {
        let start = (v.get().as_ptr() as usize).checked_sub(json.as_ptr() as usize)?;
        (start + v.get().len() <= json.len()).then_some((start, v.get().len()))
    };
    let mut patches: Vec<(usize, usize, String)> = Vec::new();
    let mut has_channel = false;
    let mut has_distribution = false;
    for (key, value) in &order.fields {
        let text = match key.0.as_ref() {
            "acquiring_channel" => {
                has_channel = true;
                "\"in_store\"".to_string()
            }
            "distribution" => {
                has_distribution = true;
                distribution(Some(value), callback_url)?
            }
            "attachment" => match attachment(value)? {
                Some(text) => text,
                None => continue,
            },
            _ => continue,
        };
        let (start, len) = span(value).ok_or_else(internal)?;
        patches.push((start, len, text));
    }
    patches.sort_by_key(|p| p.0);

    let mut out = String::with_capacity(json.len() + 128);
    let mut at = 0;
    for (start, len, text) in patches {
        out.push_str(json.get(at..start).ok_or_else(internal)?);
        out.push_str(&text);
        at = start + len;
    }
    // The object's closing brace is the text's last character but white space.
    let close = json.trim_end().len().checked_sub(1).ok_or_else(internal)?;
    out.push_str(json.get(at..close).ok_or_else(internal)?);
    let mut empty = order.fields.is_empty() && order.lines.is_none();
    let mut append = |out: &mut String, key: &str, value: &str| {
        if !empty {
            out.push(',');
        }
        empty = false;
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        out.push_str(value);
    };
    if !has_channel {
        append(&mut out, "acquiring_channel", "\"in_store\"");
    }
    if !has_distribution {
        append(&mut out, "distribution", &distribution(None, callback_url)?);
    }
    out.push_str(json.get(close..).ok_or_else(internal)?);
    Ok(out)
}

fn to_json(v: &Value) -> Result<String> {
    serde_json::to_string(v).map_err(|e| {
        Error::new(
            Code::Internal,
            format!("order could not be serialised: {e}"),
        )
    })
}

/// `distribution` as sent: `method` filled in or renamed to `one_qr`, the library's callback URL
/// put into `callback_urls.status_update` (other callback URLs kept).
fn distribution(given: Option<&RawValue>, callback_url: Option<&str>) -> Result<String> {
    let mut d = match field::present(given).map(|v| serde_json::from_str::<Value>(v.get())) {
        Some(Ok(Value::Object(d))) => d,
        _ => Map::new(),
    };
    let method_given = field::optional(&d, "method").is_some();
    if !method_given || d.get("method").and_then(Value::as_str) != Some("one_qr") {
        // Inserting an existing key keeps its place (preserve_order).
        d.insert("method".into(), Value::String("one_qr".into()));
    }
    if let Some(url) = callback_url {
        let callbacks = d
            .entry("callback_urls")
            .or_insert_with(|| Value::Object(Map::new()));
        if !callbacks.is_object() {
            *callbacks = Value::Object(Map::new());
        }
        if let Value::Object(c) = callbacks {
            c.insert("status_update".into(), Value::String(url.into()));
        }
    }
    to_json(&Value::Object(d))
}

/// `attachment` as sent when it changes: an EMD body given as an object serialised to a string,
/// with the EMD content type when none was given. `None`: sent as the till wrote it.
fn attachment(given: &RawValue) -> Result<Option<String>> {
    let Ok(Value::Object(mut a)) = serde_json::from_str::<Value>(given.get()) else {
        return Ok(None);
    };
    let Some(body @ Value::Object(_)) = a.get("body") else {
        return Ok(None);
    };
    let text = to_json(body)?;
    a.insert("body".into(), Value::String(text));
    if field::optional(&a, "content_type").is_none() {
        a.insert(
            "content_type".into(),
            Value::String(EMD_CONTENT_TYPE.into()),
        );
    }
    to_json(&Value::Object(a)).map(Some)
}

/// An optional amount as shown in messages.
fn stated(v: Option<i64>) -> String {
    match v {
        Some(v) => v.to_string(),
        None => "absent (0)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Code;

    const INVALID_ORDERS: &str = include_str!("../../../tests/data/invalid_orders.json");
    const SE_VAT_DISCOUNT: &str =
        include_str!("../../../tests/data/valid_orders/se_vat_discount.json");
    const GB: &str = include_str!("../../../tests/data/valid_orders/gb.json");
    const US_SALES_TAX: &str = include_str!("../../../tests/data/valid_orders/us_sales_tax.json");
    const DE_EMD: &str = include_str!("../../../tests/data/valid_orders/de_emd.json");
    const SE_COFFEE: &str = include_str!("../../../examples/orders/se_coffee.json");

    fn parse(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text) {
            Ok(Value::Object(m)) => m,
            other => panic!("test data is not a JSON object: {other:?}"),
        }
    }

    fn prepare(order: &Map<String, Value>) -> Result<SessionRequest> {
        prepare_session_request(&serde_json::to_string(order).unwrap(), false, None)
    }

    fn keys(m: &Map<String, Value>) -> Vec<&str> {
        m.keys().map(String::as_str).collect()
    }

    /// The sum of the lines' total_amount, as a session's lines are checked.
    fn validate_order_lines(lines: &Value, path: &str) -> Result<i64> {
        let text = serde_json::to_string(lines).unwrap();
        if path == "order_lines" {
            let order = format!("{{\"order_lines\": {text}}}");
            let raw::RawObject::Object(fields) = raw::order(&order).unwrap() else {
                panic!("not an object")
            };
            lines::check_order_lines(fields.lines.as_ref()).map(|s| s.total_amount)
        } else {
            let raw: Box<RawValue> = serde_json::from_str(&text).unwrap();
            lines::check_managed_lines(&raw, path).map(|s| s.total_amount)
        }
    }

    fn field_of(order: &Map<String, Value>) -> Option<String> {
        let e = prepare(order).expect_err("order should be refused");
        assert_eq!(e.code, Code::BadRequest, "{e}");
        e.field
    }

    #[test]
    fn every_invalid_order_names_its_field() {
        let cases: Vec<Value> = serde_json::from_str(INVALID_ORDERS).unwrap();
        assert!(cases.len() >= 36, "only {} cases", cases.len());
        let mut names = std::collections::HashSet::new();
        for case in &cases {
            let name = case["name"].as_str().expect("case name");
            assert!(names.insert(name), "duplicate case {name}");
            let expected = case["field"].as_str().expect("case field");
            let order = case["order"].as_object().expect("case order");
            let e = prepare(order).expect_err(name);
            assert_eq!(e.code, Code::BadRequest, "{name}: {e}");
            assert_eq!(e.field.as_deref(), Some(expected), "{name}: {e}");
            assert!(e.message.starts_with(expected), "{name}: {e}");
        }
    }

    #[test]
    fn valid_orders_pass_with_defaults_appended() {
        for (name, text) in [
            ("se_vat_discount", SE_VAT_DISCOUNT),
            ("gb", GB),
            ("us_sales_tax", US_SALES_TAX),
            ("se_coffee", SE_COFFEE),
        ] {
            let input = parse(text);
            let req = prepare_session_request(text, false, None)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut expected = input.clone();
            expected.insert("acquiring_channel".into(), "in_store".into());
            expected.insert(
                "distribution".into(),
                serde_json::json!({"method": "one_qr"}),
            );
            // The same fields in the same order; the lines are the till's own text.
            let body = parse(&req.body);
            assert_eq!(keys(&body), keys(&expected), "{name}");
            assert_eq!(Value::Object(body), Value::Object(expected), "{name}");
            let lines_text = |t: &str| {
                let start = t.find("\"order_lines\":").unwrap();
                let end = t[start..].find(']').unwrap() + start;
                t[start..end].replace(": [", ":[")
            };
            assert_eq!(lines_text(&req.body), lines_text(text), "{name}");
            assert_eq!(req.order_amount, input["order_amount"].as_i64().unwrap());
            assert_eq!(
                req.purchase_currency,
                input["purchase_currency"].as_str().unwrap()
            );
            assert_eq!(
                req.merchant_reference1.as_deref(),
                input["merchant_reference1"].as_str()
            );
            assert_eq!(req.short_code, None);
            assert_eq!(req.webhook_url, None);
        }
    }

    #[test]
    fn emd_object_body_is_serialised_and_unknown_fields_stay_in_place() {
        let input = parse(DE_EMD);
        let req = prepare_session_request(DE_EMD, false, None).unwrap();
        let body = parse(&req.body);
        let mut expected_keys = keys(&input);
        expected_keys.extend(["acquiring_channel", "distribution"]);
        assert_eq!(keys(&body), expected_keys);
        assert_eq!(body["x_till_extension"], serde_json::json!({"keep": true}));
        assert_eq!(body["billing_address"], input["billing_address"]);
        let emd = body["attachment"].as_object().unwrap();
        assert_eq!(emd["content_type"], EMD_CONTENT_TYPE);
        assert_eq!(
            emd["body"].as_str().unwrap(),
            serde_json::to_string(&input["attachment"]["body"]).unwrap()
        );
    }

    #[test]
    fn emd_string_body_is_sent_unchanged_and_needs_its_content_type() {
        let mut order = parse(DE_EMD);
        let text =
            "{ \"customer_account_info\" : [ {\"unique_account_identifier\":\"ü-\\u00e9 42\"} ] }";
        order["attachment"] = serde_json::json!({"content_type": EMD_CONTENT_TYPE, "body": text});
        let body = parse(&prepare(&order).unwrap().body);
        assert_eq!(body["attachment"]["body"].as_str(), Some(text));
        assert_eq!(body["attachment"]["content_type"], EMD_CONTENT_TYPE);

        // Klarna requires the content type; with a string body the library cannot assume it.
        order["attachment"] = serde_json::json!({"body": text});
        assert_eq!(field_of(&order).as_deref(), Some("attachment.content_type"));
        // The body is a JSON object, given as one or serialised to a string.
        for body in [
            serde_json::json!([1, {"a": 2}]),
            serde_json::json!("[1]"),
            serde_json::json!("{"),
        ] {
            order["attachment"] = serde_json::json!({"content_type": "text/plain", "body": body});
            assert_eq!(
                field_of(&order).as_deref(),
                Some("attachment.body"),
                "{body}"
            );
        }
    }

    #[test]
    fn the_tills_text_is_passed_on_exactly() {
        // Decimal digits, exponents, escapes and key order in unknown fields, top level and in
        // lines, reach Klarna as the till wrote them; a repeated key keeps its first place and
        // its last value.
        let order = GB.replacen(
            "\"order_lines\"",
            "\"x_rate\": 1.10, \"x_big\": 12345678901234567890123, \"x_\\u00e9\": \"\\u00e9\", \
             \"order_lines\"",
            1,
        );
        let order = order.replacen(
            "\"name\"",
            "\"x_weight\": 0.30000000000000004e0, \"x_list\": [1.0, 2e3], \"name\"",
            1,
        );
        let body = prepare_session_request(&order, false, None).unwrap().body;
        for text in [
            "\"x_rate\": 1.10",
            "\"x_big\": 12345678901234567890123",
            "\"x_\\u00e9\": \"\\u00e9\"",
            "\"x_weight\": 0.30000000000000004e0",
            "\"x_list\": [1.0, 2e3]",
        ] {
            assert!(body.contains(text), "{text} not in {body}");
        }
        // A key given twice is refused: readers differ on which one they take.
        let twice = r#"{"purchase_country": "XX", "locale": "sv-SE", "purchase_country": "SE"}"#;
        let e = prepare_session_request(twice, false, None).unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument);
        assert!(
            e.message.contains("\"purchase_country\" is given twice"),
            "{e}"
        );
        let twice = GB.replacen("\"name\"", "\"name\": \"A\", \"name\"", 1);
        let e = prepare_session_request(&twice, false, None).unwrap_err();
        assert_eq!(e.code, Code::InvalidArgument);
        assert!(e.message.contains("\"name\" twice"), "{e}");
    }

    #[test]
    fn channel_is_normalised_in_place() {
        let mut order = parse(GB);
        order.insert("acquiring_channel".into(), "IN_STORE".into());
        order.insert("x_after".into(), 1.into());
        let body = parse(&prepare(&order).unwrap().body);
        assert_eq!(body["acquiring_channel"], "in_store");
        let mut expected_keys = keys(&order);
        expected_keys.push("distribution");
        assert_eq!(keys(&body), expected_keys);
    }

    #[test]
    fn distribution_method_is_filled_and_facts_are_returned() {
        let mut order = parse(SE_VAT_DISCOUNT);
        order.insert(
            "distribution".into(),
            serde_json::json!({
                "short_code": "0042",
                "callback_urls": {"status_update": "https://pos.example/kl?id=1&s=x"},
            }),
        );
        let req = prepare(&order).unwrap();
        assert_eq!(req.short_code.as_deref(), Some("0042"));
        assert_eq!(
            req.webhook_url.as_deref(),
            Some("https://pos.example/kl?id=1&s=x")
        );
        let body = parse(&req.body);
        let d = body["distribution"].as_object().unwrap();
        assert_eq!(keys(d), ["short_code", "callback_urls", "method"]);
        assert_eq!(d["method"], "one_qr");

        // The older methods are sent as one_qr, in place: its status gives both a QR code and
        // a payment link.
        for older in ["qr", "payment_link"] {
            order["distribution"] = serde_json::json!({"method": older, "short_code": "12"});
            let body = parse(&prepare(&order).unwrap().body);
            assert_eq!(
                body["distribution"],
                serde_json::json!({"method": "one_qr", "short_code": "12"})
            );
        }
        for bad in ["ONE_QR", "sms", ""] {
            order["distribution"] = serde_json::json!({"method": bad});
            assert_eq!(field_of(&order).as_deref(), Some("distribution.method"));
        }

        // Keys Klarna does not document are refused, with their path.
        order["distribution"] = serde_json::json!({"method": "one_qr", "x_unknown": [true]});
        assert_eq!(field_of(&order).as_deref(), Some("distribution.x_unknown"));
        order["distribution"] =
            serde_json::json!({"callback_urls": {"status_update": "https://pos.example/", "x": 1}});
        assert_eq!(
            field_of(&order).as_deref(),
            Some("distribution.callback_urls.x")
        );
    }

    #[test]
    fn the_librarys_callback_url_is_added_and_an_order_may_not_set_its_own_too() {
        let url = "https://till.example/hook?kpos_ref=1&kpos_token=2";
        let text = serde_json::to_string(&parse(GB)).unwrap();
        let body = parse(
            &prepare_session_request(&text, false, Some(url))
                .unwrap()
                .body,
        );
        assert_eq!(
            body["distribution"],
            serde_json::json!({"method": "one_qr", "callback_urls": {"status_update": url}})
        );

        let mut order = parse(GB);
        order.insert(
            "distribution".into(),
            serde_json::json!({"callback_urls": {"status_update": "https://pos.example/own"}}),
        );
        let text = serde_json::to_string(&order).unwrap();
        let e = prepare_session_request(&text, false, Some(url)).unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("distribution.callback_urls.status_update")
        );
        assert!(!e.message.contains("kpos_token"), "{}", e.message);
    }

    #[test]
    fn webhook_over_plain_http_needs_loopback_or_opt_in() {
        let mut order = parse(GB);
        order.insert(
            "distribution".into(),
            serde_json::json!({"callback_urls": {"status_update": "http://10.1.2.3/hook"}}),
        );
        assert_eq!(
            field_of(&order).as_deref(),
            Some("distribution.callback_urls.status_update")
        );
        let text = serde_json::to_string(&order).unwrap();
        assert!(prepare_session_request(&text, true, None).is_ok());
        order["distribution"]["callback_urls"]["status_update"] = "http://127.0.0.1:9/hook".into();
        assert!(prepare(&order).is_ok());
    }

    #[test]
    fn unreadable_input_is_an_invalid_argument() {
        let deep_array = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let deep_object = "{\"a\":".repeat(100_000);
        for text in [
            "",
            "not json",
            "{\"purchase_country\": \"SE\",}",
            "{} trailing",
            "[]",
            "[{\"purchase_country\": \"SE\"}]",
            "\"order\"",
            "null",
            "42",
            &deep_array,
            &deep_object,
        ] {
            let e = prepare_session_request(text, false, None).unwrap_err();
            assert_eq!(e.code, Code::InvalidArgument, "{e}");
            assert_eq!(e.field, None);
        }
        let e = prepare_session_request("{\n  \"a\": 1,\n  \"b\": x\n}", false, None).unwrap_err();
        assert!(e.message.contains("line 3 column 8"), "{}", e.message);
        let e = prepare_session_request(&deep_array, false, None).unwrap_err();
        assert!(e.message.contains("recursion limit"), "{}", e.message);
    }

    #[test]
    fn case_and_forward_compatibility() {
        let mut order = parse(SE_COFFEE);
        order.insert("purchase_country".into(), "se".into());
        order.insert("purchase_currency".into(), "sek".into());
        order.insert("locale".into(), "SV-se".into());
        let req = prepare(&order).unwrap();
        assert_eq!(req.purchase_currency, "SEK");
        // The till's spelling is what is sent.
        assert_eq!(parse(&req.body)["purchase_currency"], "sek");

        // A market missing from the table is Klarna's to judge.
        order.insert("purchase_country".into(), "JP".into());
        order.insert("purchase_currency".into(), "JPY".into());
        assert!(prepare(&order).is_ok());
    }

    #[test]
    fn null_counts_as_absent() {
        let mut order = parse(GB);
        for key in [
            "locale",
            "merchant_reference1",
            "acquiring_channel",
            "distribution",
            "attachment",
        ] {
            order.insert(key.into(), Value::Null);
        }
        order["order_lines"][0]["type"] = Value::Null;
        let req = prepare(&order).unwrap();
        let body = parse(&req.body);
        assert_eq!(body["acquiring_channel"], "in_store");
        assert_eq!(
            body["distribution"],
            serde_json::json!({"method": "one_qr"})
        );
        assert_eq!(body["attachment"], Value::Null);
        assert_eq!(req.merchant_reference1, None);

        order.insert("order_amount".into(), Value::Null);
        assert_eq!(field_of(&order).as_deref(), Some("order_amount"));
    }

    #[test]
    fn tax_tolerance_is_one_per_line_and_one_per_order_line_count() {
        let order = parse(SE_COFFEE);
        // Line 0: 9000 at 12 % contains 9000 - 9000*10000/11200 = 965 of tax.
        for (t, ok) in [(964, true), (966, true), (963, false), (967, false)] {
            let mut o = order.clone();
            o["order_lines"][0]["total_tax_amount"] = t.into();
            let tax: i64 = (0..3)
                .map(|i| o["order_lines"][i]["total_tax_amount"].as_i64().unwrap())
                .sum();
            o["order_tax_amount"] = tax.into();
            assert_eq!(prepare(&o).is_ok(), ok, "tax {t}");
        }
        let stated = order["order_tax_amount"].as_i64().unwrap();
        for (delta, ok) in [(3, true), (-3, true), (4, false), (-4, false)] {
            let mut o = order.clone();
            o["order_tax_amount"] = (stated + delta).into();
            assert_eq!(prepare(&o).is_ok(), ok, "delta {delta}");
        }
    }

    #[test]
    fn sales_tax_model_rules() {
        let order = parse(US_SALES_TAX);
        let mut o = order.clone();
        o["order_lines"][0]["total_tax_amount"] = 5.into();
        assert_eq!(
            field_of(&o).as_deref(),
            Some("order_lines[0].total_tax_amount")
        );

        // Explicit zeros are the same as no tax.
        let mut o = order.clone();
        o["order_lines"][0]["tax_rate"] = 0.into();
        o["order_lines"][0]["total_tax_amount"] = 0.into();
        assert!(prepare(&o).is_ok());

        let mut o = order.clone();
        o.remove("order_tax_amount");
        assert_eq!(field_of(&o).as_deref(), Some("order_tax_amount"));
    }

    #[test]
    fn line_arithmetic_uses_wide_integers() {
        let mut order = parse(GB);
        order["order_lines"][0]["quantity"] = i64::MAX.into();
        order["order_lines"][0]["unit_price"] = (-MAX_AMOUNT).into();
        assert_eq!(
            field_of(&order).as_deref(),
            Some("order_lines[0].total_amount")
        );

        // A whole line of free items is fine however many there are.
        let mut order = parse(GB);
        order["order_lines"][2]["quantity"] = i64::MAX.into();
        order["order_lines"][2]["unit_price"] = 0.into();
        order["order_lines"][2]["total_amount"] = 0.into();
        order["order_lines"][2]["total_tax_amount"] = 0.into();
        let lines = order["order_lines"].clone();
        let sum = validate_order_lines(&lines, "order_lines").unwrap();
        order["order_amount"] = sum.into();
        let tax: i64 = (0..3)
            .map(|i| {
                order["order_lines"][i]["total_tax_amount"]
                    .as_i64()
                    .unwrap()
            })
            .sum();
        order["order_tax_amount"] = tax.into();
        assert!(prepare(&order).is_ok());
    }

    #[test]
    fn validate_order_lines_reports_under_the_given_path() {
        let order = parse(SE_VAT_DISCOUNT);
        let lines = &order["order_lines"];
        assert_eq!(
            validate_order_lines(lines, "order_lines").unwrap(),
            order["order_amount"].as_i64().unwrap()
        );
        let mut bad = lines.clone();
        bad[2]["total_amount"] = 1.into();
        let e = validate_order_lines(&bad, "captures[0].order_lines").unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("captures[0].order_lines[2].total_amount")
        );
        let e = validate_order_lines(&Value::Null, "order_lines").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("order_lines"));
        // A capture or refund may list no lines at all.
        assert_eq!(
            validate_order_lines(&serde_json::json!([]), "captures[0].order_lines").unwrap(),
            0
        );
    }

    #[test]
    fn limits_are_inclusive() {
        let mut order = parse(GB);
        order["merchant_reference1"] = "é".repeat(255).into();
        order["order_lines"][0]["name"] = "ß".repeat(255).into();
        order["order_lines"][0]["reference"] = "R".repeat(255).into();
        order.insert(
            "distribution".into(),
            serde_json::json!({"short_code": "12"}),
        );
        assert!(prepare(&order).is_ok());
        order["distribution"]["short_code"] = "0".repeat(20).into();
        assert!(prepare(&order).is_ok());

        let line = serde_json::json!({"name": "Gift card", "type": "gift_card", "quantity": 1,
            "unit_price": MAX_AMOUNT, "total_amount": MAX_AMOUNT, "tax_rate": 10000,
            "total_tax_amount": MAX_AMOUNT / 2});
        let lines = Value::Array(vec![line; MAX_ORDER_LINES]);
        assert_eq!(
            validate_order_lines(&lines, "order_lines").unwrap(),
            MAX_AMOUNT * MAX_ORDER_LINES as i64
        );
    }

    /// Replaces every value of a valid order, one at a time, by awkward values: validation must
    /// answer, never panic, and never accept a non-integer where an amount belongs.
    #[test]
    fn no_panic_on_any_single_field_mutation() {
        fn paths(v: &Value, prefix: Vec<Value>, out: &mut Vec<Vec<Value>>) {
            match v {
                Value::Object(m) => {
                    for (k, x) in m {
                        let mut p = prefix.clone();
                        p.push(Value::String(k.clone()));
                        out.push(p.clone());
                        paths(x, p, out);
                    }
                }
                Value::Array(a) => {
                    for (i, x) in a.iter().enumerate() {
                        let mut p = prefix.clone();
                        p.push(Value::from(i));
                        out.push(p.clone());
                        paths(x, p, out);
                    }
                }
                _ => {}
            }
        }
        fn at<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
            path.iter().fold(v, |v, k| match k {
                Value::String(k) => &mut v[k.as_str()],
                _ => &mut v[k.as_u64().unwrap() as usize],
            })
        }
        let awkward: Vec<Value> = serde_json::from_str(
            r#"[null, true, 0, -1, 1.5, 100.0, 9223372036854775807, -9223372036854775808,
                18446744073709551615, 1e300, -1e300, "", "x", "SE", [], [[]], {}, {"a": null}]"#,
        )
        .unwrap();
        let mut big = String::from("9");
        big.push_str(&"0".repeat(30));
        for text in [SE_VAT_DISCOUNT, GB, US_SALES_TAX, DE_EMD] {
            let original: Value = serde_json::from_str(text).unwrap();
            let mut all = Vec::new();
            paths(&original, Vec::new(), &mut all);
            for path in &all {
                for value in awkward
                    .iter()
                    .chain([&serde_json::from_str::<Value>(&big).unwrap()])
                {
                    let mut v = original.clone();
                    *at(&mut v, path) = value.clone();
                    let text = serde_json::to_string(&v).unwrap();
                    if let Err(e) = prepare_session_request(&text, false, None) {
                        assert_eq!(e.code, Code::BadRequest, "{path:?} = {value}: {e}");
                        assert!(e.field.is_some());
                    }
                }
            }
        }
    }
}
