//! Fault injection: what can go wrong between the till and the gateway, on demand.
//!
//! Each fault has a probability per request; draws come from a generator seeded from `seed`, so a
//! run with the same seed and the same requests injects the same faults. `max_faults` bounds the
//! total so that a test's retries always end.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    pub seed: u64,
    /// Delay added before every answer, after the transaction is committed.
    pub latency_ms: u64,
    /// Answer HTTP 502 without acting on the request.
    pub http_5xx: f64,
    /// Close the connection before reading the request.
    pub drop_before_read: f64,
    /// Commit the transaction, then close the connection without answering: the response is lost.
    pub drop_after_commit: f64,
    /// Commit the transaction, then answer with a body that is not JSON.
    pub malformed_body: f64,
    /// Stop injecting faults after this many (latency does not count).
    pub max_faults: Option<u32>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            seed: 1,
            latency_ms: 0,
            http_5xx: 0.0,
            drop_before_read: 0.0,
            drop_after_commit: 0.0,
            malformed_body: 0.0,
            max_faults: None,
        }
    }
}

impl Faults {
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("http_5xx", self.http_5xx),
            ("drop_before_read", self.drop_before_read),
            ("drop_after_commit", self.drop_after_commit),
            ("malformed_body", self.malformed_body),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} is {p}; a probability is between 0 and 1"));
            }
        }
        Ok(())
    }
}

/// The fault chosen for one request, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Http5xx,
    DropBeforeRead,
    DropAfterCommit,
    MalformedBody,
}

/// The faults in force and the state of their draws.
pub struct FaultPlan {
    faults: Faults,
    rng: StdRng,
    injected: u32,
}

impl FaultPlan {
    pub fn new(faults: Faults) -> FaultPlan {
        FaultPlan {
            rng: StdRng::seed_from_u64(faults.seed),
            faults,
            injected: 0,
        }
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn injected(&self) -> u32 {
        self.injected
    }

    /// Whether to drop a connection as soon as it is accepted.
    pub fn draw_connection(&mut self) -> Option<Fault> {
        let p = self.faults.drop_before_read;
        self.draw(&[(Fault::DropBeforeRead, p)])
    }

    /// The fault for a request that has been read.
    pub fn draw_request(&mut self) -> Option<Fault> {
        let f = &self.faults;
        let table = [
            (Fault::Http5xx, f.http_5xx),
            (Fault::DropAfterCommit, f.drop_after_commit),
            (Fault::MalformedBody, f.malformed_body),
        ];
        self.draw(&table)
    }

    fn draw(&mut self, table: &[(Fault, f64)]) -> Option<Fault> {
        if self
            .faults
            .max_faults
            .is_some_and(|max| self.injected >= max)
        {
            return None;
        }
        let chosen = table
            .iter()
            .find(|(_, p)| *p > 0.0 && self.rng.random_bool(*p))
            .map(|(fault, _)| *fault);
        if chosen.is_some() {
            self.injected += 1;
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_deterministic_and_bounded() {
        let faults = Faults {
            seed: 7,
            drop_after_commit: 0.5,
            max_faults: Some(3),
            ..Faults::default()
        };
        let run = || {
            let mut plan = FaultPlan::new(faults.clone());
            (0..40).map(|_| plan.draw_request()).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run(), "same seed, same faults");
        assert_eq!(first.iter().filter(|f| f.is_some()).count(), 3);
    }

    #[test]
    fn probabilities_are_checked() {
        let bad = Faults {
            http_5xx: 1.5,
            ..Faults::default()
        };
        assert!(bad.validate().unwrap_err().contains("http_5xx"));
    }
}
