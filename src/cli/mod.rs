//! The `posd` subcommands, one module each.

pub mod scan;
