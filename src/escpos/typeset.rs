//! Lines of text drawn as dots, the same way for the printer (raster text) and the preview.

use super::font::{CellStyle, font};
use crate::document::{Align, Bitmap};

/// The dots between the tops of two lines of normal text: the ESC/POS default line spacing
/// (`ESC 2`, 1/6 inch at 203 dpi is close to 30 dots). The encoder sets it explicitly with
/// `ESC 3 30` so that printer and preview agree.
pub const LINE_SPACING_DOTS: u32 = 30;

/// One character with the style it was received in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub ch: char,
    pub style: CellStyle,
}

/// Total width of the cells in dots.
pub fn line_width(cells: &[Cell]) -> u32 {
    cells.iter().map(|cell| cell.style.width_dots()).sum()
}

/// Height of the line: its tallest cell, at least the line spacing.
pub fn line_height(cells: &[Cell]) -> u32 {
    cells
        .iter()
        .map(|cell| cell.style.height_dots())
        .max()
        .unwrap_or(0)
        .max(LINE_SPACING_DOTS)
}

/// Draws one line into a new bitmap of `width` dots, cells bottom-aligned as printers do when
/// sizes are mixed.
pub fn draw_line(cells: &[Cell], width: u32, align: Align) -> Bitmap {
    let height = line_height(cells);
    let tallest = cells
        .iter()
        .map(|cell| cell.style.height_dots())
        .max()
        .unwrap_or(0);
    let mut bitmap = Bitmap::new(width, height);
    let used = line_width(cells);
    let mut x = match align {
        Align::Left => 0,
        Align::Centre => width.saturating_sub(used) / 2,
        Align::Right => width.saturating_sub(used),
    };
    for cell in cells {
        let y = tallest - cell.style.height_dots();
        font().draw(&mut bitmap, cell.ch, x, y, cell.style);
        x += cell.style.width_dots();
    }
    bitmap
}
