//! The decoding pipeline on the field corpus (`common/field_corpus.rs`): frames generated from
//! how customers show a code, independently of the pipeline's own corpus. Every clean frame is
//! read, no frame of any condition reads as a different code, and each condition's rate stays
//! above a conservative floor. Rates only: times are the bench's business.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::field_corpus::{FieldCondition, field_sample};
use image::DynamicImage;
use posd::scan::{CodeRules, Decoder, DecoderConfig};

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

/// Frames read of `per_condition` per condition, and every wrong read, for one seed.
fn run(seed: u64, per_condition: u64) -> (BTreeMap<&'static str, u64>, Vec<String>) {
    let decoder = decoder();
    let mut read = BTreeMap::new();
    let mut wrong = Vec::new();
    for condition in FieldCondition::ALL {
        let count = read.entry(condition.name()).or_insert(0);
        for index in 0..per_condition {
            let sample = field_sample(condition, seed, index);
            let outcome = decoder.decode(&DynamicImage::ImageLuma8(sample.frame));
            match outcome.code() {
                Some(code) if code.expose() == sample.code => *count += 1,
                Some(_) => wrong.push(format!("{} #{index}", condition.name())),
                None => {}
            }
        }
    }
    (read, wrong)
}

#[test]
fn every_clean_frame_is_read() {
    let decoder = decoder();
    let mut missed = Vec::new();
    for index in 0..12 {
        let sample = field_sample(FieldCondition::Clean, 11, index);
        let outcome = decoder.decode(&DynamicImage::ImageLuma8(sample.frame));
        if outcome.code().map(|c| c.expose()) != Some(sample.code.as_str()) {
            missed.push((index, outcome));
        }
    }
    assert!(missed.is_empty(), "clean frames missed: {missed:?}");
}

#[test]
fn no_frame_reads_a_wrong_code_and_every_condition_keeps_its_floor() {
    const PER_CONDITION: u64 = 6;
    let (read, wrong) = run(23, PER_CONDITION);
    assert!(wrong.is_empty(), "wrong codes read: {wrong:?}");
    // Conservative floors, well below what the bench measures, so that a different machine
    // or a small change in the generator does not fail the test but a broken stage does.
    let floor = |condition: FieldCondition| match condition {
        FieldCondition::Clean => PER_CONDITION,
        FieldCondition::Blur | FieldCondition::Small | FieldCondition::MoireJpeg => 2,
        _ => 3,
    };
    let below: Vec<String> = FieldCondition::ALL
        .iter()
        .filter(|&&c| read[c.name()] < floor(c))
        .map(|c| format!("{}: {} of {PER_CONDITION}", c.name(), read[c.name()]))
        .collect();
    assert!(
        below.is_empty(),
        "below the floor: {below:?}; all: {read:?}"
    );
    let total: u64 = read.values().sum();
    let frames = PER_CONDITION * FieldCondition::ALL.len() as u64;
    assert!(
        total * 100 >= frames * 75,
        "{total} of {frames} read: {read:?}"
    );
}
