//! The shape of a dialogue file: every key known, every value of the right
//! kind, nothing required missing, no key given twice. Checked against the
//! same JSON Schema editors use (`format::schema_value`), on the positioned
//! tree from `spans.rs`, so that every problem of a file is reported at once
//! with its place — serde stops at the first and speaks of "variants".
//!
//! Scalars are judged as `serde_yaml` reads them into the format's types: any
//! scalar is a text (`label: 3` is the text "3"), `true`/`false` are booleans
//! only unquoted, whole numbers only unquoted.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value as Json;
use serde_yaml::Value as YValue;

use super::spans::{Entry, Pos, Yaml};

/// One problem with the file's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pos: Pos,
    pub message: String,
    /// The node it is in, if any: checks that would only echo the problem skip that node.
    pub node: Option<String>,
    /// A node id given twice: the first of those nodes is lost, so checks that look at
    /// every node (which variables are saved) would only echo it.
    pub repeated_node: bool,
}

/// Every shape problem of `doc`, in file order.
pub fn check_shape(doc: &Yaml) -> Vec<Problem> {
    read_shape(doc).1
}

/// The document as serde should read it into the format's types — unknown keys left
/// out, values that cannot be read replaced by placeholders of the right kind — and
/// every shape problem, in file order.
pub fn read_shape(doc: &Yaml) -> (YValue, Vec<Problem>) {
    static SCHEMA: OnceLock<Json> = OnceLock::new();
    let schema = SCHEMA.get_or_init(super::format::schema_value);
    let empty = serde_json::Map::new();
    let defs = schema.get("$defs").and_then(Json::as_object).unwrap_or(&empty);
    let mut w = Walker { defs, out: Vec::new() };
    let value = w.value(doc, schema, "", "GuideFile").unwrap_or(YValue::Null);
    w.out.sort_by_key(|p| (p.pos.line, p.pos.col));
    (value, w.out)
}

/// A value where the format takes anything (`set` values, `min`, `max`): read as serde_yaml
/// reads an untyped value, so that `6` stays a number and `"6"` a text.
fn untyped(v: &Yaml) -> YValue {
    match v {
        Yaml::Scalar { text, plain: true, .. } => {
            serde_yaml::from_str(text).unwrap_or_else(|_| YValue::String(text.clone()))
        }
        Yaml::Scalar { text, .. } => YValue::String(text.clone()),
        Yaml::Map { entries, .. } => {
            YValue::Mapping(entries.iter().map(|e| (YValue::String(e.key.clone()), untyped(&e.value))).collect())
        }
        Yaml::Seq { items, .. } => YValue::Sequence(items.iter().map(untyped).collect()),
        Yaml::Alias { .. } => YValue::Null,
    }
}

struct Walker<'s> {
    defs: &'s serde_json::Map<String, Json>,
    out: Vec<Problem>,
}

/// The node id in a path `nodes.<id>…`.
fn node_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("nodes.")?;
    Some(rest.split('.').next().unwrap_or(rest).to_owned())
}

/// How a key at `path` is named in a message: `` `end` in node `a` ``, `` `start` ``.
fn name_of(path: &str) -> String {
    if path.is_empty() {
        return "the file".into();
    }
    if let Some(rest) = path.strip_prefix("nodes.") {
        return match rest.split_once('.') {
            Some((id, inner)) => format!("`{inner}` in node `{id}`"),
            None => format!("node `{rest}`"),
        };
    }
    format!("`{path}`")
}

/// What a kind of mapping is called, by its definition in the schema.
fn kind_name(def: &str) -> &'static str {
    match def {
        "GuideFile" => "a top-level key",
        "Node" => "a node key",
        "Choice" => "a key of a choice",
        "Ask" => "a key of `ask`",
        "AskType" => "an answer type",
        "Checklist" => "a key of `checklist`",
        "Item" => "a key of a checklist item",
        "ItemsFrom" => "a key of `items_from`",
        "Branch" => "a key of a branch entry",
        "Append" => "a key of `append`",
        "Remind" => "a key of a reminder",
        "ReminderSettings" => "a key of `reminders`",
        "Stage" => "a key of a stage",
        _ => "a key here",
    }
}

/// What the file shows at a place, in an author's words.
fn found(v: &Yaml) -> String {
    match v {
        _ if v.is_null() => "nothing".into(),
        Yaml::Scalar { text, .. } => {
            let short: String = text.chars().take(40).collect();
            let more = if text.chars().count() > 40 { "…" } else { "" };
            format!("`{}{more}`", short.replace('\n', " "))
        }
        Yaml::Map { .. } => "a mapping (`key: value` lines)".into(),
        Yaml::Seq { .. } => "a list".into(),
        Yaml::Alias { .. } => "an alias".into(),
    }
}

fn types_of(schema: &Json) -> Vec<&str> {
    match schema.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

fn plain_bool(text: &str) -> bool {
    matches!(text, "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
}

fn plain_int(text: &str) -> Option<i128> {
    let t = text.strip_prefix('+').unwrap_or(text);
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let n = if let Some(h) = t.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(o) = t.strip_prefix("0o") {
        i128::from_str_radix(o, 8).ok()?
    } else if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -n } else { n })
}

/// The smallest and largest whole number a schema allows (`format: uint32` has no `maximum`).
fn int_bounds(schema: &Json) -> (Option<i64>, Option<i64>) {
    let min = schema.get("minimum").and_then(Json::as_i64);
    let max = schema.get("maximum").and_then(Json::as_i64).or(match schema.get("format").and_then(Json::as_str) {
        Some("uint32") => Some(i64::from(u32::MAX)),
        Some("uint8") => Some(i64::from(u8::MAX)),
        _ => None,
    });
    (min, max)
}

/// "true or false", "a whole number from 0 to 255", … for the types a schema allows.
fn expected(schema: &Json) -> String {
    let mut parts = Vec::new();
    for t in types_of(schema) {
        match t {
            "string" => parts.push("a text".to_owned()),
            "boolean" => parts.push("`true` or `false`".to_owned()),
            "integer" => {
                // The bounds an author sets, not the width of the type (`format: uint32`).
                let min = schema.get("minimum").and_then(Json::as_i64);
                let max = schema.get("maximum").and_then(Json::as_i64);
                parts.push(match (min, max) {
                    (Some(a), Some(b)) => format!("a whole number from {a} to {b}"),
                    (Some(a), None) => format!("a whole number, {a} or more"),
                    _ => "a whole number".to_owned(),
                });
            }
            "array" => parts.push("a list (one `- ` line per entry)".to_owned()),
            "object" => parts.push("a mapping (`key: value` lines)".to_owned()),
            _ => {}
        }
    }
    if parts.is_empty() { "something else".into() } else { parts.join(" or ") }
}

impl<'s> Walker<'s> {
    fn push(&mut self, pos: Pos, path: &str, message: String) {
        self.out.push(Problem { pos, message, node: node_of(path), repeated_node: false });
    }

    /// Follows `$ref`s; returns the schema and the name of the definition it came from.
    fn resolve(&self, mut schema: &'s Json, mut def: &'s str) -> (&'s Json, &'s str) {
        for _ in 0..8 {
            let Some(name) = schema.get("$ref").and_then(Json::as_str).and_then(|r| r.strip_prefix("#/$defs/")) else {
                break;
            };
            let Some((key, target)) = self.defs.get_key_value(name) else { break };
            schema = target;
            def = key.as_str();
        }
        (schema, def)
    }

    /// Checks `v` against `schema` and returns it as serde should read it: `None` when it
    /// cannot be read at all (the caller puts a placeholder or leaves the key out).
    fn value(&mut self, v: &Yaml, schema: &'s Json, path: &str, def: &'s str) -> Option<YValue> {
        let (schema, def) = self.resolve(schema, def);
        if let Some(options) = schema.get("anyOf").and_then(Json::as_array) {
            // `Option<T>`: `T` or nothing.
            if v.is_null() && options.iter().any(|o| types_of(o) == ["null"]) {
                return Some(YValue::Null);
            }
            let some = options.iter().find(|o| types_of(o) != ["null"])?;
            return self.value(v, some, path, def);
        }
        if let Some(allowed) = schema.get("enum").and_then(Json::as_array) {
            return self.one_of(v, allowed, path);
        }
        let types = types_of(schema);
        if types.is_empty() {
            return Some(untyped(v)); // anything goes (`set` values, `min`, `max`)
        }
        if v.is_null() {
            if types.contains(&"null") {
                return Some(YValue::Null);
            }
            let message = format!("{} is empty; it must be {}", name_of(path), expected(schema));
            self.push(v.pos(), path, message);
            return None;
        }
        match v {
            Yaml::Map { entries, pos } if types.contains(&"object") => {
                Some(self.mapping(entries, *pos, schema, path, def))
            }
            Yaml::Seq { items, .. } if types.contains(&"array") => {
                static ANY: Json = Json::Bool(true);
                let item_schema = schema.get("items").unwrap_or(&ANY);
                let items = items.iter().enumerate().map(|(i, item)| {
                    // A broken entry keeps its place, so that the entries after it keep their numbers.
                    self.value(item, item_schema, &join(path, &i.to_string()), def)
                        .unwrap_or_else(|| self.placeholder(item_schema))
                });
                Some(YValue::Sequence(items.collect()))
            }
            Yaml::Scalar { text, plain, .. } => {
                if types.contains(&"string") {
                    return Some(YValue::String(text.clone()));
                }
                if types.contains(&"boolean") && *plain && plain_bool(text) {
                    return Some(YValue::Bool(text.eq_ignore_ascii_case("true")));
                }
                if types.contains(&"integer")
                    && *plain
                    && let Some(n) = plain_int(text)
                {
                    return self.bounds(v, n, schema, path);
                }
                self.wrong_kind(v, schema, path)
            }
            _ => self.wrong_kind(v, schema, path),
        }
    }

    fn wrong_kind(&mut self, v: &Yaml, schema: &Json, path: &str) -> Option<YValue> {
        let message = format!("{} must be {}; found {}", name_of(path), expected(schema), found(v));
        self.push(v.pos(), path, message);
        None
    }

    fn bounds(&mut self, v: &Yaml, n: i128, schema: &Json, path: &str) -> Option<YValue> {
        let (min, max) = int_bounds(schema);
        if min.is_some_and(|m| n < i128::from(m)) {
            return self.wrong_kind(v, schema, path);
        }
        if max.is_some_and(|m| n > i128::from(m)) {
            let message =
                format!("{} must be {}; found {}, which is too large", name_of(path), expected(schema), found(v));
            self.push(v.pos(), path, message);
            return None;
        }
        i64::try_from(n).ok().map(|n| YValue::Number(n.into()))
    }

    fn one_of(&mut self, v: &Yaml, allowed: &[Json], path: &str) -> Option<YValue> {
        let names: Vec<&str> = allowed.iter().filter_map(Json::as_str).collect();
        if let Yaml::Scalar { text, .. } = v
            && names.contains(&text.as_str())
        {
            return Some(YValue::String(text.clone()));
        }
        let hint = match v {
            Yaml::Scalar { text, .. } => super::closest(&text.to_lowercase(), names.iter().copied())
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default(),
            _ => String::new(),
        };
        let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        let message = format!("{} must be one of {list}; found {}{hint}", name_of(path), found(v));
        self.push(v.pos(), path, message);
        None
    }

    /// A value of the right kind that stands in for one that could not be read, so that
    /// the rest of the file can still be read and checked.
    fn placeholder(&self, schema: &'s Json) -> YValue {
        let (schema, _) = self.resolve(schema, "");
        if schema.get("anyOf").is_some() {
            return YValue::Null;
        }
        if let Some(first) = schema.get("enum").and_then(Json::as_array).and_then(|a| a.first()).and_then(Json::as_str)
        {
            return YValue::String(first.to_owned());
        }
        let types = types_of(schema);
        match types.first().copied() {
            _ if types.contains(&"null") => YValue::Null,
            Some("string") => YValue::String(String::new()),
            Some("boolean") => YValue::Bool(false),
            Some("integer") => YValue::Number(0.into()),
            Some("array") => YValue::Sequence(Vec::new()),
            Some("object") => {
                let mut map = serde_yaml::Mapping::new();
                let props = schema.get("properties").and_then(Json::as_object);
                for key in
                    schema.get("required").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str)
                {
                    if let Some(s) = props.and_then(|p| p.get(key)) {
                        map.insert(YValue::String(key.to_owned()), self.placeholder(s));
                    }
                }
                YValue::Mapping(map)
            }
            _ => YValue::Null,
        }
    }

    fn mapping(&mut self, entries: &[Entry], pos: Pos, schema: &'s Json, path: &str, def: &'s str) -> YValue {
        self.repeated_keys(entries, path);
        static EMPTY: OnceLock<serde_json::Map<String, Json>> = OnceLock::new();
        let props =
            schema.get("properties").and_then(Json::as_object).unwrap_or_else(|| EMPTY.get_or_init(Default::default));
        let extra = schema.get("additionalProperties");
        let mut out = serde_yaml::Mapping::new();
        for e in entries {
            let child = join(path, &e.key);
            let read = match (props.get(&e.key), extra) {
                (Some(s), _) => self.value(&e.value, s, &child, def).or_else(|| Some(self.placeholder(s))),
                (None, Some(Json::Bool(false))) => {
                    self.unknown_key(e, props, path, def);
                    None
                }
                (None, Some(s @ Json::Object(_))) => {
                    self.value(&e.value, s, &child, def).or_else(|| Some(self.placeholder(s)))
                }
                (None, _) => Some(untyped(&e.value)),
            };
            if let Some(value) = read {
                out.insert(YValue::String(e.key.clone()), value);
            }
        }
        let has = |k: &str| entries.iter().any(|e| e.key == k);
        // Where the mapping's keys begin (a block mapping's own mark is after its first key).
        let pos = entries.first().map_or(pos, |e| e.key_pos);
        let place = if path.is_empty() { "the file".to_owned() } else { name_of(path) };
        for key in schema.get("required").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str) {
            if !has(key) {
                self.push(pos, path, format!("{place} has no `{key}`, which is required; add `{key}:`"));
                if let Some(s) = props.get(key) {
                    out.insert(YValue::String(key.to_owned()), self.placeholder(s));
                }
            }
        }
        // `oneOf` of `required` lists: two names for one key (`date`, or its older name `on`).
        if let Some(options) = schema.get("oneOf").and_then(Json::as_array) {
            let names: Vec<&str> = options
                .iter()
                .filter_map(|o| o.get("required").and_then(Json::as_array))
                .filter_map(|r| r.first().and_then(Json::as_str))
                .collect();
            let given: Vec<&&str> = names.iter().filter(|k| has(k)).collect();
            let first = names.first().copied().unwrap_or_default();
            match given.len() {
                0 if !first.is_empty() => {
                    self.push(pos, path, format!("{place} has no `{first}`, which is required; add `{first}:`"));
                    if let Some(s) = props.get(first) {
                        out.insert(YValue::String(first.to_owned()), self.placeholder(s));
                    }
                }
                n if n > 1 => {
                    let list = given.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ");
                    self.push(pos, path, format!("{place} has both {list}, which mean the same; keep only `{first}`"));
                    for other in names.iter().skip(1) {
                        out.remove(*other);
                    }
                }
                _ => {}
            }
        }
        YValue::Mapping(out)
    }

    fn unknown_key(&mut self, e: &Entry, props: &serde_json::Map<String, Json>, path: &str, def: &str) {
        let keys: Vec<&str> = props.keys().map(String::as_str).collect();
        let allowed = keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
        let what = kind_name(def);
        let message = match super::closest(&e.key, keys.iter().copied()) {
            Some(k) => format!("`{}` is not {what}; did you mean `{k}`? Allowed here: {allowed}", e.key),
            None => format!("`{}` is not {what}; allowed here: {allowed}", e.key),
        };
        self.push(e.key_pos, &join(path, &e.key), message);
    }

    /// A key given twice: YAML readers keep only the last, so the first would be lost silently.
    fn repeated_keys(&mut self, entries: &[Entry], path: &str) {
        let mut lines: HashMap<&str, Vec<usize>> = HashMap::new();
        for e in entries {
            lines.entry(e.key.as_str()).or_default().push(e.key_pos.line);
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for e in entries {
            let all = &lines[e.key.as_str()];
            let n = seen.entry(e.key.as_str()).or_default();
            *n += 1;
            if all.len() < 2 || *n < 2 {
                continue;
            }
            let at = lines_text(all);
            let message = if path == "nodes" {
                format!(
                    "node id `{}` is used {} times ({at}); only the last would count: give each node its own id",
                    e.key,
                    all.len()
                )
            } else {
                let place = if path.is_empty() { "the file".to_owned() } else { name_of(path) };
                format!(
                    "`{}` is given {} times in {place} ({at}); only the last would count: keep one",
                    e.key,
                    all.len()
                )
            };
            self.push(e.key_pos, &join(path, &e.key), message);
            if let Some(p) = self.out.last_mut() {
                p.repeated_node = path == "nodes";
            }
        }
    }
}

/// "lines 3 and 9", "lines 3, 9 and 12".
fn lines_text(lines: &[usize]) -> String {
    let mut text: Vec<String> = lines.iter().map(usize::to_string).collect();
    let last = text.pop().unwrap_or_default();
    if text.is_empty() { format!("line {last}") } else { format!("lines {} and {last}", text.join(", ")) }
}

fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() { child.to_owned() } else { format!("{parent}.{child}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dialogue::spans::parse;

    const OK: &str = "guide: g\nlang: en\ntitle: T\nstart: a\nnodes:\n  a:\n    say: hi\n    end: true\n";

    fn problems(text: &str) -> Vec<(usize, usize, String)> {
        let (_, doc) = parse(text).expect("YAML");
        check_shape(&doc).into_iter().map(|p| (p.pos.line, p.pos.col, p.message)).collect()
    }

    #[test]
    fn a_good_file_has_no_problems() {
        assert_eq!(problems(OK), vec![]);
    }

    #[test]
    fn every_unknown_key_is_reported_with_a_suggestion() {
        let text = OK.replace("    end: true\n", "    edn: true\n    gotoo: a\n").replace("title:", "titel:");
        let p = problems(&text);
        assert_eq!(p.len(), 4, "{p:#?}");
        assert_eq!(
            (p[0].0, p[0].1, p[0].2.as_str()),
            (1, 1, "the file has no `title`, which is required; add `title:`")
        );
        assert_eq!((p[1].0, p[1].1), (3, 1));
        assert!(
            p[1].2.starts_with(
                "`titel` is not a top-level key; did you mean `title`? Allowed here: `currency`, `default`,"
            ),
            "{}",
            p[1].2
        );
        assert!(p[2].2.starts_with("`edn` is not a node key; did you mean `end`?"), "{}", p[2].2);
        assert!(p[3].2.starts_with("`gotoo` is not a node key; did you mean `goto`?"), "{}", p[3].2);
    }

    #[test]
    fn wrong_kinds_say_what_is_allowed_and_what_was_found() {
        let text = OK.replace(
            "    end: true\n",
            "    end: yes\n    ask: { save: x, type: currency }\n    choices: { label: x }\n",
        );
        let p = problems(&text);
        let messages: Vec<&str> = p.iter().map(|p| p.2.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`end` in node `a` must be `true` or `false`; found `yes`",
                "`ask.type` in node `a` must be one of `text`, `number`, `money`, `date`; found `currency`",
                "`choices` in node `a` must be a list (one `- ` line per entry); found a mapping (`key: value` lines)",
            ]
        );
        assert_eq!((p[1].0, p[1].1), (9, 27));
    }

    #[test]
    fn a_typo_in_a_value_gets_a_suggestion() {
        let p = problems(&OK.replace("    end: true\n", "    end: true\n    ask: { save: x, type: mony }\n"));
        assert_eq!(
            p[0].2,
            "`ask.type` in node `a` must be one of `text`, `number`, `money`, `date`; found `mony`; did you mean `money`?"
        );
    }

    #[test]
    fn numbers_and_texts_are_read_as_serde_reads_them() {
        // Any scalar is a text; a quoted "true" is not a boolean.
        let text = OK.replace("title: T", "title: 2026").replace("    end: true\n", "    end: \"true\"\n");
        let p = problems(&format!("{text}reminders: {{ hour: 300, days_before: -1 }}\n"));
        let messages: Vec<&str> = p.iter().map(|p| p.2.as_str()).collect();
        assert_eq!(
            messages,
            [
                "`end` in node `a` must be `true` or `false`; found `true`",
                "`reminders.hour` must be a whole number from 0 to 255; found `300`, which is too large",
                "`reminders.days_before` must be a whole number, 0 or more; found `-1`",
            ]
        );
    }

    #[test]
    fn a_repeated_node_id_names_every_line() {
        let text = format!("{OK}  b:\n    say: x\n    end: true\n  a:\n    say: again\n    end: true\n");
        let p = problems(&text);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert_eq!((p[0].0, p[0].1), (12, 3));
        assert_eq!(
            p[0].2,
            "node id `a` is used 2 times (lines 6 and 12); only the last would count: give each node its own id"
        );
    }

    #[test]
    fn a_repeated_key_in_a_node_is_reported() {
        let p = problems(&OK.replace("    end: true\n", "    end: true\n    say: again\n"));
        assert_eq!(
            p,
            [(
                9,
                5,
                "`say` is given 2 times in node `a` (lines 7 and 9); only the last would count: keep one".to_owned()
            )]
        );
    }

    #[test]
    fn a_reminder_takes_date_or_its_older_name_on() {
        let node = |keys: &str| {
            OK.replace("    end: true\n", &format!("    end: true\n    remind:\n      - {{ id: r, say: x{keys} }}\n"))
        };
        assert_eq!(problems(&node(", date: today")), vec![]);
        assert_eq!(problems(&node(", on: today")), vec![]);
        let p = problems(&node(""));
        assert_eq!(p[0].2, "`remind.0` in node `a` has no `date`, which is required; add `date:`");
        let p = problems(&node(", on: today, date: today"));
        assert_eq!(p[0].2, "`remind.0` in node `a` has both `date` and `on`, which mean the same; keep only `date`");
    }

    #[test]
    fn empty_values_are_named() {
        let p = problems(&OK.replace("start: a", "start:"));
        assert_eq!(p[0].2, "`start` is empty; it must be a text");
    }

    #[test]
    fn scalars_the_shape_check_accepts_are_read_by_serde_too() {
        let text = OK.replace("title: T", "title: 2026").replace("say: hi", "say: true")
            + "reminders: { hour: 0x9, days_before: +2 }\n";
        assert_eq!(problems(&text), vec![]);
        crate::domain::dialogue::load::load_guide(std::path::Path::new("g.en.yaml"), &text).expect("loads");
    }
}
