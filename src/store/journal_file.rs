//! The journal's file: records appended at its end, made durable by one `fdatasync` that
//! concurrent writers share (see `group_commit`), rewritten from scratch at a checkpoint.
//!
//! Appends are numbered. [`JournalFile::sync_through`] returns once every append up to a number is
//! on the disk: at once when a sync that started after it has already finished, else after one
//! `fdatasync` led by the first writer to ask, which serves every append made before it began.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::durability::SyncCount;
use super::group_commit::GroupCommit;
use super::journal::{self, Scan};

pub const FILE_NAME: &str = "journal";

struct Tail {
    file: Arc<File>,
    len: u64,
}

pub struct JournalFile {
    path: PathBuf,
    dir: PathBuf,
    tail: Mutex<Tail>,
    /// Appends made so far, and the last one known to be on the disk.
    appended: AtomicU64,
    synced: AtomicU64,
    group: GroupCommit,
    count: SyncCount,
}

/// A torn tail moved aside at open.
pub struct MovedTail {
    pub offset: u64,
    pub reason: String,
    pub bytes: Vec<u8>,
    pub saved_as: PathBuf,
}

impl JournalFile {
    /// Opens (or creates) `<dir>/journal` and reads it. A torn tail is copied into
    /// `quarantine_dir` (synced there first) and then cut off the journal, so the store opens.
    pub fn open(
        dir: &Path,
        quarantine_dir: &Path,
        count: SyncCount,
    ) -> io::Result<(JournalFile, Scan, Option<MovedTail>)> {
        let path = dir.join(FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let bytes = fs::read(&path)?;
        let scan = journal::scan(&bytes);
        let mut moved = None;
        if let Some(torn) = &scan.torn {
            fs::create_dir_all(quarantine_dir)?;
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let saved_as = quarantine_dir.join(format!("journal-tail-{stamp}-at-{}", torn.offset));
            let tail = bytes[torn.offset..].to_vec();
            let mut out = File::create(&saved_as)?;
            out.write_all(&tail)?;
            count.add();
            out.sync_all()?;
            fs::write(
                saved_as.with_extension("reason"),
                format!("{}\n", torn.reason),
            )?;
            count.add();
            File::open(quarantine_dir)?.sync_all()?;
            file.set_len(scan.valid_len as u64)?;
            count.add();
            file.sync_all()?;
            moved = Some(MovedTail {
                offset: torn.offset as u64,
                reason: torn.reason.clone(),
                bytes: tail,
                saved_as,
            });
        }
        let journal = JournalFile {
            dir: dir.to_path_buf(),
            path,
            tail: Mutex::new(Tail {
                file: Arc::new(file),
                len: scan.valid_len as u64,
            }),
            appended: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            group: GroupCommit::default(),
            count,
        };
        Ok((journal, scan, moved))
    }

    fn lock(&self) -> MutexGuard<'_, Tail> {
        self.tail.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one record; returns its number and its offset in the file. Not yet durable.
    pub fn append(&self, record: &[u8]) -> io::Result<(u64, u64)> {
        let mut tail = self.lock();
        let offset = tail.len;
        if let Err(e) = tail.file.write_all_at(record, offset) {
            // Whatever part was written is a torn tail that the next open moves aside; what comes
            // next is written over it.
            let _ = tail.file.set_len(offset);
            return Err(e);
        }
        tail.len += record.len() as u64;
        let seq = self.appended.fetch_add(1, Ordering::SeqCst) + 1;
        Ok((seq, offset))
    }

    /// Overwrites `len` bytes at `offset` with zeros (a payment code no longer needed).
    pub fn wipe(&self, offset: u64, len: usize) -> io::Result<()> {
        let tail = self.lock();
        tail.file.write_all_at(&vec![0; len], offset)
    }

    /// The number of the last append made.
    pub fn appended(&self) -> u64 {
        self.appended.load(Ordering::SeqCst)
    }

    /// Whether every append up to `seq` is on the disk already.
    pub fn is_synced(&self, seq: u64) -> bool {
        self.synced.load(Ordering::SeqCst) >= seq
    }

    /// Returns once append `seq` and every one before it are on the disk.
    pub fn sync_through(&self, seq: u64) -> io::Result<()> {
        if self.is_synced(seq) {
            return Ok(());
        }
        self.group.commit(|| {
            let (file, upto) = {
                let tail = self.lock();
                (tail.file.clone(), self.appended.load(Ordering::SeqCst))
            };
            self.count.add();
            file.sync_data()?;
            self.synced.fetch_max(upto, Ordering::SeqCst);
            Ok(())
        })
    }

    /// The journal's length in bytes.
    pub fn len(&self) -> u64 {
        self.lock().len
    }

    /// Replaces the journal with `records` (a checkpoint: what it held is durable elsewhere).
    /// The new file is synced before it takes the old one's name, and the directory after, so a
    /// cut leaves one or the other whole. Every append made so far counts as durable after it.
    pub fn rewrite(&self, records: &[u8]) -> io::Result<()> {
        let mut tail = self.lock();
        let fresh_path = self.path.with_extension("new");
        let mut fresh = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&fresh_path)?;
        fresh.write_all(records)?;
        self.count.add();
        fresh.sync_data()?;
        fs::rename(&fresh_path, &self.path)?;
        self.count.add();
        File::open(&self.dir)?.sync_all()?;
        tail.file = Arc::new(fresh);
        tail.len = records.len() as u64;
        self.synced
            .fetch_max(self.appended.load(Ordering::SeqCst), Ordering::SeqCst);
        Ok(())
    }
}
