use std::sync::Arc;
use std::time::Duration;

use helix_domain::{Clock, JobStatus, JobStore, Runner, StoreError, Timestamp, Transition};

use crate::Queues;

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    /// Jobs failed because their worker vanished on their last delivery.
    pub failed_jobs: u64,
    /// Jobs whose owed queue message was sent (the outbox relay).
    pub relayed_jobs: u64,
}

/// Keeps every job moving towards a terminal state:
/// - **PENDING whose message was never sent**: the API process died between writing the job
///   (with its outbox mark) and sending its message. After `relay_after`, the sweeper sends it.
/// - **RUNNING whose worker died on its last delivery**: the lease ran out and the message went
///   to the dead-letter queue instead of coming back, so no worker will finish the job. A lease
///   that ran out longer ago than the queue's visibility timeout (`stale_after`) means the
///   message did not come back (a redelivery would have claimed the job anew): the job fails.
pub struct JobSweeper {
    pub jobs: Arc<dyn JobStore>,
    pub queues: Queues,
    pub clock: Arc<dyn Clock>,
    /// An abandoned job gives back its slot of its team's concurrent jobs.
    pub quotas: Arc<dyn helix_domain::QuotaStore>,
    pub stale_after: Duration,
    pub relay_after: Duration,
}

const PAGE: u32 = 100;

fn before(now: Timestamp, by: Duration) -> Result<Timestamp, StoreError> {
    Timestamp::from_unix(now.unix() - by.as_secs() as i64).ok_or_else(|| StoreError::Backend("out of range".into()))
}

impl JobSweeper {
    pub async fn sweep(&self) -> Result<Swept, StoreError> {
        let relayed_jobs = self.relay().await?;
        let failed_jobs = self.fail_abandoned().await?;
        Ok(Swept { failed_jobs, relayed_jobs })
    }

    async fn relay(&self) -> Result<u64, StoreError> {
        let cutoff = before(self.clock.now(), self.relay_after)?;
        let mut relayed = 0;
        loop {
            let unsent = self.jobs.unsent(cutoff, PAGE).await?;
            for job in &unsent {
                // A job that got past PENDING was delivered after all.
                if job.status == JobStatus::Pending {
                    let queue = match job.runner() {
                        Runner::JobWorker => &self.queues.jobs,
                        Runner::GpuWorker => &self.queues.gpu,
                    };
                    queue.send(&job.message()).await?;
                    tracing::warn!(job_id = %job.id, "owed queue message sent");
                    relayed += 1;
                }
                self.jobs.mark_sent(&job.id).await?;
            }
            if unsent.len() < PAGE as usize {
                return Ok(relayed);
            }
        }
    }

    async fn fail_abandoned(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let cutoff = before(now, self.stale_after)?;
        let mut failed = 0;
        loop {
            let stale = self.jobs.expired_leases(cutoff, PAGE).await?;
            let mut settled = 0;
            for job in &stale {
                let error = format!(
                    "the worker running attempt {} stopped responding and the job was not delivered again; submit it again",
                    job.attempts
                );
                let Ok(abandoned) = job.apply(Transition::Abandon { error }, now) else { continue };
                match self.jobs.replace(job, &abandoned).await {
                    Ok(()) => {
                        crate::quotas::job_ended(&*self.quotas, &abandoned).await;
                        tracing::warn!(job_id = %job.id, attempts = job.attempts, "abandoned job failed");
                        failed += 1;
                        settled += 1;
                    }
                    // A redelivery took it over after the query.
                    Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if stale.len() < PAGE as usize || settled == 0 {
                return Ok(failed);
            }
        }
    }
}
