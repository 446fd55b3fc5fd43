//! The agent API's wire types: commands, requests, responses and their value tables.
pub mod code;
pub mod validate;

pub use code::Code;
