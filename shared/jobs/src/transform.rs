use std::path::{Path, PathBuf};

use async_trait::async_trait;

use helix_domain::artifact::{context_file_name, error_report_key, result_key};
use helix_domain::{ArtifactKind, AutoMapped, InputReading, Job, JobOutcome};
use helix_engine::{OutputFormat, Summary};

use crate::documents::Document;
use crate::runner::{Attempt, AttemptError, AttemptKind, Workspace};

/// A transform job: its content files through the engine, the valid records and the reject
/// report stored as its result artifacts.
pub struct TransformAttempt;

#[async_trait]
impl Attempt for TransformAttempt {
    fn kind(&self) -> AttemptKind {
        AttemptKind::Transform
    }

    async fn run(&self, job: &Job, workspace: &Workspace<'_>) -> Result<JobOutcome, AttemptError> {
        let context = workspace.document(job.inputs.context_artifact_id.as_ref()).await?;
        let schema = workspace.document(job.inputs.schema_artifact_id.as_ref()).await?;
        let contents = workspace.download(&job.inputs.content_artifact_ids, "content").await?;
        transform(job, workspace, context, schema, contents, None).await
    }
}

/// Runs the engine over the downloaded `contents` and stores the result and the reject report.
/// The job only points at the results once both objects are written.
pub(crate) async fn transform(
    job: &Job,
    workspace: &Workspace<'_>,
    context: Option<Document>,
    schema: Option<Document>,
    contents: Vec<(String, PathBuf)>,
    auto_mapped: Option<AutoMapped>,
) -> Result<JobOutcome, AttemptError> {
    let lookups = workspace.download(&job.inputs.lookup_artifact_ids, "lookup").await?;
    let result_path = workspace.scratch().join("result.json");
    let errors_path = workspace.scratch().join("errors.json");
    let (summary, format) = {
        let (result_path, errors_path) = (result_path.clone(), errors_path.clone());
        tokio::task::spawn_blocking(move || {
            run_engine(context, schema, &lookups, &contents, &result_path, &errors_path)
        })
        .await
        .map_err(|e| AttemptError::Transient(format!("the transformation crashed: {e}")))??
    };
    let (extension, result_type) = match format {
        OutputFormat::Json => ("json", "application/json"),
        OutputFormat::Ndjson => ("ndjson", "application/x-ndjson"),
    };
    let key = result_key(&job.id, extension);
    let result = workspace.put_output(job, ArtifactKind::Result, key, &result_path, result_type).await?;
    let report = workspace
        .put_output(job, ArtifactKind::ErrorReport, error_report_key(&job.id), &errors_path, "application/json")
        .await?;
    Ok(JobOutcome::Completed {
        result_path: result.s3_key,
        result_artifact_id: result.id,
        error_report_artifact_id: report.id,
        records_in: summary.records_in,
        records_out: summary.records_out,
        records_rejected: summary.records_rejected,
        auto_mapped,
        warnings: summary.warnings.iter().map(|w| format!("{}: {}", w.input, w.message)).collect(),
        inputs_read: summary.inputs.into_iter().map(input_reading).collect(),
    })
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

fn run_engine(
    context: Option<Document>,
    schema: Option<Document>,
    lookups: &[(String, PathBuf)],
    contents: &[(String, PathBuf)],
    result_path: &Path,
    errors_path: &Path,
) -> Result<(Summary, OutputFormat), AttemptError> {
    let transformation =
        helix_engine::compile(context.as_ref().map(Document::source), schema.as_ref().map(Document::source))?;
    let io = |e: std::io::Error| AttemptError::Transient(format!("scratch storage: {e}"));
    // A table without its file fails the run when it starts, naming the table and the file.
    for (name, file) in transformation.lookup_files() {
        if let Some((filename, path)) = lookups.iter().find(|(f, _)| f == context_file_name(&file)) {
            let text = std::fs::read_to_string(path)
                .map_err(|_| AttemptError::Input(format!("lookup file {filename} is not UTF-8 text")))?;
            transformation.add_lookup(&name, helix_engine::Source { name: filename, text: &text })?;
        }
    }
    let mut records = std::io::BufWriter::new(std::fs::File::create(result_path).map_err(io)?);
    let mut rejects = std::io::BufWriter::new(std::fs::File::create(errors_path).map_err(io)?);
    let summary = {
        let mut run = transformation.start(&mut records, &mut rejects)?;
        for (name, path) in contents {
            let mut file = std::fs::File::open(path).map_err(io)?;
            run.feed(name, &mut file)?;
        }
        run.finish()?
    };
    use std::io::Write;
    records.flush().map_err(io)?;
    rejects.flush().map_err(io)?;
    Ok((summary, transformation.output_format()))
}
