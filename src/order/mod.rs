//! Orders: what the daemon promises about a charge from the moment the POS app asks for it.
//!
//! Everything here is pure: no I/O and no clock reads. Time comes in as a [`Timestamp`](crate::order::Timestamp) and
//! randomness (for backoff jitter) as a number, so every decision can be replayed in a test.
//!
//! - [`id`](crate::order::id): order ids, given by the POS app or generated per device.
//! - [`payment_code`](crate::order::payment_code): the customer's scanned code, a bearer token that is never shown.
//! - [`state`](crate::order::state): where an order stands, with the diagram of its transitions.
//! - [`outcome`](crate::order::outcome): the gateway client's three outcomes, and the answer kept from the gateway.
//! - [`policy`](crate::order::policy): backoff, lifetimes, limits and caps.
//! - [`machine`](crate::order::machine): the [`Order`](crate::order::Order) and its state machine.
//! - [`receipt`](crate::order::receipt): the receipt's print status and print jobs.
//! - [`time`](crate::order::time): timestamps.
pub mod id;
pub mod machine;
pub mod outcome;
pub mod policy;
pub mod receipt;
pub mod state;
pub mod time;

pub use crate::payment_code::{PaymentCode, PaymentCodeError};
pub use id::{OrderId, OrderIdGenerator};
pub use machine::{Action, Order, OrderError, Transition};
pub use outcome::{GatewayAnswer, QueryResult, SendResult};
pub use policy::{CapError, OpenTotals, Policy};
pub use receipt::{PrintJob, PrintStatus, Receipt};
pub use state::{State, StateKind};
pub use time::Timestamp;
