//! Retry and clone: a FAILED or CANCELLED job runs again as the same job (its message names the
//! retry, so the worker's record of the first run does not swallow it); any other job is not
//! changed (409). A clone is a new job from the same inputs, some replaced.

use helix_domain::{ArtifactKind, Job, JobStatus, JobStore};
use helix_jobs::{CloneRequest, JobError};

use crate::support::*;

#[tokio::test]
async fn a_failed_job_is_retried_and_completes_as_the_same_job() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    w.runner().run(&body(&job.id), 1).await;
    // Its first run failed (as a worker records it).
    let done = w.job(&job.id).await;
    let failed = Job { status: JobStatus::Failed, error: Some("S3 was down".into()), ..done.clone() };
    w.jobs.replace(&done, &failed).await.unwrap();

    let retried = w.service().retry(&actor(ALICE), &job.id).await.unwrap();
    assert_eq!((retried.status, retried.retries, retried.error.as_deref()), (JobStatus::Pending, 1, None));
    let messages = w.job_queue.take();
    assert_eq!(messages.len(), 1);
    let message = serde_json::to_string(&messages[0]).unwrap();
    assert_ne!(message, body(&job.id), "a retry's message is not the first run's");

    w.runner().run(&message, 1).await;
    let again = w.job(&job.id).await;
    assert_eq!((again.status, again.attempts, again.retries), (JobStatus::Completed, 2, 1));
}

#[tokio::test]
async fn a_cancelled_job_is_retried_and_an_unfinished_or_completed_one_is_not() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    let refused = w.service().retry(&actor(ALICE), &job.id).await;
    assert!(matches!(&refused, Err(JobError::Conflict(m)) if m.contains("PENDING")), "{refused:?}");
    w.service().cancel(&actor(ALICE), &job.id).await.unwrap();
    w.runner().run(&body(&job.id), 1).await;

    let retried = w.service().retry(&actor(ALICE), &job.id).await.unwrap();
    assert_eq!(retried.status, JobStatus::Pending);
    let message = serde_json::to_string(&w.job_queue.take()[0]).unwrap();
    w.runner().run(&message, 1).await;
    assert_eq!(w.job(&job.id).await.status, JobStatus::Completed);

    let refused = w.service().retry(&actor(ALICE), &job.id).await;
    assert!(matches!(&refused, Err(JobError::Conflict(m)) if m.contains("COMPLETED")), "{refused:?}");
    assert!(matches!(w.service().retry(&actor(BOB), &job.id).await, Err(JobError::NotFound(_))));
}

#[tokio::test]
async fn a_clone_is_a_new_job_from_the_same_inputs_some_replaced() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    w.runner().run(&body(&job.id), 1).await;

    let clone = w.service().clone_job(&actor(ALICE), &job.id, CloneRequest::default()).await.unwrap();
    assert_ne!(clone.id, job.id);
    assert_eq!((clone.status, &clone.inputs, &clone.team_id), (JobStatus::Pending, &job.inputs, &job.team_id));
    assert_eq!(w.job_queue.take().len(), 1);

    let context = w.upload(ALICE, ArtifactKind::Context, "upper.yaml", NDJSON_CONTEXT.as_bytes()).await;
    let request =
        CloneRequest { name: Some("upper".into()), context_artifact_id: Some(context.clone()), ..Default::default() };
    let changed = w.service().clone_job(&actor(ALICE), &job.id, request).await.unwrap();
    assert_eq!((changed.name.as_deref(), changed.inputs.context_artifact_id.as_ref()), (Some("upper"), Some(&context)));
    assert_eq!(changed.inputs.content_artifact_ids, job.inputs.content_artifact_ids);

    let unknown = CloneRequest { schema_artifact_id: Some("nope".into()), ..Default::default() };
    assert_invalid(
        w.service().clone_job(&actor(ALICE), &job.id, unknown).await,
        "schema_artifact_id",
        "does not exist",
    );
    assert!(matches!(
        w.service().clone_job(&actor(BOB), &job.id, CloneRequest::default()).await,
        Err(JobError::NotFound(_))
    ));
}
