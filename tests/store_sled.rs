//! The order store against a real sled database in a temporary directory.

use std::fs;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;
use std::process::Command;

use posd::api::Code;
use posd::charge::{Charge, Item};
use posd::order::{
    Action, Order, OrderId, PaymentCode, Policy, PrintJob, PrintOutcome, PrintStatus, QueryResult,
    SendResult, State, StateKind, Timestamp,
};
use posd::store::{OrderQuery, Store, StoreError};
use serde_json::json;

const CODE: &str = "281234567890123456";
const OTHER_CODE: &str = "289999999999999999";
const T0: u64 = 1_764_000_000_000;

fn at(secs: u64) -> Timestamp {
    Timestamp::from_millis(T0 + secs * 1000)
}

fn charge(amount: u64) -> Charge {
    serde_json::from_value(json!({ "amount": amount })).unwrap()
}

fn order(id: &str, amount: u64) -> Order {
    Order::new(OrderId::parse(id).unwrap(), charge(amount), at(0)).unwrap()
}

/// An order with its code scanned and attempt 1 marked in flight, as the worker leaves it just
/// before sending.
fn sending(id: &str, amount: u64) -> Order {
    sending_with_code(id, amount, CODE)
}

fn sending_with_code(id: &str, amount: u64, code: &str) -> Order {
    let mut o = order(id, amount);
    o.payment_code_scanned(PaymentCode::new(code).unwrap(), at(1))
        .unwrap();
    assert_eq!(
        o.next_action(at(1), &Policy::default()),
        Action::Send { attempt: 1 }
    );
    o
}

fn paid(mut o: Order) -> Order {
    o.send_finished(
        SendResult::Answered {
            code: Code::Paid,
            answer: json!({"code": "250", "uid": "U1"}),
        },
        at(2),
        &Policy::default(),
        0,
    )
    .unwrap();
    o
}

#[test]
fn orders_survive_reopening_and_resume_where_they_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy::default();
    {
        let store = Store::open(dir.path()).unwrap();
        store.insert(&order("A-awaiting", 10), &policy).unwrap();
        let mut in_flight = order("B-in-flight", 20);
        store.insert(&in_flight, &policy).unwrap();
        in_flight
            .payment_code_scanned(PaymentCode::new(CODE).unwrap(), at(1))
            .unwrap();
        assert_eq!(
            in_flight.next_action(at(1), &policy),
            Action::Send { attempt: 1 }
        );
        store.save(&in_flight).unwrap();
        let done = paid(sending("C-paid", 30));
        store.insert(&done, &policy).unwrap();
        // Dropped here without any shutdown step, as a crash would.
    }
    let store = Store::open(dir.path()).unwrap();
    assert!(store.quarantined_at_open().is_empty());
    let open = store.list_open().unwrap();
    let ids: Vec<_> = open.iter().map(|o| o.id().as_str()).collect();
    assert_eq!(ids, ["A-awaiting", "B-in-flight"]);
    let mut resumed = open[1].clone();
    assert_eq!(resumed.state(), &State::Sending { attempt: 1 });
    assert_eq!(resumed.payment_code().map(PaymentCode::expose), Some(CODE));
    // A restart during an attempt reconciles instead of resending.
    assert_eq!(resumed.next_action(at(3), &policy), Action::Query);
    assert_eq!(resumed.state(), &State::Reconciling);
    store.save(&resumed).unwrap();
    assert_eq!(
        store.open_totals().unwrap(),
        posd::order::OpenTotals {
            orders: 2,
            amount: 30
        }
    );
    let paid_order = store
        .get(&OrderId::parse("C-paid").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(paid_order.state(), &State::Paid);
    assert_eq!(paid_order.last_answer().unwrap().value()["uid"], "U1");
    assert_eq!(paid_order.history().len(), 4);
}

#[test]
fn duplicate_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .insert(&order("DUP-1", 10), &Policy::default())
        .unwrap();
    let e = store
        .insert(&order("DUP-1", 99), &Policy::default())
        .unwrap_err();
    assert!(matches!(e, StoreError::Duplicate(_)), "{e}");
    assert_eq!(
        e.to_string(),
        "order DUP-1 already exists; every order needs an id of its own"
    );
    let kept = store
        .get(&OrderId::parse("DUP-1").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(kept.charge().amount, 10, "the first order is untouched");
    // A refused order leaves no payment code behind, even when the first one is final.
    store
        .insert(&paid(sending("DUP-2", 10)), &Policy::default())
        .unwrap();
    let e = store
        .insert(
            &sending_with_code("DUP-2", 10, OTHER_CODE),
            &Policy::default(),
        )
        .unwrap_err();
    assert!(matches!(e, StoreError::Duplicate(_)), "{e}");
    assert!(!disk_holds(dir.path(), OTHER_CODE.as_bytes()));
}

#[test]
fn caps_refuse_a_charge_beyond_the_unfinished_limit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let policy = Policy {
        max_open_orders: 2,
        max_open_amount: 100,
        ..Policy::default()
    };
    store.insert(&order("CAP-1", 60), &policy).unwrap();
    let e = store.insert(&order("CAP-2", 41), &policy).unwrap_err();
    assert!(e.to_string().contains("charge of 41 TWD: 60 TWD"), "{e}");
    store.insert(&order("CAP-2", 40), &policy).unwrap();
    let e = store.insert(&order("CAP-3", 1), &policy).unwrap_err();
    assert!(
        e.to_string().contains("2 orders are still unfinished"),
        "{e}"
    );
    // Finishing one frees its place.
    store
        .cancel(&OrderId::parse("CAP-1").unwrap(), at(5))
        .unwrap();
    store.insert(&order("CAP-3", 1), &policy).unwrap();
}

#[test]
fn a_final_order_is_never_saved_as_unfinished_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let before = sending("R-1", 10);
    store.insert(&before, &Policy::default()).unwrap();
    store.save(&paid(before.clone())).unwrap();
    let e = store.save(&before).unwrap_err();
    assert!(matches!(e, StoreError::Reopen(_)), "{e}");
    assert!(
        !disk_holds(dir.path(), CODE.as_bytes()),
        "the refused save left no payment code behind"
    );
    let e = store.save(&order("NEVER-INSERTED", 1)).unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e}");
}

#[test]
fn cancel_goes_through_the_store_and_is_refused_after_a_send() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.insert(&order("X-1", 10), &Policy::default()).unwrap();
    store
        .insert(&sending("X-2", 10), &Policy::default())
        .unwrap();
    let cancelled = store
        .cancel(&OrderId::parse("X-1").unwrap(), at(3))
        .unwrap();
    assert_eq!(cancelled.state(), &State::Cancelled);
    let e = store
        .cancel(&OrderId::parse("X-2").unwrap(), at(3))
        .unwrap_err();
    assert!(
        e.to_string().contains("may have reached the gateway"),
        "{e}"
    );
    let e = store
        .cancel(&OrderId::parse("X-3").unwrap(), at(3))
        .unwrap_err();
    assert_eq!(e.to_string(), "order X-3 is not in the store");
    assert_eq!(
        store
            .list(&OrderQuery::every_in(StateKind::Cancelled))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .list(&OrderQuery::every_in(StateKind::Sending))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn the_queue_summary_counts_from_the_heads_of_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let policy = Policy::default();
    assert_eq!(store.queue_summary().unwrap(), Default::default());

    let mut older = order("Q-OLD", 10);
    older.cancel(at(0)).unwrap();
    store.insert(&older, &policy).unwrap();
    let waiting = Order::new(OrderId::parse("Q-WAIT").unwrap(), charge(20), at(5)).unwrap();
    store.insert(&waiting, &policy).unwrap();
    store.insert(&sending("Q-SEND", 30), &policy).unwrap();
    store.insert(&paid(sending("Q-PAID", 40)), &policy).unwrap();
    let mut stuck = sending("Q-STUCK", 50);
    stuck
        .send_finished(
            SendResult::Unknown {
                why: "the connection was reset".into(),
            },
            at(2),
            &policy,
            0,
        )
        .unwrap();
    assert_eq!(
        stuck.next_action(at(policy.max_age_secs), &policy),
        Action::Done
    );
    assert_eq!(stuck.state().kind(), StateKind::NeedsAttention);
    store.insert(&stuck, &policy).unwrap();

    let summary = store.queue_summary().unwrap();
    assert_eq!(summary.unfinished, 2, "{summary:?}");
    assert_eq!(summary.needs_attention, 1, "{summary:?}");
    let oldest = summary.oldest_unfinished.unwrap();
    assert_eq!(
        oldest.id.as_str(),
        "Q-SEND",
        "created at 0, before Q-WAIT at 5"
    );
    assert_eq!(oldest.state.kind(), StateKind::Sending);
    assert_eq!(oldest.created_at, at(0));
    // The same counts as loading every order whole.
    let all = store.list(&every_order()).unwrap();
    assert_eq!(
        summary.unfinished,
        all.iter().filter(|o| !o.is_final()).count() as u64
    );
}

#[test]
fn the_queue_summary_and_totals_follow_saves_and_reopening_also_of_older_stores() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy::default();
    let waiting = |id: &str, amount, created| {
        Order::new(OrderId::parse(id).unwrap(), charge(amount), at(created)).unwrap()
    };
    {
        let store = Store::open(dir.path()).unwrap();
        store.insert(&waiting("Q-LATE", 10, 10), &policy).unwrap();
        store.insert(&sending("Q-FIRST", 20), &policy).unwrap();
        store.insert(&waiting("Q-MID", 40, 5), &policy).unwrap();
        let summary = store.queue_summary().unwrap();
        assert_eq!(summary.unfinished, 3);
        assert_eq!(summary.oldest_unfinished.unwrap().id.as_str(), "Q-FIRST");
        // The oldest becomes final: the next oldest takes its place, and its amount leaves.
        store.save(&paid(sending("Q-FIRST", 20))).unwrap();
        assert_eq!(
            store.open_totals().unwrap(),
            posd::order::OpenTotals {
                orders: 2,
                amount: 50
            }
        );
        let oldest = store.queue_summary().unwrap().oldest_unfinished.unwrap();
        assert_eq!((oldest.id.as_str(), oldest.created_at), ("Q-MID", at(5)));
    }
    {
        // A store written before the `open` tree kept the creation time: the amount alone.
        let db = sled_behind_the_store(dir.path());
        let open = db.open_tree("open").unwrap();
        for (id, amount) in [("Q-LATE", 10u64), ("Q-MID", 40)] {
            open.insert(id, &amount.to_be_bytes()[..]).unwrap();
        }
        db.flush().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let summary = store.queue_summary().unwrap();
    assert_eq!(summary.unfinished, 2, "{summary:?}");
    let oldest = summary.oldest_unfinished.unwrap();
    assert_eq!((oldest.id.as_str(), oldest.created_at), ("Q-MID", at(5)));
    assert_eq!(store.open_totals().unwrap().amount, 50);
    let mut cancelled = store
        .get(&OrderId::parse("Q-MID").unwrap())
        .unwrap()
        .unwrap();
    cancelled.cancel(at(20)).unwrap();
    store.save(&cancelled).unwrap();
    let summary = store.queue_summary().unwrap();
    assert_eq!(summary.unfinished, 1);
    assert_eq!(summary.oldest_unfinished.unwrap().id.as_str(), "Q-LATE");
    assert_eq!(store.open_totals().unwrap().amount, 10);
}

#[test]
fn corrupt_records_are_quarantined_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store
            .insert(&order("GOOD-1", 10), &Policy::default())
            .unwrap();
        store
            .insert(&order("BAD-1", 10), &Policy::default())
            .unwrap();
    }
    {
        // Damage records behind the store's back, through sled itself.
        let db = sled_behind_the_store(dir.path());
        let orders = db.open_tree("orders").unwrap();
        orders.insert("BAD-1", &b"\x00\xffnot json"[..]).unwrap();
        orders
            .insert("BAD-2", &br#"{"schema":99,"order":{}}"#[..])
            .unwrap();
        db.open_tree("print_jobs")
            .unwrap()
            .insert("GOOD-1\x00\x00\x00\x00\x00", &b"{"[..])
            .unwrap();
        db.flush().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let mut moved: Vec<_> = store
        .quarantined_at_open()
        .iter()
        .map(|q| (q.tree.as_str(), q.key.as_str()))
        .collect();
    moved.sort();
    assert_eq!(
        moved,
        [
            ("orders", "BAD-1"),
            ("orders", "BAD-2"),
            ("print_jobs", "GOOD-1\0\0\0\0\0")
        ]
    );
    let schema = store
        .quarantined_at_open()
        .iter()
        .find(|q| q.key == "BAD-2")
        .unwrap();
    assert!(
        schema.detail.contains("schema version 99"),
        "{}",
        schema.detail
    );
    let garbage = store.quarantined().unwrap();
    let bad1 = garbage.iter().find(|q| q.key == "BAD-1").unwrap();
    assert_eq!(
        bad1.bytes, b"\x00\xffnot json",
        "the bytes are kept for inspection"
    );
    // The rest of the store works, and the damaged order no longer counts as open.
    let open = store.list_open().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id().as_str(), "GOOD-1");
    // Its id stays taken: reusing it could charge twice under one id.
    let e = store
        .insert(&order("BAD-1", 5), &Policy::default())
        .unwrap_err();
    assert!(matches!(e, StoreError::Duplicate(_)), "{e}");
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert!(
        store.quarantined_at_open().is_empty(),
        "moved once, not again"
    );
    assert_eq!(store.quarantined().unwrap().len(), 3);
}

#[test]
fn a_second_store_on_the_same_directory_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let e = Store::open(dir.path())
        .err()
        .expect("the directory is taken");
    assert!(matches!(e, StoreError::InUse(_)), "{e}");
    let message = e.to_string();
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("in use by another process"), "{message}");
    drop(store);
    for round in 0..20 {
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("reopen {round}: {e}"));
        store
            .insert(&order(&format!("R-{round}"), 1), &Policy::default())
            .unwrap();
    }
}

#[test]
fn a_record_missing_fields_is_quarantined_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .insert(&sending("HALF-1", 10), &Policy::default())
        .unwrap();
    assert!(
        sled::open(dir.path().join("sled")).is_err(),
        "sled locks its directory while the store has it open"
    );
    drop(store);
    let db = sled_behind_the_store(dir.path());
    db.open_tree("orders")
        .unwrap()
        .insert("HALF-1", &br#"{"schema":1,"order":{"id":"HALF-1"}}"#[..])
        .unwrap();
    db.flush().unwrap();
    drop(db);
    let store = Store::open(dir.path()).unwrap();
    let report = &store.quarantined_at_open()[0];
    assert_eq!(report.key, "HALF-1");
    assert!(report.detail.contains("missing field"), "{}", report.detail);
    assert_eq!(store.get(&OrderId::parse("HALF-1").unwrap()).unwrap(), None);
    assert!(store.list_open().unwrap().is_empty());
    assert!(
        !disk_holds(dir.path(), CODE.as_bytes()),
        "nothing drives a quarantined order, so its payment code is wiped"
    );
}

/// The store's sled database, opened directly to damage it. sled lets go of its directory lock
/// from background threads a moment after a closed store's last handle is dropped.
fn sled_behind_the_store(dir: &Path) -> sled::Db {
    let started = std::time::Instant::now();
    loop {
        match sled::open(dir.join("sled")) {
            Ok(db) => return db,
            Err(_) if started.elapsed() < std::time::Duration::from_secs(2) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("opening sled behind the store: {e}"),
        }
    }
}

/// Whether any file under `dir` contains `needle`.
fn disk_holds(dir: &Path, needle: &[u8]) -> bool {
    fs::read_dir(dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        if path.is_dir() {
            disk_holds(&path, needle)
        } else {
            let bytes = fs::read(&path).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle)
        }
    })
}

#[test]
fn payment_codes_are_stored_until_final_and_never_exported_or_listed_after() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let in_flight = sending("P-1", 10);
    store.insert(&in_flight, &Policy::default()).unwrap();
    store
        .insert(
            &sending_with_code("P-2", 10, OTHER_CODE),
            &Policy::default(),
        )
        .unwrap();
    let stored = store.get(in_flight.id()).unwrap().unwrap();
    assert_eq!(stored.payment_code().map(PaymentCode::expose), Some(CODE));
    assert!(disk_holds(dir.path(), CODE.as_bytes()));
    store.save(&paid(in_flight)).unwrap();
    assert!(
        !disk_holds(dir.path(), CODE.as_bytes()),
        "no file under the store, sled's log included, holds the code of a final order"
    );
    assert!(disk_holds(dir.path(), OTHER_CODE.as_bytes()));
    drop(store);

    let store = Store::open(dir.path()).unwrap();
    let final_order = store.get(&OrderId::parse("P-1").unwrap()).unwrap().unwrap();
    assert_eq!(final_order.payment_code(), None);
    let exported = final_orders(&store);
    assert_eq!(exported.len(), 1);
    let export = serde_json::to_string(&exported[0]).unwrap();
    assert!(!export.contains(CODE), "{export}");
    let line: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(line["id"], "P-1");
    assert_eq!(line["state"]["state"], "paid");
    assert!(line.get("payment_code").is_none());
    for listed in store.list(&OrderQuery::every_in(StateKind::Paid)).unwrap() {
        assert_eq!(listed.payment_code(), None);
        assert!(!format!("{listed:?}").contains(CODE));
        assert!(!serde_json::to_string(&listed).unwrap().contains(CODE));
    }
    // An unfinished order keeps its code in storage, but not in its Debug or JSON form.
    let open = store.list_open().unwrap();
    assert_eq!(
        open[0].payment_code().map(PaymentCode::expose),
        Some(OTHER_CODE)
    );
    assert!(!format!("{:?}", open[0]).contains(OTHER_CODE));
    assert!(
        !serde_json::to_string(&open[0])
            .unwrap()
            .contains(OTHER_CODE)
    );
}

/// Every final order, as an export reads them.
fn final_orders(store: &Store) -> Vec<Order> {
    let mut orders = Vec::new();
    store
        .for_each_final(|order| {
            orders.push(order);
            ControlFlow::Continue(())
        })
        .unwrap();
    orders
}

fn every_order() -> OrderQuery {
    OrderQuery {
        state: None,
        after: None,
        limit: usize::MAX,
    }
}

#[test]
fn the_export_reads_final_orders_one_at_a_time_until_told_to_stop() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let policy = Policy::default();
    for i in 0..3 {
        store
            .insert(&paid(sending(&format!("E-{i}"), 10 + i)), &policy)
            .unwrap();
    }
    store.insert(&order("E-open", 5), &policy).unwrap();
    let amounts: Vec<u64> = final_orders(&store)
        .iter()
        .map(|o| o.charge().amount)
        .collect();
    assert_eq!(amounts, [10, 11, 12], "final orders only, in id order");
    let mut read = 0;
    store
        .for_each_final(|_| {
            read += 1;
            ControlFlow::Break(())
        })
        .unwrap();
    assert_eq!(read, 1, "a reader that has enough stops the read");
}

#[test]
fn listings_come_in_pages_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let policy = Policy::default();
    for i in 0..7 {
        let id = format!("L-{i}");
        let o = if i % 2 == 0 {
            paid(sending(&id, 10))
        } else {
            order(&id, 10)
        };
        store.insert(&o, &policy).unwrap();
    }
    let ids =
        |orders: Vec<Order>| -> Vec<String> { orders.iter().map(|o| o.id().to_string()).collect() };
    let page = |state, after: Option<&str>, limit| {
        ids(store
            .list(&OrderQuery {
                state,
                after: after.map(|a| OrderId::parse(a).unwrap()),
                limit,
            })
            .unwrap())
    };
    assert_eq!(page(None, None, 3), ["L-0", "L-1", "L-2"]);
    assert_eq!(page(None, Some("L-2"), 3), ["L-3", "L-4", "L-5"]);
    assert_eq!(page(None, Some("L-5"), 3), ["L-6"]);
    assert!(page(None, Some("L-6"), 3).is_empty());
    assert_eq!(
        page(Some(StateKind::Paid), None, 2),
        ["L-0", "L-2"],
        "other states are skipped, not counted"
    );
    assert_eq!(page(Some(StateKind::Paid), Some("L-2"), 2), ["L-4", "L-6"]);
    assert_eq!(
        page(Some(StateKind::AwaitingPaymentCode), Some("L-0"), 10),
        ["L-1", "L-3", "L-5"]
    );
    assert_eq!(
        page(None, Some("L-10"), 1),
        ["L-2"],
        "`after` need not be an order that exists"
    );
    assert!(page(None, None, 0).is_empty());
}

#[test]
fn retention_prunes_only_old_final_orders_and_their_print_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let policy = Policy {
        max_age_secs: 100 * 86_400,
        ..Policy::default()
    };
    let old_paid = paid(sending("OLD-paid", 10));
    store.insert(&old_paid, &policy).unwrap();
    let job = PrintJob {
        order_id: old_paid.id().clone(),
        seq: 0,
        escpos: vec![0x1b, 0x40],
        status: PrintStatus::Pending,
        created_at: at(2),
        uncertain: false,
    };
    assert!(store.add_print_job(&job).unwrap());
    store
        .record_print(old_paid.id(), 0, &PrintOutcome::Printed, at(3))
        .unwrap();
    // An old paid order whose receipt is still owed is kept: it must yet print.
    let old_owed = paid(sending("OLD-owed", 10));
    store.insert(&old_owed, &policy).unwrap();
    let owed_job = PrintJob {
        order_id: old_owed.id().clone(),
        ..job.clone()
    };
    assert!(store.add_print_job(&owed_job).unwrap());
    // An old order still unfinished is kept however old it is.
    store.insert(&order("OLD-open", 10), &policy).unwrap();
    let mut recent = order("NEW-cancelled", 10);
    recent.cancel(at(40 * 86_400)).unwrap();
    store.insert(&recent, &policy).unwrap();

    let now = at(45 * 86_400);
    assert_eq!(store.prune_final_older_than(30, now).unwrap(), 1);
    assert_eq!(store.get(old_paid.id()).unwrap(), None);
    assert!(store.print_jobs(old_paid.id()).unwrap().is_empty());
    assert!(
        store
            .get(&OrderId::parse("OLD-open").unwrap())
            .unwrap()
            .is_some()
    );
    assert!(store.get(recent.id()).unwrap().is_some());
    assert!(store.get(old_owed.id()).unwrap().is_some());
    assert_eq!(store.print_jobs(old_owed.id()).unwrap().len(), 1);
    assert_eq!(store.prune_final_older_than(30, now).unwrap(), 0);
}

#[test]
fn a_print_recorded_after_a_reprint_was_asked_for_keeps_the_reprint_owed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let order = paid(sending("RP-1", 10));
    store.insert(&order, &Policy::default()).unwrap();
    let job = PrintJob {
        order_id: order.id().clone(),
        seq: 0,
        escpos: vec![0x1b, 0x40],
        status: PrintStatus::Pending,
        created_at: at(2),
        uncertain: false,
    };
    assert!(store.add_print_job(&job).unwrap());
    // The POS app asks for a reprint while the first print is on its way.
    let mut asked = store.get(order.id()).unwrap().unwrap();
    asked.reprint_requested(at(3)).unwrap();
    store.save(&asked).unwrap();

    store
        .record_print(order.id(), 0, &PrintOutcome::Printed, at(4))
        .unwrap();
    let now = store.get(order.id()).unwrap().unwrap();
    assert_eq!(now.receipt().reprints, 1);
    assert_eq!(
        now.receipt().status,
        PrintStatus::Pending,
        "the reprint was lost"
    );
    let jobs = store.print_jobs(order.id()).unwrap();
    assert_eq!(jobs[0].status, PrintStatus::Printed { at: at(4) });

    let failed = PrintOutcome::Failed {
        reason: "the link failed while sending".into(),
        uncertain: true,
    };
    let second = PrintJob { seq: 1, ..job };
    assert!(store.add_print_job(&second).unwrap());
    store.record_print(order.id(), 1, &failed, at(5)).unwrap();
    let jobs = store.print_jobs(order.id()).unwrap();
    assert!(jobs[1].uncertain, "{:?}", jobs[1]);
    assert!(matches!(
        store.get(order.id()).unwrap().unwrap().receipt().status,
        PrintStatus::Failed { .. }
    ));
}

/// The printer lays a receipt out from a copy of the order read without the order's lock. A
/// reprint asked for meanwhile makes that copy's print stale: its job is not stored and its
/// failure is not recorded, so the reprint stays owed, and its own job is stored when it comes.
#[test]
fn a_print_laid_out_before_a_reprint_was_asked_for_leaves_the_reprint_owed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let order = paid(sending("RACE-1", 10));
    store.insert(&order, &Policy::default()).unwrap();
    let read_by_printer = store.get(order.id()).unwrap().unwrap();
    let mut asked = store.get(order.id()).unwrap().unwrap();
    asked.reprint_requested(at(3)).unwrap();
    store.save(&asked).unwrap();

    let stale = PrintJob {
        order_id: order.id().clone(),
        seq: read_by_printer.receipt().reprints,
        escpos: Vec::new(),
        status: PrintStatus::Pending,
        created_at: at(4),
        uncertain: false,
    };
    assert!(!store.add_print_job(&stale).unwrap());
    assert!(store.print_jobs(order.id()).unwrap().is_empty());
    let failed = |order: &mut Order| order.receipt_failed("the layout failed", at(4));
    assert!(!store.settle_receipt(order.id(), 0, failed).unwrap());
    let now = store.get(order.id()).unwrap().unwrap();
    assert_eq!(now.receipt().reprints, 1);
    assert_eq!(
        now.receipt().status,
        PrintStatus::Pending,
        "the reprint was lost"
    );

    let reprint = PrintJob { seq: 1, ..stale };
    assert!(store.add_print_job(&reprint).unwrap());
    assert_eq!(store.print_jobs(order.id()).unwrap().len(), 1);
    assert!(store.settle_receipt(order.id(), 1, failed).unwrap());
    assert!(matches!(
        store.get(order.id()).unwrap().unwrap().receipt().status,
        PrintStatus::Failed { .. }
    ));
}

/// The daemon stopping just as a job ended records it as possibly on paper; the job was already
/// recorded printed, and stays so: it is not sent again.
#[test]
fn a_failure_told_after_the_job_printed_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let order = paid(sending("LATE-1", 10));
    store.insert(&order, &Policy::default()).unwrap();
    let job = PrintJob {
        order_id: order.id().clone(),
        seq: 0,
        escpos: vec![0x1b, 0x40],
        status: PrintStatus::Pending,
        created_at: at(2),
        uncertain: false,
    };
    assert!(store.add_print_job(&job).unwrap());
    store
        .record_print(order.id(), 0, &PrintOutcome::Printed, at(3))
        .unwrap();
    let late = PrintOutcome::Failed {
        reason: "the daemon stopped while the receipt was being sent".into(),
        uncertain: true,
    };
    store.record_print(order.id(), 0, &late, at(4)).unwrap();
    let jobs = store.print_jobs(order.id()).unwrap();
    assert_eq!(jobs[0].status, PrintStatus::Printed { at: at(3) });
    assert!(!jobs[0].uncertain);
    assert!(store.unprinted_jobs().unwrap().is_empty());
    assert_eq!(
        store.get(order.id()).unwrap().unwrap().receipt().status,
        PrintStatus::Printed { at: at(3) }
    );
}

#[test]
fn print_jobs_keep_their_bytes_with_their_order_until_printed() {
    let dir = tempfile::tempdir().unwrap();
    let escpos = b"\x1b@\x1d(k\x03\x001C\x06receipt".to_vec();
    let paid_order = paid(sending("PJ-1", 10));
    {
        let store = Store::open(dir.path()).unwrap();
        store.insert(&paid_order, &Policy::default()).unwrap();
        assert_eq!(paid_order.receipt().status, PrintStatus::Pending);
        let job = PrintJob {
            order_id: paid_order.id().clone(),
            seq: 0,
            escpos: escpos.clone(),
            status: PrintStatus::Pending,
            created_at: at(3),
            uncertain: false,
        };
        assert!(store.add_print_job(&job).unwrap());
        let paper_out = PrintOutcome::Failed {
            reason: "paper out".into(),
            uncertain: false,
        };
        store
            .record_print(paid_order.id(), 0, &paper_out, at(3))
            .unwrap();
        let unknown = PrintJob {
            order_id: OrderId::parse("PJ-2").unwrap(),
            ..job
        };
        let e = store.add_print_job(&unknown).unwrap_err();
        assert!(matches!(e, StoreError::NotFound(_)), "{e}");
    }
    // After a restart (or a new paper roll) the job is still owed, byte for byte.
    let store = Store::open(dir.path()).unwrap();
    let owed = store.unprinted_jobs().unwrap();
    assert_eq!(owed.len(), 1);
    assert_eq!(owed[0].escpos, escpos);
    let order = store.get(paid_order.id()).unwrap().unwrap();
    assert!(matches!(order.receipt().status, PrintStatus::Failed { .. }));
    store
        .record_print(order.id(), 0, &PrintOutcome::Printed, at(9))
        .unwrap();
    assert!(store.unprinted_jobs().unwrap().is_empty());
    let kept = store.print_jobs(order.id()).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].status, PrintStatus::Printed { at: at(9) });
    assert!(kept[0].escpos.is_empty(), "a printed job keeps no bytes");
}

#[test]
fn the_machine_and_the_store_reconcile_a_lost_answer_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy::default();
    {
        let store = Store::open(dir.path()).unwrap();
        let mut o = sending("LOST-1", 10);
        store.insert(&o, &policy).unwrap();
        o.send_finished(
            SendResult::Unknown {
                why: "the connection was reset".into(),
            },
            at(2),
            &policy,
            0,
        )
        .unwrap();
        store.save(&o).unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let mut o = store.list_open().unwrap().remove(0);
    assert_eq!(o.next_action(at(3), &policy), Action::Query);
    o.query_finished(
        QueryResult::Found {
            code: Code::Settled,
            answer: json!({"code": "600"}),
        },
        at(3),
        &policy,
        0,
    )
    .unwrap();
    store.save(&o).unwrap();
    assert!(store.list_open().unwrap().is_empty());
    assert_eq!(
        store.list(&OrderQuery::every_in(StateKind::Paid)).unwrap()[0].attempts(),
        1
    );
}

/// Mounts a small tmpfs for the test and unmounts it however the test ends.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "mounting a tmpfs at {:?} failed",
            dir.path()
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Takes every free byte of the disk.
    fn fill(&self) {
        let mut filler = fs::File::create(self.path().join("filler")).unwrap();
        let block = vec![0xa5u8; 64 * 1024];
        loop {
            if filler.write_all(&block).is_err() {
                break;
            }
        }
        let _ = filler.sync_all();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn a_flush_that_fails_is_an_error_so_nothing_is_sent() {
    if !running_as_root() {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let disk = SmallDisk::mount("4m");
    let store = Store::open(disk.path().join("db")).unwrap();
    let policy = Policy::default();
    store.insert(&order("FIT-1", 10), &policy).unwrap();
    disk.fill();
    let mut big = charge(1);
    big.items = (0..200)
        .map(|i| Item {
            id: format!("{i}"),
            name: "x".repeat(200),
            unit_price: 0,
            quantity: 1,
        })
        .collect();
    big.amount = 0;
    let mut failure = None;
    for i in 0..200 {
        let mut c = big.clone();
        c.items[0].unit_price = 1;
        c.amount = 1;
        let o = Order::new(OrderId::parse(format!("FULL-{i}")).unwrap(), c, at(0)).unwrap();
        if let Err(e) = store.insert(
            &o,
            &Policy {
                max_open_orders: 1000,
                ..policy.clone()
            },
        ) {
            failure = Some(e);
            break;
        }
    }
    let e = failure.expect("a full disk must make a write fail");
    assert!(matches!(e, StoreError::Flush(_)), "{e}");
    assert!(e.to_string().contains("must not be acted on"), "{e}");
}

#[test]
fn a_print_job_past_sleds_blob_threshold_is_kept_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    // A tall raster receipt: sled writes values this large (past 128 KiB) as separate blob files,
    // which the store syncs itself.
    let escpos: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let order = paid(sending("BLOB-1", 10));
    {
        let store = Store::open(dir.path()).unwrap();
        store.insert(&order, &Policy::default()).unwrap();
        let job = PrintJob {
            order_id: order.id().clone(),
            seq: 0,
            escpos: escpos.clone(),
            status: PrintStatus::Pending,
            created_at: at(3),
            uncertain: false,
        };
        assert!(store.add_print_job(&job).unwrap());
    }
    let blobs = dir.path().join("sled").join("blobs");
    assert!(
        fs::read_dir(&blobs).unwrap().count() > 0,
        "stored as a blob"
    );
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.print_jobs(order.id()).unwrap()[0].escpos, escpos);
}

#[test]
fn codes_left_in_the_old_code_directory_are_wiped_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let done = paid(sending("CRASH-1", 10));
    {
        let store = Store::open(dir.path()).unwrap();
        store.insert(&done, &Policy::default()).unwrap();
        store
            .insert(&sending("CRASH-2", 10), &Policy::default())
            .unwrap();
    }
    // A store from before the journal kept codes in files of their own: a final order's code
    // left behind by a crash, and one in the middle of being kept.
    let codes = dir.path().join("payment_codes");
    fs::create_dir_all(&codes).unwrap();
    fs::write(codes.join(hex::encode("CRASH-1")), OTHER_CODE).unwrap();
    fs::write(codes.join("4352415348.partial"), "287777777777777777").unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(!disk_holds(dir.path(), OTHER_CODE.as_bytes()));
    assert!(!disk_holds(dir.path(), b"287777777777777777"));
    assert!(!codes.exists(), "the old directory is gone");
    let open = store.list_open().unwrap();
    assert_eq!(
        open[0].payment_code().map(PaymentCode::expose),
        Some(CODE),
        "the unfinished order keeps its code"
    );
}

#[test]
fn one_store_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Store>();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let policy = Policy {
        max_open_orders: 3,
        ..Policy::default()
    };
    // Eight tills racing for three places: the caps hold under concurrent inserts.
    let accepted = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (store, policy) = (&store, &policy);
                s.spawn(move || {
                    store
                        .insert(&order(&format!("RACE-{i}"), 10), policy)
                        .is_ok()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|accepted| *accepted)
            .count()
    });
    assert_eq!(accepted, 3);
    assert_eq!(store.open_totals().unwrap().orders, 3);
}
