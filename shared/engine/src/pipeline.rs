//! A run: read units on the calling thread, map + validate + serialise batches on worker
//! threads, write results in input order. Memory stays bounded by the batches in flight. CSV is
//! only split into chunks of whole records on the calling thread and parsed on the workers, so
//! the reading thread does not bound the throughput.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::mpsc::{self, TrySendError};
use std::sync::{Arc, Mutex};

use bumpalo::Bump;
use serde_json::Value;

use crate::context::{OutputFormat, Plan};
use crate::direct::{FieldMemo, Shape};
use crate::error::EngineError;
use crate::formats::Chunk;
use crate::formats::{self, InputReading, RecordReader};
use crate::mapping::fast::{Columns, FVal};
use crate::mapping::jinja::{self, LookupTable};
use crate::mapping::{self, Evaluator, Field, LazyScope, columns_for};
use crate::record::{Data, Header, Row, SourceRecord, Unit};
use crate::slots::{Scalar, Slots};
use crate::validate::{Scratch, ShapeCheck};
use crate::{Limits, Reject, Source, Summary, Transformation, Warning};

const BATCH: usize = 512;
/// Records the direct path maps before it writes them (see [`map_direct`]). On the bench
/// mapping, 4 and 8 took 6-8 % less CPU than one record at a time, 32 only 3 %: the values of
/// more records leave the data cache before they are written.
const PASS: usize = 8;
/// Records per chunk of a table: larger than a batch, so the reading thread wakes up less often.
const CHUNK: usize = 2048;
/// Output one batch collects before it is handed on: the records of its work not mapped yet
/// follow in a batch of their own. With the batches waiting to be written bounded too (see
/// `Run::feed`), a job buffers at most a few batches per thread of output, whatever its
/// records make.
const BATCH_BYTES: usize = 8 << 20;
/// Output a run on one thread gathers before it writes: a write of a batch (about 130 KiB on the
/// bench) costs the file system more per byte than fewer, larger ones, and the batches are
/// appended in place, so gathering them copies nothing.
const WRITE_BYTES: usize = 1 << 20;
/// Violations reported per rejected record.
const MAX_VIOLATIONS: usize = 10;

#[derive(Default)]
struct Counts {
    records_in: u64,
    out: u64,
    rejected: u64,
    filtered: u64,
}

#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    rejects: Vec<Reject>,
    counts: Counts,
    /// The records of the work that were not mapped, the batch being full ([`BATCH_BYTES`]):
    /// they follow this batch.
    rest: Vec<Unit>,
    /// An error that ends the run, after the batch's records (and its `rest`) before it.
    fatal: Option<EngineError>,
}

/// A batch's place in the output: the work's sequence number, and the part of its work (a
/// batch with a `rest` is followed by the part of that rest).
type Key = (u64, u32);

/// Byte buffers that travel between the reading thread and the workers (chunks one way, result
/// batches the other), kept for reuse: a buffer freed on another thread than the one that
/// allocated it is not reused there, so every chunk and batch would take fresh, kernel-zeroed
/// pages. Chunks and batches have pools of their own, so a buffer keeps the size its use needs.
#[derive(Default)]
struct Buffers {
    chunks: Spares,
    batches: Spares,
}

#[derive(Default)]
struct Spares(Mutex<Vec<Vec<u8>>>);

impl Spares {
    /// Spares kept: enough for the buffers in flight.
    const KEEP: usize = 64;

    fn take(&self) -> Vec<u8> {
        self.0.lock().ok().and_then(|mut spares| spares.pop()).unwrap_or_default()
    }

    fn give(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        if let Ok(mut spares) = self.0.lock()
            && spares.len() < Self::KEEP
        {
            spares.push(buffer);
        }
    }
}

/// What the reading thread hands to a worker.
enum Work {
    Units(Vec<Unit>),
    Chunk {
        chunk: Chunk,
        input: Arc<str>,
        first_index: u64,
    },
    /// The rest of a full batch, and the error that came after it.
    Rest {
        units: Vec<Unit>,
        fatal: Option<EngineError>,
    },
}

/// Column names listed in a header mismatch.
const LISTED_COLUMNS: usize = 20;

/// Per-thread state: the column resolution of the last header seen.
#[derive(Default)]
struct Worker {
    header: Option<Arc<Header>>,
    columns: Columns,
    /// The direct path's validation state.
    scratch: Scratch,
    /// This thread's copies of the shared header and input name of CSV chunks (keyed by the
    /// shared ones): every row clones them, and a shared reference count would bounce between
    /// cores on every record.
    own_header: Option<(Arc<Header>, Arc<Header>)>,
    own_input: Option<(Arc<str>, Arc<str>)>,
    /// This thread's copy of the direct path's shape check (`None` until first used).
    own_check: Option<Option<ShapeCheck>>,
    /// The direct path's slots and fields' values, kept empty between batches for their
    /// allocations.
    slots: Vec<Option<Scalar<'static>>>,
    values: Vec<Option<FVal<'static>>>,
    /// The direct path's memos of fields' values from the record before, kept empty between
    /// batches for their allocation, and the arena of the texts they make.
    memos: Vec<FieldMemo<'static>>,
    arena: Bump,
    /// The rows of the last CSV chunk, whose buffers the next chunk's records take.
    spare_rows: Vec<Row>,
}

impl Worker {
    fn own_copies(&mut self, header: &Arc<Header>, input: &Arc<str>) -> (Arc<Header>, Arc<str>) {
        (
            own_copy(&mut self.own_header, header, |h| Arc::new(Header::clone(h))),
            own_copy(&mut self.own_input, input, |i| Arc::from(&**i)),
        )
    }

    fn columns(&mut self, plan: &Plan, data: &Data) -> &Columns {
        if let Data::Row(row) = data
            && !self.header.as_ref().is_some_and(|h| Arc::ptr_eq(h, &row.header))
        {
            self.header = Some(row.header.clone());
            self.columns = columns_for(&plan.vars, data);
        }
        &self.columns
    }
}

fn own_copy<T: ?Sized>(
    slot: &mut Option<(Arc<T>, Arc<T>)>,
    shared: &Arc<T>,
    copy: impl FnOnce(&Arc<T>) -> Arc<T>,
) -> Arc<T> {
    match slot {
        Some((s, own)) if Arc::ptr_eq(s, shared) => own.clone(),
        _ => slot.insert((shared.clone(), copy(shared))).1.clone(),
    }
}

fn evaluator(plan: &Plan) -> Evaluator<'_> {
    Evaluator {
        jinja: &plan.jinja,
        vars: &plan.vars,
        maps: &plan.maps,
        group_var: plan.group.as_ref().map_or("items", |g| g.var.as_str()),
        bound: jinja::value_bound(&plan.limits),
    }
}

fn meta(unit: &Unit) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(
        serde_json::json!({"input": &*unit.input, "line": unit.record.line, "index": unit.index}),
    ))
}

/// Maps, casts and validates one unit: the target record, or its rejects.
fn transform(
    t: &Transformation,
    worker: &mut Worker,
    unit: &Unit,
) -> Result<Option<Value>, Vec<(String, String, String)>> {
    let plan = &t.plan;
    if let Some(problem) = &unit.record.problem {
        return Err(vec![(String::new(), "format".into(), problem.clone())]);
    }
    let columns = worker.columns(plan, &unit.record.data);
    let ev = evaluator(plan);
    let meta_fn = || meta(unit);
    let mut scope = LazyScope::new(&unit.record.data, unit.items.as_deref(), None, &meta_fn);
    if let Some(f) = &plan.filter {
        match ev.truth(f, columns, &mut scope) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => return Err(vec![(String::new(), "filter".into(), e)]),
        }
    }
    let mut value = match &plan.mapping {
        Some(m) => match ev.map(m, columns, &mut scope, "") {
            Ok(obj) => Value::Object(obj),
            Err((pointer, message)) => return Err(vec![(pointer, "mapping".into(), message)]),
        },
        None => {
            let mut v = unit.record.data.to_json();
            if let (Some(items), Value::Object(obj)) = (&unit.items, &mut v) {
                obj.insert(ev.group_var.to_owned(), Value::Array(items.iter().map(|r| r.data.to_json()).collect()));
            }
            v
        }
    };
    if let Some(target) = &t.target {
        if plan.casts {
            target.cast(&mut value);
        }
        if !target.is_valid(&value) {
            return Err(target
                .violations(&value, MAX_VIOLATIONS)
                .into_iter()
                .map(|v| (v.pointer, v.keyword, v.message))
                .collect());
        }
    }
    Ok(Some(value))
}

/// What the direct path's first pass made of a record (see [`map_direct`]).
enum Pass {
    /// Mapped and valid: its slots start at this index of the pass's slots.
    Direct(usize),
    Filtered,
    General,
}

/// Maps units into the batch, in order, until its output is full; returns how many it mapped.
fn map_units(t: &Transformation, worker: &mut Worker, units: &[Unit], batch: &mut Batch) -> usize {
    let (Some(shape), Some(mapping)) = (&t.direct, &t.plan.mapping) else {
        for (i, unit) in units.iter().enumerate() {
            batch.counts.records_in += records_in(unit);
            map_general(t, worker, unit, batch);
            if batch.bytes.len() >= BATCH_BYTES {
                return i + 1;
            }
        }
        return units.len();
    };
    let mut arena = std::mem::take(&mut worker.arena);
    arena.reset();
    let mapped = map_direct(t, shape, &mapping.fields, worker, units, batch, &arena);
    worker.arena = arena;
    mapped
}

/// The direct path (see `direct`) over a few records at a time, in two passes: all of them
/// mapped and checked, then all of them written (or mapped by the general path, in order).
/// Each pass's code (the fields' filters and the shape check, then the writer) then stays in
/// the instruction cache for [`PASS`] records, where a record at a time evicts the one with the
/// other: the code of a whole record outgrows the cache (cachegrind, bench mapping: 53
/// instruction cache misses per record one at a time, 23 in passes of 8).
fn map_direct<'a>(
    t: &'a Transformation,
    shape: &Shape,
    fields: &'a [Field],
    worker: &mut Worker,
    units: &'a [Unit],
    batch: &mut Batch,
    arena: &'a Bump,
) -> usize {
    let plan = &t.plan;
    let ev = evaluator(plan);
    // The worker's empty buffers are taken over (collecting from an empty vector into one of
    // the same layout reuses its allocation) and given back emptied.
    let mut slots: Vec<Option<Scalar<'_>>> = std::mem::take(&mut worker.slots).into_iter().map(|_| None).collect();
    let mut values: Vec<Option<FVal<'_>>> = std::mem::take(&mut worker.values).into_iter().map(|_| None).collect();
    let mut memos: Vec<FieldMemo<'_>> =
        std::mem::take(&mut worker.memos).into_iter().map(|_| FieldMemo::default()).collect();
    memos.resize(fields.len(), FieldMemo::default());
    let metas: Vec<_> = units.iter().map(|unit| move || meta(unit)).collect();
    let mut passes = Vec::with_capacity(PASS);
    let mut mapped = 0;
    'passes: for (units, metas) in units.chunks(PASS).zip(metas.chunks(PASS)) {
        slots.clear();
        passes.clear();
        for (unit, meta) in units.iter().zip(metas) {
            if unit.record.problem.is_some() {
                passes.push(Pass::General);
                continue;
            }
            let columns = worker.columns(plan, &unit.record.data);
            let mut scope = LazyScope::new(&unit.record.data, unit.items.as_deref(), None, meta);
            if let Some(f) = &plan.filter {
                match ev.truth(f, columns, &mut scope) {
                    Ok(true) => {}
                    Ok(false) => {
                        passes.push(Pass::Filtered);
                        continue;
                    }
                    Err(_) => {
                        passes.push(Pass::General);
                        continue;
                    }
                }
            }
            let start = slots.len();
            let evaluated = shape.eval(fields, &ev, columns, &mut scope, &mut slots, &mut values, &mut memos, arena);
            let check = worker.own_check.get_or_insert_with(|| shape.check().cloned());
            if evaluated.is_ok() && shape.valid(t.target.as_ref(), check.as_ref(), &slots[start..], &mut worker.scratch)
            {
                passes.push(Pass::Direct(start));
            } else {
                slots.truncate(start);
                passes.push(Pass::General);
            }
        }
        for (unit, pass) in units.iter().zip(&passes) {
            batch.counts.records_in += records_in(unit);
            match *pass {
                Pass::Direct(start)
                    if write_direct(plan, shape, &slots[start..start + fields.len()], &mut batch.bytes) =>
                {
                    batch.counts.out += 1;
                }
                Pass::Filtered => batch.counts.filtered += 1,
                Pass::Direct(_) | Pass::General => map_general(t, worker, unit, batch),
            }
            mapped += 1;
            if batch.bytes.len() >= BATCH_BYTES {
                break 'passes;
            }
        }
    }
    slots.clear();
    values.clear();
    memos.clear();
    worker.slots = slots.into_iter().map(|_| None).collect();
    worker.values = values.into_iter().map(|_| None).collect();
    worker.memos = memos.into_iter().map(|_| FieldMemo::default()).collect();
    mapped
}

/// Writes a record of the direct path; `false` (and nothing written) where it is too long: the
/// general path rejects it.
fn write_direct(plan: &Plan, shape: &Shape, slots: &Slots<'_>, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    if plan.output == OutputFormat::Json {
        out.extend_from_slice(b",\n");
    }
    shape.write(out, slots);
    if plan.output == OutputFormat::Ndjson {
        out.push(b'\n');
    }
    too_long(out, start, plan.limits.max_output_bytes).is_ok()
}

fn records_in(unit: &Unit) -> u64 {
    unit.items.as_ref().map_or(1, |i| i.len() as u64)
}

fn process(t: &Transformation, worker: &mut Worker, work: Work, buffers: &Buffers) -> Batch {
    match work {
        Work::Units(mut units) => process_units(t, worker, &mut units, buffers.batches.take()),
        Work::Chunk { chunk, input, first_index } => process_chunk(t, worker, chunk, &input, first_index, buffers),
        Work::Rest { mut units, fatal } => {
            let mut batch = process_units(t, worker, &mut units, buffers.batches.take());
            batch.fatal = fatal;
            batch
        }
    }
}

/// Maps units into `bytes` (an empty buffer) until the batch is full; the units left are its
/// `rest`, the mapped ones stay in `units`.
fn process_units(t: &Transformation, worker: &mut Worker, units: &mut Vec<Unit>, mut bytes: Vec<u8>) -> Batch {
    bytes.reserve(units.len().min(BATCH) * 256);
    let mut batch = Batch { bytes, ..Batch::default() };
    let mapped = map_units(t, worker, units, &mut batch);
    batch.rest = units.split_off(mapped);
    batch
}

/// Parses a chunk and maps its records; a parse error ends the batch (and the run).
fn process_chunk(
    t: &Transformation,
    worker: &mut Worker,
    chunk: Chunk,
    input: &Arc<str>,
    first_index: u64,
    buffers: &Buffers,
) -> Batch {
    let mut batch = Batch { bytes: buffers.batches.take(), ..Batch::default() };
    batch.bytes.reserve(chunk.records() * 256);
    let (header, input) = worker.own_copies(chunk.header(), input);
    let records = chunk.records();
    match &chunk {
        Chunk::Csv(c) => {
            let mut reader = c.reader(Some(header), std::mem::take(&mut worker.spare_rows));
            map_chunk(t, worker, &mut reader, records, &input, first_index, &mut batch);
            worker.spare_rows = reader.into_spare();
        }
        Chunk::Fixed(c) => map_chunk(t, worker, &mut c.reader(header), records, &input, first_index, &mut batch),
    }
    buffers.chunks.give(chunk.into_buffer());
    batch
}

/// Maps the records of one chunk's reader (generic: each format's parser inlined): a batch of
/// them parsed, then mapped, then their buffers handed back, as on one thread (see `Run::feed_at`).
fn map_chunk<R: RecordReader>(
    t: &Transformation,
    worker: &mut Worker,
    reader: &mut R,
    records: usize,
    input: &Arc<str>,
    first_index: u64,
    batch: &mut Batch,
) {
    let mut units = Vec::with_capacity(records.min(BATCH));
    let mut index = first_index;
    loop {
        let mut end = false;
        while units.len() < BATCH {
            match reader.next_record() {
                Ok(Some(record)) => {
                    units.push(Unit { input: input.clone(), index, record, items: None });
                    index += 1;
                }
                Ok(None) => {
                    // The splitter and the parser agree on where records end.
                    debug_assert_eq!(index - first_index, records as u64, "records in a chunk");
                    end = true;
                    break;
                }
                Err(e) => {
                    batch.fatal = Some(e);
                    end = true;
                    break;
                }
            }
        }
        let mapped = if batch.bytes.len() >= BATCH_BYTES { 0 } else { map_units(t, worker, &units, batch) };
        batch.rest.extend(units.drain(mapped..));
        for unit in units.drain(..) {
            reader.recycle(unit.record);
        }
        if end {
            return;
        }
    }
}

/// Maps a unit the general way: the authority on every record, and the one that rejects.
fn map_general(t: &Transformation, worker: &mut Worker, unit: &Unit, batch: &mut Batch) {
    let written = match transform(t, worker, unit) {
        Ok(Some(v)) => write_record(&mut batch.bytes, t.plan.output, &v, t.plan.limits.max_output_bytes),
        Ok(None) => {
            batch.counts.filtered += 1;
            return;
        }
        Err(violations) => Err(violations),
    };
    match written {
        Ok(()) => batch.counts.out += 1,
        Err(violations) => {
            batch.counts.rejected += 1;
            for (pointer, keyword, message) in violations {
                batch.rejects.push(Reject {
                    input: unit.input.to_string(),
                    line: unit.record.line,
                    record: unit.index,
                    pointer,
                    keyword,
                    message,
                });
            }
        }
    }
}

/// Hands work to a worker, or maps it on this thread when the queue is full (or there are no
/// workers any more).
fn dispatch(
    t: &Transformation,
    key: Key,
    work: Work,
    pending: &mut BTreeMap<Key, (Batch, bool)>,
    workers: Option<&mpsc::SyncSender<(Key, Work)>>,
    own: &mut Worker,
    buffers: &Buffers,
) -> Result<(), EngineError> {
    let mut todo = vec![(key, work)];
    while let Some((key, work)) = todo.pop() {
        let work = match workers {
            Some(w) => match w.try_send((key, work)) {
                Ok(()) => continue,
                Err(TrySendError::Full((_, work))) => work,
                Err(TrySendError::Disconnected(_)) => {
                    return Err(std::io::Error::other("a worker thread stopped").into());
                }
            },
            None => work,
        };
        let batch = process(t, own, work, buffers);
        if let Some(rest) = split_rest(key, batch, pending) {
            todo.push(rest);
        }
    }
    Ok(())
}

/// Takes a batch back from a worker: it waits in `pending`, and its rest, if any, is handed on.
fn receive(
    t: &Transformation,
    key: Key,
    batch: Batch,
    pending: &mut BTreeMap<Key, (Batch, bool)>,
    workers: Option<&mpsc::SyncSender<(Key, Work)>>,
    own: &mut Worker,
    buffers: &Buffers,
) -> Result<(), EngineError> {
    match split_rest(key, batch, pending) {
        Some((key, work)) => dispatch(t, key, work, pending, workers, own, buffers),
        None => Ok(()),
    }
}

/// Puts a batch into `pending` (marked as continued when it has a rest) and returns the work of
/// its rest, with the error after it, as the next part.
fn split_rest(key: Key, mut batch: Batch, pending: &mut BTreeMap<Key, (Batch, bool)>) -> Option<(Key, Work)> {
    let rest = std::mem::take(&mut batch.rest);
    if rest.is_empty() {
        pending.insert(key, (batch, false));
        return None;
    }
    let fatal = batch.fatal.take();
    pending.insert(key, (batch, true));
    Some(((key.0, key.1 + 1), Work::Rest { units: rest, fatal }))
}

/// Array mode writes `,\n` before every record; the run drops the very first comma. A record
/// longer than `max_bytes` is not written: its reject is returned.
fn write_record(
    out: &mut Vec<u8>,
    format: OutputFormat,
    v: &Value,
    max_bytes: usize,
) -> Result<(), Vec<(String, String, String)>> {
    let start = out.len();
    if format == OutputFormat::Json {
        out.extend_from_slice(b",\n");
    }
    serde_json::to_writer(&mut *out, v).expect("serialising a JSON value into memory cannot fail");
    if format == OutputFormat::Ndjson {
        out.push(b'\n');
    }
    too_long(out, start, max_bytes)
}

/// Takes back a record written to `out` from `start` if it is longer than `max_bytes`.
fn too_long(out: &mut Vec<u8>, start: usize, max_bytes: usize) -> Result<(), Vec<(String, String, String)>> {
    // The separators (at most two bytes) do not count.
    if out.len() - start <= max_bytes.saturating_add(2) {
        return Ok(());
    }
    out.truncate(start);
    Err(vec![(
        String::new(),
        "output".into(),
        format!("the record's JSON is longer than {max_bytes} bytes (limits.max_output_bytes)"),
    )])
}

pub struct Run<'t, 'w> {
    t: &'t Transformation,
    records: &'w mut dyn Write,
    rejects: &'w mut dyn Write,
    counts: Counts,
    first_rejects: Vec<Reject>,
    warnings: Vec<Warning>,
    readings: Vec<InputReading>,
    /// Source records read so far (the next record's index is this + 1).
    index: u64,
    wrote_record: bool,
    wrote_reject: bool,
    /// Grouping: the group being collected and its key.
    open_group: Option<(String, Unit)>,
    /// Whole-document mode: all records, rendered at the end.
    document: Vec<(Arc<str>, SourceRecord)>,
    /// The column names the fields read (empty when unknown: no field mapping, or fields that
    /// read `record` by a computed name).
    columns_read: Vec<String>,
    /// Whether the current input's header was checked against `columns_read`.
    header_checked: bool,
    /// A reading error met after some records of a batch: those are mapped and written first,
    /// and the next read returns it.
    read_error: Option<EngineError>,
    /// One part of a run several workers share ([`Transformation::start_part`]): every record
    /// and reject keeps its separator and nothing frames them; the parts are joined later.
    part: bool,
}

/// Where one part of a file starts in the whole file: its records and rejects then carry the
/// file's line numbers and record indexes, as a run over the whole file gives them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartStart {
    /// Lines of the file before the part's first line, less those fed before it (the lines
    /// above the table and the header, which a part other than the first is given again).
    pub lines_before: u64,
    /// Records of the file before the part's first record.
    pub records_before: u64,
}

/// The bytes around the parts of one output, and how many bytes of the first part's first
/// separator to leave out: the whole output is `start`, the parts in order with the first
/// separator of the first non-empty part dropped, then `end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub start: Vec<u8>,
    pub first_separator: usize,
    pub end: Vec<u8>,
}

/// How a file splits into parts of whole records ([`Transformation::split_layout`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitLayout {
    /// How the file's first bytes were read: every part is read so ([`Transformation::read_as`]),
    /// and a run over the whole file reports it so.
    pub reading: formats::InputReading,
    /// What a run over the whole file warns of as it opens it (a part other than the first
    /// does not see the file's start; the first may see less of it than the whole file's
    /// sample).
    pub warnings: Vec<Warning>,
    /// The quote character of a delimited file; `None` when every line feed ends a record.
    pub quote: Option<u8>,
    pub delimiter: u8,
    /// The first byte after the lines above the table and the header row.
    pub data_start: u64,
    /// Line feeds before `data_start`.
    pub lines_before_data: u64,
    /// A record starts at each IDoc control record line
    /// ([`formats::idoc::starts_control_record`]), not after every line feed (`quote` is `None`).
    pub control_records: bool,
}

/// What opening an input warns of: a legacy encoding detected, title lines detected above the
/// table.
fn opening_warnings(name: &str, opened: &formats::Opened<'_>) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if let Some(message) = &opened.detected_encoding {
        warnings.push(Warning { input: name.to_owned(), message: message.clone() });
    }
    let reading = &opened.reading;
    if reading.skipped_lines > 0 && reading.decided_by.get("skip_lines").is_some_and(|by| by == "detected") {
        let message = format!(
            "skipped {} line(s) above the table (detected as title lines); declare input.skip_lines to be sure",
            reading.skipped_lines
        );
        warnings.push(Warning { input: name.to_owned(), message });
    }
    warnings
}

/// The opening of a reject report.
const REJECTS_START: &[u8] = b"{\"rejects\": [";

/// The end of a reject report, after its rejects: the run's counts and how it read its inputs.
fn rejects_end(summary: &Summary, any_reject: bool) -> Vec<u8> {
    let counts = serde_json::json!({
        "records_in": summary.records_in, "records_out": summary.records_out,
        "records_rejected": summary.records_rejected, "records_filtered": summary.records_filtered,
        "warnings": summary.warnings, "input": summary.inputs,
    });
    format!("{}],\n \"summary\": {counts}}}\n", if any_reject { "\n" } else { "" }).into_bytes()
}

impl Transformation {
    /// Starts a run over one part of a file several workers share: records and rejects come out
    /// each with its separator and without the frame ([`Transformation::records_frame`],
    /// [`Transformation::rejects_frame`]) that joins the parts into the outputs of one run.
    /// Grouping and whole-document contexts need every record in one run: not for them.
    pub fn start_part<'w>(
        &self,
        records: &'w mut dyn std::io::Write,
        rejects: &'w mut dyn std::io::Write,
    ) -> Result<Run<'_, 'w>, EngineError> {
        let mut run = self.begin(records, rejects)?;
        run.part = true;
        run.wrote_record = true;
        run.wrote_reject = true;
        Ok(run)
    }

    /// Reads inputs as `reading` says the first part of a file was read: format, encoding,
    /// delimiter and the lines above the header are decided on the file's start, and a later part
    /// (which starts mid-file) is read the same way instead of being detected again.
    pub fn read_as(&mut self, reading: &formats::InputReading) {
        let input = &mut self.plan.input;
        input.format = serde_json::from_value(Value::String(reading.format.clone())).ok();
        // A byte order mark, which every part starts with again, is found again.
        if reading.decided_by.get("encoding").is_none_or(|by| by != "BOM") {
            input.encoding = Some(reading.encoding.clone());
        }
        if let Some(delimiter) = &reading.delimiter {
            input.delimiter = Some(if delimiter == "\t" { "tab".to_owned() } else { delimiter.clone() });
        }
        if input.format == Some(formats::Format::Csv) {
            input.header = Some(reading.header_row.is_some());
            input.header_row = None;
            input.skip_lines = Some(reading.skipped_lines as usize);
        }
    }

    /// How a file whose first bytes are `sample` splits into parts of whole records, or `None`
    /// when it does not: grouping and whole-document contexts need all records in one run;
    /// XML (IDoc-XML too) and JSON arrays have no record boundary a byte scan can find; a file
    /// that is not ASCII-compatible text with LF or CRLF line ends, or a table without a header
    /// row (its first record names the columns) or framed by `|`, is read in one run too. A flat
    /// IDoc file splits where a control record starts a line.
    pub fn split_layout(&self, name: &str, sample: &[u8]) -> Option<SplitLayout> {
        let plan = &self.plan;
        // A table (a CSV header, a Parquet footer) is not its parts one after the other.
        if !self.maps_records_alone() || plan.input.record_length.is_some() || plan.table.is_some() {
            return None;
        }
        let mut bytes = sample;
        let opened = formats::open(name, &mut bytes, &plan.input, plan.limits).ok()?;
        let warnings = opening_warnings(name, &opened);
        let reading = opened.reading;
        let ascii_lines = formats::text::DeclaredEncoding::for_label(&reading.encoding)
            .and_then(formats::text::DeclaredEncoding::line_feed)
            == Some(b'\n');
        let line_ends = reading.line_ending.as_deref().is_none_or(|ending| matches!(ending, "LF" | "CRLF"));
        if !ascii_lines || !line_ends {
            return None;
        }
        let after_lines = |n: u64| -> Option<u64> {
            if n == 0 {
                return Some(0);
            }
            memchr::memchr_iter(b'\n', sample).nth(usize::try_from(n - 1).ok()?).map(|at| at as u64 + 1)
        };
        let mut control_records = false;
        let (quote, delimiter, data_start) = match reading.format.as_str() {
            "csv" => {
                let delimiter = reading.delimiter.as_deref().and_then(formats::single_byte)?;
                if reading.header_row.is_none() || reading.decided_by.contains_key("frame") || delimiter == b'|' {
                    return None;
                }
                let quote = plan.input.quote.as_deref().and_then(formats::single_byte).unwrap_or(b'"');
                let header = after_lines(reading.skipped_lines)?;
                // The header row ends at the first line feed outside quotes.
                let mut inside = false;
                let end = sample[header as usize..].iter().position(|&b| {
                    inside ^= b == quote;
                    b == b'\n' && !inside
                })?;
                (Some(quote), delimiter, header + end as u64 + 1)
            }
            "ndjson" => (None, b'\n', 0),
            "fixed" => (None, b'\n', after_lines(reading.skipped_lines)?),
            "idoc" => {
                control_records = true;
                // A later part is given the byte order mark again, so it is decoded as the first.
                let bom = encoding_rs::Encoding::for_bom(sample).map_or(0, |(_, len)| len as u64);
                (None, b'\n', bom)
            }
            _ => return None,
        };
        let lines_before_data = memchr::memchr_iter(b'\n', &sample[..data_start as usize]).count() as u64;
        Some(SplitLayout { reading, warnings, quote, delimiter, data_start, lines_before_data, control_records })
    }

    /// Whether a file can be mapped in parts: no grouping (consecutive records), no
    /// whole-document template (all records at once).
    pub fn maps_records_alone(&self) -> bool {
        self.plan.group.is_none() && self.plan.document.is_none()
    }

    /// The frame of the result of parts, `any_record` when a part wrote one.
    pub fn records_frame(&self, any_record: bool) -> Frame {
        match self.plan.output {
            OutputFormat::Json => Frame {
                start: b"[".to_vec(),
                first_separator: 1,
                end: if any_record { b"\n]\n".to_vec() } else { b"]\n".to_vec() },
            },
            OutputFormat::Ndjson => Frame { start: Vec::new(), first_separator: 0, end: Vec::new() },
        }
    }

    /// The frame of the reject report of parts, whose counts add up to `summary`.
    pub fn rejects_frame(summary: &Summary) -> Frame {
        let any_reject = summary.records_rejected > 0;
        Frame { start: REJECTS_START.to_vec(), first_separator: 1, end: rejects_end(summary, any_reject) }
    }

    /// Fails with `RejectRateExceeded` when `summary` rejects more than the context tolerates.
    pub fn check_reject_rate(&self, summary: &Summary) -> Result<(), EngineError> {
        if let Some(max_rate) = self.plan.max_rate {
            let total = summary.records_out + summary.records_rejected;
            if total > 0 && summary.records_rejected as f64 > max_rate * total as f64 {
                return Err(EngineError::RejectRateExceeded { rejected: summary.records_rejected, total, max_rate });
            }
        }
        Ok(())
    }
}

/// The names a field mapping reads that must be columns of a table's header: the variables its
/// expressions read, less the functions, the scope's own names and the group's list. Empty when
/// a field reads `record` (columns by a computed name): nothing can be said then.
fn columns_read(plan: &crate::context::Plan) -> Vec<String> {
    let Some(mapping) = &plan.mapping else { return Vec::new() };
    if plan.document.is_some() {
        return Vec::new();
    }
    let mut names = std::collections::BTreeSet::new();
    mapping.record_variables(&plan.jinja, &mut names);
    if names.contains("record") {
        return Vec::new();
    }
    let env = plan.jinja.borrow_owner();
    let group_var = plan.group.as_ref().map_or("items", |g| g.var.as_str());
    names
        .into_iter()
        .filter(|n| !matches!(n.as_str(), "meta" | "parent") && n != group_var && !env.globals().any(|(g, _)| g == n))
        .collect()
}

impl<'t, 'w> Run<'t, 'w> {
    pub(crate) fn new(
        t: &'t Transformation,
        records: &'w mut dyn Write,
        rejects: &'w mut dyn Write,
    ) -> Result<Self, EngineError> {
        Ok(Run {
            t,
            records,
            rejects,
            counts: Counts::default(),
            first_rejects: Vec::new(),
            warnings: Vec::new(),
            readings: Vec::new(),
            index: 0,
            wrote_record: false,
            wrote_reject: false,
            columns_read: columns_read(&t.plan),
            header_checked: false,
            read_error: None,
            open_group: None,
            document: Vec::new(),
            part: false,
        })
    }

    pub(crate) fn write_frame_start(&mut self) -> Result<(), EngineError> {
        if self.t.plan.output == OutputFormat::Json && self.t.plan.document.is_none() {
            self.records.write_all(b"[")?;
        }
        self.rejects.write_all(REJECTS_START)?;
        Ok(())
    }

    /// Records read so far, over every input.
    pub fn records_read(&self) -> u64 {
        self.index
    }

    /// Feeds the part of an input that starts at `start` in the whole file (a part other than the
    /// first begins with the file's lines above the table and its header, which it reads again).
    pub fn feed_part(
        &mut self,
        name: &str,
        input: &mut dyn std::io::Read,
        start: PartStart,
    ) -> Result<(), EngineError> {
        self.index = start.records_before;
        self.feed_at(name, input, start.lines_before)
    }

    /// Feeds one content input; several inputs are processed in order into one result.
    pub fn feed(&mut self, name: &str, input: &mut dyn std::io::Read) -> Result<(), EngineError> {
        self.feed_at(name, input, 0)
    }

    fn feed_at(&mut self, name: &str, input: &mut dyn std::io::Read, lines_before: u64) -> Result<(), EngineError> {
        let plan = &self.t.plan;
        let opened = formats::open_at(name, input, &plan.input, plan.limits, lines_before)?;
        self.warnings.extend(opening_warnings(name, &opened));
        self.readings.push(opened.reading);
        self.header_checked = false;
        let mut reader = opened.records;
        let input: Arc<str> = name.into();
        if plan.document.is_some() {
            while let Some(rec) = reader.next_record()? {
                if self.document.len() >= plan.limits.max_document_records {
                    return Err(EngineError::input(
                        name,
                        Some(rec.line),
                        None,
                        format!(
                            "more than {} records for a whole-document template (limits.max_document_records)",
                            plan.limits.max_document_records
                        ),
                    ));
                }
                self.index += 1;
                self.document.push((input.clone(), rec));
            }
            return Ok(());
        }
        let threads = self.t.threads;
        if threads <= 1 {
            let mut worker = Worker::default();
            // One output buffer for all batches: a fresh one each time would take fresh pages.
            let mut bytes = Vec::new();
            loop {
                let mut units = match self.read_batch(reader.as_mut(), &input) {
                    Ok(units) if !units.is_empty() => units,
                    // The records read before a reading error are written before it.
                    end => return self.write_records(&bytes).and(end.map(drop)),
                };
                let batch = process_units(self.t, &mut worker, &mut units, bytes);
                // Reading a batch and then mapping it beats mapping each record as it is read:
                // each loop keeps its own code hot. The records' buffers go back to the reader.
                for unit in units {
                    reader.recycle(unit.record);
                }
                bytes = self.write_through(batch, &mut worker, WRITE_BYTES)?;
            }
        }
        // Grouping needs parsed records on this thread.
        let split = plan.group.is_none();
        let t = self.t;
        let buffers = Buffers::default();
        let buffers = &buffers;
        // `threads - 1` workers, and this thread maps the work it cannot queue: one thread per
        // core, none waiting for a core (a reading thread of its own would share one with a worker).
        let (work_tx, work_rx) = mpsc::sync_channel::<(Key, Work)>(threads);
        let work_rx = &Mutex::new(work_rx);
        // Batches done but not written yet (a slow batch holds up the ones after it): beyond
        // this many, this thread waits for the next one instead of reading on.
        let max_pending = 2 * threads;
        std::thread::scope(|s| {
            // Owned here, so that leaving early (an error) hangs up and the workers stop.
            let work_tx = work_tx;
            let (done_tx, done_rx) = mpsc::channel::<(Key, Batch)>();
            for _ in 1..threads {
                let done_tx = done_tx.clone();
                s.spawn(move || {
                    let mut worker = Worker::default();
                    loop {
                        let job = work_rx.lock().map_err(drop).and_then(|rx| rx.recv().map_err(drop));
                        let Ok((key, work)) = job else { return };
                        // A batch lost to a panic would leave the writing waiting for it: it
                        // comes back as the error that ends the run.
                        let batch = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            process(t, &mut worker, work, buffers)
                        }));
                        let failed = batch.is_err();
                        let batch = batch.unwrap_or_else(|_| Batch {
                            fatal: Some(std::io::Error::other("a worker thread failed").into()),
                            ..Batch::default()
                        });
                        if done_tx.send((key, batch)).is_err() || failed {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            let mut own = Worker::default();
            let mut pending = BTreeMap::new();
            let mut sent = 0u64;
            let mut next: Key = (0, 0);
            let stopped = || EngineError::from(std::io::Error::other("a worker thread stopped"));
            // A reading error comes after the records before it: it is returned once they are written.
            let mut read_error = None;
            (|| -> Result<(), EngineError> {
                loop {
                    while pending.len() >= max_pending {
                        let (key, b) = done_rx.recv().map_err(|_| stopped())?;
                        receive(t, key, b, &mut pending, Some(&work_tx), &mut own, buffers)?;
                        self.write_ready(&mut pending, &mut next, buffers)?;
                    }
                    let work = match self.next_work(reader.as_mut(), &input, split, buffers) {
                        Ok(Some(work)) => work,
                        Ok(None) => return Ok(()),
                        Err(e) => {
                            read_error = Some(e);
                            return Ok(());
                        }
                    };
                    dispatch(t, (sent, 0), work, &mut pending, Some(&work_tx), &mut own, buffers)?;
                    sent += 1;
                    while let Ok((key, b)) = done_rx.try_recv() {
                        receive(t, key, b, &mut pending, Some(&work_tx), &mut own, buffers)?;
                    }
                    self.write_ready(&mut pending, &mut next, buffers)?;
                }
            })()?;
            // The queue's rest is shared out with the workers (`try_lock`: a worker waiting for
            // work holds the lock until the queue is empty); the rests of batches that come
            // back full are mapped here.
            drop(work_tx);
            while let Some((key, work)) = work_rx.try_lock().ok().and_then(|rx| rx.try_recv().ok()) {
                dispatch(t, key, work, &mut pending, None, &mut own, buffers)?;
            }
            self.write_ready(&mut pending, &mut next, buffers)?;
            for (key, b) in done_rx {
                receive(t, key, b, &mut pending, None, &mut own, buffers)?;
                self.write_ready(&mut pending, &mut next, buffers)?;
            }
            read_error.map_or(Ok(()), Err)
        })
    }

    /// Writes the batches that are next in input order, returning their buffers for reuse.
    fn write_ready(
        &mut self,
        pending: &mut BTreeMap<Key, (Batch, bool)>,
        next: &mut Key,
        buffers: &Buffers,
    ) -> Result<(), EngineError> {
        while let Some((b, continued)) = pending.remove(next) {
            buffers.batches.give(self.write(b, 0)?);
            *next = if continued { (next.0, next.1 + 1) } else { (next.0 + 1, 0) };
        }
        Ok(())
    }

    /// Writes a batch, and maps and writes its rest on this thread; returns the last batch's
    /// buffer, holding the records not written yet (less than `hold` bytes), to append the next
    /// batch to.
    fn write_through(&mut self, mut batch: Batch, worker: &mut Worker, hold: usize) -> Result<Vec<u8>, EngineError> {
        loop {
            let rest = std::mem::take(&mut batch.rest);
            if rest.is_empty() {
                return self.write(batch, hold);
            }
            let fatal = batch.fatal.take();
            self.write(batch, 0)?;
            batch = process(self.t, worker, Work::Rest { units: rest, fatal }, &Buffers::default());
        }
    }

    fn next_work(
        &mut self,
        reader: &mut dyn RecordReader,
        input: &Arc<str>,
        split: bool,
        buffers: &Buffers,
    ) -> Result<Option<Work>, EngineError> {
        if split && let Some(splitter) = reader.splitter() {
            let Some(chunk) = splitter.next_chunk(CHUNK, buffers.chunks.take())? else { return Ok(None) };
            self.check_header(input, chunk.header())?;
            let first_index = self.index + 1;
            self.index += chunk.records() as u64;
            return Ok(Some(Work::Chunk { chunk, input: input.clone(), first_index }));
        }
        let units = self.read_batch(reader, input)?;
        Ok((!units.is_empty()).then_some(Work::Units(units)))
    }

    /// A table whose header has none of the columns the fields read would reject every record,
    /// each for the same reason: the run stops at the header instead, saying what it has and what
    /// the context reads.
    fn check_header(&mut self, input: &str, header: &Header) -> Result<(), EngineError> {
        if self.header_checked {
            return Ok(());
        }
        self.header_checked = true;
        let read = &self.columns_read;
        if read.is_empty() || read.iter().any(|name| header.position(name).is_some()) {
            return Ok(());
        }
        let list = |names: &[String]| {
            let shown: Vec<&str> = names.iter().take(LISTED_COLUMNS).map(String::as_str).collect();
            let more = names.len().saturating_sub(LISTED_COLUMNS);
            if more > 0 { format!("{} … and {more} more", shown.join(", ")) } else { shown.join(", ") }
        };
        let line = self.readings.last().and_then(|r| r.header_row);
        Err(EngineError::input(
            input,
            line,
            None,
            format!(
                "the header has none of the columns the context reads ({}); its columns are: {}. Check the \
                 file's delimiter and header row (input.delimiter, input.skip_lines), or the context's column names",
                list(read),
                list(&header.names)
            ),
        ))
    }

    fn read_batch(&mut self, reader: &mut dyn RecordReader, input: &Arc<str>) -> Result<Vec<Unit>, EngineError> {
        if let Some(e) = self.read_error.take() {
            return Err(e);
        }
        let mut units = Vec::with_capacity(BATCH);
        while units.len() < BATCH {
            let rec = match reader.next_record() {
                Ok(Some(rec)) => rec,
                Ok(None) => break,
                Err(e) if !units.is_empty() => {
                    self.read_error = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            };
            if let Data::Row(row) = &rec.data {
                self.check_header(input, &row.header)?;
            }
            self.index += 1;
            let unit = Unit { input: input.clone(), index: self.index, record: rec, items: None };
            if self.t.plan.group.is_some() {
                if let Some(done) = self.add_to_group(unit)? {
                    units.push(done);
                }
            } else {
                units.push(unit);
            }
        }
        Ok(units)
    }

    /// Grouping is streaming: consecutive records with the same key form one group.
    fn add_to_group(&mut self, unit: Unit) -> Result<Option<Unit>, EngineError> {
        let plan = &self.t.plan;
        let group = plan.group.as_ref().expect("grouping mode");
        let columns = columns_for(&plan.vars, &unit.record.data);
        let no_meta = || minijinja::Value::from(());
        let mut scope = LazyScope::new(&unit.record.data, None, None, &no_meta);
        let key = evaluator(plan).value(&group.key, &columns, &mut scope).map_err(|e| {
            EngineError::input(&unit.input, Some(unit.record.line), None, format!("group key (group.by): {e}"))
        })?;
        let key = match key {
            Value::String(s) => s,
            other => other.to_string(),
        };
        match &mut self.open_group {
            Some((k, g)) if *k == key && Arc::ptr_eq(&g.input, &unit.input) => {
                let items = g.items.get_or_insert_with(Vec::new);
                if items.len() >= plan.limits.max_group_records {
                    return Err(EngineError::input(
                        &unit.input,
                        Some(unit.record.line),
                        None,
                        format!(
                            "group `{key}` has more than {} records (limits.max_group_records)",
                            plan.limits.max_group_records
                        ),
                    ));
                }
                items.push(unit.record);
                Ok(None)
            }
            _ => {
                let mut fresh = unit;
                fresh.items = Some(vec![fresh.record.clone()]);
                Ok(self.open_group.replace((key, fresh)).map(|(_, g)| g))
            }
        }
    }

    /// Writes the batch, its records once they make `hold` bytes (or the run ends with it);
    /// returns its byte buffer, for reuse: empty, or holding the records not written yet.
    fn write(&mut self, mut batch: Batch, hold: usize) -> Result<Vec<u8>, EngineError> {
        if batch.bytes.len() >= hold || batch.fatal.is_some() {
            self.write_records(&batch.bytes)?;
            batch.bytes.clear();
        }
        for r in batch.rejects {
            self.rejects.write_all(if self.wrote_reject { b",\n  " } else { b"\n  " })?;
            self.wrote_reject = true;
            serde_json::to_writer(&mut *self.rejects, &r).map_err(std::io::Error::from)?;
            if self.first_rejects.len() < Summary::SAMPLE {
                self.first_rejects.push(r);
            }
        }
        self.counts.records_in += batch.counts.records_in;
        self.counts.out += batch.counts.out;
        self.counts.rejected += batch.counts.rejected;
        self.counts.filtered += batch.counts.filtered;
        batch.fatal.take().map_or(Ok(batch.bytes), Err)
    }

    fn write_records(&mut self, mut bytes: &[u8]) -> Result<(), EngineError> {
        if !self.wrote_record && !bytes.is_empty() {
            self.wrote_record = true;
            if self.t.plan.output == OutputFormat::Json {
                bytes = &bytes[1..];
            }
        }
        Ok(self.records.write_all(bytes)?)
    }

    /// Renders the whole-document template over all records.
    fn render_document(&mut self) -> Result<(), EngineError> {
        let plan = &self.t.plan;
        let name = plan.document.as_deref().expect("document mode");
        let records: Vec<minijinja::Value> = self.document.iter().map(|(_, r)| jinja::data_value(&r.data)).collect();
        let inputs: Vec<String> = self.document.iter().map(|(i, _)| i.to_string()).collect();
        let ctx = minijinja::context! { records => records, inputs => inputs };
        let template = plan
            .jinja
            .borrow_owner()
            .get_template(name)
            .map_err(|e| EngineError::context(&plan.name, None, e.to_string()))?;
        let bound = jinja::document_bound(&plan.limits);
        let text = mapping::guard::render(&template, ctx, bound).map_err(|e| {
            EngineError::context(
                &plan.name,
                e.line().map(|l| (l as u64, 1)),
                format!("rendering the template failed: {}", mapping::jinja_error(&e)),
            )
        })?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| {
            EngineError::context(
                &plan.name,
                None,
                format!("the template did not render JSON (output line {}, column {}): {e}", e.line(), e.column()),
            )
        })?;
        self.counts.records_in = self.document.len() as u64;
        let docs = match doc {
            Value::Array(items) => items,
            single => {
                // One document: it is the result itself, validated as a whole.
                return self.emit_document(single);
            }
        };
        self.records.write_all(b"[")?;
        let mut batch = Batch::default();
        for (i, mut v) in docs.into_iter().enumerate() {
            let written = self
                .check(&mut v)
                .and_then(|()| write_record(&mut batch.bytes, plan.output, &v, plan.limits.max_output_bytes));
            match written {
                Ok(()) => batch.counts.out += 1,
                Err(violations) => {
                    batch.counts.rejected += 1;
                    batch.rejects.extend(violations.into_iter().map(|(pointer, keyword, message)| Reject {
                        input: plan.name.clone(),
                        line: 0,
                        record: i as u64 + 1,
                        pointer,
                        keyword,
                        message,
                    }));
                }
            }
        }
        self.write(batch, 0).map(drop)
    }

    fn emit_document(&mut self, mut doc: Value) -> Result<(), EngineError> {
        match self.check(&mut doc) {
            Ok(()) => {
                self.counts.out = 1;
                serde_json::to_writer(&mut *self.records, &doc).map_err(std::io::Error::from)?;
                Ok(())
            }
            Err(violations) => {
                let name = self.t.plan.name.clone();
                let batch = Batch {
                    bytes: Vec::new(),
                    rejects: violations
                        .into_iter()
                        .map(|(pointer, keyword, message)| Reject {
                            input: name.clone(),
                            line: 0,
                            record: 1,
                            pointer,
                            keyword,
                            message,
                        })
                        .collect(),
                    counts: Counts { records_in: 0, out: 0, rejected: 1, filtered: 0 },
                    rest: Vec::new(),
                    fatal: None,
                };
                self.records.write_all(b"null")?;
                self.write(batch, 0).map(drop)
            }
        }
    }

    fn check(&self, v: &mut Value) -> Result<(), Vec<(String, String, String)>> {
        if let Some(target) = &self.t.target {
            if self.t.plan.casts {
                target.cast(v);
            }
            if !target.is_valid(v) {
                return Err(target
                    .violations(v, MAX_VIOLATIONS)
                    .into_iter()
                    .map(|v| (v.pointer, v.keyword, v.message))
                    .collect());
            }
        }
        Ok(())
    }

    /// Closes the documents; fails with `RejectRateExceeded` above the context's tolerated rate.
    pub fn finish(mut self) -> Result<Summary, EngineError> {
        if self.part {
            self.records.flush()?;
            self.rejects.flush()?;
            return Ok(self.summary());
        }
        if self.t.plan.document.is_some() {
            self.render_document()?;
        } else if let Some((_, g)) = self.open_group.take() {
            let mut worker = Worker::default();
            let batch = process_units(self.t, &mut worker, &mut vec![g], Vec::new());
            self.write_through(batch, &mut worker, 0)?;
        }
        let json_array = self.t.plan.output == OutputFormat::Json;
        if json_array && (self.t.plan.document.is_none() || self.counts.out != 1 || self.wrote_record) {
            self.records.write_all(if self.wrote_record { b"\n]\n" } else { b"]\n" })?;
        } else if json_array {
            self.records.write_all(b"\n")?;
        }
        self.records.flush()?;
        let summary = self.summary();
        self.rejects.write_all(&rejects_end(&summary, self.wrote_reject))?;
        self.rejects.flush()?;
        self.t.check_reject_rate(&summary)?;
        Ok(summary)
    }

    fn summary(&mut self) -> Summary {
        let c = &self.counts;
        Summary {
            records_in: c.records_in,
            records_out: c.out,
            records_rejected: c.rejected,
            records_filtered: c.filtered,
            first_rejects: std::mem::take(&mut self.first_rejects),
            warnings: std::mem::take(&mut self.warnings),
            inputs: std::mem::take(&mut self.readings),
        }
    }
}

/// Reads a CSV lookup table into key → row.
pub(crate) fn load_lookup(csv: Source<'_>, key: &str, limits: Limits) -> Result<LookupTable, EngineError> {
    let mut bytes = csv.text.as_bytes();
    let opts = formats::InputOptions { header: Some(true), format: Some(formats::Format::Csv), ..Default::default() };
    let mut reader = formats::open(csv.name, &mut bytes, &opts, limits)?.records;
    let mut table = LookupTable::default();
    while let Some(rec) = reader.next_record()? {
        let Data::Row(row) = &rec.data else { continue };
        let k = row
            .by_name(key)
            .ok_or_else(|| EngineError::input(csv.name, Some(rec.line), None, format!("no key column `{key}`")))?;
        table.rows.entry(k.trim().to_owned()).or_insert_with(|| row.to_json());
    }
    Ok(table)
}
