//! How the simulator answers a charge: decided by the payment code, so that tests and demos can ask
//! for every outcome with nothing but the code they scan.

use crate::api::Code;

/// What the simulated wallet does with a payment code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Script {
    /// 250, with an e-invoice when one is to be issued.
    Pay,
    /// 300.
    Decline,
    /// 380.
    Expire,
    /// 400 on the first request of the order, nothing committed; then as [`Script::Pay`].
    SystemErrorOnce,
    /// A0001, then 250 once the order is queried with `api/querydirect`.
    PendingThenPaid,
    /// 280, then 250 once the order is queried with `api/querydirect`.
    AcceptedThenPaid,
    /// 290: paid, but the amount did not match.
    PaidWithMismatch,
    /// A0002.
    Abandon,
    /// 250 with the invoice still waiting to be issued (`invoice_state` 1).
    PaidInvoicePending,
    /// 250 with the invoice failed (`invoice_state` 3).
    PaidInvoiceFailed,
    /// 250 whose answers (and query rows) carry a receipt-only amount with a fraction
    /// (`actual_cost` "150.5", as a converted foreign amount might), which the answer's table
    /// does not allow: the charge must still read as paid.
    PaidOddField,
}

/// The codes' endings that select a script, in the order they are checked. Anything else pays.
pub const SCRIPTS: [(&str, Script, &str); 10] = [
    ("300", Script::Decline, "declined (300)"),
    ("380", Script::Expire, "expired (380)"),
    (
        "400",
        Script::SystemErrorOnce,
        "system error (400) once, then paid",
    ),
    (
        "401",
        Script::PendingThenPaid,
        "pending (A0001), paid when queried",
    ),
    (
        "280",
        Script::AcceptedThenPaid,
        "accepted (280), paid when queried",
    ),
    ("290", Script::PaidWithMismatch, "paid with mismatch (290)"),
    ("402", Script::Abandon, "abandoned (A0002)"),
    (
        "201",
        Script::PaidInvoicePending,
        "paid (250), invoice pending",
    ),
    (
        "203",
        Script::PaidInvoiceFailed,
        "paid (250), invoice failed",
    ),
    (
        "204",
        Script::PaidOddField,
        "paid (250), a fractional actual_cost in every answer",
    ),
];

pub fn script_for(payment_code: &str) -> Script {
    SCRIPTS
        .iter()
        .find(|(ending, _, _)| payment_code.ends_with(ending))
        .map_or(Script::Pay, |(_, script, _)| *script)
}

impl Script {
    /// The code of the first answer to the charge.
    pub fn first_code(self) -> Code {
        match self {
            Script::Pay
            | Script::SystemErrorOnce
            | Script::PaidInvoicePending
            | Script::PaidInvoiceFailed
            | Script::PaidOddField => Code::Paid,
            Script::Decline => Code::Failed,
            Script::Expire => Code::Expired,
            Script::PendingThenPaid => Code::Pending,
            Script::AcceptedThenPaid => Code::Accepted,
            Script::PaidWithMismatch => Code::PaidWithMismatch,
            Script::Abandon => Code::Abandoned,
        }
    }

    /// Whether the money moved, now or once the order is resolved.
    pub fn pays(self) -> bool {
        !matches!(self, Script::Decline | Script::Expire | Script::Abandon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_pick_scripts() {
        assert_eq!(script_for("MY13697573pbmQsYhY"), Script::Pay);
        assert_eq!(script_for("134567890123456300"), Script::Decline);
        assert_eq!(script_for("134567890123456401"), Script::PendingThenPaid);
        assert_eq!(script_for("134567890123456201"), Script::PaidInvoicePending);
    }
}
