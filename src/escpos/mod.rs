//! ESC/POS: a document (`crate::document`) as printer bytes, printer status, and the preview of
//! those bytes.
//!
//! [`encode`] turns a document's blocks into one byte stream for a printer of a given width and
//! text encoding: text lines with their justification, size and emphasis (through the `escpos`
//! crate's command builders), images as `GS v 0` rasters padded to the full paper width so they
//! land in the same place on every printer, and the encoding selection and raster text that
//! the crate has no commands for. [`interpret::interpret`] runs such a stream and draws the
//! paper: previews and tests are made from the very bytes a printer gets.
//!
//! [`encode`]: crate::escpos::encode
//! [`interpret::interpret`]: crate::escpos::interpret::interpret

mod charset;
pub mod font;
pub mod interpret;
pub mod status;
mod typeset;

pub use charset::encode as encode_text;
pub use interpret::{InterpretError, Placement, Preview, interpret};

use crate::document::{Align, Bitmap, Block, Style};
use crate::profile::TextEncoding;
use ::escpos::driver::Driver;
use ::escpos::printer::Printer;
use ::escpos::utils::{JustifyMode, Protocol};
use font::CellStyle;
use std::cell::RefCell;
use std::rc::Rc;
use typeset::{Cell, LINE_SPACING_DOTS, draw_line};

/// Lines fed before cutting or tearing, so the last printed line clears the cutter.
const FEED_BEFORE_CUT: u8 = 4;

/// The printer the bytes are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    pub width_dots: u32,
    pub encoding: TextEncoding,
    /// Whether to cut at the end of each part (the printer must have a cutter).
    pub cut: bool,
}

impl EncodeOptions {
    /// The options for a profile's printer; `cut_wanted` is the merchant's setting, honoured
    /// only when the printer has a cutter.
    pub fn for_printer(printer: &crate::profile::PrinterProfile, cut_wanted: bool) -> Self {
        EncodeOptions {
            width_dots: printer.width_dots,
            encoding: printer.encoding,
            cut: printer.cut && cut_wanted,
        }
    }
}

/// The printer bytes of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    /// Characters the encoding could not carry, printed as `?`.
    pub replaced: Vec<char>,
}

/// The receipt could not be turned into bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("an image of {image} dots does not fit the {paper}-dot paper")]
    ImageTooWide { image: u32, paper: u32 },
    #[error("an image of {0} rows is taller than one raster command carries (65535)")]
    ImageTooTall(u32),
    #[error("ESC/POS command: {0}")]
    Command(String),
}

impl From<::escpos::errors::PrinterError> for EncodeError {
    fn from(err: ::escpos::errors::PrinterError) -> Self {
        EncodeError::Command(err.to_string())
    }
}

/// Collects what the `escpos` crate's printer writes.
#[derive(Clone, Default)]
struct Buffer(Rc<RefCell<Vec<u8>>>);

impl Driver for Buffer {
    fn name(&self) -> String {
        "buffer".to_owned()
    }

    fn write(&self, data: &[u8]) -> ::escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }

    fn read(&self, _buf: &mut [u8]) -> ::escpos::errors::Result<usize> {
        Ok(0)
    }

    fn flush(&self) -> ::escpos::errors::Result<()> {
        Ok(())
    }
}

/// Encodes `blocks` for the printer `options` describes.
pub fn encode(blocks: &[Block], options: &EncodeOptions) -> Result<Encoded, EncodeError> {
    let buffer = Buffer::default();
    let mut printer = Printer::new(buffer.clone(), Protocol::default(), None);
    let mut replaced = Vec::new();
    printer
        .init()?
        .custom(charset::select_command(options.encoding))?
        .line_spacing(LINE_SPACING_DOTS as u8)?;
    for block in blocks {
        match block {
            Block::Text { text, style } if options.encoding == TextEncoding::Raster => {
                let line = raster_line(text, style, options.width_dots, &mut replaced);
                printer.custom(&raster_command(&line)?)?;
            }
            Block::Text { text, style } => {
                let (bytes, missing) = charset::encode(text, options.encoding);
                replaced.extend(missing);
                let scale = style.scale() as u8;
                printer
                    .justify(justify_mode(style.align))?
                    .size(scale, scale)?
                    .bold(style.bold)?
                    .custom(&bytes)?
                    .custom(b"\n")?;
            }
            Block::Image(image) => {
                if image.width() > options.width_dots {
                    return Err(EncodeError::ImageTooWide {
                        image: image.width(),
                        paper: options.width_dots,
                    });
                }
                let full_width = image.centred_in(options.width_dots);
                printer.custom(&raster_command(&full_width)?)?;
            }
            Block::Feed(lines) => {
                printer.feeds(*lines)?;
            }
            Block::Cut => {
                printer.feeds(FEED_BEFORE_CUT)?;
                if options.cut {
                    printer.cut()?;
                }
            }
        }
    }
    printer.print()?;
    drop(printer);
    if !replaced.is_empty() {
        let characters: String = replaced
            .iter()
            .map(|ch| ch.escape_unicode().to_string())
            .collect();
        tracing::warn!(
            %characters,
            encoding = ?options.encoding,
            "characters cannot be printed in this encoding; printed as '?'"
        );
    }
    let bytes = buffer.0.take();
    Ok(Encoded { bytes, replaced })
}

fn justify_mode(align: Align) -> JustifyMode {
    match align {
        Align::Left => JustifyMode::LEFT,
        Align::Centre => JustifyMode::CENTER,
        Align::Right => JustifyMode::RIGHT,
    }
}

/// A text line drawn with the bitmap font, for printers without a usable text encoding.
fn raster_line(text: &str, style: &Style, width: u32, replaced: &mut Vec<char>) -> Bitmap {
    let scale = style.scale() as u32;
    let cells: Vec<Cell> = text
        .chars()
        .map(|ch| {
            let printable = !ch.is_control() && font::font().has(ch);
            if !printable {
                replaced.push(ch);
            }
            Cell {
                ch: if printable { ch } else { '?' },
                style: CellStyle {
                    columns: crate::document::text::char_columns(ch) as u32,
                    width_scale: scale,
                    height_scale: scale,
                    bold: style.bold,
                },
            }
        })
        .collect();
    draw_line(&cells, width, style.align)
}

/// `GS v 0`: a raster image at normal density.
fn raster_command(image: &Bitmap) -> Result<Vec<u8>, EncodeError> {
    let rows =
        u16::try_from(image.height()).map_err(|_| EncodeError::ImageTooTall(image.height()))?;
    let bytes_per_row = image.bytes_per_row() as u16;
    let mut command = vec![0x1d, b'v', b'0', 0];
    command.extend_from_slice(&bytes_per_row.to_le_bytes());
    command.extend_from_slice(&rows.to_le_bytes());
    command.extend_from_slice(image.raster());
    Ok(command)
}

/// The Chinese-mode encoding a printer with this profile encoding powers on with: what `FS &`
/// selects. Raster and UTF-8 profiles are SUNMI-like (GB18030).
pub fn native_encoding(encoding: TextEncoding) -> TextEncoding {
    match encoding {
        TextEncoding::Big5 => TextEncoding::Big5,
        _ => TextEncoding::Gb18030,
    }
}
