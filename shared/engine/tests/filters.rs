//! Number filters on values as files hold them: padded, empty, or not numbers at all.

use helix_engine::{Source, compile};
use serde_json::{Value, json};

/// The records out and the reject messages of a run over one CSV, on one and on two threads
/// (the fast evaluator and minijinja must agree).
fn run(fields: &str, csv: &str) -> (Value, Vec<String>) {
    let context = format!("input: {{format: csv, delimiter: ';', header: true}}\nfields:\n{fields}");
    let mut seen = Vec::new();
    for threads in [1, 2] {
        let mut t = compile(Some(Source { name: "c.yaml", text: &context }), None).unwrap();
        t.set_threads(threads);
        let (mut out, mut rej) = (Vec::new(), Vec::new());
        let mut r = t.start(&mut out, &mut rej).unwrap();
        r.feed("in.csv", &mut csv.as_bytes()).unwrap();
        r.finish().unwrap();
        let report: Value = serde_json::from_slice(&rej).unwrap();
        let messages = report["rejects"].as_array().unwrap().iter().map(|r| r["message"].as_str().unwrap().to_owned());
        seen.push((serde_json::from_slice::<Value>(&out).unwrap(), messages.collect::<Vec<_>>()));
    }
    assert_eq!(seen[0], seen[1]);
    seen.remove(0)
}

#[test]
fn int_and_float_ignore_padding_and_read_empty_as_none() {
    let (out, rejects) = run("  i: \"{{ v | int }}\"\n  f: \"{{ v | float }}\"\n", "k;v\na;  42 \nb;\nc;7\nd;-3.5\n");
    assert_eq!(rejects, Vec::<String>::new());
    assert_eq!(out, json!([{"i": 42, "f": 42.0}, {"i": null, "f": null}, {"i": 7, "f": 7.0}, {"i": -3, "f": -3.5}]));
}

#[test]
fn a_value_that_is_no_number_is_named() {
    let (out, rejects) = run("  i: \"{{ v | int }}\"\n", "v\n4x\n");
    assert_eq!((out, rejects), (json!([]), vec!["`4x` is not an integer".to_owned()]));
    let (_, rejects) = run("  f: \"{{ v | float }}\"\n", "v\nn/a\n");
    assert_eq!(rejects, vec!["`n/a` is not a number".to_owned()]);
    let (out, _) = run("  i: \"{{ v | int(default=0) }}\"\n", "v\nn/a\n");
    assert_eq!(out, json!([{"i": 0}]));
}

#[test]
fn decimal_refuses_a_decimal_comma_in_locale_en() {
    let (out, rejects) = run("  d: \"{{ v | decimal }}\"\n  e: \"{{ v | decimal('de') }}\"\n", "v\n12,50\n");
    assert_eq!(out, json!([]));
    assert!(rejects[0].contains("not grouped by three"), "{rejects:?}");
    let (out, _) = run("  e: \"{{ v | decimal('de') }}\"\n", "v\n12,50\n");
    assert_eq!(out, json!([{"e": 12.5}]));
}
