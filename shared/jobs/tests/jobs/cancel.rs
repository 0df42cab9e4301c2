//! Cancelling a job: a PENDING job is CANCELLED at once and never runs; a RUNNING one is recorded
//! CANCELLED and its worker's outcome is dropped; a finished one is not changed (409). Outsiders
//! learn nothing, viewers change nothing.

use helix_domain::{
    ArtifactKind, AuditLog, AuditOutcome, JobOutcome, JobStatus, JobStore, Role, TeamId, Transition, UserId,
};
use helix_jobs::{InlineFile, Input, InputSource, JobError, JobRequest};

use crate::support::*;

#[tokio::test]
async fn a_pending_job_is_cancelled_at_once_and_never_runs() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    let cancelled = w.service().cancel(&actor(ALICE), &job.id).await.unwrap();
    assert_eq!((cancelled.status, cancelled.finished_at), (JobStatus::Cancelled, Some(start())));
    assert_eq!(w.job(&job.id).await, cancelled);

    // Its message, when it comes, finds it terminal: nothing runs, nothing is written.
    w.runner().run(&body(&job.id), 1).await;
    let stored = w.job(&job.id).await;
    assert_eq!((stored.status, stored.attempts, stored.result_artifact_id), (JobStatus::Cancelled, 0, None));

    let again = w.service().cancel(&actor(ALICE), &job.id).await;
    assert!(matches!(again, Err(JobError::Conflict(ref m)) if m.contains("CANCELLED")), "{again:?}");
    let team = TeamId::personal(&UserId::from(ALICE));
    let trail = w.audit.newest(&team, None, 10).await.unwrap();
    assert!(trail.iter().any(|e| e.action == "job.cancel" && e.outcome == AuditOutcome::Success));
}

#[tokio::test]
async fn a_finished_job_is_not_changed() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    w.runner().run(&body(&job.id), 1).await;
    let done = w.job(&job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    let refused = w.service().cancel(&actor(ALICE), &job.id).await;
    assert!(matches!(refused, Err(JobError::Conflict(ref m)) if m.contains("COMPLETED")), "{refused:?}");
    assert_eq!(w.job(&job.id).await, done);
}

#[tokio::test]
async fn a_running_job_is_cancelled_and_its_outcome_dropped() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    // A worker holds it.
    let claimed = job.apply(Transition::Claim { lease_until: start().plus(LEASE) }, start()).unwrap();
    w.jobs.replace(&job, &claimed).await.unwrap();
    let cancelled = w.service().cancel(&actor(ALICE), &job.id).await.unwrap();
    assert_eq!((cancelled.status, cancelled.lease_expires_at), (JobStatus::Cancelled, None));
    // The worker's settle (from the job it claimed) loses the conditional write.
    let settled = claimed.apply(Transition::Finish(JobOutcome::Failed { error: "x".into() }), start());
    assert!(w.jobs.replace(&claimed, &settled.unwrap()).await.is_err());
    assert_eq!(w.job(&job.id).await.status, JobStatus::Cancelled);
}

#[tokio::test]
async fn outsiders_learn_nothing_and_viewers_cancel_nothing() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    assert!(matches!(w.service().cancel(&actor(BOB), &job.id).await, Err(JobError::NotFound(_))));
    assert!(matches!(w.service().cancel(&actor(ALICE), &"nope".into()).await, Err(JobError::NotFound(_))));

    let teams = w.team_service();
    let team = teams.create(&actor(ALICE), "Integration").await.unwrap().team.id;
    let invitation = teams.invite(&actor(ALICE), &team, Role::Viewer).await.unwrap();
    teams.accept(&actor(BOB), &invitation.token).await.unwrap();
    let content = Input::new(
        "content_file",
        InputSource::File(InlineFile {
            kind: ArtifactKind::Content,
            filename: "orders.csv".into(),
            content_type: "text/csv".into(),
            bytes: CSV.as_bytes().to_vec(),
        }),
    );
    let request = JobRequest { team_id: Some(team.clone()), content: vec![content], ..transform(vec![]) };
    let teams_job = w.service().submit(&actor(ALICE), request).await.unwrap();
    let bob = actor(BOB);
    assert!(matches!(w.service().cancel(&bob, &teams_job.id).await, Err(JobError::Forbidden(_))));
    assert_eq!(w.job(&teams_job.id).await.status, JobStatus::Pending);
    teams.change_role(&actor(ALICE), &team, &UserId::from(BOB), Role::Member).await.unwrap();
    assert_eq!(w.service().cancel(&bob, &teams_job.id).await.unwrap().status, JobStatus::Cancelled);
}
