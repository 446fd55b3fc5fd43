//! Decode rate and time per frame of the scan pipeline, against `rxing` (an independent ZXing
//! port, in its try-harder mode) and plain `rqrr` without preprocessing, on the same generated
//! 640×480 frames in the same run.
//!
//! `cargo bench --bench scan` prints one row per condition and an overall row. Set
//! `SCAN_BENCH_FRAMES` to change the number of frames per condition (default 30) and
//! `SCAN_BENCH_BUDGET_MS` to change the pipeline's per-frame budget (default: the daemon's),
//! e.g. to see rates that do not depend on how busy the machine is.

// Shared with the tests, which use parts of it this bench does not.
#[allow(dead_code)]
#[path = "../tests/common/corpus.rs"]
mod corpus;

use std::time::{Duration, Instant};

use corpus::{Condition, Sample};
use image::DynamicImage;
use posd::scan::{CodeRules, Decoder, DecoderConfig};

type Reader = fn(&DynamicImage) -> Option<String>;

fn ours(decoder: &Decoder, frame: &DynamicImage) -> Option<String> {
    decoder.decode(frame).code().map(|c| c.expose().to_owned())
}

fn plain_rqrr(frame: &DynamicImage) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare(frame.to_luma8());
    prepared
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

fn rxing(frame: &DynamicImage) -> Option<String> {
    let grey = frame.to_luma8();
    let (width, height) = grey.dimensions();
    rxing::helpers::detect_in_luma(
        grey.into_raw(),
        width,
        height,
        Some(rxing::BarcodeFormat::QR_CODE),
    )
    .ok()
    .map(|result| result.getText().to_owned())
}

#[derive(Default)]
struct Tally {
    read: usize,
    total: usize,
    times: Vec<Duration>,
}

impl Tally {
    fn record(&mut self, correct: bool, took: Duration) {
        self.read += usize::from(correct);
        self.total += 1;
        self.times.push(took);
    }

    fn rate(&self) -> f64 {
        100.0 * self.read as f64 / self.total.max(1) as f64
    }

    fn median_ms(&mut self) -> f64 {
        self.times.sort();
        self.times
            .get(self.times.len() / 2)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    fn merge(&mut self, other: &Tally) {
        self.read += other.read;
        self.total += other.total;
        self.times.extend_from_slice(&other.times);
    }
}

fn measure(
    samples: &[(Sample, DynamicImage)],
    read: impl Fn(&DynamicImage) -> Option<String>,
) -> Tally {
    let mut tally = Tally::default();
    for (sample, frame) in samples {
        let started = Instant::now();
        let text = read(frame);
        let took = started.elapsed();
        tally.record(text.as_deref() == Some(sample.code.as_str()), took);
    }
    tally
}

fn main() {
    let per_condition = std::env::var("SCAN_BENCH_FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let mut config = DecoderConfig::default();
    if let Some(ms) = std::env::var("SCAN_BENCH_BUDGET_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.frame_budget = Duration::from_millis(ms);
    }
    let budget_ms = config.frame_budget.as_millis();
    let decoder = Decoder::new(CodeRules::default(), config);
    let peers: [(&str, Reader); 2] = [("rxing", rxing), ("plain rqrr", plain_rqrr)];

    println!(
        "{per_condition} frames of 640x480 per condition, posd budget {budget_ms} ms per frame; \
         rate = codes read correctly; median ms per frame"
    );
    println!(
        "| condition | posd rate | posd median ms | rxing rate | rxing median ms | plain rqrr rate | plain rqrr median ms |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut overall: [Tally; 3] = Default::default();
    for condition in Condition::ALL {
        let samples: Vec<(Sample, DynamicImage)> = (0..per_condition as u64)
            .map(|i| {
                let sample = corpus::sample(condition, 0x5ca9_0000 + i);
                let frame = DynamicImage::ImageLuma8(sample.frame.clone());
                (sample, frame)
            })
            .collect();
        let mut tallies = [
            measure(&samples, |f| ours(&decoder, f)),
            measure(&samples, peers[0].1),
            measure(&samples, peers[1].1),
        ];
        let mut row = format!("| {} |", condition.name());
        for (tally, total) in tallies.iter_mut().zip(overall.iter_mut()) {
            total.merge(tally);
            row.push_str(&format!(
                " {:.0} % | {:.1} |",
                tally.rate(),
                tally.median_ms()
            ));
        }
        println!("{row}");
    }
    let mut row = "| **overall** |".to_owned();
    for tally in overall.iter_mut() {
        row.push_str(&format!(
            " {:.1} % | {:.1} |",
            tally.rate(),
            tally.median_ms()
        ));
    }
    println!("{row}");
}
