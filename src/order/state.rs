//! Where an order stands.
//!
//! ```text
//!                       cancel                      max age / code lifetime
//!   AwaitingPaymentCode ─────► Cancelled  ◄──────── (never reached the gateway)
//!          │ scanned code                           Expired ◄── code lifetime, nothing sent
//!          ▼
//!   WaitingToSend { n } ──due──► Sending { n } ──answered final──► Paid / PaidWithMismatch /
//!          ▲                          │                           Declined / Expired /
//!          │ not sent, 400            │                           Rejected / Abandoned
//!          └──────────────────────────┤
//!          │ NotFound (settled)       │ unknown, 280, A0001, restart in flight
//!          │                          ▼
//!          └──────────────────── Reconciling ──found final──► (the same finals)
//!                                     │ max age, or max attempts spent
//!                                     ▼
//!                               NeedsAttention { reason }
//!                                     │ a person resolves it (the gateway asked once more)
//!                                     ▼
//!                               Paid / NotPaid
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Stored; the customer's payment code is not scanned yet.
    AwaitingPaymentCode,
    /// The payment code is in hand; attempt `attempt` goes out once its time has come.
    WaitingToSend { attempt: u32 },
    /// Attempt `attempt` is out. Found in storage, this means a restart cut it short, and its
    /// outcome is unknown.
    Sending { attempt: u32 },
    /// The gateway may hold a transaction for this order: `api/querydirect` decides.
    Reconciling,
    /// 250 or 600: paid.
    Paid,
    /// 290: paid, but some information such as the amount did not match.
    PaidWithMismatch,
    /// 300: the wallet declined.
    Declined,
    /// 380 from the gateway, or the payment code ran out before the order could be sent.
    Expired,
    /// 100: the gateway found our request wrong; resending it cannot help.
    Rejected,
    /// A0002: abandoned.
    Abandoned,
    /// Cancelled before anything reached the gateway.
    Cancelled,
    /// The machine cannot finish this order alone; a person has to look.
    NeedsAttention { reason: String },
    /// A person resolved an order that needed attention as not paid (its resolution says who
    /// and on what answer of the gateway).
    NotPaid,
}

/// [`State`] without its data, for filtering and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    AwaitingPaymentCode,
    WaitingToSend,
    Sending,
    Reconciling,
    Paid,
    PaidWithMismatch,
    Declined,
    Expired,
    Rejected,
    Abandoned,
    Cancelled,
    NeedsAttention,
    NotPaid,
}

impl State {
    pub fn kind(&self) -> StateKind {
        match self {
            State::AwaitingPaymentCode => StateKind::AwaitingPaymentCode,
            State::WaitingToSend { .. } => StateKind::WaitingToSend,
            State::Sending { .. } => StateKind::Sending,
            State::Reconciling => StateKind::Reconciling,
            State::Paid => StateKind::Paid,
            State::PaidWithMismatch => StateKind::PaidWithMismatch,
            State::Declined => StateKind::Declined,
            State::Expired => StateKind::Expired,
            State::Rejected => StateKind::Rejected,
            State::Abandoned => StateKind::Abandoned,
            State::Cancelled => StateKind::Cancelled,
            State::NeedsAttention { .. } => StateKind::NeedsAttention,
            State::NotPaid => StateKind::NotPaid,
        }
    }

    pub fn is_final(&self) -> bool {
        self.kind().is_final()
    }
}

impl StateKind {
    pub const ALL: [StateKind; 13] = [
        StateKind::AwaitingPaymentCode,
        StateKind::WaitingToSend,
        StateKind::Sending,
        StateKind::Reconciling,
        StateKind::Paid,
        StateKind::PaidWithMismatch,
        StateKind::Declined,
        StateKind::Expired,
        StateKind::Rejected,
        StateKind::Abandoned,
        StateKind::Cancelled,
        StateKind::NeedsAttention,
        StateKind::NotPaid,
    ];

    /// A final order never changes state again and holds no payment code.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            StateKind::AwaitingPaymentCode
                | StateKind::WaitingToSend
                | StateKind::Sending
                | StateKind::Reconciling
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::WaitingToSend { attempt } => write!(f, "waiting to send attempt {attempt}"),
            State::Sending { attempt } => write!(f, "sending attempt {attempt}"),
            State::NeedsAttention { reason } => write!(f, "needs attention: {reason}"),
            other => write!(f, "{}", other.kind()),
        }
    }
}

impl fmt::Display for StateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StateKind::AwaitingPaymentCode => "awaiting payment code",
            StateKind::WaitingToSend => "waiting to send",
            StateKind::Sending => "sending",
            StateKind::Reconciling => "reconciling",
            StateKind::Paid => "paid",
            StateKind::PaidWithMismatch => "paid with mismatch",
            StateKind::Declined => "declined",
            StateKind::Expired => "expired",
            StateKind::Rejected => "rejected",
            StateKind::Abandoned => "abandoned",
            StateKind::Cancelled => "cancelled",
            StateKind::NeedsAttention => "needs attention",
            StateKind::NotPaid => "not paid",
        })
    }
}
