//! Amounts of money: reading what a user types (`¥3,500`, `3.5万`,
//! `３５００元`, `£12.99`), showing amounts back (`¥3,500.00`), and splitting
//! a debt into monthly installments.
//!
//! Money is always a [`Decimal`], never a float, and installments are
//! computed in whole cents so that they add up exactly. Each guide counts in
//! one [`Currency`] (yuan unless it says otherwise). This module does no I/O
//! and never reads the clock: due dates are derived from a first due date
//! the caller passes in.

use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::domain::dates::add_months;
use crate::domain::numerals::{fold_width, push_unsigned};

/// The largest amount (and the largest number, either sign) a typed answer
/// may be: 10^12. Far above any household's debt, and small enough that
/// every sum, difference and installment a guide works out stays exact to
/// the cent.
pub const AMOUNT_LIMIT: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// The currency a guide counts in: its ISO 4217 code and the symbol amounts
/// are shown with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    /// `CNY`, `GBP`, …: three capital letters.
    pub code: String,
    /// `¥`, `£`, …; amounts are written `¥3,500.00`.
    pub symbol: String,
}

impl Default for Currency {
    /// Yuan: `CNY`, shown as `¥`.
    fn default() -> Currency {
        Currency { code: "CNY".into(), symbol: "¥".into() }
    }
}

impl Currency {
    /// The currency with ISO code `code`, with its usual symbol when it is a
    /// common one and the code itself otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// use guidebot::domain::money::Currency;
    ///
    /// assert_eq!(Currency::of("GBP").symbol, "£");
    /// assert_eq!(Currency::of("CHF").symbol, "CHF");
    /// ```
    pub fn of(code: &str) -> Currency {
        let code = code.trim().to_ascii_uppercase();
        let symbol = match code.as_str() {
            "CNY" | "JPY" => "¥",
            "GBP" => "£",
            "EUR" => "€",
            "USD" => "$",
            "HKD" => "HK$",
            "KRW" => "₩",
            "INR" => "₹",
            _ => code.as_str(),
        }
        .to_owned();
        Currency { code, symbol }
    }

    fn is_yuan(&self) -> bool {
        self.code == "CNY"
    }
}

/// Why a typed answer is not an acceptable amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// Not an amount: letters, a minus sign, more than two decimals, two numbers…
    NotAnAmount,
    /// An amount written in another currency than the guide's, such as `¥`
    /// or `USD` in a guide that counts in pounds: what marked it.
    OtherCurrency(String),
    /// More than [`AMOUNT_LIMIT`].
    TooLarge,
}

/// Symbols of currencies, as typed before or after an amount.
const SYMBOLS: &[&str] = &["¥", "$", "€", "£", "₩", "₹", "₽", "₺", "₫", "฿", "₱", "₪", "₴", "₦", "円", "元", "块"];

/// Codes of currencies people here are likely to type.
const CODES: &[&str] = &[
    "AUD", "CAD", "CHF", "CNY", "EUR", "GBP", "HKD", "IDR", "INR", "JPY", "KRW", "MOP", "MYR", "NZD", "PHP", "RMB",
    "RUB", "SGD", "THB", "TWD", "USD", "VND",
];

/// Reads an amount of money typed by a user in a guide that counts in yuan,
/// without the [`AMOUNT_LIMIT`]: for amounts written by authors (`min: 0.01`)
/// and in templates. Answers go through [`parse_money_in`].
///
/// Accepts plain or comma-grouped numbers (`3500`, `3,500.50`), a currency
/// sign or code before (`¥`, `￥`, `RMB`, `CNY`), `元` or `块` after, `万`
/// or `万元` for ten thousands (`3.5万` is 35000), full-width digits and
/// punctuation (`３，５００．５０`) and surrounding spaces.
///
/// Gives `None` for anything else: empty or negative input, more than two
/// decimal places in the resulting amount, misplaced commas (`3,50`),
/// letters, two numbers, or amounts too large for a [`Decimal`]. The result
/// has at most two decimal places. Never panics.
///
/// # Example
///
/// ```
/// use guidebot::domain::money::parse_money;
/// use rust_decimal::Decimal;
///
/// assert_eq!(parse_money("￥3,500.50"), Some(Decimal::new(350050, 2)));
/// assert_eq!(parse_money("3.5万"), Some(Decimal::from(35000)));
/// assert_eq!(parse_money("3,50"), None);
/// ```
pub fn parse_money(input: &str) -> Option<Decimal> {
    read_amount(input, &Currency::default()).ok()
}

/// Reads an amount typed as an answer in a guide that counts in `currency`.
///
/// Takes the forms [`parse_money`] does, with the guide's own symbol and
/// code (`£12.99`, `GBP 12.99`, `12.99 GBP`) in place of the yuan's; `元`
/// and `块` only in yuan. An amount marked with another currency
/// (`¥3500` in a pound guide, `USD 20`) gives [`MoneyError::OtherCurrency`],
/// one above [`AMOUNT_LIMIT`] gives [`MoneyError::TooLarge`], anything else
/// that is not an amount [`MoneyError::NotAnAmount`]. Never panics.
///
/// # Example
///
/// ```
/// use guidebot::domain::money::{parse_money_in, Currency, MoneyError};
/// use rust_decimal::Decimal;
///
/// let pounds = Currency::of("GBP");
/// assert_eq!(parse_money_in("£12.99", &pounds), Ok(Decimal::new(1299, 2)));
/// assert_eq!(parse_money_in("¥3500", &pounds), Err(MoneyError::OtherCurrency("¥".into())));
/// assert_eq!(parse_money_in("2000000000000", &pounds), Err(MoneyError::TooLarge));
/// ```
pub fn parse_money_in(input: &str, currency: &Currency) -> Result<Decimal, MoneyError> {
    let amount = read_amount(input, currency)?;
    if amount > AMOUNT_LIMIT {
        return Err(MoneyError::TooLarge);
    }
    Ok(amount)
}

fn read_amount(input: &str, currency: &Currency) -> Result<Decimal, MoneyError> {
    let folded = fold_width(input);
    let mut s = folded.trim();
    let mut foreign: Option<String> = None;
    if let Some(rest) = strip_marker_prefix(s, &currency.symbol)
        .or_else(|| strip_code_prefix(s, &currency.code))
        .or_else(|| currency.is_yuan().then(|| strip_code_prefix(s, "RMB").or_else(|| s.strip_prefix('¥'))).flatten())
    {
        s = rest.trim_start();
    } else if let Some((marker, rest)) = other_prefix(s) {
        foreign = Some(marker);
        s = rest.trim_start();
    }
    if let Some(rest) = strip_code_suffix(s, &currency.code)
        .or_else(|| currency.is_yuan().then(|| s.strip_suffix('元').or_else(|| s.strip_suffix('块'))).flatten())
    {
        s = rest.trim_end();
    } else if let Some((marker, rest)) = other_suffix(s) {
        foreign.get_or_insert(marker);
        s = rest.trim_end();
    }
    let wan = s.ends_with('万');
    if let Some(rest) = s.strip_suffix('万') {
        s = rest.trim_end();
    }
    let (mut mantissa, mut scale) = parse_unsigned(s).ok_or(MoneyError::NotAnAmount)?;
    if let Some(marker) = foreign {
        // The guide's own sign in the wrong place (`元3500`) is no other currency.
        let own = marker == currency.symbol
            || marker == currency.code
            || currency.is_yuan() && ["¥", "元", "块", "RMB"].contains(&marker.as_str());
        return Err(if own { MoneyError::NotAnAmount } else { MoneyError::OtherCurrency(marker) });
    }
    if wan {
        // 万 is 10^4: move the decimal point instead of multiplying, so
        // that `1.2345万` stays exact.
        if scale >= 4 {
            scale -= 4;
        } else {
            mantissa = mantissa.checked_mul(10u128.pow(4 - scale)).ok_or(MoneyError::TooLarge)?;
            scale = 0;
        }
    }
    if scale > 2 {
        return Err(MoneyError::NotAnAmount);
    }
    let mantissa = i128::try_from(mantissa).map_err(|_| MoneyError::TooLarge)?;
    Decimal::try_from_i128_with_scale(mantissa, scale).map_err(|_| MoneyError::TooLarge)
}

/// `s` without a leading `marker` (letters compared in any case).
fn strip_marker_prefix<'a>(s: &'a str, marker: &str) -> Option<&'a str> {
    if marker.is_empty() {
        return None;
    }
    let head = s.get(..marker.len())?;
    head.eq_ignore_ascii_case(marker).then(|| &s[marker.len()..])
}

/// `s` without a leading three-letter `code` that is not part of a longer word.
fn strip_code_prefix<'a>(s: &'a str, code: &str) -> Option<&'a str> {
    strip_marker_prefix(s, code).filter(|rest| !rest.starts_with(|c: char| c.is_ascii_alphabetic()))
}

fn strip_code_suffix<'a>(s: &'a str, code: &str) -> Option<&'a str> {
    let start = s.len().checked_sub(code.len())?;
    let rest = s.get(..start)?;
    let tail = s.get(start..)?;
    (tail.eq_ignore_ascii_case(code) && !rest.ends_with(|c: char| c.is_ascii_alphabetic())).then_some(rest)
}

/// A currency symbol or a three-letter code before the digits.
fn other_prefix(s: &str) -> Option<(String, &str)> {
    if let Some(sym) = SYMBOLS.iter().find(|sym| s.starts_with(*sym)) {
        return Some(((*sym).to_owned(), &s[sym.len()..]));
    }
    let code = s.get(..3).filter(|c| CODES.iter().any(|k| k.eq_ignore_ascii_case(c)))?;
    let rest = &s[3..];
    rest.starts_with(|c: char| c.is_ascii_digit() || c.is_whitespace()).then(|| (code.to_ascii_uppercase(), rest))
}

/// A currency symbol or a three-letter code after the digits.
fn other_suffix(s: &str) -> Option<(String, &str)> {
    if let Some(sym) = SYMBOLS.iter().find(|sym| s.ends_with(*sym)) {
        return Some(((*sym).to_owned(), &s[..s.len() - sym.len()]));
    }
    let start = s.len().checked_sub(3)?;
    let code = s.get(start..).filter(|c| CODES.iter().any(|k| k.eq_ignore_ascii_case(c)))?;
    let rest = &s[..start];
    rest.ends_with(|c: char| c.is_ascii_digit() || c.is_whitespace()).then(|| (code.to_ascii_uppercase(), rest))
}

/// Reads a plain number: an optional sign, digits with optional comma
/// thousands separators and decimals, full-width forms allowed, and
/// optionally one trailing unit word among `个月`, `月`, `months`, `month`
/// and `期` (so `6个月` gives 6).
///
/// # Example
///
/// ```
/// use guidebot::domain::money::parse_number;
/// use rust_decimal::Decimal;
///
/// assert_eq!(parse_number("6个月"), Some(Decimal::from(6)));
/// assert_eq!(parse_number("-1,234.5"), Some(Decimal::new(-12345, 1)));
/// assert_eq!(parse_number("six"), None);
/// ```
pub fn parse_number(input: &str) -> Option<Decimal> {
    let folded = fold_width(input);
    let mut s = folded.trim();
    for unit in ["个月", "月", "months", "month", "期"] {
        if let Some(rest) = strip_suffix_ignore_case(s, unit) {
            s = rest.trim_end();
            break;
        }
    }
    let (negative, digits) = if let Some(rest) = s.strip_prefix(['-', '\u{2212}']) {
        (true, rest)
    } else {
        (false, s.strip_prefix('+').unwrap_or(s))
    };
    let (mantissa, scale) = parse_unsigned(digits)?;
    let mantissa = i128::try_from(mantissa).ok()?;
    let signed = if negative { -mantissa } else { mantissa };
    Decimal::try_from_i128_with_scale(signed, scale).ok()
}

/// Shows an amount in yuan as `¥3,500.50`: see [`format_money_in`].
///
/// # Example
///
/// ```
/// use guidebot::domain::money::format_money;
/// use rust_decimal::Decimal;
///
/// assert_eq!(format_money(Decimal::new(350050, 2)), "¥3,500.50");
/// assert_eq!(format_money(Decimal::new(-12, 0)), "-¥12.00");
/// assert_eq!(format_money(Decimal::new(1005, 3)), "¥1.01");
/// ```
pub fn format_money(amount: Decimal) -> String {
    format_money_in(amount, &Currency::default())
}

/// Shows an amount as `£3,500.50`: the currency's symbol (followed by a
/// space when it is a code such as `CHF`), thousands separators, exactly
/// two decimals (rounded half away from zero), and a leading minus for
/// negative amounts (`-£12.00`). [`parse_money_in`] reads every
/// non-negative amount it writes back as the same amount.
///
/// # Example
///
/// ```
/// use guidebot::domain::money::{format_money_in, Currency};
/// use rust_decimal::Decimal;
///
/// assert_eq!(format_money_in(Decimal::new(1299, 2), &Currency::of("GBP")), "£12.99");
/// assert_eq!(format_money_in(Decimal::new(-5, 0), &Currency::of("CHF")), "-CHF 5.00");
/// ```
pub fn format_money_in(amount: Decimal, currency: &Currency) -> String {
    // Written by hand rather than with format!: it runs for every amount in every
    // rendered plan, and the formatting machinery was most of a step's time.
    let cents = cents_of(amount);
    let abs = cents.unsigned_abs();
    let (units, fraction) = (abs / 100, (abs % 100) as u8);
    let mut out = String::with_capacity(24);
    if cents < 0 {
        out.push('-');
    }
    out.push_str(&currency.symbol);
    if currency.symbol.ends_with(|c: char| c.is_ascii_alphabetic()) {
        out.push(' ');
    }
    push_unsigned(&mut out, units, true);
    out.push('.');
    out.push(char::from(b'0' + fraction / 10));
    out.push(char::from(b'0' + fraction % 10));
    out
}

/// One monthly payment of an installment plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installment {
    /// Position in the plan, starting at 1.
    pub n: u32,
    /// When this payment is due.
    pub due: Date,
    /// How much to pay, in yuan with at most two decimals.
    pub amount: Decimal,
}

/// Splits `amount` into `months` monthly payments, the first due on
/// `first_due`.
///
/// The amount is first rounded to the cent (half away from zero). Each
/// payment is the same whole number of cents, rounded down, and the
/// remainder goes into the last one, so the payments always add up to the
/// rounded amount. Payment `n` is due `n - 1` months after `first_due`
/// (see [`add_months`]), always counted from `first_due` so that a plan
/// starting on the 31st comes back to the 31st after February. A negative
/// amount is split like its absolute value, with every payment negated.
///
/// `months == 0` gives no payments, and so does an amount too large to count
/// in cents (above about 7.9 × 10²⁶ yuan).
///
/// # Example
///
/// ```
/// use guidebot::domain::money::installments;
/// use jiff::civil::date;
/// use rust_decimal::Decimal;
///
/// let plan = installments(Decimal::from(1000), 3, date(2026, 1, 31));
/// let amounts: Vec<String> = plan.iter().map(|i| i.amount.to_string()).collect();
/// assert_eq!(amounts, ["333.33", "333.33", "333.34"]);
/// assert_eq!(plan[1].due, date(2026, 2, 28));
/// assert_eq!(plan[2].due, date(2026, 3, 31));
/// ```
pub fn installments(amount: Decimal, months: u32, first_due: Date) -> Vec<Installment> {
    let Some((each, last)) = split_cents(amount, months) else {
        return Vec::new();
    };
    (1..=months)
        .map(|n| {
            let cents = if n == months { last } else { each };
            let offset = i32::try_from(n - 1).unwrap_or(i32::MAX);
            Installment { n, due: add_months(first_due, offset), amount: from_cents(cents) }
        })
        .collect()
}

/// The fewest months, between 1 and `max_months`, over which `amount` can
/// be paid without any single installment (as computed by [`installments`])
/// exceeding `monthly_budget`.
///
/// Gives `None` when even `max_months` months are not enough, or when the
/// budget is zero or negative. Takes time proportional to `max_months`.
///
/// # Example
///
/// ```
/// use guidebot::domain::money::shortest_affordable_term;
/// use rust_decimal::Decimal;
///
/// let amount = Decimal::from(1000);
/// assert_eq!(shortest_affordable_term(amount, Decimal::from(400), 12), Some(3));
/// assert_eq!(shortest_affordable_term(amount, Decimal::from(50), 12), None);
/// ```
pub fn shortest_affordable_term(amount: Decimal, monthly_budget: Decimal, max_months: u32) -> Option<u32> {
    if monthly_budget <= Decimal::ZERO {
        return None;
    }
    // With more months than cents every installment but the last is zero
    // and the last is the whole amount, as with one month: no need to look.
    let useful = u32::try_from(cents_of(amount).unsigned_abs()).unwrap_or(u32::MAX);
    (1..=max_months.min(useful.max(1))).find(|&months| {
        split_cents(amount, months).is_some_and(|(each, last)| from_cents(each.max(last)) <= monthly_budget)
    })
}

/// The regular and the last installment of a plan, in cents; `None` if
/// there are no installments.
fn split_cents(amount: Decimal, months: u32) -> Option<(i128, i128)> {
    if months == 0 {
        return None;
    }
    let total = cents_of(amount);
    // Keep the total representable so that every (smaller) part is too.
    Decimal::try_from_i128_with_scale(total, 2).ok()?;
    let (abs, months) = (total.unsigned_abs(), u128::from(months));
    let each = i128::try_from(abs / months).ok()?;
    let last = i128::try_from(abs / months + abs % months).ok()?;
    Some(if total < 0 { (-each, -last) } else { (each, last) })
}

/// The amount rounded to the cent, counted in cents. Always fits: a
/// `Decimal` mantissa has 96 bits and at most two more decimal digits are
/// added.
fn cents_of(amount: Decimal) -> i128 {
    let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.mantissa() * 10i128.pow(2 - rounded.scale())
}

fn from_cents(cents: i128) -> Decimal {
    Decimal::try_from_i128_with_scale(cents, 2)
        .expect("installments are checked to be no larger than a representable total")
}

/// Parses unsigned digits with optional comma thousands groups and an
/// optional fraction into a mantissa and a scale; trailing fraction zeros
/// are dropped, as they do not change the amount.
fn parse_unsigned(s: &str) -> Option<(u128, u32)> {
    let (whole, fraction) = match s.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (s, None),
    };
    if !valid_whole(whole) {
        return None;
    }
    let fraction = match fraction {
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => f.trim_end_matches('0'),
        Some(_) => return None,
        None => "",
    };
    let scale = u32::try_from(fraction.len()).ok()?;
    if scale > 28 {
        return None;
    }
    let mut mantissa: u128 = 0;
    for b in whole.bytes().chain(fraction.bytes()).filter(u8::is_ascii_digit) {
        // Saturates: a number this long is refused as too large by the caller.
        mantissa = mantissa.saturating_mul(10).saturating_add(u128::from(b - b'0'));
    }
    Some((mantissa, scale))
}

/// Digits, either ungrouped (`3500`) or grouped by threes with commas
/// (`3,500`, `12,345,678`).
fn valid_whole(whole: &str) -> bool {
    let all_digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    let mut groups = whole.split(',');
    let Some(first) = groups.next() else {
        return false;
    };
    if !whole.contains(',') {
        return all_digits(first);
    }
    first.len() <= 3 && all_digits(first) && groups.all(|g| g.len() == 3 && all_digits(g))
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let start = s.len().checked_sub(suffix.len())?;
    let tail = s.get(start..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..start])
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("test literal is a valid decimal")
    }

    #[test]
    fn parses_each_accepted_money_form() {
        let cases = [
            ("3500", "3500"),
            ("3,500.50", "3500.50"),
            ("¥3500", "3500"),
            ("￥3,500", "3500"),
            ("3500元", "3500"),
            ("3500 元", "3500"),
            ("RMB 3500", "3500"),
            ("rmb3500", "3500"),
            ("3.5万", "35000"),
            ("3.5万元", "35000"),
            ("3.5 万 元", "35000"),
            ("1.23456万", "12345.6"),
            ("1.234567万", "12345.67"),
            ("2万", "20000"),
            ("3500.5", "3500.5"),
            ("３５００", "3500"),
            ("３，５００．５０", "3500.50"),
            ("  3500  ", "3500"),
            ("\u{3000}¥ 1,234,567.89 元\u{3000}", "1234567.89"),
            ("0", "0"),
            ("0.01", "0.01"),
            ("3500.500", "3500.5"),
            ("12,345,678", "12345678"),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_money(input), Some(dec(expected)), "{input:?}");
        }
    }

    #[test]
    fn rejects_bad_money() {
        for input in [
            "",
            "   ",
            "¥",
            "元",
            "万",
            "-3500",
            "¥-3500",
            "+3500",
            "3500.123",
            "1.2345678万",
            "3,50",
            "35,00",
            "3500,000",
            "1,2345",
            ",350",
            "3,500,",
            "3,500.5,0",
            "3500.",
            ".50",
            "3.5.0",
            "abc",
            "3500abc",
            "3500 dollars",
            "35OO",
            "3500 4000",
            "3500/4000",
            "3 500",
            "¥¥3500",
            "3500元元",
            "3500元万",
            "3500万万",
            "RMB",
            "79228162514264337593543950336",
            "99999999999999999999999999999999999999999",
            "1e5",
            "0x10",
        ] {
            assert_eq!(parse_money(input), None, "{input:?}");
        }
    }

    #[test]
    fn money_results_have_at_most_two_decimals() {
        for input in ["1.5", "1.50", "1.500000000000000000000000000000000000000", "0.12万"] {
            let value = parse_money(input).expect("accepted");
            assert!(value.scale() <= 2, "{input}: {value}");
        }
        assert_eq!(parse_money("79228162514264337593543950335"), Some(Decimal::MAX));
    }

    #[test]
    fn parse_money_never_panics() {
        let mut odd: Vec<String> = [
            "¥",
            "￥￥",
            "万元",
            "RM",
            "R",
            "🙂",
            "🙂3500",
            "3500🙂",
            "\u{0}",
            ".",
            ",",
            ",,,",
            "...",
            "-",
            "--1",
            "元3500",
            "¥\u{301}3500",
            "0.000000000000000000000000000001",
        ]
        .map(str::to_owned)
        .into();
        odd.push("9".repeat(200_000));
        odd.push("1,000".repeat(50_000));
        odd.push(format!("0.{}1", "0".repeat(100_000)));
        odd.push(format!("1{}万", "0".repeat(30)));
        for input in &odd {
            let _ = parse_money(input);
            let _ = parse_number(input);
        }
        assert_eq!(parse_money(&odd[odd.len() - 2]), None);
        assert_eq!(parse_money("ＲＭＢ３５００"), Some(dec("3500")));
    }

    #[test]
    fn answers_are_bounded_at_the_amount_limit() {
        let yuan = Currency::default();
        assert_eq!(AMOUNT_LIMIT, dec("1000000000000"));
        assert_eq!(parse_money_in("1,000,000,000,000", &yuan), Ok(AMOUNT_LIMIT));
        assert_eq!(parse_money_in("1亿", &yuan), Err(MoneyError::NotAnAmount));
        assert_eq!(parse_money_in("1亿万", &yuan), Err(MoneyError::NotAnAmount));
        assert_eq!(parse_money_in("10000,0000万", &yuan), Err(MoneyError::NotAnAmount));
        assert_eq!(parse_money_in("1,000,000,000,000.01", &yuan), Err(MoneyError::TooLarge));
        assert_eq!(parse_money_in("100000000.0001万", &yuan), Err(MoneyError::TooLarge));
        assert_eq!(parse_money_in("100000001万", &yuan), Err(MoneyError::TooLarge));
        assert_eq!(parse_money_in("79228162514264337593543950335", &yuan), Err(MoneyError::TooLarge));
        assert_eq!(parse_money_in("79228162514264337593543950336", &yuan), Err(MoneyError::TooLarge));
        assert_eq!(parse_money_in(&"9".repeat(60), &yuan), Err(MoneyError::TooLarge));
        // Authors' bounds and templates are read without the limit.
        assert_eq!(parse_money("79228162514264337593543950335"), Some(Decimal::MAX));
    }

    #[test]
    fn each_guide_reads_its_own_currency() {
        let pounds = Currency { code: "GBP".into(), symbol: "£".into() };
        for (input, expected) in [
            ("£12.99", "12.99"),
            ("£ 1,234.50", "1234.50"),
            ("GBP 12.99", "12.99"),
            ("gbp12", "12"),
            ("12.99 GBP", "12.99"),
            ("12.99", "12.99"),
            ("￡12.99", "12.99"),
        ] {
            assert_eq!(parse_money_in(input, &pounds), Ok(dec(expected)), "{input:?}");
        }
        for (input, marker) in [
            ("¥3500", "¥"),
            ("￥3500", "¥"),
            ("3500元", "元"),
            ("3.5万元", "元"),
            ("$20", "$"),
            ("USD 20", "USD"),
            ("20 usd", "USD"),
            ("RMB 3500", "RMB"),
            ("€5", "€"),
        ] {
            assert_eq!(parse_money_in(input, &pounds), Err(MoneyError::OtherCurrency(marker.into())), "{input:?}");
        }
        for input in ["£", "££12", "12£ 5", "£-12", "GBP", "GBPX 12", "abc 12", "¥abc"] {
            assert_eq!(parse_money_in(input, &pounds), Err(MoneyError::NotAnAmount), "{input:?}");
        }
        let yuan = Currency::default();
        assert_eq!(parse_money_in("CNY 3500", &yuan), Ok(dec("3500")));
        assert_eq!(parse_money_in("3500块", &yuan), Ok(dec("3500")));
        assert_eq!(parse_money_in("£12", &yuan), Err(MoneyError::OtherCurrency("£".into())));
        assert_eq!(parse_money_in("元3500", &yuan), Err(MoneyError::NotAnAmount));
        let francs = Currency::of("chf");
        assert_eq!(francs.code, "CHF");
        assert_eq!(parse_money_in("CHF 5", &francs), Ok(dec("5")));
        assert_eq!(format_money_in(dec("1234.5"), &francs), "CHF 1,234.50");
        assert_eq!(format_money_in(dec("1234.5"), &pounds), "£1,234.50");
        assert_eq!(format_money_in(dec("-0.5"), &pounds), "-£0.50");
    }

    #[test]
    fn printed_amounts_read_back() {
        for currency in [Currency::default(), Currency::of("GBP"), Currency::of("CHF"), Currency::of("HKD")] {
            for cents in [0i64, 1, 99, 100, 123_456, 350_050, 99_999_999_999_999, 100_000_000_000_000] {
                let amount = Decimal::new(cents, 2);
                let shown = format_money_in(amount, &currency);
                assert_eq!(parse_money_in(&shown, &currency), Ok(amount), "{shown}");
            }
        }
    }

    #[test]
    fn parses_plain_numbers() {
        let cases = [
            ("6", "6"),
            ("+6", "6"),
            ("-6", "-6"),
            ("−6", "-6"),
            ("1,234.5", "1234.5"),
            ("-1,234.56789", "-1234.56789"),
            ("６", "6"),
            ("１２，０００", "12000"),
            ("0.5", "0.5"),
            (" 12 ", "12"),
            ("6个月", "6"),
            ("6 个月", "6"),
            ("12月", "12"),
            ("6 months", "6"),
            ("1 month", "1"),
            ("6 Months", "6"),
            ("24期", "24"),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_number(input), Some(dec(expected)), "{input:?}");
        }
    }

    #[test]
    fn rejects_bad_numbers() {
        for input in [
            "",
            "-",
            "+",
            "个月",
            "6 个月 个月",
            "6 weeks",
            "six",
            "6 7",
            "- 6",
            "1,23",
            "1.2.3",
            "¥6",
            "6元",
            "6万",
            "1.",
            "++6",
            "99999999999999999999999999999999999999999",
        ] {
            assert_eq!(parse_number(input), None, "{input:?}");
        }
    }

    #[test]
    fn formats_money() {
        let cases = [
            ("3500.5", "¥3,500.50"),
            ("0", "¥0.00"),
            ("0.5", "¥0.50"),
            ("999.999", "¥1,000.00"),
            ("1234567.891", "¥1,234,567.89"),
            ("-12", "-¥12.00"),
            ("-1234.5", "-¥1,234.50"),
            ("2.345", "¥2.35"),
            ("-2.345", "-¥2.35"),
            ("2.344", "¥2.34"),
            ("-0.001", "¥0.00"),
            ("100", "¥100.00"),
            ("100000", "¥100,000.00"),
        ];
        for (amount, expected) in cases {
            assert_eq!(format_money(dec(amount)), expected, "{amount}");
        }
        assert_eq!(format_money(Decimal::MAX), "¥79,228,162,514,264,337,593,543,950,335.00");
        assert_eq!(format_money(Decimal::MIN), "-¥79,228,162,514,264,337,593,543,950,335.00");
    }

    #[test]
    fn splits_into_installments_with_remainder_last() {
        let plan = installments(dec("1000"), 3, date(2026, 1, 31));
        let expected = vec![
            Installment { n: 1, due: date(2026, 1, 31), amount: dec("333.33") },
            Installment { n: 2, due: date(2026, 2, 28), amount: dec("333.33") },
            Installment { n: 3, due: date(2026, 3, 31), amount: dec("333.34") },
        ];
        assert_eq!(plan, expected);
    }

    #[test]
    fn installments_round_the_amount_first() {
        let plan = installments(dec("100.005"), 2, date(2026, 5, 1));
        let amounts: Vec<Decimal> = plan.iter().map(|i| i.amount).collect();
        assert_eq!(amounts, [dec("50.00"), dec("50.01")]);
        assert_eq!(plan[1].due, date(2026, 6, 1));
    }

    #[test]
    fn installment_edge_cases() {
        let first = date(2026, 1, 15);
        assert!(installments(dec("1000"), 0, first).is_empty());
        assert!(installments(Decimal::MAX, 3, first).is_empty());
        let single = installments(dec("12.345"), 1, first);
        assert_eq!(single, [Installment { n: 1, due: first, amount: dec("12.35") }]);
        let tiny: Vec<Decimal> = installments(dec("0.02"), 3, first).iter().map(|i| i.amount).collect();
        assert_eq!(tiny, [dec("0"), dec("0"), dec("0.02")]);
        let negative: Vec<Decimal> = installments(dec("-10"), 3, first).iter().map(|i| i.amount).collect();
        assert_eq!(negative, [dec("-3.33"), dec("-3.33"), dec("-3.34")]);
        let twelve = installments(dec("1200"), 12, date(2026, 8, 31));
        assert_eq!(twelve[11].due, date(2027, 7, 31));
        assert_eq!(twelve[5].due, date(2027, 1, 31));
        assert_eq!(twelve[6].due, date(2027, 2, 28));
    }

    #[test]
    fn installments_always_sum_to_the_rounded_amount() {
        let first = date(2026, 1, 31);
        // A spread of amounts with awkward cents, including half cents.
        let mut amounts: Vec<Decimal> = (0..400i64).map(|i| Decimal::new(i * i * 7919 + i * 13 + 1, 3)).collect();
        amounts.extend([dec("0.005"), dec("99999999.995"), dec("1"), dec("-77.77")]);
        for amount in amounts {
            let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            for months in 1..=37 {
                let plan = installments(amount, months, first);
                assert_eq!(plan.len(), months as usize);
                let sum: Decimal = plan.iter().map(|i| i.amount).sum();
                assert_eq!(sum, rounded, "{amount} over {months}");
                let regular = plan[0].amount;
                assert!(plan[..plan.len() - 1].iter().all(|i| i.amount == regular));
                let last = plan[plan.len() - 1].amount;
                assert!(last.abs() >= regular.abs());
                assert!((last - regular).abs() < Decimal::new(i64::from(months), 2));
                assert!(plan.iter().all(|i| i.amount.scale() <= 2));
                for (k, i) in plan.iter().enumerate() {
                    assert_eq!(i.n as usize, k + 1);
                    assert_eq!(i.due, add_months(first, k as i32));
                }
            }
        }
    }

    #[test]
    fn finds_the_shortest_affordable_term() {
        let amount = dec("1000");
        assert_eq!(shortest_affordable_term(amount, dec("1000"), 12), Some(1));
        assert_eq!(shortest_affordable_term(amount, dec("999.99"), 12), Some(2));
        assert_eq!(shortest_affordable_term(amount, dec("500"), 12), Some(2));
        // 333.33 + 333.33 + 333.34: a budget of 333.33 does not cover the last.
        assert_eq!(shortest_affordable_term(amount, dec("333.34"), 12), Some(3));
        assert_eq!(shortest_affordable_term(amount, dec("333.33"), 12), Some(4));
        // Twelve months: eleven of 83.33 and a last one of 83.37.
        assert_eq!(shortest_affordable_term(amount, dec("83.37"), 12), Some(12));
        assert_eq!(shortest_affordable_term(amount, dec("83.36"), 12), None);
        assert_eq!(shortest_affordable_term(amount, dec("1000"), 0), None);
        assert_eq!(shortest_affordable_term(amount, Decimal::ZERO, 12), None);
        assert_eq!(shortest_affordable_term(amount, dec("-5"), 12), None);
        assert_eq!(shortest_affordable_term(Decimal::ZERO, dec("0.01"), 12), Some(1));
        assert_eq!(shortest_affordable_term(Decimal::MAX, dec("1"), 3), None);
        assert_eq!(shortest_affordable_term(dec("-10"), dec("0.01"), 12), Some(1));
        // Quick even with a huge limit: past 500 months (one per cent of
        // ¥5) no installment gets smaller.
        assert_eq!(shortest_affordable_term(dec("5"), dec("0.009"), u32::MAX), None);
        assert_eq!(shortest_affordable_term(dec("5"), dec("0.01"), u32::MAX), Some(500));
        assert_eq!(shortest_affordable_term(dec("5"), dec("0.99"), u32::MAX), Some(6));
    }

    #[test]
    fn shortest_term_matches_a_brute_force_search() {
        let first = date(2026, 1, 1);
        for cents in [1i64, 7, 100, 9_999, 100_001, 350_050] {
            let amount = Decimal::new(cents, 2);
            for budget in [1i64, 50, 3_333, 10_000, 50_001] {
                let budget = Decimal::new(budget, 2);
                let expected = (1..=24u32).find(|&m| installments(amount, m, first).iter().all(|i| i.amount <= budget));
                assert_eq!(shortest_affordable_term(amount, budget, 24), expected, "{amount} with {budget}");
            }
        }
    }
}
