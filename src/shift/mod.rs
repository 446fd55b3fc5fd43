//! The shop's day: a shift runs from the previous close to this one, and its report sums up what
//! the till took meanwhile.
//!
//! An order belongs to the shift in which it became final: the one whose close is the first at or
//! after its final transition. An order still unfinished at a close is listed in that shift's
//! report and counted in the shift in which it becomes final, so every order is counted once.
//! Shifts are numbered 1, 2, 3… per data directory.
//!
//! Everything here is pure: [`ReportBuilder`] takes the orders one at a time (a store scan never
//! holds the history in memory) and [`layout`] turns a report into receipt blocks.

pub mod layout;

use crate::api::InvoiceFields;
use crate::api::values::InvoiceState;
pub use crate::order::ShiftId;
use crate::order::{Order, OrderId, PrintStatus, Resolution, StateKind, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// Orders and their amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tally {
    pub count: u64,
    pub amount: u64,
}

impl Tally {
    fn add(&mut self, amount: u64) {
        self.count += 1;
        self.amount = self.amount.saturating_add(amount);
    }
}

/// The orders of one final state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateTally {
    pub state: StateKind,
    #[serde(flatten)]
    pub tally: Tally,
}

/// The paid orders of one wallet (named by the payment code's shape, never the code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletTally {
    /// `unknown` when the code matched no wallet's shape.
    pub wallet: String,
    #[serde(flatten)]
    pub tally: Tally,
}

/// The invoices of one word track (the two letters of the number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackRange {
    pub word_track: String,
    pub count: u64,
    /// The lowest and highest number issued, `AB-12345678`.
    pub first: String,
    pub last: String,
}

/// The e-invoices issued for the shift's paid orders.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InvoiceSummary {
    pub count: u64,
    pub sales_amount: u64,
    pub tax_amount: u64,
    pub total_amount: u64,
    pub tracks: Vec<TrackRange>,
}

/// An order named in the report: unfinished at the close, or needing a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub order_id: OrderId,
    pub state: StateKind,
    pub amount: u64,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An order a person resolved out of `needs_attention`, with the audit of who did and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedLine {
    pub order_id: OrderId,
    pub state: StateKind,
    pub amount: u64,
    pub resolution: Resolution,
}

/// A closed shift's report. Stored once at the close and never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftReport {
    pub shift_id: ShiftId,
    /// The previous close; none for the first shift.
    pub opened_at: Option<Timestamp>,
    pub closed_at: Timestamp,
    /// Closed with `force` while orders were unfinished.
    pub forced: bool,
    /// Some order was charged against the gateway simulator: no money moved for it.
    pub simulated: bool,
    /// Every order counted in this shift.
    pub orders: Tally,
    /// Paid and paid with a mismatch: the money taken.
    pub taken: Tally,
    /// Per final state, in the order of [`StateKind::ALL`]; states with no order are left out.
    pub by_state: Vec<StateTally>,
    /// Per wallet, paid orders only, by name.
    pub by_wallet: Vec<WalletTally>,
    pub invoices: InvoiceSummary,
    /// Receipts of this shift's orders printed again (`補印`), as of the close.
    pub reprints: u64,
    /// This shift's paid orders whose receipt was not yet on paper at the close.
    pub unprinted: Vec<OrderId>,
    /// Orders not final at the close; each is counted in the shift in which it becomes final.
    pub unfinished: Vec<OrderLine>,
    /// This shift's orders in `needs_attention`, with the reason.
    pub needs_attention: Vec<OrderLine>,
    /// This shift's orders a person resolved out of `needs_attention` (each is counted here, in
    /// the shift of its resolution, under its new state).
    #[serde(default)]
    pub resolved: Vec<ResolvedLine>,
}

impl ShiftReport {
    /// Whether `order` was counted in an earlier shift than the one after this report.
    fn counted(&self, order: &Order, final_at: Timestamp) -> bool {
        final_at <= self.closed_at && !self.unfinished.iter().any(|o| &o.order_id == order.id())
    }
}

/// Where an order stands for the shift being closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// Final within this shift: counted here.
    Counted,
    /// Not final at the close: listed, counted later.
    Unfinished,
    /// Counted in an earlier shift, or final only after this close.
    Elsewhere,
}

/// Where `order` stands for the shift closing at `closed_at` after `previous`.
pub fn membership(
    order: &Order,
    previous: Option<&ShiftReport>,
    closed_at: Timestamp,
) -> Membership {
    let Some(final_at) = order.final_at() else {
        return Membership::Unfinished;
    };
    if final_at > closed_at || previous.is_some_and(|p| p.counted(order, final_at)) {
        Membership::Elsewhere
    } else {
        Membership::Counted
    }
}

/// Whether a store scan must hand `order` to the builder: a cheap test on what the order's head
/// holds, true for every order [`membership`] could count or list.
pub fn may_concern(
    is_final: bool,
    updated_at: Timestamp,
    id: &OrderId,
    previous: Option<&ShiftReport>,
) -> bool {
    // The final transition is never later than the order's last change.
    !is_final
        || previous.is_none_or(|p| {
            updated_at > p.closed_at || p.unfinished.iter().any(|o| &o.order_id == id)
        })
}

/// Builds a report from the orders a scan hands it, one at a time.
pub struct ReportBuilder<'a> {
    previous: Option<&'a ShiftReport>,
    report: ShiftReport,
    states: BTreeMap<usize, Tally>,
    wallets: BTreeMap<String, Tally>,
    tracks: BTreeMap<String, (u64, String, String)>,
    seen: HashSet<OrderId>,
}

/// Wallet name for a paid order whose code matched no wallet's shape.
pub const UNKNOWN_WALLET: &str = "unknown";

impl<'a> ReportBuilder<'a> {
    /// The report of the shift after `previous` (the first when none), closing at `closed_at`.
    pub fn new(
        previous: Option<&'a ShiftReport>,
        closed_at: Timestamp,
        forced: bool,
    ) -> ReportBuilder<'a> {
        let shift_id = previous.map_or(ShiftId::FIRST, |p| p.shift_id.next());
        ReportBuilder {
            previous,
            report: ShiftReport {
                shift_id,
                opened_at: previous.map(|p| p.closed_at),
                closed_at,
                forced,
                simulated: false,
                orders: Tally::default(),
                taken: Tally::default(),
                by_state: Vec::new(),
                by_wallet: Vec::new(),
                invoices: InvoiceSummary::default(),
                reprints: 0,
                unprinted: Vec::new(),
                unfinished: Vec::new(),
                needs_attention: Vec::new(),
                resolved: Vec::new(),
            },
            states: BTreeMap::new(),
            wallets: BTreeMap::new(),
            tracks: BTreeMap::new(),
            seen: HashSet::new(),
        }
    }

    /// Takes one order into account; orders of other shifts are passed over.
    pub fn add(&mut self, order: &Order) {
        if !self.seen.insert(order.id().clone()) {
            return;
        }
        let amount = order.charge().amount;
        match membership(order, self.previous, self.report.closed_at) {
            Membership::Elsewhere => {}
            Membership::Unfinished => self.report.unfinished.push(line(order)),
            Membership::Counted => self.count(order, amount),
        }
    }

    fn count(&mut self, order: &Order, amount: u64) {
        let report = &mut self.report;
        let kind = order.state().kind();
        report.orders.add(amount);
        report.simulated |= order.simulated();
        let rank = StateKind::ALL
            .iter()
            .position(|k| *k == kind)
            .expect("every state is in ALL");
        self.states.entry(rank).or_default().add(amount);
        if kind == StateKind::NeedsAttention {
            report.needs_attention.push(line(order));
        }
        if let Some(resolution) = order.resolution() {
            report.resolved.push(ResolvedLine {
                order_id: order.id().clone(),
                state: kind,
                amount,
                resolution: resolution.clone(),
            });
        }
        if !matches!(kind, StateKind::Paid | StateKind::PaidWithMismatch) {
            return;
        }
        report.taken.add(amount);
        let wallet = order.wallet().unwrap_or(UNKNOWN_WALLET).to_owned();
        self.wallets.entry(wallet).or_default().add(amount);
        let receipt = order.receipt();
        report.reprints += u64::from(receipt.reprints);
        if matches!(
            receipt.status,
            PrintStatus::Pending | PrintStatus::Failed { .. }
        ) {
            report.unprinted.push(order.id().clone());
        }
        if let Some(invoice) = issued_invoice(order) {
            let invoices = &mut report.invoices;
            invoices.count += 1;
            invoices.sales_amount = invoices.sales_amount.saturating_add(invoice.sales);
            invoices.tax_amount = invoices.tax_amount.saturating_add(invoice.tax);
            invoices.total_amount = invoices.total_amount.saturating_add(invoice.total);
            let range = self
                .tracks
                .entry(invoice.word_track)
                .or_insert_with(|| (0, invoice.number.clone(), invoice.number.clone()));
            range.0 += 1;
            if invoice.number < range.1 {
                range.1.clone_from(&invoice.number);
            }
            if invoice.number > range.2 {
                range.2 = invoice.number;
            }
        }
    }

    pub fn finish(mut self) -> ShiftReport {
        let report = &mut self.report;
        report.by_state = self
            .states
            .into_iter()
            .map(|(rank, tally)| StateTally {
                state: StateKind::ALL[rank],
                tally,
            })
            .collect();
        report.by_wallet = self
            .wallets
            .into_iter()
            .map(|(wallet, tally)| WalletTally { wallet, tally })
            .collect();
        report.invoices.tracks = self
            .tracks
            .into_iter()
            .map(|(word_track, (count, first, last))| TrackRange {
                first: format!("{word_track}-{first}"),
                last: format!("{word_track}-{last}"),
                word_track,
                count,
            })
            .collect();
        report.unprinted.sort();
        report
            .unfinished
            .sort_by(|a, b| a.order_id.cmp(&b.order_id));
        report
            .needs_attention
            .sort_by(|a, b| a.order_id.cmp(&b.order_id));
        self.report
    }
}

fn line(order: &Order) -> OrderLine {
    let reason = match order.state() {
        crate::order::State::NeedsAttention { reason } => Some(reason.clone()),
        _ => None,
    };
    OrderLine {
        order_id: order.id().clone(),
        state: order.state().kind(),
        amount: order.charge().amount,
        created_at: order.created_at(),
        reason,
    }
}

/// The e-invoice a paid order's answer says was issued.
struct IssuedInvoice {
    word_track: String,
    number: String,
    sales: u64,
    tax: u64,
    total: u64,
}

/// Read from the answer's invoice fields alone, as the receipt reads them: an odd value in a field
/// that is not the invoice's (a converted `actual_cost` with a fraction, a new card type) does not
/// take an issued invoice out of the report.
fn issued_invoice(order: &Order) -> Option<IssuedInvoice> {
    let raw = &order.last_answer()?.raw;
    let invoice: InvoiceFields = serde_json::from_str(raw.get()).ok()?;
    if invoice.invoice_state != Some(InvoiceState::Issued) {
        return None;
    }
    let total = invoice
        .invoice_amount
        .map_or(order.charge().amount, |t| t.0);
    Some(IssuedInvoice {
        word_track: invoice.invoice_wordtrack.clone()?,
        number: invoice.invoice_digits()?.into_owned(),
        sales: invoice.invoice_sales_amount.map_or(total, |t| t.0),
        tax: invoice.invoice_tax_amount.map_or(0, |t| t.0),
        total,
    })
}

/// The printout of a shift's report, stored with the report at the close and kept until the
/// printer takes it, as a receipt's print job is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPrint {
    pub shift_id: ShiftId,
    /// ESC/POS bytes as they go to the printer (base64 in storage); empty once printed.
    #[serde(with = "crate::order::receipt::base64_bytes")]
    pub escpos: Vec<u8>,
    pub status: PrintStatus,
    pub created_at: Timestamp,
}

impl ReportPrint {
    /// Records what became of the printout; once on paper its bytes are no longer kept.
    pub fn record(&mut self, outcome: &crate::order::PrintOutcome, at: Timestamp) {
        match outcome {
            crate::order::PrintOutcome::Printed => {
                self.status = PrintStatus::Printed { at };
                self.escpos = Vec::new();
            }
            crate::order::PrintOutcome::Failed { reason, .. } => {
                self.status = PrintStatus::Failed {
                    reason: reason.clone(),
                    at,
                };
            }
        }
    }

    /// Whether the printout is still owed.
    pub fn owed(&self) -> bool {
        matches!(
            self.status,
            PrintStatus::Pending | PrintStatus::Failed { .. }
        )
    }
}

#[cfg(test)]
mod tests;
