//! Finding a QR code by its three finder patterns.
//!
//! Every line through the centre of a finder pattern (the nested squares in three corners of a
//! QR code) crosses dark, light, dark, light, dark runs in the ratio 1:1:3:1:1, whatever the
//! code's rotation, and nothing else in a frame (a phone's bezel, a counter, the 1-D barcode
//! many wallets show above the QR code) does so in two directions at once. So one pass over the
//! rows of a binarised frame, each hit checked down its column, finds the patterns of a code
//! anywhere in the frame, at any angle and module size, in a fraction of a millisecond; three of
//! them that form a right isosceles triangle tell where the code is and how large its modules
//! are. Patterns are looked for in both polarities at once, so a dark-mode code is found too.

use super::locate::Region;
use super::preprocess::Bitmap;

/// A finder pattern's centre, its module size and whether its centre is light (dark mode).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FinderPattern {
    pub x: f32,
    pub y: f32,
    pub module: f32,
    pub light_centre: bool,
    /// Rows whose scan confirmed this pattern: more is surer.
    pub hits: u32,
}

/// Three finder patterns that can be one code: the corner one first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeSighting {
    pub corner: FinderPattern,
    pub ends: [FinderPattern; 2],
    /// Mean module size of the three, in pixels.
    pub module: f32,
}

impl CodeSighting {
    /// Whether the code's modules are light on dark.
    pub fn light_on_dark(&self) -> bool {
        self.corner.light_centre
    }

    /// The three centres as top-left, top-right, bottom-left of an upright, unmirrored code.
    pub fn finders(&self) -> [(f64, f64); 3] {
        let point = |p: FinderPattern| (f64::from(p.x), f64::from(p.y));
        let (a, b, c) = (point(self.corner), point(self.ends[0]), point(self.ends[1]));
        // In image coordinates (y down) the top-right end is clockwise of the bottom-left one.
        let clockwise = (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0) > 0.0;
        if clockwise { [a, b, c] } else { [a, c, b] }
    }

    /// The code with `margin_modules` modules around it, clipped to `width` × `height`. The
    /// fourth corner is taken as completing the parallelogram; the margin covers a perspective
    /// that moves it.
    pub fn region(&self, margin_modules: f32, width: u32, height: u32) -> Region {
        let (a, b, c) = (self.corner, self.ends[0], self.ends[1]);
        let d = (b.x + c.x - a.x, b.y + c.y - a.y);
        let xs = [a.x, b.x, c.x, d.0];
        let ys = [a.y, b.y, c.y, d.1];
        let margin = (3.5 + margin_modules) * self.module;
        let left = (min_of(xs) - margin).max(0.0) as u32;
        let top = (min_of(ys) - margin).max(0.0) as u32;
        let right = ((max_of(xs) + margin).ceil() as u32).min(width);
        let bottom = ((max_of(ys) + margin).ceil() as u32).min(height);
        Region {
            x: left.min(right),
            y: top.min(bottom),
            width: right.saturating_sub(left),
            height: bottom.saturating_sub(top),
        }
    }
}

fn min_of(values: [f32; 4]) -> f32 {
    values.into_iter().fold(f32::MAX, f32::min)
}

fn max_of(values: [f32; 4]) -> f32 {
    values.into_iter().fold(f32::MIN, f32::max)
}

/// Patterns smaller than this (the 3-module centre under 3 pixels) are noise.
const MIN_PATTERN_PX: u32 = 5;
/// Patterns narrower than this in all (7 modules under 1.4 pixels each) are sensor noise: a
/// dim shop's frame holds thousands of them, and the smallest code read has 2-pixel modules.
const MIN_PATTERN_WIDTH_PX: u32 = 10;
/// The largest of a code's three finder patterns may have modules this many times the
/// smallest's: a phone tilted hard shows its near pattern twice as large as its far one.
const MAX_MODULE_RATIO: f32 = 2.2;
/// Candidates kept for pairing into codes, the most confirmed first.
const MAX_CANDIDATES: usize = 12;

/// Every finder pattern in `bitmap`, the most confirmed first.
pub fn finder_patterns(bitmap: &Bitmap) -> Vec<FinderPattern> {
    let mut found: Vec<FinderPattern> = Vec::new();
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for y in 0..bitmap.height() {
        let row = bitmap.row(y);
        runs.clear();
        let mut start = 0;
        for x in 1..=row.len() {
            if x == row.len() || row[x] != row[start] {
                runs.push((start as u32, (x - start) as u32));
                start = x;
            }
        }
        for window in runs.windows(5) {
            let widths: [u32; 5] = std::array::from_fn(|i| window[i].1);
            if !looks_like_finder(widths) {
                continue;
            }
            let centre_run = window[2];
            let light_centre = row[centre_run.0 as usize] == 0;
            let total: u32 = widths.iter().sum();
            let centre_x = centre_run.0 as f32 + centre_run.1 as f32 / 2.0;
            if let Some(pattern) = confirm(bitmap, centre_x, y as f32, total, light_centre) {
                merge(&mut found, pattern);
            }
        }
    }
    found.sort_by_key(|p| std::cmp::Reverse(p.hits));
    found
}

/// Whether five run widths are in the ratio 1:1:3:1:1, allowing for blur and binarisation.
fn looks_like_finder(widths: [u32; 5]) -> bool {
    let total: u32 = widths.iter().sum();
    if total < MIN_PATTERN_WIDTH_PX || widths[2] < MIN_PATTERN_PX.div_ceil(2) {
        return false;
    }
    let module = total as f32 / 7.0;
    let tolerance = module * 0.7;
    widths
        .iter()
        .zip([1.0, 1.0, 3.0, 1.0, 1.0])
        .all(|(&w, expected)| (w as f32 - expected * module).abs() < expected.max(1.5) * tolerance)
}

/// Cross-checks a row hit down its column, then along its row again from the refined centre;
/// the pattern when both agree.
fn confirm(
    bitmap: &Bitmap,
    x: f32,
    y: f32,
    row_total: u32,
    light_centre: bool,
) -> Option<FinderPattern> {
    let (centre_y, column_total) = cross_check(bitmap, x, y, (0, 1), row_total, light_centre)?;
    let (centre_x, across_total) =
        cross_check(bitmap, x, centre_y, (1, 0), row_total, light_centre)?;
    let module = (row_total + column_total + across_total) as f32 / 21.0;
    Some(FinderPattern {
        x: centre_x,
        y: centre_y,
        module,
        light_centre,
        hits: 1,
    })
}

/// Walks from `(x, y)` both ways along `step`, measuring the five runs of a finder pattern;
/// returns the centre's coordinate along that direction and the runs' total.
fn cross_check(
    bitmap: &Bitmap,
    x: f32,
    y: f32,
    step: (i32, i32),
    expected_total: u32,
    light_centre: bool,
) -> Option<(f32, u32)> {
    let limit = expected_total as i32 * 2;
    let (x0, y0) = (x as i32, y as i32);
    let is_centre = |i: i32| {
        let (px, py) = (x0 + i * step.0, y0 + i * step.1);
        if px < 0 || py < 0 || px >= bitmap.width() as i32 || py >= bitmap.height() as i32 {
            return None;
        }
        Some(bitmap.is_dark(px as u32, py as u32) != light_centre)
    };
    if is_centre(0) != Some(true) {
        return None;
    }
    // Runs outward from the centre pixel: the centre's half, light ring, dark ring.
    let walk = |direction: i32| -> Option<[u32; 3]> {
        let mut counts = [0u32; 3];
        let mut i = 0;
        for (count, colour) in counts.iter_mut().zip([true, false, true]) {
            while is_centre(i)? == colour {
                *count += 1;
                i += direction;
                if *count as i32 > limit {
                    return None;
                }
            }
        }
        Some(counts)
    };
    let forward = walk(1)?;
    let backward = walk(-1)?;
    // The centre pixel was counted in both directions.
    let widths = [
        backward[2],
        backward[1],
        backward[0] + forward[0] - 1,
        forward[1],
        forward[2],
    ];
    let total: u32 = widths.iter().sum();
    if !looks_like_finder(widths) || 5 * total.abs_diff(expected_total) >= 3 * expected_total {
        return None;
    }
    let start = (if step.0 != 0 { x0 } else { y0 }) - (backward[0] as i32 - 1);
    Some((start as f32 + widths[2] as f32 / 2.0, total))
}

/// Adds a sighting to the pattern it belongs to, or as a new one.
fn merge(found: &mut Vec<FinderPattern>, new: FinderPattern) {
    let same = found.iter_mut().find(|p| {
        p.light_centre == new.light_centre
            && (p.x - new.x).abs() <= p.module.max(new.module) * 1.5
            && (p.y - new.y).abs() <= p.module.max(new.module) * 1.5
            && (p.module / new.module).max(new.module / p.module) < 1.6
    });
    match same {
        Some(pattern) => {
            let (w, total) = (pattern.hits as f32, pattern.hits as f32 + 1.0);
            pattern.x = (pattern.x * w + new.x) / total;
            pattern.y = (pattern.y * w + new.y) / total;
            pattern.module = (pattern.module * w + new.module) / total;
            pattern.hits += 1;
        }
        None => found.push(new),
    }
}

/// Triples of patterns that can be a code's three corners, the likeliest first.
pub fn code_sightings(patterns: &[FinderPattern]) -> Vec<CodeSighting> {
    let candidates = &patterns[..patterns.len().min(MAX_CANDIDATES)];
    let mut sightings: Vec<(f32, CodeSighting)> = Vec::new();
    for i in 0..candidates.len() {
        for j in i + 1..candidates.len() {
            for k in j + 1..candidates.len() {
                let triple = [candidates[i], candidates[j], candidates[k]];
                if let Some(scored) = as_code(triple) {
                    sightings.push(scored);
                }
            }
        }
    }
    sightings.sort_by(|a, b| a.0.total_cmp(&b.0));
    sightings.into_iter().map(|(_, s)| s).collect()
}

/// The three patterns as a code (corner first) and how far they are from an ideal one (lower
/// is better), or `None` when they cannot be one code.
fn as_code(triple: [FinderPattern; 3]) -> Option<(f32, CodeSighting)> {
    if triple
        .iter()
        .any(|p| p.light_centre != triple[0].light_centre)
    {
        return None;
    }
    let modules = triple.map(|p| p.module);
    let (smallest, largest) = (
        modules.into_iter().fold(f32::MAX, f32::min),
        modules.into_iter().fold(f32::MIN, f32::max),
    );
    if largest > smallest * MAX_MODULE_RATIO {
        return None;
    }
    let distance = |a: FinderPattern, b: FinderPattern| (a.x - b.x).hypot(a.y - b.y);
    // The corner pattern is the one opposite the longest side.
    let sides = [
        distance(triple[1], triple[2]),
        distance(triple[0], triple[2]),
        distance(triple[0], triple[1]),
    ];
    let corner_index = (0..3).max_by(|&a, &b| sides[a].total_cmp(&sides[b]))?;
    let corner = triple[corner_index];
    let ends = [
        triple[(corner_index + 1) % 3],
        triple[(corner_index + 2) % 3],
    ];
    let (leg_a, leg_b) = (distance(corner, ends[0]), distance(corner, ends[1]));
    let hypotenuse = sides[corner_index];
    let module = modules.iter().sum::<f32>() / 3.0;
    // Finder centres are 7 modules less than the code's side apart: 14 for version 1, 170 for
    // version 40.
    let span = leg_a.max(leg_b) / module;
    if !(10.0..=180.0).contains(&span) {
        return None;
    }
    let legs_ratio = leg_a.min(leg_b) / leg_a.max(leg_b);
    let right_angle = hypotenuse * hypotenuse / (leg_a * leg_a + leg_b * leg_b);
    // A phone tilted hard makes the corner anything from about 60° to 120° and one leg up to
    // twice the other; the misfit below still ranks the squarer triples first.
    let cosine = (leg_a * leg_a + leg_b * leg_b - hypotenuse * hypotenuse) / (2.0 * leg_a * leg_b);
    if legs_ratio < 0.5 || cosine.abs() > 0.5 {
        return None;
    }
    let misfit = (1.0 - legs_ratio)
        + (1.0 - right_angle).abs()
        + (largest / smallest - 1.0) / 2.0
        + 1.0 / triple.iter().map(|p| p.hits).sum::<u32>() as f32;
    Some((
        misfit,
        CodeSighting {
            corner,
            ends,
            module,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::preprocess::adaptive_threshold;
    use image::{GrayImage, Luma};

    /// A version-2 QR code (25 modules) of `module` pixels, top-left at `(x, y)`, in a
    /// 320×240 frame whose left part is a dark bezel-like rectangle.
    fn frame(x: u32, y: u32, module: u32, dark_mode: bool) -> GrayImage {
        let qr = qrcode::QrCode::new("MY12345678abcdEFGH").unwrap();
        let n = qr.width() as u32;
        let colors = qr.to_colors();
        GrayImage::from_fn(320, 240, |px, py| {
            let inside = px >= x && py >= y && px < x + n * module && py < y + n * module;
            let level = if inside {
                let (mx, my) = ((px - x) / module, (py - y) / module);
                let dark = colors[(my * n + mx) as usize] == qrcode::Color::Dark;
                if dark != dark_mode { 20 } else { 230 }
            } else if px < 30 {
                15
            } else if dark_mode {
                20
            } else {
                230
            };
            Luma([level])
        })
    }

    #[test]
    fn finds_the_three_patterns_of_an_off_centre_code() {
        let bitmap = adaptive_threshold(&frame(200, 120, 4, false), 20, 5);
        let patterns = finder_patterns(&bitmap);
        let sightings = code_sightings(&patterns);
        let best = sightings.first().expect("a code is seen");
        assert!((best.module - 4.0).abs() < 0.6, "{best:?}");
        // The corner pattern's centre is 3.5 modules in from the code's top-left corner.
        assert!((best.corner.x - 214.0).abs() < 2.0, "{best:?}");
        assert!((best.corner.y - 134.0).abs() < 2.0, "{best:?}");
        assert!(!best.light_on_dark());
        let region = best.region(4.0, 320, 240);
        assert!(
            region.x <= 200 && region.x + region.width >= 300,
            "{region:?}"
        );
        assert!(
            region.y <= 120 && region.y + region.height >= 220,
            "{region:?}"
        );
    }

    #[test]
    fn finds_a_dark_mode_code_by_its_light_centres() {
        let bitmap = adaptive_threshold(&frame(60, 40, 5, true), 25, 5);
        let sightings = code_sightings(&finder_patterns(&bitmap));
        assert!(sightings.first().expect("a code is seen").light_on_dark());
    }

    #[test]
    fn a_frame_without_a_code_has_no_sighting() {
        let plain = GrayImage::from_fn(320, 240, |x, _| Luma([if x < 100 { 20 } else { 220 }]));
        let bitmap = adaptive_threshold(&plain, 16, 5);
        assert!(code_sightings(&finder_patterns(&bitmap)).is_empty());
    }
}
