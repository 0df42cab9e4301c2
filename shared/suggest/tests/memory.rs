//! The team mapping memory on the evaluation sets: a user confirms the right mappings of one file
//! (the first half of a case's records), then a second file of the same source (the other half)
//! comes with its columns reordered and respelled, half of them or all of them renamed to names
//! that say nothing (`field_7`). Respelled, the second draft must give ≥ 0.95 of the confirmed
//! fields their column back; renamed, only the values tell columns apart, and columns alike in
//! their values (a start and an end date) can swap. Without the model (lexical + values): the
//! memory does not need it. `--nocapture` prints the figures per set.

use std::collections::BTreeMap;

use helix_domain::{JobId, RememberedMapping, TeamId, Timestamp};
use helix_suggest::eval::{self, Case};
use helix_suggest::sample::{self, Column};
use helix_suggest::schema::target_fields;
use helix_suggest::{MatchOptions, Signals, SuggestOptions, memory};

fn options() -> SuggestOptions {
    SuggestOptions {
        sample_records: 1000,
        matching: MatchOptions { signals: Signals::WithoutEmbedding, ..MatchOptions::default() },
        ..SuggestOptions::default()
    }
}

fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// A CSV file of `columns` (in that order, under `names`) for the records in `rows`.
fn csv(columns: &[&Column], names: &[String], rows: std::ops::Range<usize>) -> Vec<u8> {
    let mut text = names.iter().map(|n| quoted(n)).collect::<Vec<_>>().join(",");
    text.push('\n');
    for r in rows {
        let line: Vec<String> = columns.iter().map(|c| quoted(c.values.get(r).map_or("", String::as_str))).collect();
        text.push_str(&line.join(","));
        text.push('\n');
    }
    text.into_bytes()
}

/// How the second file names a column.
#[derive(Clone, Copy, Debug)]
enum Renaming {
    /// Case and separators changed (`BENE_BIRTH_DT` → `Bene Birth Dt`).
    Respelled,
    /// A name that says nothing of the column (`field_7`).
    Opaque,
    /// Every other column opaque, the others respelled.
    Mixed,
}

fn respelled(name: &str) -> String {
    name.split(['_', ' ', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_lowercase();
            let mut chars = lower.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn rename(name: &str, position: usize, renaming: Renaming) -> String {
    match renaming {
        Renaming::Respelled => respelled(name),
        Renaming::Opaque => format!("field_{position}"),
        Renaming::Mixed if position.is_multiple_of(2) => format!("field_{position}"),
        Renaming::Mixed => respelled(name),
    }
}

struct Outcome {
    confirmed: usize,
    right: usize,
    mistakes: Vec<String>,
}

/// Confirms the truth on the first half of the case, then drafts the renamed, reordered second half.
fn run(case: &Case, renaming: Renaming) -> Outcome {
    let columns = sample::read(&case.content_name, &case.content, 1000).expect("the case reads");
    let records = columns.first().map_or(0, |c| c.values.len());
    let (first, second) = if records >= 20 { (0..records / 2, records / 2..records) } else { (0..records, 0..records) };
    let all: Vec<&Column> = columns.iter().collect();
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let first_file = csv(&all, &names, first);
    let first_columns = sample::read("first.csv", &first_file, 1000).unwrap();

    let (fields, _) = target_fields(&case.schema).unwrap();
    let confirmed_at = Timestamp::parse("2026-11-30T10:00:00Z").unwrap();
    let memory: Vec<RememberedMapping> = fields
        .iter()
        .filter_map(|field| {
            let source = case.truth.get(&field.path)?.iter().find(|s| first_columns.iter().any(|c| &c.name == *s))?;
            let column = first_columns.iter().find(|c| &c.name == source)?;
            Some(RememberedMapping {
                id: RememberedMapping::entry_id(&field.path, source),
                team_id: TeamId::from("data"),
                column: source.clone(),
                signature: memory::signature(column),
                target: field.path.clone(),
                value_map: case.values.get(&field.path).cloned().unwrap_or_default(),
                confirmed_by: "alice".into(),
                confirmed_at,
                source_file: "first.csv".into(),
                job_id: JobId::from("draft-1"),
            })
        })
        .collect();

    // Reordered: the columns' order reversed, then every third moved to the front.
    let mut order: Vec<usize> = (0..columns.len()).rev().collect();
    order.sort_by_key(|i| i % 3 != 0);
    let moved: Vec<&Column> = order.iter().map(|&i| &columns[i]).collect();
    let renamed: Vec<String> = order.iter().enumerate().map(|(p, &i)| rename(&columns[i].name, p, renaming)).collect();
    let new_name: BTreeMap<&str, &str> =
        order.iter().zip(&renamed).map(|(&i, n)| (columns[i].name.as_str(), n.as_str())).collect();
    let second_file = csv(&moved, &renamed, second);
    let suggestion =
        helix_suggest::suggest_remembering("second.csv", &second_file, &case.schema, &memory, None, &options())
            .expect("the second file's draft");

    let mut outcome = Outcome { confirmed: memory.len(), right: 0, mistakes: Vec::new() };
    for entry in &memory {
        let field = suggestion.report.fields.iter().find(|f| f.target == entry.target).unwrap();
        let want = new_name[entry.column.as_str()];
        if field.source.as_deref() == Some(want) {
            outcome.right += 1;
            assert!(field.remembered, "{}: {:?}", field.target, field.candidates.first());
        } else {
            outcome.mistakes.push(format!(
                "{}/{}: {} wants {want} (was {}), got {:?}",
                case.set, case.name, entry.target, entry.column, field.source
            ));
        }
    }
    outcome
}

fn figures(renaming: Renaming) -> (f64, Vec<String>) {
    let cases = eval::load_cases(&eval::default_dir()).expect("evaluation sets");
    let mut per_set: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut mistakes = Vec::new();
    for case in &cases {
        let outcome = run(case, renaming);
        let totals = per_set.entry(case.set.clone()).or_default();
        totals.0 += outcome.confirmed;
        totals.1 += outcome.right;
        mistakes.extend(outcome.mistakes);
    }
    let (confirmed, right) = per_set.values().fold((0, 0), |(c, r), (c2, r2)| (c + c2, r + r2));
    println!("{renaming:?} columns, reordered: {right} of {confirmed} confirmed fields right");
    for (set, (c, r)) in &per_set {
        println!("  {set}: {r}/{c} = {:.3}", *r as f64 / *c as f64);
    }
    (right as f64 / confirmed as f64, mistakes)
}

#[test]
fn a_second_file_with_respelled_and_reordered_columns_gets_its_confirmed_fields() {
    let (share, mistakes) = figures(Renaming::Respelled);
    assert!(share >= 0.95, "{share:.3}\n{}", mistakes.join("\n"));
}

#[test]
fn a_second_file_with_renamed_and_reordered_columns_gets_its_confirmed_fields() {
    let (share, mistakes) = figures(Renaming::Mixed);
    assert!(share >= 0.935, "{share:.3}\n{}", mistakes.join("\n"));
}

/// Every column renamed to a name that says nothing: only the values tell them apart.
#[test]
fn with_every_name_gone_the_values_still_find_most_columns() {
    let (share, mistakes) = figures(Renaming::Opaque);
    assert!(share >= 0.85, "{share:.3}\n{}", mistakes.join("\n"));
}

#[test]
fn the_confirmed_value_map_and_the_evidence_come_with_the_field() {
    let schema = serde_json::json!({"type": "object", "properties": {
        "customer_id": {"type": "string"},
        "status": {"type": "string", "enum": ["open", "closed"]}
    }});
    let first = sample::read("a.csv", b"KUNNR;STAT\n4711;O\n4712;C\n4713;O\n", 100).unwrap();
    let remembered = |column: &Column, target: &str, map: &[(&str, &str)]| RememberedMapping {
        id: RememberedMapping::entry_id(target, &column.name),
        team_id: TeamId::from("data"),
        column: column.name.clone(),
        signature: memory::signature(column),
        target: target.into(),
        value_map: map.iter().map(|(k, v)| ((*k).to_owned(), serde_json::json!(v))).collect(),
        confirmed_by: "alice".into(),
        confirmed_at: Timestamp::parse("2026-11-30T10:00:00Z").unwrap(),
        source_file: "a.csv".into(),
        job_id: JobId::from("draft-1"),
    };
    let memory = vec![
        remembered(&first[0], "customer_id", &[]),
        remembered(&first[1], "status", &[("O", "open"), ("C", "closed")]),
    ];
    // Renamed and reordered, and a value the confirmation did not see.
    let second = b"state;customer\nC;4800\nO;4801\nX;4802\n";
    let s = helix_suggest::suggest_remembering("b.csv", second, &schema, &memory, None, &options()).unwrap();
    let mapped: Vec<_> = s.report.fields.iter().map(|f| (f.source.as_deref(), f.remembered)).collect();
    assert_eq!(mapped, [(Some("customer"), true), (Some("state"), true)], "{}", s.context_yaml);
    assert!(s.context_yaml.contains("confirmed by alice on 2026-11-30 for STAT; renamed state"), "{}", s.context_yaml);
    let map = s.report.fields[1].value_map.as_ref().unwrap();
    assert_eq!(map.unmapped, ["X"]);
    assert!(s.context_yaml.contains(r#"map: { "C": "closed", "O": "open" }"#), "{}", s.context_yaml);
    // Nothing remembered: the matcher's own draft.
    let plain = helix_suggest::suggest_remembering("b.csv", second, &schema, &[], None, &options()).unwrap();
    assert!(plain.report.fields.iter().all(|f| !f.remembered));
}
