//! Value maps for enum targets: each distinct source value of a column translated into one of
//! the target field's allowed values, with a confidence and how it was found — the same text
//! but for case, spacing and punctuation; a synonym or abbreviation (`F` → female, `Y` → yes);
//! the words of the value's label (`nonhispanic` → "Not Hispanic or Latino"); a count for a
//! presence (`3` → present); else, with the model, the closest label by meaning.
//!
//! A target's label is read from its schema description where it spells `VALUE = LABEL`
//! (`8507 = MALE; 8532 = FEMALE`), as OMOP and many code lists do.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::Value;

use crate::SuggestError;
use crate::embed::{Embedder, cosine};
use crate::lexical;
use crate::schema::TargetField;

/// Source values looked at per column: a column with more distinct values than this is free
/// text, not codes, and gets no map.
const MAX_DISTINCT: usize = 100;

/// One allowed value of the target and the words that name it.
#[derive(Debug, Clone)]
struct Allowed {
    value: Value,
    /// The value as text and its label, normalised (`not hispanic or latino`).
    names: Vec<String>,
}

/// How a source value was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Match {
    /// The source value is the target value: no entry needed.
    Same,
    /// The same text but for case, spacing and punctuation.
    Spelling,
    /// A known synonym or abbreviation (`M` → male, `Y` → yes).
    Synonym,
    /// The target value leads the source value, its label after it (`A / Abundant` → `A`).
    Code,
    /// The value's words are the label's, or a unique prefix of it.
    Words,
    /// A count or flag for a presence (`3` → present, `0` → absent).
    Presence,
    /// The label closest in meaning (embedding model).
    Meaning,
    /// A user confirmed it for this column (the team's mapping memory).
    Confirmed,
}

impl Match {
    fn confidence(self) -> f32 {
        match self {
            Match::Same | Match::Confirmed => 1.0,
            Match::Spelling => 0.97,
            Match::Synonym => 0.9,
            Match::Code => 0.85,
            Match::Words => 0.8,
            Match::Presence => 0.75,
            Match::Meaning => 0.6,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ValueMapping {
    pub source: String,
    pub target: Value,
    pub confidence: f32,
    #[serde(rename = "by")]
    pub how: Match,
}

/// The proposed translation of a column's values into a field's enum.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ValueMap {
    /// Values that need translating, in first-seen order (values already allowed are left out).
    pub entries: Vec<ValueMapping>,
    /// Distinct sampled values already allowed as they are.
    pub unchanged: usize,
    /// Sampled values no target value was found for: records with them are rejected by the
    /// schema's enum until the map is completed.
    pub unmapped: Vec<String>,
}

impl ValueMap {
    /// The map as the inline YAML flow mapping of a field's `map:` option.
    pub fn yaml(&self) -> String {
        let entries: Vec<String> = self
            .entries
            .iter()
            .map(|e| format!("{}: {}", serde_json::to_string(&e.source).expect("strings serialise"), e.target))
            .collect();
        format!("{{ {} }}", entries.join(", "))
    }
}

/// Lowercase, accents folded, every run of other characters one space.
fn normalise(text: &str) -> String {
    lexical::fold(text).split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The allowed values of an enum field with their labels; `None` for a field without an enum.
fn allowed(field: &TargetField) -> Option<Vec<Allowed>> {
    let values = field.enum_values.as_ref()?;
    let numeric = field.types.iter().any(|t| t == "integer" || t == "number");
    let description = field.description.as_deref().unwrap_or("");
    Some(
        values
            .iter()
            .map(|v| {
                let value = if numeric {
                    serde_json::from_str::<Value>(v)
                        .ok()
                        .filter(Value::is_number)
                        .unwrap_or_else(|| Value::from(v.as_str()))
                } else {
                    Value::from(v.as_str())
                };
                let mut names = vec![normalise(v)];
                names.extend(label(description, v).map(|l| normalise(&l)));
                names.retain(|n| !n.is_empty());
                Allowed { value, names }
            })
            .collect(),
    )
}

/// The label a description gives `value` as `VALUE = LABEL` (up to `;`, a line end or the end).
fn label(description: &str, value: &str) -> Option<String> {
    let needle = format!("{value} = ");
    let mut from = 0;
    while let Some(at) = description[from..].find(&needle) {
        let start = from + at;
        let preceded_ok = description[..start].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        if preceded_ok {
            let rest = &description[start + needle.len()..];
            let end = rest.find([';', '\n']).unwrap_or(rest.len());
            let text = rest[..end].trim().trim_end_matches('.').trim();
            if !text.is_empty() {
                return Some(text.to_owned());
            }
        }
        from = start + needle.len();
    }
    None
}

/// Words that say the same in values, each to the word(s) a label would use: sex, yes/no,
/// presence, unknown, vital status, life stage, test results and country names in English,
/// Dutch, German, French and Spanish (`vocabularies/synonyms.tsv`, compiled in).
const SYNONYMS: &str = include_str!("../vocabularies/synonyms.tsv");

fn synonyms() -> &'static HashMap<String, String> {
    static TABLE: OnceLock<HashMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        SYNONYMS
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(word, canonical)| (normalise(word), normalise(canonical)))
            .collect()
    })
}

fn synonym(word: &str) -> Option<&'static str> {
    synonyms().get(word).map(String::as_str)
}

/// Canonical words of a normalised text: the whole text's synonym when a key of several words
/// names it (`new york` → `ny`), else each word's synonym, `nonX` split into `not X`, `no`
/// read as `not`.
fn words(text: &str) -> Vec<String> {
    if text.contains(' ')
        && let Some(whole) = synonym(text)
    {
        return vec![whole.to_owned()];
    }
    let mut out = Vec::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let replaced = synonym(word).unwrap_or(word);
        for w in replaced.split(' ') {
            match w.strip_prefix("non").filter(|rest| rest.len() >= 4) {
                Some(rest) => out.extend(["not".to_owned(), rest.to_owned()]),
                None if w == "no" => out.push("not".to_owned()),
                None => out.push(w.to_owned()),
            }
        }
    }
    out
}

const YES: &[&str] = &["yes", "present", "true", "positive", "detected"];
const NO: &[&str] = &["no", "absent", "false", "negative", "not detected"];

/// The one allowed value that `pick` selects, if exactly one does.
fn unique(targets: &[Allowed], pick: impl Fn(&Allowed) -> bool) -> Option<&Allowed> {
    let mut found = targets.iter().filter(|t| pick(t));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The allowed value one of whose labels holds all of `source_words` with fewer other words
/// than any other value's label that holds them all.
fn tightest<'a>(targets: &'a [Allowed], source_words: &[String]) -> Option<&'a Allowed> {
    let mut holding: Vec<(usize, &Allowed)> = targets
        .iter()
        .filter_map(|t| {
            let extra = t
                .names
                .iter()
                .map(|n| words(n))
                .filter(|label| source_words.iter().all(|w| label.contains(w)))
                .map(|label| label.len().saturating_sub(source_words.len()))
                .min()?;
            Some((extra, t))
        })
        .collect();
    holding.sort_by_key(|(extra, _)| *extra);
    match holding.as_slice() {
        [(_, only)] => Some(only),
        [(best, t), (next, _), ..] if best < next => Some(t),
        _ => None,
    }
}

/// The allowed value `source` translates to without the model, and how.
fn match_value<'a>(source: &str, targets: &'a [Allowed]) -> Option<(&'a Allowed, Match)> {
    if let Some(t) =
        targets.iter().find(|t| t.value.as_str().map_or_else(|| t.value.to_string(), str::to_owned) == source)
    {
        return Some((t, Match::Same));
    }
    let norm = normalise(source);
    if norm.is_empty() {
        return None;
    }
    let compact = norm.replace(' ', "");
    if let Some(t) = unique(targets, |t| t.names.iter().any(|n| *n == norm || n.replace(' ', "") == compact)) {
        return Some((t, Match::Spelling));
    }
    // A code followed by its label ("A / Abundant / 25% - 50%", "01 - Male").
    if let Some(t) = unique(targets, |t| {
        let code = t.value.as_str().map_or_else(|| t.value.to_string(), str::to_owned);
        source.strip_prefix(code.as_str()).is_some_and(|rest| {
            let rest = rest.trim_start();
            rest.len() < source.len() - code.len() && rest.starts_with(|c: char| !c.is_alphanumeric())
        })
    }) {
        return Some((t, Match::Code));
    }
    let source_words = words(&norm);
    let joined = source_words.join(" ");
    if joined != norm
        && let Some(t) = unique(targets, |t| t.names.iter().any(|n| words(n).join(" ") == joined))
    {
        return Some((t, Match::Synonym));
    }
    // All the value's words in one label ("black" → "Black or African American"), or in the
    // label with the fewest other words ("never smoker" → "Lifelong Non-Smoker", not "Current
    // Reformed Smoker, Duration Not Specified"), or the value a prefix of one label only
    // ("ambul" → "ambulatory").
    if let Some(t) = tightest(targets, &source_words) {
        return Some((t, Match::Words));
    }
    if compact.len() >= 2
        && compact.chars().any(char::is_alphabetic)
        && let Some(t) = unique(targets, |t| t.names.iter().any(|n| n.replace(' ', "").starts_with(&compact)))
    {
        return Some((t, Match::Words));
    }
    if let Ok(number) = source.trim().replace(',', ".").parse::<f64>() {
        let side = if number > 0.0 { YES } else { NO };
        if let Some(t) = unique(targets, |t| t.names.iter().any(|n| side.contains(&n.as_str()))) {
            return Some((t, Match::Presence));
        }
    }
    None
}

/// The distinct non-empty trimmed values, in first-seen order.
fn distinct(values: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The share (0..1) of a column's non-empty values that an enum field takes as they are or
/// through a value map, and how many values there were; `None` for a field without an enum.
pub fn coverage(values: &[String], field: &TargetField) -> Option<(f32, usize)> {
    let targets = allowed(field)?;
    let present: Vec<&str> = values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
    if present.is_empty() {
        return Some((0.0, 0));
    }
    let mut known: Vec<(&str, bool)> = Vec::new();
    let mut hits = 0;
    for v in &present {
        let hit = match known.iter().find(|(k, _)| k == v) {
            Some((_, hit)) => *hit,
            None => {
                let hit = known.len() < MAX_DISTINCT && match_value(v, &targets).is_some();
                known.push((v, hit));
                hit
            }
        };
        hits += usize::from(hit);
    }
    Some((hits as f32 / present.len() as f32, present.len()))
}

/// Labels that say a value is not known, best first: what a required enum field without a
/// source is given rather than reject every record.
const UNKNOWN_LABELS: &[&str] =
    &["unknown", "not reported", "not recorded", "not known", "unspecified", "no matching concept", "missing"];

/// The enum's value for "not known" (`Unknown`, `not reported`, `0 = No matching concept`), if
/// it has one.
pub fn unknown_value(field: &TargetField) -> Option<Value> {
    let targets = allowed(field)?;
    UNKNOWN_LABELS
        .iter()
        .find_map(|label| targets.iter().find(|t| t.names.iter().any(|n| n == label)).map(|t| t.value.clone()))
}

/// Meaning below this (rescaled cosine) is no match; the best must lead the second by
/// `MEANING_LEAD`.
const MEANING_FLOOR: f32 = 0.55;
const MEANING_LEAD: f32 = 0.05;

/// The value map for a column feeding an enum field: `None` when the field has no enum, the
/// column has no values or too many distinct ones (free text), or every value is allowed as it is.
pub fn propose(
    values: &[String],
    field: &TargetField,
    embedder: Option<&dyn Embedder>,
) -> Result<Option<ValueMap>, SuggestError> {
    let Some(targets) = allowed(field) else { return Ok(None) };
    let sources = distinct(values);
    if sources.is_empty() || sources.len() > MAX_DISTINCT {
        return Ok(None);
    }
    let mut map = ValueMap::default();
    let mut open = Vec::new();
    for source in sources {
        match match_value(source, &targets) {
            Some((_, Match::Same)) => map.unchanged += 1,
            Some((t, how)) => map.entries.push(ValueMapping {
                source: source.to_owned(),
                target: t.value.clone(),
                confidence: how.confidence(),
                how,
            }),
            None => open.push(source),
        }
    }
    if let (Some(embedder), false) = (embedder, open.is_empty()) {
        let names: Vec<(usize, String)> =
            targets.iter().enumerate().flat_map(|(i, t)| t.names.iter().map(move |n| (i, n.clone()))).collect();
        let mut texts: Vec<String> = open.iter().map(|s| normalise(s)).collect();
        texts.extend(names.iter().map(|(_, n)| n.clone()));
        let mut vectors = embedder.embed(&texts)?;
        let labels = vectors.split_off(open.len());
        let mut still_open = Vec::new();
        for (source, vector) in open.into_iter().zip(&vectors) {
            let mut best = vec![0.0f32; targets.len()];
            for ((i, _), label) in names.iter().zip(&labels) {
                best[*i] = best[*i].max(crate::matcher::rescale(cosine(vector, label)));
            }
            let mut order: Vec<usize> = (0..targets.len()).collect();
            order.sort_by(|&a, &b| best[b].total_cmp(&best[a]));
            let (first, second) = (best[order[0]], order.get(1).map_or(0.0, |&i| best[i]));
            if first >= MEANING_FLOOR && first - second >= MEANING_LEAD {
                map.entries.push(ValueMapping {
                    source: source.to_owned(),
                    target: targets[order[0]].value.clone(),
                    confidence: Match::Meaning.confidence() * first,
                    how: Match::Meaning,
                });
            } else {
                still_open.push(source);
            }
        }
        open = still_open;
    }
    map.unmapped = open.into_iter().map(str::to_owned).collect();
    if map.entries.is_empty() && map.unmapped.is_empty() {
        return Ok(None);
    }
    Ok(Some(map))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(types: &str, values: Vec<&str>, description: &str) -> TargetField {
        TargetField {
            path: "f".into(),
            types: vec![types.into()],
            enum_values: Some(values.into_iter().map(str::to_owned).collect()),
            description: Some(description.into()),
            ..TargetField::default()
        }
    }

    fn map(values: &[&str], field: &TargetField) -> ValueMap {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        propose(&values, field, None).unwrap().expect("a map")
    }

    fn pairs(map: &ValueMap) -> Vec<(String, Value)> {
        map.entries.iter().map(|e| (e.source.clone(), e.target.clone())).collect()
    }

    /// Values in Dutch, German, French or Spanish meet an English code list's labels, and
    /// country names its ISO codes.
    #[test]
    fn translates_values_of_other_languages_and_country_names() {
        let sex = field("string", vec!["male", "female", "unknown"], "");
        let m = map(&["Vrouw", "man", "Weiblich", "hombre", "onbekend"], &sex);
        assert_eq!(
            pairs(&m),
            [
                ("Vrouw".to_owned(), json!("female")),
                ("man".to_owned(), json!("male")),
                ("Weiblich".to_owned(), json!("female")),
                ("hombre".to_owned(), json!("male")),
                ("onbekend".to_owned(), json!("unknown")),
            ]
        );
        assert!(m.entries.iter().all(|e| e.how == Match::Synonym), "{m:?}");
        let status = field("string", vec!["present", "absent"], "");
        let m = map(&["aanwezig", "afwezig"], &status);
        assert_eq!(pairs(&m), [("aanwezig".to_owned(), json!("present")), ("afwezig".to_owned(), json!("absent"))]);
        let country = field("string", vec!["BE", "NL", "FR", "DE"], "");
        let m = map(&["Frankrijk", "Nederland", "Belgique", "Deutschland", "Mars"], &country);
        assert_eq!(
            pairs(&m),
            [
                ("Frankrijk".to_owned(), json!("FR")),
                ("Nederland".to_owned(), json!("NL")),
                ("Belgique".to_owned(), json!("BE")),
                ("Deutschland".to_owned(), json!("DE")),
            ]
        );
        assert_eq!(m.unmapped, ["Mars"]);
        let state = field("string", vec!["MA", "NY", "CA"], "");
        let m = map(&["Massachusetts", "New York"], &state);
        assert_eq!(pairs(&m), [("Massachusetts".to_owned(), json!("MA")), ("New York".to_owned(), json!("NY"))]);
        let vital = field("string", vec!["Alive", "Dead", "Not Reported"], "");
        let m = map(&["overleden", "levend"], &vital);
        assert_eq!(pairs(&m), [("overleden".to_owned(), json!("Dead")), ("levend".to_owned(), json!("Alive"))]);
        assert_eq!(unknown_value(&vital), Some(json!("Not Reported")));
    }

    #[test]
    fn translates_case_spacing_synonyms_and_labels() {
        let ethnicity =
            field("string", vec!["hispanic or latino", "not hispanic or latino"], "Ethnicity of the person.");
        let m = map(&["Not Hispanic or Latino", " Hispanic  or Latino", "nonhispanic"], &ethnicity);
        assert_eq!(
            pairs(&m),
            [
                ("Not Hispanic or Latino".to_owned(), json!("not hispanic or latino")),
                ("Hispanic  or Latino".to_owned(), json!("hispanic or latino")),
                ("nonhispanic".to_owned(), json!("not hispanic or latino")),
            ]
        );
        assert_eq!(m.entries[0].how, Match::Spelling);

        let gender = field(
            "integer",
            vec!["8507", "8532", "0"],
            "Value set: 8507 = MALE; 8532 = FEMALE; 0 = No matching concept.",
        );
        let m = map(&["M", "F", "F", "X?"], &gender);
        assert_eq!(pairs(&m), [("M".to_owned(), json!(8507)), ("F".to_owned(), json!(8532))]);
        assert_eq!(m.unmapped, ["X?"]);
        assert!(m.yaml().starts_with("{ \"M\": 8507, \"F\": 8532 }"), "{}", m.yaml());

        let race = field(
            "integer",
            vec!["8527", "8516", "8515"],
            "Value set: 8527 = White; 8516 = Black or African American; 8515 = Asian.",
        );
        assert_eq!(
            pairs(&map(&["black", "white"], &race)),
            [("black".to_owned(), json!(8516)), ("white".to_owned(), json!(8527))]
        );

        let abundance = field("string", vec!["A", "D", "F"], "");
        assert_eq!(
            pairs(&map(&["A / Abundant/ 25% - 50%", "D / Dominant / >50%", "Ax"], &abundance)),
            [("A / Abundant/ 25% - 50%".to_owned(), json!("A")), ("D / Dominant / >50%".to_owned(), json!("D"))]
        );

        let status = field("string", vec!["present", "absent"], "");
        assert_eq!(
            pairs(&map(&["3", "0"], &status)),
            [("3".to_owned(), json!("present")), ("0".to_owned(), json!("absent"))]
        );
    }

    #[test]
    fn no_map_when_every_value_is_allowed_or_the_column_is_empty() {
        let status = field("string", vec!["open", "done"], "");
        assert!(propose(&["open".into(), "done".into()], &status, None).unwrap().is_none());
        assert!(propose(&[String::new(), " ".into()], &status, None).unwrap().is_none());
        assert_eq!(coverage(&[String::new()], &status), Some((0.0, 0)));
        assert_eq!(coverage(&["OPEN".into(), "x".into()], &status), Some((0.5, 2)));
    }

    #[test]
    fn a_negation_finds_the_label_that_says_only_it() {
        let smoking = field(
            "string",
            vec![
                "Lifelong Non-Smoker",
                "Current Smoker",
                "Current Reformed Smoker for > 15 yrs",
                "Current Reformed Smoker, Duration Not Specified",
                "Not Reported",
            ],
            "",
        );
        assert_eq!(
            pairs(&map(&["Never smoker", "current smoker", "Nooit gerookt"], &smoking)),
            [
                ("Never smoker".to_owned(), json!("Lifelong Non-Smoker")),
                ("current smoker".to_owned(), json!("Current Smoker")),
            ]
        );
    }

    #[test]
    fn an_ambiguous_value_is_left_unmapped() {
        // "a" starts both labels: no guess.
        let f = field("string", vec!["abandoned", "active"], "");
        assert_eq!(map(&["a"], &f).unmapped, ["a"]);
        // Two labels hold "smoker" with one other word each: none is the tightest.
        let f = field("string", vec!["Current Smoker", "Former Smoker", "Current Reformed Smoker"], "");
        assert_eq!(map(&["smoker"], &f).unmapped, ["smoker"]);
    }
}
