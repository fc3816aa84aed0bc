//! Order lines: of a session ([`check_order_lines`]) and of a capture or refund
//! ([`check_managed_lines`]). Each line is read from a borrowed, typed view of the till's JSON
//! ([`raw::LineFields`]) and checked by a few named rules, in this order:
//!
//! 1. [`texts`]: `name`, `type`, `reference`, `quantity_unit`, `merchant_data`, `product_url`,
//!    `image_url`;
//! 2. [`numbers`]: `quantity`, `unit_price`, `total_discount_amount`, `total_amount`,
//!    `tax_rate`, `total_tax_amount`, each against its rule;
//! 3. [`arithmetic`]: `total_amount = quantity * unit_price - total_discount_amount`;
//! 4. [`sales_tax_model`]: in an order with a `sales_tax` line (US model), only that line
//!    carries tax;
//! 5. [`tax`]: `total_tax_amount` is the tax contained in `total_amount` at `tax_rate`, +/-1.

use std::fmt::{self, Display};

use serde_json::value::RawValue;

use super::super::error::{Error, Result};
use super::super::field::{self, Json, Kind};
use super::raw::{self, Line, LineFields};
use super::rules::{self, Rule};

/// The rules that differ between the lines of a session and those of a capture or refund.
struct LineRules {
    name: Rule,
    /// A session's line name must hold more than white space (it is what the customer sees).
    name_not_blank: bool,
    kind: Rule,
    reference: Rule,
    quantity_unit: Rule,
    discount: Rule,
    tax_rate: Rule,
}

const SESSION: LineRules = LineRules {
    name: rules::LINE_NAME,
    name_not_blank: true,
    kind: rules::LINE_TYPE,
    reference: rules::LINE_REFERENCE,
    quantity_unit: rules::LINE_QUANTITY_UNIT,
    discount: rules::LINE_DISCOUNT,
    tax_rate: rules::LINE_TAX_RATE,
};

const MANAGED: LineRules = LineRules {
    name: rules::MANAGED_LINE_NAME,
    name_not_blank: false,
    kind: rules::MANAGED_LINE_TYPE,
    reference: rules::MANAGED_LINE_REFERENCE,
    quantity_unit: rules::MANAGED_LINE_QUANTITY_UNIT,
    discount: rules::MANAGED_LINE_DISCOUNT,
    tax_rate: rules::MANAGED_LINE_TAX_RATE,
};

/// What the order-level checks need from the lines.
pub struct LinesSummary {
    pub count: usize,
    pub total_amount: i64,
    pub total_tax_amount: i64,
    /// Sum of the `sales_tax` lines' total_amount, when the order uses the US sales-tax model.
    pub sales_tax_amount: Option<i64>,
}

/// Checks a session's `order_lines`, read in the pass over the order (1 to 1000 lines; `None`:
/// absent).
pub fn check_order_lines(lines: Option<&raw::Lines<'_>>) -> Result<LinesSummary> {
    const PATH: &str = "order_lines";
    match lines {
        None => Err(field::required("an array of 1 to 1000 order lines").at(PATH)),
        Some(raw::Lines::NotArray("null")) => {
            Err(field::required("an array of 1 to 1000 order lines").at(PATH))
        }
        Some(raw::Lines::NotArray(what)) => Err(not_an_array(what).at(PATH)),
        Some(raw::Lines::Array(entries)) => {
            check_entries(entries, PATH, &rules::ORDER_LINES, &SESSION)
        }
    }
}

/// Checks the `order_lines` of a capture or refund (0 to 1000 lines), named under `path`.
pub fn check_managed_lines(lines: &RawValue, path: &str) -> Result<LinesSummary> {
    if lines.kind() != Kind::Array {
        return Err(field::Fault(format!(
            "must be an array of order lines, not {}",
            lines.describe()
        ))
        .at(path));
    }
    let entries = raw::lines(lines)
        .map_err(|e| Error::invalid_argument(format!("{path} could not be read: {e}")))?;
    check_entries(&entries, path, &rules::MANAGED_ORDER_LINES, &MANAGED)
}

fn not_an_array(what: &str) -> field::Fault {
    field::Fault(format!("must be an array of order lines, not {what}"))
}

fn check_entries(
    entries: &[Line<'_>],
    path: &str,
    count_rule: &Rule,
    line_rules: &LineRules,
) -> Result<LinesSummary> {
    count_rule.check_items(entries.len(), path)?;

    // Known up front so the first line that breaks the model is the one reported.
    let sales_tax_model = entries.iter().any(|l| match l {
        Line::Object(f) => is_sales_tax(f),
        Line::NotObject(_) => false,
    });

    // Amounts are bounded by MAX_AMOUNT and lines by MAX_ORDER_LINES, so i64 sums cannot overflow.
    let mut summary = LinesSummary {
        count: entries.len(),
        total_amount: 0,
        total_tax_amount: 0,
        sales_tax_amount: sales_tax_model.then_some(0),
    };
    for (index, line) in entries.iter().enumerate() {
        let at = LinePath { lines: path, index };
        let fields = match line {
            Line::Object(fields) => fields,
            Line::NotObject(what) => {
                return Err(Error::bad_field(
                    at.to_string(),
                    format!("must be an order line object, not {what}"),
                ))
            }
        };
        let facts = check_line(fields, at, line_rules, sales_tax_model)?;
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

fn is_sales_tax(f: &LineFields<'_>) -> bool {
    f.kind.is_some_and(|k| k.get() == "\"sales_tax\"")
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

impl<'a> LinePath<'a> {
    fn field(self, key: &'static str) -> LineField<'a> {
        LineField { line: self, key }
    }
}

struct LineFacts {
    total_amount: i64,
    total_tax_amount: i64,
    is_sales_tax: bool,
}

/// The numbers of a line, read and each within its rule.
struct Numbers {
    quantity: i64,
    unit_price: i64,
    discount: i64,
    total_amount: i64,
    tax_rate: i64,
    /// As given; absent counts as 0 but is shown as absent.
    stated_tax: Option<i64>,
}

fn check_line(
    f: &LineFields<'_>,
    at: LinePath<'_>,
    line_rules: &LineRules,
    sales_tax_model: bool,
) -> Result<LineFacts> {
    texts(f, at, line_rules)?;
    let n = numbers(f, at, line_rules)?;
    arithmetic(&n, at)?;
    let is_sales_tax = is_sales_tax(f);
    if sales_tax_model && !is_sales_tax {
        self::sales_tax_model(&n, at)?;
    }
    tax(&n, at)?;
    Ok(LineFacts {
        total_amount: n.total_amount,
        total_tax_amount: n.stated_tax.unwrap_or(0),
        is_sales_tax,
    })
}

/// Rule 1: the line's strings.
fn texts(f: &LineFields<'_>, at: LinePath<'_>, r: &LineRules) -> Result<()> {
    let name_at = at.field("name");
    let name = field::present(f.name)
        .ok_or_else(|| field::required("the product name printed for the customer").at(name_at))?;
    let text = r.name.check(name, name_at)?;
    if r.name_not_blank {
        if let rules::Checked::Text(s) = &text {
            if s.trim().is_empty() {
                return Err(Error::bad_field(
                    name_at.to_string(),
                    format!("must be a non-empty product name, not {}", name.describe()),
                ));
            }
        }
    }
    for (value, rule) in [
        (f.kind, &r.kind),
        (f.reference, &r.reference),
        (f.quantity_unit, &r.quantity_unit),
        (f.merchant_data, &rules::LINE_MERCHANT_DATA),
        (f.product_url, &rules::LINE_PRODUCT_URL),
        (f.image_url, &rules::LINE_IMAGE_URL),
    ] {
        if let Some(v) = field::present(value) {
            rule.check(v, at.field(rule.key))?;
        }
    }
    Ok(())
}

/// Rule 2: each number within its rule.
fn numbers(f: &LineFields<'_>, at: LinePath<'_>, r: &LineRules) -> Result<Numbers> {
    let quantity = number(
        f.quantity,
        &rules::LINE_QUANTITY,
        at,
        Some("a whole number of units, 0 or more"),
        "a whole number of units, 0 or more",
    )?;
    let unit_price = amount(f.unit_price, &rules::LINE_UNIT_PRICE, at, true)?;
    let discount = amount(f.total_discount_amount, &r.discount, at, false)?;
    let total_amount = amount(f.total_amount, &rules::LINE_TOTAL_AMOUNT, at, true)?;
    let tax_rate = number(
        f.tax_rate,
        &r.tax_rate,
        at,
        None,
        "an integer tax rate (2500 means 25 %)",
    )?;
    let stated_tax = match field::present(f.total_tax_amount) {
        None => None,
        Some(_) => Some(amount(
            f.total_tax_amount,
            &rules::LINE_TAX_AMOUNT,
            at,
            true,
        )?),
    };
    Ok(Numbers {
        quantity,
        unit_price,
        discount,
        total_amount,
        tax_rate,
        stated_tax,
    })
}

/// An amount field of a line; absent is 0 unless `required`.
fn amount(v: Option<&RawValue>, rule: &Rule, at: LinePath<'_>, required: bool) -> Result<i64> {
    number(
        v,
        rule,
        at,
        required.then_some(rules::AMOUNT_FORM),
        rules::AMOUNT_FORM,
    )
}

/// An integer field of a line within its rule; absent is 0 unless `required` says what belongs.
fn number(
    v: Option<&RawValue>,
    rule: &Rule,
    at: LinePath<'_>,
    required: Option<&str>,
    what: &str,
) -> Result<i64> {
    let path = at.field(rule.key);
    match field::present(v) {
        None => match required {
            Some(expected) => Err(field::required(expected).at(path)),
            None => Ok(0),
        },
        Some(v) => {
            let (min, max) = rule.bounds();
            field::integer(v, min, max, what).map_err(|f| f.at(path))
        }
    }
}

/// Rule 3: `total_amount = quantity * unit_price - total_discount_amount`.
fn arithmetic(n: &Numbers, at: LinePath<'_>) -> Result<()> {
    // i128: quantity may be as large as i64::MAX, so the product would overflow i64.
    let expected = i128::from(n.quantity) * i128::from(n.unit_price) - i128::from(n.discount);
    if i128::from(n.total_amount) != expected {
        return Err(Error::bad_field(
            at.field("total_amount").to_string(),
            format!(
                "is {} but quantity * unit_price - total_discount_amount = {} * {} - {} = {}",
                n.total_amount, n.quantity, n.unit_price, n.discount, expected
            ),
        ));
    }
    Ok(())
}

/// Rule 4: with a `sales_tax` line in the order, other lines carry no tax.
fn sales_tax_model(n: &Numbers, at: LinePath<'_>) -> Result<()> {
    const WHY: &str = concat!(
        "must be 0 or absent: the order has a sales_tax line (US sales-tax model), ",
        "so only that line carries tax"
    );
    if n.tax_rate != 0 {
        return Err(Error::bad_field(
            at.field("tax_rate").to_string(),
            format!("is {} but {WHY}", n.tax_rate),
        ));
    }
    match n.stated_tax {
        Some(t) if t != 0 => Err(Error::bad_field(
            at.field("total_tax_amount").to_string(),
            format!("is {t} but {WHY}"),
        )),
        _ => Ok(()),
    }
}

/// Rule 5: the tax contained in `total_amount` at `tax_rate`, +/-1.
fn tax(n: &Numbers, at: LinePath<'_>) -> Result<()> {
    // total_amount includes tax; the net part is total * 10000 / (10000 + rate), truncated.
    let total = i128::from(n.total_amount);
    let expected = total - total * 10_000 / (10_000 + i128::from(n.tax_rate));
    if (i128::from(n.stated_tax.unwrap_or(0)) - expected).abs() > 1 {
        return Err(Error::bad_field(
            at.field("total_tax_amount").to_string(),
            format!(
                "is {} but total_amount {} at tax_rate {} contains {} of tax (+/-1 tolerated)",
                super::stated(n.stated_tax),
                n.total_amount,
                n.tax_rate,
                expected
            ),
        ));
    }
    Ok(())
}
