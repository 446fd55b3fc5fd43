//! The e-invoice's Code 39 barcode, drawn as a raster.
//!
//! The 19-character text with its start/stop `*` is 21 symbols of 16 modules (narrow = 1 module,
//! wide = 3, one narrow gap between symbols): 335 modules. At a 2-dot module that is 670 dots,
//! wider than any receipt; so the barcode is drawn here with the widest whole-dot module that
//! fits the paper, 1 dot on both 58 mm and 80 mm, and sent as an image.

use crate::document::Bitmap;

const ALPHABET: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%*";

/// Wide/narrow patterns of the nine elements (bar, space, bar, … bar), first element in the
/// highest of the nine bits, 1 = wide; in `ALPHABET` order.
const PATTERNS: [u16; 44] = [
    0x034, 0x121, 0x061, 0x160, 0x031, 0x130, 0x070, 0x025, 0x124, 0x064, // 0-9
    0x109, 0x049, 0x148, 0x019, 0x118, 0x058, 0x00D, 0x10C, 0x04C, 0x01C, // A-J
    0x103, 0x043, 0x142, 0x013, 0x112, 0x052, 0x007, 0x106, 0x046, 0x016, // K-T
    0x181, 0x0C1, 0x1C0, 0x091, 0x190, 0x0D0, 0x085, 0x184, 0x0C4, 0x0A8, // U-$
    0x0A2, 0x08A, 0x02A, 0x094, // / + % *
];

/// Wide elements are three narrow ones: the ratio readers tolerate best.
const WIDE: u32 = 3;
/// Modules per symbol: six narrow and three wide elements, plus the gap after it.
const MODULES_PER_SYMBOL: u32 = 6 + 3 * WIDE + 1;
/// The quiet zone on each side, in modules (the symbology asks for at least 10).
const QUIET_MODULES: u32 = 10;

/// Why a barcode could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Code39Error {
    #[error("Code 39 text {text:?}: {ch:?} is not a Code 39 character")]
    Character { text: String, ch: char },
    #[error(
        "Code 39 text {text:?} needs {needed} dots at a 1-dot module, wider than the {width}-dot paper"
    )]
    TooWide {
        text: String,
        needed: u32,
        width: u32,
    },
}

/// Width in dots of the barcode for `symbols` data characters at `module` dots, quiet zones
/// included.
pub fn width_dots(symbols: usize, module: u32) -> u32 {
    let all = symbols as u32 + 2;
    module * (all * MODULES_PER_SYMBOL - 1 + 2 * QUIET_MODULES)
}

/// Draws `text` as Code 39 with the widest module that fits `max_width` dots.
pub fn draw(text: &str, max_width: u32, height: u32) -> Result<Bitmap, Code39Error> {
    let symbols = text
        .chars()
        .map(|ch| {
            ALPHABET
                .find(ch)
                .filter(|_| ch != '*')
                .map(|index| PATTERNS[index])
                .ok_or_else(|| Code39Error::Character {
                    text: text.to_owned(),
                    ch,
                })
        })
        .collect::<Result<Vec<u16>, _>>()?;
    let count = symbols.len();
    let module = (1..=6)
        .rev()
        .find(|module| width_dots(count, *module) <= max_width)
        .ok_or(Code39Error::TooWide {
            text: text.to_owned(),
            needed: width_dots(count, 1),
            width: max_width,
        })?;

    let mut bitmap = Bitmap::new(width_dots(count, module), height);
    let star = PATTERNS[PATTERNS.len() - 1];
    let mut x = QUIET_MODULES * module;
    for pattern in std::iter::once(star)
        .chain(symbols)
        .chain(std::iter::once(star))
    {
        for element in 0..9 {
            let wide = pattern & (1 << (8 - element)) != 0;
            let element_width = module * if wide { WIDE } else { 1 };
            if element % 2 == 0 {
                bitmap.fill(x, 0, element_width, height);
            }
            x += element_width;
        }
        x += module;
    }
    Ok(bitmap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invoice_barcode_fits_58mm_at_one_dot() {
        assert_eq!(width_dots(19, 1), 355);
        assert!(width_dots(19, 2) > 576);
        let bitmap = draw("11312AB123456781234", 384, 40).unwrap();
        assert_eq!(bitmap.width(), 355);
    }

    #[test]
    fn bars_follow_the_start_pattern() {
        let bitmap = draw("1", width_dots(1, 1), 1).unwrap();
        // `*` is bar n, space w, bar n, space n, bar w, space n, bar w, space n, bar n.
        let start: String = (10..10 + 15)
            .map(|x| if bitmap.get(x, 0) { '#' } else { '.' })
            .collect();
        assert_eq!(start, "#...#.###.###.#");
    }

    #[test]
    fn bad_text_is_refused() {
        assert!(matches!(
            draw("ab", 384, 10),
            Err(Code39Error::Character { ch: 'a', .. })
        ));
        assert!(matches!(
            draw("A*B", 384, 10),
            Err(Code39Error::Character { ch: '*', .. })
        ));
        assert!(matches!(
            draw(&"1".repeat(40), 384, 10),
            Err(Code39Error::TooWide { .. })
        ));
    }
}
