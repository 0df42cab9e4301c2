//! Explicit bounds on everything user input can blow up: the context can tighten them, or raise
//! them up to the platform's hard maxima ([`Limits::MAX`]), but there is always one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Text and lists one template or expression evaluation builds for a record: every `~`, `+`
    /// and `*` result, the text-making filters' results, and the text the template writes
    /// (captured text included).
    pub max_value_bytes: usize,
    /// The same bound for a whole-document template, rendered once over all records.
    pub max_document_bytes: usize,
    /// One output record, serialised as JSON.
    pub max_output_bytes: usize,
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
            max_value_bytes: 1 << 20,
            max_document_bytes: 64 << 20,
            max_output_bytes: 16 << 20,
            max_group_records: 100_000,
            max_document_records: 100_000,
            yaml_alias_nodes: 10_000,
            yaml_depth: 64,
        }
    }
}

impl Limits {
    /// The platform's hard maxima: a context's `limits:` may lower any limit, but not raise one
    /// above these. They keep one job within what a worker can afford: about 10 s of template
    /// work per evaluation at most, and a bounded amount of memory per record in flight. The
    /// YAML limits bound the reading of the context itself, so a context cannot raise them.
    pub const MAX: Limits = Limits {
        max_field_bytes: 16 << 20,
        max_record_bytes: 64 << 20,
        max_fields: 100_000,
        max_depth: 128,
        fuel: 10_000_000,
        recursion: 100,
        max_value_bytes: 16 << 20,
        max_document_bytes: 256 << 20,
        max_output_bytes: 256 << 20,
        max_group_records: 1_000_000,
        max_document_records: 1_000_000,
        yaml_alias_nodes: 10_000,
        yaml_depth: 64,
    };

    /// The limits as (name, value) pairs, in declaration order.
    pub fn entries(&self) -> [(&'static str, u64); 13] {
        [
            ("max_field_bytes", self.max_field_bytes as u64),
            ("max_record_bytes", self.max_record_bytes as u64),
            ("max_fields", self.max_fields as u64),
            ("max_depth", self.max_depth as u64),
            ("fuel", self.fuel),
            ("recursion", self.recursion as u64),
            ("max_value_bytes", self.max_value_bytes as u64),
            ("max_document_bytes", self.max_document_bytes as u64),
            ("max_output_bytes", self.max_output_bytes as u64),
            ("max_group_records", self.max_group_records as u64),
            ("max_document_records", self.max_document_records as u64),
            ("yaml_alias_nodes", self.yaml_alias_nodes as u64),
            ("yaml_depth", self.yaml_depth as u64),
        ]
    }

    /// The maximum of the limit `name` (`None`: no such limit).
    pub fn maximum(name: &str) -> Option<u64> {
        Limits::MAX.entries().into_iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_the_maxima() {
        let max = Limits::MAX.entries();
        for ((name, value), (max_name, maximum)) in Limits::default().entries().into_iter().zip(max) {
            assert_eq!(name, max_name);
            assert!(value <= maximum, "{name}: default {value} above the maximum {maximum}");
        }
        // Every field is listed: the serialised limits have as many keys as `entries`.
        let json = serde_json::to_value(Limits::default()).unwrap();
        assert_eq!(json.as_object().unwrap().len(), Limits::MAX.entries().len());
        assert_eq!(Limits::maximum("fuel"), Some(10_000_000));
        assert_eq!(Limits::maximum("colour"), None);
    }
}
