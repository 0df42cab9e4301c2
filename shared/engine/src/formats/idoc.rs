//! SAP IDoc flat files (EDI_DC40 control record + EDI_DD40 data records, see
//! ../shared/formats/idoc.md). Each IDoc becomes one record: a segment tree
//! `{"EDI_DC40": {...}, "E1EDK01": [{...}], "E1EDP01": [{..., "E1EDP19": [...]}]}`, built from
//! the IDoc type's definition when the context gives one (`input.definition`, SAP's WE63 "parser"
//! export), else from PSGNUM (parent segment number), falling back to HLEVEL when PSGNUM is blank
//! or wrong.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::RecordReader;
use super::fixed::FixedField;
use super::text::{self, LineError, Lines};
use crate::error::EngineError;
use crate::record::{Data, SourceRecord};

/// EDI_DC40 fields: name, first column (1-based), last column.
const CONTROL: [(&str, usize, usize); 36] = [
    ("TABNAM", 1, 10),
    ("MANDT", 11, 13),
    ("DOCNUM", 14, 29),
    ("DOCREL", 30, 33),
    ("STATUS", 34, 35),
    ("DIRECT", 36, 36),
    ("OUTMOD", 37, 37),
    ("EXPRSS", 38, 38),
    ("TEST", 39, 39),
    ("IDOCTYP", 40, 69),
    ("CIMTYP", 70, 99),
    ("MESTYP", 100, 129),
    ("MESCOD", 130, 132),
    ("MESFCT", 133, 135),
    ("STD", 136, 136),
    ("STDVRS", 137, 142),
    ("STDMES", 143, 148),
    ("SNDPOR", 149, 158),
    ("SNDPRT", 159, 160),
    ("SNDPFC", 161, 162),
    ("SNDPRN", 163, 172),
    ("SNDSAD", 173, 193),
    ("SNDLAD", 194, 263),
    ("RCVPOR", 264, 273),
    ("RCVPRT", 274, 275),
    ("RCVPFC", 276, 277),
    ("RCVPRN", 278, 287),
    ("RCVSAD", 288, 308),
    ("RCVLAD", 309, 378),
    ("CREDAT", 379, 386),
    ("CRETIM", 387, 392),
    ("REFINT", 393, 406),
    ("REFGRP", 407, 420),
    ("REFMES", 421, 434),
    ("ARCKEY", 435, 504),
    ("SERIAL", 505, 524),
];

/// Inline segment definitions: segment type → fields (columns 1-based within SDATA).
pub type SegmentDefs = HashMap<String, Vec<FixedField>>;

/// A segment of an IDoc type's definition.
#[derive(Debug, Clone, Default)]
struct SegmentDefinition {
    /// `E1EDK01` for `E2EDK01005`.
    segment_type: String,
    /// Name and 1-based columns within SDATA.
    fields: Vec<(String, usize, usize)>,
    /// The segment type this one nests under (`None`: the IDoc itself).
    parent: Option<String>,
}

/// An IDoc type as SAP's WE63 documentation export in "parser" format describes it: its segments
/// by external name (`E2EDP01008`), their types, fields and places in the tree. A segment opening
/// a group is the parent of the group's other segments and nested groups.
#[derive(Debug, Clone, Default)]
pub struct IdocDefinition {
    /// By external name (`E2EDP01008`).
    segments: HashMap<String, SegmentDefinition>,
    /// Segment type → the type it nests under (`None`: the IDoc itself).
    parents: HashMap<String, Option<String>>,
}

impl IdocDefinition {
    /// Reads the export; an error names the line.
    pub fn parse(text: &str) -> Result<IdocDefinition, String> {
        let mut segments: HashMap<String, SegmentDefinition> = HashMap::new();
        // Per open group: the type of the segment that opened it (once read).
        let mut groups: Vec<Option<String>> = Vec::new();
        let mut current: Option<(String, SegmentDefinition)> = None;
        let mut field: Option<(String, Option<usize>, Option<usize>)> = None;
        let mut in_segments = false;
        let number = |value: &str, line: usize| {
            value.trim().parse::<usize>().map_err(|_| format!("line {line}: `{value}` is not a number"))
        };
        let finish_field = |field: &mut Option<(String, Option<usize>, Option<usize>)>,
                            segment: &mut Option<(String, SegmentDefinition)>,
                            line: usize|
         -> Result<(), String> {
            if let (Some((name, first, last)), Some((_, definition))) = (field.take(), segment.as_mut()) {
                let (Some(first), Some(last)) = (first, last) else {
                    return Err(format!("line {line}: field {name} has no CHARACTER_FIRST/CHARACTER_LAST"));
                };
                // The columns count from the start of the data record; SDATA starts at column 64.
                if first < 64 || last < first {
                    return Err(format!("line {line}: field {name} lies outside SDATA (columns {first}–{last})"));
                }
                definition.fields.push((name, first - 63, last - 63));
            }
            Ok(())
        };
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let raw = raw.trim();
            let (key, value) = raw.split_once(char::is_whitespace).map_or((raw, ""), |(k, v)| (k, v.trim()));
            match key {
                "BEGIN_SEGMENT_SECTION" => in_segments = true,
                "END_SEGMENT_SECTION" => in_segments = false,
                _ if !in_segments => {}
                "BEGIN_GROUP" => groups.push(None),
                "END_GROUP" => {
                    groups.pop().ok_or_else(|| format!("line {line}: END_GROUP without BEGIN_GROUP"))?;
                }
                "BEGIN_SEGMENT" => {
                    if value.is_empty() {
                        return Err(format!("line {line}: BEGIN_SEGMENT needs the segment's name"));
                    }
                    let definition = SegmentDefinition { segment_type: segment_type(value), ..Default::default() };
                    current = Some((value.to_owned(), definition));
                }
                "SEGMENTTYPE" => {
                    if let Some((_, definition)) = current.as_mut() {
                        definition.segment_type = value.to_owned();
                    }
                }
                "NAME" => {
                    finish_field(&mut field, &mut current, line)?;
                    field = Some((value.to_owned(), None, None));
                }
                "CHARACTER_FIRST" | "CHARACTER_LAST" => {
                    let Some((_, first, last)) = field.as_mut() else {
                        return Err(format!("line {line}: {key} outside a field"));
                    };
                    let slot = if key == "CHARACTER_FIRST" { first } else { last };
                    *slot = Some(number(value, line)?);
                }
                "END_FIELDS" => finish_field(&mut field, &mut current, line)?,
                "END_SEGMENT" => {
                    finish_field(&mut field, &mut current, line)?;
                    let (name, mut definition) =
                        current.take().ok_or_else(|| format!("line {line}: END_SEGMENT without BEGIN_SEGMENT"))?;
                    // The first segment of a group opens it; the others hang under that one.
                    let enclosing = groups.len().checked_sub(2).and_then(|i| groups[i].clone());
                    match groups.last_mut() {
                        Some(opener @ None) => {
                            definition.parent = enclosing;
                            *opener = Some(definition.segment_type.clone());
                        }
                        Some(Some(opener)) => definition.parent = Some(opener.clone()),
                        None => definition.parent = None,
                    }
                    segments.insert(name, definition);
                }
                _ => {}
            }
        }
        if segments.is_empty() {
            return Err("no segment found: expected a WE63 export in parser format (BEGIN_SEGMENT_SECTION …)".into());
        }
        let parents = segments.values().map(|d| (d.segment_type.clone(), d.parent.clone())).collect();
        Ok(IdocDefinition { segments, parents })
    }
}

/// `E2EDK01005` → `E1EDK01`; customer `Z2…` likewise; namespaced names are kept.
pub fn segment_type(segnam: &str) -> String {
    let mut name = segnam.trim().to_owned();
    if name.len() >= 3 && (name.starts_with("E2") || name.starts_with("Z2")) {
        name.replace_range(1..2, "1");
        let b = name.as_bytes();
        if name.len() >= 10 && b[b.len() - 3..].iter().all(u8::is_ascii_digit) {
            name.truncate(name.len() - 3);
        }
    }
    name
}

fn cols(chars: &[char], from: usize, to: usize) -> String {
    let a = (from - 1).min(chars.len());
    let b = to.min(chars.len());
    chars[a..b].iter().collect::<String>().trim_end().to_owned()
}

struct Segment {
    name: String,
    fields: Map<String, Value>,
    children: Vec<usize>,
}

/// Nests segments (index 0 is the IDoc itself) into JSON; children grouped by type, in order.
fn to_json(nodes: &mut [Segment], i: usize) -> Value {
    let mut obj = std::mem::take(&mut nodes[i].fields);
    for c in nodes[i].children.clone() {
        let name = nodes[c].name.clone();
        let child = to_json(nodes, c);
        match obj.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(a) => a.push(child),
            other => *other = Value::Array(vec![child]),
        }
    }
    Value::Object(obj)
}

pub struct IdocReader<'a> {
    lines: Lines<'a>,
    file: Arc<str>,
    defs: SegmentDefs,
    definition: Option<IdocDefinition>,
    buf: Vec<u8>,
    /// The next IDoc's control record, read while finishing the previous one.
    next_control: Option<(u64, Vec<char>)>,
}

impl<'a> IdocReader<'a> {
    pub fn new(lines: Lines<'a>, file: Arc<str>, defs: &SegmentDefs, definition: Option<IdocDefinition>) -> Self {
        IdocReader { lines, file, defs: defs.clone(), definition, buf: Vec::new(), next_control: None }
    }

    fn line(&mut self) -> Result<Option<(u64, Vec<char>)>, EngineError> {
        loop {
            self.buf.clear();
            match self.lines.read_into(&mut self.buf) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(LineError::TooLong) => {
                    return Err(EngineError::input(
                        &self.file,
                        Some(self.lines.line + 1),
                        None,
                        "line longer than limits.max_record_bytes",
                    ));
                }
                Err(LineError::Io(e)) => return Err(e.into()),
            }
            let n = self.lines.line;
            let text = std::str::from_utf8(&self.buf).map_err(|_| text::not_utf8(&self.file, &self.buf, n))?;
            let text = text.trim_end_matches(['\r', '\n']);
            if !text.trim().is_empty() {
                return Ok(Some((n, text.chars().collect())));
            }
        }
    }

    fn is_control(chars: &[char]) -> bool {
        is_control_tabnam(&chars.iter().take(TABNAM_CHARS).collect::<String>())
    }
}

/// The characters of TABNAM, which names a control record.
const TABNAM_CHARS: usize = 10;

fn is_control_tabnam(tabnam: &str) -> bool {
    matches!(tabnam.trim_end(), "EDI_DC40" | "EDI_DC")
}

/// The bytes of a line's start that [`starts_control_record`] needs: fewer only when the line is
/// shorter.
pub const CONTROL_HEAD_BYTES: usize = TABNAM_CHARS;

/// Whether the line whose first bytes (up to [`CONTROL_HEAD_BYTES`], without its line feed) are
/// `head` is a control record, as the reader tells them after decoding, in any ASCII-compatible
/// encoding: a byte below 0x80 at a character's start is that ASCII character in all of them.
/// `None` when a byte above in a line that starts `EDI_DC` leaves it open (a character the reader
/// would trim as white space, such as U+00A0, may pad TABNAM), so a byte scan cannot tell.
pub fn starts_control_record(head: &[u8]) -> Option<bool> {
    let head = &head[..head.len().min(CONTROL_HEAD_BYTES)];
    match std::str::from_utf8(head) {
        Ok(text) if text.is_ascii() => Some(is_control_tabnam(text)),
        _ if head.starts_with(b"EDI_DC") => None,
        _ => Some(false),
    }
}

impl RecordReader for IdocReader<'_> {
    fn next_record(&mut self) -> Result<Option<SourceRecord>, EngineError> {
        let (line, control) = match self.next_control.take() {
            Some(c) => c,
            None => match self.line()? {
                None => return Ok(None),
                Some((n, chars)) if Self::is_control(&chars) => (n, chars),
                Some((n, _)) => {
                    return Err(EngineError::input(
                        &self.file,
                        Some(n),
                        Some(1),
                        "expected an EDI_DC40 control record at the start of an IDoc",
                    ));
                }
            },
        };
        let mut dc = Map::new();
        for (name, from, to) in CONTROL.iter() {
            dc.insert((*name).to_owned(), Value::String(cols(&control, *from, *to)));
        }
        let mut nodes = vec![Segment { name: String::new(), fields: Map::new(), children: Vec::new() }];
        nodes[0].fields.insert("EDI_DC40".into(), Value::Object(dc));
        let mut by_segnum: HashMap<String, usize> = HashMap::new();
        // The latest segment of each type, for the parents the definition names.
        let mut latest: HashMap<String, usize> = HashMap::new();
        // (hierarchy level, node) of the open ancestors, for the HLEVEL fallback.
        let mut levels: Vec<(u32, usize)> = Vec::new();
        while let Some((n, chars)) = self.line()? {
            if Self::is_control(&chars) {
                self.next_control = Some((n, chars));
                break;
            }
            let segnam = cols(&chars, 1, 30);
            let defined = self.definition.as_ref().and_then(|d| d.segments.get(segnam.trim()));
            let name = defined.map_or_else(|| segment_type(&segnam), |d| d.segment_type.clone());
            let segnum = cols(&chars, 50, 55);
            let psgnum = cols(&chars, 56, 61);
            let hlevel: u32 = cols(&chars, 62, 63).trim().parse().unwrap_or(0);
            let sdata: Vec<char> = chars.iter().skip(63).copied().collect();
            let mut fields = Map::new();
            fields.insert("SEGNUM".into(), Value::String(segnum.clone()));
            match (self.defs.get(&name), defined) {
                (Some(defs), _) => {
                    for f in defs {
                        let (a, b) = f.range().map_err(|e| {
                            EngineError::input(&self.file, Some(n), None, format!("input.segments.{name}: {e}"))
                        })?;
                        fields.insert(f.name.clone(), Value::String(cols(&sdata, a + 1, b)));
                    }
                }
                (None, Some(defined)) => {
                    for (field, from, to) in &defined.fields {
                        fields.insert(field.clone(), Value::String(cols(&sdata, *from, *to)));
                    }
                }
                (None, None) => {
                    fields
                        .insert("SDATA".into(), Value::String(sdata.iter().collect::<String>().trim_end().to_owned()));
                }
            }
            // The definition's tree first: the latest segment of the parent type.
            let by_definition = match self.definition.as_ref().and_then(|d| d.parents.get(&name)) {
                Some(None) => Some(0),
                Some(Some(parent)) => latest.get(parent).copied(),
                None => None,
            };
            // PSGNUM 000000 means top level; blank or unknown PSGNUMs fall back to HLEVEL.
            let explicit = if !psgnum.is_empty() && psgnum.bytes().all(|b| b.is_ascii_digit()) {
                if psgnum.bytes().all(|b| b == b'0') { Some(0) } else { by_segnum.get(&psgnum).copied() }
            } else {
                None
            };
            let parent = match by_definition.or(explicit) {
                Some(p) => p,
                None => {
                    while levels.last().is_some_and(|(l, _)| *l >= hlevel && hlevel > 0) {
                        levels.pop();
                    }
                    levels.last().map_or(0, |(_, i)| *i)
                }
            };
            nodes.push(Segment { name, fields, children: Vec::new() });
            let id = nodes.len() - 1;
            nodes[parent].children.push(id);
            by_segnum.insert(segnum, id);
            latest.insert(nodes[id].name.clone(), id);
            if hlevel > 0 {
                while levels.last().is_some_and(|(l, _)| *l >= hlevel) {
                    levels.pop();
                }
                levels.push((hlevel, id));
            }
        }
        Ok(Some(SourceRecord { data: Data::Tree(to_json(&mut nodes, 0)), line, problem: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pad(s: &str, n: usize) -> String {
        format!("{s:<n$}")
    }

    fn data(seg: &str, segnum: u32, parent: u32, level: u32, sdata: &str) -> String {
        format!(
            "{}{}{}{:06}{:06}{:02}{}",
            pad(seg, 30),
            "800",
            pad("0000000000001234", 16),
            segnum,
            parent,
            level,
            sdata
        )
    }

    #[test]
    fn builds_the_segment_tree() {
        let control = pad("EDI_DC40", 10)
            + "800"
            + "0000000000001234"
            + &" ".repeat(10)
            + &pad("ORDERS05", 30)
            + &" ".repeat(30)
            + "ORDERS";
        let text = [
            control,
            data("E2EDK01005", 1, 0, 1, "EUR"),
            data("E2EDP01007", 2, 0, 2, "000010"),
            data("E2EDP19003", 3, 2, 3, "002MAT-1"),
            data("E2EDP01007", 4, 0, 2, "000020"),
        ]
        .join("\n");
        let opts: SegmentDefs =
            [("E1EDP01".to_owned(), vec![FixedField { name: "POSEX".into(), start: 1, length: Some(6), end: None }])]
                .into();
        let mut r = IdocReader::new(Lines::new(Box::new(text.as_bytes()), 1 << 20), "o.idoc".into(), &opts, None);
        let rec = r.next_record().unwrap().unwrap();
        let Data::Tree(v) = rec.data else { unreachable!() };
        assert_eq!(v["EDI_DC40"]["IDOCTYP"], "ORDERS05");
        assert_eq!(v["EDI_DC40"]["MESTYP"], "ORDERS");
        assert_eq!(v["E1EDK01"][0]["SDATA"], "EUR");
        assert_eq!(v["E1EDP01"][0]["POSEX"], "000010");
        assert_eq!(v["E1EDP01"][0]["E1EDP19"][0]["SDATA"], "002MAT-1");
        assert_eq!(v["E1EDP01"][1]["POSEX"], "000020");
        assert!(r.next_record().unwrap().is_none());
    }

    #[test]
    fn a_byte_scan_tells_control_records_as_the_reader_does() {
        let control =
            |line: &str| IdocReader::is_control(&line.trim_end_matches(['\r', '\n']).chars().collect::<Vec<_>>());
        for line in [
            "EDI_DC40  8000000000001234",
            "EDI_DC40",
            "EDI_DC40\r",
            "EDI_DC    800",
            "EDI_DC",
            "EDI_DC4",
            "EDI_DC40X 800",
            " EDI_DC40",
            "E2EDK01005                    800",
            "",
            "\r",
            "EDI_D\u{e9}C40",
            "\u{e9}DI_DC40",
        ] {
            assert_eq!(starts_control_record(line.as_bytes()), Some(control(line)), "{line:?}");
        }
        // TABNAM padded with a no-break space is a control record to the reader; a byte scan
        // cannot tell it from text, in UTF-8 or in a single-byte encoding.
        assert!(control("EDI_DC40\u{a0}\u{a0}800"));
        assert_eq!(starts_control_record("EDI_DC40\u{a0}\u{a0}800".as_bytes()), None);
        assert_eq!(starts_control_record(b"EDI_DC40\xA0\xA0800"), None);
        assert_eq!(starts_control_record(b"EDI_DC\xFF"), None);
    }

    #[test]
    fn a_definition_names_its_faults_by_line() {
        let e = IdocDefinition::parse("BEGIN_SEGMENT_SECTION\nBEGIN_SEGMENT E2X\nBEGIN_FIELDS\nNAME A\nCHARACTER_FIRST 000010\nCHARACTER_LAST 000012\nEND_FIELDS\n").unwrap_err();
        assert_eq!(e, "line 7: field A lies outside SDATA (columns 10–12)");
        let e =
            IdocDefinition::parse("BEGIN_SEGMENT_SECTION\nBEGIN_SEGMENT E2X\nNAME A\nCHARACTER_FIRST x\n").unwrap_err();
        assert_eq!(e, "line 4: `x` is not a number");
        assert!(IdocDefinition::parse("ORDERS05").unwrap_err().starts_with("no segment found"));
        assert_eq!(
            IdocDefinition::parse("BEGIN_SEGMENT_SECTION\nEND_GROUP\n").unwrap_err(),
            "line 2: END_GROUP without BEGIN_GROUP"
        );
    }
}
