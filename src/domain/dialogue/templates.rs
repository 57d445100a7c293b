//! MiniJinja for dialogue texts and expressions: one environment per guide
//! file, every template and expression compiled once when the file is loaded,
//! and the built-in filters and functions authors may use.
//!
//! Error messages from the built-ins never quote the values they were given: they
//! end up in logs, and the values may be what a user typed.
//!
//! Expressions are stored as one-line templates `{% set result = (EXPR) %}` and
//! read back from the template's state: that keeps the value's type (a number
//! stays a number) while letting the environment own every compiled piece.

use std::collections::HashSet;

use jiff::civil::Date;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};
use rust_decimal::Decimal;

use crate::domain::dates::{add_months, days_between, format_date};
use crate::domain::markup;
use crate::domain::money::{format_money, installments, parse_money, shortest_affordable_term};
use crate::domain::value::Var;

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
    /// An environment whose `date` filter writes dates in `lang`.
    pub fn new(lang: &str) -> Templates {
        let mut env = Environment::new();
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
        let lang = lang.to_owned();
        env.add_filter("money", money_filter);
        env.add_filter("date", move |v: Value, fmt: Option<String>| date_filter(v, fmt, &lang));
        env.add_function("installments", installments_fn);
        env.add_function("add_months", |d: String, n: i32| -> Result<String, Error> {
            Ok(add_months(parse_iso(&d)?, n).to_string())
        });
        env.add_function("days_between", |a: String, b: String| -> Result<i64, Error> {
            Ok(days_between(parse_iso(&a)?, parse_iso(&b)?))
        });
        env.add_function("shortest_term", shortest_term_fn);
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
        self.env.get_template(name)?.render(ctx)
    }

    /// Evaluates the expression `name`.
    pub fn eval(&self, name: &str, ctx: &Value) -> Result<Value, Error> {
        let tmpl = self.env.get_template(name)?;
        let captured = tmpl.render_captured(ctx)?;
        Ok(captured.state().lookup("result").unwrap_or(Value::UNDEFINED))
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
fn decimal_of(v: &Value) -> Result<Decimal, Error> {
    if let Some(s) = v.as_str() {
        return parse_money(s).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                "a text that is not an amount was given where an amount is needed".to_owned(),
            )
        });
    }
    Var::from_value(v)
        .as_decimal()
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("expected an amount, got {}", v.kind())))
}

fn money_filter(v: Value) -> Result<String, Error> {
    if v.is_undefined() || v.is_none() {
        return Ok(String::new());
    }
    Ok(format_money(decimal_of(&v)?))
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

fn installments_fn(amount: Value, months: u32, first_due: String) -> Result<Value, Error> {
    let plan = installments(decimal_of(&amount)?, months, parse_iso(&first_due)?);
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

fn shortest_term_fn(amount: Value, budget: Value, max: Option<u32>) -> Result<Value, Error> {
    let term = shortest_affordable_term(decimal_of(&amount)?, decimal_of(&budget)?, max.unwrap_or(36));
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
}
