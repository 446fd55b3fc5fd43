//! Pure image stages that prepare a camera frame for `rqrr`.
//!
//! `rqrr` binarises with a running average along each row, which loses small, blurred or
//! low-contrast codes and everything under glare. These stages give it cleaner input: a grey
//! frame of bounded size, stretched to full contrast, then thresholded against the mean of a
//! square window around each pixel, so a bright glare patch or a dim corner gets its own
//! threshold. Each stage is a plain function of its input, tested on its own.

use image::{DynamicImage, GrayImage};

/// Converts any decoded frame to 8-bit luminance.
pub fn grayscale(frame: &DynamicImage) -> GrayImage {
    match frame {
        DynamicImage::ImageLuma8(grey) => grey.clone(),
        other => other.to_luma8(),
    }
}

/// Shrinks `image` by the smallest whole factor that brings both sides within `max_side`,
/// averaging each block of pixels (which also smooths sensor noise). Frames that already fit
/// come back unchanged.
pub fn downscale_to_fit(image: GrayImage, max_side: u32) -> GrayImage {
    let longest = image.width().max(image.height());
    let factor = longest.div_ceil(max_side.max(1));
    if factor <= 1 {
        image
    } else {
        downscale_by(&image, factor)
    }
}

/// Averages each `factor`×`factor` block into one pixel; the partial blocks at the right and
/// bottom edges are dropped.
pub fn downscale_by(image: &GrayImage, factor: u32) -> GrayImage {
    let factor = factor.max(1);
    let (width, height) = (image.width() / factor, image.height() / factor);
    let area = factor * factor;
    let source = image.as_raw();
    let stride = image.width() as usize;
    let mut out = Vec::with_capacity((width * height) as usize);
    for by in 0..height {
        for bx in 0..width {
            let mut sum = 0u32;
            for y in by * factor..(by + 1) * factor {
                let row = y as usize * stride;
                let start = row + (bx * factor) as usize;
                sum += source[start..start + factor as usize]
                    .iter()
                    .map(|&p| u32::from(p))
                    .sum::<u32>();
            }
            out.push((sum / area) as u8);
        }
    }
    GrayImage::from_raw(width, height, out).expect("buffer sized to width × height")
}

/// Doubles both sides by bilinear interpolation, so codes with 2-pixel modules get finder
/// patterns large enough for the detector. Written out rather than a general resize: with a
/// fixed factor of 2, each new pixel sits a quarter pixel from an old one and is
/// `(3·nearest + next) / 4` along each axis.
pub fn upscale_double(image: &GrayImage) -> GrayImage {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let source = image.as_raw();
    // Horizontal pass into 16-bit sums (×4), then vertical pass (×4 again, /16 at the end).
    let mut wide = vec![0u16; 2 * width * height];
    for y in 0..height {
        let row = &source[y * width..(y + 1) * width];
        for x in 0..width {
            let here = 3 * u16::from(row[x]);
            let left = u16::from(row[x.saturating_sub(1)]);
            let right = u16::from(row[(x + 1).min(width - 1)]);
            wide[y * 2 * width + 2 * x] = here + left;
            wide[y * 2 * width + 2 * x + 1] = here + right;
        }
    }
    let stride = 2 * width;
    let mut out = vec![0u8; 4 * width * height];
    for y in 0..height {
        let (above, below) = (y.saturating_sub(1), (y + 1).min(height - 1));
        for x in 0..stride {
            let here = 3 * wide[y * stride + x];
            out[2 * y * stride + x] = ((here + wide[above * stride + x] + 8) / 16) as u8;
            out[(2 * y + 1) * stride + x] = ((here + wide[below * stride + x] + 8) / 16) as u8;
        }
    }
    GrayImage::from_raw(2 * width as u32, 2 * height as u32, out).expect("buffer sized 2w × 2h")
}

/// Stretches the grey levels so the darkest `CLIP` of pixels become black and the brightest
/// `CLIP` become white. A low-contrast screen (grey on grey) then spans the full range.
pub fn stretch_contrast(image: &GrayImage) -> GrayImage {
    const CLIP: f32 = 0.01;
    let mut histogram = [0u32; 256];
    for &p in image.as_raw() {
        histogram[usize::from(p)] += 1;
    }
    let clip_count = (image.as_raw().len() as f32 * CLIP) as u32;
    let low = percentile_from_low(&histogram, clip_count);
    let high = 255 - percentile_from_low(&reversed(&histogram), clip_count);
    if high <= low {
        return image.clone();
    }
    let span = u32::from(high - low);
    let mut lookup = [0u8; 256];
    for (level, out) in lookup.iter_mut().enumerate() {
        let clamped = (level as u32).clamp(u32::from(low), u32::from(high));
        *out = ((clamped - u32::from(low)) * 255 / span) as u8;
    }
    let pixels = image
        .as_raw()
        .iter()
        .map(|&p| lookup[usize::from(p)])
        .collect();
    GrayImage::from_raw(image.width(), image.height(), pixels).expect("same size as the input")
}

fn percentile_from_low(histogram: &[u32; 256], count: u32) -> u8 {
    let mut seen = 0;
    for (level, &n) in histogram.iter().enumerate() {
        seen += n;
        if seen > count {
            return level as u8;
        }
    }
    255
}

fn reversed(histogram: &[u32; 256]) -> [u32; 256] {
    let mut out = *histogram;
    out.reverse();
    out
}

/// Mean grey level, used to guess whether the screen is in dark mode.
pub fn mean_level(image: &GrayImage) -> u8 {
    let pixels = image.as_raw();
    if pixels.is_empty() {
        return 0;
    }
    let sum: u64 = pixels.iter().map(|&p| u64::from(p)).sum();
    (sum / pixels.len() as u64) as u8
}

/// A black-and-white image, stored the way `rqrr` wants a binarised frame: 1 is dark, 0 light.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap(GrayImage);

impl Bitmap {
    const DARK: u8 = 1;

    pub fn width(&self) -> u32 {
        self.0.width()
    }

    pub fn height(&self) -> u32 {
        self.0.height()
    }

    pub fn is_dark(&self, x: u32, y: u32) -> bool {
        self.0.get_pixel(x, y)[0] == Self::DARK
    }

    /// The part of the bitmap inside `region`.
    pub fn crop(&self, region: &super::locate::Region) -> Self {
        Self(
            image::imageops::crop_imm(&self.0, region.x, region.y, region.width, region.height)
                .to_image(),
        )
    }

    /// Row `y`, one byte a pixel, non-zero for dark.
    pub fn row(&self, y: u32) -> &[u8] {
        let width = self.0.width() as usize;
        &self.0.as_raw()[y as usize * width..(y as usize + 1) * width]
    }

    /// Swaps dark and light: a dark-mode screen shows light modules on a dark background,
    /// which the detector only finds once inverted.
    pub fn inverted(&self) -> Self {
        let mut flipped = self.0.clone();
        for pixel in flipped.iter_mut() {
            *pixel ^= Self::DARK;
        }
        Self(flipped)
    }

    /// Hands the bitmap to `rqrr` as an already binarised image.
    pub fn to_prepared(&self) -> rqrr::PreparedImage<GrayImage> {
        rqrr::PreparedImage::without_preparation(self.0.clone())
    }
}

/// Marks a pixel dark when it is darker than the mean of the `(2·radius+1)²` window around it
/// by more than `bias` grey levels. The bias keeps flat areas (sensor noise on a white screen)
/// from turning into speckle.
pub fn adaptive_threshold(image: &GrayImage, radius: u32, bias: u8) -> Bitmap {
    let bits = map_windows(image, radius, |pixel, sum, area| {
        u8::from((u64::from(pixel) + u64::from(bias)) * area < sum)
    });
    Bitmap(GrayImage::from_raw(image.width(), image.height(), bits).expect("one bit per pixel"))
}

/// Each pixel replaced by the mean of the `(2·radius+1)²` window around it (clipped at the
/// edges): noise and JPEG blocks smaller than a module average out.
pub fn box_mean(image: &GrayImage, radius: u32) -> GrayImage {
    let out = map_windows(image, radius, |_, sum, area| (sum / area) as u8);
    GrayImage::from_raw(image.width(), image.height(), out).expect("one byte per pixel")
}

/// One byte per pixel, from the pixel, the sum of the `(2·radius+1)²` window around it (clipped
/// at the edges) and that window's area, read off the integral image in four lookups.
fn map_windows(
    image: &GrayImage,
    radius: u32,
    mut byte: impl FnMut(u8, u64, u64) -> u8,
) -> Vec<u8> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let integral = integral_image(image);
    let radius = radius as usize;
    let stride = width + 1;
    let pixels = image.as_raw();
    let mut out = Vec::with_capacity(width * height);
    for y in 0..height {
        let (top, bottom) = (y.saturating_sub(radius), (y + radius + 1).min(height));
        for x in 0..width {
            let (left, right) = (x.saturating_sub(radius), (x + radius + 1).min(width));
            let sum = integral[bottom * stride + right] + integral[top * stride + left]
                - integral[top * stride + right]
                - integral[bottom * stride + left];
            let area = ((bottom - top) * (right - left)) as u64;
            out.push(byte(pixels[y * width + x], sum, area));
        }
    }
    out
}

/// Side of the blocks [`block_threshold`] measures, in pixels.
const BLOCK: usize = 8;
/// Blocks whose darkest and brightest pixels differ by less than this are flat.
const FLAT_RANGE: u8 = 24;

/// The grey levels of one block of the two block binarisations.
struct BlockLevels {
    sum: u32,
    count: u32,
    low: u8,
    high: u8,
}

/// Block (`bx`, `by`) of `BLOCK`×`BLOCK` pixels; the last row and column of blocks are moved
/// inwards to stay whole, overlapping their neighbours, when the image is not a multiple of it.
fn block_levels(pixels: &[u8], width: usize, height: usize, bx: usize, by: usize) -> BlockLevels {
    let y0 = (by * BLOCK).min(height - BLOCK.min(height));
    let x0 = (bx * BLOCK).min(width - BLOCK.min(width));
    let (y1, x1) = ((y0 + BLOCK).min(height), (x0 + BLOCK).min(width));
    let mut levels = BlockLevels {
        sum: 0,
        count: ((y1 - y0) * (x1 - x0)) as u32,
        low: u8::MAX,
        high: u8::MIN,
    };
    for y in y0..y1 {
        for &p in &pixels[y * width + x0..y * width + x1] {
            levels.sum += u32::from(p);
            levels.low = levels.low.min(p);
            levels.high = levels.high.max(p);
        }
    }
    levels
}

/// Marks a pixel dark when it is at or below the mean of the black points of the 5×5 blocks
/// of 8×8 pixels around its own: ZXing's hybrid binarizer. A flat block (inside a large dark
/// module, or plain screen) borrows its neighbours' black point instead of its own mean, so the
/// inside of a finder pattern with 8-pixel modules stays dark where a plain mean threshold
/// would hollow it out; a glare patch still gets its own, higher threshold.
pub fn block_threshold(image: &GrayImage) -> Bitmap {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let (columns, rows) = (width.div_ceil(BLOCK), height.div_ceil(BLOCK));
    let pixels = image.as_raw();
    let mut black_points = vec![0u8; columns * rows];
    for by in 0..rows {
        for bx in 0..columns {
            let BlockLevels {
                sum,
                count,
                low,
                high,
            } = block_levels(pixels, width, height, bx, by);
            let mut point = (sum / count) as u8;
            if high - low <= FLAT_RANGE {
                point = low / 2;
                if bx > 0 && by > 0 {
                    let above = u16::from(black_points[(by - 1) * columns + bx]);
                    let left = u16::from(black_points[by * columns + bx - 1]);
                    let diagonal = u16::from(black_points[(by - 1) * columns + bx - 1]);
                    let neighbours = ((above + 2 * left + diagonal) / 4) as u8;
                    if low < neighbours {
                        point = neighbours;
                    }
                }
            }
            black_points[by * columns + bx] = point;
        }
    }
    let mut bits = vec![0u8; width * height];
    for by in 0..rows {
        for bx in 0..columns {
            let (mut sum, mut count) = (0u32, 0u32);
            for ny in by.saturating_sub(2)..(by + 3).min(rows) {
                for nx in bx.saturating_sub(2)..(bx + 3).min(columns) {
                    sum += u32::from(black_points[ny * columns + nx]);
                    count += 1;
                }
            }
            let threshold = (sum / count) as u8;
            for y in by * BLOCK..((by + 1) * BLOCK).min(height) {
                for x in bx * BLOCK..((bx + 1) * BLOCK).min(width) {
                    bits[y * width + x] = u8::from(pixels[y * width + x] <= threshold);
                }
            }
        }
    }
    Bitmap(GrayImage::from_raw(image.width(), image.height(), bits).expect("one bit per pixel"))
}

/// Marks a pixel dark when it is at or below the threshold of its 8×8 block: the midpoint of
/// the darkest and brightest pixels of the blocks around it that hold an edge (a span of more
/// than `FLAT_RANGE`, 24 levels), averaged over their 5×5 neighbourhood. A flat block (plain screen,
/// the inside of a large module) has no threshold of its own and takes its neighbours'; a
/// region with no edge at all takes the nearest one before it in reading order. Unlike
/// [`block_threshold`], flat blocks do not pull the threshold down towards black, so a screen
/// turned down (its dark and light modules 30 grey levels apart, far from black) keeps its
/// modules apart.
pub fn midpoint_threshold(image: &GrayImage) -> Bitmap {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let (columns, rows) = (width.div_ceil(BLOCK), height.div_ceil(BLOCK));
    let pixels = image.as_raw();
    // 0 marks a flat block; a midpoint is at least half the range, so never 0 itself.
    let mut midpoints = vec![0u8; columns * rows];
    for by in 0..rows {
        for bx in 0..columns {
            let BlockLevels { low, high, .. } = block_levels(pixels, width, height, bx, by);
            if high - low > FLAT_RANGE {
                midpoints[by * columns + bx] = ((u16::from(low) + u16::from(high)) / 2) as u8;
            }
        }
    }
    let mut thresholds = vec![0u8; columns * rows];
    for by in 0..rows {
        for bx in 0..columns {
            let (mut sum, mut count) = (0u32, 0u32);
            for ny in by.saturating_sub(2)..(by + 3).min(rows) {
                for nx in bx.saturating_sub(2)..(bx + 3).min(columns) {
                    let point = midpoints[ny * columns + nx];
                    if point > 0 {
                        sum += u32::from(point);
                        count += 1;
                    }
                }
            }
            if let Some(mean) = sum.checked_div(count) {
                thresholds[by * columns + bx] = mean as u8;
            }
        }
    }
    let Some(first) = thresholds.iter().copied().find(|&t| t > 0) else {
        return Bitmap(GrayImage::new(image.width(), image.height()));
    };
    let mut last = first;
    for threshold in &mut thresholds {
        if *threshold == 0 {
            *threshold = last;
        } else {
            last = *threshold;
        }
    }
    let mut bits = vec![0u8; width * height];
    for y in 0..height {
        let block_row = &thresholds[(y / BLOCK) * columns..(y / BLOCK + 1) * columns];
        for (x, (bit, &p)) in bits[y * width..(y + 1) * width]
            .iter_mut()
            .zip(&pixels[y * width..(y + 1) * width])
            .enumerate()
        {
            *bit = u8::from(p <= block_row[x / BLOCK]);
        }
    }
    Bitmap(GrayImage::from_raw(image.width(), image.height(), bits).expect("one bit per pixel"))
}

/// Summed-area table with a zero row and column in front: entry `(x, y)` is the sum of all
/// pixels above and left of `(x, y)`.
fn integral_image(image: &GrayImage) -> Vec<u64> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let stride = width + 1;
    let pixels = image.as_raw();
    let mut integral = vec![0u64; stride * (height + 1)];
    for y in 0..height {
        let mut row_sum = 0u64;
        for x in 0..width {
            row_sum += u64::from(pixels[y * width + x]);
            integral[(y + 1) * stride + x + 1] = integral[y * stride + x + 1] + row_sum;
        }
    }
    integral
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgb, RgbImage};

    fn filled(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> GrayImage {
        GrayImage::from_fn(width, height, |x, y| Luma([f(x, y)]))
    }

    #[test]
    fn grayscale_uses_luminance_weights() {
        let mut rgb = RgbImage::new(2, 1);
        rgb.put_pixel(0, 0, Rgb([255, 0, 0]));
        rgb.put_pixel(1, 0, Rgb([0, 255, 0]));
        let grey = grayscale(&DynamicImage::ImageRgb8(rgb));
        assert!(
            grey.get_pixel(1, 0)[0] > grey.get_pixel(0, 0)[0],
            "green is brighter"
        );
    }

    #[test]
    fn downscale_averages_blocks_and_keeps_small_frames() {
        let image = filled(4, 2, |x, _| if x < 2 { 0 } else { 200 });
        let half = downscale_by(&image, 2);
        assert_eq!((half.width(), half.height()), (2, 1));
        assert_eq!(half.as_raw(), &[0, 200]);

        let large = filled(1920, 1080, |_, _| 7);
        let fitted = downscale_to_fit(large, 800);
        assert_eq!((fitted.width(), fitted.height()), (640, 360));
        let small = filled(640, 480, |_, _| 7);
        assert_eq!(downscale_to_fit(small.clone(), 800), small);
    }

    #[test]
    fn upscale_doubles_both_sides_and_interpolates() {
        let image = filled(3, 2, |x, y| (x * 100 + y * 40) as u8);
        let doubled = upscale_double(&image);
        assert_eq!((doubled.width(), doubled.height()), (6, 4));
        // Same as the general bilinear resize, at a fraction of its cost.
        let reference =
            image::imageops::resize(&image, 6, 4, image::imageops::FilterType::Triangle);
        for (ours, theirs) in doubled.as_raw().iter().zip(reference.as_raw()) {
            assert!(ours.abs_diff(*theirs) <= 1, "{doubled:?} vs {reference:?}");
        }
        assert_eq!(
            doubled.get_pixel(1, 0)[0],
            25,
            "a quarter of the way to the next pixel"
        );
        assert_eq!(doubled.get_pixel(0, 0)[0], 0, "edges repeat the last pixel");
    }

    #[test]
    fn box_mean_averages_the_window() {
        let image = filled(5, 1, |x, _| if x == 2 { 90 } else { 0 });
        let mean = box_mean(&image, 1);
        assert_eq!(mean.as_raw(), &[0, 30, 30, 30, 0]);
        assert_eq!(box_mean(&image, 0), image);
    }

    #[test]
    fn contrast_stretch_spans_full_range() {
        let image = filled(100, 100, |x, _| if x < 50 { 110 } else { 140 });
        let stretched = stretch_contrast(&image);
        assert_eq!(stretched.get_pixel(0, 0)[0], 0);
        assert_eq!(stretched.get_pixel(99, 0)[0], 255);
    }

    #[test]
    fn contrast_stretch_leaves_flat_images_alone() {
        let image = filled(10, 10, |_, _| 90);
        assert_eq!(stretch_contrast(&image), image);
    }

    #[test]
    fn adaptive_threshold_follows_local_brightness() {
        // A dark square on the left of a dim half and one on the right of a bright half: a
        // single global threshold cannot separate both, a local one can.
        let image = filled(80, 40, |x, y| {
            let in_square =
                (15..25).contains(&y) && ((10..20).contains(&x) || (50..60).contains(&x));
            match (x < 40, in_square) {
                (true, true) => 20,
                (true, false) => 70,
                (false, true) => 150,
                (false, false) => 240,
            }
        });
        let bitmap = adaptive_threshold(&image, 8, 10);
        assert!(bitmap.is_dark(15, 20));
        assert!(bitmap.is_dark(55, 20));
        assert!(!bitmap.is_dark(5, 5));
        assert!(!bitmap.is_dark(70, 35));
    }

    #[test]
    fn midpoint_threshold_keeps_a_dim_screens_modules_apart() {
        // Modules of 6 pixels, 110 and 145 grey levels, inside a wide flat screen of 145: the
        // hybrid black point lets the flat blocks pull the threshold towards black and loses
        // the dark modules; the midpoint of the edges keeps them.
        let image = filled(96, 96, |x, y| {
            let inside = (24..72).contains(&x) && (24..72).contains(&y);
            if inside && (x / 6 + y / 6) % 2 == 0 {
                110
            } else {
                145
            }
        });
        let bitmap = midpoint_threshold(&image);
        for (x, y) in [(26, 26), (38, 26), (50, 62), (69, 69)] {
            assert!(bitmap.is_dark(x, y), "dark module at ({x}, {y})");
        }
        for (x, y) in [(32, 26), (26, 32), (5, 5), (90, 50)] {
            assert!(!bitmap.is_dark(x, y), "light at ({x}, {y})");
        }
        let flat = midpoint_threshold(&filled(40, 40, |_, _| 90));
        assert!((0..40).all(|y| (0..40).all(|x| !flat.is_dark(x, y))));
    }

    #[test]
    fn adaptive_threshold_ignores_flat_noise() {
        let image = filled(40, 40, |x, y| 200 + ((x * 7 + y * 13) % 5) as u8);
        let bitmap = adaptive_threshold(&image, 5, 8);
        assert!((0..40).all(|y| (0..40).all(|x| !bitmap.is_dark(x, y))));
    }

    #[test]
    fn inversion_swaps_every_pixel() {
        let image = filled(20, 20, |x, _| if x < 10 { 0 } else { 255 });
        let bitmap = adaptive_threshold(&image, 3, 5);
        let inverted = bitmap.inverted();
        for (x, y) in [(9, 5), (10, 5), (0, 0), (19, 19)] {
            assert_ne!(bitmap.is_dark(x, y), inverted.is_dark(x, y));
        }
    }

    #[test]
    fn mean_level_tells_dark_from_light() {
        assert_eq!(mean_level(&filled(4, 4, |_, _| 30)), 30);
        assert_eq!(
            mean_level(&filled(4, 4, |x, _| if x < 2 { 0 } else { 200 })),
            100
        );
    }
}
