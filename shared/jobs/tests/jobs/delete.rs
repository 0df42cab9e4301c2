//! Deleting a job: a finished one goes with its outputs (its inputs stay) and is audited; an
//! unfinished one is not changed (409, cancel first); a second delete finds nothing (404);
//! outsiders learn nothing, viewers delete nothing.

use helix_domain::artifact::{error_report_key, result_key};
use helix_domain::{
    Artifact, ArtifactKind, ArtifactStore, AuditLog, AuditOutcome, Blobs, Job, JobStatus, JobStore, Role, TeamId,
    UserId,
};
use helix_jobs::{InlineFile, Input, InputSource, JobError, JobRequest};

use crate::support::*;

#[tokio::test]
async fn a_finished_job_is_deleted_with_its_outputs_and_its_inputs_stay() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    w.runner().run(&body(&job.id), 1).await;
    let done = w.job(&job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    let outputs = [done.result_artifact_id.clone().unwrap(), done.error_report_artifact_id.clone().unwrap()];

    w.service().delete(&actor(ALICE), &job.id).await.unwrap();
    assert_eq!(w.jobs.get(&job.id).await.unwrap(), None);
    for id in &outputs {
        assert_eq!(w.artifacts.get(id).await.unwrap(), None, "output {id}");
    }
    assert_eq!(w.blobs.object(&result_key(&job.id, "json")), None);
    assert_eq!(w.blobs.object(&error_report_key(&job.id)), None);
    let input = &done.inputs.content_artifact_ids[0];
    assert!(w.blobs.object(&w.artifact(input).await.s3_key).is_some(), "the input stays");

    let again = w.service().delete(&actor(ALICE), &job.id).await;
    assert!(matches!(again, Err(JobError::NotFound(_))), "{again:?}");
    assert!(matches!(w.service().get(&actor(ALICE), &job.id).await, Err(JobError::NotFound(_))));
    let team = TeamId::personal(&UserId::from(ALICE));
    let trail = w.audit.newest(&team, None, 10).await.unwrap();
    let deletes: Vec<_> = trail.iter().filter(|e| e.action == "job.delete").collect();
    assert_eq!(deletes.len(), 1, "{trail:?}");
    assert_eq!((deletes[0].outcome, deletes[0].target.as_str()), (AuditOutcome::Success, job.id.as_str()));
}

#[tokio::test]
async fn an_output_the_job_names_is_deleted_wherever_it_is() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    w.runner().run(&body(&job.id), 1).await;
    let done = w.job(&job.id).await;
    // A result at a key of a format deleting knows nothing of.
    let key = format!("results/{}/result.table", job.id);
    let table = Artifact::output(&done, ArtifactKind::Result, key.clone(), "text/csv", 3, start());
    w.blobs.put_bytes(&key, b"a,b".to_vec(), "text/csv").await.unwrap();
    w.artifacts.put(&table).await.unwrap();
    let named = Job { result_artifact_id: Some(table.id.clone()), ..done.clone() };
    w.jobs.replace(&done, &named).await.unwrap();

    w.service().delete(&actor(ALICE), &job.id).await.unwrap();
    assert_eq!(w.blobs.object(&key), None);
    assert_eq!(w.artifacts.get(&table.id).await.unwrap(), None);
}

#[tokio::test]
async fn a_pending_or_running_job_is_not_deleted_and_a_cancelled_or_failed_one_is() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    let refused = w.service().delete(&actor(ALICE), &job.id).await;
    assert!(
        matches!(&refused, Err(JobError::Conflict(m)) if m.contains("PENDING") && m.contains("cancel")),
        "{refused:?}"
    );
    assert_eq!(w.job(&job.id).await.status, JobStatus::Pending);
    w.service().cancel(&actor(ALICE), &job.id).await.unwrap();
    w.service().delete(&actor(ALICE), &job.id).await.unwrap();

    let failed = w.submitted(CONTEXT, "id,qty\na,\"never closed\n").await;
    w.runner().run(&body(&failed.id), 1).await;
    assert_eq!(w.job(&failed.id).await.status, JobStatus::Failed);
    w.service().delete(&actor(ALICE), &failed.id).await.unwrap();
    assert_eq!(w.jobs.get(&failed.id).await.unwrap(), None);
}

#[tokio::test]
async fn a_storage_fault_leaves_the_job_to_be_deleted_again() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    w.runner().run(&body(&job.id), 1).await;
    w.blobs.outage.set(true);
    assert!(w.service().delete(&actor(ALICE), &job.id).await.is_err());
    assert_eq!(w.job(&job.id).await.status, JobStatus::Completed, "the job stays until its outputs are gone");
    w.blobs.outage.set(false);
    w.service().delete(&actor(ALICE), &job.id).await.unwrap();
    assert_eq!(w.jobs.get(&job.id).await.unwrap(), None);
    let team = TeamId::personal(&UserId::from(ALICE));
    let outcomes: Vec<_> = w
        .audit
        .newest(&team, None, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "job.delete")
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes, [AuditOutcome::Success, AuditOutcome::Failed, AuditOutcome::Success]);
}

#[tokio::test]
async fn outsiders_learn_nothing_and_viewers_delete_nothing() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    w.runner().run(&body(&job.id), 1).await;
    assert!(matches!(w.service().delete(&actor(BOB), &job.id).await, Err(JobError::NotFound(_))));
    assert!(matches!(w.service().delete(&actor(ALICE), &"nope".into()).await, Err(JobError::NotFound(_))));

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
    w.service().cancel(&actor(ALICE), &teams_job.id).await.unwrap();
    let bob = actor(BOB);
    assert!(matches!(w.service().delete(&bob, &teams_job.id).await, Err(JobError::Forbidden(_))));
    assert_eq!(w.job(&teams_job.id).await.status, JobStatus::Cancelled);
    let trail = w.audit.newest(&team, None, 10).await.unwrap();
    assert!(trail.iter().any(|e| e.action == "job.delete" && e.outcome == AuditOutcome::Refused), "{trail:?}");
    teams.change_role(&actor(ALICE), &team, &UserId::from(BOB), Role::Member).await.unwrap();
    w.service().delete(&bob, &teams_job.id).await.unwrap();
}
