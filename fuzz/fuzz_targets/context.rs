//! Any context text (YAML, aliases, templates) must compile or fail with an error; if it
//! compiles, running it over a small CSV must not panic either (fuel bounds the templates).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let source = helix_engine::Source { name: "fuzz.yaml", text };
    let Ok(mut t) = helix_engine::compile(Some(source), None) else { return };
    t.set_threads(1);
    let (mut out, mut rejects) = (Vec::new(), Vec::new());
    let Ok(mut run) = t.start(&mut out, &mut rejects) else { return };
    let mut input: &[u8] = b"A;B;C\n1;x;2,5\n2;\"y\";\n";
    if run.feed("in.csv", &mut input).is_ok() {
        let _ = run.finish();
    }
});
