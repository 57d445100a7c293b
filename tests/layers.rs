//! The layers of ARCHITECTURE.md, read from the source tree: no file under
//! `src/` uses a layer above its own. `domain` uses neither `app`, the
//! adapters nor the CLI; the adapters do not use the CLI; and inside `domain`
//! each module uses only those listed before it (the values, then answers,
//! dialogues, the engine, and what is built on the engine), and no two files
//! of `domain` use each other. Test code is left out: a test may drive its
//! module through the layers above.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The modules of `domain`, lowest first. A module may use those of a lower rank.
const DOMAIN: &[(&str, u8)] = &[
    ("numerals", 0),
    ("markup", 0),
    ("dates", 1),
    ("money", 2),
    ("value", 3),
    ("answer", 4),
    ("dialogue", 5),
    ("engine", 6),
    ("scenario", 7),
    ("graph", 7),
    ("stats", 7),
];

/// Top-level modules a file under the first may not use.
const FORBIDDEN: &[(&str, &[&str])] =
    &[("domain", &["adapters", "app", "cli"]), ("app", &["adapters", "cli"]), ("adapters", &["cli"])];

#[test]
fn no_file_uses_a_layer_above_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 50, "the source tree was not found: {}", src.display());
    let test_only = test_only_files(&src, &files);
    let mut wrong = Vec::new();
    for file in files.iter().filter(|f| !test_only.contains(*f)) {
        let text = std::fs::read_to_string(file).expect("a source file");
        let here = module_of(&src, file);
        for used in used_paths(&here, &code_only(&text)) {
            if let Some(why) = above(&here, &used) {
                wrong.push(format!(
                    "{}: uses `{}`: {why}",
                    file.strip_prefix(&src).unwrap_or(file).display(),
                    used.join("::")
                ));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "files that use a layer above their own:\n{}", wrong.join("\n"));
}

#[test]
fn no_two_files_of_the_core_use_each_other() {
    // A module and the files inside it aside (a `mod.rs` names its children, they use
    // what it declares), two files that use each other are one concern cut in two,
    // or two that should be told apart by a third.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src.join("domain"), &mut files);
    let test_only = test_only_files(&src, &files);
    let modules: BTreeSet<Vec<String>> =
        files.iter().filter(|f| !test_only.contains(*f)).map(|f| module_of(&src, f)).collect();
    let mut uses: BTreeSet<(Vec<String>, Vec<String>)> = BTreeSet::new();
    for file in files.iter().filter(|f| !test_only.contains(*f)) {
        let here = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("a source file");
        for used in used_paths(&here, &code_only(&text)) {
            let Some(target) = (1..=used.len()).rev().map(|n| used[..n].to_vec()).find(|m| modules.contains(m)) else {
                continue;
            };
            if target != here {
                uses.insert((here.clone(), target));
            }
        }
    }
    let inside = |a: &[String], b: &[String]| a.starts_with(b) || b.starts_with(a);
    let circles: Vec<String> = uses
        .iter()
        .filter(|(a, b)| a < b && uses.contains(&(b.clone(), a.clone())) && !inside(a, b))
        .map(|(a, b)| format!("{} <-> {}", a.join("::"), b.join("::")))
        .collect();
    assert!(circles.is_empty(), "files that use each other:\n{}", circles.join("\n"));
}

#[test]
fn the_reader_finds_every_form_of_path() {
    let here = ["domain", "engine", "run", "show"].map(String::from).to_vec();
    let code = code_only(
        r#"
        use super::Run;
        use super::super::texts::Ui;
        use crate::{app::App, domain::{markup, value::Var}};
        // use crate::cli::report;
        /* crate::adapters::store */
        let s = "crate::cli::run";
        let c = '"'; let l: &'static str = "";
        fn f() { crate::app::user_zone(); }
        #[cfg(test)]
        mod tests { use crate::cli::report; }
        "#,
    );
    let found: BTreeSet<String> = used_paths(&here, &code).into_iter().map(|p| p.join("::")).collect();
    let want: BTreeSet<String> = [
        "domain::engine::run::Run",
        "domain::engine::texts::Ui",
        "app::App",
        "domain::markup",
        "domain::value::Var",
        "app::user_zone",
    ]
    .map(String::from)
    .into();
    assert_eq!(found, want);
    assert!(above(&here, &["app".to_owned(), "App".to_owned()]).is_some());
    assert!(above(&here, &["domain".to_owned(), "scenario".to_owned()]).is_some());
    assert!(above(&here, &["domain".to_owned(), "dialogue".to_owned()]).is_none());
}

/// Why `here` may not use `used`, if it may not.
fn above(here: &[String], used: &[String]) -> Option<String> {
    let (Some(from), Some(to)) = (here.first(), used.first()) else { return None };
    for (layer, banned) in FORBIDDEN {
        if from == layer && banned.contains(&to.as_str()) {
            return Some(format!("`{layer}` may not use `{to}`"));
        }
    }
    if from != "domain" || to != "domain" {
        return None;
    }
    let (Some(a), Some(b)) = (here.get(1), used.get(1)) else { return None };
    if a == b {
        return None;
    }
    let rank = |m: &str| DOMAIN.iter().find(|(n, _)| *n == m).map(|(_, r)| *r);
    match (rank(a), rank(b)) {
        (Some(ra), Some(rb)) if rb < ra => None,
        (Some(_), Some(_)) => Some(format!("`domain::{a}` may only use the modules below it (tests/layers.rs)")),
        (None, _) | (_, None) => Some(format!("give `domain::{a}` and `domain::{b}` a place in tests/layers.rs")),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/domain/engine/run/mod.rs` → `domain::engine::run`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// Files that are modules declared under `#[cfg(test)]` (`mod tests;`).
fn test_only_files(src: &Path, files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("a source file");
        let dir = match file.file_stem().and_then(|s| s.to_str()) {
            Some("mod" | "lib" | "main") => file.parent().unwrap_or(src).to_path_buf(),
            _ => file.with_extension(""),
        };
        let mut rest = text.as_str();
        while let Some(i) = rest.find("#[cfg(test)]") {
            rest = &rest[i + "#[cfg(test)]".len()..];
            let item = rest.trim_start();
            if let Some(decl) = item.strip_prefix("mod ")
                && let Some((name, _)) = decl.split_once(';')
                && !name.contains('{')
            {
                let name = name.trim();
                out.insert(dir.join(format!("{name}.rs")));
                out.insert(dir.join(name).join("mod.rs"));
            }
        }
    }
    out
}

/// The code of a file without comments, string and character literals, and items
/// under `#[cfg(test)]`.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (!ident_before(&chars, i) || chars[i - 1] == 'b' && !ident_before(&chars, i - 1))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    without_test_items(&out)
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// `code` without each item that follows `#[cfg(test)]` (up to its `;` or its braces).
fn without_test_items(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        rest = &rest[i + "#[cfg(test)]".len()..];
        let semi = rest.find(';');
        let brace = rest.find('{');
        match (semi, brace) {
            (Some(s), Some(b)) if s < b => rest = &rest[s + 1..],
            (Some(s), None) => rest = &rest[s + 1..],
            (_, Some(b)) => {
                let mut depth = 0;
                let mut end = rest.len();
                for (j, ch) in rest[b..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + j + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &rest[end..];
            }
            (None, None) => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// Every path starting at `crate`, `super` or `self` in `code`, made absolute
/// (without `crate`), `use` groups (`crate::{a, b::c}`) spread out.
fn used_paths(here: &[String], code: &str) -> Vec<Vec<String>> {
    let tokens = tokens(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        let starts = matches!(t, "crate" | "super" | "self") && (i == 0 || tokens[i - 1] != "::");
        // `self` alone (a method's receiver) is no path.
        if starts && tokens.get(i + 1).map(String::as_str) == Some("::") {
            let (paths, end) = tree(&tokens, i);
            for p in paths {
                if let Some(abs) = absolute(here, &p) {
                    out.push(abs);
                }
            }
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// Identifiers, `::`, and single characters.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

/// The paths of a use tree starting at `tokens[i]`, and where it ends.
fn tree(tokens: &[String], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        match tokens.get(i).map(String::as_str) {
            Some("{") => {
                let mut out = Vec::new();
                i += 1;
                loop {
                    match tokens.get(i).map(String::as_str) {
                        None => return (out, i),
                        Some("}") => return (out, i + 1),
                        Some(",") => i += 1,
                        Some(_) => {
                            let (inner, end) = tree(tokens, i);
                            for p in inner {
                                out.push(prefix.iter().cloned().chain(p).collect());
                            }
                            i = end;
                        }
                    }
                }
            }
            Some(t) if t.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                prefix.push(t.to_owned());
                i += 1;
                if tokens.get(i).map(String::as_str) == Some("::") {
                    i += 1;
                } else {
                    return (vec![prefix], i);
                }
            }
            _ => return (vec![prefix], i),
        }
    }
}

/// `super::x` in `domain::engine::run::show` → `domain::engine::run::x`; `crate::a` → `a`.
fn absolute(here: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut base: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self" | "super") => here.to_vec(),
        _ => return None,
    };
    let mut rest = if path.first().map(String::as_str) == Some("crate") { &path[1..] } else { path };
    while let Some(first) = rest.first() {
        match first.as_str() {
            "super" => {
                base.pop()?;
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}
