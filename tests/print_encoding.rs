//! Text reaches paper intact in every encoding, or falls back visibly to `?`.

use posd::escpos::{EncodeOptions, Preview, encode, interpret, native_encoding};
use posd::profile::TextEncoding;
use posd::receipt::{Align, Block, Style};

fn line(text: &str) -> Block {
    Block::Text {
        text: text.to_owned(),
        style: Style {
            large: false,
            bold: false,
            align: Align::Left,
        },
    }
}

fn print(blocks: &[Block], encoding: TextEncoding) -> (Vec<u8>, Vec<char>, Preview) {
    let options = EncodeOptions {
        width_dots: 384,
        encoding,
        cut: false,
    };
    let encoded = encode(blocks, &options).unwrap();
    let preview = interpret(&encoded.bytes, 384, native_encoding(encoding)).unwrap();
    (encoded.bytes, encoded.replaced, preview)
}

const TRADITIONAL: &str = "電子發票 隨機碼 1234 總計 150";

#[test]
fn traditional_chinese_round_trips_in_every_text_encoding() {
    for encoding in [
        TextEncoding::Gb18030,
        TextEncoding::Big5,
        TextEncoding::Utf8,
    ] {
        let (_, replaced, preview) = print(&[line(TRADITIONAL)], encoding);
        assert!(replaced.is_empty(), "{encoding:?}");
        assert_eq!(preview.text_lines, [TRADITIONAL], "{encoding:?}");
    }
}

#[test]
fn utf8_mode_is_switched_on_with_the_sunmi_command() {
    let (bytes, _, _) = print(&[line("é")], TextEncoding::Utf8);
    assert!(
        bytes
            .windows(5)
            .any(|window| window == [0x1c, 0x26, 0x1c, 0x43, 0xff])
    );
    assert!(bytes.windows(2).any(|window| window == "é".as_bytes()));
}

#[test]
fn big5_replaces_what_it_cannot_carry_without_breaking_the_line() {
    let text = "简体发票 😀 OK 繁體";
    let (_, replaced, preview) = print(&[line(text), line("next")], TextEncoding::Big5);
    assert_eq!(replaced, ['简', '发', '😀']);
    assert_eq!(preview.text_lines, ["?体?票 ? OK 繁體", "next"]);
}

#[test]
fn gb18030_carries_simplified_traditional_and_emoji() {
    let text = "简体 繁體 😀";
    let (_, replaced, preview) = print(&[line(text)], TextEncoding::Gb18030);
    assert!(replaced.is_empty());
    assert_eq!(preview.text_lines, [text]);
}

#[test]
fn control_characters_in_text_never_reach_the_printer() {
    let (bytes, replaced, preview) = print(&[line("a\u{1b}@b\nc")], TextEncoding::Gb18030);
    assert_eq!(replaced, ['\u{1b}', '\n']);
    assert_eq!(preview.text_lines, ["a?@b?c"]);
    assert_eq!(
        bytes.iter().filter(|b| **b == 0x1b).count(),
        4,
        "{bytes:02x?}"
    );
}

#[test]
fn raster_text_prints_exactly_like_the_printer_font_preview() {
    let blocks = [line(TRADITIONAL), line("Café")];
    let (raster_bytes, replaced, raster) = print(&blocks, TextEncoding::Raster);
    let (_, _, text) = print(&blocks, TextEncoding::Gb18030);
    assert!(replaced.is_empty());
    assert!(
        raster.text_lines.is_empty(),
        "no printer-font text was sent"
    );
    assert_eq!(raster.images.len(), 2);
    assert_eq!(raster.bitmap, text.bitmap);
    assert!(!raster_bytes.windows(2).any(|w| w == [0x1c, b'&']));
}

#[test]
fn raster_text_falls_back_visibly_for_missing_glyphs() {
    let (_, replaced, with_emoji) = print(&[line("A😀B")], TextEncoding::Raster);
    assert_eq!(replaced, ['😀']);
    let (_, _, with_question_mark) = print(&[line("A?B")], TextEncoding::Raster);
    // The emoji takes a double-width cell; the `?` is drawn centred in it.
    assert_ne!(with_emoji.bitmap, with_question_mark.bitmap);
    let black = |preview: &Preview| {
        let bitmap = &preview.bitmap;
        (0..bitmap.height())
            .flat_map(|y| (0..bitmap.width()).map(move |x| (x, y)))
            .filter(|(x, y)| bitmap.get(*x, *y))
            .count()
    };
    assert_eq!(black(&with_emoji), black(&with_question_mark));
}
