//! The order's top-level fields and its small objects (addresses, customer, options, merchant
//! URLs, distribution, attachment), in the order the module doc of [`super`] lists.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::lines::{self, LinesSummary};
use super::raw::RawFields;
use super::rules::{self, Checked, Rule};
use crate::core::error::{Error, Result};
use crate::core::field::{self, Json};
use crate::core::url;

/// What the library keeps from a valid order.
pub struct Facts {
    pub order_amount: i64,
    pub purchase_currency: String,
    pub merchant_reference1: Option<String>,
    pub merchant_reference2: Option<String>,
    pub short_code: Option<String>,
    pub webhook_url: Option<String>,
}

pub fn validate(order: &RawFields<'_>, allow_insecure_http: bool) -> Result<Facts> {
    let get = |key: &str| field::present(order.get(key));
    for rule in rules::READ_ONLY
        .iter()
        .chain([&rules::READ_ONLY_PAYMENT_METHOD_CATEGORIES])
    {
        if let Some(v) = get(rule.key) {
            rule.check(v, rule.key)?;
        }
    }
    let country = required_text(
        get("purchase_country"),
        &rules::PURCHASE_COUNTRY,
        "the two-letter ISO 3166-1 country code of the store, e.g. \"SE\"",
    )?
    .to_ascii_uppercase();
    let purchase_currency = required_text(
        get("purchase_currency"),
        &rules::PURCHASE_CURRENCY,
        "the three-letter ISO 4217 code of the country's currency, e.g. \"SEK\"",
    )?
    .to_ascii_uppercase();
    check_local_currency(&country, &purchase_currency)?;
    optional(get("locale"), &rules::LOCALE)?;

    let order_amount = match get("order_amount") {
        None => {
            return Err(
                field::required("the total to pay in minor units, e.g. 12500 for 125.00")
                    .at("order_amount"),
            )
        }
        Some(v) => amount(v, &rules::ORDER_AMOUNT)?,
    };
    let order_tax_amount = get("order_tax_amount")
        .map(|v| amount(v, &rules::ORDER_TAX_AMOUNT))
        .transpose()?;
    let merchant_reference1 = optional(get("merchant_reference1"), &rules::MERCHANT_REFERENCE1)?;
    let merchant_reference2 = optional(get("merchant_reference2"), &rules::MERCHANT_REFERENCE2)?;
    for rule in [&rules::MERCHANT_DATA, &rules::INTENT] {
        optional(get(rule.key), rule)?;
    }
    check_channel(get("acquiring_channel"))?;

    let lines = lines::check_order_lines(order.lines.as_ref())?;
    if order_amount != lines.total_amount {
        return Err(Error::bad_field(
            "order_amount",
            format!(
                "is {order_amount} but the order lines' total_amount add up to {}",
                lines.total_amount
            ),
        ));
    }
    check_order_tax(order_tax_amount, &lines)?;

    for (key, rules) in [
        ("billing_address", &rules::ADDRESS[..]),
        ("shipping_address", &rules::ADDRESS[..]),
        ("customer", &rules::CUSTOMER[..]),
        ("options", &rules::OPTIONS[..]),
        ("merchant_urls", &rules::MERCHANT_URLS[..]),
    ] {
        if let Some(v) = get(key) {
            check_object(v, key, rules)?;
        }
    }

    let (short_code, webhook_url) = check_distribution(get("distribution"), allow_insecure_http)?;
    check_attachment(get("attachment"))?;

    Ok(Facts {
        order_amount,
        purchase_currency,
        merchant_reference1,
        merchant_reference2,
        short_code,
        webhook_url,
    })
}

/// A required string field checked by its rule.
fn required_text(v: Option<&RawValue>, rule: &Rule, expected: &str) -> Result<String> {
    let v = v.ok_or_else(|| field::required(expected).at(rule.key))?;
    match rule.check(v, rule.key)? {
        Checked::Text(s) => Ok(s.into_owned()),
        _ => Ok(String::new()),
    }
}

/// An optional field checked by its rule; its text when it is a string.
fn optional<J: Json + ?Sized>(v: Option<&J>, rule: &Rule) -> Result<Option<String>> {
    match v {
        None => Ok(None),
        Some(v) => match rule.check(v, rule.key)? {
            Checked::Text(s) => Ok(Some(s.into_owned())),
            _ => Ok(None),
        },
    }
}

/// An order amount (`order_amount`, `order_tax_amount`): within the amount limit and its rule.
fn amount(v: &RawValue, rule: &Rule) -> Result<i64> {
    let (min, max) = rule.bounds();
    let max = max.min(rules::MAX_AMOUNT);
    field::integer(v, min, max, rules::AMOUNT_FORM).map_err(|f| f.at(rule.key))
}

fn check_local_currency(country: &str, currency: &str) -> Result<()> {
    // A country missing from the table is left for Klarna to judge, so new markets work.
    match local_currency(country) {
        Some(local) if currency != local => Err(Error::bad_field(
            "purchase_currency",
            format!("is {currency} but purchases in {country} must be made in {local}"),
        )),
        _ => Ok(()),
    }
}

fn local_currency(country: &str) -> Option<&'static str> {
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

fn check_channel(v: Option<&RawValue>) -> Result<()> {
    let Some(v) = v else {
        return Ok(());
    };
    if v.text().is_some_and(|s| s.eq_ignore_ascii_case("in_store")) {
        return Ok(());
    }
    Err(Error::bad_field(
        "acquiring_channel",
        format!(
            "is {} but this library only does in-store sessions: use \"in_store\" or leave it out",
            v.describe()
        ),
    ))
}

fn check_order_tax(order_tax_amount: Option<i64>, lines: &LinesSummary) -> Result<()> {
    let tax = order_tax_amount.unwrap_or(0);
    if let Some(sales_tax) = lines.sales_tax_amount {
        if tax != sales_tax {
            return Err(Error::bad_field(
                "order_tax_amount",
                format!(
                    "is {} but must equal the sales_tax lines' total_amount, {sales_tax}",
                    super::stated(order_tax_amount)
                ),
            ));
        }
        return Ok(());
    }
    // Each line's tax may be rounded by 1, so the order may drift by up to one per line.
    let tolerance = lines.count as i64;
    if (tax - lines.total_tax_amount).abs() > tolerance {
        return Err(Error::bad_field(
            "order_tax_amount",
            format!(
                "is {} but the lines' total_tax_amount add up to {} (+/-{tolerance} tolerated)",
                super::stated(order_tax_amount),
                lines.total_tax_amount
            ),
        ));
    }
    Ok(())
}

/// A small object parsed for checking.
fn object(v: &RawValue, path: &str, example: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(v.get()) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Error::bad_field(
            path,
            format!("must be an object such as {example}, not {}", v.describe()),
        )),
    }
}

/// An object whose known fields follow `rules`; other fields pass.
fn check_object(v: &RawValue, key: &str, rules: &[Rule]) -> Result<()> {
    let m = object(v, key, "{...}")?;
    for rule in rules {
        if let Some(value) = field::optional(&m, rule.key) {
            rule.check(value, format_args!("{key}.{}", rule.key))?;
        }
    }
    Ok(())
}

/// `distribution`: its keys, `method`, `short_code`, `callback_urls.status_update`. Returns the
/// short code and the callback URL.
pub fn check_distribution(
    v: Option<&RawValue>,
    allow_insecure_http: bool,
) -> Result<(Option<String>, Option<String>)> {
    let Some(v) = v else {
        return Ok((None, None));
    };
    let d = object(v, "distribution", "{\"method\": \"one_qr\"}")?;
    if let rules::Limit::Keys(known) = rules::DISTRIBUTION_KEYS.limit {
        if let Some(k) = d.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(Error::bad_field(
                format!("distribution.{k}"),
                format!(
                    "is not a distribution field Klarna documents; use {}",
                    known.join(", ")
                ),
            ));
        }
    }
    if let Some(m) = field::optional(&d, "method") {
        rules::DISTRIBUTION_METHOD
            .read(m)
            .map_err(|_| {
                field::Fault(format!(
                    "is {} but must be \"one_qr\" (absent means one_qr; the older \"qr\" and \
                     \"payment_link\" are sent as one_qr)",
                    m.describe()
                ))
            })
            .map_err(|f| f.at("distribution.method"))?;
    }

    let short_code = match field::optional(&d, "short_code") {
        None => None,
        Some(Value::Number(_)) => {
            return Err(Error::bad_field(
                "distribution.short_code",
                "must be a JSON string of 2 to 20 digits; a number would lose leading zeros",
            ))
        }
        Some(s) => match rules::SHORT_CODE.check(s, "distribution.short_code")? {
            Checked::Text(s) => Some(s.into_owned()),
            _ => None,
        },
    };

    let webhook_url = match field::optional(&d, "callback_urls") {
        None => None,
        Some(Value::Object(c)) => {
            if let Some(k) = c.keys().find(|k| k.as_str() != "status_update") {
                return Err(Error::bad_field(
                    format!("distribution.callback_urls.{k}"),
                    "is not a callback Klarna documents; use status_update",
                ));
            }
            match field::optional(c, "status_update") {
                None => None,
                Some(Value::String(u)) => {
                    url::require_secure(u, allow_insecure_http).map_err(|why| {
                        Error::bad_field("distribution.callback_urls.status_update", why)
                    })?;
                    Some(u.clone())
                }
                Some(v) => {
                    return Err(Error::bad_field(
                        "distribution.callback_urls.status_update",
                        format!("must be an https:// URL as a string, not {}", v.describe()),
                    ))
                }
            }
        }
        Some(v) => {
            return Err(Error::bad_field(
                "distribution.callback_urls",
                format!(
                    "must be an object such as {{\"status_update\": \"https://...\"}}, not {}",
                    v.describe()
                ),
            ))
        }
    };
    Ok((short_code, webhook_url))
}

/// `attachment`: an EMD body as a JSON object, or as a string holding one with its
/// `content_type` (Klarna requires both).
fn check_attachment(v: Option<&RawValue>) -> Result<()> {
    let Some(v) = v else {
        return Ok(());
    };
    let a = object(
        v,
        "attachment",
        "{\"content_type\": \"...\", \"body\": \"{...}\"}",
    )?;
    let content_type = field::optional(&a, "content_type");
    if let Some(ct) = content_type {
        field::string(
            ct,
            "a string such as \"application/vnd.klarna.internal.emd-v2+json\"",
        )
        .map_err(|f| f.at("attachment.content_type"))?;
    }
    match field::optional(&a, "body") {
        Some(Value::Object(_)) => Ok(()),
        Some(s @ Value::String(_)) => {
            rules::ATTACHMENT_BODY_TEXT.check(s, "attachment.body")?;
            if content_type.is_none() {
                return Err(field::required(
                    "the body's content type, e.g. \"application/vnd.klarna.internal.emd-v2+json\"",
                )
                .at("attachment.content_type"));
            }
            Ok(())
        }
        None => Err(field::required(
            "the EMD as a JSON object, or as a string holding one serialised",
        )
        .at("attachment.body")),
        Some(other) => Err(Error::bad_field(
            "attachment.body",
            format!(
                "must be a JSON object, or a string holding one serialised, not {}",
                other.describe()
            ),
        )),
    }
}
