//! posd: a point-of-sale terminal daemon for MyPay / OCP e-wallet offline scan-to-pay.
pub mod api;
pub mod charge;
pub mod envelope;
pub mod gateway;
