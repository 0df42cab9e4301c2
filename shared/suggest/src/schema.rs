//! Target fields read from a JSON Schema, and a schema inferred from a sample when none is given.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::SuggestError;
use crate::lexical::{self, Abbreviations};
use crate::profile::ValueKind;
use crate::sample::Column;

/// One scalar field of the target schema; nested objects give dotted paths (`customer.name`),
/// which is how a context names them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetField {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", rename = "enum")]
    pub enum_values: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// Required here and in every enclosing object.
    pub required: bool,
}

impl TargetField {
    /// The last path segment: the field's own name.
    pub fn name(&self) -> &str {
        self.path.rsplit('.').next().unwrap_or(&self.path)
    }

    /// What the field means, in words: its name expanded through `abbreviations`, title and
    /// description.
    pub fn text(&self, abbreviations: &Abbreviations) -> String {
        let mut text = abbreviations.phrase(self.name());
        if let Some(title) = &self.title
            && lexical::fold(title) != text
        {
            text = format!("{text}; {title}");
        }
        if let Some(description) = &self.description {
            text = format!("{text}: {description}");
        }
        text
    }

    /// The name expanded through `abbreviations`, and the title: what the field is called,
    /// without the description.
    pub fn name_text(&self, abbreviations: &Abbreviations) -> String {
        let text = abbreviations.phrase(self.name());
        match &self.title {
            Some(title) if lexical::fold(title) != text => format!("{text}; {title}"),
            _ => text,
        }
    }

    /// Expanded words of the name and the title, for the lexical signal.
    pub fn name_words(&self, abbreviations: &Abbreviations) -> Vec<Vec<String>> {
        let mut names = vec![abbreviations.expand(self.name())];
        names.extend(self.title.iter().map(|t| abbreviations.expand(t)));
        names
    }
}

/// Nesting deeper than this is not followed (recursive `$ref`s).
const MAX_DEPTH: usize = 8;

/// The scalar fields of a schema's top-level object, depth first in document order; array fields
/// are listed in `skipped` (a per-record draft does not propose list mappings).
pub fn target_fields(schema: &Value) -> Result<(Vec<TargetField>, Vec<String>), SuggestError> {
    let mut fields = Vec::new();
    let mut skipped = Vec::new();
    let root = resolve(schema, schema);
    if root.get("properties").and_then(Value::as_object).is_none() {
        return Err(SuggestError::Schema("the target schema has no top-level `properties` to map".into()));
    }
    collect(schema, root, "", true, 0, &mut fields, &mut skipped);
    Ok((fields, skipped))
}

fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    let mut node = node;
    for _ in 0..MAX_DEPTH {
        match node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => match root.pointer(pointer) {
                Some(target) => node = target,
                None => return node,
            },
            None => break,
        }
        // `anyOf: [{$ref}, {type: null}]`, the usual nullable reference.
    }
    if let Some(first) = ["anyOf", "oneOf", "allOf"]
        .iter()
        .find_map(|k| node.get(*k)?.as_array()?.iter().find(|s| s.get("type") != Some(&json!("null"))))
        && node.get("properties").is_none()
        && node.get("type").is_none()
    {
        return resolve(root, first);
    }
    node
}

fn types_of(node: &Value) -> Vec<String> {
    match node.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ if node.get("properties").is_some() => vec!["object".into()],
        _ if node.get("enum").is_some() => vec!["string".into()],
        _ => Vec::new(),
    }
}

fn collect(
    root: &Value,
    node: &Value,
    prefix: &str,
    required: bool,
    depth: usize,
    out: &mut Vec<TargetField>,
    skipped: &mut Vec<String>,
) {
    let Some(properties) = node.get("properties").and_then(Value::as_object) else { return };
    let required_names: Vec<&str> = node
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, raw) in properties {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        let schema = resolve(root, raw);
        let field_required = required && required_names.contains(&name.as_str());
        let types = types_of(schema);
        if types.iter().any(|t| t == "object") && schema.get("properties").is_some() {
            if depth + 1 < MAX_DEPTH {
                collect(root, schema, &path, field_required, depth + 1, out, skipped);
            }
            continue;
        }
        if types.iter().any(|t| t == "array") {
            skipped.push(path);
            continue;
        }
        let text = |k: &str| schema.get(k).or_else(|| raw.get(k)).and_then(Value::as_str).map(str::to_owned);
        out.push(TargetField {
            path,
            title: text("title"),
            description: text("description"),
            types,
            format: text("format"),
            enum_values: schema.get("enum").and_then(Value::as_array).map(|values| {
                values
                    .iter()
                    .filter(|v| !v.is_null())
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect()
            }),
            pattern: text("pattern"),
            min_length: schema.get("minLength").and_then(Value::as_u64),
            max_length: schema.get("maxLength").and_then(Value::as_u64),
            required: field_required,
        });
    }
}

/// A draft-2020-12 schema for the sample, one property per column: the type and format its
/// values show, `required` when no sampled value is empty, an `enum` for a few repeated codes.
/// Property names are the columns' expanded names in snake_case (`KUNNR` → `customer_number`).
pub fn infer(columns: &[Column]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (column, name) in columns.iter().zip(inferred_names(columns)) {
        let profile = &column.profile;
        let mut property = Map::new();
        let (ty, format) = match &profile.kind {
            ValueKind::Integer { leading_zeros: false } => ("integer", None),
            ValueKind::Decimal { .. } => ("number", None),
            ValueKind::Boolean => ("boolean", None),
            ValueKind::Date { .. } => ("string", Some("date")),
            ValueKind::DateTime { .. } => ("string", Some("date-time")),
            ValueKind::Email => ("string", Some("email")),
            _ => ("string", None),
        };
        let nullable = profile.empty > 0;
        property.insert("type".into(), if nullable { json!([ty, "null"]) } else { json!(ty) });
        if let Some(format) = format {
            property.insert("format".into(), json!(format));
        }
        property.insert("title".into(), json!(column.name));
        let present: Vec<&str> = column.values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
        let codes = matches!(profile.kind, ValueKind::Text) && profile.max_len <= 20;
        if codes && profile.distinct >= 1 && profile.distinct <= 8 && present.len() >= 3 * profile.distinct {
            let mut values: Vec<&str> = present.clone();
            values.sort_unstable();
            values.dedup();
            let mut values: Vec<Value> = values.into_iter().map(Value::from).collect();
            if nullable {
                values.push(Value::Null);
            }
            property.insert("enum".into(), Value::Array(values));
        }
        if !nullable && profile.count > 0 {
            required.push(json!(name));
        }
        properties.insert(name, Value::Object(property));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Inferred from the sample",
        "type": "object",
        "properties": properties,
        "required": required,
    })
}

/// The property name `infer` gives each column, unique within the schema.
pub fn inferred_names(columns: &[Column]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for column in columns {
        let words = lexical::expand(&column.name.replace(['[', ']', '.'], " "));
        let mut base: String = words.join("_").chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            base = format!("field_{base}");
        }
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_nested_objects_refs_and_requirements() {
        let schema = json!({
            "type": "object",
            "required": ["id", "customer"],
            "properties": {
                "id": {"type": "string", "title": "Order ID"},
                "customer": {"$ref": "#/$defs/customer"},
                "lines": {"type": "array", "items": {"type": "object"}},
                "status": {"enum": ["open", "done"]}
            },
            "$defs": {"customer": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"}, "email": {"type": ["string", "null"], "format": "email"}}}}
        });
        let (fields, skipped) = target_fields(&schema).unwrap();
        let paths: Vec<_> = fields.iter().map(|f| (f.path.as_str(), f.required)).collect();
        assert_eq!(paths, [("id", true), ("customer.name", true), ("customer.email", false), ("status", false)]);
        assert_eq!(skipped, ["lines"]);
        assert_eq!(fields[3].enum_values.as_deref(), Some(&["open".to_owned(), "done".to_owned()][..]));
        assert!(target_fields(&json!({"type": "string"})).is_err());
    }
}
