//! Dialogues: the file format, loading text into a [`Guide`] with every
//! template compiled, checking guides for authors' mistakes, and reporting
//! them as text. Pure: callers read the files and hand over their text.

pub mod check;
pub mod diagnostic;
pub mod format;
pub mod lint;
pub mod load;
pub mod report;
pub mod shape;
pub mod spans;
pub mod templates;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::domain::answer::Facts;
use crate::domain::money::Currency;

pub use diagnostic::Diagnostic;
pub use format::{GuideFile, Node};
pub use load::{load_guide, load_library, read_library};
use spans::Spans;
use templates::{BUILTIN_NAMES, Templates};

/// The candidate closest to `word` (a typo away at most), for "did you mean" hints.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// One guide in one language, ready to run.
#[derive(Debug)]
pub struct Guide {
    /// What the file says.
    pub file: GuideFile,
    /// Where it was read from (for messages).
    pub path: PathBuf,
    /// Positions of its keys and values (for messages).
    pub spans: Spans,
    /// Its compiled templates, named by their YAML path (`nodes.amount.say`).
    pub templates: Templates,
    stage_index: HashMap<String, usize>,
    /// The file's shape has problems (unknown keys, wrong kinds): checks of the whole
    /// flow would only echo them.
    incomplete: bool,
    /// A node id is given twice, so a node was lost: which variables are saved is unknown.
    lost_nodes: bool,
    /// Nodes with shape problems: checks of their own shape would only echo them.
    shaky_nodes: HashSet<String>,
}

impl Guide {
    /// The guide's id.
    pub fn id(&self) -> &str {
        &self.file.guide
    }

    /// The file's language.
    pub fn lang(&self) -> &str {
        &self.file.lang
    }

    /// The node called `id`.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.file.nodes.get(id)
    }

    /// Position of a stage in the guide (0-based).
    pub fn stage_index(&self, stage: &str) -> Option<usize> {
        self.stage_index.get(stage).copied()
    }

    /// The first node, in file order, that belongs to `stage`.
    pub fn first_node_of_stage(&self, stage: &str) -> Option<&str> {
        self.file.nodes.iter().find(|(_, n)| n.stage.as_deref() == Some(stage)).map(|(id, _)| id.as_str())
    }
}

/// What a typed answer needs to know of the guide it is asked in.
impl Facts for Guide {
    fn currency(&self) -> Currency {
        self.file.currency()
    }

    fn feeds_reminders(&self, save: &str) -> bool {
        feeds_reminders(self, save)
    }
}

/// Whether a reminder is built from the variable `save` names: read by a `remind`
/// entry, or by a `compute` (or an `append`) whose result one reads, at any depth.
pub fn feeds_reminders(guide: &Guide, save: &str) -> bool {
    let root = save.split('.').next().unwrap_or(save);
    let t = &guide.templates;
    let builtin = |n: &String| BUILTIN_NAMES.contains(&n.as_str());
    let mut needed: HashSet<String> = HashSet::new();
    // (what is written, the expression that writes it)
    let mut writes: Vec<(String, String)> = Vec::new();
    for (id, node) in &guide.file.nodes {
        let p = format!("nodes.{id}");
        for i in 0..node.remind.len() {
            for part in ["on", "each", "when"] {
                needed.extend(t.undeclared(&format!("{p}.remind.{i}.{part}")).into_iter().filter(|n| !builtin(n)));
            }
        }
        for k in node.compute.keys() {
            writes.push((root_of(k), format!("{p}.compute.{k}")));
        }
        for (i, c) in node.choices.iter().flatten().enumerate() {
            for k in c.compute.keys() {
                writes.push((root_of(k), format!("{p}.choices.{i}.compute.{k}")));
            }
        }
    }
    let appends: Vec<(String, String)> = guide
        .file
        .nodes
        .values()
        .filter_map(|n| n.append.as_ref())
        .map(|a| (root_of(&a.to), root_of(&a.from)))
        .collect();
    loop {
        let before = needed.len();
        for (target, expr) in &writes {
            if needed.contains(target) {
                needed.extend(t.undeclared(expr).into_iter().filter(|n| !builtin(n) && n != target));
            }
        }
        for (to, from) in &appends {
            if needed.contains(to) {
                needed.insert(from.clone());
            }
        }
        if needed.contains(root) {
            return true;
        }
        if needed.len() == before {
            return false;
        }
    }
}

fn root_of(path: &str) -> String {
    path.split('.').next().unwrap_or(path).to_owned()
}

/// Every loaded guide, in every language.
#[derive(Debug, Default)]
pub struct Library {
    guides: Vec<Guide>,
}

impl Library {
    /// A library of `guides` (already checked for duplicates by the loader).
    pub fn new(mut guides: Vec<Guide>) -> Library {
        guides.sort_by(|a, b| (a.id(), a.lang()).cmp(&(b.id(), b.lang())));
        Library { guides }
    }

    /// All guides, sorted by id then language.
    pub fn guides(&self) -> &[Guide] {
        &self.guides
    }

    /// Distinct guide ids, sorted.
    pub fn guide_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.guides.iter().map(Guide::id).collect();
        ids.dedup();
        ids
    }

    /// Languages `guide` is available in.
    pub fn langs(&self, guide: &str) -> Vec<&str> {
        self.guides.iter().filter(|g| g.id() == guide).map(Guide::lang).collect()
    }

    /// `guide` in `lang`, if that translation exists.
    pub fn get(&self, guide: &str, lang: &str) -> Option<&Guide> {
        self.guides.iter().find(|g| g.id() == guide && g.lang() == lang)
    }

    /// The translation of `guide` marked `default: true`, else its first one.
    pub fn default_of(&self, guide: &str) -> Option<&Guide> {
        let mut all = self.guides.iter().filter(|g| g.id() == guide);
        let first = all.clone().next();
        all.find(|g| g.file.default).or(first)
    }

    /// `guide` in `lang` when it has that language, else its default translation.
    pub fn pick(&self, guide: &str, lang: Option<&str>) -> Option<&Guide> {
        lang.and_then(|l| self.get(guide, l)).or_else(|| self.default_of(guide))
    }
}
