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

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
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
        let value = Value::deserialize(d)?;
        parse_twd(&value).map_err(de::Error::custom)
    }
}

/// A whole number however the gateway writes it: `10`, `"10"`, `" 10 "`, `10.0` or `"10.00"`.
/// `None` for a fraction, for text that is not a number, and for anything but a number or text.
pub fn whole_number(value: &Value) -> Option<i128> {
    let whole = |f: f64| (f.is_finite() && f.fract() == 0.0).then_some(f as i128);
    match value {
        Value::Number(n) => n
            .as_u64()
            .map(i128::from)
            .or_else(|| n.as_i64().map(i128::from))
            .or_else(|| n.as_f64().and_then(whole)),
        Value::String(s) => {
            let text = s.trim();
            match text.parse::<i128>() {
                Ok(n) => Some(n),
                Err(_) if text.contains('.') => text.parse::<f64>().ok().and_then(whole),
                Err(_) => None,
            }
        }
        _ => None,
    }
}

/// Reads an amount: a whole, non-negative number of TWD ([`whole_number`]). A fraction, a negative
/// number or text is an error, since a misread amount is worse than a refused answer.
pub fn parse_twd(value: &Value) -> Result<Twd, String> {
    whole_number(value)
        .and_then(|n| u64::try_from(n).ok())
        .map(Twd)
        .ok_or_else(|| format!("{value} is not a whole, non-negative amount of TWD"))
}

/// A type an optional wire field holds, read from whatever the gateway sent that is not `null`
/// or `""`.
pub trait Lenient: Sized {
    /// The value, or `None` when what was sent counts as absent for this type.
    fn read(value: Value) -> Result<Option<Self>, String>;
}

/// Text as sent; a number, a flag (or, oddly, a list or an object) as its JSON text.
impl Lenient for String {
    fn read(value: Value) -> Result<Option<Self>, String> {
        Ok(Some(match value {
            Value::String(s) => s,
            other => other.to_string(),
        }))
    }
}

impl Lenient for Twd {
    fn read(value: Value) -> Result<Option<Self>, String> {
        if is_blank(&value) {
            return Ok(None);
        }
        parse_twd(&value).map(Some)
    }
}

/// `true`, `"true"`, `1` or `"1"`, and their opposites.
impl Lenient for bool {
    fn read(value: Value) -> Result<Option<Self>, String> {
        match &value {
            Value::Bool(b) => Ok(Some(*b)),
            Value::Number(n) => Ok(Some(n.as_i64() != Some(0))),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None),
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(format!("{s:?} is not true or false")),
            },
            other => Err(format!("{other} is not true or false")),
        }
    }
}

/// Reads a type with a `Deserialize` of its own (a value table's enum, a nested body): blank text
/// is absent, anything else is the type's to read.
pub fn typed<T: DeserializeOwned>(value: Value) -> Result<Option<T>, String> {
    if is_blank(&value) {
        return Ok(None);
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| e.to_string())
}

fn is_blank(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.trim().is_empty())
}

/// Reads an optional field of a [`Lenient`] type: absent, `null` and `""` are `None`.
pub fn deserialize<'de, D: Deserializer<'de>, T: Lenient>(d: D) -> Result<Option<T>, D::Error> {
    // Read as a `Value`, not an `Option<Value>`: `null` is `Value::Null`, and skipping serde's
    // option step costs one parse of the value instead of a peek and a parse.
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        value => T::read(value).map_err(de::Error::custom),
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
    use serde::{Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let text: Option<String> = super::deserialize(d)?;
        Ok(text
            .map(|text| match text.trim() {
                trimmed if trimmed.len() == text.len() => text,
                trimmed => trimmed.to_owned(),
            })
            .filter(|text| !text.is_empty()))
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
    use serde::de::{self, Deserializer};
    use serde::{Deserialize, Serializer};
    use serde_json::Value;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let value = Value::deserialize(d)?;
        super::whole_number(&value)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| de::Error::custom(format!("{value} is not a whole number")))
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
