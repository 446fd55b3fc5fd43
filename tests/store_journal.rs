//! The store's write-ahead journal: replayed into sled after a crash, a torn tail moved aside
//! (the store still opens), checkpoints that empty it, and payment codes that leave it when their
//! order is final.
//!
//! A crash is a child process (this test binary, running one of the `child_*` tests) that writes
//! through the store and exits without closing it: sled is never flushed and the journal keeps
//! every record, as after `kill -9`.

use posd::api::Code;
use posd::charge::Charge;
use posd::order::{
    Action, Order, OrderId, PaymentCode, Policy, PrintJob, PrintOutcome, PrintStatus, SendResult,
    Timestamp,
};
use posd::store::journal::{self, Change};
use posd::store::{CHECKPOINT_BYTES, Store};
use serde_json::json;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const CODE: &str = "MY13697573pbmQsYhY";
const OTHER_CODE: &str = "281234567890123456";
const CHILD_DIR: &str = "POSD_JOURNAL_TEST_CHILD_DIR";

fn at(secs: u64) -> Timestamp {
    Timestamp::from_millis(1_764_000_000_000 + secs * 1000)
}

/// An order with its code scanned and attempt 1 marked in flight.
fn sending(id: &str, code: &str) -> Order {
    let charge: Charge = serde_json::from_value(json!({ "amount": 60 })).unwrap();
    let mut order = Order::new(OrderId::parse(id).unwrap(), charge, at(0)).unwrap();
    order
        .payment_code_scanned(PaymentCode::new(code).unwrap(), at(1))
        .unwrap();
    assert_eq!(
        order.next_action(at(1), &Policy::default()),
        Action::Send { attempt: 1 }
    );
    order
}

fn paid(mut order: Order) -> Order {
    order
        .send_finished(
            SendResult::Answered {
                code: Code::Paid,
                answer: json!({"code": "250", "uid": "U1"}),
            },
            at(2),
            &Policy::default(),
            0,
        )
        .unwrap();
    order
}

fn job(order: &Order) -> PrintJob {
    PrintJob {
        order_id: order.id().clone(),
        seq: 0,
        escpos: b"\x1b@receipt\n".to_vec(),
        status: PrintStatus::Pending,
        created_at: at(2),
        uncertain: false,
    }
}

fn journal_of(dir: &Path) -> PathBuf {
    dir.join("journal")
}

fn holds(path: &Path, needle: &[u8]) -> bool {
    fs::read(path)
        .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        .unwrap_or(false)
}

/// Runs `child_<name>` in a process of its own on `dir`; it ends without closing the store.
fn crash_after(name: &str, dir: &Path) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .status()
        .unwrap();
    assert!(status.success(), "{name}: {status}");
}

/// The directory a crashing child works in, when this process is one.
fn child_dir() -> Option<PathBuf> {
    std::env::var_os(CHILD_DIR).map(PathBuf::from)
}

/// Exits at once: no destructor runs, so the store neither checkpoints nor closes.
fn crash() -> ! {
    std::process::exit(0)
}

#[test]
fn child_paid_and_unfinished_orders() {
    let Some(dir) = child_dir() else { return };
    let store = Store::open(&dir).unwrap();
    let policy = Policy::default();
    let done = sending("J-PAID", OTHER_CODE);
    store.insert(&done, &policy).unwrap();
    let done = paid(done);
    store.save(&done).unwrap();
    assert!(store.add_print_job(&job(&done)).unwrap());
    store.insert(&sending("J-OPEN", CODE), &policy).unwrap();
    crash();
}

#[test]
fn a_crash_that_left_sled_behind_is_replayed_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    crash_after("child_paid_and_unfinished_orders", dir.path());
    {
        // sled alone never saw the orders: it syncs nothing of its own and was never flushed.
        let db = sled::open(dir.path().join("sled")).unwrap();
        let orders = db.open_tree("orders").unwrap();
        assert!(orders.get("J-OPEN").unwrap().is_none(), "sled is behind");
    }
    assert!(fs::metadata(journal_of(dir.path())).unwrap().len() > 0);

    let store = Store::open(dir.path()).unwrap();
    assert!(store.opened_unclean());
    assert!(store.quarantined_at_open().is_empty());
    let open = store.list_open().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id().as_str(), "J-OPEN");
    assert_eq!(
        open[0].payment_code().map(PaymentCode::expose),
        Some(CODE),
        "the unfinished order's code came back from the journal"
    );
    let done = store
        .get(&OrderId::parse("J-PAID").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(done.state().to_string(), "paid");
    assert_eq!(done.payment_code(), None);
    // The job was noted, not synced: after an unclean end it may be on paper already, so it
    // goes out again marked as a reprint.
    let jobs = store.unprinted_jobs().unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].uncertain, "{:?}", jobs[0]);
    // The open's checkpoint left only the code still needed in the journal.
    assert!(!holds(&journal_of(dir.path()), OTHER_CODE.as_bytes()));
    assert!(holds(&journal_of(dir.path()), CODE.as_bytes()));
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    assert!(!store.opened_unclean(), "the last run closed cleanly");
    assert_eq!(store.list_open().unwrap().len(), 1);
}

#[test]
fn child_orders_then_a_torn_record() {
    let Some(dir) = child_dir() else { return };
    let store = Store::open(&dir).unwrap();
    for n in 0..3 {
        store
            .insert(&sending(&format!("T-{n}"), CODE), &Policy::default())
            .unwrap();
    }
    // A cut in the middle of the next append: its first bytes reached the disk, the rest not.
    let record = journal::encode_batch(&[Change::Put {
        tree: "orders".into(),
        key: b"T-9".to_vec(),
        value: b"{}".to_vec(),
    }]);
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(journal_of(&dir))
        .unwrap();
    std::io::Write::write_all(&mut file, &record[..record.len() / 2]).unwrap();
    crash();
}

#[test]
fn a_torn_tail_is_quarantined_with_its_reason_and_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    crash_after("child_orders_then_a_torn_record", dir.path());
    let store = Store::open(dir.path()).unwrap();
    let moved = store.quarantined_at_open();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0].tree, "journal");
    assert!(moved[0].detail.contains("cut short"), "{}", moved[0].detail);
    assert!(!moved[0].bytes.is_empty());
    // Kept under the data directory with its reason, and listed with the other quarantined
    // records.
    let kept: Vec<_> = fs::read_dir(dir.path().join("quarantine"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let reason = kept
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "reason"))
        .expect("a reason file");
    assert!(fs::read_to_string(reason).unwrap().contains("cut short"));
    let tail = kept
        .iter()
        .find(|p| p.extension().is_none_or(|e| e != "reason"))
        .unwrap();
    assert_eq!(fs::read(tail).unwrap(), moved[0].bytes);
    assert_eq!(store.quarantined().unwrap().len(), 1);
    // Every record before the tear is there.
    let ids: Vec<String> = store
        .list_open()
        .unwrap()
        .iter()
        .map(|o| o.id().to_string())
        .collect();
    assert_eq!(ids, ["T-0", "T-1", "T-2"]);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert!(store.quarantined_at_open().is_empty(), "moved once");
    assert_eq!(store.list_open().unwrap().len(), 3);
}

#[test]
fn a_checkpoint_empties_the_journal_and_sled_holds_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let empty = fs::metadata(journal_of(dir.path())).unwrap().len();
    assert_eq!(empty, 0, "a new store's journal is empty after its open");
    for n in 0..20 {
        let order = paid(sending(&format!("C-{n}"), CODE));
        store.insert(&order, &Policy::default()).unwrap();
    }
    assert!(fs::metadata(journal_of(dir.path())).unwrap().len() > 0);
    let syncs = store.sync_calls();
    store.checkpoint().unwrap();
    assert!(store.sync_calls() > syncs, "a checkpoint syncs sled");
    assert_eq!(fs::metadata(journal_of(dir.path())).unwrap().len(), 0);
    drop(store);
    let db = sled::open(dir.path().join("sled")).unwrap();
    assert_eq!(db.open_tree("orders").unwrap().len(), 20);
}

#[test]
fn a_journal_past_its_limit_is_checkpointed_by_the_write_that_passed_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let big = vec![b'x'; 512 * 1024];
    let mut largest = 0;
    for n in 0..20 {
        let order = paid(sending(&format!("B-{n}"), CODE));
        store.insert(&order, &Policy::default()).unwrap();
        let mut job = job(&order);
        job.escpos = big.clone();
        assert!(store.add_print_job(&job).unwrap());
        store.make_durable().unwrap();
        largest = largest.max(fs::metadata(journal_of(dir.path())).unwrap().len());
    }
    assert!(
        largest < CHECKPOINT_BYTES + 2 * big.len() as u64,
        "the journal grew to {largest} bytes"
    );
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let order = OrderId::parse("B-19").unwrap();
    assert_eq!(store.print_jobs(&order).unwrap()[0].escpos, big);
}

#[test]
fn child_a_code_dropped_when_its_order_ended() {
    let Some(dir) = child_dir() else { return };
    let store = Store::open(&dir).unwrap();
    let order = sending("D-1", CODE);
    store.insert(&order, &Policy::default()).unwrap();
    assert!(holds(&journal_of(&dir), CODE.as_bytes()));
    store.save(&paid(order)).unwrap();
    assert!(
        !holds(&journal_of(&dir), CODE.as_bytes()),
        "zeroed in the journal as the order ended, before any checkpoint"
    );
    crash();
}

#[test]
fn payment_codes_are_dropped_from_the_journal_when_their_order_is_final() {
    let dir = tempfile::tempdir().unwrap();
    crash_after("child_a_code_dropped_when_its_order_ended", dir.path());
    // The records around the wiped code still read: nothing was torn.
    let store = Store::open(dir.path()).unwrap();
    assert!(store.quarantined_at_open().is_empty());
    let order = store.get(&OrderId::parse("D-1").unwrap()).unwrap().unwrap();
    assert_eq!(order.state().to_string(), "paid");
    assert_eq!(order.payment_code(), None);
    let mut files = vec![journal_of(dir.path())];
    files.extend(
        walk(&dir.path().join("sled"))
            .into_iter()
            .filter(|p| p.is_file()),
    );
    for file in files {
        assert!(!holds(&file, CODE.as_bytes()), "{}", file.display());
    }
    // A print recorded for it later is no reason to keep anything either.
    store
        .record_print(order.id(), 0, &PrintOutcome::Printed, at(3))
        .unwrap();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
