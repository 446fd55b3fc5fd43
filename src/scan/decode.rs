//! The per-frame decoding pipeline.
//!
//! A frame goes through attempts ordered by reads per millisecond on the two generated corpora
//! (cheap ones first) until one yields a valid payment code or the frame's time budget runs out;
//! the budget is checked before each attempt and inside every search of placements:
//!
//! 1. finder patterns in the whole frame (each block against the midpoint of the edges around
//!    it, so a dim screen's modules stay apart) and, for the likeliest sightings,
//!    the grid they outline read module by module ([`resample`](super::resample)), first on
//!    the frame's bitmap, then on the code's region smoothed over a third of a module and
//!    thresholded against a window a few modules wide (noise, glare, a dim screen),
//! 2. the same with a second binarisation (ZXing's hybrid black point, which holds up better
//!    under strong sensor noise),
//! 3. `rqrr` on each sighted code's region, enlarged 2× when its modules are under 3.5 pixels,
//! 4. contrast stretch + adaptive threshold, then `rqrr` on each likely code region only
//!    ([`locate`](super::locate)); small regions are first enlarged 2×,
//! 5. `rqrr` on the whole grey frame with its own binarisation,
//! 6. `rqrr` on the whole thresholded frame,
//! 7. the same at half size (averaging smooths blur, noise and JPEG blocks),
//! 8. large code regions enlarged 2× (a tiny code whose region merged with its surroundings).
//!
//! Steps 1 and 2 read nearly every frame both corpora hold, in about a millisecond; the rest
//! only start on a frame given more than a live frame's 15 ms (a saved image gets 2 s).
//!
//! Each attempt runs in both polarities, the likelier one first: a dark frame is probably a
//! dark-mode screen with light modules. Mirrored codes need no attempt of their own: `rqrr`
//! retries every grid it finds transposed. A grid found but not decoded gets a second look
//! with its fourth corner moved around ([`resample`](super::resample)).
//!
//! Every text read is checked by [`CodeRules`]; texts that are not payment codes (a URL, a
//! Wi-Fi code) are skipped and the next attempt runs, so a poster behind the phone cannot end
//! the scan.

use std::time::{Duration, Instant};

use image::{DynamicImage, GrayImage};

use super::finder::{CodeSighting, code_sightings, finder_patterns};
use super::locate::{Region, code_regions};
use super::preprocess::{
    Bitmap, adaptive_threshold, block_threshold, box_mean, downscale_by, downscale_to_fit,
    grayscale, mean_level, midpoint_threshold, stretch_contrast, upscale_double,
};
use super::resample::{decode_from_finders, decode_with_corner_search};
use super::validate::{CodeRules, PaymentCode, Refusal};

/// Tuning of the pipeline. The defaults suit 640×480 frames from a handheld's camera.
#[derive(Debug, Clone)]
pub struct DecoderConfig {
    /// Larger frames are shrunk to this many pixels on their longest side for the whole-frame
    /// attempts.
    pub max_side: u32,
    /// The finder-pattern search sees frames up to this size unshrunk, so a 1280×720 preview
    /// keeps its small modules.
    pub finder_max_side: u32,
    /// No new attempt starts once a frame has taken this long.
    pub frame_budget: Duration,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            max_side: 800,
            finder_max_side: 1280,
            frame_budget: Duration::from_millis(15),
        }
    }
}

/// Which attempt of the pipeline read the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The grid outlined by three finder patterns, read module by module.
    FinderGrid,
    /// `rqrr` on the region three finder patterns outline.
    Finder,
    Region,
    Plain,
    Thresholded,
    HalfScale,
    RegionEnlarged,
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

/// The fewest pixels a side of an image that can show a QR code has (a version 1 code, one
/// pixel a module).
const MIN_SIDE: u32 = 21;
/// Below this mean grey level a frame is taken for a dark-mode screen.
const DARK_FRAME_MEAN: u8 = 100;
/// Threshold window radius, as a fraction of the frame's longest side.
const WINDOW_FRACTION: u32 = 40;
/// Code regions tried per frame (the phone is one; a second guards against a busy poster).
const REGIONS_TRIED: usize = 2;
/// Regions smaller than this on their longest side are enlarged 2× before detection: a
/// phone screen that small holds a code with modules of a few pixels.
const ENLARGE_BELOW: u32 = 240;
/// Larger regions are enlarged only as a last attempt, and only up to this size.
const ENLARGE_LATE_UP_TO: u32 = 400;
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
        self.decode_skipping(frame, &[])
    }

    /// [`Decoder::decode`], passing over the codes in `skip` for any other in the same frame:
    /// the last customer's code, still on a screen beside the next customer's, must not hide it.
    /// A skipped code is the outcome only when the frame shows no other.
    pub fn decode_skipping(&self, frame: &DynamicImage, skip: &[PaymentCode]) -> DecodeOutcome {
        let started = Instant::now();
        let mut attempt = Attempts {
            rules: &self.rules,
            skip,
            skipped: None,
            last_refusal: None,
            started,
            budget: self.config.frame_budget,
            read_once: false,
        };
        match self.search(frame, &mut attempt) {
            Some(found) => found,
            None => match (attempt.skipped, attempt.last_refusal) {
                (Some(skipped), _) => skipped,
                (None, Some(refusal)) => DecodeOutcome::Refused(refusal),
                (None, None) => DecodeOutcome::NothingRead,
            },
        }
    }

    /// The attempts, cheapest first, until one finds a code not skipped.
    fn search(&self, frame: &DynamicImage, attempt: &mut Attempts<'_>) -> Option<DecodeOutcome> {
        // The smallest code is 21 modules a side; a narrower frame holds none, and its halves
        // would be images with no pixels at all.
        if frame.width() < MIN_SIDE || frame.height() < MIN_SIDE {
            return None;
        }
        let full = downscale_to_fit(grayscale(frame), self.config.finder_max_side);
        let bright = midpoint_threshold(&full);
        let sighted = sightings_in(&bright, &full);
        if let Some(found) = read_grids(attempt, &full, &bright, &sighted) {
            return Some(found);
        }
        // From here on the budget holds, even if nothing was sighted.
        attempt.read_once = true;
        // A dim shop's noise makes the midpoints of the first binarisation jitter; the hybrid
        // black point, which averages each block, gets a second look.
        let mut hybrid = None;
        if !attempt.out_of_time() {
            let bitmap = block_threshold(&full);
            let sighted = sightings_in(&bitmap, &full);
            if let Some(found) = read_grids(attempt, &full, &bitmap, &sighted) {
                return Some(found);
            }
            hybrid = Some((bitmap, sighted));
        }
        if let Some(found) = rqrr_on_sightings(attempt, &full, &bright, &sighted) {
            return Some(found);
        }
        if let Some((bitmap, sighted)) = &hybrid
            && let Some(found) = rqrr_on_sightings(attempt, &full, bitmap, sighted)
        {
            return Some(found);
        }
        let grey = downscale_to_fit(full, self.config.max_side);
        let dark_first = mean_level(&grey) < DARK_FRAME_MEAN;
        let polarities = [dark_first, !dark_first];
        let stretched = stretch_contrast(&grey);
        let bitmap = threshold(&stretched);

        let regions = code_regions(&bitmap, REGIONS_TRIED);
        for region in &regions {
            let mut crop = crop_of(&stretched, region);
            if region.width.max(region.height) < ENLARGE_BELOW {
                crop = upscale_double(&crop);
            }
            let crop_bitmap = threshold(&crop);
            if let Some(found) = attempt.both_polarities(Stage::Region, &crop_bitmap, polarities) {
                return Some(found);
            }
        }

        for inverted in polarities {
            let image = if inverted {
                inverted_grey(&grey)
            } else {
                grey.clone()
            };
            if let Some(found) = attempt.run(Stage::Plain, inverted, || {
                rqrr::PreparedImage::prepare(image)
            }) {
                return Some(found);
            }
        }

        if let Some(found) = attempt.both_polarities(Stage::Thresholded, &bitmap, polarities) {
            return Some(found);
        }
        if !attempt.out_of_time() && stretched.width().min(stretched.height()) >= 2 * MIN_SIDE {
            let half = threshold(&downscale_by(&stretched, 2));
            if let Some(found) = attempt.both_polarities(Stage::HalfScale, &half, polarities) {
                return Some(found);
            }
        }
        // A tiny code whose region merged with busy surroundings (a patterned counter) was
        // too large to be enlarged above; enlarge it now, if time is left.
        for region in regions
            .iter()
            .filter(|r| (ENLARGE_BELOW..=ENLARGE_LATE_UP_TO).contains(&r.width.max(r.height)))
        {
            if attempt.out_of_time() {
                break;
            }
            let crop_bitmap = threshold(&upscale_double(&crop_of(&stretched, region)));
            if let Some(found) =
                attempt.both_polarities(Stage::RegionEnlarged, &crop_bitmap, polarities)
            {
                return Some(found);
            }
        }
        None
    }
}

/// Sightings of a code tried per frame: a busy frame may pair the wrong three patterns first.
const SIGHTINGS_TRIED: usize = 3;
/// Quiet modules kept around a sighted code: the quiet zone, and room for a fourth corner that
/// perspective moved.
const SIGHTING_MARGIN_MODULES: f32 = 5.0;
/// Sighted codes with smaller modules are enlarged 2× before `rqrr` looks at them.
const ENLARGE_MODULES_BELOW_PX: f32 = 3.5;

/// Codes sighted by their finder patterns in `bitmap`, each with the region it covers in
/// `grey`: the likeliest few, each region once.
fn sightings_in(bitmap: &Bitmap, grey: &GrayImage) -> Vec<(CodeSighting, Region)> {
    let mut chosen: Vec<(CodeSighting, Region)> = Vec::new();
    for sighting in code_sightings(&finder_patterns(bitmap)) {
        if chosen.len() == SIGHTINGS_TRIED {
            break;
        }
        let region = sighting.region(SIGHTING_MARGIN_MODULES, grey.width(), grey.height());
        if region.width < 21 || region.height < 21 || chosen.iter().any(|(_, r)| *r == region) {
            continue;
        }
        chosen.push((sighting, region));
    }
    chosen
}

/// The cheapest attempts: the grid each sighting outlines, read module by module, on the
/// frame's bitmap and then on the code's region binarised on its own. A fraction of a
/// millisecond each; `rqrr` on a noisy region can cost tens, so every sighting (of both
/// binarisations) gets this reading before any gets `rqrr`.
fn read_grids(
    attempt: &mut Attempts,
    grey: &GrayImage,
    bitmap: &Bitmap,
    sighted: &[(CodeSighting, Region)],
) -> Option<DecodeOutcome> {
    for (sighting, region) in sighted {
        if attempt.out_of_time() {
            return None;
        }
        if let Some(found) = read_grid(attempt, sighting, bitmap, (0, 0)) {
            return Some(found);
        }
        if attempt.out_of_time() {
            return None;
        }
        let local = local_bitmap(grey, sighting, region);
        if let Some(found) = read_grid(attempt, sighting, &local, (region.x, region.y)) {
            return Some(found);
        }
    }
    None
}

/// `rqrr` on each sighted code's region, enlarged when its modules are small.
fn rqrr_on_sightings(
    attempt: &mut Attempts,
    grey: &GrayImage,
    bitmap: &Bitmap,
    sighted: &[(CodeSighting, Region)],
) -> Option<DecodeOutcome> {
    for (sighting, region) in sighted {
        let inverted = sighting.light_on_dark();
        let crop = sighting_bitmap(grey, bitmap, sighting, region);
        if let Some(found) = attempt.run(Stage::Finder, inverted, || {
            if inverted {
                crop.inverted().to_prepared()
            } else {
                crop.to_prepared()
            }
        }) {
            return Some(found);
        }
    }
    None
}

/// The sighted code's grid read through its finder centres from `bitmap`, whose top-left
/// pixel is at `origin` in the frame.
fn read_grid(
    attempt: &mut Attempts,
    sighting: &CodeSighting,
    bitmap: &Bitmap,
    origin: (u32, u32),
) -> Option<DecodeOutcome> {
    let inverted = sighting.light_on_dark();
    let (ox, oy) = (origin.0 as i32, origin.1 as i32);
    let is_dark = |x: i32, y: i32| {
        let (x, y) = (x - ox, y - oy);
        x >= 0
            && y >= 0
            && (x as u32) < bitmap.width()
            && (y as u32) < bitmap.height()
            && bitmap.is_dark(x as u32, y as u32) != inverted
    };
    let (started, budget, enforced) = (attempt.started, attempt.budget, attempt.read_once);
    let out_of_time = move || enforced && started.elapsed() >= budget;
    let bytes = decode_from_finders(
        sighting.finders(),
        f64::from(sighting.module),
        is_dark,
        &out_of_time,
    );
    attempt.read_once = true;
    attempt.check(Stage::FinderGrid, inverted, &bytes?)
}

/// The sighted code's region binarised on its own: smoothed over about a third of a module
/// (sensor noise, JPEG blocks, moiré average out within a module), then each pixel against the
/// mean of a window a few modules wide, with almost no bias. The window follows a glare patch
/// or a dim corner; the low bias keeps a turned-down screen's modules apart.
fn local_bitmap(grey: &GrayImage, sighting: &CodeSighting, region: &Region) -> Bitmap {
    let crop = crop_of(grey, region);
    let smoothing = (sighting.module / 3.0) as u32;
    let smoothed = if smoothing > 0 {
        box_mean(&crop, smoothing)
    } else {
        crop
    };
    let window = ((sighting.module * LOCAL_WINDOW_MODULES) as u32).max(3);
    adaptive_threshold(&smoothed, window, LOCAL_BIAS)
}

/// Half the side of [`local_bitmap`]'s threshold window, in modules.
const LOCAL_WINDOW_MODULES: f32 = 4.0;
/// [`local_bitmap`]'s bias, in grey levels.
const LOCAL_BIAS: u8 = 2;

/// The sighted code's region, binarised at a scale where its modules are a few pixels wide.
fn sighting_bitmap(
    grey: &GrayImage,
    bitmap: &Bitmap,
    sighting: &CodeSighting,
    region: &Region,
) -> Bitmap {
    if sighting.module < ENLARGE_MODULES_BELOW_PX {
        block_threshold(&upscale_double(&crop_of(grey, region)))
    } else {
        bitmap.crop(region)
    }
}

fn crop_of(image: &GrayImage, region: &Region) -> GrayImage {
    image::imageops::crop_imm(image, region.x, region.y, region.width, region.height).to_image()
}

/// Adaptive threshold with a window scaled to the image.
fn threshold(image: &GrayImage) -> Bitmap {
    let radius = (image.width().max(image.height()) / WINDOW_FRACTION).max(2);
    adaptive_threshold(image, radius, THRESHOLD_BIAS)
}

fn inverted_grey(grey: &GrayImage) -> GrayImage {
    let mut inverted = grey.clone();
    image::imageops::invert(&mut inverted);
    inverted
}

/// Bookkeeping shared by the attempts on one frame.
struct Attempts<'a> {
    rules: &'a CodeRules,
    /// Codes passed over for any other (see [`Decoder::decode_skipping`]).
    skip: &'a [PaymentCode],
    /// The first skipped code read. Once there is one, no further `rqrr` attempt starts: the
    /// grids of every sighted code are still read (they are cheap, and a second code in view is
    /// sighted as the first was), but a frame showing only a skipped code costs no more.
    skipped: Option<DecodeOutcome>,
    last_refusal: Option<Refusal>,
    started: Instant,
    budget: Duration,
    /// Whether one grid outlined by finder patterns has been read in full.
    read_once: bool,
}

impl Attempts<'_> {
    /// Whether the budget is spent. Not before the first grid has been read in full: on a slow
    /// device (or a debug build) finding the finder patterns alone may take the whole budget,
    /// and a frame that never gets one real attempt can never be read.
    fn out_of_time(&self) -> bool {
        self.read_once && self.started.elapsed() >= self.budget
    }

    fn both_polarities(
        &mut self,
        stage: Stage,
        bitmap: &Bitmap,
        polarities: [bool; 2],
    ) -> Option<DecodeOutcome> {
        polarities.into_iter().find_map(|inverted| {
            self.run(stage, inverted, || {
                if inverted {
                    bitmap.inverted().to_prepared()
                } else {
                    bitmap.to_prepared()
                }
            })
        })
    }

    /// Runs one attempt unless the budget is spent; returns the outcome if it found a code.
    fn run(
        &mut self,
        stage: Stage,
        inverted: bool,
        prepare: impl FnOnce() -> rqrr::PreparedImage<GrayImage>,
    ) -> Option<DecodeOutcome> {
        if self.out_of_time() || self.skipped.is_some() {
            return None;
        }
        let mut prepared = prepare();
        let mut payloads = Vec::new();
        let mut undecoded = Vec::new();
        for grid in prepared.detect_grids() {
            let mut bytes = Vec::new();
            match grid.decode_to(&mut bytes) {
                Ok(_) => payloads.push(bytes),
                Err(_) => undecoded.push((grid.bounds, rqrr::BitGrid::size(&grid.grid))),
            }
        }
        let (width, height) = (prepared.width() as i32, prepared.height() as i32);
        let is_dark = |x: i32, y: i32| {
            (0..width).contains(&x)
                && (0..height).contains(&y)
                && prepared.get_pixel_at(x as usize, y as usize) != 0u8
        };
        let (started, budget) = (self.started, self.budget);
        let out_of_time = move || started.elapsed() >= budget;
        payloads.extend(undecoded.into_iter().filter_map(|(bounds, size)| {
            decode_with_corner_search(bounds, size, is_dark, &out_of_time)
        }));
        payloads
            .into_iter()
            .find_map(|bytes| self.check(stage, inverted, &bytes))
    }

    /// The outcome if `bytes` are a payment code not skipped; otherwise remembers why not.
    fn check(&mut self, stage: Stage, inverted: bool, bytes: &[u8]) -> Option<DecodeOutcome> {
        match self.rules.check(bytes) {
            Ok(code) if self.skip.contains(&code) => {
                self.skipped.get_or_insert(DecodeOutcome::Found {
                    code,
                    stage,
                    inverted,
                });
                None
            }
            Ok(code) => Some(DecodeOutcome::Found {
                code,
                stage,
                inverted,
            }),
            Err(refusal) => {
                self.last_refusal = Some(refusal);
                None
            }
        }
    }
}
