//! A shift's number. It lives with the orders because the app's print jobs ([`super::app_job`])
//! name the shift whose report they print, and `shift` builds on `order`, not the other way round.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A shift's number: 1 for the first close of a data directory, then one more for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShiftId(u64);

impl ShiftId {
    pub const FIRST: ShiftId = ShiftId(1);

    pub fn new(number: u64) -> Option<ShiftId> {
        (number > 0).then_some(ShiftId(number))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// The shift after this one.
    pub fn next(self) -> ShiftId {
        ShiftId(self.0 + 1)
    }
}

impl fmt::Display for ShiftId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for ShiftId {
    type Err = String;

    fn from_str(text: &str) -> Result<ShiftId, String> {
        text.parse::<u64>()
            .ok()
            .filter(|_| text.bytes().all(|b| b.is_ascii_digit()))
            .and_then(ShiftId::new)
            .ok_or_else(|| format!("{text:?} is not a shift id (a whole number from 1)"))
    }
}
