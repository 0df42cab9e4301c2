//! Explicit bounds on everything user input can blow up: the context can tighten or raise them
//! (`limits:`), but there is always one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Longest single field (or line) of a text input.
    pub max_field_bytes: usize,
    /// Largest single JSON/XML record.
    pub max_record_bytes: usize,
    /// Fields in one delimited record.
    pub max_fields: usize,
    /// Nesting of JSON/XML input values.
    pub max_depth: usize,
    /// minijinja fuel per template or expression evaluation (roughly: instructions).
    pub fuel: u64,
    /// minijinja recursion (macro/include/nesting) limit.
    pub recursion: usize,
    /// Source records in one group (grouping mode).
    pub max_group_records: usize,
    /// Records collected for a whole-document template.
    pub max_document_records: usize,
    /// Nodes that YAML aliases may add to the context.
    pub yaml_alias_nodes: usize,
    /// Nesting of the context YAML.
    pub yaml_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_field_bytes: 1 << 20,
            max_record_bytes: 16 << 20,
            max_fields: 10_000,
            max_depth: 64,
            fuel: 100_000,
            recursion: 64,
            max_group_records: 100_000,
            max_document_records: 100_000,
            yaml_alias_nodes: 10_000,
            yaml_depth: 64,
        }
    }
}
