//! Pipelines: versions are immutable and numbered without gaps, a save keeps what it leaves out,
//! versions compare as unified diffs, and runs are jobs that name their pipeline and version.
//! Outsiders learn nothing (404), viewers read but change nothing (403).

use helix_domain::{
    Artifact, ArtifactId, ArtifactKind, ArtifactStore, AuditLog, AuditOutcome, Blobs, Clock, FileDeclaration,
    JobStatus, PipelineId, PipelineOptions, PipelineStore, Role, TeamId, UserId,
};
use helix_jobs::{JobError, KeyRequest, NewPipeline, PipelineDefinition, PipelineRun};

use crate::support::*;

const CHANGED_CONTEXT: &str = "fields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty | int }}\"\n";

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, JobError>) {
    assert!(matches!(result, Err(JobError::NotFound(_))), "{result:?}");
}

#[track_caller]
fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, JobError>) {
    assert!(matches!(result, Err(JobError::Forbidden(_))), "{result:?}");
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, JobError>) {
    assert!(matches!(result, Err(JobError::Conflict(_))), "{result:?}");
}

fn inline(context: &str) -> PipelineDefinition {
    PipelineDefinition {
        context: Some(text("context", context)),
        schema: Some(text("schema", SCHEMA)),
        ..PipelineDefinition::default()
    }
}

fn named(name: &str, team: Option<TeamId>, definition: PipelineDefinition) -> NewPipeline {
    NewPipeline { team_id: team, name: name.into(), definition, ..NewPipeline::default() }
}

/// Alice's team with Bob in it as `role`.
async fn team_with_bob(w: &World, role: Role) -> TeamId {
    let teams = w.team_service();
    let team = teams.create(&actor(ALICE), "Integration").await.unwrap().team.id;
    let invitation = teams.invite(&actor(ALICE), &team, role).await.unwrap();
    teams.accept(&actor(BOB), &invitation.token).await.unwrap();
    team
}

/// A content file of `team`, uploaded and accepted.
async fn upload_into(w: &World, team: &TeamId, filename: &str, bytes: &[u8]) -> ArtifactId {
    let file = FileDeclaration {
        kind: ArtifactKind::Content,
        filename: filename.into(),
        content_type: "text/csv".into(),
        size_bytes: bytes.len() as u64,
    };
    let artifact = Artifact::pending_upload(UserId::from(ALICE), team.clone(), file, None, w.clock.now());
    w.artifacts.create(&artifact).await.unwrap();
    w.blobs.put_bytes(&artifact.s3_key, bytes.to_vec(), "text/csv").await.unwrap();
    w.artifacts.mark_available(&artifact.id, None).await.unwrap();
    artifact.id
}

fn run_on(content: Vec<ArtifactId>, version: Option<u32>) -> PipelineRun {
    PipelineRun { content, version, ..PipelineRun::default() }
}

#[tokio::test]
async fn a_pipeline_starts_at_version_one_with_its_documents_stored_in_its_team() {
    let w = world();
    let service = w.pipeline_service();
    let (pipeline, version) = service.create(&actor(ALICE), named("  Orders  ", None, inline(CONTEXT))).await.unwrap();
    let team = TeamId::personal(&UserId::from(ALICE));
    assert_eq!((pipeline.name.as_str(), pipeline.current_version, &pipeline.team_id), ("Orders", 1, &team));
    assert_eq!(
        pipeline.read("helix-artifacts").inbox,
        format!("s3://helix-artifacts/inbox/{team}/{}/", pipeline.id),
        "the inbox is under the team and the pipeline"
    );
    assert_eq!((version.version, version.author.as_str()), (1, ALICE));
    let context = w.artifact(version.context_artifact_id.as_ref().unwrap()).await;
    assert_eq!((context.kind, &context.team_id, context.job_id.as_ref()), (ArtifactKind::Context, &team, None));
    assert_eq!(w.blobs.object(&context.s3_key).unwrap().body, CONTEXT.as_bytes());

    assert_eq!(service.get(&actor(ALICE), &pipeline.id).await.unwrap(), pipeline);
    assert_eq!(service.list(&actor(ALICE), None, false).await.unwrap(), std::slice::from_ref(&pipeline));
    let trail = w.audit.newest(&team, None, 10).await.unwrap();
    assert!(
        trail.iter().any(|e| e.action == "pipeline.create" && e.target == pipeline.id.as_str()),
        "the creation is in the team's audit trail"
    );
}

#[tokio::test]
async fn bad_definitions_are_refused_naming_the_field() {
    let w = world();
    let service = w.pipeline_service();
    let alice = actor(ALICE);
    let create = |name: &str, definition| service.create(&alice, named(name, None, definition));
    assert_invalid(create(" ", inline(CONTEXT)).await, "name", "1 to 100 characters");
    assert_invalid(create(&"n".repeat(101), inline(CONTEXT)).await, "name", "1 to 100 characters");
    assert_invalid(create("orders", inline("fields: [")).await, "context", "");
    let bad_schema = PipelineDefinition { schema: Some(text("schema", r#"{"type": 5}"#)), ..inline(CONTEXT) };
    assert_invalid(create("orders", bad_schema).await, "schema", "");
    let missing = PipelineDefinition {
        context: Some(artifact("context_artifact_id", &ArtifactId::from("nope"))),
        ..PipelineDefinition::default()
    };
    assert_invalid(create("orders", missing).await, "context_artifact_id", "does not exist");
    let lookups =
        PipelineDefinition { context: Some(text("context", LOOKUP_CONTEXT)), ..PipelineDefinition::default() };
    assert_invalid(create("orders", lookups).await, "lookup_artifact_ids", "plants.csv");
    let auto_map = PipelineDefinition {
        context: Some(text("context", CONTEXT)),
        options: Some(PipelineOptions { auto_map: true }),
        ..PipelineDefinition::default()
    };
    assert_invalid(create("orders", auto_map).await, "options.auto_map", "schema");
    assert!(service.list(&actor(ALICE), None, true).await.unwrap().is_empty(), "nothing was made");
}

#[tokio::test]
async fn every_save_is_a_new_immutable_version_that_keeps_what_it_leaves_out() {
    let w = world();
    let service = w.pipeline_service();
    let (pipeline, first) = service.create(&actor(ALICE), named("orders", None, inline(CONTEXT))).await.unwrap();
    let changed =
        PipelineDefinition { context: Some(text("context", CHANGED_CONTEXT)), ..PipelineDefinition::default() };
    let second = service.save_version(&actor(ALICE), &pipeline.id, changed).await.unwrap();
    assert_eq!(second.version, 2);
    assert_ne!(second.context_artifact_id, first.context_artifact_id, "the new context is stored");
    assert_eq!(second.schema_artifact_id, first.schema_artifact_id, "the schema is kept");
    assert_eq!(service.get(&actor(ALICE), &pipeline.id).await.unwrap().current_version, 2);
    assert_eq!(service.version(&actor(ALICE), &pipeline.id, 1).await.unwrap(), first, "version 1 is unchanged");
    assert_eq!(service.versions(&actor(ALICE), &pipeline.id).await.unwrap(), [first.clone(), second.clone()]);
    assert_not_found(service.version(&actor(ALICE), &pipeline.id, 3).await);
    assert_not_found(service.version(&actor(ALICE), &pipeline.id, 0).await);

    // A bad save makes no version.
    let bad = PipelineDefinition { context: Some(text("context", "fields: [")), ..PipelineDefinition::default() };
    assert_invalid(service.save_version(&actor(ALICE), &pipeline.id, bad).await, "context", "");
    assert_eq!(service.get(&actor(ALICE), &pipeline.id).await.unwrap().current_version, 2);

    let renamed = service.rename(&actor(ALICE), &pipeline.id, "Orders EU").await.unwrap();
    assert_eq!((renamed.name.as_str(), renamed.current_version), ("Orders EU", 2));
    assert_invalid(service.rename(&actor(ALICE), &pipeline.id, "").await, "name", "");
}

#[tokio::test]
async fn two_saves_from_the_same_version_cannot_both_land() {
    let w = world();
    let service = w.pipeline_service();
    let (pipeline, first) = service.create(&actor(ALICE), named("orders", None, inline(CONTEXT))).await.unwrap();
    let rival = helix_domain::PipelineVersion { version: 2, ..first.clone() };
    w.pipelines.add_version(&rival, w.clock.now()).await.unwrap();
    let late = helix_domain::PipelineVersion { version: 2, author: UserId::from(BOB), ..first };
    assert!(matches!(w.pipelines.add_version(&late, w.clock.now()).await, Err(helix_domain::StoreError::Conflict(_))));
    assert_eq!(w.pipelines.version(&pipeline.id, 2).await.unwrap().unwrap().author.as_str(), ALICE);
}

#[tokio::test]
async fn versions_compare_as_unified_diffs() {
    let w = world();
    let service = w.pipeline_service();
    let (pipeline, _) = service.create(&actor(ALICE), named("orders", None, inline(CONTEXT))).await.unwrap();
    let changed =
        PipelineDefinition { context: Some(text("context", CHANGED_CONTEXT)), ..PipelineDefinition::default() };
    service.save_version(&actor(ALICE), &pipeline.id, changed).await.unwrap();
    let diff = service.diff(&actor(ALICE), &pipeline.id, 1, 2).await.unwrap();
    assert!(diff.context.starts_with("--- context v1\n+++ context v2\n"), "{}", diff.context);
    assert!(diff.context.contains("-  qty: \"{{ qty }}\"\n+  qty: \"{{ qty | int }}\"\n"), "{}", diff.context);
    assert_eq!(diff.schema, "", "the schema did not change");
    assert!(!diff.lookups_changed && !diff.options_changed);
    let back = service.diff(&actor(ALICE), &pipeline.id, 2, 1).await.unwrap();
    assert!(back.context.contains("-  qty: \"{{ qty | int }}\"\n+  qty: \"{{ qty }}\"\n"), "{}", back.context);
    assert_not_found(service.diff(&actor(ALICE), &pipeline.id, 1, 7).await);
}

#[tokio::test]
async fn a_run_is_a_job_that_names_its_pipeline_and_version_and_completes() {
    let w = world();
    let service = w.pipeline_service();
    let (pipeline, _) = service.create(&actor(ALICE), named("orders", None, inline(CONTEXT))).await.unwrap();
    let changed =
        PipelineDefinition { context: Some(text("context", NDJSON_CONTEXT)), ..PipelineDefinition::default() };
    service.save_version(&actor(ALICE), &pipeline.id, changed).await.unwrap();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;

    let current = service.run(&actor(ALICE), &pipeline.id, run_on(vec![content.clone()], None)).await.unwrap();
    assert_eq!((current.pipeline_id.as_ref(), current.pipeline_version), (Some(&pipeline.id), Some(2)));
    assert_eq!((current.name.as_deref(), current.status), (Some("orders v2"), JobStatus::Pending));
    w.clock.advance(std::time::Duration::from_secs(1));
    let older = service.run(&actor(ALICE), &pipeline.id, run_on(vec![content.clone()], Some(1))).await.unwrap();
    assert_eq!(older.pipeline_version, Some(1));
    let v1 = service.version(&actor(ALICE), &pipeline.id, 1).await.unwrap();
    assert_eq!(older.inputs.context_artifact_id, v1.context_artifact_id, "the run reads version 1's context");
    assert_eq!(w.job_queue.take().len(), 2);

    let runner = w.runner();
    for job in [&current, &older] {
        runner.run(&body(&job.id), 1).await;
        assert_eq!(w.job(&job.id).await.status, JobStatus::Completed);
    }
    let runs = service.runs(&actor(ALICE), &pipeline.id, None, None).await.unwrap();
    let ids: Vec<_> = runs.jobs.iter().map(|j| j.id.clone()).collect();
    assert_eq!(ids, [older.id.clone(), current.id.clone()], "newest first");
    let first_page = service.runs(&actor(ALICE), &pipeline.id, Some(1), None).await.unwrap();
    let cursor = first_page.next_cursor.expect("a second page");
    let second_page = service.runs(&actor(ALICE), &pipeline.id, Some(1), Some(&cursor)).await.unwrap();
    assert_eq!(second_page.jobs[0].id, current.id);
    assert!(matches!(service.runs(&actor(ALICE), &pipeline.id, Some(0), None).await, Err(JobError::Malformed { .. })));

    // A job submitted on its own is no run of the pipeline.
    w.submitted(CONTEXT, CSV).await;
    assert_eq!(service.runs(&actor(ALICE), &pipeline.id, None, None).await.unwrap().jobs.len(), 2);
}

#[tokio::test]
async fn bad_runs_are_refused() {
    let w = world();
    let service = w.pipeline_service();
    let (pipeline, _) = service.create(&actor(ALICE), named("orders", None, inline(CONTEXT))).await.unwrap();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    assert_invalid(
        service.run(&actor(ALICE), &pipeline.id, run_on(vec![content.clone()], Some(2))).await,
        "version",
        "versions 1 to 1",
    );
    assert_invalid(service.run(&actor(ALICE), &pipeline.id, run_on(vec![], None)).await, "content_artifact_ids", "");
    let missing = ArtifactId::from("nope");
    assert_invalid(
        service.run(&actor(ALICE), &pipeline.id, run_on(vec![missing], None)).await,
        "content_artifact_ids[0]",
        "does not exist",
    );

    let archived = service.archive(&actor(ALICE), &pipeline.id).await.unwrap();
    assert!(archived.archived_at.is_some());
    assert_eq!(
        service.archive(&actor(ALICE), &pipeline.id).await.unwrap(),
        archived,
        "archiving again changes nothing"
    );
    assert_conflict(service.run(&actor(ALICE), &pipeline.id, run_on(vec![content], None)).await);
    assert_conflict(service.save_version(&actor(ALICE), &pipeline.id, inline(CONTEXT)).await);
    assert_conflict(service.rename(&actor(ALICE), &pipeline.id, "again").await);
    assert!(service.list(&actor(ALICE), None, false).await.unwrap().is_empty(), "archived pipelines are not listed");
    assert_eq!(service.list(&actor(ALICE), None, true).await.unwrap(), std::slice::from_ref(&archived));
    assert_eq!(service.get(&actor(ALICE), &pipeline.id).await.unwrap(), archived, "but still read");
    assert!(w.jobs.all().is_empty());
}

#[tokio::test]
async fn outsiders_learn_nothing_and_viewers_change_nothing() {
    let w = world();
    let team = team_with_bob(&w, Role::Viewer).await;
    let service = w.pipeline_service();
    let (pipeline, _) =
        service.create(&actor(ALICE), named("orders", Some(team.clone()), inline(CONTEXT))).await.unwrap();
    let content = upload_into(&w, &team, "orders.csv", CSV.as_bytes()).await;
    let id = &pipeline.id;

    // Carol is in no team of Alice's.
    let carol = actor("carol");
    assert_not_found(service.get(&carol, id).await);
    assert_not_found(service.versions(&carol, id).await);
    assert_not_found(service.version(&carol, id, 1).await);
    assert_not_found(service.diff(&carol, id, 1, 1).await);
    assert_not_found(service.runs(&carol, id, None, None).await);
    assert_not_found(service.run(&carol, id, run_on(vec![content.clone()], None)).await);
    assert_not_found(service.save_version(&carol, id, inline(CONTEXT)).await);
    assert_not_found(service.rename(&carol, id, "mine").await);
    assert_not_found(service.archive(&carol, id).await);
    assert_not_found(service.list(&carol, Some(team.clone()), false).await);
    assert_not_found(service.create(&carol, named("x", Some(team.clone()), inline(CONTEXT))).await);
    assert_not_found(service.get(&actor(ALICE), &PipelineId::from("unknown")).await);

    // Bob, a viewer, reads and compares but changes and runs nothing.
    let bob = actor(BOB);
    assert_eq!(service.get(&bob, id).await.unwrap(), pipeline);
    assert_eq!(service.list(&bob, Some(team.clone()), false).await.unwrap().len(), 1);
    service.diff(&bob, id, 1, 1).await.unwrap();
    assert_forbidden(service.create(&bob, named("x", Some(team.clone()), inline(CONTEXT))).await);
    assert_forbidden(service.save_version(&bob, id, inline(CONTEXT)).await);
    assert_forbidden(service.rename(&bob, id, "mine").await);
    assert_forbidden(service.archive(&bob, id).await);
    assert_forbidden(service.run(&bob, id, run_on(vec![content.clone()], None)).await);
    let refused: Vec<_> = w
        .audit
        .newest(&team, None, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.outcome == AuditOutcome::Refused && e.actor.as_str() == BOB)
        .map(|e| e.action)
        .collect();
    assert!(refused.contains(&"pipeline.version".to_owned()) && refused.contains(&"pipeline.archive".to_owned()));

    // As a member, Bob runs and saves.
    w.team_service().change_role(&actor(ALICE), &team, &UserId::from(BOB), Role::Member).await.unwrap();
    let job = service.run(&bob, id, run_on(vec![content], None)).await.unwrap();
    assert_eq!((&job.team_id, job.owner_id.as_str()), (&team, BOB));
    assert_eq!(service.save_version(&bob, id, inline(CHANGED_CONTEXT)).await.unwrap().author.as_str(), BOB);
}

#[tokio::test]
async fn a_key_runs_its_teams_pipelines_but_does_not_edit_them() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    let service = w.pipeline_service();
    let (pipeline, _) =
        service.create(&actor(ALICE), named("orders", Some(team.clone()), inline(CONTEXT))).await.unwrap();
    let content = upload_into(&w, &team, "orders.csv", CSV.as_bytes()).await;
    let request = KeyRequest {
        name: "ci".into(),
        scopes: vec!["jobs:read".into(), "jobs:write".into()],
        expires_at: None,
        pipeline_id: None,
    };
    let key = w.key_service().create(&actor(ALICE), &team, request).await.unwrap();
    let key = w.key_service().authenticate(&key.secret).await.unwrap().unwrap();

    let job = service.run(&key, &pipeline.id, run_on(vec![content], None)).await.unwrap();
    assert_eq!(job.pipeline_id.as_ref(), Some(&pipeline.id));
    assert_eq!(service.runs(&key, &pipeline.id, None, None).await.unwrap().jobs.len(), 1);
    assert_forbidden(service.save_version(&key, &pipeline.id, inline(CHANGED_CONTEXT)).await);
    assert_forbidden(service.create(&key, named("x", None, inline(CONTEXT))).await);
}

#[tokio::test]
async fn a_version_is_tried_on_a_finished_runs_input_and_the_outputs_compared() {
    let w = world();
    let service = w.pipeline_service();
    let (pipeline, _) = service.create(&actor(ALICE), named("orders", None, inline(CONTEXT))).await.unwrap();
    let upper = "fields:\n  id: \"{{ id | upper }}\"\n  qty: \"{{ qty }}\"\n";
    service.save_version(&actor(ALICE), &pipeline.id, inline(upper)).await.unwrap();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let baseline = service.run(&actor(ALICE), &pipeline.id, run_on(vec![content], Some(1))).await.unwrap();

    // Only a COMPLETED run of the team can be compared with.
    let early = service.compare(&actor(ALICE), &pipeline.id, 2, &baseline.id).await;
    assert_invalid(early, "job_id", "PENDING");
    let runner = w.runner();
    runner.run(&body(&baseline.id), 1).await;
    assert_invalid(service.compare(&actor(ALICE), &pipeline.id, 2, &"nope".into()).await, "job_id", "does not exist");
    assert_not_found(service.compare(&actor(ALICE), &pipeline.id, 3, &baseline.id).await);
    assert_not_found(service.compare(&actor(BOB), &pipeline.id, 2, &baseline.id).await);

    let started = service.compare(&actor(ALICE), &pipeline.id, 2, &baseline.id).await.unwrap();
    let candidate = started.candidate.clone();
    assert_eq!(
        (candidate.pipeline_version, &candidate.inputs.content_artifact_ids),
        (Some(2), &baseline.inputs.content_artifact_ids)
    );
    let pending = service.comparison(&actor(ALICE), &pipeline.id, &candidate.id).await.unwrap();
    assert!(pending.difference.is_none(), "nothing to compare before the candidate completes");

    runner.run(&body(&candidate.id), 1).await;
    let done = service.comparison(&actor(ALICE), &pipeline.id, &candidate.id).await.unwrap();
    let (records, fields) = done.difference.expect("both runs completed");
    // Records a and b change their id; c is rejected by both (a negative quantity).
    assert_eq!((records.changed, records.unchanged, records.added, records.removed), (2, 0, 0, 0));
    assert_eq!(records.aligned_by, "input_record");
    assert_eq!((fields.len(), fields[0].field.as_str(), fields[0].changed), (1, "id", 2));
    assert_eq!(fields[0].examples[0].before, Some(serde_json::json!("a")));
    assert_eq!(fields[0].examples[0].after, Some(serde_json::json!("A")));

    assert_not_found(service.comparison(&actor(ALICE), &pipeline.id, &baseline.id).await);
    assert_not_found(service.comparison(&actor(BOB), &pipeline.id, &candidate.id).await);
}
