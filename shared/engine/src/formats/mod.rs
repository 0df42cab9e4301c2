//! Content formats: detection and one streaming reader per format.

pub mod csv;
pub mod fixed;
pub mod idoc;
pub mod json;
pub mod text;
pub mod xml;

use std::io::Read;
use std::sync::Arc;

use serde::Deserialize;

use crate::error::EngineError;
pub use crate::limits::Limits;
use crate::record::SourceRecord;

/// A streaming source of records.
pub trait RecordReader {
    fn next_record(&mut self) -> Result<Option<SourceRecord>, EngineError>;

    /// Readers that can split their input into whole records without parsing them hand out
    /// raw chunks instead, which the pipeline parses on its worker threads.
    fn splitter(&mut self) -> Option<&mut dyn ChunkSplitter> {
        None
    }
}

pub trait ChunkSplitter {
    /// The next `max_records` records (fewer at the end; `None` after it), not parsed yet, in
    /// `buffer` (a spare one, reused).
    fn next_chunk(&mut self, max_records: usize, buffer: Vec<u8>) -> Result<Option<csv::CsvChunk>, EngineError>;
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
    /// Any WHATWG encoding label (`utf-8`, `windows-1252`, `latin1`, `utf-16le`, …).
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub quote: Option<String>,
    pub header: Option<bool>,
    /// Fixed-width field positions.
    pub fields: Option<Vec<fixed::FixedField>>,
    /// IDoc segment definitions (segment type → fields within SDATA).
    #[serde(default)]
    pub segments: idoc::SegmentDefs,
    /// Generic XML: the element that is one record (default: each child of the root).
    pub record_element: Option<String>,
}

impl InputOptions {
    /// Checks what can be checked before any content is seen.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(e) = &self.encoding {
            encoding_rs::Encoding::for_label(e.as_bytes()).ok_or_else(|| format!("unknown encoding `{e}`"))?;
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
        for (seg, fields) in &self.segments {
            for f in fields {
                f.range().map_err(|e| format!("segments.{seg}: {e}"))?;
            }
        }
        if self.format == Some(Format::Fixed) && self.fields.is_none() {
            return Err("format fixed needs input.fields (name, start, length)".into());
        }
        Ok(())
    }
}

fn single_byte(s: &str) -> Option<u8> {
    match s {
        "\\t" | "tab" => Some(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Some(s.as_bytes()[0]),
        _ => None,
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
    /// What was detected rather than declared, and on what evidence (for the run's warnings).
    pub detected_encoding: Option<String>,
}

/// Opens `input` as a record stream according to the options (or what the content looks like).
pub fn open<'a>(
    name: &str,
    input: &'a mut dyn Read,
    opts: &InputOptions,
    limits: Limits,
) -> Result<Opened<'a>, EngineError> {
    let encoding = opts.encoding.as_deref().and_then(|e| encoding_rs::Encoding::for_label(e.as_bytes()));
    let decoded = text::decode(name, input, encoding)?;
    let format = opts.format.unwrap_or_else(|| detect(&decoded.sample, name));
    let file: Arc<str> = name.into();
    let records: Box<dyn RecordReader + 'a> = match format {
        Format::Csv => {
            let delimiter = opts
                .delimiter
                .as_deref()
                .and_then(single_byte)
                .unwrap_or_else(|| csv::sniff_delimiter(&decoded.sample, &name.to_ascii_lowercase()));
            let quote = opts.quote.as_deref().and_then(single_byte).unwrap_or(b'"');
            let header = opts.header.unwrap_or_else(|| csv::sniff_header(&decoded.sample, delimiter));
            let lines = text::Lines::new(decoded.reader, limits.max_record_bytes);
            Box::new(csv::CsvReader::new(lines, file, csv::CsvOptions { delimiter, quote, header }, limits))
        }
        Format::Json | Format::Ndjson => Box::new(json::JsonReader::new(decoded.reader, file, limits)),
        Format::Fixed => {
            let fields = opts.fields.as_deref().unwrap_or_default();
            Box::new(fixed::FixedReader::new(text::Lines::new(decoded.reader, limits.max_record_bytes), file, fields)?)
        }
        Format::Idoc => Box::new(idoc::IdocReader::new(
            text::Lines::new(decoded.reader, limits.max_record_bytes),
            file,
            &opts.segments,
        )),
        Format::IdocXml => Box::new(xml::XmlReader::new(decoded.reader, file, None, true, limits)),
        Format::Xml => Box::new(xml::XmlReader::new(decoded.reader, file, opts.record_element.clone(), false, limits)),
    };
    Ok(Opened { records, detected_encoding: decoded.detected })
}
