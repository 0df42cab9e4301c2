//! Scores every (target field, source column) pair from three signals, then assigns columns to
//! each field its best column when that is confident enough, leaving it unmapped otherwise.

use regex::Regex;
use serde::Serialize;

use crate::SuggestError;
use crate::embed::{Embedder, cosine};
use crate::lexical::{self, Abbreviations, Name};
use crate::profile::{self, ValueKind};
use crate::sample::Column;
use crate::schema::TargetField;

/// Which signals score a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signals {
    /// Embedding + lexical + value profile.
    Combined,
    /// Lexical + value profile, no model.
    WithoutEmbedding,
    /// The baseline: spelling similarity of the raw names, nothing else.
    NameOnly,
}

#[derive(Debug, Clone, Copy)]
pub struct MatchOptions {
    pub signals: Signals,
    /// Below this confidence a column is not proposed for a field. At the default, 0.7, nine
    /// in ten of the proposals were right on the evaluation sets.
    pub threshold: f32,
    /// Alternatives reported per target field besides its best candidate.
    pub top_k: usize,
}

impl Default for MatchOptions {
    fn default() -> Self {
        Self { signals: Signals::Combined, threshold: 0.7, top_k: 3 }
    }
}

const EMBEDDING_WEIGHT: f32 = 0.4;
const LEXICAL_WEIGHT: f32 = 0.4;
const PROFILE_WEIGHT: f32 = 0.2;
/// Where [`Features`] flags a column empty in the sample.
const EMPTY: usize = 9;
/// Confidences this close are a tie.
const NEAR_TIE: f32 = 0.05;
/// A value-profile fit below this says the values cannot be the field's (text for a number, a
/// date for an enum).
const RULED_OUT: f32 = 0.3;
/// Cosines of unrelated short names sit around 0.1–0.3 with this model; rescale so that
/// "unrelated" is near 0 and "same meaning" near 1.
const COSINE_FLOOR: f32 = 0.2;
const COSINE_CEILING: f32 = 0.85;

/// One column's score for one field, with its parts.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub source: String,
    /// How likely this column is the field's source (0..1), calibrated on the evaluation sets:
    /// of the proposals made at 0.9, about nine in ten were right there.
    pub confidence: f32,
    /// The signals combined (0..1), before the competition between columns and fields is
    /// taken into account.
    pub score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<f32>,
    /// Likeness in meaning of the two names alone (expanded), without the field's description
    /// and the column's values: a long description can drown the name it explains.
    #[serde(skip)]
    pub name_embedding: Option<f32>,
    pub lexical: f32,
    pub profile: f32,
    pub evidence: String,
    #[serde(skip)]
    pub column: usize,
    /// The calibration's inputs, kept for fitting it (`eval`).
    #[serde(skip)]
    pub features: Features,
}

/// The outcome for one target field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldMatch {
    /// The chosen column, whether or not it is among `candidates`.
    #[serde(skip)]
    pub chosen: Option<Candidate>,
    /// The best columns, best first.
    pub candidates: Vec<Candidate>,
}

/// Scores of all pairs: `scores[field][column]`.
pub struct ScoreMatrix {
    pub scores: Vec<Vec<Candidate>>,
}

pub(crate) fn rescale(cosine: f32) -> f32 {
    ((cosine - COSINE_FLOOR) / (COSINE_CEILING - COSINE_FLOOR)).clamp(0.0, 1.0)
}

/// What the calibration reads of a pair: a constant, the combined score, how far it is ahead of
/// the field's best other column (outside its repeated group) and of the column's best other
/// field — each as its lead and its lag, which weigh differently: a column that fits another
/// field a little better often fills both (a code and its concept id), one far behind does not —
/// the three signals, whether the column is empty in the sample, the likeness in meaning of the
/// names alone, whether the column is the field's best and the field the column's best, and
/// whether the values rule the field out (a type or enum they do not fit), the lead over the
/// field's columns that are not taken by another field as its mutual best, and how far the names
/// alone fit the column's best other field better.
pub const FEATURES: usize = 17;
pub type Features = [f32; FEATURES];

/// Logistic weights over [`Features`], fitted on the evaluation sets (`cargo test -p
/// helix-suggest --test eval -- --ignored fit` prints them).
#[derive(Debug, Clone, Copy)]
pub struct Calibration(pub Features);

impl Calibration {
    pub fn probability(&self, features: &Features) -> f32 {
        let z: f32 = self.0.iter().zip(features).map(|(w, x)| w * x).sum();
        1.0 / (1.0 + (-z).exp())
    }

    /// The calibration of a matcher's signals; the name-only baseline's score is taken as it is.
    pub fn of(signals: Signals) -> Option<Calibration> {
        match signals {
            Signals::Combined => Some(COMBINED),
            Signals::WithoutEmbedding => Some(WITHOUT_EMBEDDING),
            Signals::NameOnly => None,
        }
    }
}

const COMBINED: Calibration = Calibration([
    -1.7173064,
    0.23385315,
    3.161213,
    7.076671,
    6.255011,
    0.6806588,
    -0.34067,
    1.1156602,
    -0.3806816,
    0.47680286,
    0.51733,
    -0.16005865,
    0.3036676,
    -0.1179435,
    3.7326412,
    1.4063886,
    2.4331908,
]);
const WITHOUT_EMBEDDING: Calibration = Calibration([
    -2.949222,
    0.6071248,
    2.5062277,
    4.341101,
    4.2855678,
    0.97740114,
    0.5223774,
    0.0,
    0.94593966,
    0.7448135,
    0.0,
    -0.23258872,
    0.124992445,
    0.39899614,
    3.7985308,
    -1.5041195,
    2.2543852,
]);

/// Scores every pair, with names expanded through the built-in abbreviation tables.
pub fn score(
    columns: &[Column],
    fields: &[TargetField],
    embedder: Option<&dyn Embedder>,
    signals: Signals,
) -> Result<ScoreMatrix, SuggestError> {
    score_with(columns, fields, embedder, signals, &Abbreviations::built_in())
}

/// Scores every pair; names are expanded through `abbreviations` for the lexical signal and
/// before they are embedded.
pub fn score_with(
    columns: &[Column],
    fields: &[TargetField],
    embedder: Option<&dyn Embedder>,
    signals: Signals,
    abbreviations: &Abbreviations,
) -> Result<ScoreMatrix, SuggestError> {
    let mut matrix = raw_scores(columns, fields, embedder, signals, abbreviations)?;
    matrix.calibrate(columns, Calibration::of(signals));
    Ok(matrix)
}

fn raw_scores(
    columns: &[Column],
    fields: &[TargetField],
    embedder: Option<&dyn Embedder>,
    signals: Signals,
    abbreviations: &Abbreviations,
) -> Result<ScoreMatrix, SuggestError> {
    if signals == Signals::NameOnly {
        let scores = fields
            .iter()
            .map(|f| {
                columns
                    .iter()
                    .enumerate()
                    .map(|(c, column)| {
                        let s = lexical::raw_name_similarity(&column.name, f.name());
                        Candidate {
                            source: column.name.clone(),
                            confidence: s,
                            score: s,
                            embedding: None,
                            name_embedding: None,
                            lexical: s,
                            profile: 0.0,
                            evidence: "name spelling".into(),
                            column: c,
                            features: Features::default(),
                        }
                    })
                    .collect()
            })
            .collect();
        return Ok(ScoreMatrix { scores });
    }
    let embeddings = match (signals, embedder) {
        (Signals::Combined, Some(embedder)) => {
            let mut texts: Vec<String> = columns.iter().map(|c| c.text(abbreviations)).collect();
            texts.extend(fields.iter().map(|f| f.text(abbreviations)));
            texts.extend(columns.iter().map(|c| abbreviations.phrase(&c.name.replace(['[', ']', '.'], " "))));
            texts.extend(fields.iter().map(|f| f.name_text(abbreviations)));
            let mut vectors = embedder.embed(&texts)?;
            let target_names = vectors.split_off(2 * columns.len() + fields.len());
            let source_names = vectors.split_off(columns.len() + fields.len());
            let targets = vectors.split_off(columns.len());
            Some(Embedded { sources: vectors, targets, source_names, target_names })
        }
        (Signals::Combined, None) => return Err(SuggestError::Model("the combined matcher needs an embedder".into())),
        _ => None,
    };
    let column_names: Vec<(Name, String)> = columns
        .iter()
        .map(|c| {
            let words = abbreviations.expand(&c.name.replace(['[', ']', '.'], " "));
            (Name::new(&words), words.join(" "))
        })
        .collect();
    let field_names: Vec<Vec<Name>> =
        fields.iter().map(|f| f.name_words(abbreviations).iter().map(|w| Name::new(w)).collect()).collect();
    let weight = idf(&field_names);
    let mut scores = Vec::with_capacity(fields.len());
    for (f, field) in fields.iter().enumerate() {
        let field_names = &field_names[f];
        let pattern = field.pattern.as_deref().and_then(|p| Regex::new(p).ok());
        let row = columns
            .iter()
            .enumerate()
            .map(|(c, column)| {
                let lex =
                    field_names.iter().map(|n| column_names[c].0.weighted_similarity(n, &weight)).fold(0.0, f32::max);
                let (fit, why) = profile::compatibility(&column.profile, &column.values, field, pattern.as_ref());
                let embedding = embeddings.as_ref().map(|e| rescale(cosine(&e.sources[c], &e.targets[f])));
                let name_embedding =
                    embeddings.as_ref().map(|e| rescale(cosine(&e.source_names[c], &e.target_names[f])));
                let score = match embedding {
                    Some(e) => EMBEDDING_WEIGHT * e + LEXICAL_WEIGHT * lex + PROFILE_WEIGHT * fit,
                    None => (EMBEDDING_WEIGHT + LEXICAL_WEIGHT) * lex + PROFILE_WEIGHT * fit,
                };
                let evidence = format!(
                    "name \"{}\" ~ \"{}\"; values: {why}",
                    column_names[c].1,
                    abbreviations.phrase(field.name())
                );
                Candidate {
                    source: column.name.clone(),
                    confidence: score,
                    score,
                    embedding,
                    name_embedding,
                    lexical: lex,
                    profile: fit,
                    evidence,
                    column: c,
                    features: Features::default(),
                }
            })
            .collect();
        scores.push(row);
    }
    Ok(ScoreMatrix { scores })
}

/// The embeddings of a file's columns and a schema's fields: with values and descriptions, and
/// of the names alone.
struct Embedded {
    sources: Vec<Vec<f32>>,
    targets: Vec<Vec<f32>>,
    source_names: Vec<Vec<f32>>,
    target_names: Vec<Vec<f32>>,
}

/// Each concept's weight by how few target fields use it (smoothed inverse document frequency,
/// 1 for a word of every field), relative to a word of one field only.
fn idf(fields: &[Vec<Name>]) -> impl Fn(&str) -> f32 {
    let mut frequency: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for names in fields {
        let mut seen: Vec<&String> = names.iter().flat_map(|n| n.concepts()).collect();
        seen.sort_unstable();
        seen.dedup();
        for word in seen {
            *frequency.entry(word.clone()).or_default() += 1;
        }
    }
    let n = fields.len() as f32;
    let rarest = ((1.0 + n) / 2.0).ln() + 1.0;
    move |word: &str| {
        let df = frequency.get(word).copied().unwrap_or(0) as f32;
        ((((1.0 + n) / (1.0 + df)).ln() + 1.0) / rarest).min(1.0)
    }
}

/// The best score of `scores` other than the one at `skip`, or 0 when there is no other.
fn best_other(scores: impl Iterator<Item = (usize, f32)>, skip: usize) -> f32 {
    scores.filter(|&(i, _)| i != skip).map(|(_, s)| s).fold(0.0, f32::max)
}

/// The repeated group of a wide file's column: its name without the trailing number
/// (`ICD9_DGNS_CD_3` → `ICD9_DGNS_CD`, `REACTION2` → `REACTION`); `None` for a name without one.
/// The columns of a group are alike by design, and each is as right for a field as the others.
fn repeated_group(name: &str) -> Option<&str> {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    (stem.len() < name.len() && stem.chars().any(char::is_alphabetic)).then(|| stem.trim_end_matches(['_', '-', ' ']))
}

impl ScoreMatrix {
    /// Sets every pair's features and, with a calibration, its confidence.
    fn calibrate(&mut self, columns: &[Column], calibration: Option<Calibration>) {
        let fields = self.scores.len();
        let n_columns = self.scores.first().map_or(0, Vec::len);
        let groups: Vec<Option<&str>> =
            (0..n_columns).map(|c| columns.get(c).and_then(|col| repeated_group(&col.name))).collect();
        let claimed_by = self.mutual_bests();
        let features: Vec<Vec<Features>> = (0..fields)
            .map(|f| {
                (0..n_columns)
                    .map(|c| {
                        let pair = &self.scores[f][c];
                        let others = self.scores[f]
                            .iter()
                            .filter(|k| groups[c].is_none() || groups[k.column] != groups[c])
                            .map(|k| (k.column, k.score));
                        let row_lead = pair.score - best_other(others.clone(), c);
                        // The lead over the columns still free: a column that is another
                        // field's mutual best, and fits that field better, is taken.
                        let free = others.filter(|&(k, _)| {
                            claimed_by[k].is_none_or(|g| g == f || self.scores[g][k].score <= self.scores[f][k].score)
                        });
                        let free_lead = pair.score - best_other(free, c);
                        let row_best = self.scores[f].iter().all(|k| k.column == c || k.score < pair.score);
                        let column_lead = pair.score - best_other((0..fields).map(|g| (g, self.scores[g][c].score)), f);
                        // A column whose name says another field's word (`tumor size cm` for
                        // `tumor_depth`) where this field's does not.
                        let name_lead =
                            pair.lexical - best_other((0..fields).map(|g| (g, self.scores[g][c].lexical)), f);
                        let empty = columns.get(c).is_some_and(|col| col.profile.kind == ValueKind::Empty);
                        [
                            1.0,
                            pair.score,
                            row_lead.max(0.0),
                            row_lead.min(0.0),
                            column_lead.max(0.0),
                            column_lead.min(0.0),
                            pair.lexical,
                            pair.embedding.unwrap_or(0.0),
                            pair.profile,
                            f32::from(u8::from(empty)),
                            pair.name_embedding.unwrap_or(0.0),
                            f32::from(u8::from(row_best)),
                            f32::from(u8::from(column_lead >= 0.0)),
                            f32::from(u8::from(pair.profile < RULED_OUT)),
                            free_lead.max(0.0),
                            free_lead.min(0.0),
                            name_lead.min(0.0),
                        ]
                    })
                    .collect()
            })
            .collect();
        for (row, row_features) in self.scores.iter_mut().zip(features) {
            for (pair, features) in row.iter_mut().zip(row_features) {
                pair.features = features;
                if let Some(calibration) = calibration {
                    pair.confidence = calibration.probability(&features);
                }
            }
        }
    }

    /// For each column, the field whose best column it is while it is also that field's best
    /// column, by score.
    fn mutual_bests(&self) -> Vec<Option<usize>> {
        let n_columns = self.scores.first().map_or(0, Vec::len);
        let best_column =
            |f: usize| (0..n_columns).max_by(|&a, &b| self.scores[f][a].score.total_cmp(&self.scores[f][b].score));
        (0..n_columns)
            .map(|c| {
                let field = (0..self.scores.len())
                    .max_by(|&a, &b| self.scores[a][c].score.total_cmp(&self.scores[b][c].score))?;
                (best_column(field) == Some(c)).then_some(field)
            })
            .collect()
    }

    /// Every pair's confidence from its features under `calibration`.
    pub fn recalibrate(&mut self, calibration: Calibration) {
        for pair in self.scores.iter_mut().flatten() {
            pair.confidence = calibration.probability(&pair.features);
        }
    }

    /// The columns ranked for field `f`, best first.
    pub fn ranked(&self, f: usize) -> Vec<&Candidate> {
        let mut row: Vec<&Candidate> = self.scores[f].iter().collect();
        row.sort_by(|a, b| {
            b.confidence.total_cmp(&a.confidence).then(b.score.total_cmp(&a.score)).then(a.column.cmp(&b.column))
        });
        row
    }

    /// For each field, its best column when that reaches `threshold` confidence; otherwise the
    /// field stays unmapped rather than take a column that is not its best. A column may feed
    /// several fields (a code and its concept, a date and its year): its confidence for a field
    /// already drops where the column fits another field better. The best candidate and
    /// `top_k` alternatives are kept per field for the report.
    pub fn assign(&self, threshold: f32, top_k: usize) -> Vec<FieldMatch> {
        (0..self.scores.len())
            .map(|f| {
                let ranked = self.ranked(f);
                let best = ranked.first().map(|&best| match best.features[EMPTY] > 0.0 {
                    // An empty column shows nothing of what it holds: a near-equal one with
                    // values (another of a wide file's repeated columns) is the better proposal.
                    true => ranked
                        .iter()
                        .find(|k| k.features[EMPTY] == 0.0 && k.confidence >= best.confidence - NEAR_TIE)
                        .copied()
                        .unwrap_or(best),
                    false => best,
                });
                FieldMatch {
                    chosen: best.filter(|best| best.confidence >= threshold).cloned(),
                    candidates: ranked.into_iter().take(top_k.saturating_add(1)).cloned().collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::BagOfWords;

    fn field(path: &str, ty: &str) -> TargetField {
        TargetField { path: path.into(), types: vec![ty.into()], ..TargetField::default() }
    }

    #[test]
    fn maps_confident_fields_and_leaves_the_others_unmapped() {
        let columns = vec![
            Column::flat("KUNNR", vec!["4711".into(), "4712".into()]),
            Column::flat("ERDAT", vec!["20240301".into(), "20240302".into()]),
            Column::flat("MENGE", vec!["3".into(), "5".into()]),
        ];
        let mut date = field("created_date", "string");
        date.format = Some("date".into());
        let fields =
            vec![field("customer_number", "string"), date, field("quantity", "integer"), field("shoe_size", "integer")];
        let matrix = score(&columns, &fields, Some(&BagOfWords), Signals::Combined).unwrap();
        let chosen: Vec<_> = matrix
            .assign(MatchOptions::default().threshold, 3)
            .iter()
            .map(|m| m.chosen.as_ref().map(|c| c.column))
            .collect();
        assert_eq!(chosen, [Some(0), Some(1), Some(2), None]);
    }

    fn pair(column: usize, confidence: f32) -> Candidate {
        Candidate {
            source: format!("c{column}"),
            confidence,
            score: confidence,
            embedding: None,
            name_embedding: None,
            lexical: 0.0,
            profile: 0.0,
            evidence: format!("evidence of c{column}"),
            column,
            features: Features::default(),
        }
    }

    #[test]
    fn a_field_gets_its_best_column_or_nothing() {
        let matrix = ScoreMatrix {
            scores: vec![
                vec![pair(0, 0.95), pair(1, 0.1), pair(2, 0.1)],
                // Its best is below the threshold: the second best is not proposed instead.
                vec![pair(0, 0.4), pair(1, 0.3), pair(2, 0.2)],
                // A column may feed several fields (a code and its concept id).
                vec![pair(0, 0.85), pair(1, 0.1), pair(2, 0.7)],
            ],
        };
        let matches = matrix.assign(0.5, 1);
        let chosen: Vec<_> = matches.iter().map(|m| m.chosen.as_ref().map(|c| c.column)).collect();
        assert_eq!(chosen, [Some(0), None, Some(0)]);
        let third = matches[2].chosen.as_ref().unwrap();
        assert_eq!((third.confidence, third.evidence.as_str()), (0.85, "evidence of c0"));
        // The best and one alternative.
        let kept: Vec<usize> = matches[2].candidates.iter().map(|c| c.column).collect();
        assert_eq!(kept, [0, 2]);
        assert!(matrix.assign(0.96, 3).iter().all(|m| m.chosen.is_none()));
    }

    #[test]
    fn an_empty_column_gives_way_to_a_near_equal_one_with_values() {
        let empty = |column: usize, confidence: f32| {
            let mut p = pair(column, confidence);
            p.features[EMPTY] = 1.0;
            p
        };
        let matrix = ScoreMatrix {
            scores: vec![
                vec![empty(0, 0.83), pair(1, 0.81), pair(2, 0.2)],
                // Not near enough: the empty column stays the proposal.
                vec![empty(0, 0.83), pair(1, 0.7), pair(2, 0.2)],
            ],
        };
        let chosen: Vec<_> = matrix.assign(0.5, 1).iter().map(|m| m.chosen.as_ref().map(|c| c.column)).collect();
        assert_eq!(chosen, [Some(1), Some(0)]);
    }

    /// The issue's `tumor_size_cm`, behind `tumor_site` for the field `tumor_size`: `tumor_site`
    /// is the field `tumor_site`'s own (each the other's best), so `tumor_size_cm` leads the
    /// columns still free.
    #[test]
    fn a_column_another_field_takes_does_not_hold_a_field_back() {
        let mut matrix =
            ScoreMatrix { scores: vec![vec![pair(0, 0.9), pair(1, 0.2)], vec![pair(0, 0.6), pair(1, 0.5)]] };
        assert_eq!(matrix.mutual_bests(), [Some(0), None]);
        matrix.calibrate(&[], None);
        let features = matrix.scores[1][1].features;
        let (row_lead, free_lead) = (features[3], features[14]);
        assert!((row_lead + 0.1).abs() < 1e-6 && (free_lead - 0.5).abs() < 1e-6, "{features:?}");
        // The taken column keeps its own lag behind the field it fits better.
        assert!(matrix.scores[1][0].features[5] < 0.0);
    }

    #[test]
    fn a_wide_files_repeated_columns_form_a_group() {
        assert_eq!(repeated_group("ICD9_DGNS_CD_3"), Some("ICD9_DGNS_CD"));
        assert_eq!(repeated_group("REACTION2"), Some("REACTION"));
        assert_eq!(repeated_group("Amount 12"), Some("Amount"));
        assert_eq!(repeated_group("CODE"), None);
        assert_eq!(repeated_group("2024"), None);
    }

    /// The issue's `tumor_site` → `tumor_depth`: a column is not proposed for a field whose best
    /// candidate it is only because the word they share is everywhere in the schema.
    #[test]
    fn a_column_that_fits_another_field_better_is_not_proposed() {
        let columns = vec![
            Column::flat("tumor_site", vec!["lung".into(), "breast".into()]),
            Column::flat("tumor_grade", vec!["G1".into(), "G2".into()]),
        ];
        let fields = vec![
            field("tumor_site", "string"),
            field("tumor_depth", "number"),
            field("tumor_grade", "string"),
            field("tumor_size", "number"),
        ];
        let matrix = score(&columns, &fields, Some(&BagOfWords), Signals::Combined).unwrap();
        let chosen: Vec<_> = matrix
            .assign(MatchOptions::default().threshold, 3)
            .iter()
            .map(|m| m.chosen.as_ref().map(|c| c.source.clone()))
            .collect();
        assert_eq!(chosen, [Some("tumor_site".to_owned()), None, Some("tumor_grade".to_owned()), None]);
    }
}
