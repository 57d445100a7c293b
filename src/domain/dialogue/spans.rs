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
        parse(text).map(|(spans, _)| spans)
    }

    /// Makes `alias` (a path the code uses) find what the file wrote at `actual`, when
    /// a key has two accepted names (`date` and its older name `on`).
    pub fn alias(&mut self, actual: &str, alias: &str) {
        for map in [&mut self.values, &mut self.keys] {
            if let Some(pos) = map.get(actual).copied() {
                map.entry(alias.to_owned()).or_insert(pos);
            }
        }
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

/// A YAML value with its position: what the shape check walks. Unlike a
/// `serde_yaml::Value`, a mapping keeps every entry in order, repeated keys
/// included, so that a key given twice can be reported instead of silently
/// replacing the first.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Scalar {
        text: String,
        /// Written without quotes and not a block: its type comes from its text (`true`, `12`, `~`).
        plain: bool,
        pos: Pos,
    },
    Map {
        entries: Vec<Entry>,
        pos: Pos,
    },
    Seq {
        items: Vec<Yaml>,
        pos: Pos,
    },
    /// `*name` naming no anchor seen before it.
    Alias {
        pos: Pos,
    },
}

/// One `key: value` of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: Yaml,
}

impl Yaml {
    /// Where the value starts.
    pub fn pos(&self) -> Pos {
        match self {
            Yaml::Scalar { pos, .. } | Yaml::Map { pos, .. } | Yaml::Seq { pos, .. } | Yaml::Alias { pos } => *pos,
        }
    }

    /// A plain `~`, `null` or nothing at all: what YAML reads as "no value".
    pub fn is_null(&self) -> bool {
        matches!(self, Yaml::Scalar { text, plain: true, .. } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }
}

/// Reads `text` once: the positions of every path, and the document as a tree.
pub fn parse(text: &str) -> Result<(Spans, Yaml), SyntaxError> {
    let mut recv = Receiver::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut recv, false).map_err(|e| SyntaxError {
        pos: Pos { line: e.marker().line(), col: e.marker().col() + 1, block: false },
        message: e.info().to_owned(),
    })?;
    if recv.expanded > MAX_ALIASED {
        return Err(SyntaxError {
            pos: Pos { line: 1, col: 1, block: false },
            message: format!(
                "its aliases (`*name`) stand for more than {MAX_ALIASED} values; write the values out instead"
            ),
        });
    }
    let root = recv.root.unwrap_or(Yaml::Scalar {
        text: String::new(),
        plain: true,
        pos: Pos { line: 1, col: 1, block: false },
    });
    Ok((recv.spans, root))
}

/// Values that aliases may stand for in one file, all together: a few anchors that
/// refer to each other can otherwise stand for billions of values.
const MAX_ALIASED: usize = 100_000;

enum Frame {
    Map { path: String, key: Option<(String, Pos)>, entries: Vec<Entry>, pos: Pos, anchor: usize },
    Seq { path: String, items: Vec<Yaml>, pos: Pos, anchor: usize },
}

#[derive(Default)]
struct Receiver {
    stack: Vec<Frame>,
    spans: Spans,
    root: Option<Yaml>,
    /// Anchored values (`&name`), by the parser's anchor id.
    anchors: HashMap<usize, Yaml>,
    /// How many values aliases have stood for so far.
    expanded: usize,
}

/// How many values `v` holds, itself included.
fn size(v: &Yaml) -> usize {
    match v {
        Yaml::Map { entries, .. } => 1 + entries.iter().map(|e| size(&e.value)).sum::<usize>(),
        Yaml::Seq { items, .. } => 1 + items.iter().map(size).sum::<usize>(),
        _ => 1,
    }
}

fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() { child.to_owned() } else { format!("{parent}.{child}") }
}

impl Receiver {
    /// The path a value arriving now belongs to, or None when it is a mapping key.
    fn value_path(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Frame::Map { path, key, .. }) => key.as_ref().map(|(k, _)| join(path, k)),
            Some(Frame::Seq { path, items, .. }) => Some(join(path, &items.len().to_string())),
        }
    }

    /// Puts a finished value where it belongs: under the pending key, at the end of the list, or at the root.
    fn attach(&mut self, value: Yaml) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Map { key, entries, .. }) => {
                if let Some((key, key_pos)) = key.take() {
                    entries.push(Entry { key, key_pos, value });
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(value),
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
            Event::Scalar(text, style, anchor, tag) => {
                let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
                let plain = style == TScalarStyle::Plain && tag.is_none();
                let pos = Self::pos(mark, block);
                match self.value_path() {
                    Some(path) => {
                        self.spans.values.insert(path, pos);
                        let value = Yaml::Scalar { text, plain, pos };
                        if anchor > 0 {
                            self.anchors.insert(anchor, value.clone());
                        }
                        self.attach(value);
                    }
                    None => {
                        if let Some(Frame::Map { path, key, .. }) = self.stack.last_mut() {
                            let pos = Self::pos(mark, false);
                            self.spans.keys.insert(join(path, &text), pos);
                            *key = Some((text, pos));
                        }
                    }
                }
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let path = self.value_path().unwrap_or_default();
                let pos = Self::pos(mark, false);
                self.spans.values.insert(path.clone(), pos);
                if matches!(ev, Event::MappingStart(..)) {
                    self.stack.push(Frame::Map { path, key: None, entries: Vec::new(), pos, anchor });
                } else {
                    self.stack.push(Frame::Seq { path, items: Vec::new(), pos, anchor });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Map { entries, pos, anchor, .. }) => (Yaml::Map { entries, pos }, anchor),
                    Some(Frame::Seq { items, pos, anchor, .. }) => (Yaml::Seq { items, pos }, anchor),
                    None => return,
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, value.clone());
                }
                self.attach(value);
            }
            Event::Alias(anchor) => {
                let Some(path) = self.value_path() else { return };
                let pos = Self::pos(mark, false);
                self.spans.values.insert(path, pos);
                let value = match self.anchors.get(&anchor) {
                    Some(v) if self.expanded <= MAX_ALIASED => {
                        self.expanded += size(v);
                        v.clone()
                    }
                    _ => Yaml::Alias { pos },
                };
                self.attach(value);
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
    fn aliases_stand_for_their_anchor_within_a_budget() {
        let (_, doc) = parse("a: &x [1, 2]\nb: *x\n").unwrap();
        let Yaml::Map { entries, .. } = doc else { panic!("a mapping") };
        assert_eq!(entries[0].value, entries[1].value);
        // Nine anchors of ten aliases each stand for 10^9 values.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            bomb.push_str(&format!("a{i}: &a{i} [{}]\n", [prev.as_str(); 10].join(", ")));
        }
        let started = std::time::Instant::now();
        let e = parse(&bomb).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(e.message.contains("aliases"), "{}", e.message);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = Spans::index("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.line >= 1);
        assert!(!e.message.is_empty());
    }
}
