//! Diagnostics as text for people: one `file:line:col: message` line each,
//! warnings marked, and a count that says what to do next. Shared by every
//! front end that reports a dialogue problem (`guidebot check`, `chat --watch`,
//! the bot's admins after a reload).

use super::Diagnostic;

/// Diagnostics, one per line, and a count.
pub fn report(diags: &[Diagnostic]) -> String {
    report_with_warnings(diags, &[])
}

/// Problems and warnings, one per line in file order (warnings marked), and what to do.
pub fn report_with_warnings(problems: &[Diagnostic], warnings: &[Diagnostic]) -> String {
    let mut lines: Vec<(&Diagnostic, bool)> =
        problems.iter().map(|d| (d, false)).chain(warnings.iter().map(|d| (d, true))).collect();
    lines.sort_by(|a, b| (&a.0.file, a.0.line, a.0.col).cmp(&(&b.0.file, b.0.line, b.0.col)));
    let mut s: String = lines
        .iter()
        .map(|(d, warn)| {
            if *warn {
                format!("{}:{}:{}: warning: {}\n", d.file.display(), d.line, d.col, d.message)
            } else {
                format!("{d}\n")
            }
        })
        .collect();
    s.push_str(&summary(problems.len(), warnings.len()));
    s
}

/// "1 problem found; fix it and run `guidebot check` again", with warnings counted too.
pub fn summary(problems: usize, warnings: usize) -> String {
    let count = |n: usize, what: &str| if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") };
    match (problems, warnings) {
        (0, 0) => "no problems".into(),
        (0, w) => {
            format!("{} found; look at {} before you go on", count(w, "warning"), if w == 1 { "it" } else { "them" })
        }
        (p, 0) => {
            format!(
                "{} found; fix {} and run `guidebot check` again",
                count(p, "problem"),
                if p == 1 { "it" } else { "them" }
            )
        }
        (p, w) => format!(
            "{} and {} found; fix the problem{} and run `guidebot check` again",
            count(p, "problem"),
            count(w, "warning"),
            if p == 1 { "" } else { "s" }
        ),
    }
}
