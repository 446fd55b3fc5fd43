//! Orders: what the daemon promises about a charge from the moment the POS app asks for it.
//!
//! Everything here is pure: no I/O and no clock reads. Time comes in as a [`Timestamp`] and
//! randomness (for backoff jitter) as a number, so every decision can be replayed in a test.
//!
//! - [`id`]: order ids, given by the POS app or generated per device.
//! - [`PaymentCode`]: the customer's scanned code (from [`crate::payment_code`]), a bearer token
//!   that is never shown.
//! - [`state`]: where an order stands, with the diagram of its transitions.
//! - [`outcome`]: the gateway client's three outcomes, and the answer kept from the gateway.
//! - [`policy`]: backoff, lifetimes, limits and caps.
//! - [`machine`]: the [`Order`] and its state machine.
//! - [`receipt`]: the receipt's print status and print jobs.
//! - [`resolution`]: a person's resolution of an order that needs attention, and its audit.
//! - [`app_job`]: print jobs handed to the POS app, leased one at a time.
//! - [`handed`]: which order each recent payment code went to, so none goes to two.
//! - [`time`]: timestamps, in milliseconds since the Unix epoch.
pub mod app_job;
pub mod handed;
pub mod id;
pub mod machine;
pub mod outcome;
pub mod policy;
pub mod receipt;
pub mod resolution;
pub mod shift_id;
pub mod state;
pub mod time;

pub use crate::payment_code::{PaymentCode, PaymentCodeError};
pub use app_job::{AppJob, AppJobId, AppJobKind, AppOutcome, AppResult, LeaseCheck};
pub use handed::HandedCodes;
pub use id::{OrderId, OrderIdGenerator};
pub use machine::{Action, Order, OrderError, Transition};
pub use outcome::{GatewayAnswer, QueryResult, SendResult};
pub use policy::{CapError, OpenTotals, Policy};
pub use receipt::{LinkJob, PrintJob, PrintOutcome, PrintStatus, Receipt};
pub use resolution::{Agreement, GatewayCheck, Resolution, Verdict};
pub use shift_id::ShiftId;
pub use state::{State, StateKind};
pub use time::Timestamp;
