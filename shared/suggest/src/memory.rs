//! The team's mapping memory, consulted before the matcher: a column its users confirmed for a
//! field is known again by its name (as spelled, or with case and punctuation folded) or, renamed
//! or moved, by the look of its values, and gets the field with the confirmation as evidence.
//!
//! Entries are grouped by the draft they were confirmed on (one file of a source). A group is
//! matched to the file's columns one to one: names first, then the remaining columns by their
//! values' signature. The best-matching group recalls its renamed columns; every group recalls
//! the columns that kept their name.

use std::collections::{BTreeMap, HashMap, HashSet};

use helix_domain::mapping_memory::normalised_column;
use helix_domain::{ColumnSignature, RememberedMapping};
use serde_json::Value;

use crate::lexical;
use crate::matcher::{Candidate, FieldMatch};
use crate::profile::ValueKind;
use crate::sample::Column;
use crate::schema::TargetField;
use crate::values::{Match, ValueMap, ValueMapping};

/// Values a signature keeps.
const SIGNATURE_VALUES: usize = 12;
/// Shapes a signature keeps.
const SIGNATURE_SHAPES: usize = 3;
/// A renamed column is recalled only when it looks at least this much like the remembered one.
const LIKENESS_FLOOR: f32 = 0.6;
/// A group's renamed columns are recalled only when it matched at least this share of its
/// columns: a file of another source matches a few columns by chance, not most of them.
const GROUP_COVERAGE_FLOOR: f32 = 0.5;
/// Confidence of a column recalled by its name.
const NAMED_CONFIDENCE: f32 = 0.99;

fn kind_name(kind: &ValueKind) -> &'static str {
    match kind {
        ValueKind::Empty => "empty",
        ValueKind::Boolean => "boolean",
        ValueKind::Integer { .. } => "integer",
        ValueKind::Decimal { .. } => "decimal",
        ValueKind::Date { .. } => "date",
        ValueKind::DateTime { .. } => "date-time",
        ValueKind::Email => "email",
        ValueKind::Text => "text",
    }
}

fn number(value: &str, kind: &ValueKind) -> Option<f64> {
    let text = match kind {
        ValueKind::Decimal { locale: "de", .. } => value.replace('.', "").replace(',', "."),
        ValueKind::Decimal { locale: "fr", .. } => value.replace([' ', '\u{a0}'], "").replace(',', "."),
        _ => value.replace(',', ""),
    };
    text.trim().parse().ok()
}

/// A value's shape: each run of digits `9`, of letters `a`, of both `x`; other characters kept.
fn shape(value: &str) -> String {
    let mut shape = String::new();
    let mut run: Option<char> = None;
    for c in value.chars() {
        let class = if c.is_ascii_digit() {
            '9'
        } else if c.is_alphabetic() {
            'a'
        } else {
            shape.extend(run.take());
            shape.push(c);
            continue;
        };
        run = Some(match run {
            Some(current) if current != class => 'x',
            _ => class,
        });
    }
    shape.extend(run);
    shape
}

/// The most frequent of `items`, most frequent first (first seen first among equals).
fn most_frequent<'a>(items: impl IntoIterator<Item = &'a str>, keep: usize) -> (Vec<String>, usize) {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for item in items {
        match at.get(item) {
            Some(&i) => counts[i].1 += 1,
            None => {
                at.insert(item, counts.len());
                counts.push((item, 1));
            }
        }
    }
    let distinct = counts.len();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    (counts.into_iter().take(keep).map(|(v, _)| v.to_owned()).collect(), distinct)
}

/// What the column's sampled values look like, for the memory.
pub fn signature(column: &Column) -> ColumnSignature {
    let present: Vec<&str> = column.values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
    let (values, distinct) = most_frequent(present.iter().copied(), SIGNATURE_VALUES);
    let shapes: Vec<String> = present.iter().map(|v| shape(v)).collect();
    let (shapes, _) = most_frequent(shapes.iter().map(String::as_str), SIGNATURE_SHAPES);
    let kind = &column.profile.kind;
    let numbers: Vec<f64> = match kind {
        ValueKind::Integer { .. } | ValueKind::Decimal { .. } => {
            present.iter().filter_map(|v| number(v, kind)).filter(|x| x.is_finite()).collect()
        }
        _ => Vec::new(),
    };
    ColumnSignature {
        kind: kind_name(kind).to_owned(),
        min_len: column.profile.min_len as u32,
        max_len: column.profile.max_len as u32,
        distinct_ratio: if present.is_empty() { 0.0 } else { distinct as f32 / present.len() as f32 },
        values,
        shapes,
        min: numbers.iter().copied().reduce(f64::min),
        max: numbers.iter().copied().reduce(f64::max),
    }
}

/// How far two closed ranges overlap: their intersection over their union (1 when equal).
fn range_overlap(a: (f64, f64), b: (f64, f64)) -> f32 {
    let union = a.1.max(b.1) - a.0.min(b.0);
    if union <= 0.0 {
        return 1.0;
    }
    ((a.1.min(b.1) - a.0.max(b.0)).max(0.0) / union) as f32
}

/// How alike two numeric ranges are: overlapping, or apart by little for their size (the next
/// file's keys and dates move on: 4711–4713, then 4800–4802).
fn range_likeness(a: (f64, f64), b: (f64, f64)) -> f32 {
    let (centre_a, centre_b) = ((a.0 + a.1) / 2.0, (b.0 + b.1) / 2.0);
    let scale = centre_a.abs().max(centre_b.abs()).max(a.1 - a.0).max(b.1 - b.0);
    let near = if scale > 0.0 { (1.0 - (centre_a - centre_b).abs() / scale).max(0.0) as f32 } else { 1.0 };
    range_overlap(a, b).max(near)
}

/// The share of the smaller list found in the other.
fn shared(a: &[String], b: &[String]) -> Option<f32> {
    let smaller = a.len().min(b.len());
    if smaller == 0 {
        return None;
    }
    let ours: HashSet<&str> = a.iter().map(String::as_str).collect();
    Some(b.iter().filter(|v| ours.contains(v.as_str())).count() as f32 / smaller as f32)
}

/// How much a column's values look like a remembered column's (0..1).
pub fn likeness(remembered: &ColumnSignature, column: &ColumnSignature) -> f32 {
    let kinds = match (remembered.kind.as_str(), column.kind.as_str()) {
        (a, b) if a == b => 1.0,
        ("integer", "decimal") | ("decimal", "integer") | ("date", "date-time") | ("date-time", "date") => 0.7,
        ("empty", _) | (_, "empty") => 0.3,
        _ => return 0.0,
    };
    let lengths = range_overlap(
        (f64::from(remembered.min_len), f64::from(remembered.max_len) + 1.0),
        (f64::from(column.min_len), f64::from(column.max_len) + 1.0),
    );
    let mut parts = vec![(lengths, 1.0), (1.0 - (remembered.distinct_ratio - column.distinct_ratio).abs(), 1.0)];
    if let (Some(a0), Some(a1), Some(b0), Some(b1)) = (remembered.min, remembered.max, column.min, column.max) {
        parts.push((range_likeness((a0, a1), (b0, b1)), 1.0));
    }
    if let Some(shapes) = shared(&remembered.shapes, &column.shapes) {
        parts.push((shapes, 1.0));
    }
    // A code or category column (every distinct value in the signature) has the same values
    // whatever the file: their overlap says most. Elsewhere a shared value is a hint.
    let all_seen = remembered.values.len() < SIGNATURE_VALUES && column.values.len() < SIGNATURE_VALUES;
    if let Some(values) = shared(&remembered.values, &column.values) {
        let repeated = remembered.distinct_ratio <= 0.5 && column.distinct_ratio <= 0.5;
        if all_seen && (repeated || values > 0.0) {
            parts.push((values, 3.0));
        } else if repeated || values > 0.0 {
            // Values repeated throughout that share none of the other's most frequent values
            // belong to another column.
            parts.push((values, 1.0));
        }
    }
    let (sum, weights) = parts.iter().fold((0.0, 0.0), |(s, w), (x, weight)| (s + x * weight, w + weight));
    kinds * sum / weights
}

/// How a remembered column was found again in the file.
#[derive(Debug, Clone, Copy)]
enum Found {
    /// Under the name it had.
    Named,
    /// Renamed or moved, by its values: how alike they look.
    Alike(f32),
}

/// A remembered column (one name of one confirmed draft) and its entries.
struct RememberedColumn<'a> {
    name: &'a str,
    signature: &'a ColumnSignature,
    entries: Vec<&'a RememberedMapping>,
}

/// One confirmed draft's columns matched one to one to the file's: `(remembered, column, how)`.
fn match_group(
    group: &[RememberedColumn<'_>],
    columns: &[Column],
    signatures: &[ColumnSignature],
) -> Vec<(usize, usize, Found)> {
    let mut matched = Vec::new();
    let (mut remembered_done, mut column_done) = (vec![false; group.len()], vec![false; columns.len()]);
    let names: Vec<String> = columns.iter().map(|c| normalised_column(&c.name)).collect();
    for (r, remembered) in group.iter().enumerate() {
        let name = normalised_column(remembered.name);
        let exact = columns.iter().position(|c| c.name == remembered.name);
        let folded = || names.iter().enumerate().position(|(c, n)| !column_done[c] && *n == name);
        if let Some(c) = exact.filter(|&c| !column_done[c]).or_else(folded) {
            matched.push((r, c, Found::Named));
            (remembered_done[r], column_done[c]) = (true, true);
        }
    }
    let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
    for (r, remembered) in group.iter().enumerate().filter(|(r, _)| !remembered_done[*r]) {
        for (c, column) in columns.iter().enumerate().filter(|(c, _)| !column_done[*c]) {
            let alike = likeness(remembered.signature, &signatures[c]);
            if alike >= LIKENESS_FLOOR {
                // The name breaks ties between columns whose values look alike.
                let score = 0.9 * alike + 0.1 * lexical::raw_name_similarity(remembered.name, &column.name);
                pairs.push((score, r, c));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (score, r, c) in pairs {
        if !remembered_done[r] && !column_done[c] {
            matched.push((r, c, Found::Alike(score)));
            (remembered_done[r], column_done[c]) = (true, true);
        }
    }
    matched
}

/// A field's recalled source: the column, the entry that confirmed it and how it was found.
pub(crate) struct Recalled {
    pub column: usize,
    pub entry: RememberedMapping,
    found: Found,
}

impl Recalled {
    fn confidence(&self) -> f32 {
        match self.found {
            Found::Named => NAMED_CONFIDENCE,
            Found::Alike(score) => 0.9 + 0.08 * score,
        }
    }

    fn evidence(&self, column: &Column) -> String {
        let date = self.entry.confirmed_at.to_string();
        let date = date.get(..10).unwrap_or(&date);
        let confirmed = format!("confirmed by {} on {date} for {}", self.entry.confirmed_by, self.entry.column);
        match self.found {
            Found::Named if column.name == self.entry.column => format!("{confirmed} (same name)"),
            Found::Named => format!("{confirmed} (same name but for case and punctuation)"),
            Found::Alike(score) => {
                format!("{confirmed}; renamed {}: its values look alike ({:.0}%)", column.name, score * 100.0)
            }
        }
    }
}

/// For each field, the source the memory recalls for it, if any.
pub(crate) fn recall(
    memory: &[RememberedMapping],
    columns: &[Column],
    fields: &[TargetField],
) -> Vec<Option<Recalled>> {
    let mut recalled: Vec<Option<Recalled>> = fields.iter().map(|_| None).collect();
    if memory.is_empty() || columns.is_empty() {
        return recalled;
    }
    let field_at: HashMap<&str, usize> = fields.iter().enumerate().map(|(i, f)| (f.path.as_str(), i)).collect();
    let signatures: Vec<ColumnSignature> = columns.iter().map(signature).collect();
    // One group per confirmed draft, its columns by folded name, the latest confirmation first.
    let mut by_draft: BTreeMap<&str, Vec<&RememberedMapping>> = BTreeMap::new();
    for entry in memory.iter().filter(|e| field_at.contains_key(e.target.as_str())) {
        by_draft.entry(entry.job_id.as_str()).or_default().push(entry);
    }
    let groups: Vec<Vec<RememberedColumn<'_>>> = by_draft
        .into_values()
        .map(|mut entries| {
            entries.sort_by_key(|e| std::cmp::Reverse(e.confirmed_at));
            let mut columns: Vec<RememberedColumn<'_>> = Vec::new();
            for entry in entries {
                match columns.iter_mut().find(|c| normalised_column(c.name) == normalised_column(&entry.column)) {
                    Some(column) => column.entries.push(entry),
                    None => columns.push(RememberedColumn {
                        name: &entry.column,
                        signature: &entry.signature,
                        entries: vec![entry],
                    }),
                }
            }
            columns
        })
        .collect();
    let matches: Vec<Vec<(usize, usize, Found)>> =
        groups.iter().map(|group| match_group(group, columns, &signatures)).collect();
    let fit = |g: usize| {
        let score: f32 =
            matches[g].iter().map(|(_, _, found)| if let Found::Alike(s) = found { *s } else { 1.0 }).sum();
        (score / groups[g].len().max(1) as f32, matches[g].len() as f32 / groups[g].len().max(1) as f32)
    };
    let best = (0..groups.len()).max_by(|&a, &b| fit(a).0.total_cmp(&fit(b).0));
    for (g, group) in groups.iter().enumerate() {
        let renamed_too = Some(g) == best && fit(g).1 >= GROUP_COVERAGE_FLOOR;
        for &(r, c, found) in &matches[g] {
            if matches!(found, Found::Alike(_)) && !renamed_too {
                continue;
            }
            for entry in &group[r].entries {
                let f = field_at[entry.target.as_str()];
                let candidate = Recalled { column: c, entry: (*entry).clone(), found };
                let better = match &recalled[f] {
                    None => true,
                    Some(current) => {
                        candidate.confidence() > current.confidence()
                            || (candidate.confidence() == current.confidence()
                                && candidate.entry.confirmed_at > current.entry.confirmed_at)
                    }
                };
                if better {
                    recalled[f] = Some(candidate);
                }
            }
        }
    }
    recalled
}

/// The field's match with the recalled column first, proposed whatever the threshold.
pub(crate) fn recalled_match(
    recalled: &Recalled,
    columns: &[Column],
    matched: &FieldMatch,
    top_k: usize,
) -> FieldMatch {
    let column = &columns[recalled.column];
    let confidence = recalled.confidence();
    let candidate = Candidate {
        source: column.name.clone(),
        confidence,
        score: confidence,
        embedding: None,
        name_embedding: None,
        lexical: lexical::raw_name_similarity(&recalled.entry.column, &column.name),
        profile: likeness(&recalled.entry.signature, &signature(column)),
        evidence: recalled.evidence(column),
        column: recalled.column,
        features: Default::default(),
    };
    let mut candidates = vec![candidate.clone()];
    candidates.extend(matched.candidates.iter().filter(|k| k.column != recalled.column).take(top_k).cloned());
    FieldMatch { chosen: Some(candidate), candidates }
}

/// The confirmed value map over the proposed one: the confirmed translations first, then the
/// proposals for values the confirmation did not see.
pub(crate) fn value_map(confirmed: &BTreeMap<String, Value>, proposed: Option<ValueMap>) -> Option<ValueMap> {
    if confirmed.is_empty() {
        return proposed;
    }
    let proposed = proposed.unwrap_or_default();
    let mut entries: Vec<ValueMapping> = confirmed
        .iter()
        .map(|(source, target)| ValueMapping {
            source: source.clone(),
            target: target.clone(),
            confidence: 1.0,
            how: Match::Confirmed,
        })
        .collect();
    entries.extend(proposed.entries.into_iter().filter(|e| !confirmed.contains_key(&e.source)));
    let unmapped = proposed.unmapped.into_iter().filter(|v| !confirmed.contains_key(v)).collect();
    Some(ValueMap { entries, unchanged: proposed.unchanged, unmapped })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, values: &[&str]) -> Column {
        Column::flat(name, values.iter().map(|v| (*v).to_owned()).collect())
    }

    #[test]
    fn shapes_fold_runs_of_digits_and_letters() {
        assert_eq!(shape("2024-03-01"), "9-9-9");
        assert_eq!(shape("4e2f8a1c-0b7d-1234"), "x-x-9");
        assert_eq!(shape("AB 12"), "a 9");
    }

    #[test]
    fn a_code_column_looks_like_itself_under_another_name_and_not_like_an_amount() {
        let status = signature(&column("STATUS", &["open", "done", "open", "held", "done", "open"]));
        let renamed = signature(&column("state", &["done", "open", "open", "held", "open", "done"]));
        let amount = signature(&column("amount", &["12.50", "99.00", "5.10", "7.00", "1.00", "3.30"]));
        assert!(likeness(&status, &renamed) > 0.9, "{}", likeness(&status, &renamed));
        assert_eq!(likeness(&status, &amount), 0.0);
        let amounts = signature(&column("NETWR", &["10.00", "250.00", "99.90", "12.00"]));
        let other = signature(&column("net", &["11.00", "240.00", "98.90", "13.50"]));
        let far = signature(&column("weight", &["1000000.5", "2500000.0", "990000.9", "1200000.0"]));
        assert!(likeness(&amounts, &other) > likeness(&amounts, &far));
    }

    /// Codes repeated throughout a file recur in the next file of the source; other codes of
    /// the same look that share none of them are another column (a reaction, not an allergen).
    #[test]
    fn repeated_codes_sharing_some_values_look_more_alike_than_codes_sharing_none() {
        let codes = |from: usize| -> Vec<String> {
            (from..from + 20).flat_map(|i| [format!("C{i:02}"), format!("C{i:02}")]).collect()
        };
        let named = |name: &str, values: Vec<String>| signature(&Column::flat(name, values));
        let remembered = named("CODE", codes(1));
        let same_source = named("field_6", codes(11));
        let other_codes = named("REACTION", codes(41));
        assert!(
            likeness(&remembered, &same_source) > likeness(&remembered, &other_codes),
            "{} vs {}",
            likeness(&remembered, &same_source),
            likeness(&remembered, &other_codes)
        );
    }
}
