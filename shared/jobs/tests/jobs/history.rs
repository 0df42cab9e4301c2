//! Per-attempt history: the runner's claim starts an attempt record and its settling ends it, in
//! the same conditional write as the transition, so a redelivered message adds nothing; a retry's
//! attempts name their round; the history keeps the latest 20.

use helix_domain::{ATTEMPT_HISTORY_LIMIT, AttemptOutcome, Job, JobStatus, JobStore, Transition};

use crate::support::*;

fn outcomes(job: &Job) -> Vec<(u32, u32, AttemptOutcome)> {
    job.attempt_history.iter().map(|r| (r.number, r.retry, r.outcome)).collect()
}

#[tokio::test]
async fn a_passing_fault_then_a_completion_are_two_attempts_and_a_redelivery_adds_none() {
    let w = world();
    let runner = w.runner();
    let job = w.submitted(CONTEXT, CSV).await;
    w.blobs.outage.set(true);
    runner.run(&body(&job.id), 1).await;
    w.blobs.outage.set(false);
    runner.run(&body(&job.id), 2).await;
    let done = w.job(&job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(outcomes(&done), [(1, 0, AttemptOutcome::Released), (2, 0, AttemptOutcome::Completed)]);
    let [released, completed] = &done.attempt_history[..] else { panic!("two attempts") };
    assert!(released.error.as_deref().is_some_and(|e| e.contains("unavailable")), "{released:?}");
    assert_eq!((released.records_in, released.finished_at), (None, Some(start())));
    assert_eq!((completed.records_in, completed.records_out, completed.records_rejected), (Some(3), Some(2), Some(1)));
    assert_eq!((completed.error.as_deref(), completed.finished_at), (None, Some(start())));

    // SQS delivers again: the job is finished, nothing is written.
    runner.run(&body(&job.id), 3).await;
    assert_eq!(w.job(&job.id).await, done);
}

#[tokio::test]
async fn a_retried_jobs_attempts_name_their_round_and_bad_input_fails_its_attempt() {
    let w = world();
    let job = w.submitted(CONTEXT, "id,qty\na,\"never closed\n").await;
    w.runner().run(&body(&job.id), 1).await;
    let failed = w.job(&job.id).await;
    assert_eq!(outcomes(&failed), [(1, 0, AttemptOutcome::Failed)]);
    assert_eq!(failed.attempt_history[0].error, failed.error);

    w.service().retry(&actor(ALICE), &job.id).await.unwrap();
    let message = serde_json::to_string(&w.job_queue.take()[0]).unwrap();
    w.runner().run(&message, 1).await;
    let again = w.job(&job.id).await;
    assert_eq!(outcomes(&again), [(1, 0, AttemptOutcome::Failed), (2, 1, AttemptOutcome::Failed)]);
}

#[tokio::test]
async fn a_cancel_ends_the_running_attempt_and_the_sweeper_an_abandoned_one() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    let claimed = job.apply(Transition::Claim { lease_until: start().plus(LEASE) }, start()).unwrap();
    w.jobs.replace(&job, &claimed).await.unwrap();
    let cancelled = w.service().cancel(&actor(ALICE), &job.id).await.unwrap();
    assert_eq!(outcomes(&cancelled), [(1, 0, AttemptOutcome::Cancelled)]);

    let other = w.submitted(CONTEXT, CSV).await;
    let claimed = other.apply(Transition::Claim { lease_until: start().plus(LEASE) }, start()).unwrap();
    w.jobs.replace(&other, &claimed).await.unwrap();
    w.clock.advance(LEASE * 3);
    w.sweeper(LEASE).sweep().await.unwrap();
    let swept = w.job(&other.id).await;
    assert_eq!(swept.status, JobStatus::Failed, "{swept:?}");
    assert_eq!(outcomes(&swept), [(1, 0, AttemptOutcome::Abandoned)]);
}

#[tokio::test]
async fn the_history_keeps_the_latest_attempts() {
    let w = world();
    let runner = w.runner();
    let job = w.submitted(CONTEXT, CSV).await;
    w.blobs.outage.set(true);
    for _ in 0..ATTEMPT_HISTORY_LIMIT + 5 {
        runner.run(&body(&job.id), 1).await;
    }
    let job = w.job(&job.id).await;
    assert_eq!((job.attempts, job.attempt_history.len()), (ATTEMPT_HISTORY_LIMIT as u32 + 5, ATTEMPT_HISTORY_LIMIT));
    assert_eq!(job.attempt_history.first().map(|r| r.number), Some(6));
    assert!(job.attempt_history.iter().all(|r| r.outcome == AttemptOutcome::Released));
}
