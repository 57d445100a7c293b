//! `type: text`: a free answer, `min` and `max` counting characters.

use super::{Kind, Question, Refusal, Words, bound_text};
use crate::domain::value::Var;

/// Longest text answer kept when the question sets no `max` (and the longest note).
pub const TEXT_LIMIT: usize = 4000;

const BAD: Words = Words { en: "Please type a short answer.", zh: "请简单输入几个字。" };
/// `{limit}`.
const TOO_SHORT: Words = Words {
    en: "That is shorter than expected; minimum length: {limit}.",
    zh: "内容太短，最少字数：{limit}。",
};
/// `{limit}`.
const TOO_LONG: Words = Words {
    en: "That is longer than expected; maximum length: {limit}.",
    zh: "内容太长，最多字数：{limit}。",
};

pub struct TextAnswer;

impl Kind for TextAnswer {
    fn name(&self) -> &'static str {
        "text"
    }

    fn bound_wanted(&self) -> &'static str {
        "a whole number of characters"
    }

    fn valid_bound(&self, written: &str) -> bool {
        written.parse::<u32>().is_ok()
    }

    fn parse(&self, q: &Question, text: &str) -> Result<(Var, String), Refusal> {
        let len = text.chars().count();
        if len == 0 {
            return Err(Refusal::Unreadable(BAD.get(q.lang).to_owned()));
        }
        let min_len = bound_text(&q.ask.min).and_then(|m| m.parse::<usize>().ok()).unwrap_or(1);
        let max_len = bound_text(&q.ask.max).and_then(|m| m.parse::<usize>().ok()).unwrap_or(TEXT_LIMIT);
        if len < min_len {
            return Err(Refusal::Refused(TOO_SHORT.fill(q.lang, &[("limit", &min_len.to_string())])));
        }
        if len > max_len {
            return Err(Refusal::Refused(too_long(q.lang, max_len)));
        }
        Ok((Var::Str(text.to_owned()), text.to_owned()))
    }
}

/// "That is longer than expected; maximum length: {limit}." (also said of a note too long to keep).
pub fn too_long(lang: &str, limit: usize) -> String {
    TOO_LONG.fill(lang, &[("limit", &limit.to_string())])
}
