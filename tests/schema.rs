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

/// Keys that YAML 1.1 readers (PyYAML, many editors' plugins) read as booleans.
const YAML11_BOOLEANS: &[&str] =
    &["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"];

fn keys(v: &serde_yaml::Value, out: &mut Vec<String>) {
    match v {
        serde_yaml::Value::Mapping(m) => {
            for (k, v) in m {
                out.extend(k.as_str().map(str::to_owned));
                keys(v, out);
            }
        }
        serde_yaml::Value::Sequence(s) => s.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn shipped_dialogues_have_no_key_a_yaml_1_1_reader_takes_for_a_boolean() {
    let files = read_yaml(&[root().join("dialogues"), root().join("tests/fixtures/dialogues")]).expect("dialogues");
    for (path, text) in files {
        let mut all = Vec::new();
        keys(&serde_yaml::from_str(&text).expect("YAML"), &mut all);
        let bad: Vec<&String> = all.iter().filter(|k| YAML11_BOOLEANS.contains(&k.as_str())).collect();
        assert!(bad.is_empty(), "{}: {bad:?} would be read as true/false by PyYAML", path.display());
    }
}

#[test]
fn a_reminder_date_is_written_date_or_on_but_not_both() {
    let (schemas, index) = compile();
    let with = |keys: &str| -> serde_json::Value {
        let text = format!(
            "guide: g\nlang: en\ntitle: T\nstart: a\nnodes:\n  a:\n    say: hi\n    end: true\n    remind:\n      - {{ id: r, say: x{keys} }}\n"
        );
        serde_yaml::from_str(&text).expect("YAML")
    };
    assert!(schemas.validate(&with(", date: today"), index).is_ok());
    assert!(schemas.validate(&with(", on: today"), index).is_ok(), "older files still validate");
    assert!(schemas.validate(&with(", date: today, on: today"), index).is_err());
    assert!(schemas.validate(&with(""), index).is_err());
}
