//! The dialogue file format as Rust types: what `serde_yaml` reads a
//! `dialogues/<guide>.<lang>.yaml` file into. `dialogues/README.md` documents it
//! for authors; keep the two in step. The same types give the JSON Schema
//! (`dialogues/schema.json`, `guidebot schema`) that editors use and that the
//! loader checks every file against first (`shape.rs`): unknown keys are errors
//! there, all of them reported at once, so serde itself is told to skip them.
//!
//! `ask:` ([`Ask`], [`AskType`]) is defined with the answer types in
//! `domain::answer` and named here too.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

pub use crate::domain::answer::{Ask, AskType};
use crate::domain::money::Currency;

/// One guide in one language: the whole file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GuideFile {
    /// Id shared by every translation of this guide.
    pub guide: String,
    /// Language of this file's texts (`zh`, `en`, …).
    pub lang: String,
    /// Shown in `/guides`, `/progress` and the case file.
    pub title: String,
    /// One line shown under the title in `/guides`.
    #[serde(default)]
    pub description: Option<String>,
    /// Marks the translation users get when their own language has none.
    #[serde(default)]
    pub default: bool,
    /// First node.
    pub start: String,
    /// The guide's chapters, in order.
    #[serde(default)]
    pub stages: Vec<Stage>,
    /// Every node, by id.
    pub nodes: IndexMap<String, Node>,
    /// Template of the case file (`/export`); a generic one is used when absent.
    #[serde(default)]
    pub export: Option<String>,
    /// How reminders are timed for this guide.
    #[serde(default)]
    pub reminders: Option<ReminderSettings>,
    /// The currency of `money` answers and of the `money` filter (default ¥, CNY).
    #[serde(default)]
    pub currency: Option<CurrencySettings>,
}

impl GuideFile {
    /// The currency the guide counts in: yuan unless it says otherwise.
    pub fn currency(&self) -> Currency {
        match &self.currency {
            None => Currency::default(),
            Some(c) => {
                let mut currency = Currency::of(&c.code);
                if let Some(symbol) = &c.symbol {
                    currency.symbol.clone_from(symbol);
                }
                currency
            }
        }
    }
}

/// A guide's currency: `{ code: GBP, symbol: "£" }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(try_from = "CurrencyFields")]
pub struct CurrencySettings {
    pub code: String,
    pub symbol: Option<String>,
}

/// A guide's currency as written, checked into [`CurrencySettings`].
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CurrencyFields {
    /// ISO 4217 code: three capital letters (`CNY`, `GBP`, `EUR`).
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    code: String,
    /// Written before amounts (`£3,500.00`); the usual one for common codes when left out.
    #[serde(default)]
    #[schemars(length(min = 1, max = 8))]
    symbol: Option<String>,
}

impl TryFrom<CurrencyFields> for CurrencySettings {
    type Error = String;

    fn try_from(f: CurrencyFields) -> Result<CurrencySettings, String> {
        if f.code.len() != 3 || !f.code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("currency `code: {}` must be an ISO code of three capital letters, like GBP", f.code));
        }
        if let Some(symbol) = &f.symbol {
            let len = symbol.chars().count();
            if len == 0
                || len > 8
                || symbol.chars().any(|c| c.is_ascii_digit() || c.is_whitespace() || ".,+-".contains(c))
            {
                return Err(format!(
                    "currency `symbol: {symbol:?}` must be a short sign without digits, spaces or . , + -, like £"
                ));
            }
        }
        Ok(CurrencySettings { code: f.code, symbol: f.symbol })
    }
}

/// A chapter of the guide.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Stage {
    pub id: String,
    pub title: String,
}

/// One step of the dialogue.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Node {
    /// Text shown on entering the node (a template).
    #[serde(default)]
    pub say: Option<String>,
    /// Stage the node belongs to.
    #[serde(default)]
    pub stage: Option<String>,
    /// Short name of the question for `/review` and the case file.
    #[serde(default)]
    pub label: Option<String>,
    /// Literal values stored on entering, as written.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, serde_json::Value>")]
    pub set: IndexMap<String, serde_yaml::Value>,
    /// Expressions evaluated on entering, after `set`, in order.
    #[serde(default)]
    pub compute: IndexMap<String, String>,
    /// Appends a finished record to a list, after `compute`.
    #[serde(default)]
    pub append: Option<Append>,
    /// Reminders scheduled on entering, after `append`.
    #[serde(default)]
    pub remind: Vec<Remind>,
    /// Next node.
    #[serde(default)]
    pub goto: Option<String>,
    /// The guide ends here.
    #[serde(default)]
    pub end: bool,
    #[serde(default)]
    pub choices: Option<Vec<Choice>>,
    #[serde(default)]
    pub ask: Option<Ask>,
    #[serde(default)]
    pub checklist: Option<Checklist>,
    #[serde(default)]
    pub branch: Option<Vec<Branch>>,
}

/// A button of a `choices` node.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Choice {
    pub label: String,
    /// Where this choice leads; the node's own `goto` when absent.
    #[serde(default)]
    pub goto: Option<String>,
    #[serde(default)]
    #[schemars(with = "IndexMap<String, serde_json::Value>")]
    pub set: IndexMap<String, serde_yaml::Value>,
    #[serde(default)]
    pub compute: IndexMap<String, String>,
    /// The choice is shown only when this expression is true.
    #[serde(default)]
    pub when: Option<String>,
}

/// Items the user ticks on and off.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Checklist {
    /// Variable the list of ticked item ids is saved to.
    pub save: String,
    #[serde(default)]
    pub items: Vec<Item>,
    /// Items made from a list variable, one per element.
    #[serde(default)]
    pub items_from: Option<ItemsFrom>,
    /// Label of the button that finishes the list.
    pub done: String,
}

/// A fixed checklist item.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub when: Option<String>,
}

/// Checklist items built from a list: `id` and `label` are templates that see `item`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ItemsFrom {
    /// Expression giving the list.
    pub list: String,
    pub id: String,
    pub label: String,
}

/// One arm of a `branch`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Branch {
    #[serde(default)]
    pub when: Option<String>,
    pub goto: String,
}

/// Moves the record in `from` to the end of the list `to`, then clears `from`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Append {
    pub to: String,
    pub from: String,
}

/// A reminder scheduled when the node is entered.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, transform = date_or_on)]
pub struct Remind {
    /// Stable id: scheduling the same id again replaces the earlier one.
    pub id: String,
    /// Expression giving the date (ISO) the reminder is about.
    // Also read under its older name `on`, which YAML 1.1 readers (PyYAML and others) take for `true`.
    #[serde(alias = "on")]
    pub date: String,
    /// Days before `date` to send it; the guide's default when absent.
    #[serde(default)]
    pub days_before: Option<u32>,
    /// Text sent (a template, written when the reminder is scheduled).
    pub say: String,
    /// Only scheduled when this expression is true (it sees `item` with `each`); when false,
    /// an unsent reminder of the same id is cancelled.
    #[serde(default)]
    pub when: Option<String>,
    /// For reminders over a list: one reminder per element, `item` in scope.
    #[serde(default)]
    pub each: Option<String>,
}

/// Guide-wide reminder settings.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ReminderSettings {
    /// Days before a date to remind, when a `remind` entry gives none (default 1).
    #[serde(default)]
    pub days_before: Option<u32>,
    /// Hour of day (0–23) reminders are sent at, in the user's time zone (default 9).
    #[serde(default)]
    pub hour: Option<u8>,
    /// Time zone of the guide's people: what "today" is for them and the hour
    /// reminders go out (default: the operator's `GUIDEBOT_TZ`, else `Asia/Shanghai`).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// A node every reminder offers a button back to (the guide's menu), days after
    /// the step that scheduled it.
    #[serde(default)]
    pub menu: Option<String>,
}

impl Node {
    /// Whether the user must do something here (the engine stops and waits).
    pub fn is_interactive(&self) -> bool {
        self.choices.is_some() || self.ask.is_some() || self.checklist.is_some()
    }
}

/// Every template (`false`) and expression (`true`) in the file, named by its YAML path.
pub fn template_sources(file: &GuideFile) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    let mut text = |name: String, src: &str| out.push((name, src.to_owned(), false));
    if let Some(e) = &file.export {
        text("export".into(), e);
    }
    let mut texts = Vec::new();
    let mut exprs = Vec::new();
    for (id, n) in &file.nodes {
        let p = format!("nodes.{id}");
        if let Some(s) = &n.say {
            texts.push((format!("{p}.say"), s.clone()));
        }
        for (var, e) in &n.compute {
            exprs.push((format!("{p}.compute.{var}"), e.clone()));
        }
        for (i, c) in n.choices.iter().flatten().enumerate() {
            texts.push((format!("{p}.choices.{i}.label"), c.label.clone()));
            if let Some(w) = &c.when {
                exprs.push((format!("{p}.choices.{i}.when"), w.clone()));
            }
            for (var, e) in &c.compute {
                exprs.push((format!("{p}.choices.{i}.compute.{var}"), e.clone()));
            }
        }
        if let Some(inv) = n.ask.as_ref().and_then(|a| a.invalid.as_ref()) {
            texts.push((format!("{p}.ask.invalid"), inv.clone()));
        }
        if let Some(cl) = &n.checklist {
            texts.push((format!("{p}.checklist.done"), cl.done.clone()));
            for (i, it) in cl.items.iter().enumerate() {
                texts.push((format!("{p}.checklist.items.{i}.label"), it.label.clone()));
                if let Some(w) = &it.when {
                    exprs.push((format!("{p}.checklist.items.{i}.when"), w.clone()));
                }
            }
            if let Some(f) = &cl.items_from {
                exprs.push((format!("{p}.checklist.items_from.list"), f.list.clone()));
                texts.push((format!("{p}.checklist.items_from.id"), f.id.clone()));
                texts.push((format!("{p}.checklist.items_from.label"), f.label.clone()));
            }
        }
        for (i, b) in n.branch.iter().flatten().enumerate() {
            if let Some(w) = &b.when {
                exprs.push((format!("{p}.branch.{i}.when"), w.clone()));
            }
        }
        for (i, r) in n.remind.iter().enumerate() {
            texts.push((format!("{p}.remind.{i}.id"), r.id.clone()));
            texts.push((format!("{p}.remind.{i}.say"), r.say.clone()));
            exprs.push((format!("{p}.remind.{i}.date"), r.date.clone()));
            if let Some(w) = &r.when {
                exprs.push((format!("{p}.remind.{i}.when"), w.clone()));
            }
            if let Some(e) = &r.each {
                exprs.push((format!("{p}.remind.{i}.each"), e.clone()));
            }
        }
    }
    for (name, src) in texts {
        text(name, &src);
    }
    out.extend(exprs.into_iter().map(|(n, s)| (n, s, true)));
    out
}

/// The older name of a reminder's `date`.
pub const OLD_DATE_KEY: &str = "on";

/// Adds `on` to the reminder's schema as another name of `date`: exactly one of the two.
fn date_or_on(schema: &mut schemars::Schema) {
    let Some(obj) = schema.as_object_mut() else { return };
    if let Some(props) = obj.get_mut("properties").and_then(|p| p.as_object_mut())
        && let Some(date) = props.get("date").cloned()
    {
        let mut old = date;
        if let Some(o) = old.as_object_mut() {
            o.insert(
                "description".into(),
                "Older name of `date`, still accepted; YAML 1.1 readers (PyYAML and others) read the key `on` as `true`, so prefer `date`.".into(),
            );
        }
        props.insert(OLD_DATE_KEY.into(), old);
    }
    if let Some(required) = obj.get_mut("required").and_then(|r| r.as_array_mut()) {
        required.retain(|k| k != "date");
    }
    obj.insert("oneOf".into(), serde_json::json!([{ "required": ["date"] }, { "required": [OLD_DATE_KEY] }]));
}

/// The JSON Schema of a dialogue file as a value.
pub fn schema_value() -> serde_json::Value {
    schemars::schema_for!(GuideFile).to_value()
}

/// The JSON Schema of a dialogue file, for editors (YAML language server).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(GuideFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
