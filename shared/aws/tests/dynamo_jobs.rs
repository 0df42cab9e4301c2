//! `DynamoJobStore` against the emulator `make test` starts (`HELIX_TEST_AWS_ENDPOINT`), on a
//! table created as `infra/template.yaml` declares `JobsTable`: each attempt's record is written
//! with the transition that starts or ends it, a redelivered worker's stale write changes nothing,
//! and a delete lands only on the job as it was read.

use std::time::Duration;

use helix_aws::{DynamoArtifactStore, DynamoJobStore};
use helix_domain::{
    ATTEMPT_HISTORY_LIMIT, Artifact, ArtifactId, ArtifactKind, ArtifactStore, AttemptOutcome, Job, JobInputs, JobKind,
    JobOutcome, JobStore, StoreError, Timestamp, Transition,
};

mod common;
use common::{client, table};

fn at(seconds: u64) -> Timestamp {
    Timestamp::from_unix(1_800_000_000).unwrap().plus(Duration::from_secs(seconds))
}

fn claim(job: &Job, now: Timestamp) -> Job {
    job.apply(Transition::Claim { lease_until: now.plus(Duration::from_secs(300)) }, now).unwrap()
}

fn completed() -> Transition {
    Transition::Finish(JobOutcome::Completed {
        result_artifact_id: ArtifactId::for_key("results/j/result.json"),
        result_path: "results/j/result.json".into(),
        error_report_artifact_id: ArtifactId::for_key("results/j/errors.json"),
        records_in: 4,
        records_out: 3,
        records_rejected: 1,
        auto_mapped: None,
        warnings: Vec::new(),
        inputs_read: Vec::new(),
    })
}

async fn store() -> DynamoJobStore {
    let client = client();
    DynamoJobStore::new(client.clone(), table(&client, "JobsTable").await)
}

#[tokio::test]
async fn each_attempt_is_stored_with_its_transition_and_a_stale_write_changes_nothing() {
    let jobs = store().await;
    let job = Job::new("job-history".into(), "u-1".into(), JobKind::Transform, None, JobInputs::default(), at(0));
    jobs.create(&job).await.unwrap();

    let first = claim(&job, at(1));
    jobs.replace(&job, &first).await.unwrap();
    let released = first.apply(Transition::Release { error: "S3 timed out".into() }, at(2)).unwrap();
    jobs.replace(&first, &released).await.unwrap();
    let second = claim(&released, at(3));
    jobs.replace(&released, &second).await.unwrap();
    let done = second.apply(completed(), at(5)).unwrap();
    jobs.replace(&second, &done).await.unwrap();

    let stored = jobs.get(&job.id).await.unwrap().unwrap();
    assert_eq!(stored, done);
    let outcomes: Vec<_> = stored.attempt_history.iter().map(|r| (r.number, r.outcome)).collect();
    assert_eq!(outcomes, [(1, AttemptOutcome::Released), (2, AttemptOutcome::Completed)]);
    assert_eq!(stored.attempt_history[0].error.as_deref(), Some("S3 timed out"));
    assert_eq!(stored.attempt_history[1].records_out, Some(3));

    // SQS delivered the first message again, to a worker that read the job before: its claim
    // and its outcome both lose, and the history is what it was.
    for (seen, next) in [(&job, claim(&job, at(6))), (&first, first.apply(completed(), at(6)).unwrap())] {
        assert!(matches!(jobs.replace(seen, &next).await, Err(StoreError::Conflict(_))));
    }
    assert_eq!(jobs.get(&job.id).await.unwrap().unwrap(), done);
}

#[tokio::test]
async fn the_history_stays_bounded_in_the_item() {
    let jobs = store().await;
    let mut job = Job::new("job-bounded".into(), "u-1".into(), JobKind::Transform, None, JobInputs::default(), at(0));
    jobs.create(&job).await.unwrap();
    for i in 0..ATTEMPT_HISTORY_LIMIT as u64 + 3 {
        let running = claim(&job, at(2 * i + 1));
        jobs.replace(&job, &running).await.unwrap();
        let error = format!("attempt {} failed: {}", i + 1, "x".repeat(2000));
        let released = running.apply(Transition::Release { error }, at(2 * i + 2)).unwrap();
        jobs.replace(&running, &released).await.unwrap();
        job = released;
    }
    let stored = jobs.get(&job.id).await.unwrap().unwrap();
    assert_eq!(stored.attempt_history.len(), ATTEMPT_HISTORY_LIMIT);
    assert_eq!(stored.attempt_history.first().map(|r| r.number), Some(4));
    assert!(stored.attempt_history.iter().all(|r| r.error.as_ref().is_some_and(|e| e.chars().count() <= 1001)));
}

#[tokio::test]
async fn a_delete_lands_only_on_the_job_as_read_and_once() {
    let jobs = store().await;
    let job = Job::new("job-delete".into(), "u-1".into(), JobKind::Transform, None, JobInputs::default(), at(0));
    jobs.create(&job).await.unwrap();
    let running = claim(&job, at(1));
    jobs.replace(&job, &running).await.unwrap();
    let done = running.apply(completed(), at(2)).unwrap();
    jobs.replace(&running, &done).await.unwrap();

    assert!(matches!(jobs.delete(&running).await, Err(StoreError::Conflict(_))), "a stale view deletes nothing");
    assert!(jobs.get(&job.id).await.unwrap().is_some());
    jobs.delete(&done).await.unwrap();
    assert_eq!(jobs.get(&job.id).await.unwrap(), None);
    assert!(matches!(jobs.delete(&done).await, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn an_output_record_is_deleted_and_deleting_a_missing_one_is_no_error() {
    let client = client();
    let artifacts = DynamoArtifactStore::new(client.clone(), table(&client, "ArtifactsTable").await);
    let job = Job::new("job-outputs".into(), "u-1".into(), JobKind::Transform, None, JobInputs::default(), at(0));
    let output = Artifact::output(
        &job,
        ArtifactKind::Result,
        "results/job-outputs/result.json".into(),
        "application/json",
        2,
        at(1),
    );
    artifacts.put(&output).await.unwrap();
    artifacts.delete(&output.id).await.unwrap();
    assert_eq!(artifacts.get(&output.id).await.unwrap(), None);
    artifacts.delete(&output.id).await.unwrap();
}
