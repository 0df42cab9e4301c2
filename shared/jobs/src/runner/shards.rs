//! One big input, many workers. A transform job whose single content file is above the
//! threshold, in a format whose records a byte scan can find (CSV with a header row, NDJSON,
//! fixed-width, flat IDocs) and with a context that maps each record on its own, goes out as
//! shard messages on the job queue, which any worker takes:
//!
//! 1. **Scan** (one message per shard): the shard's bytes, read once, give its quote parity,
//!    line feeds and, for both quote states it may start in, its first record end and record
//!    count ([`split::Scanner`]; in an IDoc file a record ends before a control record).
//! 2. **Place**: whoever records the last scan (a conditional write tells exactly one worker)
//!    fixes every shard's start, first line and first record in one pass ([`split::spans`]) and
//!    queues the map messages.
//! 3. **Map** (one message per shard): the engine runs on the shard's bytes, after the file's
//!    header, with the file's line numbers and record indexes; the records and rejects go to
//!    intermediate objects.
//! 4. **Merge**: whoever records the last output joins the intermediates, in input order, into
//!    the result and the reject report, as multipart uploads whose parts are copied inside the
//!    bucket ([`join`]), and completes the job.
//!
//! Every message is idempotent (its body names the job, the attempt and the shard, and so does
//! its idempotency record; each shard's result is recorded once) and is retried alone. A file the
//! split cannot place exactly (a quote inside an unquoted field, a shard whose records the engine
//! counts otherwise) runs again on one worker. The strategy and its proof: `docs/scaling.md`.

mod split;

use std::future::Future;
use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;
use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use helix_domain::artifact::{error_report_key, result_key};
use helix_domain::shard::{ShardOutput, ShardPlan, ShardScan, ShardSpan};
use helix_domain::{
    ArtifactKind, Blobs, Job, JobId, JobMessage, JobOutcome, JobQueue, JobStatus, ShardProgress, ShardStore, ShardTask,
    StoreError, StoredPart, Transition,
};
use helix_engine::{EngineError, Frame, PartStart, Summary, Transformation};

use super::{Attempt, AttemptError, AttemptKind, JobRunner, Workspace};
use crate::MessageOutcome;
use crate::documents::Document;
use crate::streams::{BlobReader, BlobWriter, PART_BYTES, RANGE_BYTES, StreamContext};
use crate::transform::{compile, completed, output_type};

/// The first bytes of an input that decide how it splits (its header, its dialect).
const SAMPLE_BYTES: u64 = 1024 * 1024;
/// The most shards of one input: a plan (every shard's scan, span and output, ~400 bytes each)
/// stays well inside a DynamoDB item's 400 KB; a bigger input gets bigger shards.
const MAX_SHARDS: u64 = 512;
/// How often a worker tries to show a shard's progress on the job before leaving it to the next.
const PROGRESS_TRIES: u32 = 5;
/// How often a merge tries to settle the job when other writes to it come first.
const SETTLE_TRIES: u32 = 5;

/// The shard scans and maps a worker runs at once: one per core. Each is bound by the CPU (a
/// map's engine has a thread per core already) and holds its read-ahead and part buffers (tens
/// of MiB), so more at once add memory, not speed: a local platform that took 20 shard messages
/// at once peaked at 1.2 GB. A Lambda takes one message at a time and never waits here. Held by
/// the worker's [`Sharding`], not by the process: a test process runs many platforms, and one's
/// big shards must not hold up another's jobs.
#[derive(Clone)]
pub struct ShardWork(Arc<Semaphore>);

impl ShardWork {
    pub fn per_core() -> Self {
        Self(Arc::new(Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get()))))
    }
}

/// When and how finely inputs are split.
#[derive(Clone, Copy, Debug)]
pub struct ShardConfig {
    /// Inputs above this many bytes are split (`SHARD_THRESHOLD_BYTES`).
    pub threshold_bytes: u64,
    /// Bytes per shard (`SHARD_BYTES`).
    pub shard_bytes: u64,
    /// The smallest part of a multipart upload but the last: S3's 5 MiB. Only a store that does
    /// not enforce it (the in-memory one, in tests) may be given less.
    pub min_part_bytes: u64,
}

impl Default for ShardConfig {
    fn default() -> Self {
        Self { threshold_bytes: 256 * 1024 * 1024, shard_bytes: 64 * 1024 * 1024, min_part_bytes: 5 * 1024 * 1024 }
    }
}

/// What a runner needs to spread jobs over many workers: the queue the shard messages go to
/// (the job queue itself), the shard plans, and the sizes.
#[derive(Clone)]
pub struct Sharding {
    pub queue: Arc<dyn JobQueue>,
    pub store: Arc<dyn ShardStore>,
    pub config: ShardConfig,
    pub work: ShardWork,
}

/// A transform that splits a big input over many workers ([`TransformAttempt`](crate::TransformAttempt)
/// otherwise, and for what does not split).
pub struct ShardedTransformAttempt {
    sharding: Sharding,
}

impl ShardedTransformAttempt {
    pub fn new(sharding: Sharding) -> Self {
        Self { sharding }
    }
}

#[async_trait]
impl Attempt for ShardedTransformAttempt {
    fn kind(&self) -> AttemptKind {
        AttemptKind::Transform
    }

    async fn run(&self, job: &Job, workspace: &Workspace<'_>) -> Result<JobOutcome, AttemptError> {
        crate::TransformAttempt.run(job, workspace).await
    }

    fn sharding(&self) -> Option<&Sharding> {
        Some(&self.sharding)
    }
}

/// The input of a plan, as the plan's workers read it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PlanInput {
    filename: String,
    key: String,
    layout: split::Layout,
    /// How the file's start was read: every later shard is read the same way, and the merged
    /// report says it, as one run over the whole file does.
    reading: helix_engine::formats::InputReading,
    /// What one run over the whole file warns of as it opens it: the merged report's.
    warnings: Vec<helix_engine::Warning>,
}

/// Why a shard did not get done.
#[derive(Debug)]
enum ShardError {
    /// Storage failed: the message comes back.
    Transient(String),
    /// The file is not what the split assumed: the job runs again on one worker.
    Disagrees(String),
}

impl From<StoreError> for ShardError {
    fn from(e: StoreError) -> Self {
        Self::Transient(e.to_string())
    }
}

impl From<AttemptError> for ShardError {
    fn from(e: AttemptError) -> Self {
        match e {
            AttemptError::Transient(e) => Self::Transient(e),
            AttemptError::Input(e) => Self::Disagrees(e),
        }
    }
}

fn records_key(job: &JobId, attempt: u32, index: u32) -> String {
    format!("shards/{job}/{attempt}/{index}.records")
}

fn rejects_key(job: &JobId, attempt: u32, index: u32) -> String {
    format!("shards/{job}/{attempt}/{index}.rejects")
}

fn task_message(job: &Job, task: ShardTask) -> JobMessage {
    JobMessage { shard: Some(task), ..job.message() }
}

fn plan_input(plan: &ShardPlan) -> Result<PlanInput, ShardError> {
    serde_json::from_str(&plan.input).map_err(|e| ShardError::Transient(format!("unreadable shard plan: {e}")))
}

impl JobRunner {
    fn sharding(&self) -> Option<&Sharding> {
        self.attempts.iter().find_map(|a| a.sharding())
    }

    fn workspace(&self) -> Workspace<'_> {
        Workspace::new(&self.ports)
    }

    /// Sends a claimed job out as shards when its attempt shards and its input splits; `None`:
    /// the job runs here. A job told to run on one worker (`ShardTask::OneWorker`) does.
    pub(super) async fn fan_out(
        &self,
        claimed: &Job,
        attempt: &dyn Attempt,
        task: Option<ShardTask>,
        started: Instant,
    ) -> Option<MessageOutcome> {
        let sharding = attempt.sharding()?;
        if task.is_some() || claimed.inputs.content_artifact_ids.len() != 1 {
            return None;
        }
        let sent = match self.plan_shards(sharding, claimed).await {
            Ok(None) => return None,
            Ok(Some(plan)) => {
                let scan = |index| ShardTask::Scan { attempt: plan.attempt, index };
                self.send_tasks(sharding, claimed, plan.total, scan).await
            }
            Err(e) => Err(e),
        };
        let error = match sent {
            Ok(total) => {
                tracing::info!(job_id = %claimed.id, shards = total, "job split into shards");
                self.show_progress(&claimed.id, claimed.attempts, ShardProgress { total, done: 0, failed: 0 }).await;
                return Some(MessageOutcome::Done);
            }
            Err(ShardError::Transient(e) | ShardError::Disagrees(e)) => format!("splitting the input failed: {e}"),
        };
        // Handed back: the next delivery claims the job again (a new attempt, a new plan).
        let outcome = self.settle(claimed, started, Transition::Release { error: error.clone() }).await;
        Some(match outcome {
            MessageOutcome::Done => MessageOutcome::Retry(error),
            other => other,
        })
    }

    /// The attempt's plan, stored, when the job's input is big enough and splits.
    async fn plan_shards(&self, sharding: &Sharding, job: &Job) -> Result<Option<ShardPlan>, ShardError> {
        let workspace = self.workspace();
        let [input] = &workspace.inputs(&job.inputs.content_artifact_ids).await?[..] else { return Ok(None) };
        if input.size <= sharding.config.threshold_bytes {
            return Ok(None);
        }
        let context = workspace.document(job.inputs.context_artifact_id.as_ref()).await?;
        let schema = workspace.document(job.inputs.schema_artifact_id.as_ref()).await?;
        // A context or schema that does not compile fails the job in the one-worker run.
        let Ok(transformation) =
            helix_engine::compile(context.as_ref().map(Document::source), schema.as_ref().map(Document::source))
        else {
            return Ok(None);
        };
        let sample = workspace.sample(input, SAMPLE_BYTES).await?;
        let Some(found) = transformation.split_layout(&input.filename, &sample) else { return Ok(None) };
        let layout = split::Layout {
            quote: found.quote,
            delimiter: found.delimiter,
            data_start: found.data_start,
            lines_before_data: found.lines_before_data,
            size: input.size,
            shard_bytes: sharding.config.shard_bytes.max((input.size - found.data_start).div_ceil(MAX_SHARDS)),
            control_records: found.control_records,
        };
        let total = layout.shards();
        if total < 2 {
            return Ok(None);
        }
        let input = PlanInput {
            filename: input.filename.clone(),
            key: input.key.clone(),
            layout,
            reading: found.reading,
            warnings: found.warnings,
        };
        let input = serde_json::to_string(&input).map_err(|e| ShardError::Transient(e.to_string()))?;
        let plan = ShardPlan::new(job.id.clone(), job.attempts, input, total);
        sharding.store.create(&plan).await?;
        Ok(Some(plan))
    }

    /// Queues one task per shard; returns how many.
    async fn send_tasks(
        &self,
        sharding: &Sharding,
        job: &Job,
        total: u32,
        task: impl Fn(u32) -> ShardTask,
    ) -> Result<u32, ShardError> {
        let messages: Vec<JobMessage> = (0..total).map(|index| task_message(job, task(index))).collect();
        sharding.queue.send_all(&messages).await?;
        Ok(total)
    }

    /// One shard task: its phase's work, then the next phase's if this was the last shard of it.
    pub(super) async fn run_shard(&self, job_id: &JobId, task: ShardTask, deliveries: u32) -> MessageOutcome {
        let Some(sharding) = self.sharding() else {
            return MessageOutcome::Retry(format!("job {job_id}: this worker runs no shards"));
        };
        let (ShardTask::Scan { attempt, index } | ShardTask::Map { attempt, index }) = task else {
            return MessageOutcome::Retry(format!("job {job_id}: {task:?} is not a shard's task"));
        };
        let job = match self.ports.jobs.get(job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => return MessageOutcome::Retry(format!("job {job_id} does not exist")),
            Err(e) => return MessageOutcome::Retry(e.to_string()),
        };
        if job.status != JobStatus::Running || job.attempts != attempt {
            tracing::info!(%job_id, attempt, index, "shard of an attempt that is over; nothing to do");
            return MessageOutcome::Done;
        }
        let plan = match sharding.store.get(job_id, attempt).await {
            Ok(Some(plan)) => plan,
            Ok(None) => return MessageOutcome::Retry(format!("job {job_id} attempt {attempt} has no shard plan")),
            Err(e) => return MessageOutcome::Retry(e.to_string()),
        };
        let started = Instant::now();
        let done = match task {
            ShardTask::Scan { .. } => self.scan(sharding, &job, &plan, index).await,
            _ => self.map(sharding, &job, &plan, index, started).await,
        };
        match done {
            Ok((outcome, used)) => {
                self.meter_shard(&job, task, &used, started).await;
                outcome
            }
            Err(ShardError::Disagrees(reason)) => self.one_worker(sharding, &job, attempt, &reason).await,
            Err(ShardError::Transient(error)) if deliveries < self.config.max_attempts => {
                tracing::warn!(%job_id, attempt, index, %error, deliveries, "shard failed; it will be retried");
                MessageOutcome::Retry(error)
            }
            Err(ShardError::Transient(error)) => {
                let error = format!("shard {index} of {} gave up after {deliveries} attempts: {error}", plan.total);
                self.give_up(sharding, &job, &plan, index, &error, started).await;
                // The message still goes to the dead-letter queue, for a person to look at.
                MessageOutcome::Retry(error)
            }
        }
    }

    /// Phase 1: scans the shard's bytes; the last scan recorded places every shard.
    async fn scan(
        &self,
        sharding: &Sharding,
        job: &Job,
        plan: &ShardPlan,
        index: u32,
    ) -> Result<(MessageOutcome, ShardUse), ShardError> {
        let input = plan_input(plan)?;
        let mut used = ShardUse::default();
        let scan = self.beating(sharding, &job.id, plan.attempt, self.scan_range(&input, index, &mut used)).await?;
        let recorded = sharding.store.record_scan(&job.id, plan.attempt, index, &scan).await?;
        if !recorded.plan.scanned() {
            return Ok((MessageOutcome::Done, used));
        }
        // The last scan (or a redelivery after all were in: placing is idempotent).
        let plan = recorded.plan;
        let scans: Vec<_> = plan.scans.values().copied().collect();
        let spans = split::spans(&input.layout, &scans).map_err(|e| ShardError::Disagrees(e.to_string()))?;
        let placed = sharding.store.record_spans(&job.id, plan.attempt, &spans).await?;
        tracing::info!(job_id = %job.id, shards = plan.total, "shards placed");
        let map = |index| ShardTask::Map { attempt: plan.attempt, index };
        used.sqs_messages_sent = u64::from(self.send_tasks(sharding, job, placed.plan.total, map).await?);
        Ok((MessageOutcome::Done, used))
    }

    /// Reads shard `index`'s range once (and the byte before it, and what the scan wants after
    /// it), counting the requests in `used`.
    async fn scan_range(&self, input: &PlanInput, index: u32, used: &mut ShardUse) -> Result<ShardScan, ShardError> {
        let range = input.layout.range(index);
        let blobs = &self.ports.blobs;
        // The byte before the range tells whether a quote at its start begins a field.
        let before = match range.start.checked_sub(1) {
            Some(at) => {
                used.s3_get_requests += 1;
                blobs.read_range(&input.key, at, 1).await?.first().copied()
            }
            None => None,
        };
        let mut scanner = split::Scanner::new(&input.layout, range.start, before);
        let mut at = range.start;
        while at < range.end {
            let chunk = blobs.read_range(&input.key, at, RANGE_BYTES.min(range.end - at)).await?;
            if chunk.is_empty() {
                return Err(ShardError::Transient(format!("{} ends before byte {}", input.filename, range.end)));
            }
            scanner.feed(&chunk);
            at += chunk.len() as u64;
            used.s3_get_requests += 1;
        }
        let wanted = scanner.wants_after();
        if wanted > 0 && range.end < input.layout.size {
            scanner.feed_after(&blobs.read_range(&input.key, range.end, wanted).await?);
            used.s3_get_requests += 1;
        }
        Ok(scanner.finish())
    }

    /// Runs a shard's `work` (its scan or its map, not the writes that end it), once the process
    /// has room for it ([`ShardWork`]), while renewing its job's lease every third of the lease,
    /// as one worker's run does, so that a long shard (or one waiting) does not leave the job
    /// looking abandoned. A renewal is never cut short: when this returns none is in flight, so
    /// none lands between a merge's read of the job and its settling write.
    async fn beating<T>(&self, sharding: &Sharding, id: &JobId, attempt: u32, work: impl Future<Output = T>) -> T {
        let done = tokio::sync::Notify::new();
        let heartbeat = async {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(self.config.lease / 3) => {}
                    () = done.notified() => return,
                }
                self.renew(id, attempt).await;
            }
        };
        let work = async {
            // Never closed, so never an error: a permit, held until the work ends.
            let _permit = sharding.work.0.acquire().await;
            let output = work.await;
            // Stored when the heartbeat is renewing: it stops after that renewal.
            done.notify_one();
            output
        };
        tokio::join!(work, heartbeat).0
    }

    /// Renews the lease of the job while it runs `attempt`; a renewal another write came before
    /// is left to the next beat.
    async fn renew(&self, id: &JobId, attempt: u32) {
        let job = match self.ports.jobs.get(id).await {
            Ok(Some(job)) if job.status == JobStatus::Running && job.attempts == attempt => job,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(job_id = %id, error = %e, "could not renew the lease of a sharded job");
                return;
            }
        };
        let now = self.ports.clock.now();
        let Ok(renewed) = job.apply(Transition::Renew { lease_until: now.plus(self.config.lease) }, now) else {
            return;
        };
        if let Err(e) = self.ports.jobs.replace(&job, &renewed).await {
            tracing::warn!(job_id = %id, error = %e, "could not renew the lease of a sharded job");
        }
    }

    /// Phase 3: maps the shard's records; the last output recorded merges them all.
    async fn map(
        &self,
        sharding: &Sharding,
        job: &Job,
        plan: &ShardPlan,
        index: u32,
        started: Instant,
    ) -> Result<(MessageOutcome, ShardUse), ShardError> {
        let input = plan_input(plan)?;
        let span = plan
            .spans
            .as_ref()
            .and_then(|spans| spans.get(index as usize).copied())
            .ok_or_else(|| ShardError::Transient(format!("shard {index} is not placed yet")))?;
        let used = ShardUse::of_map(job, &input, &span, plan.outputs.get(&index));
        let output = match plan.outputs.get(&index) {
            Some(output) => output.clone(),
            None => {
                self.beating(sharding, &job.id, plan.attempt, self.map_records(job, plan.attempt, index, input, span))
                    .await?
            }
        };
        let used = used.with_outputs(&output);
        let recorded = sharding.store.record_output(&job.id, plan.attempt, index, &output).await?;
        self.show_progress(&job.id, plan.attempt, recorded.plan.progress()).await;
        if !recorded.plan.mapped() {
            return Ok((MessageOutcome::Done, used));
        }
        Ok((self.merge(job, &recorded.plan, started).await?, used))
    }

    /// Records a shard task's usage event. Its id is the attempt's and the task's, so a redelivered
    /// task counts once; the merge is in the attempt's own event (sequence 0), which its settle
    /// records.
    async fn meter_shard(&self, job: &Job, task: ShardTask, used: &ShardUse, started: Instant) {
        let sequence = match task {
            ShardTask::Scan { index, .. } => 1 + index,
            ShardTask::Map { index, .. } => 1 + MAX_SHARDS as u32 + index,
            _ => return,
        };
        let compute = crate::metering::compute_of_this_process(started.elapsed());
        let attempt = crate::metering::attempt_event(job, self.config.name, compute, 0, self.ports.clock.now());
        let event = crate::metering::UsageEvent {
            sequence,
            s3_get_requests: used.s3_get_requests,
            s3_put_requests: used.s3_put_requests,
            // The message received and deleted, and those it sent.
            sqs_requests: 2 + used.sqs_messages_sent,
            // The job and the plan read; the idempotency record's two writes and the plan's one.
            dynamodb_read_units: 2,
            dynamodb_write_units: 3,
            ..attempt
        };
        if let Err(e) = self.ports.usage.apply(&event).await {
            tracing::warn!(job_id = %job.id, event = event.id(), error = %e, "shard usage not recorded");
        }
    }

    async fn map_records(
        &self,
        job: &Job,
        attempt: u32,
        index: u32,
        input: PlanInput,
        span: ShardSpan,
    ) -> Result<ShardOutput, ShardError> {
        if index > 0 && span.start == span.end {
            return Ok(ShardOutput::default());
        }
        let workspace = self.workspace();
        let context = workspace.document(job.inputs.context_artifact_id.as_ref()).await?;
        let schema = workspace.document(job.inputs.schema_artifact_id.as_ref()).await?;
        let lookups = workspace.inputs(&job.inputs.lookup_artifact_ids).await?;
        let streams = StreamContext {
            blobs: self.ports.blobs.clone(),
            runtime: Handle::current(),
            cancelled: workspace.cancelled(),
        };
        let job_id = job.id.clone();
        tokio::task::spawn_blocking(move || {
            map_span(&streams, &job_id, attempt, index, &input, span, context, schema, &lookups)
        })
        .await
        .map_err(|e| ShardError::Transient(format!("shard {index} crashed: {e}")))?
    }

    /// Joins the shards' outputs into the job's result and reject report, and completes the job.
    async fn merge(&self, job: &Job, plan: &ShardPlan, started: Instant) -> Result<MessageOutcome, ShardError> {
        let workspace = self.workspace();
        let context = workspace.document(job.inputs.context_artifact_id.as_ref()).await?;
        let schema = workspace.document(job.inputs.schema_artifact_id.as_ref()).await?;
        let transformation =
            helix_engine::compile(context.as_ref().map(Document::source), schema.as_ref().map(Document::source))
                .map_err(|e| ShardError::Disagrees(e.to_string()))?;
        let summary = merged_summary(plan)?;
        let sharding = self.sharding().ok_or_else(|| ShardError::Transient("no sharding".into()))?;
        let min_part = sharding.config.min_part_bytes;
        if let Err(e) = transformation.check_reject_rate(&summary) {
            // As one run: the job fails and publishes nothing.
            let outcome = self.finish_plan(job, plan, JobOutcome::Failed { error: e.to_string() }, started).await;
            return Ok(outcome);
        }
        // A table is never run in shards (split_layout), so the result is records.
        let (extension, result_type) = output_type(transformation.output_format(), None);
        let blobs = &*self.ports.blobs;
        let records: Vec<_> =
            (0..plan.total).map(|i| (records_key(&job.id, plan.attempt, i), plan.outputs[&i].result_bytes)).collect();
        let any_record = records.iter().any(|(_, len)| *len > 0);
        let result = result_key(&job.id, extension);
        let result_bytes =
            join(blobs, &result, result_type, &transformation.records_frame(any_record), &records, min_part).await?;
        let rejects: Vec<_> =
            (0..plan.total).map(|i| (rejects_key(&job.id, plan.attempt, i), plan.outputs[&i].reject_bytes)).collect();
        let report_key = error_report_key(&job.id);
        let frame = Transformation::rejects_frame(&summary);
        let report_bytes = join(blobs, &report_key, "application/json", &frame, &rejects, min_part).await?;
        let result = workspace.record_output(job, ArtifactKind::Result, result, result_type, result_bytes).await?;
        let report = workspace
            .record_output(job, ArtifactKind::ErrorReport, report_key, "application/json", report_bytes)
            .await?;
        tracing::info!(job_id = %job.id, shards = plan.total, result_bytes, "shards merged");
        Ok(self.finish_plan(job, plan, completed(result, report, summary, None), started).await)
    }

    /// Settles the plan's attempt with `outcome` (if the job is still on it) and removes the
    /// shards' intermediate objects. Other workers write the job while it runs (a shard's
    /// progress, a lease renewed by a shard still running, such as a redelivered one): a settle
    /// that one of them came before reads the job again and tries again.
    async fn finish_plan(&self, job: &Job, plan: &ShardPlan, outcome: JobOutcome, started: Instant) -> MessageOutcome {
        let mut tries = 0;
        let settled = loop {
            let mut current = match self.ports.jobs.get(&job.id).await {
                Ok(Some(current)) if current.status == JobStatus::Running && current.attempts == plan.attempt => {
                    current
                }
                Ok(_) => break MessageOutcome::Done,
                Err(e) => return MessageOutcome::Retry(e.to_string()),
            };
            // The progress shown last may have lost a race with another shard's: the settled
            // job shows the plan's own (the lease check does not look at it).
            current.shards = Some(plan.progress());
            match self.try_settle(&current, started, Transition::Finish(outcome.clone())).await {
                Ok(settled) => break settled,
                Err(reason) if tries + 1 < SETTLE_TRIES => {
                    tries += 1;
                    tracing::info!(job_id = %job.id, %reason, "the job changed before it was settled; trying again");
                }
                // The message comes back and merges again; the intermediates stay for it.
                Err(reason) => return MessageOutcome::Retry(format!("job {}: not settled: {reason}", job.id)),
            }
        };
        for index in 0..plan.total {
            for key in [records_key(&job.id, plan.attempt, index), rejects_key(&job.id, plan.attempt, index)] {
                // The bucket's lifecycle rule removes what is left under `shards/`.
                if let Err(e) = self.ports.blobs.delete(&key).await {
                    tracing::warn!(job_id = %job.id, key, error = %e, "intermediate shard output not removed");
                }
            }
        }
        settled
    }

    /// A shard that failed on its last delivery fails the job.
    async fn give_up(
        &self,
        sharding: &Sharding,
        job: &Job,
        plan: &ShardPlan,
        index: u32,
        error: &str,
        started: Instant,
    ) {
        let plan = match sharding.store.record_failure(&job.id, plan.attempt, index, error).await {
            Ok(recorded) => recorded.plan,
            Err(e) => {
                tracing::warn!(job_id = %job.id, index, error = %e, "shard failure not recorded");
                plan.clone()
            }
        };
        self.finish_plan(job, &plan, JobOutcome::Failed { error: error.to_owned() }, started).await;
    }

    /// The split does not fit the file: the attempt ends (the job back to `PENDING`) and the
    /// job's message comes again, to run on one worker. The job is released before the message
    /// is sent, so that message finds it ready at once (sent first, it found the job RUNNING and
    /// waited a whole visibility timeout); a delivery that finds the job released already (the
    /// send failed) sends it again.
    async fn one_worker(&self, sharding: &Sharding, job: &Job, attempt: u32, reason: &str) -> MessageOutcome {
        tracing::warn!(job_id = %job.id, attempt, reason, "the input does not split exactly; it runs on one worker");
        let current = match self.ports.jobs.get(&job.id).await {
            Ok(Some(current)) => current,
            Ok(None) => return MessageOutcome::Done,
            Err(e) => return MessageOutcome::Retry(e.to_string()),
        };
        if current.status == JobStatus::Running && current.attempts == attempt {
            let error = format!("the input was not split ({reason}); it runs on one worker");
            let released = match current.apply(Transition::Release { error }, self.ports.clock.now()) {
                Ok(released) => released,
                Err(refused) => return MessageOutcome::Retry(format!("job {}: {refused}", job.id)),
            };
            if let Err(e) = self.ports.jobs.replace(&current, &released).await {
                return MessageOutcome::Retry(e.to_string());
            }
        } else if current.status != JobStatus::Pending {
            // Running on one worker already, or ended.
            return MessageOutcome::Done;
        }
        match sharding.queue.send(&task_message(job, ShardTask::OneWorker { attempt })).await {
            Ok(()) => MessageOutcome::Done,
            Err(e) => MessageOutcome::Retry(e.to_string()),
        }
    }

    /// Shows the shards' progress on the job (never less than it shows) and renews its lease:
    /// the job is RUNNING while its shards are, on whichever workers.
    async fn show_progress(&self, id: &JobId, attempt: u32, progress: ShardProgress) {
        for _ in 0..PROGRESS_TRIES {
            let job = match self.ports.jobs.get(id).await {
                Ok(Some(job)) if job.status == JobStatus::Running && job.attempts == attempt => job,
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(job_id = %id, error = %e, "shard progress not shown");
                    return;
                }
            };
            let now = self.ports.clock.now();
            let Ok(mut next) = job.apply(Transition::Renew { lease_until: now.plus(self.config.lease) }, now) else {
                return;
            };
            let shown = job.shards.unwrap_or_default();
            next.shards = Some(ShardProgress {
                total: progress.total,
                done: shown.done.max(progress.done),
                failed: shown.failed.max(progress.failed),
            });
            match self.ports.jobs.replace(&job, &next).await {
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => tracing::warn!(job_id = %id, error = %e, "shard progress not shown"),
                Ok(()) => {}
            }
            return;
        }
    }
}

/// The counts of all shards, and the reading of the file one run over it reports.
fn merged_summary(plan: &ShardPlan) -> Result<Summary, ShardError> {
    let input = plan_input(plan)?;
    let mut summary = Summary { warnings: input.warnings, inputs: vec![input.reading], ..Summary::default() };
    for output in plan.outputs.values() {
        summary.records_in += output.records_in;
        summary.records_out += output.records_out;
        summary.records_rejected += output.records_rejected;
        summary.records_filtered += output.records_filtered;
    }
    Ok(summary)
}

/// Maps one shard's records into its intermediate objects, on the engine's blocking thread.
#[allow(clippy::too_many_arguments)]
fn map_span(
    streams: &StreamContext,
    job_id: &JobId,
    attempt: u32,
    index: u32,
    input: &PlanInput,
    span: ShardSpan,
    context: Option<Document>,
    schema: Option<Document>,
    lookups: &[crate::runner::InputObject],
) -> Result<ShardOutput, ShardError> {
    let mut transformation = compile(streams, context.as_ref(), schema.as_ref(), lookups)?;
    let reader = |range| BlobReader::range(streams, input.filename.clone(), input.key.clone(), range);
    let layout = &input.layout;
    // The first shard is the file's start, read as one run reads it; a later one is its records
    // after the file's header, read as the first was.
    let (mut source, start): (Box<dyn Read>, _) = if index == 0 {
        (Box::new(reader(0..span.end)), PartStart { lines_before: 0, records_before: 0 })
    } else {
        transformation.read_as(&input.reading);
        let header = reader(0..layout.data_start);
        let lines_before = span.first_line - 1 - layout.lines_before_data;
        (
            Box::new(header.chain(reader(span.start..span.end))),
            PartStart { lines_before, records_before: span.records_before },
        )
    };
    let mut records = BlobWriter::new(streams, records_key(job_id, attempt, index), "application/octet-stream");
    let mut rejects = BlobWriter::new(streams, rejects_key(job_id, attempt, index), "application/octet-stream");
    let run = (|| -> Result<(Summary, u64), EngineError> {
        let mut run = transformation.start_part(&mut records, &mut rejects)?;
        run.feed_part(&input.filename, &mut source, start)?;
        let read = run.records_read() - span.records_before;
        Ok((run.finish()?, read))
    })();
    let checked = match run {
        Ok((_, read)) if read != span.records => Err(ShardError::Disagrees(format!(
            "shard {index} holds {read} records where the split placed {}",
            span.records
        ))),
        Ok((summary, _)) => Ok(summary),
        Err(EngineError::Io(e)) => Err(ShardError::Transient(e.to_string())),
        Err(e) => Err(ShardError::Disagrees(format!("shard {index}: {e}"))),
    };
    let summary = match checked {
        Ok(summary) => summary,
        Err(e) => {
            records.abort();
            rejects.abort();
            return Err(e);
        }
    };
    let result_bytes = match records.finish() {
        Ok(bytes) => bytes,
        Err(e) => {
            rejects.abort();
            return Err(e.into());
        }
    };
    let reject_bytes = rejects.finish()?;
    Ok(ShardOutput {
        records_in: summary.records_in,
        records_out: summary.records_out,
        records_rejected: summary.records_rejected,
        records_filtered: summary.records_filtered,
        result_bytes,
        reject_bytes,
    })
}

/// What one shard task asked of S3 and SQS (its compute is measured around it). The
/// intermediates it stores live minutes, not months: no storage is metered for them.
#[derive(Debug, Default)]
struct ShardUse {
    s3_get_requests: u64,
    s3_put_requests: u64,
    sqs_messages_sent: u64,
}

impl ShardUse {
    /// The reads of a shard's map: its documents and lookups, the file's header again (a later
    /// shard), and its bytes in ranges; none if its output was recorded by a delivery before.
    fn of_map(job: &Job, input: &PlanInput, span: &ShardSpan, recorded: Option<&ShardOutput>) -> Self {
        if recorded.is_some() {
            return Self::default();
        }
        let documents = u64::from(job.inputs.context_artifact_id.is_some())
            + u64::from(job.inputs.schema_artifact_id.is_some())
            + job.inputs.lookup_artifact_ids.len() as u64;
        let header = u64::from(span.start > 0 && input.layout.data_start > 0);
        let ranges = (span.end - span.start).div_ceil(RANGE_BYTES);
        Self { s3_get_requests: documents + header + ranges, ..Self::default() }
    }

    /// The writes of the two intermediates: one PUT each, or a multipart upload's create, parts and
    /// complete.
    fn with_outputs(self, output: &ShardOutput) -> Self {
        if self.s3_get_requests == 0 {
            return self;
        }
        let puts = |bytes: u64| match bytes.div_ceil(PART_BYTES as u64) {
            0 | 1 => 1,
            parts => parts + 2,
        };
        Self { s3_put_requests: puts(output.result_bytes) + puts(output.reject_bytes), ..self }
    }
}

/// A piece of a joined object: bytes of its own (the frame), or a range of an intermediate.
enum Piece<'a> {
    Bytes(&'a [u8]),
    Copy(&'a str, std::ops::Range<u64>),
}

/// Writes `frame.start`, the `shards` objects (key, size) in order with the first separator
/// dropped, and `frame.end` as one object at `key`; returns its size. A shard output of at least
/// `min_part` bytes is copied inside the bucket as a part of its own (UploadPartCopy); smaller
/// pieces (the frame, small shards, the head of a big shard that tops up a part) are read and
/// written into a part of their own, so every part but the last is at least `min_part`: at most
/// about `2 * min_part` bytes of the output pass through the worker at a time.
async fn join(
    blobs: &dyn Blobs,
    key: &str,
    content_type: &str,
    frame: &Frame,
    shards: &[(String, u64)],
    min_part: u64,
) -> Result<u64, ShardError> {
    let mut pieces = vec![Piece::Bytes(&frame.start)];
    let mut skip = frame.first_separator as u64;
    for (shard, size) in shards.iter().filter(|(_, size)| *size > 0) {
        pieces.push(Piece::Copy(shard, skip.min(*size)..*size));
        skip = 0;
    }
    pieces.push(Piece::Bytes(&frame.end));
    let mut upload: Option<String> = None;
    let joined = join_parts(blobs, key, content_type, &pieces, min_part, &mut upload).await;
    if joined.is_err()
        && let Some(upload) = &upload
        && let Err(e) = blobs.abort_multipart(key, upload).await
    {
        tracing::warn!(key, error = %e, "could not abort a merge's multipart upload");
    }
    joined
}

/// Parts of a merge uploaded or copied at once.
const MERGE_PARTS_IN_FLIGHT: usize = 32;

async fn join_parts(
    blobs: &dyn Blobs,
    key: &str,
    content_type: &str,
    pieces: &[Piece<'_>],
    min_part: u64,
    upload: &mut Option<String>,
) -> Result<u64, ShardError> {
    // Parts go up MERGE_PARTS_IN_FLIGHT at a time (a copy is a server-side request of its own):
    // one after another, the copies are most of a big merge's time (docs/scaling.md, "Model").
    let mut in_flight: FuturesOrdered<BoxFuture<'_, Result<StoredPart, StoreError>>> = FuturesOrdered::new();
    let mut parts = Vec::new();
    let mut buffer: Vec<u8> = Vec::new();
    let mut size = 0u64;
    let mut number = 0u32;
    for piece in pieces {
        let (from, mut range) = match piece {
            Piece::Bytes(bytes) => {
                buffer.extend_from_slice(bytes);
                continue;
            }
            Piece::Copy(from, range) => (*from, range.clone()),
        };
        // A part being filled is topped up from the shard's head (or takes all of a small one).
        if !buffer.is_empty() || range.end - range.start < min_part {
            let wanted =
                if buffer.is_empty() { range.end - range.start } else { min_part.saturating_sub(buffer.len() as u64) };
            let mut take = wanted.min(range.end - range.start);
            // What would be left of the shard is too small for a part of its own: take it all.
            if range.end - range.start - take < min_part {
                take = range.end - range.start;
            }
            buffer.extend(read_all(blobs, from, range.start..range.start + take).await?);
            range.start += take;
        }
        if buffer.len() as u64 >= min_part {
            let upload_id = started(blobs, key, content_type, upload).await?;
            number += 1;
            size += buffer.len() as u64;
            let body = std::mem::take(&mut buffer);
            in_flight.push_back(Box::pin(async move { blobs.upload_part(key, &upload_id, number, body).await }));
        }
        if range.start < range.end {
            let upload_id = started(blobs, key, content_type, upload).await?;
            number += 1;
            size += range.end - range.start;
            in_flight
                .push_back(Box::pin(async move { blobs.upload_part_copy(key, &upload_id, number, from, range).await }));
        }
        while in_flight.len() >= MERGE_PARTS_IN_FLIGHT {
            parts.push(in_flight.next().await.expect("a part in flight")?);
        }
    }
    while let Some(part) = in_flight.next().await {
        parts.push(part?);
    }
    let Some(upload_id) = upload.clone() else {
        // All of it fits in one part: one PUT.
        let size = buffer.len() as u64;
        blobs.put_bytes(key, buffer, content_type).await?;
        return Ok(size);
    };
    if !buffer.is_empty() {
        size += buffer.len() as u64;
        parts.push(blobs.upload_part(key, &upload_id, number + 1, buffer).await?);
    }
    blobs.complete_multipart(key, &upload_id, &parts).await?;
    Ok(size)
}

async fn started(
    blobs: &dyn Blobs,
    key: &str,
    content_type: &str,
    upload: &mut Option<String>,
) -> Result<String, StoreError> {
    if let Some(id) = upload {
        return Ok(id.clone());
    }
    let id = blobs.start_multipart(key, content_type).await?;
    Ok(upload.insert(id).clone())
}

async fn read_all(blobs: &dyn Blobs, key: &str, range: std::ops::Range<u64>) -> Result<Vec<u8>, ShardError> {
    let bytes = blobs.read_range(key, range.start, range.end - range.start).await?;
    if bytes.len() as u64 != range.end - range.start {
        return Err(ShardError::Transient(format!("{key} is shorter than recorded")));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use helix_domain::memory::MemoryBlobs;

    use super::*;

    async fn joined(shards: &[&[u8]], frame: &Frame, min_part: u64) -> (Vec<u8>, MemoryBlobs) {
        let blobs = MemoryBlobs::default();
        let mut objects = Vec::new();
        for (i, body) in shards.iter().enumerate() {
            let key = format!("shard/{i}");
            blobs.put_bytes(&key, body.to_vec(), "x").await.unwrap();
            objects.push((key, body.len() as u64));
        }
        let size = join(&blobs, "out", "x", frame, &objects, min_part).await.unwrap();
        let body = blobs.object("out").unwrap().body;
        assert_eq!(size, body.len() as u64);
        (body, blobs)
    }

    #[tokio::test]
    async fn parts_keep_input_order_and_the_frame_whatever_their_sizes() {
        let frame = Frame { start: b"[".to_vec(), first_separator: 1, end: b"\n]\n".to_vec() };
        let big = vec![b'b'; 40];
        let shards: [&[u8]; 6] = [b"", b",\n{1}", &big, b",\n{2}", b"", &big];
        for min_part in [1, 5, 10, 16, 41, 1000] {
            let (body, blobs) = joined(&shards, &frame, min_part).await;
            let mut expected = b"[\n{1}".to_vec();
            expected.extend_from_slice(&big);
            expected.extend_from_slice(b",\n{2}");
            expected.extend_from_slice(&big);
            expected.extend_from_slice(b"\n]\n");
            assert_eq!(String::from_utf8_lossy(&body), String::from_utf8_lossy(&expected), "min_part {min_part}");
            assert!(blobs.open_uploads().is_empty());
        }
    }
}
