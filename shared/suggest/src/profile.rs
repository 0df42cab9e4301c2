//! What a column's sample values look like, how well that fits a target field's schema, and the
//! conversion the draft context needs (`date('DD.MM.YYYY')`, `decimal('de')`).

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::schema::TargetField;

/// The common shape of a column's non-empty values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ValueKind {
    /// No non-empty value in the sample.
    Empty,
    Boolean,
    Integer {
        leading_zeros: bool,
    },
    /// Decimal numbers in a locale the engine's `decimal()` reads (`en`, `de`).
    Decimal {
        locale: &'static str,
        grouped: bool,
    },
    /// Dates in an engine `date()` pattern (`YYYY-MM-DD`, `DD.MM.YYYY`, `YYYYMMDD`, …).
    Date {
        pattern: &'static str,
    },
    DateTime {
        pattern: &'static str,
    },
    Email,
    Text,
}

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub count: usize,
    pub empty: usize,
    pub distinct: usize,
    pub min_len: usize,
    pub max_len: usize,
    #[serde(flatten)]
    pub kind: ValueKind,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static pattern"))
}

const BOOLEAN_WORDS: &[&str] =
    &["true", "false", "yes", "no", "y", "n", "x", "ja", "nein", "oui", "non", "si", "t", "f"];

/// Date patterns the engine's `date()` reads, with the regex that recognises them, most specific first.
fn date_patterns() -> &'static [(Regex, &'static str, bool)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str, bool)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        [
            (r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$", "YYYY-MM-DDThh:mm:ss", true),
            (r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", "YYYY-MM-DD hh:mm:ss", true),
            (r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}(:\d{2})?$", "DD.MM.YYYY hh:mm:ss", true),
            (r"^\d{4}-\d{2}-\d{2}$", "YYYY-MM-DD", false),
            (r"^\d{2}\.\d{2}\.\d{4}$", "DD.MM.YYYY", false),
            (r"^\d{1,2}\.\d{1,2}\.\d{4}$", "D.M.YYYY", false),
            (r"^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$", "YYYYMMDD", false),
            (r"^\d{4}/\d{2}/\d{2}$", "YYYY/MM/DD", false),
            (r"^\d{1,2}/\d{1,2}/\d{4}$", "M/D/YYYY", false),
        ]
        .into_iter()
        .map(|(p, name, time)| (Regex::new(p).expect("static pattern"), name, time))
        .collect()
    })
}

impl Profile {
    pub fn of<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut count = 0;
        let mut empty = 0;
        let mut seen = HashSet::new();
        let mut present: Vec<&str> = Vec::new();
        for v in values {
            count += 1;
            let v = v.trim();
            if v.is_empty() {
                empty += 1;
            } else {
                seen.insert(v);
                present.push(v);
            }
        }
        let lens = present.iter().map(|v| v.chars().count());
        let (min_len, max_len) = (lens.clone().min().unwrap_or(0), lens.max().unwrap_or(0));
        Self { count, empty, distinct: seen.len(), min_len, max_len, kind: classify(&present) }
    }

    pub fn unique(&self) -> bool {
        self.count > 1 && self.empty == 0 && self.distinct == self.count
    }

    pub fn describe(&self) -> String {
        let kind = match &self.kind {
            ValueKind::Empty => "empty".to_owned(),
            ValueKind::Boolean => "boolean".to_owned(),
            ValueKind::Integer { leading_zeros: true } => "digits with leading zeros".to_owned(),
            ValueKind::Integer { .. } => "integer".to_owned(),
            ValueKind::Decimal { locale, .. } => format!("decimal ({locale})"),
            ValueKind::Date { pattern } => format!("date {pattern}"),
            ValueKind::DateTime { pattern } => format!("date-time {pattern}"),
            ValueKind::Email => "e-mail".to_owned(),
            ValueKind::Text => "text".to_owned(),
        };
        let unique = if self.unique() { ", unique" } else { "" };
        format!("{kind}, {} distinct of {}{unique}", self.distinct, self.count)
    }
}

fn classify(values: &[&str]) -> ValueKind {
    static INTEGER: OnceLock<Regex> = OnceLock::new();
    static DECIMAL_EN: OnceLock<Regex> = OnceLock::new();
    static GROUPED_EN: OnceLock<Regex> = OnceLock::new();
    static DECIMAL_DE: OnceLock<Regex> = OnceLock::new();
    static DECIMAL_FR: OnceLock<Regex> = OnceLock::new();
    static EMAIL: OnceLock<Regex> = OnceLock::new();
    if values.is_empty() {
        return ValueKind::Empty;
    }
    let all = |r: &Regex| values.iter().all(|v| r.is_match(v));
    if values.iter().all(|v| BOOLEAN_WORDS.contains(&v.to_ascii_lowercase().as_str())) {
        return ValueKind::Boolean;
    }
    for (regex, pattern, time) in date_patterns() {
        if all(regex) {
            let pattern = match *pattern {
                // Day first when some first part cannot be a month.
                "M/D/YYYY"
                    if values
                        .iter()
                        .any(|v| v.split('/').next().and_then(|d| d.parse::<u32>().ok()).is_some_and(|d| d > 12)) =>
                {
                    "D/M/YYYY"
                }
                p => p,
            };
            return if *time { ValueKind::DateTime { pattern } } else { ValueKind::Date { pattern } };
        }
    }
    if all(re(&INTEGER, r"^[+-]?\d+$")) {
        let leading_zeros = values.iter().any(|v| v.len() > 1 && v.trim_start_matches(['+', '-']).starts_with('0'));
        return ValueKind::Integer { leading_zeros };
    }
    let integer = re(&INTEGER, r"^[+-]?\d+$");
    let en = re(&DECIMAL_EN, r"^[+-]?\d*\.\d+$");
    let grouped_en = re(&GROUPED_EN, r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$");
    let de = re(&DECIMAL_DE, r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$");
    if values.iter().all(|v| integer.is_match(v) || en.is_match(v) || grouped_en.is_match(v)) {
        let grouped = values.iter().any(|v| grouped_en.is_match(v) && v.contains(','));
        return ValueKind::Decimal { locale: "en", grouped };
    }
    if all(de) && values.iter().any(|v| v.contains(',')) {
        return ValueKind::Decimal { locale: "de", grouped: values.iter().any(|v| v.contains('.')) };
    }
    let fr = re(&DECIMAL_FR, "^[+-]?\\d{1,3}([ \u{a0}\u{202f}]\\d{3})*(,\\d+)?$");
    if all(fr) && values.iter().any(|v| v.contains(',') || v.contains([' ', '\u{a0}', '\u{202f}'])) {
        return ValueKind::Decimal {
            locale: "fr",
            grouped: values.iter().any(|v| v.contains([' ', '\u{a0}', '\u{202f}'])),
        };
    }
    if all(re(&EMAIL, r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")) {
        return ValueKind::Email;
    }
    ValueKind::Text
}

/// How well a column's values fit a target field's schema (0..1), and why.
pub fn compatibility(
    profile: &Profile,
    values: &[String],
    field: &TargetField,
    pattern: Option<&Regex>,
) -> (f32, String) {
    use ValueKind::*;
    let kind = &profile.kind;
    let has = |t: &str| field.types.iter().any(|x| x == t);
    let format = field.format.as_deref().unwrap_or("");
    let mut score: f32 = if *kind == Empty {
        0.4
    } else if has("integer") {
        match kind {
            Integer { .. } => 1.0,
            // The draft cuts the part out (`date_part`).
            Date { .. } | DateTime { .. } if date_part_range(field).is_some() => 1.0,
            Date { pattern: "YYYYMMDD" } => 0.5,
            Boolean if values.iter().all(|v| matches!(v.trim(), "0" | "1" | "")) => 0.5,
            Decimal { .. } => 0.35,
            _ => 0.05,
        }
    } else if has("number") {
        match kind {
            Integer { .. } | Decimal { .. } => 1.0,
            _ => 0.05,
        }
    } else if has("boolean") {
        match kind {
            Boolean => 1.0,
            Integer { .. } if profile.distinct <= 2 => 0.6,
            _ => 0.05,
        }
    } else if format == "date" {
        match kind {
            Date { .. } => 1.0,
            DateTime { .. } => 0.5,
            _ => 0.05,
        }
    } else if format == "date-time" {
        match kind {
            DateTime { .. } => 1.0,
            Date { .. } => 0.4,
            _ => 0.05,
        }
    } else if format == "email" || format == "idn-email" {
        if *kind == Email { 1.0 } else { 0.1 }
    } else if has("string") {
        match kind {
            Text | Email => 0.75,
            Integer { leading_zeros: true } => 0.75,
            Integer { .. } => 0.6,
            Boolean => 0.5,
            Decimal { .. } => 0.4,
            Date { .. } | DateTime { .. } => 0.35,
            Empty => 0.4,
        }
    } else {
        0.5
    };
    let present: Vec<&str> = values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).collect();
    let fraction = |ok: &dyn Fn(&str) -> bool| {
        if present.is_empty() { 1.0 } else { present.iter().filter(|v| ok(v)).count() as f32 / present.len() as f32 }
    };
    let mut notes = vec![profile.describe()];
    // An empty sample says nothing for or against an enum or a pattern: "100 % of 0 values"
    // is no evidence.
    if present.is_empty() {
        if field.enum_values.is_some() || pattern.is_some() {
            notes.push("no values in the sample to check against the enum or pattern".into());
        }
    } else if let Some((f, n)) = crate::values::coverage(values, field) {
        score = if f >= 0.999 { 1.0 } else { score * (0.15 + 0.85 * f) };
        let matched = (f * n as f32).round() as usize;
        notes.push(format!("{:.0}% of values in the enum or mappable to it ({matched} of {n})", f * 100.0));
    }
    if let Some(pattern) = pattern.filter(|_| !present.is_empty()) {
        let f = fraction(&|v| pattern.is_match(v));
        score = if f >= 0.999 { score.max(0.9) } else { score * (0.15 + 0.85 * f) };
        notes.push(format!("{:.0}% match the pattern", f * 100.0));
    }
    if field.max_length.is_some_and(|max| profile.max_len as u64 > max) {
        score *= 0.3;
        notes.push("longer than maxLength".into());
    }
    if field.min_length.is_some_and(|min| (profile.min_len as u64) < min) && *kind != Empty {
        score *= 0.5;
        notes.push("shorter than minLength".into());
    }
    if field.required && profile.empty > 0 {
        score *= 0.85;
        notes.push("has empty values but the field is required".into());
    }
    (score.clamp(0.0, 1.0), notes.join("; "))
}

/// The expression an integer field named for a part of a date (`year_of_birth`, `birthMonth`)
/// takes from a date column `expression`: the part cut from the ISO date `date()` gives.
pub fn date_part(profile: &Profile, field: &TargetField, expression: &str) -> Option<String> {
    let (ValueKind::Date { pattern } | ValueKind::DateTime { pattern }) = &profile.kind else { return None };
    if !field.types.iter().any(|t| t == "integer") {
        return None;
    }
    let range = date_part_range(field)?;
    Some(format!("{{{{ (({expression} | trim | date('{pattern}'))[{range}]) | int }}}}"))
}

/// Where the part of a date a field is named for (`year_of_birth`) lies in an ISO date.
fn date_part_range(field: &TargetField) -> Option<&'static str> {
    let words = crate::lexical::tokens(field.name());
    ["year", "month", "day"]
        .iter()
        .zip(["0:4", "5:7", "8:10"])
        .find(|(w, _)| words.iter().any(|x| x == *w))
        .map(|p| p.1)
}

/// What follows the expression in the field's template for a date-time field, whose values
/// need a time and an offset (RFC 3339): a day's midnight for a date-only column, UTC for a
/// local time.
pub fn suffix(profile: &Profile, field: &TargetField) -> &'static str {
    if field.format.as_deref() != Some("date-time") {
        return "";
    }
    match profile.kind {
        ValueKind::Date { .. } => "T00:00:00Z",
        ValueKind::DateTime { pattern } if !pattern.contains('T') => "Z",
        _ => "",
    }
}

/// The template expression that turns the column's text into what the field wants.
pub fn conversion(profile: &Profile, values: &[String], field: &TargetField) -> String {
    let has = |t: &str| field.types.iter().any(|x| x == t);
    let format = field.format.as_deref().unwrap_or("");
    match &profile.kind {
        ValueKind::Decimal { locale, .. } if *locale != "en" && (has("number") || has("integer")) => {
            format!(" | trim | decimal('{locale}')")
        }
        ValueKind::Decimal { grouped: true, .. } if has("number") || has("integer") => " | trim | decimal('en')".into(),
        ValueKind::Date { pattern } if format == "date" && *pattern != "YYYY-MM-DD" => {
            format!(" | trim | date('{pattern}')")
        }
        ValueKind::DateTime { pattern } if format == "date-time" && !pattern.contains('T') => {
            format!(" | trim | date('{pattern}')")
        }
        ValueKind::Date { pattern } if format == "date-time" && *pattern != "YYYY-MM-DD" => {
            format!(" | trim | date('{pattern}')")
        }
        _ => match &field.enum_values {
            Some(allowed) if !values.iter().all(|v| v.trim().is_empty() || allowed.iter().any(|a| a == v.trim())) => {
                if allowed.iter().all(|a| a.chars().all(|c| !c.is_uppercase())) {
                    " | trim | lower".into()
                } else if allowed.iter().all(|a| a.chars().all(|c| !c.is_lowercase())) {
                    " | trim | upper".into()
                } else {
                    " | trim".into()
                }
            }
            _ => " | trim".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(values: &[&str]) -> ValueKind {
        Profile::of(values.iter().copied()).kind
    }

    #[test]
    fn recognises_value_shapes() {
        assert_eq!(kind(&["12", "7", ""]), ValueKind::Integer { leading_zeros: false });
        assert_eq!(kind(&["000010", "000020"]), ValueKind::Integer { leading_zeros: true });
        assert_eq!(kind(&["1.234,50", "12,00"]), ValueKind::Decimal { locale: "de", grouped: true });
        assert_eq!(kind(&["1 000,00", "80,00"]), ValueKind::Decimal { locale: "fr", grouped: true });
        assert_eq!(kind(&["12.5", "3"]), ValueKind::Decimal { locale: "en", grouped: false });
        assert_eq!(kind(&["20240301", "20231231"]), ValueKind::Date { pattern: "YYYYMMDD" });
        assert_eq!(kind(&["01.03.2024", "31.12.2023"]), ValueKind::Date { pattern: "DD.MM.YYYY" });
        assert_eq!(kind(&["3/1/2024", "25/12/2023"]), ValueKind::Date { pattern: "D/M/YYYY" });
        assert_eq!(kind(&["2024-03-01 10:00:00"]), ValueKind::DateTime { pattern: "YYYY-MM-DD hh:mm:ss" });
        assert_eq!(kind(&["yes", "No"]), ValueKind::Boolean);
        assert_eq!(kind(&["a@b.de"]), ValueKind::Email);
        assert_eq!(kind(&["Müller"]), ValueKind::Text);
    }

    #[test]
    fn a_date_fits_an_integer_field_named_for_its_year() {
        let field =
            |path: &str| TargetField { path: path.into(), types: vec!["integer".into()], ..TargetField::default() };
        let dates = vec!["1970-12-31".to_owned(), "1980-01-15".to_owned()];
        let profile = Profile::of(dates.iter().map(String::as_str));
        assert_eq!(compatibility(&profile, &dates, &field("year_of_birth"), None).0, 1.0);
        assert!(compatibility(&profile, &dates, &field("quantity"), None).0 < 0.3);
    }

    #[test]
    fn an_empty_column_is_no_evidence_for_an_enum() {
        let field = TargetField {
            path: "status".into(),
            types: vec!["string".into()],
            enum_values: Some(vec!["open".into(), "done".into()]),
            ..TargetField::default()
        };
        let empty = vec![String::new(); 5];
        let (fit, why) = compatibility(&Profile::of(empty.iter().map(String::as_str)), &empty, &field, None);
        assert!(fit < 0.5, "{fit}: {why}");
        assert!(why.contains("no values in the sample") && !why.contains("100%"), "{why}");
        let codes = vec!["OPEN".to_owned(), "done".to_owned()];
        let (fit, why) = compatibility(&Profile::of(codes.iter().map(String::as_str)), &codes, &field, None);
        assert_eq!(fit, 1.0, "{why}");
        assert!(why.contains("100% of values in the enum or mappable to it (2 of 2)"), "{why}");
    }
}
