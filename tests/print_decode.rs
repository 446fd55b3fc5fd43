//! The printed codes carry the gateway's strings byte for byte.
//!
//! Every sample answer is laid out, encoded to ESC/POS for each paper width and text encoding,
//! run through the software printer, and the resulting paper is read back with `rxing`, an
//! independent decoder: both QR texts and the Code 39 text must equal the gateway's strings,
//! and nothing may be drawn past the paper's edge.

use posd::api::values::{InvoicePrintType, InvoiceState};
use posd::escpos::{EncodeOptions, Placement, Preview, encode, interpret, native_encoding};
use posd::profile::TextEncoding;
use posd::receipt::{self, Bitmap, InvoiceAnswer, LayoutSettings, ReceiptInput};
use rxing::{BarcodeFormat, DecodeHints};
use std::path::PathBuf;

/// Pixels per printed dot of the simulated scan: the paper as printed, dot for dot.
const SCAN_SCALE: u32 = 1;

fn samples() -> Vec<(String, InvoiceAnswer)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("receipts/samples");
    let mut samples: Vec<(String, InvoiceAnswer)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, InvoiceAnswer::from_json(&text).unwrap())
        })
        .collect();
    samples.sort_by(|a, b| a.0.cmp(&b.0));
    samples
}

fn print(answer: &InvoiceAnswer, width: u32, encoding: TextEncoding) -> Preview {
    let settings = LayoutSettings::default();
    let receipt = receipt::build(&ReceiptInput::new(answer, &settings, width)).unwrap();
    let encoded = encode(
        &receipt.blocks,
        &EncodeOptions {
            width_dots: width,
            encoding,
            cut: true,
        },
    )
    .unwrap();
    interpret(&encoded.bytes, width, native_encoding(encoding)).unwrap()
}

/// A region of the paper as a reader's camera sees it, at `SCAN_SCALE` pixels per dot.
fn crop(bitmap: &Bitmap, x: u32, y: u32, width: u32, height: u32) -> (Vec<u8>, u32, u32) {
    let mut luma = Vec::with_capacity((width * height * SCAN_SCALE * SCAN_SCALE) as usize);
    for row in 0..height * SCAN_SCALE {
        for column in 0..width * SCAN_SCALE {
            let dot = bitmap.get(x + column / SCAN_SCALE, y + row / SCAN_SCALE);
            luma.push(if dot { 0 } else { 255 });
        }
    }
    (luma, width * SCAN_SCALE, height * SCAN_SCALE)
}

fn read(region: (Vec<u8>, u32, u32), format: BarcodeFormat) -> String {
    let (luma, width, height) = region;
    // QR byte segments carry no charset here; the MoF texts are UTF-8 (encoding flag 1).
    let mut hints = DecodeHints {
        CharacterSet: (format == BarcodeFormat::QR_CODE).then(|| "UTF-8".to_owned()),
        ..DecodeHints::default()
    };
    rxing::helpers::detect_in_luma_with_hints(luma, width, height, Some(format), &mut hints)
        .unwrap_or_else(|err| panic!("no {format:?} found: {err:?}"))
        .getText()
        .to_owned()
}

/// The QR pair is the last tall image (text drawn as raster is at most 48 dots high), and the
/// barcode the image just before it.
fn code_images(preview: &Preview) -> (Placement, Placement) {
    let pair = preview
        .images
        .iter()
        .rposition(|image| image.height >= 120)
        .expect("a QR pair image");
    (preview.images[pair - 1], preview.images[pair])
}

/// Columns and rows with black dots in `x_range` of the pair image.
fn black_extent(
    bitmap: &Bitmap,
    pair: Placement,
    x_range: std::ops::Range<u32>,
) -> (u32, u32, u32, u32) {
    let black: Vec<(u32, u32)> = (pair.y..pair.y + pair.height)
        .flat_map(|y| x_range.clone().map(move |x| (x, y)))
        .filter(|(x, y)| bitmap.get(*x, *y))
        .collect();
    let min_x = black.iter().map(|p| p.0).min().unwrap();
    let max_x = black.iter().map(|p| p.0).max().unwrap();
    let min_y = black.iter().map(|p| p.1).min().unwrap();
    let max_y = black.iter().map(|p| p.1).max().unwrap();
    (min_x, max_x + 1, min_y, max_y + 1)
}

/// Measured on paper: each code at least 120 dots (1.5 cm) square, the same size, tops aligned,
/// with at least 16 dots of white around and between them.
fn assert_code_sizes(bitmap: &Bitmap, pair: Placement, context: &str) {
    let half = bitmap.width() / 2;
    let left = black_extent(bitmap, pair, 0..half);
    let right = black_extent(bitmap, pair, half..bitmap.width());
    let side = |code: (u32, u32, u32, u32)| (code.1 - code.0, code.3 - code.2);
    assert_eq!(side(left), side(right), "{context}");
    assert!(
        side(left).0 >= 120 && side(left).0 == side(left).1,
        "{context}: {left:?}"
    );
    assert_eq!(left.2, right.2, "{context}: tops aligned");
    let proof_left = (bitmap.width() - 384) / 2;
    assert!(left.0 >= proof_left + 16, "{context}");
    assert!(right.0 >= left.1 + 16, "{context}");
    assert!(right.1 + 16 <= proof_left + 384, "{context}");
    assert!(
        left.2 >= pair.y + 16 && left.3 + 16 <= pair.y + pair.height,
        "{context}"
    );
}

#[test]
fn codes_read_back_exactly_for_every_sample_width_and_encoding() {
    let mut proofs = 0;
    for (name, answer) in samples() {
        let issued = answer.invoice.invoice_state == Some(InvoiceState::Issued);
        let prints_proof = matches!(
            answer.invoice.invoice_print_type,
            Some(InvoicePrintType::InvoiceAndDetail | InvoicePrintType::InvoiceOnly)
        ) && issued;
        for width in [384, 576] {
            for encoding in [
                TextEncoding::Gb18030,
                TextEncoding::Utf8,
                TextEncoding::Big5,
                TextEncoding::Raster,
            ] {
                let context = format!("{name} at {width} dots, {encoding:?}");
                let preview = print(&answer, width, encoding);
                assert!(
                    preview.overflows.is_empty(),
                    "{context}: {:?}",
                    preview.overflows
                );
                assert!(preview.wide_images.is_empty(), "{context}");
                assert_eq!(preview.bitmap.width(), width, "{context}");
                if !prints_proof {
                    assert!(
                        preview.images.iter().all(|image| image.height < 120),
                        "{context}: no QR codes expected"
                    );
                    continue;
                }
                proofs += 1;
                let (barcode, pair) = code_images(&preview);
                let bitmap = &preview.bitmap;
                let barcode_text = read(
                    crop(bitmap, 0, barcode.y, width, barcode.height),
                    BarcodeFormat::CODE_39,
                );
                assert_eq!(
                    Some(&barcode_text),
                    answer.invoice.invoice_middle_barcode.as_ref(),
                    "{context}"
                );
                let half = width / 2;
                let left = read(
                    crop(bitmap, 0, pair.y, half, pair.height),
                    BarcodeFormat::QR_CODE,
                );
                let right = read(
                    crop(bitmap, half, pair.y, width - half, pair.height),
                    BarcodeFormat::QR_CODE,
                );
                assert_eq!(
                    Some(&left),
                    answer.invoice.invoice_left_qrcode.as_ref(),
                    "{context}"
                );
                assert_eq!(
                    Some(&right),
                    answer.invoice.invoice_right_qrcode.as_ref(),
                    "{context}"
                );
                assert_code_sizes(bitmap, pair, &context);
            }
        }
    }
    assert!(proofs >= 3 * 2 * 4, "only {proofs} proofs were checked");
}

/// The region as a camera sees it with white paper around it: the paper's margin beyond the
/// printable width is blank, and the outer quiet zone of a code drawn against the edge.
fn padded(region: (Vec<u8>, u32, u32), pad: u32) -> (Vec<u8>, u32, u32) {
    let (luma, width, height) = region;
    let wide = width + 2 * pad;
    let mut out = vec![255u8; (wide * (height + 2 * pad)) as usize];
    for row in 0..height {
        let from = (row * width) as usize;
        let to = ((row + pad) * wide + pad) as usize;
        out[to..to + width as usize].copy_from_slice(&luma[from..from + width as usize]);
    }
    (out, wide, height + 2 * pad)
}

/// A gateway that sends no right text (no items left for it) still gets its proof, the right
/// code carrying the `**` mark alone; and texts beyond the usual 230 bytes still print side by
/// side, read back byte for byte.
#[test]
fn an_empty_right_text_and_overlong_texts_still_print_the_proof() {
    let (_, sample) = samples()
        .into_iter()
        .find(|(name, _)| name == "b2c-issued-proof-and-detail.json")
        .unwrap();
    let mut empty_right = sample.clone();
    empty_right.invoice.invoice_right_qrcode = None;
    let mut overlong = sample.clone();
    let left = sample.invoice.invoice_left_qrcode.clone().unwrap();
    let more_items = ":美式咖啡:1:65".repeat(12);
    overlong.invoice.invoice_left_qrcode = Some(format!("{left}{more_items}"));
    overlong.invoice.invoice_right_qrcode = Some(format!("**{more_items}"));
    assert!(overlong.invoice.invoice_left_qrcode.as_ref().unwrap().len() > 230);

    for (answer, context) in [
        (&empty_right, "no right text"),
        (&overlong, "overlong texts"),
    ] {
        let preview = print(answer, 384, TextEncoding::Raster);
        assert!(preview.overflows.is_empty(), "{context}");
        let (_, pair) = code_images(&preview);
        let bitmap = &preview.bitmap;
        let left = read(
            padded(crop(bitmap, 0, pair.y, 192, pair.height), 16),
            BarcodeFormat::QR_CODE,
        );
        let right = read(
            padded(crop(bitmap, 192, pair.y, 192, pair.height), 16),
            BarcodeFormat::QR_CODE,
        );
        assert_eq!(
            Some(&left),
            answer.invoice.invoice_left_qrcode.as_ref(),
            "{context}"
        );
        let expected_right = answer
            .invoice
            .invoice_right_qrcode
            .as_deref()
            .unwrap_or("**");
        assert_eq!(right, expected_right, "{context}");
    }
}
