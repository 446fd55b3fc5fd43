//! Whether the store's size stays bounded on a till that runs for weeks: each simulated day a
//! number of charges are paid and their receipts printed, then the day's retention prune runs
//! (`daemon.retention_days`). Reports the store's size on disk day by day against the named peer,
//! the JSON of the orders it still holds (what a plain file of them would take), measured in the
//! same run, and the resident memory of this process, which holds the store the way the daemon
//! does.
//!
//! sled rewrites a record by appending the new version and frees the old one only when it cleans
//! a segment, so the disk holds more than the live data; the question is whether that overhead
//! settles or grows. `POSD_RETENTION_ORDERS_PER_DAY` (default 200), `POSD_RETENTION_DAYS`
//! (default 7) and `POSD_RETENTION_RUN_DAYS` (default 40) change the run.
//! Run with `cargo bench --bench retention`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use posd::api::Code;
use posd::charge::Charge;
use posd::order::{
    Order, OrderId, PaymentCode, Policy, PrintJob, PrintOutcome, PrintStatus, SendResult,
};
use posd::order::{StateKind, Timestamp};
use posd::store::{OrderQuery, Store};
use serde_json::{Value, json};
use support::{dir_bytes, rss_kib};

/// The size of one receipt's ESC/POS bytes (proof and detail, see the `receipt` bench).
const RECEIPT_BYTES: usize = 11_046;
const DAY_MS: u64 = 86_400_000;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let per_day = setting("POSD_RETENTION_ORDERS_PER_DAY", 200);
    let retention_days = setting("POSD_RETENTION_DAYS", 7) as u32;
    let run_days = setting("POSD_RETENTION_RUN_DAYS", 40);
    let answer: Value = serde_json::from_str(include_str!(
        "../receipts/samples/b2c-issued-proof-and-detail.json"
    ))
    .expect("the sample answer is JSON");
    let charge: Charge = serde_json::from_value(json!({
        "amount": 260,
        "items": [
            { "id": "1", "name": "美式咖啡 (大)", "unit_price": 65, "quantity": 2 },
            { "id": "2", "name": "蜂蜜檸檬蛋糕", "unit_price": 85, "quantity": 1 },
            { "id": "3", "name": "可頌", "unit_price": 45, "quantity": 1 }
        ]
    }))
    .expect("the charge is valid");
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let store = Store::open(dir.path()).expect("store");
    let policy = Policy::default();
    let receipt_bytes: Vec<u8> = (0..RECEIPT_BYTES).map(|i| (i * 31 % 251) as u8).collect();

    println!(
        "{per_day} charges a day, retention {retention_days} days, {run_days} days; \
         each charge: stored, sent, paid, receipt stored and printed (5 durable writes)"
    );
    println!(
        "day | orders held | live JSON KiB | store on disk KiB | disk / live | prune ms | RSS MiB"
    );
    let mut ratios = Vec::new();
    let mut steady_sizes = Vec::new();
    let mut prune_times = Vec::new();
    let mut steady_rss = Vec::new();
    let mut next_id = 0u64;
    let start = 1_764_000_000_000;
    for day in 0..run_days {
        let now = Timestamp::from_millis(start + day * DAY_MS);
        for _ in 0..per_day {
            next_id += 1;
            let id = OrderId::parse(format!("TILL-{next_id:08}")).expect("order id");
            let mut order = Order::new(id, charge.clone(), now).expect("order");
            order
                .payment_code_scanned(PaymentCode::new("281234567890123456").expect("code"), now)
                .expect("code scanned");
            store.insert(&order, &policy).expect("insert");
            order.next_action(now, &policy);
            store.save(&order).expect("sending");
            order
                .send_finished(
                    SendResult::Answered {
                        code: Code::Paid,
                        answer: answer.clone(),
                    },
                    now,
                    &policy,
                    0,
                )
                .expect("paid");
            let job = PrintJob {
                order_id: order.id().clone(),
                seq: 0,
                escpos: receipt_bytes.clone(),
                status: PrintStatus::Pending,
                created_at: now,
                uncertain: false,
            };
            assert!(store.add_print_job(&job).expect("job stored"));
            store
                .record_print(order.id(), 0, &PrintOutcome::Printed, now)
                .expect("job printed");
        }
        let pruned_at = Instant::now();
        store
            .prune_final_older_than(retention_days, now)
            .expect("prune");
        let prune_time = pruned_at.elapsed();
        let (held, live) = live_json(&store);
        let disk = dir_bytes(dir.path());
        let ratio = disk as f64 / live as f64;
        let rss = rss_kib(std::process::id());
        if day >= u64::from(retention_days) * 2 {
            ratios.push(ratio);
            steady_sizes.push(disk);
            prune_times.push(prune_time);
            steady_rss.push(rss);
        }
        if day % 5 == 4 || day + 1 == run_days {
            println!(
                "{:>3} | {held:>11} | {:>13} | {:>17} | {ratio:>11.2} | {:>8.1} | {:>7.1}",
                day + 1,
                live / 1024,
                disk / 1024,
                prune_time.as_secs_f64() * 1000.0,
                rss as f64 / 1024.0
            );
        }
    }
    if ratios.is_empty() {
        return;
    }
    println!(
        "steady state (from day {}): disk / live median {:.2}, store at most {} KiB, \
         smallest {} KiB; prune median {:.1} ms; RSS {:.1} to {:.1} MiB",
        u64::from(retention_days) * 2 + 1,
        median(&mut ratios),
        steady_sizes.iter().max().copied().unwrap_or(0) / 1024,
        steady_sizes.iter().min().copied().unwrap_or(0) / 1024,
        median_duration(&mut prune_times).as_secs_f64() * 1000.0,
        steady_rss.iter().min().copied().unwrap_or(0) as f64 / 1024.0,
        steady_rss.iter().max().copied().unwrap_or(0) as f64 / 1024.0
    );
}

/// How many orders the store holds, and the bytes of their JSON.
fn live_json(store: &Store) -> (usize, usize) {
    let mut held = 0;
    let mut bytes = 0;
    store
        .for_each_final(|order| {
            held += 1;
            bytes += serde_json::to_vec(&order).expect("orders serialise").len();
            ControlFlow::Continue(())
        })
        .expect("read");
    let unfinished = store
        .list(&OrderQuery::every_in(StateKind::Sending))
        .expect("read");
    assert!(unfinished.is_empty(), "every charge of the bench is final");
    (held, bytes)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn median_duration(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}
