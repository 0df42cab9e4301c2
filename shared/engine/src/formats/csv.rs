//! Delimited text (CSV, TSV, …): our own small parser rather than the csv crate because we need
//! exact source lines for records with quoted newlines and a hard error, with position, for an
//! unterminated quote (the csv crate silently ends the field at EOF).

use std::sync::Arc;

use super::text::{self, LineError, Lines};
use super::{Chunk, ChunkSplitter, InputOptions, Limits, RecordReader, single_byte};
use crate::error::EngineError;
use crate::record::{Data, Header, Row, SourceRecord, Spans};

#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub quote: u8,
    pub header: bool,
    /// A list drawn as a table (SAP ALV list exports): each line starts and ends with the
    /// delimiter, cells are blank-padded, and rule lines (`-----`) separate the parts.
    pub framed: bool,
}

/// A line drawn to separate parts of a framed table: only rule characters, three dashes at least.
fn is_rule(line: &[u8]) -> bool {
    let drawn = line.iter().filter(|b| matches!(b, b'-' | b'=' | b'_')).count();
    drawn >= 3 && line.iter().all(|b| matches!(b, b'-' | b'=' | b'_' | b'+' | b'|' | b' ' | b'\t' | b'\r' | b'\n'))
}

const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Lines looked at for the layout, and the most title lines above a table that are skipped.
const SAMPLE_LINES: usize = 50;
const MAX_TITLE_LINES: usize = 10;

/// How a delimited file is laid out: declared in `input:`, or detected from its first lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    pub delimiter: u8,
    pub header: bool,
    /// Lines above the header (or the first record): an Excel `sep=` line, report title lines.
    pub skip_lines: usize,
    /// Lines framed by the delimiter (see [`CsvOptions::framed`]).
    pub framed: bool,
    /// What told each setting (`declared`, `detected`, `sep= line`, `file name`).
    pub decided_by: Vec<(&'static str, &'static str)>,
}

/// The sample's lines (at most [`SAMPLE_LINES`]), each with its count of `delim` outside quotes;
/// a quoted line break continues the line's record, so its count goes on.
fn counts_per_line(lines: &[&str], delim: u8) -> Vec<usize> {
    let mut quoted = false;
    lines
        .iter()
        .map(|line| {
            let mut n = 0;
            for b in line.bytes() {
                match b {
                    b'"' => quoted = !quoted,
                    _ if b == delim && !quoted => n += 1,
                    _ => {}
                }
            }
            n
        })
        .collect()
}

/// Where the table starts for `delim`: (line index, lines that have its field count, its
/// count). The first line, when at least half the lines split like it; else the first line
/// below up to [`MAX_TITLE_LINES`] title lines (each with fewer delimiters) from which nearly
/// all lines split alike.
fn table_start(lines: &[&str], delim: u8) -> Option<(usize, usize, usize)> {
    let counts = counts_per_line(lines, delim);
    let rows: Vec<(usize, usize)> = counts
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| !lines[i].trim().is_empty() && !is_rule(lines[i].as_bytes()))
        .collect();
    for s in 0..rows.len().min(MAX_TITLE_LINES + 1) {
        let (line, count) = rows[s];
        if count == 0 || rows[..s].iter().any(|&(_, c)| c >= count) {
            continue;
        }
        let rest = &rows[s..];
        let alike = rest.iter().filter(|&&(_, c)| c == count).count();
        let needed = if s == 0 { rest.len().div_ceil(2) } else { (rest.len() * 4).div_ceil(5).max(2) };
        if alike >= needed {
            return Some((line, alike, count));
        }
    }
    None
}

/// The line less a leading and a trailing delimiter.
fn unframe(line: &str, delimiter: u8) -> &str {
    let d = delimiter as char;
    let line = line.strip_prefix(d).unwrap_or(line);
    line.strip_suffix(d).unwrap_or(line)
}

fn split_cells(line: &str, delimiter: u8) -> Vec<&str> {
    line.split(delimiter as char).map(|c| c.trim().trim_matches('"').trim()).collect()
}

fn looks_like_data(cell: &str) -> bool {
    let c = cell.trim();
    !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit() || b".,-+ /:".contains(&b))
}

/// The first row is a header when none of its cells is a number or a date and either a later
/// row has a number or date under one of its names, or its names are all present and distinct
/// (a table of text only). Empty and repeated names are renamed (see `Header::new`).
fn sniff_header(first: &str, later: &[&str], delimiter: u8) -> bool {
    let cells = split_cells(first, delimiter);
    if cells.iter().all(|c| c.is_empty()) || cells.iter().any(|c| looks_like_data(c)) {
        return false;
    }
    let data_below = later.iter().take(SAMPLE_LINES).any(|line| {
        split_cells(line, delimiter).iter().zip(&cells).any(|(value, name)| !name.is_empty() && looks_like_data(value))
    });
    let distinct = cells.iter().collect::<std::collections::HashSet<_>>().len() == cells.len();
    data_below || (distinct && cells.iter().all(|c| !c.is_empty()))
}

/// Decides the layout from the options and the sample's first lines.
pub fn sniff(sample: &str, name_hint: &str, opts: &InputOptions) -> Result<Dialect, String> {
    let mut lines: Vec<&str> = sample.split('\n').map(|l| l.trim_end_matches('\r')).take(SAMPLE_LINES).collect();
    // A sample cut inside a line: its last line is partial.
    if lines.len() == SAMPLE_LINES || !sample.ends_with('\n') {
        lines.pop();
    }
    let mut decided_by = Vec::new();
    let sep_line = lines
        .first()
        .and_then(|l| l.trim().strip_prefix("sep="))
        .filter(|d| d.len() == 1 && d.is_ascii())
        .map(|d| d.as_bytes()[0]);
    let declared_skip = opts.header_row.map(|row| row.saturating_sub(1)).or(opts.skip_lines);
    let body = |skip: usize| lines.get(skip.min(lines.len())..).unwrap_or_default();

    let (delimiter, detected_start) = match (opts.delimiter.as_deref().and_then(single_byte), sep_line) {
        (Some(d), _) => {
            decided_by.push(("delimiter", "declared"));
            (d, None)
        }
        (None, Some(d)) => {
            decided_by.push(("delimiter", "sep= line"));
            (d, None)
        }
        (None, None) if name_hint.ends_with(".tsv") || name_hint.ends_with(".tab") => {
            decided_by.push(("delimiter", "file name"));
            (b'\t', None)
        }
        (None, None) => {
            decided_by.push(("delimiter", "detected"));
            let lines = body(declared_skip.unwrap_or(0));
            let best = CANDIDATES
                .iter()
                .filter_map(|&d| table_start(lines, d).map(|(start, alike, count)| (d, start, alike, count)))
                // Most lines alike, then most fields, then the fewest lines skipped.
                .max_by_key(|&(_, start, alike, count)| (alike, count, std::cmp::Reverse(start)));
            match best {
                Some((d, start, _, _)) => (d, Some(start)),
                None => {
                    let non_blank = lines.iter().filter(|l| !l.trim().is_empty()).count();
                    let any_delimiter = lines.iter().any(|l| l.bytes().any(|b| CANDIDATES.contains(&b)));
                    if non_blank >= 5 && any_delimiter {
                        return Err(format!(
                            "cannot tell the layout: no delimiter among , ; tab | splits most of the first {non_blank} \
                             lines alike; declare input.delimiter (and input.skip_lines for lines above the table)"
                        ));
                    }
                    (b',', None)
                }
            }
        }
    };
    let skip_lines = match (declared_skip, sep_line) {
        (Some(n), _) => {
            decided_by.push(("skip_lines", "declared"));
            n
        }
        (None, Some(_)) => {
            decided_by.push(("skip_lines", "sep= line"));
            1
        }
        (None, None) => {
            decided_by.push(("skip_lines", "detected"));
            detected_start.unwrap_or(0)
        }
    };
    let header = match (opts.header, opts.header_row) {
        (Some(h), _) => {
            decided_by.push(("header", "declared"));
            h
        }
        (None, Some(_)) => {
            decided_by.push(("header", "declared"));
            true
        }
        (None, None) => {
            decided_by.push(("header", "detected"));
            let rows: Vec<&str> = body(skip_lines)
                .iter()
                .copied()
                .filter(|l| !l.trim().is_empty() && !is_rule(l.as_bytes()))
                .map(|l| unframe(l.trim(), delimiter))
                .collect();
            rows.split_first().is_some_and(|(first, later)| sniff_header(first, later, delimiter))
        }
    };
    let framed = {
        let rows: Vec<&str> =
            body(skip_lines).iter().map(|l| l.trim()).filter(|l| !l.is_empty() && !is_rule(l.as_bytes())).collect();
        let d = delimiter as char;
        let framed_rows = rows.iter().filter(|l| l.len() > 1 && l.starts_with(d) && l.ends_with(d)).count();
        delimiter == b'|' && !rows.is_empty() && framed_rows * 5 >= rows.len() * 4
    };
    if framed {
        decided_by.push(("frame", "detected"));
    }
    Ok(Dialect { delimiter, header, skip_lines, framed, decided_by })
}

pub struct CsvReader<'a> {
    lines: Lines<'a>,
    file: Arc<str>,
    opts: CsvOptions,
    header: Option<Arc<Header>>,
    limits: Limits,
    buf: Vec<u8>,
    /// The unescaped texts of the record's fields that are not one piece of it.
    extra: Vec<u8>,
    /// Rows the pipeline is done with: their buffers hold the next ones.
    spare: Vec<Row>,
    /// The header of the spare row whose buffers the record being read took: the row takes it
    /// over, which spares its reference count a change per row.
    spare_header: Option<Arc<Header>>,
}

/// Records whose buffers a reader keeps: a batch of them.
const SPARE_RECORDS: usize = 1024;

impl<'a> CsvReader<'a> {
    pub fn new(lines: Lines<'a>, file: Arc<str>, opts: CsvOptions, limits: Limits) -> Self {
        CsvReader {
            lines,
            file,
            opts,
            header: None,
            limits,
            buf: Vec::new(),
            extra: Vec::new(),
            spare: Vec::new(),
            spare_header: None,
        }
    }

    fn err(&self, line: u64, column: Option<u64>, message: impl Into<String>) -> EngineError {
        EngineError::input(&self.file, Some(line), column, message)
    }

    /// Next non-blank record: (first line, text, field spans). The text is the record as read,
    /// where a field that is one piece of it (unquoted, or quoted without escapes) is a span,
    /// followed by the unescaped texts of the other fields: one copy of the record, none per
    /// field.
    fn parse_record(&mut self) -> Result<Option<(u64, String, Spans)>, EngineError> {
        let (d, q) = (self.opts.delimiter, self.opts.quote);
        loop {
            self.buf.clear();
            if !self.read_line()? {
                return Ok(None);
            }
            if self.buf.iter().all(|b| matches!(b, b'\r' | b'\n')) || (self.opts.framed && is_rule(&self.buf)) {
                continue;
            }
            if self.opts.framed {
                unframe_line(&mut self.buf, self.opts.delimiter);
            }
            let first_line = self.lines.line;
            let (mut text, mut spans) = match self.spare.pop() {
                Some(row) => {
                    self.spare_header = Some(row.header);
                    (row.text, row.spans)
                }
                None => (String::new(), Vec::with_capacity(self.header.as_ref().map_or(16, |h| h.names.len()))),
            };
            text.clear();
            spans.clear();
            // Fields whose span is in `extra` (rare: escaped quotes, text after a closing quote).
            let mut in_extra: Vec<usize> = Vec::new();
            let mut extra = std::mem::take(&mut self.extra);
            extra.clear();
            let (mut i, mut line_start) = (0usize, 0usize);
            loop {
                if self.buf.get(i) != Some(&q) {
                    // An unquoted field: up to the delimiter or the end of the line. The CR of a
                    // CRLF ends the last field; a CR ending an earlier field is data.
                    let (end, last) = match find2(d, b'\n', &self.buf[i..]) {
                        Some(k) if self.buf[i + k] == d => (i + k, false),
                        Some(k) if k > 0 && self.buf[i + k - 1] == b'\r' => (i + k - 1, true),
                        Some(k) => (i + k, true),
                        None => (self.buf.len(), true),
                    };
                    self.end_field(&mut spans, (i, end), end - i)?;
                    if last {
                        break;
                    }
                    i = end + 1;
                    continue;
                }
                // A quoted field. Line of the opening quote and its byte range on that line; the
                // column is counted only for an error.
                let quote_at = (self.lines.line, line_start, i);
                let content = i + 1;
                // Where the field's text in `extra` starts, once it has an escaped quote.
                let mut unescaped: Option<usize> = None;
                let mut piece = content;
                i = content;
                let close = loop {
                    match memchr::memchr(q, &self.buf[i..]) {
                        Some(k) if self.buf.get(i + k + 1) == Some(&q) => {
                            unescaped.get_or_insert(extra.len());
                            extra.extend_from_slice(&self.buf[piece..=i + k]);
                            i += k + 2;
                            piece = i;
                        }
                        Some(k) => break i + k,
                        None => {
                            let len = unescaped.map_or(0, |u| extra.len() - u) + self.buf.len() - piece;
                            if len > self.limits.max_field_bytes {
                                return Err(self.err(
                                    quote_at.0,
                                    Some(self.column(quote_at.1, quote_at.2)),
                                    format!(
                                        "quoted field longer than {} bytes (limits.max_field_bytes); is a closing \
                                         quote missing?",
                                        self.limits.max_field_bytes
                                    ),
                                ));
                            }
                            line_start = self.buf.len();
                            i = line_start;
                            if !self.read_line()? {
                                return Err(self.err(
                                    quote_at.0,
                                    Some(self.column(quote_at.1, quote_at.2)),
                                    "unterminated quoted field",
                                ));
                            }
                        }
                    }
                };
                // Text after the closing quote, up to the delimiter or the line's end, is data.
                let after = close + 1;
                let (end, last) = match find2(d, b'\n', &self.buf[after..]) {
                    Some(k) if self.buf[after + k] == d => (after + k, false),
                    Some(k) if k > 0 && self.buf[after + k - 1] == b'\r' => (after + k - 1, true),
                    Some(k) => (after + k, true),
                    None => (self.buf.len(), true),
                };
                if unescaped.is_none() && end == after {
                    self.end_field(&mut spans, (piece, close), close - piece)?;
                } else {
                    let start = *unescaped.get_or_insert(extra.len());
                    extra.extend_from_slice(&self.buf[piece..close]);
                    extra.extend_from_slice(&self.buf[after..end]);
                    in_extra.push(spans.len());
                    self.end_field(&mut spans, (start, extra.len()), extra.len() - start)?;
                }
                if last {
                    break;
                }
                i = end + 1;
            }
            let (true, Ok(unescaped)) =
                (simdutf8::basic::from_utf8(&self.buf).is_ok(), simdutf8::basic::from_utf8(&extra))
            else {
                return Err(text::not_utf8(&self.file, &self.buf, first_line));
            };
            let raw = self.buf.len();
            // The line becomes the record's text and the spare text the next line's buffer: the
            // record is not copied.
            let line = std::mem::replace(&mut self.buf, text.into_bytes());
            // SAFETY: `line` was checked as UTF-8 just above.
            text = unsafe { String::from_utf8_unchecked(line) };
            text.push_str(unescaped);
            self.extra = extra;
            for f in in_extra {
                let (start, end) = spans[f];
                spans[f] = (start + raw as u32, end + raw as u32);
            }
            if self.opts.framed {
                trim_cells(&text, &mut spans);
            }
            return Ok(Some((first_line, text, spans)));
        }
    }

    /// 1-based column (in characters) of `self.buf[end]` on the line starting at `start`.
    fn column(&self, start: usize, end: usize) -> u64 {
        column(&self.buf[start..end])
    }

    /// Adds a field (its span and the length of its text) to the record, within the limits.
    fn end_field(&self, spans: &mut Spans, (start, end): (usize, usize), len: usize) -> Result<(), EngineError> {
        if len > self.limits.max_field_bytes || spans.len() >= self.limits.max_fields {
            return Err(self.too_much(spans.len(), len));
        }
        spans.push((start as u32, end as u32));
        Ok(())
    }

    #[cold]
    fn too_much(&self, fields: usize, len: usize) -> EngineError {
        if len > self.limits.max_field_bytes {
            let max = self.limits.max_field_bytes;
            return self.err(
                self.lines.line,
                None,
                format!("field {} is longer than {max} bytes (limits.max_field_bytes)", fields + 1),
            );
        }
        self.err(
            self.lines.line,
            None,
            format!("more than {} fields in a record (limits.max_fields)", self.limits.max_fields),
        )
    }

    fn read_line(&mut self) -> Result<bool, EngineError> {
        read_line(&mut self.lines, &mut self.buf, &self.file, self.limits)
    }

    /// Splits off the next `max_records` records as raw bytes, for parsing on another thread.
    /// Only record ends are looked for, so the reading thread stays light; the quoting rules
    /// are [`Self::parse_record`]'s (a quote opens a quoted field only at the field's start).
    fn split_chunk(&mut self, max_records: usize, mut bytes: Vec<u8>) -> Result<Option<CsvChunk>, EngineError> {
        if self.header.is_none() && self.opts.header {
            let Some((_, text, spans)) = self.parse_record()? else { return Ok(None) };
            self.header = Some(Arc::new(Header::new(cells(&text, &spans))));
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
            if bytes[start..].iter().all(|b| matches!(b, b'\r' | b'\n'))
                || (self.opts.framed && is_rule(&bytes[start..]))
            {
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
            Some(h) => match self.spare_header.take() {
                Some(spare) if Arc::ptr_eq(&spare, h) => spare,
                _ => h.clone(),
            },
            None => {
                // No header row: the first record's fields are numbered, as in next_record.
                let mut first = chunk.reader(None, Vec::new());
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
        let (mut i, mut line_start) = (start, start);
        let mut in_quotes = false;
        // Unescaped length of the open quoted field, and where it opened (as in parse_record).
        let mut quoted_len = 0usize;
        let mut quote_at = (self.lines.line, start, start);
        loop {
            // Only quotes matter: inside a quoted field the next one closes it (or is half of an
            // escaped one); outside, one opens a quoted field only at a field's start (the
            // record's, or after a delimiter), and the fields before it are passed over whole.
            while let Some(k) = memchr::memchr(q, &bytes[i..]) {
                let at = i + k;
                i = at + 1;
                if in_quotes {
                    quoted_len += k;
                    if bytes.get(i) == Some(&q) {
                        quoted_len += 1;
                        i += 1;
                    } else {
                        in_quotes = false;
                    }
                } else if at == start || bytes[at - 1] == d {
                    (in_quotes, quoted_len) = (true, 0);
                    quote_at = (self.lines.line, line_start, at);
                }
            }
            if !in_quotes {
                return Ok(());
            }
            quoted_len += bytes.len() - i;
            i = bytes.len();
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
            format!("line longer than {} bytes (limits.max_record_bytes)", limits.max_record_bytes),
        )),
        Err(LineError::Io(e)) => Err(EngineError::Io(e)),
    }
}

/// `memchr2` for the short fields of a record: eight bytes at a time, without the setup a vector
/// search takes on every call.
fn find2(a: u8, b: u8, bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    // The high bit of each zero byte of `w` (exact: no carry crosses a byte).
    let zeros = |w: u64| !(((w & LOW) + LOW) | w | LOW);
    let (a8, b8) = (ONES * u64::from(a), ONES * u64::from(b));
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = zeros(w ^ a8) | zeros(w ^ b8);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    chunks.remainder().iter().position(|&c| c == a || c == b).map(|i| at + i)
}

/// 1-based column (in characters) after `before`, the start of a line.
fn column(before: &[u8]) -> u64 {
    String::from_utf8_lossy(before).chars().count() as u64 + 1
}

/// Takes the frame off a line in place: its leading delimiter (after blanks) and its trailing one
/// (before blanks and the line break).
fn unframe_line(buf: &mut Vec<u8>, delimiter: u8) {
    let body_end = buf.iter().rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n')).map_or(0, |i| i + 1);
    if body_end > 0 && buf[body_end - 1] == delimiter {
        buf.remove(body_end - 1);
    }
    if let Some(first) = buf.iter().position(|b| !matches!(b, b' ' | b'\t'))
        && buf[first] == delimiter
    {
        buf.drain(..=first);
    }
}

/// The cells less their blank padding.
fn trim_cells(text: &str, spans: &mut Spans) {
    for (start, end) in spans.iter_mut() {
        let cell = &text[*start as usize..*end as usize];
        let trimmed = cell.trim();
        *start += (cell.len() - cell.trim_start().len()) as u32;
        *end = *start + trimmed.len() as u32;
    }
}

fn cells(text: &str, spans: &Spans) -> Vec<String> {
    spans.iter().map(|&(start, end)| text[start as usize..end as usize].to_owned()).collect()
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
    /// thread's own copy keeps rows' reference counting off a shared cache line. The records
    /// are read into the buffers of the `spare` rows first (an earlier chunk's, see
    /// [`CsvReader::into_spare`]).
    pub fn reader(&self, header: Option<Arc<Header>>, spare: Vec<Row>) -> CsvReader<'_> {
        let mut lines = Lines::new(Box::new(&self.bytes[..]), self.limits.max_record_bytes);
        lines.line = self.lines_before;
        CsvReader {
            lines,
            file: self.file.clone(),
            opts: self.opts.clone(),
            header,
            limits: self.limits,
            buf: Vec::new(),
            extra: Vec::new(),
            spare,
            spare_header: None,
        }
    }
}

impl CsvReader<'_> {
    /// The rows given back to the reader ([`RecordReader::recycle`]), for the next chunk's
    /// reader: a chunk's records then take no fresh buffers.
    pub fn into_spare(self) -> Vec<Row> {
        self.spare
    }
}

impl ChunkSplitter for CsvReader<'_> {
    fn next_chunk(&mut self, max_records: usize, buffer: Vec<u8>) -> Result<Option<Chunk>, EngineError> {
        Ok(self.split_chunk(max_records, buffer)?.map(Chunk::Csv))
    }
}

impl RecordReader for CsvReader<'_> {
    fn splitter(&mut self) -> Option<&mut dyn ChunkSplitter> {
        Some(self)
    }

    fn recycle(&mut self, record: SourceRecord) {
        if let Data::Row(row) = record.data
            && self.spare.len() < SPARE_RECORDS
        {
            self.spare.push(row);
        }
    }

    fn next_record(&mut self) -> Result<Option<SourceRecord>, EngineError> {
        let Some((line, text, spans)) = self.parse_record()? else { return Ok(None) };
        let header = match &self.header {
            Some(h) => match self.spare_header.take() {
                Some(spare) if Arc::ptr_eq(&spare, h) => spare,
                _ => h.clone(),
            },
            None => {
                let cells = cells(&text, &spans);
                if self.opts.header {
                    self.header = Some(Arc::new(Header::new(cells)));
                    return self.next_record();
                }
                let h = Arc::new(Header::numbered(cells.len()));
                self.header = Some(h.clone());
                h
            }
        };
        let problem = (spans.len() != header.names.len())
            .then(|| format!("row has {} fields, the header has {}", spans.len(), header.names.len()));
        Ok(Some(SourceRecord { data: Data::Row(Row { header, text, spans }), line, problem }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::text::decode;

    /// Line, fields and problem of a record.
    type Row = (u64, Vec<String>, Option<String>);

    fn read(input: &str, header: bool) -> Result<Vec<Row>, EngineError> {
        let d = decode("in.csv", Box::new(input.as_bytes()), None).unwrap();
        let delimiter = sniff(&d.sample, "x.csv", &InputOptions::default()).unwrap().delimiter;
        let opts = CsvOptions { delimiter, quote: b'"', header, framed: false };
        let mut r = CsvReader::new(Lines::new(d.reader, 1 << 20), "t.csv".into(), opts, Limits::default());
        let mut out = Vec::new();
        while let Some(rec) = r.next_record()? {
            let Data::Row(row) = rec.data else { unreachable!() };
            out.push((rec.line, (0..row.len()).map(|i| row.get(i).unwrap().to_owned()).collect(), rec.problem));
        }
        Ok(out)
    }

    #[test]
    fn recycled_records_read_like_fresh_ones() {
        let input = "a;b;c\n1;\"x\"\"y\";long text here\n2;;\n3;\"q\"tail;z\n4;\"multi\nline\";w\n";
        let d = decode("in.csv", Box::new(input.as_bytes()), None).unwrap();
        let opts = CsvOptions { delimiter: b';', quote: b'"', header: true, framed: false };
        let mut r = CsvReader::new(Lines::new(d.reader, 1 << 20), "t.csv".into(), opts, Limits::default());
        let mut rows = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            let Data::Row(row) = &rec.data else { unreachable!() };
            rows.push((rec.line, (0..row.len()).map(|i| row.get(i).unwrap().to_owned()).collect::<Vec<_>>()));
            r.recycle(rec);
        }
        let fresh: Vec<_> = read(input, true).unwrap().into_iter().map(|(line, cells, _)| (line, cells)).collect();
        assert_eq!(rows, fresh);
        assert_eq!(rows[0].1, ["1", "x\"y", "long text here"]);
    }

    #[test]
    fn a_chunk_read_into_an_earlier_chunks_rows_reads_like_a_fresh_one() {
        let input = "a;b\n1;\"x\"\"y\"\n2;long text here\n3;\"multi\nline\"\n4;\n5;z\n";
        let d = decode("in.csv", Box::new(input.as_bytes()), None).unwrap();
        let opts = CsvOptions { delimiter: b';', quote: b'"', header: true, framed: false };
        let mut splitter = CsvReader::new(Lines::new(d.reader, 1 << 20), "t.csv".into(), opts, Limits::default());
        let (first, second) = (
            splitter.split_chunk(3, Vec::new()).unwrap().unwrap(),
            splitter.split_chunk(3, Vec::new()).unwrap().unwrap(),
        );
        let records = |reader: &mut CsvReader<'_>| {
            let mut rows = Vec::new();
            while let Some(rec) = reader.next_record().unwrap() {
                let Data::Row(row) = &rec.data else { unreachable!() };
                rows.push((rec.line, (0..row.len()).map(|i| row.get(i).unwrap().to_owned()).collect::<Vec<_>>()));
                reader.recycle(rec);
            }
            rows
        };
        let mut reader = first.reader(Some(first.header().clone()), Vec::new());
        assert_eq!(records(&mut reader).len(), 3);
        let spare = reader.into_spare();
        assert_eq!(spare.len(), 1, "each record's buffers were taken again by the next");
        let mut reused = second.reader(Some(second.header().clone()), spare);
        let fresh = records(&mut second.reader(Some(second.header().clone()), Vec::new()));
        assert_eq!(records(&mut reused), fresh);
        assert_eq!(fresh, [(6, vec!["4".to_owned(), String::new()]), (7, vec!["5".to_owned(), "z".to_owned()])]);
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
    fn a_quoted_cr_before_the_line_break_stays_data() {
        let rows = read("a;b\n\"x\n\r\";y\r\n\"z\r\"\n", true).unwrap();
        assert_eq!(rows[0].1, ["x\n\r", "y"]);
        assert_eq!(rows[1].1, ["z\r"]);
    }

    #[test]
    fn find2_finds_the_first_of_two_bytes() {
        for len in 0..20 {
            for a_at in 0..=len {
                for b_at in 0..=len {
                    let mut bytes = vec![b'x'; len];
                    for (at, byte) in [(a_at, b';'), (b_at, 0xBB)] {
                        if at < len {
                            bytes[at] = byte;
                        }
                    }
                    assert_eq!(find2(b';', 0xBB, &bytes), memchr::memchr2(b';', 0xBB, &bytes), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn ragged_rows_are_problems() {
        let rows = read("a,b,c\n1,2\n", true).unwrap();
        assert_eq!(rows[0].2.as_deref(), Some("row has 2 fields, the header has 3"));
    }

    fn dialect(sample: &str) -> (char, bool, usize) {
        let d = sniff(sample, "x.csv", &InputOptions::default()).unwrap();
        (d.delimiter as char, d.header, d.skip_lines)
    }

    #[test]
    fn sniffing() {
        assert_eq!(dialect("a;b;c\n1;2,5;3\n"), (';', true, 0));
        assert_eq!(dialect("a\tb\n1\t2\n"), ('\t', true, 0));
        assert_eq!(dialect("ORDER_NO;POS\n1;2\n"), (';', true, 0));
        assert_eq!(dialect("4500;10\n1;2\n"), (';', false, 0));
    }

    #[test]
    fn headers_with_empty_or_repeated_names_are_headers() {
        assert_eq!(dialect("id;name;;\n1;Anna;;\n2;Bert;;\n"), (';', true, 0));
        assert_eq!(dialect("id;name;name\n1;Anna;Berlin\n"), (';', true, 0));
        assert_eq!(dialect("name;city\nAnna;Berlin\n"), (';', true, 0));
    }

    #[test]
    fn an_excel_sep_line_names_the_delimiter_and_is_skipped() {
        let d = sniff("sep=;\nid;name\n1;Anna\n", "x.csv", &InputOptions::default()).unwrap();
        assert_eq!((d.delimiter, d.header, d.skip_lines), (b';', true, 1));
        assert!(d.decided_by.contains(&("delimiter", "sep= line")));
    }

    #[test]
    fn title_lines_above_the_table_are_skipped() {
        let report = "Sales report\nGenerated 2026-01-01, by SAP\n\nid;name;qty\n1;Anna;3\n2;Bert;4\n3;Carl;5\n";
        assert_eq!(dialect(report), (';', true, 3));
        let declared = InputOptions { header_row: Some(2), ..Default::default() };
        let d = sniff("Title\nid,name\n1,a\n", "x.csv", &declared).unwrap();
        assert_eq!((d.delimiter, d.header, d.skip_lines), (b',', true, 1));
    }

    #[test]
    fn a_layout_that_cannot_be_told_is_refused() {
        let e = sniff("a,b\nc;d;e\nf|g|h|i\nj\tk\nl,m,n,o,p\nq;r\n", "x.csv", &InputOptions::default()).unwrap_err();
        assert!(e.starts_with("cannot tell the layout"), "{e}");
    }
}
