//! The first records of a content file, read with the engine's own format readers, as columns:
//! each scalar leaf (a CSV column, a JSON key, an IDoc segment field) with its sampled values.

use serde_json::Value;

use helix_engine::formats::{self, InputOptions, Limits};

use crate::SuggestError;
use crate::lexical::Abbreviations;
use crate::profile::Profile;

/// Records read for a suggestion: enough to see the values' shape, few enough to stay quick.
pub const DEFAULT_SAMPLE_RECORDS: usize = 200;
/// Values of a column that go into the embedded text.
const VALUES_IN_TEXT: usize = 3;

#[derive(Debug, Clone)]
pub struct Column {
    /// The column's name, or its path in nested records (`E1EDK01[0].BELNR`, `customer.name`).
    pub name: String,
    /// The template expression that reads it (`KUNNR`, `record['Order No']`, `E1EDK01[0].BELNR`).
    pub expression: String,
    /// Sampled values as text, one per sampled record (empty where the record lacks it).
    pub values: Vec<String>,
    pub profile: Profile,
    /// Every sampled value was text (CSV, or strings in JSON): text filters such as `trim` apply.
    textual: bool,
}

impl Column {
    pub fn new(name: impl Into<String>, expression: impl Into<String>, values: Vec<String>) -> Self {
        let profile = Profile::of(values.iter().map(String::as_str));
        Self { name: name.into(), expression: expression.into(), values, profile, textual: true }
    }

    pub fn textual(&self) -> bool {
        self.textual
    }

    /// A column of a flat file: the expression is the name, quoted when it is not an identifier.
    pub fn flat(name: &str, values: Vec<String>) -> Self {
        Self::new(name, root_expression(name), values)
    }

    /// What the column is, in words (its name expanded through `abbreviations`), with a few
    /// distinct sample values.
    pub fn text(&self, abbreviations: &Abbreviations) -> String {
        let mut shown: Vec<&str> = Vec::new();
        for v in self.values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
            if !shown.contains(&v) {
                shown.push(v);
            }
            if shown.len() == VALUES_IN_TEXT {
                break;
            }
        }
        let name = abbreviations.phrase(&self.name.replace(['[', ']', '.'], " "));
        if shown.is_empty() { name } else { format!("{name} (e.g. {})", shown.join(", ")) }
    }
}

/// The columns of the first `max_records` records of `content`, in first-seen order.
pub fn read(name: &str, content: &[u8], max_records: usize) -> Result<Vec<Column>, SuggestError> {
    read_as(name, content, &InputOptions::default(), max_records)
}

/// Like [`read`], with a context's `input:` options (format, delimiter, encoding, fixed-width
/// fields, IDoc segments) instead of detection alone.
pub fn read_as(
    name: &str,
    content: &[u8],
    options: &InputOptions,
    max_records: usize,
) -> Result<Vec<Column>, SuggestError> {
    let mut input = content;
    let mut reader = formats::open(name, &mut input, options, Limits::default())
        .map_err(|e| SuggestError::Content(e.to_string()))?
        .records;
    let mut records = Vec::new();
    while records.len() < max_records {
        match reader.next_record().map_err(|e| SuggestError::Content(e.to_string()))? {
            Some(record) if record.problem.is_none() => records.push(record.data.to_json()),
            Some(_) => {}
            None => break,
        }
    }
    if records.is_empty() {
        return Err(SuggestError::Content(format!("{name}: no records to learn from")));
    }
    Ok(columns(&records))
}

/// Columns of already parsed records (objects; other records are skipped).
pub fn columns(records: &[Value]) -> Vec<Column> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut non_text: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut values: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for (i, record) in records.iter().enumerate() {
        let Some(object) = record.as_object() else { continue };
        let mut leaves = Vec::new();
        for (key, value) in object {
            flatten(key.clone(), root_expression(key), value, 0, &mut leaves);
        }
        for (path, expression, text, is_text) in leaves {
            if !is_text {
                non_text.insert(path.clone());
            }
            let column = values.entry(path.clone()).or_insert_with(|| {
                order.push((path, expression));
                Vec::new()
            });
            column.resize(i, String::new());
            column.push(text);
        }
    }
    order
        .into_iter()
        .map(|(path, expression)| {
            let mut vals = values.remove(&path).unwrap_or_default();
            vals.resize(records.len(), String::new());
            let textual = !non_text.contains(&path);
            Column { textual, ..Column::new(path, expression, vals) }
        })
        .collect()
}

const MAX_FLATTEN_DEPTH: usize = 6;

fn flatten(
    path: String,
    expression: String,
    value: &Value,
    depth: usize,
    out: &mut Vec<(String, String, String, bool)>,
) {
    match value {
        Value::Object(map) if depth < MAX_FLATTEN_DEPTH => {
            for (k, v) in map {
                flatten(format!("{path}.{k}"), member(&expression, k), v, depth + 1, out);
            }
        }
        // Repeated segments: the first occurrence stands for the list.
        Value::Array(items) if depth < MAX_FLATTEN_DEPTH => {
            if let Some(first) = items.first() {
                flatten(format!("{path}[0]"), format!("{expression}[0]"), first, depth + 1, out);
            }
        }
        Value::String(s) => out.push((path, expression, s.clone(), true)),
        Value::Null => out.push((path, expression, String::new(), true)),
        other => out.push((path, expression, other.to_string(), false)),
    }
}

const KEYWORDS: &[&str] = &[
    "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else", "for", "record",
    "meta", "loop", "self", "parent", "items",
];

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

fn quoted(name: &str) -> String {
    format!("'{}'", name.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn root_expression(name: &str) -> String {
    if is_identifier(name) { name.to_owned() } else { format!("record[{}]", quoted(name)) }
}

fn member(expression: &str, key: &str) -> String {
    if is_identifier(key) { format!("{expression}.{key}") } else { format!("{expression}[{}]", quoted(key)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_columns_with_expressions() {
        let columns = read("orders.csv", b"KUNNR;Order No;ERDAT\n4711;A-1;20240301\n4712;A-2;\n", 10).unwrap();
        let names: Vec<_> = columns.iter().map(|c| (c.name.as_str(), c.expression.as_str())).collect();
        assert_eq!(names, [("KUNNR", "KUNNR"), ("Order No", "record['Order No']"), ("ERDAT", "ERDAT")]);
        assert_eq!(columns[2].values, ["20240301", ""]);
    }

    #[test]
    fn flattens_nested_records() {
        let records: Vec<Value> = vec![
            serde_json::json!({"id": 1, "customer": {"name": "A", "e-mail": "a@x.de"}, "lines": [{"qty": 2}]}),
            serde_json::json!({"id": 2, "customer": {"name": "B"}, "lines": []}),
        ];
        let columns = columns(&records);
        let names: Vec<_> =
            columns.iter().map(|c| (c.name.as_str(), c.expression.as_str(), c.values.clone())).collect();
        assert_eq!(names[0], ("id", "id", vec!["1".to_owned(), "2".to_owned()]));
        assert_eq!(names[2], ("customer.e-mail", "customer['e-mail']", vec!["a@x.de".to_owned(), String::new()]));
        assert_eq!(names[3], ("lines[0].qty", "lines[0].qty", vec!["2".to_owned(), String::new()]));
    }
}
