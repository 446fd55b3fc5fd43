//! The sync that makes a sled flush survive a power cut.
//!
//! sled 0.34's `flush` writes its log and then calls `sync_file_range` on Linux, which pushes the
//! written pages to the device but, unlike `fdatasync`, neither commits the file's size nor
//! asks the device to empty its write cache; its blobs (values past 128 KiB, in `blobs/`) are
//! written with no sync at all. After each flush the store therefore syncs the log file itself
//! and every blob file it has not synced yet. `fsync` acts on the file, not on the descriptor, so
//! our own read-only handle reaches what sled wrote.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct Durability {
    log: File,
    blobs: PathBuf,
    synced_blobs: Mutex<HashSet<OsString>>,
}

impl Durability {
    /// `sled_dir` is the directory sled was opened in, after it was opened.
    pub fn new(sled_dir: &Path) -> io::Result<Durability> {
        Ok(Durability {
            log: File::open(sled_dir.join("db"))?,
            blobs: sled_dir.join("blobs"),
            synced_blobs: Mutex::new(HashSet::new()),
        })
    }

    pub fn sync(&self) -> io::Result<()> {
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
                Ok(blob) => blob.sync_all()?,
                // sled removes blobs it no longer needs; one gone is not ours to sync.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
            synced.insert(entry.file_name());
            new_blobs = true;
        }
        if new_blobs {
            File::open(&self.blobs)?.sync_all()?;
        }
        Ok(())
    }
}
