use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ArtifactId, JobId, PipelineId, TeamId, Timestamp, UserId};

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Pending,
    Running,
    Completed,
    Failed,
    /// Stopped at a user's request (pipelines' cancel); nothing sets it yet.
    Cancelled,
}

impl JobStatus {
    pub const ALL: [Self; 5] = [Self::Pending, Self::Running, Self::Completed, Self::Failed, Self::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// A finished job never moves again, whatever a late or duplicated message says; only a
    /// user's retry (a FAILED or CANCELLED job) runs it again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// What a job does.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    /// Content + context + schema → valid records and rejects (the Lambda job worker).
    #[default]
    Transform,
    /// Content sample + schema → a draft context (the GPU container worker).
    SuggestMapping,
}

/// The worker that runs a job; each polls its own queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runner {
    /// The Lambda job worker, on the job queue.
    JobWorker,
    /// The GPU container worker, on the GPU queue: it holds the embedding model.
    GpuWorker,
}

/// A target field that `auto_map` filled in: the source column proposed for it and the
/// proposal's confidence.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AutoMappedField {
    /// The target field's dotted path, as the context's `fields:` names it (`customer.id`).
    pub field: String,
    pub source: String,
    pub score: f32,
}

/// What `auto_map` added to a transform job's context.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoMapped {
    /// The context the job ran with: the submitted one plus the proposals.
    pub context_artifact_id: ArtifactId,
    pub fields: Vec<AutoMappedField>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct JobInputs {
    pub content_artifact_ids: Vec<ArtifactId>,
    pub context_artifact_id: Option<ArtifactId>,
    pub schema_artifact_id: Option<ArtifactId>,
    /// The CSV tables the context's `lookups:` read, matched to them by file name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lookup_artifact_ids: Vec<ArtifactId>,
}

/// A job as stored. `owner_status` exists only for the status-filtered listing index. Unset
/// fields are left out of the item, not stored as NULL, so `if_not_exists` updates see them unset.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Job {
    pub id: JobId,
    /// Who submitted it.
    pub owner_id: UserId,
    /// The team it belongs to: its members read it by role.
    pub team_id: TeamId,
    #[serde(default)]
    pub kind: JobKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub status: JobStatus,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    pub attempts: u32,
    pub inputs: JobInputs,
    /// A transform job whose context leaves required target fields unmapped has them proposed
    /// by the mapping suggestion (on the GPU worker).
    #[serde(default)]
    pub auto_map: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auto_mapped_fields: Vec<AutoMappedField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_map_context_artifact_id: Option<ArtifactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_artifact_id: Option<ArtifactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_report_artifact_id: Option<ArtifactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_out: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_rejected: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the run decided without being told, with its evidence ("orders.csv: decoded as
    /// windows-1252 (detected) …"): the job completed, but its owner should check it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// How each content file was read, once the job has completed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs_read: Vec<InputReading>,
    /// A job whose input is split over many workers: its shards done and failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<crate::shard::ShardProgress>,
    /// The pipeline whose run this is, and the version it ran (`pipeline-created-index` lists a
    /// pipeline's runs; a job of no pipeline is not in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<PipelineId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_version: Option<u32>,
    /// Epoch seconds until which the worker that claimed the job owns it; past it, a redelivered
    /// message may claim the job again (its worker died).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<i64>,
    /// The transactional outbox: epoch seconds since the job's queue message is owed. Written
    /// with the job itself, cleared once the message is sent (or a worker claims the job); the
    /// sweeper sends the message of a job whose mark has stood too long (its API process died
    /// between the write and the send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsent_since: Option<i64>,
    /// The W3C trace context of the request that submitted the job, for its queue message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// How often the job was run again after it failed or was cancelled (`POST /jobs/{id}/retry`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
    /// What each of the latest [`ATTEMPT_HISTORY_LIMIT`] attempts did, oldest first; written by
    /// the lifecycle with the transition that starts or ends the attempt, so in the same
    /// conditional write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempt_history: Vec<AttemptRecord>,
}

/// How many attempts a job keeps a record of: the latest ones (`attempts` still counts them all).
/// Bounded so that a job that keeps failing stays one small item.
pub const ATTEMPT_HISTORY_LIMIT: usize = 20;

/// The longest error an attempt record keeps, in characters (the job's own `error` keeps all of
/// the last one).
pub const ATTEMPT_ERROR_CHARS: usize = 1000;

/// How an attempt ended.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttemptOutcome {
    /// Not ended yet: its worker holds the job.
    Running,
    Completed,
    /// Bad input, or the last delivery's passing failure.
    Failed,
    /// A passing failure (or the worker stopping): the job went back to `PENDING` for the next
    /// delivery.
    Released,
    /// Its worker vanished: the lease ran out, and the sweeper failed the job or another
    /// delivery took it over.
    Abandoned,
    /// A user cancelled the job while this attempt ran.
    Cancelled,
}

/// One attempt at running a job: a worker's claim, up to its outcome.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AttemptRecord {
    /// The job's attempt count when this one started: 1 for the first.
    pub number: u32,
    /// The run it belongs to: 0 for the job's first run, n for its nth retry.
    pub retry: u32,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub outcome: AttemptOutcome,
    /// Why it did not complete (at most 1,000 characters).
    pub error: Option<String>,
    pub records_in: Option<u64>,
    pub records_out: Option<u64>,
    pub records_rejected: Option<u64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Job {
    pub fn new(
        id: JobId,
        owner_id: UserId,
        kind: JobKind,
        name: Option<String>,
        inputs: JobInputs,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id,
            team_id: TeamId::personal(&owner_id),
            owner_id,
            kind,
            name,
            status: JobStatus::Pending,
            created_at,
            started_at: None,
            finished_at: None,
            attempts: 0,
            inputs,
            auto_map: false,
            auto_mapped_fields: Vec::new(),
            auto_map_context_artifact_id: None,
            result_artifact_id: None,
            result_path: None,
            error_report_artifact_id: None,
            records_in: None,
            records_out: None,
            records_rejected: None,
            error: None,
            warnings: Vec::new(),
            inputs_read: Vec::new(),
            shards: None,
            pipeline_id: None,
            pipeline_version: None,
            lease_expires_at: None,
            unsent_since: None,
            traceparent: None,
            retries: 0,
            attempt_history: Vec::new(),
        }
    }

    /// The message that runs the job.
    pub fn message(&self) -> JobMessage {
        JobMessage { job_id: self.id.clone(), retry: self.retries, traceparent: self.traceparent.clone(), shard: None }
    }

    pub fn runner(&self) -> Runner {
        match self.kind {
            JobKind::SuggestMapping => Runner::GpuWorker,
            JobKind::Transform if self.auto_map => Runner::GpuWorker,
            JobKind::Transform => Runner::JobWorker,
        }
    }
}

/// The job as its owner sees it (`JobRead` in the API): the stored job less the worker's lease
/// bookkeeping and the owner, with every optional field present (`null` when unset).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct JobRead {
    pub id: JobId,
    pub team_id: TeamId,
    pub kind: JobKind,
    pub name: Option<String>,
    pub status: JobStatus,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub attempts: u32,
    /// How often it was run again after failing or being cancelled (its attempts count them all).
    #[serde(default)]
    pub retries: u32,
    pub inputs: JobInputs,
    pub auto_map: bool,
    /// The fields `auto_map` proposed, once the job has completed.
    pub auto_mapped_fields: Vec<AutoMappedField>,
    /// The context the job ran with when `auto_map` added fields to it: review it, reuse it.
    pub auto_map_context_artifact_id: Option<ArtifactId>,
    pub result_artifact_id: Option<ArtifactId>,
    pub result_path: Option<String>,
    pub error_report_artifact_id: Option<ArtifactId>,
    pub records_in: Option<u64>,
    pub records_out: Option<u64>,
    pub records_rejected: Option<u64>,
    pub error: Option<String>,
    /// Decisions the run took without being told (such as a detected encoding), with evidence.
    pub warnings: Vec<String>,
    /// How each content file was read: format, encoding, layout, and what decided each.
    pub inputs_read: Vec<InputReading>,
    /// A job whose input is split over many workers: its shards, and how many are done and
    /// failed (its progress is the share done); `null` for a job run on one worker.
    #[serde(default)]
    pub shards: Option<crate::shard::ShardProgress>,
    /// The pipeline whose run this is; `null` for a job submitted on its own.
    #[serde(default)]
    pub pipeline_id: Option<PipelineId>,
    /// The pipeline version the run used.
    #[serde(default)]
    pub pipeline_version: Option<u32>,
    /// What each attempt did, oldest first: the latest 20 (`attempts` counts them all).
    #[serde(default)]
    pub attempt_history: Vec<AttemptRecord>,
}

/// How one content file was read, as the engine decided it, and what decided each setting
/// (`declared` in the context, `BOM`, `detected`, an Excel `sep=` line, the `file name`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct InputReading {
    /// The content file's name.
    pub input: String,
    /// `csv`, `json`, `ndjson`, `fixed`, `idoc`, `idoc-xml` or `xml`.
    pub format: String,
    pub encoding: String,
    /// `LF`, `CRLF` or `CR`, for formats read by line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_ending: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// The 1-based line of the header row, when the file has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u64>,
    /// Lines passed over above the table (titles, a `sep=` line).
    #[serde(default)]
    pub skipped_lines: u64,
    pub decided_by: std::collections::BTreeMap<String, String>,
}

impl From<Job> for JobRead {
    fn from(j: Job) -> Self {
        let Job {
            id,
            owner_id: _,
            team_id,
            kind,
            name,
            status,
            created_at,
            started_at,
            finished_at,
            attempts,
            inputs,
            auto_map,
            auto_mapped_fields,
            auto_map_context_artifact_id,
            result_artifact_id,
            result_path,
            error_report_artifact_id,
            records_in,
            records_out,
            records_rejected,
            error,
            warnings,
            inputs_read,
            shards,
            pipeline_id,
            pipeline_version,
            lease_expires_at: _,
            unsent_since: _,
            traceparent: _,
            retries,
            attempt_history,
        } = j;
        Self {
            id,
            team_id,
            kind,
            name,
            status,
            created_at,
            started_at,
            finished_at,
            attempts,
            retries,
            inputs,
            auto_map,
            auto_mapped_fields,
            auto_map_context_artifact_id,
            result_artifact_id,
            result_path,
            error_report_artifact_id,
            records_in,
            records_out,
            records_rejected,
            error,
            warnings,
            inputs_read,
            shards,
            pipeline_id,
            pipeline_version,
            attempt_history,
        }
    }
}

/// The queue message attribute that carries a job message's W3C trace context.
pub const TRACEPARENT_ATTRIBUTE: &str = "traceparent";

/// What travels on the job queue: only the id; the job record is the truth. The W3C
/// `traceparent` of the request that queued it travels beside the body, as a message attribute,
/// so that the job's API request and its worker run share one trace.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct JobMessage {
    pub job_id: JobId,
    /// Which run of the job the message starts: a retry's message differs from the first run's,
    /// so the worker's idempotency record of that run does not take it for a duplicate.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry: u32,
    #[serde(skip)]
    pub traceparent: Option<String>,
    /// Part of a job spread over many workers; absent on the job's own message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::ShardTask>,
}

/// How a finished run is recorded on the job.
#[derive(Clone, Debug, PartialEq)]
pub enum JobOutcome {
    Completed {
        result_artifact_id: ArtifactId,
        result_path: String,
        error_report_artifact_id: ArtifactId,
        records_in: u64,
        records_out: u64,
        records_rejected: u64,
        auto_mapped: Option<AutoMapped>,
        warnings: Vec<String>,
        inputs_read: Vec<InputReading>,
    },
    Failed {
        error: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_jobs_that_auto_map_run_on_the_gpu_worker() {
        let job = |kind, auto_map| Job {
            auto_map,
            ..Job::new("j".into(), "u".into(), kind, None, JobInputs::default(), Timestamp::now())
        };
        assert_eq!(job(JobKind::Transform, false).runner(), Runner::JobWorker);
        assert_eq!(job(JobKind::Transform, true).runner(), Runner::GpuWorker);
        assert_eq!(job(JobKind::SuggestMapping, false).runner(), Runner::GpuWorker);
    }

    #[test]
    fn jobs_stored_before_auto_map_existed_still_read() {
        let stored = serde_json::json!({
            "id": "j", "owner_id": "u", "team_id": "personal-u", "status": "COMPLETED",
            "created_at": "2024-03-01T10:00:00Z", "attempts": 1,
            "inputs": {"content_artifact_ids": ["a"], "context_artifact_id": null, "schema_artifact_id": null}
        });
        let job: Job = serde_json::from_value(stored).unwrap();
        assert!(!job.auto_map && job.auto_mapped_fields.is_empty() && job.auto_map_context_artifact_id.is_none());
    }
}
