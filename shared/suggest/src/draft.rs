//! The suggestion as a draft context (YAML the engine compiles) and as a JSON report.

use std::collections::BTreeMap;

use helix_domain::ColumnSignature;
use serde::Serialize;
use serde_json::Value;

use crate::Suggestion;
use crate::matcher::{Candidate, FieldMatch, MatchOptions, Signals};
use crate::profile;
use crate::sample::Column;
use crate::schema::TargetField;
use crate::values::ValueMap;

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
    /// Required fields the draft leaves unmapped: the schema rejects every record until they
    /// are mapped.
    pub rejecting_fields: Vec<String>,
    /// Every source column: what a review shows of it, and what the mapping memory keeps.
    pub columns: Vec<ColumnReport>,
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
    /// The translation of the proposed column's values into the field's enum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_map: Option<ValueMap>,
    /// The best candidate columns, best first, with their signals and evidence: the best and
    /// `top_k` alternatives.
    pub candidates: Vec<Candidate>,
    /// The proposal came from the team's mapping memory (its evidence says whose).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub remembered: bool,
    /// The condition under which the proposed column fills the field (an optional field whose
    /// column has empty values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// How a required field that no column was confident enough for is filled anyway, to be
    /// checked: without a value the schema rejects every record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// The template value each candidate column would give the field, converted as the field
    /// needs (without a value map): what a review that picks another column uses.
    pub expressions: BTreeMap<String, String>,
}

/// A source column as a review shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnReport {
    pub name: String,
    /// The template expression that reads it.
    pub expression: String,
    /// Text values: a value map's keys are the trimmed values.
    pub textual: bool,
    pub signature: ColumnSignature,
}

fn round(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

fn rounded(c: &Candidate) -> Candidate {
    Candidate {
        confidence: round(c.confidence),
        score: round(c.score),
        embedding: c.embedding.map(round),
        lexical: round(c.lexical),
        profile: round(c.profile),
        ..c.clone()
    }
}

/// How a draft fills a required field that no column was confident enough for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Fallback {
    /// The record's own key, which no column holds: each record's index in the job.
    GeneratedKey,
    /// The enum's value for "not known".
    Unknown { value: Value },
}

/// The words that end the name of a key field.
const KEY_WORDS: &[&str] = &["id", "identifier", "key", "number", "no", "nr"];

/// A field that holds the record's own key: named as a key (`location_id`, `KeyNo`), a number or
/// text without an enum, and either the schema's first field or described as unique.
fn own_key(field: &TargetField, first: bool) -> bool {
    let scalar = field.types.iter().any(|t| t == "integer" || t == "string") && field.enum_values.is_none();
    let named = crate::lexical::tokens(field.name()).last().is_some_and(|w| KEY_WORDS.contains(&w.as_str()));
    let unique = field.description.as_deref().is_some_and(|d| d.to_lowercase().contains("unique"));
    scalar && named && (first || unique)
}

/// Fills the required fields the assignment left unmapped where it can, as values to check: a
/// generated key for the record's own key, else the enum's "unknown". A column below the
/// threshold is not guessed instead: on the evaluation sets such guesses were right about half
/// the time and accepted hardly more records. A field it cannot fill stays unmapped and is
/// reported as rejecting every record.
pub(crate) fn fallbacks(fields: &[TargetField], matches: &[FieldMatch]) -> Vec<Option<Fallback>> {
    fields
        .iter()
        .zip(matches)
        .enumerate()
        .map(|(f, (field, m))| {
            if !field.required || m.chosen.is_some() {
                None
            } else if own_key(field, f == 0) {
                Some(Fallback::GeneratedKey)
            } else {
                crate::values::unknown_value(field).map(|value| Fallback::Unknown { value })
            }
        })
        .collect()
}

/// Without a schema the inferred one has one field per column, in order: each maps to its own.
pub(crate) fn identity(columns: &[Column]) -> Vec<FieldMatch> {
    columns
        .iter()
        .enumerate()
        .map(|(c, column)| {
            let candidate = Candidate {
                source: column.name.clone(),
                confidence: 1.0,
                score: 1.0,
                embedding: None,
                name_embedding: None,
                lexical: 1.0,
                profile: 1.0,
                evidence: format!("field inferred from this column ({})", column.profile.describe()),
                column: c,
                features: Default::default(),
            };
            FieldMatch { chosen: Some(candidate.clone()), candidates: vec![candidate] }
        })
        .collect()
}

/// The template value of a field: the column read and converted to what the field wants. A
/// column whose values a map translates is only trimmed: the map's keys are the trimmed values.
fn value_expression(column: &Column, field: &TargetField, mapped: bool) -> String {
    let conversion = match (column.textual(), mapped) {
        (false, _) => String::new(),
        (true, true) => " | trim".to_owned(),
        (true, false) => profile::conversion(&column.profile, &column.values, field),
    };
    if column.textual()
        && !mapped
        && let Some(part) = profile::date_part(&column.profile, field, &column.expression)
    {
        return part;
    }
    let suffix = if column.textual() { profile::suffix(&column.profile, field) } else { "" };
    format!("{{{{ {}{conversion} }}}}{suffix}", column.expression)
}

/// A one-line YAML comment.
fn comment(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialise")
}

/// Comment lines naming a field's other candidates, with confidence and evidence.
fn alternatives(yaml: &mut String, candidates: &[Candidate], chosen: Option<usize>, top_k: usize) {
    for k in candidates.iter().filter(|k| Some(k.column) != chosen).take(top_k) {
        yaml.push_str(&format!("  #   or {} ({:.2}): {}\n", comment(&k.source), k.confidence, comment(&k.evidence)));
    }
}

/// The value map's comment: what it translates and what it leaves out.
fn value_map_comment(map: &ValueMap) -> String {
    const SHOWN: usize = 8;
    let mut parts: Vec<String> = map
        .entries
        .iter()
        .take(SHOWN)
        .map(|e| {
            format!("{} -> {} ({} {:.2})", e.source, e.target, format!("{:?}", e.how).to_lowercase(), e.confidence)
        })
        .collect();
    if map.entries.len() > SHOWN {
        parts.push(format!("{} more in the report", map.entries.len() - SHOWN));
    }
    let mut text = format!("values: {}", parts.join(", "));
    if !map.unmapped.is_empty() {
        let shown: Vec<&str> = map.unmapped.iter().take(SHOWN).map(String::as_str).collect();
        let more = map.unmapped.len().saturating_sub(SHOWN);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        text.push_str(&format!(
            "; no target value for {}{more}: records with them are rejected until the map is completed",
            shown.join(", ")
        ));
    }
    comment(&text)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn build(
    source: &str,
    records_sampled: usize,
    columns: &[Column],
    fields: &[TargetField],
    matches: &[FieldMatch],
    remembered: &[bool],
    fallbacks: &[Option<Fallback>],
    value_maps: Vec<Option<ValueMap>>,
    skipped_fields: Vec<String>,
    options: MatchOptions,
    inferred_schema: Option<Value>,
) -> Suggestion {
    let mut yaml = String::new();
    yaml.push_str(&format!("# Draft context proposed by HelixNet for {}: review it before use.\n", comment(source)));
    yaml.push_str("# Each field's comment gives the confidence (about how often a proposal that sure was right on\n");
    yaml.push_str("# the evaluation sets) and the evidence, then the other candidate columns (`or`). Fields left\n");
    yaml.push_str("# unmapped had no column clearly theirs; the JSON report lists every candidate.\n");
    // `fields:` with nothing under it is null, which no context takes: a draft that maps no
    // field says `{}` instead (the comments below still list every field's candidates).
    let fields_at = yaml.len();
    yaml.push_str("fields:\n");
    let mut reports = Vec::new();
    let mut unmapped = Vec::new();
    let mut rejecting = Vec::new();
    let mut used = vec![false; columns.len()];
    let mut taken_by: Vec<Option<&str>> = vec![None; columns.len()];
    for (field, m) in fields.iter().zip(matches) {
        if let Some(c) = &m.chosen {
            taken_by[c.column] = Some(&field.path);
        }
    }
    let mut value_maps = value_maps.into_iter();
    for (f, (field, m)) in fields.iter().zip(matches).enumerate() {
        let value_map = value_maps.next().flatten();
        let candidates: Vec<Candidate> = m.candidates.iter().map(rounded).collect();
        let expressions = m
            .candidates
            .iter()
            .map(|k| (k.source.clone(), value_expression(&columns[k.column], field, false)))
            .collect();
        let key = yaml_string(&field.path);
        let fallback = fallbacks.get(f).cloned().flatten();
        let mut report = FieldReport {
            target: field.path.clone(),
            required: field.required,
            source: None,
            expression: None,
            confidence: None,
            value_map: None,
            candidates,
            remembered: remembered.get(f).copied().unwrap_or(false),
            when: None,
            fallback: fallback.clone(),
            expressions,
        };
        match &m.chosen {
            Some(chosen) => {
                used[chosen.column] = true;
                let column = &columns[chosen.column];
                let confidence = round(chosen.confidence);
                let value = value_expression(column, field, value_map.is_some());
                yaml.push_str(&format!(
                    "  # {confidence:.2} from {}: {}\n",
                    comment(&column.name),
                    comment(&chosen.evidence)
                ));
                alternatives(&mut yaml, &m.candidates, Some(chosen.column), options.top_k);
                let mut parts = vec![format!("value: {}", yaml_string(&value))];
                if let Some(map) = &value_map {
                    yaml.push_str(&format!("  # {}\n", value_map_comment(map)));
                    if !map.entries.is_empty() {
                        parts.push(format!("map: {}", map.yaml()));
                    }
                }
                let optional_with_gaps = !field.required && column.profile.empty > 0;
                if optional_with_gaps {
                    let when = if column.textual() {
                        format!("{} | default('') | trim != ''", column.expression)
                    } else {
                        format!("{0} is defined and {0} is not none", column.expression)
                    };
                    parts.push(format!("when: {}", yaml_string(&when)));
                    report.when = Some(when);
                }
                if parts.len() == 1 {
                    yaml.push_str(&format!("  {key}: {}\n", yaml_string(&value)));
                } else {
                    yaml.push_str(&format!("  {key}: {{ {} }}\n", parts.join(", ")));
                }
                report.source = Some(column.name.clone());
                report.expression = Some(value);
                report.confidence = Some(confidence);
                report.value_map = value_map;
            }
            None => {
                let best = m.candidates.first().map_or_else(
                    || "no source columns".to_owned(),
                    |b| {
                        let elsewhere = taken_by[b.column].map_or(String::new(), |other| format!("; it fills {other}"));
                        format!(
                            "best candidate {} ({:.2}) is below {:.2}{elsewhere}",
                            b.source, b.confidence, options.threshold
                        )
                    },
                );
                match &fallback {
                    Some(Fallback::GeneratedKey) => {
                        yaml.push_str(&format!(
                            "  # CHECK ME: no column holds this key ({}): each record's index in the job\n",
                            comment(&best)
                        ));
                        alternatives(&mut yaml, &m.candidates, None, options.top_k);
                        let value = "{{ meta.index }}";
                        if field.types.iter().any(|t| t == "integer") {
                            yaml.push_str(&format!("  {key}: {}\n", yaml_string(value)));
                        } else {
                            yaml.push_str(&format!("  {key}: {{ value: {}, type: string }}\n", yaml_string(value)));
                        }
                        report.expression = Some(value.to_owned());
                    }
                    Some(Fallback::Unknown { value }) => {
                        yaml.push_str(&format!(
                            "  # CHECK ME: no column for this required field ({}): the enum's value for unknown\n",
                            comment(&best)
                        ));
                        alternatives(&mut yaml, &m.candidates, None, options.top_k);
                        yaml.push_str(&format!("  {key}: {{ value: {value} }}\n"));
                        report.expression = Some(value.to_string());
                    }
                    _ => {
                        let required = if field.required {
                            rejecting.push(field.path.clone());
                            ", required: every record is rejected until it is mapped"
                        } else {
                            ""
                        };
                        yaml.push_str(&format!(
                            "  # {} is not mapped{required}: {}\n",
                            comment(&field.path),
                            comment(&best)
                        ));
                        alternatives(&mut yaml, &m.candidates, None, options.top_k);
                    }
                }
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
    if reports.iter().all(|r| r.expression.is_none()) {
        yaml.replace_range(fields_at..fields_at + "fields:\n".len(), "fields: {}\n");
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
        rejecting_fields: rejecting,
        columns: columns
            .iter()
            .map(|c| ColumnReport {
                name: c.name.clone(),
                expression: c.expression.clone(),
                textual: c.textual(),
                signature: crate::memory::signature(c),
            })
            .collect(),
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

    /// A file of which nothing maps (names in another language, no model) still gets a draft
    /// the engine takes: every record comes out empty and is checked against the schema.
    #[test]
    fn a_draft_that_maps_no_field_still_compiles() {
        let schema = json!({"type": "object", "properties": {"shoe_size": {"type": "integer"}, "eye_colour": {"type": "string"}}});
        let s = suggest("orders.csv", ORDERS.as_bytes(), Some(&schema), Some(&BagOfWords), &SuggestOptions::default())
            .unwrap();
        assert!(s.report.fields.iter().all(|f| f.source.is_none()), "{}", s.context_yaml);
        assert!(s.context_yaml.contains("\nfields: {}\n"), "{}", s.context_yaml);
        let (records, rejects) = run(&s.context_yaml, Some(&schema));
        assert_eq!(rejects["summary"]["records_rejected"], 0, "{rejects}\n{}", s.context_yaml);
        assert_eq!(records[0], json!({}));
    }

    #[test]
    fn every_field_lists_its_alternatives_with_confidence_and_evidence() {
        let schema = json!({"type": "object", "properties": {
            "customer_number": {"type": "string"},
            "creation_date": {"type": "string", "format": "date"},
            "shoe_size": {"type": "integer"}
        }});
        let s = suggest("orders.csv", ORDERS.as_bytes(), Some(&schema), Some(&BagOfWords), &SuggestOptions::default())
            .unwrap();
        let lines: Vec<&str> = s.context_yaml.lines().collect();
        let at = lines.iter().position(|l| l.contains("from KUNNR:")).expect("KUNNR proposed");
        assert!(lines[at].contains("name \"customer number\""), "{}", s.context_yaml);
        let alternatives: Vec<&&str> = lines[at + 1..].iter().take_while(|l| l.starts_with("  #   or ")).collect();
        assert_eq!(alternatives.len(), 3, "{}", s.context_yaml);
        assert!(alternatives.iter().all(|l| l.contains("): name \"") && l.contains("; values: ")), "{alternatives:?}");
        assert!(!s.context_yaml.contains("# 0.00 from"), "{}", s.context_yaml);
        // An unmapped field says why, and what there was.
        let at = lines.iter().position(|l| l.contains("# shoe_size is not mapped")).expect("shoe_size unmapped");
        assert!(lines[at + 1].starts_with("  #   or "), "{}", s.context_yaml);
        assert_eq!(s.report.unmapped_fields, ["shoe_size"]);
        assert_eq!(s.report.fields[0].candidates.len(), 4, "the best and three alternatives");
    }

    #[test]
    fn enum_values_are_translated_by_a_value_map_and_the_draft_accepts_every_record() {
        let people = "PATIENT;GENDER;ETHNICITY;RACE;STATUS\n\
            p1;M;Not Hispanic or Latino;white;3\n\
            p2;F;nonhispanic;black;0\n\
            p3;F;Hispanic or Latino;white;1\n";
        let schema = json!({"type": "object", "required": ["gender_concept_id"], "properties": {
            "patient_id": {"type": "string"},
            "gender_concept_id": {"type": "integer", "enum": [8507, 8532, 0],
                "description": "Sex at birth. Value set: 8507 = MALE; 8532 = FEMALE; 0 = No matching concept."},
            "ethnicity": {"type": "string", "enum": ["hispanic or latino", "not hispanic or latino"]},
            "race_concept_id": {"type": "integer", "enum": [8527, 8516],
                "description": "Value set: 8527 = White; 8516 = Black or African American."},
            "status": {"type": "string", "enum": ["present", "absent"]}
        }});
        // The stand-in embedder knows no more than the names: a lower bar than a real model's.
        let options = SuggestOptions {
            matching: crate::MatchOptions { threshold: 0.5, ..crate::MatchOptions::default() },
            ..SuggestOptions::default()
        };
        let s = suggest("people.csv", people.as_bytes(), Some(&schema), Some(&BagOfWords), &options).unwrap();
        let mapped: Vec<_> = s.report.fields.iter().map(|f| f.source.as_deref()).collect();
        assert_eq!(
            mapped,
            [Some("PATIENT"), Some("GENDER"), Some("ETHNICITY"), Some("RACE"), Some("STATUS")],
            "{}",
            s.context_yaml
        );
        assert!(s.context_yaml.contains("map: { \"M\": 8507, \"F\": 8532 }"), "{}", s.context_yaml);
        assert!(s.context_yaml.contains("# values: M -> 8507 (synonym 0.90)"), "{}", s.context_yaml);
        let gender = s.report.fields[1].value_map.as_ref().unwrap();
        assert!(gender.unmapped.is_empty());

        let t = helix_engine::compile(
            Some(helix_engine::Source { name: "draft.yaml", text: &s.context_yaml }),
            Some(helix_engine::Source { name: "schema.json", text: &schema.to_string() }),
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", s.context_yaml));
        let (mut out, mut rejects) = (Vec::new(), Vec::new());
        let mut run = t.start(&mut out, &mut rejects).unwrap();
        run.feed("people.csv", &mut people.as_bytes()).unwrap();
        run.finish().unwrap();
        let rejects: serde_json::Value = serde_json::from_slice(&rejects).unwrap();
        assert_eq!(rejects["summary"]["records_rejected"], 0, "{rejects}\n{}", s.context_yaml);
        let records: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            records[1],
            json!({"patient_id": "p2", "gender_concept_id": 8532, "ethnicity": "not hispanic or latino",
                   "race_concept_id": 8516, "status": "absent"})
        );
    }

    #[test]
    fn a_value_the_map_does_not_cover_is_rejected_and_listed() {
        let content = "GENDER\nM\nF\nX\n";
        let schema =
            json!({"type": "object", "properties": {"gender": {"type": "string", "enum": ["male", "female"]}}});
        let s =
            suggest("g.csv", content.as_bytes(), Some(&schema), Some(&BagOfWords), &SuggestOptions::default()).unwrap();
        let map = s.report.fields[0].value_map.as_ref().expect("a value map");
        assert_eq!(map.unmapped, ["X"]);
        assert!(s.context_yaml.contains("no target value for X"), "{}", s.context_yaml);
        let t = helix_engine::compile(
            Some(helix_engine::Source { name: "draft.yaml", text: &s.context_yaml }),
            Some(helix_engine::Source { name: "schema.json", text: &schema.to_string() }),
        )
        .unwrap();
        let (mut out, mut rejects) = (Vec::new(), Vec::new());
        let mut run = t.start(&mut out, &mut rejects).unwrap();
        run.feed("g.csv", &mut content.as_bytes()).unwrap();
        run.finish().unwrap();
        let rejects: serde_json::Value = serde_json::from_slice(&rejects).unwrap();
        assert_eq!(rejects["summary"]["records_rejected"], 1, "{rejects}");
        assert_eq!(rejects["rejects"][0]["keyword"], "enum", "{rejects}");
    }

    /// Without a value for a required field the schema rejects every record: the draft fills it
    /// with a value to check — a generated key, or the enum's "unknown" — and reports the
    /// required fields it cannot fill; a column below the threshold is not guessed.
    #[test]
    fn required_fields_without_a_confident_column_get_a_value_to_check() {
        let content = "VISIT_DT;BORN;ZZ_VAL\n20240301;19701231;ab\n20240301;19800115;ab\n20240302;19800115;cd\n";
        let schema = json!({"type": "object",
        "required": ["record_id", "visit_date", "status", "consented"],
        "properties": {
            "record_id": {"type": "integer", "description": "A unique key for each record."},
            "visit_date": {"type": "string", "format": "date"},
            "status": {"type": "string", "enum": ["open", "closed", "Unknown"]},
            "consented": {"type": "boolean"}
        }});
        let options = SuggestOptions {
            matching: crate::MatchOptions { threshold: 1.01, ..crate::MatchOptions::default() },
            ..SuggestOptions::default()
        };
        let s = suggest("v.csv", content.as_bytes(), Some(&schema), Some(&BagOfWords), &options).unwrap();
        let field = |path: &str| s.report.fields.iter().find(|f| f.target == path).unwrap();
        assert_eq!(field("record_id").fallback, Some(crate::Fallback::GeneratedKey), "{}", s.context_yaml);
        assert_eq!((&field("visit_date").fallback, &field("visit_date").source), (&None, &None), "{}", s.context_yaml);
        assert_eq!(field("status").fallback, Some(crate::Fallback::Unknown { value: json!("Unknown") }));
        assert_eq!(s.report.rejecting_fields, ["visit_date", "consented"], "{}", s.context_yaml);
        assert!(s.context_yaml.contains("# consented is not mapped, required: every record is rejected"));

        let mut schema = schema;
        schema["required"] = json!(["record_id", "status"]);
        let run = |draft: &str| {
            let t = helix_engine::compile(
                Some(helix_engine::Source { name: "draft.yaml", text: draft }),
                Some(helix_engine::Source { name: "schema.json", text: &schema.to_string() }),
            )
            .unwrap_or_else(|e| panic!("{e}\n{draft}"));
            let (mut out, mut rejects) = (Vec::new(), Vec::new());
            let mut run = t.start(&mut out, &mut rejects).unwrap();
            run.feed("v.csv", &mut content.as_bytes()).unwrap();
            run.finish().unwrap();
            let rejects: serde_json::Value = serde_json::from_slice(&rejects).unwrap();
            assert_eq!(rejects["summary"]["records_rejected"], 0, "{rejects}\n{draft}");
            serde_json::from_slice::<Vec<serde_json::Value>>(&out).unwrap()
        };
        let records = run(&s.context_yaml);
        assert_eq!(records[1]["record_id"], 2, "{}", s.context_yaml);
        assert_eq!(records[1]["status"], "Unknown");
    }

    /// A date column feeds an integer field named for a part of it, and a date-time field.
    #[test]
    fn a_date_gives_its_year_month_and_day_and_a_date_time() {
        let content = "BORN\n19701231\n19800115\n";
        let born = crate::sample::read("b.csv", content.as_bytes(), 10).unwrap().remove(0);
        let field = |path: &str, ty: &str, format: Option<&str>| crate::schema::TargetField {
            path: path.into(),
            types: vec![ty.into()],
            format: format.map(str::to_owned),
            ..Default::default()
        };
        let fields = [
            field("year_of_birth", "integer", None),
            field("birthMonth", "integer", None),
            field("day_of_birth", "integer", None),
            field("birth_datetime", "string", Some("date-time")),
        ];
        let mut draft = "fields:\n".to_owned();
        for f in &fields {
            draft.push_str(&format!("  {}: {:?}\n", f.path, super::value_expression(&born, f, false)));
        }
        let t = helix_engine::compile(Some(helix_engine::Source { name: "draft.yaml", text: &draft }), None)
            .unwrap_or_else(|e| panic!("{e}\n{draft}"));
        let mut out = Vec::new();
        let mut rejects = Vec::new();
        let mut run = t.start(&mut out, &mut rejects).unwrap();
        run.feed("b.csv", &mut content.as_bytes()).unwrap();
        run.finish().unwrap();
        let records: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            records[1],
            json!({"year_of_birth": 1980, "birthMonth": 1, "day_of_birth": 15, "birth_datetime": "1980-01-15T00:00:00Z"}),
            "{draft}"
        );
    }

    #[test]
    fn an_all_empty_column_claims_no_enum_fit() {
        let content = "ID;STATUS\n1;\n2;\n3;\n";
        let schema = json!({"type": "object", "properties": {"status": {"type": "string", "enum": ["open", "done"]}}});
        let s =
            suggest("e.csv", content.as_bytes(), Some(&schema), Some(&BagOfWords), &SuggestOptions::default()).unwrap();
        assert!(!s.context_yaml.contains("100%"), "{}", s.context_yaml);
        assert!(s.context_yaml.contains("no values in the sample"), "{}", s.context_yaml);
        assert!(s.report.fields[0].value_map.is_none());
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
