//! `Var`: the values a user's answers and computed results are stored as.
//!
//! Why not keep MiniJinja values or JSON numbers? Money must stay exact to the
//! cent in storage and in texts, so fractional numbers are `rust_decimal`
//! decimals here. Inside templates and expressions they travel as MiniJinja
//! numbers (whole ones as integers), and every fractional number that comes back
//! out of an expression is rounded to the cent ([`Var::from_value`]). Dates are
//! ISO strings (`2026-12-15`), which compare correctly as text.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value, ValueKind};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Variables of one user: name → value. Ordered so that storage and exports are stable.
pub type Vars = BTreeMap<String, Var>;

/// One stored value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub enum Var {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    /// A fractional number (money and the like), exact.
    Num(Decimal),
    Str(String),
    /// Shared, so that snapshots for `/back` cost a pointer, not a copy.
    List(Arc<Vec<Var>>),
    Map(Arc<BTreeMap<String, Var>>),
}

impl Var {
    /// A decimal number, kept as an integer when it has no fraction.
    pub fn number(d: Decimal) -> Var {
        let n = d.normalize();
        if n.scale() == 0
            && let Some(i) = n.to_i64()
        {
            return Var::Int(i);
        }
        Var::Num(n)
    }

    /// Converts a literal YAML value (`set:`) as written.
    pub fn from_yaml(v: &serde_yaml::Value) -> Var {
        use serde_yaml::Value as Y;
        match v {
            Y::Null => Var::Null,
            Y::Bool(b) => Var::Bool(*b),
            Y::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Var::Int(i)
                } else {
                    // Parse the written digits, not the f64, so 0.1 stays 0.1.
                    n.to_string().parse::<Decimal>().map(Var::number).unwrap_or_else(|_| Var::Str(n.to_string()))
                }
            }
            Y::String(s) => Var::Str(s.clone()),
            Y::Sequence(items) => Var::List(Arc::new(items.iter().map(Var::from_yaml).collect())),
            Y::Mapping(m) => Var::Map(Arc::new(m.iter().map(|(k, v)| (yaml_key(k), Var::from_yaml(v))).collect())),
            Y::Tagged(t) => Var::from_yaml(&t.value),
        }
    }

    /// Converts an expression's result. Fractional numbers are rounded to the cent
    /// (half away from zero): results are money in this format. A number that cannot
    /// be kept exactly (see [`Var::try_from_value`]) becomes [`Var::Null`].
    pub fn from_value(v: &Value) -> Var {
        Var::try_from_value(v).unwrap_or(Var::Null)
    }

    /// Converts an expression's result like [`Var::from_value`], or says that a
    /// number in it is too large to keep: a whole number beyond what a [`Decimal`]
    /// holds, or a fractional one beyond [`FLOAT_LIMIT`] (past it a float no longer
    /// tells the cents), infinite or not a number.
    ///
    /// # Example
    ///
    /// ```
    /// use guidebot::domain::value::{Overflow, Var};
    /// use minijinja::Value;
    ///
    /// assert_eq!(Var::try_from_value(&Value::from(8000.1 - 3000.2)), Ok(Var::Num("4999.9".parse().unwrap())));
    /// assert_eq!(Var::try_from_value(&Value::from(1e300)), Err(Overflow));
    /// ```
    pub fn try_from_value(v: &Value) -> Result<Var, Overflow> {
        Ok(match v.kind() {
            ValueKind::Undefined | ValueKind::None => Var::Null,
            ValueKind::Bool => Var::Bool(v.is_true()),
            ValueKind::Number => return number_of(v),
            ValueKind::String => Var::Str(v.as_str().unwrap_or_default().to_owned()),
            ValueKind::Seq | ValueKind::Iterable if v.downcast_object_ref::<ListView>().is_some() => {
                v.downcast_object_ref::<ListView>().map(|l| Var::List(Arc::clone(&l.0))).unwrap_or_default()
            }
            ValueKind::Map if v.downcast_object_ref::<MapView>().is_some() => {
                v.downcast_object_ref::<MapView>().map(|m| Var::Map(Arc::clone(&m.0))).unwrap_or_default()
            }
            ValueKind::Seq | ValueKind::Iterable => match v.try_iter() {
                Ok(it) => Var::List(Arc::new(it.map(|x| Var::try_from_value(&x)).collect::<Result<_, _>>()?)),
                Err(_) => Var::Null,
            },
            ValueKind::Map => {
                let mut out = BTreeMap::new();
                if let Ok(keys) = v.try_iter() {
                    for k in keys {
                        let val = v.get_item(&k).unwrap_or_default();
                        out.insert(k.to_string(), Var::try_from_value(&val)?);
                    }
                }
                Var::Map(Arc::new(out))
            }
            _ => Var::Str(v.to_string()),
        })
    }

    /// The value as MiniJinja sees it.
    pub fn to_value(&self) -> Value {
        match self {
            Var::Null => Value::from(()),
            Var::Bool(b) => Value::from(*b),
            Var::Int(i) => Value::from(*i),
            Var::Num(d) => d.to_f64().map(Value::from).unwrap_or_else(|| Value::from(d.to_string())),
            Var::Str(s) => Value::from(s.as_str()),
            // Lists and records are shown to templates as views over the shared data:
            // nothing is copied until a template reads an element.
            Var::List(items) => Value::from_object(ListView(Arc::clone(items))),
            Var::Map(m) => Value::from_object(MapView(Arc::clone(m))),
        }
    }

    /// Whether this is a value a question counts as answered with.
    pub fn is_set(&self) -> bool {
        !matches!(self, Var::Null)
    }

    /// The value as a decimal, when it is a number.
    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            Var::Int(i) => Some(Decimal::from(*i)),
            Var::Num(d) => Some(*d),
            _ => None,
        }
    }

    /// Plain text for reviews, scenario comparisons and case files.
    pub fn display(&self) -> String {
        match self {
            Var::Null => String::new(),
            Var::Bool(b) => b.to_string(),
            Var::Int(i) => i.to_string(),
            Var::Num(d) => d.normalize().to_string(),
            Var::Str(s) => s.clone(),
            Var::List(items) => items.iter().map(Var::display).collect::<Vec<_>>().join(", "),
            Var::Map(m) => m.iter().map(|(k, v)| format!("{k}: {}", v.display())).collect::<Vec<_>>().join(", "),
        }
    }
}

/// A stored list as MiniJinja sees it (a sequence), converting elements on access.
#[derive(Debug)]
struct ListView(Arc<Vec<Var>>);

impl Object for ListView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.get(key.as_usize()?).map(Var::to_value)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.len())
    }
}

/// A stored record as MiniJinja sees it (a map), converting fields on access.
#[derive(Debug)]
struct MapView(Arc<BTreeMap<String, Var>>);

impl Object for MapView {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0.get(key.as_str()?).map(Var::to_value)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.keys().map(|k| Value::from(k.as_str())).collect())
    }
}

/// A number from an expression that cannot be kept exactly: the arithmetic
/// that made it went past what money in a guide can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// The largest fractional number an expression may give: 2^53 cents. Past it,
/// a float's steps are wider than a cent, so its cents would be made up.
pub const FLOAT_LIMIT: f64 = 9_007_199_254_740_992.0 / 100.0;

/// A number from an expression: whole numbers exactly (through 128 bits, never
/// a float), fractional ones rounded to the cent.
fn number_of(v: &Value) -> Result<Var, Overflow> {
    // Ask is_integer first: a failed conversion builds an error, which is slow.
    if v.is_integer() {
        if let Some(i) = v.as_i64() {
            return Ok(Var::Int(i));
        }
        let wide = i128::try_from(v.clone()).map_err(|_| Overflow)?;
        return Decimal::try_from_i128_with_scale(wide, 0).map(Var::number).map_err(|_| Overflow);
    }
    match f64::try_from(v.clone()) {
        Ok(f) if f.is_finite() && f.abs() <= FLOAT_LIMIT => cents_of(f).map(Var::number).ok_or(Overflow),
        Ok(_) => Err(Overflow),
        Err(_) => Ok(Var::Str(v.to_string())),
    }
}

/// A float from an expression, rounded to the cent (half away from zero).
///
/// Amounts that are already whole cents (the float nearest to `333.33`) take a fast,
/// exact path; anything else goes through the shortest decimal that reads back as
/// the same float, which is the decimal the float was made from whenever that had
/// at most 15 significant digits.
pub fn cents_of(f: f64) -> Option<Decimal> {
    let scaled = f * 100.0;
    if scaled.is_finite() && scaled.abs() < 9.0e15 {
        let whole = scaled.round();
        if (scaled - whole).abs() < 1e-6 {
            return Some(Decimal::new(whole as i64, 2));
        }
    }
    if !f.is_finite() {
        return None;
    }
    let shortest = f.to_string().parse::<Decimal>().ok().or_else(|| Decimal::from_f64(f))?;
    Some(shortest.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

fn yaml_key(k: &serde_yaml::Value) -> String {
    match k {
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_owned(),
    }
}

/// Reads a dotted path (`contact.when`) from the variables.
pub fn get_path<'a>(vars: &'a Vars, path: &str) -> Option<&'a Var> {
    let mut parts = path.split('.');
    let mut cur = vars.get(parts.next()?)?;
    for p in parts {
        match cur {
            Var::Map(m) => cur = m.get(p)?,
            _ => return None,
        }
    }
    Some(cur)
}

/// Writes a dotted path, creating records on the way (a non-record in the way is replaced).
pub fn set_path(vars: &mut Vars, path: &str, value: Var) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut map = vars;
    for p in parts {
        let slot = map.entry(p.to_owned()).or_insert_with(|| Var::Map(Arc::default()));
        if !matches!(slot, Var::Map(_)) {
            *slot = Var::Map(Arc::default());
        }
        let Var::Map(inner) = slot else { return };
        map = Arc::make_mut(inner);
    }
    map.insert(last.to_owned(), value);
}

/// Removes a dotted path; returns what was there.
pub fn remove_path(vars: &mut Vars, path: &str) -> Option<Var> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop()?;
    let mut map = vars;
    for p in parts {
        match map.get_mut(p)? {
            Var::Map(inner) => map = Arc::make_mut(inner),
            _ => return None,
        }
    }
    map.remove(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_survives_a_round_trip_through_expressions() {
        let d: Decimal = "3500.50".parse().unwrap();
        let v = Var::number(d);
        assert_eq!(Var::from_value(&v.to_value()), Var::Num("3500.5".parse().unwrap()));
        // 8000.10 - 3000.20 is 4999.900000000001 in binary floating point.
        let f = Value::from(8000.10_f64 - 3000.20_f64);
        assert_eq!(Var::from_value(&f).display(), "4999.9");
    }

    #[test]
    fn numbers_too_large_to_keep_are_an_overflow_not_a_blank() {
        for v in [Value::from(f64::INFINITY), Value::from(f64::NAN), Value::from(1e16), Value::from(-1e300)] {
            assert_eq!(Var::try_from_value(&v), Err(Overflow), "{v}");
            assert_eq!(Var::from_value(&v), Var::Null);
        }
        let list = Value::from(vec![Value::from(1), Value::from(f64::INFINITY)]);
        assert_eq!(Var::try_from_value(&list), Err(Overflow));
        // Whole numbers past i64 stay exact, without a float in between.
        let big = Value::from(i128::from(i64::MAX) * 1000 + 7);
        assert_eq!(Var::try_from_value(&big).map(|v| v.display()), Ok("9223372036854775807007".to_owned()));
        assert_eq!(Var::try_from_value(&Value::from(i128::MAX)), Err(Overflow));
        assert_eq!(Var::try_from_value(&Value::from(FLOAT_LIMIT)).map(|v| v.is_set()), Ok(true));
    }

    #[test]
    fn amounts_up_to_the_limit_keep_their_cents_through_expressions() {
        let limit = crate::domain::money::AMOUNT_LIMIT;
        let mut cents: Vec<i64> = (0..2000).map(|i| i * 7_919_993 + i % 100).collect();
        cents.extend([1, 99, 100_000_000_000_000, 99_999_999_999_999, 99_999_999_999_995, 12_345_678_901_234]);
        for c in cents {
            for sign in [1, -1] {
                let d = Decimal::new(sign * c, 2);
                assert!(d.abs() <= limit);
                let back = Var::from_value(&Var::number(d).to_value());
                assert_eq!(back.as_decimal(), Some(d), "{d}");
            }
        }
    }

    #[test]
    fn whole_numbers_become_integers() {
        assert_eq!(Var::number("35000.00".parse().unwrap()), Var::Int(35000));
        assert_eq!(Var::from_value(&Value::from(12.0_f64)), Var::Int(12));
    }

    #[test]
    fn yaml_decimals_keep_their_digits() {
        let y: serde_yaml::Value = serde_yaml::from_str("0.1").unwrap();
        assert_eq!(Var::from_yaml(&y), Var::Num("0.1".parse().unwrap()));
    }

    #[test]
    fn dotted_paths_build_records() {
        let mut vars = Vars::new();
        set_path(&mut vars, "contact.when", Var::Str("2026-12-01".into()));
        set_path(&mut vars, "contact.channel", Var::Str("online".into()));
        assert_eq!(get_path(&vars, "contact.when").unwrap().display(), "2026-12-01");
        assert_eq!(remove_path(&mut vars, "contact.channel").unwrap().display(), "online");
        assert!(get_path(&vars, "contact.channel").is_none());
    }
}
