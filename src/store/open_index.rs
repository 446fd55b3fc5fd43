//! The unfinished orders in memory: a mirror of the `open` tree, changed as each step is applied
//! to sled, so the health answer and the caps a new order is checked against read no record,
//! however long the queue (a drain after an outage holds thousands).

use crate::order::{OpenTotals, Timestamp};
use std::collections::{BTreeSet, HashMap};

/// What the `open` tree holds for an order: its amount and when it was created, 8 bytes each,
/// big-endian. Stores written before the creation time was kept there hold the amount alone.
pub fn value(amount: u64, created_at: Timestamp) -> [u8; 16] {
    let mut value = [0; 16];
    value[..8].copy_from_slice(&amount.to_be_bytes());
    value[8..].copy_from_slice(&created_at.as_millis().to_be_bytes());
    value
}

/// One `open` tree value read back: the amount, and the creation time where it is kept.
pub fn parse(value: &[u8]) -> (u64, Option<Timestamp>) {
    let word = |bytes: Option<&[u8]>| {
        bytes
            .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
            .map(u64::from_be_bytes)
    };
    let amount = word(value.get(..8)).unwrap_or(0);
    let created_at = word(value.get(8..16)).map(Timestamp::from_millis);
    (amount, created_at)
}

#[derive(Debug, Default)]
pub struct OpenIndex {
    entries: HashMap<Box<[u8]>, (u64, Timestamp)>,
    /// By creation time, then id: the first is the oldest unfinished order.
    by_age: BTreeSet<(Timestamp, Box<[u8]>)>,
    amount: u128,
}

impl OpenIndex {
    /// Adds or replaces the order under `key`. An order whose creation time is unknown (its
    /// record unreadable) sorts after every other.
    pub fn put(&mut self, key: &[u8], amount: u64, created_at: Option<Timestamp>) {
        self.remove(key);
        let created_at = created_at.unwrap_or(Timestamp::from_millis(u64::MAX));
        self.entries.insert(key.into(), (amount, created_at));
        self.by_age.insert((created_at, key.into()));
        self.amount += u128::from(amount);
    }

    pub fn remove(&mut self, key: &[u8]) {
        if let Some((amount, created_at)) = self.entries.remove(key) {
            self.by_age.remove(&(created_at, Box::from(key)));
            self.amount -= u128::from(amount);
        }
    }

    pub fn clear(&mut self) {
        *self = OpenIndex::default();
    }

    pub fn totals(&self) -> OpenTotals {
        OpenTotals {
            orders: self.entries.len() as u64,
            amount: u64::try_from(self.amount).unwrap_or(u64::MAX),
        }
    }

    /// The keys of the unfinished orders, oldest first.
    pub fn oldest_first(&self) -> impl Iterator<Item = &[u8]> {
        self.by_age.iter().map(|(_, key)| key.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_age_follow_puts_and_removes() {
        let mut index = OpenIndex::default();
        let at = Timestamp::from_millis;
        index.put(b"b", 100, Some(at(20)));
        index.put(b"a", 50, Some(at(30)));
        index.put(b"c", u64::MAX, None);
        assert_eq!(index.oldest_first().collect::<Vec<_>>(), [b"b", b"a", b"c"]);
        assert_eq!(index.totals().amount, u64::MAX, "a sum past u64 saturates");
        index.remove(b"c");
        // A save that keeps the order open replaces its entry.
        index.put(b"b", 70, Some(at(20)));
        assert_eq!(
            index.totals(),
            OpenTotals {
                orders: 2,
                amount: 120
            }
        );
        index.put(b"a", 50, Some(at(10)));
        assert_eq!(index.oldest_first().next(), Some(&b"a"[..]));
        index.remove(b"missing");
        index.remove(b"a");
        index.remove(b"b");
        assert_eq!(index.totals(), OpenTotals::default());
        assert_eq!(index.oldest_first().count(), 0);
    }

    #[test]
    fn values_read_back_with_and_without_the_creation_time() {
        let stored = value(1234, Timestamp::from_millis(99));
        assert_eq!(parse(&stored), (1234, Some(Timestamp::from_millis(99))));
        assert_eq!(parse(&1234u64.to_be_bytes()), (1234, None));
        assert_eq!(parse(b"bad"), (0, None));
    }
}
