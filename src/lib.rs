//! posd: a point-of-sale terminal daemon for MyPay / OCP e-wallet offline scan-to-pay.
pub mod api;
pub mod charge;
pub mod cli;
pub mod config;
pub mod daemon;
/// The Taiwan e-invoice: period, Code 39 and QR texts of the printed proof.
pub mod einvoice;
pub mod envelope;
pub mod gateway;
pub mod local_client;
/// Orders and their state machine: pure, no I/O.
pub mod order;
pub mod sim;
/// The order store: orders and print jobs, durable in sled.
pub mod store;
