//! The command menu: the commands Telegram recognises ([`MenuCommand`],
//! parsed by teloxide's `BotCommands` derive) and the menu shown next to
//! the text box, set with setMyCommands once per language the guides have,
//! described in that language.

use teloxide::payloads::SetMyCommandsSetters;
use teloxide::requests::Requester;
use teloxide::types::BotCommand;
use teloxide::utils::command::BotCommands;

use super::outbox::Outbox;
use crate::domain::dialogue::Library;
use crate::domain::engine::Command;

/// The commands of the menu. Anything else starting with `/` still reaches
/// the engine as text, which answers unknown commands itself.
#[derive(BotCommands, Debug, Clone, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum MenuCommand {
    Start,
    Back,
    Review,
    Progress,
    Note(String),
    Notes,
    Export,
    Restart,
    Lang(String),
    Guides(String),
    Help,
    Delete,
    /// Admins only: statistics (others get the help).
    #[command(hide)]
    Stats,
    /// Admins only: reload the dialogues now (others get the help).
    #[command(hide)]
    Reload,
}

impl MenuCommand {
    /// The engine's command.
    pub fn into_engine(self) -> Command {
        fn arg(s: String) -> Option<String> {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        }
        match self {
            MenuCommand::Start => Command::Start,
            MenuCommand::Back => Command::Back,
            MenuCommand::Review => Command::Review,
            MenuCommand::Progress => Command::Progress,
            MenuCommand::Note(text) => Command::Note(arg(text)),
            MenuCommand::Notes => Command::Notes,
            MenuCommand::Export => Command::Export,
            MenuCommand::Restart => Command::Restart,
            MenuCommand::Lang(lang) => Command::Lang(arg(lang)),
            MenuCommand::Guides(guide) => Command::Guides(arg(guide)),
            MenuCommand::Help | MenuCommand::Stats | MenuCommand::Reload => Command::Help,
            MenuCommand::Delete => Command::Delete,
        }
    }
}

/// What a command does, in `lang` (English unless it is `zh`).
fn describe(command: &str, lang: &str) -> &'static str {
    let zh = lang == "zh";
    match (command, zh) {
        ("start", false) => "Start or resume the guide",
        ("start", true) => "开始或继续指南",
        ("back", false) => "Go back to the previous question",
        ("back", true) => "返回上一个问题",
        ("review", false) => "See and change your answers",
        ("review", true) => "查看并修改回答",
        ("progress", false) => "Where you are in the guide",
        ("progress", true) => "查看当前进度",
        ("note", false) => "Write a note: /note text",
        ("note", true) => "记笔记：/note 内容",
        ("notes", false) => "List your notes",
        ("notes", true) => "查看全部笔记",
        ("export", false) => "Get your case file as a document",
        ("export", true) => "导出案件材料文件",
        ("restart", false) => "Start the guide again (notes stay)",
        ("restart", true) => "重新开始（笔记保留）",
        ("lang", false) => "Change the language",
        ("lang", true) => "切换语言",
        ("guides", false) => "Choose a guide",
        ("guides", true) => "选择指南",
        ("help", false) => "What I can do",
        ("help", true) => "使用说明",
        ("delete", false) => "Erase everything you entered",
        ("delete", true) => "清除你的全部数据",
        (_, false) => "Command",
        (_, true) => "命令",
    }
}

/// The menu for `lang`: every command, except `/lang` when no guide has a
/// second language and `/guides` when there is one guide.
pub fn menu(library: &Library, lang: &str) -> Vec<BotCommand> {
    let many_langs = library.guide_ids().iter().any(|g| library.langs(g).len() > 1);
    let many_guides = library.guide_ids().len() > 1;
    MenuCommand::bot_commands()
        .into_iter()
        .map(|c| c.command.trim_start_matches('/').to_owned())
        .filter(|name| (name != "lang" || many_langs) && (name != "guides" || many_guides))
        .map(|name| {
            let description = describe(&name, lang);
            BotCommand::new(name, description)
        })
        .collect()
}

/// The languages the loaded guides are written in, sorted, each once.
pub fn languages(library: &Library) -> Vec<String> {
    let mut langs: Vec<String> = library.guides().iter().map(|g| g.lang().to_owned()).collect();
    langs.sort();
    langs.dedup();
    langs
}

/// The language of the menu shown to users whose language no guide has:
/// that of the first guide's default translation.
fn default_language(library: &Library) -> String {
    library
        .guide_ids()
        .first()
        .and_then(|id| library.default_of(id))
        .map_or_else(|| "en".to_owned(), |g| g.lang().to_owned())
}

/// Sets the menu in every language of the guides, plus the default menu.
/// Failures are logged: the bot works without a menu.
pub async fn set_menus(outbox: &Outbox, library: &Library) {
    let bot = outbox.bot();
    for lang in languages(library) {
        let request = bot.set_my_commands(menu(library, &lang)).language_code(lang.clone());
        if let Err(err) = outbox.call(None, request).await {
            tracing::warn!(lang, error = %outbox.describe(&err), "could not set the command menu");
        }
    }
    let lang = default_language(library);
    if let Err(err) = outbox.call(None, bot.set_my_commands(menu(library, &lang))).await {
        tracing::warn!(lang, error = %outbox.describe(&err), "could not set the default command menu");
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::domain::dialogue::load_library;

    fn library(files: &[(&str, &str)]) -> Library {
        let files: Vec<(PathBuf, String)> = files.iter().map(|(p, t)| (PathBuf::from(p), (*t).to_owned())).collect();
        load_library(&files).expect("test guides load")
    }

    fn guide(id: &str, lang: &str) -> String {
        format!("guide: {id}\nlang: {lang}\ntitle: T\nstart: a\nnodes:\n  a:\n    say: Hi\n    end: true\n")
    }

    #[test]
    fn every_menu_command_parses_and_reaches_the_engine() {
        for c in MenuCommand::bot_commands() {
            let parsed = MenuCommand::parse(&c.command, "guide_bot").expect("menu commands parse");
            let engine = Command::parse(&c.command).expect("the engine knows it");
            assert_eq!(parsed.into_engine(), engine, "{}", c.command);
        }
        let note = MenuCommand::parse("/note call the bank", "guide_bot").expect("parses");
        assert_eq!(note.into_engine(), Command::Note(Some("call the bank".into())));
    }

    #[test]
    fn menus_are_described_in_each_guide_language() {
        let en = guide("g", "en");
        let zh = guide("g", "zh");
        let lib = library(&[("g.en.yaml", &en), ("g.zh.yaml", &zh)]);
        assert_eq!(languages(&lib), ["en", "zh"]);
        let zh_menu = menu(&lib, "zh");
        let start = zh_menu.iter().find(|c| c.command == "start").expect("start");
        assert_eq!(start.description, "开始或继续指南");
        assert!(zh_menu.iter().any(|c| c.command == "lang"));
        assert!(!zh_menu.iter().any(|c| c.command == "guides"), "one guide: no /guides");
        for c in menu(&lib, "en") {
            assert!(!c.command.starts_with('/'));
            assert!((3..=256).contains(&c.description.chars().count()), "{}", c.command);
        }
    }

    #[test]
    fn one_language_hides_lang() {
        let en = guide("g", "en");
        let lib = library(&[("g.en.yaml", &en)]);
        assert!(!menu(&lib, "en").iter().any(|c| c.command == "lang"));
    }
}
