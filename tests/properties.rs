//! Properties of the date and money parsers, on generated input: they never
//! panic, what they accept respects the question's bounds, and whatever the
//! bot prints reads back as the same value.

use guidebot::domain::dates::{
    Bounds, DateError, add_days, example_date, format_date, format_short, parse_date, parse_date_within, typed_form,
};
use guidebot::domain::money::{AMOUNT_LIMIT, Currency, format_money_in, parse_money, parse_money_in, parse_number};
use guidebot::domain::value::Var;
use jiff::civil::Date;
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Any date the parser accepts: years written with four digits.
fn date() -> impl Strategy<Value = Date> {
    (1000i16..=9999, 1i8..=12, 1i8..=31).prop_filter_map("a day of that month", |(y, m, d)| Date::new(y, m, d).ok())
}

/// A day near today, where users' answers are.
fn near(today: Date) -> impl Strategy<Value = Date> {
    (-800i64..=800).prop_map(move |n| add_days(today, n))
}

fn bounds(today: Date) -> impl Strategy<Value = Bounds> {
    let bound = prop_oneof![Just(None), Just(Some(today)), (-400i64..=400).prop_map(move |n| Some(add_days(today, n)))];
    (bound.clone(), bound).prop_map(|(min, max)| Bounds { min, max })
}

/// Text made of the pieces dates and amounts are written with, so that the
/// parsers' deeper paths are reached more often than by random text alone.
fn datelike() -> impl Strategy<Value = String> {
    "[0-9０-９年月日号/.\\-, ]{0,16}|[0-9]{1,4}[ ]?(Jan|feb|March|Sept|dec|of|st|nd|th)[ ,.]?[0-9]{0,5}"
}

fn moneylike() -> impl Strategy<Value = String> {
    "[¥￥£$元块万RMBGPUSD]{0,3}[ ]?[0-9,.０-９]{0,20}[ ]?(元|万|万元|GBP|usd|块)?"
}

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::default()),
        Just(Currency::of("GBP")),
        Just(Currency::of("CHF")),
        Just(Currency::of("USD"))
    ]
}

fn today() -> impl Strategy<Value = Date> {
    // Three years away from the ends of the four-digit years the parser reads, so that
    // dates near today (`near`: up to 800 days off) stay readable.
    (1003i16..=9996, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).expect("a day every month has"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn date_parsing_never_panics_and_respects_bounds(
        input in prop_oneof![any::<String>(), datelike()],
        (today, bounds) in today().prop_flat_map(|t| (Just(t), bounds(t))),
    ) {
        match parse_date_within(&input, today, bounds) {
            Ok(d) => prop_assert!(bounds.contains(d), "{d} outside {bounds:?}"),
            Err(DateError::OutOfRange(d)) => prop_assert!(!bounds.contains(d), "{d} is inside {bounds:?}"),
            Err(DateError::NotADate) => {}
        }
        let _ = parse_date(&input, Date::MAX);
        let _ = parse_date(&input, Date::MIN);
    }

    #[test]
    fn printed_dates_read_back(d in date(), today in today()) {
        for lang in ["zh", "en"] {
            prop_assert_eq!(parse_date(&format_date(d, lang), today), Some(d));
        }
        prop_assert_eq!(parse_date(&d.to_string(), today), Some(d));
    }

    #[test]
    fn short_forms_read_back_as_the_date_they_stand_for(
        (today, d, bounds) in today().prop_flat_map(|t| (Just(t), near(t), bounds(t))),
    ) {
        for lang in ["zh", "en"] {
            let typed = typed_form(d, today, bounds, lang);
            let want = if bounds.contains(d) { Ok(d) } else { Err(DateError::OutOfRange(d)) };
            prop_assert_eq!(parse_date_within(&typed, today, bounds), want, "{}", typed);
            // Without a year, a date lands within a year of today when nothing stops it.
            if let Ok(read) = parse_date_within(&format_short(d, lang), today, Bounds::default()) {
                prop_assert!((read - today).get_days().abs() <= 366 || read.month() == 2 && read.day() == 29);
            }
        }
    }

    #[test]
    fn examples_are_accepted_by_their_question((today, bounds) in today().prop_flat_map(|t| (Just(t), bounds(t)))) {
        prop_assume!(bounds.min.zip(bounds.max).is_none_or(|(a, b)| a <= b));
        let example = example_date(today, bounds);
        prop_assert!(bounds.contains(example));
        for lang in ["zh", "en"] {
            prop_assert_eq!(parse_date_within(&typed_form(example, today, bounds, lang), today, bounds), Ok(example));
        }
    }

    #[test]
    fn money_parsing_never_panics_and_stays_within_the_limit(
        input in prop_oneof![any::<String>(), moneylike()],
        currency in currency(),
    ) {
        if let Ok(d) = parse_money_in(&input, &currency) {
            prop_assert!(d >= Decimal::ZERO && d <= AMOUNT_LIMIT, "{d}");
            prop_assert!(d.scale() <= 2, "{d}");
        }
        if let Some(d) = parse_money(&input) {
            prop_assert!(d >= Decimal::ZERO && d.scale() <= 2, "{d}");
        }
        let _ = parse_number(&input);
    }

    #[test]
    fn printed_amounts_read_back(cents in 0i64..=100_000_000_000_000, currency in currency()) {
        let amount = Decimal::new(cents, 2);
        prop_assert_eq!(parse_money_in(&format_money_in(amount, &currency), &currency), Ok(amount));
        // As stored and shown in reviews and scenarios.
        prop_assert_eq!(parse_money_in(&Var::number(amount).display(), &currency), Ok(amount));
    }

    #[test]
    fn amounts_keep_their_cents_through_expressions(cents in -100_000_000_000_000i64..=100_000_000_000_000) {
        let amount = Decimal::new(cents, 2);
        prop_assert_eq!(Var::from_value(&Var::number(amount).to_value()).as_decimal(), Some(amount));
    }
}
