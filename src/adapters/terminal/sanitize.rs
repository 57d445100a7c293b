//! Text from a user's record made safe to print. What a person typed (in
//! Telegram, or piped into `chat`) can hold escape sequences that a terminal
//! would obey: set the clipboard (OSC 52), retitle the window, clear the
//! screen, hide the lines before them. Everything printed to a terminal, and
//! every case file `export` writes, goes through [`clean`] first.

use std::borrow::Cow;

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';
/// The one-character (C1) forms of CSI, ST and the string introducers.
const C1_CSI: char = '\u{9b}';
const C1_ST: char = '\u{9c}';

/// `text` without terminal control: escape sequences (CSI, OSC, DCS, SOS, PM,
/// APC and the two-character ones) are removed whole, along with C0 and C1
/// control characters other than newline and tab, DEL, and the bidirectional
/// embeddings, overrides and isolates that can make a line read differently
/// from what it holds. Line and paragraph separators become newlines. Text
/// with none of these is returned as it is.
///
/// A string sequence (OSC and the like) ends at its terminator or at the end
/// of its line, so an unterminated one hides nothing past that line.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && c != '\t' && (is_control(c) || is_bidi(c) || is_separator(c))) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => out.push(c),
            ESC => match chars.peek().copied() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                Some(' '..='/') => {
                    // nF: intermediates, then one final character (`ESC ( B`).
                    while chars.next_if(|c| matches!(c, ' '..='/')).is_some() {}
                    chars.next_if(|c| matches!(c, '0'..='~'));
                }
                Some('0'..='~') => {
                    // Two characters: `ESC c` (reset), `ESC 7`, `ESC M`, …
                    chars.next();
                }
                _ => {}
            },
            C1_CSI => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\u{2028}' | '\u{2029}' => out.push('\n'),
            c if is_control(c) || is_bidi(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Parameters and intermediates, then the final character, of a CSI sequence.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.next_if(|c| matches!(c, '0'..='?' | ' '..='/')).is_some() {}
    chars.next_if(|c| matches!(c, '@'..='~'));
}

/// The body of a string sequence, through BEL or ST; stops before a newline.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next_if(|c| *c != '\n') {
        match c {
            BEL | C1_ST => return,
            ESC => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

fn is_control(c: char) -> bool {
    c.is_control()
}

/// Embeddings and overrides (U+202A–U+202E) and isolates (U+2066–U+2069).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn is_separator(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
}

/// A Markdown document (a case file) safe to open in a Markdown viewer as well
/// as to print: [`clean`], then every `<` written as `&lt;`, so that nothing
/// anyone typed becomes an HTML tag, and an `&` that would start a character
/// reference written as `&amp;`, so that `&lt;` typed by someone reads as typed.
/// Inside code spans a viewer shows these references as they are written, which
/// costs little: no guide puts HTML there.
pub fn markdown_document(doc: &str) -> String {
    let doc = clean(doc);
    let mut out = String::with_capacity(doc.len());
    for (i, c) in doc.char_indices() {
        match c {
            '<' => out.push_str("&lt;"),
            '&' if starts_reference(&doc[i..]) => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether `s` (which starts with `&`) begins a named or numeric character reference.
fn starts_reference(s: &str) -> bool {
    let body = &s[1..];
    let end = body.find(';').filter(|&e| e > 0 && e <= 32);
    let Some(end) = end else { return false };
    let name = &body[..end];
    if let Some(num) = name.strip_prefix('#') {
        match num.strip_prefix(['x', 'X']) {
            Some(hex) => !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()),
            None => !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()),
        }
    } else {
        name.starts_with(|c: char| c.is_ascii_alphabetic()) && name.chars().all(|c| c.is_ascii_alphanumeric())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for s in ["", "Over how many months?", "你好，¥3,500.00\n\t- [x] 工资单", "✅ done ▶️ 👍🏽 ‍"]
        {
            assert!(matches!(clean(s), Cow::Borrowed(t) if t == s), "{s:?}");
        }
    }

    #[test]
    fn escape_sequences_go_whole() {
        let cases = [
            // Clipboard write (OSC 52), ended by BEL and by ST.
            ("a\x1b]52;c;cm0gLXJmIH4=\x07b", "ab"),
            ("a\x1b]52;c;cm0gLXJmIH4=\x1b\\b", "ab"),
            // Window title, and an OSC 8 hyperlink around visible text.
            ("\x1b]0;pwned\x07title", "title"),
            ("\x1b]8;;http://x.example\x1b\\link\x1b]8;;\x1b\\", "link"),
            // Clear screen, cursor home, colours, private modes.
            ("\x1b[2J\x1b[Hhi", "hi"),
            ("\x1b[1;31mred\x1b[0m", "red"),
            ("\x1b[?1049hx\x1b[?25l", "x"),
            // Reset, charset designation, DCS, APC, PM, SOS.
            ("\x1bcz", "z"),
            ("\x1b(0q\x1b(B", "q"),
            ("\x1bPq#0;2;0;0;0\x1b\\ok", "ok"),
            ("\x1b_Gf=100;AAAA\x1b\\ok", "ok"),
            ("\x1b^pm\x1b\\ok\x1bXsos\x1b\\", "ok"),
            // The C1 one-character forms.
            ("a\u{9b}2Jb", "ab"),
            ("a\u{9d}0;t\u{9c}b", "ab"),
            // A lone ESC at the end, and one before a character it cannot start anything with.
            ("end\x1b", "end"),
            ("x\x1b\u{e9}y", "x\u{e9}y"),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "{input:?}");
        }
    }

    #[test]
    fn an_unterminated_string_sequence_stops_at_the_line_end() {
        assert_eq!(clean("note one\x1b]0;hide\nnote two"), "note one\nnote two");
    }

    #[test]
    fn controls_go_but_newlines_and_tabs_stay() {
        assert_eq!(clean("a\r\nb\tc\x08d\x00e\x7ff\u{85}g\u{9f}"), "a\nb\tcdefg");
        assert_eq!(clean("bell\x07"), "bell");
        assert_eq!(clean("line\u{2028}next\u{2029}"), "line\nnext\n");
    }

    #[test]
    fn bidi_overrides_and_isolates_go() {
        // "Pay ¥100" must not be shown as something else by a right-to-left override.
        assert_eq!(clean("Pay \u{202e}001¥\u{202c} now"), "Pay 001¥ now");
        assert_eq!(clean("\u{2066}a\u{2069}\u{2067}b\u{2068}c"), "abc");
        // Marks that only hint a direction stay.
        assert_eq!(clean("a\u{200f}b"), "a\u{200f}b");
    }

    #[test]
    fn markdown_documents_hold_no_html_and_no_control() {
        let doc = "- **Note**: <script>alert(1)</script> & more &lt; \x1b]52;c;eA==\x07x <b>";
        assert_eq!(markdown_document(doc), "- **Note**: &lt;script>alert(1)&lt;/script> & more &amp;lt; x &lt;b>");
        assert_eq!(markdown_document("&#60;img&#x3C;&amp;"), "&amp;#60;img&amp;#x3C;&amp;amp;");
        assert_eq!(markdown_document("a && b; R&D and &;"), "a && b; R&D and &;");
    }
}
