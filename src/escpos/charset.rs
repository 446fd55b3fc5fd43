//! Text encodings the printers take, and the commands that select them.
//!
//! The SUNMI printer starts in Chinese mode with GB18030; `FS &` (re)enters Chinese mode and
//! SUNMI's `FS C FF` switches it to UTF-8. Big5 printers are Big5 by firmware once in Chinese
//! mode. A character the encoding cannot carry (and any control character, which would be
//! taken for a command) is sent as `?` so that the line stays intact and the gap is visible.

use crate::profile::TextEncoding;
use encoding_rs::{BIG5, Encoding, GB18030};

const FS: u8 = 0x1c;

/// The bytes that put the printer into `encoding`'s text mode after `ESC @`.
pub fn select_command(encoding: TextEncoding) -> &'static [u8] {
    match encoding {
        TextEncoding::Gb18030 | TextEncoding::Big5 => &[FS, b'&'],
        TextEncoding::Utf8 => &[FS, b'&', FS, b'C', 0xff],
        TextEncoding::Raster => &[],
    }
}

fn multibyte(encoding: TextEncoding) -> Option<&'static Encoding> {
    match encoding {
        TextEncoding::Gb18030 => Some(GB18030),
        TextEncoding::Big5 => Some(BIG5),
        TextEncoding::Utf8 | TextEncoding::Raster => None,
    }
}

/// The bytes of one character, or `None` when `encoding` cannot carry it.
pub fn encode_char(ch: char, encoding: TextEncoding) -> Option<Vec<u8>> {
    if ch.is_control() {
        return None;
    }
    if ch.is_ascii() {
        return Some(vec![ch as u8]);
    }
    match multibyte(encoding) {
        Some(codec) => {
            let mut buffer = [0u8; 4];
            let (bytes, _, had_errors) = codec.encode(ch.encode_utf8(&mut buffer));
            (!had_errors).then(|| bytes.into_owned())
        }
        None => Some(ch.to_string().into_bytes()),
    }
}

/// Encodes `text`, replacing what cannot be carried by `?`; returns the bytes and the
/// characters that were replaced.
pub fn encode(text: &str, encoding: TextEncoding) -> (Vec<u8>, Vec<char>) {
    let mut bytes = Vec::with_capacity(text.len());
    let mut replaced = Vec::new();
    for ch in text.chars() {
        match encode_char(ch, encoding) {
            Some(encoded) => bytes.extend_from_slice(&encoded),
            None => {
                bytes.push(b'?');
                replaced.push(ch);
            }
        }
    }
    (bytes, replaced)
}

/// Decodes text bytes the printer received in `encoding`'s mode; undecodable bytes become `?`
/// as a printer would print a blank or junk glyph for them.
pub fn decode(bytes: &[u8], encoding: TextEncoding) -> Vec<char> {
    let codec = multibyte(encoding).unwrap_or(encoding_rs::UTF_8);
    let (text, _) = codec.decode_without_bom_handling(bytes);
    text.chars()
        .map(|ch| if ch == '\u{FFFD}' { '?' } else { ch })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_chinese_round_trips_in_every_text_mode() {
        let text = "電子發票 AB-12345 總計 150";
        for encoding in [
            TextEncoding::Gb18030,
            TextEncoding::Big5,
            TextEncoding::Utf8,
        ] {
            let (bytes, replaced) = encode(text, encoding);
            assert!(replaced.is_empty(), "{encoding:?}");
            assert_eq!(
                decode(&bytes, encoding).into_iter().collect::<String>(),
                text
            );
            assert!(bytes.iter().all(|b| *b >= 0x20), "{encoding:?}");
        }
    }

    #[test]
    fn big5_falls_back_visibly_for_simplified_and_emoji() {
        let (bytes, replaced) = encode("发票😀a", TextEncoding::Big5);
        assert_eq!(replaced, ['发', '😀']);
        let decoded: String = decode(&bytes, TextEncoding::Big5).into_iter().collect();
        assert_eq!(decoded, "?票?a");
    }

    #[test]
    fn gb18030_carries_everything_and_control_characters_never_pass() {
        let (bytes, replaced) = encode("😀é\u{1b}", TextEncoding::Gb18030);
        assert_eq!(replaced, ['\u{1b}']);
        let decoded: String = decode(&bytes, TextEncoding::Gb18030).into_iter().collect();
        assert_eq!(decoded, "😀é?");
    }
}
