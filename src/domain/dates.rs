//! Calendar dates as people type and read them: parsing the forms a user
//! writes in a chat (`2026-12-15`, `12月15号`, `明天`), month arithmetic for
//! due dates, and formatting for the two dialogue languages.
//!
//! This module owns only civil dates (no time zones, no times of day). It
//! never reads the clock: "today" is always passed in by the caller, so the
//! engine stays deterministic and testable.

use jiff::civil::Date;

use crate::domain::numerals::{fold_width, push_unsigned};

/// Parses a date typed by a user, relative to `today`.
///
/// Accepted forms (full-width digits and surrounding or inner spaces are
/// fine):
///
/// - `2026-12-15`, `2026/12/15`, `2026.12.15` (one separator throughout);
/// - `2026年12月15日`, also without `日` or with `号`;
/// - `12-15`, `12/15`, `12月15日`, `12月15号`: month and day of `today`'s year;
/// - `today` / `今天`, `tomorrow` / `明天`.
///
/// Days that do not exist (`02-30`, `13-01`) give `None`, as does anything
/// else. Never panics.
///
/// # Example
///
/// ```
/// use guidebot::domain::dates::parse_date;
/// use jiff::civil::date;
///
/// let today = date(2026, 3, 1);
/// assert_eq!(parse_date("2026年12月15日", today), Some(date(2026, 12, 15)));
/// assert_eq!(parse_date("12/15", today), Some(date(2026, 12, 15)));
/// assert_eq!(parse_date("明天", today), Some(date(2026, 3, 2)));
/// assert_eq!(parse_date("02-30", today), None);
/// ```
pub fn parse_date(input: &str, today: Date) -> Option<Date> {
    // Phones insert spaces in odd places ("12月 15日"); no accepted form
    // needs a space, so dropping them all is simpler than allowing each.
    let s: String = fold_width(input).chars().filter(|c| !c.is_whitespace()).collect();
    match s.to_lowercase().as_str() {
        "today" | "今天" => return Some(today),
        "tomorrow" | "明天" => return today.tomorrow().ok(),
        _ => {}
    }
    let (first, rest) = take_digits(&s);
    if first.is_empty() {
        return None;
    }
    if let Some(rest) = rest.strip_prefix('年') {
        let year = year_of(first)?;
        let (month, rest) = take_digits(rest);
        let rest = rest.strip_prefix('月')?;
        return chinese_day(year, month, rest);
    }
    if let Some(rest) = rest.strip_prefix('月') {
        return chinese_day(today.year(), first, rest);
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
        return civil(today.year(), first, second);
    }
    let (third, rest) = take_digits(rest.strip_prefix(sep)?);
    if !rest.is_empty() {
        return None;
    }
    civil(year_of(first)?, second, third)
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
    let (year, month, day) = (date.year(), date.month().unsigned_abs(), date.day().unsigned_abs());
    let mut out = String::with_capacity(20);
    if is_chinese(lang) {
        push_number(&mut out, i64::from(year));
        out.push('年');
        push_number(&mut out, i64::from(month));
        out.push('月');
        push_number(&mut out, i64::from(day));
        out.push('日');
        return out;
    }
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    push_number(&mut out, i64::from(day));
    out.push(' ');
    out.push_str(MONTHS[usize::from(month) - 1]);
    out.push(' ');
    push_number(&mut out, i64::from(year));
    out
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

fn is_chinese(lang: &str) -> bool {
    let lang = lang.trim();
    lang.eq_ignore_ascii_case("zh")
        || lang.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("zh-") || p.eq_ignore_ascii_case("zh_"))
}

/// The day part of `…月15日`: digits, then optionally `日` or `号`.
fn chinese_day(year: i16, month: &str, rest: &str) -> Option<Date> {
    let (day, tail) = take_digits(rest);
    if !matches!(tail, "" | "日" | "号") {
        return None;
    }
    civil(year, month, day)
}

/// A four-digit year; shorter years are too ambiguous to guess.
fn year_of(digits: &str) -> Option<i16> {
    if digits.len() != 4 {
        return None;
    }
    digits.parse().ok()
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

    const TODAY: Date = Date::constant(2026, 3, 10);

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
    fn month_day_takes_todays_year() {
        assert_eq!(parse_date("12-15", TODAY), Some(date(2026, 12, 15)));
        assert_eq!(parse_date("1/2", TODAY), Some(date(2026, 1, 2)));
        let new_year = date(2030, 1, 1);
        assert_eq!(parse_date("12/15", new_year), Some(date(2030, 12, 15)));
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
    fn understands_today_and_tomorrow() {
        assert_eq!(parse_date("today", TODAY), Some(TODAY));
        assert_eq!(parse_date(" Today ", TODAY), Some(TODAY));
        assert_eq!(parse_date("今天", TODAY), Some(TODAY));
        assert_eq!(parse_date("tomorrow", TODAY), Some(date(2026, 3, 11)));
        assert_eq!(parse_date("明天", date(2026, 12, 31)), Some(date(2027, 1, 1)));
        assert_eq!(parse_date("tomorrow", Date::MAX), None);
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
            "2026-123-1",
            "2026-12-15-1",
            "12-15日",
            "2026年12月",
            "12月",
            "12月15日晚",
            "yesterday",
            "15 Dec 2026",
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
        ];
        for input in odd {
            let _ = parse_date(input, Date::MAX);
            let _ = parse_date(input, Date::MIN);
        }
        assert_eq!(parse_date("0000-01-01", TODAY), Some(date(0, 1, 1)));
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
    fn formats_dates_per_language() {
        let d = date(2026, 12, 15);
        assert_eq!(format_date(d, "zh"), "2026年12月15日");
        assert_eq!(format_date(d, "zh-CN"), "2026年12月15日");
        assert_eq!(format_date(d, "en"), "15 Dec 2026");
        assert_eq!(format_date(d, ""), "15 Dec 2026");
        assert_eq!(format_date(d, "zhx"), "15 Dec 2026");
        assert_eq!(format_date(date(2026, 1, 2), "en"), "2 Jan 2026");
        assert_eq!(format_date(date(2026, 5, 9), "fr"), "9 May 2026");
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
