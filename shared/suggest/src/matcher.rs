//! Scores every (target field, source column) pair from three signals, then assigns columns to
//! fields one-to-one (Hungarian algorithm), leaving a field unmapped when nothing is confident.

use pathfinding::prelude::{Matrix, kuhn_munkres};
use regex::Regex;
use serde::Serialize;

use crate::SuggestError;
use crate::embed::{Embedder, cosine};
use crate::lexical::{self, Name};
use crate::profile;
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
    /// Below this combined score a column is not proposed for a field.
    pub threshold: f32,
}

impl Default for MatchOptions {
    fn default() -> Self {
        Self { signals: Signals::Combined, threshold: 0.45 }
    }
}

const EMBEDDING_WEIGHT: f32 = 0.4;
const LEXICAL_WEIGHT: f32 = 0.4;
const PROFILE_WEIGHT: f32 = 0.2;
/// Cosines of unrelated short names sit around 0.1–0.3 with this model; rescale so that
/// "unrelated" is near 0 and "same meaning" near 1.
const COSINE_FLOOR: f32 = 0.2;
const COSINE_CEILING: f32 = 0.85;

/// One column's score for one field, with its parts.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub source: String,
    pub score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<f32>,
    pub lexical: f32,
    pub profile: f32,
    pub evidence: String,
    #[serde(skip)]
    pub column: usize,
}

/// The outcome for one target field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldMatch {
    /// Index into the columns of the chosen one.
    #[serde(skip)]
    pub chosen: Option<usize>,
    /// The best three columns, best first.
    pub candidates: Vec<Candidate>,
}

/// Scores of all pairs: `scores[field][column]`.
pub struct ScoreMatrix {
    pub scores: Vec<Vec<Candidate>>,
}

fn rescale(cosine: f32) -> f32 {
    ((cosine - COSINE_FLOOR) / (COSINE_CEILING - COSINE_FLOOR)).clamp(0.0, 1.0)
}

pub fn score(
    columns: &[Column],
    fields: &[TargetField],
    embedder: Option<&dyn Embedder>,
    signals: Signals,
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
                            score: s,
                            embedding: None,
                            lexical: s,
                            profile: 0.0,
                            evidence: "name spelling".into(),
                            column: c,
                        }
                    })
                    .collect()
            })
            .collect();
        return Ok(ScoreMatrix { scores });
    }
    let embeddings = match (signals, embedder) {
        (Signals::Combined, Some(embedder)) => {
            let mut texts: Vec<String> = columns.iter().map(Column::text).collect();
            texts.extend(fields.iter().map(TargetField::text));
            let mut vectors = embedder.embed(&texts)?;
            let targets = vectors.split_off(columns.len());
            Some((vectors, targets))
        }
        (Signals::Combined, None) => return Err(SuggestError::Model("the combined matcher needs an embedder".into())),
        _ => None,
    };
    let column_names: Vec<(Name, String)> = columns
        .iter()
        .map(|c| {
            let words = lexical::expand(&c.name.replace(['[', ']', '.'], " "));
            (Name::new(&words), words.join(" "))
        })
        .collect();
    let mut scores = Vec::with_capacity(fields.len());
    for (f, field) in fields.iter().enumerate() {
        let field_names: Vec<Name> = field.name_words().iter().map(|w| Name::new(w)).collect();
        let pattern = field.pattern.as_deref().and_then(|p| Regex::new(p).ok());
        let row = columns
            .iter()
            .enumerate()
            .map(|(c, column)| {
                let lex = field_names.iter().map(|n| column_names[c].0.similarity(n)).fold(0.0, f32::max);
                let (fit, why) = profile::compatibility(&column.profile, &column.values, field, pattern.as_ref());
                let embedding = embeddings.as_ref().map(|(sources, targets)| rescale(cosine(&sources[c], &targets[f])));
                let score = match embedding {
                    Some(e) => EMBEDDING_WEIGHT * e + LEXICAL_WEIGHT * lex + PROFILE_WEIGHT * fit,
                    None => (EMBEDDING_WEIGHT + LEXICAL_WEIGHT) * lex + PROFILE_WEIGHT * fit,
                };
                let evidence =
                    format!("name \"{}\" ~ \"{}\"; values: {why}", column_names[c].1, lexical::phrase(field.name()));
                Candidate {
                    source: column.name.clone(),
                    score,
                    embedding,
                    lexical: lex,
                    profile: fit,
                    evidence,
                    column: c,
                }
            })
            .collect();
        scores.push(row);
    }
    Ok(ScoreMatrix { scores })
}

/// Scores are whole thousandths for the assignment.
fn weight(score: f32) -> i64 {
    (score * 1000.0).round() as i64
}

impl ScoreMatrix {
    /// The columns ranked for field `f`, best first.
    pub fn ranked(&self, f: usize) -> Vec<&Candidate> {
        let mut row: Vec<&Candidate> = self.scores[f].iter().collect();
        row.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.column.cmp(&b.column)));
        row
    }

    /// One column per field at most and one field per column at most, maximising the total score
    /// of the pairs at or above the threshold; fields with no such pair stay unmapped.
    pub fn assign(&self, threshold: f32) -> Vec<FieldMatch> {
        let fields = self.scores.len();
        let columns = self.scores.first().map_or(0, Vec::len);
        let mut chosen = vec![None; fields];
        if fields > 0 && columns > 0 {
            // One "unmapped" column per field, worth 0; pairs below the threshold are worth less.
            let forbidden = -(weight(1.0) * (fields as i64 + 1));
            let weights = Matrix::from_rows((0..fields).map(|f| {
                (0..columns + fields).map(move |c| match self.scores[f].get(c) {
                    Some(candidate) if candidate.score >= threshold => weight(candidate.score),
                    Some(_) => forbidden,
                    None => 0,
                })
            }))
            .expect("rows of equal length");
            let (_, assignment) = kuhn_munkres(&weights);
            for (f, c) in assignment.into_iter().enumerate() {
                if c < columns && self.scores[f][c].score >= threshold {
                    chosen[f] = Some(c);
                }
            }
        }
        (0..fields)
            .map(|f| FieldMatch {
                chosen: chosen[f],
                candidates: self.ranked(f).into_iter().take(3).cloned().collect(),
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
    fn assigns_one_to_one_and_leaves_unconfident_fields_unmapped() {
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
        let chosen: Vec<_> = matrix.assign(0.45).iter().map(|m| m.chosen).collect();
        assert_eq!(chosen, [Some(0), Some(1), Some(2), None]);
    }

    #[test]
    fn a_column_goes_to_the_field_it_fits_best() {
        let columns = vec![Column::flat("CUST_NO", vec!["1".into()])];
        let fields = vec![field("customer_id", "string"), field("customer_number", "string")];
        let matches = score(&columns, &fields, Some(&BagOfWords), Signals::Combined).unwrap().assign(0.3);
        assert_eq!(matches.iter().filter(|m| m.chosen.is_some()).count(), 1);
        assert_eq!(matches[0].candidates.len(), 1);
    }
}
