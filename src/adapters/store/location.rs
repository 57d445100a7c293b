//! Where a store lives, as the command line names it: `sled:DIR` for a data
//! folder, `postgres://…` (or `postgresql://…`) for a PostgreSQL database.
//!
//! A URL may hold a password, and everything here ends up in messages and
//! logs, so a location is only ever shown through [`redact`].

use std::fmt;
use std::path::PathBuf;

use super::StoreError;

/// A store's location.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A sled data folder.
    Sled(PathBuf),
    /// A PostgreSQL database, as a connection URL.
    Postgres(String),
}

impl Location {
    /// Parses `sled:DIR` or `postgres://…`; anything else is a
    /// [`StoreError::BadUrl`] that says what is accepted.
    pub fn parse(text: &str) -> Result<Location, StoreError> {
        let bad = |detail: String| StoreError::BadUrl { url: redact(text), detail };
        if let Some(dir) = text.strip_prefix("sled:") {
            if dir.is_empty() {
                return Err(bad("sled: needs a folder after it, as in sled:data".into()));
            }
            return Ok(Location::Sled(PathBuf::from(dir)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return match text.parse::<postgres::Config>() {
                Ok(_) => Ok(Location::Postgres(text.to_owned())),
                Err(e) => Err(bad(e.to_string())),
            };
        }
        match text.split_once("://") {
            Some((kind, _)) => Err(bad(format!("unknown kind `{kind}`"))),
            None if text.is_empty() => Err(bad("it is empty".into())),
            None => Err(bad(format!("no kind given; for a data folder write sled:{text}"))),
        }
    }
}

/// Shown without a password.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sled(dir) => write!(f, "sled:{}", dir.display()),
            Location::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

/// Like Display: never the password.
impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

/// `url` with its password (in the user part, or a `password=` parameter) as `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sled_and_postgres_locations_parse() {
        assert_eq!(Location::parse("sled:data").expect("sled"), Location::Sled("data".into()));
        assert_eq!(Location::parse("sled:/var/lib/g b").expect("sled"), Location::Sled("/var/lib/g b".into()));
        let url = "postgres://bot:pw@127.0.0.1:5432/guidebot";
        assert_eq!(Location::parse(url).expect("pg"), Location::Postgres(url.into()));
        assert!(matches!(Location::parse("postgresql://h/db"), Ok(Location::Postgres(_))));
    }

    #[test]
    fn bad_locations_say_what_is_accepted_and_never_show_a_password() {
        let err = |t: &str| Location::parse(t).expect_err(t).to_string();
        assert!(err("data").contains("no kind given; for a data folder write sled:data"), "{}", err("data"));
        assert!(err("mysql://u:secret@h/db").contains("unknown kind `mysql`"));
        assert!(!err("mysql://u:secret@h/db").contains("secret"));
        assert!(err("sled:").contains("sled: needs a folder"));
        let bad_port = err("postgres://u:secret@h:notaport/db");
        assert!(bad_port.contains("postgres://u:***@h:notaport/db"), "{bad_port}");
        assert!(!bad_port.contains("secret"), "{bad_port}");
        assert!(bad_port.contains("pass sled:DIR for a data folder"), "{bad_port}");
    }

    #[test]
    fn redact_hides_passwords_in_both_places() {
        assert_eq!(redact("postgres://u:p%40ss@h:1/db?sslmode=disable"), "postgres://u:***@h:1/db?sslmode=disable");
        assert_eq!(redact("postgres://u@h/db?password=x&user=u"), "postgres://u@h/db?password=***&user=u");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        let shown = Location::Postgres("postgres://u:pw@h/db".into());
        assert_eq!(format!("{shown} {shown:?}"), "postgres://u:***@h/db Location(postgres://u:***@h/db)");
    }
}
