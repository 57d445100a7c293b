//! `guidebot migrate --from URL --to URL`: copies a whole store into a new
//! or empty one, of the same kind or the other (sled:DIR, postgres://…).

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::adapters::store::{Copied, Location, StoreError, copy};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Stop every guidebot that uses the source first: what they write meanwhile would not be copied.
Every user's progress and notes, their next reminder time, the messages still to be sent and
the ids of the updates already applied are copied, then every user is read back from the
target and compared. The source is left as it was.

Examples:
  guidebot migrate --from sled:data --to postgres://guidebot@127.0.0.1/guidebot
  guidebot migrate --from postgres://guidebot@127.0.0.1/guidebot --to sled:data-copy")]
pub struct MigrateArgs {
    /// The store to copy from: sled:DIR or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The store to copy into, which must be new or empty: sled:DIR or postgres://…
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Free space (MB) to keep on a sled folder's filesystem.
    #[arg(long, value_name = "MB", env = "GUIDEBOT_MIN_FREE_MB", default_value_t = 64)]
    pub min_free_mb: u64,
}

pub fn run(a: &MigrateArgs) -> Result<ExitCode> {
    let from = Location::parse(&a.from).context("--from")?;
    let to = Location::parse(&a.to).context("--to")?;
    if from == to {
        anyhow::bail!("--from and --to are the same store ({from}); name a new or empty store after --to");
    }
    if let Location::Sled(dir) = &from
        && !dir.join("db").join("conf").exists()
    {
        anyhow::bail!(
            "there is no guidebot data folder at {} (no {}); check --from",
            dir.display(),
            dir.join("db").display()
        );
    }
    if let Location::Sled(dir) = &to
        && std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
    {
        return Err(
            StoreError::TargetNotEmpty { target: to.to_string(), detail: "the folder holds files".into() }.into()
        );
    }
    let source = super::store::open(&from, a.min_free_mb).context("--from")?;
    if source.transfer().contents()?.is_none() {
        anyhow::bail!("{from} holds nothing to copy (no users, messages or update ids); check --from");
    }
    let target = super::store::open(&to, a.min_free_mb).context("--to")?;
    let copied = copy(source.transfer(), target.transfer(), &to.to_string())
        .with_context(|| format!("copying {from} into {to}"))?;
    println!("copied {from} into {to}: {}; every user reads back the same", counts(&copied));
    Ok(ExitCode::SUCCESS)
}

/// "2 users, 3 notes, 1 reminder time, 0 messages to send, 5 update ids".
fn counts(c: &Copied) -> String {
    let n = |count: usize, one: &str, many: &str| format!("{count} {}", if count == 1 { one } else { many });
    [
        n(c.users, "user", "users"),
        n(c.notes, "note", "notes"),
        n(c.reminders, "reminder time", "reminder times"),
        n(c.messages, "message to send", "messages to send"),
        n(c.events, "update id", "update ids"),
    ]
    .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_words() {
        let c = Copied { users: 1, notes: 3, reminders: 0, messages: 1, events: 2 };
        assert_eq!(counts(&c), "1 user, 3 notes, 0 reminder times, 1 message to send, 2 update ids");
    }
}
