//! Receipt cost: time to lay out and encode a receipt, bytes per receipt, and how long those
//! bytes take on the SUNMI's 115200-baud serial link (10 bits per byte: start, 8 data, stop).
//!
//! Peers measured in the same run: printer-font text (GB18030) against text drawn as raster
//! (the `raster` profile encoding), and the preview interpreter against the encoder.

use criterion::{Criterion, criterion_group, criterion_main};
use posd::escpos::{EncodeOptions, encode, interpret, native_encoding};
use posd::profile::TextEncoding;
use posd::receipt::{self, InvoiceAnswer, LayoutSettings, ReceiptInput};
use std::hint::black_box;
use std::time::Duration;

const BAUD: f64 = 115_200.0;
const BITS_PER_BYTE: f64 = 10.0;

fn sample(name: &str) -> InvoiceAnswer {
    let path = format!("{}/receipts/samples/{name}", env!("CARGO_MANIFEST_DIR"));
    InvoiceAnswer::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn build_and_encode(answer: &InvoiceAnswer, encoding: TextEncoding, width: u32) -> Vec<u8> {
    let settings = LayoutSettings::default();
    let receipt = receipt::build(&ReceiptInput::new(answer, &settings, width)).unwrap();
    let options = EncodeOptions {
        width_dots: width,
        encoding,
        cut: true,
    };
    encode(&receipt.blocks, &options).unwrap().bytes
}

fn report_sizes() {
    println!("bytes per receipt and transfer time at 115200 baud (10 bits/byte):");
    for name in [
        "b2c-issued-proof-and-detail.json",
        "b2c-issued-long-items.json",
        "b2c-pending.json",
    ] {
        let answer = sample(name);
        for encoding in [TextEncoding::Gb18030, TextEncoding::Raster] {
            let bytes = build_and_encode(&answer, encoding, 384).len();
            let seconds = bytes as f64 * BITS_PER_BYTE / BAUD;
            println!("  {name:36} {encoding:8?} {bytes:7} bytes  {seconds:6.2} s");
        }
    }
}

fn benches(c: &mut Criterion) {
    report_sizes();
    let answer = sample("b2c-issued-proof-and-detail.json");
    let mut group = c.benchmark_group("receipt");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("build+encode gb18030", |b| {
        b.iter(|| build_and_encode(black_box(&answer), TextEncoding::Gb18030, 384))
    });
    group.bench_function("build+encode raster text", |b| {
        b.iter(|| build_and_encode(black_box(&answer), TextEncoding::Raster, 384))
    });
    let bytes = build_and_encode(&answer, TextEncoding::Gb18030, 384);
    group.bench_function("interpret preview gb18030", |b| {
        b.iter(|| {
            interpret(
                black_box(&bytes),
                384,
                native_encoding(TextEncoding::Gb18030),
            )
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(receipt_benches, benches);
criterion_main!(receipt_benches);
