//! Validation of a session request the way Klarna documents it. This is written
//! independently of the library on purpose: the simulator is the second opinion that
//! checks the library's own local validation.
//!
//! The first violation found is reported as a field path such as
//! `order_lines[0].total_tax_amount`; the caller turns it into `Bad value: <path>`.

use serde_json::{Map, Value};

/// Largest absolute value Klarna accepts for any amount, in minor units.
pub const MAX_AMOUNT: i64 = 200_000_000;
pub const MAX_ORDER_LINES: usize = 1000;

/// Local currency of the purchase countries we know; other countries are not checked.
fn country_currency(country: &str) -> Option<&'static str> {
    Some(match country {
        "SE" => "SEK",
        "NO" => "NOK",
        "DK" => "DKK",
        "FI" | "DE" | "AT" | "NL" | "BE" | "FR" | "ES" | "IT" | "IE" | "PT" | "GR" | "SK" => "EUR",
        "GB" => "GBP",
        "US" => "USD",
        "CH" => "CHF",
        "AU" => "AUD",
        "NZ" => "NZD",
        "CA" => "CAD",
        "PL" => "PLN",
        "CZ" => "CZK",
        "HU" => "HUF",
        "RO" => "RON",
        "MX" => "MXN",
        _ => return None,
    })
}

type Path = String;

/// Names the path of a bad field from its key; only called once a field is found bad, so
/// that valid orders cost no path formatting.
type At<'a> = &'a dyn Fn(&str) -> Path;

/// Paths of top-level fields are their keys.
fn top(key: &str) -> Path {
    key.to_string()
}

/// An optional integer field: absent or null gives `None`, anything that is not an
/// integer gives the field's path as the error.
fn opt_int(obj: &Map<String, Value>, key: &str, at: At) -> Result<Option<i64>, Path> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| at(key)),
    }
}

fn req_int(obj: &Map<String, Value>, key: &str, at: At) -> Result<i64, Path> {
    opt_int(obj, key, at)?.ok_or_else(|| at(key))
}

fn bounded(v: i64, key: &str, at: At) -> Result<i64, Path> {
    if v.unsigned_abs() <= MAX_AMOUNT as u64 {
        Ok(v)
    } else {
        Err(at(key))
    }
}

fn opt_str<'a>(obj: &'a Map<String, Value>, key: &str, at: At) -> Result<Option<&'a str>, Path> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(at(key)),
    }
}

fn letters(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_alphabetic())
}

struct Line<'a> {
    kind: Option<&'a str>,
    total_amount: i64,
    tax_rate: Option<i64>,
    total_tax_amount: Option<i64>,
}

fn check_line(value: &Value, i: usize) -> Result<Line<'_>, Path> {
    let at = |field: &str| format!("order_lines[{i}].{field}");
    let at: At = &at;
    let obj = value
        .as_object()
        .ok_or_else(|| format!("order_lines[{i}]"))?;

    let kind = opt_str(obj, "type", at)?;
    match obj.get("name") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err(at("name")),
    }
    for (key, max) in [
        ("quantity_unit", 8),
        ("merchant_data", 1024),
        ("image_url", 1024),
        ("product_url", 1024),
    ] {
        if opt_str(obj, key, at)?.is_some_and(|s| s.chars().count() > max) {
            return Err(at(key));
        }
    }
    let quantity = req_int(obj, "quantity", at)?;
    if quantity < 0 {
        return Err(at("quantity"));
    }
    let unit_price = bounded(req_int(obj, "unit_price", at)?, "unit_price", at)?;
    let total_amount = bounded(req_int(obj, "total_amount", at)?, "total_amount", at)?;
    let discount = match opt_int(obj, "total_discount_amount", at)? {
        Some(d) if d < 0 => return Err(at("total_discount_amount")),
        Some(d) => bounded(d, "total_discount_amount", at)?,
        None => 0,
    };
    let tax_rate = opt_int(obj, "tax_rate", at)?;
    if tax_rate.is_some_and(|r| !(0..=10_000).contains(&r)) {
        return Err(at("tax_rate"));
    }
    let total_tax_amount = opt_int(obj, "total_tax_amount", at)?
        .map(|t| bounded(t, "total_tax_amount", at))
        .transpose()?;

    // i128 so that quantity * unit_price can never overflow.
    let expected = i128::from(quantity) * i128::from(unit_price) - i128::from(discount);
    if i128::from(total_amount) != expected {
        return Err(at("total_amount"));
    }
    if let Some(rate) = tax_rate {
        let total = i128::from(total_amount);
        let expected_tax = total - total * 10_000 / (10_000 + i128::from(rate));
        let tax = i128::from(total_tax_amount.unwrap_or(0));
        if (tax - expected_tax).abs() > 1 {
            return Err(at("total_tax_amount"));
        }
    }
    Ok(Line {
        kind,
        total_amount,
        tax_rate,
        total_tax_amount,
    })
}

/// Checks a parsed session request. `Err` holds the path of the first bad field.
/// A body that is not a JSON object is the caller's concern ("Invalid JSON").
pub fn validate_session(body: &Value) -> Result<(), Path> {
    let Some(obj) = body.as_object() else {
        return Err(String::new());
    };

    let country = opt_str(obj, "purchase_country", &top)?
        .filter(|c| letters(c, 2))
        .ok_or("purchase_country")?
        .to_ascii_uppercase();
    let currency = opt_str(obj, "purchase_currency", &top)?
        .filter(|c| letters(c, 3))
        .ok_or("purchase_currency")?
        .to_ascii_uppercase();
    if country_currency(&country).is_some_and(|expected| expected != currency) {
        return Err("purchase_currency".into());
    }
    let order_amount = bounded(req_int(obj, "order_amount", &top)?, "order_amount", &top)?;
    let order_tax_amount = opt_int(obj, "order_tax_amount", &top)?
        .map(|t| bounded(t, "order_tax_amount", &top))
        .transpose()?;
    if order_tax_amount.is_some_and(|t| t < 0) {
        return Err("order_tax_amount".into());
    }
    if opt_str(obj, "merchant_data", &top)?.is_some_and(|m| m.chars().count() > 6000) {
        return Err("merchant_data".into());
    }
    if let Some(intent) = opt_str(obj, "intent", &top)? {
        if !["buy", "tokenize", "buy_and_tokenize"].contains(&intent) {
            return Err("intent".into());
        }
    }
    for read_only in [
        "client_token",
        "session_id",
        "status",
        "expires_at",
        "authorization_token",
    ] {
        if obj.get(read_only).is_some_and(|v| !v.is_null()) {
            return Err(read_only.into());
        }
    }
    for key in ["merchant_reference1", "merchant_reference2", "locale"] {
        opt_str(obj, key, &top)?;
    }

    let lines = match obj.get("order_lines") {
        Some(Value::Array(a)) if (1..=MAX_ORDER_LINES).contains(&a.len()) => a,
        _ => return Err("order_lines".into()),
    };
    let lines = lines
        .iter()
        .enumerate()
        .map(|(i, l)| check_line(l, i))
        .collect::<Result<Vec<Line>, Path>>()?;

    let sum: i128 = lines.iter().map(|l| i128::from(l.total_amount)).sum();
    if sum != i128::from(order_amount) {
        return Err("order_amount".into());
    }

    let is_sales_tax = |l: &Line| l.kind == Some("sales_tax");
    if lines.iter().any(is_sales_tax) {
        // US model: tax is carried by sales_tax lines, not by rates on the goods.
        if let Some(i) = lines
            .iter()
            .position(|l| !is_sales_tax(l) && l.tax_rate.is_some_and(|r| r != 0))
        {
            return Err(format!("order_lines[{i}].tax_rate"));
        }
        let sales_tax: i128 = lines
            .iter()
            .filter(|l| is_sales_tax(l))
            .map(|l| i128::from(l.total_amount))
            .sum();
        if i128::from(order_tax_amount.unwrap_or(0)) != sales_tax {
            return Err("order_tax_amount".into());
        }
    } else if let Some(order_tax) = order_tax_amount {
        let line_tax: i128 = lines
            .iter()
            .map(|l| i128::from(l.total_tax_amount.unwrap_or(0)))
            .sum();
        if (i128::from(order_tax) - line_tax).abs() > lines.len() as i128 {
            return Err("order_tax_amount".into());
        }
    }

    if let Some(channel) = opt_str(obj, "acquiring_channel", &top)? {
        if !channel.eq_ignore_ascii_case("in_store") {
            return Err("acquiring_channel".into());
        }
    }

    match obj.get("distribution") {
        None | Some(Value::Null) => {}
        Some(Value::Object(d)) => {
            let at = |key: &str| format!("distribution.{key}");
            if let Some(method) = opt_str(d, "method", &at)? {
                // Klarna's current in-store docs name one method.
                if method != "one_qr" {
                    return Err("distribution.method".into());
                }
            }
            if let Some(code) = opt_str(d, "short_code", &at)? {
                if !(2..=20).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("distribution.short_code".into());
                }
            }
            match d.get("callback_urls") {
                None | Some(Value::Null) => {}
                Some(Value::Object(c)) => {
                    let at = |key: &str| format!("distribution.callback_urls.{key}");
                    opt_str(c, "status_update", &at)?;
                }
                Some(_) => return Err("distribution.callback_urls".into()),
            }
        }
        Some(_) => return Err("distribution".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order() -> Value {
        json!({
            "purchase_country": "SE",
            "purchase_currency": "SEK",
            "locale": "sv-SE",
            "order_amount": 12500,
            "order_tax_amount": 2500,
            "acquiring_channel": "in_store",
            "distribution": {"method": "one_qr"},
            "order_lines": [
                {"type": "physical", "name": "Shoe", "quantity": 2, "unit_price": 6000,
                 "tax_rate": 2500, "total_amount": 12000, "total_tax_amount": 2400},
                {"type": "physical", "name": "Laces", "quantity": 1, "unit_price": 600,
                 "total_discount_amount": 100, "tax_rate": 2500, "total_amount": 500,
                 "total_tax_amount": 100}
            ]
        })
    }

    fn with(mut v: Value, pointer: &str, new: Value) -> Value {
        *v.pointer_mut(pointer).unwrap() = new;
        v
    }

    fn without(mut v: Value, key: &str) -> Value {
        v.as_object_mut().unwrap().remove(key);
        v
    }

    #[test]
    fn valid_order_passes() {
        assert_eq!(validate_session(&order()), Ok(()));
        assert_eq!(
            validate_session(&without(order(), "order_tax_amount")),
            Ok(())
        );
        let v = with(order(), "/acquiring_channel", json!("IN_STORE"));
        assert_eq!(validate_session(&v), Ok(()));
        let v = with(
            order(),
            "/distribution",
            json!({"method": "one_qr", "short_code": "0123"}),
        );
        assert_eq!(validate_session(&v), Ok(()));
    }

    #[test]
    fn reports_field_paths() {
        let cases: Vec<(Value, &str)> = vec![
            (without(order(), "purchase_country"), "purchase_country"),
            (
                with(order(), "/purchase_country", json!("SWE")),
                "purchase_country",
            ),
            (
                with(order(), "/purchase_currency", json!("EUR")),
                "purchase_currency",
            ),
            (with(order(), "/order_amount", json!(12501)), "order_amount"),
            (with(order(), "/order_amount", json!(125.5)), "order_amount"),
            (with(order(), "/order_lines", json!([])), "order_lines"),
            (
                with(order(), "/order_lines/1/name", json!("")),
                "order_lines[1].name",
            ),
            (
                with(order(), "/order_lines/0/quantity", json!(-1)),
                "order_lines[0].quantity",
            ),
            (
                with(order(), "/order_lines/0/total_amount", json!(12001)),
                "order_lines[0].total_amount",
            ),
            (
                with(order(), "/order_lines/0/total_tax_amount", json!(2402)),
                "order_lines[0].total_tax_amount",
            ),
            (
                with(order(), "/order_lines/0/tax_rate", json!(10001)),
                "order_lines[0].tax_rate",
            ),
            (
                with(order(), "/order_lines/1/total_discount_amount", json!(-100)),
                "order_lines[1].total_discount_amount",
            ),
            (
                with(order(), "/order_lines/0/unit_price", json!(200_000_001)),
                "order_lines[0].unit_price",
            ),
            (
                with(order(), "/order_tax_amount", json!(2503)),
                "order_tax_amount",
            ),
            (
                with(order(), "/acquiring_channel", json!("ecommerce")),
                "acquiring_channel",
            ),
            (
                with(order(), "/distribution/method", json!("sms")),
                "distribution.method",
            ),
            (
                with(order(), "/distribution/method", json!("qr")),
                "distribution.method",
            ),
            (
                with(order(), "/order_tax_amount", json!(-1)),
                "order_tax_amount",
            ),
            (
                {
                    let mut v = order();
                    v["order_lines"][0]["quantity_unit"] = json!("kilograms");
                    v
                },
                "order_lines[0].quantity_unit",
            ),
            (
                with(order(), "/distribution", json!({"short_code": "1"})),
                "distribution.short_code",
            ),
            (
                with(order(), "/distribution", json!({"short_code": "12a"})),
                "distribution.short_code",
            ),
        ];
        for (v, path) in cases {
            assert_eq!(validate_session(&v), Err(path.to_string()), "{path}");
        }
    }

    #[test]
    fn tax_tolerances() {
        // 2 lines: the order tax may differ from the line sum by up to 2.
        assert_eq!(
            validate_session(&with(order(), "/order_tax_amount", json!(2502))),
            Ok(())
        );
        // Per line, +-1 around total - total*10000/(10000+rate).
        assert_eq!(
            validate_session(&with(
                with(order(), "/order_lines/0/total_tax_amount", json!(2401)),
                "/order_tax_amount",
                json!(2501)
            )),
            Ok(())
        );
        // A tax rate without a tax amount is a bad tax amount.
        let mut v = order();
        v["order_lines"][0]
            .as_object_mut()
            .unwrap()
            .remove("total_tax_amount");
        assert_eq!(
            validate_session(&v),
            Err("order_lines[0].total_tax_amount".into())
        );
    }

    #[test]
    fn us_sales_tax_model() {
        let us = json!({
            "purchase_country": "US", "purchase_currency": "USD",
            "order_amount": 10800, "order_tax_amount": 800,
            "order_lines": [
                {"type": "physical", "name": "Shirt", "quantity": 1, "unit_price": 10000, "total_amount": 10000},
                {"type": "sales_tax", "name": "Sales tax", "quantity": 1, "unit_price": 800, "total_amount": 800}
            ]
        });
        assert_eq!(validate_session(&us), Ok(()));
        assert_eq!(
            validate_session(&with(us.clone(), "/order_tax_amount", json!(799))),
            Err("order_tax_amount".into())
        );
        // Goods lines carry no tax rate in the US model.
        let mut v = us;
        v["order_lines"][0]["tax_rate"] = json!(800);
        v["order_lines"][0]["total_tax_amount"] = json!(741);
        assert_eq!(validate_session(&v), Err("order_lines[0].tax_rate".into()));
    }

    #[test]
    fn unknown_country_and_extreme_numbers() {
        let v = with(
            with(order(), "/purchase_country", json!("JP")),
            "/purchase_currency",
            json!("JPY"),
        );
        assert_eq!(validate_session(&v), Ok(()));
        // Large but legal numbers must not overflow anything.
        let v = json!({
            "purchase_country": "SE", "purchase_currency": "SEK", "order_amount": 200_000_000,
            "order_lines": [{"name": "x", "quantity": i64::MAX, "unit_price": 0,
                             "total_amount": 0}, {"name": "y", "quantity": 1,
                             "unit_price": 200_000_000, "total_amount": 200_000_000}]
        });
        assert_eq!(validate_session(&v), Ok(()));
        let v = with(v, "/order_lines/0/unit_price", json!(200_000_000));
        assert_eq!(
            validate_session(&v),
            Err("order_lines[0].total_amount".into())
        );
    }
}
