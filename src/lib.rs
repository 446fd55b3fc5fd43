//! posd: a point-of-sale terminal daemon for MyPay / OCP e-wallet offline scan-to-pay.
pub mod api;
pub mod charge;
pub mod cli;
pub mod config;
/// The Taiwan e-invoice: period, Code 39 and QR texts of the printed proof.
pub mod einvoice;
pub mod envelope;
pub mod gateway;
pub mod sim;
/// Orders and their state machine: pure, no I/O.
pub mod order;
/// The order store: orders and print jobs, durable in sled.
pub mod store;
