//! Decode rate and time per frame of the scan pipeline, against `rxing` (an independent ZXing
//! port, in its try-harder mode) and plain `rqrr` without preprocessing, on the same generated
//! frames in the same run, over two independent corpora: `corpus.rs` (the pipeline's own) and
//! `field_corpus.rs` (how customers show a code: anywhere in the frame, 2-8 px modules, ±45°,
//! keystone, motion blur, moiré, 1280×720, NV21, a code against the frame's edge).
//!
//! `cargo bench --bench scan` prints one table per corpus: a row per condition, then overall.
//! A read counts only when it is the code shown; a different code is counted as **wrong**.
//!
//! - `SCAN_BENCH_FRAMES`: frames per condition (default 30).
//! - `SCAN_BENCH_SEED`: the corpora's seed (default 1); other seeds check that a figure is not
//!   an accident of one set of frames.
//! - `SCAN_BENCH_BUDGET_MS`: the pipeline's per-frame budget (default: the daemon's).
//! - `SCAN_BENCH_OUT`: a folder to write every frame to (PGM) with `results.tsv`, one line per
//!   frame and decoder, so `scripts/scan-bench` can time zxing-cpp on the very same frames.

// Shared with the tests, which use parts of them this bench does not.
#[allow(dead_code)]
#[path = "../tests/common/corpus.rs"]
mod corpus;
#[allow(dead_code)]
#[path = "../tests/common/field_corpus.rs"]
mod field_corpus;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::{DynamicImage, GrayImage};
use posd::scan::{CodeRules, Decoder, DecoderConfig};

const DECODERS: [&str; 3] = ["posd", "rxing", "plain rqrr"];

type Reader<'a> = dyn Fn(&DynamicImage) -> Option<String> + 'a;

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

/// One frame of a corpus: its condition, the code it shows and the grey pixels.
struct Frame {
    condition: &'static str,
    code: String,
    image: DynamicImage,
}

#[derive(Default, Clone)]
struct Tally {
    read: usize,
    wrong: usize,
    total: usize,
    times: Vec<Duration>,
}

impl Tally {
    fn record(&mut self, read: Option<&str>, expected: &str, took: Duration) {
        self.read += usize::from(read == Some(expected));
        self.wrong += usize::from(read.is_some_and(|text| text != expected));
        self.total += 1;
        self.times.push(took);
    }

    fn merge(&mut self, other: &Tally) {
        self.read += other.read;
        self.wrong += other.wrong;
        self.total += other.total;
        self.times.extend_from_slice(&other.times);
    }

    fn percentile_ms(&self, fraction: f64) -> f64 {
        let mut times = self.times.clone();
        times.sort();
        let index = ((times.len() as f64 * fraction) as usize).min(times.len().saturating_sub(1));
        times.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }

    fn cell(&self) -> String {
        let wrong = if self.wrong > 0 {
            format!(", **{} wrong**", self.wrong)
        } else {
            String::new()
        };
        format!(
            " {}/{}{wrong} | {:.1} | {:.1} |",
            self.read,
            self.total,
            self.percentile_ms(0.5),
            self.percentile_ms(0.95)
        )
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn synthetic_frames(per_condition: usize, seed: u64) -> Vec<Frame> {
    corpus::Condition::ALL
        .iter()
        .flat_map(|&condition| {
            (0..per_condition as u64).map(move |i| {
                let sample = corpus::sample(condition, seed.wrapping_mul(0x5ca9_0000) + i);
                Frame {
                    condition: condition.name(),
                    code: sample.code,
                    image: DynamicImage::ImageLuma8(sample.frame),
                }
            })
        })
        .collect()
}

fn field_frames(per_condition: usize, seed: u64) -> Vec<Frame> {
    field_corpus::field_corpus(per_condition, seed)
        .into_iter()
        .map(|sample| Frame {
            condition: sample.condition.name(),
            code: sample.code,
            image: DynamicImage::ImageLuma8(sample.frame),
        })
        .collect()
}

/// Writes `image` as a binary PGM, which numpy reads without an image library.
fn write_pgm(path: &Path, image: &GrayImage) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    write!(file, "P5\n{} {}\n255\n", image.width(), image.height())?;
    file.write_all(image.as_raw())?;
    file.flush()
}

/// Where frames and per-frame results go for the peer in another language.
struct Export {
    folder: PathBuf,
    results: std::io::BufWriter<std::fs::File>,
}

impl Export {
    fn open(folder: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&folder)?;
        let mut results =
            std::io::BufWriter::new(std::fs::File::create(folder.join("results.tsv"))?);
        writeln!(
            results,
            "corpus\tcondition\tframe\texpected\tdecoder\tread\tms"
        )?;
        Ok(Self { folder, results })
    }

    fn frame(&mut self, corpus: &str, index: usize, frame: &Frame) -> std::io::Result<String> {
        let name = format!("{corpus}-{index:05}.pgm");
        write_pgm(&self.folder.join(&name), &frame.image.to_luma8())?;
        Ok(name)
    }

    fn result(
        &mut self,
        (corpus, frame_name, frame): (&str, &str, &Frame),
        decoder: &str,
        read: Option<&str>,
        took: Duration,
    ) -> std::io::Result<()> {
        writeln!(
            self.results,
            "{corpus}\t{}\t{frame_name}\t{}\t{decoder}\t{}\t{:.4}",
            frame.condition,
            frame.code,
            read.unwrap_or(""),
            took.as_secs_f64() * 1000.0
        )
    }
}

fn run_corpus(
    corpus_name: &str,
    frames: &[Frame],
    decoder: &Decoder,
    export: &mut Option<Export>,
) -> std::io::Result<()> {
    let readers: [&Reader; 3] = [&|f| ours(decoder, f), &rxing, &plain_rqrr];
    println!("\n{corpus_name} corpus: {} frames", frames.len());
    let mut header = "| condition |".to_owned();
    for name in DECODERS {
        header.push_str(&format!(" {name} read | {name} p50 ms | {name} p95 ms |"));
    }
    println!("{header}");
    println!("|---|{}", "---|---|---|".repeat(DECODERS.len()));
    let mut overall: Vec<Tally> = vec![Tally::default(); DECODERS.len()];
    let mut conditions: Vec<&str> = frames.iter().map(|f| f.condition).collect();
    conditions.dedup();
    for condition in conditions {
        let mut tallies: Vec<Tally> = vec![Tally::default(); DECODERS.len()];
        for (index, frame) in frames.iter().enumerate() {
            if frame.condition != condition {
                continue;
            }
            let frame_name = match export {
                Some(export) => export.frame(corpus_name, index, frame)?,
                None => String::new(),
            };
            for ((reader, tally), name) in readers.iter().zip(&mut tallies).zip(DECODERS) {
                let started = Instant::now();
                let read = reader(&frame.image);
                let took = started.elapsed();
                tally.record(read.as_deref(), &frame.code, took);
                if let Some(export) = export {
                    export.result(
                        (corpus_name, &frame_name, frame),
                        name,
                        read.as_deref(),
                        took,
                    )?;
                }
            }
        }
        let mut row = format!("| {condition} |");
        for (tally, total) in tallies.iter().zip(&mut overall) {
            total.merge(tally);
            row.push_str(&tally.cell());
        }
        println!("{row}");
    }
    let mut row = "| **overall** |".to_owned();
    for tally in &overall {
        row.push_str(&tally.cell());
    }
    println!("{row}");
    println!(
        "posd p95 {:.1} ms, max {:.1} ms",
        overall[0].percentile_ms(0.95),
        overall[0].percentile_ms(1.0)
    );
    Ok(())
}

fn main() -> std::io::Result<()> {
    let per_condition = env_or("SCAN_BENCH_FRAMES", 30usize);
    let seed = env_or("SCAN_BENCH_SEED", 1u64);
    let mut config = DecoderConfig::default();
    if let Some(ms) = std::env::var("SCAN_BENCH_BUDGET_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.frame_budget = Duration::from_millis(ms);
    }
    let decoder = Decoder::new(CodeRules::default(), config.clone());
    let mut export = match std::env::var_os("SCAN_BENCH_OUT") {
        Some(folder) => Some(Export::open(PathBuf::from(folder))?),
        None => None,
    };
    println!(
        "{per_condition} frames per condition, seed {seed}, posd budget {} ms per frame; \
         read = the code shown was read; p50 and p95 ms per frame",
        config.frame_budget.as_millis()
    );
    run_corpus(
        "synthetic",
        &synthetic_frames(per_condition, seed),
        &decoder,
        &mut export,
    )?;
    run_corpus(
        "field",
        &field_frames(per_condition, seed),
        &decoder,
        &mut export,
    )?;
    if let Some(mut export) = export {
        export.results.flush()?;
    }
    Ok(())
}
