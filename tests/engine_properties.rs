//! Properties that hold for every input, checked on generated ones: the
//! markup's `split` and `to_html`, the callback-data codec, and the engine
//! on the shipped guides under random sequences of events.
//!
//! Case counts are kept small enough for the whole file to run in a few
//! seconds in a debug build; `PROPTEST_CASES=N` runs more of each.

use std::path::Path;
use std::sync::Arc;

use guidebot::cli::read_yaml;
use guidebot::domain::dialogue::format::AskType;
use guidebot::domain::dialogue::{Library, load_library};
use guidebot::domain::engine::texts::{Ui, ui};
use guidebot::domain::engine::{Action, Command, Ctx, Event, Output, Press, UserState, step};
use guidebot::domain::markup::{split, to_html, to_plain};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn cases(n: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(n),
        ..Config::default()
    }
}

// ----- markup --------------------------------------------------------------

/// Pieces that interact in the markup: markers, escapes, fences, entities,
/// word and wide characters, whitespace of several kinds.
const TOKENS: &[&str] = &[
    "**", "_", "`", "``", "\\", "\\*", "\\_", "\\`", "\\\\", "\n", "\n```\n", "```", "a", "Z9", " ", "  ", "\t",
    "\r\n", "中文", "🙂", "é", "\u{200b}", "&", "<", ">", "\"", "*", "&amp;", "<b>", "</i>", "<pre>",
];

fn markup() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(TOKENS), 0..80).prop_map(|t| t.concat()),
        1 => any::<String>(),
        1 => "[a-z *_`\\\\\n<&]{0,60}",
    ]
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Reads Telegram HTML as `render_html` may write it: only `<b>`, `<i>`,
/// `<code>` and `<pre>`, properly nested, nothing inside code or pre, and
/// only the four entities. Returns the text it shows, or what is wrong.
fn read_html(html: &str) -> Result<String, String> {
    let mut shown = String::new();
    let mut open: Vec<&str> = Vec::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or("a `<` that opens no tag")?;
                let tag = &rest[1..end];
                match tag.strip_prefix('/') {
                    Some(name) => {
                        if open.pop() != Some(name) {
                            return Err(format!("`</{name}>` closes nothing open"));
                        }
                    }
                    None => {
                        if !matches!(tag, "b" | "i" | "code" | "pre") {
                            return Err(format!("unknown tag `<{tag}>`"));
                        }
                        if open.iter().any(|t| matches!(*t, "code" | "pre")) {
                            return Err(format!("`<{tag}>` inside code"));
                        }
                        open.push(tag);
                    }
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let (entity, ch) = [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>'), ("&quot;", '"')]
                    .into_iter()
                    .find(|(e, _)| rest.starts_with(e))
                    .ok_or("a raw `&`")?;
                shown.push(ch);
                rest = &rest[entity.len()..];
            }
            '>' | '"' => return Err(format!("a raw `{c}`")),
            _ => {
                shown.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(t) = open.last() {
        return Err(format!("`<{t}>` is never closed"));
    }
    Ok(shown)
}

proptest! {
    #![proptest_config(cases(400))]

    #[test]
    fn split_parts_fit_and_lose_only_whitespace(text in markup(), max in prop_oneof![1usize..40, 40usize..5000]) {
        let parts = split(&text, max);
        for part in &parts {
            let plain = to_plain(part);
            let len = utf16_len(&plain);
            // A character wider than the limit (an emoji under max 1) cannot be cut.
            prop_assert!(len <= max || plain.chars().count() == 1, "part of {len} > {max}: {part:?}");
            prop_assert!(!plain.trim().is_empty(), "a blank part {part:?}");
        }
        if utf16_len(&to_plain(&text)) <= max && !to_plain(&text).trim().is_empty() {
            prop_assert_eq!(&parts, &vec![text.clone()], "a text that fits stays whole");
        }
        // The parts' plain texts, joined, are the whole plain text with
        // some whitespace (line breaks at cuts, blank edges) left out.
        let joined: String = parts.iter().map(|p| to_plain(p)).collect();
        let mut rest = joined.chars().peekable();
        for c in to_plain(&text).chars() {
            if rest.peek() == Some(&c) {
                rest.next();
            } else {
                prop_assert!(c.is_whitespace(), "{c:?} lost");
            }
        }
        prop_assert_eq!(rest.collect::<String>(), "", "the parts show more than the text");
    }

    #[test]
    fn html_is_well_formed_and_shows_the_plain_text(text in markup()) {
        let html = to_html(&text);
        match read_html(&html) {
            Ok(shown) => prop_assert_eq!(shown, to_plain(&text)),
            Err(e) => prop_assert!(false, "{e} in {html:?}"),
        }
    }

    #[test]
    fn html_of_every_split_part_is_well_formed(text in markup(), max in 1usize..60) {
        for part in split(&text, max) {
            let html = to_html(&part);
            prop_assert!(read_html(&html).is_ok(), "{:?} in {html:?}", read_html(&html));
        }
    }
}

// ----- callback data -------------------------------------------------------

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        any::<u16>().prop_map(Action::Choice),
        any::<u16>().prop_map(Action::Toggle),
        any::<u16>().prop_map(Action::Review),
        any::<u16>().prop_map(Action::Guide),
        any::<u16>().prop_map(Action::Lang),
        prop::sample::select(vec![
            Action::Done,
            Action::Keep,
            Action::Skip,
            Action::Yes,
            Action::No,
            Action::Restart,
            Action::Export,
            Action::Notes,
        ]),
    ]
}

fn press() -> impl Strategy<Value = Press> {
    (any::<u32>(), any::<u32>(), action()).prop_map(|(seq, node, action)| Press { seq, node, action })
}

/// Callback data near the real shape, so that decoding gets past its first checks.
fn near_callback_data() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "g1:[-+0-9]{0,12}:[+0-9a-fA-F]{0,10}:[a-zA-Z0-9+é🙂-]{0,8}",
        "g1(:[^:]{0,4}){0,6}",
        press()
            .prop_flat_map(|p| {
                let data = p.encode();
                (Just(data.clone()), 0..=data.len(), ".{0,3}")
            })
            .prop_map(|(data, cut, tail)| {
                let cut = (0..=cut).rev().find(|i| data.is_char_boundary(*i)).unwrap_or(0);
                format!("{}{tail}", &data[..cut])
            }),
    ]
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn presses_round_trip_within_telegrams_64_bytes(p in press()) {
        let data = p.encode();
        prop_assert!(data.len() <= 64, "{} bytes: {data}", data.len());
        prop_assert_eq!(Press::decode(&data), Some(p));
    }

    #[test]
    fn decoding_anything_never_panics_and_what_decodes_re_encodes(data in near_callback_data()) {
        if let Some(p) = Press::decode(&data) {
            prop_assert_eq!(Press::decode(&p.encode()), Some(p));
        }
    }
}

// ----- the engine on the shipped guides ------------------------------------

fn shipped() -> &'static Library {
    static LIB: std::sync::OnceLock<Library> = std::sync::OnceLock::new();
    LIB.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        load_library(&read_yaml(&[root.join("dialogues")]).expect("dialogues")).expect("shipped dialogues pass check")
    })
}

/// What a person (or someone poking at the bot) might type.
const TEXTS: &[&str] = &[
    "3500",
    "3,500.50",
    "¥1200",
    "１２００元",
    "0",
    "-5",
    "0.001",
    "99999999999999",
    "abc",
    "2026-01-10",
    "01-10",
    "2026-11-28",
    "2027-02-30",
    "2026-13-45",
    "yesterday",
    "昨天",
    "12",
    "3",
    "36",
    "1",
    "2",
    "9",
    "yes",
    "no",
    "是",
    "否",
    "y",
    "n",
    "Li, phone ends 1234",
    "我叫李明",
    "",
    "   ",
    "**",
    "_",
    "`",
    "<b>x</b>",
    "&amp;",
    "🙂🙂",
    "\\",
    "/",
    "/unknown",
    "ok",
    "OK, let's start",
    "好的",
];

const NOTES: &[&str] = &["call back Monday", "  spaced  ", "**bold** _it_", "<i>&", "客服说下周回电", "", "🙂"];

/// One thing the simulated user does.
#[derive(Debug, Clone)]
enum Op {
    Start,
    Refresh,
    Text(&'static str),
    /// A plausible answer to the question now asked (index into the answers of its kind).
    Answer(usize),
    /// A long text (over the engine's limits).
    Long(usize),
    /// Types the label of a button now shown (index modulo their number).
    TypeLabel(usize),
    /// Presses a button now shown.
    Press(usize),
    /// Presses a button shown at some earlier step.
    Old(usize),
    /// A press nobody was shown: made up, or the current step with another node or action.
    Forged(Press),
    NearForged(u32, Action),
    /// A command, typed or from a menu.
    Command(&'static str, bool),
    Note(&'static str, bool),
    /// Days pass before the next event.
    Later(u8),
}

const COMMANDS: &[&str] = &[
    "/back",
    "/review",
    "/progress",
    "/note",
    "/notes",
    "/restart",
    "/lang",
    "/lang en",
    "/lang zh",
    "/lang xx",
    "/help",
    "/export",
    "/delete",
    "/start",
    "/guides",
    "/guides huabei-overdue",
    "/Back@guide_bot",
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Start),
        1 => Just(Op::Refresh),
        4 => prop::sample::select(TEXTS).prop_map(Op::Text),
        8 => any::<usize>().prop_map(Op::Answer),
        1 => (4000usize..4100).prop_map(Op::Long),
        3 => any::<usize>().prop_map(Op::TypeLabel),
        12 => any::<usize>().prop_map(Op::Press),
        2 => any::<usize>().prop_map(Op::Old),
        1 => press().prop_map(Op::Forged),
        1 => (any::<u32>(), action()).prop_map(|(n, a)| Op::NearForged(n, a)),
        4 => (prop::sample::select(COMMANDS), any::<bool>()).prop_map(|(c, typed)| Op::Command(c, typed)),
        2 => (prop::sample::select(NOTES), any::<bool>()).prop_map(|(n, typed)| Op::Note(n, typed)),
        1 => (1u8..40).prop_map(Op::Later),
    ]
}

/// A user driven by [`Op`]s, checking the engine's promises after every event.
struct Sim {
    lib: &'static Library,
    st: UserState,
    ctx: Ctx,
    /// The buttons of the last keyboard shown.
    shown: Vec<(String, Press)>,
    /// Every press ever shown.
    seen: Vec<Press>,
    /// Notes the user was told were saved, oldest first.
    told: Vec<String>,
}

impl Sim {
    fn new(lang: Option<&str>, name: Option<&str>) -> Sim {
        let today = jiff::civil::date(2026, 11, 28);
        Sim {
            lib: shipped(),
            st: UserState::default(),
            ctx: Ctx {
                today,
                now: today.at(9, 30, 0, 0),
                first_name: name.map(str::to_owned),
                lang_hint: lang.map(str::to_owned),
            },
            shown: Vec::new(),
            seen: Vec::new(),
            told: Vec::new(),
        }
    }

    fn event(&mut self, op: &Op) -> Option<Event> {
        let pick = |list: &[(String, Press)], i: usize| (!list.is_empty()).then(|| list[i % list.len()].clone());
        Some(match op {
            Op::Start => Event::Start,
            Op::Refresh => Event::Refresh,
            Op::Text(t) => Event::Text((*t).to_owned()),
            Op::Answer(i) => Event::Text(self.answer(*i)?.to_owned()),
            Op::Long(n) => Event::Text("长".repeat(*n)),
            Op::TypeLabel(i) => Event::Text(pick(&self.shown, *i)?.0),
            Op::Press(i) => Event::Press(pick(&self.shown, *i)?.1),
            Op::Old(i) => Event::Press(*self.seen.get(i % self.seen.len().max(1))?),
            Op::Forged(p) => Event::Press(*p),
            Op::NearForged(node, action) => Event::Press(Press { seq: self.st.seq, node: *node, action: *action }),
            Op::Command(c, typed) => match Command::parse(c) {
                Some(command) if !typed => Event::Command(command),
                _ => Event::Text((*c).to_owned()),
            },
            Op::Note(n, true) => Event::Text(format!("/note {n}")),
            Op::Note(n, false) => Event::Command(Command::Note(Some((*n).to_owned()))),
            Op::Later(days) => {
                let later = self.ctx.today.checked_add(jiff::Span::new().days(i64::from(*days))).ok()?;
                self.ctx.today = later;
                self.ctx.now = later.at(10, 0, 0, 0);
                return None;
            }
        })
    }

    /// A plausible answer of the kind the current question asks for, if it asks for one.
    fn answer(&self, i: usize) -> Option<&'static str> {
        let guide = self.lib.pick(self.st.guide.as_deref()?, self.st.lang.as_deref())?;
        let ask = guide.node(self.st.node.as_deref()?)?.ask.as_ref()?;
        let pool: &[&str] = match ask.kind {
            AskType::Money => &["3500", "3,500.50", "¥12000", "８００", "0.5", "-1", "1e9"],
            AskType::Number => &["3", "12", "6", "0", "36", "1.5", "几个月"],
            AskType::Date => &["2026-01-10", "01-10", "11-01", "2026-11-28", "2026-12-31", "2027-02-29", "20260110"],
            AskType::Text => &["Li, phone ends 1234", "收入下降，暂时还不上", "agent 007", "skip", "   "],
        };
        Some(pool[i % pool.len()])
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let Some(event) = self.event(op) else { return Ok(()) };
        let before = self.st.notes.len();
        let (next, out) = step(self.lib, &self.st, &event, &self.ctx);
        prop_assert!(out.problems.is_empty(), "{:?} after {event:?}", out.problems);
        self.check_notes(&event, &next, &out, before)?;
        self.st = persisted(&next)?;
        self.check_node()?;
        if let Some(keyboard) = out.last_keyboard() {
            self.shown = keyboard.buttons.iter().flatten().map(|b| (b.label.clone(), b.press)).collect();
            self.seen.extend(self.shown.iter().map(|(_, p)| *p));
        }
        Ok(())
    }

    /// A note the user is told was saved is the last one kept, as typed
    /// (trimmed); only an erase takes notes away.
    fn check_notes(
        &mut self,
        event: &Event,
        next: &UserState,
        out: &Output,
        before: usize,
    ) -> Result<(), TestCaseError> {
        let saved = [ui("en", Ui::NoteSaved), ui("zh", Ui::NoteSaved)];
        if out.erase {
            prop_assert_eq!(next, &UserState::default(), "an erase keeps nothing");
            self.told.clear();
            return Ok(());
        }
        if out.texts().iter().any(|t| saved.contains(t)) {
            prop_assert_eq!(next.notes.len(), before + 1, "told a note was saved after {:?}", event);
            let typed = match event {
                Event::Text(t) => t.strip_prefix("/note").unwrap_or(t).trim(),
                Event::Command(Command::Note(Some(t))) => t.trim(),
                other => return Err(TestCaseError::fail(format!("a note saved by {other:?}"))),
            };
            prop_assert_eq!(next.notes.last().map(|n| n.text.as_str()), Some(typed));
            self.told.push(typed.to_owned());
        } else {
            prop_assert_eq!(next.notes.len(), before, "notes changed silently after {:?}", event);
        }
        Ok(())
    }

    /// The user is at a node of a loaded guide (or at none), and so is every
    /// step `/back` can return to.
    fn check_node(&self) -> Result<(), TestCaseError> {
        let Some(node) = &self.st.node else { return Ok(()) };
        let guide = self.st.guide.as_deref().and_then(|g| self.lib.pick(g, self.st.lang.as_deref()));
        prop_assert!(guide.is_some(), "at node {node} of no loaded guide ({:?})", self.st.guide);
        let Some(guide) = guide else { return Ok(()) };
        prop_assert!(guide.node(node).is_some(), "at node {node}, which {} has not", guide.id());
        for f in &self.st.history {
            prop_assert!(guide.node(&f.node).is_some(), "history holds {}, which {} has not", f.node, guide.id());
        }
        Ok(())
    }

    fn check_end(&self) -> Result<(), TestCaseError> {
        let kept: Vec<&str> = self.st.notes.iter().map(|n| n.text.as_str()).collect();
        let told: Vec<&str> = self.told.iter().map(String::as_str).collect();
        prop_assert_eq!(kept, told, "the notes kept are the notes told saved");
        Ok(())
    }
}

/// The state as the app stores it and reads it back: the record as JSON,
/// the notes apart. The record alone must give back everything but the notes.
fn persisted(state: &UserState) -> Result<UserState, TestCaseError> {
    let json = serde_json::to_vec(state).map_err(|e| TestCaseError::fail(format!("serialise: {e}")))?;
    let mut back: UserState =
        serde_json::from_slice(&json).map_err(|e| TestCaseError::fail(format!("deserialise: {e}")))?;
    let without_notes = UserState { notes: Arc::default(), ..state.clone() };
    prop_assert_eq!(&back, &without_notes, "the record does not read back as written");
    back.notes = state.notes.clone();
    Ok(back)
}

proptest! {
    #![proptest_config(cases(160))]

    #[test]
    fn the_engine_keeps_its_promises_under_random_events(
        lang in prop::sample::select(vec![None, Some("en"), Some("zh"), Some("fr")]),
        name in prop::sample::select(vec![None, Some("Li"), Some("**<b>&")]),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let mut sim = Sim::new(lang, name);
        for op in &ops {
            sim.apply(op)?;
        }
        sim.check_end()?;
    }
}

/// The generator does reach deep into the guide: random presses of shown
/// buttons and plausible answers get past the first stages (with this
/// fixed seed some users reach the end).
#[test]
fn random_users_get_deep_into_the_guide() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = prop::collection::vec(op(), 120..160);
    let mut stages = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let ops = strategy.new_tree(&mut runner).expect("ops").current();
        let mut sim = Sim::new(Some("en"), None);
        for op in &ops {
            sim.apply(op).expect("promises hold");
        }
        sim.check_end().expect("notes kept");
        stages.extend(sim.st.reached.iter().cloned());
    }
    assert!(stages.len() >= 3, "random users only reached {stages:?}");
}
