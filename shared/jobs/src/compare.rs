//! Two runs of one input compared record by record: which records the candidate run added,
//! removed or changed, and for each target field how often it changed, with examples.

use std::collections::{BTreeMap, BTreeSet};

use helix_domain::{ComparedField, ComparedRecords, FieldExample};
use serde_json::Value;

/// Examples kept per field.
const EXAMPLES_PER_FIELD: usize = 3;

/// One run's output: its records as written, and the input record numbers it rejected.
pub struct RunOutput {
    pub records: Vec<Value>,
    pub rejected: BTreeSet<u64>,
    pub records_in: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("the result is neither a JSON array nor NDJSON: {0}")]
    Result(String),
    #[error("the reject report cannot be read: {0}")]
    Report(String),
}

impl RunOutput {
    /// Reads a result (a JSON array or NDJSON) and its reject report (`{"rejects": [{record, …}]}`).
    pub fn read(result: &[u8], report: &[u8], records_in: u64) -> Result<Self, OutputError> {
        let records = match serde_json::from_slice::<Vec<Value>>(result) {
            Ok(records) => records,
            Err(_) => result
                .split(|b| *b == b'\n')
                .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
                .map(serde_json::from_slice)
                .collect::<Result<_, _>>()
                .map_err(|e| OutputError::Result(e.to_string()))?,
        };
        let report: Value = serde_json::from_slice(report).map_err(|e| OutputError::Report(e.to_string()))?;
        let rejected = report["rejects"]
            .as_array()
            .ok_or_else(|| OutputError::Report("no rejects list".into()))?
            .iter()
            .filter_map(|r| r["record"].as_u64())
            .collect();
        Ok(Self { records, rejected, records_in })
    }

    /// The records keyed by their input record number, when the output is one record per accepted
    /// input record (no filter, no grouping); else `None`.
    fn by_input_record(&self) -> Option<BTreeMap<u64, &Value>> {
        let accepted: Vec<u64> = (1..=self.records_in).filter(|n| !self.rejected.contains(n)).collect();
        (accepted.len() == self.records.len()).then(|| accepted.into_iter().zip(&self.records).collect())
    }

    /// The records keyed by their position in the output (1-based).
    fn by_position(&self) -> BTreeMap<u64, &Value> {
        (1..).zip(&self.records).collect()
    }
}

/// A record's fields as dotted paths (`customer.id`, `lines[0].sku`) and their values.
fn flatten<'a>(value: &'a Value, path: String, into: &mut BTreeMap<String, &'a Value>) {
    match value {
        Value::Object(fields) if !fields.is_empty() => {
            for (name, field) in fields {
                let path = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
                flatten(field, path, into);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                flatten(item, format!("{path}[{i}]"), into);
            }
        }
        leaf => {
            into.insert(path, leaf);
        }
    }
}

/// The comparison of `baseline` and `candidate`: records and fields.
pub fn compare(baseline: &RunOutput, candidate: &RunOutput) -> (ComparedRecords, Vec<ComparedField>) {
    let (old, new, aligned_by) = match (baseline.by_input_record(), candidate.by_input_record()) {
        (Some(old), Some(new)) => (old, new, "input_record"),
        _ => (baseline.by_position(), candidate.by_position(), "position"),
    };
    let mut records = ComparedRecords { aligned_by: aligned_by.into(), ..ComparedRecords::default() };
    let mut fields: BTreeMap<String, ComparedField> = BTreeMap::new();
    let keys: BTreeSet<u64> = old.keys().chain(new.keys()).copied().collect();
    for key in keys {
        let (before, after) = match (old.get(&key), new.get(&key)) {
            (Some(before), Some(after)) => (*before, *after),
            (Some(_), None) => {
                records.removed += 1;
                continue;
            }
            (None, Some(_)) => {
                records.added += 1;
                continue;
            }
            (None, None) => continue,
        };
        let (mut was, mut is) = (BTreeMap::new(), BTreeMap::new());
        flatten(before, String::new(), &mut was);
        flatten(after, String::new(), &mut is);
        let names: BTreeSet<&String> = was.keys().chain(is.keys()).collect();
        let mut changed = false;
        for name in names {
            let (b, a) = (was.get(name).copied(), is.get(name).copied());
            if b == a {
                continue;
            }
            changed = true;
            let field = fields
                .entry(name.clone())
                .or_insert_with(|| ComparedField { field: name.clone(), ..ComparedField::default() });
            match (b, a) {
                (Some(_), Some(_)) => field.changed += 1,
                (None, _) => field.added += 1,
                (_, None) => field.removed += 1,
            }
            if field.examples.len() < EXAMPLES_PER_FIELD {
                field.examples.push(FieldExample { record: key, before: b.cloned(), after: a.cloned() });
            }
        }
        if changed {
            records.changed += 1;
        } else {
            records.unchanged += 1;
        }
    }
    let mut fields: Vec<ComparedField> = fields.into_values().collect();
    fields.sort_by_key(|f| std::cmp::Reverse(f.changed + f.added + f.removed));
    (records, fields)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn output(records: Value, rejected: &[u64], records_in: u64) -> RunOutput {
        let report = json!({"rejects": rejected.iter().map(|r| json!({"record": r})).collect::<Vec<_>>()});
        RunOutput::read(records.to_string().as_bytes(), report.to_string().as_bytes(), records_in).unwrap()
    }

    #[test]
    fn records_align_by_input_record_around_the_rejects() {
        // Record 2 is rejected by the baseline and accepted by the candidate; record 3 the reverse.
        let baseline = output(json!([{"id": "a", "qty": 1}, {"id": "c", "qty": 3}]), &[2], 3);
        let candidate = output(json!([{"id": "A", "qty": 1}, {"id": "b", "qty": 2}]), &[3], 3);
        let (records, fields) = compare(&baseline, &candidate);
        assert_eq!(
            (records.added, records.removed, records.changed, records.unchanged, records.aligned_by.as_str()),
            (1, 1, 1, 0, "input_record")
        );
        assert_eq!(fields.len(), 1);
        assert_eq!((fields[0].field.as_str(), fields[0].changed), ("id", 1));
        assert_eq!(fields[0].examples, [FieldExample { record: 1, before: Some(json!("a")), after: Some(json!("A")) }]);
    }

    #[test]
    fn nested_fields_are_dotted_and_added_or_removed_fields_counted() {
        let baseline = output(json!([{"c": {"id": 1}, "lines": [{"sku": "x"}], "old": true}]), &[], 1);
        let candidate = output(json!([{"c": {"id": 2}, "lines": [{"sku": "x"}], "new": 1}]), &[], 1);
        let (records, fields) = compare(&baseline, &candidate);
        assert_eq!((records.changed, records.unchanged), (1, 0));
        let summary: Vec<(&str, u64, u64, u64)> =
            fields.iter().map(|f| (f.field.as_str(), f.changed, f.added, f.removed)).collect();
        assert_eq!(summary, [("c.id", 1, 0, 0), ("new", 0, 1, 0), ("old", 0, 0, 1)]);
    }

    #[test]
    fn ndjson_reads_and_an_output_that_is_not_one_record_per_input_aligns_by_position() {
        let baseline = RunOutput::read(b"{\"n\": 1}\n{\"n\": 2}\n", br#"{"rejects": []}"#, 5).unwrap();
        let candidate = output(json!([{"n": 1}, {"n": 2}, {"n": 3}]), &[], 5);
        let (records, _) = compare(&baseline, &candidate);
        assert_eq!((records.unchanged, records.added, records.aligned_by.as_str()), (2, 1, "position"));
        assert!(RunOutput::read(b"{nope", br#"{"rejects": []}"#, 1).is_err());
        assert!(RunOutput::read(b"[]", b"{}", 1).is_err());
    }
}
