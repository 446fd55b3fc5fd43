//! Status codes the gateway answers with.

use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// `code` of `api/transaction`, of the e-wallet commands and of order queries.
///
/// The gateway may add codes; an unknown one is kept as [`Code::Other`], never rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Code {
    /// 100: the request's data was not correct (our fault; resending the same request cannot help).
    DataIncorrect,
    /// 220: cancel succeeded.
    Cancelled,
    /// 230: refund succeeded.
    Refunded,
    /// 250: paid.
    Paid,
    /// 280: accepted; the final result comes later.
    Accepted,
    /// 290: paid, but some information (such as the amount) did not match.
    PaidWithMismatch,
    /// 300: failed (declined).
    Failed,
    /// 380: expired.
    Expired,
    /// 400: system error at the gateway; retryable.
    SystemError,
    /// 600: settled.
    Settled,
    /// A0001: pending, the upstream link broke; the provider re-sends the final result later.
    Pending,
    /// A0002: abandoned.
    Abandoned,
    /// B200: e-wallet command or query done.
    Done,
    /// B500: e-wallet command or query failed.
    NotDone,
    /// B600: the member never set a transaction password (answer of `api/forgottp`).
    NoPasswordSet,
    /// Any code this version does not know.
    Other(String),
}

impl Code {
    pub fn as_str(&self) -> &str {
        match self {
            Code::DataIncorrect => "100",
            Code::Cancelled => "220",
            Code::Refunded => "230",
            Code::Paid => "250",
            Code::Accepted => "280",
            Code::PaidWithMismatch => "290",
            Code::Failed => "300",
            Code::Expired => "380",
            Code::SystemError => "400",
            Code::Settled => "600",
            Code::Pending => "A0001",
            Code::Abandoned => "A0002",
            Code::Done => "B200",
            Code::NotDone => "B500",
            Code::NoPasswordSet => "B600",
            Code::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> Code {
        match s.trim() {
            "100" => Code::DataIncorrect,
            "220" => Code::Cancelled,
            "230" => Code::Refunded,
            "250" => Code::Paid,
            "280" => Code::Accepted,
            "290" => Code::PaidWithMismatch,
            "300" => Code::Failed,
            "380" => Code::Expired,
            "400" => Code::SystemError,
            "600" => Code::Settled,
            "A0001" => Code::Pending,
            "A0002" => Code::Abandoned,
            "B200" => Code::Done,
            "B500" => Code::NotDone,
            "B600" => Code::NoPasswordSet,
            other => Code::Other(other.to_owned()),
        }
    }

    /// True for the codes after which the gateway will not change its mind about a charge.
    pub fn is_final_for_charge(&self) -> bool {
        matches!(
            self,
            Code::Paid
                | Code::PaidWithMismatch
                | Code::Settled
                | Code::Failed
                | Code::Expired
                | Code::DataIncorrect
                | Code::Abandoned
                | Code::Cancelled
                | Code::Refunded
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    /// The gateway sends codes as strings, but numeric codes sometimes arrive as JSON numbers.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CodeVisitor;

        impl Visitor<'_> for CodeVisitor {
            type Value = Code;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a status code, as text or a whole number")
            }

            fn visit_str<E: de::Error>(self, code: &str) -> Result<Code, E> {
                Ok(Code::parse(code))
            }

            fn visit_i64<E: de::Error>(self, code: i64) -> Result<Code, E> {
                Ok(Code::parse(&code.to_string()))
            }

            fn visit_u64<E: de::Error>(self, code: u64) -> Result<Code, E> {
                match i64::try_from(code) {
                    Ok(code) => self.visit_i64(code),
                    Err(_) => Err(E::invalid_value(Unexpected::Unsigned(code), &self)),
                }
            }
        }

        d.deserialize_any(CodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_kept() {
        for text in ["100", "250", "290", "A0001", "B600", "Z999"] {
            let code: Code = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{text}\""));
        }
        assert_eq!(
            serde_json::from_str::<Code>("250").unwrap(),
            Code::Paid,
            "numeric codes are accepted"
        );
        assert_eq!(Code::parse("Z999"), Code::Other("Z999".into()));
    }
}
