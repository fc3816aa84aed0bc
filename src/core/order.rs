//! Local validation of the till's order JSON before a session is created.
//!
//! Klarna rejects a bad order with a 400 naming one field. Checking the same rules here saves a
//! round trip, works offline, and names the field in a form the cashier's software can show:
//! `purchase_country`, `order_lines[1].total_tax_amount`, `distribution.short_code`.
//!
//! Unreadable JSON and a top level that is not an object are caller mistakes
//! ([`Error::invalid_argument`]); everything else is [`Error::bad_field`] with the path of the
//! first offending field, found by checking in this fixed order:
//!
//! 1. top-level fields: `purchase_country`, `purchase_currency` (form, then that it is the
//!    country's currency), `locale`, `order_amount`, `order_tax_amount`, `merchant_reference1`,
//!    `merchant_reference2`, `acquiring_channel`;
//! 2. `order_lines` itself (an array of 1 to 1000 entries);
//! 3. each line in order: `name`, `type`, `reference`, `quantity`, `unit_price`,
//!    `total_discount_amount`, `total_amount`, `tax_rate`, `total_tax_amount` one by one, then the
//!    line's arithmetic (`total_amount`), then, when the order uses the US sales-tax model, that
//!    the line carries no tax (`tax_rate`, `total_tax_amount`), then the line's tax
//!    (`total_tax_amount`);
//! 4. `order_amount` against the sum of the lines;
//! 5. `order_tax_amount` against the lines' tax (or, in the sales-tax model, against the
//!    `sales_tax` lines);
//! 6. `distribution`: the object, `method`, `short_code`, `callback_urls`,
//!    `callback_urls.status_update`;
//! 7. `attachment`: the object, `body`, `content_type`.
//!
//! Names and references (`name`, `reference`, `merchant_reference1/2`) must not contain control
//! characters, and an order above 1 MB of JSON (Klarna's limit) is refused before it is parsed.
//!
//! A JSON `null` counts as an absent field: tills written against other serialisers often emit
//! nulls for unset optional fields.
//!
//! The body sent is the till's JSON with only these changes: `acquiring_channel` set to
//! `in_store` (added at the end when absent, normalised in place when given in another case),
//! `distribution` added as `{"method":"one_qr"}` or its missing `method` filled in, and an EMD
//! `attachment.body` given as a JSON object or array serialised to a string (with `content_type`
//! filled in when missing). Unknown fields stay where they were, so a till can use Klarna fields
//! this library does not know.

use std::fmt::{self, Display};

use serde_json::{Map, Value};

use crate::core::{url, Error, Result};

/// Largest absolute amount, in minor units, Klarna accepts in any amount field.
pub const MAX_AMOUNT: i64 = 200_000_000;
/// Most order lines one order may hold.
pub const MAX_ORDER_LINES: usize = 1000;
/// Klarna refuses request bodies above 1 MB (HTTP 413); larger orders are refused before any
/// parsing or sending.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Content type of Klarna's extra merchant data.
pub const EMD_CONTENT_TYPE: &str = "application/vnd.klarna.internal.emd-v2+json";

const LINE_TYPES: [&str; 8] = [
    "physical",
    "discount",
    "shipping_fee",
    "sales_tax",
    "digital",
    "gift_card",
    "store_credit",
    "surcharge",
];
const DISTRIBUTION_METHODS: [&str; 3] = ["one_qr", "qr", "payment_link"];
const MAX_NAME_CHARS: usize = 255;
const MAX_LINE_REFERENCE_CHARS: usize = 64;
const MAX_MERCHANT_REFERENCE_CHARS: usize = 255;
const MAX_TAX_RATE: i64 = 10_000;

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
    // serde_json's recursion limit (128) turns absurdly deep nesting into an error instead of a
    // stack overflow.
    let value: Value = serde_json::from_str(order_json)
        .map_err(|e| Error::invalid_argument(format!("order JSON is unreadable: {e}")))?;
    let mut order = match value {
        Value::Object(map) => map,
        other => {
            return Err(Error::invalid_argument(format!(
                "order JSON must be an object ({{...}}), not {}",
                describe(&other)
            )))
        }
    };
    let facts = validate(&order, allow_insecure_http)?;
    if callback_url.is_some() && facts.webhook_url.is_some() {
        return Err(Error::bad_field(
            "distribution.callback_urls.status_update",
            "is set by the library from the client's webhook_url; leave it out of the order, or \
             configure no webhook_url to handle callbacks without the library",
        ));
    }
    fill_defaults(&mut order)?;
    if let Some(url) = callback_url {
        set_callback_url(&mut order, url);
    }
    let body = serde_json::to_string(&Value::Object(order)).map_err(|e| {
        Error::new(
            crate::core::Code::Internal,
            format!("order could not be serialised: {e}"),
        )
    })?;
    if body.len() > MAX_BODY_BYTES {
        return Err(too_large(body.len()));
    }
    Ok(SessionRequest {
        body,
        order_amount: facts.order_amount,
        purchase_currency: facts.purchase_currency,
        merchant_reference1: facts.merchant_reference1,
        short_code: facts.short_code,
        webhook_url: facts.webhook_url,
    })
}

fn too_large(bytes: usize) -> Error {
    Error::new(
        crate::core::Code::BadRequest,
        format!("the order is {bytes} bytes of JSON; Klarna accepts at most {MAX_BODY_BYTES}"),
    )
}

/// Validates order lines at `path` (e.g. "order_lines") and returns the sum of their total_amount.
/// Public because Order Management captures and refunds with order_lines reuse it.
///
/// Requires 1 to 1000 lines; applies the per-line rules of a session, including the US
/// sales-tax model when one line has type `sales_tax`.
pub fn validate_order_lines(lines: &Value, path: &str) -> Result<i64> {
    check_lines(Some(lines), path).map(|s| s.total_amount)
}

struct Facts {
    order_amount: i64,
    purchase_currency: String,
    merchant_reference1: Option<String>,
    short_code: Option<String>,
    webhook_url: Option<String>,
}

fn validate(order: &Map<String, Value>, allow_insecure_http: bool) -> Result<Facts> {
    let country = check_country(order)?;
    let purchase_currency = check_currency(order, &country)?;
    check_locale(order)?;

    let order_amount = amount(
        required(
            order,
            "order_amount",
            "order_amount",
            "the total to pay in minor units, e.g. 12500 for 125.00",
        )?,
        "order_amount",
    )?;
    if order_amount < 0 {
        return Err(Error::bad_field(
            "order_amount",
            format!("is {order_amount} but must not be negative (returns are refunds)"),
        ));
    }
    let order_tax_amount = optional(order, "order_tax_amount")
        .map(|v| amount(v, "order_tax_amount"))
        .transpose()?;

    let merchant_reference1 = optional_text(
        order,
        "merchant_reference1",
        "merchant_reference1",
        MAX_MERCHANT_REFERENCE_CHARS,
    )?;
    optional_text(
        order,
        "merchant_reference2",
        "merchant_reference2",
        MAX_MERCHANT_REFERENCE_CHARS,
    )?;
    check_channel(order)?;

    let lines = check_lines(order.get("order_lines"), "order_lines")?;
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

    let (short_code, webhook_url) =
        check_distribution(optional(order, "distribution"), allow_insecure_http)?;
    check_attachment(optional(order, "attachment"))?;

    Ok(Facts {
        order_amount,
        purchase_currency,
        merchant_reference1,
        short_code,
        webhook_url,
    })
}

// ---------------------------------------------------------------------------------------------
// Top-level fields

fn check_country(order: &Map<String, Value>) -> Result<String> {
    const EXPECTED: &str = "must be a two-letter ISO 3166-1 country code such as \"SE\" or \"US\"";
    let v = required(
        order,
        "purchase_country",
        "purchase_country",
        "the two-letter ISO 3166-1 country code of the store, e.g. \"SE\"",
    )?;
    match v.as_str() {
        Some(s) if is_letters(s, 2) => Ok(s.to_ascii_uppercase()),
        _ => Err(Error::bad_field(
            "purchase_country",
            format!("{EXPECTED}, not {}", describe(v)),
        )),
    }
}

fn check_currency(order: &Map<String, Value>, country: &str) -> Result<String> {
    const EXPECTED: &str =
        "must be a three-letter ISO 4217 currency code such as \"SEK\" or \"EUR\"";
    let v = required(
        order,
        "purchase_currency",
        "purchase_currency",
        "the three-letter ISO 4217 code of the country's currency, e.g. \"SEK\"",
    )?;
    let currency = match v.as_str() {
        Some(s) if is_letters(s, 3) => s.to_ascii_uppercase(),
        _ => {
            return Err(Error::bad_field(
                "purchase_currency",
                format!("{EXPECTED}, not {}", describe(v)),
            ))
        }
    };
    // A country missing from the table is left for Klarna to judge, so new markets work.
    if let Some(local) = local_currency(country) {
        if currency != local {
            return Err(Error::bad_field(
                "purchase_currency",
                format!("is {currency} but purchases in {country} must be made in {local}"),
            ));
        }
    }
    Ok(currency)
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

fn check_locale(order: &Map<String, Value>) -> Result<()> {
    let Some(v) = optional(order, "locale") else {
        return Ok(());
    };
    let ok = v.as_str().is_some_and(|s| {
        let b = s.as_bytes();
        b.len() == 5
            && b[0].is_ascii_alphabetic()
            && b[1].is_ascii_alphabetic()
            && b[2] == b'-'
            && b[3].is_ascii_alphabetic()
            && b[4].is_ascii_alphabetic()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::bad_field(
            "locale",
            format!(
                "must be a language-country locale such as \"sv-SE\" or \"en-US\", not {}",
                describe(v)
            ),
        ))
    }
}

fn check_channel(order: &Map<String, Value>) -> Result<()> {
    let Some(v) = optional(order, "acquiring_channel") else {
        return Ok(());
    };
    if v.as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("in_store"))
    {
        return Ok(());
    }
    Err(Error::bad_field(
        "acquiring_channel",
        format!(
            "is {} but this library only does in-store sessions: use \"in_store\" or leave it out",
            describe(v)
        ),
    ))
}

// ---------------------------------------------------------------------------------------------
// Order lines

struct LinesSummary {
    count: usize,
    total_amount: i64,
    total_tax_amount: i64,
    /// Sum of the `sales_tax` lines' total_amount, when the order uses the US sales-tax model.
    sales_tax_amount: Option<i64>,
}

struct LineFacts {
    total_amount: i64,
    total_tax_amount: i64,
    is_sales_tax: bool,
}

fn check_lines(lines: Option<&Value>, path: &str) -> Result<LinesSummary> {
    let lines = match lines {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => {
            return Err(Error::bad_field(
                path,
                "is required: an array of 1 to 1000 order lines",
            ))
        }
        Some(other) => {
            return Err(Error::bad_field(
                path,
                format!(
                    "must be an array of 1 to 1000 order lines, not {}",
                    describe(other)
                ),
            ))
        }
    };
    if lines.is_empty() {
        return Err(Error::bad_field(path, "must hold at least one order line"));
    }
    if lines.len() > MAX_ORDER_LINES {
        return Err(Error::bad_field(
            path,
            format!(
                "holds {} order lines but at most {MAX_ORDER_LINES} are allowed",
                lines.len()
            ),
        ));
    }
    // Known up front so the first line that breaks the model is the one reported.
    let sales_tax_model = lines
        .iter()
        .any(|l| l.get("type").and_then(Value::as_str) == Some("sales_tax"));

    // Amounts are bounded by MAX_AMOUNT and lines by MAX_ORDER_LINES, so i64 sums cannot overflow.
    let mut summary = LinesSummary {
        count: lines.len(),
        total_amount: 0,
        total_tax_amount: 0,
        sales_tax_amount: sales_tax_model.then_some(0),
    };
    for (i, line) in lines.iter().enumerate() {
        let facts = check_line(
            line,
            LinePath {
                lines: path,
                index: i,
            },
            sales_tax_model,
        )?;
        summary.total_amount += facts.total_amount;
        summary.total_tax_amount += facts.total_tax_amount;
        if facts.is_sales_tax {
            if let Some(s) = summary.sales_tax_amount.as_mut() {
                *s += facts.total_amount;
            }
        }
    }
    Ok(summary)
}

/// A line's path, e.g. `order_lines[3]`.
#[derive(Clone, Copy)]
struct LinePath<'a> {
    lines: &'a str,
    index: usize,
}

/// A line field's path, e.g. `order_lines[3].total_amount`. Formatted only when an error names
/// it: a valid 1000-line order then builds no path strings at all.
#[derive(Clone, Copy)]
struct LineField<'a> {
    line: LinePath<'a>,
    key: &'static str,
}

impl Display for LinePath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.lines, self.index)
    }
}

impl Display for LineField<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.line, self.key)
    }
}

impl From<LineField<'_>> for String {
    fn from(path: LineField<'_>) -> String {
        path.to_string()
    }
}

fn check_line(line: &Value, path: LinePath<'_>, sales_tax_model: bool) -> Result<LineFacts> {
    let Some(obj) = line.as_object() else {
        return Err(Error::bad_field(
            path.to_string(),
            format!("must be an order line object, not {}", describe(line)),
        ));
    };
    let field = |key: &'static str| LineField { line: path, key };

    let name = required(
        obj,
        "name",
        field("name"),
        "the product name printed for the customer",
    )?;
    match name.as_str() {
        Some(s) if s.chars().any(char::is_control) => {
            return Err(control_characters(field("name")))
        }
        Some(s) if !s.trim().is_empty() && s.chars().count() <= MAX_NAME_CHARS => {}
        Some(s) if !s.trim().is_empty() => {
            return Err(Error::bad_field(
                field("name"),
                format!(
                    "has {} characters but at most {MAX_NAME_CHARS} are allowed",
                    s.chars().count()
                ),
            ))
        }
        _ => {
            return Err(Error::bad_field(
                field("name"),
                format!("must be a non-empty product name, not {}", describe(name)),
            ))
        }
    }

    let line_type = match optional(obj, "type") {
        None => None,
        Some(v) => match v.as_str() {
            Some(s) if LINE_TYPES.contains(&s) => Some(s),
            _ => {
                return Err(Error::bad_field(
                    field("type"),
                    format!(
                        "is {} but must be one of {}",
                        describe(v),
                        LINE_TYPES.join(", ")
                    ),
                ))
            }
        },
    };
    optional_text(
        obj,
        "reference",
        field("reference"),
        MAX_LINE_REFERENCE_CHARS,
    )?;

    let quantity_path = field("quantity");
    let quantity_value = required(
        obj,
        "quantity",
        quantity_path,
        "a whole number of units, 0 or more",
    )?;
    let quantity = match as_integer(quantity_value) {
        Ok(q) if q >= 0 => q,
        Ok(q) => {
            return Err(Error::bad_field(
                quantity_path,
                format!(
                    "is {q} but must not be negative; discounts are lines with negative amounts"
                ),
            ))
        }
        Err(IntProblem::OutOfRange) => {
            return Err(Error::bad_field(
                quantity_path,
                "is out of range: it does not fit a 64-bit integer",
            ))
        }
        Err(IntProblem::NotInteger) => {
            return Err(Error::bad_field(
                quantity_path,
                format!(
                    "must be a whole number of units, 0 or more, not {}",
                    describe(quantity_value)
                ),
            ))
        }
    };

    let unit_price = required_line_amount(obj, "unit_price", field("unit_price"))?;
    let discount_path = field("total_discount_amount");
    let discount = match optional(obj, "total_discount_amount") {
        None => 0,
        Some(v) => amount(v, discount_path)?,
    };
    if discount < 0 {
        return Err(Error::bad_field(
            discount_path,
            format!(
                "is {discount} but must not be negative: it is taken off quantity * unit_price"
            ),
        ));
    }
    let total_amount = required_line_amount(obj, "total_amount", field("total_amount"))?;

    let tax_rate_path = field("tax_rate");
    let tax_rate = match optional(obj, "tax_rate") {
        None => 0,
        Some(v) => match as_integer(v) {
            Ok(r) if (0..=MAX_TAX_RATE).contains(&r) => r,
            Ok(r) => {
                return Err(Error::bad_field(
                    tax_rate_path,
                    format!("is {r} but must be from 0 to {MAX_TAX_RATE} (2500 means 25 %)"),
                ))
            }
            Err(_) => {
                return Err(Error::bad_field(
                    tax_rate_path,
                    format!(
                        "must be an integer from 0 to {MAX_TAX_RATE} (2500 means 25 %), not {}",
                        describe(v)
                    ),
                ))
            }
        },
    };
    let tax_path = field("total_tax_amount");
    let stated_tax = match optional(obj, "total_tax_amount") {
        None => None,
        Some(v) => Some(amount(v, tax_path)?),
    };
    let total_tax_amount = stated_tax.unwrap_or(0);

    // i128: quantity may be as large as i64::MAX, so the product would overflow i64.
    let expected_total = i128::from(quantity) * i128::from(unit_price) - i128::from(discount);
    if i128::from(total_amount) != expected_total {
        return Err(Error::bad_field(
            field("total_amount"),
            format!(
                "is {} but quantity * unit_price - total_discount_amount = {} * {} - {} = {}",
                total_amount, quantity, unit_price, discount, expected_total
            ),
        ));
    }

    let is_sales_tax = line_type == Some("sales_tax");
    if sales_tax_model && !is_sales_tax {
        const WHY: &str = concat!(
            "must be 0 or absent: the order has a sales_tax line (US sales-tax model), ",
            "so only that line carries tax"
        );
        if tax_rate != 0 {
            return Err(Error::bad_field(
                tax_rate_path,
                format!("is {tax_rate} but {WHY}"),
            ));
        }
        if total_tax_amount != 0 {
            return Err(Error::bad_field(
                tax_path,
                format!("is {total_tax_amount} but {WHY}"),
            ));
        }
    }

    // total_amount includes tax; the net part is total * 10000 / (10000 + rate), truncated.
    let total = i128::from(total_amount);
    let expected_tax = total - total * 10_000 / (10_000 + i128::from(tax_rate));
    if (i128::from(total_tax_amount) - expected_tax).abs() > 1 {
        return Err(Error::bad_field(
            tax_path,
            format!(
                "is {} but total_amount {} at tax_rate {} contains {} of tax (+/-1 tolerated)",
                stated(stated_tax),
                total_amount,
                tax_rate,
                expected_tax
            ),
        ));
    }

    Ok(LineFacts {
        total_amount,
        total_tax_amount,
        is_sales_tax,
    })
}

fn required_line_amount(
    obj: &Map<String, Value>,
    key: &str,
    path: impl Display + Copy,
) -> Result<i64> {
    amount(
        required(obj, key, path, "an integer amount in minor units")?,
        path,
    )
}

fn check_order_tax(order_tax_amount: Option<i64>, lines: &LinesSummary) -> Result<()> {
    let tax = order_tax_amount.unwrap_or(0);
    if let Some(sales_tax) = lines.sales_tax_amount {
        if tax != sales_tax {
            return Err(Error::bad_field(
                "order_tax_amount",
                format!(
                    "is {} but must equal the sales_tax lines' total_amount, {sales_tax}",
                    stated(order_tax_amount)
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
                stated(order_tax_amount),
                lines.total_tax_amount
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Distribution and attachment

fn check_distribution(
    distribution: Option<&Value>,
    allow_insecure_http: bool,
) -> Result<(Option<String>, Option<String>)> {
    let d = match distribution {
        None => return Ok((None, None)),
        Some(Value::Object(d)) => d,
        Some(other) => {
            return Err(Error::bad_field(
                "distribution",
                format!(
                    "must be an object such as {{\"method\": \"one_qr\"}}, not {}",
                    describe(other)
                ),
            ))
        }
    };

    if let Some(m) = optional(d, "method") {
        if !m
            .as_str()
            .is_some_and(|s| DISTRIBUTION_METHODS.contains(&s))
        {
            return Err(Error::bad_field(
                "distribution.method",
                format!(
                    "is {} but must be one_qr, qr or payment_link (absent means one_qr)",
                    describe(m)
                ),
            ));
        }
    }

    let short_code = match optional(d, "short_code") {
        None => None,
        Some(Value::String(s)) if is_short_code(s) => Some(s.clone()),
        Some(Value::Number(_)) => {
            return Err(Error::bad_field(
                "distribution.short_code",
                "must be a JSON string of 2 to 20 digits; a number would lose leading zeros",
            ))
        }
        Some(v) => {
            return Err(Error::bad_field(
                "distribution.short_code",
                format!(
                    "is {} but must be the 2 to 20 digits the customer read from the store's QR",
                    describe(v)
                ),
            ))
        }
    };

    let webhook_url = match optional(d, "callback_urls") {
        None => None,
        Some(Value::Object(c)) => match optional(c, "status_update") {
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
                    format!("must be an https:// URL as a string, not {}", describe(v)),
                ))
            }
        },
        Some(v) => {
            return Err(Error::bad_field(
                "distribution.callback_urls",
                format!(
                    "must be an object such as {{\"status_update\": \"https://...\"}}, not {}",
                    describe(v)
                ),
            ))
        }
    };

    Ok((short_code, webhook_url))
}

fn is_short_code(s: &str) -> bool {
    (2..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn check_attachment(attachment: Option<&Value>) -> Result<()> {
    let a = match attachment {
        None => return Ok(()),
        Some(Value::Object(a)) => a,
        Some(other) => {
            return Err(Error::bad_field(
                "attachment",
                format!(
                    "must be an object with content_type and body, not {}",
                    describe(other)
                ),
            ))
        }
    };
    match optional(a, "body") {
        Some(Value::String(_) | Value::Object(_) | Value::Array(_)) => {}
        None => {
            return Err(Error::bad_field(
                "attachment.body",
                "is required: the EMD as a JSON object, or as a string holding it serialised",
            ))
        }
        Some(other) => {
            return Err(Error::bad_field(
                "attachment.body",
                format!(
                    "must be a JSON object, or a string holding one serialised, not {}",
                    describe(other)
                ),
            ))
        }
    }
    match optional(a, "content_type") {
        None | Some(Value::String(_)) => Ok(()),
        Some(other) => Err(Error::bad_field(
            "attachment.content_type",
            format!(
                "must be a string such as \"{EMD_CONTENT_TYPE}\", not {}",
                describe(other)
            ),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Defaults

/// Fills the in-store defaults into an order that passed validation.
fn fill_defaults(order: &mut Map<String, Value>) -> Result<()> {
    // Inserting an existing key keeps its position (preserve_order), so a given channel is
    // normalised in place.
    order.insert("acquiring_channel".into(), Value::String("in_store".into()));

    match order.get_mut("distribution") {
        Some(Value::Object(d)) => {
            if optional(d, "method").is_none() {
                d.insert("method".into(), Value::String("one_qr".into()));
            }
        }
        _ => {
            let mut d = Map::new();
            d.insert("method".into(), Value::String("one_qr".into()));
            order.insert("distribution".into(), Value::Object(d));
        }
    }

    if let Some(Value::Object(a)) = order.get_mut("attachment") {
        // Klarna wants the EMD as a string; a string given by the till is sent as it is.
        let serialised = match a.get("body") {
            Some(body @ (Value::Object(_) | Value::Array(_))) => {
                Some(serde_json::to_string(body).map_err(|e| {
                    Error::bad_field("attachment.body", format!("could not be serialised: {e}"))
                })?)
            }
            _ => None,
        };
        if let Some(text) = serialised {
            a.insert("body".into(), Value::String(text));
            if optional(a, "content_type").is_none() {
                a.insert(
                    "content_type".into(),
                    Value::String(EMD_CONTENT_TYPE.into()),
                );
            }
        }
    }
    Ok(())
}

/// Puts the library's webhook URL into `distribution.callback_urls.status_update`, keeping any
/// other callback URLs the order has. `fill_defaults` made sure `distribution` is an object.
fn set_callback_url(order: &mut Map<String, Value>, url: &str) {
    if let Some(Value::Object(d)) = order.get_mut("distribution") {
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
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The field's value, with `null` counted as absent.
fn optional<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn required<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: impl Display + Copy,
    expected: &str,
) -> Result<&'a Value> {
    optional(obj, key)
        .ok_or_else(|| Error::bad_field(path.to_string(), format!("is required: {expected}")))
}

/// An optional string of at most `max_chars` characters without control characters, returned
/// owned. Shared with Order Management bodies (`description`, `reference`).
pub(crate) fn optional_text(
    obj: &Map<String, Value>,
    key: &str,
    path: impl Display + Copy,
    max_chars: usize,
) -> Result<Option<String>> {
    match optional(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => {
            let n = s.chars().count();
            if s.chars().any(char::is_control) {
                Err(control_characters(path.to_string()))
            } else if n > max_chars {
                Err(Error::bad_field(
                    path.to_string(),
                    format!("has {n} characters but at most {max_chars} are allowed"),
                ))
            } else {
                Ok(Some(s.clone()))
            }
        }
        Some(other) => Err(Error::bad_field(
            path.to_string(),
            format!(
                "must be a string of at most {max_chars} characters, not {}",
                describe(other)
            ),
        )),
    }
}

/// Names and references end up on receipts, in the customer's app and in Klarna's portal, where
/// a newline or an escape sequence has no meaning; they are refused rather than passed on.
fn control_characters(path: impl Into<String>) -> Error {
    Error::bad_field(
        path,
        "must not contain control characters (newlines, tabs, escape sequences)",
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IntProblem {
    NotInteger,
    OutOfRange,
}

/// A JSON integer as i64. Decimals (`100.0`, `1e2`) are not integers even when whole.
fn as_integer(v: &Value) -> std::result::Result<i64, IntProblem> {
    let Value::Number(n) = v else {
        return Err(IntProblem::NotInteger);
    };
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    if n.is_u64() {
        return Err(IntProblem::OutOfRange);
    }
    // Integers beyond u64 are parsed as floats; tell those apart from ordinary decimals.
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() >= 9.2e18 => Err(IntProblem::OutOfRange),
        _ => Err(IntProblem::NotInteger),
    }
}

/// An amount in minor units within ±MAX_AMOUNT.
fn amount(v: &Value, path: impl Display + Copy) -> Result<i64> {
    match as_integer(v) {
        Ok(a) if a.unsigned_abs() <= MAX_AMOUNT.unsigned_abs() => Ok(a),
        Ok(_) | Err(IntProblem::OutOfRange) => Err(Error::bad_field(
            path.to_string(),
            format!("is out of range: amounts lie within +/-{MAX_AMOUNT} minor units"),
        )),
        Err(IntProblem::NotInteger) => Err(Error::bad_field(
            path.to_string(),
            format!(
                "must be an integer amount in minor units (e.g. 1995 for 19.95), not {}",
                describe(v)
            ),
        )),
    }
}

fn is_letters(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_alphabetic())
}

/// An optional amount as shown in messages.
fn stated(v: Option<i64>) -> String {
    match v {
        Some(v) => v.to_string(),
        None => "absent (0)".into(),
    }
}

/// A short description of a value for error messages; long strings are cut.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("the number {n}"),
        Value::Number(n) => format!("the decimal number {n}"),
        Value::String(s) => {
            const MAX: usize = 40;
            if s.chars().count() > MAX {
                let head: String = s.chars().take(MAX).collect();
                format!("the string {head:?}...")
            } else {
                format!("the string {s:?}")
            }
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Code;

    const INVALID_ORDERS: &str = include_str!("../../tests/data/invalid_orders.json");
    const SE_VAT_DISCOUNT: &str =
        include_str!("../../tests/data/valid_orders/se_vat_discount.json");
    const GB: &str = include_str!("../../tests/data/valid_orders/gb.json");
    const US_SALES_TAX: &str = include_str!("../../tests/data/valid_orders/us_sales_tax.json");
    const DE_EMD: &str = include_str!("../../tests/data/valid_orders/de_emd.json");
    const SE_COFFEE: &str = include_str!("../../examples/orders/se_coffee.json");

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
            assert_eq!(
                req.body,
                serde_json::to_string(&expected).unwrap(),
                "{name}"
            );
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
    fn emd_string_body_is_sent_unchanged() {
        let mut order = parse(DE_EMD);
        let text =
            "{ \"customer_account_info\" : [ {\"unique_account_identifier\":\"ü-\\u00e9 42\"} ] }";
        order["attachment"] = serde_json::json!({"body": text});
        let body = parse(&prepare(&order).unwrap().body);
        assert_eq!(body["attachment"]["body"].as_str(), Some(text));
        // A string body is the till's business; no content type is invented for it.
        assert_eq!(body["attachment"].get("content_type"), None);

        order["attachment"] =
            serde_json::json!({"content_type": "text/plain", "body": [1, {"a": 2}]});
        let body = parse(&prepare(&order).unwrap().body);
        assert_eq!(body["attachment"]["content_type"], "text/plain");
        assert_eq!(body["attachment"]["body"], "[1,{\"a\":2}]");
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
                "callback_urls": {"status_update": "https://pos.example/kl?id=1&s=x", "x": 1},
                "x_unknown": [true]
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
        assert_eq!(
            keys(d),
            ["short_code", "callback_urls", "x_unknown", "method"]
        );
        assert_eq!(d["method"], "one_qr");

        order["distribution"] = serde_json::json!({"method": "payment_link"});
        let body = parse(&prepare(&order).unwrap().body);
        assert_eq!(
            body["distribution"],
            serde_json::json!({"method": "payment_link"})
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
    }

    #[test]
    fn limits_are_inclusive() {
        let mut order = parse(GB);
        order["merchant_reference1"] = "é".repeat(255).into();
        order["order_lines"][0]["name"] = "ß".repeat(255).into();
        order["order_lines"][0]["reference"] = "R".repeat(64).into();
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
