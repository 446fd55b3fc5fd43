//! Finding where in the frame a QR code probably is.
//!
//! `rqrr` searches the whole frame for finder patterns, which costs ~15 ms on a 640×480
//! frame and gets confused by the edges of the phone and the counter behind it. A QR code is
//! the one place in the frame where dark-light transitions are dense in both directions, so
//! counting transitions per block of a thresholded frame finds it cheaply; `rqrr` then only
//! looks at that region, which can also be enlarged for codes with tiny modules.

use super::preprocess::Bitmap;

/// A rectangle of the frame, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Side of the square blocks whose transitions are counted.
const BLOCK: u32 = 16;
/// Fewer transitions than this (across rows and columns of a block) is not code texture. A
/// block of a code with 5-pixel modules has about 100; a straight edge has 16.
const MIN_TRANSITIONS: u32 = 40;
/// Blocks of margin added around a cluster, so the quiet zone and finder edges are included.
const MARGIN_BLOCKS: u32 = 1;
/// Clusters smaller than this many blocks are texture, not a code.
const MIN_BLOCKS: usize = 3;

/// The most likely code regions, largest cluster of busy blocks first, at most `limit`.
pub fn code_regions(bitmap: &Bitmap, limit: usize) -> Vec<Region> {
    let (columns, rows) = (bitmap.width() / BLOCK, bitmap.height() / BLOCK);
    let busy: Vec<bool> = (0..rows)
        .flat_map(|by| (0..columns).map(move |bx| (bx, by)))
        .map(|(bx, by)| transitions_in_block(bitmap, bx * BLOCK, by * BLOCK) >= MIN_TRANSITIONS)
        .collect();
    let mut clusters = clusters_of(&busy, columns as usize, rows as usize);
    clusters.sort_by_key(|c| std::cmp::Reverse(c.blocks));
    clusters
        .into_iter()
        .filter(|c| c.blocks >= MIN_BLOCKS)
        .take(limit)
        .map(|c| {
            let left = c.left.saturating_sub(MARGIN_BLOCKS) * BLOCK;
            let top = c.top.saturating_sub(MARGIN_BLOCKS) * BLOCK;
            let right = ((c.right + 1 + MARGIN_BLOCKS) * BLOCK).min(bitmap.width());
            let bottom = ((c.bottom + 1 + MARGIN_BLOCKS) * BLOCK).min(bitmap.height());
            Region {
                x: left,
                y: top,
                width: right - left,
                height: bottom - top,
            }
        })
        .collect()
}

/// Counts colour changes between runs of at least two pixels, along rows and columns.
/// Single-pixel specks (sensor noise near an edge, thresholded) are not code texture and
/// would otherwise merge the code's region with its surroundings.
fn transitions_in_block(bitmap: &Bitmap, x0: u32, y0: u32) -> u32 {
    let (width, height) = (bitmap.width(), bitmap.height());
    let mut count = 0;
    for y in y0..y0 + BLOCK {
        for x in (x0 + 1).max(2)..(x0 + BLOCK).min(width - 1) {
            let run_changes = |a: bool, b: bool, c: bool, d: bool| a == b && b != c && c == d;
            count += u32::from(run_changes(
                bitmap.is_dark(x - 2, y),
                bitmap.is_dark(x - 1, y),
                bitmap.is_dark(x, y),
                bitmap.is_dark(x + 1, y),
            ));
        }
    }
    for x in x0..x0 + BLOCK {
        for y in (y0 + 1).max(2)..(y0 + BLOCK).min(height - 1) {
            let run_changes = |a: bool, b: bool, c: bool, d: bool| a == b && b != c && c == d;
            count += u32::from(run_changes(
                bitmap.is_dark(x, y - 2),
                bitmap.is_dark(x, y - 1),
                bitmap.is_dark(x, y),
                bitmap.is_dark(x, y + 1),
            ));
        }
    }
    count
}

/// A group of touching busy blocks, with its bounding box in block units.
struct Cluster {
    blocks: usize,
    left: u32,
    top: u32,
    right: u32,
    bottom: u32,
}

/// Groups busy blocks that touch (including diagonally) by flood fill.
fn clusters_of(busy: &[bool], columns: usize, rows: usize) -> Vec<Cluster> {
    let mut seen = vec![false; busy.len()];
    let mut clusters = Vec::new();
    for start in 0..busy.len() {
        if !busy[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![start];
        let (x, y) = ((start % columns) as u32, (start / columns) as u32);
        let mut cluster = Cluster {
            blocks: 0,
            left: x,
            top: y,
            right: x,
            bottom: y,
        };
        while let Some(index) = stack.pop() {
            let (x, y) = (index % columns, index / columns);
            cluster.blocks += 1;
            cluster.left = cluster.left.min(x as u32);
            cluster.right = cluster.right.max(x as u32);
            cluster.top = cluster.top.min(y as u32);
            cluster.bottom = cluster.bottom.max(y as u32);
            for ny in y.saturating_sub(1)..=(y + 1).min(rows - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(columns - 1) {
                    let neighbour = ny * columns + nx;
                    if busy[neighbour] && !seen[neighbour] {
                        seen[neighbour] = true;
                        stack.push(neighbour);
                    }
                }
            }
        }
        clusters.push(cluster);
    }
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::preprocess::adaptive_threshold;
    use image::{GrayImage, Luma};

    /// A checkerboard of 4-pixel squares (code-like texture) at `(x, y)`, `side` pixels wide,
    /// on a plain frame with one large dark rectangle (an edge, not texture).
    fn frame_with_texture(x: u32, y: u32, side: u32) -> GrayImage {
        GrayImage::from_fn(320, 240, |px, py| {
            let in_texture = (x..x + side).contains(&px) && (y..y + side).contains(&py);
            let in_rectangle = (20..120).contains(&px) && (150..230).contains(&py);
            let level = if in_texture && ((px / 4) + (py / 4)) % 2 == 0 {
                20
            } else if in_rectangle {
                60
            } else {
                220
            };
            Luma([level])
        })
    }

    #[test]
    fn finds_the_textured_region_and_ignores_plain_edges() {
        let bitmap = adaptive_threshold(&frame_with_texture(160, 48, 96), 8, 10);
        let regions = code_regions(&bitmap, 3);
        assert_eq!(regions.len(), 1, "{regions:?}");
        let region = regions[0];
        assert!(
            region.x <= 160 && region.x + region.width >= 256,
            "{region:?}"
        );
        assert!(
            region.y <= 48 && region.y + region.height >= 144,
            "{region:?}"
        );
        assert!(region.width <= 96 + 4 * BLOCK, "{region:?}");
    }

    #[test]
    fn a_plain_frame_has_no_region() {
        let plain = GrayImage::from_pixel(320, 240, Luma([128]));
        assert!(code_regions(&adaptive_threshold(&plain, 8, 10), 3).is_empty());
    }
}
