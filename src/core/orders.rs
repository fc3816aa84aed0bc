//! Order Management after the sale: read an order, capture, refund, cancel, release the
//! remaining authorization.
//!
//! Every POST carries a `Klarna-Idempotency-Key`: the caller's, or a UUID v4 made here. Klarna
//! executes a key once within 24 hours and replays the first answer, so the transport may repeat
//! these POSTs after a timeout, a reset, a 429 or a 5xx (they are `Retry::Safe`) with the same
//! key, and a till may repeat a call whose answer it never saw: the money moves once.
//!
//! Capture and refund bodies are validated before any traffic, by the rules of Klarna's Order
//! Management (the table in `order::rules`): the amount (`captured_amount` /
//! `refunded_amount`) is an integer of minor units from 0 to 200 000 000; `description` and
//! `reference` are strings of at most 255 characters; `order_lines`, when given, are 0 to 1000
//! lines checked as a session's are, except that a name may be empty, a tax rate may exceed
//! 10000 and `return_fee` is a line type; they need not add up to the amount (a partial goodwill
//! refund may name the line it concerns). A capture's `shipping_info` holds at most 500 entries
//! with Klarna's shipping methods and lengths, and its `shipping_delay` is not negative. Other
//! fields pass through untouched. Failures are `BadRequest` with the field path.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::client::{is_definitive_refusal, Client};
use super::error::{Error, Result};
use super::field::{self, Json};
use super::http::{Limits, Method, Request, Response, Retry};
use super::id;
use super::journal::{Call, Finished, Kind};
use super::log::{log, Level};
use super::order::{self, rules};
use super::url;

const MAX_IDEMPOTENCY_KEY_CHARS: usize = 64;
const MAX_ORDER_ID_CHARS: usize = 255;

/// An Order Management action that moves money or changes the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Capture,
    Refund,
    Cancel,
    Release,
}

impl Action {
    fn journal_kind(self) -> Kind {
        match self {
            Action::Capture => Kind::Capture,
            Action::Refund => Kind::Refund,
            Action::Cancel => Kind::Cancel,
            Action::Release => Kind::Release,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Action::Capture => "captures",
            Action::Refund => "refunds",
            Action::Cancel => "cancel",
            Action::Release => "release-remaining-authorization",
        }
    }

    /// The response header naming what was created.
    fn id_header(self) -> Option<&'static str> {
        match self {
            Action::Capture => Some("Capture-Id"),
            Action::Refund => Some("Refund-Id"),
            Action::Cancel | Action::Release => None,
        }
    }
}

/// Checks a capture or refund body and returns it parsed (unchanged).
pub fn validate_amount_body(action: Action, json: &str) -> Result<Map<String, Value>> {
    let (amount_rule, text_rules) = match action {
        Action::Capture => (
            &rules::CAPTURED_AMOUNT,
            [&rules::CAPTURE_DESCRIPTION, &rules::CAPTURE_REFERENCE],
        ),
        Action::Refund => (
            &rules::REFUNDED_AMOUNT,
            [&rules::REFUND_DESCRIPTION, &rules::REFUND_REFERENCE],
        ),
        Action::Cancel | Action::Release => return Ok(Map::new()),
    };
    let fields = order::read_object(json, "request")?;
    let get = |key: &str| field::present(fields.get(key));
    let key = amount_rule.key;
    match get(key) {
        None => {
            return Err(field::required("an amount in minor units, 0 or more").at(key));
        }
        Some(v) => {
            let (min, max) = amount_rule.bounds();
            field::integer(v, min, max, rules::AMOUNT_FORM).map_err(|f| f.at(key))?;
        }
    }
    for rule in text_rules {
        if let Some(v) = get(rule.key) {
            rule.check(v, rule.key)?;
        }
    }
    if let Some(lines) = get("order_lines") {
        order::lines::check_managed_lines(lines, "order_lines")?;
    }
    if action == Action::Capture {
        if let Some(v) = get("shipping_delay") {
            rules::SHIPPING_DELAY.check(v, "shipping_delay")?;
        }
        if let Some(v) = get("shipping_info") {
            check_shipping_info(v)?;
        }
    }
    match serde_json::from_str(json) {
        Ok(Value::Object(body)) => Ok(body),
        _ => Err(Error::invalid_argument(
            "request JSON must be an object ({...})",
        )),
    }
}

/// `shipping_info`: at most 500 objects whose known fields follow Klarna's limits.
fn check_shipping_info(v: &RawValue) -> Result<()> {
    let entries = match serde_json::from_str::<Vec<Value>>(v.get()) {
        Ok(entries) => entries,
        Err(_) => {
            return Err(Error::bad_field(
                "shipping_info",
                format!("must be an array of shipping details, not {}", v.describe()),
            ))
        }
    };
    rules::SHIPPING_INFO.check_items(entries.len(), "shipping_info")?;
    for (i, entry) in entries.iter().enumerate() {
        let Value::Object(m) = entry else {
            return Err(Error::bad_field(
                format!("shipping_info[{i}]"),
                format!("must be an object, not {}", entry.describe()),
            ));
        };
        for rule in &rules::SHIPPING_INFO_FIELDS {
            if let Some(value) = field::optional(m, rule.key) {
                rule.check(value, format_args!("shipping_info[{i}].{}", rule.key))?;
            }
        }
    }
    Ok(())
}

/// The caller's idempotency key, checked, or a new UUID v4.
pub fn idempotency_key(given: Option<&str>) -> Result<String> {
    match given {
        None => id::uuid_v4(),
        Some(k)
            if !k.is_empty()
                && k.len() <= MAX_IDEMPOTENCY_KEY_CHARS
                && k.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(k.to_string())
        }
        Some(_) => Err(Error::invalid_field(
            "idempotency_key",
            "must be 1 to 64 printable ASCII characters without spaces",
        )),
    }
}

fn check_order_id(order_id: &str) -> Result<()> {
    if order_id.trim().is_empty()
        || order_id.chars().count() > MAX_ORDER_ID_CHARS
        || order_id.chars().any(char::is_control)
    {
        return Err(Error::invalid_field(
            "order_id",
            "is empty, too long or has control characters",
        ));
    }
    Ok(())
}

impl Client {
    fn order_url(&self, order_id: &str) -> String {
        format!(
            "{}/ordermanagement/v1/orders/{}",
            self.config.api_url,
            url::encode_path_segment(order_id)
        )
    }

    /// `GET /ordermanagement/v1/orders/{id}`: the order as Klarna's JSON text.
    pub fn order_get(&self, order_id: &str) -> Result<String> {
        check_order_id(order_id)?;
        let resp = self.transport().send(
            &Request {
                method: Method::Get,
                url: &self.order_url(order_id),
                body: None,
                retry: Retry::Safe,
                idempotency_key: None,
            },
            Limits::default(),
        )?;
        let json = resp.json()?;
        if !json.is_object() {
            return Err(protocol(&resp, "the order answer is not a JSON object"));
        }
        Ok(json.to_string())
    }

    /// Captures (`Action::Capture`) or refunds (`Action::Refund`) per `body_json`; returns the
    /// Capture-Id / Refund-Id.
    pub fn order_move_money(
        &self,
        action: Action,
        order_id: &str,
        body_json: &str,
        key: Option<&str>,
    ) -> Result<String> {
        check_order_id(order_id)?;
        let body = Value::Object(validate_amount_body(action, body_json)?);
        let key = idempotency_key(key)?;
        let resp = self.order_post(action, order_id, Some(&body), &key)?;
        created_id(action, &resp)
    }

    /// Cancels the order (`Action::Cancel`) or releases its remaining authorization
    /// (`Action::Release`).
    pub fn order_change(&self, action: Action, order_id: &str, key: Option<&str>) -> Result<()> {
        check_order_id(order_id)?;
        let key = idempotency_key(key)?;
        self.order_post(action, order_id, None, &key).map(|_| ())
    }

    /// The journaled POST with its idempotency key, retried by the transport with that key.
    fn order_post(
        &self,
        action: Action,
        order_id: &str,
        body: Option<&Value>,
        key: &str,
    ) -> Result<Response> {
        let record = match self.journal() {
            Some(j) => Some(j.open_call(&Call {
                kind: action.journal_kind(),
                order_id,
                idempotency_key: key,
                body,
            })?),
            None => None,
        };
        let text = body.map(Value::to_string);
        let url = format!("{}/{}", self.order_url(order_id), action.path());
        let result = self.transport().send(
            &Request {
                method: Method::Post,
                url: &url,
                body: text.as_deref().map(str::as_bytes),
                retry: Retry::Safe,
                idempotency_key: Some(key),
            },
            Limits::default(),
        );
        let mut finished = Finished::default();
        let outcome = match &result {
            Ok(resp) => {
                finished.created_id = created_id(action, resp).ok().filter(|id| !id.is_empty());
                Some("done")
            }
            Err(e) if is_definitive_refusal(e) => {
                finished.failure_code = Some(
                    e.klarna_error_code
                        .clone()
                        .unwrap_or_else(|| e.code.name().into()),
                );
                Some("refused")
            }
            // Timeout, reset, 429, 5xx: Klarna may have acted. Repeat with the same key.
            Err(_) => None,
        };
        match (&record, outcome) {
            (Some(r), Some(o)) => self.close_record(r, o, &finished),
            (Some(_), None) => log!(
                Level::Warn,
                "order {}: {} with idempotency key {} has no definitive answer; it stays in the \
                 journal to be repeated with that key",
                order_id,
                action.path(),
                key
            ),
            _ => {}
        }
        result
    }
}

/// The id of the created capture or refund: its header, else the last segment of `Location`.
fn created_id(action: Action, resp: &Response) -> Result<String> {
    let Some(header) = action.id_header() else {
        return Ok(String::new());
    };
    let from_location = || {
        resp.header("location")
            .map(|l| l.split(['?', '#']).next().unwrap_or(l))
            .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
            .filter(|s| !s.is_empty())
    };
    resp.header(header)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or_else(from_location)
        .map(str::to_string)
        .ok_or_else(|| {
            protocol(
                resp,
                &format!("Klarna's answer has neither {header} nor Location"),
            )
        })
}

fn protocol(resp: &Response, what: &str) -> Error {
    Error::protocol(what, resp.status, resp.correlation_id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Code;
    use serde_json::json;

    fn field_of(action: Action, body: Value) -> Option<String> {
        validate_amount_body(action, &body.to_string())
            .err()
            .and_then(|e| e.field)
    }

    fn line(total: i64) -> Value {
        json!({"type": "physical", "name": "Shoe", "quantity": 1, "unit_price": total,
               "tax_rate": 2500, "total_amount": total, "total_tax_amount": total / 5})
    }

    #[test]
    fn amounts_are_integers_from_0_within_klarnas_limit() {
        for bad in [
            json!(-1),
            json!(1e30),
            json!(200_000_001),
            json!(1.5),
            json!("100"),
        ] {
            assert_eq!(
                field_of(Action::Refund, json!({"refunded_amount": bad})).as_deref(),
                Some("refunded_amount"),
                "{bad}"
            );
        }
        assert_eq!(
            field_of(Action::Capture, json!({"refunded_amount": 5})).as_deref(),
            Some("captured_amount")
        );
        assert!(validate_amount_body(Action::Capture, r#"{"captured_amount":200000000}"#).is_ok());
        // Klarna accepts 0 (minimum 0), e.g. a capture that only reports shipping.
        assert!(validate_amount_body(Action::Capture, r#"{"captured_amount":0}"#).is_ok());
        // One wording for one fault: 1e30 is out of range here as in an order.
        let e = validate_amount_body(Action::Capture, r#"{"captured_amount":1e30}"#).unwrap_err();
        assert!(
            e.message.starts_with("captured_amount: is out of range"),
            "{e}"
        );
    }

    #[test]
    fn description_and_reference_are_bounded_strings() {
        assert_eq!(
            field_of(
                Action::Refund,
                json!({"refunded_amount": 1, "description": 7})
            )
            .as_deref(),
            Some("description")
        );
        assert_eq!(
            field_of(
                Action::Refund,
                json!({"refunded_amount": 1, "reference": "r".repeat(256)})
            )
            .as_deref(),
            Some("reference")
        );
    }

    #[test]
    fn order_lines_are_checked_but_need_not_add_up_to_the_amount() {
        let ok = json!({"refunded_amount": 1000, "order_lines": [line(1000)], "x_extra": true});
        let body = validate_amount_body(Action::Refund, &ok.to_string()).unwrap();
        assert_eq!(body["x_extra"], json!(true), "unknown fields pass through");
        // A partial goodwill refund names the line it concerns (Klarna allows it).
        assert_eq!(
            field_of(
                Action::Refund,
                json!({"refunded_amount": 900, "order_lines": [line(1000)]})
            ),
            None
        );
        // Order Management lines may have an empty name, a tax rate above 10000 and the
        // return_fee type.
        let mut managed = line(1000);
        managed["name"] = json!("");
        managed["type"] = json!("return_fee");
        managed["tax_rate"] = json!(12000);
        managed["total_tax_amount"] = json!(545);
        assert_eq!(
            field_of(
                Action::Refund,
                json!({"refunded_amount": 1000, "order_lines": [managed]})
            ),
            None
        );
        let mut broken = line(1000);
        broken["total_tax_amount"] = json!(1);
        assert_eq!(
            field_of(
                Action::Refund,
                json!({"refunded_amount": 1000, "order_lines": [broken]})
            )
            .as_deref(),
            Some("order_lines[0].total_tax_amount")
        );
    }

    #[test]
    fn idempotency_keys_are_printable_ascii_up_to_64_or_generated() {
        assert_eq!(idempotency_key(Some("till-3:R-1")).unwrap(), "till-3:R-1");
        for bad in ["", "has space", "tab\t", "é", &"k".repeat(65)] {
            assert_eq!(
                idempotency_key(Some(bad)).unwrap_err().code,
                Code::InvalidArgument,
                "{bad:?}"
            );
        }
        assert_eq!(idempotency_key(None).unwrap().len(), 36);
    }

    #[test]
    fn the_created_id_comes_from_its_header_or_the_location() {
        let resp = |headers: Vec<(&str, &str)>| Response::for_test(201, &headers, b"");
        assert_eq!(
            created_id(Action::Refund, &resp(vec![("refund-id", "r-1")])).unwrap(),
            "r-1"
        );
        assert_eq!(
            created_id(
                Action::Capture,
                &resp(vec![(
                    "Location",
                    "https://k/ordermanagement/v1/orders/o/captures/c-9"
                )])
            )
            .unwrap(),
            "c-9"
        );
        assert_eq!(
            created_id(Action::Refund, &resp(vec![])).unwrap_err().code,
            Code::Protocol
        );
    }
}
