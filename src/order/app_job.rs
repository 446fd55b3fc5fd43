//! Print jobs handed to the POS app, for printers only the app can reach (the SUNMI printer
//! service).
//!
//! The app leases one job at a time and reports what became of it. A job keeps its place in the
//! queue until the app says it printed. Each hand-out is a new lease with a job id of its own
//! (`<job>-<lease>`), so a late result for a lease that was already handed out again is told apart
//! from the result of the current one. A lease that ends without a result may have printed: the
//! next hand-out carries a copy laid out again and marked `補印`, never a second original.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::id::OrderId;
use super::receipt::base64_bytes;
use super::time::Timestamp;

/// What a job prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppJobKind {
    /// An order's first receipt.
    Receipt,
    /// A receipt asked for again.
    Reprint,
    /// The printer's test page.
    Test,
    /// A closed shift's report (交班報表).
    ShiftReport,
    /// A link for the customer's phone, as a QR code.
    Link,
}

/// One job in the app's queue, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppJob {
    /// Its place in the queue: jobs go out in this order.
    pub number: u64,
    /// The order it prints for; none for a test page.
    pub order_id: Option<OrderId>,
    /// Which of the order's print jobs it is.
    pub order_seq: Option<u32>,
    /// The shift whose report it prints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_id: Option<super::ShiftId>,
    pub kind: AppJobKind,
    /// Whether the bytes are marked `補印`.
    pub marked_reprint: bool,
    #[serde(with = "base64_bytes")]
    pub escpos: Vec<u8>,
    /// How many times it was handed out; the current or last lease has this number.
    pub leases: u32,
    /// Whether the last lease is still open (handed out, no result yet).
    pub leased: bool,
    pub created_at: Timestamp,
}

impl AppJob {
    /// A job not yet handed out.
    pub fn new(
        number: u64,
        order: Option<(OrderId, u32)>,
        kind: AppJobKind,
        marked_reprint: bool,
        escpos: Vec<u8>,
        created_at: Timestamp,
    ) -> AppJob {
        let (order_id, order_seq) = order.unzip();
        AppJob {
            number,
            order_id,
            order_seq,
            shift_id: None,
            kind,
            marked_reprint,
            escpos,
            leases: 0,
            leased: false,
            created_at,
        }
    }

    /// Opens the next lease and returns its id.
    pub fn lease(&mut self) -> AppJobId {
        self.leases += 1;
        self.leased = true;
        self.current()
    }

    /// The id of the current (or last) lease.
    pub fn current(&self) -> AppJobId {
        AppJobId {
            number: self.number,
            lease: self.leases,
        }
    }

    /// What a result for `id` means for this job.
    pub fn judge(&self, id: AppJobId) -> LeaseCheck {
        debug_assert_eq!(id.number, self.number);
        if id.lease == 0 || id.lease > self.leases {
            LeaseCheck::NeverHandedOut
        } else if id.lease < self.leases {
            LeaseCheck::Superseded(self.current())
        } else {
            LeaseCheck::Current
        }
    }
}

/// Whether a result names the job's current lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseCheck {
    /// The latest lease (open, or ended without a result and not handed out again).
    Current,
    /// An older lease: the job went out again under the one given.
    Superseded(AppJobId),
    /// No such lease was ever handed out.
    NeverHandedOut,
}

/// A job id as the app sees it: the job's number and the lease, `17-2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AppJobId {
    pub number: u64,
    pub lease: u32,
}

impl fmt::Display for AppJobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.number, self.lease)
    }
}

impl FromStr for AppJobId {
    type Err = String;

    fn from_str(text: &str) -> Result<AppJobId, String> {
        let bad = || format!("{text:?} is not a print job id (job-lease, e.g. 17-2)");
        let (number, lease) = text.split_once('-').ok_or_else(bad)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(number) || !digits(lease) {
            return Err(bad());
        }
        Ok(AppJobId {
            number: number.parse().map_err(|_| bad())?,
            lease: lease.parse().map_err(|_| bad())?,
        })
    }
}

/// What the app reports for a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum AppOutcome {
    // A struct variant, so that unknown fields are refused for it too.
    Printed {},
    Failed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        printer_state: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

impl AppOutcome {
    /// Whether two reports say the same thing (a repeated report is answered as the first).
    pub fn same_kind(&self, other: &AppOutcome) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    pub fn name(&self) -> &'static str {
        match self {
            AppOutcome::Printed {} => "printed",
            AppOutcome::Failed { .. } => "failed",
        }
    }
}

/// A reported result, kept so that the same report sent twice is answered as the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppResult {
    pub job_id: String,
    pub order_id: Option<OrderId>,
    #[serde(flatten)]
    pub outcome: AppOutcome,
    pub recorded_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> AppJob {
        AppJob::new(
            7,
            Some((OrderId::parse("A-1").unwrap(), 0)),
            AppJobKind::Receipt,
            false,
            vec![0x1b, 0x40],
            Timestamp::from_millis(1),
        )
    }

    #[test]
    fn each_hand_out_is_a_lease_of_its_own() {
        let mut job = job();
        let first = job.lease();
        assert_eq!(first.to_string(), "7-1");
        assert_eq!(job.judge(first), LeaseCheck::Current);
        let second = job.lease();
        assert_eq!(job.judge(first), LeaseCheck::Superseded(second));
        assert_eq!(job.judge(second), LeaseCheck::Current);
        let unseen = AppJobId {
            number: 7,
            lease: 3,
        };
        assert_eq!(job.judge(unseen), LeaseCheck::NeverHandedOut);
        let zero = AppJobId {
            number: 7,
            lease: 0,
        };
        assert_eq!(job.judge(zero), LeaseCheck::NeverHandedOut);
    }

    #[test]
    fn job_ids_parse_strictly() {
        assert_eq!(
            "17-2".parse::<AppJobId>(),
            Ok(AppJobId {
                number: 17,
                lease: 2
            })
        );
        for bad in [
            "", "17", "17-", "-2", "17-2-3", "a-1", "+1-2", "1-+2", " 1-2",
        ] {
            assert!(bad.parse::<AppJobId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn outcomes_read_as_the_app_sends_them() {
        let printed: AppOutcome = serde_json::from_str(r#"{"outcome":"printed"}"#).unwrap();
        assert_eq!(printed, AppOutcome::Printed {});
        let failed: AppOutcome = serde_json::from_str(
            r#"{"outcome":"failed","printer_state":4,"message":"out of paper"}"#,
        )
        .unwrap();
        assert!(failed.same_kind(&AppOutcome::Failed {
            printer_state: None,
            message: None
        }));
        assert!(!failed.same_kind(&printed));
        let unknown = serde_json::from_str::<AppOutcome>(r#"{"outcome":"printed","x":1}"#);
        assert!(unknown.is_err());
    }
}
