use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;

use helix_domain::{
    Artifact, ArtifactKind, ArtifactStatus, ArtifactStore, Blobs, Clock, IdempotencyStore, Job, JobKind, JobMessage,
    JobOutcome, JobStore, StoreError, Transition,
};
use helix_engine::EngineError;

use crate::MessageOutcome;
use crate::batch::{handle_batch, message_span, receive_count};
use crate::documents::{Document, DocumentError, read_document};
use crate::idempotency::{payload_key, run_once};

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

/// What a job does, and so which [`Attempt`] runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptKind {
    /// Content + context + schema → records and rejects.
    Transform,
    /// A transform whose context is first completed by the mapping suggestion (`auto_map`).
    AutoMappedTransform,
    /// Content sample + schema → a draft context.
    SuggestMapping,
}

impl AttemptKind {
    pub fn of(job: &Job) -> Self {
        match job.kind {
            JobKind::SuggestMapping => Self::SuggestMapping,
            JobKind::Transform if job.auto_map => Self::AutoMappedTransform,
            JobKind::Transform => Self::Transform,
        }
    }
}

/// One run of one kind of job, on a claimed job, in a scratch [`Workspace`].
#[async_trait]
pub trait Attempt: Send + Sync {
    fn kind(&self) -> AttemptKind;
    async fn run(&self, job: &Job, workspace: &Workspace<'_>) -> Result<JobOutcome, AttemptError>;
}

/// The ports a job runner works through.
#[derive(Clone)]
pub struct RunnerPorts {
    pub jobs: Arc<dyn JobStore>,
    pub artifacts: Arc<dyn ArtifactStore>,
    pub blobs: Arc<dyn Blobs>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub clock: Arc<dyn Clock>,
}

#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// The name of the worker, in its idempotency keys.
    pub name: &'static str,
    /// The queue's `maxReceiveCount`: the delivery that must settle the job for good.
    pub max_attempts: u32,
    /// How long a claim holds the job; a redelivery after that may take it over.
    pub lease: Duration,
    pub scratch_dir: PathBuf,
}

impl RunnerConfig {
    /// A worker's configuration, with scratch files in the system's temporary directory.
    pub fn for_worker(name: &'static str, max_attempts: u32, lease: Duration) -> Self {
        Self { name, max_attempts, lease, scratch_dir: std::env::temp_dir() }
    }
}

/// Runs job messages: at most once per payload (the idempotency record), it claims the job
/// (`PENDING` → `RUNNING`), runs the attempt for the job's kind and settles the job:
/// `COMPLETED`, `FAILED` for bad input or on the last delivery, or handed back for the next
/// delivery. A worker holds the attempts for the jobs routed to its queue.
pub struct JobRunner {
    ports: RunnerPorts,
    config: RunnerConfig,
    attempts: Vec<Arc<dyn Attempt>>,
    stop: StopSignal,
}

/// Tells a runner's running attempts to stop and hand their jobs back at once (a process told
/// to stop), instead of leaving them to run out their leases.
#[derive(Clone, Default)]
pub struct StopSignal(Arc<(std::sync::atomic::AtomicBool, tokio::sync::Notify)>);

impl StopSignal {
    pub fn stop(&self) {
        self.0.0.store(true, std::sync::atomic::Ordering::SeqCst);
        self.0.1.notify_waiters();
    }

    /// Completes once [`StopSignal::stop`] has been called.
    pub async fn wait(&self) {
        let notified = self.0.1.notified();
        if !self.0.0.load(std::sync::atomic::Ordering::SeqCst) {
            notified.await;
        }
    }
}

impl JobRunner {
    pub fn new(ports: RunnerPorts, config: RunnerConfig, attempts: Vec<Arc<dyn Attempt>>) -> Self {
        Self { ports, config, attempts, stop: StopSignal::default() }
    }

    pub fn stop_signal(&self) -> StopSignal {
        self.stop.clone()
    }

    /// The Lambda handler: every message of the batch at once, failures reported by id.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        handle_batch(event, |message| self.handle_message(message)).await
    }

    async fn handle_message(&self, message: SqsMessage) -> MessageOutcome {
        let deliveries = receive_count(&message);
        let span = message_span(self.config.name, &message);
        let body = message.body.unwrap_or_default();
        if let Ok(JobMessage { job_id, .. }) = serde_json::from_str::<JobMessage>(&body) {
            span.record("job_id", tracing::field::display(job_id));
        }
        self.run(&body, deliveries).instrument(span).await
    }

    /// One message's body, on its `deliveries`-th delivery.
    pub async fn run(&self, body: &str, deliveries: u32) -> MessageOutcome {
        let key = payload_key(self.config.name, body);
        run_once(&*self.ports.idempotency, &*self.ports.clock, &key, self.config.lease, || {
            self.run_job(body, deliveries)
        })
        .await
    }

    async fn run_job(&self, body: &str, deliveries: u32) -> MessageOutcome {
        let Ok(JobMessage { job_id, .. }) = serde_json::from_str::<JobMessage>(body) else {
            // Kept, not dropped: after its deliveries it waits in the dead-letter queue for a person.
            return MessageOutcome::Retry(format!("not a job message: {body:.200}"));
        };
        let job = match self.ports.jobs.get(&job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => return MessageOutcome::Retry(format!("job {job_id} does not exist")),
            Err(e) => return MessageOutcome::Retry(e.to_string()),
        };
        if job.status.is_terminal() {
            tracing::info!(%job_id, status = job.status.as_str(), "job already finished; duplicate message");
            return MessageOutcome::Done;
        }
        let kind = AttemptKind::of(&job);
        let Some(attempt) = self.attempts.iter().find(|a| a.kind() == kind).cloned() else {
            return MessageOutcome::Retry(format!("job {job_id} is for the {:?}, not this worker", job.runner()));
        };
        let now = self.ports.clock.now();
        let claimed = match job.apply(Transition::Claim { lease_until: now.plus(self.config.lease) }, now) {
            Ok(claimed) => claimed,
            Err(refused) => return MessageOutcome::Retry(format!("job {job_id}: {refused}")),
        };
        match self.ports.jobs.replace(&job, &claimed).await {
            Ok(()) => {}
            Err(StoreError::Conflict(reason)) => return MessageOutcome::Retry(format!("job {job_id}: {reason}")),
            Err(e) => return MessageOutcome::Retry(e.to_string()),
        }
        tracing::info!(%job_id, attempt = claimed.attempts, deliveries, "job started");
        crate::fault::crash_point(crate::fault::MID_JOB);
        let held = tokio::sync::Mutex::new(claimed.clone());
        let result = match Workspace::new(&self.ports, &self.config.scratch_dir) {
            Ok(workspace) => tokio::select! {
                result = attempt.run(&claimed, &workspace) => Some(result),
                () = self.keep_lease(&held) => unreachable!("the heartbeat never ends"),
                () = self.stop.wait() => None,
            },
            Err(e) => Some(Err(e)),
        };
        // The version of the job the last renewal stored: the outcome is recorded against it.
        let claimed = held.into_inner();
        let Some(result) = result else {
            let error = "the worker was stopped; the job runs again on its next delivery".to_owned();
            tracing::warn!(%job_id, "worker stopping; job handed back");
            self.settle(&claimed, Transition::Release { error: error.clone() }).await;
            return MessageOutcome::Retry(error);
        };
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(AttemptError::Input(error)) => JobOutcome::Failed { error },
            Err(AttemptError::Transient(error)) if deliveries < self.config.max_attempts => {
                tracing::warn!(%job_id, %error, deliveries, "attempt failed; the job will be retried");
                self.settle(&claimed, Transition::Release { error: error.clone() }).await;
                return MessageOutcome::Retry(error);
            }
            Err(AttemptError::Transient(error)) => {
                let error = format!("gave up after {deliveries} attempts: {error}");
                self.settle(&claimed, Transition::Finish(JobOutcome::Failed { error: error.clone() })).await;
                // The message still goes to the dead-letter queue, for a person to look at.
                return MessageOutcome::Retry(error);
            }
        };
        self.settle(&claimed, Transition::Finish(outcome)).await
    }

    /// Renews the attempt's lease every third of it while the attempt runs, so a long job is not
    /// taken for abandoned; a renewal that loses (the job moved on) is left to the settling.
    async fn keep_lease(&self, held: &tokio::sync::Mutex<Job>) {
        loop {
            tokio::time::sleep(self.config.lease / 3).await;
            let mut job = held.lock().await;
            let now = self.ports.clock.now();
            let Ok(renewed) = job.apply(Transition::Renew { lease_until: now.plus(self.config.lease) }, now) else {
                continue;
            };
            match self.ports.jobs.replace(&job, &renewed).await {
                Ok(()) => *job = renewed,
                Err(e) => tracing::warn!(job_id = %job.id, error = %e, "could not renew the lease"),
            }
        }
    }

    async fn settle(&self, claimed: &Job, transition: Transition) -> MessageOutcome {
        let next = match claimed.apply(transition, self.ports.clock.now()) {
            Ok(next) => next,
            Err(refused) => return MessageOutcome::Retry(format!("job {}: {refused}", claimed.id)),
        };
        match self.ports.jobs.replace(claimed, &next).await {
            Ok(()) => {
                let error = next.error.as_deref().unwrap_or("");
                tracing::info!(job_id = %next.id, status = next.status.as_str(), error, "job settled");
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
}

/// An attempt's access to the job's inputs and outputs, with a scratch directory removed when
/// the attempt ends.
pub struct Workspace<'a> {
    ports: &'a RunnerPorts,
    scratch: tempfile::TempDir,
}

impl<'a> Workspace<'a> {
    fn new(ports: &'a RunnerPorts, scratch_dir: &Path) -> Result<Self, AttemptError> {
        let scratch = tempfile::tempdir_in(scratch_dir)
            .map_err(|e| AttemptError::Transient(format!("scratch directory: {e}")))?;
        Ok(Self { ports, scratch })
    }

    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    pub fn now(&self) -> helix_domain::Timestamp {
        self.ports.clock.now()
    }

    /// An input artifact of a job, if it is still available.
    pub async fn input(&self, id: &helix_domain::ArtifactId) -> Result<Artifact, AttemptError> {
        self.ports
            .artifacts
            .get(id)
            .await?
            .filter(|a| a.status == ArtifactStatus::Available)
            .ok_or_else(|| AttemptError::Input(format!("input artifact {id} is no longer available")))
    }

    /// A context or schema, read as the API read it when it checked the job.
    pub async fn document(&self, id: Option<&helix_domain::ArtifactId>) -> Result<Option<Document>, AttemptError> {
        let Some(id) = id else { return Ok(None) };
        let artifact = self.input(id).await?;
        read_document(&*self.ports.blobs, &artifact).await.map(Some).map_err(|e| match e {
            DocumentError::Store(e) => {
                AttemptError::Transient(format!("{} could not be read from storage: {e}", artifact.filename))
            }
            other => AttemptError::Input(format!("{}: {other}", artifact.filename)),
        })
    }

    /// Input artifacts downloaded to scratch files named `{what}-{i}`: `(file name, path)` in order.
    pub async fn download(
        &self,
        ids: &[helix_domain::ArtifactId],
        what: &str,
    ) -> Result<Vec<(String, PathBuf)>, AttemptError> {
        let mut files = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let artifact = self.input(id).await?;
            let path = self.scratch().join(format!("{what}-{i}"));
            self.ports.blobs.download_to(&artifact.s3_key, &path).await.map_err(|e| {
                AttemptError::Transient(format!(
                    "{what} file {} could not be read from storage: {e}",
                    artifact.filename
                ))
            })?;
            files.push((artifact.filename, path));
        }
        Ok(files)
    }

    /// Stores a file the job produced and records it as the owner's artifact, at a key derived
    /// from the job: a retried attempt overwrites rather than duplicates.
    pub async fn put_output(
        &self,
        job: &Job,
        kind: ArtifactKind,
        key: String,
        path: &Path,
        content_type: &str,
    ) -> Result<Artifact, AttemptError> {
        self.ports.blobs.put_file(&key, path, content_type).await?;
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or_default();
        let artifact = Artifact::output(job, kind, key, content_type, size, self.now());
        self.ports.artifacts.put(&artifact).await?;
        Ok(artifact)
    }

    /// Writes `bytes` to a scratch file and stores it as [`Workspace::put_output`] does.
    pub async fn put_output_bytes(
        &self,
        job: &Job,
        kind: ArtifactKind,
        key: String,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<Artifact, AttemptError> {
        let path = self.scratch().join(key.rsplit('/').next().unwrap_or("output"));
        std::fs::write(&path, bytes).map_err(|e| AttemptError::Transient(format!("scratch storage: {e}")))?;
        self.put_output(job, kind, key, &path, content_type).await
    }
}
