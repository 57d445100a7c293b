//! The few sentences the Telegram front end says on its own, when the
//! engine is not involved: a sticker or photo, a group chat, a failure.
//! Chinese for `zh`, English otherwise. Texts are in the dialogue markup,
//! so they go out through the same rendering as the engine's.

use crate::domain::markup;

/// Something the adapter tells a person by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice<'a> {
    /// They sent a sticker, photo, voice note, file…: only text and buttons are read.
    TextOnly,
    /// They wrote in a group or channel; the bot (this username) works in private chats.
    PrivateOnly { bot: &'a str },
    /// Their update could not be handled.
    Apology,
    /// The disk is (nearly) full: what they sent was not saved.
    NothingSaved,
    /// They sent more than the bot can answer at once: the rest is ignored for now.
    PleaseWait,
}

/// `notice` in `lang` (English unless it is `zh`).
pub fn notice(lang: Option<&str>, notice: Notice<'_>) -> String {
    let zh = lang == Some("zh");
    match notice {
        Notice::TextOnly if zh => "我只能读文字消息和按钮。请直接输入文字，或点消息下面的按钮。".to_owned(),
        Notice::TextOnly => {
            "I can only read text messages and button taps. Please type your answer or tap a button.".to_owned()
        }
        Notice::PrivateOnly { bot } if zh => {
            format!("我只在私聊中工作，以保护你的隐私。请打开与我的私聊：https://t.me/{}", markup::escape(bot))
        }
        Notice::PrivateOnly { bot } => format!(
            "I only work in private chats, to keep your answers private. Open a chat with me: https://t.me/{}",
            markup::escape(bot)
        ),
        Notice::Apology if zh => "抱歉，我这边出了点问题，你的上一条消息没有处理成功。请稍后再试一次。".to_owned(),
        Notice::Apology => {
            "Sorry, something went wrong on my side and your last message was not handled. Please try again in a moment."
                .to_owned()
        }
        Notice::NothingSaved if zh => {
            "抱歉，我这边的存储空间暂时不足，你刚才发的内容没有保存。之前保存的一切都还在。请过一会儿再发一次。".to_owned()
        }
        Notice::NothingSaved => "Sorry, my storage is full for the moment, so what you just sent was not saved. \
            Everything saved before is safe. Please send it again a little later."
            .to_owned(),
        Notice::PleaseWait if zh => "消息有点多，我还在回复前面的内容。请等我回完再继续，这期间发来的消息我先不处理。".to_owned(),
        Notice::PleaseWait => "That is a lot at once; I am still answering your earlier messages. \
            Please wait for my replies before going on; messages sent meanwhile are set aside."
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_follow_the_language_and_keep_the_bot_name_intact() {
        let en = notice(Some("en"), Notice::PrivateOnly { bot: "guide_help_bot" });
        assert_eq!(markup::to_plain(&en), en.replace('\\', ""));
        assert!(markup::to_plain(&en).ends_with("https://t.me/guide_help_bot"));
        assert!(notice(Some("zh"), Notice::TextOnly).contains("文字"));
        assert!(notice(None, Notice::TextOnly).contains("text"));
        assert!(notice(Some("fr"), Notice::Apology).starts_with("Sorry"));
    }
}
