//! The test page's own part: what the printer is, a ruler across the whole width, and a line in
//! each script the receipts use. `posd print-test` and `POST /v1/print-test` print it before a
//! sample receipt.

use super::{Align, Bitmap, Block, Style};
use crate::profile::Profile;

/// The part of the test page before the sample receipt: what the printer is, a ruler across the
/// whole width, and a line in each script the receipts use.
pub fn header(profile: &Profile) -> Vec<Block> {
    let printer = &profile.printer;
    let text = |text: &str, large: bool, align: Align| Block::Text {
        text: text.to_owned(),
        style: Style {
            large,
            bold: large,
            align,
        },
    };
    vec![
        text("posd 列印測試", true, Align::Centre),
        text(&profile.name, false, Align::Centre),
        text(
            &format!(
                "{} dots = {} mm, {:?}",
                printer.width_dots,
                printer.width_dots / printer.dots_per_mm,
                printer.encoding
            ),
            false,
            Align::Centre,
        ),
        Block::Image(ruler(printer.width_dots, printer.dots_per_mm)),
        text(&native_code39_note(profile), false, Align::Left),
        text("ASCII 0123456789 AZaz !#$%&*", false, Align::Left),
        text("繁體 電子發票證明聯 隨機碼 總計", false, Align::Left),
        text("简体 电子发票 总计", false, Align::Left),
        text("Latin Café Crème Straße", false, Align::Left),
        text("Right", false, Align::Right),
        Block::Feed(1),
    ]
}

/// Whether the printer's own Code 39 (`GS k`) could print the 19-character invoice barcode at
/// its narrowest module; the receipt draws the barcode as a raster either way.
fn native_code39_note(profile: &Profile) -> String {
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
    format!("GS k Code 39 m={module}: {needed} dots, {verdict}")
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
