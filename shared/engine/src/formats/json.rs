//! JSON array and NDJSON (or any stream of concatenated JSON values), streamed: we cut the input
//! into top-level values with a small scanner (tracking lines and nesting depth, so a deeply
//! nested or gigantic value is refused before serde_json sees it) and parse each one alone.

use std::io::BufRead;
use std::sync::Arc;

use super::{Limits, RecordReader};
use crate::error::EngineError;
use crate::record::{Data, SourceRecord};

pub struct JsonReader<'a> {
    input: Box<dyn BufRead + 'a>,
    file: Arc<str>,
    limits: Limits,
    line: u64,
    column: u64,
    /// None until the first value: then whether the values are the elements of a top-level array.
    in_array: Option<bool>,
    done: bool,
    buf: Vec<u8>,
}

impl<'a> JsonReader<'a> {
    pub fn new(input: Box<dyn BufRead + 'a>, file: Arc<str>, limits: Limits) -> Self {
        JsonReader { input, file, limits, line: 1, column: 1, in_array: None, done: false, buf: Vec::new() }
    }

    /// Counts lines from `lines_before + 1`: the input continues a file past that many lines.
    pub fn starting_after(mut self, lines_before: u64) -> Self {
        self.line = lines_before + 1;
        self
    }

    fn err(&self, line: u64, column: u64, message: impl Into<String>) -> EngineError {
        EngineError::input(&self.file, Some(line), Some(column), message)
    }

    fn peek(&mut self) -> Result<Option<u8>, EngineError> {
        Ok(self.input.fill_buf()?.first().copied())
    }

    fn bump(&mut self, b: u8) {
        self.input.consume(1);
        if b == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if b & 0xC0 != 0x80 {
            self.column += 1;
        }
    }

    fn skip_ws(&mut self) -> Result<Option<u8>, EngineError> {
        while let Some(b) = self.peek()? {
            if !b.is_ascii_whitespace() {
                return Ok(Some(b));
            }
            self.bump(b);
        }
        Ok(None)
    }

    /// Copies one top-level value into `self.buf`.
    fn scan_value(&mut self) -> Result<(), EngineError> {
        self.buf.clear();
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        let (line, column) = (self.line, self.column);
        loop {
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                if in_string || depth > 0 {
                    return Err(self.err(line, column, "JSON value is not closed before the end of the input"));
                }
                return Ok(());
            }
            let mut used = 0;
            let mut finished = false;
            for &b in chunk {
                if !in_string
                    && depth == 0
                    && !self.buf.is_empty()
                    && matches!(b, b',' | b']' | b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'[' | b'"')
                {
                    finished = true;
                    break;
                }
                used += 1;
                self.buf.push(b);
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            finished = true;
                            break;
                        }
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => {
                            depth += 1;
                            if depth > self.limits.max_depth {
                                return Err(self.err(
                                    line,
                                    column,
                                    format!(
                                        "JSON nested deeper than {} levels (limits.max_depth)",
                                        self.limits.max_depth
                                    ),
                                ));
                            }
                        }
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                finished = true;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            let newlines = memchr::memchr_iter(b'\n', &chunk[..used]).count() as u64;
            self.line += newlines;
            self.input.consume(used);
            if self.buf.len() > self.limits.max_record_bytes {
                return Err(self.err(
                    line,
                    column,
                    format!("JSON value larger than {} bytes (limits.max_record_bytes)", self.limits.max_record_bytes),
                ));
            }
            if finished {
                return Ok(());
            }
        }
    }
}

impl RecordReader for JsonReader<'_> {
    fn next_record(&mut self) -> Result<Option<SourceRecord>, EngineError> {
        if self.done {
            return Ok(None);
        }
        let mut next = self.skip_ws()?;
        if self.in_array.is_none() {
            let array = next == Some(b'[');
            self.in_array = Some(array);
            if array {
                self.bump(b'[');
                next = self.skip_ws()?;
                if next == Some(b']') {
                    self.bump(b']');
                    self.done = true;
                    return Ok(None);
                }
            }
        } else if self.in_array == Some(true) {
            match next {
                Some(b',') => {
                    self.bump(b',');
                    next = self.skip_ws()?;
                }
                Some(b']') => {
                    self.bump(b']');
                    if let Some(b) = self.skip_ws()? {
                        return Err(self.err(
                            self.line,
                            self.column,
                            format!("unexpected `{}` after the closing `]`", b as char),
                        ));
                    }
                    self.done = true;
                    return Ok(None);
                }
                None => return Err(self.err(self.line, self.column, "the JSON array is not closed (missing `]`)")),
                Some(b) => {
                    return Err(self.err(
                        self.line,
                        self.column,
                        format!("expected `,` or `]` between array elements, found `{}`", b as char),
                    ));
                }
            }
        }
        if next.is_none() {
            if self.in_array == Some(true) {
                return Err(self.err(self.line, self.column, "the JSON array is not closed (missing `]`)"));
            }
            self.done = true;
            return Ok(None);
        }
        let (line, column) = (self.line, self.column);
        self.scan_value()?;
        let value: serde_json::Value = serde_json::from_slice(&self.buf).map_err(|e| {
            let (l, c) = (e.line() as u64, e.column() as u64);
            let col = if l <= 1 { column + c.saturating_sub(1) } else { c };
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
            self.err(line + l.saturating_sub(1), col, format!("invalid JSON: {msg}"))
        })?;
        self.column = 1;
        Ok(Some(SourceRecord { data: Data::Tree(value), line, problem: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<(u64, String)>, EngineError> {
        let mut r = JsonReader::new(Box::new(text.as_bytes()), "t.json".into(), Limits::default());
        let mut out = Vec::new();
        while let Some(rec) = r.next_record()? {
            let Data::Tree(v) = rec.data else { unreachable!() };
            out.push((rec.line, v.to_string()));
        }
        Ok(out)
    }

    #[test]
    fn array_and_ndjson() {
        let a = read("[\n {\"a\": \"x]\"},\n {\"a\": [1,2]}, 3\n]\n").unwrap();
        assert_eq!(a, vec![(2, r#"{"a":"x]"}"#.into()), (3, r#"{"a":[1,2]}"#.into()), (3, "3".into())]);
        let n = read("{\"a\":1}\n\n{\"a\":2}\n").unwrap();
        assert_eq!(n, vec![(1, r#"{"a":1}"#.into()), (3, r#"{"a":2}"#.into())]);
    }

    #[test]
    fn errors_have_lines() {
        assert!(read("[{\"a\":1},\n{\"a\":}]").unwrap_err().to_string().starts_with("t.json line 2"));
        assert!(read("[{\"a\":1}").unwrap_err().to_string().contains("not closed"));
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(read(&deep).unwrap_err().to_string().contains("nested deeper"));
    }
}
