use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};

use helix_aws::{AwsClients, DynamoArtifactStore, DynamoIdempotencyStore, DynamoJobStore, S3Blobs, Settings};
use helix_domain::artifact::{context_file_name, error_report_key, result_key};
use helix_domain::{
    Artifact, ArtifactKind, ArtifactStatus, ArtifactStore, AutoMapped, Blobs, IdempotencyStore, Job, JobMessage,
    JobOutcome, JobStore, Runner, StoreError, Timestamp,
};
use helix_engine::{EngineError, Source, Summary};

use crate::MessageOutcome;
use crate::batch::{handle_batch, receive_count};
use crate::idempotency::{payload_key, run_once};

pub struct JobWorkerDeps {
    pub jobs: Arc<dyn JobStore>,
    pub artifacts: Arc<dyn ArtifactStore>,
    pub blobs: Arc<dyn Blobs>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// The job queue's `maxReceiveCount`: the delivery that must settle the job for good.
    pub max_attempts: u32,
    pub lease: Duration,
    pub scratch_dir: PathBuf,
}

impl JobWorkerDeps {
    pub fn new(settings: &Settings, clients: &AwsClients) -> Self {
        Self {
            jobs: Arc::new(DynamoJobStore::new(clients.dynamodb.clone(), &settings.jobs_table)),
            artifacts: Arc::new(DynamoArtifactStore::new(clients.dynamodb.clone(), &settings.artifacts_table)),
            blobs: Arc::new(S3Blobs::new(clients.s3.clone(), &settings.artifacts_bucket)),
            idempotency: Arc::new(DynamoIdempotencyStore::new(clients.dynamodb.clone(), &settings.idempotency_table)),
            max_attempts: settings.job_max_attempts,
            lease: settings.job_lease,
            scratch_dir: std::env::temp_dir(),
        }
    }
}

/// Why an attempt did not complete the job.
#[derive(Debug)]
pub enum AttemptError {
    /// The job itself is wrong (bad CSV, invalid context): retrying cannot help; the job fails now.
    Input(String),
    /// Storage or the machine failed: another delivery may succeed.
    Transient(String),
}

impl From<StoreError> for AttemptError {
    fn from(e: StoreError) -> Self {
        Self::Transient(e.to_string())
    }
}

impl From<EngineError> for AttemptError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Io(io) => Self::Transient(format!("scratch storage: {io}")),
            other => Self::Input(other.to_string()),
        }
    }
}

/// What every job worker does with a job message, at most once per payload (the idempotency
/// record): claim the job (`PENDING` → `RUNNING`), run `attempt`, and settle the job — `COMPLETED`,
/// `FAILED` for bad input or on the last delivery, or handed back for the next delivery.
/// `handler` names the worker in the idempotency key; `runner` is the worker, which takes only
/// the jobs [`Job::runner`] routes to it.
pub async fn run_job_once<F, Fut>(
    deps: &JobWorkerDeps,
    handler: &str,
    runner: Runner,
    body: &str,
    deliveries: u32,
    attempt: F,
) -> MessageOutcome
where
    F: FnOnce(Job) -> Fut,
    Fut: Future<Output = Result<JobOutcome, AttemptError>>,
{
    let key = payload_key(handler, body);
    run_once(&*deps.idempotency, &key, deps.lease, || run_job(deps, runner, body, deliveries, attempt)).await
}

async fn run_job<F, Fut>(
    deps: &JobWorkerDeps,
    runner: Runner,
    body: &str,
    deliveries: u32,
    attempt: F,
) -> MessageOutcome
where
    F: FnOnce(Job) -> Fut,
    Fut: Future<Output = Result<JobOutcome, AttemptError>>,
{
    let Ok(JobMessage { job_id }) = serde_json::from_str::<JobMessage>(body) else {
        // Kept, not dropped: after its deliveries it waits in the dead-letter queue for a person.
        return MessageOutcome::Retry(format!("not a job message: {body:.200}"));
    };
    let job = match deps.jobs.get(&job_id).await {
        Ok(Some(job)) => job,
        Ok(None) => return MessageOutcome::Retry(format!("job {job_id} does not exist")),
        Err(e) => return MessageOutcome::Retry(e.to_string()),
    };
    if job.runner() != runner {
        return MessageOutcome::Retry(format!("job {job_id} is for the {:?}, not the {runner:?}", job.runner()));
    }
    if job.status.is_terminal() {
        tracing::info!(%job_id, status = job.status.as_str(), "job already finished; duplicate message");
        return MessageOutcome::Done;
    }
    let now = Timestamp::now();
    let claimed = match deps.jobs.claim(&job, now, now.plus(deps.lease)).await {
        Ok(claimed) => claimed,
        Err(StoreError::Conflict(reason)) => return MessageOutcome::Retry(format!("job {job_id}: {reason}")),
        Err(e) => return MessageOutcome::Retry(e.to_string()),
    };
    tracing::info!(%job_id, attempt = claimed.attempts, deliveries, "job started");
    let outcome = match attempt(claimed.clone()).await {
        Ok(outcome) => outcome,
        Err(AttemptError::Input(error)) => JobOutcome::Failed { error },
        Err(AttemptError::Transient(error)) if deliveries < deps.max_attempts => {
            tracing::warn!(%job_id, %error, deliveries, "attempt failed; the job will be retried");
            if let Err(e) = deps.jobs.release(&claimed, &error).await {
                tracing::warn!(%job_id, error = %e, "could not hand the job back");
            }
            return MessageOutcome::Retry(error);
        }
        Err(AttemptError::Transient(error)) => {
            let error = format!("gave up after {deliveries} attempts: {error}");
            settle(deps, &claimed, JobOutcome::Failed { error: error.clone() }).await;
            // The message still goes to the dead-letter queue, for a person to look at.
            return MessageOutcome::Retry(error);
        }
    };
    settle(deps, &claimed, outcome).await
}

async fn settle(deps: &JobWorkerDeps, claimed: &Job, outcome: JobOutcome) -> MessageOutcome {
    match deps.jobs.finish(claimed, &outcome).await {
        Ok(job) => {
            tracing::info!(job_id = %job.id, status = job.status.as_str(), error = job.error.as_deref().unwrap_or(""), "job finished");
            MessageOutcome::Done
        }
        // A later attempt took the job over after our lease ran out; it settles the job.
        Err(StoreError::Conflict(reason)) => {
            tracing::warn!(job_id = %claimed.id, %reason, "outcome discarded");
            MessageOutcome::Done
        }
        Err(e) => MessageOutcome::Retry(format!("recording the outcome of job {}: {e}", claimed.id)),
    }
}

impl JobWorkerDeps {
    /// An input artifact of a job, if it is still available.
    pub async fn input_artifact(&self, id: &str) -> Result<Artifact, AttemptError> {
        self.artifacts
            .get(id)
            .await?
            .filter(|a| a.status == ArtifactStatus::Available)
            .ok_or_else(|| AttemptError::Input(format!("input artifact {id} is no longer available")))
    }

    /// A context or schema: `(file name, text)`.
    pub async fn document(&self, id: Option<&str>, scratch: &Path) -> Result<Option<(String, String)>, AttemptError> {
        let Some(id) = id else { return Ok(None) };
        let artifact = self.input_artifact(id).await?;
        let path = scratch.join(format!("doc-{id}"));
        self.blobs.download_to(&artifact.s3_key, &path).await.map_err(|e| {
            AttemptError::Transient(format!("{} could not be read from storage: {e}", artifact.filename))
        })?;
        let text = std::fs::read_to_string(&path)
            .map_err(|_| AttemptError::Input(format!("{} is not UTF-8 text", artifact.filename)))?;
        Ok(Some((artifact.filename, text)))
    }

    /// The job's content files, downloaded to `scratch`: `(file name, path)` in the job's order.
    pub async fn contents(&self, job: &Job, scratch: &Path) -> Result<Vec<(String, PathBuf)>, AttemptError> {
        self.download(&job.inputs.content_artifact_ids, "content", scratch).await
    }

    /// Input artifacts downloaded to `scratch` as `{what}-{i}`: `(file name, path)` in order.
    async fn download(
        &self,
        ids: &[String],
        what: &str,
        scratch: &Path,
    ) -> Result<Vec<(String, PathBuf)>, AttemptError> {
        let mut files = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let artifact = self.input_artifact(id).await?;
            let path = scratch.join(format!("{what}-{i}"));
            self.blobs.download_to(&artifact.s3_key, &path).await.map_err(|e| {
                AttemptError::Transient(format!(
                    "{what} file {} could not be read from storage: {e}",
                    artifact.filename
                ))
            })?;
            files.push((artifact.filename, path));
        }
        Ok(files)
    }

    /// Runs the engine over the downloaded `contents` and stores the result and the reject
    /// report. The job only points at the results once both objects are written, and their ids
    /// derive from the job's, so a retried attempt overwrites rather than duplicates.
    pub async fn transform(
        &self,
        job: &Job,
        context: Option<(String, String)>,
        schema: Option<(String, String)>,
        contents: Vec<(String, PathBuf)>,
        scratch: &Path,
        auto_mapped: Option<AutoMapped>,
    ) -> Result<JobOutcome, AttemptError> {
        let lookups = self.download(&job.inputs.lookup_artifact_ids, "lookup", scratch).await?;
        let result_path = scratch.join("result.json");
        let errors_path = scratch.join("errors.json");
        let summary = {
            let (result_path, errors_path) = (result_path.clone(), errors_path.clone());
            tokio::task::spawn_blocking(move || {
                run_engine(context, schema, &lookups, &contents, &result_path, &errors_path)
            })
            .await
            .map_err(|e| AttemptError::Transient(format!("the transformation crashed: {e}")))??
        };
        let result_type = if starts_with_array(&result_path) { "application/json" } else { "application/x-ndjson" };
        let result_artifact =
            self.put_output(job, ArtifactKind::Result, result_key(&job.id), &result_path, result_type).await?;
        let report_artifact = self
            .put_output(job, ArtifactKind::ErrorReport, error_report_key(&job.id), &errors_path, "application/json")
            .await?;
        Ok(JobOutcome::Completed {
            result_path: result_artifact.s3_key,
            result_artifact_id: result_artifact.id,
            error_report_artifact_id: report_artifact.id,
            records_in: summary.records_in,
            records_out: summary.records_out,
            records_rejected: summary.records_rejected,
            auto_mapped,
        })
    }

    /// Uploads a file the job produced and records it as the owner's artifact. Its id derives
    /// from the key, so a retried attempt overwrites rather than duplicates.
    pub async fn put_output(
        &self,
        job: &Job,
        kind: ArtifactKind,
        key: String,
        path: &Path,
        content_type: &str,
    ) -> Result<Artifact, AttemptError> {
        self.blobs.put_file(&key, path, content_type).await?;
        let size_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or_default();
        let filename = key.rsplit('/').next().unwrap_or("result.json").to_owned();
        let artifact = Artifact {
            id: uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes()).to_string(),
            owner_id: job.owner_id.clone(),
            kind,
            filename,
            content_type: content_type.to_owned(),
            size_bytes,
            status: ArtifactStatus::Available,
            s3_key: key,
            job_id: Some(job.id.clone()),
            created_at: Timestamp::now(),
            rejected_reason: None,
            expires_at: None,
        };
        self.artifacts.put(&artifact).await?;
        Ok(artifact)
    }
}

pub struct JobWorker {
    deps: JobWorkerDeps,
}

impl JobWorker {
    pub fn new(deps: JobWorkerDeps) -> Self {
        Self { deps }
    }

    /// The Lambda handler: every message of the batch at once, failures reported by id.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        handle_batch(event, |message| self.handle_message(message)).await
    }

    async fn handle_message(&self, message: SqsMessage) -> MessageOutcome {
        let deliveries = receive_count(&message);
        let body = message.body.unwrap_or_default();
        run_job_once(&self.deps, "job-worker", Runner::JobWorker, &body, deliveries, |job| async move {
            self.attempt(&job).await
        })
        .await
    }

    /// One run of the job: inputs from S3 to scratch files, the engine, results back to S3.
    async fn attempt(&self, job: &Job) -> Result<JobOutcome, AttemptError> {
        let scratch = tempfile::tempdir_in(&self.deps.scratch_dir)
            .map_err(|e| AttemptError::Transient(format!("scratch directory: {e}")))?;
        let context = self.deps.document(job.inputs.context_artifact_id.as_deref(), scratch.path()).await?;
        let schema = self.deps.document(job.inputs.schema_artifact_id.as_deref(), scratch.path()).await?;
        let contents = self.deps.contents(job, scratch.path()).await?;
        self.deps.transform(job, context, schema, contents, scratch.path(), None).await
    }
}

fn starts_with_array(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    head[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

fn run_engine(
    context: Option<(String, String)>,
    schema: Option<(String, String)>,
    lookups: &[(String, PathBuf)],
    contents: &[(String, PathBuf)],
    result_path: &Path,
    errors_path: &Path,
) -> Result<Summary, AttemptError> {
    let transformation = helix_engine::compile(
        context.as_ref().map(|(name, text)| Source { name, text }),
        schema.as_ref().map(|(name, text)| Source { name, text }),
    )?;
    let io = |e: std::io::Error| AttemptError::Transient(format!("scratch storage: {e}"));
    // A table without its file fails the run when it starts, naming the table and the file.
    for (name, file) in transformation.lookup_files() {
        if let Some((filename, path)) = lookups.iter().find(|(f, _)| f == context_file_name(&file)) {
            let text = std::fs::read_to_string(path)
                .map_err(|_| AttemptError::Input(format!("lookup file {filename} is not UTF-8 text")))?;
            transformation.add_lookup(&name, Source { name: filename, text: &text })?;
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
    Ok(summary)
}
