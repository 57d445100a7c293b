//! Who and what, across front ends: a [`UserId`] and an [`EventId`] carry
//! the [`Front`] they come from, so that Telegram's user 123 and another
//! front end's user 123 are two people, and their event numbers never meet.
//! Written `telegram:123`, `terminal:0`.

use std::fmt;
use std::str::FromStr;

/// A front end: where a user and their events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Front {
    /// A Telegram user (the id is Telegram's user id, which is also their
    /// private chat's id); events are Telegram update ids.
    Telegram,
    /// `guidebot chat`, the terminal; its local user is 0.
    Terminal,
}

impl Front {
    /// Every front end, in the order of [`Front::tag`].
    pub const ALL: [Front; 2] = [Front::Telegram, Front::Terminal];

    /// The name written before the colon.
    pub fn name(self) -> &'static str {
        match self {
            Front::Telegram => "telegram",
            Front::Terminal => "terminal",
        }
    }

    /// A small number that stands for the front end in stored bytes; it
    /// never changes once given (Telegram is 0: data written before front
    /// ends had names was all Telegram's, but for the terminal's user 0).
    pub fn tag(self) -> u8 {
        match self {
            Front::Telegram => 0,
            Front::Terminal => 1,
        }
    }

    /// The front end of a stored tag.
    pub fn from_tag(tag: u8) -> Option<Front> {
        Front::ALL.into_iter().find(|f| f.tag() == tag)
    }

    /// The front end named `name` (as written before the colon).
    pub fn from_name(name: &str) -> Option<Front> {
        Front::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Front {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A person, as a front end knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId {
    pub front: Front,
    /// The front end's own number for them.
    pub id: i64,
}

impl UserId {
    /// The terminal's local user.
    pub const LOCAL: UserId = UserId { front: Front::Terminal, id: 0 };

    pub fn new(front: Front, id: i64) -> UserId {
        UserId { front, id }
    }

    /// A Telegram user (and their private chat).
    pub fn telegram(id: i64) -> UserId {
        UserId { front: Front::Telegram, id }
    }

    /// The id a user had before ids had front ends: 0 was the terminal's
    /// local user, every other number a Telegram user.
    pub fn from_unnamed(id: i64) -> UserId {
        if id == 0 { UserId::LOCAL } else { UserId::telegram(id) }
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.front, self.id)
    }
}

/// Why a text is not a user id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a user id: write telegram:NUMBER (a Telegram user id), terminal:0 (the local user), \
     or a bare number (0 for the local user, any other for a Telegram user)"
)]
pub struct BadUserId(String);

impl FromStr for UserId {
    type Err = BadUserId;

    /// `telegram:123`, `terminal:0`; a bare number as [`UserId::from_unnamed`].
    fn from_str(s: &str) -> Result<UserId, BadUserId> {
        let bad = || BadUserId(s.to_owned());
        let t = s.trim();
        match t.split_once(':') {
            Some((front, id)) => {
                let front = Front::from_name(&front.trim().to_ascii_lowercase()).ok_or_else(bad)?;
                Ok(UserId::new(front, id.trim().parse().map_err(|_| bad())?))
            }
            None => t.parse().map(UserId::from_unnamed).map_err(|_| bad()),
        }
    }
}

/// An event a front end delivers, applied at most once (a Telegram update id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId {
    pub front: Front,
    pub id: i64,
}

impl EventId {
    pub fn new(front: Front, id: i64) -> EventId {
        EventId { front, id }
    }

    /// A Telegram update.
    pub fn telegram(update_id: i64) -> EventId {
        EventId { front: Front::Telegram, id: update_id }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.front, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_and_write_with_their_front_end() {
        for (text, id) in [
            ("telegram:123", UserId::telegram(123)),
            ("terminal:0", UserId::LOCAL),
            ("Telegram: -5", UserId::telegram(-5)),
            ("0", UserId::LOCAL),
            ("42", UserId::telegram(42)),
        ] {
            assert_eq!(text.parse::<UserId>(), Ok(id), "{text}");
        }
        assert_eq!(UserId::telegram(123).to_string(), "telegram:123");
        assert_eq!(UserId::LOCAL.to_string(), "terminal:0");
        assert_eq!(EventId::telegram(9).to_string(), "telegram:9");
        for bad in ["", "telegram:", "fax:1", "telegram:1.5", "abc"] {
            let err = bad.parse::<UserId>().expect_err(bad);
            assert!(err.to_string().contains("write telegram:NUMBER"), "{err}");
        }
        assert_ne!(UserId::telegram(7), UserId::new(Front::Terminal, 7), "two people");
    }

    #[test]
    fn tags_are_distinct_and_round_trip() {
        for f in Front::ALL {
            assert_eq!(Front::from_tag(f.tag()), Some(f));
        }
        assert_eq!(Front::Telegram.tag(), 0, "what was stored before front ends had names");
        assert_eq!(Front::from_tag(9), None);
    }
}
