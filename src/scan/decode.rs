//! The per-frame decoding pipeline.
//!
//! A frame goes through increasingly expensive attempts until one yields a valid payment code
//! or the frame's time budget runs out:
//!
//! 1. `rqrr` on the plain grey frame (cheap; reads clean frames),
//! 2. contrast stretch + adaptive threshold at full size,
//! 3. the same at half size (averaging smooths blur, noise and JPEG blocks),
//! 4. the same at double size (codes whose modules are only 2-3 pixels wide).
//!
//! Each attempt runs in both polarities, the likelier one first: a dark frame is probably a
//! dark-mode screen with light modules. Mirrored codes need no attempt of their own: `rqrr`
//! retries every grid it finds transposed.
//!
//! Every text read is checked by [`CodeRules`]; texts that are not payment codes (a URL, a
//! Wi-Fi code) are skipped and the next attempt runs, so a poster behind the phone cannot end
//! the scan.

use std::time::{Duration, Instant};

use image::{DynamicImage, GrayImage};

use super::preprocess::{
    adaptive_threshold, downscale_by, downscale_to_fit, grayscale, mean_level, stretch_contrast,
    upscale_double,
};
use super::validate::{CodeRules, PaymentCode, Refusal};

/// Tuning of the pipeline. The defaults suit 640×480 frames from a handheld's camera.
#[derive(Debug, Clone)]
pub struct DecoderConfig {
    /// Larger frames are shrunk to this many pixels on their longest side first.
    pub max_side: u32,
    /// No new attempt starts once a frame has taken this long.
    pub frame_budget: Duration,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            max_side: 800,
            frame_budget: Duration::from_millis(80),
        }
    }
}

/// Which attempt of the pipeline read the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Plain,
    Thresholded,
    HalfScale,
    DoubleScale,
}

/// The result of decoding one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeOutcome {
    Found {
        code: PaymentCode,
        stage: Stage,
        inverted: bool,
    },
    /// QR codes were read, but none is a payment code; the last refusal says why.
    Refused(Refusal),
    /// No QR code could be read.
    NothingRead,
}

impl DecodeOutcome {
    pub fn code(&self) -> Option<&PaymentCode> {
        match self {
            DecodeOutcome::Found { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Below this mean grey level a frame is taken for a dark-mode screen.
const DARK_FRAME_MEAN: u8 = 100;
/// Threshold window radius, as a fraction of the frame's longest side.
const WINDOW_FRACTION: u32 = 40;
/// Grey levels a pixel must be below its window's mean to count as dark (after stretching).
const THRESHOLD_BIAS: u8 = 10;

#[derive(Debug, Clone, Default)]
pub struct Decoder {
    rules: CodeRules,
    config: DecoderConfig,
}

impl Decoder {
    pub fn new(rules: CodeRules, config: DecoderConfig) -> Self {
        Self { rules, config }
    }

    pub fn rules(&self) -> &CodeRules {
        &self.rules
    }

    /// Decodes one frame: the first valid payment code found, or why there is none.
    pub fn decode(&self, frame: &DynamicImage) -> DecodeOutcome {
        let started = Instant::now();
        let grey = downscale_to_fit(grayscale(frame), self.config.max_side);
        let dark_first = mean_level(&grey) < DARK_FRAME_MEAN;
        let mut attempt = Attempts {
            rules: &self.rules,
            last_refusal: None,
            started,
            budget: self.config.frame_budget,
        };

        let plain_pair = if dark_first {
            [(true, inverted_grey(&grey)), (false, grey.clone())]
        } else {
            [(false, grey.clone()), (true, inverted_grey(&grey))]
        };
        for (inverted, image) in plain_pair {
            if let Some(found) = attempt.run(Stage::Plain, inverted, || {
                rqrr::PreparedImage::prepare(image)
            }) {
                return found;
            }
        }

        let stretched = stretch_contrast(&grey);
        for stage in [Stage::Thresholded, Stage::HalfScale, Stage::DoubleScale] {
            if attempt.out_of_time() {
                break;
            }
            let image = match stage {
                Stage::HalfScale => downscale_by(&stretched, 2),
                Stage::DoubleScale => upscale_double(&stretched),
                Stage::Plain | Stage::Thresholded => stretched.clone(),
            };
            let radius = (image.width().max(image.height()) / WINDOW_FRACTION).max(2);
            let bitmap = adaptive_threshold(&image, radius, THRESHOLD_BIAS);
            for inverted in [dark_first, !dark_first] {
                let candidate = if inverted {
                    bitmap.inverted()
                } else {
                    bitmap.clone()
                };
                if let Some(found) = attempt.run(stage, inverted, || candidate.to_prepared()) {
                    return found;
                }
            }
        }
        match attempt.last_refusal {
            Some(refusal) => DecodeOutcome::Refused(refusal),
            None => DecodeOutcome::NothingRead,
        }
    }
}

fn inverted_grey(grey: &GrayImage) -> GrayImage {
    let mut inverted = grey.clone();
    image::imageops::invert(&mut inverted);
    inverted
}

/// Bookkeeping shared by the attempts on one frame.
struct Attempts<'a> {
    rules: &'a CodeRules,
    last_refusal: Option<Refusal>,
    started: Instant,
    budget: Duration,
}

impl Attempts<'_> {
    fn out_of_time(&self) -> bool {
        self.started.elapsed() >= self.budget
    }

    /// Runs one attempt unless the budget is spent; returns the outcome if it found a code.
    fn run(
        &mut self,
        stage: Stage,
        inverted: bool,
        prepare: impl FnOnce() -> rqrr::PreparedImage<GrayImage>,
    ) -> Option<DecodeOutcome> {
        if self.out_of_time() {
            return None;
        }
        let mut prepared = prepare();
        for grid in prepared.detect_grids() {
            let mut bytes = Vec::new();
            if grid.decode_to(&mut bytes).is_err() {
                continue;
            }
            match self.rules.check(&bytes) {
                Ok(code) => {
                    return Some(DecodeOutcome::Found {
                        code,
                        stage,
                        inverted,
                    });
                }
                Err(refusal) => self.last_refusal = Some(refusal),
            }
        }
        None
    }
}
