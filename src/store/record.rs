//! How orders and print jobs are laid out as bytes in the store.
//!
//! Each record is JSON carrying a schema version, so a later posd can read what an earlier one
//! wrote and a record that cannot be read is told apart from one written by a newer version.
//! The payment code is not in any record: the order's serialization leaves it out, and the store
//! keeps it in memory and in its journal (see [`super::vault`]).

use serde::{Deserialize, Serialize};

use crate::order::{
    AppJob, AppResult, LinkJob, Order, OrderId, PrintJob, Receipt, State, Timestamp,
};

/// The layout written by this version.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct OrderRecordOut<'a> {
    schema: u32,
    order: &'a Order,
}

#[derive(Deserialize)]
struct OrderRecordIn {
    schema: u32,
    order: Order,
}

#[derive(Serialize)]
struct PrintJobRecordOut<'a> {
    schema: u32,
    job: &'a PrintJob,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrintJobRecordIn {
    schema: u32,
    job: PrintJob,
}

#[derive(Deserialize)]
struct SchemaOnly {
    schema: u32,
}

pub fn encode_order(order: &Order) -> Vec<u8> {
    let record = OrderRecordOut {
        schema: SCHEMA_VERSION,
        order,
    };
    serde_json::to_vec(&record).expect("an order always serializes to JSON")
}

/// Reads an order record, or says in words why it cannot be read.
pub fn decode_order(bytes: &[u8]) -> Result<Order, String> {
    decode(bytes, |record: &OrderRecordIn| record.schema).map(|record| record.order)
}

/// The few fields of an order a summary or a scan needs; serde skips the rest (history, the
/// gateway's answer) without building them, so reading a long history stays cheap.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderHead {
    pub id: OrderId,
    pub state: State,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub receipt: Receipt,
}

#[derive(Deserialize)]
struct OrderHeadRecordIn {
    schema: u32,
    order: OrderHead,
}

/// Reads just the head of an order record, or says in words why it cannot be read.
pub fn decode_order_head(bytes: &[u8]) -> Result<OrderHead, String> {
    decode(bytes, |record: &OrderHeadRecordIn| record.schema).map(|record| record.order)
}

pub fn encode_print_job(job: &PrintJob) -> Vec<u8> {
    let record = PrintJobRecordOut {
        schema: SCHEMA_VERSION,
        job,
    };
    serde_json::to_vec(&record).expect("a print job always serializes to JSON")
}

pub fn decode_print_job(bytes: &[u8]) -> Result<PrintJob, String> {
    decode(bytes, |record: &PrintJobRecordIn| record.schema).map(|record| record.job)
}

/// A record beside the orders: a job or a reported result of the app's print queue, a link job,
/// a closed shift's report or its printout.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Versioned<T> {
    schema: u32,
    record: T,
}

pub(super) fn encode_versioned<T: Serialize>(record: &T) -> Vec<u8> {
    serde_json::to_vec(&Versioned {
        schema: SCHEMA_VERSION,
        record,
    })
    .expect("a store record always serializes to JSON")
}

pub(super) fn decode_versioned<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    decode(bytes, |record: &Versioned<T>| record.schema).map(|record| record.record)
}

pub fn encode_app_job(job: &AppJob) -> Vec<u8> {
    encode_versioned(job)
}

pub fn decode_app_job(bytes: &[u8]) -> Result<AppJob, String> {
    decode_versioned(bytes)
}

pub fn encode_app_result(result: &AppResult) -> Vec<u8> {
    encode_versioned(result)
}

pub fn decode_app_result(bytes: &[u8]) -> Result<AppResult, String> {
    decode_versioned(bytes)
}

pub fn encode_link_job(job: &LinkJob) -> Vec<u8> {
    encode_versioned(job)
}

pub fn decode_link_job(bytes: &[u8]) -> Result<LinkJob, String> {
    decode_versioned(bytes)
}

/// Reads a record in one pass. Only a record that cannot be read has its schema read on its own,
/// so that one written by a newer posd is told apart from a damaged one.
fn decode<R: serde::de::DeserializeOwned>(
    bytes: &[u8],
    schema: impl FnOnce(&R) -> u32,
) -> Result<R, String> {
    match serde_json::from_slice::<R>(bytes) {
        Ok(record) => {
            check_version(schema(&record))?;
            Ok(record)
        }
        Err(e) => {
            check_schema(bytes)?;
            Err(e.to_string())
        }
    }
}

fn check_schema(bytes: &[u8]) -> Result<(), String> {
    let found = serde_json::from_slice::<SchemaOnly>(bytes)
        .map_err(|e| format!("not a record of this store: {e}"))?
        .schema;
    check_version(found)
}

fn check_version(found: u32) -> Result<(), String> {
    if found == SCHEMA_VERSION {
        Ok(())
    } else {
        Err(format!(
            "schema version {found}, but this posd reads only version {SCHEMA_VERSION}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::OrderId;

    fn new_order_record() -> Vec<u8> {
        let charge = serde_json::from_value(serde_json::json!({ "amount": 120 })).unwrap();
        let order = Order::new(
            OrderId::parse("R-1").unwrap(),
            charge,
            Timestamp::from_millis(1_764_000_000_000),
        )
        .unwrap();
        encode_order(&order)
    }

    #[test]
    fn a_record_reads_back_in_one_pass() {
        let bytes = new_order_record();
        assert_eq!(decode_order(&bytes).unwrap().id().as_str(), "R-1");
        assert_eq!(decode_order_head(&bytes).unwrap().id.as_str(), "R-1");
    }

    #[test]
    fn a_newer_schema_is_named_even_when_its_order_reads() {
        let text = String::from_utf8(new_order_record()).unwrap();
        let newer = text.replace(r#""schema":1"#, r#""schema":2"#);
        assert_ne!(newer, text);
        for error in [
            decode_order(newer.as_bytes()).unwrap_err(),
            decode_order_head(newer.as_bytes()).unwrap_err(),
        ] {
            assert!(error.contains("schema version 2"), "{error}");
        }
    }

    #[test]
    fn a_damaged_record_says_what_is_wrong() {
        let not_a_record = decode_order(b"\x00not json").unwrap_err();
        assert!(
            not_a_record.starts_with("not a record of this store"),
            "{not_a_record}"
        );
        let damaged = decode_order(br#"{"schema":1,"order":{"id":"R-1"}}"#).unwrap_err();
        assert!(damaged.contains("missing field"), "{damaged}");
    }
}
