//! Nothing unbounded: what a context's templates may build per record, the limits a context
//! may set, and templates that name filters, tests or functions that do not exist.

use helix_engine::{EngineError, Source, Summary, check_context, compile};
use serde_json::Value;

fn run(context: &str, input: &str, threads: usize) -> Result<(String, Value, Summary), EngineError> {
    let name = if context.starts_with('{') || context.starts_with('[') { "c.j2" } else { "c.yaml" };
    let mut t = compile(Some(Source { name, text: context }), None)?;
    t.set_threads(threads);
    let (mut out, mut rej) = (Vec::new(), Vec::new());
    let mut r = t.start(&mut out, &mut rej)?;
    r.feed("a.csv", &mut input.as_bytes())?;
    let summary = r.finish()?;
    let rejects: Value = serde_json::from_slice(&rej).expect("reject report is JSON");
    Ok((String::from_utf8(out).unwrap(), rejects, summary))
}

/// The reject messages of a run over `input` (which must not fail).
fn rejects(context: &str, input: &str) -> Vec<String> {
    let (_, rej, _) = run(context, input, 1).unwrap_or_else(|e| panic!("{context}: {e}"));
    rej["rejects"].as_array().unwrap().iter().map(|r| r["message"].as_str().unwrap().to_owned()).collect()
}

fn field(template: &str) -> String {
    format!("fields:\n  x: {}\n", serde_json::to_string(template).unwrap())
}

const DOUBLING: &str =
    "{% set ns = namespace(s='x') %}{% for i in range(28) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}";

/// The issue's template: 28 doublings made a 256 MiB string (and a gigabyte of RSS).
#[test]
fn a_doubling_template_is_rejected_naming_the_limit() {
    for threads in [1, 2] {
        let (out, rej, s) = run(&field(DOUBLING), "A\n1\n2\n", threads).unwrap();
        assert_eq!((s.records_in, s.records_out, s.records_rejected), (2, 0, 2), "{out}");
        for r in rej["rejects"].as_array().unwrap() {
            assert_eq!(r["keyword"], "mapping");
            assert_eq!(r["pointer"], "/x");
            let message = r["message"].as_str().unwrap();
            assert!(message.contains("limits.max_value_bytes") && message.contains("1048576"), "{message}");
        }
    }
    // The limit is the context's: raised, 16 doublings (64 KiB) pass, lowered they do not.
    let sixteen = DOUBLING.replace("range(28)", "range(16)");
    assert_eq!(rejects(&field(&sixteen), "A\n1\n"), Vec::<String>::new());
    let lowered = format!("limits: {{ max_value_bytes: 1000 }}\n{}", field(&sixteen));
    let messages = rejects(&lowered, "A\n1\n");
    assert!(messages[0].contains("longer than 1000 bytes (limits.max_value_bytes)"), "{messages:?}");
}

/// Every way a template can grow a value is bounded: each of these would reach gigabytes.
#[test]
fn every_way_to_grow_a_value_is_bounded() {
    let ctx = |t: &str| format!("limits: {{ fuel: 10000000 }}\n{}", field(t));
    let growing = [
        // Straight-line doubling, no loop.
        &"{% set s = 'xxxxxxxx' %}".chain_n("{% set s = s ~ s %}", 40),
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}",
        "{% set ns = namespace(l=[1]) %}{% for i in range(80) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}",
        "{% set ns = namespace(l=[1]) %}{% for i in range(80) %}{% set ns.l = ns.l | chain(ns.l) %}{% endfor %}{{ ns.l | list | length }}",
        "{{ 'x' * 100000000 }}",
        "{{ ([1] * 100000000) | length }}",
        "{{ (A * 1000) * 1000000 }}",
        "{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s | replace('x', 'xx') %}{% endfor %}{{ ns.s | length }}",
        "{{ A | replace('', A ~ A ~ A ~ A ~ A ~ A ~ A ~ A) | replace('', 'xxxxxxxxxxxxxxxxxxxxxxxx') | length }}",
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = [ns.s, ns.s] | join %}{% endfor %}{{ ns.s | length }}",
        "{{ range(100000) | join('x' * 1000) | length }}",
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = '%s%s' | format(ns.s, ns.s) %}{% endfor %}{{ ns.s }}",
        "{{ '%100000000s' | format('x') | length }}",
        "{{ 'a\nb' | indent(100000000) | length }}",
        "{{ [1, 2] | tojson(indent=100000000) | length }}",
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s | regex_replace('.', '$0$0') %}{% endfor %}{{ ns.s }}",
        "{% set ns = namespace(t=[1]) %}{% for i in range(60) %}{% set ns.t = (ns.t, ns.t) %}{% endfor %}{{ ns.t | string | length }}",
        "{% set ns = namespace(t=[1]) %}{% for i in range(60) %}{% set ns.t = [ns.t, ns.t] %}{% endfor %}{{ ns.t | tojson | length }}",
        "{% set ns = namespace(t=[1]) %}{% for i in range(60) %}{% set ns.t = [ns.t, ns.t] %}{% endfor %}{{ ns.t | pprint | length }}",
        "{% set ns = namespace(t=[1]) %}{% for i in range(60) %}{% set ns.t = [ns.t, ns.t] %}{% endfor %}{{ ns.t }}",
        "{% set ns = namespace(t=[1]) %}{% for i in range(60) %}{% set ns.t = [ns.t, ns.t] %}{% endfor %}{{ ns.t ~ '' }}",
        "{{ (['x' * 1000000] * 100000) | sum(start='') | length }}",
        "{{ [1] | batch(100000000, 0) | list | length }}",
        "{{ [1] | slice(100000000) | list | length }}",
        // Text a template writes, also when captured: output, macros, set blocks, loops.
        "{% for i in range(100000) %}{{ A ~ A ~ A ~ A ~ A ~ A ~ A ~ A ~ A ~ A ~ A ~ A }}{% endfor %}",
        "{% macro d(n) %}{% if n %}{% for i in range(64) %}{{ d(n - 1) }}{% endfor %}{% else %}{{ A }}{% endif %}{% endmacro %}{{ d(2) | length }}",
        "{% set big %}{% for i in range(100000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endset %}{{ big | length }}",
        // A loop over items of unknown number counts as it goes.
        "{% set big %}{% for i in range(100000) | chain([]) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endset %}{{ big | length }}",
        "{% macro m() %}{% for i in range(100000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endmacro %}{{ m() | length }}",
        "{% filter upper %}{% for i in range(100000) %}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{% endfor %}{% endfilter %}",
    ];
    let input = format!("A\n{}\n", "y".repeat(1000));
    for template in growing {
        let messages = rejects(&ctx(template), &input);
        assert_eq!(messages.len(), 1, "{template}: {messages:?}");
        assert!(messages[0].contains("limits.max_value_bytes"), "{template}: {messages:?}");
    }
    // An expression's result (the fast path, then minijinja) is bounded the same way.
    let input = format!("A\n{}\n", "y".repeat(20_000));
    let long = format!("fields:\n  x: \"{{{{ {} }}}}\"\n", ["A"; 90].join(" ~ "));
    let messages = rejects(&long, &input);
    assert!(messages.len() == 1 && messages[0].contains("limits.max_value_bytes"), "{messages:?}");
    let replaced = format!("fields:\n  x: \"{{{{ A | replace('y', '{}') }}}}\"\n", "y".repeat(1000));
    let messages = rejects(&replaced, &input);
    assert!(messages.len() == 1 && messages[0].contains("limits.max_value_bytes"), "{messages:?}");
    // Ordinary templates are not affected.
    let ordinary = field(
        "{% for i in range(3) %}{{ A[:2] ~ '-' ~ i }},{% endfor %} {{ 'ab' * 2 }} {{ [A[:1]] * 2 }} {{ (1 + 2) * 3 }} {{ ['a', 'b'] | join('-') }} {{ 'x-y' | replace('-', '+') }} {{ '%05.1f' | format(2.25) }}",
    );
    let (out, rej, _) = run(&ordinary, &input, 1).unwrap();
    assert_eq!(rej["rejects"], serde_json::json!([]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["x"], "yy-0,yy-1,yy-2, abab ['y', 'y'] 9 a-b x+y 002.2");
}

trait ChainN {
    fn chain_n(&self, step: &str, n: usize) -> String;
}

impl ChainN for str {
    fn chain_n(&self, step: &str, n: usize) -> String {
        format!("{self}{}{{{{ s | length }}}}", step.repeat(n))
    }
}

/// minijinja compiles expressions recursively: a chain of thousands of operators overflowed the
/// stack of the thread compiling the context (a crash of the API, not an error).
#[test]
fn expressions_too_long_to_compile_are_context_errors() {
    let check = |text: &str| check_context(Source { name: "c.yaml", text }).map_err(|e| e.to_string());
    for expression in [["A"; 5000].join(" ~ "), format!("A{}", " | trim".repeat(5000)), ["A"; 5000].join(".")] {
        let e = check(&format!("fields:\n  x: \"{{{{ {expression} }}}}\"\n")).unwrap_err();
        assert!(e.contains("an expression chains more than 100 operators"), "{e}");
        let e = check(&format!("fields:\n  x: \"{{% if {expression} %}}{{% endif %}}\"\n")).unwrap_err();
        assert!(e.contains("an expression chains more than 100 operators"), "{e}");
    }
    let nested = format!("{}1{}", "f(".repeat(1000), ")".repeat(1000));
    let e = check(&format!("filter: \"{nested}\"\n")).unwrap_err();
    assert!(e.starts_with("c.yaml line 1, column 75: filter: an expression nests more than 32 brackets"), "{e}");
    // Long templates of short expressions are fine.
    check(&field(&"{{ A ~ A ~ A }}".repeat(1000))).unwrap();
    check(&field(&format!("{{{{ {} }}}}", ["A"; 100].join(" ~ ")))).unwrap();
}

/// A batch of records holds a bounded amount of output: records that make large output are
/// written in smaller batches, in order, the same for any number of threads, and a broken
/// record after them still ends the run after the batches before it are written.
#[test]
fn large_outputs_are_written_in_bounded_batches_in_order() {
    let ctx = "output: { format: ndjson }\nfields:\n  id: '{{ ID }}'\n  pad: \"{{ 'x' * 20000 }}\"\n";
    let rows: String = (1..=3000).map(|i| format!("{i};a\n")).collect();
    let transform = |input: &str, threads: usize| {
        let mut t = compile(Some(Source { name: "c.yaml", text: ctx }), None).unwrap();
        t.set_threads(threads);
        let (mut out, mut rej) = (Vec::new(), Vec::new());
        let mut r = t.start(&mut out, &mut rej).unwrap();
        let fed = r.feed("a.csv", &mut input.as_bytes()).map_err(|e| e.to_string());
        let summary = fed.clone().and_then(|()| r.finish().map_err(|e| e.to_string()));
        let ids: Vec<u64> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().parse().unwrap())
            .collect();
        (ids, summary.map(|s| s.records_out))
    };
    let input = format!("ID;B\n{rows}");
    for threads in [1, 2, 4] {
        let (ids, summary) = transform(&input, threads);
        let in_order = ids == (1..=3000).collect::<Vec<u64>>();
        assert!(in_order, "{threads} threads: {} records, the last {:?}; {summary:?}", ids.len(), ids.last());
        assert_eq!(summary, Ok(3000));
    }
    let broken = format!("ID;B\n{rows}3001;\"open\n");
    for threads in [1, 2, 4] {
        let (ids, summary) = transform(&broken, threads);
        let in_order = ids.len() >= 2048 && ids == (1..=ids.len() as u64).collect::<Vec<u64>>();
        assert!(in_order, "{threads} threads: {} records, the last {:?}; {summary:?}", ids.len(), ids.last());
        assert!(summary.unwrap_err().contains("unterminated quoted field"));
    }
}

/// One record out of bounds is rejected; the records around it are not.
#[test]
fn a_record_out_of_bounds_does_not_take_the_run_down() {
    let ctx = field(
        "{% set ns = namespace(s=A) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
    );
    let (out, rej, s) = run(&ctx, "A,B\n,1\nx,2\n,3\n", 1).unwrap();
    // Empty text doubles to empty text; "x" does not fit.
    assert_eq!((s.records_out, s.records_rejected), (2, 1), "{out}");
    assert_eq!(rej["rejects"][0]["line"], 3);
}

#[test]
fn a_record_longer_than_max_output_bytes_is_rejected() {
    let ctx = "limits: { max_output_bytes: 100 }\nfields:\n  a: '{{ A }}'\n  b: '{{ A ~ A }}'\n";
    let input = format!("A\nshort\n{}\n", "x".repeat(60));
    for threads in [1, 2] {
        let (out, rej, s) = run(ctx, &input, threads).unwrap();
        assert_eq!((s.records_out, s.records_rejected), (1, 1));
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v, serde_json::json!([{"a": "short", "b": "shortshort"}]));
        assert_eq!(rej["rejects"][0]["keyword"], "output");
        let message = rej["rejects"][0]["message"].as_str().unwrap();
        assert!(message.contains("longer than 100 bytes (limits.max_output_bytes)"), "{message}");
    }
}

#[test]
fn a_whole_document_template_has_a_bound_of_its_own() {
    let doubling = format!("[{}]", DOUBLING.replace("{{ ns.s }}", "\"{{ ns.s }}\""));
    let e = run(&doubling, "A\n1\n", 1).unwrap_err().to_string();
    assert!(e.contains("limits.max_document_bytes") && e.contains("67108864"), "{e}");
    let ctx = "limits: { max_document_bytes: 1000 }\ntemplate: '{{ records | tojson }}'\n";
    let e = run(ctx, &format!("A\n{}", "1\n".repeat(200)), 1).unwrap_err().to_string();
    assert!(e.contains("longer than 1000 bytes (limits.max_document_bytes)"), "{e}");
    let (out, _, _) = run(ctx, "A\n1\n", 1).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), serde_json::json!([{"A": "1"}]));
}

/// A context may lower a limit, and raise one up to the platform's maximum, not past it.
#[test]
fn limits_above_the_maximum_fail_compilation() {
    let check = |text: &str| check_context(Source { name: "c.yaml", text }).map_err(|e| e.to_string());
    let e = check("limits:\n  fuel: 250000000\nfields: { a: x }\n").unwrap_err();
    assert_eq!(
        e,
        "c.yaml line 2, column 9: limits.fuel: 250000000 is above the maximum of 10000000; \
         a context may lower a limit, not raise it past the platform's maximum"
    );
    for (name, too_much) in [
        ("max_fields", 100_001u64),
        ("max_field_bytes", 16 * 1024 * 1024 + 1),
        ("max_record_bytes", 64 * 1024 * 1024 + 1),
        ("max_depth", 129),
        ("recursion", 101),
        ("max_value_bytes", 16 * 1024 * 1024 + 1),
        ("max_document_bytes", 256 * 1024 * 1024 + 1),
        ("max_output_bytes", 256 * 1024 * 1024 + 1),
        ("max_group_records", 1_000_001),
        ("max_document_records", 1_000_001),
        ("yaml_alias_nodes", 10_001),
        ("yaml_depth", 65),
    ] {
        let e = check(&format!("limits: {{ {name}: {too_much} }}\n")).unwrap_err();
        let maximum = (too_much - 1).to_string();
        assert!(e.contains(&format!("limits.{name}: {too_much} is above the maximum of {maximum}")), "{e}");
        assert!(e.starts_with("c.yaml line 1, column "), "{e}");
        check(&format!("limits: {{ {name}: {maximum} }}\n")).unwrap();
        check(&format!("limits: {{ {name}: 1 }}\n")).unwrap();
    }
    let e = check("limits: { fuel: -1 }\n").unwrap_err();
    assert!(e.contains("limits.fuel is a whole number (at most 10000000)"), "{e}");
    let e = check("limits: { colour: 1 }\n").unwrap_err();
    assert!(e.contains("unknown limit `colour`"), "{e}");
    // The existing examples' limits stay within the maxima.
    let e = check("limits: 5\n").unwrap_err();
    assert!(e.contains("limits: is a mapping"), "{e}");
}

/// A filter, test or function that does not exist is a context error with its position, not a
/// reject of every record.
#[test]
fn unknown_filters_tests_and_functions_fail_compilation_with_their_position() {
    let check = |text: &str| check_context(Source { name: "c.yaml", text }).unwrap_err().to_string();
    assert_eq!(
        check("fields:\n  a: '{{ POS | nosuchfilter }}'\n"),
        "c.yaml line 2, column 16: fields.a: unknown filter `nosuchfilter`"
    );
    assert_eq!(
        check("fields:\n  a: \"{{ POS | trim }}-{{ POS | nosuchfilter('x') }}\"\n"),
        "c.yaml line 2, column 33: fields.a: unknown filter `nosuchfilter`"
    );
    assert_eq!(
        check("fields:\n  a: x {{ POS | nosuchfilter }}\n"),
        "c.yaml line 2, column 17: fields.a: unknown filter `nosuchfilter`"
    );
    assert_eq!(
        check("fields:\n  a: |\n    {% for p in POS %}\n      {{ p | nosuchfilter }}\n    {% endfor %}\n"),
        "c.yaml line 4, column 14: fields.a: unknown filter `nosuchfilter`"
    );
    assert_eq!(
        check("fields:\n  a: { value: x, when: \"POS is nosuchtest\" }\n"),
        "c.yaml line 2, column 32: fields.a.when: unknown test `nosuchtest`"
    );
    assert_eq!(
        check("filter: nosuchfunction(POS)\nfields: { a: x }\n"),
        "c.yaml line 1, column 9: filter: unknown function `nosuchfunction`"
    );
    assert_eq!(
        check("fields:\n  a: { each: \"POS | nosuchfilter\", fields: { b: x } }\n"),
        "c.yaml line 2, column 21: fields.a.each: unknown filter `nosuchfilter`"
    );
    assert_eq!(
        check("template: \"{{ records | nosuchfilter }}\"\n"),
        "c.yaml line 1, column 25: template: unknown filter `nosuchfilter`"
    );
    // Escapes before it: the scalar's position, and where in the template.
    assert_eq!(
        check("fields:\n  a: \"\\t{{ POS | nosuchfilter }}\"\n"),
        "c.yaml line 2, column 6: fields.a: unknown filter `nosuchfilter` (template line 1, column 11)"
    );
    let e = check_context(Source { name: "doc.j2", text: "[\n{{ records | nosuchfilter }}]" }).unwrap_err();
    assert_eq!(e.to_string(), "doc.j2 line 2, column 14: template error: unknown filter `nosuchfilter`");

    // What the engine and minijinja define is known: filters, tests, functions, macros.
    let fine = r#"
maps: { m: { a: b } }
fields:
  a: "{{ POS | trim | upper | decimal('de') | round(2) | default('') }}"
  b: "{{ POS | valuemap('m') | regex_replace('x', 'y') | capitalize_words }}"
  c: "{{ coalesce(POS, 1) ~ range(2) | list | tojson }}"
  d: "{{ POS is defined and POS is string and 3 is divisibleby(3) and POS is not none }}"
  e: "{% macro m(x) %}{{ caller() ~ x }}{% endmacro %}{% call m(1) %}z{% endcall %}{{ m(2) }}"
  f: "{% set ns = namespace(a=1) %}{{ dict(a=1) | items | list }}{{ ns.a }}{{ POS | date('YYYY') }}"
"#;
    check_context(Source { name: "c.yaml", text: fine }).unwrap();
}

/// Reads this process's peak resident set (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Prints the peak RSS the issue's doubling template reaches (not a timed assertion; run it
/// alone: `cargo test -p helix-engine --release --test limits -- --ignored --nocapture`).
#[test]
#[ignore]
fn doubling_template_peak_rss() {
    let before = peak_rss_mib();
    let result = run(&field(DOUBLING), "A\n1\n", 1);
    let after = peak_rss_mib();
    let outcome = match &result {
        Ok((out, rej, s)) => format!(
            "{} out ({} bytes of output), {} rejected: {}",
            s.records_out,
            out.len(),
            s.records_rejected,
            rej["rejects"][0]["message"].as_str().unwrap_or("")
        ),
        Err(e) => format!("error: {e}"),
    };
    println!("doubling template (28 doublings): peak RSS {before:.1} MiB before, {after:.1} MiB after; {outcome}");
}

/// Prints the time one thread takes for ordinary mappings (the benchmark's reference mapping,
/// and text templates through minijinja), to compare the engine before and after a change (not
/// a timed assertion: `cargo test -p helix-engine --release --test limits -- --ignored
/// --nocapture throughput`).
#[test]
#[ignore]
fn throughput_of_ordinary_mappings() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/orders/");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}{f}")).unwrap();
    let csv = read("orders.csv");
    let (header, rows) = csv.split_once('\n').unwrap();
    let rows: Vec<&str> = rows.lines().collect();
    let mut input = format!("{header}\n");
    for i in 0..200_000 {
        input.push_str(rows[i % rows.len()]);
        input.push('\n');
    }
    let text = r#"input: { format: csv, delimiter: ";" }
output: { format: ndjson }
fields:
  id: "{{ ORDER_NO | trim }}-{{ POS | int }}"
  amount: "{% if QTY %}{{ QTY ~ ' x ' ~ UNIT_PRICE ~ ' ' ~ CURRENCY }}{% endif %}"
  doubled: "{{ (QTY | int) * 2 + 1 }} pieces"
  where: "{{ [MATERIAL, PLANT] | join('/') }}{% for c in CURRENCY %}.{{ c }}{% endfor %}"
"#;
    let (orders, schema) = (read("orders.yaml"), read("order_line.schema.json"));
    for (name, context, schema) in
        [("reference mapping", orders.as_str(), Some(schema.as_str())), ("text templates", text, None)]
    {
        let mut t =
            compile(Some(Source { name: "c.yaml", text: context }), schema.map(|text| Source { name: "s.json", text }))
                .unwrap();
        t.set_threads(1);
        let (mut best, mut records) = (f64::MAX, 0);
        for _ in 0..3 {
            let (mut out, mut rej) = (Vec::new(), Vec::new());
            let started = std::time::Instant::now();
            let mut r = t.start(&mut out, &mut rej).unwrap();
            r.feed("orders.csv", &mut input.as_bytes()).unwrap();
            let s = r.finish().unwrap();
            best = best.min(started.elapsed().as_secs_f64());
            records = s.records_in;
        }
        println!("{name}: {records} records in {best:.3} s on one thread ({:.0} records/s)", records as f64 / best);
    }
}
