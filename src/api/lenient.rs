//! The one reader of the gateway's loosely typed JSON.
//!
//! The gateway sends the same field as `10` in one answer and `"10"` in another, `uid` as a number or
//! a string, and empty strings where a value is absent. Every optional field of the wire types is
//! read here, in one of two forms:
//!
//! - `#[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]`: absent, `null`
//!   and `""` are `None`, and the field's type ([`Lenient`]) reads the rest. Text is kept exactly as
//!   sent (numbers and flags as their text), since codes are printed and compared byte for byte.
//! - `#[serde(default, with = "trimmed", skip_serializing_if = "Option::is_none")]`: text for people
//!   (a title, a date, an invoice number), trimmed; blank is `None`.
//!
//! The structs declared with [`super::fields`] (the answer and its invoice blocks) name the same
//! two forms after their fields' types (`= lenient`, `= trimmed`) and read them through
//! [`ReadLenient`] and [`ReadTrimmed`].
//!
//! Numbers are read one way everywhere ([`whole_number`]): `3`, `"3"`, `" 3 "`, `3.0` and `"3.00"`
//! are 3; a fraction is refused, and money must be a whole number of TWD, or the answer is refused.
//!
//! Each value is taken from the parser as it was sent ([`Sent`]): the readers see text borrowed
//! from the input and numbers as numbers, and follow the same rules a [`Value`] would be read by.

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// A whole number of New Taiwan dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Twd(pub u64);

impl fmt::Display for Twd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The gateway's string fields carry amounts as text (`"10"`), so amounts go out as text.
impl Serialize for Twd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Twd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Twd::from_sent(Sent::deserialize(d)?).map_err(de::Error::custom)
    }
}

impl Twd {
    fn from_sent(sent: Sent<'_>) -> Result<Twd, String> {
        Twd::read_whole(&sent).ok_or_else(|| not_twd(sent.into_value()))
    }

    #[inline]
    fn read_whole(sent: &Sent<'_>) -> Option<Twd> {
        sent.whole_number()
            .and_then(|n| u64::try_from(n).ok())
            .map(Twd)
    }
}

fn not_twd(value: impl fmt::Display) -> String {
    format!("{value} is not a whole, non-negative amount of TWD")
}

/// A whole number however the gateway writes it: `10`, `"10"`, `" 10 "`, `10.0` or `"10.00"`.
/// `None` for a fraction, for text that is not a number, and for anything but a number or text.
pub fn whole_number(value: &Value) -> Option<i128> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .map(i128::from)
            .or_else(|| n.as_i64().map(i128::from))
            .or_else(|| n.as_f64().and_then(whole_float)),
        Value::String(s) => whole_number_in_text(s),
        _ => None,
    }
}

#[inline]
fn whole_number_in_text(text: &str) -> Option<i128> {
    let text = text.trim();
    match text.parse::<i128>() {
        Ok(n) => Some(n),
        Err(_) if text.contains('.') => text.parse::<f64>().ok().and_then(whole_float),
        Err(_) => None,
    }
}

fn whole_float(f: f64) -> Option<i128> {
    (f.is_finite() && f.fract() == 0.0).then_some(f as i128)
}

/// Reads an amount: a whole, non-negative number of TWD ([`whole_number`]). A fraction, a negative
/// number or text is an error, since a misread amount is worse than a refused answer.
pub fn parse_twd(value: &Value) -> Result<Twd, String> {
    whole_number(value)
        .and_then(|n| u64::try_from(n).ok())
        .map(Twd)
        .ok_or_else(|| not_twd(value))
}

/// One value as the gateway sent it, read straight from the parser: text borrowed from the input
/// when it holds no escapes, whole numbers as numbers, and only the rare rest (`null`, a flag, a
/// fraction, a list, an object) as a [`Value`]. Reads what a [`Value`] would hold, without
/// building one for every field.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent<'de> {
    Text(Cow<'de, str>),
    Unsigned(u64),
    Signed(i64),
    Other(Value),
}

impl Sent<'_> {
    /// The value as a [`Value`], as it would have been parsed.
    pub fn into_value(self) -> Value {
        match self {
            Sent::Text(text) => Value::String(text.into_owned()),
            Sent::Unsigned(n) => Value::from(n),
            Sent::Signed(n) => Value::from(n),
            Sent::Other(value) => value,
        }
    }

    /// Read as [`whole_number`] reads the same value.
    #[inline]
    pub fn whole_number(&self) -> Option<i128> {
        match self {
            Sent::Text(text) => whole_number_in_text(text),
            Sent::Unsigned(n) => Some(i128::from(*n)),
            Sent::Signed(n) => Some(i128::from(*n)),
            Sent::Other(value) => whole_number(value),
        }
    }

    /// Text as sent; anything else as its JSON text.
    #[inline]
    fn into_text(self) -> String {
        match self {
            Sent::Text(text) => text.into_owned(),
            Sent::Unsigned(n) => n.to_string(),
            Sent::Signed(n) => n.to_string(),
            Sent::Other(value) => value.to_string(),
        }
    }

    #[inline]
    fn is_null(&self) -> bool {
        matches!(self, Sent::Other(Value::Null))
    }

    /// Text that is empty once trimmed, which every type but raw text reads as absent.
    #[inline]
    pub fn is_blank(&self) -> bool {
        matches!(self, Sent::Text(text) if text.trim().is_empty())
    }
}

impl<'de> Deserialize<'de> for Sent<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SentVisitor)
    }
}

struct SentVisitor;

impl<'de> Visitor<'de> for SentVisitor {
    type Value = Sent<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Sent<'de>, E> {
        Ok(Sent::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Sent<'de>, E> {
        Ok(Sent::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Sent<'de>, E> {
        Ok(Sent::Text(Cow::Owned(text)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Sent<'de>, E> {
        Ok(Sent::Unsigned(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Sent<'de>, E> {
        Ok(Sent::Signed(n))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Sent<'de>, E> {
        Ok(Sent::Other(Value::from(f)))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Sent<'de>, E> {
        Ok(Sent::Other(Value::Bool(b)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Sent<'de>, E> {
        Ok(Sent::Other(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Sent<'de>, E> {
        Ok(Sent::Other(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Sent<'de>, D::Error> {
        Sent::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Sent<'de>, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Sent::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Sent<'de>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Sent::Other)
    }
}

/// A type an optional wire field holds, read from whatever the gateway sent that is not `null`
/// or `""`.
pub trait Lenient: Sized {
    /// The value, or `None` when what was sent counts as absent for this type.
    fn read(sent: Sent<'_>) -> Result<Option<Self>, String>;
}

/// Text as sent; a number, a flag (or, oddly, a list or an object) as its JSON text.
impl Lenient for String {
    #[inline]
    fn read(sent: Sent<'_>) -> Result<Option<Self>, String> {
        Ok(Some(sent.into_text()))
    }
}

impl Lenient for Twd {
    #[inline]
    fn read(sent: Sent<'_>) -> Result<Option<Self>, String> {
        // Blank text is never a number: it is looked for only when no amount was read.
        match Twd::read_whole(&sent) {
            Some(amount) => Ok(Some(amount)),
            None if sent.is_blank() => Ok(None),
            None => Err(not_twd(sent.into_value())),
        }
    }
}

/// `true`, `"true"`, `1` or `"1"`, and their opposites.
impl Lenient for bool {
    fn read(sent: Sent<'_>) -> Result<Option<Self>, String> {
        match sent {
            Sent::Unsigned(n) => Ok(Some(n != 0)),
            Sent::Signed(n) => Ok(Some(n != 0)),
            Sent::Other(Value::Bool(b)) => Ok(Some(b)),
            Sent::Other(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
            Sent::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(format!("{s:?} is not true or false")),
            },
            Sent::Other(other) => Err(format!("{other} is not true or false")),
        }
    }
}

/// Reads a type with a `Deserialize` of its own (a nested body): blank text is absent, anything
/// else is the type's to read.
pub fn typed<T: DeserializeOwned>(sent: Sent<'_>) -> Result<Option<T>, String> {
    if sent.is_blank() {
        return Ok(None);
    }
    serde_json::from_value(sent.into_value())
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Reads an optional field of a [`Lenient`] type: absent, `null` and `""` are `None`.
pub fn deserialize<'de, D: Deserializer<'de>, T: Lenient>(d: D) -> Result<Option<T>, D::Error> {
    match Sent::deserialize(d)? {
        sent if sent.is_null() => Ok(None),
        Sent::Text(text) if text.is_empty() => Ok(None),
        sent => T::read(sent).map_err(de::Error::custom),
    }
}

/// An optional field of a [`Lenient`] type read on its own, by [`deserialize`].
pub struct ReadLenient<T>(pub Option<T>);

impl<'de, T: Lenient> Deserialize<'de> for ReadLenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize(d).map(ReadLenient)
    }
}

/// An optional text field for people read on its own, by [`trimmed::deserialize`].
pub struct ReadTrimmed(pub Option<String>);

impl<'de> Deserialize<'de> for ReadTrimmed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        trimmed::deserialize(d).map(ReadTrimmed)
    }
}

/// Writes an optional field as its value (the field is skipped when `None`).
pub fn serialize<S: Serializer, T: Serialize>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    value.serialize(s)
}

/// Text for people, trimmed: blank is `None`.
pub mod trimmed {
    use super::Sent;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::borrow::Cow;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let text = match Sent::deserialize(d)? {
            sent if sent.is_null() => return Ok(None),
            Sent::Text(text) => text,
            sent => Cow::Owned(sent.into_text()),
        };
        Ok(match text.trim() {
            "" => None,
            trimmed if trimmed.len() == text.len() => Some(text.into_owned()),
            trimmed => Some(trimmed.to_owned()),
        })
    }

    pub fn serialize<S: Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        super::serialize(value, s)
    }

    /// A required text field for people, trimmed; `null` is empty.
    pub fn or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        deserialize(d).map(Option::unwrap_or_default)
    }
}

/// A required count (a quantity): read as a [`whole_number`], written as text, the way the
/// gateway's string fields carry counts.
pub mod count {
    use super::Sent;
    use serde::de::{self, Deserializer};
    use serde::{Deserialize, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let sent = Sent::deserialize(d)?;
        sent.whole_number()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                de::Error::custom(format!("{} is not a whole number", sent.into_value()))
            })
    }

    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::lenient;
    use serde_json::json;

    #[test]
    fn amounts_are_whole_twd_however_they_are_written() {
        for v in [
            json!(10),
            json!("10"),
            json!(" 10 "),
            json!(10.0),
            json!("10.00"),
        ] {
            assert_eq!(parse_twd(&v), Ok(Twd(10)), "{v}");
        }
        for v in [
            json!(10.5),
            json!("10.5"),
            json!(-1),
            json!("ten"),
            json!(""),
            json!(null),
        ] {
            assert!(parse_twd(&v).is_err(), "{v} must be refused");
        }
        assert_eq!(serde_json::to_string(&Twd(150)).unwrap(), "\"150\"");
    }

    #[test]
    fn what_was_sent_reads_as_its_value_reads() {
        for text in [
            "3",
            r#""3""#,
            r#"" 3 ""#,
            "3.0",
            r#""3.00""#,
            "3.5",
            r#""1e2""#,
            "-2",
            r#""+2""#,
            r#""\u0033""#,
            "18446744073709551615",
            r#""170141183460469231731687303715884105727""#,
            "true",
            "null",
            "[1]",
            r#"{"a":1}"#,
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            let sent: Sent = serde_json::from_str(text).unwrap();
            assert_eq!(sent.whole_number(), whole_number(&value), "{text}");
            assert_eq!(Sent::deserialize(value.clone()).unwrap(), sent, "{text}");
            assert_eq!(sent.into_value(), value, "{text}");
        }
    }

    #[derive(Debug, Deserialize, Serialize)]
    struct Fields {
        #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
        raw: Option<String>,
        #[serde(default, with = "trimmed", skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
        amount: Option<Twd>,
        #[serde(default, with = "lenient", skip_serializing_if = "Option::is_none")]
        flag: Option<bool>,
    }

    fn read(json: Value) -> Result<Fields, serde_json::Error> {
        serde_json::from_value(json)
    }

    #[test]
    fn text_is_raw_or_trimmed_as_the_field_says() {
        let fields = read(json!({"raw": "**  ", "title": " Cafe "})).unwrap();
        assert_eq!(fields.raw.as_deref(), Some("**  "));
        assert_eq!(fields.title.as_deref(), Some("Cafe"));
        let fields = read(json!({"raw": 42, "title": "   "})).unwrap();
        assert_eq!(fields.raw.as_deref(), Some("42"));
        assert_eq!(fields.title, None);
        let fields = read(json!({"raw": "", "title": null, "amount": " ", "flag": ""})).unwrap();
        assert!(fields.raw.is_none() && fields.amount.is_none() && fields.flag.is_none());
        assert_eq!(
            serde_json::to_value(read(json!({"amount": 150.0})).unwrap()).unwrap(),
            json!({"amount": "150"})
        );
    }

    #[test]
    fn numbers_are_read_one_way() {
        for v in [
            json!(3),
            json!("3"),
            json!(" 3 "),
            json!(3.0),
            json!("3.00"),
        ] {
            assert_eq!(whole_number(&v), Some(3), "{v}");
        }
        for v in [
            json!(3.5),
            json!("3.5"),
            json!("1e2"),
            json!("three"),
            json!(true),
        ] {
            assert_eq!(whole_number(&v), None, "{v}");
        }
        assert_eq!(whole_number(&json!("-2")), Some(-2));
        assert!(read(json!({"amount": "-2"})).is_err());
        assert_eq!(read(json!({"flag": "1"})).unwrap().flag, Some(true));
        assert!(read(json!({"flag": "maybe"})).is_err());
    }
}
