//! Text measured the way a receipt printer lays it out.
//!
//! The printer's font is 12 × 24 dots: a single-byte (ASCII) character takes one 12-dot column,
//! and every character sent as a multi-byte code (CJK, but also accented Latin in GB18030 or
//! Big5) takes a full-width 24-dot cell, two columns. Counting all non-ASCII as two columns is
//! therefore exact for the printer's text modes and safe for the others.

/// Dots per column of the printer font.
pub const COLUMN_DOTS: u32 = 12;
/// Height of the printer font in dots.
pub const LINE_DOTS: u32 = 24;

/// Columns a character occupies.
pub fn char_columns(ch: char) -> usize {
    if ch.is_ascii() { 1 } else { 2 }
}

/// Columns a string occupies.
pub fn columns(text: &str) -> usize {
    text.chars().map(char_columns).sum()
}

/// Splits `text` into lines of at most `width` columns, breaking after a space when the line
/// has one, else between characters (CJK has no spaces to break at).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let needed = char_columns(ch);
        if used + needed > width && !line.is_empty() {
            let carry = match line.rfind(' ') {
                Some(space) if space > 0 && ch != ' ' => line.split_off(space + 1),
                _ => String::new(),
            };
            lines.push(line.trim_end().to_owned());
            line = carry;
            used = columns(&line);
        }
        // Spaces that fall at a break vanish; leading spaces of the text are kept (indents).
        if line.is_empty() && ch == ' ' && !lines.is_empty() {
            continue;
        }
        line.push(ch);
        used += needed;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `left` and `right` on one line of `width` columns, `right` flush right. `None` when both
/// do not fit with a space between them.
pub fn spread(left: &str, right: &str, width: usize) -> Option<String> {
    let used = columns(left) + columns(right);
    (used < width).then(|| format!("{left}{}{right}", " ".repeat(width - used)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_counts_double() {
        assert_eq!(columns("AB-12345678"), 11);
        assert_eq!(columns("電子發票證明聯"), 14);
        assert_eq!(columns("é"), 2);
    }

    #[test]
    fn wraps_cjk_between_characters_and_latin_at_spaces() {
        assert_eq!(wrap("一二三四五", 4), ["一二", "三四", "五"]);
        assert_eq!(wrap("一二三", 5), ["一二", "三"]);
        assert_eq!(wrap("hello big world", 10), ["hello big", "world"]);
        assert_eq!(wrap("abcdefghijkl", 5), ["abcde", "fghij", "kl"]);
        assert_eq!(wrap("", 5), [""]);
        assert_eq!(wrap("  2 x 50", 10), ["  2 x 50"]);
        for line in wrap("有機 Organic 鮮奶茶 Milk Tea 大杯 Large", 9) {
            assert!(columns(&line) <= 9, "{line}");
        }
    }

    #[test]
    fn spread_pushes_right_text_to_the_edge() {
        assert_eq!(spread("總計", "150", 10).unwrap(), "總計   150");
        assert_eq!(spread("總計", "150", 7), None);
    }
}
