//! The engine's own words (buttons, confirmations, hints) in each language
//! it knows. Dialogue texts come from the YAML files; these are the few
//! sentences every guide shares. Unknown languages get English. What a typed
//! answer that will not do is told lives with its type, in `domain::answer`.

/// One built-in sentence or label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ui {
    Keep,
    Skip,
    Done,
    Yes,
    No,
    StartOver,
    CaseFile,
    Notes,
    PickOne,
    ChecklistHint,
    EndHint,
    Stale,
    GuideChanged,
    Resume,
    NothingBack,
    WentBack,
    NoteAsk,
    NoteSaved,
    NotesFull,
    ListFull,
    NoNotes,
    NotesTitle,
    NoteEmpty,
    ConfirmDelete,
    Deleted,
    DeleteKept,
    ConfirmRestart,
    Restarted,
    RestartKept,
    NothingToReview,
    ReviewTitle,
    Change,
    Help,
    OneLanguage,
    PickLanguage,
    LanguageSet,
    PickGuide,
    NoGuides,
    UnknownCommand,
    ExportReady,
    ProgressTitle,
    NoProgress,
    Exported,
    Answers,
    Checklists,
    Answered,
    GuideUnavailable,
    ConfirmSwitch,
    TooLargeToWorkOut,
    /// Shown instead of a text whose template ran too long.
    TextUnavailable,
    /// The button on a reminder.
    BackToMenu,
}

/// The sentence `key` in `lang` (English when the language is unknown).
pub fn ui(lang: &str, key: Ui) -> &'static str {
    if lang == "zh" { zh(key) } else { en(key) }
}

fn en(key: Ui) -> &'static str {
    use Ui::*;
    match key {
        Keep => "Keep",
        Skip => "Skip",
        Done => "Done",
        Yes => "Yes",
        No => "No",
        StartOver => "Start over",
        CaseFile => "Case file",
        Notes => "Notes",
        PickOne => "Please pick one of the options below.",
        ChecklistHint => "Tap an item to tick it, or the last button when you are done.",
        EndHint => "You have reached the end of this guide. /export gives you the case file, /restart starts again.",
        Stale => "That button belongs to an earlier step. Here is where you are now:",
        GuideChanged => {
            "This guide has been updated, so we continue from the start of the section you were in. Your answers are kept."
        }
        Resume => "Welcome back. Here is where you left off:",
        NothingBack => "There is no earlier question to go back to.",
        WentBack => "Back to the previous question.",
        NoteAsk => "Type your note. It will be kept with this stage.",
        NoteSaved => "Note saved.",
        NotesFull => {
            "You have reached the limit of notes I can keep. Nothing new was saved. Use /export to keep a copy of them."
        }
        ListFull => "This list is full, so the last entry was not added. Use /export to keep a copy of what is there.",
        NoNotes => "No notes yet. Write one with /note followed by the text.",
        NotesTitle => "Your notes",
        NoteEmpty => "That note is empty, so nothing was saved.",
        ConfirmDelete => "Erase everything you entered here (answers, notes, reminders)? This cannot be undone.",
        Deleted => "Everything you entered has been erased. Send /start to begin again.",
        DeleteKept => "Nothing was erased.",
        ConfirmRestart => "Start the guide again? Your answers will be cleared; your notes stay.",
        Restarted => "Starting again. Your notes are kept.",
        RestartKept => "OK, we carry on where you were.",
        NothingToReview => "You have not answered any questions yet.",
        ReviewTitle => "Your answers so far. Tap one to change it; the guide then goes on from there.",
        Change => "Change",
        Help => {
            "I walk you through the guide one step at a time. Tap a button or type your answer.\n\n/back: previous question\n/review: see and change your answers\n/progress: where you are\n/note TEXT: write a note (/notes lists them)\n/export: your case file\n/restart: start again (notes stay)\n/delete: erase all your data\n/lang: change language\n/guides: choose a guide"
        }
        OneLanguage => "This guide is available in one language only.",
        PickLanguage => "Choose a language:",
        LanguageSet => "Language changed.",
        PickGuide => "Which guide would you like?",
        NoGuides => "No guide is loaded right now. Please try again later.",
        UnknownCommand => "I don't know that command. /help lists what I can do.",
        ExportReady => "Here is your case file: everything you entered, in one document.",
        ProgressTitle => "Your progress",
        NoProgress => "You have not started a guide yet. Send /start.",
        Exported => "Exported",
        Answers => "Answers",
        Checklists => "Checklists",
        Answered => "Your answer",
        GuideUnavailable => {
            "This guide is being updated and is not available right now. Everything you entered is kept; please try again in a little while."
        }
        ConfirmSwitch => "Switch to that guide? The answers you gave in this guide will be cleared; your notes stay.",
        TooLargeToWorkOut => {
            "One of the figures here became too large to work out. Please check the amounts you typed; /review lets you change them."
        }
        TextUnavailable => {
            "Sorry, this part of the guide cannot be shown right now. You can go on, or go back with /back."
        }
        BackToMenu => "Back to the menu",
    }
}

fn zh(key: Ui) -> &'static str {
    use Ui::*;
    match key {
        Keep => "保留",
        Skip => "跳过",
        Done => "完成",
        Yes => "是",
        No => "否",
        StartOver => "重新开始",
        CaseFile => "案件材料",
        Notes => "笔记",
        PickOne => "请从下面的选项中选一个。",
        ChecklistHint => "点一项即可打勾，全部处理好后点最后一个按钮。",
        EndHint => "这份指南已经走完。/export 可导出案件材料，/restart 可重新开始。",
        Stale => "这个按钮属于之前的步骤。你现在在这里：",
        GuideChanged => "指南内容有更新，我们从你所在部分的开头继续。你的回答都还在。",
        Resume => "欢迎回来。上次停在这里：",
        NothingBack => "前面没有可以返回的问题了。",
        WentBack => "已回到上一个问题。",
        NoteAsk => "请输入笔记内容，会记在当前阶段下。",
        NoteSaved => "笔记已保存。",
        NotesFull => "笔记已达到能保存的上限，这一条没有保存。可以用 /export 把已有的笔记导出留存。",
        ListFull => "这个列表已满，刚才这一条没有加进去。可以用 /export 把已有内容导出留存。",
        NoNotes => "还没有笔记。发送 /note 加上内容即可记录。",
        NotesTitle => "你的笔记",
        NoteEmpty => "笔记是空的，没有保存。",
        ConfirmDelete => "要清除你在这里输入的全部内容（回答、笔记、提醒）吗？清除后无法恢复。",
        Deleted => "你输入的全部内容已清除。发送 /start 可重新开始。",
        DeleteKept => "没有清除任何内容。",
        ConfirmRestart => "要重新开始吗？回答会清空，笔记会保留。",
        Restarted => "重新开始。你的笔记都保留着。",
        RestartKept => "好的，我们从原来的地方继续。",
        NothingToReview => "你还没有回答任何问题。",
        ReviewTitle => "这是你目前的回答。点一项可以修改，之后指南会从那里继续。",
        Change => "修改",
        Help => {
            "我会一步一步带你完成这份指南。点按钮或直接输入回答即可。\n\n/back：上一个问题\n/review：查看并修改回答\n/progress：当前进度\n/note 内容：记笔记（/notes 查看全部）\n/export：导出案件材料\n/restart：重新开始（笔记保留）\n/delete：清除你的全部数据\n/lang：切换语言\n/guides：选择指南"
        }
        OneLanguage => "这份指南只有一种语言。",
        PickLanguage => "请选择语言：",
        LanguageSet => "语言已切换。",
        PickGuide => "你想看哪份指南？",
        NoGuides => "现在没有可用的指南，请稍后再试。",
        UnknownCommand => "我不认识这个命令。发送 /help 查看可用命令。",
        ExportReady => "这是你的案件材料，你输入的内容都整理在这一份文件里。",
        ProgressTitle => "你的进度",
        NoProgress => "你还没有开始任何指南。发送 /start 开始。",
        Exported => "导出时间",
        Answers => "回答",
        Checklists => "清单",
        Answered => "你的回答",
        GuideUnavailable => "这份指南正在更新，暂时用不了。你输入的内容都还在，请稍后再试。",
        ConfirmSwitch => "要换到那份指南吗？这份指南里的回答会清空，笔记会保留。",
        TooLargeToWorkOut => "这里有一项数字大得无法计算。请检查你输入的金额，可以用 /review 修改。",
        TextUnavailable => "抱歉，这部分内容现在无法显示。你可以继续，或发送 /back 返回上一步。",
        BackToMenu => "回到菜单",
    }
}
