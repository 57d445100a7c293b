//! Scenarios: YAML files that script a conversation and say what must be
//! seen. The runner feeds the engine directly (no store, no network), so a
//! scenario checks the dialogue exactly as users meet it, and fast.
//!
//! A scenario that pins no day (`today:` or `days:`) runs once on each of
//! [`DEFAULT_DAYS`], the days where dates go wrong: its texts may then name
//! dates relative to the day it runs on, as templates (`{{ day(-10) }}`).
//!
//! ```yaml
//! guide: huabei-overdue
//! lang: en
//! steps:
//!   - send: /start
//!     expect: Welcome
//!   - press: Let's begin
//!   - send: "3500"
//!     node: due_date
//!     vars: { debt: 3500 }
//!   - send: "{{ day(-10) }}"
//!     vars: { due: "{{ day(-10) }}" }
//!     expect: "Due {{ day(-10) | date }}"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use jiff::civil::Date;
use minijinja::{Environment, Error, ErrorKind, Value};
use serde::Deserialize;

use crate::domain::dates::{add_days, add_months, format_date, format_short};
use crate::domain::dialogue::Library;
use crate::domain::dialogue::spans::Spans;
use crate::domain::engine::{Button, Ctx, Edit, Event, Message, Output, UserState, step};
use crate::domain::markup;
use crate::domain::money::{Currency, format_money_in};
use crate::domain::value::{Var, get_path};

/// The days a scenario that pins none runs on: New Year's Eve and Day, the end
/// of February and 29 February in a leap year, and a day in mid-year.
pub const DEFAULT_DAYS: [Date; 5] = [
    Date::constant(2026, 6, 15),
    Date::constant(2026, 12, 31),
    Date::constant(2027, 1, 1),
    Date::constant(2028, 2, 28),
    Date::constant(2028, 2, 29),
];

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
    /// The one day the conversation happens.
    #[serde(default)]
    pub today: Option<String>,
    /// The days the conversation is run on, once each (instead of `today`).
    #[serde(default)]
    pub days: Option<Vec<String>>,
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
    /// Change the day before this step (a template: `"{{ day(5) }}"`).
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

/// Why a scenario failed: where, on which day, what was expected, what came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub file: PathBuf,
    pub line: usize,
    /// The day it ran on, when it runs on several.
    pub day: Option<Date>,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(day) = self.day {
            write!(f, "[{day}] ")?;
        }
        f.write_str(&self.message)
    }
}

/// How a scenario went: its steps, run on how many days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    pub steps: usize,
    pub days: usize,
}

/// Runs the scenario in `text` (read from `path`) against `lib` on each of its days
/// ([`DEFAULT_DAYS`] unless it pins some); Ok with the number of steps.
pub fn run(lib: &Library, path: &Path, text: &str) -> Result<usize, Failure> {
    run_on(lib, path, text, &DEFAULT_DAYS).map(|r| r.steps)
}

/// Runs the scenario like [`run`], on `days` when it pins none.
pub fn run_on(lib: &Library, path: &Path, text: &str, days: &[Date]) -> Result<Ran, Failure> {
    let (sc, spans) = read(path, text)?;
    let days = days_of(path, &sc, &spans, days)?;
    let several = days.len() > 1;
    let mut steps = 0;
    for &day in &days {
        steps = play(lib, path, &sc, &spans, day).map_err(|f| Failure { day: several.then_some(day), ..f })?.0;
    }
    Ok(Ran { steps, days: days.len() })
}

/// Runs the scenario like [`run`], on the first of its days only, and also returns
/// the user's state at its end.
pub fn replay(lib: &Library, path: &Path, text: &str) -> Result<(usize, UserState), Failure> {
    let (sc, spans) = read(path, text)?;
    let days = days_of(path, &sc, &spans, &DEFAULT_DAYS)?;
    play(lib, path, &sc, &spans, days[0])
}

/// Runs the scenario like [`replay`], starting on `day` when it pins no day of its own.
pub fn replay_on(lib: &Library, path: &Path, text: &str, day: Date) -> Result<(usize, UserState), Failure> {
    let (sc, spans) = read(path, text)?;
    let days = days_of(path, &sc, &spans, &[day])?;
    play(lib, path, &sc, &spans, days[0])
}

fn failure(path: &Path, line: usize, message: String) -> Failure {
    Failure { file: path.to_path_buf(), line, day: None, message }
}

fn read(path: &Path, text: &str) -> Result<(Scenario, Spans), Failure> {
    let fail = |line: usize, message: String| failure(path, line, message);
    let spans = Spans::index(text).map_err(|e| fail(e.pos.line, format!("not valid YAML: {}", e.message)))?;
    let sc: Scenario = serde_yaml::from_str(text)
        .map_err(|e| fail(e.location().map_or(1, |l| l.line()), format!("not a scenario: {e}")))?;
    Ok((sc, spans))
}

/// The days the scenario runs on: the one it pins with `today`, those of `days`, or `defaults`.
fn days_of(path: &Path, sc: &Scenario, spans: &Spans, defaults: &[Date]) -> Result<Vec<Date>, Failure> {
    let fail = |key: &str, message: String| failure(path, spans.value(key).line, message);
    let days = match (&sc.today, &sc.days) {
        (Some(_), Some(_)) => return Err(fail("days", "give `today` or `days`, not both".into())),
        (Some(d), None) => {
            vec![parse_day(d).ok_or_else(|| fail("today", "`today` must be a date like 2026-11-28".into()))?]
        }
        (None, Some(list)) => list
            .iter()
            .enumerate()
            .map(|(i, d)| {
                parse_day(d)
                    .ok_or_else(|| fail(&format!("days.{i}"), format!("`{d}` in `days` is not a date like 2026-11-28")))
            })
            .collect::<Result<_, _>>()?,
        (None, None) => defaults.to_vec(),
    };
    if days.is_empty() {
        return Err(fail("days", "`days` is empty: list at least one day".into()));
    }
    Ok(days)
}

/// The scenario's texts as templates: `today` is the day of the step, `day(n)` the
/// day `n` days after the one the scenario started on.
fn template_env(start: Date, lang: &str, currency: Currency) -> Environment<'static> {
    let mut env = Environment::new();
    let iso = |s: &str| {
        s.parse::<Date>()
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("`{s}` is not a date like 2026-12-15")))
    };
    env.add_function("day", move |n: i64| add_days(start, n).to_string());
    env.add_function("add_days", move |d: String, n: i64| iso(&d).map(|d| add_days(d, n).to_string()));
    env.add_function("add_months", move |d: String, n: i32| iso(&d).map(|d| add_months(d, n).to_string()));
    let lang_date = lang.to_owned();
    env.add_filter("date", move |d: String, fmt: Option<String>| {
        iso(&d).map(|d| match &fmt {
            Some(f) => d.strftime(f).to_string(),
            None => format_date(d, &lang_date),
        })
    });
    let lang_short = lang.to_owned();
    env.add_filter("short", move |d: String| iso(&d).map(|d| format_short(d, &lang_short)));
    env.add_filter("money", move |v: Value| {
        Var::try_from_value(&v)
            .ok()
            .and_then(|v| v.as_decimal())
            .map(|d| format_money_in(d, &currency))
            .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "`money` needs a number"))
    });
    env
}

/// `text` rendered when it is a template, as written otherwise.
fn fill(env: &Environment<'_>, today: Date, text: &str) -> Result<String, String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_owned());
    }
    env.render_str(text, minijinja::context! { today => today.to_string() })
        .map_err(|e| format!("`{text}` does not render: {e}"))
}

/// A `vars:` value with every text in it rendered.
fn fill_yaml(env: &Environment<'_>, today: Date, v: &serde_yaml::Value) -> Result<serde_yaml::Value, String> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::String(s) => Y::String(fill(env, today, s)?),
        Y::Sequence(items) => Y::Sequence(items.iter().map(|x| fill_yaml(env, today, x)).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = serde_yaml::Mapping::new();
            for (k, x) in m {
                out.insert(k.clone(), fill_yaml(env, today, x)?);
            }
            Y::Mapping(out)
        }
        other => other.clone(),
    })
}

fn play(lib: &Library, path: &Path, sc: &Scenario, spans: &Spans, start: Date) -> Result<(usize, UserState), Failure> {
    let fail = |line: usize, message: String| failure(path, line, message);
    let mut today = start;
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
    let env = template_env(start, first.lang(), first.file.currency());
    let mut state =
        UserState { guide: Some(guide.clone()), lang: Some(first.lang().to_owned()), ..UserState::default() };
    let mut keyboard: Option<Message> = None;
    for (i, st) in sc.steps.iter().enumerate() {
        let line = spans.value(&format!("steps.{i}")).line;
        let text = |s: &str, today: Date| fill(&env, today, s).map_err(|m| fail(line, m));
        if let Some(d) = &st.today {
            let d = text(d, today)?;
            today = parse_day(&d).ok_or_else(|| fail(line, format!("`today: {d}` is not a date")))?;
        }
        let ctx =
            Ctx { today, now: today.at(10, 0, 0, 0), first_name: sc.first_name.clone(), lang_hint: sc.lang.clone() };
        let event = if let Some(t) = &st.send {
            Some(Event::Text(text(t, today)?))
        } else if let Some(label) = st.press.as_ref().or(st.toggle.as_ref()) {
            let label = text(label, today)?;
            let Some(msg) = &keyboard else {
                return Err(fail(line, format!("no buttons are shown, so `{label}` cannot be pressed")));
            };
            Some(Event::Press(find_button(msg, &label).map_err(|m| fail(line, m))?))
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
            let want = text(want, today)?;
            if !shown.contains(&want) {
                return Err(fail(line, format!("expected to see {want:?}, but the replies were:\n{}", indent(&shown))));
            }
        }
        for unwanted in st.absent.items() {
            let unwanted = text(unwanted, today)?;
            if shown.contains(&unwanted) {
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
        check_reminder_texts(&state, &st.reminder_says, |t| fill(&env, today, t)).map_err(|m| fail(line, m))?;
        for (k, want) in &st.vars {
            let want = fill_yaml(&env, today, want).map_err(|m| fail(line, m))?;
            let got = get_path(&state.vars, k).cloned().unwrap_or(Var::Null);
            let want_var = Var::from_yaml(&want);
            if !var_matches(&got, &want_var) {
                let got_s = if got.is_set() { format!("{:?}", got.display()) } else { "unset".into() };
                return Err(fail(line, format!("expected `{k}` to be {:?}, but it is {got_s}", want_var.display())));
            }
        }
    }
    Ok((sc.steps.len(), state))
}

/// Each waiting reminder named in `wanted` must contain its texts (as plain text), each
/// rendered by `fill` first.
fn check_reminder_texts(
    state: &UserState,
    wanted: &IndexMap<String, OneOrMany>,
    fill: impl Fn(&str) -> Result<String, String>,
) -> Result<(), String> {
    for (id, texts) in wanted {
        let Some(r) = state.reminders.get(id).filter(|r| !r.sent) else {
            return Err(format!("expected reminder `{id}` to be waiting, but it is not"));
        };
        let text = markup::to_plain(&r.text);
        for want in texts.items() {
            let want = fill(want)?;
            if !text.contains(&want) {
                return Err(format!("expected reminder `{id}` to say {want:?}, but it says:\n{}", indent(&text)));
            }
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
    match buttons_named(msg, label).as_slice() {
        [one] => Ok(one.press),
        _ => {
            let names: Vec<String> =
                msg.buttons.iter().flatten().map(|b| format!("{:?}", markup::to_plain(&b.label))).collect();
            Err(format!("no single button labelled {label:?}; the buttons were: {}", names.join(", ")))
        }
    }
}

/// The buttons of `msg` that `label` names, compared without markup, tick marks or case:
/// the one whose label is `label`, else every one whose label starts with it. Exactly
/// one means found; several, that `label` is ambiguous. Shared with the terminal, so
/// that a scenario presses buttons the way a person typing their labels does.
pub fn buttons_named<'m>(msg: &'m Message, label: &str) -> Vec<&'m Button> {
    let clean = |s: &str| markup::to_plain(s).trim_start_matches(['✅', '⬜']).trim().to_lowercase();
    let wanted = clean(label);
    let buttons: Vec<&Button> = msg.buttons.iter().flatten().collect();
    let exact: Vec<&Button> = buttons.iter().copied().filter(|b| clean(&b.label) == wanted).collect();
    if exact.len() == 1 {
        return exact;
    }
    buttons.into_iter().filter(|b| clean(&b.label).starts_with(&wanted)).collect()
}

/// Summary of a run over many files.
#[derive(Debug, Default)]
pub struct Summary {
    pub passed: usize,
    pub failures: Vec<Failure>,
    pub ran: BTreeMap<PathBuf, Ran>,
}

/// Runs every `(path, text)` scenario, on [`DEFAULT_DAYS`] when it pins no day.
pub fn run_all(lib: &Library, files: &[(PathBuf, String)]) -> Summary {
    run_all_on(lib, files, &DEFAULT_DAYS)
}

/// Runs every `(path, text)` scenario, on `days` when it pins no day.
pub fn run_all_on(lib: &Library, files: &[(PathBuf, String)], days: &[Date]) -> Summary {
    let mut s = Summary::default();
    for (path, text) in files {
        match run_on(lib, path, text, days) {
            Ok(r) => {
                s.passed += 1;
                s.ran.insert(path.clone(), r);
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
    fn reminder_texts_are_templates_relative_to_the_day() {
        let guide = "guide: r\nlang: en\ntitle: R\nstart: a\nnodes:\n  a:\n    remind:\n      - id: pay\n        on: add_months(today, 1)\n        say: Pay on {{ add_months(today, 1) | date }}\n    say: Set\n    end: true\n";
        let lib = crate::domain::dialogue::load_library(&[(PathBuf::from("r.en.yaml"), guide.to_owned())]).unwrap();
        let ok =
            "steps:\n  - send: /start\n    reminder_says: { pay: \"Pay on {{ add_months(day(0), 1) | date }}\" }\n";
        assert_eq!(run_on(&lib, Path::new("s.yaml"), ok, &DEFAULT_DAYS), Ok(Ran { steps: 1, days: 5 }));
        let wrong = "steps:\n  - send: /start\n    reminder_says: { pay: \"Pay on {{ day(1) | date }}\" }\n";
        let f = run(&lib, Path::new("s.yaml"), wrong).unwrap_err();
        assert_eq!(f.day, Some(DEFAULT_DAYS[0]));
        assert_eq!(
            f.message,
            "expected reminder `pay` to say \"Pay on 16 Jun 2026\", but it says:\n    Pay on 15 Jul 2026"
        );
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
