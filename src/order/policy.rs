//! The knobs of the order machine, read from the daemon's configuration.
//!
//! Every duration is in whole seconds or milliseconds as its name says, so a TOML file stays
//! readable; every field has a default, so a configuration names only what it changes.

use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;
use std::time::Duration;

/// How orders are retried, reconciled, given up on, and how many may be open at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Wait before the second attempt after one that was not sent or answered 400 (default 1000 ms).
    /// Each further attempt doubles it, up to `backoff_max_ms`.
    pub backoff_initial_ms: u64,
    /// Longest wait between attempts (default 16 000 ms).
    pub backoff_max_ms: u64,
    /// How long a scanned payment code stays valid (default 120 s). An order not yet sent when it
    /// runs out becomes `Expired` instead of being sent late; e-wallet codes refresh every minute or
    /// two, and a charge with a stale code only earns a 380 from the gateway.
    pub payment_code_lifetime_secs: u64,
    /// Attempts to send one order before it is handed to a person (default 5).
    pub max_attempts: u32,
    /// Age after which an unfinished order stops being driven (default 1800 s): one that may have
    /// reached the gateway becomes `NeedsAttention`; one that never did is closed.
    pub max_age_secs: u64,
    /// Wait between two `api/querydirect` calls while reconciling (default 5000 ms).
    pub reconcile_poll_ms: u64,
    /// A "no such transaction" answer counts only when it comes this long after the attempt whose
    /// outcome was unknown (default 15 s): a request still in transit is not yet on file.
    pub not_found_settle_secs: u64,
    /// Most orders that may be unfinished at once (default 20); a new charge past it is refused.
    pub max_open_orders: u64,
    /// Most TWD that may be in unfinished orders at once (default 200 000).
    pub max_open_amount: u64,
    /// Most order requests (sends and queries) in flight to the gateway at once (default 4). While
    /// the gateway cannot be reached only one goes, at the backoff pace, and the others wait.
    pub max_requests_in_flight: NonZeroU32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            backoff_initial_ms: 1_000,
            backoff_max_ms: 16_000,
            payment_code_lifetime_secs: 120,
            max_attempts: 5,
            max_age_secs: 1_800,
            reconcile_poll_ms: 5_000,
            not_found_settle_secs: 15,
            max_open_orders: 20,
            max_open_amount: 200_000,
            max_requests_in_flight: NonZeroU32::new(4).expect("4 is not zero"),
        }
    }
}

/// The unfinished orders as the store counts them, for [`Policy::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenTotals {
    pub orders: u64,
    /// Sum of their amounts, in TWD.
    pub amount: u64,
}

/// A new charge refused because too much is still unfinished.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapError {
    #[error(
        "refusing a new charge: {open} orders are still unfinished and at most {limit} may be; \
         wait for them to finish or resolve the ones that need attention"
    )]
    TooManyOrders { open: u64, limit: u64 },
    #[error(
        "refusing a new charge of {amount} TWD: {open_amount} TWD are still in unfinished orders \
         and at most {limit} TWD may be"
    )]
    TooMuchAmount {
        amount: u64,
        open_amount: u64,
        limit: u64,
    },
}

impl Policy {
    /// Wait before attempt `next_attempt` (2 or more), with "equal jitter": half the exponential
    /// delay is fixed, the other half is spread by `random` so many tills recovering from one
    /// network outage do not resend in step.
    pub fn backoff(&self, next_attempt: u32, random: u64) -> Duration {
        let doublings = next_attempt.saturating_sub(2).min(32);
        let full = self
            .backoff_initial_ms
            .saturating_mul(1u64 << doublings)
            .min(self.backoff_max_ms);
        let fixed = full / 2;
        let spread = full - fixed;
        Duration::from_millis(fixed + random % (spread + 1))
    }

    pub fn payment_code_lifetime(&self) -> Duration {
        Duration::from_secs(self.payment_code_lifetime_secs)
    }

    pub fn max_age(&self) -> Duration {
        Duration::from_secs(self.max_age_secs)
    }

    pub fn reconcile_poll(&self) -> Duration {
        Duration::from_millis(self.reconcile_poll_ms)
    }

    pub fn not_found_settle(&self) -> Duration {
        Duration::from_secs(self.not_found_settle_secs)
    }

    /// Whether a new charge of `amount` TWD may join the unfinished orders `open`.
    pub fn admit(&self, open: OpenTotals, amount: u64) -> Result<(), CapError> {
        if open.orders >= self.max_open_orders {
            return Err(CapError::TooManyOrders {
                open: open.orders,
                limit: self.max_open_orders,
            });
        }
        if open.amount.saturating_add(amount) > self.max_open_amount {
            return Err(CapError::TooMuchAmount {
                amount,
                open_amount: open.amount,
                limit: self.max_open_amount,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_jitter_band_and_is_capped() {
        let p = Policy::default();
        for (attempt, full) in [
            (2, 1_000),
            (3, 2_000),
            (4, 4_000),
            (5, 8_000),
            (6, 16_000),
            (40, 16_000),
        ] {
            let low = p.backoff(attempt, 0).as_millis() as u64;
            let high = p.backoff(attempt, u64::MAX - 1).as_millis() as u64;
            assert_eq!(low, full / 2, "attempt {attempt}");
            assert!(high <= full && high >= low, "attempt {attempt}: {high}");
            assert_eq!(p.backoff(attempt, full / 2).as_millis() as u64, full);
        }
    }

    #[test]
    fn caps_name_what_is_exceeded() {
        let p = Policy {
            max_open_orders: 2,
            max_open_amount: 1_000,
            ..Policy::default()
        };
        assert!(
            p.admit(
                OpenTotals {
                    orders: 1,
                    amount: 900
                },
                100
            )
            .is_ok()
        );
        let e = p
            .admit(
                OpenTotals {
                    orders: 2,
                    amount: 0,
                },
                1,
            )
            .unwrap_err();
        assert!(
            e.to_string().contains("2 orders are still unfinished"),
            "{e}"
        );
        let e = p
            .admit(
                OpenTotals {
                    orders: 1,
                    amount: 900,
                },
                101,
            )
            .unwrap_err();
        assert!(e.to_string().contains("charge of 101 TWD: 900 TWD"), "{e}");
    }

    #[test]
    fn configuration_names_only_what_it_changes() {
        let p: Policy = toml::from_str("max_attempts = 3").unwrap();
        assert_eq!(
            p,
            Policy {
                max_attempts: 3,
                ..Policy::default()
            }
        );
        let e = toml::from_str::<Policy>("max_attemps = 3").unwrap_err();
        assert!(e.to_string().contains("max_attemps"), "{e}");
        let e = toml::from_str::<Policy>("max_requests_in_flight = 0").unwrap_err();
        assert!(e.to_string().contains("max_requests_in_flight"), "{e}");
        assert!(e.to_string().contains("nonzero"), "{e}");
    }
}
