//! Results as tables: CSV for spreadsheets, Parquet for the lakehouses data teams load results
//! into. The run writes its records as NDJSON into a [`TableWriter`], which turns each line into
//! a row as it comes, so a table costs no more memory than a row group.
//!
//! The columns come from the target schema's properties, in their order (nested objects as
//! `parent.child` columns in CSV, as structs in Parquet); without a schema, from the first
//! records. A record with a field the columns lack fails the run, naming the field: a table
//! never drops a value silently.

use std::io::{self, Write};
use std::sync::Arc;

use arrow_json::reader::{Decoder, ReaderBuilder, infer_json_schema_from_iterator};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value};

use crate::error::EngineError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Parquet,
}

impl TableFormat {
    pub fn extension(self) -> &'static str {
        match self {
            TableFormat::Csv => "csv",
            TableFormat::Parquet => "parquet",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            TableFormat::Csv => "text/csv",
            TableFormat::Parquet => "application/vnd.apache.parquet",
        }
    }
}

/// Records read to decide the columns when there is no target schema.
const SAMPLE_RECORDS: usize = 1000;
/// Rows per Arrow batch handed to the Parquet writer (its row groups hold up to a million).
const BATCH_ROWS: usize = 8192;

/// Turns NDJSON records, written to it line by line, into a table written to `W`.
pub struct TableWriter<W: Write + Send> {
    table: Table<W>,
    /// The start of a line not yet ended.
    partial: Vec<u8>,
    /// Records before the current one.
    records: u64,
}

enum Table<W: Write + Send> {
    Csv(CsvTable<W>),
    Parquet(ParquetTable<W>),
}

impl<W: Write + Send> TableWriter<W> {
    /// `schema`: the target JSON Schema, when the run has one.
    pub fn new(format: TableFormat, schema: Option<&Value>, out: W) -> Result<Self, EngineError> {
        let table = match format {
            TableFormat::Csv => Table::Csv(CsvTable::new(schema.map(csv_columns), out)),
            TableFormat::Parquet => Table::Parquet(ParquetTable::new(schema.map(arrow_schema), out)),
        };
        Ok(TableWriter { table, partial: Vec::new(), records: 0 })
    }

    /// Writes what is buffered and the table's end (Parquet's footer); returns the output.
    pub fn finish(mut self) -> Result<W, EngineError> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.row(&line).map_err(EngineError::from)?;
        }
        match self.table {
            Table::Csv(t) => t.finish(),
            Table::Parquet(t) => t.finish(),
        }
        .map_err(EngineError::from)
    }

    fn row(&mut self, line: &[u8]) -> io::Result<()> {
        let line = line.trim_ascii();
        if line.is_empty() {
            return Ok(());
        }
        self.records += 1;
        let record = self.records;
        match &mut self.table {
            Table::Csv(t) => t.row(line, record),
            Table::Parquet(t) => t.row(line, record),
        }
    }
}

/// A record the table cannot hold, carried through `Write` as an I/O error's payload: the run
/// turns it into [`EngineError::Output`].
#[derive(Debug)]
pub(crate) struct TableFault(String);

impl std::fmt::Display for TableFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TableFault {}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, TableFault(message))
}

impl<W: Write + Send> Write for TableWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            if self.partial.is_empty() {
                self.row(&rest[..end])?;
            } else {
                self.partial.extend_from_slice(&rest[..end]);
                let line = std::mem::take(&mut self.partial);
                self.row(&line)?;
            }
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A CSV column: its header and the path of object keys to its value.
struct Column {
    name: String,
    path: Vec<String>,
}

/// Columns of a schema's properties: nested objects with properties become `a.b` columns.
fn csv_columns(schema: &Value) -> Vec<Column> {
    fn walk(properties: &Map<String, Value>, path: &mut Vec<String>, out: &mut Vec<Column>) {
        for (name, property) in properties {
            path.push(name.clone());
            match property.get("properties").and_then(Value::as_object) {
                Some(nested) if !nested.is_empty() => walk(nested, path, out),
                _ => out.push(Column { name: path.join("."), path: path.clone() }),
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        walk(properties, &mut Vec::new(), &mut out);
    }
    out
}

/// Columns of a record: its keys, nested objects flattened the same way.
fn record_columns(record: &Map<String, Value>) -> Vec<Column> {
    fn walk(object: &Map<String, Value>, path: &mut Vec<String>, out: &mut Vec<Column>) {
        for (name, value) in object {
            path.push(name.clone());
            match value {
                Value::Object(nested) if !nested.is_empty() => walk(nested, path, out),
                _ => out.push(Column { name: path.join("."), path: path.clone() }),
            }
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(record, &mut Vec::new(), &mut out);
    out
}

struct CsvTable<W: Write> {
    /// `None` until the first record when there is no schema.
    columns: Option<Vec<Column>>,
    writer: csv::Writer<W>,
    cells: Vec<String>,
}

impl<W: Write> CsvTable<W> {
    fn new(columns: Option<Vec<Column>>, out: W) -> Self {
        let mut table = CsvTable { columns: None, writer: csv::Writer::from_writer(out), cells: Vec::new() };
        if let Some(columns) = columns {
            table.start(columns).expect("a header into a fresh writer's buffer");
        }
        table
    }

    fn start(&mut self, columns: Vec<Column>) -> io::Result<()> {
        self.writer.write_record(columns.iter().map(|c| c.name.as_str())).map_err(csv_error)?;
        self.columns = Some(columns);
        Ok(())
    }

    fn row(&mut self, line: &[u8], record: u64) -> io::Result<()> {
        let value: Value =
            serde_json::from_slice(line).map_err(|e| invalid(format!("result record {record} is not JSON: {e}")))?;
        let Value::Object(object) = value else {
            return Err(invalid(format!("result record {record} is not an object: a CSV row needs named fields")));
        };
        if self.columns.is_none() {
            self.start(record_columns(&object))?;
        }
        let columns = self.columns.as_ref().expect("started");
        self.cells.clear();
        for column in columns {
            let (first, rest) = column.path.split_first().expect("a column has a name");
            let value = rest.iter().try_fold(object.get(first), |v, key| Ok::<_, ()>(v.and_then(|v| v.get(key))));
            self.cells.push(match value.ok().flatten() {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            });
        }
        if let Some(extra) = extra_field(&object, columns) {
            return Err(invalid(format!(
                "result record {record} has a field `{extra}` that is not a column of the CSV (its columns come from the \
                 target schema's properties, or from the first record): add it to the schema"
            )));
        }
        self.writer.write_record(&self.cells).map_err(csv_error)
    }

    fn finish(self) -> io::Result<W> {
        self.writer.into_inner().map_err(|e| e.into_error())
    }
}

/// The first field of `object` (as a dotted path) that no column holds.
fn extra_field(object: &Map<String, Value>, columns: &[Column]) -> Option<String> {
    fn walk(object: &Map<String, Value>, path: &mut Vec<String>, columns: &[Column]) -> Option<String> {
        for (name, value) in object {
            path.push(name.clone());
            let exact = columns.iter().any(|c| c.path == *path);
            let above = columns.iter().any(|c| c.path.len() > path.len() && c.path.starts_with(path));
            let found = match value {
                _ if exact => None,
                Value::Object(nested) if above => walk(nested, path, columns),
                Value::Null => None,
                _ => Some(path.join(".")),
            };
            path.pop();
            if found.is_some() {
                return found;
            }
        }
        None
    }
    walk(object, &mut Vec::new(), columns)
}

fn csv_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => invalid(format!("{other:?}")),
    }
}

/// The Arrow schema of a JSON Schema's properties. Fields are nullable unless required and
/// not allowing null; a property whose type cannot be told is text.
fn arrow_schema(schema: &Value) -> SchemaRef {
    Arc::new(Schema::new(struct_fields(schema)))
}

fn struct_fields(schema: &Value) -> Fields {
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let properties = schema.get("properties").and_then(Value::as_object);
    properties
        .into_iter()
        .flatten()
        .map(|(name, property)| {
            let (data_type, allows_null) = arrow_type(property);
            Field::new(name, data_type, allows_null || !required.contains(&name.as_str()))
        })
        .collect()
}

/// A property's Arrow type, and whether its JSON type allows null.
fn arrow_type(property: &Value) -> (DataType, bool) {
    let types: Vec<&str> = match property.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let allows_null = types.is_empty() || types.contains(&"null");
    let concrete: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    let data_type = match concrete.as_slice() {
        ["integer"] => DataType::Int64,
        ["number"] | ["integer", "number"] | ["number", "integer"] => DataType::Float64,
        ["boolean"] => DataType::Boolean,
        ["string"] => match property.get("format").and_then(Value::as_str) {
            Some("date") => DataType::Date32,
            Some("date-time") => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            _ => DataType::Utf8,
        },
        ["object"] if property.get("properties").is_some() => DataType::Struct(struct_fields(property)),
        ["array"] => {
            let (item, _) = property.get("items").map_or((DataType::Utf8, true), arrow_type);
            DataType::List(Arc::new(Field::new("item", item, true)))
        }
        _ => DataType::Utf8,
    };
    (data_type, allows_null)
}

struct ParquetTable<W: Write + Send> {
    /// Records held back to infer the columns from, when there is no schema.
    sample: Vec<Vec<u8>>,
    schema: Option<SchemaRef>,
    /// Decoder and writer, once the schema is known.
    running: Option<(Decoder, ArrowWriter<W>)>,
    out: Option<W>,
}

impl<W: Write + Send> ParquetTable<W> {
    fn new(schema: Option<SchemaRef>, out: W) -> Self {
        ParquetTable { sample: Vec::new(), schema, running: None, out: Some(out) }
    }

    fn start(&mut self) -> io::Result<()> {
        let schema = match self.schema.clone() {
            Some(schema) => schema,
            None => {
                let values = self.sample.iter().map(|line| {
                    serde_json::from_slice::<Value>(line)
                        .map_err(|e| arrow_schema::ArrowError::JsonError(e.to_string()))
                });
                Arc::new(infer_json_schema_from_iterator(values).map_err(|e| invalid(e.to_string()))?)
            }
        };
        let decoder = ReaderBuilder::new(schema.clone())
            .with_batch_size(BATCH_ROWS)
            .with_strict_mode(true)
            .build_decoder()
            .map_err(|e| invalid(e.to_string()))?;
        let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let out = self.out.take().expect("started once");
        let writer = ArrowWriter::try_new(out, schema, Some(properties)).map_err(parquet_error)?;
        self.running = Some((decoder, writer));
        for (i, line) in std::mem::take(&mut self.sample).iter().enumerate() {
            self.decode(line, i as u64 + 1)?;
        }
        Ok(())
    }

    fn row(&mut self, line: &[u8], record: u64) -> io::Result<()> {
        if self.running.is_none() {
            if self.schema.is_none() && self.sample.len() < SAMPLE_RECORDS {
                self.sample.push(line.to_vec());
                return Ok(());
            }
            self.start()?;
        }
        self.decode(line, record)
    }

    fn decode(&mut self, line: &[u8], record: u64) -> io::Result<()> {
        let (decoder, writer) = self.running.as_mut().expect("started");
        let mut rest = line;
        loop {
            let read = decoder.decode(rest).map_err(|e| unfit(&e, Some(record)))?;
            rest = &rest[read..];
            if rest.is_empty() && decoder.len() < BATCH_ROWS {
                return Ok(());
            }
            // A batch's faults show when it is flushed: they name the batch's last record.
            if let Some(batch) = decoder.flush().map_err(|e| unfit(&e, Some(record)))? {
                writer.write(&batch).map_err(parquet_error)?;
            }
            if rest.is_empty() {
                return Ok(());
            }
        }
    }

    fn finish(mut self) -> io::Result<W> {
        if self.running.is_none() {
            self.start()?;
        }
        let (mut decoder, mut writer) = self.running.take().expect("started");
        if let Some(batch) = decoder.flush().map_err(|e| unfit(&e, None))? {
            writer.write(&batch).map_err(parquet_error)?;
        }
        writer.into_inner().map_err(parquet_error)
    }
}

/// A record the Parquet columns cannot hold; `at`: the last record read when it showed.
fn unfit(e: &arrow_schema::ArrowError, at: Option<u64>) -> io::Error {
    let which = at.map_or_else(|| "a result record".to_owned(), |n| format!("result records up to {n}"));
    invalid(format!(
        "{which}: a value does not fit the Parquet columns (from the target schema's properties, or from the first \
         records): {e}"
    ))
}

fn parquet_error(e: parquet::errors::ParquetError) -> io::Error {
    match e {
        parquet::errors::ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(io) => *io,
            Err(other) => invalid(other.to_string()),
        },
        other => invalid(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(format: TableFormat, schema: Option<Value>, ndjson: &str) -> Result<Vec<u8>, EngineError> {
        let mut w = TableWriter::new(format, schema.as_ref(), Vec::new())?;
        // In pieces that cut lines, as the run's buffered writes do.
        for piece in ndjson.as_bytes().chunks(7) {
            w.write_all(piece).map_err(EngineError::from)?;
        }
        w.finish()
    }

    #[test]
    fn csv_columns_follow_the_schema_and_flatten_objects() {
        let schema = serde_json::json!({"properties": {
            "id": {"type": "string"}, "customer": {"type": "object", "properties": {"name": {}, "city": {}}},
            "lines": {"type": "array"}, "note": {"type": ["string", "null"]}}});
        let ndjson = "{\"id\":\"1\",\"customer\":{\"name\":\"Anna, \\\"A\\\"\",\"city\":\"Köln\"},\"lines\":[1,2],\"note\":null}\n\
                      {\"customer\":{\"city\":\"Bonn\"},\"id\":\"2\",\"lines\":[]}\n";
        let out = String::from_utf8(table(TableFormat::Csv, Some(schema), ndjson).unwrap()).unwrap();
        assert_eq!(
            out,
            "id,customer.name,customer.city,lines,note\n1,\"Anna, \"\"A\"\"\",Köln,\"[1,2]\",\n2,,Bonn,[],\n"
        );
    }

    #[test]
    fn csv_without_a_schema_takes_the_first_records_columns_and_refuses_a_new_one() {
        let out = table(TableFormat::Csv, None, "{\"a\":1,\"b\":{\"c\":true}}\n{\"a\":2}\n").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a,b.c\n1,true\n2,\n");
        let e = table(TableFormat::Csv, None, "{\"a\":1}\n{\"a\":2,\"z\":3}\n").unwrap_err().to_string();
        assert!(e.contains("result record 2 has a field `z`"), "{e}");
    }

    #[test]
    fn parquet_starts_with_its_magic_and_refuses_a_field_the_schema_lacks() {
        let schema = serde_json::json!({"required": ["id"], "properties": {"id": {"type": "integer"}, "day": {"type": "string", "format": "date"}}});
        let out = table(TableFormat::Parquet, Some(schema.clone()), "{\"id\":1,\"day\":\"2024-03-01\"}\n{\"id\":2}\n")
            .unwrap();
        assert!(out.starts_with(b"PAR1") && out.ends_with(b"PAR1"), "{} bytes", out.len());
        let e = table(TableFormat::Parquet, Some(schema), "{\"id\":1,\"other\":2}\n").unwrap_err().to_string();
        assert!(e.contains("does not fit the Parquet columns") && e.contains("'other' missing"), "{e}");
        let empty = table(TableFormat::Parquet, None, "").unwrap();
        assert!(empty.starts_with(b"PAR1"), "an empty table is still a Parquet file");
    }
}
