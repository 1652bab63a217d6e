//! Text from a registry can hold anything a hand edit put there, including terminal control
//! sequences (`ESC[2J` clears the screen) and bidirectional overrides that make text read other
//! than it is. Everything printed for a person goes through [`printable`], which shows them as
//! visible escapes instead; JSON output escapes them by itself.

use std::borrow::Cow;

/// `text` with every control character except newline and tab, and every bidirectional
/// override, written as `\u{…}`.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn controls_and_overrides_become_visible() {
        assert_eq!(printable("web\tapi\n"), "web\tapi\n");
        assert!(matches!(printable("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[2Jb\r\u{7f}\u{9b}"), "a\\u{1b}[2Jb\\u{d}\\u{7f}\\u{9b}");
        assert_eq!(printable("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(printable("café ✓"), "café ✓");
    }
}
