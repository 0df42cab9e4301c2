use std::io::{Read, Write};

use async_trait::async_trait;
use tokio::runtime::Handle;

use helix_domain::artifact::{context_file_name, error_report_key, result_key};
use helix_domain::{ArtifactKind, AutoMapped, InputReading, Job, JobId, JobOutcome};
use helix_engine::{EngineError, OutputFormat, Summary, TableFormat};

use crate::documents::Document;
use crate::runner::{Attempt, AttemptError, AttemptKind, InputObject, Workspace};
use crate::streams::{BlobReader, BlobWriter, StreamContext};

/// A transform job: its content files streamed through the engine, the valid records and the
/// reject report stored as its result artifacts.
pub struct TransformAttempt;

#[async_trait]
impl Attempt for TransformAttempt {
    fn kind(&self) -> AttemptKind {
        AttemptKind::Transform
    }

    async fn run(&self, job: &Job, workspace: &Workspace<'_>) -> Result<JobOutcome, AttemptError> {
        let context = workspace.document(job.inputs.context_artifact_id.as_ref()).await?;
        let schema = workspace.document(job.inputs.schema_artifact_id.as_ref()).await?;
        let contents = workspace.inputs(&job.inputs.content_artifact_ids).await?;
        transform(job, workspace, context, schema, contents, None).await
    }
}

/// What the engine's run left: its summary, and the stored outputs' format and sizes.
struct Written {
    summary: Summary,
    format: OutputFormat,
    table: Option<TableFormat>,
    result_bytes: u64,
    report_bytes: u64,
}

/// Streams the `contents` through the engine into the result and the reject report, both
/// written to storage as they are produced. The job only points at the results once both
/// objects are whole.
pub(crate) async fn transform(
    job: &Job,
    workspace: &Workspace<'_>,
    context: Option<Document>,
    schema: Option<Document>,
    contents: Vec<InputObject>,
    auto_mapped: Option<AutoMapped>,
) -> Result<JobOutcome, AttemptError> {
    let lookups = workspace.inputs(&job.inputs.lookup_artifact_ids).await?;
    let streams =
        StreamContext { blobs: workspace.blobs(), runtime: Handle::current(), cancelled: workspace.cancelled() };
    let job_id = job.id.clone();
    let progress = workspace.progress();
    progress.set_total(contents.iter().map(|c| c.size).sum());
    let written = tokio::task::spawn_blocking(move || {
        run_engine(&streams, &progress, &job_id, context, schema, &lookups, &contents)
    })
    .await
    .map_err(|e| AttemptError::Transient(format!("the transformation crashed: {e}")))??;
    let (extension, result_type) = output_type(written.format, written.table);
    let result = workspace
        .record_output(job, ArtifactKind::Result, result_key(&job.id, extension), result_type, written.result_bytes)
        .await?;
    let report = workspace
        .record_output(
            job,
            ArtifactKind::ErrorReport,
            error_report_key(&job.id),
            "application/json",
            written.report_bytes,
        )
        .await?;
    Ok(completed(result, report, written.summary, auto_mapped))
}

/// A completed job's outcome: its outputs, as recorded, and the run's summary.
pub(crate) fn completed(
    result: helix_domain::Artifact,
    report: helix_domain::Artifact,
    summary: Summary,
    auto_mapped: Option<AutoMapped>,
) -> JobOutcome {
    JobOutcome::Completed {
        result_path: result.s3_key,
        result_artifact_id: result.id,
        error_report_artifact_id: report.id,
        records_in: summary.records_in,
        records_out: summary.records_out,
        records_rejected: summary.records_rejected,
        auto_mapped,
        warnings: summary.warnings.iter().map(|w| format!("{}: {}", w.input, w.message)).collect(),
        inputs_read: summary.inputs.into_iter().map(input_reading).collect(),
    }
}

/// The result's file extension and media type: the name says what the file holds.
pub(crate) fn output_type(format: OutputFormat, table: Option<TableFormat>) -> (&'static str, &'static str) {
    match (table, format) {
        (Some(table), _) => (table.extension(), table.media_type()),
        (None, OutputFormat::Json) => ("json", "application/json"),
        (None, OutputFormat::Ndjson) => ("ndjson", "application/x-ndjson"),
    }
}

fn input_reading(r: helix_engine::formats::InputReading) -> InputReading {
    InputReading {
        input: r.input,
        format: r.format,
        encoding: r.encoding,
        line_ending: r.line_ending,
        delimiter: r.delimiter,
        header_row: r.header_row,
        skipped_lines: r.skipped_lines,
        decided_by: r.decided_by,
    }
}

/// The job's context and schema compiled, with the lookup tables its context reads.
pub(crate) fn compile(
    streams: &StreamContext,
    context: Option<&Document>,
    schema: Option<&Document>,
    lookups: &[InputObject],
) -> Result<helix_engine::Transformation, AttemptError> {
    let transformation = helix_engine::compile(context.map(Document::source), schema.map(Document::source))?;
    // A table without its file fails the run when it starts, naming the table and the file.
    for (name, file) in transformation.lookup_files() {
        if let Some(lookup) = lookups.iter().find(|l| l.filename == context_file_name(&file)) {
            let mut text = String::new();
            BlobReader::new(streams, lookup.filename.clone(), lookup.key.clone(), lookup.size)
                .read_to_string(&mut text)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::InvalidData => {
                        AttemptError::Input(format!("lookup file {} is not UTF-8 text", lookup.filename))
                    }
                    _ => AttemptError::Transient(e.to_string()),
                })?;
            transformation.add_lookup(&name, helix_engine::Source { name: &lookup.filename, text: &text })?;
        }
    }
    Ok(transformation)
}

fn run_engine(
    streams: &StreamContext,
    progress: &std::sync::Arc<crate::ReadProgress>,
    job_id: &JobId,
    context: Option<Document>,
    schema: Option<Document>,
    lookups: &[InputObject],
    contents: &[InputObject],
) -> Result<Written, AttemptError> {
    let transformation = compile(streams, context.as_ref(), schema.as_ref(), lookups)?;
    let reader = |input: &InputObject| {
        let blob = BlobReader::new(streams, input.filename.clone(), input.key.clone(), input.size);
        crate::CountingReader::new(blob, progress.clone())
    };
    let (format, table) = (transformation.output_format(), transformation.table_format());
    let (extension, result_type) = output_type(format, table);
    let writer = |key: String, content_type: &str| BlobWriter::new(streams, key, content_type);
    let mut records = writer(result_key(job_id, extension), result_type);
    let mut rejects = writer(error_report_key(job_id), "application/json");
    let feed = |records: &mut dyn Write, rejects: &mut dyn Write| -> Result<Summary, EngineError> {
        let mut run = transformation.start(records, rejects)?;
        for input in contents {
            run.feed(&input.filename, &mut reader(input))?;
        }
        run.finish()
    };
    let run = match table {
        None => feed(&mut records, &mut rejects),
        // The records become rows as they come; the table's end is written once they are all in.
        Some(table) => transformation.table_writer(table, &mut records).and_then(|mut rows| {
            let summary = feed(&mut rows, &mut rejects)?;
            rows.finish()?;
            Ok(summary)
        }),
    };
    let summary = match run {
        Ok(summary) => summary,
        Err(e) => {
            records.abort();
            rejects.abort();
            return Err(e.into());
        }
    };
    let result_bytes = match records.finish() {
        Ok(bytes) => bytes,
        Err(e) => {
            rejects.abort();
            return Err(e.into());
        }
    };
    let report_bytes = rejects.finish()?;
    Ok(Written { summary, format, table, result_bytes, report_bytes })
}
