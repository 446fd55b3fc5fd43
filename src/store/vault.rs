//! Payment codes of unfinished orders: in memory, and on disk only in the journal, never in sled.
//!
//! sled is log-structured: overwriting a record leaves the old bytes in its log until a segment
//! is rewritten, so a payment code kept in an order record would outlive the order's end. A code
//! is therefore written to the journal as a record of its own, in the same durable step as the
//! order that needs it (no sync of its own), and when the order is final the code's bytes are
//! overwritten with zeros in place (the record's checksum leaves them out, so it stays readable)
//! and a later record says the code is gone. A checkpoint rewrites the journal with the codes
//! still needed only.
//!
//! What the wipe gives, and what it does not: once it returns, no read of the journal file shows
//! the code. The overwrite does not reach the flash cells that held it: ext4 in `data=journal`
//! mode keeps a copy, f2fs writes out of place by design, and below both the flash controller
//! remaps every write to fresh pages. Only full-disk encryption or a device-level secure erase
//! removes it for certain; a code is good for minutes, so the wipe is there to keep it out of
//! backups, copies of the data directory and anyone reading files.
//!
//! Stores written before the journal kept each code in a file of its own
//! (`payment_codes/<hex of the order id>`); [`read_legacy`] takes them over at open and
//! [`remove_legacy`] wipes the directory once they are in the journal.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use crate::order::{OrderId, PaymentCode};

/// A code kept, and where its secret bytes lie in the journal file (to wipe them).
pub struct Kept {
    pub code: PaymentCode,
    pub at: u64,
    pub len: usize,
}

#[derive(Default)]
pub struct Codes {
    pub kept: HashMap<OrderId, Kept>,
}

impl Codes {
    pub fn get(&self, id: &OrderId) -> Option<PaymentCode> {
        self.kept.get(id).map(|kept| kept.code.clone())
    }

    /// Whether the journal holds exactly this code for the order already.
    pub fn holds(&self, id: &OrderId, code: &PaymentCode) -> bool {
        self.kept
            .get(id)
            .is_some_and(|kept| kept.code.expose() == code.expose())
    }
}

/// The codes of a store written before the journal, by order.
pub fn read_legacy(dir: &Path) -> io::Result<Vec<(OrderId, PaymentCode)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut codes = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let id = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| hex::decode(name).ok())
            .and_then(|id| String::from_utf8(id).ok())
            .and_then(|id| OrderId::parse(id).ok());
        let code = fs::read_to_string(&path)
            .ok()
            .and_then(|text| PaymentCode::new(text).ok());
        if let (Some(id), Some(code)) = (id, code) {
            codes.push((id, code));
        }
    }
    Ok(codes)
}

/// Overwrites and removes every file of the old code directory, then the directory.
pub fn remove_legacy(dir: &Path) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if let Ok(mut file) = OpenOptions::new().write(true).open(&path) {
            let len = file.metadata()?.len();
            file.write_all(&vec![0; usize::try_from(len).unwrap_or(0)])?;
        }
        fs::remove_file(&path)?;
    }
    fs::remove_dir(dir)
}
