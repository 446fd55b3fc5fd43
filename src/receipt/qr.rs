//! The e-invoice's two QR codes, side by side in one raster.
//!
//! The MoF asks for two codes of the same size, tops aligned, each at least 1.5 cm (120 dots at
//! 8 dots/mm) with a quiet zone of at least 0.2 cm, the left one version 6 or higher at error
//! correction L or higher. Both are drawn here at one version and one module size and sent as a
//! single image: native `GS ( k` prints one code per line on most printers.
//!
//! The texts are encoded in byte mode only. The `qrcode` crate's automatic segmentation would
//! put byte pairs that look like Shift JIS into Kanji mode, and UTF-8 CJK often does: a reader
//! would then get Shift JIS text back instead of the gateway's UTF-8 bytes.

use crate::document::Bitmap;
use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel, Version};

/// The smallest version the left code may have.
const MIN_VERSION: i16 = 6;
/// The smallest printed side of a code, in dots (1.5 cm at 8 dots/mm).
pub const MIN_SIDE_DOTS: u32 = 120;
/// The smallest quiet zone around and between the codes, in dots.
pub const QUIET_DOTS: u32 = 16;

/// Why the pair could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("{side} QR text ({len} bytes) is too long for a QR code")]
    TooLong { side: &'static str, len: usize },
    #[error(
        "QR codes of version {version} print {side} dots wide in {width} dots, under the {MIN_SIDE_DOTS}-dot minimum (texts of {left} and {right} bytes)"
    )]
    TooDense {
        version: i16,
        side: u32,
        width: u32,
        left: usize,
        right: usize,
    },
}

/// What was drawn, for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrGeometry {
    pub version: i16,
    pub ec_level: EcLevel,
    pub module_dots: u32,
    pub side_dots: u32,
    pub left_x: u32,
    pub right_x: u32,
}

/// Draws both codes, byte for byte from the texts, within `width` dots.
pub fn draw_pair(left: &[u8], right: &[u8], width: u32) -> Result<(Bitmap, QrGeometry), QrError> {
    let smallest = |data: &[u8], side| {
        (1..=40)
            .find(|version| byte_mode(data, *version, EcLevel::L).is_some())
            .ok_or(QrError::TooLong {
                side,
                len: data.len(),
            })
    };
    let version = smallest(left, "left")?
        .max(smallest(right, "right")?)
        .max(MIN_VERSION);
    // Thermal paper smudges: take the strongest error correction both texts allow at this size.
    let (ec_level, left_bits, right_bits) = [EcLevel::H, EcLevel::Q, EcLevel::M, EcLevel::L]
        .into_iter()
        .find_map(|level| {
            let left = byte_mode(left, version, level)?;
            let right = byte_mode(right, version, level)?;
            Some((level, left, right))
        })
        .expect("both texts fit at error correction L at the version chosen for L");
    let left_code = Modules::new(left_bits, ec_level);
    let right_code = Modules::new(right_bits, ec_level);

    let modules = left_code.width as u32;
    let module_dots = (width.saturating_sub(3 * QUIET_DOTS)) / (2 * modules);
    let side_dots = modules * module_dots;
    if side_dots < MIN_SIDE_DOTS {
        return Err(QrError::TooDense {
            version,
            side: side_dots,
            width,
            left: left.len(),
            right: right.len(),
        });
    }
    let gap = (width - 2 * side_dots) / 3;
    let geometry = QrGeometry {
        version,
        ec_level,
        module_dots,
        side_dots,
        left_x: gap,
        right_x: width - gap - side_dots,
    };
    let mut bitmap = Bitmap::new(width, side_dots + 2 * QUIET_DOTS);
    for (code, x) in [
        (&left_code, geometry.left_x),
        (&right_code, geometry.right_x),
    ] {
        draw_code(&mut bitmap, code, x, QUIET_DOTS, module_dots);
    }
    Ok((bitmap, geometry))
}

/// The largest module drawn for a code printed alone: 1 mm at 8 dots/mm, big enough for any
/// phone camera without spending paper on it.
const MAX_MODULE_DOTS: u32 = 8;

/// Draws one code, byte for byte from `data`, at the smallest version that carries it (and the
/// strongest error correction that version allows), with its quiet zone, at most `width` dots
/// wide.
pub fn draw_one(data: &[u8], width: u32) -> Result<(Bitmap, QrGeometry), QrError> {
    let too_long = || QrError::TooLong {
        side: "link",
        len: data.len(),
    };
    let version = (1..=40)
        .find(|version| byte_mode(data, *version, EcLevel::L).is_some())
        .ok_or_else(too_long)?;
    let (ec_level, bits) = [EcLevel::H, EcLevel::Q, EcLevel::M, EcLevel::L]
        .into_iter()
        .find_map(|level| Some((level, byte_mode(data, version, level)?)))
        .ok_or_else(too_long)?;
    let code = Modules::new(bits, ec_level);
    let modules = code.width as u32;
    let module_dots = (width.saturating_sub(2 * QUIET_DOTS) / modules).min(MAX_MODULE_DOTS);
    if module_dots == 0 {
        return Err(QrError::TooDense {
            version,
            side: 0,
            width,
            left: data.len(),
            right: 0,
        });
    }
    let side_dots = modules * module_dots;
    let geometry = QrGeometry {
        version,
        ec_level,
        module_dots,
        side_dots,
        left_x: QUIET_DOTS,
        right_x: QUIET_DOTS,
    };
    let mut bitmap = Bitmap::new(side_dots + 2 * QUIET_DOTS, side_dots + 2 * QUIET_DOTS);
    draw_code(&mut bitmap, &code, QUIET_DOTS, QUIET_DOTS, module_dots);
    Ok((bitmap, geometry))
}

/// `data` as one byte-mode segment, if it fits `version` at `level`. Only the bits: whether a
/// text fits is asked of several versions and levels, and only the one chosen is drawn.
fn byte_mode(data: &[u8], version: i16, level: EcLevel) -> Option<Bits> {
    let mut bits = Bits::new(Version::Normal(version));
    bits.push_byte_data(data).ok()?;
    bits.push_terminator(level).ok()?;
    Some(bits)
}

/// A drawn code: `width` × `width` modules, row by row, `true` dark.
struct Modules {
    width: usize,
    dark: Vec<bool>,
}

/// The eight masks of a (non-micro) QR code, in the order of their numbers.
const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

impl Modules {
    /// The code of `bits` (made by [`byte_mode`], so they fit) with the mask `qrcode`'s own
    /// `QrCode::with_bits` would choose: the first of the lowest penalty. The crate scores each
    /// mask through a boxed closure per module and position, which made this choice most of a
    /// receipt's layout time; [`penalty`] scores the same rules on a plain grid.
    fn new(bits: Bits, level: EcLevel) -> Modules {
        let version = bits.version();
        let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, level)
            .expect("bits that fit their version have codewords");
        let mut unmasked = Canvas::new(version, level);
        unmasked.draw_all_functional_patterns();
        unmasked.draw_data(&data, &ec);
        let width = version.width() as usize;
        MASKS
            .iter()
            .map(|mask| {
                let mut canvas = unmasked.clone();
                canvas.apply_mask(*mask);
                let dark = canvas
                    .into_colors()
                    .into_iter()
                    .map(|color| color == Color::Dark)
                    .collect();
                Modules { width, dark }
            })
            .min_by_key(penalty)
            .expect("eight masks")
    }
}

/// ISO/IEC 18004's mask penalty (rules N1 to N4) exactly as `qrcode` 0.14 computes it, so the
/// mask chosen, and so every module printed, is the crate's: runs of five or more modules of one
/// colour in a row or column, 2×2 blocks of one colour, finder-like `#.###.#` runs without four
/// light modules on one side (less the 360 the three finder patterns always score), and the
/// dark/light balance.
fn penalty(code: &Modules) -> u16 {
    let width = code.width;
    let at = |x: usize, y: usize| code.dark[y * width + x];
    let mut score: u16 = 0;
    for horizontal in [true, false] {
        let line = |i: usize, j: usize| if horizontal { at(j, i) } else { at(i, j) };
        for i in 0..width {
            let mut run = 1;
            for j in 1..=width {
                if j < width && line(i, j) == line(i, j - 1) {
                    run += 1;
                } else {
                    if run >= 5 {
                        score = score.wrapping_add(run - 2);
                    }
                    run = 1;
                }
            }
        }
    }
    for y in 0..width - 1 {
        for x in 0..width - 1 {
            let this = at(x, y);
            if this == at(x + 1, y) && this == at(x, y + 1) && this == at(x + 1, y + 1) {
                score = score.wrapping_add(3);
            }
        }
    }
    const FINDER: [bool; 7] = [true, false, true, true, true, false, true];
    for horizontal in [true, false] {
        let line = |i: usize, k: usize| if horizontal { at(k, i) } else { at(i, k) };
        let mut finder_score: u16 = 0;
        for i in 0..width {
            for j in 0..width - 6 {
                if (0..7).any(|k| line(i, j + k) != FINDER[k]) {
                    continue;
                }
                let dark_before = (j.saturating_sub(4)..j).any(|k| line(i, k));
                let dark_after = (j + 7..(j + 11).min(width)).any(|k| line(i, k));
                if !dark_before || !dark_after {
                    finder_score = finder_score.wrapping_add(40);
                }
            }
        }
        score = score.wrapping_add(finder_score.wrapping_sub(360));
    }
    let dark = code.dark.iter().filter(|dark| **dark).count();
    let ratio = dark * 200 / code.dark.len();
    score.wrapping_add(ratio.abs_diff(100) as u16)
}

fn draw_code(bitmap: &mut Bitmap, code: &Modules, x: u32, y: u32, module_dots: u32) {
    let modules = code.width as u32;
    for (index, dark) in code.dark.iter().enumerate() {
        if *dark {
            let (column, row) = (index as u32 % modules, index as u32 / modules);
            bitmap.fill(
                x + column * module_dots,
                y + row * module_dots,
                module_dots,
                module_dots,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_still_get_version_6_at_the_minimum_size() {
        let (bitmap, geometry) = draw_pair(b"left", b"**", 384).unwrap();
        assert_eq!(geometry.version, 6);
        assert_eq!(geometry.ec_level, EcLevel::H);
        assert!(geometry.side_dots >= MIN_SIDE_DOTS);
        assert!(geometry.left_x >= QUIET_DOTS);
        assert!(geometry.right_x - (geometry.left_x + geometry.side_dots) >= QUIET_DOTS);
        assert!(geometry.right_x + geometry.side_dots + QUIET_DOTS <= 384);
        assert_eq!(bitmap.width(), 384);
    }

    #[test]
    fn a_code_alone_takes_the_smallest_version_and_keeps_its_quiet_zone() {
        let link =
            b"https://ocp.simulator.invalid/open/0123456789abcdef0123456789abcdef?cmd=api/ewallet";
        let (bitmap, geometry) = draw_one(link, 384).unwrap();
        let smallest = (1..=40)
            .find(|v| byte_mode(link, *v, EcLevel::L).is_some())
            .unwrap();
        assert_eq!(geometry.version, smallest);
        assert_eq!(geometry.module_dots, MAX_MODULE_DOTS);
        assert_eq!(bitmap.width(), geometry.side_dots + 2 * QUIET_DOTS);
        assert!(bitmap.width() <= 384);
        let long = vec![b'x'; 1500];
        let (bitmap, geometry) = draw_one(&long, 384).unwrap();
        assert!(bitmap.width() <= 384 && geometry.module_dots >= 1);
        assert!(matches!(
            draw_one(&vec![b'x'; 3000], 384),
            Err(QrError::TooLong { .. })
        ));
    }

    #[test]
    fn the_mask_chosen_is_the_one_qrcode_chooses() {
        // Texts of every length a receipt prints, at each version and level they fit.
        for len in (0..=300).step_by(7) {
            let text: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            for version in [1, 2, 6, 7, 9, 10] {
                for level in [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H] {
                    let Some(bits) = byte_mode(&text, version, level) else {
                        continue;
                    };
                    let ours = Modules::new(bits, level);
                    let theirs =
                        qrcode::QrCode::with_bits(byte_mode(&text, version, level).unwrap(), level)
                            .unwrap();
                    assert_eq!(ours.width, theirs.width());
                    let dark: Vec<bool> = theirs
                        .to_colors()
                        .iter()
                        .map(|c| *c == Color::Dark)
                        .collect();
                    assert!(
                        ours.dark == dark,
                        "{len} bytes, version {version}, {level:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn full_texts_print_at_version_9_and_overlong_ones_are_refused() {
        let full = vec![b'x'; crate::einvoice::QR_TEXT_CAPACITY];
        let (_, geometry) = draw_pair(&full, b"**", 384).unwrap();
        assert_eq!((geometry.version, geometry.module_dots), (9, 3));
        let over = vec![b'x'; 600];
        assert!(matches!(
            draw_pair(b"left", &over, 384),
            Err(QrError::TooDense { .. })
        ));
    }
}
