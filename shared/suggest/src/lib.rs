//! Mapping suggestions: given a sample of a content file and a target JSON Schema, propose for
//! every target field the source column that fills it — with a confidence and the evidence — and
//! emit a draft context the engine runs. Three signals make one score: sentence embeddings of
//! the expanded names (all-MiniLM-L6-v2 via candle), lexical similarity through an abbreviation
//! table (SAP names, German/French/Spanish headers), and the fit of the column's values to the
//! field's schema, calibrated into a confidence together with how far a column leads the field's
//! other columns and the column's other fields. A field gets its best column when that is
//! confident enough, and stays unmapped otherwise. Enum targets get a value map that translates
//! the column's values. Without a schema, one is inferred from the sample.
//!
//! ```no_run
//! # use helix_suggest::*;
//! let model = MiniLm::load(&model_dir()?)?;
//! let schema: serde_json::Value = serde_json::from_str(r#"{"type":"object","properties":{"customer_id":{"type":"string"}}}"#).unwrap();
//! let suggestion = suggest("orders.csv", b"KUNNR;MENGE\n4711;3\n", Some(&schema), Some(&model), &SuggestOptions::default())?;
//! println!("{}", suggestion.context_yaml);
//! # Ok::<(), SuggestError>(())
//! ```

pub mod auto_map;
mod draft;
pub mod embed;
pub mod eval;
pub mod install;
pub mod lexical;
pub mod matcher;
pub mod memory;
pub mod profile;
pub mod sample;
pub mod schema;
#[cfg(test)]
mod testing;
pub mod values;

pub use draft::{ColumnReport, Fallback, FieldReport, Report};
pub use embed::{Embedder, LazyMiniLm, MODEL_DIR_VAR, MiniLm, model_dir};
pub use lexical::{Abbreviations, AbbreviationsError};
pub use matcher::{MatchOptions, Signals};
pub use values::{ValueMap, ValueMapping};

use std::collections::BTreeSet;
use std::sync::Arc;

use helix_domain::RememberedMapping;
use helix_engine::formats::InputOptions;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    /// The content cannot be read or has no records.
    #[error("content: {0}")]
    Content(String),
    /// The target schema is not one a mapping can be proposed for.
    #[error("target schema: {0}")]
    Schema(String),
    /// The embedding model is missing or failed.
    #[error("embedding model: {0}")]
    Model(String),
    /// The context cannot take proposed fields (`auto_map`).
    #[error("context: {0}")]
    Context(String),
}

#[derive(Debug, Clone)]
pub struct SuggestOptions {
    /// Records of the content read to learn the columns' values.
    pub sample_records: usize,
    pub matching: MatchOptions,
    /// What names' abbreviations stand for: the built-in domain tables, or those extended by a
    /// team's file ([`Abbreviations::extended`]).
    pub abbreviations: Arc<Abbreviations>,
}

impl Default for SuggestOptions {
    fn default() -> Self {
        Self {
            sample_records: sample::DEFAULT_SAMPLE_RECORDS,
            matching: MatchOptions::default(),
            abbreviations: Abbreviations::built_in(),
        }
    }
}

/// What a suggestion produces.
#[derive(Debug, Clone)]
pub struct Suggestion {
    /// The draft context, with each proposal's confidence and evidence as comments.
    pub context_yaml: String,
    pub report: Report,
    /// The schema inferred from the sample when none was given.
    pub inferred_schema: Option<Value>,
}

/// Proposes a context mapping `content` (a file named `content_name`) onto `schema`, or onto a
/// schema inferred from the content when `schema` is `None`. `embedder` is needed for the
/// combined signals only.
pub fn suggest(
    content_name: &str,
    content: &[u8],
    schema: Option<&Value>,
    embedder: Option<&dyn Embedder>,
    options: &SuggestOptions,
) -> Result<Suggestion, SuggestError> {
    match schema {
        Some(schema) => suggest_for(content_name, content, schema, None, &[], embedder, options),
        None => {
            let columns = sample::read(content_name, content, options.sample_records)?;
            let records_sampled = columns.first().map_or(0, |c| c.values.len());
            let inferred = schema::infer(&columns);
            let (fields, _) = schema::target_fields(&inferred)?;
            let matches = draft::identity(&columns);
            Ok(draft::build(
                content_name,
                records_sampled,
                &columns,
                &fields,
                &matches,
                &[],
                &[],
                Vec::new(),
                Vec::new(),
                options.matching,
                Some(inferred),
            ))
        }
    }
}

/// Which target fields [`suggest_fields`] proposes sources for, and how it reads the content.
pub struct FieldRequest<'a> {
    /// The target fields, dotted as [`schema::target_fields`] names them: the other fields
    /// neither get proposals nor take columns.
    pub paths: &'a [String],
    /// Columns already mapped (the expressions that read them): not proposed again.
    pub taken: &'a BTreeSet<String>,
    /// The context's `input:` options, so the sample reads as the job will.
    pub input: &'a InputOptions,
}

/// Like [`suggest`] with a schema, for the fields of `request` only.
pub fn suggest_fields(
    content_name: &str,
    content: &[u8],
    schema: &Value,
    request: &FieldRequest<'_>,
    embedder: Option<&dyn Embedder>,
    options: &SuggestOptions,
) -> Result<Suggestion, SuggestError> {
    suggest_for(content_name, content, schema, Some(request), &[], embedder, options)
}

/// Like [`suggest`] with a schema, consulting a team's mapping memory first: a column its users
/// confirmed for a field, under its name or renamed and known by its values, gets the field
/// with the confirmation as evidence, and its confirmed value map ([`memory`]).
pub fn suggest_remembering(
    content_name: &str,
    content: &[u8],
    schema: &Value,
    memory: &[RememberedMapping],
    embedder: Option<&dyn Embedder>,
    options: &SuggestOptions,
) -> Result<Suggestion, SuggestError> {
    suggest_for(content_name, content, schema, None, memory, embedder, options)
}

fn suggest_for(
    content_name: &str,
    content: &[u8],
    schema: &Value,
    request: Option<&FieldRequest<'_>>,
    memory: &[RememberedMapping],
    embedder: Option<&dyn Embedder>,
    options: &SuggestOptions,
) -> Result<Suggestion, SuggestError> {
    let mut columns = match request {
        Some(r) => sample::read_as(content_name, content, r.input, options.sample_records)?,
        None => sample::read(content_name, content, options.sample_records)?,
    };
    let records_sampled = columns.first().map_or(0, |c| c.values.len());
    let (mut fields, mut skipped) = schema::target_fields(schema)?;
    if let Some(r) = request {
        fields.retain(|f| r.paths.contains(&f.path));
        skipped.retain(|path| r.paths.contains(path));
        columns.retain(|c| !r.taken.contains(&c.expression));
    }
    let matrix = matcher::score_with(&columns, &fields, embedder, options.matching.signals, &options.abbreviations)?;
    let mut matches = matrix.assign(options.matching.threshold, options.matching.top_k);
    let recalled = memory::recall(memory, &columns, &fields);
    for (m, recalled) in matches.iter_mut().zip(&recalled) {
        if let Some(recalled) = recalled {
            *m = memory::recalled_match(recalled, &columns, m, options.matching.top_k);
        }
    }
    let fallbacks = draft::fallbacks(&fields, &matches);
    let value_embedder = embedder.filter(|_| options.matching.signals == Signals::Combined);
    let value_maps = fields
        .iter()
        .zip(&matches)
        .zip(&recalled)
        .map(|((field, m), recalled)| {
            let proposed = match &m.chosen {
                Some(chosen) if columns[chosen.column].textual() => {
                    values::propose(&columns[chosen.column].values, field, value_embedder)?
                }
                _ => None,
            };
            Ok(match recalled {
                Some(r) => memory::value_map(&r.entry.value_map, proposed),
                None => proposed,
            })
        })
        .collect::<Result<Vec<_>, SuggestError>>()?;
    let remembered: Vec<bool> = recalled.iter().map(Option::is_some).collect();
    Ok(draft::build(
        content_name,
        records_sampled,
        &columns,
        &fields,
        &matches,
        &remembered,
        &fallbacks,
        value_maps,
        skipped,
        options.matching,
        None,
    ))
}

/// Parses a target schema document (JSON text).
pub fn parse_schema(name: &str, text: &str) -> Result<Value, SuggestError> {
    serde_json::from_str(text)
        .map_err(|e| SuggestError::Schema(format!("{name} line {}, column {}: {e}", e.line(), e.column())))
}
