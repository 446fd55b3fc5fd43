//! What it costs to make an order durable, against the floor set by the disk itself.
//!
//! - `insert_order`: a new order stored durably: its journal record (and its payment code's)
//!   appended and one `fdatasync` of the journal (what happens before a charge is accepted).
//! - `transition`: one transition (attempt marked in flight) saved durably, the same way (what
//!   happens before every request is sent).
//! - `fdatasync_small_write`: one 512-byte write and `File::sync_data` on the same disk, the
//!   least any durable write can cost there.
//! - `sled_flush_alone`: a record-sized insert and `flush` on a bare sled database, without the
//!   store's own sync: it comes out cheaper than one `fdatasync` because sled 0.34 only calls
//!   `sync_file_range`, which is why the store keeps a journal of its own and flushes sled only at
//!   checkpoints.
//!
//! Only the durable step is timed; preparing and finishing each order happens outside the clock,
//! so the set of unfinished orders stays as small as on a real till.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use posd::api::Code;
use posd::charge::Charge;
use posd::order::{Order, OrderId, PaymentCode, Policy, SendResult, Timestamp};
use posd::store::Store;
use serde_json::json;

fn coffee() -> Charge {
    serde_json::from_value(json!({
        "amount": 150,
        "items": [
            { "id": "1", "name": "拿鐵", "unit_price": 60, "quantity": 2 },
            { "id": "2", "name": "可頌", "unit_price": 40, "quantity": 1 }
        ],
        "discount": 10
    }))
    .unwrap()
}

fn durable_steps(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let policy = Policy::default();
    let now = Timestamp::from_millis(1_764_000_000_000);
    let mut next_id = 0u64;
    let mut new_order = || {
        next_id += 1;
        Order::new(
            OrderId::parse(format!("BENCH-{next_id}")).unwrap(),
            coffee(),
            now,
        )
        .unwrap()
    };
    let declined = SendResult::Answered {
        code: Code::Failed,
        answer: json!({ "code": "300" }),
    };

    let mut group = c.benchmark_group("durable");
    group.bench_function("insert_order", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let mut order = new_order();
                let start = Instant::now();
                store.insert(&order, &policy).unwrap();
                timed += start.elapsed();
                order.cancel(now).unwrap();
                store.save(&order).unwrap();
            }
            timed
        })
    });
    group.bench_function("transition", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let mut order = new_order();
                order
                    .payment_code_scanned(PaymentCode::new("281234567890123456").unwrap(), now)
                    .unwrap();
                store.insert(&order, &policy).unwrap();
                let start = Instant::now();
                order.next_action(now, &policy);
                store.save(&order).unwrap();
                timed += start.elapsed();
                order
                    .send_finished(declined.clone(), now, &policy, 0)
                    .unwrap();
                store.save(&order).unwrap();
            }
            timed
        })
    });
    let file = File::create(dir.path().join("fdatasync")).unwrap();
    let block = [0x5a_u8; 512];
    group.bench_function("fdatasync_small_write", |b| {
        b.iter(|| {
            file.write_all_at(&block, 0).unwrap();
            file.sync_data().unwrap();
        })
    });
    let bare = sled::open(dir.path().join("bare-sled")).unwrap();
    let record = vec![b'{'; 900];
    let mut key = 0u64;
    group.bench_function("sled_flush_alone", |b| {
        b.iter(|| {
            key += 1;
            bare.insert(key.to_be_bytes(), record.as_slice()).unwrap();
            bare.flush().unwrap();
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(8));
    targets = durable_steps
}
criterion_main!(benches);
