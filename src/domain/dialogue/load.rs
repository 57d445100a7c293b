//! Loading: dialogue text → [`Guide`], with every template and expression
//! compiled once. Reading files is the caller's job; this module only sees
//! `(path, text)` pairs, so it stays pure and testable.

use std::path::{Path, PathBuf};

use super::check;
use super::format::GuideFile;
use super::spans::{Pos, Spans};
use super::templates::Templates;
use super::{Diagnostic, Guide, Library};

/// Parses and compiles one file. Errors carry the file's line and column.
pub fn load_guide(path: &Path, text: &str) -> Result<Guide, Vec<Diagnostic>> {
    let at = |pos: Pos, message: String| Diagnostic { file: path.to_path_buf(), line: pos.line, col: pos.col, message };
    let spans = Spans::index(text).map_err(|e| {
        vec![at(
            e.pos,
            format!("this is not valid YAML: {}; check the indentation and quotes around this place", e.message),
        )]
    })?;
    let file: GuideFile = serde_yaml::from_str(text).map_err(|e| {
        let pos = e.location().map(|l| Pos { line: l.line(), col: l.column(), block: false }).unwrap_or(Pos {
            line: 1,
            col: 1,
            block: false,
        });
        vec![at(pos, explain_serde_error(&e))]
    })?;
    let mut templates = Templates::with_currency(&file.lang, file.currency());
    let mut errors = Vec::new();
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
                format!("the {what} in `{name}` does not compile: {detail}; fix its {{{{ }}}} or {{% %}} syntax"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let stage_index = file.stages.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
    Ok(Guide { file, path: path.to_path_buf(), spans, templates, stage_index })
}

/// Loads and checks every file; a library is returned only when nothing is wrong.
pub fn load_library(files: &[(PathBuf, String)]) -> Result<Library, Vec<Diagnostic>> {
    let mut guides = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in files {
        match load_guide(path, text) {
            Ok(g) => guides.push(g),
            Err(mut e) => errors.append(&mut e),
        }
    }
    errors.extend(check::check_guides(&guides));
    if errors.is_empty() { Ok(Library::new(guides)) } else { Err(errors) }
}

/// Every template (`false`) and expression (`true`) in the file, named by its YAML path.
pub fn template_sources(file: &GuideFile) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let mut text = |name: String, src: &str| out.push((name, src.to_owned(), false));
    if let Some(e) = &file.export {
        text("export".into(), e);
    }
    let mut texts = Vec::new();
    let mut exprs = Vec::new();
    for (id, n) in &file.nodes {
        let p = format!("nodes.{id}");
        if let Some(s) = &n.say {
            texts.push((format!("{p}.say"), s.clone()));
        }
        for (var, e) in &n.compute {
            exprs.push((format!("{p}.compute.{var}"), e.clone()));
        }
        for (i, c) in n.choices.iter().flatten().enumerate() {
            texts.push((format!("{p}.choices.{i}.label"), c.label.clone()));
            if let Some(w) = &c.when {
                exprs.push((format!("{p}.choices.{i}.when"), w.clone()));
            }
            for (var, e) in &c.compute {
                exprs.push((format!("{p}.choices.{i}.compute.{var}"), e.clone()));
            }
        }
        if let Some(inv) = n.ask.as_ref().and_then(|a| a.invalid.as_ref()) {
            texts.push((format!("{p}.ask.invalid"), inv.clone()));
        }
        if let Some(cl) = &n.checklist {
            texts.push((format!("{p}.checklist.done"), cl.done.clone()));
            for (i, it) in cl.items.iter().enumerate() {
                texts.push((format!("{p}.checklist.items.{i}.label"), it.label.clone()));
                if let Some(w) = &it.when {
                    exprs.push((format!("{p}.checklist.items.{i}.when"), w.clone()));
                }
            }
            if let Some(f) = &cl.items_from {
                exprs.push((format!("{p}.checklist.items_from.list"), f.list.clone()));
                texts.push((format!("{p}.checklist.items_from.id"), f.id.clone()));
                texts.push((format!("{p}.checklist.items_from.label"), f.label.clone()));
            }
        }
        for (i, b) in n.branch.iter().flatten().enumerate() {
            if let Some(w) = &b.when {
                exprs.push((format!("{p}.branch.{i}.when"), w.clone()));
            }
        }
        for (i, r) in n.remind.iter().enumerate() {
            texts.push((format!("{p}.remind.{i}.id"), r.id.clone()));
            texts.push((format!("{p}.remind.{i}.say"), r.say.clone()));
            exprs.push((format!("{p}.remind.{i}.on"), r.on.clone()));
            if let Some(w) = &r.when {
                exprs.push((format!("{p}.remind.{i}.when"), w.clone()));
            }
            if let Some(e) = &r.each {
                exprs.push((format!("{p}.remind.{i}.each"), e.clone()));
            }
        }
    }
    for (name, src) in texts {
        text(name, &src);
    }
    out.extend(exprs.into_iter().map(|(n, s)| (n, s, true)));
    out
}

/// Rewrites serde's wording into what an author should do.
fn explain_serde_error(e: &serde_yaml::Error) -> String {
    let raw = e.to_string();
    // serde_yaml appends " at line L column C"; the position is ours to print.
    let msg = match raw.find(" at line ") {
        Some(i) => raw[..i].to_owned(),
        None => raw,
    };
    if let Some(field) = between(&msg, "unknown field `", "`") {
        let expected = msg.split("expected ").nth(1).unwrap_or("");
        let names: Vec<&str> = expected
            .split('`')
            .filter(|s| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !s.is_empty())
            .collect();
        let suggestion =
            super::closest(field, names.iter().copied()).map(|n| format!("did you mean `{n}`? ")).unwrap_or_default();
        return format!("`{field}` is not a key here; {suggestion}allowed keys: {expected}");
    }
    if let Some(field) = between(&msg, "missing field `", "`") {
        let place = msg.split(": missing").next().unwrap_or("");
        let place = if place.starts_with("missing") { "the file" } else { place };
        return format!("`{field}` is required in {place}; add `{field}:` here");
    }
    if msg.contains("unknown variant") {
        return format!("{msg}; use one of the listed values");
    }
    format!("{msg}; see dialogues/README.md for the expected shape")
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
        assert!(e[0].message.starts_with("`gotoo` is not a key here; did you mean `goto`?"), "{}", e[0].message);
    }

    #[test]
    fn missing_field_says_what_to_add() {
        let e = load_guide(Path::new("g.en.yaml"), &OK.replace("start: a\n", "")).unwrap_err();
        assert!(e[0].message.starts_with("`start` is required"), "{}", e[0].message);
    }

    #[test]
    fn a_currency_code_must_be_three_capital_letters() {
        let g = load_guide(Path::new("g.en.yaml"), &format!("{OK}currency: {{ code: GBP }}\n")).unwrap();
        assert_eq!(g.file.currency().symbol, "£");
        let e = load_guide(Path::new("g.en.yaml"), &format!("{OK}currency: {{ code: pound }}\n")).unwrap_err();
        assert!(e[0].message.starts_with("currency `code: pound` must be an ISO code"), "{}", e[0].message);
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
