//! `check`: everything that can be wrong in a dialogue after it parses — broken
//! links, undeclared stages and variables, unreachable nodes, traps, and
//! translations that drift apart. Never stops at the first problem; every
//! diagnostic says what to change.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use super::diagnostic::Kind;
use super::format::{Node, template_sources};
use super::templates::BUILTIN_NAMES;
use super::{Diagnostic, Guide};
use crate::domain::answer;

/// Checks each guide and the guides against each other.
pub fn check_guides(guides: &[Guide]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for g in guides {
        out.extend(check_guide(g));
    }
    out.extend(check_set(guides));
    out
}

/// Checks one guide on its own.
pub fn check_guide(g: &Guide) -> Vec<Diagnostic> {
    let mut c = Checker { g, out: Vec::new() };
    c.ids();
    c.stages();
    c.nodes();
    if !g.lost_nodes {
        c.variables();
    }
    c.reminders();
    // With a link broken or a key unknown, "unreachable" and "trapped" only echo it:
    // report them once the file's shape and links are fixed.
    let broken_link = c.out.iter().any(|d| d.kind == Kind::BrokenLink);
    if !broken_link && !g.incomplete {
        c.reachability();
        c.loops_without_a_question();
    }
    c.out
}

struct Checker<'a> {
    g: &'a Guide,
    out: Vec<Diagnostic>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    super::closest(word, candidates).map(|c| format!("; did you mean `{c}`?")).unwrap_or_default()
}

/// Every node a node can lead to, with the YAML path of the link.
fn links(id: &str, n: &Node) -> Vec<(String, String)> {
    let p = format!("nodes.{id}");
    let mut out = Vec::new();
    if let Some(t) = &n.goto {
        out.push((format!("{p}.goto"), t.clone()));
    }
    for (i, c) in n.choices.iter().flatten().enumerate() {
        if let Some(t) = &c.goto {
            out.push((format!("{p}.choices.{i}.goto"), t.clone()));
        }
    }
    for (i, b) in n.branch.iter().flatten().enumerate() {
        out.push((format!("{p}.branch.{i}.goto"), b.goto.clone()));
    }
    out
}

impl Checker<'_> {
    /// A problem with the value at `path`.
    fn err(&mut self, kind: Kind, path: &str, message: String) {
        let pos = self.g.spans.value(path);
        self.out.push(Diagnostic { file: self.g.path.clone(), line: pos.line, col: pos.col, kind, message });
    }

    /// A problem with the key at `path` (a node as a whole, say).
    fn err_key(&mut self, kind: Kind, path: &str, message: String) {
        let pos = self.g.spans.key(path);
        self.out.push(Diagnostic { file: self.g.path.clone(), line: pos.line, col: pos.col, kind, message });
    }

    fn ids(&mut self) {
        let f = &self.g.file;
        for id in f.nodes.keys() {
            if !valid_id(id) {
                self.err_key(
                    Kind::Name,
                    &format!("nodes.{id}"),
                    format!("node id `{id}` may only use a-z, 0-9 and _; rename it (and every goto to it)"),
                );
            }
        }
        if !f.nodes.contains_key(&f.start) {
            if f.start.is_empty() && self.g.incomplete {
                return; // `start` is missing or not a text: the shape check said so
            }
            let hint = suggest(&f.start, f.nodes.keys().map(String::as_str));
            self.err(Kind::BrokenLink, "start", format!("`start` names `{}`, which is not a node{hint}", f.start));
        }
    }

    fn stages(&mut self) {
        let f = &self.g.file;
        let mut seen = HashSet::new();
        for (i, s) in f.stages.iter().enumerate() {
            if !seen.insert(s.id.as_str()) {
                self.err(
                    Kind::Stage,
                    &format!("stages.{i}.id"),
                    format!("stage `{}` is declared twice; give each stage its own id", s.id),
                );
            }
        }
        for (id, n) in &f.nodes {
            let Some(stage) = &n.stage else { continue };
            if self.g.stage_index(stage).is_none() {
                let hint = suggest(stage, f.stages.iter().map(|s| s.id.as_str()));
                self.err(
                    Kind::Stage,
                    &format!("nodes.{id}.stage"),
                    format!("node `{id}` is in stage `{stage}`, which `stages:` does not declare{hint}"),
                );
            }
        }
    }

    fn nodes(&mut self) {
        let g = self.g;
        for (id, n) in &g.file.nodes {
            let p = format!("nodes.{id}");
            let shaky = g.shaky_nodes.contains(id);
            for (path, target) in links(id, n) {
                // An empty target stands in for a `goto` the shape check found missing or broken.
                let placeholder = shaky && target.is_empty();
                if !placeholder && !g.file.nodes.contains_key(&target) {
                    let hint = suggest(&target, g.file.nodes.keys().map(String::as_str));
                    self.err(
                        Kind::BrokenLink,
                        &path,
                        format!("node `{id}` goes to `{target}`, which does not exist{hint}"),
                    );
                }
            }
            let kinds: Vec<&str> = [
                n.choices.is_some().then_some("choices"),
                n.ask.is_some().then_some("ask"),
                n.checklist.is_some().then_some("checklist"),
                n.branch.is_some().then_some("branch"),
            ]
            .into_iter()
            .flatten()
            .collect();
            if shaky {
                continue; // a misspelt key or a value that could not be read would make these echo it
            }
            self.choices(id, n);
            self.branch(id, n);
            self.checklist(id, n);
            self.ask(id, n);
            if kinds.len() > 1 {
                self.err_key(
                    Kind::Node,
                    &p,
                    format!(
                        "node `{id}` has {}; a node has at most one of them: split it into several nodes",
                        kinds.join(" and ")
                    ),
                );
            }
            if n.say.is_none() && n.branch.is_none() {
                self.err_key(
                    Kind::Node,
                    &p,
                    format!("node `{id}` has no `say`; add the text it shows (only `branch` nodes may leave it out)"),
                );
            }
            // An end may offer choices (a way back to a menu); a goto, question or checklist it may not.
            if n.end && (n.goto.is_some() || kinds.iter().any(|k| *k != "choices")) {
                self.err_key(
                    Kind::Node,
                    &p,
                    format!("node `{id}` has `end: true` and also a way forward; remove `end` or the way forward"),
                );
            }
            if !n.end && n.goto.is_none() && kinds.is_empty() {
                self.err_key(
                    Kind::Node,
                    &p,
                    format!("node `{id}` has no way forward: add `goto`, an interaction, or `end: true`"),
                );
            }
            if (n.ask.is_some() || n.checklist.is_some()) && n.goto.is_none() {
                let kind = if n.ask.is_some() { "ask" } else { "checklist" };
                self.err_key(
                    Kind::Node,
                    &p,
                    format!("node `{id}` has `{kind}` but no `goto`; add the node that comes after the answer"),
                );
            }
            if n.branch.is_some() && n.goto.is_some() {
                self.err(
                    Kind::Node,
                    &format!("{p}.goto"),
                    format!("node `{id}` is a `branch`; put its targets in the branch entries and remove `goto`"),
                );
            }
        }
    }

    fn choices(&mut self, id: &str, n: &Node) {
        let Some(choices) = &n.choices else { return };
        if choices.is_empty() {
            self.err(
                Kind::Node,
                &format!("nodes.{id}.choices"),
                format!("node `{id}` has an empty `choices` list; add at least one choice"),
            );
        }
        for (i, c) in choices.iter().enumerate() {
            if c.goto.is_none() && n.goto.is_none() {
                self.err(
                    Kind::Node,
                    &format!("nodes.{id}.choices.{i}"),
                    format!(
                        "choice `{}` of node `{id}` leads nowhere; give it a `goto` (or give the node one)",
                        c.label
                    ),
                );
            }
        }
        if !choices.is_empty() && choices.iter().all(|c| c.when.is_some()) {
            self.err(
                Kind::Node,
                &format!("nodes.{id}.choices"),
                format!("every choice of node `{id}` has a `when`; when none holds the user is stuck: leave one choice without `when`"),
            );
        }
    }

    fn branch(&mut self, id: &str, n: &Node) {
        let Some(arms) = &n.branch else { return };
        match arms.last() {
            None => self.err(Kind::Node, &format!("nodes.{id}.branch"), format!("node `{id}` has an empty `branch`; add entries `{{when, goto}}`")),
            Some(last) if last.when.is_some() => self.err(
                Kind::Node,
                &format!("nodes.{id}.branch.{}", arms.len() - 1),
                format!("the last entry of branch `{id}` has a `when`; when no condition holds the user is stuck: add a last entry with only `goto`"),
            ),
            _ => {}
        }
        for (i, arm) in arms.iter().enumerate().take(arms.len().saturating_sub(1)) {
            if arm.when.is_none() {
                self.err(
                    Kind::Node,
                    &format!("nodes.{id}.branch.{i}"),
                    format!("entry {} of branch `{id}` has no `when`, so the entries after it are never taken; add a `when` or move it last", i + 1),
                );
            }
        }
    }

    fn ask(&mut self, id: &str, n: &Node) {
        let Some(a) = &n.ask else { return };
        let p = format!("nodes.{id}.ask");
        // What `min`, `max` and `whole` must be depends on the answer's type.
        for (key, message) in answer::check(a) {
            self.err(Kind::Answer, &format!("{p}.{key}"), message);
        }
        if !valid_path(&a.save) {
            self.err(
                Kind::Name,
                &format!("{p}.save"),
                format!(
                    "`{}` is not a variable name; use letters, digits and _, with dots between record fields",
                    a.save
                ),
            );
        }
    }

    fn checklist(&mut self, id: &str, n: &Node) {
        let Some(cl) = &n.checklist else { return };
        let p = format!("nodes.{id}.checklist");
        if cl.items.is_empty() && cl.items_from.is_none() {
            self.err(Kind::Node, &p, format!("checklist `{id}` has no items; add `items:` or `items_from:`"));
        }
        let mut seen = HashSet::new();
        for (i, it) in cl.items.iter().enumerate() {
            if !valid_id(&it.id) {
                self.err(
                    Kind::Name,
                    &format!("{p}.items.{i}.id"),
                    format!("item id `{}` may only use a-z, 0-9 and _", it.id),
                );
            }
            if !seen.insert(it.id.as_str()) {
                self.err(
                    Kind::Node,
                    &format!("{p}.items.{i}.id"),
                    format!("item id `{}` is used twice in checklist `{id}`; ids must differ", it.id),
                );
            }
        }
    }

    /// Names saved, set, computed or appended anywhere in the guide (their first segment).
    fn defined(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut add = |p: &str| {
            out.insert(p.split('.').next().unwrap_or(p).to_owned());
        };
        for n in self.g.file.nodes.values() {
            n.set.keys().chain(n.compute.keys()).for_each(|k| add(k));
            for c in n.choices.iter().flatten() {
                c.set.keys().chain(c.compute.keys()).for_each(|k| add(k));
            }
            if let Some(a) = &n.ask {
                add(&a.save);
            }
            if let Some(cl) = &n.checklist {
                add(&cl.save);
            }
            if let Some(a) = &n.append {
                add(&a.to);
            }
        }
        out
    }

    fn variables(&mut self) {
        let defined = self.defined();
        for (name, _, _) in template_sources(&self.g.file) {
            let mut used: Vec<String> = self.g.templates.undeclared(&name).into_iter().collect();
            used.sort();
            for var in used {
                if defined.contains(&var) || BUILTIN_NAMES.contains(&var.as_str()) {
                    continue;
                }
                let hint = suggest(&var, defined.iter().map(String::as_str));
                self.err(
                    Kind::Variable,
                    &name,
                    format!("`{var}` is used in `{name}` but no node saves, sets or computes it{hint}"),
                );
            }
        }
        for (id, n) in &self.g.file.nodes {
            if let Some(a) = &n.append {
                let root = a.from.split('.').next().unwrap_or(&a.from);
                if !defined.contains(root) {
                    self.err(
                        Kind::Variable,
                        &format!("nodes.{id}.append.from"),
                        format!("`append` takes `{}`, which no node saves, sets or computes", a.from),
                    );
                }
            }
        }
    }

    /// The guide's reminder settings must name a real time zone and hour.
    fn reminders(&mut self) {
        let Some(r) = &self.g.file.reminders else { return };
        if let Some(zone) = &r.time_zone
            && jiff::tz::TimeZone::get(zone).is_err()
        {
            self.err(
                Kind::Setting,
                "reminders.time_zone",
                format!("`{zone}` is not a time zone; use a name like Asia/Shanghai (reminders would never be sent)"),
            );
        }
        if let Some(hour) = r.hour
            && hour > 23
        {
            self.err(Kind::Setting, "reminders.hour", format!("`hour: {hour}` is not an hour of the day; use 0 to 23"));
        }
        if let Some(menu) = &r.menu
            && !self.g.file.nodes.contains_key(menu)
        {
            let hint = suggest(menu, self.g.file.nodes.keys().map(String::as_str));
            self.err(
                Kind::Setting,
                "reminders.menu",
                format!("reminders offer a button to `{menu}`, which does not exist{hint}"),
            );
        }
    }

    /// Nodes that move on by themselves (messages and branches) must not form a loop:
    /// a user who enters one would never get a question.
    fn loops_without_a_question(&mut self) {
        let nodes = &self.g.file.nodes;
        let auto: HashMap<&str, Vec<String>> = nodes
            .iter()
            .filter(|(_, n)| !n.is_interactive() && !n.end)
            .map(|(id, n)| (id.as_str(), links(id, n).into_iter().map(|(_, t)| t).collect()))
            .collect();
        // Depth-first search; a link back to a node on the current path closes a loop.
        let mut done: HashSet<&str> = HashSet::new();
        let mut reported: HashSet<&str> = HashSet::new();
        for start in nodes.keys().map(String::as_str).filter(|id| auto.contains_key(id)) {
            let mut path: Vec<&str> = Vec::new();
            let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
            while let Some((id, next)) = stack.pop() {
                if next == 0 {
                    if done.contains(id) {
                        continue;
                    }
                    path.push(id);
                }
                let targets = &auto[id];
                if let Some(t) = targets.get(next) {
                    stack.push((id, next + 1));
                    let Some((t, _)) = auto.get_key_value(t.as_str()) else { continue };
                    if let Some(pos) = path.iter().position(|p| p == t) {
                        let cycle = &path[pos..];
                        if cycle.iter().all(|c| reported.insert(c)) {
                            let names: Vec<String> = cycle.iter().chain([t]).map(|c| format!("`{c}`")).collect();
                            self.err_key(
                                Kind::Flow,
                                &format!("nodes.{t}"),
                                format!("{} loop without a question: a user who gets here never gets to answer; put a question in the loop or change a `goto`", names.join(" → ")),
                            );
                        }
                    } else if !done.contains(t) {
                        stack.push((t, 0));
                    }
                } else {
                    path.pop();
                    done.insert(id);
                }
            }
        }
    }

    fn reachability(&mut self) {
        let nodes = &self.g.file.nodes;
        if !nodes.contains_key(&self.g.file.start) {
            return;
        }
        let edges: HashMap<&str, Vec<String>> =
            nodes.iter().map(|(id, n)| (id.as_str(), links(id, n).into_iter().map(|(_, t)| t).collect())).collect();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut queue = VecDeque::from([self.g.file.start.as_str()]);
        while let Some(id) = queue.pop_front() {
            if !seen.insert(id) {
                continue;
            }
            for t in edges.get(id).into_iter().flatten() {
                if let Some((k, _)) = nodes.get_key_value(t.as_str()) {
                    queue.push_back(k.as_str());
                }
            }
        }
        for id in nodes.keys() {
            if !seen.contains(id.as_str()) {
                self.err_key(
                    Kind::Flow,
                    &format!("nodes.{id}"),
                    format!("node `{id}` cannot be reached from `start`; link to it with a `goto` or remove it"),
                );
            }
        }
        // Every reachable node must be able to reach an end, or the user loops forever.
        let mut reverse: HashMap<&str, Vec<&str>> = HashMap::new();
        for (from, targets) in &edges {
            for t in targets {
                reverse.entry(t.as_str()).or_default().push(from);
            }
        }
        let mut can_end: HashSet<&str> = HashSet::new();
        let mut queue: VecDeque<&str> = nodes.iter().filter(|(_, n)| n.end).map(|(id, _)| id.as_str()).collect();
        if queue.is_empty() {
            self.err(Kind::Flow, "nodes", "no node has `end: true`; mark the node where the guide is finished".into());
            return;
        }
        while let Some(id) = queue.pop_front() {
            if can_end.insert(id) {
                queue.extend(reverse.get(id).into_iter().flatten().copied());
            }
        }
        for id in nodes.keys() {
            if seen.contains(id.as_str()) && !can_end.contains(id.as_str()) {
                self.err_key(
                    Kind::Flow,
                    &format!("nodes.{id}"),
                    format!("from node `{id}` no path leads to an `end` node, so users who get here are trapped; add a way out"),
                );
            }
        }
    }
}

fn valid_path(p: &str) -> bool {
    p.split('.').all(|s| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && !s.as_bytes()[0].is_ascii_digit()
    })
}

/// Checks across files: duplicates, names, defaults, translations.
fn check_set(guides: &[Guide]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let diag = |g: &Guide, path: &str, message: String| {
        let pos = g.spans.value(path);
        Diagnostic { file: g.path.clone(), line: pos.line, col: pos.col, kind: Kind::Files, message }
    };
    let mut seen: HashMap<(&str, &str), &Guide> = HashMap::new();
    for g in guides {
        let expected = format!("{}.{}.yaml", g.id(), g.lang());
        let name = g.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let unread = g.incomplete && (g.id().is_empty() || g.lang().is_empty());
        if name != expected && !unread {
            out.push(diag(g, "guide", format!("this file declares guide `{}` in `{}`, so it must be named `{expected}`; rename the file or fix `guide`/`lang`", g.id(), g.lang())));
        }
        if let Some(first) = seen.insert((g.id(), g.lang()), g) {
            out.push(diag(
                g,
                "lang",
                format!(
                    "guide `{}` in `{}` is already defined by {}; remove one of the two",
                    g.id(),
                    g.lang(),
                    first.path.display()
                ),
            ));
        }
    }
    let mut ids: Vec<&str> = guides.iter().map(Guide::id).collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        let group: Vec<&Guide> = guides.iter().filter(|g| g.id() == id).collect();
        let defaults: Vec<&&Guide> = group.iter().filter(|g| g.file.default).collect();
        if defaults.len() > 1 {
            for g in &defaults[1..] {
                out.push(diag(
                    g,
                    "default",
                    format!("guide `{id}` has more than one translation with `default: true`; keep it on one"),
                ));
            }
        }
        let Some(base) = group.iter().find(|g| g.file.default).or(group.first()) else { continue };
        if group.iter().any(|g| g.incomplete) {
            continue; // the shape problems come first; comparing now would only echo them
        }
        for other in group.iter().filter(|g| !std::ptr::eq(**g, *base)) {
            out.extend(compare(base, other));
        }
    }
    out
}

/// Everything but texts, as (path, value) pairs, in order.
fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(none)".into())
}

fn shape(g: &Guide) -> Vec<(String, String)> {
    let f = &g.file;
    let mut s = vec![("start".to_owned(), f.start.clone())];
    for (i, st) in f.stages.iter().enumerate() {
        s.push((format!("stages.{i}.id"), st.id.clone()));
    }
    for (id, n) in &f.nodes {
        let p = format!("nodes.{id}");
        let y = |v: &serde_yaml::Value| serde_yaml::to_string(v).unwrap_or_default();
        s.push((p.clone(), "node".into()));
        s.push((format!("{p}.stage"), opt(&n.stage)));
        s.push((format!("{p}.goto"), opt(&n.goto)));
        s.push((format!("{p}.end"), n.end.to_string()));
        for (k, v) in &n.set {
            s.push((format!("{p}.set.{k}"), y(v)));
        }
        for (k, v) in &n.compute {
            s.push((format!("{p}.compute.{k}"), v.clone()));
        }
        if let Some(a) = &n.append {
            s.push((format!("{p}.append"), format!("{}<-{}", a.to, a.from)));
        }
        for (i, r) in n.remind.iter().enumerate() {
            s.push((
                format!("{p}.remind.{i}"),
                format!("{}|{}|{:?}|{:?}|{:?}", r.id, r.date, r.days_before, r.when, r.each),
            ));
        }
        s.push((format!("{p}.choices"), format!("{}", n.choices.as_ref().map_or(-1, |c| c.len() as i64))));
        for (i, c) in n.choices.iter().flatten().enumerate() {
            let q = format!("{p}.choices.{i}");
            s.push((format!("{q}.goto"), opt(&c.goto)));
            s.push((format!("{q}.when"), opt(&c.when)));
            for (k, v) in &c.set {
                s.push((format!("{q}.set.{k}"), y(v)));
            }
            for (k, v) in &c.compute {
                s.push((format!("{q}.compute.{k}"), v.clone()));
            }
        }
        if let Some(a) = &n.ask {
            let min = a.min.as_ref().map(y);
            let max = a.max.as_ref().map(y);
            s.push((format!("{p}.ask"), format!("{}|{:?}|{min:?}|{max:?}|{}|{}", a.save, a.kind, a.optional, a.whole)));
        }
        if let Some(cl) = &n.checklist {
            s.push((format!("{p}.checklist.save"), cl.save.clone()));
            for (i, it) in cl.items.iter().enumerate() {
                s.push((format!("{p}.checklist.items.{i}"), format!("{}|{:?}", it.id, it.when)));
            }
            if let Some(fr) = &cl.items_from {
                s.push((format!("{p}.checklist.items_from"), format!("{}|{}", fr.list, fr.id)));
            }
        }
        for (i, b) in n.branch.iter().flatten().enumerate() {
            s.push((format!("{p}.branch.{i}"), format!("{:?}->{}", b.when, b.goto)));
        }
    }
    s
}

fn compare(base: &Guide, other: &Guide) -> Vec<Diagnostic> {
    let a: HashMap<String, String> = shape(base).into_iter().collect();
    let b = shape(other);
    let b_map: HashMap<&str, &str> = b.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut out = Vec::new();
    let base_name = base.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let at = |path: &str, message: String| {
        let pos = other.spans.value(path);
        Diagnostic { file: other.path.clone(), line: pos.line, col: pos.col, kind: Kind::Translation, message }
    };
    let mut reported_nodes = HashSet::new();
    for (path, value) in &b {
        let node = path.split('.').take(2).collect::<Vec<_>>().join(".");
        if reported_nodes.contains(&node) {
            continue;
        }
        match a.get(path) {
            None if path.starts_with("nodes.") && path.matches('.').count() == 1 => {
                out.push(at(path, format!("node `{}` is not in {base_name}; translations must have the same nodes: add it there or remove it here", &path[6..])));
                reported_nodes.insert(node);
            }
            None => {
                out.push(at(
                    path,
                    format!(
                        "`{path}` is not in {base_name}; translations differ only in texts: make the two files match"
                    ),
                ));
                reported_nodes.insert(node);
            }
            Some(v) if v != value => {
                out.push(at(
                    path,
                    format!(
                        "`{path}` differs from {base_name} (there: {}, here: {}); translations differ only in texts",
                        v.trim(),
                        value.trim()
                    ),
                ));
                reported_nodes.insert(node);
            }
            _ => {}
        }
    }
    for (path, _) in shape(base) {
        if !b_map.contains_key(path.as_str()) {
            let node = path.split('.').take(2).collect::<Vec<_>>().join(".");
            if reported_nodes.insert(node.clone()) {
                let (line, col) = if path.starts_with("nodes.") {
                    let p = other.spans.value("nodes");
                    (p.line, p.col)
                } else {
                    (1, 1)
                };
                let what = if path.matches('.').count() == 1 && path.starts_with("nodes.") {
                    format!("node `{}` of {base_name} is missing here; add its translation", &path[6..])
                } else {
                    format!("`{path}` of {base_name} is missing here; translations differ only in texts")
                };
                out.push(Diagnostic { file: other.path.clone(), line, col, kind: Kind::Translation, message: what });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dialogue::load::{load_guide, load_library};
    use std::path::{Path, PathBuf};

    const BASE: &str = "\
guide: g
lang: en
title: T
start: a
stages:
  - id: one
    title: One
nodes:
  a:
    stage: one
    say: How much?
    ask:
      save: debt
      type: money
    goto: b
  b:
    say: 'You owe {{ debt | money }}'
    choices:
      - label: Again
        goto: a
      - label: Done
        goto: z
  z:
    say: Bye
    end: true
";

    fn diags(text: &str) -> Vec<Diagnostic> {
        let g = load_guide(Path::new("g.en.yaml"), text).expect("loads");
        check_guide(&g)
    }

    fn only(text: &str) -> Diagnostic {
        let d = diags(text);
        assert_eq!(d.len(), 1, "{d:#?}");
        d.into_iter().next().unwrap()
    }

    #[test]
    fn a_good_guide_has_no_diagnostics() {
        assert!(diags(BASE).is_empty(), "{:#?}", diags(BASE));
    }

    #[test]
    fn goto_to_a_missing_node() {
        let d = diags(&BASE.replace("    goto: b", "    goto: bb"));
        assert_eq!((d[0].line, d[0].col), (15, 11));
        assert_eq!(d[0].message, "node `a` goes to `bb`, which does not exist; did you mean `b`?");
        // `b` is unreachable now, but that only echoes the broken link.
        assert_eq!(d.len(), 1, "{d:#?}");
    }

    #[test]
    fn the_flow_is_checked_only_when_no_link_is_broken_whatever_the_wording() {
        // Decided on the kind: a broken `goto` hides "unreachable", other problems do not.
        let d = diags(&BASE.replace("    goto: b", "    goto: bb"));
        assert_eq!(d.iter().map(|d| d.kind).collect::<Vec<_>>(), [Kind::BrokenLink]);
        let text = format!("{BASE}  lost:\n    say: '{{{{ nobody }}}}'\n    end: true\n");
        let kinds: Vec<Kind> = diags(&text).iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [Kind::Variable, Kind::Flow]);
    }

    #[test]
    fn start_names_a_missing_node() {
        let d = diags(&BASE.replace("start: a", "start: aa"));
        assert_eq!(
            (d[0].line, d[0].message.as_str()),
            (4, "`start` names `aa`, which is not a node; did you mean `a`?")
        );
    }

    #[test]
    fn undeclared_stage() {
        let d = only(&BASE.replace("stage: one", "stage: onw"));
        assert_eq!(d.line, 10);
        assert_eq!(d.message, "node `a` is in stage `onw`, which `stages:` does not declare; did you mean `one`?");
    }

    #[test]
    fn unknown_variable() {
        let d = only(&BASE.replace("{{ debt | money }}", "{{ dept | money }}"));
        assert_eq!(d.line, 17);
        assert_eq!(
            d.message,
            "`dept` is used in `nodes.b.say` but no node saves, sets or computes it; did you mean `debt`?"
        );
    }

    #[test]
    fn unreachable_node() {
        let text = format!("{BASE}  lost:\n    say: nobody comes here\n    end: true\n");
        let d = only(&text);
        assert_eq!((d.line, d.col), (26, 3));
        assert!(d.message.starts_with("node `lost` cannot be reached from `start`"));
    }

    #[test]
    fn node_without_a_way_forward() {
        let d = diags(&BASE.replace("    say: Bye\n    end: true\n", "    say: Bye\n"));
        assert!(
            d.iter().any(|d| d.line == 23
                && d.message == "node `z` has no way forward: add `goto`, an interaction, or `end: true`"),
            "{d:#?}"
        );
    }

    #[test]
    fn an_end_may_offer_choices_but_not_a_question() {
        let with_choices = BASE.replace(
            "    say: Bye\n    end: true\n",
            "    say: Bye\n    end: true\n    choices:\n      - label: Menu\n        goto: b\n",
        );
        assert!(diags(&with_choices).is_empty(), "{:#?}", diags(&with_choices));
        let with_ask = BASE.replace(
            "    say: Bye\n    end: true\n",
            "    say: Bye\n    end: true\n    ask: { save: x, type: text }\n",
        );
        assert!(
            diags(&with_ask).iter().any(|d| d.message.starts_with("node `z` has `end: true` and also a way forward")),
            "{:#?}",
            diags(&with_ask)
        );
    }

    #[test]
    fn loop_without_an_end() {
        let text =
            BASE.replace("        goto: z", "        goto: a").replace("  z:\n    say: Bye\n    end: true\n", "");
        let d = diags(&text);
        assert!(d.iter().any(|d| d.message.starts_with("no node has `end: true`")), "{d:#?}");
    }

    #[test]
    fn branch_needs_a_fallback() {
        let text = BASE.replace(
            "    goto: b\n  b:",
            "    goto: c\n  c:\n    branch:\n      - when: debt > 10\n        goto: b\n  b:",
        );
        let d = only(&text);
        assert_eq!(d.line, 18);
        assert!(d.message.starts_with("the last entry of branch `c` has a `when`"), "{}", d.message);
    }

    #[test]
    fn two_interactions_in_one_node() {
        let text = BASE.replace("    goto: b\n  b:", "    choices:\n      - label: x\n    goto: b\n  b:");
        let d = diags(&text);
        assert!(d.iter().any(|d| d.line == 9 && d.message.starts_with("node `a` has choices and ask")), "{d:#?}");
    }

    #[test]
    fn a_loop_of_messages_and_branches_is_reported() {
        let text = BASE.replace(
            "    goto: b\n  b:",
            "    goto: c\n  c:\n    branch:\n      - when: debt > 0\n        goto: d\n      - goto: b\n  d:\n    say: looping\n    goto: c\n  b:",
        );
        let d = only(&text);
        assert_eq!(d.line, 16);
        assert_eq!(
            d.message,
            "`c` → `d` → `c` loop without a question: a user who gets here never gets to answer; put a question in the loop or change a `goto`"
        );
    }

    #[test]
    fn a_bad_time_zone_is_reported() {
        let d = only(&BASE.replace("start: a\n", "start: a\nreminders: { time_zone: Asia/Shangai, hour: 23 }\n"));
        assert_eq!(
            d.message,
            "`Asia/Shangai` is not a time zone; use a name like Asia/Shanghai (reminders would never be sent)"
        );
        let d = only(&BASE.replace("start: a\n", "start: a\nreminders: { menu: bb }\n"));
        assert_eq!(d.message, "reminders offer a button to `bb`, which does not exist; did you mean `b`?");
        let d = diags(&BASE.replace("start: a\n", "start: a\nreminders: { hour: 24 }\n"));
        assert_eq!(d[0].message, "`hour: 24` is not an hour of the day; use 0 to 23");
        assert_eq!(d[0].line, 5);
    }

    #[test]
    fn bad_min_for_money() {
        let d = only(&BASE.replace("      type: money", "      type: money\n      min: lots"));
        assert_eq!(d.line, 15);
        assert_eq!(d.message, "`min` of a money question must be an amount such as 100 or 0.01");
    }

    #[test]
    fn translations_must_match() {
        let zh =
            BASE.replace("lang: en", "lang: zh").replace("        goto: z", "        goto: a").replace("Done", "完成");
        let files = vec![(PathBuf::from("d/g.en.yaml"), BASE.to_owned()), (PathBuf::from("d/g.zh.yaml"), zh)];
        let e = load_library(&files).unwrap_err();
        assert!(
            e.iter().any(|d| d.file == Path::new("d/g.zh.yaml") && d.line == 22 && d.message == "`nodes.b.choices.1.goto` differs from g.en.yaml (there: z, here: a); translations differ only in texts"),
            "{e:#?}"
        );
    }

    #[test]
    fn values_that_could_not_be_read_are_reported_once() {
        // `type: cash` is replaced by a placeholder type, and the branch entry's missing
        // `goto` by an empty one: neither may come back as a second, confusing problem.
        let text = BASE.replace("      type: money", "      type: cash\n      min: lots").replace(
            "    goto: b\n  b:",
            "    goto: c\n  c:\n    branch:\n      - when: debt > 10\n      - goto: b\n  b:",
        );
        let (_, e) = crate::domain::dialogue::read_library(&[(PathBuf::from("g.en.yaml"), text)]);
        let found: Vec<(usize, &str)> = e.iter().map(|d| (d.line, d.message.as_str())).collect();
        assert_eq!(
            found,
            [
                (14, "`ask.type` in node `a` must be one of `text`, `number`, `money`, `date`; found `cash`"),
                (19, "`branch.0` in node `c` has no `goto`, which is required; add `goto:`"),
            ]
        );
    }

    #[test]
    fn file_name_must_match() {
        let e = load_library(&[(PathBuf::from("x.yaml"), BASE.to_owned())]).unwrap_err();
        assert_eq!(
            e[0].message,
            "this file declares guide `g` in `en`, so it must be named `g.en.yaml`; rename the file or fix `guide`/`lang`"
        );
        assert_eq!(e[0].line, 1);
    }
}
