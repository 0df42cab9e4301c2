//! JobSweeper: only a job whose worker vanished on its last delivery is failed.

use std::time::Duration;

use helix_domain::{Clock, Job, JobInputs, JobKind, JobStatus, JobStore, Transition};

use crate::support::*;

const STALE_AFTER: Duration = Duration::from_secs(600);

/// A job of Alice's that a worker claimed now, under a lease of [`LEASE`].
async fn running(w: &World, id: &str) -> Job {
    let now = w.clock.now();
    let job = Job::new(id.into(), ALICE.into(), JobKind::Transform, None, JobInputs::default(), now);
    w.jobs.create(&job).await.unwrap();
    let claimed = job.apply(Transition::Claim { lease_until: now.plus(LEASE) }, now).unwrap();
    w.jobs.replace(&job, &claimed).await.unwrap();
    claimed
}

#[tokio::test]
async fn a_lease_that_ran_out_long_ago_fails_the_job_once() {
    let w = world();
    let abandoned = running(&w, "abandoned").await;
    w.clock.advance(LEASE + STALE_AFTER + Duration::from_secs(1));
    let live = running(&w, "live").await;
    let sweeper = w.sweeper(STALE_AFTER);

    assert_eq!(sweeper.sweep().await.unwrap().failed_jobs, 1);
    let failed = w.job(&abandoned.id).await;
    assert_eq!((failed.status, failed.attempts, failed.lease_expires_at), (JobStatus::Failed, 1, None));
    assert_eq!(failed.finished_at, Some(w.clock.now()));
    assert!(failed.error.as_deref().is_some_and(|e| e.contains("stopped responding")), "{:?}", failed.error);
    assert_eq!(w.job(&live.id).await, live, "a live lease is left alone");

    assert_eq!(sweeper.sweep().await.unwrap().failed_jobs, 0, "a failed job is not failed again");
    assert_eq!(w.job(&abandoned.id).await, failed);
}

#[tokio::test]
async fn a_lease_that_ran_out_recently_is_left_for_its_redelivery() {
    let w = world();
    let job = running(&w, "j").await;
    let sweeper = w.sweeper(STALE_AFTER);
    w.clock.advance(LEASE / 2);
    assert_eq!(sweeper.sweep().await.unwrap().failed_jobs, 0);
    // Expired, but not longer ago than the queue's visibility timeout: its message may come back.
    w.clock.advance(LEASE / 2 + STALE_AFTER / 2);
    assert_eq!(sweeper.sweep().await.unwrap().failed_jobs, 0);
    assert_eq!(w.job(&job.id).await, job);
    w.clock.advance(STALE_AFTER);
    assert_eq!(sweeper.sweep().await.unwrap().failed_jobs, 1);
}

#[tokio::test]
async fn pending_and_finished_jobs_are_not_swept() {
    let w = world();
    let now = w.clock.now();
    let pending = Job::new("p".into(), ALICE.into(), JobKind::Transform, None, JobInputs::default(), now);
    w.jobs.create(&pending).await.unwrap();
    let claimed = running(&w, "r").await;
    let released = claimed.apply(Transition::Release { error: "S3 timed out".into() }, now).unwrap();
    w.jobs.replace(&claimed, &released).await.unwrap();
    w.clock.advance(LEASE + STALE_AFTER * 10);
    assert_eq!(w.sweeper(STALE_AFTER).sweep().await.unwrap().failed_jobs, 0);
    assert_eq!(w.job(&pending.id).await.status, JobStatus::Pending);
    assert_eq!(w.job(&released.id).await.status, JobStatus::Pending);
}
