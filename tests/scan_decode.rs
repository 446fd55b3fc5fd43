//! The decoding pipeline on generated camera frames: which stage reads what, and a floor on
//! the decode rate of a small deterministic corpus.

mod common;

use common::corpus::{self, Condition};
use std::time::Duration;

use image::DynamicImage;
use posd::scan::decode::Stage;
use posd::scan::{CodeRules, DecodeOutcome, Decoder, DecoderConfig, Refusal};

/// The pipeline with a budget no frame reaches, so results do not depend on machine speed.
fn decoder() -> Decoder {
    Decoder::new(
        CodeRules::default(),
        DecoderConfig {
            frame_budget: Duration::from_secs(60),
            ..DecoderConfig::default()
        },
    )
}

fn decode(condition: Condition, seed: u64) -> (String, DecodeOutcome) {
    let sample = corpus::sample(condition, seed);
    let outcome = decoder().decode(&DynamicImage::ImageLuma8(sample.frame));
    (sample.code, outcome)
}

fn assert_reads(condition: Condition, seed: u64) -> (Stage, bool) {
    let (expected, outcome) = decode(condition, seed);
    match outcome {
        DecodeOutcome::Found {
            code,
            stage,
            inverted,
        } => {
            assert_eq!(code.expose(), expected, "{condition:?} seed {seed}");
            (stage, inverted)
        }
        other => panic!("{condition:?} seed {seed}: {other:?}"),
    }
}

#[test]
fn clean_frames_are_read_by_their_finder_patterns() {
    for seed in 0..2 {
        let (stage, inverted) = assert_reads(Condition::Clean, seed);
        assert!(
            matches!(stage, Stage::FinderGrid | Stage::Finder),
            "seed {seed}: {stage:?}"
        );
        assert!(!inverted, "seed {seed}");
    }
}

#[test]
fn dark_mode_is_read_inverted() {
    for seed in 0..2 {
        let (_, inverted) = assert_reads(Condition::DarkMode, seed);
        assert!(inverted, "seed {seed}");
    }
}

#[test]
fn mirrored_codes_are_read() {
    for seed in 0..2 {
        assert_reads(Condition::Mirrored, seed);
    }
}

#[test]
fn a_url_is_refused_not_returned() {
    let frame = corpus::render_plain("https://example.com/menu", 6);
    let outcome = decoder().decode(&DynamicImage::ImageLuma8(frame));
    assert_eq!(
        outcome,
        DecodeOutcome::Refused(Refusal::UnknownShape { length: 24 })
    );
}

#[test]
fn a_frame_without_a_code_reads_nothing() {
    let blank = image::GrayImage::from_pixel(640, 480, image::Luma([128]));
    assert_eq!(
        decoder().decode(&DynamicImage::ImageLuma8(blank)),
        DecodeOutcome::NothingRead
    );
}

/// A correctness floor, not a timing: 2 frames of each condition from a fixed seed. No frame
/// of any condition may read as a different code.
#[test]
fn decode_rate_floor_on_generated_corpus() {
    let decoder = decoder();
    let mut failures = Vec::new();
    let mut wrong = Vec::new();
    let samples = corpus::corpus(2, 7);
    for sample in &samples {
        let frame = DynamicImage::ImageLuma8(sample.frame.clone());
        let read = decoder.decode(&frame).code().map(|c| c.expose().to_owned());
        if read.as_deref() != Some(sample.code.as_str()) {
            failures.push(sample.condition.name());
            if read.is_some() {
                wrong.push(sample.condition.name());
            }
        }
    }
    assert!(wrong.is_empty(), "wrong codes read: {wrong:?}");
    let rate = 1.0 - failures.len() as f64 / samples.len() as f64;
    assert!(rate >= 0.85, "decode rate {rate:.2}; failed: {failures:?}");
}

/// The last customer's code beside the next one's: whichever of the two is skipped, the other
/// is read; alone, a skipped code is still what the frame shows.
#[test]
fn a_skipped_code_does_not_hide_another_in_the_same_frame() {
    let rules = CodeRules::default();
    let first = corpus::sample(Condition::Clean, 31).code;
    let second = corpus::sample(Condition::Clean, 32).code;
    let both = DynamicImage::ImageLuma8(corpus::side_by_side(&[&first, &second], 4));
    let read = |frame: &DynamicImage, skipped: &str| {
        let skip = [rules.check(skipped.as_bytes()).unwrap()];
        match decoder().decode_skipping(frame, &skip) {
            DecodeOutcome::Found { code, .. } => code.expose().to_owned(),
            other => panic!("skipping {skipped}: {other:?}"),
        }
    };
    assert_eq!(read(&both, &first), second);
    assert_eq!(read(&both, &second), first);
    let alone = DynamicImage::ImageLuma8(corpus::side_by_side(&[&first], 4));
    assert_eq!(read(&alone, &first), first);
}

/// Frames too narrow or too low to hold a code read nothing, and never make a stage panic on an
/// image left with no pixels.
#[test]
fn frames_too_small_for_a_code_read_nothing() {
    for (width, height) in [(1, 100), (100, 1), (1, 1), (20, 480), (41, 41)] {
        let frame = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(
            width,
            height,
            image::Luma([128]),
        ));
        assert_eq!(
            decoder().decode(&frame),
            DecodeOutcome::NothingRead,
            "{width}x{height}"
        );
    }
}
