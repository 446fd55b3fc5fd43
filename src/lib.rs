//! posd: a point-of-sale terminal daemon for MyPay / OCP e-wallet offline scan-to-pay.
pub mod api;
pub mod charge;
pub mod envelope;
/// Orders and their state machine: pure, no I/O.
pub mod order;
/// The order store: orders and print jobs, durable in sled.
pub mod store;
