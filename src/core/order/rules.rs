//! Every field limit the library checks before sending, in one table ([`ALL`]), each with its
//! source. The checks read their limits from these rules; `tests/validation_limits.rs` sends,
//! for each rule, the value at the limit (accepted) and one past it (refused locally with the
//! field's path, no request sent). docs/validation.md explains the choices.
//!
//! Rules that relate fields to each other (line arithmetic, tax, the sum of the lines, the
//! country's currency) are not limits of one field; they live in the checks themselves.

use std::borrow::Cow;
use std::fmt::Display;

use super::super::error::{Error, Result};
use super::super::field::{self, Json, Kind};

/// Largest absolute amount, in minor units, Klarna accepts in any amount field.
pub const MAX_AMOUNT: i64 = 200_000_000;
/// What an amount field must be, in every message that says so.
pub const AMOUNT_FORM: &str = "an integer amount in minor units (e.g. 1995 for 19.95)";
/// Most order lines one order, capture or refund may hold.
pub const MAX_ORDER_LINES: usize = 1000;

/// Where a rule's field lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A top-level field of the session request (the till's order).
    Order,
    /// A field of each `order_lines[]` entry of the order.
    OrderLine,
    /// A field of `billing_address` and of `shipping_address`.
    Address,
    Customer,
    Options,
    MerchantUrls,
    Distribution,
    Attachment,
    /// A top-level field of a capture body (`kpos_order_capture`).
    Capture,
    /// A top-level field of a refund body (`kpos_order_refund`).
    Refund,
    /// A field of each `order_lines[]` entry of a capture or refund.
    ManagedLine,
    /// A field of each `shipping_info[]` entry of a capture.
    ShippingInfo,
}

impl Scope {
    /// The path of the field `key` in this scope, as error messages name it (first entry of
    /// arrays, billing address for addresses).
    pub fn example_path(self, key: &str) -> String {
        let prefix = match self {
            Scope::Order | Scope::Capture | Scope::Refund => "",
            Scope::OrderLine | Scope::ManagedLine => "order_lines[0].",
            Scope::Address => "billing_address.",
            Scope::Customer => "customer.",
            Scope::Options => "options.",
            Scope::MerchantUrls => "merchant_urls.",
            Scope::Distribution => "distribution.",
            Scope::Attachment => "attachment.",
            Scope::ShippingInfo => "shipping_info[0].",
        };
        format!("{prefix}{key}")
    }
}

/// What a rule allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A string of `min` to `max` characters; `plain` also refuses control characters.
    Chars { min: usize, max: usize, plain: bool },
    /// An integer from `min` to `max` (`None`: this rule sets no bound on that side).
    Integer { min: Option<i64>, max: Option<i64> },
    /// An array of `min` to `max` entries.
    Items { min: usize, max: usize },
    /// One of these strings, exactly.
    OneOf(&'static [&'static str]),
    /// A string of a documented form; `example` passes, `counter` does not.
    Form {
        form: Form,
        example: &'static str,
        counter: &'static str,
    },
    /// Set by Klarna in its answers; a request must not carry it.
    ReadOnly,
    /// Must be present.
    Required,
    /// An object holding only these keys.
    Keys(&'static [&'static str]),
}

/// The string forms rules check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `len` ASCII letters.
    Letters(usize),
    /// `ll` or `ll-CC` (and further `-XX` parts), letters only.
    Locale,
    /// 2 to 20 digits.
    ShortCode,
    /// `#RRGGBB`.
    HexColor,
    /// 4 or 9 digits.
    LastFourSsn,
    /// A string holding a JSON object, serialised.
    JsonObjectText,
}

impl Form {
    pub fn accepts(self, s: &str) -> bool {
        let letters =
            |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_alphabetic());
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        match self {
            Form::Letters(n) => letters(s, n),
            Form::Locale => {
                let mut parts = s.split('-');
                parts.next().is_some_and(|p| letters(p, 2)) && parts.all(|p| letters(p, 2))
            }
            Form::ShortCode => (2..=20).contains(&s.len()) && digits(s),
            Form::HexColor => {
                s.len() == 7
                    && s.starts_with('#')
                    && s.bytes().skip(1).all(|b| b.is_ascii_hexdigit())
            }
            Form::LastFourSsn => (s.len() == 4 || s.len() == 9) && digits(s),
            Form::JsonObjectText => matches!(
                serde_json::from_str::<serde_json::Value>(s),
                Ok(serde_json::Value::Object(_))
            ),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Form::Letters(2) => "a two-letter ISO 3166-1 country code such as \"SE\" or \"US\"",
            Form::Letters(3) => "a three-letter ISO 4217 currency code such as \"SEK\" or \"EUR\"",
            Form::Letters(_) => "letters",
            Form::Locale => "a language-country locale such as \"sv-SE\" or \"en-US\"",
            Form::ShortCode => "the 2 to 20 digits the customer read from the store's QR",
            Form::HexColor => "a color written #RRGGBB, e.g. \"#0A1B2C\"",
            Form::LastFourSsn => "the last 4 digits of the SSN, or all 9",
            Form::JsonObjectText => "a JSON object serialised to a string",
        }
    }
}

/// Where a limit comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Klarna's Payments API (`session_create` and its parts).
    Payments,
    /// Klarna's Order Management API (captures, refunds, their order lines).
    OrderManagement,
    /// Klarna's in-store documentation.
    InStore,
}

/// One field limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub scope: Scope,
    pub key: &'static str,
    pub limit: Limit,
    pub source: Source,
}

impl Rule {
    /// Checks a present (non-null) value against the rule; `path` names it in the error.
    pub fn check<'v, J: Json + ?Sized>(
        &self,
        v: &'v J,
        path: impl Display + Copy,
    ) -> Result<Checked<'v>> {
        self.read(v).map_err(|f| f.at(path))
    }

    /// Reads a present value, or says what is wrong with it.
    pub fn read<'v, J: Json + ?Sized>(&self, v: &'v J) -> field::Read<Checked<'v>> {
        match self.limit {
            Limit::Chars { min, max, plain } => field::text(v, min, max, plain).map(Checked::Text),
            Limit::Integer { min, max } => field::integer(
                v,
                min.unwrap_or(i64::MIN),
                max.unwrap_or(i64::MAX),
                "an integer",
            )
            .map(Checked::Integer),
            Limit::OneOf(allowed) => match v.text() {
                Some(s) if allowed.contains(&s.as_ref()) => Ok(Checked::Text(s)),
                _ => Err(field::Fault(format!(
                    "is {} but must be one of {}",
                    v.describe(),
                    allowed.join(", ")
                ))),
            },
            Limit::Form { form, .. } => match v.text() {
                Some(s) if form.accepts(&s) => Ok(Checked::Text(s)),
                _ => Err(field::Fault(format!(
                    "must be {}, not {}",
                    form.expected(),
                    v.describe()
                ))),
            },
            Limit::ReadOnly => Err(field::Fault::new(
                "is set by Klarna in its answers and must not be sent; leave it out",
            )),
            Limit::Items { .. } | Limit::Required | Limit::Keys(_) => {
                debug_assert!(v.kind() != Kind::Null);
                Ok(Checked::Present)
            }
        }
    }

    /// Checks an array length against an `Items` rule.
    pub fn check_items(&self, len: usize, path: impl Display) -> Result<()> {
        let Limit::Items { min, max } = self.limit else {
            return Ok(());
        };
        if len > max {
            Err(Error::bad_field(
                path.to_string(),
                format!("holds {len} entries but at most {max} are allowed"),
            ))
        } else if len < min {
            Err(Error::bad_field(
                path.to_string(),
                format!("must hold at least {min} entry"),
            ))
        } else {
            Ok(())
        }
    }

    /// The integer bounds of an `Integer` rule (open sides as `i64::MIN` / `i64::MAX`).
    pub fn bounds(&self) -> (i64, i64) {
        match self.limit {
            Limit::Integer { min, max } => (min.unwrap_or(i64::MIN), max.unwrap_or(i64::MAX)),
            _ => (i64::MIN, i64::MAX),
        }
    }
}

/// A value that passed its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked<'v> {
    Text(Cow<'v, str>),
    Integer(i64),
    Present,
}

const fn chars(scope: Scope, key: &'static str, max: usize, source: Source) -> Rule {
    Rule {
        scope,
        key,
        limit: Limit::Chars {
            min: 0,
            max,
            plain: false,
        },
        source,
    }
}

const fn plain(scope: Scope, key: &'static str, min: usize, max: usize, source: Source) -> Rule {
    Rule {
        scope,
        key,
        limit: Limit::Chars {
            min,
            max,
            plain: true,
        },
        source,
    }
}

const fn int(
    scope: Scope,
    key: &'static str,
    min: Option<i64>,
    max: Option<i64>,
    source: Source,
) -> Rule {
    Rule {
        scope,
        key,
        limit: Limit::Integer { min, max },
        source,
    }
}

const fn one_of(
    scope: Scope,
    key: &'static str,
    allowed: &'static [&'static str],
    source: Source,
) -> Rule {
    Rule {
        scope,
        key,
        limit: Limit::OneOf(allowed),
        source,
    }
}

const fn form(
    scope: Scope,
    key: &'static str,
    form: Form,
    example: &'static str,
    counter: &'static str,
    source: Source,
) -> Rule {
    Rule {
        scope,
        key,
        limit: Limit::Form {
            form,
            example,
            counter,
        },
        source,
    }
}

const fn read_only(key: &'static str) -> Rule {
    Rule {
        scope: Scope::Order,
        key,
        limit: Limit::ReadOnly,
        source: Source::Payments,
    }
}

pub use table::*;

/// The table: one rule a line.
#[rustfmt::skip]
mod table {
    use super::*;
    use Scope as S;
    use Source::{InStore, OrderManagement as Om, Payments};

    /// Order line types of a session.
    pub const LINE_TYPES: &[&str] = &[
        "physical",
        "discount",
        "shipping_fee",
        "sales_tax",
        "digital",
        "gift_card",
        "store_credit",
        "surcharge",
    ];
    /// Order line types of a capture or refund: a session's, and `return_fee`.
    pub const MANAGED_LINE_TYPES: &[&str] = &[
        "physical",
        "discount",
        "shipping_fee",
        "sales_tax",
        "digital",
        "gift_card",
        "store_credit",
        "surcharge",
        "return_fee",
    ];
    /// Klarna's shipping methods (`shipping_info[].shipping_method`).
    pub const SHIPPING_METHODS: &[&str] = &[
        "PickUpStore",
        "Home",
        "BoxReg",
        "BoxUnreg",
        "PickUpPoint",
        "Own",
        "Postal",
        "DHLPackstation",
        "Digital",
        "Undefined",
        "PickUpWarehouse",
        "ClickCollect",
        "PalletDelivery",
    ];

    // The order (session request), top level.
    pub const PURCHASE_COUNTRY: Rule = form(S::Order, "purchase_country", Form::Letters(2), "SE", "SWE", Payments);
    pub const PURCHASE_CURRENCY: Rule = form(S::Order, "purchase_currency", Form::Letters(3), "SEK", "SEKR", Payments);
    pub const LOCALE: Rule = form(S::Order, "locale", Form::Locale, "sv-SE", "sv_SE", Payments);
    pub const ORDER_AMOUNT: Rule = int(S::Order, "order_amount", Some(0), Some(MAX_AMOUNT), Payments);
    pub const ORDER_TAX_AMOUNT: Rule = int(S::Order, "order_tax_amount", Some(0), None, Payments);
    pub const MERCHANT_REFERENCE1: Rule = plain(S::Order, "merchant_reference1", 0, 255, Payments);
    pub const MERCHANT_REFERENCE2: Rule = plain(S::Order, "merchant_reference2", 0, 255, Payments);
    pub const MERCHANT_DATA: Rule = chars(S::Order, "merchant_data", 6000, Payments);
    pub const INTENT: Rule = one_of(S::Order, "intent", &["buy", "tokenize", "buy_and_tokenize"], Payments);
    pub const ORDER_LINES: Rule = Rule {
        scope: S::Order,
        key: "order_lines",
        limit: Limit::Items { min: 1, max: MAX_ORDER_LINES },
        source: Payments,
    };
    /// Fields of a session that only Klarna's answers carry.
    pub const READ_ONLY: [Rule; 5] = [
        read_only("client_token"),
        read_only("session_id"),
        read_only("status"),
        read_only("expires_at"),
        read_only("authorization_token"),
    ];
    pub const READ_ONLY_PAYMENT_METHOD_CATEGORIES: Rule = read_only("payment_method_categories");

    // Order lines of a session.
    pub const LINE_NAME: Rule = plain(S::OrderLine, "name", 1, 255, Payments);
    pub const LINE_TYPE: Rule = one_of(S::OrderLine, "type", LINE_TYPES, InStore);
    pub const LINE_REFERENCE: Rule = plain(S::OrderLine, "reference", 0, 255, Payments);
    pub const LINE_QUANTITY: Rule = int(S::OrderLine, "quantity", Some(0), None, Payments);
    pub const LINE_QUANTITY_UNIT: Rule = chars(S::OrderLine, "quantity_unit", 8, Payments);
    pub const LINE_UNIT_PRICE: Rule = int(S::OrderLine, "unit_price", Some(-MAX_AMOUNT), Some(MAX_AMOUNT), InStore);
    pub const LINE_TOTAL_AMOUNT: Rule = int(S::OrderLine, "total_amount", Some(-MAX_AMOUNT), Some(MAX_AMOUNT), InStore);
    pub const LINE_DISCOUNT: Rule = int(S::OrderLine, "total_discount_amount", Some(0), Some(MAX_AMOUNT), Payments);
    /// Not in [`all`](super::all): a line's tax is within 1 of the tax its `total_amount` contains, at most half
    /// of it, so this bound is reached only by amounts the tax rule refuses first.
    pub const LINE_TAX_AMOUNT: Rule = int(S::OrderLine, "total_tax_amount", Some(-MAX_AMOUNT), Some(MAX_AMOUNT), InStore);
    pub const LINE_TAX_RATE: Rule = int(S::OrderLine, "tax_rate", Some(0), Some(10_000), Payments);
    pub const LINE_MERCHANT_DATA: Rule = chars(S::OrderLine, "merchant_data", 1024, Payments);
    pub const LINE_PRODUCT_URL: Rule = chars(S::OrderLine, "product_url", 1024, Payments);
    pub const LINE_IMAGE_URL: Rule = chars(S::OrderLine, "image_url", 1024, Payments);

    // Addresses (billing_address, shipping_address).
    pub const ADDRESS: [Rule; 13] = [
        chars(S::Address, "attention", 99, Payments),
        chars(S::Address, "city", 99, Payments),
        form(S::Address, "country", Form::Letters(2), "SE", "SWE", Payments),
        chars(S::Address, "email", 99, Payments),
        chars(S::Address, "family_name", 99, Payments),
        chars(S::Address, "given_name", 99, Payments),
        chars(S::Address, "organization_name", 99, Payments),
        chars(S::Address, "phone", 99, Payments),
        chars(S::Address, "postal_code", 10, Payments),
        chars(S::Address, "region", 99, Payments),
        chars(S::Address, "street_address", 99, Payments),
        chars(S::Address, "street_address2", 99, Payments),
        chars(S::Address, "title", 20, Payments),
    ];

    // Customer, options, merchant URLs.
    pub const CUSTOMER: [Rule; 2] = [
        one_of(S::Customer, "type", &["person", "organization"], Payments),
        form(S::Customer, "last_four_ssn", Form::LastFourSsn, "1234", "12345", Payments),
    ];
    pub const OPTIONS: [Rule; 4] = [
        form(S::Options, "color_border", Form::HexColor, "#0A1B2C", "#0A1B2", Payments),
        form(S::Options, "color_border_selected", Form::HexColor, "#0A1B2C", "0A1B2C", Payments),
        form(S::Options, "color_details", Form::HexColor, "#0A1B2C", "#0A1B2G", Payments),
        form(S::Options, "color_text", Form::HexColor, "#0A1B2C", "#0A1B2CD", Payments),
    ];
    pub const MERCHANT_URLS: [Rule; 4] = [
        chars(S::MerchantUrls, "confirmation", 2000, Payments),
        chars(S::MerchantUrls, "notification", 2000, Payments),
        chars(S::MerchantUrls, "push", 2000, Payments),
        chars(S::MerchantUrls, "authorization", 2000, Payments),
    ];

    // Distribution and attachment.
    pub const DISTRIBUTION_KEYS: Rule = Rule {
        scope: S::Distribution,
        key: "",
        limit: Limit::Keys(&["method", "short_code", "callback_urls"]),
        source: InStore,
    };
    /// `one_qr` is sent; the older `qr` and `payment_link` are accepted and sent as `one_qr`
    /// (docs/validation.md).
    pub const DISTRIBUTION_METHOD: Rule = one_of(S::Distribution, "method", &["one_qr", "qr", "payment_link"], InStore);
    pub const SHORT_CODE: Rule = form(S::Distribution, "short_code", Form::ShortCode, "01234567890123456789", "012345678901234567890", InStore);
    pub const ATTACHMENT_CONTENT_TYPE: Rule = Rule {
        scope: S::Attachment,
        key: "content_type",
        limit: Limit::Required,
        source: Payments,
    };
    pub const ATTACHMENT_BODY_TEXT: Rule = form(S::Attachment, "body", Form::JsonObjectText, "{\"a\":1}", "[1]", Payments);

    // Captures and refunds.
    pub const CAPTURED_AMOUNT: Rule = int(S::Capture, "captured_amount", Some(0), Some(MAX_AMOUNT), Om);
    pub const REFUNDED_AMOUNT: Rule = int(S::Refund, "refunded_amount", Some(0), Some(MAX_AMOUNT), Om);
    pub const CAPTURE_DESCRIPTION: Rule = plain(S::Capture, "description", 0, 255, Om);
    pub const CAPTURE_REFERENCE: Rule = plain(S::Capture, "reference", 0, 255, Om);
    pub const REFUND_DESCRIPTION: Rule = plain(S::Refund, "description", 0, 255, Om);
    pub const REFUND_REFERENCE: Rule = plain(S::Refund, "reference", 0, 255, Om);
    pub const MANAGED_ORDER_LINES: Rule = Rule {
        scope: S::Capture,
        key: "order_lines",
        limit: Limit::Items { min: 0, max: MAX_ORDER_LINES },
        source: Om,
    };
    pub const SHIPPING_DELAY: Rule = int(S::Capture, "shipping_delay", Some(0), None, Om);
    pub const SHIPPING_INFO: Rule = Rule {
        scope: S::Capture,
        key: "shipping_info",
        limit: Limit::Items { min: 0, max: 500 },
        source: Om,
    };
    pub const SHIPPING_INFO_FIELDS: [Rule; 7] = [
        one_of(S::ShippingInfo, "shipping_method", SHIPPING_METHODS, Om),
        chars(S::ShippingInfo, "shipping_company", 100, Om),
        chars(S::ShippingInfo, "tracking_number", 100, Om),
        chars(S::ShippingInfo, "tracking_uri", 1024, Om),
        chars(S::ShippingInfo, "return_shipping_company", 100, Om),
        chars(S::ShippingInfo, "return_tracking_number", 100, Om),
        chars(S::ShippingInfo, "return_tracking_uri", 1024, Om),
    ];

    // Order lines of captures and refunds: Klarna's Order Management allows an empty name, any
    // non-negative tax rate and a 10-character quantity unit.
    pub const MANAGED_LINE_NAME: Rule = plain(S::ManagedLine, "name", 0, 255, Om);
    pub const MANAGED_LINE_TYPE: Rule = one_of(S::ManagedLine, "type", MANAGED_LINE_TYPES, Om);
    pub const MANAGED_LINE_REFERENCE: Rule = plain(S::ManagedLine, "reference", 0, 255, Om);
    pub const MANAGED_LINE_QUANTITY_UNIT: Rule = chars(S::ManagedLine, "quantity_unit", 10, Om);
    pub const MANAGED_LINE_TAX_RATE: Rule = int(S::ManagedLine, "tax_rate", Some(0), Some(i32::MAX as i64), Om);
    pub const MANAGED_LINE_DISCOUNT: Rule = int(S::ManagedLine, "total_discount_amount", Some(0), Some(MAX_AMOUNT), Om);
}

/// Every rule, in one table.
pub fn all() -> Vec<Rule> {
    let mut v = vec![
        PURCHASE_COUNTRY,
        PURCHASE_CURRENCY,
        LOCALE,
        ORDER_AMOUNT,
        ORDER_TAX_AMOUNT,
        MERCHANT_REFERENCE1,
        MERCHANT_REFERENCE2,
        MERCHANT_DATA,
        INTENT,
        ORDER_LINES,
    ];
    v.extend(READ_ONLY);
    v.push(READ_ONLY_PAYMENT_METHOD_CATEGORIES);
    v.extend([
        LINE_NAME,
        LINE_TYPE,
        LINE_REFERENCE,
        LINE_QUANTITY,
        LINE_QUANTITY_UNIT,
        LINE_UNIT_PRICE,
        LINE_TOTAL_AMOUNT,
        LINE_DISCOUNT,
        LINE_TAX_RATE,
        LINE_MERCHANT_DATA,
        LINE_PRODUCT_URL,
        LINE_IMAGE_URL,
    ]);
    v.extend(ADDRESS);
    v.extend(CUSTOMER);
    v.extend(OPTIONS);
    v.extend(MERCHANT_URLS);
    v.extend([
        DISTRIBUTION_KEYS,
        DISTRIBUTION_METHOD,
        SHORT_CODE,
        ATTACHMENT_CONTENT_TYPE,
        ATTACHMENT_BODY_TEXT,
        CAPTURED_AMOUNT,
        REFUNDED_AMOUNT,
        CAPTURE_DESCRIPTION,
        CAPTURE_REFERENCE,
        REFUND_DESCRIPTION,
        REFUND_REFERENCE,
        MANAGED_ORDER_LINES,
        SHIPPING_DELAY,
        SHIPPING_INFO,
    ]);
    v.extend(SHIPPING_INFO_FIELDS);
    v.extend([
        MANAGED_LINE_NAME,
        MANAGED_LINE_TYPE,
        MANAGED_LINE_REFERENCE,
        MANAGED_LINE_QUANTITY_UNIT,
        MANAGED_LINE_TAX_RATE,
        MANAGED_LINE_DISCOUNT,
    ]);
    v
}
