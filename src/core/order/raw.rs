//! Borrowed views of request JSON: an object as its fields in the till's order, each value as
//! raw JSON text ([`RawValue`]) pointing into the till's string. Nothing is copied or built, so a
//! 1000-line order is checked without allocating a value per field, and what is passed on keeps
//! the till's exact text (decimal digits, key order, unknown fields).

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

/// An object key, borrowed unless it had escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The fields of an object in the order given, each as raw JSON; with `lines`, the object's
/// `order_lines` read into typed views in the same pass (and then absent from `fields`).
#[derive(Debug, Default)]
pub struct RawFields<'a> {
    pub fields: Vec<(Key<'a>, &'a RawValue)>,
    pub lines: Option<Lines<'a>>,
}

impl<'a> RawFields<'a> {
    /// The value of `key`, `null` included.
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.fields
            .iter()
            .find(|(k, _)| k.0 == key)
            .map(|(_, v)| *v)
    }
}

/// A JSON value read as an object of raw fields, or what it was instead ("an array", ...).
#[derive(Debug)]
pub enum RawObject<'a> {
    Object(RawFields<'a>),
    NotObject(&'static str),
}

/// `order_lines` read in the pass over the order: its lines, or what it was instead.
#[derive(Debug)]
pub enum Lines<'a> {
    Array(Vec<Line<'a>>),
    NotArray(&'static str),
}

/// The visitor methods of a value that is not the object or array expected: all that matters
/// is what it was (`$not` is made from its description); an array is skipped without being kept.
macro_rules! not_an_object {
    ($not:expr) => {
        fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($not("an array"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($not("null"))
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($not("a boolean"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($not("a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($not("a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($not("a number"))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($not("a string"))
        }
    };
}

/// Reads an object; with `read_lines`, its `order_lines` too (see [`RawFields`]).
#[derive(Clone, Copy)]
struct ObjectSeed {
    read_lines: bool,
}

impl<'de> Visitor<'de> for ObjectSeed {
    type Value = RawObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut object = RawFields::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if object.fields.iter().any(|(k, _)| *k == key)
                || (key.0 == "order_lines" && object.lines.is_some())
            {
                // Which of the two a reader takes differs between readers: refused.
                return Err(de::Error::custom(format_args!(
                    "the key {:?} is given twice",
                    key.0
                )));
            }
            if self.read_lines && key.0 == "order_lines" {
                object.lines = Some(map.next_value_seed(LinesSeed)?);
                continue;
            }
            let value: &'de RawValue = map.next_value()?;
            // Order lines are read field by field, with their own guard.
            if key.0 != "order_lines" {
                guard_depth::<M::Error>(value)?;
            }
            object.fields.push((key, value));
        }
        Ok(RawObject::Object(object))
    }

    not_an_object!(RawObject::NotObject);
}

impl<'de> DeserializeSeed<'de> for ObjectSeed {
    type Value = RawObject<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Reads `order_lines` in the pass over the order.
struct LinesSeed;

impl<'de> Visitor<'de> for LinesSeed {
    type Value = Lines<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut lines = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(1024));
        while let Some(line) = seq.next_element::<Line<'de>>()? {
            lines.push(line);
        }
        Ok(Lines::Array(lines))
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Lines::NotArray("an object"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lines::NotArray("null"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Lines::NotArray("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Lines::NotArray("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Lines::NotArray("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lines::NotArray("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Lines::NotArray("a string"))
    }
}

impl<'de> DeserializeSeed<'de> for LinesSeed {
    type Value = Lines<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// How deeply a value passed on unread may nest: as deep as a parsed value may (serde_json's
/// recursion limit), so that what the library sends is something Klarna's parser can read.
pub const MAX_DEPTH: usize = 128;

/// Refuses a value nested deeper than [`MAX_DEPTH`]. Scalars cost nothing; nested values are
/// scanned once.
///
/// A number beyond f64 (`1e400`) is refused here too, as a parsed value would refuse it: what
/// the library cannot read, it does not send.
fn guard_depth<E: de::Error>(v: &RawValue) -> Result<(), E> {
    let text = v.get().as_bytes();
    match text.first() {
        Some(b'[' | b'{') => {}
        Some(b'-' | b'0'..=b'9') => {
            return match v.get().parse::<f64>() {
                Ok(f) if f.is_infinite() => Err(E::custom("number out of range")),
                _ => Ok(()),
            }
        }
        _ => return Ok(()),
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(E::custom(format_args!(
                        "recursion limit exceeded: a value nests deeper than {MAX_DEPTH} levels"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Parses `text` as an object of raw fields. `Err` holds serde_json's reason when the text is
/// not JSON; `Ok(NotObject)` when it is JSON but no object.
pub fn object(text: &str) -> Result<RawObject<'_>, serde_json::Error> {
    read(text, false)
}

/// Parses an order in one pass: its fields as raw JSON, its `order_lines` as typed views.
pub fn order(text: &str) -> Result<RawObject<'_>, serde_json::Error> {
    read(text, true)
}

fn read(text: &str, read_lines: bool) -> Result<RawObject<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let object = ObjectSeed { read_lines }.deserialize(&mut de)?;
    de.end()?;
    Ok(object)
}

/// The fields of an order line that the checks read, as raw JSON; the rest is skipped.
#[derive(Debug, Default)]
pub struct LineFields<'a> {
    pub name: Option<&'a RawValue>,
    pub kind: Option<&'a RawValue>,
    pub reference: Option<&'a RawValue>,
    pub quantity: Option<&'a RawValue>,
    pub quantity_unit: Option<&'a RawValue>,
    pub unit_price: Option<&'a RawValue>,
    pub total_discount_amount: Option<&'a RawValue>,
    pub total_amount: Option<&'a RawValue>,
    pub tax_rate: Option<&'a RawValue>,
    pub total_tax_amount: Option<&'a RawValue>,
    pub merchant_data: Option<&'a RawValue>,
    pub product_url: Option<&'a RawValue>,
    pub image_url: Option<&'a RawValue>,
}

/// An order line: its fields, or a value that is not an object.
// Nearly every line is an object: boxing its fields would allocate once per line.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Line<'a> {
    Object(LineFields<'a>),
    /// What it was instead ("a string", ...).
    NotObject(&'static str),
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = Line<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut l = LineFields::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let slot = match key.0.as_ref() {
                "name" => &mut l.name,
                "type" => &mut l.kind,
                "reference" => &mut l.reference,
                "quantity" => &mut l.quantity,
                "quantity_unit" => &mut l.quantity_unit,
                "unit_price" => &mut l.unit_price,
                "total_discount_amount" => &mut l.total_discount_amount,
                "total_amount" => &mut l.total_amount,
                "tax_rate" => &mut l.tax_rate,
                "total_tax_amount" => &mut l.total_tax_amount,
                "merchant_data" => &mut l.merchant_data,
                "product_url" => &mut l.product_url,
                "image_url" => &mut l.image_url,
                _ => {
                    guard_depth::<M::Error>(map.next_value::<&'de RawValue>()?)?;
                    continue;
                }
            };
            if slot.is_some() {
                // The line is passed on as written: both would reach Klarna.
                return Err(de::Error::custom(format_args!(
                    "an order line has the field {:?} twice",
                    key.0
                )));
            }
            *slot = Some(map.next_value::<&'de RawValue>()?);
        }
        Ok(Line::Object(l))
    }

    not_an_object!(Line::NotObject);
}

impl<'de> Deserialize<'de> for Line<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LineVisitor)
    }
}

/// The lines of a raw JSON array (the caller checked that it is one).
pub fn lines(array: &RawValue) -> Result<Vec<Line<'_>>, serde_json::Error> {
    serde_json::from_str(array.get())
}
