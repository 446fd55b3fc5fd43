//! Seal + open of a typical offline `api/transaction` `encry_data`, against the floor of
//! serialising (and parsing) the same payload with serde_json alone.
//!
//! The envelope's own cost is the difference: AES-256-CBC and base64 on top of the JSON work
//! that every request needs anyway.

use criterion::{Criterion, criterion_group, criterion_main};
use posd::envelope::{self, AgentKey};
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::time::Duration;

#[derive(Serialize, Deserialize)]
struct Item {
    id: String,
    name: String,
    cost: String,
    amount: String,
    total: String,
}

/// The `encry_data` of an offline scan-to-pay charge, as the provider's document lists it.
#[derive(Serialize, Deserialize)]
struct OfflineTransaction {
    store_uid: String,
    items: Vec<Item>,
    cost: String,
    user_id: String,
    order_id: String,
    ip: String,
    pfn: String,
    data_json: String,
    echo_0: String,
}

fn item(id: &str, name: &str, cost: u32, amount: u32) -> Item {
    Item {
        id: id.into(),
        name: name.into(),
        cost: cost.to_string(),
        amount: amount.to_string(),
        total: (cost * amount).to_string(),
    }
}

fn offline_transaction() -> OfflineTransaction {
    OfflineTransaction {
        store_uid: "289151880002".into(),
        items: vec![
            item("1", "珍珠奶茶（大）", 65, 2),
            item("2", "鹽酥雞", 80, 1),
            item("3", "茶葉蛋", 13, 3),
        ],
        cost: "249".into(),
        user_id: "till-0001".into(),
        order_id: "POS-20261126-000123".into(),
        ip: "192.0.2.15".into(),
        pfn: "OFFLINE".into(),
        data_json: r#"{"qrCode":"MY13697573pbmQsYhY"}"#.into(),
        echo_0: "https://pos.example.tw/orders/POS-20261126-000123".into(),
    }
}

fn bench_envelope(c: &mut Criterion) {
    let key = AgentKey::new("2MrhtRYeF9wKZ4bKwzZoL8aZf26pWzIG").expect("32 bytes");
    let payload = offline_transaction();
    let mut group = c.benchmark_group("offline_transaction_encry_data");

    group.bench_function("seal_json+open_json", |b| {
        b.iter(|| {
            let sealed = envelope::seal_json(&key, black_box(&payload));
            let opened: OfflineTransaction =
                envelope::open_json(&key, "encry_data", black_box(&sealed)).expect("opens");
            opened
        })
    });
    group.bench_function("serde_json_serialise", |b| {
        b.iter(|| serde_json::to_vec(black_box(&payload)).expect("serialises"))
    });
    group.bench_function("serde_json_serialise+parse", |b| {
        b.iter(|| {
            let json = serde_json::to_vec(black_box(&payload)).expect("serialises");
            let parsed: OfflineTransaction =
                serde_json::from_slice(black_box(&json)).expect("parses");
            parsed
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // Short runs: the figures are compared within one run, and the machine is shared.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_envelope
}
criterion_main!(benches);
