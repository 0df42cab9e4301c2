//! What the format readers produce and the mapping consumes.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

/// Column names of a tabular input, shared by all its rows.
#[derive(Debug, Clone)]
pub struct Header {
    pub names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    /// Empty names become `colN`, repeated names get `_2`, `_3`… so every column stays addressable.
    pub fn new(raw: Vec<String>) -> Header {
        let mut names = Vec::with_capacity(raw.len());
        let mut index = HashMap::new();
        for (i, name) in raw.into_iter().enumerate() {
            let base = match name.trim() {
                "" => format!("col{}", i + 1),
                n => n.to_owned(),
            };
            let mut name = base.clone();
            let mut n = 2;
            while index.contains_key(&name) {
                name = format!("{base}_{n}");
                n += 1;
            }
            index.insert(name.clone(), i);
            names.push(name);
        }
        Header { names, index }
    }

    pub fn numbered(count: usize) -> Header {
        Header::new((1..=count).map(|i| format!("col{i}")).collect())
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// Byte ranges of a row's fields in its text.
pub type Spans = Vec<(u32, u32)>;

/// One tabular row: all field texts in one buffer (two allocations per row, not one per field).
#[derive(Debug, Clone)]
pub struct Row {
    pub header: Arc<Header>,
    pub text: String,
    pub spans: Spans,
}

impl Row {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let &(start, end) = self.spans.get(i)?;
        self.text.get(start as usize..end as usize)
    }

    pub fn by_name(&self, name: &str) -> Option<&str> {
        self.get(self.header.position(name)?)
    }

    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        for (i, name) in self.header.names.iter().enumerate() {
            if let Some(v) = self.get(i) {
                map.insert(name.clone(), Value::String(v.to_owned()));
            }
        }
        Value::Object(map)
    }
}

#[derive(Debug, Clone)]
pub enum Data {
    Row(Row),
    Tree(Value),
}

impl Data {
    pub fn to_json(&self) -> Value {
        match self {
            Data::Row(r) => r.to_json(),
            Data::Tree(v) => v.clone(),
        }
    }
}

/// One source record with where it came from.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    pub data: Data,
    /// Line of the record's first character (or segment number for IDocs).
    pub line: u64,
    /// Set when the reader could read the record but it is structurally wrong (a ragged row):
    /// it becomes a reject instead of failing the job.
    pub problem: Option<String>,
}

/// The unit the mapping turns into one target record: a source record or a group of them.
#[derive(Debug)]
pub struct Unit {
    pub input: Arc<str>,
    /// 1-based index of the (first) source record over the whole run.
    pub index: u64,
    pub record: SourceRecord,
    /// The group's records (the first one included) in grouping mode.
    pub items: Option<Vec<SourceRecord>>,
}
