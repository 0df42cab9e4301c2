//! CSV split into chunks on the reading thread and parsed on workers must read exactly as one
//! thread does: the same records, rejects and errors (line, column, message). The input is
//! repeated so that a run spans several chunks, and every chunk's record count is checked
//! against its parse (a debug assertion in the engine).
#![no_main]

use libfuzzer_sys::fuzz_target;

const CONTEXT: &str = "input: { format: csv, delimiter: ';', header: true }\n";

fn run(content: &[u8], threads: usize) -> (Vec<u8>, Vec<u8>, Option<String>) {
    let mut t = helix_engine::compile(Some(helix_engine::Source { name: "c.yaml", text: CONTEXT }), None)
        .expect("the context compiles");
    t.set_threads(threads);
    let (mut out, mut rejects) = (Vec::new(), Vec::new());
    let error = {
        let mut run = t.start(&mut out, &mut rejects).expect("a run starts");
        let mut input = content;
        match run.feed("in.csv", &mut input) {
            Ok(()) => run.finish().err().map(|e| e.to_string()),
            Err(e) => Some(e.to_string()),
        }
    };
    // A failed run's output stops at the error, wherever the threads were: only the error counts.
    if error.is_some() {
        return (Vec::new(), Vec::new(), error);
    }
    (out, rejects, error)
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    let copies = (6000 / lines).clamp(1, (1 << 18) / data.len());
    let content = data.repeat(copies);
    assert_eq!(run(&content, 1), run(&content, 3));
});
