//! Word wrapping for the terminal, by display columns: CJK characters count
//! two and may be broken before or after (but not before closing punctuation
//! such as `，` or `。`, nor after opening punctuation such as `“`), other
//! words are broken only at spaces unless a single word is wider than the
//! line. Terminal style sequences (`ESC [ … m`) take no room.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

const ESC: char = '\u{1b}';

/// `line` (no newline in it) cut into lines at most `width` columns wide; lines
/// after the first start with `hang` spaces. The line's own leading spaces stay.
pub fn wrap_line(line: &str, width: usize, hang: usize) -> Vec<String> {
    let body = line.trim_start_matches(' ');
    let lead = line.len() - body.len();
    // Too narrow to be worth it: let the terminal fold the line.
    if width < 10 || visible_width(line) <= width {
        return vec![line.to_owned()];
    }
    let hang = if hang + 8 > width { 0 } else { hang };
    let mut lines = Vec::new();
    let mut cur = " ".repeat(lead);
    let mut cur_w = lead;
    // Nothing but indentation on the current line yet.
    let mut empty = true;
    let mut space: Option<String> = None;
    for atom in atoms(body) {
        if atom.space {
            space = Some(atom.text);
            continue;
        }
        let gap = if empty { 0 } else { space.as_deref().map_or(0, visible_width) };
        if cur_w + gap + atom.width <= width || (empty && atom.width <= width.saturating_sub(cur_w)) {
            if !empty && let Some(s) = space.take() {
                cur.push_str(&s);
                cur_w += gap;
            }
            cur.push_str(&atom.text);
            cur_w += atom.width;
            empty = false;
            space = None;
            continue;
        }
        space = None;
        if !empty {
            lines.push(std::mem::replace(&mut cur, " ".repeat(hang)));
            cur_w = hang;
            empty = true;
        }
        if cur_w + atom.width <= width {
            cur.push_str(&atom.text);
            cur_w += atom.width;
            empty = false;
            continue;
        }
        // A word wider than a whole line: cut it between characters.
        for (piece, w) in pieces(&atom.text) {
            if cur_w + w > width && !empty {
                lines.push(std::mem::replace(&mut cur, " ".repeat(hang)));
                cur_w = hang;
            }
            cur.push_str(&piece);
            cur_w += w;
            empty = false;
        }
    }
    lines.push(cur);
    lines
}

/// Where continuation lines of `line` start: under the text after its leading
/// spaces and a list marker (`-`, `•`, `1.`, `2)`, or a symbol such as `✅`).
pub fn hanging_indent(line: &str) -> usize {
    let plain = strip_styles(line);
    let body = plain.trim_start_matches(' ');
    let lead = plain.len() - body.len();
    let Some((first, _)) = body.split_once(' ') else { return lead };
    let numbered =
        first.strip_suffix(['.', ')']).is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    let symbol = !first.is_empty() && first.chars().all(|c| !c.is_alphanumeric()) && first.width() <= 3;
    if numbered || symbol { lead + first.width() + 1 } else { lead }
}

/// Columns `s` takes on a terminal (style sequences take none).
pub fn visible_width(s: &str) -> usize {
    if s.contains(ESC) { strip_styles(s).width() } else { s.width() }
}

/// `s` without `ESC [ … final` sequences.
fn strip_styles(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == ESC {
            skip_sequence(&mut chars);
        } else {
            out.push(c);
        }
    }
    out
}

/// Moves the escape sequence that `chars` is at (after its ESC) into `styles`, ESC included.
fn take_sequence(chars: &mut std::str::Chars<'_>, styles: &mut String) {
    let rest = chars.as_str();
    skip_sequence(chars);
    styles.push(ESC);
    styles.push_str(&rest[..rest.len() - chars.as_str().len()]);
}

fn skip_sequence(chars: &mut std::str::Chars<'_>) {
    if chars.clone().next() == Some('[') {
        chars.next();
        for c in chars.by_ref() {
            if ('@'..='~').contains(&c) {
                break;
            }
        }
    }
}

/// A unit the wrapper does not cut (unless it alone is wider than a line).
struct Atom {
    text: String,
    width: usize,
    space: bool,
    /// Its last visible character.
    last: char,
}

/// Characters that may not start a line.
fn closes(c: char) -> bool {
    "，。、；：！？）」』》〉】〕〗”’…—,.;:!?)]}%".contains(c)
}

/// Characters that may not end a line.
fn opens(c: char) -> bool {
    "（「『《〈【〔〖“‘([{￥".contains(c)
}

fn wide(c: char) -> bool {
    c.width() == Some(2)
}

/// `text` as atoms: runs of spaces, words of narrow characters, and single wide
/// characters, with punctuation kept on the side it belongs to. A style sequence
/// goes with the character after it, or with the word before it when a space follows.
fn atoms(text: &str) -> Vec<Atom> {
    let mut out: Vec<Atom> = Vec::new();
    let mut styles = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == ESC {
            take_sequence(&mut chars, &mut styles);
            continue;
        }
        let w = c.width().unwrap_or(0);
        if c == ' ' {
            if !styles.is_empty()
                && let Some(a) = out.last_mut().filter(|a| !a.space)
            {
                a.text.push_str(&std::mem::take(&mut styles));
            }
            match out.last_mut() {
                Some(a) if a.space => {
                    a.text.push(' ');
                    a.width += 1;
                }
                _ => out.push(Atom { text: " ".into(), width: 1, space: true, last: ' ' }),
            }
            continue;
        }
        let text = format!("{}{c}", std::mem::take(&mut styles));
        match out.last_mut() {
            // Zero-width marks stay on their character; a word of narrow characters goes on;
            // closing punctuation holds to what it closes; opening holds to what follows.
            Some(a) if !a.space && (clings(c, a.last) || closes(c) || opens(a.last) || (!wide(c) && !wide(a.last))) => {
                a.text.push_str(&text);
                a.width += w;
                a.last = c;
            }
            _ => out.push(Atom { text, width: w, space: false, last: c }),
        }
    }
    if !styles.is_empty() {
        match out.last_mut() {
            Some(a) if !a.space => a.text.push_str(&styles),
            _ => out.push(Atom { text: styles, width: 0, space: false, last: ' ' }),
        }
    }
    // Measured whole, as a terminal draws them: `▶️` and `👍🏽` are two columns.
    for a in &mut out {
        a.width = visible_width(&a.text);
    }
    out
}

/// Whether `c` belongs to the character before it: a mark, a variation selector, a
/// skin tone, or anything after a zero-width joiner.
fn clings(c: char, prev: char) -> bool {
    c.width() == Some(0) || ('\u{1f3fb}'..='\u{1f3ff}').contains(&c) || prev == '\u{200d}'
}

/// `text` cut into characters (with what clings to each, and style sequences kept with
/// the next one), each with its width.
fn pieces(text: &str) -> Vec<(String, usize)> {
    let mut out: Vec<String> = Vec::new();
    let mut styles = String::new();
    let mut prev = ' ';
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == ESC {
            take_sequence(&mut chars, &mut styles);
            continue;
        }
        match out.last_mut() {
            Some(last) if clings(c, prev) => {
                last.push_str(&std::mem::take(&mut styles));
                last.push(c);
            }
            _ => out.push(format!("{}{c}", std::mem::take(&mut styles))),
        }
        prev = c;
    }
    if !styles.is_empty() {
        match out.last_mut() {
            Some(last) => last.push_str(&styles),
            None => out.push(styles),
        }
    }
    out.into_iter()
        .map(|p| {
            let w = visible_width(&p);
            (p, w)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(lines: &[String]) -> Vec<usize> {
        lines.iter().map(|l| visible_width(l)).collect()
    }

    #[test]
    fn english_breaks_at_spaces_only() {
        let text = "Before you call, have your bill, your ID and any letters about the debt at hand, and a pen to write down what is agreed.";
        let lines = wrap_line(text, 80, 0);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(widths(&lines).iter().all(|&w| w <= 80), "{lines:?}");
        assert_eq!(lines.join(" "), text, "no word was cut and no space lost");
        let words: Vec<&str> = text.split(' ').collect();
        for l in &lines {
            for w in l.split(' ') {
                assert!(words.contains(&w), "{w:?} is a piece of a word");
            }
        }
    }

    #[test]
    fn cjk_breaks_anywhere_but_keeps_punctuation_in_place() {
        let text = "请准备好账单、身份证和所有相关的信件，以及一支笔，用来记下客服同意的内容。";
        let lines = wrap_line(text, 20, 0);
        assert!(lines.len() > 2, "{lines:?}");
        assert!(widths(&lines).iter().all(|&w| w <= 20), "{lines:?}");
        assert_eq!(lines.concat(), text);
        for l in &lines[1..] {
            let first = l.chars().next().expect("not empty");
            assert!(!closes(first), "a line starts with {first:?}: {lines:?}");
        }
        // Opening quotes stay with what they open.
        let lines = wrap_line("一二三四五六七八“九十”", 18, 0);
        assert!(lines.iter().all(|l| !l.ends_with('“')), "{lines:?}");
    }

    #[test]
    fn mixed_text_breaks_between_scripts() {
        let lines = wrap_line("打开支付宝Alipay，进入花呗页面 then tap Repay", 16, 0);
        assert!(widths(&lines).iter().all(|&w| w <= 16), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("Alipay，")), "the comma stays with the word: {lines:?}");
    }

    #[test]
    fn continuation_lines_hang_under_the_text() {
        let lines = wrap_line("  12) I can pay a small amount each month but not the whole bill", 30, 6);
        assert_eq!(lines[0], "  12) I can pay a small amount");
        assert!(lines[1..].iter().all(|l| l.starts_with("      ") && !l.starts_with("       ")), "{lines:?}");
        assert_eq!(hanging_indent("  12) I can"), 6);
        assert_eq!(hanging_indent("- item"), 2);
        assert_eq!(hanging_indent("✅ Stage one"), 3);
        assert_eq!(hanging_indent("1. 15 Dec 2026: ¥500.00"), 3);
        assert_eq!(hanging_indent("Plain text here"), 0);
        assert_eq!(hanging_indent("2026-12-15 is the day"), 0);
        assert_eq!(hanging_indent("✅. odd"), 4);
        assert_eq!(hanging_indent(". dot"), 2);
    }

    #[test]
    fn a_word_longer_than_the_line_is_cut() {
        let url = "https://example.com/a/very/long/path/that/does/not/fit/anywhere";
        let lines = wrap_line(&format!("See {url} now"), 24, 0);
        assert!(widths(&lines).iter().all(|&w| w <= 24), "{lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), format!("See{url}now"));
    }

    #[test]
    fn style_sequences_take_no_room() {
        let text = "\x1b[1mYour plan\x1b[22m is ready and you can look at it whenever you like";
        let lines = wrap_line(text, 20, 0);
        assert!(widths(&lines).iter().all(|&w| w <= 20), "{lines:?}");
        assert_eq!(lines[0], "\x1b[1mYour plan\x1b[22m is ready");
        assert_eq!(strip_styles(&lines.join(" ")), strip_styles(text));
    }

    #[test]
    fn any_text_wraps_within_the_width_and_keeps_every_character() {
        let alphabet: Vec<&str> = vec![
            "a",
            "word",
            " ",
            "  ",
            "，",
            "。",
            "“",
            "中",
            "文",
            "✅",
            "▶️",
            "e\u{301}",
            "👍🏽",
            "\x1b[1m",
            "\x1b[22m",
            "-",
            "1.",
            "https://example.com/long/path",
            "¥3,500.00",
            "\u{200d}",
            "👨\u{200d}👩",
        ];
        // A small fixed generator, so that a failure can be replayed.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            for i in 0..len {
                text.push_str(alphabet[((seed >> (i % 50)) as usize + i * 7) % alphabet.len()]);
            }
            for width in [10, 13, 24, 80] {
                for hang in [0, 3, 6] {
                    let lines = wrap_line(&text, width, hang);
                    for l in &lines {
                        assert!(visible_width(l) <= width, "{text:?} at {width}: {lines:?}");
                    }
                    let squeeze = |s: &str| strip_styles(s).replace(' ', "");
                    assert_eq!(squeeze(&lines.concat()), squeeze(&text), "{text:?} at {width}: {lines:?}");
                }
            }
        }
    }

    #[test]
    fn short_lines_and_tiny_widths_are_left_alone() {
        assert_eq!(wrap_line("short", 80, 0), ["short"]);
        assert_eq!(wrap_line("a line that is long", 5, 0), ["a line that is long"]);
    }
}
