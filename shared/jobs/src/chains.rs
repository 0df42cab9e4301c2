//! Runs of chained pipelines: the run record ([`ChainRun`], in the pipeline's partition of the
//! pipelines table) and one job per step. No scheduler of our own: the end of each step's job,
//! which the job worker reports through [`JobEvents`] (again on a redelivered message), advances
//! the record with a write conditional on its revision and submits the steps that became ready,
//! through the job queue as any job. A report repeated, late or racing another changes nothing
//! twice: only the write that made a step ready names the report that submits it, and a step's
//! job id is fixed by its run, name and attempt, so a second submission finds the job.

use std::sync::Arc;

use async_trait::async_trait;

use helix_domain::{
    ApiKeyId, ArtifactId, ArtifactKind, ChainRun, ChainStart, Job, JobKind, KeyScope, Pipeline, PipelineId, RunId,
    RunStatus, STARTED_BY, StepEnd, StepJob, StepRun, StepStatus, StoreError, TeamAction, UserId,
};

use crate::{Actor, Input, InputSource, JobError, JobEvents, JobRequest, KeyGrant, PipelineRun, PipelineService};

/// How often a run's write is tried again after another writer moved the run on.
const MAX_RUN_WRITES: usize = 32;

/// What starting a pipeline run made: a job, or a chained run of jobs.
#[derive(Debug, PartialEq)]
pub enum RunStarted {
    Job(Box<Job>),
    Chain(Box<ChainRun>),
}

impl RunStarted {
    /// The job's id, or the chained run's.
    pub fn id(&self) -> &str {
        match self {
            Self::Job(job) => job.id.as_str(),
            Self::Chain(run) => run.id.as_str(),
        }
    }
}

/// Who submits a chained run's step jobs: a key-like actor of the pipeline's team that may
/// submit and read jobs, and nothing else (as an inbox's).
pub fn chain_actor(pipeline: &PipelineId, team: &helix_domain::TeamId) -> Actor {
    let principal = format!("chain-{pipeline}");
    Actor {
        user_id: UserId::from(principal.clone()),
        key: Some(KeyGrant {
            key_id: ApiKeyId::from(principal),
            team_id: team.clone(),
            scopes: vec![KeyScope::JobsRead, KeyScope::JobsWrite],
            pipeline_id: None,
        }),
        origin: None,
    }
}

/// A failure that a later try may not see (the message comes back), as against a refusal of the
/// step's job, which fails the step.
fn is_passing(e: &JobError) -> bool {
    matches!(e, JobError::Unavailable(_) | JobError::Internal(_) | JobError::TooManyRequests { .. })
}

impl PipelineService {
    /// Starts a run of a version (by default the current one): a job for a one-job version
    /// ([`PipelineService::run`]), a [`ChainRun`] whose first steps are submitted for a chained
    /// one.
    pub async fn start(&self, actor: &Actor, id: &PipelineId, run: PipelineRun) -> Result<RunStarted, JobError> {
        let pipeline = self.pipeline(actor, id, TeamAction::SubmitJobs).await?;
        let number = run.version.unwrap_or(pipeline.current_version);
        let chained = number > 0
            && number <= pipeline.current_version
            && !self.stored_version(&pipeline, number).await?.steps.is_empty();
        if !chained {
            return self.run(actor, id, run).await.map(|job| RunStarted::Job(Box::new(job)));
        }
        if pipeline.archived_at.is_some() {
            return Err(JobError::Conflict("the pipeline is archived (deleted): it takes no runs".into()));
        }
        self.start_chain(actor, &pipeline, number, run.content).await.map(|run| RunStarted::Chain(Box::new(run)))
    }

    async fn start_chain(
        &self,
        actor: &Actor,
        pipeline: &Pipeline,
        number: u32,
        content: Vec<ArtifactId>,
    ) -> Result<ChainRun, JobError> {
        let version = self.stored_version(pipeline, number).await?;
        if content.is_empty() {
            return Err(JobError::invalid("content_artifact_ids", "at least one content artifact is required"));
        }
        for (i, id) in content.iter().enumerate() {
            let field = format!("content_artifact_ids[{i}]");
            self.jobs.artifacts.usable(actor, &pipeline.team_id, id, ArtifactKind::Content, &field).await?;
        }
        let run = ChainRun::start(ChainStart {
            id: RunId::random(),
            pipeline_id: pipeline.id.clone(),
            pipeline_version: number,
            team_id: pipeline.team_id.clone(),
            created_by: actor.user_id.clone(),
            content,
            steps: &version.steps,
            now: self.clock.now(),
        });
        self.pipelines.add_run(&run).await?;
        tracing::info!(pipeline_id = %pipeline.id, run_id = %run.id, "chained run started");
        self.submit_steps(&run, STARTED_BY).await?;
        self.stored_run(&pipeline.id, &run.id).await
    }

    /// The run of the pipeline, with its steps.
    pub async fn chain_run(&self, actor: &Actor, id: &PipelineId, run: &RunId) -> Result<ChainRun, JobError> {
        self.pipeline(actor, id, TeamAction::Read).await?;
        self.stored_run(id, run).await
    }

    /// Runs the failed, skipped and cancelled steps of a FAILED or CANCELLED run again (each as a
    /// new job); the completed steps keep their results, which the steps after them read.
    pub async fn retry_chain(&self, actor: &Actor, id: &PipelineId, run: &RunId) -> Result<ChainRun, JobError> {
        self.pipeline(actor, id, TeamAction::SubmitJobs).await?;
        let retried = self
            .write_run(id, run, |stored| {
                let mut next = stored.clone();
                next.retry(self.clock.now()).map_err(JobError::Conflict)?;
                Ok(Some(next))
            })
            .await?;
        tracing::info!(pipeline_id = %id, run_id = %run, retries = retried.retries, "chained run retried");
        self.submit_steps(&retried, &retried.retry_submitter()).await?;
        self.stored_run(id, run).await
    }

    /// Cancels a RUNNING run: the jobs of its running steps are cancelled (a PENDING one at once,
    /// a RUNNING one at the worker's next check), the steps not yet run skipped. The run is
    /// written first, so a cancelled job's end, reported after, changes nothing.
    pub async fn cancel_chain(&self, actor: &Actor, id: &PipelineId, run: &RunId) -> Result<ChainRun, JobError> {
        self.pipeline(actor, id, TeamAction::SubmitJobs).await?;
        let now = self.clock.now();
        let cancelled = self
            .write_run(id, run, |stored| {
                let mut next = stored.clone();
                next.cancel(now).map_err(JobError::Conflict)?;
                Ok(Some(next))
            })
            .await?;
        let submitter = chain_actor(id, &cancelled.team_id);
        for step in cancelled.steps.iter().filter(|s| s.status == StepStatus::Cancelled) {
            match self.jobs.cancel(&submitter, &cancelled.job_of(step)).await {
                // Ended meanwhile, or never submitted (the run was cancelled as it started it).
                Ok(_) | Err(JobError::Conflict(_) | JobError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        tracing::info!(pipeline_id = %id, run_id = %run, "chained run cancelled");
        Ok(cancelled)
    }

    async fn stored_run(&self, id: &PipelineId, run: &RunId) -> Result<ChainRun, JobError> {
        self.pipelines.run(id, run).await?.ok_or(JobError::NotFound("run"))
    }

    /// Reads the run and writes what `change` makes of it (`None`: nothing to write), again
    /// from a fresh read when another writer moved it on meanwhile. The run as stored after.
    async fn write_run(
        &self,
        id: &PipelineId,
        run: &RunId,
        change: impl Fn(&ChainRun) -> Result<Option<ChainRun>, JobError>,
    ) -> Result<ChainRun, JobError> {
        for _ in 0..MAX_RUN_WRITES {
            let stored = self.stored_run(id, run).await?;
            let Some(next) = change(&stored)? else { return Ok(stored) };
            match self.pipelines.replace_run(&next).await {
                Ok(()) => return Ok(next),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(JobError::Unavailable(format!("run {run} kept changing; try again")))
    }

    /// Records how a step's job ended; the run as stored after.
    async fn end_step(
        &self,
        id: &PipelineId,
        run: &RunId,
        step: &str,
        attempt: u32,
        end: StepEnd,
    ) -> Result<ChainRun, JobError> {
        self.write_run(id, run, |stored| {
            let mut next = stored.clone();
            Ok(next.finish_step(step, attempt, end.clone(), self.clock.now()).then_some(next))
        })
        .await
    }

    /// Submits the jobs of the steps `submitter` made ready; a step whose job is refused (a
    /// quota, an artifact gone) fails, and the steps after it are skipped.
    async fn submit_steps(&self, run: &ChainRun, submitter: &str) -> Result<(), JobError> {
        for step in run.submitted_by(submitter) {
            match self.submit_step(run, step).await {
                Ok(()) => {}
                Err(e) if is_passing(&e) => return Err(e),
                Err(refused) => {
                    let end = StepEnd::Failed { error: format!("the step's job was refused: {refused}") };
                    self.end_step(&run.pipeline_id, &run.id, &step.name, step.attempt, end).await?;
                }
            }
        }
        Ok(())
    }

    /// The step's job, submitted unless it exists already (a repeated report after a crash, or
    /// one at the same time).
    async fn submit_step(&self, run: &ChainRun, step: &StepRun) -> Result<(), JobError> {
        let job_id = run.job_of(step);
        if self.jobs.jobs.get(&job_id).await?.is_some() {
            return Ok(());
        }
        let pipeline = self.pipelines.get(&run.pipeline_id).await?.ok_or(JobError::NotFound("pipeline"))?;
        let version = self.stored_version(&pipeline, run.pipeline_version).await?;
        let definition = version
            .steps
            .iter()
            .find(|s| s.name == step.name)
            .ok_or_else(|| JobError::Internal(format!("version {} has no step {}", version.version, step.name)))?;
        let document = |field: &str, id: &Option<ArtifactId>| {
            id.clone().map(|id| Input::new(format!("steps.{}.{field}", step.name), InputSource::Artifact(id)))
        };
        let request = JobRequest {
            team_id: Some(run.team_id.clone()),
            kind: JobKind::Transform,
            name: Some(format!("{} v{} {}", pipeline.name, run.pipeline_version, step.name)),
            content_field: "content_artifact_ids",
            content: run
                .content_of(step)
                .into_iter()
                .enumerate()
                .map(|(i, id)| Input::new(format!("content_artifact_ids[{i}]"), InputSource::Artifact(id)))
                .collect(),
            context: document("context_artifact_id", &definition.context_artifact_id),
            schema: document("schema_artifact_id", &definition.schema_artifact_id),
            lookups: Some(definition.lookup_artifact_ids.clone()),
            auto_map: false,
            traceparent: None,
            pipeline: Some((run.pipeline_id.clone(), run.pipeline_version)),
        };
        let actor = chain_actor(&run.pipeline_id, &run.team_id);
        match self.jobs.submit_as(&actor, request, job_id.clone()).await {
            Ok(_) => Ok(()),
            // A report of the same end, at the same time, made it first: the step has its job.
            Err(JobError::Conflict(_)) if self.jobs.jobs.get(&job_id).await?.is_some() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A step's job ended: the run records it, and the steps it made ready are submitted. The
    /// run as stored after (`None` for a job of no chained run).
    async fn step_ended(&self, job: &Job) -> Result<Option<ChainRun>, JobError> {
        let (Some(step_job), Some(pipeline), Some(end)) = (StepJob::parse(&job.id), &job.pipeline_id, StepEnd::of(job))
        else {
            return Ok(None);
        };
        let run = self.end_step(pipeline, &step_job.run_id, &step_job.step, step_job.attempt, end).await?;
        // Only this step's end submits what it made ready: on a repeated report, the jobs not yet made.
        if run.step(&step_job.step).is_some_and(|s| s.attempt == step_job.attempt) {
            self.submit_steps(&run, &step_job.step).await?;
        }
        // A step whose job was refused may have ended the run meanwhile.
        Ok(Some(self.stored_run(pipeline, &step_job.run_id).await?))
    }
}

/// The job worker's completion hook for chained runs (see the module's note).
pub struct ChainDriver {
    pub pipelines: Arc<PipelineService>,
    /// Told of each run that ended (its webhooks), on every report of its last step's end.
    pub events: Arc<dyn JobEvents>,
}

#[async_trait]
impl JobEvents for ChainDriver {
    async fn finished(&self, job: &Job) -> Result<(), StoreError> {
        match self.pipelines.step_ended(job).await {
            Ok(Some(run)) if run.status != RunStatus::Running => self.events.run_ended(&run).await,
            Ok(_) => Ok(()),
            // A run that is gone (or a job that only looks like a step) has nothing to advance.
            Err(JobError::NotFound(what)) => {
                tracing::warn!(job_id = %job.id, what, "no chained run to advance");
                Ok(())
            }
            Err(e) => Err(StoreError::Backend(format!("advancing the run of job {}: {e}", job.id))),
        }
    }
}
