//! What the terminal says in its own words, in zh and en (English for other
//! languages), and the engine's sentences that speak of tapping, reworded for
//! typing.

use std::borrow::Cow;

use crate::domain::engine::texts::{Ui, ui};

/// A sentence of the terminal's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Say {
    /// Shown once at the start.
    HowToQuit,
    NotText,
    TooLong,
    /// `{n}`, `{max}`.
    NoSuchOption,
    /// The same under a side list, which `0` leaves.
    NoSuchOptionBack,
    /// `{text}`, `{options}`.
    Ambiguous,
    BackToQuestion,
    /// `{guide}`, `{dialogues}`, `{data}`.
    GuideMissing,
    OtherGuides,
    /// `{title}`, `{guide}`.
    StartInstead,
    NothingChanged,
    /// `{guide}`.
    DetourHint,
    /// A line that could not be saved because the disk is nearly full.
    NothingSaved,
}

/// The sentence `key` in `lang`.
pub fn say(lang: &str, key: Say) -> &'static str {
    use Say::*;
    if lang == "zh" {
        match key {
            HowToQuit => "输入选项编号或你的回答后按回车。输入 /quit 或按 Ctrl-D 退出，进度会自动保存。",
            NotText => "这一行无法识别为文字（不是 UTF-8 编码），已跳过。请重新输入。",
            TooLong => "这一行太长，已跳过。请输入短一些的内容。",
            NoSuchOption => "没有第 {n} 项。请输入 1 到 {max} 之间的编号。",
            NoSuchOptionBack => "没有第 {n} 项。请输入 1 到 {max} 之间的编号，或输入 0 回到当前问题。",
            Ambiguous => "“{text}”对应不止一个选项：{options}。请输入编号。",
            BackToQuestion => "回到当前问题",
            GuideMissing => {
                "你之前使用的指南“{guide}”不在 {dialogues}（由 --dialogues 指定的文件夹）中，所以无法在这里继续。你的回答仍保存在 {data}（--data）里。要继续这份指南，请用 --dialogues 指向包含它的文件夹，重新运行 guidebot chat。"
            }
            OtherGuides => "或者开始另一份指南（也可以用 --guide 指南编号 直接打开）：",
            StartInstead => "要改为开始“{title}”吗？你在“{guide}”里的回答会被清空，笔记会保留。",
            NothingChanged => "没有做任何改动，你的回答都还在。",
            DetourHint => {
                "要继续“{guide}”，请用 --dialogues 指向包含它的文件夹，重新运行 guidebot chat。/guides 列出其他指南，/quit 退出。"
            }
            NothingSaved => "磁盘空间快满了，刚才这一行没有保存。之前保存的内容都还在。腾出一些空间后再输入一次即可。",
        }
    } else {
        match key {
            HowToQuit => {
                "Type an option's number or your answer, then Enter. /quit or Ctrl-D ends the chat; your progress is saved."
            }
            NotText => {
                "That line could not be read as text (it is not UTF-8), so it was skipped. Please type it again."
            }
            TooLong => "That line is too long, so it was skipped. Please type something shorter.",
            NoSuchOption => "There is no option {n}. Please type a number from 1 to {max}.",
            NoSuchOptionBack => {
                "There is no option {n}. Please type a number from 1 to {max}, or 0 to go back to the question."
            }
            Ambiguous => "“{text}” fits more than one option: {options}. Please type its number.",
            BackToQuestion => "Back to the question",
            GuideMissing => {
                "The guide “{guide}” you were using is not in {dialogues} (the folder given by --dialogues), so it cannot go on here. Your answers are still saved in {data} (--data). To continue it, run guidebot chat again with --dialogues pointing to the folder that holds it."
            }
            OtherGuides => "Or start another guide (--guide ID opens one directly):",
            StartInstead => {
                "Start “{title}” instead? The answers you gave in “{guide}” will be cleared; your notes stay."
            }
            NothingChanged => "Nothing was changed; your answers are kept.",
            DetourHint => {
                "To continue “{guide}”, run guidebot chat again with --dialogues pointing to the folder that holds it. /guides lists the other guides; /quit ends the chat."
            }
            NothingSaved => {
                "The disk is nearly full, so that line was not saved. Everything saved before is safe. Free some space, then type it again."
            }
        }
    }
}

/// The engine's sentences that tell a Telegram user to tap, and what the terminal says instead.
fn rewordings(lang: &str) -> [(Ui, &'static str, &'static str); 3] {
    if lang == "zh" {
        [
            (Ui::Help, "点按钮或直接输入回答即可。", "输入选项前的编号（或选项名称的开头），或直接输入回答即可。"),
            (
                Ui::ChecklistHint,
                "点一项即可打勾，全部处理好后点最后一个按钮。",
                "输入一项的编号即可打勾，全部处理好后输入最后一项的编号。",
            ),
            (
                Ui::ReviewTitle,
                "点一项可以修改，之后指南会从那里继续。",
                "输入编号可以修改那一项，之后指南会从那里继续；输入 0 回到当前问题。",
            ),
        ]
    } else {
        [
            (
                Ui::Help,
                "Tap a button or type your answer.",
                "Type the number of an option (or the start of its name), or type your answer.",
            ),
            (
                Ui::ChecklistHint,
                "Tap an item to tick it, or the last button when you are done.",
                "Type an item's number to tick it, or the last number when you are done.",
            ),
            (
                Ui::ReviewTitle,
                "Tap one to change it; the guide then goes on from there.",
                "Type the number of one to change it (the guide then goes on from there), or 0 to go back to the question.",
            ),
        ]
    }
}

/// Lines the terminal adds to the engine's help.
fn help_extra(lang: &str) -> &'static str {
    if lang == "zh" {
        "/skip、/keep：需要输入回答的问题上的“跳过”和“保留”\n/quit：退出（进度已保存，Ctrl-D 也可以）"
    } else {
        "/skip, /keep: the Skip and Keep options of a question you answer by typing\n/quit: end the chat (your progress is saved; Ctrl-D works too)"
    }
}

/// `text` (a message from the engine, in markup) as the terminal shows it: the
/// engine's help, checklist hint and review heading speak of typing, not tapping.
/// Only a message that starts with the engine's own sentence is changed.
pub fn for_typing(text: &str) -> Cow<'_, str> {
    for lang in ["en", "zh"] {
        for (key, tap, typing) in rewordings(lang) {
            let engine = ui(lang, key);
            if text.starts_with(engine) {
                let mut out = text.replacen(tap, typing, 1);
                if key == Ui::Help {
                    out.push('\n');
                    out.push_str(help_extra(lang));
                }
                return Cow::Owned(out);
            }
        }
    }
    Cow::Borrowed(text)
}

/// `template` with each `{name}` replaced by its value (values are not searched again).
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after.find('}').and_then(|close| {
            let name = &after[..close];
            values.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v, close))
        });
        match value {
            Some((v, close)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tap_sentence_is_in_the_engine_text_it_rewords() {
        for lang in ["en", "zh"] {
            for (key, tap, typing) in rewordings(lang) {
                let engine = ui(lang, key);
                assert!(engine.contains(tap), "{lang} {key:?}: {engine:?} no longer says {tap:?}");
                let shown = for_typing(engine);
                assert!(shown.contains(typing) && !shown.contains(tap), "{lang} {key:?}: {shown}");
            }
        }
    }

    #[test]
    fn help_speaks_of_typing_and_quitting() {
        let en = for_typing(ui("en", Ui::Help));
        assert!(!en.contains("Tap"), "{en}");
        assert!(en.contains("/quit") && en.contains("/skip"), "{en}");
        assert!(en.contains("/back: previous question"), "the engine's list stays: {en}");
        let zh = for_typing(ui("zh", Ui::Help));
        assert!(!zh.contains("点按钮"), "{zh}");
        assert!(zh.contains("/quit"), "{zh}");
    }

    #[test]
    fn other_texts_are_left_as_they_are() {
        let author = "Tap a button or type your answer. (written by a guide's author)";
        assert!(matches!(for_typing(author), Cow::Borrowed(_)));
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill(say("en", Say::NoSuchOption), &[("n", "7"), ("max", "3")]),
            "There is no option 7. Please type a number from 1 to 3."
        );
        assert_eq!(fill("{text}: {options}", &[("text", "{options}"), ("options", "1) A")]), "{options}: 1) A");
    }
}
