//! MiniJinja for dialogue texts and expressions: one environment per guide
//! file, every template and expression compiled once when the file is loaded,
//! and the built-in filters and functions authors may use.
//!
//! Error messages from the built-ins never quote the values they were given: they
//! end up in logs, and the values may be what a user typed.
//!
//! Every render and evaluation is bounded by MiniJinja's fuel ([`FUEL`]): a
//! template that loops too long stops with an error of kind `OutOfFuel`
//! ([`ran_out`]) instead of holding the user's step — and the bot — for ever.
//!
//! Expressions are stored as one-line templates `{% set result = (EXPR) %}` and
//! read back from the template's state: that keeps the value's type (a number
//! stays a number) while letting the environment own every compiled piece.

use std::collections::HashSet;

use jiff::civil::Date;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};
use rust_decimal::Decimal;

use crate::domain::dates::is_chinese;
use crate::domain::dates::{add_months, days_between, format_date};
use crate::domain::markup;
use crate::domain::money::{
    Currency, MoneyError, format_money_in, installments, parse_money_in, shortest_affordable_term,
};
use crate::domain::value::{Overflow, Var};

/// Names every template may use without a node defining them.
pub const BUILTIN_NAMES: &[&str] = &[
    "user",
    "today",
    "now",
    "installments",
    "add_months",
    "days_between",
    "shortest_term",
    "range",
    "loop",
    "item",
    "namespace",
    "dict",
    "debug",
];

/// Instructions one render or evaluation may run. The heaviest shipped template, the
/// Huabei case file of a user with 200 logged contacts and a 36-month plan, needs about
/// 14 000 (test `shipped_templates_stay_well_within_the_fuel`); a loop that runs out
/// stops within about 10 ms in a release build.
pub const FUEL: u64 = 400_000;

/// Whether `e` is a template stopped for running longer than [`FUEL`] allows.
pub fn ran_out(e: &Error) -> bool {
    e.kind() == ErrorKind::OutOfFuel
}

/// The error for a template that ran out, in words for the log and the author.
fn out_of_fuel(name: &str) -> Error {
    Error::new(
        ErrorKind::OutOfFuel,
        format!(
            "`{name}` ran more than {FUEL} steps and was stopped; look for a loop that runs too long (`guidebot check` warns about large ones)"
        ),
    )
}

/// The compiled templates and expressions of one guide file.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Templates {
    /// An environment whose `date` filter writes dates in `lang` and whose
    /// `money` filter writes yuan.
    pub fn new(lang: &str) -> Templates {
        Templates::with_currency(lang, Currency::default())
    }

    /// An environment whose `date` filter writes dates in `lang` and whose
    /// `money` filter writes amounts in `currency`.
    pub fn with_currency(lang: &str, currency: Currency) -> Templates {
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Values are escaped for the markup so that what a user typed is never
        // read as `**bold**` or a code block; literal template text is not.
        env.set_formatter(|out, _state, value| {
            if value.is_undefined() || value.is_none() {
                return Ok(());
            }
            match value.as_str() {
                Some(text) if !value.is_safe() && markup::needs_escape(text) => {
                    out.write_str(&markup::escape(text)).map_err(Error::from)
                }
                Some(text) => out.write_str(text).map_err(Error::from),
                None => write!(out, "{value}").map_err(Error::from),
            }
        });
        let too_large = if is_chinese(lang) { "（数额过大，无法计算）" } else { "(too large to work out)" };
        let lang = lang.to_owned();
        let c = currency.clone();
        env.add_filter("money", move |v: Value| money_filter(v, &c, too_large));
        env.add_filter("date", move |v: Value, fmt: Option<String>| date_filter(v, fmt, &lang));
        let c = currency.clone();
        env.add_function("installments", move |amount: Value, months: u32, first_due: String| {
            installments_fn(amount, months, first_due, &c)
        });
        env.add_function("add_months", |d: String, n: i32| -> Result<String, Error> {
            Ok(add_months(parse_iso(&d)?, n).to_string())
        });
        env.add_function("days_between", |a: String, b: String| -> Result<i64, Error> {
            Ok(days_between(parse_iso(&a)?, parse_iso(&b)?))
        });
        env.add_function("shortest_term", move |amount: Value, budget: Value, max: Option<u32>| {
            shortest_term_fn(amount, budget, max, &currency)
        });
        Templates { env }
    }

    /// Compiles a text template under `name`.
    pub fn add_text(&mut self, name: &str, source: &str) -> Result<(), Error> {
        self.env.add_template_owned(name.to_owned(), source.to_owned())
    }

    /// Compiles an expression under `name`.
    pub fn add_expr(&mut self, name: &str, expr: &str) -> Result<(), Error> {
        // Compile it alone first: its errors then speak of the expression the
        // author wrote, not of the wrapper.
        self.env.compile_expression(expr)?;
        self.env.add_template_owned(name.to_owned(), format!("{{% set result = ({expr}) %}}"))
    }

    /// Renders the text template `name`.
    pub fn render(&self, name: &str, ctx: &Value) -> Result<String, Error> {
        self.env.get_template(name)?.render(ctx).map_err(|e| if ran_out(&e) { out_of_fuel(name) } else { e })
    }

    /// Evaluates the expression `name`.
    pub fn eval(&self, name: &str, ctx: &Value) -> Result<Value, Error> {
        let tmpl = self.env.get_template(name)?;
        let captured = tmpl.render_captured(ctx).map_err(|e| if ran_out(&e) { out_of_fuel(name) } else { e })?;
        Ok(captured.state().lookup("result").unwrap_or(Value::UNDEFINED))
    }

    /// The fuel a render of `name` uses (for measuring templates in tests and benchmarks).
    pub fn fuel_used(&self, name: &str, ctx: &Value) -> Result<u64, Error> {
        let captured = self.env.get_template(name)?.render_captured(ctx)?;
        Ok(captured.state().fuel_levels().map_or(0, |(used, _)| used))
    }

    /// Whether `name` was compiled.
    pub fn has(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }

    /// Top-level names `name` reads that it does not define itself.
    pub fn undeclared(&self, name: &str) -> HashSet<String> {
        self.env.get_template(name).map(|t| t.undeclared_variables(false)).unwrap_or_default()
    }
}

fn parse_iso(s: &str) -> Result<Date, Error> {
    s.trim().parse::<Date>().map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            "a value that is not a date like 2026-12-15 was given where a date is needed".to_owned(),
        )
    })
}

/// A number, or a money text, as an exact decimal.
fn decimal_of(v: &Value, currency: &Currency) -> Result<Decimal, Error> {
    if let Some(s) = v.as_str() {
        return parse_money_in(s, currency).map_err(|e| {
            let what = match e {
                MoneyError::TooLarge => "an amount too large to work with",
                MoneyError::NotAnAmount | MoneyError::OtherCurrency(_) => "a text that is not an amount",
            };
            Error::new(ErrorKind::InvalidOperation, format!("{what} was given where an amount is needed"))
        });
    }
    match Var::try_from_value(v) {
        Err(Overflow) => Err(Error::new(ErrorKind::InvalidOperation, "a number too large to work with".to_owned())),
        Ok(var) => var
            .as_decimal()
            .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("expected an amount, got {}", v.kind()))),
    }
}

/// `{{ x | money }}`: the amount in the guide's currency. A number too large to
/// keep exactly shows as `too_large` rather than emptying the whole text.
fn money_filter(v: Value, currency: &Currency, too_large: &str) -> Result<String, Error> {
    if v.is_undefined() || v.is_none() {
        return Ok(String::new());
    }
    if v.kind() == minijinja::value::ValueKind::Number && Var::try_from_value(&v) == Err(Overflow) {
        return Ok(too_large.to_owned());
    }
    Ok(format_money_in(decimal_of(&v, currency)?, currency))
}

fn date_filter(v: Value, fmt: Option<String>, lang: &str) -> Result<String, Error> {
    if v.is_undefined() || v.is_none() {
        return Ok(String::new());
    }
    let d = match v.as_str() {
        Some(s) => parse_iso(s)?,
        None => parse_iso(&v.to_string())?,
    };
    Ok(match fmt {
        Some(f) => d.strftime(&f).to_string(),
        None => format_date(d, lang),
    })
}

fn installments_fn(amount: Value, months: u32, first_due: String, currency: &Currency) -> Result<Value, Error> {
    let plan = installments(decimal_of(&amount, currency)?, months, parse_iso(&first_due)?);
    let rows: Vec<Var> = plan
        .iter()
        .map(|i| {
            let mut row = std::collections::BTreeMap::new();
            row.insert("n".to_owned(), Var::Int(i64::from(i.n)));
            row.insert("due".to_owned(), Var::Str(i.due.to_string()));
            row.insert("amount".to_owned(), Var::number(i.amount));
            Var::Map(std::sync::Arc::new(row))
        })
        .collect();
    Ok(Var::List(std::sync::Arc::new(rows)).to_value())
}

fn shortest_term_fn(amount: Value, budget: Value, max: Option<u32>, currency: &Currency) -> Result<Value, Error> {
    let term =
        shortest_affordable_term(decimal_of(&amount, currency)?, decimal_of(&budget, currency)?, max.unwrap_or(36));
    Ok(term.map(Value::from).unwrap_or(Value::from(())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, Value)]) -> Value {
        Value::from_iter(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    #[test]
    fn expressions_keep_their_type() {
        let mut t = Templates::new("en");
        t.add_expr("e", "debt > 10000").unwrap();
        t.add_expr("left", "income - expenses").unwrap();
        let c =
            ctx(&[("debt", Value::from(12000)), ("income", Value::from(8000.1)), ("expenses", Value::from(3000.2))]);
        assert!(t.eval("e", &c).unwrap().is_true());
        assert_eq!(Var::from_value(&t.eval("left", &c).unwrap()).display(), "4999.9");
    }

    #[test]
    fn user_values_are_escaped_but_template_markup_is_not() {
        let mut t = Templates::new("en");
        t.add_text("s", "**Note:** {{ note }}").unwrap();
        let out = t.render("s", &ctx(&[("note", Value::from("a *star* and `tick`"))])).unwrap();
        assert_eq!(out, "**Note:** a \\*star\\* and \\`tick\\`");
    }

    #[test]
    fn builtins_work_in_templates() {
        let mut t = Templates::new("zh");
        t.add_text(
            "p",
            "{% for i in installments(1000, 3, '2026-01-31') %}{{ i.due | date }} {{ i.amount | money }}\n{% endfor %}",
        )
        .unwrap();
        let out = t.render("p", &ctx(&[])).unwrap();
        assert_eq!(out, "2026年1月31日 ¥333.33\n2026年2月28日 ¥333.33\n2026年3月31日 ¥333.34\n");
        t.add_expr("m", "add_months('2026-01-31', 1)").unwrap();
        assert_eq!(t.eval("m", &ctx(&[])).unwrap().as_str(), Some("2026-02-28"));
    }

    #[test]
    fn money_is_written_in_the_guide_currency() {
        let mut t = Templates::with_currency("en", Currency::of("GBP"));
        t.add_text(
            "m",
            "{{ 12.99 | money }} {{ '£3' | money }} {{ installments(10, 3, '2026-01-31')[2].amount | money }}",
        )
        .unwrap();
        assert_eq!(t.render("m", &ctx(&[])).unwrap(), "£12.99 £3.00 £3.34");
        let mut yuan = Templates::new("zh");
        yuan.add_text("m", "{{ 3500.5 | money }}").unwrap();
        assert_eq!(yuan.render("m", &ctx(&[])).unwrap(), "¥3,500.50");
    }

    #[test]
    fn an_amount_too_large_to_work_out_says_so_instead_of_emptying_the_text() {
        for (lang, marker) in [("en", "(too large to work out)"), ("zh", "（数额过大，无法计算）")] {
            let mut t = Templates::new(lang);
            t.add_text("m", "Left: {{ (income * 1e300 * 1e300) | money }}. Debt: {{ debt | money }}.").unwrap();
            let out = t.render("m", &ctx(&[("income", Value::from(5000.5)), ("debt", Value::from(100))])).unwrap();
            assert_eq!(out, format!("Left: {marker}. Debt: ¥100.00."));
        }
        let mut t = Templates::new("en");
        t.add_expr("p", "installments(1e300, 3, '2026-01-31')").unwrap();
        let e = t.eval("p", &ctx(&[])).unwrap_err();
        assert!(e.to_string().contains("a number too large to work with"), "{e}");
    }

    #[test]
    fn compile_errors_are_reported() {
        let mut t = Templates::new("en");
        assert!(t.add_expr("bad", "debt >").is_err());
        assert!(t.add_text("bad2", "{% if x %}no end").is_err());
    }

    #[test]
    fn undeclared_lists_what_a_template_reads() {
        let mut t = Templates::new("en");
        t.add_text("s", "{{ debt | money }} {% for c in contacts %}{{ c.when }}{% endfor %}").unwrap();
        let names = t.undeclared("s");
        assert!(names.contains("debt") && names.contains("contacts"));
        assert!(!names.contains("c"));
    }

    /// A user far into the Huabei guide, with much more than usual: 200 logged contacts,
    /// a 36-month plan and agreement, half of it paid.
    fn heavy_user() -> Value {
        let plan: Vec<serde_json::Value> = (1..=36)
            .map(|n| serde_json::json!({ "n": n, "due": format!("2026-{:02}-15", (n - 1) % 12 + 1), "amount": 833.33 }))
            .collect();
        let contacts: Vec<serde_json::Value> = (0..200)
            .map(|i| {
                let channel = ["online", "phone", "other"][i % 3];
                serde_json::json!({
                    "when": "2026-01-15", "channel": channel, "agent": "Agent 1024",
                    "said": "They listened and asked for the documents.", "result": "They will call back.",
                    "promises": "A callback within three working days.", "written": "yes", "followup": "2026-02-01"
                })
            })
            .collect();
        let paid: Vec<String> = (1..=18).map(|n: i32| n.to_string()).collect();
        Value::from_serialize(serde_json::json!({
            "user": { "first_name": "Mei" }, "today": "2026-01-15", "now": "2026-01-15 09:30",
            "debt": 30000, "due": "2025-12-01", "overdue_days": 45, "reason": "other",
            "reason_other": "A family emergency took all my savings.", "evidence": ["payslips", "bank"],
            "income": 8000, "expenses": 6000, "left": 2000, "keep": 200, "margin_suggested": 200, "budget": 1800, "min_pay": 500,
            "other_finances": "none", "personal": "none", "channel": "phone", "months": 36, "short": 18,
            "first_due": "2026-02-15", "pay_method": "Alipay", "plan": plan.clone(), "largest": 833.33,
            "contacts": contacts, "contact_count": 200, "agreed_plan": plan, "agreed_amount": 30000,
            "agreed_months": 36, "agreed_first": "2026-02-15", "agreed_method": "Alipay", "paid": paid,
            "item": { "n": 1, "due": "2026-02-15", "amount": 833.33 }
        }))
    }

    #[test]
    fn shipped_templates_stay_well_within_the_fuel() {
        use crate::domain::dialogue::format::template_sources;
        use crate::domain::dialogue::load::load_guide;
        let files = [
            ("huabei-overdue.en.yaml", include_str!("../../../dialogues/huabei-overdue.en.yaml")),
            ("huabei-overdue.zh.yaml", include_str!("../../../dialogues/huabei-overdue.zh.yaml")),
        ];
        let ctx = heavy_user();
        let mut heaviest = (0, String::new());
        for (file, text) in files {
            let g = load_guide(std::path::Path::new(file), text).expect("the shipped guide loads");
            for (name, _, _) in template_sources(&g.file) {
                let used = g.templates.fuel_used(&name, &ctx).unwrap_or_else(|e| panic!("{file}: {name}: {e}"));
                if used > heaviest.0 {
                    heaviest = (used, format!("{file}: {name}"));
                }
            }
        }
        assert!(heaviest.0 > 1000, "the case file of this user is not trivial: {heaviest:?}");
        assert!(heaviest.0 * 8 < FUEL, "{heaviest:?} uses more than 1/8 of the fuel ({FUEL})");
    }

    #[test]
    fn a_runaway_loop_stops_quickly_with_an_error_that_says_so() {
        let mut t = Templates::new("en");
        t.add_text("loop", "{% for i in range(100000) %}{% for j in range(100000) %}.{% endfor %}{% endfor %}")
            .unwrap();
        let started = std::time::Instant::now();
        let e = t.render("loop", &ctx(&[])).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
        assert!(ran_out(&e));
        assert!(e.to_string().contains("`loop` ran more than 400000 steps and was stopped"), "{e}");
        t.add_expr("sum", "range(100000) | map('string') | map('int') | sum").unwrap();
        // Filters over a list are a handful of steps: bounded by range's own limit of 100000 items.
        assert!(t.eval("sum", &ctx(&[])).is_ok());
    }
}
