//! The labelled evaluation set (`eval/<case>/`: a content file `input.*`, `schema.json`, and
//! `labels.json` mapping each target field to its correct source column, or `null` where no
//! column fits) and its metrics: recall@1, recall@3 and MRR of the ranking, and the accuracy of
//! the final one-to-one assignment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::embed::Embedder;
use crate::matcher::{self, MatchOptions};
use crate::{SuggestError, sample, schema};

pub struct Case {
    pub name: String,
    pub content_name: String,
    pub content: Vec<u8>,
    pub schema: Value,
    /// Target field → its source column (`None`: the field should stay unmapped).
    pub labels: BTreeMap<String, Option<String>>,
}

/// The evaluation set in this crate's checkout.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("eval")
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SuggestError + '_ {
    move |e| SuggestError::Content(format!("{}: {e}", path.display()))
}

pub fn load_cases(dir: &Path) -> Result<Vec<Case>, SuggestError> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(io(dir))?.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs.iter()
        .map(|case| {
            let input = std::fs::read_dir(case)
                .map_err(io(case))?
                .flatten()
                .map(|e| e.path())
                .find(|p| p.file_stem().is_some_and(|s| s == "input"))
                .ok_or_else(|| SuggestError::Content(format!("{}: no input.* file", case.display())))?;
            let read = |p: &Path| std::fs::read_to_string(p).map_err(io(p));
            let schema_path = case.join("schema.json");
            let labels_path = case.join("labels.json");
            Ok(Case {
                name: case.file_name().unwrap_or_default().to_string_lossy().into_owned(),
                content_name: input.file_name().unwrap_or_default().to_string_lossy().into_owned(),
                content: std::fs::read(&input).map_err(io(&input))?,
                schema: crate::parse_schema("schema.json", &read(&schema_path)?)?,
                labels: serde_json::from_str(&read(&labels_path)?)
                    .map_err(|e| SuggestError::Content(format!("{}: {e}", labels_path.display())))?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    /// Target fields that have a correct source column.
    pub labelled: usize,
    pub hits_at_1: usize,
    pub hits_at_3: usize,
    pub reciprocal_rank_sum: f64,
    /// Labelled fields the assignment mapped to the right column.
    pub assigned_right: usize,
    /// Fields the assignment mapped to a wrong column (labelled or not).
    pub assigned_wrong: usize,
    /// Fields with no correct column, and how many of them stayed unmapped.
    pub no_source: usize,
    pub no_source_unmapped: usize,
    pub columns: usize,
    pub fields: usize,
}

impl Metrics {
    pub fn recall_at_1(&self) -> f64 {
        self.hits_at_1 as f64 / self.labelled.max(1) as f64
    }
    pub fn recall_at_3(&self) -> f64 {
        self.hits_at_3 as f64 / self.labelled.max(1) as f64
    }
    pub fn mrr(&self) -> f64 {
        self.reciprocal_rank_sum / self.labelled.max(1) as f64
    }
    /// Right assignments over labelled fields.
    pub fn assignment_recall(&self) -> f64 {
        self.assigned_right as f64 / self.labelled.max(1) as f64
    }
    /// Right assignments over all assignments made.
    pub fn assignment_precision(&self) -> f64 {
        self.assigned_right as f64 / (self.assigned_right + self.assigned_wrong).max(1) as f64
    }

    pub fn add(&mut self, other: &Metrics) {
        self.labelled += other.labelled;
        self.hits_at_1 += other.hits_at_1;
        self.hits_at_3 += other.hits_at_3;
        self.reciprocal_rank_sum += other.reciprocal_rank_sum;
        self.assigned_right += other.assigned_right;
        self.assigned_wrong += other.assigned_wrong;
        self.no_source += other.no_source;
        self.no_source_unmapped += other.no_source_unmapped;
        self.columns += other.columns;
        self.fields += other.fields;
    }
}

/// Runs the matcher on one case and scores it against the labels.
pub fn evaluate(case: &Case, embedder: Option<&dyn Embedder>, options: MatchOptions) -> Result<Metrics, SuggestError> {
    let columns = sample::read(&case.content_name, &case.content, sample::DEFAULT_SAMPLE_RECORDS)?;
    let (fields, _) = schema::target_fields(&case.schema)?;
    let matrix = matcher::score(&columns, &fields, embedder, options.signals)?;
    let matches = matrix.assign(options.threshold);
    let mut m = Metrics { columns: columns.len(), fields: fields.len(), ..Metrics::default() };
    for (f, field) in fields.iter().enumerate() {
        let label = case.labels.get(&field.path).ok_or_else(|| {
            SuggestError::Content(format!("{}: labels.json has no entry for target field {}", case.name, field.path))
        })?;
        let chosen = matches[f].chosen.map(|c| columns[c].name.as_str());
        match label {
            Some(source) => {
                if !columns.iter().any(|c| &c.name == source) {
                    return Err(SuggestError::Content(format!(
                        "{}: label {source} is not a column of the input",
                        case.name
                    )));
                }
                m.labelled += 1;
                let rank = matrix.ranked(f).iter().position(|c| &c.source == source).map_or(usize::MAX, |p| p + 1);
                m.hits_at_1 += usize::from(rank == 1);
                m.hits_at_3 += usize::from(rank <= 3);
                m.reciprocal_rank_sum += 1.0 / rank as f64;
                match chosen {
                    Some(c) if c == source => m.assigned_right += 1,
                    Some(_) => m.assigned_wrong += 1,
                    None => {}
                }
            }
            None => {
                m.no_source += 1;
                match chosen {
                    Some(_) => m.assigned_wrong += 1,
                    None => m.no_source_unmapped += 1,
                }
            }
        }
    }
    Ok(m)
}
