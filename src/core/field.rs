//! The one reader of JSON fields: orders, Order Management bodies and the configuration read
//! their values through it, so one fault reads the same everywhere (`1e30` "is out of range"
//! wherever an integer belongs, `"12"` "must be an integer ..., not the string \"12\"").
//!
//! It reads parsed values ([`serde_json::Value`]) and borrowed raw JSON text
//! ([`serde_json::value::RawValue`], used for order lines so that they are checked without being
//! copied) alike, through [`Json`]. A reading returns a [`Fault`]: the message without the place;
//! [`Fault::at`] makes it an error about a request field, [`Fault::in_config`] one about a
//! configuration key.

use std::borrow::Cow;
use std::fmt::Display;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::error::Error;

/// What went wrong with a value, without saying where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault(pub String);

/// The result of reading one value.
pub type Read<T> = std::result::Result<T, Fault>;

impl Fault {
    pub fn new(message: impl Into<String>) -> Fault {
        Fault(message.into())
    }

    /// The fault as a refused request field (`KPOS_E_BAD_REQUEST` with the field's path).
    pub fn at(self, path: impl Display) -> Error {
        Error::bad_field(path.to_string(), self.0)
    }

    /// The fault as a refused configuration key (`KPOS_E_INVALID_ARGUMENT` with the key).
    pub fn in_config(self, key: &str) -> Error {
        Error::bad_config(key, self.0)
    }
}

/// The JSON types, as far as readings need them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

/// A number read as a 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integer {
    Value(i64),
    /// Whole, but beyond 64 bits (`1e30`, `18446744073709551615`).
    OutOfRange,
    /// Not a number, or a decimal (`1.5`, and also `100.0` or `1e2`: decimals are not integers
    /// even when whole).
    NotInteger,
}

/// A JSON value the reader can read: parsed or raw text.
pub trait Json {
    fn kind(&self) -> Kind;
    fn integer(&self) -> Integer;
    /// The string's text, borrowed when it needs no unescaping.
    fn text(&self) -> Option<Cow<'_, str>>;
    fn boolean(&self) -> Option<bool>;
    /// A short description for messages ("the string \"x\"", "the decimal number 1.5").
    fn describe(&self) -> String;
}

/// Integers beyond this magnitude, parsed as floats, are out of range rather than decimals.
const WHOLE_BEYOND_I64: f64 = 9.2e18;

fn float_integer(f: f64) -> Integer {
    // Beyond f64 (1e400) only raw text can hold; it is out of range too.
    if f.is_infinite() || (f.fract() == 0.0 && f.abs() >= WHOLE_BEYOND_I64) {
        Integer::OutOfRange
    } else {
        Integer::NotInteger
    }
}

impl Json for Value {
    fn kind(&self) -> Kind {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Bool,
            Value::Number(_) => Kind::Number,
            Value::String(_) => Kind::String,
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }

    fn integer(&self) -> Integer {
        let Value::Number(n) = self else {
            return Integer::NotInteger;
        };
        if let Some(i) = n.as_i64() {
            Integer::Value(i)
        } else if n.is_u64() {
            Integer::OutOfRange
        } else {
            n.as_f64().map_or(Integer::NotInteger, float_integer)
        }
    }

    fn text(&self) -> Option<Cow<'_, str>> {
        self.as_str().map(Cow::Borrowed)
    }

    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }

    fn describe(&self) -> String {
        describe_value(self)
    }
}

impl Json for RawValue {
    #[inline]
    fn kind(&self) -> Kind {
        match self.get().as_bytes().first() {
            Some(b'n') => Kind::Null,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'"') => Kind::String,
            Some(b'[') => Kind::Array,
            Some(b'{') => Kind::Object,
            _ => Kind::Number,
        }
    }

    #[inline]
    fn integer(&self) -> Integer {
        let s = self.get();
        if self.kind() != Kind::Number {
            return Integer::NotInteger;
        }
        let digits = s.strip_prefix('-').unwrap_or(s);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().map_or(Integer::OutOfRange, Integer::Value);
        }
        s.parse().map_or(Integer::NotInteger, float_integer)
    }

    #[inline]
    fn text(&self) -> Option<Cow<'_, str>> {
        let s = self.get();
        let inner = s.strip_prefix('"')?.strip_suffix('"')?;
        if inner.contains('\\') {
            serde_json::from_str::<String>(s).ok().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(inner))
        }
    }

    fn boolean(&self) -> Option<bool> {
        match self.get() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        // Only on the error path: parse to describe.
        match serde_json::from_str::<Value>(self.get()) {
            Ok(v) => describe_value(&v),
            // A number beyond f64 (1e400) is valid JSON that serde_json cannot hold.
            Err(_) if self.kind() == Kind::Number => format!("the number {}", self.get()),
            Err(_) => "an unreadable value".into(),
        }
    }
}

/// The field's value, with `null` counted as absent (tills written against other serialisers
/// often emit nulls for unset optional fields).
pub fn optional<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// A raw value with `null` counted as absent.
pub fn present<J: Json + ?Sized>(v: Option<&J>) -> Option<&J> {
    v.filter(|v| v.kind() != Kind::Null)
}

/// The fault of an absent required field: `is required: <expected>`.
pub fn required(expected: &str) -> Fault {
    Fault(format!("is required: {expected}"))
}

/// An integer from `min` to `max`. `what` completes "must be ..." (e.g. "an integer amount in
/// minor units (e.g. 1995 for 19.95)"). Anything whole but outside the range, 64-bit overflow
/// included, "is out of range".
pub fn integer<J: Json + ?Sized>(v: &J, min: i64, max: i64, what: &str) -> Read<i64> {
    match v.integer() {
        Integer::Value(i) if (min..=max).contains(&i) => Ok(i),
        Integer::Value(_) | Integer::OutOfRange => Err(out_of_range(v, min, max)),
        Integer::NotInteger => Err(Fault(format!("must be {what}, not {}", v.describe()))),
    }
}

/// The one wording of an integer outside its range.
pub fn out_of_range<J: Json + ?Sized>(v: &J, min: i64, max: i64) -> Fault {
    let shown = match v.integer() {
        Integer::Value(i) => i.to_string(),
        _ => v.describe(),
    };
    let range = match (min, max) {
        (i64::MIN, i64::MAX) => "a 64-bit integer".to_string(),
        (min, i64::MAX) => format!("at least {min}"),
        (min, max) => format!("from {min} to {max}"),
    };
    Fault(format!("is out of range: {shown} is not {range}"))
}

/// A string of any length.
pub fn string<'v, J: Json + ?Sized>(v: &'v J, what: &str) -> Read<Cow<'v, str>> {
    v.text()
        .ok_or_else(|| Fault(format!("must be {what}, not {}", v.describe())))
}

/// A string of `min` to `max` characters. `plain` also refuses control characters (names and
/// references end up on receipts and in Klarna's portal, where a newline or an escape sequence
/// has no meaning).
pub fn text<'v, J: Json + ?Sized>(
    v: &'v J,
    min: usize,
    max: usize,
    plain: bool,
) -> Read<Cow<'v, str>> {
    let Some(s) = v.text() else {
        return Err(Fault(format!(
            "must be a string of at most {max} characters, not {}",
            v.describe()
        )));
    };
    if plain && s.chars().any(char::is_control) {
        return Err(Fault::new(
            "must not contain control characters (newlines, tabs, escape sequences)",
        ));
    }
    // Byte length bounds the character count: most strings need no counting.
    let n = if s.len() <= max && s.len() >= min {
        None
    } else {
        Some(s.chars().count())
    };
    match n {
        Some(n) if n > max => Err(Fault(format!(
            "has {n} characters but at most {max} are allowed"
        ))),
        Some(n) if n < min => Err(Fault(if min == 1 {
            "must not be empty".to_string()
        } else {
            format!("has {n} characters but at least {min} are required")
        })),
        _ => Ok(s),
    }
}

/// `true` or `false`.
pub fn boolean<J: Json + ?Sized>(v: &J) -> Read<bool> {
    v.boolean()
        .ok_or_else(|| Fault(format!("must be true or false, not {}", v.describe())))
}

/// A short description of a value for error messages; long strings are cut.
pub fn describe_value(v: &Value) -> String {
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

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn parsed_and_raw_values_read_alike() {
        for text in [
            "0",
            "-5",
            "1.5",
            "100.0",
            "1e2",
            "1e30",
            "-1e30",
            "18446744073709551615",
            "99999999999999999999999",
            "9223372036854775807",
            "\"12\"",
            "\"a\\nb\"",
            "true",
            "null",
            "[1]",
            "{}",
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            let r = raw(text);
            assert_eq!(v.kind(), r.kind(), "{text}");
            assert_eq!(v.integer(), r.integer(), "{text}");
            assert_eq!(v.text(), r.text(), "{text}");
            assert_eq!(v.boolean(), r.boolean(), "{text}");
            assert_eq!(v.describe(), r.describe(), "{text}");
            assert_eq!(
                integer(&v, 0, 100, "an integer"),
                integer(&*r, 0, 100, "an integer"),
                "{text}"
            );
        }
    }

    #[test]
    fn one_wording_for_one_fault() {
        let huge = raw("1e30");
        assert!(integer(&*huge, 0, 10, "an amount")
            .unwrap_err()
            .0
            .starts_with("is out of range: the decimal number 1e"));
        assert_eq!(
            integer(&*huge, 0, 10, "an amount"),
            integer(&serde_json::json!(1e30), 0, 10, "an amount")
        );
        assert_eq!(
            integer(&*raw("11"), 0, 10, "an amount").unwrap_err().0,
            "is out of range: 11 is not from 0 to 10"
        );
        assert!(integer(&*raw("1.5"), 0, 10, "an amount")
            .unwrap_err()
            .0
            .starts_with("must be an amount, not the decimal number 1.5"));
    }

    #[test]
    fn text_counts_characters_not_bytes() {
        assert!(text(&*raw("\"ééé\""), 0, 3, true).is_ok());
        assert!(text(&*raw("\"éééé\""), 0, 3, true).is_err());
        assert!(text(&*raw("\"\""), 1, 3, true).is_err());
        assert!(text(&*raw("\"a\\tb\""), 0, 3, true).is_err());
        assert!(text(&*raw("\"a\\tb\""), 0, 3, false).is_ok());
    }
}
