//! Telegram ⇄ engine as plain functions: who sent an update and in which
//! language, and the engine's messages as HTML parts and inline keyboards.
//! No I/O here, so everything is unit-tested below.

use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, User};

use crate::adapters::store::{Front, UserId};
use crate::domain::engine::Message;
use crate::domain::markup;

/// Longest message text Telegram accepts, in UTF-16 code units.
pub const MAX_TEXT: usize = 4096;

/// Shown when a message has buttons but its text renders to nothing
/// (Telegram refuses an empty text).
const EMPTY_TEXT: &str = "…";

/// The id of a Telegram user (`telegram:123`); None for ids outside `i64`
/// (never seen in practice: Telegram ids fit in 52 bits).
pub fn user_id(user: &User) -> Option<UserId> {
    i64::try_from(user.id.0).ok().map(UserId::telegram)
}

/// The private chat of a Telegram user: Telegram numbers it as the user.
/// Only for ids of [`Front::Telegram`]; the bot never queues for others.
pub fn chat_of(user: UserId) -> ChatId {
    debug_assert_eq!(user.front, Front::Telegram, "{user} is not a Telegram user");
    ChatId(user.id)
}

/// The user's language as the guides name languages: the primary subtag of
/// Telegram's `language_code`, lowercased (`zh-hans` → `zh`, `en-US` → `en`).
pub fn lang_hint(user: &User) -> Option<String> {
    let code = user.language_code.as_deref()?;
    let primary = code.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    (!primary.is_empty()).then_some(primary)
}

/// A markup text as Telegram HTML, cut into parts that each fit one message.
pub fn html_parts(text: &str) -> Vec<String> {
    markup::split(text, MAX_TEXT).iter().map(|part| markup::to_html(part)).collect()
}

/// The parts to send for `message`: never empty when it has buttons, which
/// go on the last part.
pub fn message_parts(message: &Message) -> Vec<String> {
    let mut parts = html_parts(&message.text);
    if parts.is_empty() && message.buttons.iter().any(|row| !row.is_empty()) {
        parts.push(EMPTY_TEXT.to_owned());
    }
    parts
}

/// The inline keyboard of `message`; None when it has no buttons. Labels
/// are shown as plain text; each button carries its encoded press.
pub fn keyboard(message: &Message) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = message
        .buttons
        .iter()
        .filter(|row| !row.is_empty())
        .map(|row| {
            row.iter().map(|b| InlineKeyboardButton::callback(markup::to_plain(&b.label), b.press.encode())).collect()
        })
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

#[cfg(test)]
mod tests {
    use teloxide::types::{InlineKeyboardButtonKind, UserId as TgUserId};

    use super::*;
    use crate::domain::engine::{Action, Button, Press};

    fn user(lang: Option<&str>) -> User {
        User {
            id: TgUserId(42),
            is_bot: false,
            first_name: "Ann".into(),
            last_name: None,
            username: None,
            language_code: lang.map(str::to_owned),
            is_premium: false,
            added_to_attachment_menu: false,
        }
    }

    fn press(i: u16) -> Press {
        Press { seq: 3, node: 99, action: Action::Choice(i) }
    }

    #[test]
    fn language_codes_become_guide_languages() {
        assert_eq!(lang_hint(&user(Some("zh-hans"))).as_deref(), Some("zh"));
        assert_eq!(lang_hint(&user(Some("en-US"))).as_deref(), Some("en"));
        assert_eq!(lang_hint(&user(Some("EN"))).as_deref(), Some("en"));
        assert_eq!(lang_hint(&user(Some(""))), None);
        assert_eq!(lang_hint(&user(None)), None);
        assert_eq!(user_id(&user(None)), Some(UserId::telegram(42)));
    }

    #[test]
    fn markup_becomes_escaped_html() {
        assert_eq!(html_parts("**Pay** <now> & `code`"), ["<b>Pay</b> &lt;now&gt; &amp; <code>code</code>"]);
        assert!(html_parts("").is_empty());
    }

    #[test]
    fn long_texts_are_split_in_order_within_the_limit() {
        let line = "x".repeat(1000);
        let text = (0..10).map(|i| format!("{i}{line}")).collect::<Vec<_>>().join("\n");
        let parts = html_parts(&text);
        assert!(parts.len() >= 3, "{}", parts.len());
        assert!(parts.iter().all(|p| p.encode_utf16().count() <= MAX_TEXT));
        let joined = parts.join("\n");
        assert_eq!(joined, text);
    }

    #[test]
    fn buttons_become_an_inline_keyboard_with_encoded_presses() {
        let message = Message {
            text: "Pick".into(),
            buttons: vec![
                vec![Button { label: "**Yes**".into(), press: press(0) }],
                vec![],
                vec![Button { label: "No".into(), press: press(1) }],
            ],
            typed: false,
        };
        let kb = keyboard(&message).expect("buttons");
        assert_eq!(kb.inline_keyboard.len(), 2);
        let first = &kb.inline_keyboard[0][0];
        assert_eq!(first.text, "Yes");
        match &first.kind {
            InlineKeyboardButtonKind::CallbackData(data) => {
                assert_eq!(Press::decode(data), Some(press(0)));
                assert!(data.len() <= 64);
            }
            other => panic!("not a callback button: {other:?}"),
        }
        assert!(keyboard(&Message::default()).is_none());
    }

    #[test]
    fn a_message_with_buttons_always_has_a_text() {
        let message = Message {
            text: String::new(),
            buttons: vec![vec![Button { label: "Go".into(), press: press(0) }]],
            typed: false,
        };
        assert_eq!(message_parts(&message), [EMPTY_TEXT]);
        assert!(message_parts(&Message::default()).is_empty());
    }
}
