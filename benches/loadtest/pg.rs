//! A scratch PostgreSQL database for one run of guidebot with `--store`:
//! created on the server the run was given, dropped when the run is over.
//!
//! The synchronous client must not run inside the async runtime, so each
//! statement runs on a thread of its own.

use postgres::{Client, NoTls};

/// A database made for one run.
pub struct Scratch {
    /// The URL guidebot is started with.
    pub url: String,
    server: String,
    name: String,
}

impl Scratch {
    /// Creates a fresh database on the server of `server_url`.
    pub fn create(server_url: &str) -> Result<Scratch, String> {
        let name = format!("guidebot_loadtest_{}_{}", std::process::id(), nanos());
        let url = with_database(server_url, &name);
        execute(server_url, format!("CREATE DATABASE {name}"))?;
        Ok(Scratch { url, server: server_url.to_owned(), name })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(err) = execute(&self.server, format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)) {
            eprintln!("note: the scratch database {} was not dropped: {err}", self.name);
        }
    }
}

fn execute(url: &str, statement: String) -> Result<(), String> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut client = Client::connect(&url, NoTls).map_err(|e| format!("cannot reach PostgreSQL: {e}"))?;
        client.batch_execute(&statement).map_err(|e| format!("`{statement}` failed: {e}"))
    })
    .join()
    .map_err(|_| "the PostgreSQL thread panicked".to_owned())?
}

/// `url` naming the database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..].find('/').map_or(base.len(), |i| after_scheme + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_is_swapped_and_the_rest_kept() {
        assert_eq!(super::with_database("postgres://u@h:5/db?x=1", "n"), "postgres://u@h:5/n?x=1");
        assert_eq!(super::with_database("postgres://u@h:5", "n"), "postgres://u@h:5/n");
    }
}
