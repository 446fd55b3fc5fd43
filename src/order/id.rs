//! Order ids: the key the gateway files a charge under, and the key of the order in the store.
//!
//! The gateway only recommends that order ids be unique, yet reconciliation (`api/querydirect`)
//! finds a transaction by its order id alone, so the daemon makes them unique itself: a generated
//! id is `<device>-<milliseconds>-<counter>`, and an id given by the POS app is checked against the
//! API's rule here and against the store's existing orders there.

use crate::api::validate::{self, FieldError};
use serde::{Deserialize, Serialize};
use std::fmt;

use super::time::Timestamp;

/// An order id that satisfies the API's rule: 1 to 50 bytes of printable ASCII without spaces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(String);

impl OrderId {
    /// Accepts an id given by the POS app, naming the rule it breaks.
    pub fn parse(id: impl Into<String>) -> Result<OrderId, FieldError> {
        let id = id.into();
        validate::order_id("order_id", &id)?;
        Ok(OrderId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrderId {
    type Error = FieldError;
    fn try_from(id: String) -> Result<Self, Self::Error> {
        OrderId::parse(id)
    }
}

impl From<OrderId> for String {
    fn from(id: OrderId) -> String {
        id.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest device id: with a 20-digit millisecond stamp and a 4-digit counter the order id stays
/// within the gateway's 50 bytes.
pub const DEVICE_ID_MAX_BYTES: usize = 24;

/// Generates order ids unique to one device: `<device>-<milliseconds>-<counter>`.
///
/// The stamp never goes backwards within one generator, even when the clock does, and the counter
/// tells apart ids made in the same millisecond. Across restarts the store keeps the last stamp
/// and the generator resumes after it ([`OrderIdGenerator::resume_after`]), so a clock set back
/// never makes an id twice, even for orders long pruned from the store.
#[derive(Debug, Clone)]
pub struct OrderIdGenerator {
    device: String,
    last_stamp: u64,
    counter: u16,
    /// The next id may use `last_stamp` with counter 0: nothing was made at that stamp yet.
    fresh: bool,
}

impl OrderIdGenerator {
    /// `device` is 1 to 24 bytes of ASCII letters, digits, `_` or `.`.
    pub fn new(device: &str) -> Result<OrderIdGenerator, FieldError> {
        if device.is_empty() || device.len() > DEVICE_ID_MAX_BYTES {
            return Err(FieldError::new(
                "device_id",
                format!("must be 1 to {DEVICE_ID_MAX_BYTES} bytes long"),
            ));
        }
        if let Some(c) = device
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.')))
        {
            return Err(FieldError::new(
                "device_id",
                format!("contains {c:?}; only ASCII letters, digits, '_' and '.' are allowed"),
            ));
        }
        Ok(OrderIdGenerator {
            device: device.to_owned(),
            last_stamp: 0,
            counter: 0,
            fresh: false,
        })
    }

    /// Continues after ids made up to `stamp` (by an earlier run): the next id is stamped later,
    /// whatever the clock says.
    pub fn resume_after(&mut self, stamp: u64) {
        if stamp >= self.last_stamp {
            self.last_stamp = stamp.saturating_add(1);
            self.counter = 0;
            self.fresh = true;
        }
    }

    /// The stamp of the last id made, to be stored with it (see [`Self::resume_after`]).
    pub fn last_stamp(&self) -> u64 {
        self.last_stamp
    }

    pub fn next_id(&mut self, now: Timestamp) -> OrderId {
        if std::mem::take(&mut self.fresh) {
            self.last_stamp = self.last_stamp.max(now.as_millis());
            return self.id();
        }
        let stamp = now.as_millis().max(self.last_stamp);
        if stamp == self.last_stamp {
            // Within one millisecond: count; past 9999 ids in one millisecond borrow the next one.
            if self.counter == 9999 {
                self.last_stamp = self.last_stamp.saturating_add(1);
                self.counter = 0;
            } else {
                self.counter += 1;
            }
        } else {
            self.last_stamp = stamp;
            self.counter = 0;
        }
        self.id()
    }

    fn id(&self) -> OrderId {
        OrderId(format!(
            "{}-{}-{}",
            self.device, self.last_stamp, self.counter
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn given_ids_follow_the_api_rule() {
        assert!(OrderId::parse("POS1-0001").is_ok());
        assert_eq!(
            OrderId::parse("訂單").unwrap_err().field,
            "order_id",
            "non-ASCII is refused"
        );
        assert!(OrderId::parse("x".repeat(51)).is_err());
        assert!(serde_json::from_str::<OrderId>("\"a b\"").is_err());
        let id: OrderId = serde_json::from_str("\"A-1\"").unwrap();
        assert_eq!(id.as_str(), "A-1");
    }

    #[test]
    fn device_ids_are_checked() {
        assert!(OrderIdGenerator::new("till_1.a").is_ok());
        assert!(OrderIdGenerator::new("").is_err());
        assert!(OrderIdGenerator::new(&"d".repeat(25)).is_err());
        let e = OrderIdGenerator::new("till-1").unwrap_err();
        assert!(e.problem.contains("'-'"), "{e}");
    }

    #[test]
    fn a_resumed_generator_never_repeats_an_earlier_runs_ids() {
        let mut first = OrderIdGenerator::new("T").unwrap();
        let made: Vec<OrderId> = (0..3)
            .map(|_| first.next_id(Timestamp::from_millis(1_000)))
            .collect();
        let mut second = OrderIdGenerator::new("T").unwrap();
        second.resume_after(first.last_stamp());
        // The clock went back across the restart.
        let next = second.next_id(Timestamp::from_millis(0));
        assert!(!made.contains(&next), "{next} repeated");
        assert_eq!(next.as_str(), "T-1001-0");
        assert_eq!(
            second.next_id(Timestamp::from_millis(5_000)).as_str(),
            "T-5000-0"
        );
    }

    #[test]
    fn generated_ids_are_unique_valid_and_fit_even_at_the_extremes() {
        let mut generator = OrderIdGenerator::new(&"D".repeat(DEVICE_ID_MAX_BYTES)).unwrap();
        let mut seen = HashSet::new();
        // The clock going backwards, then 20 000 ids within one millisecond.
        let times = [5, 5, 5, 4, 3, 6].into_iter().chain([7; 20_000]);
        for t in times {
            let id = generator.next_id(Timestamp::from_millis(t));
            assert!(seen.insert(id.clone()), "{id} repeated");
        }
        let mut far_future = OrderIdGenerator::new(&"D".repeat(DEVICE_ID_MAX_BYTES)).unwrap();
        for _ in 0..3 {
            let id = far_future.next_id(Timestamp::from_millis(u64::MAX - 1));
            validate::order_id("order_id", id.as_str()).unwrap();
        }
    }
}
