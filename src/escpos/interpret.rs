//! A receipt printer in software: runs the ESC/POS byte stream we emit and draws the paper.
//!
//! The preview is made from the bytes themselves, never from the layout, so it cannot drift
//! from what the printer receives. It knows exactly the commands `super::encode` emits (and the
//! status request); anything else is an error naming the offset, because a preview that
//! silently skipped a command would prove nothing. Text wider than the paper is wrapped as a
//! printer would, and recorded as an overflow: the layout should never let that happen.

use super::charset;
use super::font::CellStyle;
use super::typeset::{Cell, LINE_SPACING_DOTS, draw_line, line_height, line_width};
use crate::document::{Align, Bitmap};
use crate::profile::TextEncoding;

const LF: u8 = 0x0a;
const CR: u8 = 0x0d;
const DLE: u8 = 0x10;
const ESC: u8 = 0x1b;
const FS: u8 = 0x1c;
const GS: u8 = 0x1d;

/// The paper after the stream has run.
#[derive(Debug, Clone)]
pub struct Preview {
    pub bitmap: Bitmap,
    /// The text of every printed text line, in order (raster text is not read back).
    pub text_lines: Vec<String>,
    /// Text lines the printer had to wrap because they were wider than the paper.
    pub overflows: Vec<String>,
    /// Raster images wider than the paper (their width in dots).
    pub wide_images: Vec<u32>,
    /// Paper positions (dots from the top) where the cutter cut.
    pub cuts: Vec<u32>,
    /// Where each raster image was printed, in order.
    pub images: Vec<Placement>,
}

/// Where an image landed on the paper, in dots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The stream holds something this printer does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ESC/POS stream, byte {offset}: {detail}")]
pub struct InterpretError {
    pub offset: usize,
    pub detail: String,
}

/// Runs `bytes` on a printer `width` dots wide whose Chinese mode (`FS &`) uses `native`.
pub fn interpret(
    bytes: &[u8],
    width: u32,
    native: TextEncoding,
) -> Result<Preview, InterpretError> {
    let mut printer = Printer::new(width, native);
    printer.run(bytes)?;
    printer.print_pending();
    Ok(printer.preview)
}

struct Printer {
    width: u32,
    native: TextEncoding,
    mode: Mode,
    bold: bool,
    width_scale: u32,
    height_scale: u32,
    align: Align,
    line_spacing: u32,
    cells: Vec<Cell>,
    y: u32,
    preview: Preview,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    SingleByte,
    Chinese,
    Utf8,
}

impl Printer {
    fn new(width: u32, native: TextEncoding) -> Self {
        Printer {
            width,
            native,
            mode: Mode::Chinese,
            bold: false,
            width_scale: 1,
            height_scale: 1,
            align: Align::Left,
            line_spacing: LINE_SPACING_DOTS,
            cells: Vec::new(),
            y: 0,
            preview: Preview {
                bitmap: Bitmap::new(width, 0),
                text_lines: Vec::new(),
                overflows: Vec::new(),
                wide_images: Vec::new(),
                cuts: Vec::new(),
                images: Vec::new(),
            },
        }
    }

    /// Back to power-on state (`ESC @`); the SUNMI printer powers on in Chinese mode.
    fn reset(&mut self) {
        self.mode = Mode::Chinese;
        self.bold = false;
        self.width_scale = 1;
        self.height_scale = 1;
        self.align = Align::Left;
        self.line_spacing = LINE_SPACING_DOTS;
    }

    fn run(&mut self, bytes: &[u8]) -> Result<(), InterpretError> {
        let mut at = 0;
        while at < bytes.len() {
            let error = move |detail: String| InterpretError { offset: at, detail };
            let arg = move |index: usize| {
                bytes.get(at + index).copied().ok_or(InterpretError {
                    offset: at,
                    detail: "command cut short by the end of the stream".to_owned(),
                })
            };
            match bytes[at] {
                LF => {
                    self.line_feed();
                    at += 1;
                }
                CR => at += 1,
                DLE if arg(1)? == 0x04 => {
                    // DLE EOT n: a real-time status request; it prints nothing.
                    arg(2)?;
                    at += 3;
                }
                ESC => {
                    at += 2 + self.escape(arg(1)?, arg(2).ok()).map_err(&error)?;
                }
                GS => at += self.group_separator(&bytes[at..]).map_err(&error)?,
                FS => {
                    match arg(1)? {
                        b'&' => self.mode = Mode::Chinese,
                        b'.' => self.mode = Mode::SingleByte,
                        b'C' => {
                            self.mode = match arg(2)? {
                                0xff => Mode::Utf8,
                                _ => Mode::Chinese,
                            };
                            at += 1;
                        }
                        other => return Err(error(format!("unknown command FS {other:#04x}"))),
                    }
                    at += 2;
                }
                byte if byte >= 0x20 => {
                    let end = bytes[at..]
                        .iter()
                        .position(|b| *b < 0x20)
                        .map_or(bytes.len(), |length| at + length);
                    self.text(&bytes[at..end]);
                    at = end;
                }
                other => return Err(error(format!("unknown control byte {other:#04x}"))),
            }
        }
        Ok(())
    }

    /// Runs `ESC command [argument]`; returns how many argument bytes it took.
    fn escape(&mut self, command: u8, argument: Option<u8>) -> Result<usize, String> {
        let need = || argument.ok_or_else(|| format!("ESC {command:#04x} without its argument"));
        match command {
            b'@' => {
                self.print_pending();
                self.reset();
                Ok(0)
            }
            b'2' => {
                self.line_spacing = LINE_SPACING_DOTS;
                Ok(0)
            }
            b'3' => {
                self.line_spacing = u32::from(need()?);
                Ok(1)
            }
            b'E' => {
                self.bold = need()? & 1 == 1;
                Ok(1)
            }
            b'!' => {
                let mode = need()?;
                self.bold = mode & 0x08 != 0;
                self.height_scale = if mode & 0x10 != 0 { 2 } else { 1 };
                self.width_scale = if mode & 0x20 != 0 { 2 } else { 1 };
                Ok(1)
            }
            b'a' => {
                self.align = match need()? {
                    0 | b'0' => Align::Left,
                    1 | b'1' => Align::Centre,
                    2 | b'2' => Align::Right,
                    other => return Err(format!("ESC a with unknown justification {other}")),
                };
                Ok(1)
            }
            b'd' => {
                let lines = u32::from(need()?);
                self.print_pending();
                self.advance(lines * self.line_spacing);
                Ok(1)
            }
            b'J' => {
                let dots = u32::from(need()?);
                self.print_pending();
                self.advance(dots);
                Ok(1)
            }
            other => Err(format!("unknown command ESC {other:#04x}")),
        }
    }

    /// Runs a `GS` command at the start of `bytes`; returns its whole length.
    fn group_separator(&mut self, bytes: &[u8]) -> Result<usize, String> {
        let at = |index: usize| {
            bytes
                .get(index)
                .copied()
                .ok_or_else(|| "GS command cut short by the end of the stream".to_owned())
        };
        match at(1)? {
            b'!' => {
                let size = at(2)?;
                self.width_scale = u32::from(size >> 4) + 1;
                self.height_scale = u32::from(size & 0x0f) + 1;
                Ok(3)
            }
            b'V' => {
                self.print_pending();
                self.preview.cuts.push(self.y);
                match at(2)? {
                    0 | 1 | b'0' | b'1' => Ok(3),
                    b'A' | b'B' => {
                        at(3)?;
                        Ok(4)
                    }
                    other => Err(format!("GS V with unknown mode {other}")),
                }
            }
            b'v' if at(2)? == b'0' => {
                let bytes_per_row = usize::from(at(4)?) + 256 * usize::from(at(5)?);
                let rows = usize::from(at(6)?) + 256 * usize::from(at(7)?);
                let data = bytes
                    .get(8..8 + bytes_per_row * rows)
                    .ok_or_else(|| "GS v 0 image data cut short".to_owned())?;
                let image =
                    Bitmap::from_raster(bytes_per_row as u32 * 8, rows as u32, data.to_vec())
                        .expect("data length checked");
                self.image(&image);
                Ok(8 + data.len())
            }
            other => Err(format!("unknown command GS {other:#04x}")),
        }
    }

    fn text(&mut self, bytes: &[u8]) {
        let chars = match self.mode {
            Mode::Chinese => charset::decode(bytes, self.native),
            Mode::Utf8 => charset::decode(bytes, TextEncoding::Utf8),
            Mode::SingleByte => bytes
                .iter()
                .map(|b| if b.is_ascii() { *b as char } else { '?' })
                .collect(),
        };
        for ch in chars {
            let style = CellStyle {
                columns: if ch.is_ascii() { 1 } else { 2 },
                width_scale: self.width_scale,
                height_scale: self.height_scale,
                bold: self.bold,
            };
            if line_width(&self.cells) + style.width_dots() > self.width {
                let line: String = self.cells.iter().map(|cell| cell.ch).collect();
                self.preview.overflows.push(line);
                self.print_pending();
            }
            self.cells.push(Cell { ch, style });
        }
    }

    fn line_feed(&mut self) {
        if self.cells.is_empty() {
            self.advance(self.line_spacing);
        } else {
            self.print_pending();
        }
    }

    /// Prints the buffered text line, if any.
    fn print_pending(&mut self) {
        if self.cells.is_empty() {
            return;
        }
        let line = draw_line(&self.cells, self.width, self.align);
        let advance = line_height(&self.cells).max(self.line_spacing);
        self.preview
            .text_lines
            .push(self.cells.iter().map(|cell| cell.ch).collect());
        self.cells.clear();
        self.place(&line, 0);
        self.advance(advance);
    }

    fn image(&mut self, image: &Bitmap) {
        self.print_pending();
        if image.width() > self.width {
            self.preview.wide_images.push(image.width());
        }
        let x = match self.align {
            Align::Left => 0,
            Align::Centre => self.width.saturating_sub(image.width()) / 2,
            Align::Right => self.width.saturating_sub(image.width()),
        };
        self.place(image, x);
        self.preview.images.push(Placement {
            x,
            y: self.y,
            width: image.width(),
            height: image.height(),
        });
        self.advance(image.height());
    }

    fn place(&mut self, image: &Bitmap, x: u32) {
        self.preview.bitmap.grow_to(self.y + image.height());
        self.preview.bitmap.draw(image, x, self.y);
    }

    fn advance(&mut self, dots: u32) {
        self.y += dots;
        self.preview.bitmap.grow_to(self.y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_styles_and_wrapping() {
        let mut bytes = vec![ESC, b'@', FS, b'&', ESC, b'a', 1, GS, b'!', 0x11];
        bytes.extend_from_slice(&charset::encode("電子", TextEncoding::Gb18030).0);
        bytes.push(LF);
        bytes.extend_from_slice(&[GS, b'!', 0]);
        bytes.extend_from_slice(&"x".repeat(33).into_bytes());
        bytes.push(LF);
        let preview = interpret(&bytes, 384, TextEncoding::Gb18030).unwrap();
        assert_eq!(preview.text_lines, ["電子", &"x".repeat(32), "x"]);
        assert_eq!(preview.overflows.len(), 1);
        assert_eq!(preview.bitmap.height(), 48 + 30 + 30);
        // Centred 96-dot headline: nothing at the far left.
        assert!(!(0..48).any(|y| (0..140).any(|x| preview.bitmap.get(x, y))));
    }

    #[test]
    fn raster_images_and_cuts() {
        let mut bytes = vec![GS, b'v', b'0', 0, 1, 0, 2, 0, 0x80, 0x01];
        bytes.extend_from_slice(&[GS, b'V', b'A', 0]);
        let preview = interpret(&bytes, 384, TextEncoding::Gb18030).unwrap();
        assert!(preview.bitmap.get(0, 0) && preview.bitmap.get(7, 1));
        assert_eq!(preview.cuts, [2]);
        assert_eq!(preview.images.len(), 1);
    }

    #[test]
    fn unknown_or_truncated_commands_are_errors_with_offsets() {
        let err = interpret(&[b'a', ESC, b'z'], 384, TextEncoding::Gb18030).unwrap_err();
        assert_eq!(err.offset, 1);
        assert!(err.detail.contains("ESC 0x7a"), "{err}");
        let err = interpret(
            &[GS, b'v', b'0', 0, 1, 0, 2, 0, 0],
            384,
            TextEncoding::Gb18030,
        )
        .unwrap_err();
        assert!(err.detail.contains("cut short"), "{err}");
        assert!(interpret(&[0x07], 384, TextEncoding::Gb18030).is_err());
    }
}
