//! Loading: dialogue text → [`Guide`], with every template and expression
//! compiled once. Reading files is the caller's job; this module only sees
//! `(path, text)` pairs, so it stays pure and testable.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::check;
use super::diagnostic::Kind;
use super::format::{GuideFile, OLD_DATE_KEY, template_sources};
use super::shape::read_shape;
use super::spans::{self, Pos};
use super::templates::Templates;
use super::{Diagnostic, Guide, Library};

/// Largest dialogue file read, in bytes. A guide is a few hundred kilobytes at
/// most; reading a much larger file would cost seconds and gigabytes of memory.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// "5 MB", "50.3 MB", "812 KB".
pub fn size_text(bytes: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    let b = bytes as f64;
    if b >= MB {
        let mb = b / MB;
        if mb.fract() < 0.05 { format!("{mb:.0} MB") } else { format!("{mb:.1} MB") }
    } else {
        format!("{:.0} KB", (b / 1024.0).ceil())
    }
}

/// The message for a file over [`MAX_FILE_BYTES`].
pub fn too_big(bytes: u64) -> String {
    format!(
        "this file is {}, more than the {} a dialogue file may have; it was not read. Split the guide into several files or remove what it does not need",
        size_text(bytes),
        size_text(MAX_FILE_BYTES as u64)
    )
}

/// Parses and compiles one file. Errors carry the file's line and column.
pub fn load_guide(path: &Path, text: &str) -> Result<Guide, Vec<Diagnostic>> {
    match read_guide(path, text) {
        (Some(g), errors) if errors.is_empty() => Ok(g),
        (_, errors) => Err(errors),
    }
}

/// Reads one file as far as it can: the guide whenever its types could be read (even
/// with unknown keys or broken templates, so that `check` can look further), and every
/// problem found on the way.
pub fn read_guide(path: &Path, text: &str) -> (Option<Guide>, Vec<Diagnostic>) {
    let at = |pos: Pos, kind: Kind, message: String| Diagnostic {
        file: path.to_path_buf(),
        line: pos.line,
        col: pos.col,
        kind,
        message,
    };
    if text.len() > MAX_FILE_BYTES {
        return (None, vec![at(Pos { line: 1, col: 1, block: false }, Kind::Unreadable, too_big(text.len() as u64))]);
    }
    let (mut spans, doc) = match spans::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            let message =
                format!("this is not valid YAML: {}; check the indentation and quotes around this place", e.message);
            return (None, vec![at(e.pos, Kind::Unreadable, message)]);
        }
    };
    let (value, shape) = read_shape(&doc);
    let mut errors: Vec<Diagnostic> = shape.iter().map(|p| at(p.pos, Kind::Shape, p.message.clone())).collect();
    if !matches!(doc, spans::Yaml::Map { .. }) {
        return (None, errors); // not even a mapping of keys: nothing further to look at
    }
    let file: GuideFile = match serde_yaml::from_value(value) {
        Ok(f) => f,
        Err(e) => {
            // The shape check has said it in plain words already, and stands in for what it
            // could not read: serde failing as well is a gap in the shape check.
            if errors.is_empty() {
                errors.push(at(Pos { line: 1, col: 1, block: false }, Kind::Unreadable, explain_serde_error(&e)));
            }
            return (None, errors);
        }
    };
    for (id, n) in &file.nodes {
        for i in 0..n.remind.len() {
            let p = format!("nodes.{id}.remind.{i}");
            spans.alias(&format!("{p}.{OLD_DATE_KEY}"), &format!("{p}.date"));
        }
    }
    let mut templates = Templates::with_currency(&file.lang, file.currency());
    for (name, source, is_expr) in template_sources(&file) {
        let result = if is_expr { templates.add_expr(&name, &source) } else { templates.add_text(&name, &source) };
        if let Err(e) = result {
            let pos = spans.value(&name);
            // For block scalars (`|`) the position is already the first line of the text.
            // An error "at end of input" counts the trailing newline: keep it on the last text line.
            let last = source.trim_end().lines().count().max(1);
            let line = pos.line + e.line().unwrap_or(1).clamp(1, last) - 1;
            let what = if is_expr { "expression" } else { "template" };
            let detail = e.detail().map(str::to_owned).unwrap_or_else(|| e.kind().to_string());
            errors.push(at(
                Pos { line, ..pos },
                Kind::Template,
                format!("the {what} in `{name}` does not compile: {detail}; fix its {{{{ }}}} or {{% %}} syntax"),
            ));
        }
    }
    let stage_index = file.stages.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
    let shaky_nodes: HashSet<String> = shape.iter().filter_map(|p| p.node.clone()).collect();
    let guide = Guide {
        file,
        path: path.to_path_buf(),
        spans,
        templates,
        stage_index,
        incomplete: !shape.is_empty(),
        lost_nodes: shape.iter().any(|p| p.repeated_node),
        shaky_nodes,
    };
    (Some(guide), errors)
}

/// Reads and checks every file: the guides that could be read, and every problem of
/// every file (file by file, in line order).
pub fn read_library(files: &[(PathBuf, String)]) -> (Vec<Guide>, Vec<Diagnostic>) {
    let mut guides = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in files {
        let (guide, mut e) = read_guide(path, text);
        errors.append(&mut e);
        guides.extend(guide);
    }
    errors.extend(check::check_guides(&guides));
    let order: Vec<&PathBuf> = files.iter().map(|(p, _)| p).collect();
    let rank = |d: &Diagnostic| order.iter().position(|p| **p == d.file).unwrap_or(usize::MAX);
    errors.sort_by_key(|d| (rank(d), d.line, d.col));
    errors.dedup();
    (guides, errors)
}

/// Loads and checks every file; a library is returned only when nothing is wrong.
pub fn load_library(files: &[(PathBuf, String)]) -> Result<Library, Vec<Diagnostic>> {
    let (guides, errors) = read_library(files);
    if errors.is_empty() { Ok(Library::new(guides)) } else { Err(errors) }
}

/// What serde found, in an author's words. The shape check (`shape.rs`) reports nearly
/// everything first; this covers what only reading the values into their types finds.
fn explain_serde_error(e: &serde_yaml::Error) -> String {
    let raw = e.to_string();
    // serde_yaml appends " at line L column C"; the position is ours to print.
    let msg = match raw.find(" at line ") {
        Some(i) => raw[..i].to_owned(),
        None => raw,
    };
    let msg = match msg.split_once(": ") {
        Some((place, rest)) if place.contains('.') || place.contains('[') => rest.to_owned(),
        _ => msg,
    };
    if let Some(n) = between(&msg, "invalid value: integer `", "`") {
        return format!("`{n}` is not a whole number this key can hold; use a smaller one");
    }
    if let Some(field) = between(&msg, "missing field `", "`") {
        return format!("`{field}` is required here; add `{field}:`");
    }
    if let Some(field) = between(&msg, "duplicate field `", "`") {
        return format!("`{field}` is given twice here; keep one");
    }
    format!("this value does not fit here ({msg}); see dialogues/README.md for the expected shape")
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "guide: g\nlang: en\ntitle: T\nstart: a\nnodes:\n  a:\n    say: hi\n    end: true\n";

    #[test]
    fn loads_a_small_guide() {
        let g = load_guide(Path::new("g.en.yaml"), OK).unwrap();
        assert_eq!(g.id(), "g");
        assert!(g.templates.has("nodes.a.say"));
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        let text = OK.replace("    end: true", "    end: true\n    gotoo: a");
        let e = load_guide(Path::new("g.en.yaml"), &text).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].line, e[0].col), (9, 5));
        assert!(e[0].message.starts_with("`gotoo` is not a node key; did you mean `goto`?"), "{}", e[0].message);
    }

    #[test]
    fn missing_field_says_what_to_add() {
        let e = load_guide(Path::new("g.en.yaml"), &OK.replace("start: a\n", "")).unwrap_err();
        assert_eq!(e[0].message, "the file has no `start`, which is required; add `start:`");
    }

    #[test]
    fn every_problem_of_a_file_is_reported_and_the_guide_is_still_read() {
        // An unknown key no longer hides what comes after it: a second unknown key, a
        // template that does not compile, and (for `check`) a goto to nowhere.
        let text = OK.replace("    say: hi\n", "    sya: hi\n    say: '{{ x'\n    gotoo: a\n    goto: b\n");
        let (guide, e) = read_guide(Path::new("g.en.yaml"), &text);
        let found: Vec<(usize, &str)> = e.iter().map(|d| (d.line, d.message.split(';').next().unwrap_or(""))).collect();
        assert_eq!(
            found,
            [
                (7, "`sya` is not a node key"),
                (9, "`gotoo` is not a node key"),
                (
                    8,
                    "the template in `nodes.a.say` does not compile: unexpected end of input, expected end of variable block"
                ),
            ]
        );
        let guide = guide.expect("read despite the unknown keys");
        assert!(
            check::check_guide(&guide).iter().any(|d| d.line == 10 && d.message.starts_with("node `a` goes to `b`"))
        );
    }

    #[test]
    fn files_are_read_exactly_as_serde_yaml_reads_them() {
        // Texts now come from yaml-rust2's reading (through the shape check), not libyaml's.
        let files = [
            include_str!("../../../dialogues/huabei-overdue.en.yaml"),
            include_str!("../../../dialogues/huabei-overdue.zh.yaml"),
            include_str!("../../../tests/fixtures/dialogues/savings.en.yaml"),
            "guide: g\nlang: en\ntitle: T\nstart: a\nnodes:\n  a:\n    say: >-\n      folded\n      text\n\n      para\n    set: { a: 6, b: '6', c: 1.5, d: 0x10, e: ~, f: [yes, no], g: 012, h: 2026-01-01 }\n    end: true\n",
        ];
        for text in files {
            let direct: GuideFile = serde_yaml::from_str(text).expect("serde reads it");
            let (guide, errors) = read_guide(Path::new("g.en.yaml"), text);
            assert_eq!(errors, vec![]);
            assert_eq!(format!("{:?}", guide.expect("read").file), format!("{direct:?}"));
        }
    }

    #[test]
    fn an_empty_file_or_one_without_start_gets_one_problem_each() {
        let (_, e) = read_library(&[(PathBuf::from("g.en.yaml"), String::new())]);
        let messages: Vec<&str> = e.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["the file is empty; it must be a mapping (`key: value` lines)"]);
        let (_, e) =
            read_library(&[(PathBuf::from("x.en.yaml"), OK.replace("start: a\n", "").replace("guide: g\n", ""))]);
        let messages: Vec<&str> = e.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "the file has no `guide`, which is required; add `guide:`",
                "the file has no `start`, which is required; add `start:`"
            ]
        );
    }

    #[test]
    fn an_oversized_file_is_refused_before_parsing() {
        let text = format!("{OK}# {}\n", "x".repeat(MAX_FILE_BYTES));
        let started = std::time::Instant::now();
        let e = load_guide(Path::new("g.en.yaml"), &text).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_millis(100), "{:?}", started.elapsed());
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].message,
            "this file is 5 MB, more than the 5 MB a dialogue file may have; it was not read. Split the guide into several files or remove what it does not need"
        );
        assert_eq!(size_text(50 * 1024 * 1024 + 300 * 1024), "50.3 MB");
        assert_eq!(size_text(1000), "1 KB");
    }

    #[test]
    fn a_reminder_date_may_still_be_written_on() {
        let remind = |key: &str| {
            OK.replace(
                "    end: true",
                &format!("    end: true\n    remind:\n      - id: r\n        {key}: today\n        say: x"),
            )
        };
        for key in ["date", "on"] {
            let g = load_guide(Path::new("g.en.yaml"), &remind(key)).unwrap_or_else(|e| panic!("{key}: {e:?}"));
            assert_eq!(g.file.nodes["a"].remind[0].date, "today");
            assert!(g.templates.has("nodes.a.remind.0.date"));
            assert_eq!(g.spans.value("nodes.a.remind.0.date").line, 11, "{key}: the place of what the file wrote");
        }
    }

    #[test]
    fn a_currency_code_must_be_three_capital_letters() {
        let g = load_guide(Path::new("g.en.yaml"), &format!("{OK}currency: {{ code: GBP }}\n")).unwrap();
        assert_eq!(g.file.currency().symbol, "£");
        let e = load_guide(Path::new("g.en.yaml"), &format!("{OK}currency: {{ code: pound }}\n")).unwrap_err();
        assert!(e[0].message.contains("currency `code: pound` must be an ISO code"), "{}", e[0].message);
    }

    #[test]
    fn bad_yaml_has_a_position() {
        let e = load_guide(Path::new("g.en.yaml"), "guide: [g\nlang: en\n").unwrap_err();
        assert_eq!(e[0].file, Path::new("g.en.yaml"));
        assert!(e[0].message.contains("not valid YAML"));
    }

    #[test]
    fn template_errors_point_into_block_text() {
        let text = OK.replace("    say: hi", "    say: |\n      line one\n      {% if x %}never closed");
        let e = load_guide(Path::new("g.en.yaml"), &text).unwrap_err();
        assert_eq!(e[0].line, 9, "{}", e[0]);
        assert!(e[0].message.contains("`nodes.a.say` does not compile"), "{}", e[0].message);
    }
}
