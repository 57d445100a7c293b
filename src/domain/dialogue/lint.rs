//! Warnings: things `check` can see that are allowed but almost surely not
//! meant — loops large enough to be cut off at run time (every render is
//! bounded by `templates::FUEL`), and reminders whose day is already past when
//! they are scheduled. A guide with warnings still loads; `check` prints them
//! and exits 0.

use jiff::civil::Date;

use super::diagnostic::Kind;
use super::format::template_sources;
use super::spans::Pos;
use super::{Diagnostic, Guide};

/// A loop over `range(N)` with `N` above this, nested in or around another loop, is reported.
pub const NESTED_RANGE: i64 = 100;
/// A `range(N)` with `N` above this is reported wherever it is.
pub const HUGE_RANGE: i64 = 10_000;

/// Every warning for `guides`, `today` being the day `check` runs (for literal dates).
pub fn warnings(guides: &[Guide], today: Date) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for g in guides {
        loops(g, &mut out);
        past_reminders(g, today, &mut out);
    }
    out
}

fn push(out: &mut Vec<Diagnostic>, g: &Guide, pos: Pos, kind: Kind, message: String) {
    out.push(Diagnostic { file: g.path.clone(), line: pos.line, col: pos.col, kind, message });
}

/// A `range(…)` call in a template, with its literal size when every argument is a number.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Range {
    /// Byte offset in the source.
    at: usize,
    /// As written: `range(100000)`.
    text: String,
    size: Option<i64>,
}

/// Every `range(…)` call in `src`.
fn ranges(src: &str) -> Vec<Range> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = src[from..].find("range(").map(|i| i + from) {
        from = i + "range(".len();
        let word_before = src[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        if word_before {
            continue;
        }
        let Some(close) = src[from..].find(')').map(|j| j + from) else { break };
        let args: Vec<Option<i64>> = src[from..close].split(',').map(|a| a.trim().parse().ok()).collect();
        let size = match args.as_slice() {
            [Some(n)] => Some((*n).max(0)),
            [Some(a), Some(b)] => Some((b - a).max(0)),
            [Some(a), Some(b), Some(step)] if *step != 0 => Some(((b - a) / step).max(0)),
            _ => None,
        };
        out.push(Range { at: i, text: src[i..=close].to_owned(), size });
    }
    out
}

/// A `{% for %}` loop: where its tag is, what it iterates over, how deep it is nested.
#[derive(Debug)]
struct Loop {
    at: usize,
    end: usize,
    depth: usize,
    range: Option<Range>,
}

/// Every `{% for … in … %}` of `src` with its nesting depth (0 = outermost).
fn for_loops(src: &str) -> Vec<Loop> {
    let mut loops = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut from = 0;
    while let Some(i) = src[from..].find("{%").map(|i| i + from) {
        let Some(close) = src[i..].find("%}").map(|j| j + i) else { break };
        from = close + 2;
        let tag = src[i + 2..close].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        let word = tag.split_whitespace().next().unwrap_or("");
        if word == "for" {
            let iterable = tag.split_once(" in ").map_or("", |(_, it)| it);
            let offset = i + 2 + src[i + 2..close].find(iterable).unwrap_or(0);
            let range = ranges(iterable).into_iter().next().map(|r| Range { at: offset + r.at, ..r });
            open.push(loops.len());
            loops.push(Loop { at: i, end: src.len(), depth: open.len() - 1, range });
        } else if word == "endfor"
            && let Some(k) = open.pop()
        {
            loops[k].end = close;
        }
    }
    loops
}

/// The position of byte `at` of template `name`: the template's own place, moved down
/// by the lines before `at` when it is a block of text (`|`).
fn place(g: &Guide, name: &str, src: &str, at: usize) -> Pos {
    let pos = g.spans.value(name);
    if !pos.block {
        return pos;
    }
    Pos { line: pos.line + src[..at].matches('\n').count(), ..pos }
}

fn loops(g: &Guide, out: &mut Vec<Diagnostic>) {
    for (name, src, _) in template_sources(&g.file) {
        if !src.contains("range(") {
            continue;
        }
        let found = for_loops(&src);
        let mut reported = Vec::new();
        for l in &found {
            let Some(r) = &l.range else { continue };
            let Some(n) = r.size.filter(|n| *n > NESTED_RANGE) else { continue };
            let inner = found.iter().any(|o| o.at > l.at && o.at < l.end);
            if l.depth == 0 && !inner {
                continue;
            }
            let how = if l.depth > 0 { "inside another loop" } else { "around another loop" };
            reported.push(r.at);
            push(
                out,
                g,
                place(g, &name, &src, r.at),
                Kind::LargeLoop,
                format!(
                    "a loop over `{}` ({n} items) {how} in `{name}`: nested loops multiply, and a text that runs too long is cut off at run time with an apology to the user; loop over fewer items (at most {NESTED_RANGE} when nested)",
                    r.text
                ),
            );
        }
        for r in ranges(&src) {
            let Some(n) = r.size.filter(|n| *n > HUGE_RANGE) else { continue };
            if reported.contains(&r.at) {
                continue;
            }
            push(
                out,
                g,
                place(g, &name, &src, r.at),
                Kind::LargeLoop,
                format!(
                    "`{}` in `{name}` makes {n} items; a text that runs too long is cut off at run time with an apology to the user; use at most {HUGE_RANGE}",
                    r.text
                ),
            );
        }
    }
}

/// A quoted date literal: `"2026-12-15"` or `'2026-12-15'`.
fn literal_date(expr: &str) -> Option<Date> {
    let inner = expr.strip_prefix('"').and_then(|e| e.strip_suffix('"'));
    let inner = inner.or_else(|| expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')))?;
    inner.parse().ok()
}

/// Whether every way the guide fills `path` is a date question that accepts no day after today.
fn never_after_today(g: &Guide, path: &str) -> bool {
    let root = path.split('.').next().unwrap_or(path);
    let mut asks = 0;
    for n in g.file.nodes.values() {
        let sets_it = |k: &String| k == path || k == root;
        if n.set.keys().chain(n.compute.keys()).any(sets_it)
            || n.choices.iter().flatten().any(|c| c.set.keys().chain(c.compute.keys()).any(sets_it))
            || n.append.as_ref().is_some_and(|a| a.to == root)
            || n.checklist.as_ref().is_some_and(|c| c.save == path || c.save == root)
        {
            return false;
        }
        let Some(a) = &n.ask else { continue };
        if a.save != path && a.save != root {
            continue;
        }
        let capped = a.kind == super::format::AskType::Date
            && a.save == path
            && matches!(&a.max, Some(serde_yaml::Value::String(m)) if m == "today");
        if !capped {
            return false;
        }
        asks += 1;
    }
    asks > 0
}

fn past_reminders(g: &Guide, today: Date, out: &mut Vec<Diagnostic>) {
    let default_days = g.file.reminders.as_ref().and_then(|r| r.days_before).unwrap_or(1);
    for (id, n) in &g.file.nodes {
        for (i, r) in n.remind.iter().enumerate() {
            let path = format!("nodes.{id}.remind.{i}.date");
            let expr = r.date.trim();
            let days = r.days_before.unwrap_or(default_days);
            let pos = g.spans.value(&path);
            let late = "it is sent at once when scheduled (a reminder whose day has passed goes out at the next check)";
            if expr == "today" && days > 0 {
                let s = if days == 1 { "" } else { "s" };
                push(
                    out,
                    g,
                    pos,
                    Kind::PastReminder,
                    format!(
                        "reminder `{}` is about `today` and due {days} day{s} before it, a day already past when it is scheduled: {late}; use a later date or `days_before: 0`",
                        r.id
                    ),
                );
            } else if let Some(d) = literal_date(expr) {
                let send = d.checked_sub(jiff::Span::new().days(i64::from(days))).unwrap_or(d);
                if send < today {
                    push(
                        out,
                        g,
                        pos,
                        Kind::PastReminder,
                        format!(
                            "reminder `{}` is due on {send}, which is already past: {late}; use a later date",
                            r.id
                        ),
                    );
                }
            } else if valid_path(expr) && never_after_today(g, expr) {
                push(
                    out,
                    g,
                    pos,
                    Kind::PastReminder,
                    format!(
                        "reminder `{}` is about `{expr}`, which is asked with `max: today`, so its day is always past or today when it is scheduled: {late}; remind about a later date",
                        r.id
                    ),
                );
            }
        }
    }
}

fn valid_path(p: &str) -> bool {
    !p.is_empty()
        && p.split('.').all(|s| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !s.as_bytes()[0].is_ascii_digit()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dialogue::load::load_guide;
    use std::path::Path;

    const HEAD: &str = "guide: g\nlang: en\ntitle: T\nstart: a\nnodes:\n";

    fn warn(nodes: &str) -> Vec<(usize, String)> {
        let g = load_guide(Path::new("g.en.yaml"), &format!("{HEAD}{nodes}")).expect("loads");
        warnings(std::slice::from_ref(&g), jiff::civil::date(2026, 1, 15))
            .into_iter()
            .map(|d| (d.line, d.message))
            .collect()
    }

    #[test]
    fn finds_range_calls_and_their_sizes() {
        let r = ranges("{{ range(3) }} {{ range(1, 11) }} {{ range(0, 100, 10) }} {{ range(n) }} {{ arrange(5) }}");
        let sizes: Vec<Option<i64>> = r.iter().map(|r| r.size).collect();
        assert_eq!(sizes, [Some(3), Some(10), Some(10), None]);
        assert_eq!(r[1].text, "range(1, 11)");
    }

    #[test]
    fn nested_large_ranges_are_reported_at_their_line() {
        let w = warn(
            "  a:\n    say: |\n      Counting\n      {% for i in range(100000) %}\n      {%- for j in range(100000) %}.{% endfor %}\n      {%- endfor %}\n    end: true\n",
        );
        assert_eq!(w.len(), 2, "{w:#?}");
        assert_eq!(w[0].0, 9);
        assert_eq!(
            w[0].1,
            "a loop over `range(100000)` (100000 items) around another loop in `nodes.a.say`: nested loops multiply, and a text that runs too long is cut off at run time with an apology to the user; loop over fewer items (at most 100 when nested)"
        );
        assert_eq!(w[1].0, 10);
        assert!(w[1].1.starts_with("a loop over `range(100000)` (100000 items) inside another loop"), "{}", w[1].1);
    }

    #[test]
    fn small_or_single_loops_are_fine_but_a_huge_range_is_not() {
        let ok = "  a:\n    say: '{% for p in plan %}{% for i in range(3) %}.{% endfor %}{% endfor %}{% for i in range(500) %}{% endfor %}'\n    end: true\n";
        assert_eq!(warn(ok), vec![]);
        let w = warn("  a:\n    say: hi\n    compute:\n      total: range(1000000) | sum\n    end: true\n");
        assert_eq!(
            w,
            [(9, "`range(1000000)` in `nodes.a.compute.total` makes 1000000 items; a text that runs too long is cut off at run time with an apology to the user; use at most 10000".to_owned())]
        );
    }

    #[test]
    fn reminders_whose_day_is_already_past() {
        let node = |date: &str, extra: &str| {
            format!(
                "  a:\n    say: When?\n    ask: {{ save: paid_on, type: date, max: today }}\n    goto: b\n  b:\n    say: ok\n    remind:\n      - id: r\n        date: {date}\n        say: pay{extra}\n    end: true\n"
            )
        };
        let w = warn(&node("today", ""));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].0, 14);
        assert!(w[0].1.starts_with("reminder `r` is about `today` and due 1 day before it, a day already past when it is scheduled: it is sent at once"), "{}", w[0].1);
        assert_eq!(warn(&node("today", "\n        days_before: 0")), vec![]);
        let w = warn(&node("'\"2025-06-01\"'", ""));
        assert_eq!(
            w[0].1,
            "reminder `r` is due on 2025-05-31, which is already past: it is sent at once when scheduled (a reminder whose day has passed goes out at the next check); use a later date"
        );
        assert_eq!(warn(&node("'\"2027-06-01\"'", "")), vec![]);
        let w = warn(&node("paid_on", ""));
        assert!(w[0].1.starts_with("reminder `r` is about `paid_on`, which is asked with `max: today`"), "{}", w[0].1);
        assert_eq!(warn(&node("add_months(today, 1)", "")), vec![]);
    }
}
