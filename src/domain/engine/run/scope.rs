//! What templates see: the user's variables converted once, kept in step with
//! every change, and rendering and evaluating through them.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};

use super::Run;
use crate::domain::dialogue::templates;
use crate::domain::engine::texts::Ui;
use crate::domain::value::Var;

/// The names a template sees: the user's variables plus built-ins.
#[derive(Debug)]
struct Scope {
    values: Arc<BTreeMap<String, Value>>,
    extra: Option<(String, Value)>,
}

impl Object for Scope {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        match &self.extra {
            Some((name, v)) if name == k => Some(v.clone()),
            _ => self.values.get(k).cloned(),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = self.values.keys().map(|k| Value::from(k.as_str())).collect();
        if let Some((name, _)) = &self.extra {
            keys.push(Value::from(name.as_str()));
        }
        Enumerator::Values(keys)
    }
}

impl<'a> Run<'a> {
    fn values(&mut self) -> Arc<BTreeMap<String, Value>> {
        let (st, ctx) = (&self.st, self.ctx);
        self.values
            .get_or_insert_with(|| {
                let mut map: BTreeMap<String, Value> = st.vars.iter().map(|(k, v)| (k.clone(), v.to_value())).collect();
                map.insert("user".into(), Value::from_iter([("first_name", Value::from(st.first_name.clone()))]));
                map.insert("today".into(), Value::from(ctx.today.to_string()));
                map.insert("now".into(), Value::from(ctx.now.strftime("%Y-%m-%d %H:%M").to_string()));
                Arc::new(map)
            })
            .clone()
    }

    pub(super) fn scope(&mut self) -> Value {
        if let Some(s) = &self.scope {
            return s.clone();
        }
        let v = Value::from_object(Scope { values: self.values(), extra: None });
        self.scope = Some(v.clone());
        v
    }

    pub(super) fn with_extra(&mut self, name: &str, v: Value) -> Value {
        Value::from_object(Scope { values: self.values(), extra: Some((name.to_owned(), v)) })
    }

    pub(super) fn with_item(&mut self, item: Value) -> Value {
        self.with_extra("item", item)
    }

    /// The variable at `path` changed: refresh its root's value only.
    pub(super) fn touch(&mut self, path: &str) {
        self.scope = None;
        let root = path.split('.').next().unwrap_or(path);
        let fresh = self.st.vars.get(root).map(Var::to_value);
        if let Some(values) = &mut self.values {
            // Copies the map only when a template context still holds it.
            let values = Arc::make_mut(values);
            match fresh {
                Some(v) => values.insert(root.to_owned(), v),
                None => values.remove(root),
            };
        }
    }

    /// Many variables changed at once.
    pub(super) fn changed(&mut self) {
        self.scope = None;
        self.values = None;
    }

    pub(super) fn render_in(&mut self, name: &str, ctx: &Value) -> String {
        let Some(g) = self.guide else { return String::new() };
        match g.templates.render(name, ctx) {
            Ok(s) => s.trim().to_owned(),
            Err(e) => {
                self.out.problems.push(format!("{}: `{name}` failed: {e}", g.path.display()));
                if templates::ran_out(&e) { self.t(Ui::TextUnavailable).to_owned() } else { String::new() }
            }
        }
    }

    pub(super) fn render(&mut self, name: &str) -> String {
        let ctx = self.scope();
        self.render_in(name, &ctx)
    }

    pub(super) fn eval_in(&mut self, name: &str, ctx: &Value) -> Value {
        let Some(g) = self.guide else { return Value::UNDEFINED };
        match g.templates.eval(name, ctx) {
            Ok(v) => v,
            Err(e) => {
                self.out.problems.push(format!("{}: `{name}` failed: {e}", g.path.display()));
                Value::UNDEFINED
            }
        }
    }

    pub(super) fn eval(&mut self, name: &str) -> Value {
        let ctx = self.scope();
        self.eval_in(name, &ctx)
    }

    pub(super) fn holds(&mut self, name: &str) -> bool {
        self.eval(name).is_true()
    }
}
