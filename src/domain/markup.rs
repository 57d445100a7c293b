//! The small markup of dialogue texts and its renderings.
//!
//! Texts in a guide may use `**bold**`, `_italic_`, `` `code` `` and fenced
//! blocks (a line of three backticks, the lines to copy, a line of three
//! backticks) for text the user copies with one tap. This module owns that
//! syntax: [`escape`] for values inserted from users, [`parse`] into
//! [`Piece`]s, the renderings for Telegram ([`to_html`]), plain text
//! ([`to_plain`]) and terminals ([`to_ansi`]), and [`split`] for texts too
//! long for one Telegram message.
//!
//! Parsing never fails: anything that is not well-formed markup is shown as
//! typed. The module knows nothing of templates, messages or keyboards.

use std::mem;

/// A run of text with one style, as produced by [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Ordinary text, possibly spanning lines.
    Text {
        /// The text, with escapes resolved.
        text: String,
        /// Inside `**…**`.
        bold: bool,
        /// Inside `_…_`.
        italic: bool,
    },
    /// Inline code: `` `…` ``.
    Code(String),
    /// The lines of a fenced block, joined by `\n`.
    Pre(String),
}

/// Whether [`escape`] would change `value`.
pub fn needs_escape(value: &str) -> bool {
    value.chars().any(is_special)
}

/// Makes a value safe to insert into a markup text: backslash-escapes `\`,
/// `*`, `_` and `` ` `` so that [`parse`] shows them as typed.
///
/// # Example
///
/// ```
/// use guidebot::domain::markup::{escape, to_plain};
///
/// let name = "**snake_case**";
/// assert_eq!(escape(name), r"\*\*snake\_case\*\*");
/// assert_eq!(to_plain(&format!("Hi {}", escape(name))), "Hi **snake_case**");
/// ```
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if is_special(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Parses a markup text into styled pieces.
///
/// - A backslash before `\`, `*`, `_` or `` ` `` gives that character
///   literally; before anything else it is an ordinary backslash.
/// - `**` switches bold on and off.
/// - `_` starts italic only when not preceded by an ASCII letter or digit,
///   and ends it only when not followed by one, so `snake_case` stays as is
///   while `这是_斜体_。` is italic.
/// - `` `…` `` is inline code and a line of three backticks opens or closes
///   a fenced block; inside both, only escapes are resolved.
/// - Markers left open at the end, and fences or backticks without a
///   partner, are shown literally.
///
/// Adjacent text pieces with the same style are merged; no piece is empty
/// except a [`Piece::Pre`] of an empty fenced block.
///
/// # Example
///
/// ```
/// use guidebot::domain::markup::{parse, Piece};
///
/// assert_eq!(
///     parse("pay **now**"),
///     vec![
///         Piece::Text { text: "pay ".into(), bold: false, italic: false },
///         Piece::Text { text: "now".into(), bold: true, italic: false },
///     ],
/// );
/// assert_eq!(
///     parse("**open"),
///     vec![Piece::Text { text: "**open".into(), bold: false, italic: false }],
/// );
/// ```
pub fn parse(text: &str) -> Vec<Piece> {
    let lines = line_spans(text);
    let mut parser = Parser::default();
    let mut inline_start = 0;
    let mut i = 0;
    while i < lines.len() {
        let (start, end) = lines[i];
        if !is_fence(&text[start..end]) {
            i += 1;
            continue;
        }
        parser.inline(&text[inline_start..start]);
        let close = (i + 1..lines.len()).find(|&j| is_fence(&text[lines[j].0..lines[j].1]));
        let Some(close) = close else {
            // A fence that is never closed is shown as typed.
            parser.literal(&text[start..end]);
            inline_start = end;
            i += 1;
            continue;
        };
        let content = if close > i + 1 { &text[lines[i + 1].0..lines[close - 1].1] } else { "" };
        parser.pre(content);
        inline_start = lines[close].1;
        i = close + 1;
    }
    parser.inline(&text[inline_start..]);
    parser.finish()
}

/// Renders a markup text for Telegram's HTML parse mode: `<b>`, `<i>`,
/// `<code>` and `<pre>`, with `&`, `<`, `>` and `"` written as entities.
///
/// # Example
///
/// ```
/// use guidebot::domain::markup::to_html;
///
/// assert_eq!(to_html("**a<b** & `x`"), "<b>a&lt;b</b> &amp; <code>x</code>");
/// ```
pub fn to_html(text: &str) -> String {
    render_html(&parse(text))
}

/// Renders a markup text as plain text: markers removed, escapes resolved,
/// fenced blocks kept as their lines.
///
/// # Example
///
/// ```
/// use guidebot::domain::markup::to_plain;
///
/// assert_eq!(to_plain("**Copy:**\n```\nHB-42\n```\ndone \\_"), "Copy:\nHB-42\ndone _");
/// ```
pub fn to_plain(text: &str) -> String {
    parse(text).iter().map(piece_text).collect()
}

/// Renders a markup text for a terminal with ANSI escapes: bold, italic,
/// and cyan for code and fenced blocks.
///
/// # Example
///
/// ```
/// use guidebot::domain::markup::to_ansi;
///
/// assert_eq!(to_ansi("**a** `b`"), "\x1b[1ma\x1b[22m \x1b[36mb\x1b[39m");
/// ```
pub fn to_ansi(text: &str) -> String {
    let mut out = String::new();
    for piece in parse(text) {
        match piece {
            Piece::Text { text, bold, italic } => {
                out.push_str(if bold { "\x1b[1m" } else { "" });
                out.push_str(if italic { "\x1b[3m" } else { "" });
                out.push_str(&text);
                out.push_str(if italic { "\x1b[23m" } else { "" });
                out.push_str(if bold { "\x1b[22m" } else { "" });
            }
            Piece::Code(text) | Piece::Pre(text) => {
                out.push_str("\x1b[36m");
                out.push_str(&text);
                out.push_str("\x1b[39m");
            }
        }
    }
    out
}

/// Splits a markup text into markup parts whose [`to_html`] rendering is at
/// most `max_utf16` UTF-16 code units each (Telegram allows 4096).
///
/// A text that fits is returned unchanged as the only part; a text with
/// nothing but whitespace to show gives no parts, as Telegram refuses to
/// send those. Otherwise each part takes as many
/// whole lines as fit and the line break at the cut is dropped; a single
/// line that is too long on its own is cut between characters. Styles and
/// fenced blocks open across a cut are closed at the end of one part and
/// reopened at the start of the next, so every part stands on its own.
/// Blank (empty or whitespace-only) lines at the edges of a part, fenced
/// or not, are dropped, and so are parts made only of them.
///
/// The parts are written anew from the parsed text, so their markup may
/// differ from the original's (styles are closed at each line end) while
/// showing the same. A limit too small for one character with its tags
/// (20 is always enough) still gives one character per part.
///
/// # Example
///
/// ```
/// use guidebot::domain::markup::split;
///
/// let text = "**first line\nsecond line**";
/// assert_eq!(split(text, 4096), [text]);
/// assert_eq!(split(text, 20), ["**first line**", "**second line**"]);
/// ```
pub fn split(text: &str, max_utf16: usize) -> Vec<String> {
    let pieces = parse(text);
    if pieces.iter().all(|piece| piece_text(piece).trim().is_empty()) {
        return Vec::new();
    }
    let visible: usize = pieces.iter().map(|p| utf16_len(piece_text(p))).sum();
    if visible <= max_utf16 {
        return vec![text.to_owned()];
    }
    let mut packer = Packer { max: max_utf16, parts: Vec::new(), lines: Vec::new(), cost: 0 };
    for line in lines_of(&pieces) {
        packer.push(line);
    }
    packer.flush();
    packer.parts
}

fn piece_text(piece: &Piece) -> &str {
    match piece {
        Piece::Text { text, .. } | Piece::Code(text) | Piece::Pre(text) => text,
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '\\' | '*' | '_' | '`')
}

/// Whether `_` next to this character is part of a word, as in `snake_case`.
fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

fn is_fence(line: &str) -> bool {
    line.trim() == "```"
}

/// Byte ranges of the lines of `text`, without their `\n`.
fn line_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for (i, _) in text.match_indices('\n') {
        spans.push((start, i));
        start = i + 1;
    }
    spans.push((start, text.len()));
    spans
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(&next) if c == '\\' && is_special(next) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Where a style was switched on, so that it can be switched back off and
/// shown literally if it is never closed.
#[derive(Clone, Copy)]
struct Opening {
    /// Index in `Parser::pieces` of the first piece in this style.
    index: usize,
    /// Order of openings, so that rewrites happen innermost first.
    seq: usize,
    /// The other style (italic for bold, bold for italic) at that point.
    other: bool,
}

#[derive(Default)]
struct Parser {
    pieces: Vec<Piece>,
    buf: String,
    bold: bool,
    italic: bool,
    bold_open: Option<Opening>,
    italic_open: Option<Opening>,
    openings: usize,
}

impl Parser {
    fn flush(&mut self) {
        if !self.buf.is_empty() {
            self.pieces.push(Piece::Text { text: mem::take(&mut self.buf), bold: self.bold, italic: self.italic });
        }
    }

    fn literal(&mut self, text: &str) {
        self.buf.push_str(text);
    }

    fn pre(&mut self, content: &str) {
        self.flush();
        self.pieces.push(Piece::Pre(unescape(content)));
    }

    fn opening(&mut self, other: bool) -> Opening {
        self.openings += 1;
        Opening { index: self.pieces.len(), seq: self.openings, other }
    }

    fn toggle_bold(&mut self) {
        self.flush();
        self.bold = !self.bold;
        self.bold_open = self.bold.then(|| self.opening(self.italic));
    }

    fn toggle_italic(&mut self) {
        self.flush();
        self.italic = !self.italic;
        self.italic_open = self.italic.then(|| self.opening(self.bold));
    }

    /// Parses a stretch of text that holds no fence line.
    fn inline(&mut self, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match c {
                '\\' if next.is_some_and(is_special) => {
                    self.buf.extend(next);
                    i += 2;
                }
                '*' if next == Some('*') => {
                    self.toggle_bold();
                    i += 2;
                }
                '_' => {
                    let prev = i.checked_sub(1).map(|p| chars[p]);
                    let marks = if self.italic { !is_word(next) } else { !is_word(prev) };
                    if marks {
                        self.toggle_italic();
                    } else {
                        self.buf.push('_');
                    }
                    i += 1;
                }
                // An empty span is no code: `` and an inline ``` show as typed.
                '`' if next == Some('`') => {
                    self.buf.push_str("``");
                    i += 2;
                }
                '`' => match closing_backtick(&chars, i + 1) {
                    Some(end) => {
                        let code: String = chars[i + 1..end].iter().collect();
                        self.flush();
                        self.pieces.push(Piece::Code(unescape(&code)));
                        i = end + 1;
                    }
                    None => {
                        self.buf.push('`');
                        i += 1;
                    }
                },
                _ => {
                    self.buf.push(c);
                    i += 1;
                }
            }
        }
    }

    fn finish(mut self) -> Vec<Piece> {
        self.flush();
        let mut open: Vec<(Opening, bool)> =
            [self.bold_open.map(|o| (o, true)), self.italic_open.map(|o| (o, false))].into_iter().flatten().collect();
        // Undo the later opening first: its marker then sits inside the
        // earlier one's stretch and loses that style too.
        open.sort_by_key(|(o, _)| std::cmp::Reverse(o.seq));
        for (opening, is_bold) in open {
            for piece in &mut self.pieces[opening.index..] {
                if let Piece::Text { bold, italic, .. } = piece {
                    *(if is_bold { bold } else { italic }) = false;
                }
            }
            let marker = Piece::Text {
                text: (if is_bold { "**" } else { "_" }).to_owned(),
                bold: !is_bold && opening.other,
                italic: is_bold && opening.other,
            };
            self.pieces.insert(opening.index, marker);
        }
        merge(self.pieces)
    }
}

/// Index of the backtick closing inline code opened just before `from`.
fn closing_backtick(chars: &[char], from: usize) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        match chars[j] {
            '\\' if chars.get(j + 1).copied().is_some_and(is_special) => j += 2,
            '`' => return Some(j),
            _ => j += 1,
        }
    }
    None
}

fn merge(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut merged: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        if let Piece::Text { text, bold, italic } = &piece {
            if text.is_empty() {
                continue;
            }
            if let Some(Piece::Text { text: last, bold: b, italic: i }) = merged.last_mut()
                && (*b, *i) == (*bold, *italic)
            {
                last.push_str(text);
                continue;
            }
        }
        merged.push(piece);
    }
    merged
}

// Telegram's tags as (opening, closing); `split` counts their lengths.
const BOLD: (&str, &str) = ("<b>", "</b>");
const ITALIC: (&str, &str) = ("<i>", "</i>");
const CODE: (&str, &str) = ("<code>", "</code>");
const PRE: (&str, &str) = ("<pre>", "</pre>");

fn render_html(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for piece in pieces {
        let (tags, text): (&[_], _) = match piece {
            Piece::Text { text, bold, italic } => match (bold, italic) {
                (true, true) => (&[BOLD, ITALIC], text),
                (true, false) => (&[BOLD], text),
                (false, true) => (&[ITALIC], text),
                (false, false) => (&[], text),
            },
            Piece::Code(text) => (&[CODE], text),
            Piece::Pre(text) => (&[PRE], text),
        };
        tags.iter().for_each(|(open, _)| out.push_str(open));
        for c in text.chars() {
            match html_entity(c) {
                Some(entity) => out.push_str(entity),
                None => out.push(c),
            }
        }
        tags.iter().rev().for_each(|(_, close)| out.push_str(close));
    }
    out
}

/// The entity that stands for `c` in Telegram HTML, if it needs one.
fn html_entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        _ => None,
    }
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

// What follows serves `split`: the parsed text is cut into lines of
// styled characters, packed greedily into parts while counting what
// Telegram counts for each part (the visible text after entity parsing:
// tags are free and `&amp;` is one character), and each part is written
// back as markup that closes every style at the end of its line.

/// UTF-16 length Telegram counts for one character.
fn visible_cost(c: char) -> usize {
    c.len_utf16()
}

/// The style of one character of an inline line. Code spans are numbered so
/// that two adjacent spans stay two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text { bold: bool, italic: bool },
    Code(usize),
}

#[derive(Debug)]
enum Line {
    Inline(Vec<(Kind, char)>),
    /// One line of the fenced block numbered `block`.
    Pre {
        block: usize,
        text: String,
    },
}

fn lines_of(pieces: &[Piece]) -> Vec<Line> {
    let mut lines = vec![Line::Inline(Vec::new())];
    let mut codes = 0;
    let mut blocks = 0;
    for piece in pieces {
        match piece {
            Piece::Text { text, bold, italic } => {
                let kind = Kind::Text { bold: *bold, italic: *italic };
                push_inline(&mut lines, kind, text);
            }
            Piece::Code(text) => {
                codes += 1;
                push_inline(&mut lines, Kind::Code(codes), text);
            }
            Piece::Pre(text) => {
                blocks += 1;
                // `parse` puts a fence right after a line break, so the
                // current line is the empty one the block replaces.
                if matches!(lines.last(), Some(Line::Inline(atoms)) if atoms.is_empty()) {
                    lines.pop();
                }
                for line in text.split('\n') {
                    lines.push(Line::Pre { block: blocks, text: line.to_owned() });
                }
            }
        }
    }
    lines
}

fn push_inline(lines: &mut Vec<Line>, kind: Kind, text: &str) {
    for c in text.chars() {
        if c == '\n' {
            lines.push(Line::Inline(Vec::new()));
            continue;
        }
        match lines.last_mut() {
            Some(Line::Inline(atoms)) => atoms.push((kind, c)),
            // Text after a fenced block starts with a line break, so this
            // only guards against losing characters.
            _ => lines.push(Line::Inline(vec![(kind, c)])),
        }
    }
}

fn inline_cost(atoms: &[(Kind, char)]) -> usize {
    atoms.iter().map(|&(_, c)| visible_cost(c)).sum()
}

struct Packer {
    max: usize,
    parts: Vec<String>,
    lines: Vec<Line>,
    /// UTF-16 length of the HTML of `lines` as one part.
    cost: usize,
}

impl Packer {
    /// How much longer the current part's HTML gets with `line` appended.
    fn added_cost(&self, line: &Line) -> usize {
        let joiner = usize::from(!self.lines.is_empty());
        joiner
            + match line {
                Line::Inline(atoms) => inline_cost(atoms),
                Line::Pre { text, .. } => text.chars().map(visible_cost).sum::<usize>(),
            }
    }

    fn add(&mut self, line: Line) {
        self.cost += self.added_cost(&line);
        self.lines.push(line);
    }

    fn push(&mut self, line: Line) {
        if self.cost + self.added_cost(&line) <= self.max {
            self.add(line);
            return;
        }
        self.flush();
        if self.added_cost(&line) <= self.max {
            self.add(line);
            return;
        }
        let mut chunks = cut(line, self.max);
        let last = chunks.pop();
        for chunk in chunks {
            self.add(chunk);
            self.flush();
        }
        if let Some(last) = last {
            self.add(last);
        }
    }

    /// Ends the current part. Blank lines at its edges are dropped, as
    /// Telegram trims them and refuses a message with nothing else; a part
    /// of only blank lines is no part.
    fn flush(&mut self) {
        let blank = |line: &Line| match line {
            Line::Inline(atoms) => atoms.iter().all(|(_, c)| c.is_whitespace()),
            Line::Pre { text, .. } => text.trim().is_empty(),
        };
        let start = self.lines.iter().position(|l| !blank(l));
        let end = self.lines.iter().rposition(|l| !blank(l));
        if let (Some(start), Some(end)) = (start, end) {
            self.parts.push(render_markup(&self.lines[start..=end]));
        }
        self.lines.clear();
        self.cost = 0;
    }
}

/// Cuts a line too long for one part into pieces that each fit alone, at
/// least one character each.
fn cut(line: Line, max: usize) -> Vec<Line> {
    match line {
        Line::Inline(atoms) => {
            let mut chunks = Vec::new();
            let mut chunk: Vec<(Kind, char)> = Vec::new();
            let mut cost = 0;
            for (kind, c) in atoms {
                if !chunk.is_empty() && cost + visible_cost(c) > max {
                    chunks.push(Line::Inline(mem::take(&mut chunk)));
                    cost = 0;
                }
                cost += visible_cost(c);
                chunk.push((kind, c));
            }
            chunks.push(Line::Inline(chunk));
            chunks
        }
        Line::Pre { block, text } => {
            let mut chunks = Vec::new();
            let mut chunk = String::new();
            let mut cost = 0;
            for c in text.chars() {
                if !chunk.is_empty() && cost + visible_cost(c) > max {
                    chunks.push(mem::take(&mut chunk));
                    cost = 0;
                }
                cost += visible_cost(c);
                chunk.push(c);
            }
            chunks.push(chunk);
            chunks.into_iter().map(|text| Line::Pre { block, text }).collect()
        }
    }
}

/// Writes lines back as markup that `parse` reads as exactly those lines.
fn render_markup(lines: &[Line]) -> String {
    let mut out = String::new();
    for (k, line) in lines.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        match line {
            Line::Inline(atoms) => render_inline(&mut out, atoms),
            Line::Pre { block, text } => {
                let same_block = |other: Option<&Line>| matches!(other, Some(Line::Pre { block: b, .. }) if b == block);
                if !same_block(k.checked_sub(1).and_then(|p| lines.get(p))) {
                    out.push_str("```\n");
                }
                out.push_str(&escape(text));
                if !same_block(lines.get(k + 1)) {
                    out.push_str("\n```");
                }
            }
        }
    }
    out
}

fn render_inline(out: &mut String, atoms: &[(Kind, char)]) {
    let mut style = (false, false);
    let mut rest = atoms;
    while let Some(&(kind, _)) = rest.first() {
        let len = rest.iter().take_while(|(k, _)| *k == kind).count();
        let (run, after) = rest.split_at(len);
        let text: String = run.iter().map(|&(_, c)| c).collect();
        let escaped = escape(&text);
        match kind {
            Kind::Text { bold, italic } => {
                restyle(out, &mut style, (bold, italic), escaped.chars().next());
                out.push_str(&escaped);
            }
            Kind::Code(_) => {
                out.push('`');
                out.push_str(&escaped);
                out.push('`');
            }
        }
        rest = after;
    }
    restyle(out, &mut style, (false, false), None);
}

/// Writes the markers that switch from `style` to `want` (bold, italic)
/// before a text starting with `next`.
///
/// An italic marker touching a letter or digit would be read as part of a
/// word, so it is kept apart by a bold marker: the bold change itself if
/// there is one, or else an empty `****`.
fn restyle(out: &mut String, style: &mut (bool, bool), want: (bool, bool), next: Option<char>) {
    let bold_changes = style.0 != want.0;
    if style.1 && !want.1 {
        out.push('_');
        if bold_changes {
            out.push_str("**");
        } else if is_word(next) {
            out.push_str("****");
        }
    } else if !style.1 && want.1 {
        if bold_changes {
            out.push_str("**");
        } else if is_word(out.chars().next_back()) {
            out.push_str("****");
        }
        out.push('_');
    } else if bold_changes {
        out.push_str("**");
    }
    *style = want;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str, bold: bool, italic: bool) -> Piece {
        Piece::Text { text: text.to_owned(), bold, italic }
    }

    fn plain(s: &str) -> Piece {
        text(s, false, false)
    }

    #[test]
    fn escapes_markup_characters() {
        assert_eq!(escape(r"a\b*c_d`e"), r"a\\b\*c\_d\`e");
        assert_eq!(escape("普通文本 <ok>"), "普通文本 <ok>");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn escape_then_parse_gives_one_literal_piece() {
        let values = [
            "**not bold**",
            "_not italic_",
            "`not code`",
            "```\nnot a fence\n```",
            "\\",
            "\\\\*",
            "a\\b",
            "***___```\\\\\\",
            "snake_case and _x_ and **",
            "中文_斜体_ **粗体**",
            "<script>alert(\"x\")</script> & co",
            "line\n\nline\r\n",
            "🙂_\u{301}*",
        ];
        for value in values {
            assert_eq!(parse(&escape(value)), vec![plain(value)], "{value:?}");
        }
        // Every string over a small alphabet of troublemakers, up to length 5.
        let alphabet = ['\\', '*', '_', '`', 'a', '\n', '中'];
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> =
                strings.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
            for value in &longer {
                assert_eq!(parse(&escape(value)), vec![plain(value)], "{value:?}");
            }
            strings = longer;
        }
    }

    #[test]
    fn parses_bold_italic_and_both() {
        assert_eq!(
            parse("a **b** _c_ **_d_**"),
            vec![
                plain("a "),
                text("b", true, false),
                plain(" "),
                text("c", false, true),
                plain(" "),
                text("d", true, true),
            ]
        );
        assert_eq!(
            parse("**bold _both_ bold**"),
            vec![text("bold ", true, false), text("both", true, true), text(" bold", true, false),]
        );
    }

    #[test]
    fn underscores_inside_words_stay_literal() {
        assert_eq!(parse("snake_case"), vec![plain("snake_case")]);
        assert_eq!(parse("a_b"), vec![plain("a_b")]);
        assert_eq!(parse("x_1_y"), vec![plain("x_1_y")]);
        assert_eq!(parse("_snake_case_"), vec![text("snake_case", false, true)]);
        assert_eq!(parse("这是_斜体_。"), vec![plain("这是"), text("斜体", false, true), plain("。")]);
    }

    #[test]
    fn escapes_give_literal_characters() {
        assert_eq!(parse(r"\*\*no\*\* \_no\_ \`no\`"), vec![plain("**no** _no_ `no`")]);
        assert_eq!(parse(r"C:\Users\n"), vec![plain(r"C:\Users\n")]);
        assert_eq!(parse("end\\"), vec![plain("end\\")]);
        assert_eq!(parse(r"**a\*b**"), vec![text("a*b", true, false)]);
    }

    #[test]
    fn parses_inline_code() {
        assert_eq!(
            parse("run `a **b** _c_ \\` d`!"),
            vec![plain("run "), Piece::Code("a **b** _c_ ` d".into()), plain("!")]
        );
        assert_eq!(parse("x `` y"), vec![plain("x `` y")]);
        assert_eq!(parse("say ``` twice"), vec![plain("say ``` twice")]);
        assert_eq!(parse("````"), vec![plain("````")]);
        assert_eq!(parse("`a``b`"), vec![Piece::Code("a".into()), Piece::Code("b".into())]);
    }

    #[test]
    fn parses_fenced_blocks() {
        assert_eq!(
            parse("Copy:\n```\nHB **42**\n_x_ \\`\n```\nthen pay"),
            vec![plain("Copy:\n"), Piece::Pre("HB **42**\n_x_ `".into()), plain("\nthen pay"),]
        );
        assert_eq!(parse("```\n```"), vec![Piece::Pre(String::new())]);
        assert_eq!(parse(" ``` \nx\n```  "), vec![Piece::Pre("x".into())]);
        assert_eq!(
            parse("```\na\n```\n```\nb\n```"),
            vec![Piece::Pre("a".into()), plain("\n"), Piece::Pre("b".into())]
        );
    }

    #[test]
    fn unbalanced_markers_are_shown_literally() {
        assert_eq!(parse("**open"), vec![plain("**open")]);
        assert_eq!(parse("_open"), vec![plain("_open")]);
        assert_eq!(parse("a `open"), vec![plain("a `open")]);
        assert_eq!(parse("**a** **b _c"), vec![text("a", true, false), plain(" **b _c")]);
        assert_eq!(parse("_a **b_ c"), vec![text("a **b", false, true), plain(" c")]);
        assert_eq!(parse("**a _b** c"), vec![text("a _b", true, false), plain(" c")]);
        assert_eq!(parse("**_x"), vec![plain("**_x")]);
        assert_eq!(parse("_**x"), vec![plain("_**x")]);
        assert_eq!(parse("***"), vec![plain("***")]);
        assert_eq!(
            parse("before\n```\nnever closed\n**b**"),
            vec![plain("before\n```\nnever closed\n"), text("b", true, false)]
        );
    }

    #[test]
    fn merges_adjacent_pieces_with_equal_style() {
        assert_eq!(parse("a****b"), vec![plain("ab")]);
        assert_eq!(parse("**a****b**"), vec![text("ab", true, false)]);
        assert_eq!(parse(""), vec![]);
        assert_eq!(parse("****"), vec![]);
    }

    #[test]
    fn renders_html_with_entities() {
        assert_eq!(
            to_html("<script>alert(\"x\")</script> & **<b>**"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; <b>&lt;b&gt;</b>"
        );
        assert_eq!(to_html("`a<b` and\n```\nif a && b\n```"), "<code>a&lt;b</code> and\n<pre>if a &amp;&amp; b</pre>");
        assert_eq!(to_html("**bold _both_**_it_"), "<b>bold </b><b><i>both</i></b><i>it</i>");
    }

    #[test]
    fn renders_plain_text() {
        assert_eq!(
            to_plain("**Pay** _now_: `HB-1`\n```\nline 1\nline 2\n```\n\\* done"),
            "Pay now: HB-1\nline 1\nline 2\n* done"
        );
        assert_eq!(to_plain("snake_case **"), "snake_case **");
    }

    #[test]
    fn renders_ansi() {
        assert_eq!(to_ansi("**b** _i_ **_bi_**"), "\x1b[1mb\x1b[22m \x1b[3mi\x1b[23m \x1b[1m\x1b[3mbi\x1b[23m\x1b[22m");
        assert_eq!(to_ansi("`c`\n```\np\n```"), "\x1b[36mc\x1b[39m\n\x1b[36mp\x1b[39m");
    }

    /// Checks what `split` promises: each part fits, and the parts' plain
    /// texts give back the whole text's plain text once the cut line breaks
    /// are ignored.
    fn check_split(text: &str, max: usize) -> Vec<String> {
        let parts = split(text, max);
        for part in &parts {
            // What Telegram counts: the visible text, entities as one character.
            let len = utf16_len(&to_plain(part));
            assert!(len <= max, "part of {len} > {max}: {part:?}");
            assert!(!to_plain(part).trim().is_empty(), "{part:?} from {text:?}");
        }
        let joined: String = parts.iter().map(|p| to_plain(p)).collect();
        let whole = to_plain(text);
        // Only line breaks at cuts and blank lines at part edges are gone:
        // the joined text is the whole with some whitespace deleted.
        let mut rest = joined.chars().peekable();
        for c in whole.chars() {
            if rest.peek() == Some(&c) {
                rest.next();
            } else {
                assert!(c.is_whitespace(), "{c:?} lost from {text:?}");
            }
        }
        assert_eq!(rest.collect::<String>(), "", "{text:?}");
        parts
    }

    #[test]
    fn split_keeps_a_short_text_whole() {
        let text = "**Hi** _there_\n```\ncode\n```";
        assert_eq!(split(text, 4096), [text]);
        assert_eq!(split(text, utf16_len(&to_html(text))), [text]);
        assert_eq!(split("", 10), Vec::<String>::new());
        assert_eq!(split("****", 10), Vec::<String>::new());
        assert_eq!(split(" \n\n```\n \n```", 10), Vec::<String>::new());
    }

    #[test]
    fn split_cuts_at_the_last_line_break_that_fits() {
        let text = "aaaa\nbbbb\ncccc\ndddd";
        assert_eq!(check_split(text, 9), ["aaaa\nbbbb", "cccc\ndddd"]);
        assert_eq!(check_split(text, 14), ["aaaa\nbbbb\ncccc", "dddd"]);
        assert_eq!(check_split(text, 8), ["aaaa", "bbbb", "cccc", "dddd"]);
        assert_eq!(check_split("aaaa\n\n\n\nbbbb", 5), ["aaaa", "bbbb"]);
    }

    #[test]
    fn split_counts_utf16_units_of_long_chinese_text() {
        // 30 lines of 100 CJK characters (one UTF-16 unit each) and an
        // emoji (two units) per line.
        let line = format!("{}🙂", "花呗逾期还款".repeat(17).chars().take(100).collect::<String>());
        assert_eq!(utf16_len(&line), 102);
        let text = vec![line.clone(); 30].join("\n");
        assert!(text.len() > 4096);
        let parts = check_split(&text, 1000);
        // Nine lines of 102 plus eight line breaks make 926; a tenth does not fit.
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0], vec![line.clone(); 9].join("\n"));
        assert_eq!(parts[3], vec![line; 3].join("\n"));
    }

    #[test]
    fn split_cuts_an_overlong_line_between_characters() {
        let text = "中".repeat(25);
        let parts = check_split(&text, 10);
        assert_eq!(parts, ["中".repeat(10), "中".repeat(10), "中".repeat(5)]);
        let emoji = "🙂".repeat(5);
        assert_eq!(check_split(&emoji, 5), ["🙂🙂", "🙂🙂", "🙂"]);
        // As Telegram counts: `&` is one character, though it is sent as `&amp;`.
        assert_eq!(check_split("&&&", 3), ["&&&"]);
        assert_eq!(check_split("&&&", 2), ["&&", "&"]);
    }

    #[test]
    fn split_closes_and_reopens_a_long_fence() {
        let body: Vec<String> = (1..=40).map(|i| format!("line {i:02} <x>")).collect();
        let text = format!("Copy this:\n```\n{}\n```\nThen send it.", body.join("\n"));
        let parts = check_split(&text, 200);
        assert!(parts.len() > 2);
        for part in &parts[1..parts.len() - 1] {
            assert!(part.starts_with("```\n") && part.ends_with("\n```"), "{part:?}");
            assert!(matches!(parse(part).as_slice(), [Piece::Pre(_)]));
        }
        assert!(parts[0].starts_with("Copy this:\n```\nline 01 <x>"));
        assert!(parts[0].ends_with("\n```"));
        assert!(parts[parts.len() - 1].ends_with("\n```\nThen send it."));
        let pre_lines: Vec<String> = parts
            .iter()
            .flat_map(|p| parse(p))
            .filter_map(|p| match p {
                Piece::Pre(text) => Some(text),
                _ => None,
            })
            .flat_map(|t| t.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        assert_eq!(pre_lines, body);
    }

    #[test]
    fn split_closes_and_reopens_styles_across_the_cut() {
        let source = "**bold one\nbold two _and italic\nstill both_ bold**\nplain";
        let parts = check_split(source, 21);
        assert_eq!(parts, ["**bold one**", "**bold two _and italic_**", "**_still both_ bold**\nplain",]);
        let pieces: Vec<Piece> = parts.iter().flat_map(|p| parse(p)).collect();
        assert!(pieces.iter().all(|p| matches!(p, Piece::Text { .. })));
        assert_eq!(pieces[0], text("bold one", true, false));
        assert_eq!(pieces[pieces.len() - 1], plain("\nplain"));
    }

    #[test]
    fn split_writes_parts_that_parse_back_to_the_same_pieces() {
        // Italic right after a word character needs `****` to keep its
        // marker apart; the part after the cut must be written that way.
        let line = "x****_abc_****y and **_def_**x\\_y `c1``c2`";
        let source = format!("{}\n{line}", "a".repeat(20));
        let parts = check_split(&source, 30);
        assert_eq!(parts, ["a".repeat(20), line.to_owned()]);
        let whole = parse(&source);
        let second = parse(&parts[1]);
        assert_eq!(second[0], plain("x"));
        assert_eq!(second[1..], whole[1..]);
        assert_eq!(second[1], text("abc", false, true));
    }

    #[test]
    fn split_respects_the_limit_on_varied_texts() {
        let samples = [
            "**粗体**和_斜体_, `code` & <tag> \"quoted\"",
            "```\nfenced & <pre>\n```",
            "plain line",
            "_italic over\ntwo lines_",
            "snake_case_word **b**",
            "",
            "🙂🙂🙂 emoji line",
            "**open bold never closed",
            "```",
        ];
        let mut text = String::new();
        for i in 0..120 {
            text.push_str(samples[i % samples.len()]);
            text.push('\n');
        }
        for max in [20, 21, 25, 40, 64, 100, 333, 1000, 4096] {
            check_split(&text, max);
        }
    }

    #[test]
    fn split_holds_its_promises_on_random_markup() {
        // A fixed-seed generator over tokens that interact: markers, escapes,
        // fences, entities, word characters and wide characters.
        let tokens = [
            "**", "_", "`", "\\", "\\*", "\\_", "\\`", "\n", "\n```\n", "a", "Z9", " ", "中文", "🙂", "&", "<", "\"",
            "*", "```",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as usize
        };
        let mut rewritten = 0;
        for round in 0..600 {
            let len = 1 + next() % 80;
            let source: String = (0..len).map(|_| tokens[next() % tokens.len()]).collect();
            let max = 5 + (round % 7) * 6;
            let parts = check_split(&source, max);
            if parts.len() < 2 {
                continue;
            }
            rewritten += 1;
            for part in &parts {
                // A part reads back as the lines it was written from, and
                // the length `split` counted for them is the real one.
                let lines = lines_of(&parse(part));
                assert_eq!(&render_markup(&lines), part, "{source:?}");
                let mut packer = Packer { max: usize::MAX, parts: Vec::new(), lines: Vec::new(), cost: 0 };
                lines.into_iter().for_each(|line| packer.add(line));
                assert_eq!(packer.cost, utf16_len(&to_plain(part)), "{part:?}");
            }
        }
        assert!(rewritten > 400, "only {rewritten} texts were split");
    }

    #[test]
    fn split_still_progresses_below_the_smallest_useful_limit() {
        let parts = split("**ab**", 1);
        assert_eq!(parts, ["**a**", "**b**"]);
        assert_eq!(split("ab", 0), ["a", "b"]);
    }
}
