use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;

use helix_domain::{
    Artifact, ArtifactKind, ArtifactStatus, ArtifactStore, Blobs, Clock, IdempotencyStore, Job, JobId, JobKind,
    JobMessage, JobOutcome, JobStatus, JobStore, StoreError, Transition,
};
use helix_engine::EngineError;

use crate::MessageOutcome;
use crate::batch::{handle_batch, message_span, receive_count};
use crate::documents::{Document, DocumentError, read_document};
use crate::idempotency::{payload_key, run_once};

pub mod shards;

/// How often a running attempt looks whether its job was cancelled: the bound on how long a
/// cancelled job goes on running.
const CANCEL_POLL: Duration = Duration::from_secs(1);

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
            EngineError::Io(io) => Self::Transient(io.to_string()),
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
    /// How the attempt spreads a big input over many workers, if it does.
    fn sharding(&self) -> Option<&shards::Sharding> {
        None
    }
}

/// The ports a job runner works through.
#[derive(Clone)]
pub struct RunnerPorts {
    pub jobs: Arc<dyn JobStore>,
    pub artifacts: Arc<dyn ArtifactStore>,
    pub blobs: Arc<dyn Blobs>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub clock: Arc<dyn Clock>,
    /// Where each attempt's usage event goes (`metering`).
    pub usage: Arc<dyn crate::metering::UsageLedger>,
    /// The team's quotas: an ended job gives back its slot and counts its records.
    pub quotas: Arc<dyn helix_domain::QuotaStore>,
}

#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// The name of the worker, in its idempotency keys.
    pub name: &'static str,
    /// The queue's `maxReceiveCount`: the delivery that must settle the job for good.
    pub max_attempts: u32,
    /// How long a claim holds the job; a redelivery after that may take it over.
    pub lease: Duration,
}

impl RunnerConfig {
    pub fn for_worker(name: &'static str, max_attempts: u32, lease: Duration) -> Self {
        Self { name, max_attempts, lease }
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
    /// Told of each job this runner finished (the pipelines' webhooks, chained runs).
    events: Vec<Arc<dyn crate::JobEvents>>,
    /// Where a running attempt's progress goes (the job's event stream reads it).
    progress: Option<Arc<dyn helix_domain::ProgressStore>>,
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
        Self { ports, config, attempts, stop: StopSignal::default(), events: Vec::new(), progress: None }
    }

    /// Tells `events` (each given, in turn) of every job the runner finishes, and again of a finished job whose
    /// message comes back (the report may not have gone out before a crash).
    pub fn with_events(mut self, events: Arc<dyn crate::JobEvents>) -> Self {
        self.events.push(events);
        self
    }

    /// Records each running attempt's progress in `store`.
    pub fn with_progress(mut self, store: Arc<dyn helix_domain::ProgressStore>) -> Self {
        self.progress = Some(store);
        self
    }

    /// `Retry` when the report could not be made: the message comes back and reports again.
    async fn report_finished(&self, job: &Job) -> MessageOutcome {
        for events in &self.events {
            if let Err(e) = events.finished(job).await {
                return MessageOutcome::Retry(format!("reporting the end of job {}: {e}", job.id));
            }
        }
        MessageOutcome::Done
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
        let Ok(JobMessage { job_id, shard, .. }) = serde_json::from_str::<JobMessage>(body) else {
            // Kept, not dropped: after its deliveries it waits in the dead-letter queue for a person.
            return MessageOutcome::Retry(format!("not a job message: {body:.200}"));
        };
        if let Some(task) = shard.filter(helix_domain::ShardTask::is_part) {
            return self.run_shard(&job_id, task, deliveries).await;
        }
        let job = match self.ports.jobs.get(&job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => return MessageOutcome::Retry(format!("job {job_id} does not exist")),
            Err(e) => return MessageOutcome::Retry(e.to_string()),
        };
        if job.status.is_terminal() {
            tracing::info!(%job_id, status = job.status.as_str(), "job already finished; duplicate message");
            return self.report_finished(&job).await;
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
        let started = std::time::Instant::now();
        if let Some(outcome) = self.fan_out(&claimed, &*attempt, shard, started).await {
            return outcome;
        }
        crate::fault::crash_point(crate::fault::MID_JOB);
        let held = tokio::sync::Mutex::new(claimed.clone());
        let workspace = Workspace::new(&self.ports);
        let result = tokio::select! {
            result = attempt.run(&claimed, &workspace) => Some(result),
            () = self.keep_lease(&held) => unreachable!("the heartbeat never ends"),
            () = self.watch_cancel(&job_id, &workspace.cancelled) => unreachable!("the watch never ends"),
            () = self.report_progress(&job_id, &workspace.progress) => unreachable!("the reports never end"),
            () = self.stop.wait() => None,
        };
        if workspace.cancelled.load(Ordering::SeqCst) {
            // Its streams stopped: the outputs begun were dropped, nothing was recorded. Its end is
            // reported as any other (a chained run's next steps wait for it).
            tracing::info!(%job_id, "job cancelled while running; its attempt stopped");
            return match self.ports.jobs.get(&job_id).await {
                Ok(Some(job)) if job.status.is_terminal() => self.report_finished(&job).await,
                Ok(_) => MessageOutcome::Done,
                Err(e) => MessageOutcome::Retry(format!("reading cancelled job {job_id}: {e}")),
            };
        }
        // The version of the job the last renewal stored: the outcome is recorded against it.
        let claimed = held.into_inner();
        let Some(result) = result else {
            let error = "the worker was stopped; the job runs again on its next delivery".to_owned();
            tracing::warn!(%job_id, "worker stopping; job handed back");
            self.settle(&claimed, started, Transition::Release { error: error.clone() }).await;
            return MessageOutcome::Retry(error);
        };
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(AttemptError::Input(error)) => JobOutcome::Failed { error },
            Err(AttemptError::Transient(error)) if deliveries < self.config.max_attempts => {
                tracing::warn!(%job_id, %error, deliveries, "attempt failed; the job will be retried");
                self.settle(&claimed, started, Transition::Release { error: error.clone() }).await;
                return MessageOutcome::Retry(error);
            }
            Err(AttemptError::Transient(error)) => {
                let error = format!("gave up after {deliveries} attempts: {error}");
                self.settle(&claimed, started, Transition::Finish(JobOutcome::Failed { error: error.clone() })).await;
                // The message still goes to the dead-letter queue, for a person to look at.
                return MessageOutcome::Retry(error);
            }
        };
        self.settle(&claimed, started, Transition::Finish(outcome)).await
    }

    /// Looks at the job every [`CANCEL_POLL`] while its attempt runs; once it is CANCELLED, raises
    /// `cancelled`, which the attempt's streams read between every read and write, so the run
    /// stops within about that long and publishes nothing. Then waits for the attempt to end.
    async fn watch_cancel(&self, id: &JobId, cancelled: &AtomicBool) {
        loop {
            tokio::time::sleep(CANCEL_POLL).await;
            if let Ok(Some(job)) = self.ports.jobs.get(id).await
                && job.status == JobStatus::Cancelled
            {
                cancelled.store(true, Ordering::SeqCst);
                std::future::pending::<()>().await;
            }
        }
    }

    /// Writes the attempt's progress every [`crate::PROGRESS_EVERY`] while it changes, for the
    /// job's event stream; a write that fails is left to the next.
    async fn report_progress(&self, id: &JobId, progress: &crate::ReadProgress) {
        let Some(store) = &self.progress else { return std::future::pending().await };
        let mut reported = None;
        loop {
            tokio::time::sleep(crate::PROGRESS_EVERY).await;
            let now = progress.snapshot();
            if reported == Some(now) {
                continue;
            }
            match store.record(id, &now, self.ports.clock.now()).await {
                Ok(()) => reported = Some(now),
                Err(e) => tracing::debug!(job_id = %id, error = %e, "progress not recorded"),
            }
        }
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

    /// Records the attempt's usage event; a ledger that fails loses the event (logged), never the
    /// job's outcome.
    async fn meter(&self, job: &Job, started: std::time::Instant) {
        let compute = crate::metering::compute_of_this_process(started.elapsed());
        let mut stored_bytes = 0;
        for output in [&job.result_artifact_id, &job.error_report_artifact_id].into_iter().flatten() {
            match self.ports.artifacts.get(output).await {
                Ok(Some(artifact)) => stored_bytes += artifact.size_bytes,
                Ok(None) => {}
                Err(e) => tracing::warn!(job_id = %job.id, error = %e, "output size not metered"),
            }
        }
        let event =
            crate::metering::attempt_event(job, self.config.name, compute, stored_bytes, self.ports.clock.now());
        if let Err(e) = self.ports.usage.apply(&event).await {
            tracing::warn!(job_id = %job.id, event = event.id(), error = %e, "usage event not recorded");
        }
    }

    async fn settle(&self, claimed: &Job, started: std::time::Instant, transition: Transition) -> MessageOutcome {
        let mut seen = claimed.clone();
        for _ in 0..SETTLE_TRIES {
            let reason = match self.try_settle(&seen, started, transition.clone()).await {
                Ok(outcome) => return outcome,
                Err(reason) => reason,
            };
            match self.ports.jobs.get(&claimed.id).await {
                // Still this attempt's: the write that came first was one of its own (a renewal
                // whose answer was lost, shard progress), not a takeover. Settle what is stored.
                Ok(Some(job)) if job.status == JobStatus::Running && job.attempts == claimed.attempts => seen = job,
                // A later attempt took the job over after our lease ran out, or the job ended
                // (cancelled, deleted): that settles it.
                Ok(_) => {
                    tracing::warn!(job_id = %claimed.id, %reason, "outcome discarded");
                    return MessageOutcome::Done;
                }
                Err(e) => return MessageOutcome::Retry(format!("re-reading job {}: {e}", claimed.id)),
            }
        }
        // Never acknowledged while the job is unsettled: the redelivery runs it again.
        MessageOutcome::Retry(format!("job {}: its outcome could not be recorded", claimed.id))
    }

    /// [`JobRunner::settle`], or why the job was not `claimed` any more: another write to it
    /// came first.
    async fn try_settle(
        &self,
        claimed: &Job,
        started: std::time::Instant,
        transition: Transition,
    ) -> Result<MessageOutcome, String> {
        let next = match claimed.apply(transition, self.ports.clock.now()) {
            Ok(next) => next,
            Err(refused) => return Ok(MessageOutcome::Retry(format!("job {}: {refused}", claimed.id))),
        };
        Ok(match self.ports.jobs.replace(claimed, &next).await {
            Ok(()) => {
                if next.status.is_terminal() {
                    crate::quotas::job_ended(&*self.ports.quotas, &next).await;
                }
                crate::metrics::job_settled(&next);
                self.meter(&next, started).await;
                let error = next.error.as_deref().unwrap_or("");
                tracing::info!(job_id = %next.id, status = next.status.as_str(), error, "job settled");
                if next.status.is_terminal() { self.report_finished(&next).await } else { MessageOutcome::Done }
            }
            Err(StoreError::Conflict(reason)) => return Err(reason),
            Err(e) => MessageOutcome::Retry(format!("recording the outcome of job {}: {e}", claimed.id)),
        })
    }
}

/// Writes of one outcome against a job that changed under it (by its own attempt) before the
/// message is left for redelivery.
const SETTLE_TRIES: usize = 3;

/// An input file of a job, as stored: read it with [`crate::streams::BlobReader`].
#[derive(Clone, Debug)]
pub struct InputObject {
    pub filename: String,
    pub key: String,
    pub size: u64,
}

/// An attempt's access to the job's inputs and outputs, all in storage: inputs are streamed from
/// it and outputs to it, nothing goes to local disk.
pub struct Workspace<'a> {
    ports: &'a RunnerPorts,
    /// Raised when the job is cancelled while the attempt runs.
    cancelled: Arc<AtomicBool>,
    /// How far the attempt has read its content files.
    progress: Arc<crate::ReadProgress>,
}

impl<'a> Workspace<'a> {
    pub(crate) fn new(ports: &'a RunnerPorts) -> Self {
        Self { ports, cancelled: Arc::new(AtomicBool::new(false)), progress: Arc::default() }
    }
}

impl Workspace<'_> {
    pub fn progress(&self) -> Arc<crate::ReadProgress> {
        self.progress.clone()
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
            .inspect(|a| crate::metrics::job_input_opened(a.size_bytes))
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

    /// Input artifacts to stream from storage, in order.
    pub async fn inputs(&self, ids: &[helix_domain::ArtifactId]) -> Result<Vec<InputObject>, AttemptError> {
        let mut inputs = Vec::with_capacity(ids.len());
        for id in ids {
            let artifact = self.input(id).await?;
            inputs.push(InputObject { filename: artifact.filename, key: artifact.s3_key, size: artifact.size_bytes });
        }
        Ok(inputs)
    }

    /// The first `len` bytes of an input (all of a smaller one).
    pub async fn sample(&self, input: &InputObject, len: u64) -> Result<Vec<u8>, AttemptError> {
        self.ports.blobs.read_range(&input.key, 0, len.min(input.size)).await.map_err(|e| {
            AttemptError::Transient(format!("content file {} could not be read from storage: {e}", input.filename))
        })
    }

    pub fn blobs(&self) -> Arc<dyn helix_domain::Blobs> {
        self.ports.blobs.clone()
    }

    /// Raised when the job is cancelled: streams stop at their next read or write.
    pub fn cancelled(&self) -> Arc<AtomicBool> {
        self.cancelled.clone()
    }

    /// Records an output the job wrote at `key` (a key derived from the job: a retried attempt
    /// records the same artifact again).
    pub async fn record_output(
        &self,
        job: &Job,
        kind: ArtifactKind,
        key: String,
        content_type: &str,
        size: u64,
    ) -> Result<Artifact, AttemptError> {
        let artifact = Artifact::output(job, kind, key, content_type, size, self.now());
        self.ports.artifacts.put(&artifact).await?;
        Ok(artifact)
    }

    /// Stores a small file the job produced (a context, a draft) and records it as
    /// [`Workspace::record_output`] does.
    pub async fn put_output_bytes(
        &self,
        job: &Job,
        kind: ArtifactKind,
        key: String,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<Artifact, AttemptError> {
        self.ports.blobs.put_bytes(&key, bytes.to_vec(), content_type).await?;
        self.record_output(job, kind, key, content_type, bytes.len() as u64).await
    }
}
