//! What the gateway client reports back to the machine, stripped of any I/O type.
//!
//! The client sorts every call into one of three outcomes, and the machine's safety rests on that
//! split: only [`SendResult::NotSent`] proves the gateway never saw a request.

use crate::api::Code;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::time::Timestamp;

/// The outcome of one `api/transaction` attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum SendResult {
    /// DNS, connect or TLS failed: the request never left, resending is safe.
    NotSent,
    /// The request may have reached the gateway: a timeout or reset after sending, HTTP 5xx, a
    /// body that could not be read, or an answer about another order. `why` says which, for the
    /// order's history; it never holds the payment code.
    Unknown { why: String },
    /// The gateway answered with `code`; `answer` is its decrypted JSON as received.
    Answered {
        code: Code,
        answer: serde_json::Value,
    },
}

/// The outcome of one `api/querydirect` by order id.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryResult {
    /// The gateway holds a transaction for the order, with this status.
    Found {
        code: Code,
        answer: serde_json::Value,
    },
    /// The gateway has no transaction under this order id.
    NotFound,
    /// The query never left; ask again later.
    NotSent,
    /// The query may or may not have been answered; ask again later.
    Unknown,
}

/// The gateway's last word on the order, kept as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GatewayAnswer {
    pub code: Code,
    /// The decrypted answer's JSON text: an order is read and written several times per charge,
    /// and kept as text the answer is copied through rather than built into a tree each time.
    /// Readers parse what they need from it ([`GatewayAnswer::value`], or their own types).
    pub raw: Box<RawValue>,
    pub at: Timestamp,
}

impl GatewayAnswer {
    pub fn new(code: Code, answer: &serde_json::Value, at: Timestamp) -> GatewayAnswer {
        GatewayAnswer {
            code,
            raw: serde_json::value::to_raw_value(answer).expect("a JSON value always serializes"),
            at,
        }
    }

    /// The answer as a JSON tree.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.raw.get()).expect("the answer is JSON text")
    }
}

impl PartialEq for GatewayAnswer {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code && self.raw.get() == other.raw.get() && self.at == other.at
    }
}
