//! Where a file splits into shards of whole records, found without reading it on one machine:
//! each shard's bytes are scanned on their own (phase 1, [`Scanner`]), and one pass over the
//! scans in file order (phase 2, [`spans`]) fixes every shard's start, first line and first
//! record. The proof that the split is exact is in `docs/scaling.md`.

use helix_domain::shard::{ShardScan, ShardSpan, StateScan};

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

/// Phase 1 over one shard's range, fed in pieces: both possible quote states at its first byte
/// are walked at once, so no shard waits for the one before it.
pub struct Scanner {
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

impl Scanner {
    /// Scans from file offset `start`, whose preceding byte is `before`.
    pub fn new(layout: &Layout, start: u64, before: Option<u8>) -> Self {
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

    pub fn feed(&mut self, bytes: &[u8]) {
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

    pub fn finish(self) -> ShardScan {
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

/// Why a file cannot be split exactly; its job runs on one worker instead.
#[derive(Debug, PartialEq, Eq)]
pub enum Unsplittable {
    /// A quote inside an unquoted field: quote parity does not tell what is quoted.
    StrayQuote { shard: u32 },
    /// The file ends inside a quoted field.
    OpenQuote,
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

    #[test]
    fn without_quotes_every_line_feed_ends_a_record() {
        let text = b"{\"a\":\"\\\"\"}\n\n{\"a\":2}\n{\"a\":3}";
        let layout = Layout { quote: None, ..layout(text, 0, 4) };
        let spans = split(text, &layout, 2).unwrap();
        assert_eq!(spans.iter().map(|s| s.records).sum::<u64>(), 3);
        assert!(spans.iter().all(|s| s.start == 0 || s.start == s.end || text[s.start as usize - 1] == b'\n'));
    }
}
