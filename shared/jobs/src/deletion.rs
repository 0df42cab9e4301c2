//! Deleting a finished job with the outputs its runs wrote.

use helix_domain::artifact::output_keys;
use helix_domain::{ArtifactId, AuditOutcome, Job, JobId, StoreError, TeamAction};

use crate::audit::{AuditEvent, action};
use crate::{Actor, JobError, JobService};

impl JobService {
    /// Deletes a COMPLETED, FAILED or CANCELLED job, its result, reject report and any other
    /// output (of every run, a retried job's earlier ones included). Its inputs stay: they are
    /// artifacts of their own, perhaps read by other jobs. A job still PENDING or RUNNING is not
    /// changed (409: cancel it first); a job that is gone is `NotFound`, so a second delete
    /// answers as an unknown id does.
    pub async fn delete(&self, actor: &Actor, id: &JobId) -> Result<(), JobError> {
        let job = self.jobs.get(id).await?.ok_or(JobError::NotFound("job"))?;
        let team = job.team_id.clone();
        let event = || AuditEvent { team: &team, action: action::JOB_DELETE, target: id.as_str() };
        let allowed = self.access.require(actor, &team, TeamAction::SubmitJobs, "job").await;
        self.audit.checked(actor, event(), allowed).await?;
        if !job.status.is_terminal() {
            return Err(JobError::Conflict(format!(
                "the job is {}: cancel it first; only a finished job is deleted",
                job.status.as_str()
            )));
        }
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let deleted = self.delete_with_outputs(&job).await;
        self.audit.settled(actor, event(), deleted).await?;
        tracing::info!(job_id = %id, "job deleted");
        Ok(())
    }

    /// The outputs first, then the job, conditional on its state as read: a failure part way
    /// leaves the job in place, so deleting it again finishes the work (a missing output is no
    /// error), rather than leaving outputs that no job names. The outputs are those the job
    /// names, wherever they are, and every key a run of it can have written.
    async fn delete_with_outputs(&self, job: &Job) -> Result<(), JobError> {
        let named = [&job.result_artifact_id, &job.error_report_artifact_id, &job.auto_map_context_artifact_id];
        for id in named.into_iter().flatten() {
            if let Some(output) = self.artifacts.artifacts.get(id).await? {
                self.artifacts.blobs.delete(&output.s3_key).await?;
                self.artifacts.artifacts.delete(id).await?;
            }
        }
        for key in output_keys(&job.id) {
            self.artifacts.blobs.delete(&key).await?;
            self.artifacts.artifacts.delete(&ArtifactId::for_key(&key)).await?;
        }
        self.jobs.delete(job).await.map_err(|e| match e {
            StoreError::Conflict(_) => JobError::Conflict("the job changed meanwhile: read it again".into()),
            StoreError::NotFound => JobError::NotFound("job"),
            other => other.into(),
        })
    }
}
