//! Stores written by the previous layouts open in this build, with nothing
//! lost: a sled data directory at storage schema 4 and a PostgreSQL database
//! at storage schema 2, both written by guidebot before user and event ids
//! named their front end (`tests/fixtures/store-v4`, made by the shipped
//! guide through the app; `tests/fixtures/postgres-v2.sql`, that directory
//! after `guidebot migrate` into PostgreSQL). In both, user 0 was the
//! terminal's own user and 123456789 a Telegram user with updates 5001–5003
//! applied, update 5004 seen (a sticker), a note each, and one reply of
//! update 5003 still in the outbox.
//!
//! The PostgreSQL half needs `GUIDEBOT_TEST_POSTGRES` (see `tests/util/pg.rs`).

mod util;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use guidebot::adapters::store::{EventId, Front, PostgresStore, SledStore, Store, UserId};
use guidebot::app::{App, Delivery, ctx_at};
use guidebot::domain::engine::{Ctx, Event, Output};

use util::pg::TestSchema;

const TELEGRAM: UserId = UserId { front: Front::Telegram, id: 123_456_789 };

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn app_on(store: Arc<dyn Store>) -> App {
    let library = guidebot::cli::load_dialogues(&Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues"))
        .expect("the shipped dialogues");
    App::new(library, store)
}

fn ctx() -> Ctx {
    let zone = jiff::tz::TimeZone::get("Asia/Shanghai").expect("zone");
    ctx_at("2026-11-21T02:00:00Z".parse().expect("now"), &zone, None, Some("en".into()))
}

fn notes(app: &App, user: UserId) -> Vec<String> {
    app.state(user).expect("state").notes.iter().map(|n| n.text.clone()).collect()
}

/// Everything the old store held reads back under the new ids, and the
/// users go on from there.
fn everything_came_along(store: &Arc<dyn Store>) {
    let mut users = store.users().expect("users");
    users.sort_unstable();
    assert_eq!(users, vec![TELEGRAM, UserId::LOCAL], "user 0 is the terminal's, the other Telegram's");

    let app = app_on(Arc::clone(store));
    assert_eq!(notes(&app, UserId::LOCAL), vec!["MARKER-V4-LOCAL"]);
    assert_eq!(notes(&app, TELEGRAM), vec!["MARKER-V4-TG"]);
    assert_eq!(app.state(UserId::telegram(0)).expect("state").notes.len(), 0, "no Telegram user 0 appeared");

    for id in 5001..=5004 {
        assert!(store.applied(EventId::telegram(id)).expect("applied"), "update {id} is still known");
    }
    assert!(!store.applied(EventId::new(Front::Terminal, 5001)).expect("applied"), "another front end's 5001");
    assert!(!store.first_delivery(EventId::telegram(5004)).expect("first"), "the sticker stays answered");

    let pending = store.pending().expect("pending");
    assert_eq!(pending.len(), 1, "the undelivered reply");
    assert_eq!((pending[0].user, pending[0].item.as_slice()), (TELEGRAM, &b"queued reply"[..]));

    let plan = |_: &Output| Vec::new();
    let repeat = app.handle_once(TELEGRAM, EventId::telegram(5003), &Event::Text("/help".into()), &ctx(), &plan);
    assert!(matches!(repeat.expect("no error"), Delivery::Repeated), "a redelivered update is not applied again");
    let next = EventId::telegram(5005);
    app.handle_once(TELEGRAM, next, &Event::Text("/note after the upgrade".into()), &ctx(), &plan).expect("note");
    assert_eq!(notes(&app, TELEGRAM), vec!["MARKER-V4-TG", "after the upgrade"]);
}

#[test]
fn a_sled_directory_of_schema_4_is_migrated() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("data");
    copy_tree(&fixture("store-v4"), &dir);
    let store: Arc<dyn Store> = Arc::new(SledStore::open(&dir).expect("open the old directory"));
    everything_came_along(&store);
    drop(store);

    // Opened again: already at the new schema, and what was added is there.
    let store: Arc<dyn Store> = Arc::new(SledStore::open(&dir).expect("open again"));
    assert_eq!(store.users().expect("users").len(), 2);
    assert!(store.applied(EventId::telegram(5005)).expect("applied"));
    assert_eq!(notes(&app_on(Arc::clone(&store)), TELEGRAM).len(), 2);
}

#[test]
fn a_postgres_database_of_schema_2_is_migrated() {
    let Some(schema) = TestSchema::new("upgrade") else { return };
    let dump = std::fs::read_to_string(fixture("postgres-v2.sql")).expect("fixture");
    schema.client().batch_execute(&dump).expect("load the schema-2 tables");

    let store: Arc<dyn Store> = Arc::new(PostgresStore::open(&schema.url).expect("open the old database"));
    everything_came_along(&store);
    drop(store);

    let mut client = schema.client();
    let ids: Vec<String> = client
        .query("SELECT user_id FROM guidebot_users ORDER BY 1", &[])
        .expect("query")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, ["telegram:123456789", "terminal:0"], "ids are stored with their front end");
    let version: String =
        client.query_one("SELECT value FROM guidebot_meta WHERE name = 'schema_version'", &[]).expect("meta").get(0);
    assert_eq!(version, "3");

    // Opened again: nothing to migrate, and it all still reads.
    let store: Arc<dyn Store> = Arc::new(PostgresStore::open(&schema.url).expect("open again"));
    assert_eq!(notes(&app_on(Arc::clone(&store)), TELEGRAM).len(), 2);
    assert!(store.applied(EventId::telegram(5005)).expect("applied"));
}
