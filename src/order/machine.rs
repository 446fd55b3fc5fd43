//! One order and the rules that move it: a pure state machine.
//!
//! The caller (the worker that drives the gateway client) runs a thin loop:
//!
//! ```text
//! loop {
//!     let action = order.next_action(now, &policy);   // may change the order
//!     store.save(&order)?;                            // durable before any side effect
//!     match action {
//!         Action::Send { attempt } => order.send_finished(client.send(&order).await, now, &policy, random)?,
//!         Action::Query => order.query_finished(client.query(order.id()).await, now, &policy, random)?,
//!         Action::WaitUntil(t) | Action::AwaitPaymentCode { until: t } => sleep until t or an event,
//!         Action::Done => break,
//!     }
//!     store.save(&order)?;
//! }
//! ```
//!
//! Safety comes from three rules kept here. An attempt is marked `Sending` before it goes out, so
//! an order found `Sending` after a restart is reconciled, never resent. A request is resent only
//! after [`SendResult::NotSent`], a 400, or a query that proved the gateway has no such
//! transaction. Entering a final state drops the payment code.

use serde::{Deserialize, Serialize};

use super::id::OrderId;
use super::outcome::{GatewayAnswer, QueryResult, SendResult};
use super::policy::Policy;
use super::receipt::{PrintStatus, Receipt};
use super::resolution::{Resolution, Verdict};
use super::state::State;
use super::time::Timestamp;
use crate::api::Code;
use crate::api::validate::FieldError;
use crate::charge::Charge;
use crate::payment_code::PaymentCode;

/// What the caller should do next for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Wait for the customer's payment code (or a cancel); past `until` the order is closed.
    AwaitPaymentCode { until: Timestamp },
    /// Send attempt `attempt` with the order's id, charge and payment code, then report with
    /// [`Order::send_finished`]. The order already says `Sending`: persist it first.
    Send { attempt: u32 },
    /// Ask `api/querydirect` about the order id, then report with [`Order::query_finished`].
    Query,
    /// Nothing to do before this time.
    WaitUntil(Timestamp),
    /// The order is final.
    Done,
}

/// One change of state, kept in the order's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// `None` for the order's creation.
    pub from: Option<State>,
    pub to: State,
    pub at: Timestamp,
    pub why: String,
}

/// An input the order cannot take in its current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("order {id} cannot be cancelled: {why}")]
    CancelRefused { id: OrderId, why: String },
    #[error("order {id} takes no payment code: it is {state}")]
    PaymentCodeRefused { id: OrderId, state: State },
    #[error("order {id} has no attempt in flight (it is {state}), so a send result cannot apply")]
    NoAttemptInFlight { id: OrderId, state: State },
    #[error("order {id} is not reconciling (it is {state}), so a query result cannot apply")]
    NotReconciling { id: OrderId, state: State },
    #[error("order {id} has no receipt to print: it is {state}")]
    NoReceipt { id: OrderId, state: State },
    #[error("order {id} cannot be resolved: it is {state}; only an order that needs attention can")]
    NotResolvable { id: OrderId, state: State },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    id: OrderId,
    charge: Charge,
    /// Never serialized with the order: the store keeps it beside the record while the order is
    /// not final, and exports and logs never see it.
    #[serde(skip)]
    payment_code: Option<PaymentCode>,
    state: State,
    /// Attempts started so far.
    attempts: u32,
    created_at: Timestamp,
    updated_at: Timestamp,
    code_scanned_at: Option<Timestamp>,
    /// When the next send or query is due.
    due_at: Option<Timestamp>,
    /// When the outcome of the latest attempt became unknown; a "no such transaction" answer
    /// counts only once it is old enough.
    unknown_since: Option<Timestamp>,
    /// Whether any attempt may have reached the gateway; once true, the order cannot be cancelled.
    reached_gateway: bool,
    last_answer: Option<GatewayAnswer>,
    receipt: Receipt,
    history: Vec<Transition>,
    /// Charged against the gateway simulator, not a real gateway: no money moved.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    simulated: bool,
    /// The wallet the payment code's shape names, kept after the code itself is wiped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wallet: Option<String>,
    /// How a person resolved the order after it needed attention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolution: Option<Resolution>,
}

impl Order {
    /// A new order for `charge`, awaiting its payment code. The charge is checked first.
    pub fn new(id: OrderId, charge: Charge, now: Timestamp) -> Result<Order, FieldError> {
        charge.validate()?;
        Ok(Order {
            id,
            charge,
            payment_code: None,
            state: State::AwaitingPaymentCode,
            attempts: 0,
            created_at: now,
            updated_at: now,
            code_scanned_at: None,
            due_at: None,
            unknown_since: None,
            reached_gateway: false,
            last_answer: None,
            receipt: Receipt::default(),
            history: vec![Transition {
                from: None,
                to: State::AwaitingPaymentCode,
                at: now,
                why: "created".to_owned(),
            }],
            simulated: false,
            wallet: None,
            resolution: None,
        })
    }

    /// Marks an order charged against the gateway simulator: no money moves for it.
    pub fn mark_simulated(&mut self) {
        self.simulated = true;
    }

    pub fn simulated(&self) -> bool {
        self.simulated
    }

    pub fn id(&self) -> &OrderId {
        &self.id
    }

    /// The wallet the payment code's shape names, if it matched one.
    pub fn wallet(&self) -> Option<&str> {
        self.wallet.as_deref()
    }

    /// Records the wallet the scanned payment code's shape names (the scanner's rules decide).
    pub fn note_wallet(&mut self, wallet: Option<String>) {
        self.wallet = wallet;
    }

    /// When the order reached its final state, if it has.
    pub fn final_at(&self) -> Option<Timestamp> {
        self.is_final()
            .then(|| self.history.last().map(|t| t.at))
            .flatten()
    }

    pub fn charge(&self) -> &Charge {
        &self.charge
    }

    /// The scanned payment code, until the order is final.
    pub fn payment_code(&self) -> Option<&PaymentCode> {
        self.payment_code.as_ref()
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn is_final(&self) -> bool {
        self.state.is_final()
    }

    /// Attempts started so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    pub fn updated_at(&self) -> Timestamp {
        self.updated_at
    }

    pub fn code_scanned_at(&self) -> Option<Timestamp> {
        self.code_scanned_at
    }

    pub fn due_at(&self) -> Option<Timestamp> {
        self.due_at
    }

    /// Whether an attempt may have reached the gateway.
    pub fn reached_gateway(&self) -> bool {
        self.reached_gateway
    }

    pub fn last_answer(&self) -> Option<&GatewayAnswer> {
        self.last_answer.as_ref()
    }

    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }

    pub fn history(&self) -> &[Transition] {
        &self.history
    }

    /// How a person resolved the order, if one did.
    pub fn resolution(&self) -> Option<&Resolution> {
        self.resolution.as_ref()
    }

    /// Whether the order waits for a person to resolve it.
    pub fn needs_attention(&self) -> bool {
        matches!(self.state, State::NeedsAttention { .. })
    }

    /// Keeps what the gateway said when asked about an order that needs attention, whether or
    /// not the person's resolution stands on it.
    pub fn gateway_rechecked(&mut self, answer: GatewayAnswer) -> Result<(), OrderError> {
        self.require_needs_attention()?;
        self.updated_at = self.updated_at.max(answer.at);
        self.last_answer = Some(answer);
        Ok(())
    }

    /// A person's resolution of an order that needs attention: `paid` makes it `Paid` (its
    /// receipt owed when `receipt_owed`, that is when an e-invoice is known), `not_paid` makes it
    /// `NotPaid`. The only way out of `NeedsAttention`.
    pub fn resolve(
        &mut self,
        resolution: Resolution,
        receipt_owed: bool,
    ) -> Result<(), OrderError> {
        self.require_needs_attention()?;
        let now = resolution.at;
        let to = match resolution.resolved_as {
            Verdict::Paid => State::Paid,
            Verdict::NotPaid => State::NotPaid,
        };
        if to == State::Paid && receipt_owed {
            self.receipt.status = PrintStatus::Pending;
        }
        let forced = if resolution.forced { ", forced" } else { "" };
        self.history.push(Transition {
            from: Some(self.state.clone()),
            to: to.clone(),
            at: now,
            why: format!(
                "resolved as {} by {}{forced}: {}",
                resolution.resolved_as, resolution.by, resolution.gateway
            ),
        });
        self.state = to;
        self.updated_at = self.updated_at.max(now);
        self.resolution = Some(resolution);
        Ok(())
    }

    fn require_needs_attention(&self) -> Result<(), OrderError> {
        if self.needs_attention() {
            Ok(())
        } else {
            Err(OrderError::NotResolvable {
                id: self.id.clone(),
                state: self.state.clone(),
            })
        }
    }

    /// The customer's payment code was scanned.
    pub fn payment_code_scanned(
        &mut self,
        code: PaymentCode,
        now: Timestamp,
    ) -> Result<(), OrderError> {
        if self.state != State::AwaitingPaymentCode {
            return Err(OrderError::PaymentCodeRefused {
                id: self.id.clone(),
                state: self.state.clone(),
            });
        }
        self.payment_code = Some(code);
        self.code_scanned_at = Some(now);
        self.due_at = Some(now);
        self.move_to(
            State::WaitingToSend { attempt: 1 },
            now,
            "payment code scanned",
        );
        Ok(())
    }

    /// Cancels the order, which is allowed only while nothing may have reached the gateway.
    pub fn cancel(&mut self, now: Timestamp) -> Result<(), OrderError> {
        let refuse = |why: String| OrderError::CancelRefused {
            id: self.id.clone(),
            why,
        };
        if self.is_final() {
            return Err(refuse(format!("it is already {}", self.state)));
        }
        if self.reached_gateway || matches!(self.state, State::Sending { .. }) {
            return Err(refuse(format!(
                "attempt {} may have reached the gateway; the charge must be reconciled, and \
                 refunded if it was paid",
                self.attempts
            )));
        }
        self.move_to(State::Cancelled, now, "cancelled before anything was sent");
        Ok(())
    }

    /// Applies what time alone decides, then says what to do next. When the answer is
    /// [`Action::Send`], the order is already marked `Sending`: persist it before sending.
    pub fn next_action(&mut self, now: Timestamp, policy: &Policy) -> Action {
        if self.is_final() {
            return Action::Done;
        }
        if let State::Sending { attempt } = self.state {
            // Only a restart (or a caller that lost a result) finds an attempt still in flight:
            // it may have reached the gateway, so it is reconciled, never resent.
            self.enter_reconciling(
                now,
                format!("attempt {attempt} was in flight when last saved; its outcome is unknown"),
            );
        }
        let deadline = self.created_at.plus(policy.max_age());
        if now >= deadline {
            self.give_up_for_age(now, policy);
            return Action::Done;
        }
        match self.state {
            State::AwaitingPaymentCode => Action::AwaitPaymentCode { until: deadline },
            State::WaitingToSend { attempt } => {
                let code_expires = self
                    .code_scanned_at
                    .unwrap_or(self.created_at)
                    .plus(policy.payment_code_lifetime());
                if now >= code_expires {
                    self.move_to(
                        State::Expired,
                        now,
                        format!("the payment code ran out before attempt {attempt} could be sent"),
                    );
                    return Action::Done;
                }
                if self.payment_code.is_none() {
                    // Only a damaged store loses a code; without it nothing can be sent.
                    self.move_to(
                        State::NeedsAttention {
                            reason: format!(
                                "the payment code for attempt {attempt} is no longer available"
                            ),
                        },
                        now,
                        "payment code missing",
                    );
                    return Action::Done;
                }
                let due = self.due_at.unwrap_or(now);
                if now < due {
                    return Action::WaitUntil(due.min(code_expires).min(deadline));
                }
                self.attempts = attempt;
                self.due_at = None;
                self.move_to(State::Sending { attempt }, now, "attempt due");
                Action::Send { attempt }
            }
            State::Reconciling => {
                let due = self.due_at.unwrap_or(now);
                if now < due {
                    Action::WaitUntil(due.min(deadline))
                } else {
                    Action::Query
                }
            }
            _ => Action::Done,
        }
    }

    /// How long the order may wait for its turn to call the gateway: past this time, time alone
    /// changes it (its payment code runs out, or it grows too old), so a caller waiting on
    /// something else must look at it again.
    pub fn patience(&self, policy: &Policy) -> Timestamp {
        let deadline = self.created_at.plus(policy.max_age());
        match self.state {
            State::WaitingToSend { .. } | State::Sending { .. } => self
                .code_scanned_at
                .unwrap_or(self.created_at)
                .plus(policy.payment_code_lifetime())
                .min(deadline),
            _ => deadline,
        }
    }

    /// Records how the attempt in flight ended.
    pub fn send_finished(
        &mut self,
        result: SendResult,
        now: Timestamp,
        policy: &Policy,
        random: u64,
    ) -> Result<(), OrderError> {
        let State::Sending { attempt } = self.state else {
            return Err(OrderError::NoAttemptInFlight {
                id: self.id.clone(),
                state: self.state.clone(),
            });
        };
        match result {
            SendResult::NotSent => self.retry_or_give_up(
                now,
                policy,
                random,
                format!("attempt {attempt} was not sent"),
            ),
            SendResult::Unknown { why } => self.enter_reconciling(
                now,
                format!(
                    "attempt {attempt} may have reached the gateway; its outcome is unknown: {why}"
                ),
            ),
            SendResult::Answered { code, answer } => {
                self.reached_gateway = true;
                self.record_answer(&code, answer, now);
                // Even a 400 (system error) is reconciled: the gateway may have passed the charge
                // on before failing, and only a query proves it holds none.
                if let Some(done) = final_state_for(&code) {
                    self.move_to(done, now, format!("attempt {attempt} answered {code}"));
                } else {
                    self.enter_reconciling(
                        now,
                        format!(
                            "attempt {attempt} answered {code}, which does not settle the charge"
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    /// Records the outcome of an `api/querydirect` made while reconciling.
    pub fn query_finished(
        &mut self,
        result: QueryResult,
        now: Timestamp,
        policy: &Policy,
        random: u64,
    ) -> Result<(), OrderError> {
        if self.state != State::Reconciling {
            return Err(OrderError::NotReconciling {
                id: self.id.clone(),
                state: self.state.clone(),
            });
        }
        let poll_again = Some(now.plus(policy.reconcile_poll()));
        match result {
            QueryResult::Found { code, answer } => {
                self.record_answer(&code, answer, now);
                match final_state_for(&code) {
                    Some(done) => {
                        self.move_to(done, now, format!("the gateway holds it as {code}"))
                    }
                    None => self.due_at = poll_again,
                }
            }
            QueryResult::NotFound => {
                let unknown_since = self.unknown_since.unwrap_or(self.updated_at);
                if now.since(unknown_since) < policy.not_found_settle() {
                    // The request may still be in transit: not yet proof of anything.
                    self.due_at = poll_again;
                } else if self.gateway_took_it() {
                    // 280 or A0001 said the gateway holds the charge and will settle it: a query
                    // that does not list it proves nothing, and sending it again could only be
                    // refused as a duplicate while the first may yet be paid. It is asked about
                    // until it settles or the order is too old, when a person decides.
                    self.due_at = poll_again;
                } else {
                    self.unknown_since = None;
                    self.retry_or_give_up(
                        now,
                        policy,
                        random,
                        format!(
                            "the gateway has no transaction for attempt {}",
                            self.attempts
                        ),
                    );
                }
            }
            QueryResult::NotSent | QueryResult::Unknown => self.due_at = poll_again,
        }
        self.updated_at = self.updated_at.max(now);
        Ok(())
    }

    /// Whether the gateway answered this order that it holds the charge and settles it later
    /// (280 accepted, A0001 pending).
    fn gateway_took_it(&self) -> bool {
        self.last_answer
            .as_ref()
            .is_some_and(|answer| matches!(answer.code, Code::Accepted | Code::Pending))
    }

    /// The receipt went through the printer.
    pub fn receipt_printed(&mut self, now: Timestamp) -> Result<(), OrderError> {
        self.require_printable()?;
        self.receipt.status = PrintStatus::Printed { at: now };
        self.updated_at = now;
        Ok(())
    }

    /// The printer could not print the receipt; it stays owed.
    pub fn receipt_failed(
        &mut self,
        reason: impl Into<String>,
        now: Timestamp,
    ) -> Result<(), OrderError> {
        self.require_printable()?;
        self.receipt.status = PrintStatus::Failed {
            reason: reason.into(),
            at: now,
        };
        self.updated_at = now;
        Ok(())
    }

    /// The gateway's answer asks for no printout here (print type 0, or the merchant prints).
    pub fn receipt_not_needed(&mut self, now: Timestamp) -> Result<(), OrderError> {
        self.require_printable()?;
        self.receipt.status = PrintStatus::NotNeeded;
        self.updated_at = now;
        Ok(())
    }

    /// Records what became of print job `seq`; the receipt follows only its latest print, so a
    /// reprint asked for meanwhile stays owed.
    pub fn receipt_outcome(
        &mut self,
        seq: u32,
        outcome: &super::PrintOutcome,
        now: Timestamp,
    ) -> Result<(), OrderError> {
        if self.receipt.reprints != seq {
            return Ok(());
        }
        match outcome {
            super::PrintOutcome::Printed => self.receipt_printed(now),
            super::PrintOutcome::Failed { reason, .. } => self.receipt_failed(reason.clone(), now),
        }
    }

    /// Someone asked for the receipt again.
    pub fn reprint_requested(&mut self, now: Timestamp) -> Result<(), OrderError> {
        self.require_printable()?;
        self.receipt.reprints += 1;
        self.receipt.status = PrintStatus::Pending;
        self.updated_at = now;
        Ok(())
    }

    /// Puts back the payment code the store kept beside the record. A final order takes none.
    pub(crate) fn restore_payment_code(&mut self, code: PaymentCode) {
        if !self.is_final() {
            self.payment_code = Some(code);
        }
    }

    fn require_printable(&self) -> Result<(), OrderError> {
        if matches!(self.state, State::Paid | State::PaidWithMismatch) {
            Ok(())
        } else {
            Err(OrderError::NoReceipt {
                id: self.id.clone(),
                state: self.state.clone(),
            })
        }
    }

    fn record_answer(&mut self, code: &Code, raw: serde_json::Value, now: Timestamp) {
        self.last_answer = Some(GatewayAnswer::new(code.clone(), &raw, now));
    }

    fn enter_reconciling(&mut self, now: Timestamp, why: String) {
        self.reached_gateway = true;
        self.unknown_since = Some(now);
        self.due_at = Some(now);
        self.move_to(State::Reconciling, now, why);
    }

    /// After an attempt proven not to have charged anything: the next attempt with the same id and
    /// payload after a backoff, or a person once the attempts are spent.
    fn retry_or_give_up(&mut self, now: Timestamp, policy: &Policy, random: u64, why: String) {
        if self.attempts >= policy.max_attempts {
            self.move_to(
                State::NeedsAttention {
                    reason: format!(
                        "no attempt went through after {} tries (last: {why})",
                        self.attempts
                    ),
                },
                now,
                why,
            );
            return;
        }
        let attempt = self.attempts + 1;
        self.due_at = Some(now.plus(policy.backoff(attempt, random)));
        self.move_to(State::WaitingToSend { attempt }, now, why);
    }

    fn give_up_for_age(&mut self, now: Timestamp, policy: &Policy) {
        let age = policy.max_age_secs;
        if self.reached_gateway {
            let last = self.last_answer.as_ref().map_or_else(
                || "no answer".to_owned(),
                |a| format!("last code {}", a.code),
            );
            let reason = format!(
                "still unresolved after {age} s; the gateway may hold a charge for it ({last})"
            );
            self.move_to(State::NeedsAttention { reason }, now, "max age reached");
        } else {
            self.move_to(
                State::Cancelled,
                now,
                format!("nothing reached the gateway within {age} s"),
            );
        }
    }

    /// The one place the state changes: history, timestamps, and the payment-code invariant.
    fn move_to(&mut self, to: State, now: Timestamp, why: impl Into<String>) {
        debug_assert!(!self.is_final(), "a final order never moves");
        if to.is_final() {
            self.payment_code = None;
            self.due_at = None;
            if matches!(to, State::Paid | State::PaidWithMismatch) {
                self.receipt.status = PrintStatus::Pending;
            }
        }
        self.history.push(Transition {
            from: Some(self.state.clone()),
            to: to.clone(),
            at: now,
            why: why.into(),
        });
        self.state = to;
        self.updated_at = self.updated_at.max(now);
    }
}

/// The final state a gateway code settles a charge into, if it settles it.
fn final_state_for(code: &Code) -> Option<State> {
    Some(match code {
        Code::Paid | Code::Settled => State::Paid,
        Code::PaidWithMismatch => State::PaidWithMismatch,
        Code::Failed => State::Declined,
        Code::Expired => State::Expired,
        Code::DataIncorrect => State::Rejected,
        Code::Abandoned => State::Abandoned,
        Code::Cancelled | Code::Refunded => State::NeedsAttention {
            reason: format!("the gateway reports the charge as {code} (cancelled or refunded)"),
        },
        _ => return None,
    })
}
