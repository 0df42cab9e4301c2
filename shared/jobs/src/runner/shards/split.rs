//! Where a file splits into shards of whole records, found without reading it on one machine:
//! each shard's bytes are scanned on their own (phase 1, [`Scanner`]), and one pass over the
//! scans in file order (phase 2, [`spans`]) fixes every shard's start, first line and first
//! record. The proof that the split is exact is in `docs/scaling.md`.

use helix_domain::shard::{ShardScan, ShardSpan, StateScan};
use helix_engine::formats::idoc::{CONTROL_HEAD_BYTES, starts_control_record};

/// What the file's first bytes told about its layout: what to count, and where its records
/// start.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Layout {
    /// The quote character of a delimited file; `None`: every line feed ends a record.
    pub quote: Option<u8>,
    pub delimiter: u8,
    /// The first byte after the lines above the table and the header.
    pub data_start: u64,
    /// Line feeds before `data_start`.
    pub lines_before_data: u64,
    pub size: u64,
    /// Bytes per shard's scanned range.
    pub shard_bytes: u64,
    /// A record starts at each line that is an IDoc control record, not after every line feed.
    #[serde(default)]
    pub control_records: bool,
}

impl Layout {
    pub fn shards(&self) -> u32 {
        let data = self.size.saturating_sub(self.data_start);
        u32::try_from(data.div_ceil(self.shard_bytes).max(1)).unwrap_or(u32::MAX)
    }

    /// The bytes shard `index` scans (its records are where [`spans`] says).
    pub fn range(&self, index: u32) -> std::ops::Range<u64> {
        let start = self.data_start + u64::from(index) * self.shard_bytes;
        start..(start + self.shard_bytes).min(self.size)
    }
}

/// One assumed start state's walk over the range.
#[derive(Clone, Copy)]
struct Walk {
    inside: bool,
    /// Where the last quote that closed a quoted field was (an escaped quote opens again right
    /// after it).
    closed_at: Option<u64>,
    /// The record that ends at the next record-ending line feed has only carriage returns so far.
    blank: bool,
    scan: StateScan,
}

impl Walk {
    fn new(inside: bool) -> Self {
        Self { inside, closed_at: None, blank: true, scan: StateScan { strict: true, ..StateScan::default() } }
    }
}

/// Phase 1 over one shard's range, fed in pieces ([`Scanner::feed`]), then the head of the line
/// after it if that line starts in the range ([`Scanner::wants_after`]).
pub enum Scanner {
    Quotes(QuoteScanner),
    Controls(ControlScanner),
}

impl Scanner {
    /// Scans from file offset `start`, whose preceding byte is `before`.
    pub fn new(layout: &Layout, start: u64, before: Option<u8>) -> Self {
        if layout.control_records {
            Self::Controls(ControlScanner::new(layout, start))
        } else {
            Self::Quotes(QuoteScanner::new(layout, start, before))
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        match self {
            Self::Quotes(scanner) => scanner.feed(bytes),
            Self::Controls(scanner) => scanner.feed(bytes),
        }
    }

    /// How many bytes after the range the scan needs (at most): a record may start at a line
    /// that starts in the range and ends after it.
    pub fn wants_after(&self) -> u64 {
        match self {
            Self::Quotes(_) => 0,
            Self::Controls(scanner) => scanner.wants(),
        }
    }

    /// The bytes right after the range (fewer at the file's end): only the head of the line that
    /// starts in the range is read from them.
    pub fn feed_after(&mut self, bytes: &[u8]) {
        if let Self::Controls(scanner) = self {
            scanner.head(bytes);
        }
    }

    pub fn finish(self) -> ShardScan {
        match self {
            Self::Quotes(scanner) => scanner.finish(),
            Self::Controls(scanner) => scanner.finish(),
        }
    }
}

/// Both possible quote states at the range's first byte are walked at once, so no shard waits
/// for the one before it.
pub struct QuoteScanner {
    quote: Option<u8>,
    delimiter: u8,
    /// File offset of the range's first byte.
    start: u64,
    /// File offset of the next byte fed.
    at: u64,
    /// The byte before it (`None` at the first record of the data: a field starts there).
    before: Option<u8>,
    quotes: u64,
    newlines: u64,
    walks: [Walk; 2],
}

impl QuoteScanner {
    fn new(layout: &Layout, start: u64, before: Option<u8>) -> Self {
        Self {
            quote: layout.quote,
            delimiter: layout.delimiter,
            start,
            at: start,
            before,
            quotes: 0,
            newlines: 0,
            walks: [Walk::new(false), Walk::new(true)],
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        let mut last = 0usize;
        let events: Box<dyn Iterator<Item = usize>> = match self.quote {
            Some(q) => Box::new(memchr::memchr2_iter(q, b'\n', bytes)),
            None => Box::new(memchr::memchr_iter(b'\n', bytes)),
        };
        for i in events {
            // The bytes between two events only matter while a record is blank so far.
            let between = &bytes[last..i];
            let only_crs = between.iter().all(|&b| b == b'\r');
            let offset = self.at + i as u64;
            let previous = if i == 0 { self.before } else { Some(bytes[i - 1]) };
            let is_newline = bytes[i] == b'\n';
            if is_newline {
                self.newlines += 1;
            } else {
                self.quotes += 1;
            }
            for walk in &mut self.walks {
                walk.blank &= only_crs;
                if is_newline {
                    if walk.inside {
                        walk.blank = false;
                        continue;
                    }
                    let scan = &mut walk.scan;
                    match scan.first_end {
                        None => {
                            scan.first_end = Some((offset, self.newlines));
                            scan.head_blank = walk.blank;
                        }
                        Some(_) if !walk.blank => scan.records_after_first += 1,
                        Some(_) => {}
                    }
                    walk.blank = true;
                    continue;
                }
                walk.blank = false;
                if walk.inside {
                    walk.inside = false;
                    walk.closed_at = Some(offset);
                    continue;
                }
                // A quote opens a quoted field only at the field's start, or right after the quote
                // that closed one (an escaped quote). Anywhere else the reader takes it as text,
                // and the parity of quotes no longer says what is quoted.
                let field_start = match previous {
                    None => true,
                    Some(b) => b == self.delimiter || b == b'\n',
                };
                // At the range's first byte, a quote before it closed a field (this walk starts
                // outside quotes): the two are an escaped quote.
                let escaped = offset.checked_sub(1).is_some_and(|p| walk.closed_at == Some(p))
                    || (offset == self.start && previous == self.quote);
                if !(field_start || escaped) {
                    walk.scan.strict = false;
                }
                walk.inside = true;
            }
            last = i + 1;
        }
        let rest_blank = bytes[last..].iter().all(|&b| b == b'\r');
        for walk in &mut self.walks {
            walk.blank &= rest_blank;
        }
        if let Some(&b) = bytes.last() {
            self.before = Some(b);
        }
        self.at += bytes.len() as u64;
    }

    fn finish(self) -> ShardScan {
        let from = self.walks.map(|walk| {
            let mut scan = walk.scan;
            if scan.first_end.is_none() {
                scan.head_blank = walk.blank;
            }
            scan.tail_blank = walk.blank;
            scan
        });
        ShardScan { odd_quotes: self.quotes % 2 == 1, newlines: self.newlines, from }
    }
}

/// A flat IDoc file's scan: a record starts at each control record, so a record-ending line
/// feed is one whose next line is a control record; each of them but the first ends one record
/// in the range. Nothing is quoted: both walks of the [`ShardScan`] are this one.
pub struct ControlScanner {
    /// The range starts the data: its first line is the file's first.
    at_data_start: bool,
    /// File offset of the next byte fed.
    at: u64,
    newlines: u64,
    /// The line being told.
    line: Option<Line>,
    /// The data starts with a control record.
    starts_with_record: bool,
    scan: StateScan,
}

/// A line whose first bytes are being gathered to tell whether it is a control record.
struct Line {
    /// The line feed before it: its offset and the range's line feeds up to it (`None` at the
    /// data's start).
    after: Option<(u64, u64)>,
    head: Vec<u8>,
}

impl Line {
    fn after(after: Option<(u64, u64)>) -> Self {
        Self { after, head: Vec::with_capacity(CONTROL_HEAD_BYTES) }
    }
}

impl ControlScanner {
    fn new(layout: &Layout, start: u64) -> Self {
        let at_data_start = start == layout.data_start;
        Self {
            at_data_start,
            at: start,
            newlines: 0,
            line: at_data_start.then(|| Line::after(None)),
            starts_with_record: false,
            scan: StateScan { strict: true, ..StateScan::default() },
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        let mut from = 0;
        loop {
            from += self.head(&bytes[from..]);
            if self.line.is_some() {
                break;
            }
            let Some(i) = memchr::memchr(b'\n', &bytes[from..]) else { break };
            self.newlines += 1;
            self.line = Some(Line::after(Some((self.at + (from + i) as u64, self.newlines))));
            from += i + 1;
        }
        self.at += bytes.len() as u64;
    }

    fn wants(&self) -> u64 {
        self.line.as_ref().map_or(0, |line| (CONTROL_HEAD_BYTES - line.head.len()) as u64)
    }

    /// Adds `bytes` to the head of the line being told, and tells it once the head is long
    /// enough or the line ends; returns how many bytes it took.
    fn head(&mut self, bytes: &[u8]) -> usize {
        let Some(Line { head, .. }) = &mut self.line else { return 0 };
        let wanted = CONTROL_HEAD_BYTES - head.len();
        let end = memchr::memchr(b'\n', &bytes[..wanted.min(bytes.len())]);
        let taken = end.unwrap_or(wanted.min(bytes.len()));
        head.extend_from_slice(&bytes[..taken]);
        if end.is_some() || head.len() == CONTROL_HEAD_BYTES {
            self.tell();
        }
        taken
    }

    /// Tells the line being told, whose head is all of it or all that is needed.
    fn tell(&mut self) {
        let Some(Line { after, head }) = self.line.take() else { return };
        match (starts_control_record(&head), after) {
            (None, _) => self.scan.strict = false,
            (Some(false), _) => {}
            (Some(true), None) => self.starts_with_record = true,
            (Some(true), Some(newline)) => match self.scan.first_end {
                None => self.scan.first_end = Some(newline),
                Some(_) => self.scan.records_after_first += 1,
            },
        }
    }

    fn finish(mut self) -> ShardScan {
        // The file ends in the line being told.
        self.tell();
        let mut scan = self.scan;
        // Only the data's first line can start a record before the first record-ending line feed:
        // a later range's head belongs to the record open before it.
        scan.head_blank = !(self.at_data_start && self.starts_with_record);
        scan.tail_blank = if scan.first_end.is_some() { false } else { scan.head_blank };
        ShardScan { odd_quotes: false, newlines: self.newlines, from: [scan; 2] }
    }
}

/// Why a file cannot be split exactly; its job runs on one worker instead.
#[derive(Debug, PartialEq, Eq)]
pub enum Unsplittable {
    /// A quote inside an unquoted field: quote parity does not tell what is quoted.
    StrayQuote { shard: u32 },
    /// The file ends inside a quoted field.
    OpenQuote,
    /// A line that starts `EDI_DC` and goes on in bytes above ASCII: whether it is a control
    /// record depends on how they decode.
    UnclearControl { shard: u32 },
}

impl std::fmt::Display for Unsplittable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::StrayQuote { shard } => {
                write!(
                    f,
                    "shard {shard} has a quote inside an unquoted field, so quote parity cannot place its records"
                )
            }
            Self::OpenQuote => write!(f, "the file ends inside a quoted field"),
            Self::UnclearControl { shard } => {
                write!(f, "shard {shard} has a line starting EDI_DC that a byte scan cannot tell as a control record")
            }
        }
    }
}

/// Phase 2: the shards' spans from their scans, in file order. Shard 0 starts at the data's
/// start, outside quotes; each later shard's quote state is the one before it flipped by an odd
/// count of quotes, and it starts after its first record-ending line feed in that state (a
/// shard without one is empty: the next one starting there starts it).
pub fn spans(layout: &Layout, scans: &[ShardScan]) -> Result<Vec<ShardSpan>, Unsplittable> {
    let mut inside = false;
    // The record after the last record-ending line feed so far has only carriage returns.
    let mut open_blank = true;
    let mut records = 0u64;
    let mut lines_before_range = layout.lines_before_data;
    let first =
        ShardSpan { start: layout.data_start, first_line: layout.lines_before_data + 1, ..ShardSpan::default() };
    let mut starts = vec![first];
    // Shards whose start is the next record-ending line feed found.
    let mut waiting: Vec<u32> = Vec::new();
    for (index, scan) in (0u32..).zip(scans) {
        let walk = &scan.from[usize::from(inside)];
        if !walk.strict && layout.control_records {
            return Err(Unsplittable::UnclearControl { shard: index });
        }
        if !walk.strict {
            return Err(Unsplittable::StrayQuote { shard: index });
        }
        if index > 0 {
            waiting.push(index);
        }
        match walk.first_end {
            Some((offset, newlines)) => {
                if !(open_blank && walk.head_blank) {
                    records += 1;
                }
                let start = ShardSpan {
                    start: offset + 1,
                    first_line: lines_before_range + newlines + 1,
                    records_before: records,
                    ..ShardSpan::default()
                };
                starts.extend(waiting.drain(..).map(|_| start));
                records += walk.records_after_first;
                open_blank = walk.tail_blank;
            }
            None => open_blank &= walk.head_blank,
        }
        lines_before_range += scan.newlines;
        inside ^= scan.odd_quotes;
    }
    if inside {
        return Err(Unsplittable::OpenQuote);
    }
    if !open_blank {
        records += 1;
    }
    let end = ShardSpan {
        start: layout.size,
        first_line: lines_before_range + 1,
        records_before: records,
        ..ShardSpan::default()
    };
    starts.extend(waiting.drain(..).map(|_| end));
    let mut spans = starts.clone();
    for (i, span) in spans.iter_mut().enumerate() {
        let next = starts.get(i + 1).unwrap_or(&end);
        span.end = next.start;
        span.records = next.records_before - span.records_before;
    }
    Ok(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(text: &[u8], data_start: u64, shard_bytes: u64) -> Layout {
        let lines_before_data = text[..data_start as usize].iter().filter(|&&b| b == b'\n').count() as u64;
        Layout {
            quote: Some(b'"'),
            delimiter: b',',
            data_start,
            lines_before_data,
            size: text.len() as u64,
            shard_bytes,
            control_records: false,
        }
    }

    /// Scans every shard in pieces of `piece` bytes, as the workers would.
    fn split(text: &[u8], layout: &Layout, piece: usize) -> Result<Vec<ShardSpan>, Unsplittable> {
        let scans: Vec<ShardScan> = (0..layout.shards())
            .map(|i| {
                let range = layout.range(i);
                let before = (range.start > 0).then(|| text[range.start as usize - 1]);
                let mut scanner = Scanner::new(layout, range.start, before);
                for chunk in text[range.start as usize..range.end as usize].chunks(piece) {
                    scanner.feed(chunk);
                }
                let after = range.end as usize..text.len().min(range.end as usize + scanner.wants_after() as usize);
                scanner.feed_after(&text[after]);
                scanner.finish()
            })
            .collect();
        spans(layout, &scans)
    }

    /// The records of a file as one sequential reader of RFC 4180 sees them: (start offset, first
    /// line) of each non-blank record after `data_start`, and the end.
    fn sequential(text: &[u8], data_start: usize) -> Vec<(u64, u64)> {
        let mut records = Vec::new();
        let (mut inside, mut start, mut line) =
            (false, data_start, 1 + text[..data_start].iter().filter(|&&b| b == b'\n').count() as u64);
        let mut start_line = line;
        for i in data_start..text.len() {
            match text[i] {
                b'"' => inside = !inside,
                b'\n' => {
                    line += 1;
                    if !inside {
                        if text[start..i].iter().any(|&b| b != b'\r') {
                            records.push((start as u64, start_line));
                        }
                        start = i + 1;
                        start_line = line;
                    }
                }
                _ => {}
            }
        }
        if text[start..].iter().any(|&b| b != b'\r') {
            records.push((start as u64, start_line));
        }
        records
    }

    fn check(text: &[u8], data_start: u64) {
        let truth = sequential(text, data_start as usize);
        for shard_bytes in 1..=text.len() as u64 {
            for piece in [1, 3, 1000] {
                let layout = layout(text, data_start, shard_bytes);
                let spans = split(text, &layout, piece).unwrap();
                assert_eq!(spans.first().unwrap().start, data_start);
                assert_eq!(spans.last().unwrap().end, text.len() as u64);
                let mut seen = 0;
                for span in &spans {
                    assert_eq!(span.records_before, seen, "shard_bytes {shard_bytes}: {spans:?}");
                    let inside: Vec<_> = truth.iter().filter(|(at, _)| (span.start..span.end).contains(at)).collect();
                    assert_eq!(inside.len() as u64, span.records, "shard_bytes {shard_bytes}: {spans:?}");
                    if span.start < span.end && span.start < text.len() as u64 {
                        let line = 1 + text[..span.start as usize].iter().filter(|&&b| b == b'\n').count() as u64;
                        assert_eq!(span.first_line, line);
                    }
                    // Every shard starts at a record's start (or a blank line before one).
                    if span.start > data_start && span.start < text.len() as u64 {
                        let next = truth.iter().find(|(at, _)| *at >= span.start).map_or(text.len() as u64, |r| r.0);
                        assert!(text[span.start as usize..next as usize].iter().all(|&b| b == b'\r' || b == b'\n'));
                    }
                    seen += span.records;
                }
                assert_eq!(seen, truth.len() as u64);
            }
        }
    }

    #[test]
    fn every_split_of_quoted_newlines_escapes_and_blank_lines_is_exact() {
        check(b"id,note\n1,\"a\nb\"\n2,\"x\"\"y\n\"\"z\"\n\n3,plain\r\n\r\n4,\"\",\"\n\n\"\r\n5,\"\"\"\"\n6,last", 8);
        check(b"title line\nid,note\n1,\"\n\"\n2,x\n", 19);
        check(b"id\n\"\"\"\n\"\"\"\n\n\n1\n", 3);
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_found_whatever_the_split() {
        let text = b"id,note\n1,5\" screen\n2,\"a\nb\"\n3,x\n";
        for shard_bytes in 1..=text.len() as u64 {
            let layout = layout(text, 8, shard_bytes);
            assert!(matches!(split(text, &layout, 4), Err(Unsplittable::StrayQuote { .. })), "{shard_bytes}");
        }
    }

    #[test]
    fn a_file_that_ends_inside_quotes_is_not_split() {
        let text = b"id,note\n1,\"open\n2,x\n";
        assert_eq!(split(text, &layout(text, 8, 5), 2), Err(Unsplittable::OpenQuote));
    }

    /// The control records of a flat IDoc file after `data_start`, as the reader finds them:
    /// (offset, line) of each line that is one.
    fn controls(text: &[u8], data_start: usize) -> Vec<(u64, u64)> {
        let mut starts = vec![data_start];
        starts.extend(memchr::memchr_iter(b'\n', &text[data_start..]).map(|i| data_start + i + 1));
        starts
            .into_iter()
            .filter(|&at| {
                let line = &text[at..];
                let line = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
                std::str::from_utf8(line).is_ok_and(|line| {
                    matches!(line.chars().take(10).collect::<String>().trim_end(), "EDI_DC40" | "EDI_DC")
                })
            })
            .map(|at| (at as u64, 1 + text[..at].iter().filter(|&&b| b == b'\n').count() as u64))
            .collect()
    }

    #[test]
    fn every_split_of_an_idoc_file_starts_its_shards_at_control_records() {
        let idocs: &[&[u8]] = &[
            b"EDI_DC40  800001\nE2EDK01005 a\nE2EDP01 b\n\nEDI_DC40  800002\r\nE2EDK01 c\r\nEDI_DC    800003\nE2X\nEDI_DC40",
            b"\n\nEDI_DC40  1\nEDI_DC40  2\nEDI_DC40X\n EDI_DC40\nEDI_DC40  3\n\n\n",
            b"\xEF\xBB\xBFEDI_DC40  1\nE2\xC3\xA9\nEDI_DC40  2\nEDI_DC4\nE2EDK01",
        ];
        for text in idocs {
            let data_start = if text.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
            let truth = controls(text, data_start);
            for shard_bytes in 1..=text.len() as u64 {
                for piece in [1, 3, 1000] {
                    let layout =
                        Layout { quote: None, control_records: true, ..layout(text, data_start as u64, shard_bytes) };
                    let spans = split(text, &layout, piece).unwrap();
                    assert_eq!(spans.last().unwrap().end, text.len() as u64);
                    let mut seen = 0;
                    for (i, span) in spans.iter().enumerate() {
                        let here: Vec<_> = truth.iter().filter(|(at, _)| (span.start..span.end).contains(at)).collect();
                        assert_eq!(span.records_before, seen, "shard_bytes {shard_bytes}: {spans:?}");
                        assert_eq!(here.len() as u64, span.records, "shard_bytes {shard_bytes}: {spans:?}");
                        if i > 0 && span.start < span.end {
                            assert_eq!(here.first().map(|r| r.0), Some(span.start), "{shard_bytes}: {spans:?}");
                            assert_eq!(here[0].1, span.first_line);
                        }
                        seen += span.records;
                    }
                    assert_eq!(seen, truth.len() as u64);
                }
            }
        }
    }

    #[test]
    fn a_control_record_a_byte_scan_cannot_tell_is_not_split() {
        let text = "EDI_DC40  1\nE2EDK01\nEDI_DC40\u{a0}\u{a0}2\nE2EDK01\n".as_bytes();
        for shard_bytes in 1..=text.len() as u64 {
            let layout = Layout { quote: None, control_records: true, ..layout(text, 0, shard_bytes) };
            assert!(matches!(split(text, &layout, 5), Err(Unsplittable::UnclearControl { .. })), "{shard_bytes}");
        }
    }

    #[test]
    fn without_quotes_every_line_feed_ends_a_record() {
        let text = b"{\"a\":\"\\\"\"}\n\n{\"a\":2}\n{\"a\":3}";
        let layout = Layout { quote: None, ..layout(text, 0, 4) };
        let spans = split(text, &layout, 2).unwrap();
        assert_eq!(spans.iter().map(|s| s.records).sum::<u64>(), 3);
        assert!(spans.iter().all(|s| s.start == 0 || s.start == s.end || text[s.start as usize - 1] == b'\n'));
    }
}
