//! A link the customer opens on their phone (an e-wallet command's URL), printed as one QR code
//! under a caption saying what it is for.

use super::qr::{self, QrError};
use super::{Align, Block, Style};

/// The printout of `url` under `caption`, within `width_dots`: the code in byte mode, so the URL
/// comes back from the paper byte for byte.
pub fn page(caption: &str, url: &str, width_dots: u32) -> Result<Vec<Block>, QrError> {
    let (code, _) = qr::draw_one(url.as_bytes(), width_dots)?;
    let centred = |text: &str, large: bool| Block::Text {
        text: text.to_owned(),
        style: Style {
            large,
            bold: large,
            align: Align::Centre,
        },
    };
    Ok(vec![
        centred(caption, true),
        Block::Image(code),
        centred("請用手機掃描", false),
        Block::Feed(1),
        Block::Cut,
    ])
}
