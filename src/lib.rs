//! posd: a point-of-sale terminal daemon for MyPay / OCP e-wallet offline scan-to-pay.
//!
//! A charge goes from the POS app to a paid order and a printed e-invoice through these parts
//! (`ARCHITECTURE.md` draws the flow and states the invariants):
//!
//! - [`daemon`]: `posd run`. The local API ([`daemon::routes`]), the order worker
//!   ([`daemon::orders`]) and the gate in front of the gateway ([`daemon::gate`]), events,
//!   printing and scanning. It is the only place where the parts below meet.
//! - [`charge`]: what the POS app asks for. [`order`]: the order state machine, pure, with the
//!   policy for backoff, lifetimes and caps. [`store`]: every order and print job, durable in sled
//!   before anything else happens.
//! - [`scan`]: camera frames to one validated [`payment_code`], a bearer token shown only masked.
//! - [`gateway`]: the HTTPS client of the agent API. [`api`]: its wire types. [`envelope`]: the
//!   AES-256-CBC envelope around every request and answer. [`sim`]: a local stand-in for the
//!   agent API, over real TLS, with fault injection.
//! - [`receipt`]: the printout, laid out from the gateway's answer, including the [`einvoice`]
//!   codes, in the terms of [`document`] (text lines, rasters, feeds, cuts). [`escpos`]: a
//!   document as the printer's bytes, and a decoder of them for previews. [`printer`]: the
//!   links (serial, TCP, device file) and the spooler.
//! - [`profile`]: the terminal's hardware. [`config`]: the settings and their `POSD_*` overrides.
//!   [`clock`]: the daemon's time, which no jump of the system clock moves.
//! - [`cli`]: one subcommand per file. [`local_client`]: the local API's client, for the
//!   commands that talk to a running daemon.
//!
//! The pure parts (`envelope`, `api`, `charge`, `einvoice`, `order`, `document`, `receipt`,
//! `escpos` and the scan pipeline) do no I/O and read no clock, so they are tested without devices.

pub mod api;
pub mod charge;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod document;
pub mod einvoice;
pub mod envelope;
pub mod escpos;
pub mod gateway;
pub mod local_client;
pub mod order;
pub mod payment_code;
pub mod printer;
pub mod profile;
pub mod receipt;
pub mod scan;
pub mod shift;
pub mod sim;
pub mod store;
