//! Event-triggered runs: a file created in a pipeline's inbox starts exactly one run (by bucket,
//! key and ETag), then moves to `processed/`; a name no pattern matches is recorded and ignored;
//! a file no run can be made of moves to `failed/`.

use helix_domain::{AuditLog, AuditOutcome, Blobs, JobStore, Pipeline, TeamId};
use helix_jobs::{Actor, DropRequest, JobError, KeyRequest, NewPipeline, PipelineDefinition};
use serde_json::json;

use crate::support::*;

const BUCKET: &str = "helix-artifacts";

/// An `ObjectCreated:Put` event of `key` with `etag`, as S3 sends it through SQS; `at` tells
/// two events of the same object apart (S3's `eventTime`).
fn put_event(key: &str, etag: &str, at: &str) -> String {
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventTime": at,
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": 1, "eTag": etag}}
    }]})
    .to_string()
}

async fn deliver(w: &World, id: &str, body: &str) -> Vec<String> {
    let response = w.watcher().handle(event(vec![message(id, body, 1)])).await;
    response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect()
}

async fn orders_pipeline(w: &World, patterns: &[&str]) -> Pipeline {
    let definition = PipelineDefinition {
        context: Some(text("context", CONTEXT)),
        schema: Some(text("schema", SCHEMA)),
        ..PipelineDefinition::default()
    };
    let request = NewPipeline {
        name: "orders".into(),
        definition,
        patterns: patterns.iter().map(|p| p.to_string()).collect(),
        ..NewPipeline::default()
    };
    w.pipeline_service().create(&actor(ALICE), request).await.unwrap().0
}

/// Drops `bytes` into the pipeline's inbox as `filename`; returns the key.
async fn drop_file(w: &World, pipeline: &Pipeline, filename: &str, bytes: &str) -> String {
    let key = format!("{}{filename}", pipeline.inbox_prefix());
    w.blobs.put_bytes(&key, bytes.as_bytes().to_vec(), "text/csv").await.unwrap();
    key
}

async fn actions(w: &World, team: &TeamId) -> Vec<(String, String, AuditOutcome)> {
    let entries = w.audit.newest(team, None, 100).await.unwrap();
    entries.into_iter().rev().map(|e| (e.action, e.target, e.outcome)).collect()
}

async fn runs(w: &World, pipeline: &Pipeline) -> Vec<helix_domain::Job> {
    w.jobs.runs(&pipeline.id, 100, None).await.unwrap().jobs
}

#[tokio::test]
async fn a_matching_file_starts_one_run_of_the_current_version_and_moves_to_processed() {
    let w = world();
    let pipeline = orders_pipeline(&w, &["ORDERS_*.csv"]).await;
    let key = drop_file(&w, &pipeline, "ORDERS_1.csv", CSV).await;

    assert!(deliver(&w, "m-1", &put_event(&key, "e1", "t1")).await.is_empty());

    let runs = runs(&w, &pipeline).await;
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!((run.pipeline_id.as_ref(), run.pipeline_version), (Some(&pipeline.id), Some(1)));
    assert_eq!(run.team_id, pipeline.team_id);
    assert_eq!(w.job_queue.take().len(), 1);
    // The job reads a content artifact of the team: the file's bytes, under its name.
    let content = w.artifact(&run.inputs.content_artifact_ids[0]).await;
    assert_eq!((content.filename.as_str(), content.team_id.clone()), ("ORDERS_1.csv", pipeline.team_id.clone()));
    assert_eq!(content.status, helix_domain::ArtifactStatus::Available);
    assert_eq!(w.blobs.get_bytes(&content.s3_key, 1 << 20).await.unwrap(), CSV.as_bytes());
    // The inbox holds what is still to do: nothing.
    let processed = format!("processed/{}/{}/{}/ORDERS_1.csv", pipeline.team_id, pipeline.id, run.id);
    assert!(w.blobs.head(&key).await.unwrap().is_none());
    assert_eq!(w.blobs.get_bytes(&processed, 1 << 20).await.unwrap(), CSV.as_bytes());
}

#[tokio::test]
async fn a_duplicate_event_and_the_same_bytes_again_start_nothing_new_bytes_start_a_run() {
    let w = world();
    let pipeline = orders_pipeline(&w, &[]).await;
    let key = drop_file(&w, &pipeline, "orders.csv", CSV).await;
    assert!(deliver(&w, "m-1", &put_event(&key, "e1", "t1")).await.is_empty());
    assert_eq!(runs(&w, &pipeline).await.len(), 1);

    // The same event again (another message: S3 delivers at least once).
    assert!(deliver(&w, "m-2", &put_event(&key, "e1", "t1b")).await.is_empty());
    assert_eq!(runs(&w, &pipeline).await.len(), 1);

    // The same bytes dropped again: no run, and the copy leaves the inbox, recorded.
    drop_file(&w, &pipeline, "orders.csv", CSV).await;
    assert!(deliver(&w, "m-3", &put_event(&key, "e1", "t2")).await.is_empty());
    assert_eq!(runs(&w, &pipeline).await.len(), 1);
    assert!(w.blobs.head(&key).await.unwrap().is_none());
    let recorded = actions(&w, &pipeline.team_id).await;
    assert!(recorded.contains(&("pipeline.inbox_duplicate".into(), key.clone(), AuditOutcome::Success)));

    // New bytes under the same key: a new run.
    drop_file(&w, &pipeline, "orders.csv", "id,qty\nd,4\n").await;
    assert!(deliver(&w, "m-4", &put_event(&key, "e2", "t3")).await.is_empty());
    assert_eq!(runs(&w, &pipeline).await.len(), 2);
    assert_eq!(w.job_queue.take().len(), 2);
}

#[tokio::test]
async fn a_file_no_pattern_matches_is_recorded_and_left_alone() {
    let w = world();
    let pipeline = orders_pipeline(&w, &["ORDERS_*.csv", "orders-?.csv"]).await;
    let key = drop_file(&w, &pipeline, "invoices.csv", CSV).await;

    assert!(deliver(&w, "m-1", &put_event(&key, "e1", "t1")).await.is_empty());

    assert!(runs(&w, &pipeline).await.is_empty());
    assert!(w.blobs.head(&key).await.unwrap().is_some());
    let recorded = actions(&w, &pipeline.team_id).await;
    assert_eq!(recorded.last().unwrap(), &("pipeline.inbox_ignore".into(), key, AuditOutcome::Success));
}

#[tokio::test]
async fn a_file_no_run_can_be_made_of_moves_to_failed() {
    let w = world();
    let pipeline = orders_pipeline(&w, &[]).await;
    w.pipeline_service().archive(&actor(ALICE), &pipeline.id).await.unwrap();
    let key = drop_file(&w, &pipeline, "orders.csv", CSV).await;

    assert!(deliver(&w, "m-1", &put_event(&key, "e1", "t1")).await.is_empty());

    assert!(runs(&w, &pipeline).await.is_empty());
    assert!(w.blobs.head(&key).await.unwrap().is_none());
    let failed_prefix = format!("failed/{}/{}/", pipeline.team_id, pipeline.id);
    let failed: Vec<String> = w.blobs.keys().into_iter().filter(|k| k.starts_with(&failed_prefix)).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].ends_with("/orders.csv"));
    let recorded = actions(&w, &pipeline.team_id).await;
    assert!(recorded.contains(&("pipeline.inbox_refuse".into(), key, AuditOutcome::Failed)));
}

#[tokio::test]
async fn files_outside_a_pipelines_inbox_start_nothing() {
    let w = world();
    let pipeline = orders_pipeline(&w, &[]).await;
    let nested = drop_file(&w, &pipeline, "sub/orders.csv", CSV).await;
    let foreign = format!("inbox/{}/{}/orders.csv", TeamId::from("other-team"), pipeline.id);
    w.blobs.put_bytes(&foreign, CSV.as_bytes().to_vec(), "text/csv").await.unwrap();

    assert!(deliver(&w, "m-1", &put_event(&nested, "e1", "t1")).await.is_empty());
    assert!(deliver(&w, "m-2", &put_event(&foreign, "e1", "t1")).await.is_empty());

    assert!(runs(&w, &pipeline).await.is_empty());
    assert!(w.blobs.head(&nested).await.unwrap().is_some());
}

#[tokio::test]
async fn a_store_outage_is_retried_and_the_retry_starts_the_run() {
    let w = world();
    let pipeline = orders_pipeline(&w, &[]).await;
    let key = drop_file(&w, &pipeline, "orders.csv", CSV).await;
    let body = put_event(&key, "e1", "t1");

    w.blobs.outage.set(true);
    assert_eq!(deliver(&w, "m-1", &body).await, vec!["m-1".to_owned()]);
    w.blobs.outage.set(false);
    assert!(runs(&w, &pipeline).await.is_empty());

    assert!(deliver(&w, "m-1", &body).await.is_empty());
    assert_eq!(runs(&w, &pipeline).await.len(), 1);
}

#[tokio::test]
async fn patterns_are_checked_when_set() {
    let w = world();
    let service = w.pipeline_service();
    let request =
        NewPipeline { name: "orders".into(), patterns: vec!["ok*.csv".into(), "[".into()], ..NewPipeline::default() };
    assert_invalid(service.create(&actor(ALICE), request).await, "patterns[1]", "glob");
    let pipeline = orders_pipeline(&w, &[]).await;
    assert_invalid(service.set_patterns(&actor(ALICE), &pipeline.id, vec!["a/b".into()]).await, "patterns[0]", "/");
    let updated = service.set_patterns(&actor(ALICE), &pipeline.id, vec!["ORDERS_*.csv".into()]).await.unwrap();
    assert_eq!(updated.patterns, vec!["ORDERS_*.csv".to_owned()]);
    assert_eq!(service.get(&actor(ALICE), &pipeline.id).await.unwrap().patterns, updated.patterns);
}

fn drop_of(filename: &str, size_bytes: u64) -> DropRequest {
    DropRequest { filename: filename.into(), content_type: "text/csv".into(), size_bytes }
}

async fn drop_credential(w: &World, pipeline: &Pipeline) -> Actor {
    let request = KeyRequest {
        name: "partner".into(),
        scopes: vec!["pipelines:run".into()],
        pipeline_id: Some(pipeline.id.clone()),
        ..KeyRequest::default()
    };
    let new = w.key_service().create(&actor(ALICE), &pipeline.team_id, request).await.unwrap();
    w.key_service().authenticate(&new.secret).await.unwrap().expect("an active key")
}

#[tokio::test]
async fn a_drop_credential_gets_upload_urls_into_its_pipelines_inbox_only() {
    let w = world();
    let service = w.pipeline_service();
    let pipeline = orders_pipeline(&w, &["ORDERS_*.csv"]).await;
    let other = orders_pipeline(&w, &[]).await;
    let partner = drop_credential(&w, &pipeline).await;

    let ticket = service.drop_ticket(&partner, &pipeline.id, drop_of("ORDERS_7.csv", 20)).await.unwrap();
    assert_eq!(ticket.key, format!("{}ORDERS_7.csv", pipeline.inbox_prefix()));
    assert_eq!(ticket.upload.method, "PUT");
    let recorded = actions(&w, &pipeline.team_id).await;
    assert_eq!(recorded.last().unwrap(), &("pipeline.drop".into(), pipeline.id.to_string(), AuditOutcome::Success));
    // Another pipeline of the same team is unknown to it; so are the team's jobs and uploads.
    let refused = service.drop_ticket(&partner, &other.id, drop_of("orders.csv", 20)).await;
    assert!(matches!(refused, Err(JobError::NotFound(_))), "{refused:?}");
    assert!(matches!(service.runs(&partner, &pipeline.id, None, None).await, Err(JobError::Forbidden(_))));
    // A person of the team may drop too.
    assert!(service.drop_ticket(&actor(ALICE), &other.id, drop_of("any.csv", 20)).await.is_ok());
    assert!(matches!(
        service.drop_ticket(&actor(BOB), &pipeline.id, drop_of("ORDERS_7.csv", 20)).await,
        Err(JobError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_drop_names_what_is_wrong_with_the_file() {
    let w = world();
    let service = w.pipeline_service();
    let pipeline = orders_pipeline(&w, &["ORDERS_*.csv"]).await;
    let partner = drop_credential(&w, &pipeline).await;
    let ticket = |file: DropRequest| service.drop_ticket(&partner, &pipeline.id, file);

    assert_invalid(ticket(drop_of("invoices.csv", 20)).await, "filename", "would be ignored");
    assert_invalid(ticket(drop_of("sub/ORDERS_1.csv", 20)).await, "filename", "'/'");
    assert_invalid(ticket(drop_of("", 20)).await, "filename", "empty");
    assert_invalid(ticket(drop_of("ORDERS_1.csv", 0)).await, "size_bytes", "empty");
    let too_large = ticket(drop_of("ORDERS_1.csv", MAX_UPLOAD_BYTES + 1)).await;
    assert!(matches!(&too_large, Err(JobError::TooLarge { field, .. }) if field == "size_bytes"), "{too_large:?}");
    let typed = DropRequest { content_type: "csv".into(), ..drop_of("ORDERS_1.csv", 20) };
    assert_invalid(ticket(typed).await, "content_type", "media type");
}

#[tokio::test]
async fn a_run_that_fails_later_moves_its_file_from_processed_to_failed() {
    use helix_jobs::JobEvents;
    let w = world();
    let pipeline = orders_pipeline(&w, &[]).await;
    let moves =
        std::sync::Arc::new(helix_jobs::FailedInboxRuns { artifacts: w.artifacts.clone(), blobs: w.blobs.clone() });
    let runner = w.runner().with_events(moves.clone());
    let folder = |root: &str, run: &helix_domain::Job, name: &str| {
        format!("{root}/{}/{}/{}/{name}", pipeline.team_id, pipeline.id, run.id)
    };

    // A header without the columns the context reads: the run is made, then fails.
    let bad = drop_file(&w, &pipeline, "ORDERS_9.csv", "x,y\n1,2\n").await;
    assert!(deliver(&w, "m-1", &put_event(&bad, "e9", "t1")).await.is_empty());
    let good = drop_file(&w, &pipeline, "ORDERS_1.csv", CSV).await;
    assert!(deliver(&w, "m-2", &put_event(&good, "e1", "t2")).await.is_empty());
    let all = runs(&w, &pipeline).await;
    let failing = all.iter().find(|r| r.name.as_deref().is_some_and(|n| n.ends_with("ORDERS_9.csv"))).unwrap();
    let passing = all.iter().find(|r| r.name.as_deref().is_some_and(|n| n.ends_with("ORDERS_1.csv"))).unwrap();
    for run in [failing, passing] {
        runner.run(&body(&run.id), 1).await;
    }
    assert_eq!(w.job(&failing.id).await.status, helix_domain::JobStatus::Failed);
    assert_eq!(w.job(&passing.id).await.status, helix_domain::JobStatus::Completed);

    assert!(w.blobs.head(&folder("processed", failing, "ORDERS_9.csv")).await.unwrap().is_none());
    assert!(w.blobs.head(&folder("failed", failing, "ORDERS_9.csv")).await.unwrap().is_some());
    assert!(
        w.blobs.head(&folder("processed", passing, "ORDERS_1.csv")).await.unwrap().is_some(),
        "a completed run's file stays"
    );
    // Reported again (a redelivered message): the file is where it was.
    moves.finished(&w.job(&failing.id).await).await.unwrap();
    assert!(w.blobs.head(&folder("failed", failing, "ORDERS_9.csv")).await.unwrap().is_some());
}

#[tokio::test]
async fn a_file_for_a_chained_version_starts_a_chained_run_and_moves_under_its_id() {
    let w = world();
    let step = |name: &str, after: &[&str]| helix_jobs::StepDefinition {
        name: name.into(),
        context: Some(text(&format!("steps[{name}].context"), CONTEXT)),
        schema: Some(text(&format!("steps[{name}].schema"), SCHEMA)),
        lookups: Some(Vec::new()),
        after: after.iter().map(|s| (*s).to_owned()).collect(),
    };
    let definition = PipelineDefinition { steps: Some(vec![step("a", &[]), step("b", &["a"])]), ..Default::default() };
    let request = NewPipeline { name: "chain".into(), definition, ..NewPipeline::default() };
    let pipeline = w.pipeline_service().create(&actor(ALICE), request).await.unwrap().0;
    let key = drop_file(&w, &pipeline, "ORDERS_1.csv", CSV).await;

    assert!(deliver(&w, "m-1", &put_event(&key, "e1", "t1")).await.is_empty());

    assert!(runs(&w, &pipeline).await.iter().all(|job| job.id.as_str().contains(".a.")), "only step a's job");
    let queued = w.job_queue.take();
    assert_eq!(queued.len(), 1, "the first step submitted");
    let processed = w.blobs.list(&format!("processed/{}/{}/", pipeline.team_id, pipeline.id), 10).await.unwrap();
    assert_eq!(processed.len(), 1);
    let run_id = processed[0].key.split('/').nth(3).unwrap().to_owned();
    assert!(processed[0].key.ends_with("/ORDERS_1.csv") && w.blobs.head(&key).await.unwrap().is_none());
    let run = w.pipeline_service().chain_run(&actor(ALICE), &pipeline.id, &run_id.as_str().into()).await.unwrap();
    assert_eq!((run.pipeline_version, run.created_by.as_str()), (1, format!("inbox-{}", pipeline.id).as_str()));
    assert_eq!(queued[0].job_id, run.job_of(run.step("a").unwrap()));

    // The same event again starts nothing.
    assert!(deliver(&w, "m-2", &put_event(&key, "e1", "t2")).await.is_empty());
    assert!(w.job_queue.take().is_empty());
}
