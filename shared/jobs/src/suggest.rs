//! The GPU kinds of job: a mapping suggestion (`suggest-mapping`) and a transform whose context
//! the suggestion completes first (`auto_map`). Both hold the embedding model, so they run on the
//! GPU container worker.

use std::sync::Arc;

use async_trait::async_trait;

use helix_domain::artifact::{job_context_key, suggestion_report_key};
use helix_domain::{ArtifactKind, AutoMapped, AutoMappedField, Job, JobOutcome, MappingMemoryStore};
use helix_suggest::auto_map::{self, Proposal};
use helix_suggest::{Embedder, MatchOptions, Signals, SuggestError, SuggestOptions};

use crate::documents::Document;
use crate::runner::{Attempt, AttemptError, AttemptKind, Workspace};
use crate::transform::transform;

/// Content read for the sample: the first records are all a suggestion looks at.
const SAMPLE_BYTES: u64 = 8 << 20;

fn options() -> SuggestOptions {
    SuggestOptions {
        matching: MatchOptions { signals: Signals::Combined, ..MatchOptions::default() },
        ..SuggestOptions::default()
    }
}

/// The attempts of the GPU worker, sharing one model; suggestions consult the team's mapping
/// memory.
pub fn gpu_attempts(embedder: Arc<dyn Embedder>, memory: Arc<dyn MappingMemoryStore>) -> Vec<Arc<dyn Attempt>> {
    vec![
        Arc::new(SuggestMappingAttempt { embedder: embedder.clone(), memory, options: options() }),
        Arc::new(AutoMapAttempt { embedder, options: options() }),
    ]
}

/// The draft context and the report become the job's result and report artifacts. The draft is
/// stored as a `context` artifact: the owner can submit it as a transform job's context as it is.
/// With a schema, the team's mapping memory is consulted first.
pub struct SuggestMappingAttempt {
    embedder: Arc<dyn Embedder>,
    memory: Arc<dyn MappingMemoryStore>,
    options: SuggestOptions,
}

#[async_trait]
impl Attempt for SuggestMappingAttempt {
    fn kind(&self) -> AttemptKind {
        AttemptKind::SuggestMapping
    }

    async fn run(&self, job: &Job, workspace: &Workspace<'_>) -> Result<JobOutcome, AttemptError> {
        let schema = workspace.document(job.inputs.schema_artifact_id.as_ref()).await?;
        let first = job
            .inputs
            .content_artifact_ids
            .first()
            .ok_or_else(|| AttemptError::Input("a suggest-mapping job needs a content file".into()))?;
        let first = workspace.inputs(std::slice::from_ref(first)).await?.remove(0);
        let (filename, sample) = (first.filename.clone(), workspace.sample(&first, SAMPLE_BYTES).await?);

        let memory = match &schema {
            Some(_) => self.memory.list(&job.team_id).await?,
            None => Vec::new(),
        };
        let (embedder, options) = (self.embedder.clone(), self.options.clone());
        let suggestion = tokio::task::spawn_blocking(move || {
            match schema.map(|s| helix_suggest::parse_schema(&s.name, &s.text)).transpose()? {
                Some(schema) => {
                    helix_suggest::suggest_remembering(&filename, &sample, &schema, &memory, Some(&*embedder), &options)
                }
                None => helix_suggest::suggest(&filename, &sample, None, Some(&*embedder), &options),
            }
        })
        .await
        .map_err(crashed)?
        .map_err(attempt_error)?;

        let report_json =
            serde_json::to_vec_pretty(&suggestion.report).map_err(|e| AttemptError::Transient(e.to_string()))?;
        let context = workspace
            .put_output_bytes(
                job,
                ArtifactKind::Context,
                job_context_key(&job.id),
                suggestion.context_yaml.as_bytes(),
                "application/yaml",
            )
            .await?;
        let report = workspace
            .put_output_bytes(
                job,
                ArtifactKind::Result,
                suggestion_report_key(&job.id),
                &report_json,
                "application/json",
            )
            .await?;
        let fields = suggestion.report.fields.len() as u64;
        let unmapped = suggestion.report.unmapped_fields.len() as u64;
        tracing::info!(job_id = %job.id, fields, unmapped, "mapping suggested");
        // For this kind: records sampled, target fields mapped, target fields left unmapped.
        Ok(JobOutcome::Completed {
            result_path: context.s3_key,
            result_artifact_id: context.id,
            error_report_artifact_id: report.id,
            records_in: suggestion.report.records_sampled as u64,
            records_out: fields - unmapped,
            records_rejected: unmapped,
            auto_mapped: None,
            warnings: Vec::new(),
            inputs_read: Vec::new(),
        })
    }
}

/// A transform job with `auto_map`: the target fields the schema requires and the context leaves
/// unmapped are proposed from the first content file's sample and added to the context. The
/// merged context is stored as the job's `context` artifact and the transformation runs with
/// it. Fields without a confident proposal stay unmapped: the schema rejects the records, as it
/// would have without `auto_map`.
pub struct AutoMapAttempt {
    embedder: Arc<dyn Embedder>,
    options: SuggestOptions,
}

#[async_trait]
impl Attempt for AutoMapAttempt {
    fn kind(&self) -> AttemptKind {
        AttemptKind::AutoMappedTransform
    }

    async fn run(&self, job: &Job, workspace: &Workspace<'_>) -> Result<JobOutcome, AttemptError> {
        let context = workspace.document(job.inputs.context_artifact_id.as_ref()).await?;
        let schema = workspace.document(job.inputs.schema_artifact_id.as_ref()).await?;
        let (Some(context_doc), Some(schema_doc)) = (context.clone(), schema.clone()) else {
            return Err(AttemptError::Input("auto_map needs a context and a target schema".into()));
        };
        let contents = workspace.inputs(&job.inputs.content_artifact_ids).await?;
        let first =
            contents.first().ok_or_else(|| AttemptError::Input("a transform job needs a content file".into()))?;
        let (sample_name, sample) = (&first.filename, workspace.sample(first, SAMPLE_BYTES).await?);

        let (embedder, options, sample_name) = (self.embedder.clone(), self.options.clone(), sample_name.clone());
        let completion = tokio::task::spawn_blocking(move || {
            complete_context(&context_doc, &schema_doc, &sample_name, &sample, &*embedder, &options)
        })
        .await
        .map_err(crashed)?
        .map_err(attempt_error)?;
        let Some((merged, proposals)) = completion else {
            return transform(job, workspace, context, schema, contents, None).await;
        };
        let stored = workspace
            .put_output_bytes(
                job,
                ArtifactKind::Context,
                job_context_key(&job.id),
                merged.as_bytes(),
                "application/yaml",
            )
            .await?;
        let fields: Vec<AutoMappedField> = proposals
            .into_iter()
            .map(|p| AutoMappedField { field: p.field, source: p.source, score: p.score })
            .collect();
        tracing::info!(job_id = %job.id, fields = fields.len(), "unmapped required fields proposed");
        let auto_mapped = AutoMapped { context_artifact_id: stored.id, fields };
        let merged = Document { name: stored.filename, text: merged };
        transform(job, workspace, Some(merged), schema, contents, Some(auto_mapped)).await
    }
}

/// The context with proposals for the required fields it leaves unmapped, if there are any.
fn complete_context(
    context: &Document,
    schema: &Document,
    sample_name: &str,
    sample: &[u8],
    embedder: &dyn Embedder,
    options: &SuggestOptions,
) -> Result<Option<(String, Vec<Proposal>)>, SuggestError> {
    let context = auto_map::parse_context(&context.name, &context.text)?;
    let schema = helix_suggest::parse_schema(&schema.name, &schema.text)?;
    let unmapped = auto_map::unmapped_required(&context, &schema)?;
    if unmapped.is_empty() {
        return Ok(None);
    }
    let (taken, input) = (auto_map::read_variables(&context), auto_map::input_options(&context)?);
    let request = helix_suggest::FieldRequest { paths: &unmapped, taken: &taken, input: &input };
    let suggestion = helix_suggest::suggest_fields(sample_name, sample, &schema, &request, Some(embedder), options)?;
    let proposals = auto_map::proposals(&suggestion.report);
    if proposals.is_empty() {
        return Ok(None);
    }
    Ok(Some((auto_map::merge(&context, &proposals)?, proposals)))
}

/// The first records of a content file: all a suggestion looks at.
fn crashed(e: tokio::task::JoinError) -> AttemptError {
    AttemptError::Transient(format!("the suggestion crashed: {e}"))
}

fn attempt_error(e: SuggestError) -> AttemptError {
    match e {
        SuggestError::Model(_) => AttemptError::Transient(e.to_string()),
        SuggestError::Content(_) | SuggestError::Schema(_) | SuggestError::Context(_) => {
            AttemptError::Input(e.to_string())
        }
    }
}
