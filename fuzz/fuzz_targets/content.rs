//! Any content, in any detected format, must end in records, rejects or an error — never a
//! panic or a hang. The first byte picks the file name hint (and so the detection path).
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = ["in.csv", "in.tsv", "in.json", "in.ndjson", "in.xml", "in.idoc"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else { return };
    let Ok(t) = helix_engine::compile(None, None) else { return };
    let (mut out, mut rejects) = (Vec::new(), Vec::new());
    let Ok(mut run) = t.start(&mut out, &mut rejects) else { return };
    let mut input = content;
    if run.feed(NAMES[pick as usize % NAMES.len()], &mut input).is_ok() {
        let _ = run.finish();
    }
});
