//! The test page's own part: what the printer is, a ruler across the whole width, and a line in
//! each script the receipts use. `posd print-test` and `POST /v1/print-test` print it before a
//! sample receipt.

use super::{Align, Bitmap, Block, Page, Style};
use crate::profile::Profile;

/// The part of the test page before the sample receipt: what the printer is, a ruler across the
/// whole width, and a line in each script the receipts use.
pub fn header(profile: &Profile) -> Vec<Block> {
    let printer = &profile.printer;
    // Wrapped to the paper like a receipt's lines: a profile's name is the operator's to choose.
    let mut page = Page::new(printer.width_dots);
    let left = Style::PLAIN;
    page.text("posd 列印測試", Style::TITLE);
    page.text(&profile.name, Style::CENTRED);
    page.text(
        &format!(
            "{} dots = {} mm, {:?}",
            printer.width_dots,
            printer.width_dots / printer.dots_per_mm,
            printer.encoding
        ),
        Style::CENTRED,
    );
    page.blocks
        .push(Block::Image(ruler(printer.width_dots, printer.dots_per_mm)));
    for line in native_code39_note(profile) {
        page.text(&line, left);
    }
    page.text("ASCII 0123456789 AZaz !#$%&*", left);
    page.text("繁體 電子發票證明聯 隨機碼 總計", left);
    page.text("简体 电子发票 总计", left);
    page.text("Latin Café Crème Straße", left);
    page.text(
        "Right",
        Style {
            align: Align::Right,
            ..left
        },
    );
    page.blocks.push(Block::Feed(1));
    page.blocks
}

/// Whether the printer's own Code 39 (`GS k`) could print the 19-character invoice barcode at
/// its narrowest module, in two lines that fit 58 mm paper; the receipt draws the barcode as a
/// raster either way.
fn native_code39_note(profile: &Profile) -> [String; 2] {
    let printer = &profile.printer;
    let module = printer
        .code39_module_widths
        .iter()
        .min()
        .copied()
        .unwrap_or(1);
    let needed = super::code39::width_dots(crate::einvoice::BARCODE_TEXT_LEN, module);
    let verdict = if needed <= printer.width_dots {
        "fits"
    } else {
        "too wide"
    };
    [
        format!("GS k Code 39, m={module}:"),
        format!("{needed} of {} dots, {verdict}", printer.width_dots),
    ]
}

/// Ticks every millimetre, longer every 5 mm and 10 mm, and a solid bar on the first and last
/// dot: a printer that clips the width loses the bar on the right.
fn ruler(width: u32, dots_per_mm: u32) -> Bitmap {
    let mut ruler = Bitmap::new(width, 24);
    ruler.fill(0, 22, width, 2);
    for mm in 0..=width / dots_per_mm {
        let x = (mm * dots_per_mm).min(width - 1);
        let height = match mm {
            mm if mm % 10 == 0 => 20,
            mm if mm % 5 == 0 => 14,
            _ => 8,
        };
        ruler.fill(x, 22 - height, 1, height);
    }
    ruler.fill(0, 0, 2, 24);
    ruler.fill(width - 2, 0, 2, 24);
    ruler
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::{COLUMN_DOTS, columns};

    /// Every line of the header fits the paper of each shipped profile: raster text is cut at the
    /// edge without a word, and a printer's own font wraps it.
    #[test]
    fn the_header_fits_the_paper_of_every_shipped_profile() {
        for (name, text) in [
            (
                "generic-58mm",
                include_str!("../../hardware/generic-58mm.toml"),
            ),
            (
                "generic-80mm",
                include_str!("../../hardware/generic-80mm.toml"),
            ),
            (
                "sunmi-v2-pro",
                include_str!("../../hardware/sunmi-v2-pro.toml"),
            ),
        ] {
            let profile = Profile::parse(text, name).unwrap();
            let width = profile.printer.width_dots;
            for block in header(&profile) {
                if let Block::Text { text, style } = block {
                    let dots = columns(&text) as u32 * COLUMN_DOTS * style.scale() as u32;
                    assert!(
                        dots <= width,
                        "{name}: {text:?} takes {dots} of {width} dots"
                    );
                }
            }
        }
    }
}
