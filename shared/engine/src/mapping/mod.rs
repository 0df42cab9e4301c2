//! Compiled mappings: per target field an expression (fast path and/or minijinja), value maps,
//! defaults, conditions and nested `each` lists; evaluated per unit into a JSON object.

pub mod check;
pub mod fast;
pub mod guard;
pub mod helpers;
pub mod jinja;

use std::borrow::Cow;
use std::collections::BTreeSet;

use minijinja::Environment;
use serde_json::{Map, Value};

use crate::record::{Data, SourceRecord};
use fast::{Columns, Vars};

#[derive(Debug, Default)]
pub struct ValueMap {
    /// Looked up once per record and field: FxHash is the fast one for short keys.
    pub entries: rustc_hash::FxHashMap<String, Value>,
    pub default: Option<Value>,
}

impl ValueMap {
    /// Entries up to which a lookup compares the key with each rather than hashing it.
    const SCANNED: usize = 8;

    /// The value of `key`: a map of a few codes (the common case) is scanned.
    pub fn get(&self, key: &str) -> Option<&Value> {
        if self.entries.len() <= Self::SCANNED {
            return self.entries.iter().find(|(k, _)| helpers::text_eq(k, key)).map(|(_, v)| v);
        }
        self.entries.get(key)
    }
}

/// What produces a value.
#[derive(Debug)]
pub enum Expr {
    Const(Value),
    /// Fast evaluator, with the minijinja expression (by index) as fallback and authority.
    Fast {
        fast: fast::Expr,
        slow: usize,
    },
    Slow(usize),
    /// A template mixing text and tags; renders a string.
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    String,
    Integer,
    Number,
    Boolean,
}

#[derive(Debug)]
pub struct Field {
    pub path: Vec<String>,
    pub value: Option<Expr>,
    pub default: Option<Value>,
    pub map: Option<usize>,
    pub when: Option<Expr>,
    pub cast: Option<Cast>,
    pub each: Option<(Expr, Mapping)>,
}

#[derive(Debug, Default)]
pub struct Mapping {
    pub fields: Vec<Field>,
}

self_cell::self_cell!(
    /// The environment and the expressions compiled against it, kept together.
    pub struct Jinja {
        owner: Environment<'static>,
        #[covariant]
        dependent: Expressions,
    }
);

type Expressions<'a> = Vec<minijinja::Expression<'a, 'static>>;

impl std::fmt::Debug for Jinja {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jinja")
    }
}

impl Jinja {
    pub fn build(env: Environment<'static>, sources: &[String]) -> Result<Jinja, minijinja::Error> {
        Jinja::try_new(env, |env| sources.iter().map(|s| env.compile_expression_owned(s.clone())).collect())
    }

    /// The variables an expression reads (columns, and names such as functions it calls; not
    /// the size guards the engine adds to templates).
    fn variables(&self, e: &Expr, names: &mut BTreeSet<String>) {
        let read = match e {
            Expr::Const(_) => return,
            Expr::Fast { slow: i, .. } | Expr::Slow(i) => self.borrow_dependent()[*i].undeclared_variables(false),
            Expr::Text(name) => match self.borrow_owner().get_template(name) {
                Ok(t) => t.undeclared_variables(false),
                Err(_) => return,
            },
        };
        names.extend(read.into_iter().filter(|n| !n.starts_with(guard::PREFIX)));
    }
}

impl Mapping {
    /// Lets each field's expression read the values of earlier fields whose whole expression
    /// it repeats (see [`fast::Expr::share`]).
    pub fn share_values(&mut self) {
        for j in 1..self.fields.len() {
            let (earlier, rest) = self.fields.split_at_mut(j);
            let Some(Expr::Fast { fast: target, .. }) = &mut rest[0].value else { continue };
            for (i, field) in earlier.iter().enumerate() {
                if let Some(Expr::Fast { fast: whole, .. }) = &field.value {
                    target.share(i, whole);
                }
            }
        }
    }

    /// The variables the fields read: in their values and in their `when` and `each`
    /// expressions, nested fields included.
    /// The variables the fields read from the record itself: as [`Mapping::variables`], less
    /// what the fields of an `each` read (the list's items, not the record).
    pub fn record_variables(&self, jinja: &Jinja, names: &mut BTreeSet<String>) {
        for field in &self.fields {
            let list = field.each.as_ref().map(|(list, _)| list);
            for e in [field.value.as_ref(), field.when.as_ref(), list].into_iter().flatten() {
                jinja.variables(e, names);
            }
        }
    }

    pub fn variables(&self, jinja: &Jinja, names: &mut BTreeSet<String>) {
        for field in &self.fields {
            let list = field.each.as_ref().map(|(list, _)| list);
            for e in [field.value.as_ref(), field.when.as_ref(), list].into_iter().flatten() {
                jinja.variables(e, names);
            }
            if let Some((_, sub)) = &field.each {
                sub.variables(jinja, names);
            }
        }
    }
}

/// Everything an evaluation needs besides the record.
pub struct Evaluator<'a> {
    pub jinja: &'a Jinja,
    pub vars: &'a Vars,
    pub maps: &'a [ValueMap],
    pub group_var: &'a str,
    /// `limits.max_value_bytes`.
    pub bound: guard::Bound,
}

/// The minijinja view of a unit, built on first use only (most fields never need it).
pub struct LazyScope<'a> {
    pub data: &'a Data,
    pub items: Option<&'a [SourceRecord]>,
    pub parent: Option<minijinja::Value>,
    pub meta: &'a dyn Fn() -> minijinja::Value,
    value: Option<minijinja::Value>,
}

impl<'a> LazyScope<'a> {
    pub fn new(
        data: &'a Data,
        items: Option<&'a [SourceRecord]>,
        parent: Option<minijinja::Value>,
        meta: &'a dyn Fn() -> minijinja::Value,
    ) -> Self {
        LazyScope { data, items, parent, meta, value: None }
    }

    fn get(&mut self, group_var: &str) -> minijinja::Value {
        self.value
            .get_or_insert_with(|| {
                let items = self.items.map(|items| {
                    let list: Vec<minijinja::Value> = items
                        .iter()
                        .map(|r| {
                            minijinja::Value::from_object(jinja::Scope {
                                data: r.data.clone(),
                                items: None,
                                parent: None,
                                meta: minijinja::Value::from(()),
                            })
                        })
                        .collect();
                    (group_var.to_owned(), minijinja::Value::from(list))
                });
                minijinja::Value::from_object(jinja::Scope {
                    data: self.data.clone(),
                    items,
                    parent: self.parent.clone(),
                    meta: (self.meta)(),
                })
            })
            .clone()
    }
}

/// A template error as a reject message; the bounds minijinja enforces name their limit.
pub fn jinja_error(e: &minijinja::Error) -> String {
    let mut msg = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
    match e.kind() {
        minijinja::ErrorKind::UndefinedError if e.detail().is_none() => {
            msg = "undefined value (a missing column or key?)".into();
        }
        minijinja::ErrorKind::OutOfFuel => msg.push_str(" (limits.fuel)"),
        minijinja::ErrorKind::InvalidOperation if msg == "recursion limit exceeded" => {
            msg.push_str(" (limits.recursion)")
        }
        _ => {}
    }
    msg
}

impl Evaluator<'_> {
    fn slow(&self, i: usize, scope: &mut LazyScope<'_>) -> Result<minijinja::Value, minijinja::Error> {
        self.jinja.borrow_dependent()[i].eval(scope.get(self.group_var))
    }

    pub fn value(&self, e: &Expr, columns: &Columns, scope: &mut LazyScope<'_>) -> Result<Value, String> {
        self.try_value(e, columns, scope).map_err(|err| self.failure(e, scope, &err))
    }

    /// [`Self::value`] failing with minijinja's error, for callers that need no message.
    pub fn try_value(&self, e: &Expr, columns: &Columns, scope: &mut LazyScope<'_>) -> Result<Value, minijinja::Error> {
        match e {
            Expr::Const(v) => Ok(v.clone()),
            Expr::Fast { fast: f, slow } => {
                let env = fast::Env {
                    data: scope.data,
                    columns,
                    vars: self.vars,
                    maps: self.maps,
                    max_bytes: self.bound.bytes,
                    values: &[],
                };
                if let Ok(v) = fast::eval(f, &env).and_then(fast::FVal::into_json) {
                    return Ok(v);
                }
                jinja::to_json(&self.slow(*slow, scope)?)
            }
            Expr::Slow(i) => jinja::to_json(&self.slow(*i, scope)?),
            Expr::Text(name) => {
                let t = self.jinja.borrow_owner().get_template(name)?;
                guard::render(&t, scope.get(self.group_var), self.bound).map(Value::String)
            }
        }
    }

    pub fn truth(&self, e: &Expr, columns: &Columns, scope: &mut LazyScope<'_>) -> Result<bool, String> {
        self.try_truth(e, columns, scope).map_err(|err| self.failure(e, scope, &err))
    }

    /// [`Self::truth`] failing with minijinja's error, for callers that need no message.
    pub fn try_truth(&self, e: &Expr, columns: &Columns, scope: &mut LazyScope<'_>) -> Result<bool, minijinja::Error> {
        match e {
            Expr::Fast { fast: f, slow } => {
                let env = fast::Env {
                    data: scope.data,
                    columns,
                    vars: self.vars,
                    maps: self.maps,
                    max_bytes: self.bound.bytes,
                    values: &[],
                };
                match fast::eval(f, &env) {
                    Ok(v) => Ok(v.is_true()),
                    Err(_) => Ok(self.slow(*slow, scope)?.is_true()),
                }
            }
            Expr::Slow(i) => Ok(self.slow(*i, scope)?.is_true()),
            other => Ok(truthy(&self.try_value(other, columns, scope)?)),
        }
    }

    /// The reject message of a failed evaluation. An undefined value is most often a misspelt
    /// or missing column: the message then names it, the record's columns, and the nearest
    /// one. Worked out only here, once a record has failed, so a good record pays nothing.
    #[cold]
    fn failure(&self, e: &Expr, scope: &mut LazyScope<'_>, err: &minijinja::Error) -> String {
        let detail = err.detail().unwrap_or_default();
        // minijinja says "(`X` is undefined)" after other errors an undefined value caused.
        if (err.kind() == minijinja::ErrorKind::UndefinedError || detail.contains("` is undefined"))
            && let Some(hint) = self.undefined_name(e, scope, detail)
        {
            return hint;
        }
        jinja_error(err)
    }

    /// "`NAME` is undefined; did you mean `NEAR`? (columns: …)" for the first name the
    /// expression reads that the record lacks (the one minijinja's message names, if several).
    fn undefined_name(&self, e: &Expr, scope: &mut LazyScope<'_>, detail: &str) -> Option<String> {
        let read = match e {
            Expr::Const(_) => return None,
            Expr::Fast { slow: i, .. } | Expr::Slow(i) => self.jinja.borrow_dependent()[*i].undeclared_variables(true),
            Expr::Text(name) => self.jinja.borrow_owner().get_template(name).ok()?.undeclared_variables(true),
        };
        let env = self.jinja.borrow_owner();
        let top = scope.get(self.group_var);
        let mut missing: Vec<Missing> = Vec::new();
        for path in read.iter().collect::<BTreeSet<_>>() {
            let mut parts = path.split('.');
            let head = parts.next().unwrap_or_default();
            if head.starts_with(guard::PREFIX) || env.globals().any(|(g, _)| g == head) {
                continue;
            }
            let mut value = top.clone();
            let mut at = Vec::new();
            for part in std::iter::once(head).chain(parts) {
                let next = value.get_attr(part).unwrap_or_default();
                if next.is_undefined() {
                    // The record's own names, also through `record.` (the scope adds more).
                    let within = if at.is_empty() || at == ["record"] { None } else { Some(value) };
                    let prefix = at.iter().map(|p| format!("{p}.")).collect();
                    missing.push(Missing { prefix, name: part.to_owned(), within });
                    break;
                }
                if next.kind() != minijinja::value::ValueKind::Map {
                    break;
                }
                at.push(part);
                value = next;
            }
        }
        let named = |m: &&Missing| {
            detail
                .match_indices(&format!("`{}{}", m.prefix, m.name))
                .any(|(i, s)| matches!(detail[i + s.len()..].chars().next(), Some('`' | '.' | '[')))
        };
        let m = missing.iter().find(named).or(missing.first())?;
        let (what, names) = match &m.within {
            Some(v) => (format!("keys of `{}`", m.prefix.trim_end_matches('.')), Cow::Owned(keys(v))),
            None => match scope.data {
                Data::Row(row) => ("columns".to_owned(), Cow::Borrowed(&row.header.names[..])),
                Data::Tree(serde_json::Value::Object(map)) => {
                    ("keys".to_owned(), Cow::Owned(map.keys().cloned().collect()))
                }
                Data::Tree(_) => ("keys".to_owned(), Cow::Owned(Vec::new())),
            },
        };
        Some(undefined_message(&m.prefix, &m.name, &what, &names))
    }

    /// Maps one record (or group) to an object; `Err((pointer, message))` on a mapping failure.
    pub fn map(
        &self,
        m: &Mapping,
        columns: &Columns,
        scope: &mut LazyScope<'_>,
        base: &str,
    ) -> Result<Map<String, Value>, (String, String)> {
        let mut out = Map::new();
        for field in &m.fields {
            let pointer = || format!("{base}/{}", field.path.join("/"));
            if let Some(when) = &field.when
                && !self.truth(when, columns, scope).map_err(|e| (pointer(), e))?
            {
                continue;
            }
            let mut value = match (&field.each, &field.value) {
                (Some((list, sub)), _) => Value::Array(self.each(list, sub, columns, scope, &pointer())?),
                (None, Some(e)) => self.value(e, columns, scope).map_err(|e| (pointer(), e))?,
                (None, None) => Value::Null,
            };
            if let Some(i) = field.map {
                let map = &self.maps[i];
                let key = match &value {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                };
                if let Some(v) = key.as_deref().and_then(|k| map.get(k)).or(map.default.as_ref()) {
                    value = v.clone();
                }
            }
            if let Some(d) = &field.default
                && (value.is_null() || value.as_str() == Some(""))
            {
                value = d.clone();
            }
            if let Some(c) = field.cast {
                value = cast(value, c).map_err(|e| (pointer(), e))?;
            }
            insert(&mut out, &field.path, value);
        }
        Ok(out)
    }

    fn each(
        &self,
        list: &Expr,
        sub: &Mapping,
        columns: &Columns,
        scope: &mut LazyScope<'_>,
        pointer: &str,
    ) -> Result<Vec<Value>, (String, String)> {
        let parent = Some(scope.get(self.group_var));
        let mut out = Vec::new();
        let group_items = match list {
            Expr::Fast { fast: fast::Expr::Var(slot), .. } if self.vars.names[*slot] == self.group_var => scope.items,
            _ => None,
        };
        let no_meta = || minijinja::Value::from(());
        if let Some(items) = group_items {
            for (i, item) in items.iter().enumerate() {
                let mut s = LazyScope::new(&item.data, None, parent.clone(), &no_meta);
                out.push(Value::Object(self.map(sub, columns, &mut s, &format!("{pointer}/{i}"))?));
            }
            return Ok(out);
        }
        let elements = match self.value(list, columns, scope).map_err(|e| (pointer.to_owned(), e))? {
            Value::Array(a) => a,
            Value::Null => Vec::new(),
            other => vec![other],
        };
        for (i, el) in elements.into_iter().enumerate() {
            let data = Data::Tree(el);
            let mut s = LazyScope::new(&data, None, parent.clone(), &no_meta);
            out.push(Value::Object(self.map(sub, columns, &mut s, &format!("{pointer}/{i}"))?));
        }
        Ok(out)
    }
}

/// A name an expression reads that the record lacks: the name, what it was read through
/// (`record.`, `ORDER.`), and the object it was looked up in, when that is not the record.
struct Missing {
    prefix: String,
    name: String,
    within: Option<minijinja::Value>,
}

fn keys(v: &minijinja::Value) -> Vec<String> {
    v.try_iter().map_or_else(|_| Vec::new(), |keys| keys.map(|k| k.to_string()).collect())
}

/// Names listed in an undefined-name message; a wide record lists the first ones.
const LISTED_NAMES: usize = 20;

/// "`X` is undefined; did you mean `Y`? (columns: A, B)" for `prefix` + `name`: the nearest of
/// `names` by edit distance, ignoring case, if it is within a third of the name's length (one
/// edit at least).
fn undefined_message(prefix: &str, name: &str, what: &str, names: &[String]) -> String {
    let lower = name.to_lowercase();
    let len = lower.chars().count();
    let max = (len / 3).max(1);
    let near = names
        .iter()
        // The distance is at least the difference in length: most names are ruled out by that.
        .filter(|n| n.chars().count().abs_diff(len) <= max)
        .map(|n| (strsim::levenshtein(&lower, &n.to_lowercase()), n))
        .filter(|(d, _)| *d <= max)
        .min_by_key(|(d, _)| *d);
    let mut msg = format!("`{prefix}{name}` is undefined");
    if let Some((_, n)) = near {
        msg.push_str(&format!("; did you mean `{prefix}{n}`?"));
    }
    if names.is_empty() {
        msg.push_str(&format!(" (no {what})"));
    } else {
        let listed = names.iter().take(LISTED_NAMES).map(String::as_str).collect::<Vec<_>>().join(", ");
        msg.push_str(&format!(" ({what}: {listed}"));
        if names.len() > LISTED_NAMES {
            msg.push_str(&format!(" … and {} more", names.len() - LISTED_NAMES));
        }
        msg.push(')');
    }
    msg
}

pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn insert(obj: &mut Map<String, Value>, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            obj.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let child = obj.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            if let Value::Object(m) = child {
                insert(m, rest, value);
            }
        }
    }
}

/// Text converted to a scalar type; `None` when it is not one.
pub fn cast_text(s: &str, to: Cast) -> Option<Value> {
    let t = helpers::trim(s);
    match to {
        Cast::String => Some(Value::String(s.to_owned())),
        Cast::Integer => match t.parse::<i64>() {
            Ok(i) => Some(Value::from(i)),
            Err(_) => {
                t.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| Value::from(f as i64))
            }
        },
        Cast::Number => match t.parse::<i64>() {
            Ok(i) => Some(Value::from(i)),
            Err(_) => t
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
        },
        Cast::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "x" | "on" => Some(Value::Bool(true)),
            "false" | "no" | "n" | "0" | "" | "off" => Some(Value::Bool(false)),
            _ => None,
        },
    }
}

/// Converts a value to the declared type (explicit `type:` or the target schema's).
pub fn cast(value: Value, to: Cast) -> Result<Value, String> {
    Ok(match (to, value) {
        (_, Value::String(s)) => {
            let what = match to {
                Cast::String => "a string",
                Cast::Integer => "an integer",
                Cast::Number => "a number",
                Cast::Boolean => "a boolean",
            };
            cast_text(&s, to).ok_or_else(|| format!("`{s}` is not {what}"))?
        }
        (Cast::String, Value::Number(n)) => Value::String(n.to_string()),
        (Cast::String, Value::Bool(b)) => Value::String(b.to_string()),
        (_, v) => v,
    })
}

/// Splits `{{ expr }}` (one expression, nothing around it) from other template text.
pub fn single_expression(src: &str) -> Option<&str> {
    let inner = src.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%")).then_some(inner.trim())
}

pub fn is_template(src: &str) -> bool {
    src.contains("{{") || src.contains("{%")
}

/// Column index of every variable slot, for one header.
pub fn columns_for(vars: &Vars, data: &Data) -> Columns {
    match data {
        Data::Row(row) => vars.names.iter().map(|n| row.header.position(n)).collect(),
        Data::Tree(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_maps_of_few_and_of_many_codes_find_the_same() {
        for size in [0, 1, 3, ValueMap::SCANNED, ValueMap::SCANNED + 1, 40] {
            let map =
                ValueMap { entries: (0..size).map(|i| (format!("code{i}"), Value::from(i))).collect(), default: None };
            for i in 0..size + 2 {
                let want = (i < size).then(|| Value::from(i));
                assert_eq!(map.get(&format!("code{i}")), want.as_ref(), "{size} {i}");
            }
            assert_eq!(map.get(""), None);
        }
    }
}
