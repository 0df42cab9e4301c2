//! The suggestion as a draft context (YAML the engine compiles) and as a JSON report.

use serde::Serialize;
use serde_json::Value;

use crate::Suggestion;
use crate::matcher::{Candidate, FieldMatch, MatchOptions, Signals};
use crate::profile::{self, ValueKind};
use crate::sample::Column;
use crate::schema::TargetField;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub source: String,
    pub records_sampled: usize,
    /// `given`, or `inferred` from the sample (then `inferred_schema` holds it).
    pub schema: &'static str,
    pub signals: Signals,
    pub threshold: f32,
    pub fields: Vec<FieldReport>,
    pub unmapped_fields: Vec<String>,
    pub unused_columns: Vec<String>,
    /// Target fields a per-record draft does not propose (arrays).
    pub skipped_fields: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inferred_schema: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldReport {
    pub target: String,
    pub required: bool,
    /// The proposed source column, if any was confident enough.
    pub source: Option<String>,
    pub expression: Option<String>,
    pub confidence: Option<f32>,
    /// The best three columns, best first, with their signals and evidence.
    pub candidates: Vec<Candidate>,
}

fn round(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

/// Without a schema the inferred one has one field per column, in order: each maps to its own.
pub(crate) fn identity(columns: &[Column]) -> Vec<FieldMatch> {
    columns
        .iter()
        .enumerate()
        .map(|(c, column)| FieldMatch {
            chosen: Some(c),
            candidates: vec![Candidate {
                source: column.name.clone(),
                score: 1.0,
                embedding: None,
                lexical: 1.0,
                profile: 1.0,
                evidence: format!("field inferred from this column ({})", column.profile.describe()),
                column: c,
            }],
        })
        .collect()
}

/// The template value of a field: the column read and converted to what the field wants.
fn value_expression(column: &Column, field: &TargetField) -> String {
    let conversion =
        if column.textual() { profile::conversion(&column.profile, &column.values, field) } else { String::new() };
    format!("{{{{ {}{conversion} }}}}", column.expression)
}

/// A one-line YAML comment.
fn comment(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialise")
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    source: &str,
    records_sampled: usize,
    columns: &[Column],
    fields: &[TargetField],
    matches: &[FieldMatch],
    skipped_fields: Vec<String>,
    options: MatchOptions,
    inferred_schema: Option<Value>,
) -> Suggestion {
    let mut yaml = String::new();
    yaml.push_str(&format!("# Draft context proposed by HelixNet for {}: review it before use.\n", comment(source)));
    yaml.push_str("# Each field's comment gives the confidence and evidence of the proposal; the JSON report\n");
    yaml.push_str("# lists the three best candidate columns of every target field.\n");
    yaml.push_str("fields:\n");
    let mut reports = Vec::new();
    let mut unmapped = Vec::new();
    let mut used = vec![false; columns.len()];
    let mut taken_by: Vec<Option<&str>> = vec![None; columns.len()];
    for (field, m) in fields.iter().zip(matches) {
        if let Some(c) = m.chosen {
            taken_by[c] = Some(&field.path);
        }
    }
    for (field, m) in fields.iter().zip(matches) {
        let candidates: Vec<Candidate> = m
            .candidates
            .iter()
            .map(|c| Candidate {
                score: round(c.score),
                embedding: c.embedding.map(round),
                lexical: round(c.lexical),
                profile: round(c.profile),
                ..c.clone()
            })
            .collect();
        let key = yaml_string(&field.path);
        let mut report = FieldReport {
            target: field.path.clone(),
            required: field.required,
            source: None,
            expression: None,
            confidence: None,
            candidates,
        };
        match m.chosen {
            Some(c) => {
                used[c] = true;
                let column = &columns[c];
                let chosen = m.candidates.iter().find(|k| k.column == c);
                let confidence = chosen.map_or(0.0, |k| round(k.score));
                let value = value_expression(column, field);
                yaml.push_str(&format!(
                    "  # {confidence:.2} from {}: {}\n",
                    comment(&column.name),
                    comment(chosen.map_or("", |k| k.evidence.as_str()))
                ));
                let optional_with_gaps =
                    !field.required && column.profile.empty > 0 && column.profile.kind != ValueKind::Empty;
                if optional_with_gaps {
                    let when = if column.textual() {
                        format!("{} | default('') | trim != ''", column.expression)
                    } else {
                        format!("{0} is defined and {0} is not none", column.expression)
                    };
                    yaml.push_str(&format!(
                        "  {key}: {{ value: {}, when: {} }}\n",
                        yaml_string(&value),
                        yaml_string(&when)
                    ));
                } else {
                    yaml.push_str(&format!("  {key}: {}\n", yaml_string(&value)));
                }
                report.source = Some(column.name.clone());
                report.expression = Some(value);
                report.confidence = Some(confidence);
            }
            None => {
                let best = m.candidates.first().map_or_else(
                    || "no source columns".to_owned(),
                    |b| match taken_by[b.column] {
                        Some(other) if b.score >= options.threshold => {
                            format!("best candidate {} ({:.2}) fits {other} better", b.source, b.score)
                        }
                        _ => {
                            format!("best candidate {} scored {:.2}, below {:.2}", b.source, b.score, options.threshold)
                        }
                    },
                );
                let required = if field.required { ", required" } else { "" };
                yaml.push_str(&format!("  # {} is not mapped{required}: {}\n", comment(&field.path), comment(&best)));
                unmapped.push(field.path.clone());
            }
        }
        reports.push(report);
    }
    for path in &skipped_fields {
        yaml.push_str(&format!(
            "  # {} is a list: not proposed; map it with `each:` (docs/context-reference.md)\n",
            comment(path)
        ));
    }
    let unused_columns = columns.iter().zip(&used).filter(|(_, u)| !**u).map(|(c, _)| c.name.clone()).collect();
    let report = Report {
        source: source.to_owned(),
        records_sampled,
        schema: if inferred_schema.is_some() { "inferred" } else { "given" },
        signals: options.signals,
        threshold: options.threshold,
        fields: reports,
        unmapped_fields: unmapped,
        unused_columns,
        skipped_fields,
        inferred_schema: inferred_schema.clone(),
    };
    Suggestion { context_yaml: yaml, report, inferred_schema }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::BagOfWords;
    use crate::{SuggestOptions, suggest};

    const ORDERS: &str = "KUNNR;ERDAT;NETWR;WAERS;Bemerkung\n\
        4711;20240301;1.234,50;EUR;eilig\n\
        4712;20240302;99,00;eur;\n\
        4713;20240303;5,00;USD;\n";

    fn run(context: &str, schema: Option<&serde_json::Value>) -> (Vec<serde_json::Value>, serde_json::Value) {
        let schema_text = schema.map(|s| s.to_string());
        let t = helix_engine::compile(
            Some(helix_engine::Source { name: "draft.yaml", text: context }),
            schema_text.as_deref().map(|text| helix_engine::Source { name: "schema.json", text }),
        )
        .unwrap_or_else(|e| panic!("the draft does not compile: {e}\n{context}"));
        let (mut out, mut rejects) = (Vec::new(), Vec::new());
        let mut run = t.start(&mut out, &mut rejects).unwrap();
        run.feed("orders.csv", &mut ORDERS.as_bytes()).unwrap();
        run.finish().unwrap();
        (serde_json::from_slice(&out).unwrap(), serde_json::from_slice(&rejects).unwrap())
    }

    #[test]
    fn the_draft_runs_through_the_engine() {
        let schema = json!({
            "type": "object",
            "required": ["customer_number", "creation_date", "net_amount", "currency"],
            "properties": {
                "customer_number": {"type": "string"},
                "creation_date": {"type": "string", "format": "date"},
                "net_amount": {"type": "number"},
                "currency": {"type": "string", "enum": ["EUR", "USD"]},
                "remark": {"type": "string", "description": "free text note"},
                "lines": {"type": "array"}
            }
        });
        let s = suggest("orders.csv", ORDERS.as_bytes(), Some(&schema), Some(&BagOfWords), &SuggestOptions::default())
            .unwrap();
        let mapped: Vec<_> = s.report.fields.iter().map(|f| (f.target.as_str(), f.source.as_deref())).collect();
        assert_eq!(
            mapped[..4],
            [
                ("customer_number", Some("KUNNR")),
                ("creation_date", Some("ERDAT")),
                ("net_amount", Some("NETWR")),
                ("currency", Some("WAERS"))
            ]
        );
        assert_eq!(s.report.skipped_fields, ["lines"]);
        let (records, rejects) = run(&s.context_yaml, Some(&schema));
        assert_eq!(rejects["summary"]["records_rejected"], 0, "{rejects}\n{}", s.context_yaml);
        assert_eq!(records[0]["creation_date"], "2024-03-01");
        assert_eq!(records[0]["net_amount"], 1234.5);
        assert_eq!(records[1]["currency"], "EUR");
    }

    #[test]
    fn without_a_schema_it_infers_one_and_maps_every_column() {
        let s = suggest("orders.csv", ORDERS.as_bytes(), None, None, &SuggestOptions::default()).unwrap();
        let inferred = s.inferred_schema.clone().unwrap();
        assert_eq!(inferred["properties"]["created_date"]["format"], "date");
        assert_eq!(inferred["properties"]["net_value_amount"]["type"], "number");
        assert_eq!(inferred["required"], json!(["customer_number", "created_date", "net_value_amount", "currency"]));
        let (records, rejects) = run(&s.context_yaml, Some(&inferred));
        assert_eq!(rejects["summary"]["records_rejected"], 0, "{rejects}\n{}", s.context_yaml);
        assert_eq!(records.len(), 3);
        assert_eq!(records[0]["bemerkung"], "eilig");
        assert!(records[1].get("bemerkung").is_none());
    }
}
