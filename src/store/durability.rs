//! The sync that makes a sled flush survive a power cut.
//!
//! sled 0.34's `flush` writes its log and then calls `sync_file_range` on Linux, which pushes the
//! written pages to the device but, unlike `fdatasync`, neither commits the file's size nor
//! asks the device to empty its write cache; its blobs (values past 128 KiB, in `blobs/`) are
//! written with no sync at all. After each flush (at a checkpoint: see the journal in `mod.rs`)
//! the store therefore syncs the log file itself and every blob file it has not synced yet. `fsync` acts on the file, not on the descriptor, so
//! our own read-only handle reaches what sled wrote.
//!
//! Every sync the store asks for is counted ([`SyncCount`]): the store is held to a budget of
//! syncs per charge, and a count kept where the calls are made cannot miss one.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The sync calls the store has made: each sled flush (it ends in `sync_file_range`), each
/// `fdatasync` and each `fsync`: of the journal, and at checkpoints of sled's log and blobs.
#[derive(Clone, Default)]
pub struct SyncCount(Arc<AtomicU64>);

impl SyncCount {
    /// Counts one call, made or about to be made.
    pub fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

pub struct Durability {
    log: File,
    blobs: PathBuf,
    synced_blobs: Mutex<HashSet<OsString>>,
    count: SyncCount,
}

impl Durability {
    /// `sled_dir` is the directory sled was opened in, after it was opened.
    pub fn new(sled_dir: &Path, count: SyncCount) -> io::Result<Durability> {
        Ok(Durability {
            log: File::open(sled_dir.join("db"))?,
            blobs: sled_dir.join("blobs"),
            synced_blobs: Mutex::new(HashSet::new()),
            count,
        })
    }

    /// sled's flush, then the syncs it leaves out.
    pub fn flush(&self, db: &sled::Db) -> io::Result<()> {
        self.count.add();
        db.flush()?;
        self.count.add();
        self.log.sync_data()?;
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|e| e.into_inner());
        let mut new_blobs = false;
        let entries = match fs::read_dir(&self.blobs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            if synced.contains(&entry.file_name()) {
                continue;
            }
            match File::open(entry.path()) {
                Ok(blob) => {
                    self.count.add();
                    blob.sync_all()?
                }
                // sled removes blobs it no longer needs; one gone is not ours to sync.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            synced.insert(entry.file_name());
            new_blobs = true;
        }
        if new_blobs {
            self.count.add();
            File::open(&self.blobs)?.sync_all()?;
        }
        Ok(())
    }
}
