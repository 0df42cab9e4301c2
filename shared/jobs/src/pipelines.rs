use std::sync::Arc;

use helix_domain::{
    Artifact, ArtifactId, AuditOutcome, Clock, ComparedField, ComparedRecords, Comparison, FileDeclaration, Job, JobId,
    JobKind, JobStatus, Pipeline, PipelineDiff, PipelineId, PipelineOptions, PipelineStep, PipelineStore,
    PipelineVersion, StoreError, TeamAction, TeamId, UserId, check_patterns,
};

use crate::audit::{AuditEvent, AuditTrail, action};
use crate::compare::{RunOutput, compare};
use crate::documents::{DocumentError, read_document};
use crate::submit::{Checked, CheckedDocuments, check_auto_map, page_limit};
use crate::{Access, Actor, InlineFile, Input, InputSource, JobError, JobList, JobRequest, JobService};

const MAX_PIPELINE_NAME_CHARS: usize = 100;
/// Lines of context around each change of a version diff.
const DIFF_CONTEXT_LINES: usize = 3;
/// The largest result or reject report a comparison reads (it runs in an API request).
const MAX_COMPARED_BYTES: u64 = 64 * 1024 * 1024;

/// What a save gives: each document inline or as an artifact id. A new version keeps from the
/// current one whatever it leaves out.
#[derive(Clone, Debug, Default)]
pub struct PipelineDefinition {
    pub context: Option<Input>,
    pub schema: Option<Input>,
    pub lookups: Option<Vec<ArtifactId>>,
    pub options: Option<PipelineOptions>,
    /// A chained version's steps; `Some(vec![])` makes a one-job version again.
    pub steps: Option<Vec<StepDefinition>>,
}

/// One step of a chained version as sent: its documents (each input carries its field name,
/// `steps[0].context`) and the steps whose results it takes.
#[derive(Clone, Debug, Default)]
pub struct StepDefinition {
    pub name: String,
    pub context: Option<Input>,
    pub schema: Option<Input>,
    pub lookups: Option<Vec<ArtifactId>>,
    pub after: Vec<String>,
}

/// A pipeline as a transport received it.
#[derive(Clone, Debug, Default)]
pub struct NewPipeline {
    /// The caller's default team ([`Actor::default_team`]) when unset.
    pub team_id: Option<TeamId>,
    pub name: String,
    pub definition: PipelineDefinition,
    /// The file names its inbox takes (globs); any name when empty.
    pub patterns: Vec<String>,
}

/// A run of a pipeline on content the caller uploaded.
#[derive(Clone, Debug, Default)]
pub struct PipelineRun {
    pub content: Vec<ArtifactId>,
    /// The pipeline's current version when unset.
    pub version: Option<u32>,
    /// The job's name; by default the pipeline's name and the version.
    pub name: Option<String>,
    pub traceparent: Option<String>,
}

/// The pipeline use cases: pipelines made, renamed, archived; versions saved, read and compared;
/// runs started (as jobs of [`JobService`], which record the pipeline and version) and listed.
pub struct PipelineService {
    pub access: Arc<Access>,
    pub pipelines: Arc<dyn PipelineStore>,
    pub jobs: Arc<JobService>,
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<AuditTrail>,
    /// The artifacts bucket, where the pipelines' inboxes are.
    pub bucket: String,
}

fn pipeline_name(name: &str) -> Result<String, JobError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_PIPELINE_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(JobError::invalid(
            "name",
            format!("name must be 1 to {MAX_PIPELINE_NAME_CHARS} characters, without control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// Inbox patterns as sent, checked ([`check_patterns`]); the field named `patterns`.
fn inbox_patterns(patterns: Vec<String>) -> Result<Vec<String>, JobError> {
    check_patterns(&patterns).map_err(|(index, reason)| match index {
        Some(i) => JobError::invalid(format!("patterns[{i}]"), reason),
        None => JobError::invalid("patterns", reason),
    })?;
    Ok(patterns)
}

fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(DIFF_CONTEXT_LINES)
        .header(old_name, new_name)
        .to_string()
}

impl PipelineService {
    fn artifacts(&self) -> &crate::ArtifactService {
        &self.jobs.artifacts
    }

    /// The pipeline, if the actor may do `action` in its team; 404 for unknown and foreign ids
    /// alike.
    pub(crate) async fn pipeline(
        &self,
        actor: &Actor,
        id: &PipelineId,
        action: TeamAction,
    ) -> Result<Pipeline, JobError> {
        let pipeline = self.pipelines.get(id).await?.ok_or(JobError::NotFound("pipeline"))?;
        self.access.require(actor, &pipeline.team_id, action, "pipeline").await?;
        Ok(pipeline)
    }

    /// The pipeline, for a change: refusals of the team's members recorded, an archived one
    /// refused.
    pub(crate) async fn editable(
        &self,
        actor: &Actor,
        id: &PipelineId,
        what: &'static str,
    ) -> Result<Pipeline, JobError> {
        let pipeline = self.pipelines.get(id).await?.ok_or(JobError::NotFound("pipeline"))?;
        let allowed = self.access.require(actor, &pipeline.team_id, TeamAction::EditPipelines, "pipeline").await;
        let event = AuditEvent { team: &pipeline.team_id, action: what, target: id.as_str() };
        self.audit.checked(actor, event, allowed).await?;
        if pipeline.archived_at.is_some() {
            return Err(JobError::Conflict("the pipeline is archived (deleted)".into()));
        }
        Ok(pipeline)
    }

    /// A new pipeline and its version 1, the actor its author.
    pub async fn create(&self, actor: &Actor, request: NewPipeline) -> Result<(Pipeline, PipelineVersion), JobError> {
        let team = request.team_id.unwrap_or_else(|| actor.default_team());
        let allowed = self.access.require(actor, &team, TeamAction::EditPipelines, "team").await;
        let event = AuditEvent { team: &team, action: action::PIPELINE_CREATE, target: team.as_str() };
        self.audit.checked(actor, event, allowed).await?;
        let name = pipeline_name(&request.name)?;
        let patterns = inbox_patterns(request.patterns)?;
        let definition = request.definition;
        let options = definition.options.unwrap_or_default();
        if options.auto_map {
            check_auto_map(JobKind::Transform, definition.context.is_some(), definition.schema.is_some())
                .map_err(|e| rename_field(e, "options.auto_map"))?;
        }
        let checked = self
            .jobs
            .check_documents(
                actor,
                &team,
                definition.context,
                definition.schema,
                Some(definition.lookups.unwrap_or_default()),
            )
            .await?;

        let steps = self.checked_steps(actor, &team, definition.steps.unwrap_or_default()).await?;

        let id = PipelineId::random();
        let event = || AuditEvent { team: &team, action: action::PIPELINE_CREATE, target: id.as_str() };
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let created = async {
            let now = self.clock.now();
            let version = PipelineVersion {
                steps: self.stored_steps(actor, &team, steps).await?,
                ..self.version_of(actor, &team, &id, 1, checked, options).await?
            };
            let pipeline = Pipeline {
                id: id.clone(),
                team_id: team.clone(),
                name,
                current_version: 1,
                created_by: actor.user_id.clone(),
                created_at: now,
                updated_at: now,
                archived_at: None,
                patterns,
            };
            self.pipelines.create(&pipeline, &version).await?;
            Ok((pipeline, version))
        }
        .await;
        let (pipeline, version) = self.audit.settled(actor, event(), created).await?;
        tracing::info!(pipeline_id = %pipeline.id, team_id = %team, "pipeline created");
        Ok((pipeline, version))
    }

    /// The version record of checked documents, the inline ones stored as the team's artifacts.
    async fn version_of(
        &self,
        actor: &Actor,
        team: &TeamId,
        id: &PipelineId,
        number: u32,
        checked: CheckedDocuments,
        options: PipelineOptions,
    ) -> Result<PipelineVersion, JobError> {
        let CheckedDocuments { context, schema, lookups } = checked;
        let owner = &actor.user_id;
        let context_artifact_id = match context {
            Some(document) => Some(self.store(owner, team, document).await?),
            None => None,
        };
        let schema_artifact_id = match schema {
            Some(document) => Some(self.store(owner, team, document).await?),
            None => None,
        };
        Ok(PipelineVersion {
            pipeline_id: id.clone(),
            version: number,
            context_artifact_id,
            schema_artifact_id,
            lookup_artifact_ids: lookups,
            options,
            steps: Vec::new(),
            author: owner.clone(),
            created_at: self.clock.now(),
        })
    }

    /// A chained version's steps as sent, checked: names and `after` links
    /// ([`helix_domain::check_steps`]), then each step's documents as a job's are.
    async fn checked_steps(
        &self,
        actor: &Actor,
        team: &TeamId,
        steps: Vec<StepDefinition>,
    ) -> Result<Vec<(StepDefinition, CheckedDocuments)>, JobError> {
        let shape: Vec<(String, Vec<String>)> = steps.iter().map(|s| (s.name.clone(), s.after.clone())).collect();
        helix_domain::check_steps(&shape).map_err(|(field, reason)| JobError::invalid(field, reason))?;
        let mut checked = Vec::with_capacity(steps.len());
        for step in steps {
            let documents = self
                .jobs
                .check_documents(actor, team, step.context.clone(), step.schema.clone(), step.lookups.clone())
                .await?;
            checked.push((step, documents));
        }
        Ok(checked)
    }

    /// Checked steps as a version keeps them, their inline documents stored as the team's artifacts.
    async fn stored_steps(
        &self,
        actor: &Actor,
        team: &TeamId,
        steps: Vec<(StepDefinition, CheckedDocuments)>,
    ) -> Result<Vec<PipelineStep>, JobError> {
        let mut stored = Vec::with_capacity(steps.len());
        for (step, CheckedDocuments { context, schema, lookups }) in steps {
            let context_artifact_id = match context {
                Some(document) => Some(self.store(&actor.user_id, team, document).await?),
                None => None,
            };
            let schema_artifact_id = match schema {
                Some(document) => Some(self.store(&actor.user_id, team, document).await?),
                None => None,
            };
            stored.push(PipelineStep {
                name: step.name,
                context_artifact_id,
                schema_artifact_id,
                lookup_artifact_ids: lookups,
                after: step.after,
            });
        }
        Ok(stored)
    }

    /// A checked document as an artifact id: an inline one stored as an artifact of the team,
    /// registered first, then stored, then marked available (as a job's inline files are), and
    /// owned by no job.
    async fn store(&self, owner: &UserId, team: &TeamId, document: Checked) -> Result<ArtifactId, JobError> {
        let file: InlineFile = match document {
            Checked::Artifact(id) => return Ok(id),
            Checked::File(file) => file,
        };
        let artifacts = self.artifacts();
        let declaration = FileDeclaration {
            kind: file.kind,
            filename: file.filename,
            content_type: file.content_type,
            size_bytes: file.bytes.len() as u64,
        };
        let artifact = Artifact::pending_upload(owner.clone(), team.clone(), declaration, None, self.clock.now());
        artifacts.artifacts.create(&artifact).await?;
        artifacts.blobs.put_bytes(&artifact.s3_key, file.bytes, &artifact.content_type).await?;
        match artifacts.artifacts.mark_available(&artifact.id, None).await {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(artifact.id),
            Err(e) => Err(e.into()),
        }
    }

    /// A team's pipelines (by default the caller's), oldest first; archived ones only when asked.
    pub async fn list(
        &self,
        actor: &Actor,
        team: Option<TeamId>,
        include_archived: bool,
    ) -> Result<Vec<Pipeline>, JobError> {
        let team = team.unwrap_or_else(|| actor.default_team());
        self.access.require(actor, &team, TeamAction::Read, "team").await?;
        let mut pipelines = self.pipelines.list(&team).await?;
        pipelines.retain(|p| include_archived || p.archived_at.is_none());
        Ok(pipelines)
    }

    pub async fn get(&self, actor: &Actor, id: &PipelineId) -> Result<Pipeline, JobError> {
        self.pipeline(actor, id, TeamAction::Read).await
    }

    pub async fn rename(&self, actor: &Actor, id: &PipelineId, name: &str) -> Result<Pipeline, JobError> {
        let pipeline = self.editable(actor, id, action::PIPELINE_UPDATE).await?;
        let next = Pipeline { name: pipeline_name(name)?, updated_at: self.clock.now(), ..pipeline };
        let event = || AuditEvent { team: &next.team_id, action: action::PIPELINE_UPDATE, target: id.as_str() };
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let updated = self.pipelines.update(&next).await.map_err(changed_meanwhile);
        self.audit.settled(actor, event(), updated).await?;
        Ok(next)
    }

    /// Sets the file names the pipeline's inbox takes (globs; every name when empty).
    pub async fn set_patterns(
        &self,
        actor: &Actor,
        id: &PipelineId,
        patterns: Vec<String>,
    ) -> Result<Pipeline, JobError> {
        let pipeline = self.editable(actor, id, action::PIPELINE_UPDATE).await?;
        let next = Pipeline { patterns: inbox_patterns(patterns)?, updated_at: self.clock.now(), ..pipeline };
        let event = || AuditEvent { team: &next.team_id, action: action::PIPELINE_UPDATE, target: id.as_str() };
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let updated = self.pipelines.update(&next).await.map_err(changed_meanwhile);
        self.audit.settled(actor, event(), updated).await?;
        Ok(next)
    }

    /// Archives the pipeline: it keeps its versions and runs, and takes no new ones. Archiving an
    /// archived pipeline changes nothing.
    pub async fn archive(&self, actor: &Actor, id: &PipelineId) -> Result<Pipeline, JobError> {
        let pipeline = match self.editable(actor, id, action::PIPELINE_ARCHIVE).await {
            Err(JobError::Conflict(_)) => return self.pipeline(actor, id, TeamAction::Read).await,
            other => other?,
        };
        let now = self.clock.now();
        let next = Pipeline { archived_at: Some(now), updated_at: now, ..pipeline };
        let event = || AuditEvent { team: &next.team_id, action: action::PIPELINE_ARCHIVE, target: id.as_str() };
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let updated = self.pipelines.update(&next).await.map_err(changed_meanwhile);
        self.audit.settled(actor, event(), updated).await?;
        tracing::info!(pipeline_id = %id, "pipeline archived");
        Ok(next)
    }

    /// Saves a new version: what `definition` gives replaces the current version's, the rest is
    /// kept, and the whole is checked as a job's documents are.
    pub async fn save_version(
        &self,
        actor: &Actor,
        id: &PipelineId,
        definition: PipelineDefinition,
    ) -> Result<PipelineVersion, JobError> {
        let pipeline = self.editable(actor, id, action::PIPELINE_VERSION).await?;
        let current = self.stored_version(&pipeline, pipeline.current_version).await?;
        let kept = |given: Option<Input>, field: &str, id: Option<ArtifactId>| {
            given.or_else(|| id.map(|id| Input::new(field, InputSource::Artifact(id))))
        };
        let context = kept(definition.context, "context_artifact_id", current.context_artifact_id);
        let schema = kept(definition.schema, "schema_artifact_id", current.schema_artifact_id);
        let lookups = definition.lookups.unwrap_or(current.lookup_artifact_ids);
        let options = definition.options.unwrap_or(current.options);
        if options.auto_map {
            check_auto_map(JobKind::Transform, context.is_some(), schema.is_some())
                .map_err(|e| rename_field(e, "options.auto_map"))?;
        }
        let team = &pipeline.team_id;
        let checked = self.jobs.check_documents(actor, team, context, schema, Some(lookups)).await?;
        let steps = match definition.steps {
            Some(steps) => Some(self.checked_steps(actor, team, steps).await?),
            None => None,
        };
        let number = pipeline.current_version + 1;
        let target = format!("{id}@{number}");
        let event = || AuditEvent { team, action: action::PIPELINE_VERSION, target: &target };
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let saved = async {
            let steps = match steps {
                Some(steps) => self.stored_steps(actor, team, steps).await?,
                None => current.steps,
            };
            let version =
                PipelineVersion { steps, ..self.version_of(actor, team, id, number, checked, options).await? };
            self.pipelines.add_version(&version, version.created_at).await.map_err(changed_meanwhile)?;
            Ok(version)
        }
        .await;
        let version = self.audit.settled(actor, event(), saved).await?;
        tracing::info!(pipeline_id = %id, version = number, "pipeline version saved");
        Ok(version)
    }

    pub(crate) async fn stored_version(&self, pipeline: &Pipeline, number: u32) -> Result<PipelineVersion, JobError> {
        if number == 0 || number > pipeline.current_version {
            return Err(JobError::NotFound("version"));
        }
        self.pipelines.version(&pipeline.id, number).await?.ok_or(JobError::NotFound("version"))
    }

    pub async fn version(&self, actor: &Actor, id: &PipelineId, number: u32) -> Result<PipelineVersion, JobError> {
        let pipeline = self.pipeline(actor, id, TeamAction::Read).await?;
        self.stored_version(&pipeline, number).await
    }

    /// Every version of the pipeline, oldest first.
    pub async fn versions(&self, actor: &Actor, id: &PipelineId) -> Result<Vec<PipelineVersion>, JobError> {
        self.pipeline(actor, id, TeamAction::Read).await?;
        Ok(self.pipelines.versions(id).await?)
    }

    /// Version `from` and version `to` compared: unified diffs of their contexts and schemas.
    pub async fn diff(&self, actor: &Actor, id: &PipelineId, from: u32, to: u32) -> Result<PipelineDiff, JobError> {
        let pipeline = self.pipeline(actor, id, TeamAction::Read).await?;
        let old = self.stored_version(&pipeline, from).await?;
        let new = self.stored_version(&pipeline, to).await?;
        let document = |id: &Option<ArtifactId>| {
            let id = id.clone();
            async move {
                match id {
                    Some(id) => self.text_of(&id).await,
                    None => Ok(String::new()),
                }
            }
        };
        let (old_context, new_context) =
            (document(&old.context_artifact_id).await?, document(&new.context_artifact_id).await?);
        let (old_schema, new_schema) =
            (document(&old.schema_artifact_id).await?, document(&new.schema_artifact_id).await?);
        Ok(PipelineDiff {
            pipeline_id: id.clone(),
            from,
            to,
            context: unified_diff(&old_context, &new_context, &format!("context v{from}"), &format!("context v{to}")),
            schema: unified_diff(&old_schema, &new_schema, &format!("schema v{from}"), &format!("schema v{to}")),
            lookups_changed: old.lookup_artifact_ids != new.lookup_artifact_ids,
            options_changed: old.options != new.options,
        })
    }

    /// A version's document, read as a job reads it.
    async fn text_of(&self, id: &ArtifactId) -> Result<String, JobError> {
        let artifacts = self.artifacts();
        let artifact = artifacts.artifacts.get(id).await?.ok_or(JobError::NotFound("document"))?;
        read_document(&*artifacts.blobs, &artifact).await.map(|d| d.text).map_err(|e| match e {
            DocumentError::Store(e) => e.into(),
            other => JobError::Conflict(format!("the document {id} cannot be read: {other}")),
        })
    }

    /// Runs a version (by default the current one) on `run.content`: a transform job of the
    /// pipeline's team, submitted under every rule of [`JobService::submit`], recording the
    /// pipeline and the version.
    pub async fn run(&self, actor: &Actor, id: &PipelineId, run: PipelineRun) -> Result<Job, JobError> {
        let pipeline = self.pipeline(actor, id, TeamAction::SubmitJobs).await?;
        if pipeline.archived_at.is_some() {
            return Err(JobError::Conflict("the pipeline is archived (deleted): it takes no runs".into()));
        }
        let number = run.version.unwrap_or(pipeline.current_version);
        if number == 0 || number > pipeline.current_version {
            return Err(JobError::invalid(
                "version",
                format!("the pipeline has versions 1 to {}", pipeline.current_version),
            ));
        }
        let version = self.stored_version(&pipeline, number).await?;
        if !version.steps.is_empty() {
            return Err(JobError::invalid(
                "version",
                format!(
                    "version {number} is chained ({} steps): start it with POST /pipelines/{id}/runs",
                    version.steps.len()
                ),
            ));
        }
        let document = |field: &str, id: Option<ArtifactId>| id.map(|id| Input::new(field, InputSource::Artifact(id)));
        let request = JobRequest {
            team_id: Some(pipeline.team_id.clone()),
            kind: JobKind::Transform,
            name: Some(run.name.unwrap_or_else(|| format!("{} v{number}", pipeline.name))),
            content_field: "content_artifact_ids",
            content: run
                .content
                .into_iter()
                .enumerate()
                .map(|(i, id)| Input::new(format!("content_artifact_ids[{i}]"), InputSource::Artifact(id)))
                .collect(),
            context: document("context_artifact_id", version.context_artifact_id),
            schema: document("schema_artifact_id", version.schema_artifact_id),
            lookups: Some(version.lookup_artifact_ids),
            auto_map: version.options.auto_map,
            traceparent: run.traceparent,
            pipeline: Some((pipeline.id, number)),
        };
        self.jobs.submit(actor, request).await
    }

    /// Runs version `number` on the input of `baseline`, a completed run of the pipeline's team,
    /// and keeps the pair: [`PipelineService::comparison`] then reports how the outputs differ.
    pub async fn compare(
        &self,
        actor: &Actor,
        id: &PipelineId,
        number: u32,
        baseline: &JobId,
    ) -> Result<ComparisonView, JobError> {
        let pipeline = self.pipeline(actor, id, TeamAction::SubmitJobs).await?;
        self.stored_version(&pipeline, number).await?;
        let unknown = || JobError::invalid("job_id", format!("job {baseline} does not exist"));
        let base = match self.jobs.get(actor, baseline).await {
            Ok(job) if job.team_id == pipeline.team_id => job,
            Ok(_) => return Err(JobError::invalid("job_id", format!("job {baseline} belongs to another team"))),
            Err(JobError::NotFound(_) | JobError::Forbidden(_)) => return Err(unknown()),
            Err(e) => return Err(e),
        };
        if base.status != JobStatus::Completed {
            return Err(JobError::invalid(
                "job_id",
                format!("job {baseline} is {}: a comparison needs a COMPLETED run's output", base.status.as_str()),
            ));
        }
        let run = PipelineRun {
            content: base.inputs.content_artifact_ids.clone(),
            version: Some(number),
            name: Some(format!("{} v{number} compared with {baseline}", pipeline.name)),
            traceparent: None,
        };
        let candidate = self.run(actor, id, run).await?;
        let comparison = Comparison {
            pipeline_id: id.clone(),
            version: number,
            baseline_job_id: base.id.clone(),
            candidate_job_id: candidate.id.clone(),
            created_by: actor.user_id.clone(),
            created_at: self.clock.now(),
        };
        self.pipelines.add_comparison(&comparison).await?;
        Ok(ComparisonView { comparison, baseline: base, candidate, difference: None })
    }

    /// A comparison, its two runs, and once the candidate has completed, how their outputs
    /// differ: records added, removed and changed, and each field that changed.
    pub async fn comparison(
        &self,
        actor: &Actor,
        id: &PipelineId,
        candidate: &JobId,
    ) -> Result<ComparisonView, JobError> {
        self.pipeline(actor, id, TeamAction::Read).await?;
        let comparison = self.pipelines.comparison(id, candidate).await?.ok_or(JobError::NotFound("comparison"))?;
        let baseline = self.jobs.get(actor, &comparison.baseline_job_id).await?;
        let candidate = self.jobs.get(actor, &comparison.candidate_job_id).await?;
        let difference = match candidate.status {
            JobStatus::Completed => Some(compare(&self.output(&baseline).await?, &self.output(&candidate).await?)),
            _ => None,
        };
        Ok(ComparisonView { comparison, baseline, candidate, difference })
    }

    /// A completed run's records and rejects.
    async fn output(&self, job: &Job) -> Result<RunOutput, JobError> {
        let missing = || JobError::Conflict(format!("job {} has no output to compare", job.id));
        let (result, report) =
            job.result_artifact_id.as_ref().zip(job.error_report_artifact_id.as_ref()).ok_or_else(missing)?;
        let read = |id: &ArtifactId| {
            let id = id.clone();
            async move {
                let artifacts = self.artifacts();
                let artifact = artifacts.artifacts.get(&id).await?.ok_or_else(missing)?;
                artifacts.blobs.get_bytes(&artifact.s3_key, MAX_COMPARED_BYTES).await.map_err(|e| match e {
                    StoreError::Conflict(_) => JobError::Conflict(format!(
                        "the output of job {} is over {} MiB: too large to compare here",
                        job.id,
                        MAX_COMPARED_BYTES >> 20
                    )),
                    StoreError::NotFound => missing(),
                    other => other.into(),
                })
            }
        };
        let (result, report) = (read(result).await?, read(report).await?);
        RunOutput::read(&result, &report, job.records_in.unwrap_or_default())
            .map_err(|e| JobError::Conflict(format!("job {}: {e}", job.id)))
    }

    /// The pipeline's runs, newest first.
    pub async fn runs(
        &self,
        actor: &Actor,
        id: &PipelineId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<JobList, JobError> {
        self.pipeline(actor, id, TeamAction::Read).await?;
        let page = self.jobs.jobs.runs(id, page_limit(limit)?, cursor).await?;
        Ok(JobList { jobs: page.jobs, next_cursor: page.next_cursor })
    }
}

/// A comparison with its two runs and, once the candidate completed, the difference.
#[derive(Debug)]
pub struct ComparisonView {
    pub comparison: Comparison,
    pub baseline: Job,
    pub candidate: Job,
    pub difference: Option<(ComparedRecords, Vec<ComparedField>)>,
}

/// A conditional write that lost: someone saved, renamed or archived the pipeline in between.
fn changed_meanwhile(e: StoreError) -> JobError {
    match e {
        StoreError::Conflict(_) => {
            JobError::Conflict("the pipeline changed meanwhile (a new version, or archived): read it again".into())
        }
        other => other.into(),
    }
}

/// The same refusal, naming the request field it came from.
fn rename_field(e: JobError, field: &str) -> JobError {
    match e {
        JobError::Invalid { message, .. } => JobError::invalid(field, message),
        other => other,
    }
}
