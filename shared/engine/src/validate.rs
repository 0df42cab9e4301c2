//! The target JSON Schema: compiled once (draft from `$schema`, 2020-12 by default; draft 7
//! etc. honoured), used for schema-driven casts of mapped text and for per-record validation.

use serde_json::Value;

use crate::error::EngineError;
use crate::mapping::{cast_text, Cast};
use crate::Source;

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
            if let Some(to) = node.to.filter(|&t| t != Cast::String) {
                if let Some(v) = cast_text(s, to) {
                    *value = v;
                }
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
        let validator = jsonschema::options().should_validate_formats(true).build(&schema).map_err(|e| {
            let at = e.instance_path().as_str().to_owned();
            let pos = find_pointer(src.text, &at);
            let place = if at.is_empty() { String::new() } else { format!(" (at {at})") };
            schema_error(&src, pos.map(|p| p.0), pos.map(|p| p.1), format!("not a valid JSON Schema{place}: {e}"))
        })?;
        let casts = cast_node(&schema, &schema, 0);
        Ok(Target { validator, casts })
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
