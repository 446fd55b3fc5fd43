//! The printed proof of a paid order, and the print jobs that produce it.
//!
//! A print job keeps the exact ESC/POS bytes, so a crash or an empty paper roll never loses a
//! receipt: the job stays `Pending` or `Failed` in the store until the printer takes it. Once
//! printed, the job keeps its record but not its bytes (a reprint lays the receipt out again from
//! the gateway's answer), so months of receipts do not weigh on the store.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::id::OrderId;
use super::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PrintStatus {
    /// Nothing to print: the order is not paid.
    NotNeeded,
    /// Paid; the receipt is waiting for the printer.
    Pending,
    Printed {
        at: Timestamp,
    },
    /// The printer refused or failed (paper out, cover open, link lost).
    Failed {
        reason: String,
        at: Timestamp,
    },
}

/// The receipt of an order: where its printing stands and how often it was printed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub status: PrintStatus,
    pub reprints: u32,
}

impl Default for Receipt {
    fn default() -> Self {
        Receipt {
            status: PrintStatus::NotNeeded,
            reprints: 0,
        }
    }
}

/// One print job of an order: the bytes for the printer and where they stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintJob {
    pub order_id: OrderId,
    /// 0 for the first print, then one more for each reprint.
    pub seq: u32,
    /// ESC/POS bytes, exactly as they go to the printer (base64 in storage). Empty once printed,
    /// and empty for a receipt stored to be laid out again from its order when it goes out: the
    /// layout depends only on the order, so a raster receipt's tens of kilobytes need not be
    /// written to flash for every sale.
    #[serde(with = "base64_bytes")]
    pub escpos: Vec<u8>,
    pub status: PrintStatus,
    pub created_at: Timestamp,
    /// Some or all of the job may be on paper already (the link failed while sending it, or the
    /// daemon ended before its print was recorded): it goes out laid out anew and marked `補印`,
    /// never as a second original.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
}

/// A link printed as a QR code (an e-wallet command's URL for the customer's phone): no order's,
/// kept until it is printed so that paper out or a restart holds it rather than loses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkJob {
    /// Its place among the link jobs; numbers only grow.
    pub number: u64,
    /// What the link is for, as printed above it.
    pub caption: String,
    #[serde(with = "base64_bytes")]
    pub escpos: Vec<u8>,
    pub status: PrintStatus,
    pub created_at: Timestamp,
}

/// What became of one print job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintOutcome {
    Printed,
    Failed {
        reason: String,
        /// Whether the job may be partly or wholly on paper (see [`PrintJob::uncertain`]).
        uncertain: bool,
    },
}

impl PrintJob {
    /// Records `outcome` on the job.
    pub fn record(&mut self, outcome: &PrintOutcome, at: Timestamp) {
        match outcome {
            PrintOutcome::Printed => self.printed(at),
            PrintOutcome::Failed { reason, uncertain } => {
                self.status = PrintStatus::Failed {
                    reason: reason.clone(),
                    at,
                };
                self.uncertain |= *uncertain;
            }
        }
    }

    /// The printer took the job: its bytes are no longer needed.
    pub fn printed(&mut self, at: Timestamp) {
        self.status = PrintStatus::Printed { at };
        self.escpos = Vec::new();
    }
}

/// Bytes as base64 text in serialized records.
pub(crate) mod base64_bytes {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_job_bytes_round_trip_as_base64() {
        let job = PrintJob {
            order_id: OrderId::parse("A-1").unwrap(),
            seq: 0,
            escpos: vec![0x1b, 0x40, 0x00, 0xff],
            status: PrintStatus::Pending,
            created_at: Timestamp::from_millis(1),
            uncertain: false,
        };
        let json = serde_json::to_string(&job).unwrap();
        assert!(json.contains("\"escpos\":\"G0AA/w==\""), "{json}");
        assert_eq!(serde_json::from_str::<PrintJob>(&json).unwrap(), job);
    }
}
