//! Lenient readers for the gateway's loosely typed JSON.
//!
//! The gateway sends the same field as `10` in one answer and `"10"` in another, `uid` as a number or
//! a string, and empty strings where a value is absent. These helpers accept all of that, except for
//! money: an amount must be a whole number of TWD, or the answer is refused.

use serde::de::{self, Deserializer};
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

/// Reads an amount: `10`, `"10"`, `10.0` and `"10.00"` are 10 TWD; a fraction, a negative number or
/// text is an error, since a misread amount is worse than a refused answer.
pub fn parse_twd(value: &Value) -> Result<Twd, String> {
    let whole = |f: f64| {
        if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 {
            Ok(Twd(f as u64))
        } else {
            Err(format!("{f} is not a whole, non-negative amount of TWD"))
        }
    };
    match value {
        Value::Number(n) => match n.as_u64() {
            Some(u) => Ok(Twd(u)),
            None => whole(n.as_f64().unwrap_or(-1.0)),
        },
        Value::String(s) => {
            let t = s.trim();
            if let Ok(u) = t.parse::<u64>() {
                return Ok(Twd(u));
            }
            match t.parse::<f64>() {
                Ok(f) if t.contains('.') => whole(f),
                _ => Err(format!("{s:?} is not an amount of TWD")),
            }
        }
        other => Err(format!("{other} is not an amount of TWD")),
    }
}

/// An optional amount: absent, `null` and `""` are `None`.
pub fn opt_twd<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Twd>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => parse_twd(&v).map(Some).map_err(de::Error::custom),
    }
}

/// Optional text that may arrive as a string or a number; absent, `null` and `""` are `None`.
pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    Ok(match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(other) => Some(other.to_string()),
    })
}

/// An optional integer that may arrive as `1` or `"1"`; absent, `null` and `""` are `None`.
pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("{s:?} is not a whole number"))),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("{n} is not a whole number"))),
        Some(other) => Err(de::Error::custom(format!("{other} is not a whole number"))),
    }
}

/// A boolean that may arrive as `true`, `"true"`, `1` or `"1"`.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(de::Error::custom(format!("{s:?} is not true or false"))),
        },
        Some(other) => Err(de::Error::custom(format!("{other} is not true or false"))),
    }
}

/// Writes a whole number as text, the way the gateway's string fields carry counts.
pub fn as_text<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// Reads a whole number written as `3` or `"3"`.
pub fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(d)?;
    match &value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| de::Error::custom(format!("{value} is not a whole number")))
}

/// Any optional value whose absence the gateway may write as `null` or `""`.
pub fn opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
