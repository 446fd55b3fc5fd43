//! The bitmap font used to draw text: for printers that take text as raster, and for the
//! preview of printer-font text.
//!
//! The glyphs are a subset of GNU Unifont 15 (Latin, general punctuation, arrows, box drawing,
//! CJK punctuation, Bopomofo, all CJK Unified Ideographs of the BMP, full-width forms), shipped
//! gzip-compressed in Unifont's own `.hex` format in `assets/fonts/`. Unifont draws every BMP
//! character as 8×16 or 16×16 dots, so it needs no rasteriser and renders identically on every
//! machine; it is scaled by 1.5 to the 12×24 cell of the printers' standard font so that a
//! preview wraps and aligns exactly as the printer does.

use crate::document::Bitmap;
use crate::document::text::{COLUMN_DOTS, LINE_DOTS};
use std::io::Read;
use std::sync::OnceLock;

const UNIFONT_SUBSET: &[u8] = include_bytes!("../../assets/fonts/unifont-subset.hex.gz");
const GLYPH_ROWS: usize = 16;
/// The character sizes ESC/POS knows (`GS !`): 1 to 8 times in each direction.
const MAX_SCALE: u32 = 8;
/// Dots of one scaled row: a wide glyph at the largest size, and one more for bold.
const ROW_WORDS: usize = (16 * 3 / 2 * MAX_SCALE as usize + 1).div_ceil(64);
/// Where the index holds no glyph.
const NO_GLYPH: u16 = u16::MAX;

/// One glyph: 16 rows, leftmost dot in the highest bit; 8 or 16 dots wide.
struct Glyph {
    wide: bool,
    rows: [u16; GLYPH_ROWS],
}

/// The glyphs, by character.
pub struct Font {
    glyphs: Vec<Glyph>,
    /// The glyph of each BMP code point, by position in `glyphs`: a lookup per character drawn,
    /// so an array rather than a hash.
    index: Box<[u16]>,
    /// Drawn for a character the font lacks.
    fallback: u16,
}

/// The font, loaded on first use (about 22,000 glyphs).
pub fn font() -> &'static Font {
    static FONT: OnceLock<Font> = OnceLock::new();
    FONT.get_or_init(|| Font::from_gzipped_hex(UNIFONT_SUBSET))
}

impl Font {
    fn from_gzipped_hex(data: &[u8]) -> Font {
        let mut text = String::new();
        flate2::read::GzDecoder::new(data)
            .read_to_string(&mut text)
            .expect("the shipped font is valid gzip text");
        let mut glyphs = Vec::new();
        let mut index = vec![NO_GLYPH; 0x10000].into_boxed_slice();
        for (code, glyph) in text.lines().filter_map(parse_hex_line) {
            index[code] = u16::try_from(glyphs.len()).expect("fewer glyphs than BMP code points");
            glyphs.push(glyph);
        }
        let fallback = index['?' as usize];
        assert_ne!(fallback, NO_GLYPH, "the shipped font draws '?'");
        Font {
            glyphs,
            index,
            fallback,
        }
    }

    fn glyph(&self, ch: char) -> Option<&Glyph> {
        let position = *self.index.get(ch as usize)?;
        (position != NO_GLYPH).then(|| &self.glyphs[position as usize])
    }

    pub fn has(&self, ch: char) -> bool {
        self.glyph(ch).is_some()
    }

    /// Draws `ch` into a cell at (`x`, `y`) of `columns` printer columns, scaled by the text
    /// size multipliers (taken as 1 to 8, as ESC/POS has them). A character without a glyph is
    /// drawn as `?`.
    pub fn draw(&self, bitmap: &mut Bitmap, ch: char, x: u32, y: u32, cell: CellStyle) {
        let glyph = self
            .glyph(ch)
            .unwrap_or(&self.glyphs[self.fallback as usize]);
        let width_scale = cell.width_scale.clamp(1, MAX_SCALE);
        let height_scale = cell.height_scale.clamp(1, MAX_SCALE);
        let half_width = 12 * width_scale;
        let target_width = if glyph.wide {
            2 * half_width
        } else {
            half_width
        };
        let target_height = LINE_DOTS * height_scale;
        let cell_width = cell.columns * COLUMN_DOTS * width_scale;
        let left = x + cell_width.saturating_sub(target_width) / 2;
        let words = (target_width + 1).div_ceil(64) as usize;
        // Each glyph row scaled once to the target width, 8 source dots at a time through a
        // table, then laid on every target row it covers: a word at a time, not a dot at a time.
        let stretch = &stretch_tables()[(width_scale - 1) as usize];
        let mut scaled = [[0u64; ROW_WORDS]; GLYPH_ROWS];
        for (row, dots) in glyph.rows.iter().zip(scaled.iter_mut()) {
            let [high, low] = row.to_be_bytes();
            place(dots, stretch[high as usize], 0);
            if glyph.wide {
                place(dots, stretch[low as usize], half_width);
            }
            if cell.bold {
                embolden(dots);
            }
        }
        for ty in 0..target_height {
            let row = (ty * GLYPH_ROWS as u32 / target_height) as usize;
            for (n, dots) in scaled[row][..words].iter().enumerate() {
                if *dots != 0 {
                    bitmap.set_row_dots(left + 64 * n as u32, y + ty, *dots);
                }
            }
        }
    }
}

/// One line of Unifont's `.hex` format: `CODE:BITS`, 32 hex digits for a glyph 8 dots wide, 64
/// for one 16 wide. Lines outside the BMP or not in that shape are skipped.
fn parse_hex_line(line: &str) -> Option<(usize, Glyph)> {
    let (code, bits) = line.split_once(':')?;
    let code = u16::from_str_radix(code, 16).ok()?;
    let wide = match bits.len() {
        32 => false,
        64 => true,
        _ => return None,
    };
    let digits = if wide { 4 } else { 2 };
    let mut rows = [0u16; GLYPH_ROWS];
    for (row, chunk) in rows.iter_mut().zip(bits.as_bytes().chunks(digits)) {
        let value = u16::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
        *row = if wide { value } else { value << 8 };
    }
    Some((code as usize, Glyph { wide, rows }))
}

/// For each width scale, what 8 source dots become: 12 × scale dots, source dot `sx` drawn at
/// every target dot `tx` with `tx * 8 / (12 × scale) == sx` (the scaling by 1.5 × scale the
/// printer's font has), leftmost in the highest bit. A wide glyph's right half maps the same
/// way, 12 × scale dots further right.
fn stretch_tables() -> &'static [[u128; 256]; MAX_SCALE as usize] {
    static TABLES: OnceLock<[[u128; 256]; MAX_SCALE as usize]> = OnceLock::new();
    TABLES.get_or_init(|| {
        std::array::from_fn(|scale_index| {
            let target = 12 * (scale_index as u32 + 1);
            std::array::from_fn(|byte| {
                (0..target)
                    .filter(|tx| byte & (0x80 >> (tx * 8 / target)) != 0)
                    .fold(0u128, |dots, tx| dots | 1 << (127 - tx))
            })
        })
    })
}

/// Sets in `row` (leftmost dot in the highest bit of its first word) the dots of `dots` (leftmost
/// in its highest bit) from dot `offset` on.
fn place(row: &mut [u64; ROW_WORDS], dots: u128, offset: u32) {
    let (word, shift) = ((offset / 64) as usize, offset % 64);
    let words = [(dots >> 64) as u64, dots as u64];
    for (n, part) in words.iter().enumerate() {
        row[word + n] |= part >> shift;
        if shift != 0 && word + n + 1 < ROW_WORDS {
            row[word + n + 1] |= part << (64 - shift);
        }
    }
}

/// Bold: every dot doubled one dot to the right.
fn embolden(row: &mut [u64; ROW_WORDS]) {
    for n in (0..ROW_WORDS).rev() {
        let carried = if n > 0 { row[n - 1] << 63 } else { 0 };
        row[n] |= row[n] >> 1 | carried;
    }
}

/// How one character cell is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellStyle {
    /// 1 for single-byte characters, 2 for multi-byte ones.
    pub columns: u32,
    pub width_scale: u32,
    pub height_scale: u32,
    pub bold: bool,
}

impl CellStyle {
    pub fn width_dots(&self) -> u32 {
        self.columns * COLUMN_DOTS * self.width_scale
    }

    pub fn height_dots(&self) -> u32 {
        LINE_DOTS * self.height_scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_ascii_and_traditional_chinese() {
        let font = font();
        for ch in "AZaz09?電子發票證明聯補印隨機碼賣方買方商品明細，：（）".chars()
        {
            assert!(font.has(ch), "{ch:?}");
        }
        assert!(!font.has('\u{1F600}'));
    }

    #[test]
    fn draws_each_dot_of_the_scaled_glyph() {
        // The glyph scaled dot by dot, as the printer's font is defined.
        fn by_dot(ch: char, x: u32, cell: CellStyle, bitmap: &mut Bitmap) {
            let glyph = font().glyph(ch).expect("a glyph");
            let source_width: u32 = if glyph.wide { 16 } else { 8 };
            let target_width = source_width * 3 / 2 * cell.width_scale;
            let target_height = LINE_DOTS * cell.height_scale;
            let left = x + (cell.width_dots()).saturating_sub(target_width) / 2;
            for ty in 0..target_height {
                let row = glyph.rows[(ty * GLYPH_ROWS as u32 / target_height) as usize];
                for tx in 0..target_width {
                    if row & (0x8000 >> (tx * source_width / target_width)) != 0 {
                        bitmap.set(left + tx, ty);
                        if cell.bold {
                            bitmap.set(left + tx + 1, ty);
                        }
                    }
                }
            }
        }
        // A spread over the whole font (narrow and wide glyphs, every block), and those that
        // receipts print most.
        let spread = (0..=0xFFFFu32)
            .filter_map(char::from_u32)
            .filter(|ch| font().has(*ch))
            .step_by(211);
        for ch in ['A', 'g', '@', '電', '發', '，'].into_iter().chain(spread) {
            for (scale, bold) in [(1, false), (1, true), (2, true), (3, false), (8, true)] {
                let cell = CellStyle {
                    columns: crate::document::text::char_columns(ch) as u32,
                    width_scale: scale,
                    height_scale: scale,
                    bold,
                };
                for x in [0, 5, 380] {
                    let mut drawn = Bitmap::new(400, cell.height_dots());
                    font().draw(&mut drawn, ch, x, 0, cell);
                    let mut reference = Bitmap::new(400, cell.height_dots());
                    by_dot(ch, x, cell, &mut reference);
                    assert_eq!(drawn, reference, "{ch} at {x}, scale {scale}, bold {bold}");
                }
            }
        }
    }

    #[test]
    fn draws_within_the_cell() {
        let cell = CellStyle {
            columns: 2,
            width_scale: 1,
            height_scale: 1,
            bold: false,
        };
        let mut bitmap = Bitmap::new(48, 24);
        font().draw(&mut bitmap, '一', 0, 0, cell);
        assert!(!bitmap.any_black_from_column(24));
        assert!(bitmap.any_black_from_column(0));
        let mut missing = Bitmap::new(24, 24);
        font().draw(&mut missing, '\u{1F600}', 0, 0, cell);
        let mut question = Bitmap::new(24, 24);
        font().draw(&mut question, '?', 0, 0, cell);
        assert_eq!(missing, question);
    }
}
