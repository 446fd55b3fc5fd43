//! Reading the customer's payment code.
//!
//! The customer holds up a phone showing a payment QR code; the handheld's camera sees it at an
//! angle, small, blurred, in glare or in dark mode. This module turns frames into one validated
//! payment code, quickly, and never hands on anything that is not a payment code.
//!
//! - [`preprocess`]: pure image stages (grayscale, downscaling, contrast, adaptive threshold,
//!   inversion) that give `rqrr` a fair chance at poor frames.
//! - [`finder`]: finder patterns found in one pass over the frame, paired into sighted codes.
//! - [`locate`]: where in a frame a code probably is, so `rqrr` searches only there.
//! - [`resample`]: a second reading of grids `rqrr` found but could not decode.
//! - [`decode`]: the per-frame pipeline that tries those stages in turn within a time budget and
//!   stops at the first valid code.
//! - [`validate`]: what a payment code looks like (per-wallet patterns) and why a text is refused.
//! - [`dedupe`]: the same code held in front of the camera is submitted once.
//! - [`source`]: where frames come from (camera, image files, frames pushed by the POS app) and
//!   the recorder that keeps the frames of a failed scan for replay.
//! - [`session`]: one scan from start to code, timeout or cancel, reported as [`ScanEvent`]s.
//! - [`key`]: the hardware scan key, read as Linux input events.
//!
//! Everything but `source` and `key` is free of I/O.

pub mod decode;
pub mod dedupe;
pub mod finder;
pub mod key;
pub mod locate;
pub mod preprocess;
pub mod resample;
pub mod session;
pub mod source;
pub mod validate;

pub use decode::{DecodeOutcome, Decoder, DecoderConfig};
pub use dedupe::Deduper;
pub use session::{ScanEvent, ScanOutcome, SessionConfig, TakenCodes};
pub use source::{Frame, FrameSource, SourceError};
pub use validate::{CodeRules, CodeRulesConfig, MaskedCode, PaymentCode, Refusal, WalletPattern};
