//! Payment codes on disk, outside sled, so that the file system no longer holds them once an
//! order is final.
//!
//! sled is log-structured: overwriting a record leaves the old bytes in its log until a segment
//! is rewritten, so a payment code kept in an order record would outlive the order's end. Each
//! code therefore lives in a file of its own (`payment_codes/<hex of the order id>`), synced before
//! the order can be sent, and wiped (overwritten with zeros, synced, unlinked) when the order is
//! final.
//!
//! What the wipe gives, and what it does not: once it returns, no file, and no read of the
//! device's blocks through the file system, shows the code. The overwrite does not reach the
//! flash cells that held it. ext4 in `data=ordered` mode may write the zeros to the same blocks,
//! but a journal in `data=journal` mode keeps a copy, f2fs writes out of place by design, and
//! below both the flash controller (eMMC, SD, SSD) remaps every write to fresh pages and erases
//! the old ones when it chooses, so the code may stay readable to someone who reads the chips
//! until the controller reuses them. Only full-disk encryption (the key gone, the data unreadable)
//! or a device-level secure erase removes it for certain; a code is good for minutes, so the wipe
//! is there to keep it out of backups, copies of the data directory and anyone reading files.
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::durability::SyncCount;
use crate::order::{OrderId, PaymentCode};

/// Off only in the power-cut harness's negative control (the cargo feature
/// `power-cut-negative-control`), where the store neither flushes nor syncs, the vault included:
/// each of its syncs is a flush of the disk's write cache that would save the orders' records too.
const SYNCS: bool = !cfg!(feature = "power-cut-negative-control");

pub struct Vault {
    dir: PathBuf,
    syncs: SyncCount,
}

impl Vault {
    pub fn open(dir: PathBuf, syncs: SyncCount) -> io::Result<Vault> {
        fs::create_dir_all(&dir)?;
        Ok(Vault { dir, syncs })
    }

    fn path(&self, id: &OrderId) -> PathBuf {
        self.dir.join(hex::encode(id.as_str()))
    }

    /// Keeps the code of order `id` durably; a code already kept is left as it is (an order's code
    /// never changes once scanned).
    pub fn keep(&self, id: &OrderId, code: &PaymentCode) -> io::Result<()> {
        let path = self.path(id);
        if path.exists() {
            return Ok(());
        }
        let partial = path.with_extension("partial");
        let mut file = File::create(&partial)?;
        file.write_all(code.expose().as_bytes())?;
        self.syncs.add();
        if SYNCS {
            file.sync_data()?;
        }
        fs::rename(&partial, &path)?;
        self.sync_dir()
    }

    /// The code kept for order `id`, if any. An unreadable file counts as none: the order is then
    /// reconciled or expires, which is safe.
    pub fn get(&self, id: &OrderId) -> io::Result<Option<PaymentCode>> {
        match fs::read_to_string(self.path(id)) {
            Ok(text) => Ok(PaymentCode::new(text).ok()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Overwrites and removes the code of order `id`, if one is kept.
    pub fn wipe(&self, id: &OrderId) -> io::Result<()> {
        if self.wipe_file(&self.path(id))? {
            self.sync_dir()?;
        }
        Ok(())
    }

    /// Wipes every kept code whose order `keep` does not claim: codes of final, missing or
    /// quarantined orders, and files left half-written by a crash.
    pub fn wipe_all_but(&self, keep: impl Fn(&OrderId) -> bool) -> io::Result<usize> {
        let mut wiped = 0;
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let claimed = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| hex::decode(name).ok())
                .and_then(|id| String::from_utf8(id).ok())
                .and_then(|id| OrderId::parse(id).ok())
                .is_some_and(|id| keep(&id));
            if !claimed {
                self.wipe_file(&path)?;
                wiped += 1;
            }
        }
        if wiped > 0 {
            self.sync_dir()?;
        }
        Ok(wiped)
    }

    /// Overwrites and unlinks one file; `false` when there was none (nothing to sync then).
    fn wipe_file(&self, path: &Path) -> io::Result<bool> {
        let mut file = match OpenOptions::new().write(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        file.write_all(&vec![0; usize::try_from(len).unwrap_or(0)])?;
        self.syncs.add();
        if SYNCS {
            file.sync_data()?;
        }
        drop(file);
        fs::remove_file(path)?;
        Ok(true)
    }

    fn sync_dir(&self) -> io::Result<()> {
        self.syncs.add();
        if SYNCS {
            File::open(&self.dir)?.sync_all()?;
        }
        Ok(())
    }
}
