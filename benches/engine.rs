//! Speed targets: one engine step (event to output, templates rendered)
//! under 20 µs median; loading and checking every file in `dialogues/`
//! under 20 ms. Run with `cargo bench --bench engine`.

use std::path::Path;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use guidebot::cli::read_yaml;
use guidebot::domain::dialogue::load_library;
use guidebot::domain::engine::{Ctx, Event, UserState, step};
use guidebot::domain::scenario::replay;

// The same allocator as the guidebot binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn ctx() -> Ctx {
    let today = jiff::civil::date(2026, 11, 28);
    Ctx { today, now: today.at(9, 0, 0, 0), first_name: Some("Li".into()), lang_hint: None }
}

fn benches(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = read_yaml(&[root.join("dialogues")]).expect("dialogues");
    c.bench_function("load and check dialogues/", |b| {
        b.iter(|| load_library(black_box(&files)).expect("dialogues pass check"))
    });

    let fixture = read_yaml(&[root.join("tests/fixtures/dialogues")]).expect("fixture");
    let lib = load_library(&fixture).expect("fixture loads");
    let ctx = ctx();
    // A user at the money question of the README example.
    let (st, _) = step(&lib, &UserState::default(), &Event::Start, &ctx);
    let press = Event::Press(step(&lib, &UserState::default(), &Event::Start, &ctx).1.messages[0].buttons[0][0].press);
    let (at_amount, _) = step(&lib, &st, &press, &ctx);
    assert_eq!(at_amount.node.as_deref(), Some("amount"));
    let answer = Event::Text("3,500.50".into());
    c.bench_function("engine step: typed money answer", |b| {
        b.iter(|| step(&lib, black_box(&at_amount), black_box(&answer), &ctx))
    });

    // A user at the last question: the answer computes and renders the schedule.
    let mut st = at_amount.clone();
    for t in ["5000", "12"] {
        st = step(&lib, &st, &Event::Text(t.into()), &ctx).0;
    }
    assert_eq!(st.node.as_deref(), Some("first"));
    let date = Event::Text("2026-12-15".into());
    c.bench_function("engine step: schedule of 12 computed and rendered", |b| {
        b.iter(|| step(&lib, black_box(&st), black_box(&date), &ctx))
    });
}

/// A user deep in the Huabei guide: the state at the end of a long scenario
/// (dozens of questions answered, two contact-log entries, an agreement).
fn deep_user(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = load_library(&read_yaml(&[root.join("dialogues")]).expect("dialogues")).expect("dialogues load");
    let path = root.join("tests/scenarios/huabei-log-agreement.yaml");
    let text = std::fs::read_to_string(&path).expect("scenario");
    let (_, st) = replay(&lib, &path, &text).expect("the scenario passes");
    assert!(st.history.len() > 40, "a long history: {}", st.history.len());
    let today = jiff::civil::date(2026, 1, 20);
    let ctx = Ctx { today, now: today.at(9, 0, 0, 0), first_name: None, lang_hint: None };
    let progress = Event::Text("/progress".into());
    c.bench_function("engine step, deep in the Huabei guide: /progress", |b| {
        b.iter(|| step(&lib, black_box(&st), black_box(&progress), &ctx))
    });
    let back = Event::Text("/back".into());
    c.bench_function("engine step, deep in the Huabei guide: /back", |b| {
        b.iter(|| step(&lib, black_box(&st), black_box(&back), &ctx))
    });
}

criterion_group!(engine, benches, deep_user);
criterion_main!(engine);
