//! The contract the job worker depends on, end to end through the public API.

use helix_engine::{EngineError, OutputFormat, Source, Summary, check_context, check_schema, compile};
use serde_json::{Value, json};

fn run(
    context: Option<&str>,
    schema: Option<&str>,
    inputs: &[(&str, &str)],
    threads: usize,
) -> Result<(String, Value, Summary), EngineError> {
    let mut t = compile(
        context.map(|text| Source { name: "c.yaml", text }),
        schema.map(|text| Source { name: "s.json", text }),
    )?;
    t.set_threads(threads);
    let (mut out, mut rej) = (Vec::new(), Vec::new());
    let mut r = t.start(&mut out, &mut rej)?;
    for (name, text) in inputs {
        r.feed(name, &mut text.as_bytes())?;
    }
    let summary = r.finish();
    let rejects: Value = serde_json::from_slice(&rej).expect("reject report is JSON");
    Ok((String::from_utf8(out).unwrap(), rejects, summary?))
}

const SCHEMA: &str = r#"{"type":"object","required":["id","qty"],"properties":{"id":{"type":"string"},"qty":{"type":"integer","minimum":0}}}"#;

#[test]
fn csv_passthrough_without_context() {
    let (out, _, s) = run(None, None, &[("a.csv", "id;name\n1;\"x;y\"\n2;z\n")], 1).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v, json!([{"id": "1", "name": "x;y"}, {"id": "2", "name": "z"}]));
    assert_eq!((s.records_in, s.records_out), (2, 2));
}

#[test]
fn json_and_ndjson_pass_through_validated() {
    let (out, rej, s) = run(
        None,
        Some(SCHEMA),
        &[("a.json", r#"[{"id":"1","qty":2},{"id":"2","qty":-1}]"#), ("b.ndjson", "{\"id\":\"3\",\"qty\":\"4\"}\n")],
        1,
    )
    .unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v, json!([{"id": "1", "qty": 2}, {"id": "3", "qty": 4}]));
    assert_eq!((s.records_in, s.records_out, s.records_rejected), (3, 2, 1));
    assert_eq!(rej["rejects"][0]["keyword"], "minimum");
    assert_eq!(rej["rejects"][0]["pointer"], "/qty");
    assert_eq!(rej["rejects"][0]["record"], 2);
    assert_eq!(rej["summary"]["records_rejected"], 1);
}

const CONTEXT: &str = r#"
output: { format: ndjson }
maps:
  status: { values: { A: open, B: shipped }, default: unknown }
fields:
  id: "{{ ORDER_NO | trim }}"
  qty: "{{ QTY | decimal('de') }}"
  customer.name: "{{ NAME | capitalize_words }}"
  status: "{{ STATUS | trim | valuemap('status') }}"
  date: "{{ DATE | date('DD.MM.YYYY') }}"
  label: "order {{ ORDER_NO | trim }}{% if STATUS == 'A' %} (open){% endif %}"
  note: "{{ coalesce(NOTE | trim, none) }}"
"#;

const INPUT: &str = "ORDER_NO;QTY;NAME;STATUS;DATE;NOTE\r\n 45 ;1.250;MÜLLER,  hans;A;1.3.2024;\"two\r\nlines\"\r\n46;-3;o'brien;X;31.12.2023;  \r\n47;x;a;B;32.01.2024;\r\n";

#[test]
fn context_maps_validates_and_rejects_with_lines() {
    for threads in [1, 2] {
        let (out, rej, s) = run(Some(CONTEXT), Some(SCHEMA), &[("orders.csv", INPUT)], threads).unwrap();
        let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(
            lines,
            vec![json!({"id": "45", "qty": 1250, "customer": {"name": "Müller, Hans"}, "status": "open",
            "date": "2024-03-01", "label": "order 45 (open)", "note": "two\r\nlines"})]
        );
        assert_eq!((s.records_in, s.records_out, s.records_rejected), (3, 1, 2));
        let r = &rej["rejects"];
        assert_eq!(
            (r[0]["line"].as_u64(), r[0]["pointer"].as_str(), r[0]["keyword"].as_str()),
            (Some(4), Some("/qty"), Some("minimum"))
        );
        assert_eq!(
            (r[1]["line"].as_u64(), r[1]["pointer"].as_str(), r[1]["keyword"].as_str()),
            (Some(5), Some("/qty"), Some("mapping"))
        );
    }
}

#[test]
fn parallel_output_keeps_input_order() {
    let mut input = String::from("ID;QTY\n");
    for i in 0..5000 {
        input.push_str(&format!("{i};{}\n", if i % 7 == 0 { "-1" } else { "1" }));
    }
    let ctx = "fields:\n  id: '{{ ID }}'\n  qty: '{{ QTY | int }}'\n";
    let (one, rej1, _) = run(Some(ctx), Some(SCHEMA), &[("a.csv", &input)], 1).unwrap();
    let (two, rej2, s) = run(Some(ctx), Some(SCHEMA), &[("a.csv", &input)], 2).unwrap();
    assert_eq!(one, two);
    assert_eq!(rej1, rej2);
    assert_eq!(s.records_rejected, 715);
}

/// One thread gathers its output before it writes it: all of it is written, in order, at the end
/// of the input and before a reading error that stops the run.
#[test]
fn records_before_the_end_or_a_reading_error_are_all_written() {
    let rows: String = (0..100_000).map(|i| format!("{i};{}\n", i % 5)).collect();
    let ctx = "fields:\n  id: '{{ ID }}'\n  qty: '{{ QTY | int }}'\n";
    let written = |input: &str, threads: usize| {
        let mut t =
            compile(Some(Source { name: "c.yaml", text: ctx }), Some(Source { name: "s.json", text: SCHEMA })).unwrap();
        t.set_threads(threads);
        let (mut out, mut rej) = (Vec::new(), Vec::new());
        let mut run = t.start(&mut out, &mut rej).unwrap();
        let fed = run.feed("a.csv", &mut input.as_bytes()).map_err(|e| e.to_string());
        let finished = fed.is_ok().then(|| run.finish().unwrap().records_out);
        (String::from_utf8(out).unwrap(), fed, finished)
    };
    let whole = format!("ID;QTY\n{rows}");
    let (one, fed, finished) = written(&whole, 1);
    assert!(one.len() > 2 << 20, "{}", one.len());
    assert_eq!((fed, finished), (Ok(()), Some(100_000)));
    assert_eq!(one, written(&whole, 2).0);
    let broken = format!("ID;QTY\n{rows}1;\"open\n");
    let (one, fed, _) = written(&broken, 1);
    assert!(fed.unwrap_err().contains("unterminated quoted field"));
    assert_eq!(one.lines().count(), 100_001, "the opening bracket and every record before the error");
    assert_eq!(one, written(&broken, 2).0);
}

/// Many threads split CSV into chunks of whole records on the reading thread and parse them on
/// the workers: outputs, rejects, line numbers and errors must equal the one-thread run's.
#[test]
fn split_csv_parses_like_one_thread() {
    let mut input = String::from("ID;QTY;NOTE\r\n");
    for i in 0..3000 {
        let note = match i % 9 {
            0 => "\"two\r\nlines; \"\"quoted\"\"\"".to_owned(),
            1 => "mid \"quote\" kept".to_owned(),
            2 => "\"\"".to_owned(),
            3 => "\"a\n\nb\n\"".to_owned(),
            // Text after a closing quote, and a quote inside a field before a quoted field.
            4 => "\"a\"b\"c".to_owned(),
            5 => "x\";\"y\nz\"".to_owned(),
            _ => format!("n{i}"),
        };
        input.push_str(&format!("{i};{};{note}\r\n", if i % 11 == 0 { "-1" } else { "1" }));
        if i % 500 == 7 {
            input.push_str("\r\n");
        }
        if i % 700 == 3 {
            input.push_str("ragged\r\n");
        }
    }
    let ctx = "fields:\n  id: '{{ ID }}'\n  qty: '{{ QTY | int }}'\n  note: '{{ NOTE }}'\n";
    let schema = r#"{"type":"object","required":["id","qty"],"properties":{"id":{"type":"string"},"qty":{"type":"integer","minimum":0},"note":{"type":"string"}}}"#;
    for (context, schema) in [(Some(ctx), Some(schema)), (None, None)] {
        let (one, rej1, s1) = run(context, schema, &[("a.csv", &input), ("b.csv", &input)], 1).unwrap();
        let (many, rej4, s4) = run(context, schema, &[("a.csv", &input), ("b.csv", &input)], 4).unwrap();
        assert_eq!(one, many);
        assert_eq!(rej1, rej4);
        assert_eq!((s1.records_in, s1.records_out), (s4.records_in, s4.records_out));
    }
    let headless = "1;2\n\"3\n\";4\n".repeat(700);
    let ctx = "input: { header: false }\nfields:\n  a: '{{ col1 }}'\n  b: '{{ col2 }}'\n";
    assert_eq!(
        run(Some(ctx), None, &[("h.csv", &headless)], 1).unwrap().0,
        run(Some(ctx), None, &[("h.csv", &headless)], 3).unwrap().0
    );

    let unterminated = format!("{input}5;1;\"open\r\n6;1;x\r\n");
    let one = run(Some(ctx), None, &[("a.csv", &unterminated)], 1).unwrap_err().to_string();
    assert_eq!(one, run(Some(ctx), None, &[("a.csv", &unterminated)], 4).unwrap_err().to_string());
    assert!(one.contains("unterminated quoted field"), "{one}");
    let wide = format!("{input}5;1;{}\r\n{input}", "x;".repeat(10_001));
    let one = run(None, None, &[("a.csv", &wide)], 1).unwrap_err().to_string();
    assert_eq!(one, run(None, None, &[("a.csv", &wide)], 4).unwrap_err().to_string());
    assert!(one.contains("limits.max_fields"), "{one}");
    let early = format!("ID;QTY;NOTE\n1;1;{}\n{}", "x;".repeat(10_001), "2;1;y\n".repeat(50_000));
    for threads in [2, 4] {
        let e = run(None, None, &[("a.csv", &early)], threads).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("limits.max_fields"), "{e}");
    }
    let long_quoted = format!("{input}5;1;\"{}\"\r\n", "line\n".repeat(40));
    let ctx = "limits: { max_field_bytes: 100 }\n";
    let one = run(Some(ctx), None, &[("a.csv", &long_quoted)], 1).unwrap_err().to_string();
    assert_eq!(one, run(Some(ctx), None, &[("a.csv", &long_quoted)], 4).unwrap_err().to_string());
    assert!(one.contains("column 5: quoted field longer than 100 bytes"), "{one}");
}

/// Pattern outcomes are remembered per field and text: the same text under two patterns, and
/// repeated texts, are judged by the right pattern every time.
#[test]
fn repeated_values_are_checked_against_their_own_field() {
    let schema =
        r#"{"type":"object","properties":{"a":{"type":"string","pattern":"^x"},"b":{"type":"string","pattern":"^y"}}}"#;
    let ctx = "fields:\n  a: '{{ A }}'\n  b: '{{ B }}'\n";
    let input = format!("A;B\n{}", "xa;ya\nya;xa\nxa;ya\nya;xa\n".repeat(300));
    for threads in [1, 2] {
        let (_, rej, s) = run(Some(ctx), Some(schema), &[("a.csv", &input)], threads).unwrap();
        assert_eq!((s.records_out, s.records_rejected), (600, 600));
        let pointers: Vec<&str> =
            rej["rejects"].as_array().unwrap().iter().take(4).map(|r| r["pointer"].as_str().unwrap()).collect();
        assert_eq!(pointers, ["/a", "/b", "/a", "/b"]);
    }
}

#[test]
fn reject_rate_fails_the_run() {
    let ctx = format!("{CONTEXT}rejects: {{ max_rate: 0.5 }}\n");
    let e = run(Some(&ctx), Some(SCHEMA), &[("orders.csv", INPUT)], 1).unwrap_err();
    assert!(matches!(e, EngineError::RejectRateExceeded { rejected: 2, total: 3, .. }), "{e}");
}

#[test]
fn errors_name_file_line_and_column() {
    let e = check_context(Source { name: "c.yaml", text: "fields:\n  a: '{{ X | }}'\n" }).unwrap_err();
    assert!(e.to_string().starts_with("c.yaml line 2, column 6: fields.a: template error"), "{e}");
    let e = check_context(Source { name: "c.yaml", text: "input:\n  delimiter: ';'\n  colour: red\n" }).unwrap_err();
    assert!(e.to_string().starts_with("c.yaml line 3"), "{e}");
    assert!(e.to_string().contains("colour"), "{e}");
    let e = check_schema(Source { name: "s.json", text: "{\"type\": 3}" }).unwrap_err();
    assert!(matches!(e, EngineError::Schema { .. }), "{e}");
    let e = run(None, None, &[("orders.csv", "a,b\n1,\"x\n")], 1).unwrap_err();
    assert_eq!(e.to_string(), "orders.csv line 2, column 3: unterminated quoted field");
}

#[test]
fn filters_when_defaults_and_inline_maps() {
    let ctx = r#"
filter: "KIND != 'skip'"
fields:
  id: "{{ ID }}"
  qty: { value: "{{ QTY }}", default: 0, type: integer }
  kind: { value: "{{ KIND }}", map: { a: alpha }, when: "KIND == 'a'" }
"#;
    let (out, _, s) = run(Some(ctx), None, &[("a.csv", "ID,QTY,KIND\n1,,a\n2,5,skip\n3,7,b\n")], 1).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v, json!([{"id": "1", "qty": 0, "kind": "alpha"}, {"id": "3", "qty": 7}]));
    assert_eq!(s.records_filtered, 1);
}

#[test]
fn header_and_items_grouping() {
    let ctx = r#"
group: { by: "ORDER" }
fields:
  order: "{{ ORDER }}"
  customer: "{{ CUST }}"
  lines:
    each: items
    fields:
      pos: { value: "{{ POS }}", type: integer }
      material: "{{ MAT }}"
  count: "{{ items | length }}"
"#;
    let (out, _, s) =
        run(Some(ctx), None, &[("a.csv", "ORDER,CUST,POS,MAT\n1,C1,10,M1\n1,C1,20,M2\n2,C2,10,M3\n")], 2).unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        json!([
            {"order": "1", "customer": "C1", "lines": [{"pos": 10, "material": "M1"}, {"pos": 20, "material": "M2"}], "count": 2},
            {"order": "2", "customer": "C2", "lines": [{"pos": 10, "material": "M3"}], "count": 1},
        ])
    );
    assert_eq!((s.records_in, s.records_out), (3, 2));
}

#[test]
fn whole_document_template() {
    let t = compile(Some(Source { name: "doc.j2", text: r#"{"count": {{ records | length }}, "ids": [{% for r in records %}"{{ r.ID }}"{% if not loop.last %},{% endif %}{% endfor %}]}"# }), None).unwrap();
    let (mut out, mut rej) = (Vec::new(), Vec::new());
    let mut r = t.start(&mut out, &mut rej).unwrap();
    r.feed("a.csv", &mut "ID\n1\n2\n".as_bytes()).unwrap();
    r.finish().unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v, json!({"count": 2, "ids": ["1", "2"]}));
}

/// A caller's preferred output format (the CLI's `-o x.ndjson`) applies where the context does
/// not choose one.
#[test]
fn default_output_format_applies_only_where_the_context_is_silent() {
    let output = |context: Option<(&str, &str)>| {
        let mut t = compile(context.map(|(name, text)| Source { name, text }), None).unwrap();
        let applied = t.set_default_output_format(OutputFormat::Ndjson);
        let (mut out, mut rej) = (Vec::new(), Vec::new());
        let mut r = t.start(&mut out, &mut rej).unwrap();
        r.feed("a.csv", &mut "ID\n1\n2\n".as_bytes()).unwrap();
        r.finish().unwrap();
        (applied, t.output_format(), String::from_utf8(out).unwrap())
    };
    let ndjson = "{\"ID\":\"1\"}\n{\"ID\":\"2\"}\n";
    assert_eq!(output(None), (true, OutputFormat::Ndjson, ndjson.to_owned()));
    assert_eq!(output(Some(("c.yaml", "fields:\n  ID: '{{ ID }}'\n"))).2, ndjson);
    let (applied, format, out) = output(Some(("c.yaml", "output: { format: json }\n")));
    assert_eq!((applied, format), (false, OutputFormat::Json));
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!([{"ID": "1"}, {"ID": "2"}]));
    let (applied, _, out) = output(Some(("doc.j2", "{{ records | length }}")));
    assert!(!applied);
    assert_eq!(out.trim(), "2");
}

#[test]
fn fuel_limit_stops_runaway_templates() {
    let ctx = "limits: { fuel: 1000 }\nfields:\n  x: \"{% for i in range(100000) %}{{ i }}{% endfor %}\"\n";
    let (_, rej, s) = run(Some(ctx), None, &[("a.csv", "A\n1\n")], 1).unwrap();
    assert_eq!(s.records_rejected, 1);
    assert!(rej["rejects"][0]["message"].as_str().unwrap().contains("fuel"), "{rej}");
}

#[test]
fn segment_picks_the_first_entry_with_the_given_fields() {
    let context = "fields:\n  sold_to: \"{{ segment(partners, role='AG', active='X').id }}\"\n  ship_to: \"{{ coalesce(segment(partners, role='WE').id, none) }}\"\n  only: \"{{ segment(single, role='AG').id }}\"\n";
    let input = r#"{"partners": [{"role": "AG", "id": 1}, {"role": "AG", "active": "X", "id": 2}], "single": {"role": "AG", "id": 3}}"#;
    let (out, _, s) = run(Some(context), None, &[("p.ndjson", input)], 1).unwrap();
    assert_eq!(s.records_out, 1, "{:?}", s.first_rejects);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v, json!([{"sold_to": 2, "ship_to": null, "only": 3}]));
    let (_, _, s) = run(Some("fields:\n  x: \"{{ segment(partners) }}\"\n"), None, &[("p.ndjson", input)], 1).unwrap();
    assert!(s.first_rejects[0].message.contains("segment() needs at least one field=value"), "{s:?}");
}
