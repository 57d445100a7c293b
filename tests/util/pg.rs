//! A schema of its own on the test PostgreSQL server, for the tests that run
//! guidebot on PostgreSQL. `GUIDEBOT_TEST_POSTGRES` holds the server's URL
//! (`.ci/run` starts one and sets it). Without it a test says so and passes,
//! except under CI (`CI=true`), where it fails: CI must run them.

use postgres::{Client, NoTls};

/// A schema of its own on the test server (its URL sets the search path),
/// dropped at the end.
pub struct TestSchema {
    base: String,
    name: String,
    /// The URL to give guidebot (`--store`).
    pub url: String,
}

impl TestSchema {
    /// A fresh schema named after `test` and this process; None (after
    /// saying why) when no test server is configured.
    pub fn new(test: &str) -> Option<TestSchema> {
        let base = std::env::var("GUIDEBOT_TEST_POSTGRES").unwrap_or_default();
        if base.is_empty() {
            assert!(
                std::env::var("CI").ok().is_none_or(|v| v != "true"),
                "CI must run the PostgreSQL tests: set GUIDEBOT_TEST_POSTGRES (.ci/run does)"
            );
            eprintln!(
                "skipped: GUIDEBOT_TEST_POSTGRES is not set; set it to the URL of a throwaway PostgreSQL \
                 database (as .ci/run does) to run the {test} test"
            );
            return None;
        }
        let name = format!("gbt_{test}_{}", std::process::id());
        let mut client = Client::connect(&base, NoTls).expect("GUIDEBOT_TEST_POSTGRES is set but cannot be reached");
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")).expect("schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
        Some(TestSchema { base, name, url })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A plain connection to the schema.
    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connect to the test schema")
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&self.base, NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
