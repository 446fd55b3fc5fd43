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
use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

const UNIFONT_SUBSET: &[u8] = include_bytes!("../../assets/fonts/unifont-subset.hex.gz");
const GLYPH_ROWS: usize = 16;

/// One glyph: 16 rows, leftmost dot in the highest bit; 8 or 16 dots wide.
struct Glyph {
    wide: bool,
    rows: [u16; GLYPH_ROWS],
}

/// The glyphs, by character.
pub struct Font {
    glyphs: HashMap<char, Glyph>,
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
        let glyphs = text
            .lines()
            .filter_map(|line| {
                let (code, bits) = line.split_once(':')?;
                let ch = char::from_u32(u32::from_str_radix(code, 16).ok()?)?;
                let wide = bits.len() == 64;
                let digits = if wide { 4 } else { 2 };
                let mut rows = [0u16; GLYPH_ROWS];
                for (row, chunk) in rows.iter_mut().zip(bits.as_bytes().chunks(digits)) {
                    let value = u16::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
                    *row = if wide { value } else { value << 8 };
                }
                Some((ch, Glyph { wide, rows }))
            })
            .collect();
        Font { glyphs }
    }

    pub fn has(&self, ch: char) -> bool {
        self.glyphs.contains_key(&ch)
    }

    /// Draws `ch` into a cell at (`x`, `y`) of `columns` printer columns, scaled by the text
    /// size multipliers. A character without a glyph is drawn as `?`.
    pub fn draw(&self, bitmap: &mut Bitmap, ch: char, x: u32, y: u32, cell: CellStyle) {
        let Some(glyph) = self.glyphs.get(&ch).or_else(|| self.glyphs.get(&'?')) else {
            return;
        };
        let source_width: u32 = if glyph.wide { 16 } else { 8 };
        let target_width = source_width * 3 / 2 * cell.width_scale;
        let target_height = LINE_DOTS * cell.height_scale;
        let cell_width = cell.columns * COLUMN_DOTS * cell.width_scale;
        let left = x + cell_width.saturating_sub(target_width) / 2;
        // Each glyph row scaled once to the target width, in 64-dot words (leftmost dot in the
        // highest bit), then laid on every target row it covers: a word at a time, not a dot at
        // a time. A bold dot is doubled one dot to the right.
        let words = (target_width + 1).div_ceil(64) as usize;
        let mut scaled = vec![0u64; GLYPH_ROWS * words];
        for (row, dots) in glyph.rows.iter().zip(scaled.chunks_mut(words)) {
            for tx in 0..target_width {
                let sx = tx * source_width / target_width;
                if row & (0x8000 >> sx) != 0 {
                    for dot in if cell.bold { tx..tx + 2 } else { tx..tx + 1 } {
                        dots[(dot / 64) as usize] |= 1 << (63 - dot % 64);
                    }
                }
            }
        }
        for ty in 0..target_height {
            let row = (ty * GLYPH_ROWS as u32 / target_height) as usize;
            for (n, dots) in scaled[row * words..(row + 1) * words].iter().enumerate() {
                bitmap.set_row_dots(left + 64 * n as u32, y + ty, *dots);
            }
        }
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
            let glyph = &font().glyphs[&ch];
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
        for ch in ['A', 'g', '@', '電', '發', '，'] {
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
