use std::sync::Arc;

use helix_domain::artifact::context_file_name;
use helix_domain::{
    ArtifactId, ArtifactKind, AuditOutcome, Clock, Job, JobId, JobInputs, JobKind, JobQueue, JobStatus, JobStore,
    PipelineId, Runner, StoreError, TeamAction, TeamId, Transition, UserId,
};

use crate::artifacts::{ArtifactService, InlineFile};
use crate::audit::{AuditEvent, AuditTrail, action};
use crate::documents::{Document, DocumentError, MAX_DOCUMENT_BYTES, check_context, check_schema, read_document};
use crate::{Actor, JobError};

const MAX_CONTENT_FILES: usize = 20;
const MAX_NAME_CHARS: usize = 200;
const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;
/// How often a cancellation re-reads a job that a worker moved on meanwhile.
const MAX_CANCEL_TRIES: u32 = 5;

/// The queues jobs are sent to, one per [`Runner`].
pub struct Queues {
    /// Transform jobs, for the Lambda job worker.
    pub jobs: Arc<dyn JobQueue>,
    /// Suggest-mapping and `auto_map` jobs, for the GPU container worker.
    pub gpu: Arc<dyn JobQueue>,
}

/// Where an input of a job comes from.
#[derive(Clone, Debug)]
pub enum InputSource {
    /// An artifact the caller uploaded earlier.
    Artifact(ArtifactId),
    /// A file that came with the request.
    File(InlineFile),
    /// A context or schema given inline as text.
    Text(String),
}

/// An input of a job and the request field that gave it, which its errors name.
#[derive(Clone, Debug)]
pub struct Input {
    pub field: String,
    pub source: InputSource,
}

impl Input {
    pub fn new(field: impl Into<String>, source: InputSource) -> Self {
        Self { field: field.into(), source }
    }
}

/// A job as a transport received it.
#[derive(Clone, Debug, Default)]
pub struct JobRequest {
    /// The team the job belongs to; the caller's default team ([`Actor::default_team`]) when unset.
    pub team_id: Option<TeamId>,
    pub kind: JobKind,
    pub name: Option<String>,
    /// The request field that lists the content files, for errors about the list as a whole.
    pub content_field: &'static str,
    pub content: Vec<Input>,
    pub context: Option<Input>,
    pub schema: Option<Input>,
    /// The lookup tables the context reads, `None` where the transport cannot carry them.
    pub lookups: Option<Vec<ArtifactId>>,
    pub auto_map: bool,
    /// The W3C trace context of the request, handed on to the worker.
    pub traceparent: Option<String>,
    /// The pipeline and version whose run this is.
    pub pipeline: Option<(PipelineId, u32)>,
}

/// A page of a team's jobs.
#[derive(Clone, Debug, Default)]
pub struct JobQuery {
    /// The caller's default team ([`Actor::default_team`]) when unset.
    pub team_id: Option<TeamId>,
    pub status: Option<JobStatus>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug)]
pub struct JobList {
    pub jobs: Vec<Job>,
    pub next_cursor: Option<String>,
}

/// The job use cases: submit, read, list.
pub struct JobService {
    pub access: Arc<crate::Access>,
    pub artifacts: Arc<ArtifactService>,
    pub jobs: Arc<dyn JobStore>,
    pub queues: Queues,
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<AuditTrail>,
    /// Where each submission's usage event goes (`metering`).
    pub usage: Arc<dyn crate::metering::UsageLedger>,
    /// Each team's monthly budget, looked at before a job is made.
    pub budgets: Arc<crate::budgets::BudgetService>,
}

fn validate_name(name: Option<String>) -> Result<Option<String>, JobError> {
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_CHARS) {
        return Err(JobError::invalid("name", format!("name must be at most {MAX_NAME_CHARS} characters")));
    }
    Ok(name)
}

fn finished(job: &Job) -> JobError {
    JobError::Conflict(format!("the job is {}: it has finished and cannot be cancelled", job.status.as_str()))
}

/// A listing's page size: the default when unset.
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, JobError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
        Some(_) => Err(JobError::malformed("limit", format!("must be a number from 1 to {MAX_PAGE}"))),
    }
}

pub(crate) fn check_auto_map(kind: JobKind, has_context: bool, has_schema: bool) -> Result<(), JobError> {
    if kind != JobKind::Transform {
        return Err(JobError::invalid(
            "auto_map",
            "auto_map is for transform jobs; a suggest-mapping job proposes the whole context",
        ));
    }
    if !has_schema {
        return Err(JobError::invalid(
            "auto_map",
            "auto_map needs a target schema: it proposes the fields the schema requires",
        ));
    }
    if !has_context {
        return Err(JobError::invalid(
            "auto_map",
            "auto_map needs a context: it adds the required fields the context leaves unmapped (without one, a suggest-mapping job proposes a whole context)",
        ));
    }
    Ok(())
}

fn inline_file(kind: ArtifactKind, source: InputSource) -> Option<InlineFile> {
    match (kind, source) {
        (_, InputSource::File(file)) => Some(InlineFile { kind, ..file }),
        (ArtifactKind::Schema, InputSource::Text(text)) => Some(InlineFile {
            kind,
            filename: "schema.json".into(),
            content_type: "application/schema+json".into(),
            bytes: text.into_bytes(),
        }),
        (_, InputSource::Text(text)) => Some(InlineFile {
            kind,
            filename: "context.yaml".into(),
            content_type: "application/yaml".into(),
            bytes: text.into_bytes(),
        }),
        (_, InputSource::Artifact(_)) => None,
    }
}

/// A checked input: an artifact the job reads as it is, or a file to store with the job.
pub(crate) enum Checked {
    Artifact(ArtifactId),
    File(InlineFile),
}

/// The documents of a job (or a pipeline version) once they passed every rule.
pub(crate) struct CheckedDocuments {
    pub context: Option<Checked>,
    pub schema: Option<Checked>,
    pub lookups: Vec<ArtifactId>,
}

impl JobService {
    /// Checks the request against every submission rule, stores the files it carries, records
    /// the job and queues it for its worker.
    pub async fn submit(&self, actor: &Actor, request: JobRequest) -> Result<Job, JobError> {
        self.submit_as(actor, request, JobId::random()).await
    }

    /// [`JobService::submit`] under a given id (a chained run's step: its id names the run).
    pub(crate) async fn submit_as(&self, actor: &Actor, request: JobRequest, id: JobId) -> Result<Job, JobError> {
        let started = std::time::Instant::now();
        let team = request.team_id.unwrap_or_else(|| actor.default_team());
        let allowed = self.access.require(actor, &team, TeamAction::SubmitJobs, "team").await;
        let event = AuditEvent { team: &team, action: action::JOB_CREATE, target: team.as_str() };
        self.audit.checked(actor, event, allowed).await?;
        self.budgets.check_submission(actor, &team).await?;
        let name = validate_name(request.name)?;
        let content = self.check_content(actor, &team, request.content_field, request.content).await?;
        if request.kind == JobKind::SuggestMapping && request.context.is_some() {
            return Err(JobError::invalid(
                "context",
                "a suggest-mapping job proposes the context; give content and (optionally) a schema",
            ));
        }
        if request.auto_map {
            check_auto_map(request.kind, request.context.is_some(), request.schema.is_some())?;
        }
        let CheckedDocuments { context, schema, lookups } =
            self.check_documents(actor, &team, request.context, request.schema, request.lookups).await?;
        // The files that came with the request: this submission stores them (metered below).
        let inline_bytes: Vec<u64> = content
            .iter()
            .chain(context.iter())
            .chain(schema.iter())
            .filter_map(|input| match input {
                Checked::File(file) => Some(file.bytes.len() as u64),
                Checked::Artifact(_) => None,
            })
            .collect();

        self.take_job_slot(actor, &team, &id).await?;
        // Recorded before anything of the job is stored (fail closed): a job the trail could not
        // record is not created.
        let event = || AuditEvent { team: &team, action: action::JOB_CREATE, target: id.as_str() };
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let result = async {
            let owner = &actor.user_id;
            let mut inputs = JobInputs { lookup_artifact_ids: lookups, ..JobInputs::default() };
            for input in content {
                inputs.content_artifact_ids.push(self.store(owner, &team, &id, input).await?);
            }
            if let Some(context) = context {
                inputs.context_artifact_id = Some(self.store(owner, &team, &id, context).await?);
            }
            if let Some(schema) = schema {
                inputs.schema_artifact_id = Some(self.store(owner, &team, &id, schema).await?);
            }
            let (pipeline_id, pipeline_version) = request.pipeline.unzip();
            let job = Job {
                auto_map: request.auto_map,
                pipeline_id,
                pipeline_version,
                traceparent: request.traceparent,
                team_id: team.clone(),
                ..Job::new(id.clone(), owner.clone(), request.kind, name, inputs, self.clock.now())
            };
            self.enqueue(job).await
        }
        .await;
        // The slot is the id's: a job stored under it (a concurrent submission of the same id
        // that won) keeps it.
        if result.is_err() && !matches!(self.jobs.get(&id).await, Ok(Some(_))) {
            self.give_back_job_slot(&team, &id).await;
        }
        let job = self.audit.settled(actor, event(), result).await?;
        self.meter(&job, started, &inline_bytes).await;
        Ok(job)
    }

    /// Records the submission's usage event; a ledger that fails loses the event (logged), never
    /// the job.
    async fn meter(&self, job: &Job, started: std::time::Instant, inline_bytes: &[u64]) {
        let compute = crate::metering::compute_of_this_process(started.elapsed());
        let event = crate::metering::submission_event(job, compute, inline_bytes, self.clock.now());
        if let Err(e) = self.usage.apply(&event).await {
            tracing::warn!(job_id = %job.id, event = event.id(), error = %e, "usage event not recorded");
        }
    }

    /// A context, schema and lookups, checked as a job's are: read as the worker will read them,
    /// compiled, and each lookup table the context declares matched by one artifact.
    pub(crate) async fn check_documents(
        &self,
        actor: &Actor,
        team: &TeamId,
        context: Option<Input>,
        schema: Option<Input>,
        lookups: Option<Vec<ArtifactId>>,
    ) -> Result<CheckedDocuments, JobError> {
        let mut declared = Vec::new();
        let context = match context {
            Some(input) => {
                let field = input.field.clone();
                let (checked, document) = self.document(actor, team, input, ArtifactKind::Context).await?;
                declared = check_context(&document, &field)?;
                if lookups.is_none() && !declared.is_empty() {
                    let files: Vec<&str> = declared.iter().map(|(_, f)| context_file_name(f)).collect();
                    return Err(JobError::invalid(
                        field,
                        format!(
                            "the context reads lookup tables ({}): upload them as artifacts and submit with POST /api/v1/jobs and lookup_artifact_ids",
                            files.join(", ")
                        ),
                    ));
                }
                Some(checked)
            }
            None => None,
        };
        let schema = match schema {
            Some(input) => {
                let field = input.field.clone();
                let (checked, document) = self.document(actor, team, input, ArtifactKind::Schema).await?;
                check_schema(&document, &field)?;
                Some(checked)
            }
            None => None,
        };
        let lookups = lookups.unwrap_or_default();
        self.check_lookups(actor, team, &lookups, &declared).await?;
        Ok(CheckedDocuments { context, schema, lookups })
    }

    async fn check_content(
        &self,
        actor: &Actor,
        team: &TeamId,
        field: &str,
        content: Vec<Input>,
    ) -> Result<Vec<Checked>, JobError> {
        if content.is_empty() {
            return Err(JobError::invalid(field, "at least one content artifact is required"));
        }
        if content.len() > MAX_CONTENT_FILES {
            return Err(JobError::invalid(field, format!("at most {MAX_CONTENT_FILES} content artifacts per job")));
        }
        let mut checked = Vec::with_capacity(content.len());
        for (i, input) in content.iter().enumerate() {
            match &input.source {
                InputSource::Artifact(id) => {
                    let listed_before =
                        content[..i].iter().any(|c| matches!(&c.source, InputSource::Artifact(x) if x == id));
                    if listed_before {
                        return Err(JobError::invalid(&input.field, format!("artifact {id} is listed twice")));
                    }
                    self.artifacts.usable(actor, team, id, ArtifactKind::Content, &input.field).await?;
                    checked.push(Checked::Artifact(id.clone()));
                }
                InputSource::File(file) if file.bytes.is_empty() => {
                    return Err(JobError::invalid(&input.field, "the file is empty"));
                }
                source => checked
                    .push(Checked::File(inline_file(ArtifactKind::Content, source.clone()).expect("not an artifact"))),
            }
        }
        Ok(checked)
    }

    /// A context or schema input, read as the worker will read it.
    async fn document(
        &self,
        actor: &Actor,
        team: &TeamId,
        input: Input,
        kind: ArtifactKind,
    ) -> Result<(Checked, Document), JobError> {
        let field = input.field;
        match input.source {
            InputSource::Artifact(id) => {
                let artifact = self.artifacts.usable(actor, team, &id, kind, &field).await?;
                let document = read_document(&*self.artifacts.blobs, &artifact).await.map_err(|e| match e {
                    DocumentError::Store(e) => JobError::from(e),
                    other => JobError::invalid(&field, other.to_string()),
                })?;
                Ok((Checked::Artifact(id), document))
            }
            InputSource::File(file) if file.bytes.is_empty() => Err(JobError::invalid(field, "the file is empty")),
            source => {
                let name = match &source {
                    InputSource::File(file) => file.filename.clone(),
                    _ if kind == ArtifactKind::Schema => "schema".to_owned(),
                    _ => "context".to_owned(),
                };
                let file = inline_file(kind, source).expect("not an artifact");
                // The worker reads it under the same cap.
                if file.bytes.len() as u64 > MAX_DOCUMENT_BYTES {
                    return Err(JobError::invalid(&field, DocumentError::TooLarge.to_string()));
                }
                let text =
                    std::str::from_utf8(&file.bytes).map_err(|_| JobError::invalid(&field, "must be UTF-8 text"))?;
                let document = Document { name, text: text.to_owned() };
                Ok((Checked::File(file), document))
            }
        }
    }

    /// Every table the context declares needs exactly one artifact of the same file name, and
    /// every artifact listed must be one of them: a job never starts without the data it looks up.
    async fn check_lookups(
        &self,
        actor: &Actor,
        team: &TeamId,
        ids: &[ArtifactId],
        declared: &[(String, String)],
    ) -> Result<(), JobError> {
        let mut found = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let field = format!("lookup_artifact_ids[{i}]");
            if ids[..i].contains(id) {
                return Err(JobError::invalid(field, format!("artifact {id} is listed twice")));
            }
            let artifact = self.artifacts.usable(actor, team, id, ArtifactKind::Content, &field).await?;
            if !declared.iter().any(|(_, file)| context_file_name(file) == artifact.filename) {
                let files: Vec<&str> = declared.iter().map(|(_, f)| context_file_name(f)).collect();
                let expected = if files.is_empty() {
                    "the context declares no lookup tables".to_owned()
                } else {
                    format!("the context's lookup files are {}", files.join(", "))
                };
                return Err(JobError::invalid(
                    field,
                    format!("artifact {id} ({}) is not a lookup file of the context: {expected}", artifact.filename),
                ));
            }
            found.push(artifact.filename);
        }
        for (name, file) in declared {
            if !found.iter().any(|f| f == context_file_name(file)) {
                return Err(JobError::invalid(
                    "lookup_artifact_ids",
                    format!(
                        "the context's lookup table `{name}` reads {}: upload it and list its artifact id here",
                        context_file_name(file)
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn store(
        &self,
        owner: &UserId,
        team: &TeamId,
        job_id: &JobId,
        input: Checked,
    ) -> Result<ArtifactId, JobError> {
        match input {
            Checked::Artifact(id) => Ok(id),
            Checked::File(file) => self.artifacts.store_inline(owner, team, job_id, file).await,
        }
    }

    /// Records the job with its outbox mark, then sends its message and clears the mark. The
    /// write is the commit point: if the process dies before the send, or the send fails, the
    /// sweeper sends the owed message later, so an accepted job always runs.
    async fn enqueue(&self, job: Job) -> Result<Job, JobError> {
        let job = Job { unsent_since: Some(self.clock.now().unix()), ..job };
        self.jobs.create(&job).await?;
        crate::fault::crash_point(crate::fault::AFTER_JOB_WRITE);
        Ok(self.send(job).await)
    }

    /// Sends the message of `job`, stored with its outbox mark, and clears the mark; a message
    /// that cannot be sent is left to the sweeper.
    pub(crate) async fn send(&self, job: Job) -> Job {
        let queue = match job.runner() {
            Runner::JobWorker => &self.queues.jobs,
            Runner::GpuWorker => &self.queues.gpu,
        };
        match queue.send(&job.message()).await {
            Ok(()) => {
                if let Err(e) = self.jobs.mark_sent(&job.id).await {
                    // The sweeper sends it again; the worker takes a duplicate as a no-op.
                    tracing::warn!(job_id = %job.id, error = %e, "could not clear the outbox mark");
                }
                tracing::info!(job_id = %job.id, user_id = %job.owner_id, "job queued");
                Job { unsent_since: None, ..job }
            }
            Err(e) => {
                tracing::warn!(job_id = %job.id, error = %e, "job recorded; its message is left to the sweeper");
                job
            }
        }
    }

    /// A job of one of the caller's teams; 404 for unknown and foreign ids alike.
    pub async fn get(&self, actor: &Actor, id: &JobId) -> Result<Job, JobError> {
        let job = self.jobs.get(id).await?.ok_or(JobError::NotFound("job"))?;
        self.access.require(actor, &job.team_id, TeamAction::Read, "job").await?;
        Ok(job)
    }

    /// Cancels a job that has not finished: a `PENDING` one never runs (its message, when it
    /// comes, finds it terminal); a `RUNNING` one is recorded `CANCELLED` at once, and its
    /// worker's outcome then loses the conditional write and is dropped, so nothing is published.
    /// A finished job is not changed (409).
    pub async fn cancel(&self, actor: &Actor, id: &JobId) -> Result<Job, JobError> {
        let job = self.jobs.get(id).await?.ok_or(JobError::NotFound("job"))?;
        let team = job.team_id.clone();
        let event = || AuditEvent { team: &team, action: action::JOB_CANCEL, target: id.as_str() };
        let allowed = self.access.require(actor, &team, TeamAction::SubmitJobs, "job").await;
        self.audit.checked(actor, event(), allowed).await?;
        let next = job.apply(Transition::Cancel, self.clock.now()).map_err(|_| finished(&job))?;
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let cancelled = self.replace_cancelled(job, next).await;
        let job = self.audit.settled(actor, event(), cancelled).await?;
        self.give_back_job_slot(&job.team_id, &job.id).await;
        tracing::info!(job_id = %job.id, "job cancelled");
        Ok(job)
    }

    /// Stores `next`, the cancellation of `job`; when a worker moved the job on in between, the
    /// cancellation is decided again from what it is now.
    async fn replace_cancelled(&self, mut job: Job, mut next: Job) -> Result<Job, JobError> {
        for _ in 0..MAX_CANCEL_TRIES {
            match self.jobs.replace(&job, &next).await {
                Ok(()) => return Ok(next),
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            job = self.jobs.get(&job.id).await?.ok_or(JobError::NotFound("job"))?;
            next = job.apply(Transition::Cancel, self.clock.now()).map_err(|_| finished(&job))?;
        }
        Err(JobError::Conflict("the job keeps changing: try again".into()))
    }

    /// A team's jobs (by default the caller's: a person's personal team, a key's team), newest
    /// first.
    pub async fn list(&self, actor: &Actor, query: JobQuery) -> Result<JobList, JobError> {
        let team = query.team_id.unwrap_or_else(|| actor.default_team());
        self.access.require(actor, &team, TeamAction::Read, "team").await?;
        let page = self.jobs.list(&team, query.status, page_limit(query.limit)?, query.cursor.as_deref()).await?;
        Ok(JobList { jobs: page.jobs, next_cursor: page.next_cursor })
    }
}
