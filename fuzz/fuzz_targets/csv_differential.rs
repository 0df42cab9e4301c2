//! The engine's CSV reader against the `csv` crate's writer and reader: fields written by the
//! crate, in both dialects (`,` and `;`) and both quoting styles, must read back exactly, and as
//! the crate's own reader reads them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Rows of `columns` fields cut from the fuzz input (text only: the engine refuses NULs).
fn rows(data: &[u8], columns: usize) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(data).replace('\0', "");
    let cells: Vec<String> = text.split('\u{1}').map(str::to_owned).collect();
    cells.chunks(columns).filter(|row| row.len() == columns).map(<[String]>::to_vec).collect()
}

fn write(rows: &[Vec<String>], delimiter: u8, quote_all: bool) -> Vec<u8> {
    let style = if quote_all { csv::QuoteStyle::Always } else { csv::QuoteStyle::Necessary };
    let mut w = csv::WriterBuilder::new().delimiter(delimiter).quote_style(style).from_writer(Vec::new());
    for row in rows {
        w.write_record(row).expect("written to memory");
    }
    w.into_inner().expect("flushed")
}

/// The records as the engine reads them: `col1…colN` of each, in order.
fn engine(content: &[u8], delimiter: u8, columns: usize) -> Vec<Vec<String>> {
    let context = format!(
        "input: {{ format: csv, encoding: utf-8, delimiter: '{}', header: false, skip_lines: 0 }}\n",
        delimiter as char
    );
    let t = helix_engine::compile(Some(helix_engine::Source { name: "c.yaml", text: &context }), None)
        .expect("the context compiles");
    let (mut out, mut rejects) = (Vec::new(), Vec::new());
    {
        let mut run = t.start(&mut out, &mut rejects).expect("a run starts");
        run.feed("in.csv", &mut &content[..]).expect("written CSV reads");
        run.finish().expect("the run ends");
    }
    let records: Vec<Value> = serde_json::from_slice(&out).expect("a JSON array");
    records
        .iter()
        .map(|r| (1..=columns).map(|i| r[format!("col{i}")].as_str().unwrap_or("<missing>").to_owned()).collect())
        .collect()
}

fn crate_reader(content: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .from_reader(content)
        .records()
        .map(|r| r.expect("written CSV reads").iter().map(str::to_owned).collect())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&shape, data)) = data.split_first() else { return };
    let columns = usize::from(shape % 4) + 1;
    // A row of one empty field is a blank line to both readers: none is written.
    let rows: Vec<Vec<String>> =
        rows(data, columns).into_iter().filter(|r| !(columns == 1 && r[0].is_empty())).collect();
    for delimiter in [b',', b';'] {
        let content = write(&rows, delimiter, shape & 0x80 != 0);
        assert_eq!(engine(&content, delimiter, columns), rows, "engine, {:?}", String::from_utf8_lossy(&content));
        assert_eq!(crate_reader(&content, delimiter), rows, "csv crate");
    }
});
