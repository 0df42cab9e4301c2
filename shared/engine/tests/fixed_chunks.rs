//! Fixed-width files are cut into chunks of whole lines on the reading thread and parsed on the
//! workers: the result, the rejects and the line numbers are those of a run on one thread.

use helix_engine::{Source, compile};

const CONTEXT: &str = "input:
  format: fixed
  fields:
    - {name: ID, start: 1, length: 6}
    - {name: QTY, start: 7, length: 5}
fields:
  id: \"{{ ID | trim }}\"
  qty: \"{{ QTY | int }}\"
";

const SCHEMA: &str = r#"{"type": "object", "required": ["id", "qty"],
  "properties": {"id": {"type": "string"}, "qty": {"type": "integer", "minimum": 0}}}"#;

/// (result, reject report, or the run's error) of one run.
fn run(input: &[u8], threads: usize) -> Result<(String, String), String> {
    let mut t =
        compile(Some(Source { name: "c.yaml", text: CONTEXT }), Some(Source { name: "s.json", text: SCHEMA })).unwrap();
    t.set_threads(threads);
    let (mut out, mut rej) = (Vec::new(), Vec::new());
    let mut r = t.start(&mut out, &mut rej).map_err(|e| e.to_string())?;
    r.feed("stock.txt", &mut &input[..]).map_err(|e| e.to_string())?;
    r.finish().map_err(|e| e.to_string())?;
    Ok((String::from_utf8(out).unwrap(), String::from_utf8(rej).unwrap()))
}

/// Lines of `ID    QTY  `, with blank lines and negative quantities (rejected) sprinkled in.
fn stock(lines: usize) -> Vec<u8> {
    let mut text = String::new();
    for i in 0..lines {
        match i % 97 {
            13 => text.push('\n'),
            41 => text.push_str("   \r\n"),
            _ => text.push_str(&format!("{i:06}{:<5}\n", if i % 331 == 7 { -1 } else { (i % 500) as i64 })),
        }
    }
    text.into_bytes()
}

#[test]
fn chunks_give_the_result_of_one_thread() {
    let input = stock(20_000);
    let one = run(&input, 1).unwrap();
    for threads in [2, 3] {
        assert_eq!(run(&input, threads).unwrap(), one, "{threads} threads");
    }
    assert!(one.1.contains("\"line\":7290"), "a reject deep in the file keeps its line number");
}

#[test]
fn a_bad_line_far_in_is_reported_at_its_line_on_any_number_of_threads() {
    let mut input = stock(9_000);
    let at = input.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(8_499).unwrap().0 + 1;
    input[at + 2] = 0xFF;
    for threads in [1, 2] {
        let e = run(&input, threads).unwrap_err();
        assert!(e.starts_with("stock.txt line 8501, column 3: byte 0xFF is not valid UTF-8"), "{threads}: {e}");
    }
}
