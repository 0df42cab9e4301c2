//! XML → JSON records, streamed with quick-xml. Generic XML: every `record_element` (default:
//! each child of the root) becomes a record; attributes become `@name`, text-only elements
//! strings, repeated elements arrays. IDoc XML: every `IDOC` becomes the same segment tree as
//! a flat IDoc (segments — elements with a SEGMENT attribute — always in arrays).

use std::cell::Cell;
use std::io::BufRead;
use std::rc::Rc;
use std::sync::Arc;

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Map, Value};

use super::{Limits, RecordReader};
use crate::error::EngineError;
use crate::record::{Data, SourceRecord};

/// Counts the lines the XML parser has consumed, so records get exact start lines.
struct LineCounter<R> {
    inner: R,
    line: Rc<Cell<u64>>,
}

impl<R: BufRead> std::io::Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.line.set(self.line.get() + memchr::memchr_iter(b'\n', &buf[..n]).count() as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            self.line.set(self.line.get() + memchr::memchr_iter(b'\n', &buf[..amt.min(buf.len())]).count() as u64);
        }
        self.inner.consume(amt);
    }
}

struct Frame {
    name: String,
    map: Map<String, Value>,
    text: String,
    segment: bool,
}

pub struct XmlReader<'a> {
    reader: Reader<LineCounter<Box<dyn BufRead + 'a>>>,
    line: Rc<Cell<u64>>,
    file: Arc<str>,
    /// None: each child of the root element.
    record_element: Option<String>,
    idoc: bool,
    limits: Limits,
    depth: usize,
}

impl<'a> XmlReader<'a> {
    pub fn new(
        input: Box<dyn BufRead + 'a>,
        file: Arc<str>,
        record_element: Option<String>,
        idoc: bool,
        limits: Limits,
    ) -> Self {
        let line = Rc::new(Cell::new(1));
        let reader = Reader::from_reader(LineCounter { inner: input, line: line.clone() });
        let record_element = if idoc { Some("IDOC".to_owned()) } else { record_element };
        XmlReader { reader, line, file, record_element, idoc, limits, depth: 0 }
    }

    fn err(&self, message: String) -> EngineError {
        EngineError::input(&self.file, Some(self.line.get()), None, message)
    }

    fn close(&self, mut frame: Frame, parent: &mut Map<String, Value>) {
        // IDoc fields are fixed-width text: leading blanks can be data (a right-aligned number),
        // trailing ones are padding. Elsewhere both ends are the document's indentation.
        let text = if self.idoc { frame.text.trim_end() } else { frame.text.trim() };
        let value = if frame.map.is_empty() {
            Value::String(text.to_owned())
        } else {
            let mut map = frame.map;
            if !text.trim_start().is_empty() {
                map.insert("#text".into(), Value::String(text.to_owned()));
            }
            Value::Object(map)
        };
        if self.idoc && frame.segment {
            // Named by segment type, as flat IDocs are: `E2EDK01005` → `E1EDK01`.
            frame.name = super::idoc::segment_type(&frame.name);
        }
        let as_list = self.idoc && frame.segment && frame.name != "EDI_DC40";
        match parent.get_mut(&frame.name) {
            Some(Value::Array(items)) if as_list || !self.idoc => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None if as_list => {
                parent.insert(frame.name, Value::Array(vec![value]));
            }
            None => {
                parent.insert(frame.name, value);
            }
        }
    }
}

impl RecordReader for XmlReader<'_> {
    fn next_record(&mut self) -> Result<Option<SourceRecord>, EngineError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut start_line = 0;
        let mut size = 0usize;
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let line_before = self.line.get();
            let event = match self.reader.read_event_into(&mut buf) {
                Ok(e) => e,
                Err(e) => return Err(self.err(format!("invalid XML: {e}"))),
            };
            let empty = matches!(event, Event::Empty(_));
            match event {
                Event::Start(e) | Event::Empty(e) => {
                    let name = e.name().as_ref().to_owned();
                    if !empty {
                        self.depth += 1;
                    }
                    if self.depth > self.limits.max_depth {
                        return Err(self.err(format!(
                            "XML nested deeper than {} levels (limits.max_depth)",
                            self.limits.max_depth
                        )));
                    }
                    let starts_record = stack.is_empty()
                        && match &self.record_element {
                            Some(r) => *r == name,
                            None => self.depth == 2 || (empty && self.depth == 1),
                        };
                    if stack.is_empty() && !starts_record {
                        continue;
                    }
                    if starts_record {
                        start_line = line_before;
                    }
                    let mut frame = Frame { name, map: Map::new(), text: String::new(), segment: false };
                    for attr in e.attributes().flatten() {
                        let key = attr.key.as_ref().to_owned();
                        if self.idoc && (key == "SEGMENT" || key == "BEGIN") {
                            frame.segment = true;
                            continue;
                        }
                        let value = attr
                            .normalized_value(quick_xml::XmlVersion::default())
                            .map_err(|e| self.err(format!("invalid XML attribute: {e}")))?;
                        size += value.len();
                        frame.map.insert(format!("@{key}"), Value::String(value.into_owned()));
                    }
                    stack.push(frame);
                    if empty {
                        let done = stack.pop().expect("just pushed");
                        match stack.last_mut() {
                            Some(parent) => {
                                let mut map = std::mem::take(&mut parent.map);
                                self.close(done, &mut map);
                                stack.last_mut().expect("parent").map = map;
                            }
                            None => return Ok(Some(self.record(done, start_line))),
                        }
                    }
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    let Some(done) = stack.pop() else { continue };
                    match stack.last_mut() {
                        Some(parent) => {
                            let mut map = std::mem::take(&mut parent.map);
                            self.close(done, &mut map);
                            stack.last_mut().expect("parent").map = map;
                        }
                        None => return Ok(Some(self.record(done, start_line))),
                    }
                }
                Event::Text(t) => {
                    if let Some(f) = stack.last_mut() {
                        let text = t.xml10_content();
                        size += text.len();
                        f.text.push_str(&text);
                    }
                }
                Event::CData(c) => {
                    if let Some(f) = stack.last_mut() {
                        let text = c.to_string();
                        size += text.len();
                        f.text.push_str(&text);
                    }
                }
                Event::GeneralRef(r) => {
                    if let Some(f) = stack.last_mut() {
                        let c = match r.resolve_char_ref() {
                            Ok(Some(c)) => c,
                            _ => match &*r {
                                "amp" => '&',
                                "lt" => '<',
                                "gt" => '>',
                                "quot" => '"',
                                "apos" => '\'',
                                other => return Err(self.err(format!("unknown XML entity `&{other};`"))),
                            },
                        };
                        f.text.push(c);
                    }
                }
                Event::Eof => {
                    if !stack.is_empty() {
                        return Err(self.err("the XML document ends inside a record (unclosed element)".into()));
                    }
                    return Ok(None);
                }
                _ => {}
            }
            if size > self.limits.max_record_bytes {
                return Err(self.err(format!(
                    "XML record larger than {} bytes (limits.max_record_bytes)",
                    self.limits.max_record_bytes
                )));
            }
        }
    }
}

impl XmlReader<'_> {
    fn record(&self, frame: Frame, line: u64) -> SourceRecord {
        let mut holder = Map::new();
        let name = frame.name.clone();
        self.close(frame, &mut holder);
        let mut value = holder.remove(&name).unwrap_or(Value::Null);
        if let (false, Value::Array(mut a)) = (self.idoc, value.clone()) {
            value = a.pop().unwrap_or(Value::Null);
        }
        if let (true, Value::Array(mut a)) = (self.idoc, value.clone()) {
            value = a.pop().unwrap_or(Value::Null);
        }
        SourceRecord { data: Data::Tree(value), line, problem: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, record: Option<&str>, idoc: bool) -> Vec<(u64, Value)> {
        let mut r = XmlReader::new(
            Box::new(text.as_bytes()),
            "x.xml".into(),
            record.map(str::to_owned),
            idoc,
            Limits::default(),
        );
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            let Data::Tree(v) = rec.data else { unreachable!() };
            out.push((rec.line, v));
        }
        out
    }

    #[test]
    fn generic_xml() {
        let recs = read(
            "<orders>\n <order id=\"1\"><item>a</item><item>b &amp; c</item></order>\n <order id=\"2\"/>\n</orders>",
            None,
            false,
        );
        assert_eq!(recs[0], (2, serde_json::json!({"@id": "1", "item": ["a", "b & c"]})));
        assert_eq!(recs[1], (3, serde_json::json!({"@id": "2"})));
    }

    #[test]
    fn idoc_xml_sample() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/idoc/orders05.xml")).unwrap();
        let recs = read(&text, None, true);
        assert_eq!(recs.len(), 1);
        let v = &recs[0].1;
        assert_eq!(v["EDI_DC40"]["IDOCTYP"], "ORDERS05");
        assert!(v["E1EDK14"].as_array().unwrap().len() > 1);
        assert!(v["E1EDP01"][0]["E1EDP19"].is_array());
    }

    #[test]
    fn idoc_xml_segments_go_by_type_and_values_keep_leading_blanks() {
        let text = "<ORDERS05><IDOC BEGIN=\"1\"><EDI_DC40 SEGMENT=\"1\"><DOCNUM>17</DOCNUM></EDI_DC40>\
                    <E2EDK01005 SEGMENT=\"1\"><BELNR>  4711   </BELNR></E2EDK01005></IDOC></ORDERS05>";
        let recs = read(text, None, true);
        assert_eq!(recs[0].1["E1EDK01"], serde_json::json!([{"BELNR": "  4711"}]));
        assert_eq!(recs[0].1["EDI_DC40"]["DOCNUM"], "17");
    }
}
