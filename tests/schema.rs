//! `dialogues/schema.json`: generated from the format's Rust types, kept in
//! step with them, and accepting every shipped dialogue.

use std::path::Path;

use guidebot::cli::read_yaml;
use guidebot::domain::dialogue::format::json_schema;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_schema_matches_the_types() {
    let committed = std::fs::read_to_string(root().join("dialogues/schema.json")).expect("dialogues/schema.json");
    assert!(
        committed == json_schema(),
        "dialogues/schema.json is out of date: run `cargo run -- schema > dialogues/schema.json`"
    );
}

fn compile() -> (boon::Schemas, boon::SchemaIndex) {
    let schema: serde_json::Value = serde_json::from_str(&json_schema()).expect("schema is JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("file:///schema.json", schema).expect("add");
    let index = compiler.compile("file:///schema.json", &mut schemas).expect("the schema compiles");
    (schemas, index)
}

#[test]
fn schema_accepts_every_shipped_dialogue() {
    let (schemas, index) = compile();
    let files = read_yaml(&[root().join("dialogues"), root().join("tests/fixtures/dialogues")]).expect("dialogues");
    assert!(files.len() >= 2);
    for (path, text) in files {
        assert!(
            text.starts_with("# yaml-language-server: $schema=schema.json") || path.starts_with(root().join("tests")),
            "{} should start with the schema line",
            path.display()
        );
        let value: serde_json::Value = serde_yaml::from_str(&text).expect("YAML");
        if let Err(e) = schemas.validate(&value, index) {
            panic!("{} does not match the schema: {e:#}", path.display());
        }
    }
}

#[test]
fn schema_refuses_an_unknown_key() {
    let (schemas, index) = compile();
    let value: serde_json::Value =
        serde_yaml::from_str("guide: g\nlang: en\ntitle: T\nstart: a\nnodes:\n  a:\n    say: hi\n    gotoo: b\n")
            .expect("YAML");
    assert!(schemas.validate(&value, index).is_err());
}
