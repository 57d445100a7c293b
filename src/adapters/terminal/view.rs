//! What the user sees: the engine's output as terminal text. Every text is
//! cleaned of terminal control first ([`clean`]), then styled (or left plain)
//! and wrapped to the width; fenced blocks, which are there to be copied, are
//! not wrapped.

use std::fmt::Write as _;

use super::sanitize::{clean, markdown_document};
use super::words::for_typing;
use super::wrap::{hanging_indent, visible_width, wrap_line};
use crate::domain::engine::{Action, Document, Edit, Message, Output};
use crate::domain::markup::{self, Piece};

/// How output is drawn.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// Bold, italic and code as terminal styles (only on a terminal).
    pub styled: bool,
    /// Columns to wrap at; None leaves lines as they are.
    pub width: Option<usize>,
}

impl View {
    /// One output. `back`, when given, is the label of a `0)` entry added under the
    /// buttons now on screen (a side list such as `/review`'s, left with `0`).
    pub fn render(&self, output: &Output, back: Option<&str>) -> String {
        let keyboard = output.last_keyboard();
        let back_of = |m: &Message| back.filter(|_| keyboard.is_some_and(|k| std::ptr::eq(k, m)));
        let mut s = String::new();
        if let Some(Edit::Replace(m)) = &output.edit {
            // Same question, new ticks: the buttons are enough, as in Telegram's in-place edit.
            s.push_str(&self.buttons(m, back_of(m)));
            s.push('\n');
        }
        for m in &output.messages {
            s.push_str(&self.message(m, back_of(m)));
        }
        if let Some(d) = &output.document {
            s.push_str(&self.document(d));
        }
        s
    }

    /// A message and its buttons, followed by a blank line.
    pub fn message(&self, m: &Message, back: Option<&str>) -> String {
        let mut s = self.text(&m.text);
        s.push('\n');
        s.push_str(&self.buttons(m, back));
        s.push('\n');
        s
    }

    /// A markup text as it is shown (no newline at the end).
    pub fn text(&self, text: &str) -> String {
        let text = clean(text);
        let text = for_typing(&text);
        let mut out = String::new();
        for (i, (line, wrap)) in self.lines(&text).into_iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            match self.width {
                Some(w) if wrap => {
                    // A tab's width depends on where it falls; spaces wrap predictably.
                    let line = line.replace('\t', "    ");
                    out.push_str(&wrap_line(&line, w, hanging_indent(&line)).join("\n"));
                }
                _ => out.push_str(&line),
            }
        }
        out
    }

    /// The lines of a markup text, styled or plain, each with whether it may be wrapped.
    fn lines(&self, text: &str) -> Vec<(String, bool)> {
        let mut lines = vec![(String::new(), true)];
        for piece in markup::parse(text) {
            let (open, body, close, pre) = match piece {
                Piece::Text { text, bold, italic } => {
                    let open = format!("{}{}", if bold { "\x1b[1m" } else { "" }, if italic { "\x1b[3m" } else { "" });
                    let close =
                        format!("{}{}", if italic { "\x1b[23m" } else { "" }, if bold { "\x1b[22m" } else { "" });
                    (open, text, close, false)
                }
                Piece::Code(text) => ("\x1b[36m".to_owned(), text, "\x1b[39m".to_owned(), false),
                Piece::Pre(text) => ("\x1b[36m".to_owned(), text, "\x1b[39m".to_owned(), true),
            };
            if self.styled {
                push_last(&mut lines, &open);
            }
            for (i, part) in body.split('\n').enumerate() {
                if i > 0 {
                    lines.push((String::new(), true));
                }
                push_last(&mut lines, part);
                if pre && let Some(last) = lines.last_mut() {
                    last.1 = false;
                }
            }
            if self.styled {
                push_last(&mut lines, &close);
            }
        }
        lines
    }

    /// The buttons of `m`, one a line: numbered, or at a question answered by typing
    /// (where a typed number is an answer) as the words `/keep` and `/skip`.
    fn buttons(&self, m: &Message, back: Option<&str>) -> String {
        let mut s = String::new();
        for (i, b) in m.buttons.iter().flatten().enumerate() {
            let key = if m.typed { typed_key(b.press.action).to_owned() } else { format!("{})", i + 1) };
            self.entry(&mut s, &key, &b.label);
        }
        if let Some(label) = back {
            self.entry(&mut s, "0)", label);
        }
        s
    }

    fn entry(&self, s: &mut String, key: &str, label: &str) {
        let label = markup::to_plain(&clean(label));
        let line = format!("  {key} {label}");
        let hang = 3 + visible_width(key);
        match self.width {
            Some(w) => {
                for l in wrap_line(&line, w, hang) {
                    let _ = writeln!(s, "{l}");
                }
            }
            None => {
                let _ = writeln!(s, "{line}");
            }
        }
    }

    /// A file (the case file), between two marker lines, as `export` writes it.
    pub fn document(&self, d: &Document) -> String {
        let name = clean(&d.filename);
        format!("----- {name} -----\n{}\n----- end of {name} -----\n\n", markdown_document(&d.content).trim_end())
    }
}

/// What a button at a typed question is chosen with.
pub fn typed_key(action: Action) -> &'static str {
    match action {
        Action::Keep => "/keep",
        Action::Skip => "/skip",
        _ => "/?",
    }
}

fn push_last(lines: &mut [(String, bool)], s: &str) {
    if let Some(last) = lines.last_mut() {
        last.0.push_str(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::engine::{Button, Press};

    fn press(action: Action) -> Press {
        Press { seq: 1, node: 2, action }
    }

    fn plain(width: Option<usize>) -> View {
        View { styled: false, width }
    }

    #[test]
    fn plain_text_is_what_to_plain_gives() {
        let text = "**Copy:**\n```\nHB-42\n```\ndone \\_ and `code`";
        assert_eq!(plain(None).text(text), markup::to_plain(text));
        assert_eq!(plain(Some(80)).text(text), markup::to_plain(text));
    }

    #[test]
    fn styles_are_terminal_sequences_and_user_sequences_are_not() {
        let v = View { styled: true, width: Some(80) };
        assert_eq!(v.text("**Plan** \x1b]52;c;eA==\x07ok"), "\x1b[1mPlan\x1b[22m ok");
    }

    #[test]
    fn every_button_has_a_key() {
        let m = Message {
            text: "How much?".into(),
            buttons: vec![vec![
                Button { label: "Keep: ¥6,000.00".into(), press: press(Action::Keep) },
                Button { label: "Skip".into(), press: press(Action::Skip) },
            ]],
            typed: true,
        };
        assert_eq!(plain(None).message(&m, None), "How much?\n  /keep Keep: ¥6,000.00\n  /skip Skip\n\n");
        let m = Message {
            text: "Pick".into(),
            buttons: vec![
                vec![Button { label: "Change · Debt".into(), press: press(Action::Review(0)) }],
                vec![Button { label: "Change · Months".into(), press: press(Action::Review(1)) }],
            ],
            typed: false,
        };
        assert_eq!(
            plain(None).message(&m, Some("Back to the question")),
            "Pick\n  1) Change · Debt\n  2) Change · Months\n  0) Back to the question\n\n"
        );
    }

    #[test]
    fn long_labels_and_texts_wrap_under_themselves() {
        let m = Message {
            text: "- first item of a list that goes on well past the edge".into(),
            buttons: vec![vec![Button {
                label: "A choice whose label is long enough to need two lines".into(),
                press: press(Action::Choice(0)),
            }]],
            typed: false,
        };
        let shown = plain(Some(30)).message(&m, None);
        assert_eq!(
            shown,
            "- first item of a list that\n  goes on well past the edge\n  1) A choice whose label is\n     long enough to need two\n     lines\n\n"
        );
    }

    #[test]
    fn fenced_blocks_are_not_wrapped() {
        let line = "0123456789 0123456789 0123456789 0123456789";
        let shown = plain(Some(20)).text(&format!("Copy this:\n```\n{line}\n```"));
        assert_eq!(shown, format!("Copy this:\n{line}"));
    }

    #[test]
    fn documents_are_cleaned_and_escaped() {
        let d = Document {
            filename: "t\x1b[2J.md".into(),
            content: "# T\n\n- note: <script>x</script>\x1b]0;t\x07\n".into(),
        };
        assert_eq!(
            plain(None).document(&d),
            "----- t.md -----\n# T\n\n- note: &lt;script>x&lt;/script>\n----- end of t.md -----\n\n"
        );
    }
}
