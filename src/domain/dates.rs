//! Calendar dates as people type and read them: parsing the forms a user
//! writes in a chat (`2026-12-15`, `12月15号`, `10 Feb`, `明天`), choosing the
//! year of a date typed without one, month arithmetic for due dates, and
//! formatting for the two dialogue languages.
//!
//! This module owns only civil dates (no time zones, no times of day). It
//! never reads the clock: "today" is always passed in by the caller, so the
//! engine stays deterministic and testable.
//!
//! Every form [`format_date`] and [`format_short`] print is read back by
//! [`parse_date`]: whatever the bot shows a user, the user can type.

use jiff::civil::Date;

use crate::domain::numerals::{fold_width, push_unsigned};

/// The dates a question accepts: on or after `min`, on or before `max`.
///
/// They also decide the year of a date typed without one (see
/// [`parse_date_within`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bounds {
    pub min: Option<Date>,
    pub max: Option<Date>,
}

impl Bounds {
    /// Whether `d` is within the bounds.
    pub fn contains(&self, d: Date) -> bool {
        self.min.is_none_or(|m| d >= m) && self.max.is_none_or(|m| d <= m)
    }
}

/// Why a typed answer is not an acceptable date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateError {
    /// Not a date in any accepted form, or a day that does not exist (`2月30日`).
    NotADate,
    /// A real date, read as the one given, outside the question's bounds.
    OutOfRange(Date),
}

/// What the user typed, before a year is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Full(Date),
    /// Month and day without a year.
    MonthDay(i8, i8),
}

/// The years written as four digits that dates may have: a year typed with
/// fewer or more digits is too ambiguous to guess, and every accepted date
/// prints back with its four digits.
const YEARS: std::ops::RangeInclusive<i16> = 1000..=9999;

/// How far from today's year a date typed without a year may land: far
/// enough for the next 29 February (eight years apart around 2100).
const YEAR_REACH: i16 = 8;

/// Parses a date typed by a user, relative to `today`, with no bounds: a
/// date without a year takes the year that puts it nearest to `today`.
///
/// See [`parse_date_within`] for the accepted forms. Never panics.
///
/// # Example
///
/// ```
/// use guidebot::domain::dates::parse_date;
/// use jiff::civil::date;
///
/// let today = date(2026, 3, 1);
/// assert_eq!(parse_date("2026年12月15日", today), Some(date(2026, 12, 15)));
/// assert_eq!(parse_date("15 Dec 2026", today), Some(date(2026, 12, 15)));
/// assert_eq!(parse_date("明天", today), Some(date(2026, 3, 2)));
/// assert_eq!(parse_date("02-30", today), None);
/// ```
pub fn parse_date(input: &str, today: Date) -> Option<Date> {
    parse_date_within(input, today, Bounds::default()).ok()
}

/// Parses a date typed by a user for a question that accepts `bounds`.
///
/// Accepted forms (full-width digits, any case and surrounding or inner
/// spaces are fine):
///
/// - `2026-12-15`, `2026/12/15`, `2026.12.15` (one separator throughout);
/// - `2026年12月15日`, also without `日` or with `号`;
/// - `15 Dec 2026`, `Dec 15, 2026`, `15 December 2026`, `1st Jan 2027`;
/// - without a year: `12-15`, `12/15`, `12月15日`, `12月15号`, `15 Dec`, `Dec 15`;
/// - `today` / `今天`, `tomorrow` / `明天`, `yesterday` / `昨天`.
///
/// A date typed without a year takes the year that satisfies the bounds
/// and, among those, lands nearest to `today`: with `min: today` that is
/// the next such date, with `max: today` the most recent one, and with no
/// bounds the nearest one either way (the later one on a tie).
///
/// Gives [`DateError::NotADate`] for anything else, including days that do
/// not exist (`02-30`, `13-01`), and [`DateError::OutOfRange`] for a real
/// date outside the bounds. Never panics.
///
/// # Example
///
/// ```
/// use guidebot::domain::dates::{Bounds, DateError, parse_date_within};
/// use jiff::civil::date;
///
/// let today = date(2026, 12, 31);
/// let future = Bounds { min: Some(today), max: None };
/// let past = Bounds { min: None, max: Some(today) };
/// assert_eq!(parse_date_within("1月5日", today, future), Ok(date(2027, 1, 5)));
/// assert_eq!(parse_date_within("1月5日", today, past), Ok(date(2026, 1, 5)));
/// assert_eq!(parse_date_within("2026-12-30", today, future), Err(DateError::OutOfRange(date(2026, 12, 30))));
/// assert_eq!(parse_date_within("2月30日", today, future), Err(DateError::NotADate));
/// ```
pub fn parse_date_within(input: &str, today: Date, bounds: Bounds) -> Result<Date, DateError> {
    let date = match read(input, today).ok_or(DateError::NotADate)? {
        Reading::Full(d) => d,
        Reading::MonthDay(month, day) => return year_for(month, day, today, bounds),
    };
    if bounds.contains(date) { Ok(date) } else { Err(DateError::OutOfRange(date)) }
}

/// The date `month`/`day` falls on in the year that fits `bounds`, nearest
/// to `today`.
fn year_for(month: i8, day: i8, today: Date, bounds: Bounds) -> Result<Date, DateError> {
    let this = today.year();
    let candidates = (this.saturating_sub(YEAR_REACH)..=this.saturating_add(YEAR_REACH))
        .filter(|y| YEARS.contains(y))
        .filter_map(|y| Date::new(y, month, day).ok());
    // Nearest first; on a tie, the later date.
    let key = |d: &Date| (days_between(today, *d).abs(), std::cmp::Reverse(*d));
    let mut nearest: Option<Date> = None;
    let mut fitting: Option<Date> = None;
    for d in candidates {
        if nearest.is_none_or(|n| key(&d) < key(&n)) {
            nearest = Some(d);
        }
        if bounds.contains(d) && fitting.is_none_or(|f| key(&d) < key(&f)) {
            fitting = Some(d);
        }
    }
    match (fitting, nearest) {
        (Some(d), _) => Ok(d),
        (None, Some(d)) => Err(DateError::OutOfRange(d)),
        (None, None) => Err(DateError::NotADate),
    }
}

fn read(input: &str, today: Date) -> Option<Reading> {
    let folded = fold_width(input).to_lowercase();
    // Prompts put the words to type in quotes (type "today", 输入「今天」); people copy them.
    let quotes = ['"', '\'', '「', '」', '『', '』', '“', '”', '‘', '’'];
    let words = folded.trim().trim_matches(quotes).trim();
    match words {
        "today" | "今天" | "今日" => return Some(Reading::Full(today)),
        "tomorrow" | "明天" | "明日" => return today.tomorrow().ok().map(Reading::Full),
        "yesterday" | "昨天" | "昨日" => return today.yesterday().ok().map(Reading::Full),
        _ => {}
    }
    if words.bytes().any(|b| b.is_ascii_alphabetic()) {
        return read_english(words);
    }
    // Phones insert spaces in odd places ("12月 15日"); no numeric form
    // needs a space, so dropping them all is simpler than allowing each.
    let s: String = words.chars().filter(|c| !c.is_whitespace()).collect();
    read_numeric(&s)
}

/// `2026-12-15`, `12/15`, `2026年12月15日`, `12月15号` and the like.
fn read_numeric(s: &str) -> Option<Reading> {
    let (first, rest) = take_digits(s);
    if first.is_empty() {
        return None;
    }
    if let Some(rest) = rest.strip_prefix('年') {
        let year = year_of(first)?;
        let (month, rest) = take_digits(rest);
        let rest = rest.strip_prefix('月')?;
        let (month, day) = chinese_day(month, rest)?;
        return civil(year, month, day).map(Reading::Full);
    }
    if let Some(rest) = rest.strip_prefix('月') {
        let (month, day) = chinese_day(first, rest)?;
        return month_day(month, day);
    }
    let sep = rest.chars().next()?;
    if !matches!(sep, '-' | '/' | '.') {
        return None;
    }
    let (second, rest) = take_digits(&rest[sep.len_utf8()..]);
    if rest.is_empty() {
        // `12.15` reads as a decimal number more often than as a date.
        if sep == '.' {
            return None;
        }
        return month_day(first, second);
    }
    let (third, rest) = take_digits(rest.strip_prefix(sep)?);
    if !rest.is_empty() {
        return None;
    }
    civil(year_of(first)?, second, third).map(Reading::Full)
}

/// `15 Dec 2026`, `Dec 15, 2026`, `1st January`, `Feb 10`: one month name,
/// a day and an optional year, separated by spaces, commas, dots or dashes.
fn read_english(s: &str) -> Option<Reading> {
    let mut month = None;
    let mut numbers: Vec<&str> = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let c = rest.chars().next()?;
        if c.is_whitespace() || matches!(c, ',' | '.' | '-' | '/') {
            rest = &rest[c.len_utf8()..];
        } else if c.is_ascii_digit() {
            let (digits, mut after) = take_digits(rest);
            // An ordinal suffix belongs to a day: `1st`, `22nd`, `3rd`, `10th`.
            if let Some(a) = strip_ordinal(after) {
                if digits.len() > 2 {
                    return None;
                }
                after = a;
            }
            numbers.push(digits);
            rest = after;
        } else if c.is_ascii_alphabetic() {
            let end = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
            let (word, after) = rest.split_at(end);
            if word != "of" {
                if month.is_some() {
                    return None;
                }
                month = Some(month_number(word)?);
            }
            rest = after;
        } else {
            return None;
        }
    }
    let month = month?;
    let month_digits = month.to_string();
    match numbers.as_slice() {
        [day] => month_day(&month_digits, day),
        [day, year] => civil(year_of(year)?, &month_digits, day).map(Reading::Full),
        _ => None,
    }
}

/// The number of an English month name or its usual abbreviation.
fn month_number(word: &str) -> Option<u8> {
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if word == "sept" {
        return Some(9);
    }
    let i = NAMES.iter().position(|name| word == *name || (word.len() == 3 && name.starts_with(word)))?;
    u8::try_from(i + 1).ok()
}

fn strip_ordinal(s: &str) -> Option<&str> {
    ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suffix| s.strip_prefix(suffix))
        .filter(|after| !after.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// Adds `months` calendar months, keeping the day of the month where the
/// target month has it and clamping to the month's last day otherwise.
///
/// Results beyond the calendar's range saturate to [`Date::MIN`] or
/// [`Date::MAX`] instead of panicking.
///
/// # Example
///
/// ```
/// use guidebot::domain::dates::add_months;
/// use jiff::civil::date;
///
/// assert_eq!(add_months(date(2026, 1, 31), 1), date(2026, 2, 28));
/// assert_eq!(add_months(date(2024, 1, 31), 1), date(2024, 2, 29));
/// assert_eq!(add_months(date(2026, 3, 31), -1), date(2026, 2, 28));
/// ```
pub fn add_months(date: Date, months: i32) -> Date {
    let index = i64::from(date.year()) * 12 + i64::from(date.month()) - 1 + i64::from(months);
    let year = index.div_euclid(12);
    let saturated = if months < 0 { Date::MIN } else { Date::MAX };
    let Ok(year) = i16::try_from(year) else {
        return saturated;
    };
    // rem_euclid(12) + 1 is always in 1..=12.
    let month = (index.rem_euclid(12) + 1) as i8;
    let Ok(first) = Date::new(year, month, 1) else {
        return saturated;
    };
    let day = date.day().min(first.days_in_month());
    Date::new(year, month, day).expect("the day is clamped to the length of its month")
}

/// Adds `days` days, saturating at the ends of the calendar.
///
/// # Example
///
/// ```
/// use guidebot::domain::dates::add_days;
/// use jiff::civil::date;
///
/// assert_eq!(add_days(date(2028, 2, 28), 1), date(2028, 2, 29));
/// assert_eq!(add_days(date(2027, 1, 1), -1), date(2026, 12, 31));
/// ```
pub fn add_days(date: Date, days: i64) -> Date {
    date.saturating_add(jiff::Span::new().days(days.clamp(-7_304_484, 7_304_484)))
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Formats a date for a dialogue language: `zh` (also `zh-CN` and the like)
/// gives `2026年12月15日`, any other language `15 Dec 2026`.
///
/// # Example
///
/// ```
/// use guidebot::domain::dates::format_date;
/// use jiff::civil::date;
///
/// assert_eq!(format_date(date(2026, 12, 5), "zh"), "2026年12月5日");
/// assert_eq!(format_date(date(2026, 12, 5), "en"), "5 Dec 2026");
/// ```
pub fn format_date(date: Date, lang: &str) -> String {
    // Built by hand rather than with format!: dates are formatted for every row of
    // every rendered plan.
    let mut out = String::with_capacity(20);
    if is_chinese(lang) {
        push_number(&mut out, i64::from(date.year()));
        out.push('年');
        push_short(&mut out, date, true);
        return out;
    }
    push_short(&mut out, date, false);
    out.push(' ');
    push_number(&mut out, i64::from(date.year()));
    out
}

/// Formats a date without its year, as people write it when the year goes
/// without saying: `12月15日` in `zh`, `15 Dec` otherwise.
///
/// # Example
///
/// ```
/// use guidebot::domain::dates::format_short;
/// use jiff::civil::date;
///
/// assert_eq!(format_short(date(2027, 2, 10), "zh"), "2月10日");
/// assert_eq!(format_short(date(2027, 2, 10), "en"), "10 Feb");
/// ```
pub fn format_short(date: Date, lang: &str) -> String {
    let mut out = String::with_capacity(12);
    push_short(&mut out, date, is_chinese(lang));
    out
}

fn push_short(out: &mut String, date: Date, chinese: bool) {
    let (month, day) = (date.month().unsigned_abs(), date.day().unsigned_abs());
    if chinese {
        push_number(out, i64::from(month));
        out.push('月');
        push_number(out, i64::from(day));
        out.push('日');
    } else {
        push_number(out, i64::from(day));
        out.push(' ');
        out.push_str(MONTHS[usize::from(month) - 1]);
    }
}

/// A date that a question with `bounds` accepts, near `today`, to show as
/// an example: a month ahead when only a lower bound is set, a week back
/// when only an upper one is, else today (each moved inside the bounds).
///
/// # Example
///
/// ```
/// use guidebot::domain::dates::{Bounds, example_date};
/// use jiff::civil::date;
///
/// let today = date(2026, 12, 1);
/// assert_eq!(example_date(today, Bounds { min: Some(today), max: None }), date(2027, 1, 1));
/// assert_eq!(example_date(today, Bounds { min: None, max: Some(today) }), date(2026, 11, 24));
/// ```
pub fn example_date(today: Date, bounds: Bounds) -> Date {
    let clamp = |d: Date| {
        let d = bounds.min.map_or(d, |m| d.max(m));
        bounds.max.map_or(d, |m| d.min(m))
    };
    let start = clamp(today);
    let shifted = match (bounds.min, bounds.max) {
        (_, None) => add_months(start, 1),
        (None, Some(_)) => add_days(start, -7),
        (Some(_), Some(_)) => start,
    };
    if bounds.contains(shifted) { shifted } else { start }
}

/// How to write `date` for a question with `bounds`, as short as it can be
/// while still being read back as that very date: without the year when
/// [`parse_date_within`] would choose that year, with it otherwise.
///
/// # Example
///
/// ```
/// use guidebot::domain::dates::{Bounds, typed_form};
/// use jiff::civil::date;
///
/// let today = date(2026, 12, 1);
/// let future = Bounds { min: Some(today), max: None };
/// assert_eq!(typed_form(date(2027, 2, 10), today, future, "en"), "10 Feb");
/// assert_eq!(typed_form(date(2029, 2, 10), today, future, "en"), "10 Feb 2029");
/// ```
pub fn typed_form(date: Date, today: Date, bounds: Bounds, lang: &str) -> String {
    let short = format_short(date, lang);
    if parse_date_within(&short, today, bounds) == Ok(date) { short } else { format_date(date, lang) }
}

fn push_number(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_unsigned(out, u128::from(n.unsigned_abs()), false);
}

/// Days from `from` to `to`: positive when `to` is later, negative when it
/// is earlier.
///
/// # Example
///
/// ```
/// use guidebot::domain::dates::days_between;
/// use jiff::civil::date;
///
/// assert_eq!(days_between(date(2026, 2, 27), date(2026, 3, 1)), 2);
/// assert_eq!(days_between(date(2026, 3, 1), date(2026, 2, 27)), -2);
/// ```
pub fn days_between(from: Date, to: Date) -> i64 {
    // Civil days are exactly 24 hours long, so this division is exact.
    to.duration_since(from).as_secs() / 86_400
}

/// Whether `lang` writes dates the Chinese way.
pub fn is_chinese(lang: &str) -> bool {
    let lang = lang.trim();
    lang.eq_ignore_ascii_case("zh")
        || lang.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("zh-") || p.eq_ignore_ascii_case("zh_"))
}

/// The month and day digits of `…月15日`: digits, then optionally `日` or `号`.
fn chinese_day<'a>(month: &'a str, rest: &'a str) -> Option<(&'a str, &'a str)> {
    let (day, tail) = take_digits(rest);
    if !matches!(tail, "" | "日" | "号") {
        return None;
    }
    Some((month, day))
}

/// A four-digit year from 1000; other years are too ambiguous to guess.
fn year_of(digits: &str) -> Option<i16> {
    if digits.len() != 4 {
        return None;
    }
    digits.parse().ok().filter(|y| YEARS.contains(y))
}

/// Month and day digits (one or two each) of a day that exists in some
/// year: `02-29` does, `02-30` does not.
fn month_day(month: &str, day: &str) -> Option<Reading> {
    // 2000 is a leap year, so every day that exists in any year exists in it.
    let d = civil(2000, month, day)?;
    Some(Reading::MonthDay(d.month(), d.day()))
}

/// Builds a date from month and day digits (one or two each), or `None` if
/// that day does not exist.
fn civil(year: i16, month: &str, day: &str) -> Option<Date> {
    if !(1..=2).contains(&month.len()) || !(1..=2).contains(&day.len()) {
        return None;
    }
    Date::new(year, month.parse().ok()?, day.parse().ok()?).ok()
}

/// Splits off the leading ASCII digits.
fn take_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = Date::constant(2026, 10, 10);
    const NONE: Bounds = Bounds { min: None, max: None };

    fn from(today: Date) -> Bounds {
        Bounds { min: Some(today), max: None }
    }

    fn until(today: Date) -> Bounds {
        Bounds { min: None, max: Some(today) }
    }

    #[test]
    fn parses_full_dates_with_each_separator() {
        for input in ["2026-12-15", "2026/12/15", "2026.12.15"] {
            assert_eq!(parse_date(input, TODAY), Some(date(2026, 12, 15)), "{input}");
        }
        assert_eq!(parse_date("2027-1-5", TODAY), Some(date(2027, 1, 5)));
    }

    #[test]
    fn parses_chinese_dates() {
        let expected = Some(date(2027, 2, 3));
        assert_eq!(parse_date("2027年2月3日", TODAY), expected);
        assert_eq!(parse_date("2027年2月3", TODAY), expected);
        assert_eq!(parse_date("2027年02月03号", TODAY), expected);
        assert_eq!(parse_date("12月15日", TODAY), Some(date(2026, 12, 15)));
        assert_eq!(parse_date("12月15号", TODAY), Some(date(2026, 12, 15)));
        assert_eq!(parse_date("12月15", TODAY), Some(date(2026, 12, 15)));
    }

    #[test]
    fn parses_english_dates() {
        let expected = Some(date(2027, 1, 5));
        for input in [
            "5 Jan 2027",
            "5 January 2027",
            "Jan 5, 2027",
            "January 5 2027",
            "5th Jan 2027",
            "5th of January, 2027",
            "5-Jan-2027",
            "jan. 5, 2027",
            "  JAN 5 2027 ",
            "５ Ｊａｎ ２０２７",
        ] {
            assert_eq!(parse_date(input, TODAY), expected, "{input:?}");
        }
        assert_eq!(parse_date("1st Sept 2026", TODAY), Some(date(2026, 9, 1)));
        assert_eq!(parse_date("22nd May 2026", TODAY), Some(date(2026, 5, 22)));
        assert_eq!(parse_date("3rd March 2026", TODAY), Some(date(2026, 3, 3)));
        assert_eq!(parse_date("10 Feb", TODAY), Some(date(2027, 2, 10)));
        assert_eq!(parse_date("Feb 10", TODAY), Some(date(2027, 2, 10)));
        assert_eq!(parse_date("february 10th", TODAY), Some(date(2027, 2, 10)));
    }

    #[test]
    fn month_day_takes_the_nearest_year_without_bounds() {
        assert_eq!(parse_date("12-15", TODAY), Some(date(2026, 12, 15)));
        assert_eq!(parse_date("1/2", TODAY), Some(date(2027, 1, 2)));
        assert_eq!(parse_date("8/2", TODAY), Some(date(2026, 8, 2)));
        // From New Year's Day, 15 December is nearer last year.
        assert_eq!(parse_date("12/15", date(2030, 1, 1)), Some(date(2029, 12, 15)));
        assert_eq!(parse_date("1月5日", date(2026, 12, 31)), Some(date(2027, 1, 5)));
        // Half a year either way: the later one.
        assert_eq!(parse_date("7-1", date(2027, 1, 1)), Some(date(2027, 7, 1)));
    }

    #[test]
    fn on_new_years_eve_early_january_is_next_year_for_future_questions() {
        let eve = date(2026, 12, 31);
        for input in ["1月5日", "01-05", "1/5", "5 Jan", "Jan 5"] {
            assert_eq!(parse_date_within(input, eve, from(eve)), Ok(date(2027, 1, 5)), "{input}");
            assert_eq!(parse_date_within(input, eve, until(eve)), Ok(date(2026, 1, 5)), "{input}");
        }
        assert_eq!(parse_date_within("12月31日", eve, from(eve)), Ok(eve));
        assert_eq!(parse_date_within("12月31日", eve, until(eve)), Ok(eve));
        let new_year = date(2027, 1, 1);
        assert_eq!(parse_date_within("12月31日", new_year, until(new_year)), Ok(eve));
        assert_eq!(parse_date_within("12月31日", new_year, from(new_year)), Ok(date(2027, 12, 31)));
    }

    #[test]
    fn on_the_first_of_december_february_is_next_year() {
        let today = date(2026, 12, 1);
        for input in ["2月10日", "02-10", "2/10", "10 Feb", "Feb 10", "10th February"] {
            assert_eq!(parse_date_within(input, today, from(today)), Ok(date(2027, 2, 10)), "{input}");
        }
        assert_eq!(parse_date_within("1 Jan 2027", today, from(today)), Ok(date(2027, 1, 1)));
        assert_eq!(parse_date_within("11月30日", today, from(today)), Ok(date(2027, 11, 30)));
        assert_eq!(parse_date_within("12月1日", today, from(today)), Ok(today));
    }

    #[test]
    fn the_twenty_ninth_of_february() {
        // Leap year, before the day: this year's.
        let leap = date(2028, 1, 10);
        assert_eq!(parse_date_within("2月29日", leap, from(leap)), Ok(date(2028, 2, 29)));
        assert_eq!(parse_date_within("2月29日", leap, until(leap)), Ok(date(2024, 2, 29)));
        // On the day itself.
        let day = date(2028, 2, 29);
        assert_eq!(parse_date_within("02-29", day, from(day)), Ok(day));
        assert_eq!(parse_date_within("29 Feb", day, until(day)), Ok(day));
        // The day after: four years on, or the day before.
        let after = date(2028, 3, 1);
        assert_eq!(parse_date_within("Feb 29", after, from(after)), Ok(date(2032, 2, 29)));
        assert_eq!(parse_date_within("Feb 29", after, until(after)), Ok(date(2028, 2, 29)));
        // A year without one: the next or the last leap year.
        let plain = date(2027, 3, 1);
        assert_eq!(parse_date_within("2月29日", plain, from(plain)), Ok(date(2028, 2, 29)));
        assert_eq!(parse_date_within("2月29日", plain, until(plain)), Ok(date(2024, 2, 29)));
        // With the year written, only leap years have it.
        assert_eq!(parse_date_within("2027-02-29", plain, NONE), Err(DateError::NotADate));
        assert_eq!(parse_date_within("2028-02-29", plain, NONE), Ok(date(2028, 2, 29)));
        assert_eq!(parse_date_within("29 Feb 2100", plain, NONE), Err(DateError::NotADate));
        // 2100 is no leap year: from 2097 the next one is 2104.
        let late = date(2097, 1, 1);
        assert_eq!(parse_date_within("2月29日", late, from(late)), Ok(date(2104, 2, 29)));
    }

    #[test]
    fn not_a_date_differs_from_out_of_range() {
        let today = date(2026, 12, 1);
        let future = from(today);
        for input in ["", "soon", "2月30日", "2026-02-29", "13-01", "31 Apr", "12.15", "2026-12-15 10:00"] {
            assert_eq!(parse_date_within(input, today, future), Err(DateError::NotADate), "{input:?}");
        }
        assert_eq!(parse_date_within("2026-11-30", today, future), Err(DateError::OutOfRange(date(2026, 11, 30))));
        assert_eq!(parse_date_within("yesterday", today, future), Err(DateError::OutOfRange(date(2026, 11, 30))));
        assert_eq!(parse_date_within("明天", today, until(today)), Err(DateError::OutOfRange(date(2026, 12, 2))));
        // A narrow window that no year of the month and day falls in.
        let window = Bounds { min: Some(today), max: Some(date(2026, 12, 31)) };
        assert_eq!(parse_date_within("2月10日", today, window), Err(DateError::OutOfRange(date(2027, 2, 10))));
        assert_eq!(parse_date_within("12月24日", today, window), Ok(date(2026, 12, 24)));
    }

    #[test]
    fn accepts_full_width_and_spaces() {
        let expected = Some(date(2026, 12, 15));
        assert_eq!(parse_date("２０２６－１２－１５", TODAY), expected);
        assert_eq!(parse_date("２０２６／１２／１５", TODAY), expected);
        assert_eq!(parse_date("１２月１５日", TODAY), expected);
        assert_eq!(parse_date("  2026-12-15 \n", TODAY), expected);
        assert_eq!(parse_date("\u{3000}12月 15日\u{3000}", TODAY), expected);
    }

    #[test]
    fn understands_today_tomorrow_and_yesterday() {
        assert_eq!(parse_date("today", TODAY), Some(TODAY));
        assert_eq!(parse_date(" Today ", TODAY), Some(TODAY));
        assert_eq!(parse_date("今天", TODAY), Some(TODAY));
        assert_eq!(parse_date("tomorrow", TODAY), Some(date(2026, 10, 11)));
        assert_eq!(parse_date("明天", date(2026, 12, 31)), Some(date(2027, 1, 1)));
        assert_eq!(parse_date("昨天", date(2027, 1, 1)), Some(date(2026, 12, 31)));
        assert_eq!(parse_date("YESTERDAY", TODAY), Some(date(2026, 10, 9)));
        assert_eq!(parse_date("tomorrow", Date::MAX), None);
        assert_eq!(parse_date("yesterday", Date::MIN), None);
        assert_eq!(parse_date("「今天」", TODAY), Some(TODAY));
        assert_eq!(parse_date("\"today\"", TODAY), Some(TODAY));
        assert_eq!(parse_date("“12月15日”", TODAY), Some(date(2026, 12, 15)));
    }

    #[test]
    fn rejects_impossible_and_malformed_dates() {
        for input in [
            "",
            "   ",
            "02-30",
            "13-01",
            "00-10",
            "2026-02-29",
            "2026-13-01",
            "2026-12-32",
            "2026年2月30日",
            "2月30号",
            "12.15",
            "2026-12/15",
            "26-12-15",
            "12026-12-15",
            "0999-12-15",
            "0000-01-01",
            "2026-123-1",
            "2026-12-15-1",
            "12-15日",
            "2026年12月",
            "12月",
            "12月15日晚",
            "the day after",
            "Dec",
            "15 Dec 26",
            "15 Dec 2026 2027",
            "Dec Jan 5",
            "15 Decem 2026",
            "100th Dec",
            "2026th Dec",
            "15 Dec 2026!",
            "2026-12-",
            "-12-15",
            "1215",
        ] {
            assert_eq!(parse_date(input, TODAY), None, "{input:?}");
        }
        assert_eq!(parse_date("2024-02-29", TODAY), Some(date(2024, 2, 29)));
    }

    #[test]
    fn parse_never_panics() {
        let long = "9".repeat(100_000);
        let odd = [
            long.as_str(),
            "9999-12-31",
            "-9999-01-01",
            "0000-01-01",
            "99999999999999999999-1-1",
            "1-99999999999999999999",
            "年月日",
            "年",
            "月15日",
            "12月日",
            "/",
            "..",
            "\u{0}",
            "🙂12-15",
            "12-15🙂",
            "１２－１５\u{FF5E}",
            "1st",
            "st",
            "Feb 99999999999999999999",
            "İ Feb 10",
        ];
        for input in odd {
            for today in [Date::MAX, Date::MIN, TODAY] {
                for bounds in [NONE, from(today), until(today)] {
                    let _ = parse_date_within(input, today, bounds);
                }
            }
        }
        assert_eq!(parse_date("12-31", Date::MAX), Some(Date::MAX));
        assert_eq!(parse_date("9999-12-31", TODAY), Some(Date::MAX));
    }

    #[test]
    fn every_printed_form_reads_back() {
        for today in [date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1), date(2028, 2, 28), date(2028, 2, 29)] {
            let mut d = add_days(today, -400);
            while d < add_days(today, 400) {
                for lang in ["zh", "en"] {
                    assert_eq!(parse_date(&format_date(d, lang), today), Some(d), "{d} in {lang}");
                    for bounds in [NONE, from(today), until(today)] {
                        let typed = typed_form(d, today, bounds, lang);
                        let want = if bounds.contains(d) { Ok(d) } else { Err(DateError::OutOfRange(d)) };
                        assert_eq!(parse_date_within(&typed, today, bounds), want, "{typed} ({d}) from {today}");
                    }
                }
                assert_eq!(parse_date(&d.to_string(), today), Some(d));
                d = add_days(d, 1);
            }
        }
    }

    #[test]
    fn examples_fit_their_question() {
        for today in [date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1), date(2028, 2, 29), date(2026, 6, 15)] {
            let later = add_days(today, 45);
            let earlier = add_days(today, -45);
            for bounds in [
                NONE,
                from(today),
                until(today),
                Bounds { min: Some(today), max: Some(today) },
                Bounds { min: Some(later), max: None },
                Bounds { min: None, max: Some(earlier) },
                Bounds { min: Some(earlier), max: Some(later) },
            ] {
                let example = example_date(today, bounds);
                assert!(bounds.contains(example), "{example} for {bounds:?} from {today}");
                for lang in ["zh", "en"] {
                    let typed = typed_form(example, today, bounds, lang);
                    assert_eq!(parse_date_within(&typed, today, bounds), Ok(example), "{typed}");
                }
            }
        }
        let today = date(2026, 12, 1);
        assert_eq!(example_date(today, NONE), date(2027, 1, 1));
        assert_eq!(example_date(today, Bounds { min: Some(today), max: Some(today) }), today);
    }

    #[test]
    fn add_months_clamps_to_month_end() {
        assert_eq!(add_months(date(2026, 1, 31), 1), date(2026, 2, 28));
        assert_eq!(add_months(date(2024, 1, 31), 1), date(2024, 2, 29));
        assert_eq!(add_months(date(2026, 1, 31), 2), date(2026, 3, 31));
        assert_eq!(add_months(date(2026, 5, 31), 1), date(2026, 6, 30));
        assert_eq!(add_months(date(2026, 1, 15), 0), date(2026, 1, 15));
    }

    #[test]
    fn add_months_crosses_years_both_ways() {
        assert_eq!(add_months(date(2026, 11, 30), 3), date(2027, 2, 28));
        assert_eq!(add_months(date(2026, 1, 31), -2), date(2025, 11, 30));
        assert_eq!(add_months(date(2026, 3, 1), -14), date(2025, 1, 1));
        assert_eq!(add_months(date(2026, 12, 1), 12), date(2027, 12, 1));
    }

    #[test]
    fn add_months_saturates_at_the_calendar_limits() {
        assert_eq!(add_months(date(9999, 12, 1), 1), Date::MAX);
        assert_eq!(add_months(date(9999, 11, 30), 1), date(9999, 12, 30));
        assert_eq!(add_months(date(-9999, 1, 31), -1), Date::MIN);
        assert_eq!(add_months(date(2026, 1, 1), i32::MAX), Date::MAX);
        assert_eq!(add_months(date(2026, 1, 1), i32::MIN), Date::MIN);
        assert_eq!(add_months(Date::MAX, i32::MAX), Date::MAX);
    }

    #[test]
    fn add_days_saturates() {
        assert_eq!(add_days(Date::MAX, 1), Date::MAX);
        assert_eq!(add_days(Date::MIN, i64::MIN), Date::MIN);
        assert_eq!(add_days(date(2026, 12, 31), 1), date(2027, 1, 1));
    }

    #[test]
    fn formats_dates_per_language() {
        let d = date(2026, 12, 15);
        assert_eq!(format_date(d, "zh"), "2026年12月15日");
        assert_eq!(format_date(d, "zh-CN"), "2026年12月15日");
        assert_eq!(format_date(d, "en"), "15 Dec 2026");
        assert_eq!(format_date(d, ""), "15 Dec 2026");
        assert_eq!(format_date(d, "zhx"), "15 Dec 2026");
        assert_eq!(format_date(date(2026, 1, 2), "en"), "2 Jan 2026");
        assert_eq!(format_date(date(2026, 5, 9), "fr"), "9 May 2026");
        assert_eq!(format_short(d, "zh"), "12月15日");
        assert_eq!(format_short(d, "en"), "15 Dec");
    }

    #[test]
    fn counts_days_between_dates() {
        assert_eq!(days_between(date(2026, 1, 1), date(2026, 1, 1)), 0);
        assert_eq!(days_between(date(2026, 1, 31), date(2026, 3, 1)), 29);
        assert_eq!(days_between(date(2024, 1, 31), date(2024, 3, 1)), 30);
        assert_eq!(days_between(date(2026, 12, 31), date(2026, 1, 1)), -364);
        assert_eq!(days_between(Date::MIN, Date::MAX), 7_304_483);
    }
}
