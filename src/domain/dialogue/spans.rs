//! Where each key and value of a YAML file stands, so that diagnostics can
//! name a line and a column. `serde_yaml` gives typed values but no positions,
//! so the file is read a second time as marked events (`yaml-rust2`) and every
//! path (`nodes.amount.choices.1.goto`) is mapped to its position.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    /// The value is a block scalar (`|` or `>`); `line` and `col` are then those of its first text line.
    pub block: bool,
}

/// Positions of every key and value of one YAML document.
#[derive(Debug, Default, Clone)]
pub struct Spans {
    values: HashMap<String, Pos>,
    keys: HashMap<String, Pos>,
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

impl Spans {
    /// Indexes `text`.
    pub fn index(text: &str) -> Result<Spans, SyntaxError> {
        let mut recv = Receiver::default();
        let mut parser = Parser::new_from_str(text);
        parser.load(&mut recv, false).map_err(|e| SyntaxError {
            pos: Pos { line: e.marker().line(), col: e.marker().col() + 1, block: false },
            message: e.info().to_owned(),
        })?;
        Ok(recv.spans)
    }

    /// Position of the value at `path`, or of its nearest ancestor that has one.
    pub fn value(&self, path: &str) -> Pos {
        self.lookup(&self.values, path)
    }

    /// Position of the key at `path` (falls back to the value, then ancestors).
    pub fn key(&self, path: &str) -> Pos {
        if let Some(p) = self.keys.get(path) {
            return *p;
        }
        self.lookup(&self.values, path)
    }

    /// Whether the document has something at `path`.
    pub fn has(&self, path: &str) -> bool {
        self.values.contains_key(path)
    }

    fn lookup(&self, map: &HashMap<String, Pos>, path: &str) -> Pos {
        let mut p = path;
        loop {
            if let Some(pos) = map.get(p).or_else(|| self.keys.get(p)) {
                return *pos;
            }
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => return Pos { line: 1, col: 1, block: false },
            }
        }
    }
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Receiver {
    stack: Vec<Frame>,
    spans: Spans,
}

fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() { child.to_owned() } else { format!("{parent}.{child}") }
}

impl Receiver {
    /// The path a value arriving now belongs to, or None when it is a mapping key.
    fn value_path(&mut self) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { path, key }) => key.take().map(|k| join(path, &k)),
            Some(Frame::Seq { path, index }) => {
                let p = join(path, &index.to_string());
                *index += 1;
                Some(p)
            }
        }
    }

    fn pos(mark: Marker, block: bool) -> Pos {
        // yaml-rust2 counts lines from 1 and columns from 0.
        Pos { line: mark.line(), col: mark.col() + 1, block }
    }
}

impl MarkedEventReceiver for Receiver {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, style, ..) => {
                let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
                match self.value_path() {
                    Some(path) => {
                        self.spans.values.insert(path, Self::pos(mark, block));
                    }
                    None => {
                        if let Some(Frame::Map { path, key }) = self.stack.last_mut() {
                            let full = join(path, &text);
                            self.spans.keys.insert(full, Self::pos(mark, false));
                            *key = Some(text);
                        }
                    }
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let path = self.value_path().unwrap_or_default();
                self.spans.values.insert(path.clone(), Self::pos(mark, false));
                if matches!(ev, Event::MappingStart(..)) {
                    self.stack.push(Frame::Map { path, key: None });
                } else {
                    self.stack.push(Frame::Seq { path, index: 0 });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Alias(_) => {
                if let Some(path) = self.value_path() {
                    self.spans.values.insert(path, Self::pos(mark, false));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_values_by_path() {
        let text = "guide: g\nnodes:\n  a:\n    say: hi\n    choices:\n      - label: x\n        goto: b\n";
        let s = Spans::index(text).unwrap();
        assert_eq!(s.value("guide"), Pos { line: 1, col: 8, block: false });
        assert_eq!(s.key("nodes.a"), Pos { line: 3, col: 3, block: false });
        assert_eq!(s.value("nodes.a.say").line, 4);
        assert_eq!(s.value("nodes.a.choices.0.goto"), Pos { line: 7, col: 15, block: false });
        // A path that is not there falls back to its nearest ancestor.
        assert_eq!(s.value("nodes.a.choices.0.when").line, 6);
    }

    #[test]
    fn block_scalars_are_marked() {
        let s = Spans::index("say: |\n  line one\n  line two\n").unwrap();
        assert!(s.value("say").block);
        assert_eq!((s.value("say").line, s.value("say").col), (2, 3));
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = Spans::index("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.line >= 1);
        assert!(!e.message.is_empty());
    }
}
