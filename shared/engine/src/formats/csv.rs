//! Delimited text (CSV, TSV, …): our own small parser rather than the csv crate because we need
//! exact source lines for records with quoted newlines and a hard error, with position, for an
//! unterminated quote (the csv crate silently ends the field at EOF).

use std::sync::Arc;

use super::text::{self, LineError, Lines};
use super::{ChunkSplitter, Limits, RecordReader};
use crate::error::EngineError;
use crate::record::{Data, Header, Row, SourceRecord};

#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub quote: u8,
    pub header: bool,
}

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Counts of `delim` outside quotes in each of the sample's first lines.
fn counts_per_line(sample: &str, delim: u8) -> Vec<usize> {
    let mut counts = Vec::new();
    let (mut n, mut quoted) = (0, false);
    for b in sample.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                counts.push(n);
                n = 0;
                if counts.len() == 50 {
                    break;
                }
            }
            _ if b == delim && !quoted => n += 1,
            _ => {}
        }
    }
    if n > 0 {
        counts.push(n);
    }
    counts
}

/// The candidate that splits the most sample lines into the same, non-zero number of fields.
pub fn sniff_delimiter(sample: &str, name_hint: &str) -> u8 {
    if name_hint.ends_with(".tsv") || name_hint.ends_with(".tab") {
        return b'\t';
    }
    let mut best = (b',', 0usize, 0usize);
    for d in CANDIDATES {
        let counts = counts_per_line(sample, d);
        let Some(&first) = counts.first() else { continue };
        if first == 0 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == first).count();
        if (consistent, first) > (best.1, best.2) {
            best = (d, consistent, first);
        }
    }
    best.0
}

fn looks_like_data(cell: &str) -> bool {
    let c = cell.trim();
    c.is_empty() || c.bytes().all(|b| b.is_ascii_digit() || b".,-+ /:".contains(&b))
}

/// A first row is a header when all its cells are non-empty, distinct and not numbers or dates.
pub fn sniff_header(sample: &str, delimiter: u8) -> bool {
    let first_line = sample.lines().next().unwrap_or("");
    let cells: Vec<&str> = first_line.split(delimiter as char).map(|c| c.trim_matches('"')).collect();
    let distinct = cells.iter().collect::<std::collections::HashSet<_>>().len() == cells.len();
    distinct && !cells.iter().any(|c| looks_like_data(c))
}

pub struct CsvReader<'a> {
    lines: Lines<'a>,
    file: Arc<str>,
    opts: CsvOptions,
    header: Option<Arc<Header>>,
    limits: Limits,
    buf: Vec<u8>,
}

impl<'a> CsvReader<'a> {
    pub fn new(lines: Lines<'a>, file: Arc<str>, opts: CsvOptions, limits: Limits) -> Self {
        CsvReader { lines, file, opts, header: None, limits, buf: Vec::new() }
    }

    fn err(&self, line: u64, column: Option<u64>, message: impl Into<String>) -> EngineError {
        EngineError::input(&self.file, Some(line), column, message)
    }

    /// Next non-blank record: (first line, field text, field ends).
    fn parse_record(&mut self) -> Result<Option<(u64, String, Vec<u32>)>, EngineError> {
        let (d, q) = (self.opts.delimiter, self.opts.quote);
        loop {
            self.buf.clear();
            if !self.read_line()? {
                return Ok(None);
            }
            if self.buf.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                continue;
            }
            let first_line = self.lines.line;
            let mut out: Vec<u8> = Vec::with_capacity(self.buf.len());
            let mut ends: Vec<u32> = Vec::with_capacity(self.header.as_ref().map_or(16, |h| h.names.len()));
            let (mut i, mut line_start) = (0usize, 0usize);
            let (mut in_quotes, mut field_start) = (false, true);
            // Line of the opening quote and its byte range on that line; the column is counted
            // only for an error.
            let mut quote_at = (first_line, 0usize, 0usize);
            let mut field_begin = 0usize;
            loop {
                while i < self.buf.len() {
                    if in_quotes {
                        match memchr::memchr(q, &self.buf[i..]) {
                            None => {
                                out.extend_from_slice(&self.buf[i..]);
                                i = self.buf.len();
                            }
                            Some(k) => {
                                out.extend_from_slice(&self.buf[i..i + k]);
                                i += k + 1;
                                if self.buf.get(i) == Some(&q) {
                                    out.push(q);
                                    i += 1;
                                } else {
                                    in_quotes = false;
                                }
                            }
                        }
                        continue;
                    }
                    if field_start && self.buf[i] == q {
                        in_quotes = true;
                        field_start = false;
                        quote_at = (self.lines.line, line_start, i);
                        i += 1;
                        continue;
                    }
                    match memchr::memchr2(d, b'\n', &self.buf[i..]) {
                        Some(k) => {
                            out.extend_from_slice(&self.buf[i..i + k]);
                            i += k;
                            if self.buf[i] == d {
                                self.end_field(&out, &mut ends, &mut field_begin)?;
                                field_start = true;
                                i += 1;
                            } else {
                                // The CR of a CRLF ends the last field; a CR before the field began is data.
                                if out.len() > field_begin && out.last() == Some(&b'\r') {
                                    out.pop();
                                }
                                i = self.buf.len();
                            }
                        }
                        None => {
                            out.extend_from_slice(&self.buf[i..]);
                            i = self.buf.len();
                            field_start = false;
                        }
                    }
                    if !field_start {
                        continue;
                    }
                }
                if !in_quotes {
                    break;
                }
                if out.len() - field_begin > self.limits.max_field_bytes {
                    return Err(self.err(
                        quote_at.0,
                        Some(self.column(quote_at.1, quote_at.2)),
                        format!(
                            "quoted field longer than {} bytes (limits.max_field_bytes); is a closing quote missing?",
                            self.limits.max_field_bytes
                        ),
                    ));
                }
                line_start = self.buf.len();
                if !self.read_line()? {
                    return Err(self.err(
                        quote_at.0,
                        Some(self.column(quote_at.1, quote_at.2)),
                        "unterminated quoted field",
                    ));
                }
            }
            self.end_field(&out, &mut ends, &mut field_begin)?;
            let text = String::from_utf8(out).map_err(|_| text::not_utf8(&self.file, &self.buf, first_line))?;
            return Ok(Some((first_line, text, ends)));
        }
    }

    /// 1-based column (in characters) of `self.buf[end]` on the line starting at `start`.
    fn column(&self, start: usize, end: usize) -> u64 {
        column(&self.buf[start..end])
    }

    fn end_field(&self, out: &[u8], ends: &mut Vec<u32>, begin: &mut usize) -> Result<(), EngineError> {
        if out.len() - *begin > self.limits.max_field_bytes {
            return Err(self.err(
                self.lines.line,
                None,
                format!(
                    "field {} is longer than {} bytes (limits.max_field_bytes)",
                    ends.len() + 1,
                    self.limits.max_field_bytes
                ),
            ));
        }
        if ends.len() >= self.limits.max_fields {
            return Err(self.err(
                self.lines.line,
                None,
                format!("more than {} fields in a record (limits.max_fields)", self.limits.max_fields),
            ));
        }
        ends.push(out.len() as u32);
        *begin = out.len();
        Ok(())
    }

    fn read_line(&mut self) -> Result<bool, EngineError> {
        read_line(&mut self.lines, &mut self.buf, &self.file, self.limits)
    }

    /// Splits off the next `max_records` records as raw bytes, for parsing on another thread.
    /// Only record ends are looked for, so the reading thread stays light; the quoting rules
    /// are [`Self::parse_record`]'s (a quote opens a quoted field only at the field's start).
    fn split_chunk(&mut self, max_records: usize, mut bytes: Vec<u8>) -> Result<Option<CsvChunk>, EngineError> {
        if self.header.is_none() && self.opts.header {
            let Some((_, text, ends)) = self.parse_record()? else { return Ok(None) };
            self.header = Some(Arc::new(Header::new(cells(&text, &ends))));
        }
        let lines_before = self.lines.line;
        bytes.clear();
        let mut records = 0;
        while records < max_records {
            let start = bytes.len();
            if !read_line(&mut self.lines, &mut bytes, &self.file, self.limits)? {
                break;
            }
            // Blank lines stay in the chunk (line numbers) but are no records, as in parse_record.
            if bytes[start..].iter().all(|b| matches!(b, b'\r' | b'\n')) {
                continue;
            }
            self.split_record(&mut bytes, start)?;
            records += 1;
        }
        if records == 0 {
            return Ok(None);
        }
        let mut chunk = CsvChunk {
            bytes,
            lines_before,
            records,
            header: Arc::new(Header::numbered(0)),
            file: self.file.clone(),
            opts: self.opts.clone(),
            limits: self.limits,
        };
        let header = match &self.header {
            Some(h) => h.clone(),
            None => {
                // No header row: the first record's fields are numbered, as in next_record.
                let mut first = chunk.reader(None);
                first.next_record()?;
                first.header.take().expect("the chunk holds a record")
            }
        };
        self.header = Some(header.clone());
        chunk.header = header;
        Ok(Some(chunk))
    }

    /// Reads the rest of the record whose first line is `bytes[start..]`: further lines while
    /// a quoted field is open.
    fn split_record(&mut self, bytes: &mut Vec<u8>, start: usize) -> Result<(), EngineError> {
        let (d, q) = (self.opts.delimiter, self.opts.quote);
        if memchr::memchr(q, &bytes[start..]).is_none() {
            return Ok(());
        }
        let (mut i, mut line_start) = (start, start);
        let (mut in_quotes, mut field_start) = (false, true);
        // Unescaped length of the open quoted field, and where it opened (as in parse_record).
        let mut quoted_len = 0usize;
        let mut quote_at = (self.lines.line, start, start);
        loop {
            while i < bytes.len() {
                if in_quotes {
                    match memchr::memchr(q, &bytes[i..]) {
                        None => {
                            quoted_len += bytes.len() - i;
                            i = bytes.len();
                        }
                        Some(k) => {
                            quoted_len += k;
                            i += k + 1;
                            if bytes.get(i) == Some(&q) {
                                quoted_len += 1;
                                i += 1;
                            } else {
                                in_quotes = false;
                            }
                        }
                    }
                    continue;
                }
                if field_start && bytes[i] == q {
                    (in_quotes, field_start, quoted_len) = (true, false, 0);
                    quote_at = (self.lines.line, line_start, i);
                    i += 1;
                    continue;
                }
                match memchr::memchr2(d, b'\n', &bytes[i..]) {
                    Some(k) if bytes[i + k] == d => {
                        field_start = true;
                        i += k + 1;
                    }
                    _ => {
                        field_start = false;
                        i = bytes.len();
                    }
                }
            }
            if !in_quotes {
                return Ok(());
            }
            if quoted_len > self.limits.max_field_bytes {
                return Err(self.err(
                    quote_at.0,
                    Some(column(&bytes[quote_at.1..quote_at.2])),
                    format!(
                        "quoted field longer than {} bytes (limits.max_field_bytes); is a closing quote missing?",
                        self.limits.max_field_bytes
                    ),
                ));
            }
            line_start = bytes.len();
            // At the end of the input the parser reports the unterminated field, with its position.
            if !read_line(&mut self.lines, bytes, &self.file, self.limits)? {
                return Ok(());
            }
        }
    }
}

fn read_line(lines: &mut Lines<'_>, buf: &mut Vec<u8>, file: &str, limits: Limits) -> Result<bool, EngineError> {
    match lines.read_into(buf) {
        Ok(more) => Ok(more),
        Err(LineError::TooLong) => Err(EngineError::input(
            file,
            Some(lines.line + 1),
            None,
            format!("line longer than {} bytes (limits.max_field_bytes)", limits.max_field_bytes),
        )),
        Err(LineError::Io(e)) => Err(EngineError::Io(e)),
    }
}

/// 1-based column (in characters) after `before`, the start of a line.
fn column(before: &[u8]) -> u64 {
    String::from_utf8_lossy(before).chars().count() as u64 + 1
}

fn cells(text: &str, ends: &[u32]) -> Vec<String> {
    (0..ends.len())
        .map(|i| {
            let start = if i == 0 { 0 } else { ends[i - 1] as usize };
            text[start..ends[i] as usize].to_owned()
        })
        .collect()
}

/// Whole records split off by [`CsvReader::next_chunk`], not parsed yet.
pub struct CsvChunk {
    bytes: Vec<u8>,
    /// Lines of the input before the chunk's first line.
    lines_before: u64,
    /// Records in the chunk (blank lines are none).
    pub records: usize,
    header: Arc<Header>,
    file: Arc<str>,
    opts: CsvOptions,
    limits: Limits,
}

impl CsvChunk {
    pub fn header(&self) -> &Arc<Header> {
        &self.header
    }

    /// The chunk's buffer, for the next chunk.
    pub fn into_buffer(self) -> Vec<u8> {
        self.bytes
    }

    /// Parses the chunk's records. `header` is the chunk's header or a copy of it: each
    /// thread's own copy keeps rows' reference counting off a shared cache line.
    pub fn reader(&self, header: Option<Arc<Header>>) -> CsvReader<'_> {
        let mut lines = Lines::new(Box::new(&self.bytes[..]), self.limits.max_record_bytes);
        lines.line = self.lines_before;
        CsvReader {
            lines,
            file: self.file.clone(),
            opts: self.opts.clone(),
            header,
            limits: self.limits,
            buf: Vec::new(),
        }
    }
}

impl ChunkSplitter for CsvReader<'_> {
    fn next_chunk(&mut self, max_records: usize, buffer: Vec<u8>) -> Result<Option<CsvChunk>, EngineError> {
        self.split_chunk(max_records, buffer)
    }
}

impl RecordReader for CsvReader<'_> {
    fn splitter(&mut self) -> Option<&mut dyn ChunkSplitter> {
        Some(self)
    }

    fn next_record(&mut self) -> Result<Option<SourceRecord>, EngineError> {
        let Some((line, text, ends)) = self.parse_record()? else { return Ok(None) };
        let header = match &self.header {
            Some(h) => h.clone(),
            None => {
                let cells = cells(&text, &ends);
                if self.opts.header {
                    self.header = Some(Arc::new(Header::new(cells)));
                    return self.next_record();
                }
                let h = Arc::new(Header::numbered(cells.len()));
                self.header = Some(h.clone());
                h
            }
        };
        let problem = (ends.len() != header.names.len())
            .then(|| format!("row has {} fields, the header has {}", ends.len(), header.names.len()));
        Ok(Some(SourceRecord { data: Data::Row(Row { header, text, ends }), line, problem }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::text::decode;

    /// Line, fields and problem of a record.
    type Row = (u64, Vec<String>, Option<String>);

    fn read(input: &str, header: bool) -> Result<Vec<Row>, EngineError> {
        let mut bytes = input.as_bytes();
        let d = decode("in.csv", &mut bytes, None).unwrap();
        let delimiter = sniff_delimiter(&d.sample, "x.csv");
        let opts = CsvOptions { delimiter, quote: b'"', header };
        let mut r = CsvReader::new(Lines::new(d.reader, 1 << 20), "t.csv".into(), opts, Limits::default());
        let mut out = Vec::new();
        while let Some(rec) = r.next_record()? {
            let Data::Row(row) = rec.data else { unreachable!() };
            out.push((rec.line, (0..row.len()).map(|i| row.get(i).unwrap().to_owned()).collect(), rec.problem));
        }
        Ok(out)
    }

    #[test]
    fn quoted_newlines_keep_first_line() {
        let rows = read("a;b\r\n1;\"x\r\ny\"\r\n\r\n2;\"q\"\"q\"\r\n3;plain \"mid\" quote\n", true).unwrap();
        assert_eq!(rows[0], (2, vec!["1".into(), "x\r\ny".into()], None));
        assert_eq!(rows[1], (5, vec!["2".into(), "q\"q".into()], None));
        assert_eq!(rows[2].1[1], "plain \"mid\" quote");
    }

    #[test]
    fn unterminated_quote_has_position() {
        let e = read("a,b\n1,2\n3,\"open\n4,5\n", true).unwrap_err();
        assert_eq!(e.to_string(), "t.csv line 3, column 3: unterminated quoted field");
    }

    #[test]
    fn a_cr_ending_an_earlier_field_stays_data() {
        let rows = read("a;b\n\r;\n", true).unwrap();
        assert_eq!(rows[0].1, ["\r", ""]);
    }

    #[test]
    fn ragged_rows_are_problems() {
        let rows = read("a,b,c\n1,2\n", true).unwrap();
        assert_eq!(rows[0].2.as_deref(), Some("row has 2 fields, the header has 3"));
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff_delimiter("a;b;c\n1;2,5;3\n", "x"), b';');
        assert_eq!(sniff_delimiter("a\tb\n1\t2\n", "x"), b'\t');
        assert!(sniff_header("ORDER_NO;POS\n1;2\n", b';'));
        assert!(!sniff_header("4500;10\n1;2\n", b';'));
    }
}
