//! Scenarios: YAML files that script a conversation and say what must be
//! seen. The runner feeds the engine directly (no store, no network), so a
//! scenario checks the dialogue exactly as users meet it, and fast.
//!
//! ```yaml
//! guide: huabei-overdue
//! lang: en
//! today: 2026-11-28
//! steps:
//!   - send: /start
//!     expect: Welcome
//!   - press: Let's begin
//!   - send: "3500"
//!     node: due_date
//!     vars: { debt: 3500 }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use jiff::civil::Date;
use serde::Deserialize;

use crate::domain::dialogue::Library;
use crate::domain::dialogue::spans::Spans;
use crate::domain::engine::{Ctx, Edit, Event, Message, Output, UserState, step};
use crate::domain::markup;
use crate::domain::value::{Var, get_path};

/// A scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows (for reports).
    #[serde(default)]
    pub name: Option<String>,
    /// Guide to run; may be left out when only one is loaded.
    #[serde(default)]
    pub guide: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    /// The day the conversation happens (default 2026-01-15).
    #[serde(default)]
    pub today: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    pub steps: Vec<Step>,
}

/// One thing the user does, and what must then be true.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Type a text (or a `/command`).
    #[serde(default)]
    pub send: Option<String>,
    /// Press the button with this label (on the last message that had buttons).
    #[serde(default)]
    pub press: Option<String>,
    /// Same as `press`, for checklist items (the tick mark is ignored).
    #[serde(default)]
    pub toggle: Option<String>,
    /// Text(s) that must appear in what this step shows.
    #[serde(default)]
    pub expect: OneOrMany,
    /// Text(s) that must not appear.
    #[serde(default)]
    pub absent: OneOrMany,
    /// The node the user must be at afterwards.
    #[serde(default)]
    pub node: Option<String>,
    /// Variables and the values they must have afterwards (`null` for unset).
    #[serde(default)]
    pub vars: IndexMap<String, serde_yaml::Value>,
    /// Change the day before this step.
    #[serde(default)]
    pub today: Option<String>,
    /// Ids of the reminders that must be waiting to be sent afterwards (exactly these).
    #[serde(default)]
    pub reminders: Option<Vec<String>>,
    /// Text(s) that waiting reminders must contain, by reminder id.
    #[serde(default)]
    pub reminder_says: IndexMap<String, OneOrMany>,
}

/// A string or a list of strings.
#[derive(Debug, Deserialize, Default)]
#[serde(untagged)]
pub enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// Why a scenario failed: where, what was expected, what came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// Runs the scenario in `text` (read from `path`) against `lib`; Ok with the number of steps.
pub fn run(lib: &Library, path: &Path, text: &str) -> Result<usize, Failure> {
    replay(lib, path, text).map(|(steps, _)| steps)
}

/// Runs the scenario like [`run`] and also returns the user's state at its end.
pub fn replay(lib: &Library, path: &Path, text: &str) -> Result<(usize, UserState), Failure> {
    let fail = |line: usize, message: String| Failure { file: path.to_path_buf(), line, message };
    let spans = Spans::index(text).map_err(|e| fail(e.pos.line, format!("not valid YAML: {}", e.message)))?;
    let sc: Scenario = serde_yaml::from_str(text)
        .map_err(|e| fail(e.location().map_or(1, |l| l.line()), format!("not a scenario: {e}")))?;
    let mut today = parse_day(sc.today.as_deref().unwrap_or("2026-01-15"))
        .ok_or_else(|| fail(spans.value("today").line, "`today` must be a date like 2026-11-28".into()))?;
    let guide = match &sc.guide {
        Some(g) => g.clone(),
        None => match lib.guide_ids().as_slice() {
            [one] => (*one).to_owned(),
            _ => return Err(fail(1, "several guides are loaded: say which with `guide:`".into())),
        },
    };
    let first = lib
        .pick(&guide, sc.lang.as_deref())
        .ok_or_else(|| fail(spans.value("guide").line, format!("guide `{guide}` is not loaded")))?;
    let mut state =
        UserState { guide: Some(guide.clone()), lang: Some(first.lang().to_owned()), ..UserState::default() };
    let mut keyboard: Option<Message> = None;
    for (i, st) in sc.steps.iter().enumerate() {
        let line = spans.value(&format!("steps.{i}")).line;
        if let Some(d) = &st.today {
            today = parse_day(d).ok_or_else(|| fail(line, format!("`today: {d}` is not a date")))?;
        }
        let ctx =
            Ctx { today, now: today.at(10, 0, 0, 0), first_name: sc.first_name.clone(), lang_hint: sc.lang.clone() };
        let event = if let Some(t) = &st.send {
            Some(Event::Text(t.clone()))
        } else if let Some(label) = st.press.as_ref().or(st.toggle.as_ref()) {
            let Some(msg) = &keyboard else {
                return Err(fail(line, format!("no buttons are shown, so `{label}` cannot be pressed")));
            };
            Some(Event::Press(find_button(msg, label).map_err(|m| fail(line, m))?))
        } else {
            None
        };
        let mut shown = String::new();
        if let Some(ev) = event {
            let (next, out) = step(lib, &state, &ev, &ctx);
            if let Some(p) = out.problems.first() {
                return Err(fail(line, format!("the dialogue failed at run time: {p}")));
            }
            state = next;
            shown = plain_of(&out);
            if let Some(m) = out.last_keyboard().cloned() {
                keyboard = Some(m);
            }
        }
        for want in st.expect.items() {
            if !shown.contains(want) {
                return Err(fail(line, format!("expected to see {want:?}, but the replies were:\n{}", indent(&shown))));
            }
        }
        for unwanted in st.absent.items() {
            if shown.contains(unwanted) {
                return Err(fail(
                    line,
                    format!("expected not to see {unwanted:?}, but the replies were:\n{}", indent(&shown)),
                ));
            }
        }
        if let Some(n) = &st.node
            && state.node.as_deref() != Some(n)
        {
            return Err(fail(
                line,
                format!(
                    "expected to be at node `{n}`, but the user is at `{}`",
                    state.node.as_deref().unwrap_or("(none)")
                ),
            ));
        }
        if let Some(want) = &st.reminders {
            let mut want = want.clone();
            want.sort();
            let got: Vec<String> = state.reminders.iter().filter(|(_, r)| !r.sent).map(|(id, _)| id.clone()).collect();
            if got != want {
                return Err(fail(line, format!("expected reminders {want:?} to be waiting, but they are {got:?}")));
            }
        }
        check_reminder_texts(&state, &st.reminder_says).map_err(|m| fail(line, m))?;
        for (k, want) in &st.vars {
            let got = get_path(&state.vars, k).cloned().unwrap_or(Var::Null);
            let want_var = Var::from_yaml(want);
            if !var_matches(&got, &want_var) {
                let got_s = if got.is_set() { format!("{:?}", got.display()) } else { "unset".into() };
                return Err(fail(line, format!("expected `{k}` to be {:?}, but it is {got_s}", want_var.display())));
            }
        }
    }
    Ok((sc.steps.len(), state))
}

/// Each waiting reminder named in `wanted` must contain its texts (as plain text).
fn check_reminder_texts(state: &UserState, wanted: &IndexMap<String, OneOrMany>) -> Result<(), String> {
    for (id, texts) in wanted {
        let Some(r) = state.reminders.get(id).filter(|r| !r.sent) else {
            return Err(format!("expected reminder `{id}` to be waiting, but it is not"));
        };
        let text = markup::to_plain(&r.text);
        if let Some(want) = texts.items().into_iter().find(|w| !text.contains(w)) {
            return Err(format!("expected reminder `{id}` to say {want:?}, but it says:\n{}", indent(&text)));
        }
    }
    Ok(())
}

/// `null` means unset; a text matches a scalar that reads the same (so `"3500"` or
/// `2026-02-10` may be written either way); anything else must be equal.
fn var_matches(got: &Var, want: &Var) -> bool {
    match (got, want) {
        (got, Var::Null) => !got.is_set(),
        (Var::List(_) | Var::Map(_) | Var::Null, Var::Str(_)) => false,
        (got, Var::Str(s)) => got.display() == *s,
        (got, want) => got == want,
    }
}

fn parse_day(s: &str) -> Option<Date> {
    s.parse().ok()
}

fn indent(s: &str) -> String {
    if s.trim().is_empty() {
        return "    (nothing)".into();
    }
    s.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

/// Everything a step showed, as plain text: edits, messages, buttons, the case file.
fn plain_of(out: &Output) -> String {
    let mut parts = Vec::new();
    let push_msg = |parts: &mut Vec<String>, m: &Message| {
        parts.push(markup::to_plain(&m.text));
        for b in m.buttons.iter().flatten() {
            parts.push(format!("[{}]", markup::to_plain(&b.label)));
        }
    };
    match &out.edit {
        Some(Edit::Answered(t)) => parts.push(markup::to_plain(t)),
        Some(Edit::Replace(m)) => push_msg(&mut parts, m),
        None => {}
    }
    for m in &out.messages {
        push_msg(&mut parts, m);
    }
    if let Some(d) = &out.document {
        parts.push(d.content.clone());
    }
    parts.join("\n")
}

fn find_button(msg: &Message, label: &str) -> Result<crate::domain::engine::Press, String> {
    let clean = |s: &str| markup::to_plain(s).trim_start_matches(['✅', '⬜']).trim().to_lowercase();
    let wanted = clean(label);
    let buttons: Vec<_> = msg.buttons.iter().flatten().collect();
    let exact: Vec<_> = buttons.iter().filter(|b| clean(&b.label) == wanted).collect();
    let chosen = match exact.as_slice() {
        [one] => Some(**one),
        _ => {
            let starts: Vec<_> = buttons.iter().filter(|b| clean(&b.label).starts_with(&wanted)).collect();
            match starts.as_slice() {
                [one] => Some(**one),
                _ => None,
            }
        }
    };
    chosen.map(|b| b.press).ok_or_else(|| {
        let names: Vec<String> = buttons.iter().map(|b| format!("{:?}", markup::to_plain(&b.label))).collect();
        format!("no single button labelled {label:?}; the buttons were: {}", names.join(", "))
    })
}

/// Summary of a run over many files.
#[derive(Debug, Default)]
pub struct Summary {
    pub passed: usize,
    pub failures: Vec<Failure>,
    pub steps: BTreeMap<PathBuf, usize>,
}

/// Runs every `(path, text)` scenario.
pub fn run_all(lib: &Library, files: &[(PathBuf, String)]) -> Summary {
    let mut s = Summary::default();
    for (path, text) in files {
        match run(lib, path, text) {
            Ok(n) => {
                s.passed += 1;
                s.steps.insert(path.clone(), n);
            }
            Err(f) => s.failures.push(f),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn reminder_texts_are_checked_by_id() {
        let guide = "guide: r\nlang: en\ntitle: R\nstart: a\nnodes:\n  a:\n    remind:\n      - id: pay\n        on: '\"2026-02-01\"'\n        say: Pay **today**\n    say: Set\n    end: true\n";
        let lib = crate::domain::dialogue::load_library(&[(PathBuf::from("r.en.yaml"), guide.to_owned())]).unwrap();
        let ok = "steps:\n  - send: /start\n    reminder_says: { pay: Pay today }\n";
        assert_eq!(run(&lib, Path::new("s.yaml"), ok), Ok(1));
        let wrong = "steps:\n  - send: /start\n    reminder_says: { pay: [Pay today, tomorrow] }\n";
        let f = run(&lib, Path::new("s.yaml"), wrong).unwrap_err();
        assert_eq!(f.line, 2);
        assert_eq!(f.message, "expected reminder `pay` to say \"tomorrow\", but it says:\n    Pay today");
        let missing = "steps:\n  - send: /start\n    reminder_says: { due: x }\n";
        let f = run(&lib, Path::new("s.yaml"), missing).unwrap_err();
        assert_eq!(f.message, "expected reminder `due` to be waiting, but it is not");
    }

    #[test]
    fn null_means_unset_not_empty() {
        assert!(var_matches(&Var::Null, &Var::Null));
        assert!(!var_matches(&Var::Str(String::new()), &Var::Null));
        assert!(!var_matches(&Var::List(Arc::default()), &Var::Null));
    }

    #[test]
    fn text_matches_scalars_that_read_the_same() {
        assert!(var_matches(&Var::Int(3500), &Var::Str("3500".into())));
        assert!(var_matches(&Var::Str("2026-02-10".into()), &Var::Str("2026-02-10".into())));
        assert!(!var_matches(&Var::List(Arc::new(vec![Var::Str("1".into())])), &Var::Str("1".into())));
        assert!(!var_matches(&Var::Int(1), &Var::Int(2)));
        assert!(var_matches(
            &Var::number("2000.01".parse().unwrap()),
            &Var::from_yaml(&serde_yaml::from_str("2000.01").unwrap())
        ));
    }
}
