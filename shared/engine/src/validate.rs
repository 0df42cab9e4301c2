//! The target JSON Schema: compiled once (draft from `$schema`, 2020-12 by default; draft 7
//! etc. honoured), used for schema-driven casts of mapped text and for per-record validation.

use std::hash::Hasher;

use serde_json::{Map, Value};

use crate::Source;
use crate::error::EngineError;
use crate::mapping::helpers::text_eq;
use crate::mapping::{Cast, cast_text};
use crate::slots::{Entry, Node, Scalar, Slots};

/// Where the schema wants which scalar type, so mapped text ("10", "1.5") can be converted.
#[derive(Debug, Default)]
struct CastNode {
    to: Option<Cast>,
    /// Empty text becomes null where the schema allows null but not string.
    empty_is_null: bool,
    /// A short list beats hashing here: records have a dozen keys, looked up once each.
    properties: Vec<(String, CastNode)>,
    items: Option<Box<CastNode>>,
}

pub struct Target {
    validator: jsonschema::Validator,
    casts: CastNode,
    schema: Value,
}

impl Target {
    /// The schema as written.
    pub fn schema(&self) -> &Value {
        &self.schema
    }
}

/// What the schema-driven cast does to one scalar leaf.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeafCast {
    pub to: Option<Cast>,
    pub empty_is_null: bool,
}

/// The target schema compiled for one record shape (see `direct`), flattened into checks of the
/// record's slots: the object structure is decided when compiling, and each leaf is checked here
/// or by the jsonschema validator of its own subschema. Compiled only from keywords whose
/// meaning on that shape is exactly this, so it agrees with the full validator.
#[derive(Clone, Default)]
pub struct ShapeCheck {
    /// No record of the shape is valid (the schema wants something else than an object, names a
    /// key the shape lacks in `required`, or closes an object the shape adds keys to).
    never: bool,
    /// What each slot must hold, by slot.
    slots: Vec<SlotRule>,
}

#[derive(Clone, Default)]
struct SlotRule {
    /// `required` wants it present (nested objects always are).
    required: bool,
    /// The check of its value, when present.
    value: Option<LeafRule>,
}

#[derive(Clone)]
enum LeafRule {
    Check(Box<LeafCheck>),
    /// The schema allows no value here (`false`).
    Absent,
}

/// Keywords an object node of the shape may have: anything else makes the shape check
/// unavailable (records are then validated as values by the full validator).
const OBJECT_KEYWORDS: [&str; 16] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$defs",
    "definitions",
];

impl ShapeCheck {
    pub fn is_valid(&self, slots: &Slots<'_>, scratch: &mut Scratch) -> bool {
        !self.never
            && slots.len() == self.slots.len()
            && slots.iter().zip(&self.slots).all(|(v, rule)| match (v, &rule.value) {
                (None, _) => !rule.required,
                (Some(_), None) => true,
                (Some(v), Some(LeafRule::Check(leaf))) => leaf.is_valid(v, scratch),
                (Some(_), Some(LeafRule::Absent)) => false,
            })
    }
}

/// A leaf's subschema: the simple assertions checked here, the rest (patterns, formats,
/// combinators, …) by a jsonschema validator of just those keywords. A leaf is a scalar, and
/// on a scalar these keywords are independent of each other, so the split changes nothing.
#[derive(Default)]
pub struct LeafCheck {
    /// Bit set of `TYPE_*`; `None`: no `type` keyword.
    types: Option<u8>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    minimum: Option<Bound>,
    maximum: Option<Bound>,
    exclusive_minimum: Option<Bound>,
    exclusive_maximum: Option<Bound>,
    /// `enum` (or `const` as a one-element enum).
    one_of_values: Vec<Vec<Value>>,
    rest: Option<jsonschema::Validator>,
    /// The schema `rest` was compiled from.
    rest_schema: Option<Value>,
}

/// A clone compiles its own validator: a validator's regexes keep their scratch space in a pool,
/// and threads sharing one pool contend for it on every record.
impl Clone for LeafCheck {
    fn clone(&self) -> Self {
        LeafCheck {
            types: self.types,
            min_length: self.min_length,
            max_length: self.max_length,
            minimum: self.minimum,
            maximum: self.maximum,
            exclusive_minimum: self.exclusive_minimum,
            exclusive_maximum: self.exclusive_maximum,
            one_of_values: self.one_of_values.clone(),
            rest: self
                .rest_schema
                .as_ref()
                .map(|schema| validator_options().build(schema).expect("this schema compiled before")),
            rest_schema: self.rest_schema.clone(),
        }
    }
}

const TYPE_NULL: u8 = 1;
const TYPE_BOOLEAN: u8 = 2;
const TYPE_INTEGER: u8 = 4;
const TYPE_NUMBER: u8 = 8;
const TYPE_STRING: u8 = 16;

/// A numeric limit in the representation serde_json parsed it into.
#[derive(Debug, Clone, Copy)]
enum Bound {
    Int(i64),
    Float(f64),
}

/// Integers up to 2^53 convert to `f64` exactly.
const EXACT: i64 = 1 << 53;

impl Bound {
    fn of(v: &Value) -> Option<Bound> {
        let n = v.as_number()?;
        match (n.as_i64(), n.is_f64()) {
            (Some(i), _) => Some(Bound::Int(i)),
            (None, true) => n.as_f64().map(Bound::Float),
            (None, false) => None,
        }
    }

    /// `value` compared to the limit, where that comparison is exact in our arithmetic.
    fn cmp(self, value: &serde_json::Number) -> Option<std::cmp::Ordering> {
        match (value.as_i64(), value.is_f64(), self) {
            (Some(v), _, Bound::Int(b)) => Some(v.cmp(&b)),
            (Some(v), _, Bound::Float(b)) if v.abs() <= EXACT => (v as f64).partial_cmp(&b),
            (None, true, Bound::Int(b)) if b.abs() <= EXACT => value.as_f64()?.partial_cmp(&(b as f64)),
            (None, true, Bound::Float(b)) => value.as_f64()?.partial_cmp(&b),
            _ => None,
        }
    }
}

fn type_bits(v: &Value) -> Option<u8> {
    let bit = |t: &Value| match t.as_str()? {
        "null" => Some(TYPE_NULL),
        "boolean" => Some(TYPE_BOOLEAN),
        "integer" => Some(TYPE_INTEGER),
        "number" => Some(TYPE_NUMBER),
        "string" => Some(TYPE_STRING),
        "object" | "array" => Some(0),
        _ => None,
    };
    match v {
        Value::Array(ts) => ts.iter().try_fold(0, |acc, t| Some(acc | bit(t)?)),
        t => bit(t),
    }
}

/// Keywords that assert nothing.
const ANNOTATIONS: [&str; 9] =
    ["$schema", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"];

impl LeafCheck {
    fn compile(schema: &Map<String, Value>, draft: Option<&Value>) -> Option<LeafCheck> {
        let mut leaf = LeafCheck::default();
        let mut rest = Map::new();
        // Draft 4's boolean exclusiveMinimum/Maximum modify minimum/maximum: leave them together.
        let modifies = |k: &str| schema.get(k).is_some_and(Value::is_boolean);
        for (k, v) in schema {
            let native = match k.as_str() {
                k if ANNOTATIONS.contains(&k) => true,
                "type" => type_bits(v).map(|t| leaf.types = Some(t)).is_some(),
                "minLength" => v.as_u64().map(|n| leaf.min_length = Some(n)).is_some(),
                "maxLength" => v.as_u64().map(|n| leaf.max_length = Some(n)).is_some(),
                "minimum" if !modifies("exclusiveMinimum") => Bound::of(v).map(|b| leaf.minimum = Some(b)).is_some(),
                "maximum" if !modifies("exclusiveMaximum") => Bound::of(v).map(|b| leaf.maximum = Some(b)).is_some(),
                "exclusiveMinimum" => Bound::of(v).map(|b| leaf.exclusive_minimum = Some(b)).is_some(),
                "exclusiveMaximum" => Bound::of(v).map(|b| leaf.exclusive_maximum = Some(b)).is_some(),
                "enum" => v.as_array().map(|values| leaf.one_of_values.push(values.clone())).is_some(),
                "const" => {
                    leaf.one_of_values.push(vec![v.clone()]);
                    true
                }
                _ => false,
            };
            if !native {
                rest.insert(k.clone(), v.clone());
            }
        }
        if !rest.is_empty() {
            if let Some(d) = draft {
                rest.insert("$schema".into(), d.clone());
            }
            let rest = Value::Object(rest);
            leaf.rest = Some(validator_options().build(&rest).ok()?);
            leaf.rest_schema = Some(rest);
        }
        Some(leaf)
    }

    /// `true`: valid. `false`: invalid, or not decidable here.
    fn is_valid(&self, v: &Scalar<'_>, scratch: &mut Scratch) -> bool {
        if let Some(types) = self.types {
            let bits = match v {
                Scalar::Null => TYPE_NULL,
                Scalar::Bool(_) => TYPE_BOOLEAN,
                Scalar::Str(_) => TYPE_STRING,
                Scalar::Num(n) if n.is_f64() => TYPE_NUMBER,
                Scalar::Num(_) => TYPE_NUMBER | TYPE_INTEGER,
            };
            if types & bits == 0 {
                return false;
            }
        }
        match v {
            Scalar::Str(s) => {
                // A character takes one to four bytes: the byte length mostly decides without
                // counting characters.
                let bytes = s.len() as u64;
                let chars = || s.chars().count() as u64;
                if self.min_length.is_some_and(|m| bytes.div_ceil(4) < m && chars() < m)
                    || self.max_length.is_some_and(|m| bytes > m && chars() > m)
                {
                    return false;
                }
            }
            Scalar::Num(n) => {
                let holds = |bound: Option<Bound>, allowed: fn(std::cmp::Ordering) -> bool| {
                    bound.is_none_or(|b| b.cmp(n).is_some_and(allowed))
                };
                if !(holds(self.minimum, std::cmp::Ordering::is_ge)
                    && holds(self.maximum, std::cmp::Ordering::is_le)
                    && holds(self.exclusive_minimum, std::cmp::Ordering::is_gt)
                    && holds(self.exclusive_maximum, std::cmp::Ordering::is_lt))
                {
                    return false;
                }
            }
            _ => {}
        }
        for values in &self.one_of_values {
            let found = values.iter().any(|e| match (v, e) {
                (Scalar::Str(s), Value::String(e)) => text_eq(s, e),
                (Scalar::Null, Value::Null) => true,
                (Scalar::Bool(b), Value::Bool(e)) => b == e,
                // Same representation: equal. 1 vs 1.0 is left to the full validator.
                (Scalar::Num(n), Value::Number(e)) => n == e,
                _ => false,
            });
            if !found {
                return false;
            }
        }
        match &self.rest {
            Some(validator) => rest_valid(self, validator, v, scratch),
            None => true,
        }
    }
}

/// Per-thread state of leaf validation: a reused text buffer and the recent outcomes of the
/// `rest` validators on texts. Those are mostly pattern checks, costly next to everything else a
/// record takes, while business data repeats its values (dates, codes, the order number on every
/// line of an order); the outcome of a subschema on a value never changes.
pub struct Scratch {
    text: String,
    /// Direct-mapped by hash; a collision replaces the entry.
    memo: Vec<Remembered>,
}

/// A leaf validator's outcome on a text.
#[derive(Clone, Default)]
struct Remembered {
    hash: u64,
    /// The `LeafCheck`'s address: each thread validates with its own, which stays put.
    leaf: usize,
    text: String,
    valid: bool,
}

impl Scratch {
    const MEMO_SLOTS: usize = 1024;
    /// Longer texts are validated every time: they rarely repeat, and would fill the memo.
    const MEMO_MAX_TEXT: usize = 64;
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch { text: String::new(), memo: vec![Remembered::default(); Self::MEMO_SLOTS] }
    }
}

fn rest_valid(leaf: &LeafCheck, validator: &jsonschema::Validator, v: &Scalar<'_>, scratch: &mut Scratch) -> bool {
    if let Scalar::Str(s) = v
        && s.len() <= Scratch::MEMO_MAX_TEXT
    {
        let id = leaf as *const LeafCheck as usize;
        let mut hasher = rustc_hash::FxHasher::default();
        hasher.write_usize(id);
        hasher.write(s.as_bytes());
        let hash = hasher.finish();
        let slot = hash as usize % Scratch::MEMO_SLOTS;
        let seen = &scratch.memo[slot];
        if seen.hash == hash && seen.leaf == id && text_eq(&seen.text, s) {
            return seen.valid;
        }
        let valid = text_valid(validator, s, &mut scratch.text);
        let entry = &mut scratch.memo[slot];
        entry.text.clear();
        entry.text.push_str(s);
        (entry.hash, entry.leaf, entry.valid) = (hash, id, valid);
        return valid;
    }
    match v {
        Scalar::Null => validator.is_valid(&Value::Null),
        Scalar::Bool(b) => validator.is_valid(&Value::Bool(*b)),
        Scalar::Num(n) => validator.is_valid(&Value::Number(n.clone())),
        Scalar::Str(s) => text_valid(validator, s, &mut scratch.text),
    }
}

/// The text goes into a reused buffer: no allocation per leaf.
fn text_valid(validator: &jsonschema::Validator, s: &str, buffer: &mut String) -> bool {
    buffer.clear();
    buffer.push_str(s);
    let value = Value::String(std::mem::take(buffer));
    let valid = validator.is_valid(&value);
    if let Value::String(buf) = value {
        *buffer = buf;
    }
    valid
}

fn mentions_references(schema: &Value) -> bool {
    match schema {
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| matches!(k.as_str(), "$ref" | "$dynamicRef" | "$recursiveRef") || mentions_references(v)),
        Value::Array(items) => items.iter().any(mentions_references),
        _ => false,
    }
}

fn validator_options() -> jsonschema::ValidationOptions<'static> {
    jsonschema::options().should_validate_formats(true)
}

#[derive(Debug)]
pub struct Violation {
    pub pointer: String,
    pub keyword: String,
    pub message: String,
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Follows a local `$ref` (`#/$defs/x`, `#/definitions/x`) a few levels.
fn resolve<'a>(root: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..8 {
        match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            Some(ptr) => match root.pointer(ptr) {
                Some(s) => schema = s,
                None => break,
            },
            None => break,
        }
    }
    schema
}

fn cast_node(root: &Value, schema: &Value, depth: usize) -> CastNode {
    let schema = resolve(root, schema);
    let mut node = CastNode::default();
    if depth > 32 {
        return node;
    }
    let types = types_of(schema);
    if !types.contains(&"string") {
        node.to = if types.contains(&"integer") {
            Some(Cast::Integer)
        } else if types.contains(&"number") {
            Some(Cast::Number)
        } else if types.contains(&"boolean") {
            Some(Cast::Boolean)
        } else {
            None
        };
        node.empty_is_null = types.contains(&"null");
    } else if types.len() == 1 {
        node.to = Some(Cast::String);
    }
    if let Some(Value::Object(props)) = schema.get("properties") {
        for (k, s) in props {
            node.properties.push((k.clone(), cast_node(root, s, depth + 1)));
        }
    }
    if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
        node.items = Some(Box::new(cast_node(root, items, depth + 1)));
    }
    node
}

fn apply(node: &CastNode, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if let Some((_, n)) = node.properties.iter().find(|(name, _)| name == k) {
                    apply(n, v);
                }
            }
        }
        Value::Array(items) => {
            if let Some(n) = &node.items {
                items.iter_mut().for_each(|v| apply(n, v));
            }
        }
        Value::String(s) if node.empty_is_null && s.trim().is_empty() => *value = Value::Null,
        Value::String(s) => {
            // A failed cast keeps the text: validation then rejects it with the schema's words.
            if let Some(to) = node.to.filter(|&t| t != Cast::String)
                && let Some(v) = cast_text(s, to)
            {
                *value = v;
            }
        }
        Value::Number(_) | Value::Bool(_) if node.to == Some(Cast::String) => {
            *value = Value::String(value.to_string());
        }
        _ => {}
    }
}

/// Line and column of a byte offset, 1-based.
pub fn line_col(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    (line, col)
}

fn schema_error(src: &Source<'_>, line: Option<u64>, column: Option<u64>, message: String) -> EngineError {
    EngineError::Schema { file: src.name.to_owned(), line, column, message }
}

impl Target {
    pub fn compile(src: Source<'_>) -> Result<Target, EngineError> {
        let schema: Value = serde_json::from_str(src.text).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
            schema_error(&src, Some(e.line() as u64), Some(e.column() as u64), format!("not valid JSON: {msg}"))
        })?;
        if !schema.is_object() && !schema.is_boolean() {
            return Err(schema_error(&src, None, None, "a JSON Schema must be an object (or true/false)".into()));
        }
        let validator = validator_options().build(&schema).map_err(|e| {
            let at = e.instance_path().as_str().to_owned();
            let pos = find_pointer(src.text, &at);
            let place = if at.is_empty() { String::new() } else { format!(" (at {at})") };
            schema_error(&src, pos.map(|p| p.0), pos.map(|p| p.1), format!("not a valid JSON Schema{place}: {e}"))
        })?;
        let casts = cast_node(&schema, &schema, 0);
        Ok(Target { validator, casts, schema })
    }

    /// The cast `cast` applies to the scalar at `path` of a record.
    pub fn leaf_cast(&self, path: &[String]) -> LeafCast {
        let mut node = &self.casts;
        for key in path {
            match node.properties.iter().find(|(name, _)| name == key) {
                Some((_, n)) => node = n,
                None => return LeafCast::default(),
            }
        }
        LeafCast { to: node.to, empty_is_null: node.empty_is_null }
    }

    /// The schema compiled for records of this shape; `None` where it uses keywords the shape
    /// check does not model.
    pub fn shape_check(&self, root: &[Entry]) -> Option<ShapeCheck> {
        fn slots(entries: &[Entry]) -> usize {
            entries
                .iter()
                .map(|e| match &e.node {
                    Node::Leaf(slot) => slot + 1,
                    Node::Object(children) => slots(children),
                })
                .max()
                .unwrap_or(0)
        }
        let mut check = ShapeCheck { never: false, slots: vec![SlotRule::default(); slots(root)] };
        self.object_check(&self.schema, root, &mut check)?;
        Some(check)
    }

    fn object_check(&self, schema: &Value, entries: &[Entry], check: &mut ShapeCheck) -> Option<()> {
        let obj = match schema {
            Value::Bool(true) => return Some(()),
            Value::Bool(false) => {
                check.never = true;
                return Some(());
            }
            Value::Object(obj) => obj,
            _ => return None,
        };
        if obj.keys().any(|k| !OBJECT_KEYWORDS.contains(&k.as_str())) {
            return None;
        }
        let mut never = || {
            check.never = true;
            Some(())
        };
        match obj.get("type") {
            None => {}
            Some(Value::String(t)) if t == "object" => {}
            Some(Value::Array(ts)) if ts.iter().any(|t| t == "object") => {}
            Some(_) => return never(),
        }
        let properties = obj.get("properties").and_then(Value::as_object);
        let closed = match obj.get("additionalProperties") {
            None | Some(Value::Bool(true)) => false,
            Some(Value::Bool(false)) => true,
            Some(_) if entries.iter().all(|e| properties.is_some_and(|p| p.contains_key(&e.key))) => false,
            Some(_) => return None,
        };
        let mut required = Vec::new();
        for name in obj.get("required").and_then(Value::as_array).into_iter().flatten() {
            match entries.iter().find(|e| Some(e.key.as_str()) == name.as_str()) {
                Some(Entry { node: Node::Leaf(slot), .. }) => required.push(*slot),
                Some(_) => {}
                None => return never(),
            }
        }
        if closed && entries.iter().any(|e| !properties.is_some_and(|p| p.contains_key(&e.key))) {
            return never();
        }
        for slot in required {
            check.slots[slot].required = true;
        }
        for e in entries {
            let Some(sub) = properties.and_then(|p| p.get(&e.key)) else { continue };
            match &e.node {
                Node::Object(children) => self.object_check(sub, children, check)?,
                Node::Leaf(slot) => check.slots[*slot].value = self.leaf_check(sub)?,
            }
        }
        Some(())
    }

    /// A leaf's subschema as a schema of its own (same draft, same options); `Some(None)`: any
    /// value is valid.
    fn leaf_check(&self, schema: &Value) -> Option<Option<LeafRule>> {
        if mentions_references(schema) {
            return None;
        }
        match schema {
            Value::Bool(true) => Some(None),
            Value::Bool(false) => Some(Some(LeafRule::Absent)),
            Value::Object(leaf) => {
                LeafCheck::compile(leaf, self.schema.get("$schema")).map(|l| Some(LeafRule::Check(Box::new(l))))
            }
            _ => None,
        }
    }

    pub fn cast(&self, value: &mut Value) {
        apply(&self.casts, value);
    }

    pub fn is_valid(&self, value: &Value) -> bool {
        self.validator.is_valid(value)
    }

    /// The violations of an invalid value (at most `max`).
    pub fn violations(&self, value: &Value, max: usize) -> Vec<Violation> {
        self.validator
            .iter_errors(value)
            .take(max)
            .map(|e| Violation {
                pointer: e.instance_path().as_str().to_owned(),
                keyword: e.kind().keyword().to_owned(),
                message: e.to_string(),
            })
            .collect()
    }
}

/// Best-effort position of a JSON pointer's last key in the schema text (for error messages).
fn find_pointer(text: &str, pointer: &str) -> Option<(u64, u64)> {
    let mut offset = 0;
    for seg in pointer.split('/').skip(1) {
        let key = format!("\"{}\"", seg.replace("~1", "/").replace("~0", "~"));
        offset += text[offset..].find(&key)?;
    }
    (!pointer.is_empty()).then(|| line_col(text, offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(s: &str) -> Result<Target, EngineError> {
        Target::compile(Source { name: "s.json", text: s })
    }

    #[test]
    fn casts_follow_the_schema() {
        let t = target(r#"{"properties":{"n":{"type":"integer"},"p":{"type":"number"},"o":{"type":["string","null"]},"x":{"type":["integer","null"]},"a":{"items":{"type":"boolean"}}}}"#).unwrap();
        let mut v = json!({"n": "000010", "p": "2.5", "o": "", "x": " ", "a": ["yes", "0"]});
        t.cast(&mut v);
        assert_eq!(v, json!({"n": 10, "p": 2.5, "o": "", "x": null, "a": [true, false]}));
    }

    #[test]
    fn violations_have_pointer_and_keyword() {
        let t = target(r#"{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"q":{"type":"integer","minimum":0}}}"#).unwrap();
        let v = t.violations(&json!({"q": -1}), 10);
        assert_eq!((v[0].pointer.as_str(), v[0].keyword.as_str()), ("/q", "minimum"));
    }

    #[test]
    fn bad_schemas_are_reported() {
        let e = target("{\n  \"type\": \"object\",\n}").err().unwrap();
        assert!(e.to_string().starts_with("s.json line 3"), "{e}");
        let e = target("{\"type\": \"objekt\"}").err().unwrap();
        assert!(e.to_string().contains("not a valid JSON Schema"), "{e}");
    }
}
