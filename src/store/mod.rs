//! The order store: every order and print job, durable on disk in a write-ahead journal and
//! indexed in sled.
//!
//! This is the only module that sees sled. Its promise to the rest of the daemon is simple: when
//! a durable write method returns `Ok`, the change is in the journal and the journal is synced
//! (one `fdatasync`, shared by concurrent writers: see `journal_file`), so the caller may go on to
//! its next side effect (send a request, answer the POS app, tell anyone). When the write or the
//! sync fails the method returns an error and the caller must not act on the change. A few writes
//! are *noted* only (a print job's bytes, a print result, a lease to the app): they are in the
//! journal but become durable with the next sync or checkpoint; after a cut that may have lost
//! them, the store opens *unclean* ([`Store::opened_unclean`]) and every receipt still owed goes
//! out again marked `補印`.
//!
//! On disk, `<dir>/journal` holds every change since the last checkpoint (see `journal`), and
//! `<dir>/sled` the sled database, written with no syncs of its own and made durable only at a
//! checkpoint (sled flush and sync, then the journal rewritten empty but for the payment codes
//! still needed): when the store opens, when it closes, when the journal passes
//! [`CHECKPOINT_BYTES`], and once [`Store::spawn_idle_checkpoints`]'s delay after the last write,
//! never again while nothing changes. At open the journal is replayed into sled, so a sled left
//! behind by a cut catches up. A torn tail of the journal is moved to `<dir>/quarantine/` with
//! its reason, and the store opens. Payment codes of unfinished orders are in memory and in the
//! journal only (see `vault`), never in sled, so that they can really be removed.
//!
//! Layout, one sled tree each:
//! - `orders`: order id → order record (JSON with a schema version, see `record`).
//! - `open`: order id → amount and creation time (8 bytes each, big-endian; the amount alone in
//!   stores written before) for every order not final; it answers "what must resume after a
//!   restart", and its mirror in memory (see `open_index`) "how much is still unfinished" and
//!   "which order waits longest" without reading orders.
//! - `print_jobs`: order id, 0, sequence (4 bytes, big-endian) → print job record.
//! - `quarantine`: records that could not be read, moved aside with the reason, never deleted.
//! - `app_jobs`, `app_results`: the POS app's print queue and the results it reported (see
//!   `app_queue`).
//! - `shifts`, `shift_prints`: closed shifts' reports and their printouts, by shift number (see
//!   `shifts`).
//! - `link_jobs`: links printed as QR codes (see `link_jobs`), until printed.
//! - `meta`: the latest stamp of a generated order id, so ids stay unique across restarts even
//!   when the clock goes back.
//!
//! An order and its index entry (and a print job with its order) change in one step: one journal
//! record, applied to sled under the writer lock (see `tx`).

mod app_queue;
mod durability;
mod group_commit;
pub mod journal;
mod journal_file;
mod link_jobs;
mod open_index;
mod record;
mod shifts;
mod tx;
mod vault;

use std::io;
use std::ops::{Bound, ControlFlow};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use self::durability::{Durability, SyncCount};
use self::journal::{Change, Entry};
use self::journal_file::JournalFile;
use self::open_index::OpenIndex;
use self::tx::{Tx, TxTree};
use self::vault::{Codes, Kept};
use crate::order::{
    CapError, OpenTotals, Order, OrderError, OrderId, PaymentCode, Policy, PrintJob, PrintOutcome,
    PrintStatus, StateKind, Timestamp,
};
pub use app_queue::Finish;
pub use record::{OrderHead, SCHEMA_VERSION};

const ORDERS: &str = "orders";
const OPEN: &str = "open";
const PRINT_JOBS: &str = "print_jobs";
const QUARANTINE: &str = "quarantine";
const APP_JOBS: &str = "app_jobs";
const APP_RESULTS: &str = "app_results";
const META: &str = "meta";
const SHIFTS: &str = "shifts";
const SHIFT_PRINTS: &str = "shift_prints";
const LINK_JOBS: &str = "link_jobs";
/// In `meta`: the latest stamp of a generated order id (8 bytes, big-endian).
const ID_STAMP: &[u8] = b"order_id_stamp";
/// In `meta`: the last number given to a job of the app's print queue (8 bytes, big-endian).
const APP_JOB_NUMBER: &[u8] = b"app_job_number";
/// The trees the journal may name, so a replayed record never creates a stray one.
const TREES: [&str; 10] = [
    ORDERS,
    OPEN,
    PRINT_JOBS,
    QUARANTINE,
    APP_JOBS,
    APP_RESULTS,
    META,
    SHIFTS,
    SHIFT_PRINTS,
    LINK_JOBS,
];

/// A journal longer than this is checkpointed (sled made durable, the journal emptied).
pub const CHECKPOINT_BYTES: u64 = 4 * 1024 * 1024;

/// How long after the last write the daemon's one idle checkpoint comes by default.
pub const IDLE_CHECKPOINT: Duration = Duration::from_secs(30);

/// sled's page cache. Its default (1 GiB) is sized for a server; on a handheld the hot records
/// are few, and the kernel's page cache keeps the rest of the file close anyway.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// How long [`Store::open`] waits for sled's directory lock before it calls the store in use.
const SLED_LOCK_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the order store in {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error(
        "the order store in {0} is in use by another process (is a posd daemon already running \
         with this data directory?)"
    )]
    InUse(PathBuf),
    #[error("order store: {doing} failed: {source}")]
    Storage {
        doing: &'static str,
        source: io::Error,
    },
    #[error(
        "order store: flushing to disk failed, so the change is not durable and must not be \
         acted on: {0}"
    )]
    Flush(io::Error),
    #[error(
        "order store: an earlier write failed ({0}); nothing more is read or written until posd \
         restarts and recovers from disk"
    )]
    Failed(String),
    #[error(
        "the disk holding the order store has {free} bytes free, below the reserve of {reserve}; \
         new charges are refused until space is freed (orders already taken carry on)"
    )]
    DiskFull { free: u64, reserve: u64 },
    #[error("order {0} already exists; every order needs an id of its own")]
    Duplicate(OrderId),
    #[error(transparent)]
    Cap(#[from] CapError),
    #[error("order {0} is not in the store")]
    NotFound(OrderId),
    #[error("order {0} is final in the store; it cannot be saved as unfinished again")]
    Reopen(OrderId),
    #[error(
        "the stored record of {tree} key {key} cannot be read ({detail}); it was moved to quarantine"
    )]
    Corrupt {
        tree: String,
        key: String,
        detail: String,
    },
    #[error("order store: {doing} the payment code of order {id} failed: {source}")]
    Vault {
        doing: &'static str,
        id: OrderId,
        source: io::Error,
    },
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error("shift {0} was closed meanwhile; ask for the shifts again and close the next one")]
    ShiftTaken(crate::shift::ShiftId),
}

/// A record moved aside because it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedRecord {
    /// The tree it came from.
    pub tree: String,
    /// Its key, as text (lossy for bytes that are not UTF-8).
    pub key: String,
    /// Why it could not be read.
    pub detail: String,
    /// The bytes as they were stored (base64 when serialized).
    #[serde(with = "crate::order::receipt::base64_bytes")]
    pub bytes: Vec<u8>,
}

impl QuarantinedRecord {
    fn error(&self) -> StoreError {
        StoreError::Corrupt {
            tree: self.tree.clone(),
            key: self.key.clone(),
            detail: self.detail.clone(),
        }
    }
}

pub struct Store {
    path: PathBuf,
    db: sled::Db,
    orders: sled::Tree,
    open: sled::Tree,
    print_jobs: sled::Tree,
    quarantine: sled::Tree,
    app_jobs: sled::Tree,
    app_results: sled::Tree,
    meta: sled::Tree,
    shifts: sled::Tree,
    shift_prints: sled::Tree,
    link_jobs: sled::Tree,
    /// Payment codes of unfinished orders (see `vault`).
    codes: Mutex<Codes>,
    /// Every change, before sled sees it (see `journal`).
    journal: JournalFile,
    /// One step at a time appends to the journal and applies to sled, so both see the same order.
    writer: Mutex<()>,
    /// sled's flush and the syncs it leaves out, at a checkpoint.
    durability: Durability,
    syncs: SyncCount,
    /// The journal held changes at open: the last run ended without its closing checkpoint.
    unclean: bool,
    /// The last number given to a job of the app's queue.
    app_job_number: AtomicU64,
    idle: Arc<Idle>,
    closed: AtomicBool,
    /// Makes "check the caps, then insert" one step for concurrent callers.
    insert_lock: Mutex<()>,
    /// Set by the first failed flush: sled has applied the change in memory but not on disk, and
    /// latches the error, so the store refuses everything from then on (see [`Store::failure`]).
    failure: tokio::sync::watch::Sender<Option<String>>,
    /// Free bytes a new order must leave on the disk (see [`Store::keep_free`]).
    reserve: std::sync::atomic::AtomicU64,
    /// Orders in `needs_attention`, counted at open and kept as orders change, so the health
    /// answer reads no record for it.
    needs_attention: std::sync::atomic::AtomicU64,
    /// The `open` tree in memory, changed with it in `apply` (see `open_index`).
    open_index: Mutex<OpenIndex>,
    quarantined_at_open: Vec<QuarantinedRecord>,
}

fn storage(doing: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
    move |e| StoreError::Storage {
        doing,
        source: e.into(),
    }
}

/// When the one idle checkpoint is due: the last write not yet checkpointed, if any.
#[derive(Default)]
struct Idle {
    state: Mutex<IdleState>,
    changed: Condvar,
}

#[derive(Default)]
struct IdleState {
    last_write: Option<Instant>,
    /// The journal passed [`CHECKPOINT_BYTES`]: checkpoint now.
    full: bool,
    /// A thread checkpoints (see [`Store::spawn_idle_checkpoints`]).
    watched: bool,
    closed: bool,
}

impl Idle {
    fn lock(&self) -> MutexGuard<'_, IdleState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether a step's changes must be on the disk before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Commit {
    /// Synced before the write returns: someone is told, or something leaves, next.
    Durable,
    /// In the journal, durable with the next sync or checkpoint.
    Noted,
}

/// Opens sled, whose lock on its directory keeps two daemons from driving the same orders. The
/// lock may still be held for a moment by a handle in this process that is closing (sled lets go
/// of it from background threads), so a taken lock is waited for before the store is called in
/// use.
fn open_sled(store_dir: &Path, sled_dir: &Path) -> Result<sled::Db, StoreError> {
    let started = Instant::now();
    loop {
        // No background flusher: every write flushes and syncs before it returns, and a handheld
        // on battery should not wake twice a second to sync nothing.
        match sled::Config::new()
            .path(sled_dir)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(None)
            .open()
        {
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if started.elapsed() >= SLED_LOCK_WAIT {
                    return Err(StoreError::InUse(store_dir.to_path_buf()));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            result => {
                return result.map_err(|e| StoreError::Open {
                    path: store_dir.to_path_buf(),
                    source: e.into(),
                });
            }
        }
    }
}

fn abort<T>(e: StoreError) -> Result<T, StoreError> {
    Err(e)
}

fn job_key(order: &OrderId, seq: u32) -> Vec<u8> {
    let mut key = job_prefix(order);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn job_prefix(order: &OrderId) -> Vec<u8> {
    let mut key = order.as_str().as_bytes().to_vec();
    key.push(0);
    key
}

fn open_value(order: &Order) -> [u8; 16] {
    open_index::value(order.charge().amount, order.created_at())
}

/// What [`Store::peek`] found under an order's id.
#[derive(Debug)]
pub enum Peeked {
    Order(Box<Order>),
    Missing,
    /// The record is there but cannot be read as it is.
    Unreadable,
}

/// A stored record that cannot be read, and why.
struct Unreadable {
    bytes: sled::IVec,
    detail: String,
}

/// What [`Store::queue_summary`] counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueSummary {
    pub unfinished: u64,
    pub oldest_unfinished: Option<OrderHead>,
    pub needs_attention: u64,
}

fn needs_attention_in(state: &crate::order::State) -> bool {
    state.kind() == StateKind::NeedsAttention
}

/// One page of a listing: orders after `after` (by id), of state `state` if given, at most `limit`.
/// Ids sort as bytes, and generated ids start with the device and the time, so pages of a
/// device's own orders come oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderQuery {
    pub state: Option<StateKind>,
    pub after: Option<OrderId>,
    pub limit: usize,
}

impl OrderQuery {
    /// Every order in state `kind`, on one page.
    pub fn every_in(kind: StateKind) -> OrderQuery {
        OrderQuery {
            state: Some(kind),
            after: None,
            limit: usize::MAX,
        }
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`: replays the journal into sled (a torn tail moved to
    /// quarantine first), reads every record once (unreadable ones are moved to quarantine and
    /// reported by [`Store::quarantined_at_open`]), then checkpoints.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = dir.as_ref().to_path_buf();
        let opening = |source: io::Error| StoreError::Open {
            path: path.clone(),
            source,
        };
        let sled_dir = path.join("sled");
        let db = open_sled(&path, &sled_dir)?;
        let syncs = SyncCount::default();
        let durability = Durability::new(&sled_dir, syncs.clone()).map_err(opening)?;
        let (journal, scan, torn) =
            JournalFile::open(&path, &path.join("quarantine"), syncs.clone()).map_err(opening)?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| opening(e.into()));
        let mut store = Store {
            path: path.clone(),
            orders: tree(ORDERS)?,
            open: tree(OPEN)?,
            print_jobs: tree(PRINT_JOBS)?,
            quarantine: tree(QUARANTINE)?,
            app_jobs: tree(APP_JOBS)?,
            app_results: tree(APP_RESULTS)?,
            meta: tree(META)?,
            shifts: tree(SHIFTS)?,
            shift_prints: tree(SHIFT_PRINTS)?,
            link_jobs: tree(LINK_JOBS)?,
            codes: Mutex::new(Codes::default()),
            journal,
            writer: Mutex::new(()),
            durability,
            syncs,
            unclean: false,
            app_job_number: AtomicU64::new(0),
            idle: Arc::new(Idle::default()),
            closed: AtomicBool::new(false),
            db,
            insert_lock: Mutex::new(()),
            failure: tokio::sync::watch::Sender::new(None),
            reserve: std::sync::atomic::AtomicU64::new(0),
            needs_attention: std::sync::atomic::AtomicU64::new(0),
            open_index: Mutex::new(OpenIndex::default()),
            quarantined_at_open: Vec::new(),
        };
        store.unclean = store.replay(scan.entries).map_err(opening)?;
        let legacy_codes = path.join("payment_codes");
        for (id, code) in vault::read_legacy(&legacy_codes).map_err(opening)? {
            store.lock_codes().kept.entry(id).or_insert(Kept {
                code,
                at: 0,
                len: 0,
            });
        }
        let mut quarantined = Vec::new();
        if let Some(torn) = torn {
            tracing::warn!(
                "the order store's journal ends in a torn record ({}); it was moved to {}",
                torn.reason,
                torn.saved_as.display()
            );
            let record = QuarantinedRecord {
                tree: journal_file::FILE_NAME.to_owned(),
                key: format!("byte {}", torn.offset),
                detail: torn.reason,
                bytes: torn.bytes,
            };
            let value = serde_json::to_vec(&record).expect("a quarantined record serializes");
            let key = quarantine_key(&record.tree, record.key.as_bytes());
            store.write("quarantining the journal's tail", Commit::Noted, |tx| {
                tx.tree(QUARANTINE).insert(key, value)
            })?;
            quarantined.push(record);
        }
        quarantined.extend(store.sweep()?);
        store.quarantined_at_open = quarantined;
        // Codes of orders no longer unfinished (final, missing, quarantined) go.
        let stale: Vec<OrderId> = {
            let codes = store.lock_codes();
            codes
                .kept
                .keys()
                .filter(|id| !store.open.contains_key(id.as_str()).unwrap_or(false))
                .cloned()
                .collect()
        };
        if !stale.is_empty() {
            store.write("wiping codes no longer needed", Commit::Noted, |tx| {
                for id in &stale {
                    tx.drop_code(id);
                }
                Ok(())
            })?;
        }
        if store.unclean {
            store.mark_owed_as_uncertain()?;
        }
        store.app_job_number = AtomicU64::new(store.last_app_job_number()?);
        store.index_open_orders()?;
        store.checkpoint()?;
        vault::remove_legacy(&legacy_codes).map_err(opening)?;
        Ok(store)
    }

    /// Applies the journal's records to sled and the codes; returns whether any change was
    /// found (the last run ended without its closing checkpoint).
    fn replay(&self, entries: Vec<(usize, Entry)>) -> io::Result<bool> {
        let mut changed = false;
        let mut codes = self.lock_codes();
        for (offset, entry) in entries {
            match entry {
                Entry::Code { id, code, secret } => {
                    let (Ok(id), Some(Ok(code))) = (OrderId::parse(id), code.map(PaymentCode::new))
                    else {
                        continue;
                    };
                    codes.kept.insert(
                        id,
                        Kept {
                            code,
                            at: (offset + secret.start) as u64,
                            len: secret.len(),
                        },
                    );
                }
                Entry::Batch(batch) => {
                    changed = true;
                    for change in batch {
                        match change {
                            Change::Put { tree, key, value } => {
                                if let Some(tree) = self.tree_by_name(&tree) {
                                    tree.insert(key, value)?;
                                }
                            }
                            Change::Remove { tree, key } => {
                                if let Some(tree) = self.tree_by_name(&tree) {
                                    tree.remove(key)?;
                                }
                            }
                            Change::DropCode { id } => {
                                if let Ok(id) = OrderId::parse(id) {
                                    codes.kept.remove(&id);
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(changed)
    }

    fn tree_by_name(&self, name: &str) -> Option<&sled::Tree> {
        TREES
            .iter()
            .find(|known| **known == name)
            .map(|known| self.tree(known))
    }

    fn tree(&self, name: &'static str) -> &sled::Tree {
        match name {
            ORDERS => &self.orders,
            OPEN => &self.open,
            PRINT_JOBS => &self.print_jobs,
            QUARANTINE => &self.quarantine,
            APP_JOBS => &self.app_jobs,
            APP_RESULTS => &self.app_results,
            META => &self.meta,
            SHIFTS => &self.shifts,
            SHIFT_PRINTS => &self.shift_prints,
            LINK_JOBS => &self.link_jobs,
            other => unreachable!("no tree is named {other}"),
        }
    }

    fn lock_codes(&self) -> MutexGuard<'_, Codes> {
        self.codes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next number of a job in the app's queue or of a link job: numbers only grow, across
    /// restarts too (a number noted but lost in a cut was given to nothing that survived it).
    fn next_job_number(&self) -> Result<u64, StoreError> {
        let number = self.app_job_number.fetch_add(1, Ordering::SeqCst) + 1;
        self.write("numbering a print job", Commit::Noted, |tx| {
            let meta = tx.tree(META);
            let last = meta
                .get(APP_JOB_NUMBER)?
                .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
                .map_or(0, u64::from_be_bytes);
            meta.insert(APP_JOB_NUMBER, number.max(last).to_be_bytes())
        })?;
        Ok(number)
    }

    /// The highest job number stored anywhere.
    fn last_app_job_number(&self) -> Result<u64, StoreError> {
        let read = |bytes: Option<&[u8]>| {
            bytes
                .and_then(|b| b.get(..8))
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_be_bytes)
        };
        let meta = self
            .meta
            .get(APP_JOB_NUMBER)
            .map_err(storage("reading the job number"))?;
        let mut last = read(meta.as_deref());
        for tree in [&self.app_jobs, &self.app_results, &self.link_jobs] {
            let key = tree
                .last()
                .map_err(storage("reading the job number"))?
                .map(|(key, _)| key);
            last = last.max(read(key.as_deref()));
        }
        Ok(last)
    }

    /// Whether the last run ended without its closing checkpoint (a cut, a crash, `kill -9`):
    /// print jobs and leases noted but perhaps not durable may have been lost, so every receipt
    /// still owed was marked at open to go out again as `補印`.
    pub fn opened_unclean(&self) -> bool {
        self.unclean
    }

    /// After an unclean end, every print job not recorded printed may be on paper already.
    fn mark_owed_as_uncertain(&self) -> Result<(), StoreError> {
        let jobs = self.unprinted_jobs()?;
        let app_jobs = self.app_jobs()?;
        self.write("marking owed receipts as reprints", Commit::Noted, |tx| {
            let jobs_tree = tx.tree(PRINT_JOBS);
            for mut job in jobs.iter().cloned() {
                job.uncertain = true;
                jobs_tree.insert(
                    job_key(&job.order_id, job.seq),
                    record::encode_print_job(&job),
                )?;
            }
            let app_tree = tx.tree(APP_JOBS);
            for mut job in app_jobs.iter().cloned() {
                if job.order_id.is_some() {
                    // A lease noted but lost may have handed this job out: the next lease gets a
                    // number of its own, and lays the receipt out as a reprint.
                    job.leases += 1;
                    job.leased = true;
                    app_tree.insert(job.number.to_be_bytes(), record::encode_app_job(&job))?;
                }
            }
            Ok(())
        })
    }

    /// Records found unreadable (and moved to quarantine) when the store was opened.
    pub fn quarantined_at_open(&self) -> &[QuarantinedRecord] {
        &self.quarantined_at_open
    }

    /// Every record ever moved to quarantine.
    pub fn quarantined(&self) -> Result<Vec<QuarantinedRecord>, StoreError> {
        let mut records = Vec::new();
        for entry in self.quarantine.iter() {
            let (_, value) = entry.map_err(storage("reading the quarantine"))?;
            if let Ok(record) = serde_json::from_slice(&value) {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// Stores a new order, durably. Refused when the id is taken (or was quarantined), or when an
    /// unfinished order would break the caps of `policy`.
    pub fn insert(&self, order: &Order, policy: &Policy) -> Result<(), StoreError> {
        self.insert_with(order, policy, None, Commit::Durable)
    }

    /// Stores a new order in the journal without syncing it: the caller makes it durable with
    /// the order's next durable step, or with [`Store::make_durable`], before anyone is told.
    pub fn insert_staged(
        &self,
        order: &Order,
        policy: &Policy,
        stamp: Option<u64>,
    ) -> Result<(), StoreError> {
        self.insert_with(order, policy, stamp, Commit::Noted)
    }

    /// Stores a new order whose id was generated at `stamp` (see [`Store::last_id_stamp`]), in
    /// the same durable step that records the stamp.
    pub fn insert_generated(
        &self,
        order: &Order,
        policy: &Policy,
        stamp: u64,
    ) -> Result<(), StoreError> {
        self.insert_with(order, policy, Some(stamp), Commit::Durable)
    }

    /// The latest stamp of a generated order id: ids made after a restart start past it, so a
    /// clock set back never makes an id twice.
    pub fn last_id_stamp(&self) -> Result<u64, StoreError> {
        let stored = self
            .meta
            .get(ID_STAMP)
            .map_err(storage("reading the order id stamp"))?;
        Ok(stored
            .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    fn insert_with(
        &self,
        order: &Order,
        policy: &Policy,
        stamp: Option<u64>,
        commit: Commit,
    ) -> Result<(), StoreError> {
        self.usable()?;
        let reserve = self.reserve();
        if reserve > 0 {
            let free = self.free_bytes().map_err(|source| StoreError::Storage {
                doing: "reading the free space",
                source,
            })?;
            if free < reserve {
                return Err(StoreError::DiskFull { free, reserve });
            }
        }
        let _one_at_a_time = self.insert_lock.lock().unwrap_or_else(|e| e.into_inner());
        let key = order.id().as_str().as_bytes();
        let quarantined = self
            .quarantine
            .contains_key(quarantine_key(ORDERS, key))
            .map_err(storage("checking the quarantine"))?;
        if quarantined {
            return Err(StoreError::Duplicate(order.id().clone()));
        }
        let taken = self
            .orders
            .contains_key(key)
            .map_err(storage("checking for a duplicate order id"))?;
        if taken {
            return Err(StoreError::Duplicate(order.id().clone()));
        }
        if !order.is_final() {
            policy.admit(self.open_totals()?, order.charge().amount)?;
        }
        let bytes = record::encode_order(order);
        self.write_and(
            "inserting an order",
            commit,
            |tx| {
                let (orders, open, meta) = (tx.tree(ORDERS), tx.tree(OPEN), tx.tree(META));
                if orders.get(key)?.is_some() {
                    return abort(StoreError::Duplicate(order.id().clone()));
                }
                Self::keep_payment_code(tx, order);
                orders.insert(key, bytes.as_slice())?;
                if !order.is_final() {
                    open.insert(key, open_value(order))?;
                }
                if let Some(stamp) = stamp {
                    let last = meta
                        .get(ID_STAMP)?
                        .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
                        .map_or(0, u64::from_be_bytes);
                    meta.insert(ID_STAMP, stamp.max(last).to_be_bytes())?;
                }
                Ok(())
            },
            |()| self.count_attention(false, needs_attention_in(order.state())),
        )?;
        Ok(())
    }

    /// Saves a changed order, durably. The order must be in the store, and a final order stays final.
    pub fn save(&self, order: &Order) -> Result<(), StoreError> {
        self.save_with(order, Commit::Durable)
    }

    /// Saves a changed order into the journal, durable with the next sync or checkpoint: for
    /// changes nobody is told of and nothing acts on before then.
    pub fn note(&self, order: &Order) -> Result<(), StoreError> {
        self.save_with(order, Commit::Noted)
    }

    /// Saves several changed orders durably in one step: one journal record, one `fdatasync`.
    /// Either every order is saved or none is (the first order that cannot be saved refuses the
    /// step).
    pub fn save_all(&self, orders: &[Order]) -> Result<(), StoreError> {
        self.usable()?;
        let records: Vec<Vec<u8>> = orders.iter().map(record::encode_order).collect();
        self.write_and(
            "saving orders",
            Commit::Durable,
            |tx| {
                orders
                    .iter()
                    .zip(&records)
                    .map(|(order, bytes)| Self::save_in(tx, order, bytes))
                    .collect::<Result<Vec<bool>, StoreError>>()
            },
            |was| {
                for (order, was) in orders.iter().zip(was) {
                    self.count_attention(*was, needs_attention_in(order.state()));
                }
            },
        )?;
        Ok(())
    }

    fn save_with(&self, order: &Order, commit: Commit) -> Result<(), StoreError> {
        self.usable()?;
        let bytes = record::encode_order(order);
        self.write_and(
            "saving an order",
            commit,
            |tx| Self::save_in(tx, order, &bytes),
            |was| self.count_attention(*was, needs_attention_in(order.state())),
        )?;
        Ok(())
    }

    /// Adds the print job of the receipt the order owes, noted, not synced: the receipt is owed by
    /// the order already, and a job lost in a cut goes out again marked `補印` (see
    /// [`Store::opened_unclean`]). The order's record is left as it is.
    ///
    /// Returns `false`, adding nothing, unless the order still owes print `job.seq` (its receipt
    /// pending, with that many reprints asked for): the printer lays a receipt out from a copy
    /// of the order read without the order's lock, and a reprint asked for meanwhile makes that
    /// copy's job stale.
    pub fn add_print_job(&self, job: &PrintJob) -> Result<bool, StoreError> {
        self.add_print_job_with(job, None)
    }

    fn add_print_job_with(
        &self,
        job: &PrintJob,
        app_job: Option<&crate::order::AppJob>,
    ) -> Result<bool, StoreError> {
        self.usable()?;
        let job_bytes = record::encode_print_job(job);
        let app_job = app_job.map(|app_job| (app_job.number, record::encode_app_job(app_job)));
        self.write("adding a print job", Commit::Noted, |tx| {
            let Some(order) = tx.tree(ORDERS).get(job.order_id.as_str())? else {
                return abort(StoreError::NotFound(job.order_id.clone()));
            };
            let head = match record::decode_order_head(&order) {
                Ok(head) => head,
                Err(detail) => {
                    return abort(StoreError::Corrupt {
                        tree: ORDERS.to_owned(),
                        key: job.order_id.to_string(),
                        detail,
                    });
                }
            };
            if head.receipt.reprints != job.seq || head.receipt.status != PrintStatus::Pending {
                return Ok(false);
            }
            tx.tree(PRINT_JOBS)
                .insert(job_key(&job.order_id, job.seq), job_bytes.as_slice())?;
            if let Some((number, app_bytes)) = &app_job {
                tx.tree(APP_JOBS)
                    .insert(number.to_be_bytes(), app_bytes.as_slice())?;
            }
            Ok(true)
        })
    }

    /// Settles print `seq` of the order's receipt without a job (nothing to print, or a layout
    /// that failed), durably, changing the order as stored now rather than a copy read earlier.
    /// Returns `false`, changing nothing, unless the order still owes that print (see
    /// [`Store::add_print_job`]).
    pub fn settle_receipt(
        &self,
        id: &OrderId,
        seq: u32,
        settle: impl FnOnce(&mut Order) -> Result<(), OrderError>,
    ) -> Result<bool, StoreError> {
        self.usable()?;
        let settled = self.write_and(
            "settling a receipt",
            Commit::Durable,
            |tx| {
                let key = id.as_str();
                let Some(bytes) = tx.tree(ORDERS).get(key)? else {
                    return abort(StoreError::NotFound(id.clone()));
                };
                let mut order = match record::decode_order(&bytes) {
                    Ok(order) => order,
                    Err(detail) => {
                        return abort(StoreError::Corrupt {
                            tree: ORDERS.to_owned(),
                            key: key.to_owned(),
                            detail,
                        });
                    }
                };
                if order.receipt().reprints != seq || order.receipt().status != PrintStatus::Pending
                {
                    return Ok(None);
                }
                settle(&mut order)?;
                let was = Self::save_in(tx, &order, &record::encode_order(&order))?;
                Ok(Some((was, needs_attention_in(order.state()))))
            },
            |settled| {
                if let Some((was, is)) = settled {
                    self.count_attention(*was, *is);
                }
            },
        )?;
        Ok(settled.is_some())
    }

    /// The payment code goes into the journal with the record that lets the order be sent, and
    /// is wiped with the record that makes it final.
    fn keep_payment_code(tx: &Tx, order: &Order) {
        match order.payment_code() {
            _ if order.is_final() => tx.drop_code(order.id()),
            Some(code) => tx.keep_code(order.id(), code),
            None => {}
        }
    }

    /// Gives an unfinished order read from its record back its payment code.
    fn with_payment_code(&self, mut order: Order) -> Result<Order, StoreError> {
        if !order.is_final()
            && let Some(code) = self.lock_codes().get(order.id())
        {
            order.restore_payment_code(code);
        }
        Ok(order)
    }

    fn save_in(tx: &Tx, order: &Order, bytes: &[u8]) -> Result<bool, StoreError> {
        let (orders, open) = (tx.tree(ORDERS), tx.tree(OPEN));
        let key = order.id().as_str().as_bytes();
        let Some(before) = orders.get(key)? else {
            return abort(StoreError::NotFound(order.id().clone()));
        };
        let was_attention =
            record::decode_order_head(&before).is_ok_and(|head| needs_attention_in(&head.state));
        if order.is_final() {
            open.remove(key)?;
        } else if open.get(key)?.is_none() {
            return abort(StoreError::Reopen(order.id().clone()));
        } else {
            open.insert(key, open_value(order))?;
        }
        Self::keep_payment_code(tx, order);
        orders.insert(key, bytes)?;
        Ok(was_attention)
    }

    /// Keeps the count of orders in `needs_attention` after a save that changed `was` to `is`.
    fn count_attention(&self, was: bool, is: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        match (was, is) {
            (false, true) => {
                self.needs_attention.fetch_add(1, Relaxed);
            }
            (true, false) => {
                let _ = self
                    .needs_attention
                    .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1));
            }
            _ => {}
        }
    }

    /// The order with this id; an unreadable record is quarantined and reported as an error.
    pub fn get(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        match self.read_order(id)? {
            None => Ok(None),
            Some(Ok(order)) => Ok(Some(order)),
            Some(Err(Unreadable { bytes, detail })) => {
                let key = id.as_str().as_bytes();
                Err(self.quarantine_record(ORDERS, key, &bytes, detail)?.error())
            }
        }
    }

    /// The order with this id, read without writing anything, so cheap enough for an async
    /// worker: a record that cannot be read is left where it is for [`Store::get`] to quarantine.
    pub fn peek(&self, id: &OrderId) -> Result<Peeked, StoreError> {
        Ok(match self.read_order(id)? {
            None => Peeked::Missing,
            Some(Ok(order)) => Peeked::Order(Box::new(order)),
            Some(Err(_)) => Peeked::Unreadable,
        })
    }

    /// The order stored under `id`, with its kept payment code; or its record's bytes and why
    /// they cannot be read.
    fn read_order(&self, id: &OrderId) -> Result<Option<Result<Order, Unreadable>>, StoreError> {
        let stored = self.orders.get(id.as_str());
        let Some(bytes) = stored.map_err(storage("reading an order"))? else {
            return Ok(None);
        };
        Ok(Some(match record::decode_order(&bytes) {
            Ok(order) => Ok(self.with_payment_code(order)?),
            Err(detail) => Err(Unreadable { bytes, detail }),
        }))
    }

    /// Every unfinished order, in id order: what must resume after a restart.
    pub fn list_open(&self) -> Result<Vec<Order>, StoreError> {
        let mut orders = Vec::new();
        for entry in self.open.iter() {
            let (key, _) = entry.map_err(storage("reading the open orders"))?;
            let id = OrderId::parse(String::from_utf8_lossy(&key).into_owned());
            let order = match id {
                Ok(id) => self.get(&id),
                Err(e) => Err(StoreError::Corrupt {
                    tree: OPEN.to_owned(),
                    key: String::from_utf8_lossy(&key).into_owned(),
                    detail: e.to_string(),
                }),
            };
            match order {
                Ok(Some(order)) => orders.push(order),
                Ok(None) | Err(StoreError::Corrupt { .. }) => {
                    self.write("repairing the open index", Commit::Durable, |tx| {
                        tx.tree(OPEN).remove(&key)
                    })?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(orders)
    }

    /// One page of orders, in id order (see [`OrderQuery`]). Each record's head is read first, so
    /// orders of other states are skipped without being built.
    pub fn list(&self, query: &OrderQuery) -> Result<Vec<Order>, StoreError> {
        let mut page = Vec::new();
        if query.limit == 0 {
            return Ok(page);
        }
        let start = match &query.after {
            Some(after) => Bound::Excluded(after.as_str().as_bytes()),
            None => Bound::Unbounded,
        };
        self.scan_orders(
            self.orders.range::<&[u8], _>((start, Bound::Unbounded)),
            |head| query.state.is_none_or(|kind| head.state.kind() == kind),
            |order| {
                page.push(self.with_payment_code(order)?);
                Ok(if page.len() < query.limit {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                })
            },
        )?;
        Ok(page)
    }

    /// How many orders wait for a person (`needs_attention`), from memory.
    pub fn needs_attention_count(&self) -> u64 {
        self.needs_attention
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The queue at a glance, from memory (see `open_index`): how many orders are unfinished,
    /// the head of the oldest of them (the one record read), and how many wait for a person.
    /// The health answer asks while thousands of orders drain, so it never scans them.
    pub fn queue_summary(&self) -> Result<QueueSummary, StoreError> {
        // The oldest few, read outside the lock that every write takes: one of them is readable
        // unless records are broken, and those are quarantined by the next listing.
        let (unfinished, oldest): (u64, Vec<Box<[u8]>>) = {
            let index = self.lock_open_index();
            let oldest = index.oldest_first().take(8).map(Box::from).collect();
            (index.totals().orders, oldest)
        };
        let mut summary = QueueSummary {
            unfinished,
            oldest_unfinished: None,
            needs_attention: self
                .needs_attention
                .load(std::sync::atomic::Ordering::Relaxed),
        };
        for key in oldest {
            let Some(bytes) = self.orders.get(&key).map_err(storage("reading an order"))? else {
                continue;
            };
            if let Ok(head) = record::decode_order_head(&bytes) {
                summary.oldest_unfinished = Some(head);
                break;
            }
        }
        Ok(summary)
    }

    /// Hands the head of every readable order to `each`, one at a time; unreadable records are
    /// quarantined, as in every listing.
    fn for_each_head(&self, mut each: impl FnMut(OrderHead)) -> Result<(), StoreError> {
        for entry in self.orders.iter() {
            let (key, bytes) = entry.map_err(storage("reading orders"))?;
            match record::decode_order_head(&bytes) {
                Ok(head) => each(head),
                Err(detail) => {
                    self.quarantine_record(ORDERS, &key, &bytes, detail)?;
                }
            }
        }
        Ok(())
    }

    /// How many orders are unfinished, and their total amount, from memory.
    pub fn open_totals(&self) -> Result<OpenTotals, StoreError> {
        Ok(self.lock_open_index().totals())
    }

    fn lock_open_index(&self) -> MutexGuard<'_, OpenIndex> {
        self.open_index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fills the mirror of the `open` tree from sled, once every change of the opening is in;
    /// from then on `apply` keeps it. An entry of a store written before the tree kept the
    /// creation time takes it from its order.
    fn index_open_orders(&self) -> Result<(), StoreError> {
        let mut index = self.lock_open_index();
        index.clear();
        for entry in self.open.iter() {
            let (key, value) = entry.map_err(storage("reading the open orders"))?;
            let (amount, mut created_at) = open_index::parse(&value);
            if created_at.is_none() {
                let record = self.orders.get(&key).map_err(storage("reading an order"))?;
                created_at = record
                    .and_then(|bytes| record::decode_order_head(&bytes).ok())
                    .map(|head| head.created_at);
            }
            index.put(&key, amount, created_at);
        }
        Ok(())
    }

    /// Cancels an order that has not reached the gateway, durably, and returns it.
    pub fn cancel(&self, id: &OrderId, now: Timestamp) -> Result<Order, StoreError> {
        self.usable()?;
        let mut order = self
            .get(id)?
            .ok_or_else(|| StoreError::NotFound(id.clone()))?;
        order.cancel(now)?;
        self.save(&order)?;
        Ok(order)
    }

    /// Hands every final order to `each`, one at a time and in id order, until `each` breaks off:
    /// an export of years of orders never holds more than one in memory.
    pub fn for_each_final(
        &self,
        mut each: impl FnMut(Order) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        self.scan_orders(
            self.orders.iter(),
            |head| head.state.is_final(),
            |order| Ok(each(order)),
        )
    }

    /// Deletes final orders (and their print jobs) last changed more than `days` days before `now`;
    /// returns how many orders went. Unfinished orders are never pruned, however old. Only the
    /// heads of the records are read to choose.
    pub fn prune_final_older_than(&self, days: u32, now: Timestamp) -> Result<usize, StoreError> {
        self.usable()?;
        let cutoff = now.minus(Duration::from_secs(u64::from(days) * 86_400));
        let mut expired = Vec::new();
        self.for_each_head(|head| {
            // A receipt still owed keeps its order, however old: it must yet print.
            let owed = matches!(
                head.receipt.status,
                PrintStatus::Pending | PrintStatus::Failed { .. }
            );
            if head.state.is_final() && head.updated_at < cutoff && !owed {
                expired.push((head.id, needs_attention_in(&head.state)));
            }
        })?;
        for (id, attention) in &expired {
            let key = id.as_str().as_bytes();
            let job_keys: Vec<_> = self
                .print_jobs
                .scan_prefix(job_prefix(id))
                .keys()
                .collect::<Result<_, _>>()
                .map_err(storage("listing print jobs to prune"))?;
            self.write_and(
                "pruning an order",
                Commit::Noted,
                |tx| {
                    tx.tree(ORDERS).remove(key)?;
                    let jobs = tx.tree(PRINT_JOBS);
                    for job in &job_keys {
                        jobs.remove(job)?;
                    }
                    Ok(())
                },
                |()| self.count_attention(*attention, false),
            )?;
        }
        self.prune_app_results_before(cutoff)?;
        self.make_durable()?;
        Ok(expired.len())
    }

    /// Records what became of print job `seq` of order `id`, with the order's receipt, in one
    /// step. The order is read inside that step, so a reprint asked for meanwhile is kept: the
    /// receipt follows only its latest print. Noted, not synced: a result lost in a cut leaves
    /// the job owed, and it goes out again marked `補印`.
    pub fn record_print(
        &self,
        id: &OrderId,
        seq: u32,
        outcome: &PrintOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.usable()?;
        self.write("recording a print", Commit::Noted, |tx| {
            apply_print(&tx.tree(ORDERS), &tx.tree(PRINT_JOBS), id, seq, outcome, at)
        })
    }

    /// The print jobs of one order, in sequence.
    pub fn print_jobs(&self, id: &OrderId) -> Result<Vec<PrintJob>, StoreError> {
        self.read_jobs(
            self.print_jobs.scan_prefix(job_prefix(id)),
            &mut Vec::new(),
            |_| true,
        )
    }

    /// Paid orders whose receipt waits for the printer. Most have a job already; one that has
    /// none was paid just before the daemon stopped, before its job could be stored.
    pub fn receipts_pending(&self) -> Result<Vec<OrderId>, StoreError> {
        let mut pending = Vec::new();
        self.for_each_head(|head| {
            if head.receipt.status == PrintStatus::Pending {
                pending.push(head.id);
            }
        })?;
        Ok(pending)
    }

    /// Every print job not yet printed (pending or failed): what the printer owes after a restart
    /// or a paper change.
    pub fn unprinted_jobs(&self) -> Result<Vec<PrintJob>, StoreError> {
        self.read_jobs(self.print_jobs.iter(), &mut Vec::new(), |job| {
            !matches!(
                job.status,
                PrintStatus::Printed { .. } | PrintStatus::NotNeeded
            )
        })
    }

    /// The readable jobs of `entries` that `keep` wants, read one at a time so a long history is
    /// never held in memory at once; unreadable ones are quarantined and added to `moved`.
    fn read_jobs(
        &self,
        entries: sled::Iter,
        moved: &mut Vec<QuarantinedRecord>,
        keep: impl Fn(&PrintJob) -> bool,
    ) -> Result<Vec<PrintJob>, StoreError> {
        let mut jobs = Vec::new();
        for entry in entries {
            let (key, bytes) = entry.map_err(storage("reading print jobs"))?;
            match record::decode_print_job(&bytes) {
                Ok(job) if keep(&job) => jobs.push(job),
                Ok(_) => {}
                Err(detail) => {
                    moved.push(self.quarantine_record(PRINT_JOBS, &key, &bytes, detail)?)
                }
            }
        }
        Ok(jobs)
    }

    /// Reads `entries` one record at a time: heads that `wanted` refuses are skipped, the rest are
    /// read whole and handed to `each` until it breaks off. Unreadable records are quarantined.
    fn scan_orders(
        &self,
        entries: sled::Iter,
        wanted: impl Fn(&OrderHead) -> bool,
        mut each: impl FnMut(Order) -> Result<ControlFlow<()>, StoreError>,
    ) -> Result<(), StoreError> {
        for entry in entries {
            let (key, bytes) = entry.map_err(storage("reading orders"))?;
            let order = match record::decode_order_head(&bytes) {
                Ok(head) if !wanted(&head) => continue,
                Ok(_) => record::decode_order(&bytes),
                Err(detail) => Err(detail),
            };
            match order {
                Ok(order) => {
                    if each(order)?.is_break() {
                        break;
                    }
                }
                Err(detail) => {
                    self.quarantine_record(ORDERS, &key, &bytes, detail)?;
                }
            }
        }
        Ok(())
    }

    /// Reads every record once, quarantining the unreadable ones.
    fn sweep(&self) -> Result<Vec<QuarantinedRecord>, StoreError> {
        let mut moved = Vec::new();
        let mut needs_attention = 0;
        for entry in self.orders.iter() {
            let (key, bytes) = entry.map_err(storage("reading orders"))?;
            match record::decode_order(&bytes) {
                Ok(order) => needs_attention += u64::from(needs_attention_in(order.state())),
                Err(detail) => moved.push(self.quarantine_record(ORDERS, &key, &bytes, detail)?),
            }
        }
        self.needs_attention
            .store(needs_attention, std::sync::atomic::Ordering::Relaxed);
        self.read_jobs(self.print_jobs.iter(), &mut moved, |_| false)?;
        for entry in self.app_jobs.iter() {
            let (key, bytes) = entry.map_err(storage("reading the app's print queue"))?;
            if let Err(detail) = record::decode_app_job(&bytes) {
                moved.push(self.quarantine_record(APP_JOBS, &key, &bytes, detail)?);
            }
        }
        Ok(moved)
    }

    /// Moves an unreadable record to the quarantine tree (out of the way of every listing, but
    /// kept for a person to inspect) and returns the error that describes it.
    fn quarantine_record(
        &self,
        tree: &'static str,
        key: &[u8],
        bytes: &[u8],
        detail: String,
    ) -> Result<QuarantinedRecord, StoreError> {
        let record = QuarantinedRecord {
            tree: tree.to_owned(),
            key: String::from_utf8_lossy(key).into_owned(),
            detail,
            bytes: bytes.to_vec(),
        };
        let value = serde_json::to_vec(&record).expect("a quarantined record serializes");
        let source = match tree {
            ORDERS | APP_JOBS | APP_RESULTS | LINK_JOBS => tree,
            _ => PRINT_JOBS,
        };
        let order = std::str::from_utf8(key)
            .ok()
            .and_then(|k| OrderId::parse(k).ok())
            .filter(|_| tree == ORDERS);
        self.write("quarantining a record", Commit::Durable, |tx| {
            tx.tree(source).remove(key)?;
            if tree == ORDERS {
                tx.tree(OPEN).remove(key)?;
            }
            tx.tree(QUARANTINE)
                .insert(quarantine_key(tree, key), value.as_slice())?;
            // Nothing drives a quarantined order any more; its bearer token must not linger.
            if let Some(id) = &order {
                tx.drop_code(id);
            }
            Ok(())
        })?;
        tracing::warn!("{}", record.error());
        Ok(record)
    }

    /// Runs one step under the writer lock: `step` reads and gathers changes; they go to the
    /// journal as one record (a kept payment code as a record of its own before it), then into
    /// sled, then the codes of orders that ended are wiped in the journal. With
    /// [`Commit::Durable`] the journal is synced before this returns (one `fdatasync` shared with
    /// every step appended before it began). A failed append or sync fails the store for good.
    fn write<T>(
        &self,
        doing: &'static str,
        commit: Commit,
        step: impl FnOnce(&Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_and(doing, commit, step, |_| {})
    }

    /// [`Store::write`], with `applied` run on the step's result as soon as it is applied, still
    /// under the writer lock: the counts kept beside the orders (`needs_attention`) move with
    /// them, so no reader sees an order in a state its count does not have yet.
    fn write_and<T>(
        &self,
        doing: &'static str,
        commit: Commit,
        step: impl FnOnce(&Tx) -> Result<T, StoreError>,
        applied: impl FnOnce(&T),
    ) -> Result<T, StoreError> {
        self.usable()?;
        let (out, seq) = {
            let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let tx = Tx::new(self);
            let out = step(&tx)?;
            let seq = self.apply(doing, tx)?;
            applied(&out);
            (out, seq)
        };
        if commit == Commit::Durable {
            self.sync_through(seq)?;
        }
        self.wrote();
        Ok(out)
    }

    /// Appends a step's records and applies them; returns the number of the last append.
    fn apply(&self, doing: &'static str, tx: Tx) -> Result<u64, StoreError> {
        let mut changes = tx.changes.into_inner();
        let keep = tx.keep.into_inner();
        let mut codes = self.lock_codes();
        let mut dropped = Vec::new();
        for id in tx.drop.into_inner() {
            if codes.kept.contains_key(&id) && !dropped.contains(&id) {
                changes.push(Change::DropCode {
                    id: id.as_str().to_owned(),
                });
                dropped.push(id);
            }
        }
        let mut seq = self.journal.appended();
        for (id, code) in keep {
            let (bytes, secret) = journal::encode_code(id.as_str(), code.expose());
            let (n, offset) = self.journal.append(&bytes).map_err(|e| self.fail(e))?;
            seq = n;
            if let Some(old) = codes.kept.insert(
                id,
                Kept {
                    code,
                    at: offset + secret.start as u64,
                    len: secret.len(),
                },
            ) {
                self.wipe_code(&old)?;
            }
        }
        if changes.is_empty() {
            return Ok(seq);
        }
        let (n, _) = self
            .journal
            .append(&journal::encode_batch(&changes))
            .map_err(|e| self.fail(e))?;
        let mut open_index = self.lock_open_index();
        for change in changes {
            let applied = match change {
                Change::Put { tree, key, value } => {
                    if tree == OPEN {
                        let (amount, created_at) = open_index::parse(&value);
                        open_index.put(&key, amount, created_at);
                    }
                    self.tree_by_name(&tree)
                        .map(|tree| tree.insert(key, value).map(drop))
                }
                Change::Remove { tree, key } => {
                    if tree == OPEN {
                        open_index.remove(&key);
                    }
                    self.tree_by_name(&tree)
                        .map(|tree| tree.remove(key).map(drop))
                }
                Change::DropCode { .. } => None,
            };
            if let Some(Err(e)) = applied {
                // The journal holds the step and sled does not: only a reopen agrees again.
                tracing::error!("order store: {doing} failed in sled: {e}");
                return Err(self.fail(e.into()));
            }
        }
        for id in dropped {
            if let Some(old) = codes.kept.remove(&id) {
                self.wipe_code(&old)?;
            }
        }
        Ok(n)
    }

    fn wipe_code(&self, kept: &Kept) -> Result<(), StoreError> {
        if kept.len == 0 {
            return Ok(());
        }
        self.journal
            .wipe(kept.at, kept.len)
            .map_err(|e| self.fail(e))
    }

    /// Returns once journal append `seq` is on the disk.
    fn sync_through(&self, seq: u64) -> Result<(), StoreError> {
        if cfg!(feature = "power-cut-negative-control") {
            return Ok(());
        }
        self.journal.sync_through(seq).map_err(|e| self.fail(e))?;
        if self.journal.len() > CHECKPOINT_BYTES {
            let watched = {
                let mut idle = self.idle.lock();
                idle.full = true;
                idle.watched
            };
            if watched {
                self.idle.changed.notify_all();
            } else {
                self.checkpoint()?;
            }
        }
        Ok(())
    }

    /// Whether every change noted so far is on the disk already: no sync is owed.
    pub fn is_durable(&self) -> bool {
        self.journal.is_synced(self.journal.appended())
    }

    /// Makes every change noted so far durable: free when a sync since has covered them.
    pub fn make_durable(&self) -> Result<(), StoreError> {
        self.usable()?;
        self.sync_through(self.journal.appended())
    }

    /// The first failure of the journal fails the store for good: what memory holds is no longer
    /// what the disk holds.
    fn fail(&self, e: io::Error) -> StoreError {
        let reason = e.to_string();
        tracing::error!("the order store could not write to disk: {reason}");
        self.failure.send_replace(Some(reason));
        StoreError::Flush(e)
    }

    fn wrote(&self) {
        let mut idle = self.idle.lock();
        if idle.watched {
            // The checkpoint thread waits without a deadline only while no write is pending.
            // Once it has one it reads the latest write's time when that deadline comes, so
            // waking it for every write (several per charge) would only cost a context switch.
            let was_idle = idle.last_write.replace(Instant::now()).is_none();
            drop(idle);
            if was_idle {
                self.idle.changed.notify_all();
            }
        }
    }

    /// Makes sled durable (its flush, then the syncs it leaves out: see `durability`) and
    /// rewrites the journal with the payment codes still needed only.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.usable()?;
        self.checkpoint_now()
    }

    fn checkpoint_now(&self) -> Result<(), StoreError> {
        if cfg!(feature = "power-cut-negative-control") {
            return Ok(());
        }
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.durability.flush(&self.db).map_err(|e| self.fail(e))?;
        let mut codes = self.lock_codes();
        let mut records = Vec::new();
        let mut places = Vec::new();
        for (id, kept) in &codes.kept {
            let (bytes, secret) = journal::encode_code(id.as_str(), kept.code.expose());
            places.push((
                id.clone(),
                (records.len() + secret.start) as u64,
                secret.len(),
            ));
            records.extend_from_slice(&bytes);
        }
        self.journal.rewrite(&records).map_err(|e| self.fail(e))?;
        for (id, at, len) in places {
            if let Some(kept) = codes.kept.get_mut(&id) {
                kept.at = at;
                kept.len = len;
            }
        }
        Ok(())
    }

    /// Checkpoints once, [`IDLE_CHECKPOINT`] (or `after`) after the last write, and at once when
    /// the journal passes [`CHECKPOINT_BYTES`]; never while nothing is written. The thread ends
    /// when the store closes.
    pub fn spawn_idle_checkpoints(self: &Arc<Store>, after: Duration) {
        let idle = self.idle.clone();
        idle.lock().watched = true;
        let store: Weak<Store> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("posd-checkpoint".into())
            .spawn(move || {
                loop {
                    let mut state = idle.lock();
                    loop {
                        if state.closed {
                            return;
                        }
                        if state.full {
                            break;
                        }
                        match state.last_write {
                            None => {
                                state = idle.changed.wait(state).unwrap_or_else(|e| e.into_inner())
                            }
                            Some(last) => {
                                let due = last + after;
                                let now = Instant::now();
                                if now >= due {
                                    break;
                                }
                                state = idle
                                    .changed
                                    .wait_timeout(state, due - now)
                                    .unwrap_or_else(|e| e.into_inner())
                                    .0;
                            }
                        }
                    }
                    state.full = false;
                    state.last_write = None;
                    drop(state);
                    let Some(store) = store.upgrade() else {
                        return;
                    };
                    if let Err(e) = store.checkpoint() {
                        tracing::error!("the order store's checkpoint failed: {e}");
                    }
                }
            })
            .expect("a thread can be started");
    }

    /// Checkpoints for the last time: the next open finds an empty journal and knows the run
    /// ended cleanly. Later writes are refused.
    pub fn close(&self) -> Result<(), StoreError> {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let failed = self.failure.borrow().is_some();
        let result = if !failed {
            self.checkpoint_now()
        } else {
            Ok(())
        };
        {
            let mut idle = self.idle.lock();
            idle.closed = true;
        }
        self.idle.changed.notify_all();
        result
    }

    /// The sync calls this store has made since it was opened (the journal's `fdatasync`s, and at
    /// checkpoints sled's flushes and the syncs of its files): what the sync budget is measured by.
    pub fn sync_calls(&self) -> u64 {
        self.syncs.get()
    }

    /// Refuses work once a write has failed, or the store is closed.
    fn usable(&self) -> Result<(), StoreError> {
        match &*self.failure.borrow() {
            Some(reason) => Err(StoreError::Failed(reason.clone())),
            None if self.closed.load(Ordering::SeqCst) => {
                Err(StoreError::Failed("the order store is closed".to_owned()))
            }
            None => Ok(()),
        }
    }

    /// Why the store failed, once a flush has failed; the daemon then stops, so that a restart
    /// recovers what the disk holds.
    pub fn failure(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        self.failure.subscribe()
    }

    /// Refuses new orders while the disk has less than `bytes` free, so that the orders already
    /// taken always have room to finish and a full disk never fails a write half-way.
    pub fn keep_free(&self, bytes: u64) {
        self.reserve
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The reserve set by [`Store::keep_free`].
    pub fn reserve(&self) -> u64 {
        self.reserve.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Free bytes on the file system that holds the store, for the disk reserve.
    pub fn free_bytes(&self) -> io::Result<u64> {
        free_bytes(&self.path)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::error!("the order store's closing checkpoint failed: {e}");
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn free_bytes(path: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string and `stat` is written by statvfs before it is read.
    let stat = unsafe {
        if libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        stat.assume_init()
    };
    #[allow(clippy::useless_conversion)] // the field widths differ between 32- and 64-bit targets
    let free = u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize));
    Ok(free)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn free_bytes(_path: &Path) -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "free space is read on Linux and Android only",
    ))
}

/// The print job and the order's receipt as `outcome` leaves them, inside a transaction.
fn apply_print(
    orders: &TxTree,
    jobs: &TxTree,
    id: &OrderId,
    seq: u32,
    outcome: &PrintOutcome,
    at: Timestamp,
) -> Result<(), StoreError> {
    let key = job_key(id, seq);
    // An order pruned meanwhile has nothing left to record.
    let Some(bytes) = jobs.get(&key)? else {
        return Ok(());
    };
    let mut job = match record::decode_print_job(&bytes) {
        Ok(job) => job,
        Err(detail) => {
            return abort(StoreError::Corrupt {
                tree: PRINT_JOBS.to_owned(),
                key: format!("{id}/{seq}"),
                detail,
            });
        }
    };
    // A job printed stays printed: a failure told late (the daemon stopping just as the job
    // ended) must not send it again.
    if matches!(job.status, PrintStatus::Printed { .. })
        && matches!(outcome, PrintOutcome::Failed { .. })
    {
        return Ok(());
    }
    job.record(outcome, at);
    jobs.insert(key, record::encode_print_job(&job))?;
    let order_key = id.as_str().as_bytes();
    if let Some(bytes) = orders.get(order_key)?
        && let Ok(mut order) = record::decode_order(&bytes)
        && order.receipt_outcome(seq, outcome, at).is_ok()
    {
        orders.insert(order_key, record::encode_order(&order))?;
    }
    Ok(())
}

fn quarantine_key(tree: &str, key: &[u8]) -> Vec<u8> {
    let mut k = tree.as_bytes().to_vec();
    k.push(b'/');
    k.extend_from_slice(key);
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{PaymentCode, Timestamp};

    fn order_with_code(id: &str) -> Order {
        let charge = serde_json::from_value(serde_json::json!({ "amount": 120 })).unwrap();
        let at = Timestamp::from_millis(1_764_000_000_000);
        let mut order = Order::new(OrderId::parse(id).unwrap(), charge, at).unwrap();
        order
            .payment_code_scanned(PaymentCode::new("281234567890123456").unwrap(), at)
            .unwrap();
        order
    }

    #[test]
    fn a_peek_reads_what_get_reads_and_leaves_an_unreadable_record_to_get() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = OrderId::parse("PEEK-1").unwrap();
        store
            .insert(&order_with_code(id.as_str()), &Policy::default())
            .unwrap();

        let Peeked::Order(peeked) = store.peek(&id).unwrap() else {
            panic!("the order is stored");
        };
        assert_eq!(Some(*peeked.clone()), store.get(&id).unwrap());
        assert_eq!(
            peeked.payment_code().map(PaymentCode::expose),
            Some("281234567890123456"),
            "the kept payment code is restored, as by get"
        );
        let missing = OrderId::parse("PEEK-2").unwrap();
        assert!(matches!(store.peek(&missing).unwrap(), Peeked::Missing));

        store.orders.insert(id.as_str(), &b"{not json"[..]).unwrap();
        assert!(matches!(store.peek(&id).unwrap(), Peeked::Unreadable));
        assert!(
            store.quarantined().unwrap().is_empty(),
            "a peek writes nothing"
        );
        let e = store.get(&id).unwrap_err();
        assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
        let moved = store.quarantined().unwrap();
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].key, "PEEK-1");
        assert!(matches!(store.peek(&id).unwrap(), Peeked::Missing));
    }
}
