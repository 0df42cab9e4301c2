//! Event-triggered runs: a file created in a pipeline's inbox starts one run of the pipeline's
//! current version (a job, or a chained run). The upload watcher hands every `inbox/` object
//! event here; a schedule that reads a folder of the inbox hands each file waiting there.

use std::sync::Arc;
use std::time::Duration;

use helix_domain::artifact::media_type_for;
use helix_domain::{
    ApiKeyId, Artifact, ArtifactId, ArtifactKind, AuditOutcome, FileDeclaration, IdempotencyClaim, IdempotencyStore,
    InboxFile, KeyScope, Pipeline, StoreError, UserId,
};

use crate::audit::{AuditEvent, action};
use crate::{Actor, JobError, KeyGrant, PipelineRun, PipelineService, RunStarted};

/// A file's run is created in seconds (a copy, a few writes, a queued message); after this, a
/// redelivered event takes the file over from a trigger that died.
const TRIGGER_LEASE: Duration = Duration::from_secs(120);
/// How long the bytes of an inbox file are remembered: the same bytes dropped again within this
/// time start no run.
const REMEMBER_FILES: Duration = Duration::from_secs(400 * 24 * 3600);

/// An S3 `ObjectCreated` event of an inbox key, as the upload watcher read it.
#[derive(Clone, Debug)]
pub struct InboxObject {
    pub bucket: String,
    /// Decoded.
    pub key: String,
    /// What tells one content of the key from another: the event's ETag, or where the bucket
    /// keeps versions and no ETag came, its version id.
    pub etag: Option<String>,
    pub version_id: Option<String>,
}

/// What became of an inbox file.
#[derive(Debug, PartialEq)]
pub enum InboxOutcome {
    /// A run was created and the file moved to `processed/<team>/<pipeline>/<run>/<name>`.
    Started(Box<RunStarted>),
    /// The same bytes started a run before (a duplicate event or the same file dropped again):
    /// no run; a copy still in the inbox is removed (its bytes are under `processed/`).
    Duplicate,
    /// The name matches none of the pipeline's patterns: recorded, the file left where it is.
    Ignored,
    /// No run could be made of the file (the pipeline refused it): the file moved to
    /// `failed/<team>/<pipeline>/<attempt>/<name>`, the reason recorded.
    Refused(String),
    /// Not a pipeline's inbox file, or the file is no longer there: nothing to do.
    Nothing,
}

/// Starts pipeline runs from inbox files, exactly one per content of a key (by bucket, key and
/// ETag, claimed in the idempotency store before anything is written).
pub struct InboxTrigger {
    pub pipelines: Arc<PipelineService>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// The largest file a run takes, as for uploads.
    pub max_file_bytes: u64,
}

/// Who an inbox's runs are made by: the pipeline's inbox, acting in its team, allowed to read
/// the team's files and submit jobs, and nothing else. It owns the files it registers and the
/// runs it starts.
pub fn inbox_actor(pipeline: &Pipeline) -> Actor {
    let principal = format!("inbox-{}", pipeline.id);
    Actor {
        user_id: UserId::from(principal.clone()),
        key: Some(KeyGrant {
            key_id: ApiKeyId::from(principal),
            team_id: pipeline.team_id.clone(),
            scopes: vec![KeyScope::JobsRead, KeyScope::JobsWrite],
            pipeline_id: None,
        }),
        origin: None,
    }
}

impl InboxTrigger {
    /// Handles one created object; `Err` when it should be tried again (a store was unavailable).
    pub async fn object_created(&self, object: &InboxObject) -> Result<InboxOutcome, StoreError> {
        let Some(file) = InboxFile::parse(&object.key) else {
            tracing::warn!(key = %object.key, "not a file of a pipeline's inbox (a folder?); left alone");
            return Ok(InboxOutcome::Nothing);
        };
        let pipeline = self.pipelines.pipelines.get(&file.pipeline_id).await?;
        let Some(pipeline) = pipeline.filter(|p| p.team_id == file.team_id) else {
            tracing::warn!(key = %object.key, "no such pipeline in that team; the file is left alone");
            return Ok(InboxOutcome::Nothing);
        };
        let actor = inbox_actor(&pipeline);
        if !pipeline.accepts(&file.filename) {
            tracing::info!(key = %object.key, patterns = ?pipeline.patterns, "no pattern of the pipeline matches; ignored");
            self.record(&actor, &pipeline, action::PIPELINE_INBOX_IGNORE, &object.key, AuditOutcome::Success).await?;
            return Ok(InboxOutcome::Ignored);
        }
        self.take(&actor, &pipeline, &file, object).await
    }

    /// Handles a file waiting in a folder of the pipeline's inbox that a schedule reads, as an
    /// inbox file: one run per content of the key. A name no pattern matches stays where it is,
    /// unrecorded (every firing lists it again).
    pub async fn waiting_file(&self, pipeline: &Pipeline, object: &InboxObject) -> Result<InboxOutcome, StoreError> {
        let Some(filename) = object.key.rsplit('/').next().filter(|name| !name.is_empty()) else {
            return Ok(InboxOutcome::Nothing);
        };
        if !pipeline.accepts(filename) {
            return Ok(InboxOutcome::Ignored);
        }
        let file = InboxFile {
            team_id: pipeline.team_id.clone(),
            pipeline_id: pipeline.id.clone(),
            filename: filename.to_owned(),
        };
        self.take(&inbox_actor(pipeline), pipeline, &file, object).await
    }

    /// Claims the file's bytes (by bucket, key and ETag) and starts their run, unless they
    /// started one before.
    async fn take(
        &self,
        actor: &Actor,
        pipeline: &Pipeline,
        file: &InboxFile,
        object: &InboxObject,
    ) -> Result<InboxOutcome, StoreError> {
        let Some(content) = object.etag.as_deref().or(object.version_id.as_deref()) else {
            return Err(StoreError::Backend(format!("the event of {} names no ETag nor version", object.key)));
        };
        let claim = format!("inbox#{}/{}#{}", object.bucket, object.key, content.trim_matches('"'));
        let now = self.pipelines.clock.now();
        match self.idempotency.begin(&claim, now, now.plus(TRIGGER_LEASE)).await? {
            IdempotencyClaim::Started => {}
            IdempotencyClaim::AlreadyCompleted => return self.duplicate(actor, pipeline, &object.key).await,
            IdempotencyClaim::InProgress => {
                return Err(StoreError::Backend(format!("{} is being handled elsewhere", object.key)));
            }
        }
        let outcome = self.start_run(actor, pipeline, file, &object.key).await;
        let recorded = match &outcome {
            Ok(_) => self.idempotency.complete(&claim, self.pipelines.clock.now().plus(REMEMBER_FILES)).await,
            Err(_) => self.idempotency.abandon(&claim).await,
        };
        if let Err(e) = recorded {
            tracing::warn!(%claim, error = %e, "could not update the inbox file's claim");
        }
        outcome
    }

    /// The same bytes were taken before; what is still at the key is a copy of them.
    async fn duplicate(&self, actor: &Actor, pipeline: &Pipeline, key: &str) -> Result<InboxOutcome, StoreError> {
        let blobs = &self.pipelines.jobs.artifacts.blobs;
        if blobs.head(key).await?.is_some() {
            tracing::info!(%key, "the same bytes started a run before; removed from the inbox, no new run");
            self.record(actor, pipeline, action::PIPELINE_INBOX_DUPLICATE, key, AuditOutcome::Success).await?;
            blobs.delete(key).await?;
        }
        Ok(InboxOutcome::Duplicate)
    }

    async fn start_run(
        &self,
        actor: &Actor,
        pipeline: &Pipeline,
        file: &InboxFile,
        key: &str,
    ) -> Result<InboxOutcome, StoreError> {
        let artifacts = &self.pipelines.jobs.artifacts;
        let Some(head) = artifacts.blobs.head(key).await? else {
            // Moved by an earlier delivery of the same event, or deleted by its sender.
            return Ok(InboxOutcome::Nothing);
        };
        if head.size > self.max_file_bytes {
            let reason = format!("the file is {} bytes, over the limit of {} bytes", head.size, self.max_file_bytes);
            let attempt = ArtifactId::random();
            return self.refuse(pipeline, file, key, attempt.as_str(), reason).await;
        }
        // The run reads a content artifact of the team, a copy of the file kept apart from the
        // inbox so that the file can move on at once.
        let declaration = FileDeclaration {
            kind: ArtifactKind::Content,
            filename: file.filename.clone(),
            content_type: media_type_for(&file.filename, ArtifactKind::Content).to_owned(),
            size_bytes: head.size,
        };
        let now = self.pipelines.clock.now();
        let artifact =
            Artifact::pending_upload(actor.user_id.clone(), pipeline.team_id.clone(), declaration, None, now);
        artifacts.artifacts.create(&artifact).await?;
        artifacts.blobs.copy(key, &artifact.s3_key).await?;
        match artifacts.artifacts.mark_available(&artifact.id, head.checksum_sha256.as_deref()).await {
            // The upload watcher saw the copy first.
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        let run = PipelineRun {
            content: vec![artifact.id.clone()],
            name: Some(format!("{} v{} on {}", pipeline.name, pipeline.current_version, file.filename)),
            ..PipelineRun::default()
        };
        let started = match self.pipelines.start(actor, &pipeline.id, run).await {
            Ok(started) => started,
            Err(JobError::Unavailable(reason)) => return Err(StoreError::Backend(reason)),
            Err(refused) => {
                return self.refuse(pipeline, file, key, artifact.id.as_str(), refused.to_string()).await;
            }
        };
        let processed = file.processed_key(started.id());
        self.move_object(key, &processed).await?;
        tracing::info!(%key, run_id = started.id(), %processed, "inbox file started a run");
        Ok(InboxOutcome::Started(Box::new(started)))
    }

    async fn refuse(
        &self,
        pipeline: &Pipeline,
        file: &InboxFile,
        key: &str,
        attempt: &str,
        reason: String,
    ) -> Result<InboxOutcome, StoreError> {
        let failed = file.failed_key(attempt);
        tracing::warn!(%key, pipeline_id = %pipeline.id, %reason, %failed, "no run could be made of the inbox file");
        let actor = inbox_actor(pipeline);
        self.record(&actor, pipeline, action::PIPELINE_INBOX_REFUSE, key, AuditOutcome::Failed).await?;
        self.move_object(key, &failed).await?;
        Ok(InboxOutcome::Refused(reason))
    }

    async fn move_object(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let blobs = &self.pipelines.jobs.artifacts.blobs;
        blobs.copy(from, to).await?;
        blobs.delete(from).await
    }

    async fn record(
        &self,
        actor: &Actor,
        pipeline: &Pipeline,
        what: &'static str,
        key: &str,
        outcome: AuditOutcome,
    ) -> Result<(), StoreError> {
        let event = AuditEvent { team: &pipeline.team_id, action: what, target: key };
        self.pipelines.audit.record(actor, event, outcome).await.map_err(|e| StoreError::Backend(e.to_string()))
    }
}

/// Moves the file of an inbox run that failed from `processed/<team>/<pipeline>/<run>/<name>` to
/// `failed/<team>/<pipeline>/<run>/<name>`, so the inbox's folders say how each file's run went.
/// Told of every job that ends (a [`crate::JobEvents`]); a file moved already is not found again.
pub struct FailedInboxRuns {
    pub artifacts: Arc<dyn helix_domain::ArtifactStore>,
    pub blobs: Arc<dyn helix_domain::Blobs>,
}

#[async_trait::async_trait]
impl crate::JobEvents for FailedInboxRuns {
    async fn finished(&self, job: &helix_domain::Job) -> Result<(), StoreError> {
        let Some(pipeline) = &job.pipeline_id else { return Ok(()) };
        if job.status != helix_domain::JobStatus::Failed || job.owner_id.as_str() != format!("inbox-{pipeline}") {
            return Ok(());
        }
        let Some(content) = job.inputs.content_artifact_ids.first() else { return Ok(()) };
        let Some(artifact) = self.artifacts.get(content).await? else { return Ok(()) };
        let file =
            InboxFile { team_id: job.team_id.clone(), pipeline_id: pipeline.clone(), filename: artifact.filename };
        let (from, to) = (file.processed_key(job.id.as_str()), file.failed_key(job.id.as_str()));
        if self.blobs.head(&from).await?.is_none() {
            return Ok(());
        }
        self.blobs.copy(&from, &to).await?;
        self.blobs.delete(&from).await?;
        tracing::info!(job_id = %job.id, %from, %to, "the failed run's inbox file moved to failed/");
        Ok(())
    }
}
