//! The jobs core: every use case of jobs and of the artifacts they read and write, below every
//! transport. The HTTP handlers, the SQS workers, the GPU container and the local platform only
//! parse, authorize and call in here; storage, blobs, queues and time come in as the ports of
//! `helix-domain`, so every rule is tested in-process against the in-memory adapters.
//!
//! - [`JobService`]: submitting a job (every submission rule), reading, listing, cancelling,
//!   retrying, cloning and deleting jobs.
//! - [`ArtifactService`]: upload tickets (one PUT, or resumable multipart uploads for big files),
//!   downloads, the documents a job stores itself.
//! - [`JobRunner`]: one job message → claim, one [`Attempt`] per job kind, settle.
//! - [`UploadWatcher`]: S3 upload events → artifact state; inbox events → [`InboxTrigger`], which
//!   starts a pipeline's run per new file.
//! - [`JobSweeper`]: settles jobs whose worker vanished.
//! - [`SessionService`] and [`SessionGate`]: logins, rotating refresh tokens, logouts, and whether
//!   an access token's session is still on.
//! - [`TeamService`] and [`Access`]: teams, members, invitations, and who may do what in a team.
//! - [`ApiKeyService`]: a team's API keys, and the actor a request's key stands for.
//! - [`DraftReviewService`]: a suggest-mapping job's draft confirmed (a context artifact or a
//!   pipeline version), and the team's mapping memory it feeds.
//! - [`PipelineService`]: a team's pipelines, their immutable versions and diffs, and their runs.
//! - [`AuditTrail`] and [`AuditService`]: the hash-chained audit trail, recorded by the use
//!   cases above; listed and verified by a team's admins.
//! - [`budgets::BudgetService`]: a team's monthly budget, its thresholds and its hard stop.
//! - [`CostService`]: what jobs cost (the `metering` ledger priced by the price table), per job
//!   and per team, pipeline, user, kind or day.

mod access;
mod actor;
mod artifacts;
mod audit;
mod batch;
pub mod billing;
pub mod budgets;
mod chains;
mod compare;
mod costs;
mod deletion;
mod destinations;
mod documents;
mod drops;
mod error;
pub mod fault;
mod idempotency;
mod inbox;
mod job_stats;
mod keys;
pub mod metering;
pub mod metrics;
mod pipelines;
mod progress;
mod quotas;
mod rerun;
mod reviews;
mod runner;
mod schedules;
mod sessions;
mod sso;
mod streams;
mod submit;
#[cfg(feature = "suggest")]
mod suggest;
mod sweeper;
mod teams;
mod tracing_context;
mod transform;
mod uploads;
mod webhooks;

pub use access::Access;
pub use actor::{Actor, KeyGrant, RequestOrigin};
pub use artifacts::{
    ArtifactLimits, ArtifactService, InlineFile, PartChecksum, PartPlan, PartUrl, Upload, UploadTicket, UploadedPart,
    validate_content_type, validate_filename,
};
pub use audit::{AuditEvent, AuditPage, AuditQuery, AuditService, AuditTrail, ChainReport, action};
pub use batch::{MessageOutcome, handle_batch};
pub use chains::{ChainDriver, RunStarted, chain_actor};
pub use costs::{
    CostQuery, CostReport, CostRow, CostService, DailyCost, DailyCostReport, ExportIngest, JobCost, MAX_COST_DAYS,
    MAX_EXPORT_BYTES, PeriodIngest, ReconciledDay, Reconciliation,
};
pub use destinations::{Destinations, HostResolver, SystemResolver, non_public};
pub use documents::MAX_DOCUMENT_BYTES;
pub use drops::{DropRequest, DropTicket};
pub use error::JobError;
pub use inbox::{FailedInboxRuns, InboxObject, InboxOutcome, InboxTrigger, inbox_actor};
pub use job_stats::{JobDay, JobStats, MAX_JOBS_READ};
pub use keys::{ApiKeyService, KeyRequest, NewApiKey};
pub use pipelines::{ComparisonView, NewPipeline, PipelineDefinition, PipelineRun, PipelineService, StepDefinition};
pub use progress::{CountingReader, PROGRESS_EVERY, ReadProgress};
pub use quotas::{Quota, TeamUsage};
pub use rerun::CloneRequest;
pub use reviews::{ConfirmedDraft, Decision, DraftConfirmation, DraftReviewService, FieldDecision};
pub use runner::shards::{ShardConfig, ShardWork, ShardedTransformAttempt, Sharding};
pub use runner::{
    Attempt, AttemptError, AttemptKind, InputObject, JobRunner, RunnerConfig, RunnerPorts, StopSignal, Workspace,
};
pub use schedules::{
    Expression, MAX_SCHEDULES_PER_PIPELINE, NewSchedule, ScheduleService, ScheduleTrigger, schedule_actor,
};
pub use sessions::{IssuedSession, SessionGate, SessionService};
pub use sso::{ClaimedMembership, SingleSignOn, claimed_membership};
pub use submit::{Input, InputSource, JobList, JobQuery, JobRequest, JobService, Queues};
#[cfg(feature = "suggest")]
pub use suggest::{AutoMapAttempt, SuggestMappingAttempt, gpu_attempts};
pub use sweeper::{JobSweeper, Swept};
pub use teams::{NewInvitation, TeamService, TeamView, token_hash};
pub use tracing_context::continue_trace;
pub use transform::TransformAttempt;
pub use uploads::{UploadWatcher, UploadWatcherPorts};
pub use webhooks::{
    Backoff, DELIVERY_HEADER, EVENT_HEADER, JobEvents, MAX_WEBHOOKS_PER_PIPELINE, RunNotifier, SIGNATURE_HEADER,
    SignatureError, WebhookDeliverer, WebhookService, sign, verify,
};
