//! posd: a point-of-sale terminal daemon for MyPay / OCP e-wallet offline scan-to-pay.
pub mod api;
pub mod charge;
pub mod cli;
pub mod config;
pub mod daemon;
/// The Taiwan e-invoice: period, Code 39 and QR texts of the printed proof.
pub mod einvoice;
pub mod envelope;
/// ESC/POS encoding of receipts, printer status, and a software printer for previews.
pub mod escpos;
pub mod gateway;
pub mod local_client;
/// Orders and their state machine: pure, no I/O.
pub mod order;
/// The customer's payment code: a bearer token, shown only masked.
pub mod payment_code;
/// Printer links (serial, TCP, device file) and the spooler that holds jobs while paper is out.
pub mod printer;
/// The device profile: printer, camera and scan key of a terminal, read from TOML.
pub mod profile;
/// The printout of a payment: e-invoice proof and item detail, laid out for the paper.
pub mod receipt;
/// Reading the customer's payment QR code: frame sources, decoding pipeline, scan key.
pub mod scan;
pub mod sim;
/// The order store: orders and print jobs, durable in sled.
pub mod store;
