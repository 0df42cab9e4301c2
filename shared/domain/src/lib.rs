//! HelixNet's domain: users, artifacts and jobs, their rules, and the small traits through which the
//! rest of the platform reaches storage, blobs and queues. No AWS types live here.

pub mod api_key;
pub mod artifact;
pub mod audit;
pub mod chain;
pub mod clock;
pub mod ids;
pub mod job;
pub mod lifecycle;
pub mod mapping_memory;
pub mod memory;
pub mod pipeline;
pub mod ports;
pub mod progress;
pub mod quota;
pub mod rate;
pub mod schedule;
pub mod session;
pub mod shard;
pub mod team;
pub mod timestamp;
pub mod user;
pub mod webhook;

pub use api_key::{API_KEY_PREFIX, ApiKey, KeyScope, SCOPES};
pub use artifact::ArtifactRead;
pub use artifact::{Artifact, ArtifactKind, ArtifactStatus, FileDeclaration, MultipartUpload};
pub use audit::{AuditEntry, AuditOutcome, BrokenLink, ChainCheck, GENESIS_HASH};
pub use chain::{
    ChainRun, ChainStart, MAX_STEPS, PipelineStep, RunStatus, STARTED_BY, StepEnd, StepJob, StepRun, StepStatus,
    check_steps,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::{
    ApiKeyId, ArtifactId, AuditEntryId, InvitationId, JobId, PipelineId, RunId, ScheduleId, SessionId, TeamId, UserId,
    WebhookId,
};
pub use job::{
    ATTEMPT_HISTORY_LIMIT, AttemptOutcome, AttemptRecord, AutoMapped, AutoMappedField, InputReading, Job, JobInputs,
    JobKind, JobMessage, JobOutcome, JobRead, JobStatus, Runner, TRACEPARENT_ATTRIBUTE,
};
pub use lifecycle::{Refused, Transition};
pub use mapping_memory::{
    ColumnSignature, MAX_REMEMBERED_PER_TEAM, MappingMemoryStore, MemoryMappingMemory, RememberedMapping,
};
pub use pipeline::{
    ComparedField, ComparedRecords, Comparison, ComparisonRead, FieldExample, INBOX_PREFIX, InboxFile, Pipeline,
    PipelineDiff, PipelineOptions, PipelineRead, PipelineVersion, check_patterns,
};
pub use ports::{
    ApiKeyStore, ArtifactStore, AuditLog, BlobHead, Blobs, IdempotencyClaim, IdempotencyStore, JobPage, JobQueue,
    JobStore, KeyClaim, LoginAttempts, PartUpload, PipelineStore, PresignedRequest, RequestKeyStore, SessionStore,
    StoreError, StoredPart, StoredResponse, TeamStore, UserStore,
};
pub use progress::{JobProgress, MemoryProgressStore, ProgressStore};
pub use quota::{Counter, Holding, MAX_CONCURRENT_JOBS, PlanLimits, QuotaStore, QuotaUsage, Take, month_of};
pub use rate::{RateBuckets, RateDecision, RateLimit};
pub use schedule::{
    MemoryScheduleStore, PolledScheduleTimer, Schedule, ScheduleFire, ScheduleInput, ScheduleStore, ScheduleTimer,
};
pub use session::{REFRESH_GRACE, Session};
pub use shard::{ShardProgress, ShardStore, ShardTask};
pub use team::{INVITATION_TTL, Invitation, Membership, PERMISSIONS, Plan, Role, Team, TeamAction};
pub use timestamp::Timestamp;
pub use user::{ProfileUpdate, User, UserProfile, ValidationError, normalise_email};
pub use webhook::{
    DeliveryAttempt, DeliveryMessage, DeliveryStatus, MemoryWebhookQueue, MemoryWebhookStore, Webhook, WebhookDelivery,
    WebhookEvent, WebhookPost, WebhookQueue, WebhookRead, WebhookSender, WebhookStore,
};
