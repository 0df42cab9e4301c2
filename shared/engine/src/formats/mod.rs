//! Content formats: detection and one streaming reader per format.

pub mod csv;
pub mod fixed;
pub mod idoc;
pub mod json;
pub mod text;
pub mod xml;

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::EngineError;
pub use crate::limits::Limits;
use crate::record::{Header, SourceRecord};

/// A streaming source of records.
pub trait RecordReader {
    fn next_record(&mut self) -> Result<Option<SourceRecord>, EngineError>;

    /// Readers that can split their input into whole records without parsing them hand out
    /// raw chunks instead, which the pipeline parses on its worker threads.
    fn splitter(&mut self) -> Option<&mut dyn ChunkSplitter> {
        None
    }

    /// Takes back a record the pipeline is done with: a reader may keep its buffers for the
    /// next one.
    fn recycle(&mut self, _record: SourceRecord) {}
}

pub trait ChunkSplitter {
    /// The next `max_records` records (fewer at the end; `None` after it), not parsed yet, in
    /// `buffer` (a spare one, reused).
    fn next_chunk(&mut self, max_records: usize, buffer: Vec<u8>) -> Result<Option<Chunk>, EngineError>;
}

/// Whole records of a table, cut on the reading thread and parsed on a worker.
pub enum Chunk {
    Csv(csv::CsvChunk),
    Fixed(fixed::FixedChunk),
}

impl Chunk {
    pub fn records(&self) -> usize {
        match self {
            Chunk::Csv(c) => c.records,
            Chunk::Fixed(c) => c.records,
        }
    }

    pub fn header(&self) -> &Arc<Header> {
        match self {
            Chunk::Csv(c) => c.header(),
            Chunk::Fixed(c) => &c.header,
        }
    }

    /// The chunk's buffer, for the next chunk.
    pub fn into_buffer(self) -> Vec<u8> {
        match self {
            Chunk::Csv(c) => c.into_buffer(),
            Chunk::Fixed(c) => c.bytes,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Csv,
    Json,
    Ndjson,
    /// Fixed-width fields declared in `input.fields`.
    Fixed,
    /// SAP IDoc flat file.
    Idoc,
    IdocXml,
    Xml,
}

/// `input:` of the context. Everything is optional: what is not set is detected.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputOptions {
    pub format: Option<Format>,
    /// Any WHATWG encoding label (`utf-8`, `windows-1252`, `latin1`, `utf-16le`, …), or `cp037`
    /// (EBCDIC).
    pub encoding: Option<String>,
    /// Fixed-width and flat IDoc records of this many bytes with no line break between them.
    pub record_length: Option<usize>,
    pub delimiter: Option<String>,
    pub quote: Option<String>,
    pub header: Option<bool>,
    /// Lines above the table to pass over (report titles, an Excel `sep=` line). Detected when
    /// unset.
    pub skip_lines: Option<usize>,
    /// The 1-based line of the header row: the lines above it are skipped.
    pub header_row: Option<usize>,
    /// Fixed-width field positions.
    pub fields: Option<Vec<fixed::FixedField>>,
    /// IDoc segment definitions (segment type → fields within SDATA).
    #[serde(default)]
    pub segments: idoc::SegmentDefs,
    /// The IDoc type's definition as SAP's WE63 export in "parser" format writes it: segment
    /// fields and the segment tree, for flat IDocs.
    pub definition: Option<String>,
    /// Generic XML: the element that is one record (default: each child of the root).
    pub record_element: Option<String>,
}

impl InputOptions {
    /// Checks what can be checked before any content is seen.
    pub fn validate(&self) -> Result<(), String> {
        let encoding = match &self.encoding {
            Some(e) => Some(
                text::DeclaredEncoding::for_label(e)
                    .ok_or_else(|| format!("unknown encoding `{e}` (a WHATWG label such as windows-1252, or cp037)"))?,
            ),
            None => None,
        };
        if let Some(length) = self.record_length {
            if !matches!(self.format, Some(Format::Fixed | Format::Idoc)) {
                return Err("input.record_length needs format fixed or idoc".into());
            }
            if length == 0 {
                return Err("input.record_length must be positive".into());
            }
            if encoding.is_some_and(|e| e.line_feed().is_none()) {
                return Err("input.record_length counts bytes and needs a single-byte encoding, not UTF-16".into());
            }
        }
        for (what, v) in [("delimiter", &self.delimiter), ("quote", &self.quote)] {
            if let Some(v) = v {
                single_byte(v).ok_or_else(|| format!("input.{what} must be one ASCII character, got `{v}`"))?;
            }
        }
        if let Some(fields) = &self.fields {
            for f in fields {
                f.range()?;
            }
        }
        if let Some(definition) = &self.definition {
            idoc::IdocDefinition::parse(definition).map_err(|e| format!("input.definition: {e}"))?;
        }
        for (seg, fields) in &self.segments {
            for f in fields {
                f.range().map_err(|e| format!("segments.{seg}: {e}"))?;
            }
        }
        match (self.header_row, self.skip_lines, self.header) {
            (Some(0), _, _) => return Err("input.header_row counts lines from 1".into()),
            (Some(row), Some(skip), _) if skip + 1 != row => {
                return Err(format!(
                    "input.header_row ({row}) and input.skip_lines ({skip}) disagree: set one of them"
                ));
            }
            (Some(_), _, Some(false)) => return Err("input.header_row needs a header: drop input.header: false".into()),
            _ => {}
        }
        if self.format == Some(Format::Fixed) && self.fields.is_none() {
            return Err("format fixed needs input.fields (name, start, length)".into());
        }
        Ok(())
    }
}

pub(crate) fn single_byte(s: &str) -> Option<u8> {
    match s {
        "\\t" | "tab" => Some(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Some(s.as_bytes()[0]),
        _ => None,
    }
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Fixed => "fixed",
            Format::Idoc => "idoc",
            Format::IdocXml => "idoc-xml",
            Format::Xml => "xml",
        }
    }

    /// Whether the format is read line by line (line endings and leading lines matter).
    fn is_lines(self) -> bool {
        matches!(self, Format::Csv | Format::Fixed | Format::Idoc)
    }
}

/// Content first, the file name as a hint for what content cannot tell.
pub fn detect(sample: &str, name: &str) -> Format {
    let lower = name.to_ascii_lowercase();
    let trimmed = sample.trim_start();
    if trimmed.starts_with("EDI_DC40") || trimmed.starts_with("EDI_DC ") {
        return Format::Idoc;
    }
    match trimmed.as_bytes().first() {
        Some(b'<') if trimmed.contains("<IDOC") => Format::IdocXml,
        Some(b'<') => Format::Xml,
        Some(b'[') => Format::Json,
        Some(b'{') if lower.ends_with(".json") => Format::Json,
        Some(b'{') => Format::Ndjson,
        _ => Format::Csv,
    }
}

/// An input opened as a record stream.
pub struct Opened<'a> {
    pub records: Box<dyn RecordReader + 'a>,
    /// How it is read, and what decided each setting.
    pub reading: InputReading,
    /// A legacy encoding detected rather than declared, and on what evidence.
    pub detected_encoding: Option<String>,
}

/// How one content input was read: every decision, and what decided it (`declared`, `BOM`,
/// `detected`, `sep= line`, `file name`), for the job's record and the user's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputReading {
    pub input: String,
    pub format: String,
    pub encoding: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_ending: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// The 1-based line of the header row, when the file has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u64>,
    /// Lines passed over above the table.
    #[serde(default)]
    pub skipped_lines: u64,
    pub decided_by: BTreeMap<String, String>,
}

/// Opens `input` as a record stream according to the options (or what the content looks like).
pub fn open<'a>(
    name: &str,
    input: &'a mut dyn Read,
    opts: &InputOptions,
    limits: Limits,
) -> Result<Opened<'a>, EngineError> {
    open_at(name, input, opts, limits, 0)
}

/// [`open`] for an input that continues a file after its first `lines_before` lines (one shard
/// of a file several workers share): its records and errors carry the file's line numbers.
pub fn open_at<'a>(
    name: &str,
    input: &'a mut dyn Read,
    opts: &InputOptions,
    limits: Limits,
    lines_before: u64,
) -> Result<Opened<'a>, EngineError> {
    let encoding = opts.encoding.as_deref().and_then(text::DeclaredEncoding::for_label);
    let input: Box<dyn Read + 'a> = match opts.record_length {
        Some(length) => {
            if length > limits.max_record_bytes {
                return Err(EngineError::input(
                    name,
                    None,
                    None,
                    format!(
                        "input.record_length ({length}) is above limits.max_record_bytes ({})",
                        limits.max_record_bytes
                    ),
                ));
            }
            let line_feed = encoding.and_then(text::DeclaredEncoding::line_feed).unwrap_or(b'\n');
            Box::new(text::RecordsAsLines::new(BufReader::with_capacity(1 << 16, input), length, line_feed))
        }
        None => Box::new(input),
    };
    let decoded = text::decode(name, input, encoding)?;
    let format = opts.format.unwrap_or_else(|| detect(&decoded.sample, name));
    let mut reading = InputReading {
        input: name.to_owned(),
        format: format.name().to_owned(),
        encoding: decoded.encoding.to_owned(),
        line_ending: None,
        delimiter: None,
        header_row: None,
        skipped_lines: 0,
        decided_by: BTreeMap::from([
            ("encoding".to_owned(), decoded.encoding_decided_by.to_owned()),
            ("format".to_owned(), if opts.format.is_some() { "declared" } else { "detected" }.to_owned()),
        ]),
    };
    let file: Arc<str> = name.into();
    let (mut reader, mut sample) = (decoded.reader, decoded.sample);
    if format.is_lines() {
        let ending = text::LineEnding::of(&sample);
        match opts.record_length {
            Some(length) => {
                reading.line_ending = Some(format!("none: records of {length} bytes"));
                reading.decided_by.insert("line_ending".to_owned(), "declared".to_owned());
            }
            None => {
                reading.line_ending = Some(ending.name().to_owned());
                reading.decided_by.insert("line_ending".to_owned(), "detected".to_owned());
            }
        }
        if ending == text::LineEnding::Cr {
            reader = Box::new(BufReader::with_capacity(1 << 16, text::CrAsLf(reader)));
            sample = sample.replace('\r', "\n");
        }
    }
    let skip = |lines: &mut text::Lines<'_>, n: usize| {
        lines.skip(n).map_err(|e| match e {
            text::LineError::TooLong => EngineError::input(
                name,
                Some(lines.line + 1),
                None,
                format!("line longer than {} bytes (limits.max_record_bytes)", limits.max_record_bytes),
            ),
            text::LineError::Io(e) => EngineError::Io(e),
        })
    };
    let records: Box<dyn RecordReader + 'a> = match format {
        Format::Csv => {
            let dialect = csv::sniff(&sample, &name.to_ascii_lowercase(), opts)
                .map_err(|message| EngineError::input(name, None, None, message))?;
            let quote = opts.quote.as_deref().and_then(single_byte).unwrap_or(b'"');
            let mut lines = text::Lines::new(reader, limits.max_record_bytes);
            lines.line = lines_before;
            skip(&mut lines, dialect.skip_lines)?;
            reading.delimiter = Some(char::from(dialect.delimiter).to_string());
            reading.skipped_lines = dialect.skip_lines as u64;
            reading.header_row = dialect.header.then_some(dialect.skip_lines as u64 + 1);
            for (setting, by) in &dialect.decided_by {
                reading.decided_by.insert((*setting).to_owned(), (*by).to_owned());
            }
            let options =
                csv::CsvOptions { delimiter: dialect.delimiter, quote, header: dialect.header, framed: dialect.framed };
            Box::new(csv::CsvReader::new(lines, file, options, limits))
        }
        Format::Json | Format::Ndjson => {
            Box::new(json::JsonReader::new(reader, file, limits).starting_after(lines_before))
        }
        Format::Fixed => {
            let fields = opts.fields.as_deref().unwrap_or_default();
            let mut lines = text::Lines::new(reader, limits.max_record_bytes);
            lines.line = lines_before;
            let n = opts.skip_lines.unwrap_or(0);
            skip(&mut lines, n)?;
            reading.skipped_lines = n as u64;
            Box::new(fixed::FixedReader::new(lines, file, fields)?)
        }
        Format::Idoc => {
            let definition = match &opts.definition {
                Some(text) => Some(
                    idoc::IdocDefinition::parse(text)
                        .map_err(|e| EngineError::input(name, None, None, format!("input.definition: {e}")))?,
                ),
                None => None,
            };
            let mut lines = text::Lines::new(reader, limits.max_record_bytes);
            lines.line = lines_before;
            Box::new(idoc::IdocReader::new(lines, file, &opts.segments, definition))
        }
        Format::IdocXml => Box::new(xml::XmlReader::new(reader, file, None, true, limits)),
        Format::Xml => Box::new(xml::XmlReader::new(reader, file, opts.record_element.clone(), false, limits)),
    };
    Ok(Opened { records, reading, detected_encoding: decoded.detected })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options as a context's `input:` writes them (JSON is YAML).
    fn options(json: &str) -> InputOptions {
        serde_json::from_str(json).expect("options")
    }

    #[test]
    fn record_length_and_cp037_are_checked_before_any_content() {
        let fixed = r#"{"format": "fixed", "fields": [{"name": "A", "start": 1, "length": 2}]"#;
        let with = |extra: &str| options(&format!("{fixed}, {extra}}}"));
        assert_eq!(with(r#""record_length": 80, "encoding": "cp037""#).validate(), Ok(()));
        assert_eq!(with(r#""record_length": 0"#).validate(), Err("input.record_length must be positive".to_owned()));
        assert_eq!(
            with(r#""record_length": 80, "encoding": "utf-16le""#).validate(),
            Err("input.record_length counts bytes and needs a single-byte encoding, not UTF-16".to_owned())
        );
        assert_eq!(
            options(r#"{"format": "csv", "record_length": 80}"#).validate(),
            Err("input.record_length needs format fixed or idoc".to_owned())
        );
        assert!(options(r#"{"encoding": "ebcdic-9"}"#).validate().unwrap_err().contains("unknown encoding `ebcdic-9`"));
    }
}
