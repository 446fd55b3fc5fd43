//! Payment codes handed to orders, so that one code never goes to the gateway for two orders.
//!
//! A wallet's payment code is single-use, and it stays on the customer's screen after it is
//! scanned: the next charge's scan, the cashier's scan key, or the POS app's own scanner can read
//! it again for the next customer. Sent for that second order, it is at best refused by the
//! wallet and at worst a second charge. So each code handed to an order is remembered for
//! [`HandedCodes::WINDOW`] (far longer than a wallet code lives), and another order may have it
//! only if the order holding it cannot have charged it (see [`State::frees_its_code`]).
//!
//! Codes are kept as keyed hashes, not as text: this table holds no secret. Two different codes
//! that hash alike (one chance in 2^64) make one of them refused, never a second charge.

use super::{OrderId, State};
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

pub struct HandedCodes {
    keys: RandomState,
    holders: HashMap<u64, (OrderId, Instant)>,
    /// When each code was handed, oldest first, to forget codes past the window or the cap.
    handed: VecDeque<(Instant, u64)>,
}

impl Default for HandedCodes {
    fn default() -> Self {
        HandedCodes {
            keys: RandomState::new(),
            holders: HashMap::new(),
            handed: VecDeque::new(),
        }
    }
}

impl HandedCodes {
    /// How long a code handed to an order is remembered. Wallet codes are renewed every minute
    /// or two; after this one the gateway refuses an old one by itself.
    pub const WINDOW: Duration = Duration::from_secs(10 * 60);
    /// The most codes remembered: a queue drained after an outage hands thousands at once, and
    /// those are all far older than any code still on a screen when they are sent.
    pub const CAP: usize = 4096;

    /// The order other than `order` that `code` was handed to within the window, if any.
    pub fn holder(&mut self, code: &str, order: Option<&OrderId>, now: Instant) -> Option<OrderId> {
        self.forget_old(now);
        self.holders
            .get(&self.keys.hash_one(code))
            .map(|(holder, _)| holder)
            .filter(|holder| Some(*holder) != order)
            .cloned()
    }

    /// Records that `code` was handed to `order` at `now`.
    pub fn hand(&mut self, code: &str, order: &OrderId, now: Instant) {
        self.forget_old(now);
        let key = self.keys.hash_one(code);
        self.holders.insert(key, (order.clone(), now));
        self.handed.push_back((now, key));
        while self.handed.len() > Self::CAP {
            self.forget_oldest();
        }
    }

    /// Forgets that `code` was handed to `order` (the order could not be stored with it).
    pub fn take_back(&mut self, code: &str, order: &OrderId) {
        let key = self.keys.hash_one(code);
        if self
            .holders
            .get(&key)
            .is_some_and(|(holder, _)| holder == order)
        {
            self.holders.remove(&key);
        }
    }

    fn forget_old(&mut self, now: Instant) {
        while self
            .handed
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > Self::WINDOW)
        {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((at, key)) = self.handed.pop_front() {
            // A code handed again since keeps its later entry.
            if self.holders.get(&key).is_some_and(|(_, last)| *last == at) {
                self.holders.remove(&key);
            }
        }
    }
}

impl State {
    /// Whether an order in this state gives its payment code up: it charged nothing and never
    /// will (declined, expired, rejected, abandoned, cancelled, resolved not paid). An order in
    /// any other state keeps its code from every other order: it may have charged it, may yet,
    /// or is about to be given it (its code saved in the same moment another order asks).
    pub fn frees_its_code(&self) -> bool {
        matches!(
            self,
            State::Declined
                | State::Expired
                | State::Rejected
                | State::Abandoned
                | State::Cancelled
                | State::NotPaid
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> OrderId {
        OrderId::parse(text).unwrap()
    }

    #[test]
    fn a_code_handed_to_one_order_is_held_against_any_other() {
        let mut codes = HandedCodes::default();
        let now = Instant::now();
        codes.hand("MY13697573pbmQsYhY", &id("A"), now);
        assert_eq!(
            codes.holder("MY13697573pbmQsYhY", Some(&id("B")), now),
            Some(id("A"))
        );
        assert_eq!(
            codes.holder("MY13697573pbmQsYhY", Some(&id("A")), now),
            None
        );
        assert_eq!(
            codes.holder("MY24697573pbmQsYhY", Some(&id("B")), now),
            None
        );
    }

    #[test]
    fn a_code_is_forgotten_after_the_window_or_when_taken_back() {
        let mut codes = HandedCodes::default();
        let start = Instant::now();
        codes.hand("281234567890123456", &id("A"), start);
        let later = start + HandedCodes::WINDOW;
        assert_eq!(
            codes.holder("281234567890123456", Some(&id("B")), later),
            Some(id("A"))
        );
        let past = later + Duration::from_secs(1);
        assert_eq!(
            codes.holder("281234567890123456", Some(&id("B")), past),
            None
        );

        codes.hand("281234567890123456", &id("B"), past);
        codes.take_back("281234567890123456", &id("A"));
        assert_eq!(
            codes.holder("281234567890123456", Some(&id("C")), past),
            Some(id("B")),
            "only the holder's own hand-over is taken back"
        );
        codes.take_back("281234567890123456", &id("B"));
        assert_eq!(
            codes.holder("281234567890123456", Some(&id("C")), past),
            None
        );
    }

    #[test]
    fn a_code_handed_again_is_kept_past_its_first_entry() {
        let mut codes = HandedCodes::default();
        let start = Instant::now();
        codes.hand("281234567890123456", &id("A"), start);
        let again = start + Duration::from_secs(300);
        codes.hand("281234567890123456", &id("B"), again);
        let after_first = start + HandedCodes::WINDOW + Duration::from_secs(1);
        assert_eq!(
            codes.holder("281234567890123456", Some(&id("C")), after_first),
            Some(id("B"))
        );
    }

    #[test]
    fn the_oldest_codes_go_beyond_the_cap() {
        let mut codes = HandedCodes::default();
        let now = Instant::now();
        for n in 0..=HandedCodes::CAP {
            codes.hand(&format!("MY{n:08}pbmQsYhY"), &id(&format!("Q-{n}")), now);
        }
        assert_eq!(codes.holders.len(), HandedCodes::CAP);
        assert_eq!(
            codes.holder("MY00000000pbmQsYhY", Some(&id("X")), now),
            None
        );
        assert_eq!(
            codes.holder("MY00000001pbmQsYhY", Some(&id("X")), now),
            Some(id("Q-1"))
        );
    }

    #[test]
    fn only_orders_that_cannot_have_charged_let_their_code_go() {
        for state in [
            State::AwaitingPaymentCode,
            State::WaitingToSend { attempt: 1 },
            State::Sending { attempt: 2 },
            State::Reconciling,
            State::Paid,
            State::PaidWithMismatch,
            State::NeedsAttention {
                reason: "unknown outcome".into(),
            },
        ] {
            assert!(!state.frees_its_code(), "{state:?}");
        }
        for state in [
            State::Declined,
            State::Expired,
            State::Rejected,
            State::Abandoned,
            State::Cancelled,
            State::NotPaid,
        ] {
            assert!(state.frees_its_code(), "{state:?}");
        }
    }
}
