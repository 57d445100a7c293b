//! What can happen to the engine: events, the commands every front end
//! shares, button presses and their compact encoding for callback data.

use jiff::civil::{Date, DateTime};

/// One thing a user did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// First contact, or a front end resuming (shows where the user is).
    Start,
    /// Typed text (a leading `/` makes it a command).
    Text(String),
    /// A button.
    Press(Press),
    /// A command from a menu.
    Command(Command),
    /// Show the current step again, as it now reads (after the dialogue was reloaded).
    Refresh,
}

/// The commands, the same in every front end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start,
    Back,
    Restart,
    Note(Option<String>),
    Notes,
    Progress,
    Export,
    Delete,
    Review,
    Help,
    Lang(Option<String>),
    /// Choose a guide (by id when given).
    Guides(Option<String>),
    Unknown(String),
}

impl Command {
    /// Parses `/name args` (`/name@bot args` too); None when `text` is not a command.
    pub fn parse(text: &str) -> Option<Command> {
        let text = text.trim();
        let rest = text.strip_prefix('/')?;
        let (head, arg) = match rest.find(char::is_whitespace) {
            Some(i) => (&rest[..i], rest[i..].trim()),
            None => (rest, ""),
        };
        let name = head.split('@').next().unwrap_or(head).to_lowercase();
        let arg = (!arg.is_empty()).then(|| arg.to_owned());
        Some(match name.as_str() {
            "start" => Command::Start,
            "back" => Command::Back,
            "restart" => Command::Restart,
            "note" => Command::Note(arg),
            "notes" => Command::Notes,
            "progress" => Command::Progress,
            "export" => Command::Export,
            "delete" => Command::Delete,
            "review" => Command::Review,
            "help" => Command::Help,
            "lang" => Command::Lang(arg),
            "guides" => Command::Guides(arg),
            _ => Command::Unknown(name),
        })
    }
}

/// A button press: which step it was shown in and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Press {
    /// `UserState::seq` when the button was shown.
    pub seq: u32,
    /// Hash of the node id it was shown for.
    pub node: u32,
    pub action: Action,
}

/// What a button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Choice(u16),
    Toggle(u16),
    Done,
    Keep,
    Skip,
    Yes,
    No,
    Review(u16),
    Guide(u16),
    Lang(u16),
    Restart,
    Export,
    Notes,
    /// Back to the guide's menu, from a reminder: valid whatever step the user is at.
    Menu,
}

impl Press {
    /// Compact callback data (well under Telegram's 64 bytes): `g1:<seq>:<node>:<action>`.
    pub fn encode(&self) -> String {
        let a = match self.action {
            Action::Choice(i) => format!("c{i}"),
            Action::Toggle(i) => format!("t{i}"),
            Action::Done => "d".into(),
            Action::Keep => "k".into(),
            Action::Skip => "s".into(),
            Action::Yes => "y".into(),
            Action::No => "n".into(),
            Action::Review(i) => format!("r{i}"),
            Action::Guide(i) => format!("g{i}"),
            Action::Lang(i) => format!("l{i}"),
            Action::Restart => "R".into(),
            Action::Export => "E".into(),
            Action::Notes => "N".into(),
            Action::Menu => "M".into(),
        };
        format!("g1:{}:{:x}:{a}", self.seq, self.node)
    }

    /// Reads callback data made by [`Press::encode`]; None for anything else.
    pub fn decode(data: &str) -> Option<Press> {
        let mut parts = data.split(':');
        if parts.next()? != "g1" {
            return None;
        }
        let seq = parts.next()?.parse().ok()?;
        let node = u32::from_str_radix(parts.next()?, 16).ok()?;
        let a = parts.next()?;
        if parts.next().is_some() || a.is_empty() {
            return None;
        }
        // Checked: forged data may start the action with a multi-byte character.
        let (kind, num) = a.split_at_checked(1)?;
        let n = || num.parse::<u16>().ok();
        let action = match (kind, num.is_empty()) {
            ("c", false) => Action::Choice(n()?),
            ("t", false) => Action::Toggle(n()?),
            ("r", false) => Action::Review(n()?),
            ("g", false) => Action::Guide(n()?),
            ("l", false) => Action::Lang(n()?),
            ("d", true) => Action::Done,
            ("k", true) => Action::Keep,
            ("s", true) => Action::Skip,
            ("y", true) => Action::Yes,
            ("n", true) => Action::No,
            ("R", true) => Action::Restart,
            ("E", true) => Action::Export,
            ("N", true) => Action::Notes,
            ("M", true) => Action::Menu,
            _ => return None,
        };
        Some(Press { seq, node, action })
    }
}

/// FNV-1a of a node id: short, stable across restarts and builds.
pub fn node_hash(id: &str) -> u32 {
    id.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// What the engine needs from outside: the user's local day and time, and who they are.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub today: Date,
    pub now: DateTime,
    /// The user's first name, when the front end knows it.
    pub first_name: Option<String>,
    /// The user's preferred language, when the front end knows it.
    pub lang_hint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_arguments_and_bot_names() {
        assert_eq!(Command::parse("/note call at 3pm"), Some(Command::Note(Some("call at 3pm".into()))));
        assert_eq!(Command::parse("/note"), Some(Command::Note(None)));
        assert_eq!(Command::parse("/Back@guide_bot"), Some(Command::Back));
        assert_eq!(Command::parse("/frobnicate"), Some(Command::Unknown("frobnicate".into())));
        assert_eq!(Command::parse("hello"), None);
    }

    #[test]
    fn presses_round_trip_and_forgeries_are_refused() {
        for action in
            [Action::Choice(3), Action::Toggle(12), Action::Done, Action::Review(0), Action::Yes, Action::Restart]
        {
            let p = Press { seq: 4_000_000_000, node: node_hash("a_rather_long_node_identifier_here"), action };
            let data = p.encode();
            assert!(data.len() <= 64, "{data}");
            assert_eq!(Press::decode(&data), Some(p));
        }
        for bad in [
            "",
            "g1",
            "g1:1:2",
            "g2:1:2:c1",
            "g1:x:2:c1",
            "g1:1:zz:c1",
            "g1:1:2:c",
            "g1:1:2:d1",
            "g1:1:2:c1:extra",
            "g1:1:2:q",
            "g1:0:0:é",
        ] {
            assert_eq!(Press::decode(bad), None, "{bad}");
        }
    }
}
