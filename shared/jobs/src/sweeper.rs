use std::sync::Arc;
use std::time::Duration;

use helix_domain::{Clock, JobStore, StoreError, Transition};

/// Settles jobs whose worker died on their last delivery. Such a job stays `RUNNING` with a lease
/// that has run out, and its message went to the dead-letter queue instead of coming back: no
/// worker will ever finish it. A lease that ran out longer ago than the queue's visibility timeout
/// means the message did not come back (a redelivery would have claimed the job anew).
pub struct JobSweeper {
    jobs: Arc<dyn JobStore>,
    clock: Arc<dyn Clock>,
    stale_after: Duration,
}

const PAGE: u32 = 100;

impl JobSweeper {
    pub fn new(jobs: Arc<dyn JobStore>, clock: Arc<dyn Clock>, stale_after: Duration) -> Self {
        Self { jobs, clock, stale_after }
    }

    /// How many jobs it failed.
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let cutoff = helix_domain::Timestamp::from_unix(now.unix() - self.stale_after.as_secs() as i64)
            .ok_or_else(|| StoreError::Backend("stale_after is out of range".into()))?;
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
