//! A template that reads a name the record lacks (a misspelt column, most often) is rejected
//! with a message that names it, lists what the record has, and suggests the nearest name.

use helix_engine::{Source, compile};
use serde_json::Value;

/// The reject messages (pointer, keyword, message) of a run over one input.
fn rejects(context: &str, input: (&str, &str), threads: usize) -> Vec<(String, String, String)> {
    let mut t = compile(Some(Source { name: "c.yaml", text: context }), None).unwrap();
    t.set_threads(threads);
    let (mut out, mut rej) = (Vec::new(), Vec::new());
    let mut r = t.start(&mut out, &mut rej).unwrap();
    r.feed(input.0, &mut input.1.as_bytes()).unwrap();
    r.finish().unwrap();
    let report: Value = serde_json::from_slice(&rej).unwrap();
    let text = |r: &Value, k: &str| r[k].as_str().unwrap().to_owned();
    report["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (text(r, "pointer"), text(r, "keyword"), text(r, "message")))
        .collect()
}

/// The one message every record of `input` is rejected with, on either number of threads.
fn message(context: &str, input: (&str, &str)) -> String {
    let mut seen = Vec::new();
    for threads in [1, 2] {
        let all = rejects(context, input, threads);
        assert!(!all.is_empty(), "{context}: no rejects");
        assert!(all.iter().all(|r| r == &all[0]), "{all:?}");
        seen.push(all[0].2.clone());
    }
    assert_eq!(seen[0], seen[1]);
    seen.remove(0)
}

fn field(template: &str) -> String {
    format!("fields:\n  id: {}\n", serde_json::to_string(template).unwrap())
}

/// [`field`], with a second field that reads a column `CSV` has: a header with none of the
/// columns a context reads fails the run at the header instead (below).
fn with_name(template: &str) -> String {
    format!("{}  name: '{{{{ NAME }}}}'\n", field(template))
}

const CSV: (&str, &str) = ("a.csv", "ORDER_NO,NAME\n1,a\n2,b\n");
const HINT: &str = "`ORDR_NO` is undefined; did you mean `ORDER_NO`? (columns: ORDER_NO, NAME)";

/// The context, and the same name read through the fast path's fallback, minijinja's
/// filters and operators, and a text template.
#[test]
fn a_misspelt_column_is_named_with_the_nearest_column() {
    for template in [
        "{{ ORDR_NO }}",
        "{{ ORDR_NO | trim }}",
        "{{ ORDR_NO ~ NAME }}",
        "{{ NAME ~ ORDR_NO }}",
        "{{ ORDR_NO if NAME else 1 }}",
        "{{ 1 if ORDR_NO == '1' else 2 }}",
        "{{ range(ORDR_NO) }}",
        "no {{ ORDR_NO }}",
    ] {
        assert_eq!(message(&with_name(template), CSV), HINT, "{template}");
    }
    let all = rejects(&with_name("{{ ORDR_NO }}"), CSV, 1);
    assert_eq!((all[0].0.as_str(), all[0].1.as_str()), ("/id", "mapping"));
}

#[test]
fn conditions_and_filters_name_it_too() {
    let ctx = "fields:\n  id: { value: '{{ NAME }}', when: \"{{ ORDR_NO == '1' }}\" }\n";
    assert_eq!(message(ctx, CSV), HINT);
    let ctx = "filter: ORDR_NO == '1'\nfields:\n  id: '{{ NAME }}'\n";
    let all = rejects(ctx, CSV, 1);
    assert_eq!(all[0], (String::new(), "filter".to_owned(), HINT.to_owned()));
}

#[test]
fn case_and_record_dot_names_are_suggested_as_written() {
    assert_eq!(
        message(&with_name("{{ order_no | trim }}"), CSV),
        "`order_no` is undefined; did you mean `ORDER_NO`? (columns: ORDER_NO, NAME)"
    );
    assert_eq!(
        message(&field("{{ record.ORDR_NO }}"), CSV),
        "`record.ORDR_NO` is undefined; did you mean `record.ORDER_NO`? (columns: ORDER_NO, NAME)"
    );
    assert_eq!(
        message(&field("{{ meta.lin }}"), CSV),
        "`meta.lin` is undefined; did you mean `meta.line`? (keys of `meta`: index, input, line)"
    );
}

#[test]
fn no_suggestion_when_nothing_is_near() {
    assert_eq!(message(&with_name("{{ CUSTOMER }}"), CSV), "`CUSTOMER` is undefined (columns: ORDER_NO, NAME)");
    // Of several names, the one minijinja stopped at.
    assert_eq!(message(&field("{{ NAME ~ ORDR_NO ~ ZZZ }}"), CSV), HINT);
}

#[test]
fn json_records_list_their_keys_and_nested_objects_theirs() {
    let json = ("a.ndjson", "{\"order\": {\"number\": 1, \"date\": \"x\"}, \"name\": \"a\"}\n");
    assert_eq!(
        message(&field("{{ ordr.number }}"), json),
        "`ordr` is undefined; did you mean `order`? (keys: order, name)"
    );
    assert_eq!(
        message(&field("{{ order.numbr }}"), json),
        "`order.numbr` is undefined; did you mean `order.number`? (keys of `order`: date, number)"
    );
}

#[test]
fn a_wide_record_lists_its_first_columns() {
    let header: Vec<String> = (1..=25).map(|i| format!("COLUMN_{i:02}")).collect();
    let input = format!("{}\n{}\n", header.join(","), vec!["x"; 25].join(","));
    let listed = header[..20].join(", ");
    assert_eq!(
        message(&format!("{}  known: '{{{{ COLUMN_02 }}}}'\n", field("{{ COLUMN_1 }}")), ("a.csv", &input)),
        format!("`COLUMN_1` is undefined; did you mean `COLUMN_01`? (columns: {listed} … and 5 more)")
    );
}

/// Undefined values that are not a missing name keep minijinja's message.
#[test]
fn other_undefined_values_keep_their_message() {
    assert_eq!(message(&field("{{ NAME if NAME == 'zz' }}"), CSV), "the expression is undefined");
}

/// A header with none of the columns the context reads (the wrong file, the wrong delimiter)
/// would reject every record alike: the run fails at the header, saying what it has and what is
/// read, on either number of threads.
#[test]
fn a_header_with_none_of_the_columns_read_fails_the_run_at_the_header() {
    let ctx = "fields:\n  order: '{{ ORDER_NO }}'\n  customer: '{{ CUSTOMER | trim }}'\n  n: '{{ lookup }}'\n";
    for threads in [1, 2] {
        let mut t = compile(Some(Source { name: "c.yaml", text: ctx }), None).unwrap();
        t.set_threads(threads);
        let (mut out, mut rej) = (Vec::new(), Vec::new());
        let mut r = t.start(&mut out, &mut rej).unwrap();
        let error = r.feed("report.csv", &mut "Title line\nid;qty\n1;2\n".as_bytes()).unwrap_err().to_string();
        assert!(
            error.contains("report.csv line 2")
                && error.contains("the header has none of the columns the context reads (CUSTOMER, ORDER_NO)")
                && error.contains("its columns are: id, qty"),
            "{error}"
        );
    }
    // One column in common is enough: the rest are rejected record by record, by name.
    assert_eq!(message(&with_name("{{ ORDR_NO }}"), CSV), HINT);
    // Names read through `record` are not known before the records: no check.
    assert_eq!(rejects(&field("{{ record['ORDR NO'] }}"), CSV, 1).len(), 2);
}
