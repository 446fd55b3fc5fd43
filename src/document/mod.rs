//! The document model a printout is made of: styled text lines, 1-bit rasters, feeds and cuts.
//!
//! `crate::receipt` lays documents out in these terms and `crate::escpos` encodes them, so the
//! two meet here and neither names the other. The text metrics (`text`) are the printer font's,
//! shared by the layout that wraps lines and the encoder that draws them.

mod bitmap;
pub mod text;

pub use bitmap::Bitmap;

/// Horizontal placement of a text line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Centre,
    Right,
}

/// How a text line is printed. Large text is double width and double height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub large: bool,
    pub bold: bool,
    pub align: Align,
}

impl Style {
    pub const PLAIN: Style = Style {
        large: false,
        bold: false,
        align: Align::Left,
    };
    pub const CENTRED: Style = Style {
        align: Align::Centre,
        ..Style::PLAIN
    };
    pub const TITLE: Style = Style {
        large: true,
        bold: false,
        align: Align::Centre,
    };
    pub const HEADLINE: Style = Style {
        large: true,
        bold: true,
        align: Align::Centre,
    };

    /// Bold and centred: a line that must not be missed.
    pub const NOTICE: Style = Style {
        large: false,
        bold: true,
        align: Align::Centre,
    };

    /// Columns one character column of this style takes.
    pub fn scale(&self) -> usize {
        if self.large { 2 } else { 1 }
    }
}

/// One element of the printout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// One line of text, already fitted to the paper.
    Text { text: String, style: Style },
    /// An image, printed centred.
    Image(Bitmap),
    /// Blank lines.
    Feed(u8),
    /// The end of a part: cut here if the printer can, else leave room to tear off.
    Cut,
}
