//! posd: a point-of-sale terminal daemon for MyPay / OCP e-wallet offline scan-to-pay.
pub mod api;
pub mod envelope;
/// Reading the customer's payment QR code: frame sources, decoding pipeline, scan key.
pub mod scan;
