//! The gateway's answers read into the wire types and written back, for every sample answer in
//! `receipts/samples`: the cost of the lenient readers and the flattened invoice fields, against
//! the floor of parsing the same bytes into an untyped `serde_json::Value`.

use criterion::{Criterion, criterion_group, criterion_main};
use posd::api::TransactionResponse;
use std::hint::black_box;

fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/receipts/samples");
    let mut samples: Vec<_> = std::fs::read_dir(dir)
        .expect("receipts/samples")
        .map(|entry| entry.expect("a sample").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("readable"))
        })
        .collect();
    samples.sort();
    samples
}

fn answers(c: &mut Criterion) {
    let samples = samples();
    let mut group = c.benchmark_group("gateway answers, all samples");
    group.bench_function("parse as serde_json::Value (floor)", |b| {
        b.iter(|| {
            for (_, bytes) in &samples {
                black_box(serde_json::from_slice::<serde_json::Value>(black_box(bytes)).unwrap());
            }
        })
    });
    group.bench_function("parse as TransactionResponse", |b| {
        b.iter(|| {
            for (name, bytes) in &samples {
                let answer: TransactionResponse = serde_json::from_slice(black_box(bytes))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                black_box(answer);
            }
        })
    });
    let parsed: Vec<TransactionResponse> = samples
        .iter()
        .map(|(_, bytes)| serde_json::from_slice(bytes).unwrap())
        .collect();
    group.bench_function("write TransactionResponse", |b| {
        b.iter(|| {
            for answer in &parsed {
                black_box(serde_json::to_vec(black_box(answer)).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, answers);
criterion_main!(benches);
