//! Running a job again: a retry (the same job, a new run on its inputs) and a clone (a new job
//! from its inputs, some of them replaced).

use helix_domain::{ArtifactId, AuditOutcome, Job, JobId, StoreError, TeamAction, Transition};

use crate::audit::{AuditEvent, action};
use crate::{Actor, Input, InputSource, JobError, JobRequest, JobService};

/// What a clone replaces of the job's inputs; the rest is taken from the job.
#[derive(Clone, Debug, Default)]
pub struct CloneRequest {
    pub name: Option<String>,
    pub context_artifact_id: Option<ArtifactId>,
    pub schema_artifact_id: Option<ArtifactId>,
    pub lookup_artifact_ids: Option<Vec<ArtifactId>>,
    pub auto_map: Option<bool>,
}

impl JobService {
    /// Runs a FAILED or CANCELLED job again on the same inputs, as the next run in the same
    /// job's history (`retries` counts them; `attempts` goes on counting every attempt). Any
    /// other job is not changed (409).
    pub async fn retry(&self, actor: &Actor, id: &JobId) -> Result<Job, JobError> {
        let job = self.jobs.get(id).await?.ok_or(JobError::NotFound("job"))?;
        let team = job.team_id.clone();
        let event = || AuditEvent { team: &team, action: action::JOB_RETRY, target: id.as_str() };
        let allowed = self.access.require(actor, &team, TeamAction::SubmitJobs, "job").await;
        self.audit.checked(actor, event(), allowed).await?;
        let next = job.apply(Transition::Retry, self.clock.now()).map_err(|_| {
            JobError::Conflict(format!("the job is {}: only a FAILED or CANCELLED job is retried", job.status.as_str()))
        })?;
        self.take_job_slot(actor, &team, id).await?;
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let replaced = self.jobs.replace(&job, &next).await.map_err(|e| match e {
            StoreError::Conflict(_) => JobError::Conflict("the job changed meanwhile: read it again".into()),
            other => other.into(),
        });
        if replaced.is_err() {
            self.give_back_job_slot(&team, id).await;
        }
        self.audit.settled(actor, event(), replaced).await?;
        tracing::info!(job_id = %id, retries = next.retries, "job retried");
        Ok(self.send(next).await)
    }

    /// A new job of the same team from the job's inputs, with what `request` gives in their
    /// place, submitted under every rule of [`JobService::submit`]. A clone that keeps a
    /// pipeline run's documents is a run of the same version.
    pub async fn clone_job(&self, actor: &Actor, id: &JobId, request: CloneRequest) -> Result<Job, JobError> {
        let job = self.get(actor, id).await?;
        let inputs = job.inputs;
        let document = |field: &str, given: Option<ArtifactId>, kept: Option<ArtifactId>| {
            given.or(kept).map(|id| Input::new(field, InputSource::Artifact(id)))
        };
        let documents_kept = request.context_artifact_id.is_none()
            && request.schema_artifact_id.is_none()
            && request.lookup_artifact_ids.is_none();
        let pipeline = job.pipeline_id.zip(job.pipeline_version).filter(|_| documents_kept);
        let request = JobRequest {
            team_id: Some(job.team_id),
            kind: job.kind,
            name: request.name.or(job.name),
            content_field: "content_artifact_ids",
            content: inputs
                .content_artifact_ids
                .into_iter()
                .enumerate()
                .map(|(i, id)| Input::new(format!("content_artifact_ids[{i}]"), InputSource::Artifact(id)))
                .collect(),
            context: document("context_artifact_id", request.context_artifact_id, inputs.context_artifact_id),
            schema: document("schema_artifact_id", request.schema_artifact_id, inputs.schema_artifact_id),
            lookups: Some(request.lookup_artifact_ids.unwrap_or(inputs.lookup_artifact_ids)),
            auto_map: request.auto_map.unwrap_or(job.auto_map),
            traceparent: None,
            pipeline,
        };
        self.submit(actor, request).await
    }
}
