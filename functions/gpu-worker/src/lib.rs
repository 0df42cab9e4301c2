//! The GPU container worker: long-polls its own SQS queue (not a Lambda: the model stays loaded
//! and the image can carry CUDA), runs `suggest-mapping` jobs and `auto_map` transform jobs
//! through the same job lifecycle as the transform worker (claim, idempotency record, settle),
//! and keeps each message invisible while its job runs. The binary and the local platform both
//! drive it with [`poll`].

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use helix_domain::{ArtifactKind, AutoMapped, AutoMappedField, Job, JobKind, JobOutcome, Runner};
use helix_suggest::auto_map::{self, Proposal};
use helix_suggest::{Embedder, MatchOptions, Signals, SuggestError, SuggestOptions};
use helix_workers::{AttemptError, JobWorkerDeps, MessageOutcome, run_job_once};

/// Content read for the sample: the first records are all a suggestion looks at.
const SAMPLE_BYTES: u64 = 8 << 20;

pub struct GpuWorker {
    deps: JobWorkerDeps,
    embedder: Arc<dyn Embedder>,
    options: SuggestOptions,
}

impl GpuWorker {
    pub fn new(deps: JobWorkerDeps, embedder: Arc<dyn Embedder>) -> Self {
        let options = SuggestOptions {
            matching: MatchOptions { signals: Signals::Combined, ..MatchOptions::default() },
            ..SuggestOptions::default()
        };
        Self { deps, embedder, options }
    }

    /// One message of the GPU queue; `deliveries` is its receive count.
    pub async fn handle(&self, body: &str, deliveries: u32) -> MessageOutcome {
        run_job_once(&self.deps, "gpu-worker", Runner::GpuWorker, body, deliveries, |job| async move {
            match job.kind {
                JobKind::SuggestMapping => self.suggest_mapping(&job).await,
                JobKind::Transform => self.auto_mapped_transform(&job).await,
            }
        })
        .await
    }

    /// The draft context and the report become the job's result and report artifacts, at keys
    /// derived from the job, so a retried attempt overwrites them. The draft is stored as a
    /// `context` artifact: the owner can submit it as a transform job's context as it is.
    async fn suggest_mapping(&self, job: &Job) -> Result<JobOutcome, AttemptError> {
        let scratch = tempfile::tempdir_in(&self.deps.scratch_dir)
            .map_err(|e| AttemptError::Transient(format!("scratch directory: {e}")))?;
        let schema = self.deps.document(job.inputs.schema_artifact_id.as_deref(), scratch.path()).await?;
        let content_id = job
            .inputs
            .content_artifact_ids
            .first()
            .ok_or_else(|| AttemptError::Input("a suggest-mapping job needs a content file".into()))?;
        let content = self.deps.input_artifact(content_id).await?;
        let content_path = scratch.path().join("content");
        self.deps.blobs.download_to(&content.s3_key, &content_path).await.map_err(|e| {
            AttemptError::Transient(format!("content file {} could not be read from storage: {e}", content.filename))
        })?;
        let sample = read_sample(&content_path)?;

        let (embedder, options, filename) = (self.embedder.clone(), self.options, content.filename.clone());
        let suggestion = tokio::task::spawn_blocking(move || {
            let schema = schema.map(|(name, text)| helix_suggest::parse_schema(&name, &text)).transpose()?;
            helix_suggest::suggest(&filename, &sample, schema.as_ref(), Some(&*embedder), &options)
        })
        .await
        .map_err(crashed)?
        .map_err(attempt_error)?;

        let io = |e: std::io::Error| AttemptError::Transient(format!("scratch storage: {e}"));
        let context_path = scratch.path().join("context.yaml");
        std::fs::write(&context_path, &suggestion.context_yaml).map_err(io)?;
        let report_path = scratch.path().join("report.json");
        let report_json =
            serde_json::to_vec_pretty(&suggestion.report).map_err(|e| AttemptError::Transient(e.to_string()))?;
        std::fs::write(&report_path, report_json).map_err(io)?;
        let context = self
            .deps
            .put_output(
                job,
                ArtifactKind::Context,
                format!("results/{}/context.yaml", job.id),
                &context_path,
                "application/yaml",
            )
            .await?;
        let report = self
            .deps
            .put_output(
                job,
                ArtifactKind::Result,
                format!("results/{}/report.json", job.id),
                &report_path,
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
        })
    }

    /// A transform job with `auto_map`: the target fields the schema requires and the context
    /// leaves unmapped are proposed from the first content file's sample and added to the
    /// context. The merged context is stored as the job's `context` artifact (at a key derived
    /// from the job, so a retried attempt overwrites it) and the job worker's transformation
    /// runs with it. Fields without a confident proposal stay unmapped: the schema rejects the
    /// records, as it would have without `auto_map`.
    async fn auto_mapped_transform(&self, job: &Job) -> Result<JobOutcome, AttemptError> {
        let scratch = tempfile::tempdir_in(&self.deps.scratch_dir)
            .map_err(|e| AttemptError::Transient(format!("scratch directory: {e}")))?;
        let context = self.deps.document(job.inputs.context_artifact_id.as_deref(), scratch.path()).await?;
        let schema = self.deps.document(job.inputs.schema_artifact_id.as_deref(), scratch.path()).await?;
        let (Some((context_name, context_text)), Some((schema_name, schema_text))) = (context.clone(), schema.clone())
        else {
            return Err(AttemptError::Input("auto_map needs a context and a target schema".into()));
        };
        let contents = self.deps.contents(job, scratch.path()).await?;
        let (sample_name, sample_path) =
            contents.first().ok_or_else(|| AttemptError::Input("a transform job needs a content file".into()))?;
        let sample = read_sample(sample_path)?;

        let (embedder, options, sample_name) = (self.embedder.clone(), self.options, sample_name.clone());
        let completion =
            tokio::task::spawn_blocking(move || -> Result<Option<(String, Vec<Proposal>)>, SuggestError> {
                let context = auto_map::parse_context(&context_name, &context_text)?;
                let schema = helix_suggest::parse_schema(&schema_name, &schema_text)?;
                let unmapped = auto_map::unmapped_required(&context, &schema)?;
                if unmapped.is_empty() {
                    return Ok(None);
                }
                let (taken, input) = (auto_map::read_variables(&context), auto_map::input_options(&context)?);
                let request = helix_suggest::FieldRequest { paths: &unmapped, taken: &taken, input: &input };
                let suggestion = helix_suggest::suggest_fields(
                    &sample_name,
                    &sample,
                    &schema,
                    &request,
                    Some(&*embedder),
                    &options,
                )?;
                let proposals = auto_map::proposals(&suggestion.report);
                if proposals.is_empty() {
                    return Ok(None);
                }
                Ok(Some((auto_map::merge(&context, &proposals)?, proposals)))
            })
            .await
            .map_err(crashed)?
            .map_err(attempt_error)?;
        let Some((merged, proposals)) = completion else {
            return self.deps.transform(job, context, schema, contents, scratch.path(), None).await;
        };

        let merged_path = scratch.path().join("context.yaml");
        std::fs::write(&merged_path, &merged).map_err(|e| AttemptError::Transient(format!("scratch storage: {e}")))?;
        let context_artifact = self
            .deps
            .put_output(
                job,
                ArtifactKind::Context,
                format!("results/{}/context.yaml", job.id),
                &merged_path,
                "application/yaml",
            )
            .await?;
        let fields: Vec<AutoMappedField> = proposals
            .into_iter()
            .map(|p| AutoMappedField { field: p.field, source: p.source, score: p.score })
            .collect();
        tracing::info!(job_id = %job.id, fields = fields.len(), "unmapped required fields proposed");
        let auto_mapped = AutoMapped { context_artifact_id: context_artifact.id, fields };
        self.deps
            .transform(
                job,
                Some((context_artifact.filename, merged)),
                schema,
                contents,
                scratch.path(),
                Some(auto_mapped),
            )
            .await
    }
}

/// The first records of a content file: all a suggestion looks at.
fn read_sample(path: &Path) -> Result<Vec<u8>, AttemptError> {
    let mut sample = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(SAMPLE_BYTES).read_to_end(&mut sample))
        .map_err(|e| AttemptError::Transient(format!("scratch storage: {e}")))?;
    Ok(sample)
}

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

#[derive(Debug, Clone, Copy)]
pub struct PollOptions {
    /// Messages taken per receive (SQS allows 1..=10); they run concurrently.
    pub batch: i32,
    /// Long-poll wait.
    pub wait_seconds: i32,
    /// How long each heartbeat makes the message invisible for.
    pub visibility_seconds: i32,
    /// Time between heartbeats; well inside `visibility_seconds`.
    pub heartbeat: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self { batch: 4, wait_seconds: 20, visibility_seconds: 120, heartbeat: Duration::from_secs(40) }
    }
}

/// Long-polls `queue_url` until `shutdown` completes: each batch's messages run concurrently,
/// each kept invisible by a heartbeat (`ChangeMessageVisibility`) while its job runs, deleted
/// when done and otherwise left to come back (and, after `maxReceiveCount`, to the DLQ). A
/// shutdown stops receiving and lets the running batch finish.
pub async fn poll(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    worker: Arc<GpuWorker>,
    options: PollOptions,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    tracing::info!(queue = %queue_url, "GPU worker polling");
    loop {
        let receive = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(options.batch.clamp(1, 10))
            .wait_time_seconds(options.wait_seconds)
            .visibility_timeout(options.visibility_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send();
        let received = tokio::select! {
            _ = &mut shutdown => break,
            received = receive => received,
        };
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(queue = %queue_url, error = %aws_sdk_sqs::error::DisplayErrorContext(e), "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        futures::future::join_all(messages.into_iter().map(|m| process(&sqs, &queue_url, &worker, options, m))).await;
    }
    tracing::info!(queue = %queue_url, "GPU worker stopped");
}

async fn process(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    worker: &GpuWorker,
    options: PollOptions,
    message: Message,
) {
    let Some(receipt) = message.receipt_handle.clone() else { return };
    let deliveries = message
        .attributes
        .as_ref()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let body = message.body.unwrap_or_default();
    let heartbeat = async {
        loop {
            tokio::time::sleep(options.heartbeat).await;
            let extended = sqs
                .change_message_visibility()
                .queue_url(queue_url)
                .receipt_handle(&receipt)
                .visibility_timeout(options.visibility_seconds)
                .send()
                .await;
            if let Err(e) = extended {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "could not extend the message's visibility");
            }
        }
    };
    let outcome = tokio::select! {
        outcome = worker.handle(&body, deliveries) => outcome,
        () = heartbeat => unreachable!("the heartbeat never ends"),
    };
    match outcome {
        MessageOutcome::Done => {
            if let Err(e) = sqs.delete_message().queue_url(queue_url).receipt_handle(&receipt).send().await {
                // Not lost: the message comes back and the idempotency record acknowledges it.
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(e), "delete failed");
            }
        }
        MessageOutcome::Retry(reason) => {
            tracing::warn!(message_id = message.message_id.as_deref().unwrap_or("?"), %reason, "message left for redelivery");
        }
    }
}
