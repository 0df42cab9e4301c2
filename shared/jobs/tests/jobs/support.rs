//! One in-memory platform per test: every port's memory adapter, a clock that moves only when
//! told, and the services of the jobs core wired over them.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use helix_domain::memory::{
    MemoryApiKeyStore, MemoryArtifactStore, MemoryAuditLog, MemoryBlobs, MemoryIdempotencyStore, MemoryJobQueue,
    MemoryJobStore, MemoryPipelineStore, MemoryTeamStore, MemoryUserStore,
};
use helix_domain::quota::MemoryQuotaStore;
use helix_domain::{
    Artifact, ArtifactId, ArtifactKind, ArtifactStore, Blobs, Clock, FileDeclaration, Job, JobId, JobKind, JobPage,
    JobStatus, JobStore, ManualClock, MemoryWebhookQueue, MemoryWebhookStore, PipelineId, StoreError, TeamId,
    Timestamp, Transition, UserId,
};
use helix_jobs::budgets::{BudgetService, BudgetWatch, BudgetWebhooks, MemoryBudgetStore};
use helix_jobs::metering::{MemoryUsageLedger, PriceTable};
use helix_jobs::{
    Access, Actor, ApiKeyService, ArtifactLimits, ArtifactService, AuditService, AuditTrail, InboxTrigger, Input,
    InputSource, JobError, JobRequest, JobRunner, JobService, JobSweeper, PipelineService, Queues, RunnerConfig,
    RunnerPorts, TeamService, TransformAttempt, UploadWatcher, UploadWatcherPorts,
};

pub const ALICE: &str = "alice";
pub const BOB: &str = "bob";
pub const MAX_UPLOAD_BYTES: u64 = 1024 * 1024;
/// Every upload of these tests goes up in one PUT, but those of the multipart tests.
pub const MULTIPART_THRESHOLD: u64 = MAX_UPLOAD_BYTES;
pub const MAX_ATTEMPTS: u32 = 3;
pub const LEASE: Duration = Duration::from_secs(300);

/// A context that maps the two columns of [`CSV`].
pub const CONTEXT: &str = "fields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n";
/// The same, written as NDJSON.
pub const NDJSON_CONTEXT: &str = "output:\n  format: ndjson\nfields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n";
/// A context that reads one lookup table, from a path whose last component names the artifact.
pub const LOOKUP_CONTEXT: &str = "lookups:\n  plants: { file: tables/plants.csv, key: PLANT }\nfields:\n  id: \"{{ id }}\"\n  plant: \"{{ lookup('plants', PLANT, 'NAME') }}\"\n";
pub const SCHEMA: &str = r#"{
  "type": "object",
  "required": ["id", "qty"],
  "properties": {"id": {"type": "string"}, "qty": {"type": "integer", "minimum": 0}}
}"#;
/// Three records, the last rejected by the schema (a negative quantity).
pub const CSV: &str = "id,qty\na,1\nb,2\nc,-1\n";

pub fn start() -> Timestamp {
    Timestamp::from_unix(1_800_000_000).unwrap()
}

pub fn actor(user: &str) -> Actor {
    Actor::user(UserId::from(user))
}

/// How long the sweeper leaves a job's message owed before it sends it.
pub const RELAY_AFTER: Duration = Duration::from_secs(30);

pub struct World {
    pub teams: Arc<MemoryTeamStore>,
    pub keys: Arc<MemoryApiKeyStore>,
    pub jobs: Arc<MemoryJobStore>,
    pub pipelines: Arc<MemoryPipelineStore>,
    pub artifacts: Arc<MemoryArtifactStore>,
    pub blobs: Arc<MemoryBlobs>,
    pub job_queue: Arc<MemoryJobQueue>,
    pub gpu_queue: Arc<MemoryJobQueue>,
    pub idempotency: Arc<MemoryIdempotencyStore>,
    pub audit: Arc<MemoryAuditLog>,
    pub clock: Arc<ManualClock>,
    pub usage: Arc<MemoryUsageLedger>,
    pub quotas: Arc<MemoryQuotaStore>,
    pub users: Arc<MemoryUserStore>,
    pub budgets: Arc<MemoryBudgetStore>,
    pub webhooks: Arc<MemoryWebhookStore>,
    pub webhook_queue: Arc<MemoryWebhookQueue>,
}

pub fn world() -> World {
    World {
        teams: Arc::default(),
        keys: Arc::default(),
        jobs: Arc::default(),
        pipelines: Arc::default(),
        artifacts: Arc::default(),
        blobs: Arc::default(),
        job_queue: Arc::default(),
        gpu_queue: Arc::default(),
        idempotency: Arc::default(),
        audit: Arc::default(),
        clock: Arc::new(ManualClock::at(start())),
        usage: Arc::default(),
        quotas: Arc::default(),
        users: Arc::default(),
        budgets: Arc::default(),
        webhooks: Arc::default(),
        webhook_queue: Arc::default(),
    }
}

impl World {
    pub fn access(&self) -> Arc<Access> {
        Arc::new(Access { teams: self.teams.clone(), quotas: self.quotas.clone() })
    }

    pub fn trail(&self) -> Arc<AuditTrail> {
        Arc::new(AuditTrail { log: self.audit.clone(), clock: self.clock.clone() })
    }

    pub fn audit_service(&self) -> AuditService {
        AuditService { access: self.access(), log: self.audit.clone() }
    }

    pub fn team_service(&self) -> TeamService {
        TeamService { access: self.access(), users: self.users.clone(), clock: self.clock.clone(), audit: self.trail() }
    }

    pub fn key_service(&self) -> ApiKeyService {
        ApiKeyService { access: self.access(), keys: self.keys.clone(), clock: self.clock.clone(), audit: self.trail() }
    }

    pub fn artifact_service(&self) -> ArtifactService {
        ArtifactService {
            access: self.access(),
            artifacts: self.artifacts.clone(),
            blobs: self.blobs.clone(),
            clock: self.clock.clone(),
            limits: ArtifactLimits {
                max_upload_bytes: MAX_UPLOAD_BYTES,
                multipart_threshold: MULTIPART_THRESHOLD,
                upload_url_ttl: Duration::from_secs(900),
                download_url_ttl: Duration::from_secs(300),
            },
            audit: self.trail(),
        }
    }

    pub fn service(&self) -> JobService {
        JobService {
            access: self.access(),
            artifacts: Arc::new(self.artifact_service()),
            jobs: self.jobs.clone(),
            queues: Queues { jobs: self.job_queue.clone(), gpu: self.gpu_queue.clone() },
            clock: self.clock.clone(),
            audit: self.trail(),
            usage: self.usage.clone(),
            budgets: Arc::new(self.budget_service()),
        }
    }

    pub fn budget_service(&self) -> BudgetService {
        BudgetService { access: self.access(), watch: Arc::new(self.budget_watch()) }
    }

    /// The budget check, delivering its thresholds to the world's webhooks.
    pub fn budget_watch(&self) -> BudgetWatch {
        BudgetWatch {
            store: self.budgets.clone(),
            ledger: self.usage.clone(),
            prices: Arc::new(PriceTable::bundled().unwrap()),
            audit: self.trail(),
            clock: self.clock.clone(),
            webhooks: Some(BudgetWebhooks {
                pipelines: self.pipelines.clone(),
                webhooks: self.webhooks.clone(),
                queue: self.webhook_queue.clone(),
            }),
        }
    }

    pub fn pipeline_service(&self) -> PipelineService {
        PipelineService {
            access: self.access(),
            pipelines: self.pipelines.clone(),
            jobs: Arc::new(self.service()),
            clock: self.clock.clone(),
            audit: self.trail(),
            bucket: "helix-artifacts".into(),
        }
    }

    pub fn ports(&self) -> RunnerPorts {
        RunnerPorts {
            jobs: self.jobs.clone(),
            artifacts: self.artifacts.clone(),
            blobs: self.blobs.clone(),
            idempotency: self.idempotency.clone(),
            clock: self.clock.clone(),
            usage: self.usage.clone(),
            quotas: self.quotas.clone(),
        }
    }

    /// The transform worker: three deliveries, a five-minute lease.
    pub fn runner(&self) -> JobRunner {
        self.runner_over(self.ports())
    }

    /// The transform worker on other `ports` (a store that misbehaves).
    pub fn runner_over(&self, ports: RunnerPorts) -> JobRunner {
        let config = RunnerConfig { name: "worker", max_attempts: MAX_ATTEMPTS, lease: LEASE };
        JobRunner::new(ports, config, vec![Arc::new(TransformAttempt)])
    }

    pub fn watcher(&self) -> UploadWatcher {
        UploadWatcher::new(UploadWatcherPorts {
            artifacts: self.artifacts.clone(),
            blobs: self.blobs.clone(),
            idempotency: self.idempotency.clone(),
            clock: self.clock.clone(),
            max_upload_bytes: MAX_UPLOAD_BYTES,
            inbox: self.inbox_trigger(),
        })
    }

    /// Runs of inbox files, claimed in the world's idempotency store.
    pub fn inbox_trigger(&self) -> Arc<InboxTrigger> {
        Arc::new(InboxTrigger {
            pipelines: Arc::new(self.pipeline_service()),
            idempotency: self.idempotency.clone(),
            max_file_bytes: MAX_UPLOAD_BYTES,
        })
    }

    pub fn sweeper(&self, stale_after: Duration) -> JobSweeper {
        JobSweeper {
            jobs: self.jobs.clone(),
            queues: Queues { jobs: self.job_queue.clone(), gpu: self.gpu_queue.clone() },
            clock: self.clock.clone(),
            quotas: self.quotas.clone(),
            stale_after,
            relay_after: RELAY_AFTER,
        }
    }

    /// An artifact `owner` uploaded and the watcher accepted.
    pub async fn upload(&self, owner: &str, kind: ArtifactKind, filename: &str, bytes: &[u8]) -> ArtifactId {
        let artifact = self.register(owner, kind, filename, bytes.len() as u64).await;
        self.blobs.put_bytes(&artifact.s3_key, bytes.to_vec(), &artifact.content_type).await.unwrap();
        self.artifacts.mark_available(&artifact.id, None).await.unwrap();
        artifact.id
    }

    /// A registration whose upload has not arrived.
    pub async fn register(&self, owner: &str, kind: ArtifactKind, filename: &str, size_bytes: u64) -> Artifact {
        let file =
            FileDeclaration { kind, filename: filename.into(), content_type: content_type(kind).into(), size_bytes };
        let owner = UserId::from(owner);
        let team = TeamId::personal(&owner);
        let artifact = Artifact::pending_upload(owner, team, file, None, self.clock.now());
        self.artifacts.create(&artifact).await.unwrap();
        artifact
    }

    /// Puts `team` on `plan`: for tests that keep more jobs unfinished than the free plan's two.
    pub async fn on_plan(&self, team: &TeamId, plan: helix_domain::Plan) {
        use helix_domain::TeamStore;
        let stored = self.teams.get(team).await.unwrap();
        let owner = team.personal_owner().unwrap_or_else(|| UserId::from(ALICE));
        let team =
            helix_domain::Team { plan, ..stored.unwrap_or_else(|| helix_domain::Team::personal(&owner, start())) };
        self.teams.put(&team).await.unwrap();
    }

    pub async fn artifact(&self, id: &ArtifactId) -> Artifact {
        self.artifacts.get(id).await.unwrap().expect("the artifact exists")
    }

    pub async fn job(&self, id: &JobId) -> Job {
        self.jobs.get(id).await.unwrap().expect("the job exists")
    }

    /// Alice's transform job over [`CSV`] with [`CONTEXT`] and [`SCHEMA`], submitted and queued.
    pub async fn submitted(&self, context: &str, csv: impl AsRef<[u8]>) -> Job {
        let content = self.upload(ALICE, ArtifactKind::Content, "orders.csv", csv.as_ref()).await;
        let request = JobRequest {
            context: Some(text("context", context)),
            schema: Some(text("schema", SCHEMA)),
            ..transform(vec![content])
        };
        let job = self.service().submit(&actor(ALICE), request).await.unwrap();
        assert_eq!(self.job_queue.take().len(), 1);
        job
    }
}

pub fn content_type(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::Content => "text/csv",
        ArtifactKind::Context => "application/yaml",
        ArtifactKind::Schema => "application/schema+json",
        ArtifactKind::Result | ArtifactKind::ErrorReport => "application/json",
    }
}

/// A transform request over uploaded content, as the JSON API sends it (it carries lookups).
pub fn transform(content: Vec<ArtifactId>) -> JobRequest {
    JobRequest {
        kind: JobKind::Transform,
        content_field: "content_artifact_ids",
        content: content
            .into_iter()
            .enumerate()
            .map(|(i, id)| Input::new(format!("content_artifact_ids[{i}]"), InputSource::Artifact(id)))
            .collect(),
        lookups: Some(Vec::new()),
        ..JobRequest::default()
    }
}

pub fn text(field: &str, text: &str) -> Input {
    Input::new(field, InputSource::Text(text.into()))
}

pub fn artifact(field: &str, id: &ArtifactId) -> Input {
    Input::new(field, InputSource::Artifact(id.clone()))
}

/// The message body a job's queue message carries.
pub fn body(id: &JobId) -> String {
    format!(r#"{{"job_id":"{id}"}}"#)
}

/// An SQS message as Lambda hands it over.
pub fn message(id: &str, body: &str, receive_count: u32) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(id.into());
    message.body = Some(body.into());
    message.attributes.insert("ApproximateReceiveCount".into(), receive_count.to_string());
    message
}

pub fn event(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    event
}

/// Asserts that `result` is an `Invalid` refusal naming `field`, with `needle` in its message.
#[track_caller]
pub fn assert_invalid<T: Debug>(result: Result<T, JobError>, field: &str, needle: &str) {
    match result {
        Err(JobError::Invalid { field: f, message }) => {
            assert_eq!(f, field, "wrong field; message: {message}");
            assert!(message.contains(needle), "{message:?} does not mention {needle:?}");
        }
        other => panic!("expected Invalid on {field}, got {other:?}"),
    }
}

/// The world's jobs, where another writer gets in first:
/// - the job's lease is renewed once more (by another shard's worker, or by this attempt with its
///   answer lost) right before each of the next `races` settles that complete it: such a settle
///   finds the job changed, still in the same attempt;
/// - the next read of the `hidden` job finds nothing: what a submission sees when another one of
///   the same id is written right after it looked.
pub struct RacedJobs {
    pub inner: Arc<dyn JobStore>,
    pub clock: Arc<ManualClock>,
    pub races: AtomicUsize,
    pub hidden: std::sync::Mutex<Option<JobId>>,
}

impl RacedJobs {
    pub fn over(world: &World, races: usize) -> Arc<RacedJobs> {
        Arc::new(RacedJobs {
            inner: world.jobs.clone(),
            clock: world.clock.clone(),
            races: AtomicUsize::new(races),
            hidden: std::sync::Mutex::new(None),
        })
    }

    pub fn hiding(world: &World, id: &JobId) -> Arc<RacedJobs> {
        let jobs = Arc::into_inner(Self::over(world, 0)).expect("just made");
        Arc::new(RacedJobs { hidden: std::sync::Mutex::new(Some(id.clone())), ..jobs })
    }
}

#[async_trait::async_trait]
impl JobStore for RacedJobs {
    async fn create(&self, job: &Job) -> Result<(), StoreError> {
        self.inner.create(job).await
    }
    async fn get(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        let stale = self.hidden.lock().unwrap().take_if(|hidden| hidden == id).is_some();
        if stale { Ok(None) } else { self.inner.get(id).await }
    }
    async fn list(
        &self,
        team: &TeamId,
        status: Option<JobStatus>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<JobPage, StoreError> {
        self.inner.list(team, status, limit, cursor).await
    }
    async fn runs(&self, pipeline: &PipelineId, limit: u32, cursor: Option<&str>) -> Result<JobPage, StoreError> {
        self.inner.runs(pipeline, limit, cursor).await
    }
    async fn replace(&self, seen: &Job, next: &Job) -> Result<(), StoreError> {
        let left = self.races.load(Ordering::SeqCst);
        if next.status == JobStatus::Completed && left > 0 {
            self.races.store(left - 1, Ordering::SeqCst);
            // Each renewal a second further: every one changes what the settle saw.
            let now = self.clock.now();
            let lease_until = now.plus(LEASE * 2 + Duration::from_secs(left as u64));
            let renewed = seen.apply(Transition::Renew { lease_until }, now).unwrap();
            self.inner.replace(seen, &renewed).await?;
        }
        self.inner.replace(seen, next).await
    }
    async fn delete(&self, seen: &Job) -> Result<(), StoreError> {
        self.inner.delete(seen).await
    }
    async fn expired_leases(&self, expired_before: Timestamp, limit: u32) -> Result<Vec<Job>, StoreError> {
        self.inner.expired_leases(expired_before, limit).await
    }
    async fn mark_sent(&self, id: &JobId) -> Result<(), StoreError> {
        self.inner.mark_sent(id).await
    }
    async fn unsent(&self, before: Timestamp, limit: u32) -> Result<Vec<Job>, StoreError> {
        self.inner.unsent(before, limit).await
    }
}
