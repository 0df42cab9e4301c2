//! The evaluation sets under `eval/` and their metrics: recall@1, recall@3 and MRR of the
//! ranking, precision and recall of the draft's assignment, value-map accuracy, and the
//! reliability of the confidence. The calibration of the confidence is fitted here too.
//!
//! Two layouts are read, at any depth: a case folder with `input.*`, `schema.json` and
//! `labels.json` (target field → its source column, or `null` where none fits), and one with
//! `source.csv`, `target.schema.json` and `truth.json` (`fields`: target field → acceptable source
//! columns; `values`: target field → source value → target value; `unmapped`: fields no column
//! feeds), the public sets' layout. A case's set is the folder above it, or the folder itself
//! for cases right under `eval/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::embed::Embedder;
use crate::matcher::{self, Calibration, FEATURES, Features, FieldMatch, MatchOptions, ScoreMatrix};
use crate::sample::{self, Column};
use crate::schema::{self, TargetField};
use crate::{SuggestError, values};

pub struct Case {
    pub set: String,
    pub name: String,
    pub content_name: String,
    pub content: Vec<u8>,
    pub schema: Value,
    /// Target field → the source columns that are right for it (empty: the field should stay
    /// unmapped). Fields not listed are not scored.
    pub truth: BTreeMap<String, Vec<String>>,
    /// Target field → source value → target value.
    pub values: BTreeMap<String, BTreeMap<String, Value>>,
}

/// The evaluation sets in this crate's checkout.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("eval")
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SuggestError + '_ {
    move |e| SuggestError::Content(format!("{}: {e}", path.display()))
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, SuggestError> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(dir).map_err(io(dir))?.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    Ok(dirs)
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap_or_default().to_string_lossy().into_owned()
}

/// Every case under `dir`.
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, SuggestError> {
    let mut cases = Vec::new();
    for sub in subdirs(dir)? {
        load_into(&sub, None, &mut cases)?;
    }
    Ok(cases)
}

fn load_into(dir: &Path, set: Option<&str>, cases: &mut Vec<Case>) -> Result<(), SuggestError> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(io(p));
    let json_error = |p: &Path, e: serde_json::Error| SuggestError::Content(format!("{}: {e}", p.display()));
    let name = file_name(dir);
    if dir.join("truth.json").is_file() {
        #[derive(Deserialize)]
        struct Truth {
            fields: BTreeMap<String, Vec<String>>,
            #[serde(default)]
            values: BTreeMap<String, BTreeMap<String, Value>>,
            #[serde(default)]
            unmapped: Vec<String>,
        }
        let truth_path = dir.join("truth.json");
        let truth: Truth = serde_json::from_str(&read(&truth_path)?).map_err(|e| json_error(&truth_path, e))?;
        let mut fields = truth.fields;
        for field in truth.unmapped {
            fields.entry(field).or_default();
        }
        let source = dir.join("source.csv");
        cases.push(Case {
            set: set.unwrap_or(&name).to_owned(),
            name,
            content_name: "source.csv".into(),
            content: std::fs::read(&source).map_err(io(&source))?,
            schema: crate::parse_schema("target.schema.json", &read(&dir.join("target.schema.json"))?)?,
            truth: fields,
            values: truth.values,
        });
    } else if dir.join("labels.json").is_file() {
        let input = std::fs::read_dir(dir)
            .map_err(io(dir))?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_stem().is_some_and(|s| s == "input"))
            .ok_or_else(|| SuggestError::Content(format!("{}: no input.* file", dir.display())))?;
        let labels_path = dir.join("labels.json");
        let labels: BTreeMap<String, Option<String>> =
            serde_json::from_str(&read(&labels_path)?).map_err(|e| json_error(&labels_path, e))?;
        cases.push(Case {
            set: set.unwrap_or("helix").to_owned(),
            name,
            content_name: file_name(&input),
            content: std::fs::read(&input).map_err(io(&input))?,
            schema: crate::parse_schema("schema.json", &read(&dir.join("schema.json"))?)?,
            truth: labels.into_iter().map(|(field, source)| (field, source.into_iter().collect())).collect(),
            values: BTreeMap::new(),
        });
    } else {
        for sub in subdirs(dir)? {
            load_into(&sub, Some(&name), cases)?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    /// Target fields that have a right source column.
    pub labelled: usize,
    pub hits_at_1: usize,
    pub hits_at_3: usize,
    pub reciprocal_rank_sum: f64,
    /// Labelled fields the draft mapped to a right column.
    pub assigned_right: usize,
    /// Scored fields the draft mapped to a wrong column (labelled or not).
    pub assigned_wrong: usize,
    /// Fields with no right column, and how many of them stayed unmapped.
    pub no_source: usize,
    pub no_source_unmapped: usize,
    /// Source value → target value pairs of the truth, and those the draft's value maps got.
    pub value_pairs: usize,
    pub values_right: usize,
    /// Value pairs the value map gets right when given the right column (the value mapper
    /// alone, whatever the column assignment).
    pub values_right_given_column: usize,
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
    pub fn value_accuracy(&self) -> f64 {
        self.values_right as f64 / self.value_pairs.max(1) as f64
    }
    pub fn value_accuracy_given_column(&self) -> f64 {
        self.values_right_given_column as f64 / self.value_pairs.max(1) as f64
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
        self.value_pairs += other.value_pairs;
        self.values_right += other.values_right;
        self.values_right_given_column += other.values_right_given_column;
        self.columns += other.columns;
        self.fields += other.fields;
    }
}

/// A case read and scored once: the matrix can then be recalibrated and assigned many times.
pub struct Prepared<'a> {
    pub case: &'a Case,
    columns: Vec<Column>,
    fields: Vec<TargetField>,
    matrix: ScoreMatrix,
}

pub fn prepare<'a>(
    case: &'a Case,
    embedder: Option<&dyn Embedder>,
    options: MatchOptions,
) -> Result<Prepared<'a>, SuggestError> {
    let columns = sample::read(&case.content_name, &case.content, sample::DEFAULT_SAMPLE_RECORDS)?;
    let (fields, _) = schema::target_fields(&case.schema)?;
    for (field, sources) in &case.truth {
        if !fields.iter().any(|f| &f.path == field) {
            return Err(SuggestError::Content(format!("{}: {field} is not a field of the schema", case.name)));
        }
        if let Some(missing) = sources.iter().find(|s| !columns.iter().any(|c| &c.name == *s)) {
            return Err(SuggestError::Content(format!("{}: {missing} is not a column of the input", case.name)));
        }
    }
    let matrix = matcher::score(&columns, &fields, embedder, options.signals)?;
    Ok(Prepared { case, columns, fields, matrix })
}

/// A pair the calibration is fitted on and judged by.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The case and target field it is a candidate for.
    pub field: (usize, usize),
    pub features: Features,
    pub confidence: f32,
    pub right: bool,
    /// The draft proposes it.
    pub assigned: bool,
}

/// Candidates per field the calibration is fitted on: the ones a draft could choose between.
const FITTED_CANDIDATES: usize = 5;

pub struct Outcome {
    pub metrics: Metrics,
    pub pairs: Vec<Pair>,
    /// The draft's wrong proposals, in words, for a look at what goes wrong.
    pub mistakes: Vec<String>,
    /// The labelled fields the draft leaves without their right column, in words: the right
    /// column's rank and confidence, and what the field's best candidate was.
    pub missed: Vec<String>,
}

/// Scores one prepared case: with `calibration`, its matrix recalibrated first; the value maps
/// use `embedder` as a suggestion would.
pub fn evaluate(
    prepared: &mut Prepared<'_>,
    case_index: usize,
    calibration: Option<Calibration>,
    options: MatchOptions,
    embedder: Option<&dyn Embedder>,
) -> Result<Outcome, SuggestError> {
    if let Some(calibration) = calibration {
        prepared.matrix.recalibrate(calibration);
    }
    let Prepared { case, columns, fields, matrix } = prepared;
    let matches: Vec<FieldMatch> = matrix.assign(options.threshold, columns.len());
    let mut m = Metrics { columns: columns.len(), fields: fields.len(), ..Metrics::default() };
    let mut pairs = Vec::new();
    let mut mistakes = Vec::new();
    let mut missed = Vec::new();
    for (f, field) in fields.iter().enumerate() {
        let Some(right) = case.truth.get(&field.path) else { continue };
        let chosen = matches[f].chosen.as_ref();
        let is_right = |column: usize| right.contains(&columns[column].name);
        if let Some(c) = chosen.filter(|c| !is_right(c.column)) {
            let wanted = if right.is_empty() { "nothing".to_owned() } else { right.join(" | ") };
            mistakes
                .push(format!("{}: {} <- {} ({:.2}); right: {wanted}", case.name, field.path, c.source, c.confidence));
        }
        let mut by_score: Vec<&matcher::Candidate> = matrix.scores[f].iter().collect();
        by_score.sort_by(|a, b| b.score.total_cmp(&a.score));
        for k in by_score.iter().take(FITTED_CANDIDATES) {
            pairs.push(Pair {
                field: (case_index, f),
                features: k.features,
                confidence: k.confidence,
                right: is_right(k.column),
                assigned: chosen.is_some_and(|c| c.column == k.column),
            });
        }
        if let Some(c) = chosen
            && !by_score.iter().take(FITTED_CANDIDATES).any(|k| k.column == c.column)
        {
            pairs.push(Pair {
                field: (case_index, f),
                features: c.features,
                confidence: c.confidence,
                right: is_right(c.column),
                assigned: true,
            });
        }
        if right.is_empty() {
            m.no_source += 1;
            match chosen {
                Some(_) => m.assigned_wrong += 1,
                None => m.no_source_unmapped += 1,
            }
            continue;
        }
        m.labelled += 1;
        let rank = matches[f].candidates.iter().position(|k| is_right(k.column)).map_or(usize::MAX, |p| p + 1);
        m.hits_at_1 += usize::from(rank == 1);
        m.hits_at_3 += usize::from(rank <= 3);
        m.reciprocal_rank_sum += if rank == usize::MAX { 0.0 } else { 1.0 / rank as f64 };
        match chosen {
            Some(c) if is_right(c.column) => m.assigned_right += 1,
            Some(_) => m.assigned_wrong += 1,
            None => {}
        }
        if !chosen.is_some_and(|c| is_right(c.column)) {
            let ranked = matrix.ranked(f);
            let first = ranked[0];
            let right_one = ranked.iter().position(|k| is_right(k.column)).map(|p| (p + 1, ranked[p]));
            let right_text = right_one.map_or_else(
                || "right column not scored".to_owned(),
                |(rank, k)| format!("right {} at rank {rank} ({:.2}, score {:.2})", k.source, k.confidence, k.score),
            );
            missed.push(format!(
                "{}: {}: {right_text}; first {} ({:.2}, score {:.2}){}",
                case.name,
                field.path,
                first.source,
                first.confidence,
                first.score,
                if chosen.is_some() { ", proposed" } else { "" }
            ));
        }
        if let Some(truth) = case.values.get(&field.path) {
            m.value_pairs += truth.len();
            // The value mapper on its own: the right column that holds the most truth values.
            let holds = |c: &&Column| truth.keys().filter(|v| c.values.iter().any(|x| x.trim() == *v)).count();
            if let Some(column) = columns.iter().filter(|c| right.contains(&c.name)).max_by_key(holds) {
                m.values_right_given_column += score_values(column, field, truth, embedder, &mut Vec::new())?;
            }
            match chosen {
                Some(c) => {
                    let prefix = format!("{}: {}", case.name, field.path);
                    let mut wrong = Vec::new();
                    m.values_right += score_values(&columns[c.column], field, truth, embedder, &mut wrong)?;
                    mistakes.extend(wrong.into_iter().map(|w| format!("{prefix}: {w}")));
                }
                None => mistakes.push(format!(
                    "{}: {}: {} value pairs, the field is not mapped",
                    case.name,
                    field.path,
                    truth.len()
                )),
            }
        }
    }
    Ok(Outcome { metrics: m, pairs, mistakes, missed })
}

/// What a draft does to its case's records: how many it reads and how many it accepts, run by the
/// engine against the case's schema as a transform job would.
#[derive(Debug, Clone, Default)]
pub struct DraftRun {
    pub records: u64,
    pub accepted: u64,
    /// Target fields the draft maps.
    pub mapped: usize,
    /// Every sampled value of every mapped enum field has a target value in the draft's maps.
    pub values_covered: bool,
    /// Required fields the draft leaves unmapped: each rejects every record.
    pub rejecting_fields: Vec<String>,
    /// The first rejected record's reasons, as the engine reports them.
    pub first_reject: Option<Value>,
}

/// Proposes a draft for `case` and runs it over the case's content.
pub fn run_draft(
    case: &Case,
    embedder: Option<&dyn Embedder>,
    options: &crate::SuggestOptions,
) -> Result<DraftRun, SuggestError> {
    let suggestion = crate::suggest(&case.content_name, &case.content, Some(&case.schema), embedder, options)?;
    let schema = case.schema.to_string();
    let draft = helix_engine::compile(
        Some(helix_engine::Source { name: "draft.yaml", text: &suggestion.context_yaml }),
        Some(helix_engine::Source { name: "target.schema.json", text: &schema }),
    )
    .map_err(|e| SuggestError::Context(format!("{}: the draft does not compile: {e}", case.name)))?;
    let (mut records, mut rejects) = (Vec::new(), Vec::new());
    let run_error = |e: helix_engine::EngineError| SuggestError::Content(format!("{}: {e}", case.name));
    let mut run = draft.start(&mut records, &mut rejects).map_err(run_error)?;
    run.feed(&case.content_name, &mut case.content.as_slice()).map_err(run_error)?;
    let summary = run.finish().map_err(run_error)?;
    let fields = &suggestion.report.fields;
    Ok(DraftRun {
        records: summary.records_in,
        accepted: summary.records_out,
        mapped: fields.iter().filter(|f| f.source.is_some()).count(),
        values_covered: fields.iter().filter_map(|f| f.value_map.as_ref()).all(|m| m.unmapped.is_empty()),
        rejecting_fields: suggestion.report.rejecting_fields,
        first_reject: serde_json::from_slice::<Value>(&rejects).ok().and_then(|r| r.pointer("/rejects/0").cloned()),
    })
}

/// How many of the truth's value pairs the value map proposed for `column` gets right; the
/// wrong ones are described in `wrong`.
fn score_values(
    column: &Column,
    field: &TargetField,
    truth: &BTreeMap<String, Value>,
    embedder: Option<&dyn Embedder>,
    wrong: &mut Vec<String>,
) -> Result<usize, SuggestError> {
    let map = values::propose(&column.values, field, embedder)?;
    let mut right = 0;
    for (source, target) in truth {
        let proposed = map.as_ref().and_then(|map| map.entries.iter().find(|e| &e.source == source));
        let ok = match proposed {
            Some(e) => same_value(&e.target, target),
            // Not translated: right when the value is allowed as it is.
            None => {
                column.values.iter().any(|v| v.trim() == source) && same_value(&Value::from(source.as_str()), target)
            }
        };
        right += usize::from(ok);
        if !ok {
            let got = proposed.map_or_else(|| "nothing".to_owned(), |e| e.target.to_string());
            wrong.push(format!("value {source:?} -> {got}, right: {target}"));
        }
    }
    Ok(right)
}

/// Equal, numbers compared as numbers (`8507` and `"8507"` alike).
fn same_value(a: &Value, b: &Value) -> bool {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The calibration, in two steps. A logistic regression of `right` on the features of each
/// field's leading candidates learns to rank a field's columns; then its output is rescaled
/// (Platt) so that it is calibrated on the candidates that rank first, the ones a draft
/// proposes. The rescaling is monotone: it leaves the ranking as it was.
pub fn fit(pairs: &[Pair]) -> Calibration {
    let rows: Vec<(Features, bool)> = pairs.iter().map(|p| (p.features, p.right)).collect();
    let ranking = logistic(&rows);
    let z = |p: &Pair| -> f32 { ranking.iter().zip(&p.features).map(|(w, x)| w * x).sum() };
    let mut best: BTreeMap<(usize, usize), &Pair> = BTreeMap::new();
    for p in pairs {
        let entry = best.entry(p.field).or_insert(p);
        if z(p) > z(entry) {
            *entry = p;
        }
    }
    let firsts: Vec<(Features, bool)> = best
        .values()
        .map(|p| {
            let mut x = [0.0; FEATURES];
            (x[0], x[1]) = (1.0, z(p));
            (x, p.right)
        })
        .collect();
    let platt = logistic(&firsts);
    let mut weights = ranking.map(|w| platt[1] * w);
    weights[0] += platt[0];
    Calibration(weights)
}

/// Logistic regression (Newton's method, a little ridge so that separable data stays finite).
#[allow(clippy::needless_range_loop)] // matrix arithmetic reads best with indices
fn logistic(rows: &[(Features, bool)]) -> Features {
    const RIDGE: f64 = 1e-2;
    let mut w = [0.0f64; FEATURES];
    for _ in 0..50 {
        let mut gradient = [0.0f64; FEATURES];
        let mut hessian = [[0.0f64; FEATURES]; FEATURES];
        for (features, right) in rows {
            let x = features.map(f64::from);
            let z: f64 = w.iter().zip(&x).map(|(w, x)| w * x).sum();
            let q = 1.0 / (1.0 + (-z).exp());
            let err = q - f64::from(u8::from(*right));
            for i in 0..FEATURES {
                gradient[i] += err * x[i];
                for j in 0..FEATURES {
                    hessian[i][j] += q * (1.0 - q) * x[i] * x[j];
                }
            }
        }
        for i in 0..FEATURES {
            gradient[i] += RIDGE * w[i];
            hessian[i][i] += RIDGE;
        }
        let step = solve(hessian, gradient);
        for (w, s) in w.iter_mut().zip(step) {
            *w -= s;
        }
        if step.iter().all(|s| s.abs() < 1e-9) {
            break;
        }
    }
    w.map(|x| x as f32)
}

/// `a x = b` by Gaussian elimination with partial pivoting (`a` is positive definite here).
#[allow(clippy::needless_range_loop)] // matrix arithmetic reads best with indices
fn solve(mut a: [[f64; FEATURES]; FEATURES], mut b: [f64; FEATURES]) -> [f64; FEATURES] {
    for col in 0..FEATURES {
        let pivot = (col..FEATURES).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs())).unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..FEATURES {
            let factor = a[row][col] / a[col][col];
            for k in col..FEATURES {
                a[row][k] -= factor * a[col][k];
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = [0.0f64; FEATURES];
    for row in (0..FEATURES).rev() {
        let tail: f64 = (row + 1..FEATURES).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    x
}

/// One row of a reliability table: proposals whose confidence fell in `[from, to)`.
#[derive(Debug, Clone, Copy)]
pub struct Bin {
    pub from: f32,
    pub to: f32,
    pub count: usize,
    pub mean_confidence: f64,
    pub accuracy: f64,
}

/// How often the draft's proposals were right, by confidence.
pub fn reliability(pairs: &[Pair], edges: &[f32]) -> Vec<Bin> {
    edges
        .windows(2)
        .map(|w| {
            let (from, to) = (w[0], w[1]);
            let last = to >= edges[edges.len() - 1];
            let inside: Vec<&Pair> =
                pairs.iter().filter(|p| p.assigned && p.confidence >= from && (p.confidence < to || last)).collect();
            let count = inside.len();
            // Folded from 0.0: an empty `sum` of floats is -0.0, printed "-0.000".
            let mean_confidence =
                inside.iter().map(|p| f64::from(p.confidence)).fold(0.0, |a, b| a + b) / count.max(1) as f64;
            let accuracy = inside.iter().filter(|p| p.right).count() as f64 / count.max(1) as f64;
            Bin { from, to, count, mean_confidence, accuracy }
        })
        .collect()
}

/// A reliability diagram of `bins` as an SVG image: each bin's mean confidence against how often
/// its proposals were right, a dot whose area is its share of the proposals, beside the
/// diagonal of a perfect calibration.
pub fn reliability_svg(title: &str, bins: &[Bin]) -> String {
    const SIZE: f64 = 360.0;
    const MARGIN: f64 = 48.0;
    let side = SIZE - 2.0 * MARGIN;
    let x = |v: f64| MARGIN + v.clamp(0.0, 1.0) * side;
    let y = |v: f64| SIZE - MARGIN - v.clamp(0.0, 1.0) * side;
    let total = bins.iter().map(|b| b.count).sum::<usize>().max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{SIZE}\" height=\"{SIZE}\" viewBox=\"0 0 {SIZE} {SIZE}\" \
         font-family=\"sans-serif\" font-size=\"11\">\n<title>{}</title>\n<rect width=\"{SIZE}\" height=\"{SIZE}\" fill=\"white\"/>\n",
        escape_xml(title)
    );
    svg += &format!(
        "<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"13\">{}</text>\n",
        SIZE / 2.0,
        escape_xml(title)
    );
    for tick in 0..=5 {
        let v = f64::from(tick) / 5.0;
        svg += &format!(
            "<line x1=\"{0}\" y1=\"{2}\" x2=\"{0}\" y2=\"{3}\" stroke=\"#ddd\"/><line x1=\"{2}\" y1=\"{1}\" x2=\"{4}\" y2=\"{1}\" stroke=\"#ddd\"/>\
             <text x=\"{0}\" y=\"{5}\" text-anchor=\"middle\">{6:.1}</text><text x=\"{7}\" y=\"{8}\" text-anchor=\"end\">{6:.1}</text>\n",
            x(v),
            y(v),
            MARGIN,
            SIZE - MARGIN,
            SIZE - MARGIN,
            SIZE - MARGIN + 16.0,
            v,
            MARGIN - 6.0,
            y(v) + 4.0,
        );
    }
    svg += &format!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#888\" stroke-dasharray=\"4 4\"/>\n",
        x(0.0),
        y(0.0),
        x(1.0),
        y(1.0)
    );
    svg += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">confidence</text>\n<text x=\"14\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">share right</text>\n",
        SIZE / 2.0,
        SIZE - 12.0,
        SIZE / 2.0,
        SIZE / 2.0
    );
    for bin in bins.iter().filter(|b| b.count > 0) {
        let radius = 3.0 + 14.0 * (bin.count as f64 / total).sqrt();
        svg += &format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{radius:.1}\" fill=\"#2b6cb0\" fill-opacity=\"0.6\">\
             <title>{:.1}–{:.1}: {} proposals, mean confidence {:.3}, right {:.3}</title></circle>\n",
            x(bin.mean_confidence),
            y(bin.accuracy),
            bin.from,
            bin.to,
            bin.count,
            bin.mean_confidence,
            bin.accuracy
        );
    }
    svg + "</svg>\n"
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reliability_diagram_has_a_dot_per_bin_with_proposals() {
        let bin = |from: f32, to: f32, count: usize, mean_confidence: f64, accuracy: f64| Bin {
            from,
            to,
            count,
            mean_confidence,
            accuracy,
        };
        let bins = [bin(0.0, 0.5, 0, 0.0, 0.0), bin(0.7, 0.8, 24, 0.75, 0.54), bin(0.9, 1.0, 124, 0.97, 0.93)];
        let svg = reliability_svg("draft <combined>", &bins);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
        assert!(svg.contains("<title>draft &lt;combined&gt;</title>"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        // 0.97 right 0.93: x = 48 + 0.97 * 264, y = 360 - 48 - 0.93 * 264.
        assert!(svg.contains("cx=\"304.1\" cy=\"66.5\""), "{svg}");
        assert!(svg.contains("0.9–1.0: 124 proposals, mean confidence 0.970, right 0.930"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
