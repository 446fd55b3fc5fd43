//! Helpers shared by the scan tests; each test binary uses a different part.
#![allow(dead_code)]

pub mod corpus;
pub mod field_corpus;
