//! Statistics for dialogue authors: who uses which guide, how far they get,
//! and where they stop. Pure: the caller hands over every user's state.

use std::collections::BTreeMap;

use crate::domain::dialogue::Library;
use crate::domain::engine::UserState;

/// Counts over all users.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub users: usize,
    /// (guide, lang) → users.
    pub by_guide: BTreeMap<(String, String), usize>,
    /// (guide, stage id) → users who reached it.
    pub reached: BTreeMap<(String, String), usize>,
    /// guide → users at an end node.
    pub finished: BTreeMap<String, usize>,
    /// (guide, node) → users who are not finished and wait there.
    pub stopped: BTreeMap<(String, String), usize>,
}

/// Counts `states`.
pub fn stats<'a>(states: impl IntoIterator<Item = &'a UserState>) -> Stats {
    let mut s = Stats::default();
    for st in states {
        s.users += 1;
        let Some(guide) = st.guide.clone() else { continue };
        let lang = st.lang.clone().unwrap_or_default();
        *s.by_guide.entry((guide.clone(), lang)).or_default() += 1;
        for stage in &st.reached {
            *s.reached.entry((guide.clone(), stage.clone())).or_default() += 1;
        }
        if st.finished {
            *s.finished.entry(guide.clone()).or_default() += 1;
        } else if let Some(node) = &st.node {
            *s.stopped.entry((guide, node.clone())).or_default() += 1;
        }
    }
    s
}

impl Stats {
    /// A plain-text report; stage titles come from `lib` (in its default language).
    pub fn render(&self, lib: &Library) -> String {
        let mut out = format!("Users: {}\n", self.users);
        for ((guide, lang), n) in &self.by_guide {
            out.push_str(&format!("\n{guide} ({lang}): {n}"));
        }
        let guides: Vec<&String> =
            self.by_guide.keys().map(|(g, _)| g).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        for guide in guides {
            out.push_str(&format!("\n\n{guide}\n  reached each stage:"));
            if let Some(g) = lib.default_of(guide) {
                for st in &g.file.stages {
                    let n = self.reached.get(&(guide.clone(), st.id.clone())).copied().unwrap_or(0);
                    out.push_str(&format!("\n    {n:>5}  {}", st.title));
                }
            }
            let done = self.finished.get(guide).copied().unwrap_or(0);
            out.push_str(&format!("\n  finished: {done}\n  where unfinished users stopped (most first):"));
            let mut stops: Vec<(&String, usize)> =
                self.stopped.iter().filter(|((g, _), _)| g == guide).map(|((_, node), n)| (node, *n)).collect();
            stops.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            if stops.is_empty() {
                out.push_str("\n    (nobody)");
            }
            for (node, n) in stops.into_iter().take(10) {
                out.push_str(&format!("\n    {n:>5}  {node}"));
            }
        }
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(guide: &str, node: &str, reached: &[&str], finished: bool) -> UserState {
        UserState {
            guide: Some(guide.into()),
            lang: Some("en".into()),
            node: Some(node.into()),
            reached: reached.iter().map(|s| s.to_string()).collect(),
            finished,
            ..UserState::default()
        }
    }

    #[test]
    fn counts_stages_finishers_and_drop_off() {
        let states = [
            user("g", "amount", &["one"], false),
            user("g", "amount", &["one"], false),
            user("g", "months", &["one", "two"], false),
            user("g", "bye", &["one", "two"], true),
            UserState::default(),
        ];
        let s = stats(&states);
        assert_eq!(s.users, 5);
        assert_eq!(s.by_guide[&("g".into(), "en".into())], 4);
        assert_eq!(s.reached[&("g".into(), "one".into())], 4);
        assert_eq!(s.reached[&("g".into(), "two".into())], 2);
        assert_eq!(s.finished["g"], 1);
        assert_eq!(s.stopped[&("g".into(), "amount".into())], 2);
        assert_eq!(s.stopped[&("g".into(), "months".into())], 1);
        assert!(!s.stopped.contains_key(&("g".into(), "bye".into())));
    }
}
