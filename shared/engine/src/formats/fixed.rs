//! Fixed-width flat files: field positions come from the context and count characters, not
//! bytes (a UTF-8 export with umlauts has longer lines in bytes); short lines are blank-padded.

use std::sync::Arc;

use serde::Deserialize;

use super::text::{self, LineError, Lines};
use super::{Chunk, ChunkSplitter, RecordReader};
use crate::error::EngineError;
use crate::record::{Data, Header, Row, SourceRecord, Spans};

/// One field: 1-based `start` column and `length` (or inclusive `end`) in characters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedField {
    pub name: String,
    pub start: usize,
    pub length: Option<usize>,
    pub end: Option<usize>,
}

impl FixedField {
    /// 0-based character range.
    pub fn range(&self) -> Result<(usize, usize), String> {
        let len = match (self.length, self.end) {
            (Some(l), None) => l,
            (None, Some(e)) if e >= self.start => e - self.start + 1,
            _ => return Err(format!("field `{}` needs start and either length or end (end ≥ start)", self.name)),
        };
        if self.start == 0 || len == 0 {
            return Err(format!("field `{}`: columns are 1-based and length must be positive", self.name));
        }
        Ok((self.start - 1, self.start - 1 + len))
    }
}

/// Slices one line by character ranges; missing characters are blanks.
pub fn slice_chars(line: &str, ranges: &[(usize, usize)], out: &mut String, spans: &mut Spans) {
    let offsets: Vec<usize> = line.char_indices().map(|(i, _)| i).chain(std::iter::once(line.len())).collect();
    let chars = offsets.len() - 1;
    for &(from, to) in ranges {
        let (a, b) = (from.min(chars), to.min(chars));
        let start = out.len() as u32;
        out.push_str(&line[offsets[a]..offsets[b]]);
        out.extend(std::iter::repeat_n(' ', (to - from) - (b - a)));
        spans.push((start, out.len() as u32));
    }
}

pub struct FixedReader<'a> {
    lines: Lines<'a>,
    file: Arc<str>,
    header: Arc<Header>,
    ranges: Arc<[(usize, usize)]>,
    buf: Vec<u8>,
}

impl<'a> FixedReader<'a> {
    pub fn new(lines: Lines<'a>, file: Arc<str>, fields: &[FixedField]) -> Result<Self, EngineError> {
        let ranges = fields
            .iter()
            .map(FixedField::range)
            .collect::<Result<Arc<[_]>, _>>()
            .map_err(|e| EngineError::input(&file, None, None, format!("input.fields: {e}")))?;
        let header = Arc::new(Header::new(fields.iter().map(|f| f.name.clone()).collect()));
        Ok(FixedReader { lines, file, header, ranges, buf: Vec::new() })
    }

    fn too_long(&self) -> EngineError {
        EngineError::input(&self.file, Some(self.lines.line + 1), None, "line longer than limits.max_record_bytes")
    }
}

/// A line holds no record when it is blank (as `next_record` sees it: UTF-8 and nothing but
/// whitespace).
fn is_blank(line: &[u8]) -> bool {
    std::str::from_utf8(line).is_ok_and(|text| text.trim().is_empty())
}

impl RecordReader for FixedReader<'_> {
    fn splitter(&mut self) -> Option<&mut dyn ChunkSplitter> {
        Some(self)
    }

    fn next_record(&mut self) -> Result<Option<SourceRecord>, EngineError> {
        loop {
            self.buf.clear();
            match self.lines.read_into(&mut self.buf) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(LineError::TooLong) => return Err(self.too_long()),
                Err(LineError::Io(e)) => return Err(e.into()),
            }
            let line = self.lines.line;
            let text = std::str::from_utf8(&self.buf).map_err(|_| text::not_utf8(&self.file, &self.buf, line))?;
            let text = text.trim_end_matches(['\r', '\n']);
            if text.trim().is_empty() {
                continue;
            }
            let (mut out, mut spans) = (String::with_capacity(text.len()), Vec::with_capacity(self.ranges.len()));
            slice_chars(text, &self.ranges, &mut out, &mut spans);
            return Ok(Some(SourceRecord {
                data: Data::Row(Row { header: self.header.clone(), text: out, spans }),
                line,
                problem: None,
            }));
        }
    }
}

impl ChunkSplitter for FixedReader<'_> {
    fn next_chunk(&mut self, max_records: usize, mut bytes: Vec<u8>) -> Result<Option<Chunk>, EngineError> {
        let lines_before = self.lines.line;
        bytes.clear();
        let mut records = 0;
        while records < max_records {
            let start = bytes.len();
            match self.lines.read_into(&mut bytes) {
                Ok(true) => {}
                Ok(false) => break,
                Err(LineError::TooLong) => return Err(self.too_long()),
                Err(LineError::Io(e)) => return Err(e.into()),
            }
            // Blank lines stay in the chunk (line numbers) but are no records.
            records += usize::from(!is_blank(&bytes[start..]));
        }
        if records == 0 {
            return Ok(None);
        }
        Ok(Some(Chunk::Fixed(FixedChunk {
            bytes,
            lines_before,
            records,
            header: self.header.clone(),
            ranges: self.ranges.clone(),
            file: self.file.clone(),
            max_record_bytes: self.lines.max(),
        })))
    }
}

/// Whole lines of a fixed-width file, parsed on a worker.
pub struct FixedChunk {
    pub(super) bytes: Vec<u8>,
    /// Lines of the input before the chunk's first line.
    lines_before: u64,
    /// Records in the chunk (blank lines are none).
    pub records: usize,
    pub(super) header: Arc<Header>,
    ranges: Arc<[(usize, usize)]>,
    file: Arc<str>,
    max_record_bytes: usize,
}

impl FixedChunk {
    /// Parses the chunk's records with `header`, the chunk's header or a copy of it.
    pub fn reader(&self, header: Arc<Header>) -> FixedReader<'_> {
        let mut lines = Lines::new(Box::new(&self.bytes[..]), self.max_record_bytes);
        lines.line = self.lines_before;
        FixedReader { lines, file: self.file.clone(), header, ranges: self.ranges.clone(), buf: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_not_bytes_and_padding() {
        let (mut out, mut spans) = (String::new(), Vec::new());
        slice_chars("Müller  12", &[(0, 8), (8, 10), (10, 14)], &mut out, &mut spans);
        assert_eq!(out, "Müller  12    ");
        assert_eq!(&out[spans[0].0 as usize..spans[0].1 as usize], "Müller  ");
    }
}
