//! The customer's scanned payment code: a bearer token that pays whoever presents it first.
//!
//! [`PaymentCode`] keeps the text out of every rendering meant for people or logs: its `Debug`,
//! `Display` and `Serialize` all print `<redacted>`. The only way to read it is
//! [`PaymentCode::expose`], called where the request is built and where the store persists it.

use serde::{Serialize, Serializer};
use std::fmt;

/// Longest payment code accepted; e-wallet codes are short barcodes or QR texts well below this.
pub const PAYMENT_CODE_MAX_BYTES: usize = 512;

const REDACTED: &str = "<redacted>";

#[derive(Clone, PartialEq, Eq)]
pub struct PaymentCode(String);

/// Why a scanned text cannot be a payment code. It never quotes the text itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentCodeError {
    #[error("the scanned payment code is empty")]
    Empty,
    #[error(
        "the scanned payment code is {0} bytes long; at most {PAYMENT_CODE_MAX_BYTES} are accepted"
    )]
    TooLong(usize),
    #[error("the scanned payment code contains whitespace or control characters")]
    BadCharacters,
}

impl PaymentCode {
    /// Accepts a scanned text: non-empty, at most [`PAYMENT_CODE_MAX_BYTES`], no whitespace or control
    /// characters (a scanner's trailing newline is trimmed first).
    pub fn new(scanned: impl Into<String>) -> Result<PaymentCode, PaymentCodeError> {
        let mut text: String = scanned.into();
        let trimmed_len = text.trim_end_matches(['\r', '\n']).len();
        text.truncate(trimmed_len);
        if text.is_empty() {
            return Err(PaymentCodeError::Empty);
        }
        if text.len() > PAYMENT_CODE_MAX_BYTES {
            return Err(PaymentCodeError::TooLong(text.len()));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(PaymentCodeError::BadCharacters);
        }
        Ok(PaymentCode(text))
    }

    /// The code itself, for the request to the gateway and for durable storage only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The form people may see: `MY32************8n`.
    pub fn masked(&self) -> MaskedCode {
        MaskedCode::of(&self.0)
    }
}

impl fmt::Debug for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentCode({REDACTED})")
    }
}

impl fmt::Display for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for PaymentCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// A code fit for logs and events: the first 4 and last 2 characters, the rest starred.
/// Codes too short for that to hide most of them are starred entirely.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct MaskedCode(String);

impl MaskedCode {
    const SHOWN_HEAD: usize = 4;
    const SHOWN_TAIL: usize = 2;
    const MIN_LENGTH_TO_SHOW: usize = 10;

    pub fn of(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let n = chars.len();
        if n < Self::MIN_LENGTH_TO_SHOW {
            return Self("*".repeat(n));
        }
        let mut masked: String = chars[..Self::SHOWN_HEAD].iter().collect();
        masked.push_str(&"*".repeat(n - Self::SHOWN_HEAD - Self::SHOWN_TAIL));
        masked.extend(&chars[n - Self::SHOWN_TAIL..]);
        Self(masked)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MaskedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_rendered() {
        let code = PaymentCode::new("281234567890123456\n").unwrap();
        assert_eq!(code.expose(), "281234567890123456");
        for shown in [
            format!("{code:?}"),
            format!("{code}"),
            serde_json::to_string(&code).unwrap(),
        ] {
            assert!(!shown.contains("2812345"), "{shown}");
            assert!(shown.contains(REDACTED));
        }
    }

    #[test]
    fn bad_scans_are_refused_without_quoting_them() {
        assert_eq!(PaymentCode::new("\n"), Err(PaymentCodeError::Empty));
        assert_eq!(
            PaymentCode::new("12 34"),
            Err(PaymentCodeError::BadCharacters)
        );
        assert_eq!(
            PaymentCode::new("9".repeat(513)),
            Err(PaymentCodeError::TooLong(513))
        );
        assert!(!PaymentCodeError::BadCharacters.to_string().contains("12"));
    }
}
