//! Text that is safe to show: log fields (user agents, ARNs, request lines, rule
//! titles) are attacker-influenced, and a terminal obeys the control sequences
//! in what it prints (clear the screen, recolour, hide text, retitle the window,
//! OSC 8 hyperlinks, bidi reordering). [`terminal_safe`] turns every such
//! character into a visible escape; [`to_writer_json`] writes JSON whose strings
//! escape the few of them that JSON itself allows raw (DEL, C1 controls, bidi
//! controls), so `cat findings.jsonl` is safe too.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

/// Whether `c` must not be shown raw: C0 controls (newline and tab included:
/// inside one field they would forge lines and columns), DEL, C1 controls
/// (U+0080–U+009F, `U+009B` is a one-character CSI), the bidi embeddings,
/// overrides, isolates and marks (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
/// U+061C), zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and the line
/// and paragraph separators (U+2028, U+2029). The same set serves terminals and
/// plain-text email.
pub fn is_unsafe_char(c: char) -> bool {
    matches!(
        c,
        '\0'..='\x1f'
            | '\x7f'
            | '\u{80}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// Whether a UTF-8 byte can start (or be) an unsafe character: a cheap test so
/// that clean text is never decoded.
fn may_start_unsafe(b: u8) -> bool {
    // C0 and DEL are single bytes; C1 is encoded 0xC2 0x80..=0x9F; U+061C is
    // 0xD8 0x9C; the U+2xxx characters start with 0xE2; U+FEFF with 0xEF.
    b < 0x20 || b == 0x7f || b == 0xc2 || b == 0xd8 || b == 0xe2 || b == 0xef
}

/// `s` with every [`is_unsafe_char`] replaced by a visible escape: `\n`, `\t`,
/// `\r`, `\x1b` for other C0 controls and DEL, `\u{9b}` for C1 and bidi
/// controls. Borrowed when nothing needs escaping.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(may_start_unsafe) || !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe_char(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// A serde_json formatter (compact) that also escapes DEL, C1 controls and bidi
/// controls as `\u007f`, `\u009b`, `\u202e`: still the same JSON value, but inert
/// when the JSON is shown on a terminal.
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalSafeJson;

impl serde_json::ser::Formatter for TerminalSafeJson {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if !fragment.bytes().any(may_start_unsafe) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_unsafe_char(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                write!(writer, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Serialises `value` as compact JSON with [`TerminalSafeJson`] (the same bytes
/// as `serde_json::to_writer` for text without those characters).
pub fn to_writer_json<W: io::Write, T: serde::Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, TerminalSafeJson);
    value.serialize(&mut ser)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn clean_text_is_borrowed_unchanged() {
        for s in [
            "",
            "aws-cli/2.15.0 Python/3.11",
            "arn:aws:iam::123456789012:user/alice",
            "café — 東京 ✓",
        ] {
            assert!(
                matches!(terminal_safe(s), Cow::Borrowed(b) if b == s),
                "{s}"
            );
        }
    }

    #[test]
    fn escape_payloads_become_visible_text() {
        for (input, want) in [
            ("\x1b[2Jcleared", "\\x1b[2Jcleared"),
            (
                "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
                "\\x1b]8;;https://evil.example/\\x1b\\click\\x1b]8;;\\x1b\\",
            ),
            ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
            ("a\u{9b}31mred", "a\\u{9b}31mred"),
            ("user/\u{202e}nimda", "user/\\u{202e}nimda"),
            ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
            ("two\nlines\tand\rcr", "two\\nlines\\tand\\rcr"),
            ("del\x7f nul\0", "del\\x7f nul\\x00"),
            ("\u{85}next line", "\\u{85}next line"),
        ] {
            let got = terminal_safe(input);
            assert_eq!(got, want, "{input:?}");
            assert!(!got.chars().any(is_unsafe_char), "{input:?}");
        }
    }

    #[test]
    fn neighbours_of_the_unsafe_ranges_are_kept() {
        // Same lead bytes as C1 / bidi controls, but printable.
        for s in [
            "\u{a0}x", "\u{a9}", "\u{2027}", "\u{2014}", "\u{2070}", "\u{206a}",
        ] {
            assert_eq!(terminal_safe(s), s, "{s:?}");
        }
    }

    #[test]
    fn json_escapes_c1_del_and_bidi_and_stays_the_same_value() {
        let v = serde_json::json!({
            "ua": "\u{9b}2J \u{202e}evil \x7f \x1b[31m ok é",
        });
        let mut out = Vec::new();
        to_writer_json(&mut out, &v).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\\u009b2J \\u202eevil \\u007f \\u001b[31m ok é"),
            "{text}"
        );
        assert!(!text.chars().any(is_unsafe_char), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn json_of_clean_text_matches_serde_json() {
        let v = serde_json::json!({"a": "plain \"quoted\" \\ text", "n": [1, 2.5, null]});
        let mut out = Vec::new();
        to_writer_json(&mut out, &v).unwrap();
        assert_eq!(out, serde_json::to_vec(&v).unwrap());
    }
}
