//! The minijinja side: a sandboxed environment (no loader, so no file access; fuel and recursion
//! limits) with our helpers, and the objects that expose a source record to templates.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use minijinja::value::{Enumerator, Kwargs, Object, Rest, Serde, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior};

use super::ValueMap;
pub use super::guard::Bound;

use super::guard;
use super::helpers::{self, Num};
use crate::limits::Limits;
use crate::record::Data;

/// CSV lookup tables, keyed by table name, then by key column value.
pub type Lookups = Arc<RwLock<HashMap<String, LookupTable>>>;

#[derive(Debug, Default)]
pub struct LookupTable {
    pub rows: HashMap<String, serde_json::Value>,
}

fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

fn num(n: Num) -> Value {
    match n {
        Num::Int(i) => Value::from(i),
        Num::Float(f) => Value::from(f),
    }
}

/// Text of a scalar argument; `None` for none/undefined (helpers pass those through as none).
fn text(v: &Value) -> Option<String> {
    if v.is_none() || v.is_undefined() { None } else { Some(v.as_str().map_or_else(|| v.to_string(), str::to_owned)) }
}

/// The size bound of per-record templates and expressions.
pub fn value_bound(limits: &Limits) -> Bound {
    Bound { bytes: limits.max_value_bytes, name: "max_value_bytes" }
}

/// The size bound of a whole-document template.
pub fn document_bound(limits: &Limits) -> Bound {
    Bound { bytes: limits.max_document_bytes, name: "max_document_bytes" }
}

/// `s` with every match of `re` replaced by `replacement` (`$1` for groups), like
/// `Regex::replace_all`, stopping once the result would exceed `bound`.
fn regex_replace(s: &str, re: &Arc<regex::Regex>, replacement: &str, bound: Bound) -> Result<String, Error> {
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(s) {
        let m = caps.get(0).expect("group 0 is the match");
        out.push_str(&s[last..m.start()]);
        caps.expand(replacement, &mut out);
        last = m.end();
        if out.len() + (s.len() - last) > bound.bytes {
            return Err(bound.exceeded("the `regex_replace` result"));
        }
    }
    out.push_str(&s[last..]);
    Ok(out)
}

pub fn environment(
    limits: &Limits,
    bound: Bound,
    maps: Arc<Vec<ValueMap>>,
    map_names: Arc<HashMap<String, usize>>,
    lookups: Lookups,
) -> Environment<'static> {
    let mut env = Environment::new();
    // Debug mode keeps where an undefined value came from, which the message of an error it
    // causes later names ("`X` is undefined") and the "did you mean" hint needs. minijinja turns
    // it on only in debug builds: without this the released binaries, unlike the tests, said
    // "cannot convert undefined to isize" for `range(ORDR_NO)`.
    env.set_debug(true);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(limits.fuel));
    env.set_recursion_limit(limits.recursion);
    guard::install(&mut env, bound);
    env.add_filter("capitalize_words", |s: String| helpers::capitalize_words(&s).into_owned());
    env.add_filter("date", |v: Value, pattern: String| -> Result<Value, Error> {
        match text(&v) {
            None => Ok(Value::from(())),
            Some(t) => helpers::iso_date(&t, &pattern).map(|d| d.map_or(Value::from(()), Value::from)).map_err(invalid),
        }
    });
    // Jinja's `int` and `float`, for values read from files: blanks around a number (fixed-width
    // padding) are ignored, an empty value is none (as `decimal` and `date` have it), and an
    // error names the value.
    env.add_filter(
        "int",
        |state: &State, v: Value, default: Option<Value>, base: Option<u32>, kwargs: Kwargs| -> Result<Value, Error> {
            let Some(t) = v.as_str().map(str::trim) else {
                return minijinja::filters::int(state, &v, default, base, kwargs);
            };
            if t.is_empty() && default.is_none() {
                return Ok(Value::from(()));
            }
            minijinja::filters::int(state, &Value::from(t), default, base, kwargs)
                .map_err(|_| invalid(format!("`{t}` is not an integer")))
        },
    );
    env.add_filter(
        "float",
        |state: &State, v: Value, default: Option<Value>, kwargs: Kwargs| -> Result<Value, Error> {
            let Some(t) = v.as_str().map(str::trim) else {
                return minijinja::filters::float(state, &v, default, kwargs);
            };
            if t.is_empty() && default.is_none() {
                return Ok(Value::from(()));
            }
            minijinja::filters::float(state, &Value::from(t), default, kwargs)
                .map_err(|_| invalid(format!("`{t}` is not a number")))
        },
    );
    env.add_filter("decimal", |v: Value, locale: Option<String>| -> Result<Value, Error> {
        if v.as_i64().is_some() || v.kind() == ValueKind::Number {
            return Ok(v);
        }
        match text(&v) {
            None => Ok(Value::from(())),
            Some(t) => helpers::parse_decimal(&t, locale.as_deref().unwrap_or("en"))
                .map(|n| n.map_or(Value::from(()), num))
                .map_err(invalid),
        }
    });
    env.add_filter("valuemap", move |v: Value, name: String| -> Result<Value, Error> {
        let i = *map_names.get(&name).ok_or_else(|| invalid(format!("no value map named `{name}` in maps:")))?;
        let map = &maps[i];
        let key = text(&v).unwrap_or_default();
        Ok(match map.get(&key).or(map.default.as_ref()) {
            Some(out) => Value::from(Serde(out)),
            None => v,
        })
    });
    env.add_filter("regex_replace", move |s: String, pattern: String, replacement: String| -> Result<String, Error> {
        regex_replace(&s, &helpers::regex(&pattern).map_err(invalid)?, &replacement, bound)
    });
    env.add_filter("regex_match", |s: String, pattern: String| -> Result<bool, Error> {
        Ok(helpers::regex(&pattern).map_err(invalid)?.is_match(&s))
    });
    env.add_filter("regex_search", |s: String, pattern: String, group: Option<usize>| -> Result<Value, Error> {
        let re = helpers::regex(&pattern).map_err(invalid)?;
        Ok(re.captures(&s).and_then(|c| c.get(group.unwrap_or(0))).map_or(Value::from(()), |m| Value::from(m.as_str())))
    });
    env.add_function("coalesce", |args: Rest<Value>| -> Value {
        args.iter()
            .find(|v| !(v.is_none() || v.is_undefined() || v.as_str() == Some("")))
            .cloned()
            .unwrap_or(Value::from(()))
    });
    env.add_function("segment", |segments: Value, wanted: Kwargs| -> Result<Value, Error> {
        // The first segment (IDoc partner, date or text segment…) whose fields have the given
        // values: `segment(E1EDKA1, PARVW='AG')`. A lone object counts as a list of one.
        let candidates: Vec<Value> = match segments.kind() {
            ValueKind::Map => vec![segments],
            ValueKind::Undefined | ValueKind::None => Vec::new(),
            _ => segments.try_iter()?.collect(),
        };
        let conditions: Vec<(String, Value)> =
            wanted.args().map(|key| Ok((key.to_owned(), wanted.get::<Value>(key)?))).collect::<Result<_, Error>>()?;
        if conditions.is_empty() {
            return Err(invalid("segment() needs at least one field=value, e.g. segment(E1EDKA1, PARVW='AG')".into()));
        }
        let matches = |segment: &Value| {
            conditions.iter().all(|(key, value)| {
                segment.get_attr(key).ok().is_some_and(|field| text(&field).is_some_and(|f| Some(f) == text(value)))
            })
        };
        Ok(candidates.into_iter().find(matches).unwrap_or(Value::from(())))
    });
    env.add_function("lookup", move |table: String, key: Value, column: Option<String>| -> Result<Value, Error> {
        let tables = lookups.read().map_err(|_| invalid("lookup tables poisoned".into()))?;
        let t = tables.get(&table).ok_or_else(|| {
            invalid(format!("no lookup table `{table}` (declare it under lookups: and provide its file)"))
        })?;
        let Some(row) = t.rows.get(&text(&key).unwrap_or_default()) else { return Ok(Value::from(())) };
        Ok(match column {
            Some(c) => row.get(&c).map_or(Value::from(()), |v| Value::from(Serde(v))),
            None => Value::from(Serde(row)),
        })
    });
    env
}

/// One record as a template sees it: its fields as variables, plus `record` (the whole record,
/// for names that are not identifiers), `items` in grouping mode, `parent` inside `each`, `meta`.
#[derive(Debug)]
pub struct Scope {
    pub data: Data,
    pub items: Option<(String, Value)>,
    pub parent: Option<Value>,
    pub meta: Value,
}

impl Object for Scope {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        if let Some((name, items)) = &self.items
            && name == key
        {
            return Some(items.clone());
        }
        match key {
            "record" => return Some(data_value(&self.data)),
            "meta" => return Some(self.meta.clone()),
            "parent" if self.parent.is_some() => return self.parent.clone(),
            _ => {}
        }
        match &self.data {
            Data::Row(row) => row.by_name(key).map(Value::from),
            Data::Tree(serde_json::Value::Object(map)) => map.get(key).map(|v| Value::from(Serde(v))),
            Data::Tree(_) => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = match &self.data {
            Data::Row(row) => row.header.names.iter().map(|n| Value::from(n.as_str())).collect(),
            Data::Tree(serde_json::Value::Object(map)) => map.keys().map(|k| Value::from(k.as_str())).collect(),
            Data::Tree(_) => Vec::new(),
        };
        keys.extend(["record", "meta"].map(Value::from));
        Enumerator::Values(keys)
    }
}

pub fn data_value(data: &Data) -> Value {
    match data {
        Data::Row(row) => Value::from(Serde(row.to_json())),
        Data::Tree(v) => Value::from(Serde(v)),
    }
}

/// The minijinja result as JSON (undefined and invalid values become errors).
pub fn to_json(v: &Value) -> Result<serde_json::Value, Error> {
    if v.is_undefined() {
        return Err(Error::new(ErrorKind::UndefinedError, "the expression is undefined"));
    }
    serde_json::to_value(v).map_err(|e| Error::new(ErrorKind::BadSerialization, e.to_string()))
}
