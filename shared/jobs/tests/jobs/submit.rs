//! JobService: submission rules, queues, reads and listings.

use std::time::Duration;

use helix_domain::{ArtifactKind, ArtifactStatus, JobId, JobKind, JobStatus, JobStore};
use helix_jobs::{InlineFile, Input, InputSource, JobError, JobQuery, JobRequest, MAX_DOCUMENT_BYTES};

use crate::support::*;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn file(filename: &str, bytes: &[u8]) -> InlineFile {
    InlineFile {
        kind: ArtifactKind::Content,
        filename: filename.into(),
        content_type: "text/csv".into(),
        bytes: bytes.to_vec(),
    }
}

fn inline(field: &str, filename: &str, bytes: &[u8]) -> Input {
    Input::new(field, InputSource::File(file(filename, bytes)))
}

#[tokio::test]
async fn a_transform_job_is_recorded_pending_and_queued_for_the_job_worker() {
    let w = world();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let request = JobRequest {
        name: Some("  nightly orders  ".into()),
        traceparent: Some(TRACEPARENT.into()),
        ..transform(vec![content.clone()])
    };
    let job = w.service().submit(&actor(ALICE), request).await.unwrap();

    assert_eq!((job.status, job.kind, job.attempts), (JobStatus::Pending, JobKind::Transform, 0));
    assert_eq!(job.name.as_deref(), Some("nightly orders"));
    assert_eq!(job.owner_id, ALICE);
    assert_eq!(job.inputs.content_artifact_ids, [content]);
    assert_eq!(job.created_at, start());
    assert!(job.started_at.is_none() && job.lease_expires_at.is_none());
    assert_eq!(w.job(&job.id).await, job);

    let sent = w.job_queue.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].job_id, job.id);
    assert_eq!(sent[0].traceparent.as_deref(), Some(TRACEPARENT));
    assert!(w.gpu_queue.take().is_empty());
}

#[tokio::test]
async fn auto_map_and_suggest_mapping_jobs_go_to_the_gpu_queue() {
    let w = world();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let service = w.service();

    let request = JobRequest {
        auto_map: true,
        context: Some(text("context", CONTEXT)),
        schema: Some(text("schema", SCHEMA)),
        ..transform(vec![content.clone()])
    };
    let auto_mapped = service.submit(&actor(ALICE), request).await.unwrap();
    assert!(auto_mapped.auto_map);
    assert_eq!(auto_mapped.kind, JobKind::Transform);

    let request = JobRequest { kind: JobKind::SuggestMapping, ..transform(vec![content]) };
    let suggestion = service.submit(&actor(ALICE), request).await.unwrap();
    assert_eq!((suggestion.kind, suggestion.status), (JobKind::SuggestMapping, JobStatus::Pending));

    let sent: Vec<JobId> = w.gpu_queue.take().into_iter().map(|m| m.job_id).collect();
    assert_eq!(sent, [auto_mapped.id, suggestion.id]);
    assert!(w.job_queue.take().is_empty());
}

#[tokio::test]
async fn content_is_required_and_at_most_twenty_files() {
    let w = world();
    let service = w.service();
    let request = JobRequest { content_field: "files", ..transform(Vec::new()) };
    assert_invalid(service.submit(&actor(ALICE), request).await, "files", "at least one");

    let mut ids = Vec::new();
    for i in 0..21 {
        ids.push(w.upload(ALICE, ArtifactKind::Content, &format!("part{i}.csv"), CSV.as_bytes()).await);
    }
    assert_invalid(service.submit(&actor(ALICE), transform(ids.clone())).await, "content_artifact_ids", "at most 20");
    ids.pop();
    service.submit(&actor(ALICE), transform(ids)).await.expect("twenty files are allowed");
    assert_eq!(w.jobs.all().len(), 1);
}

#[tokio::test]
async fn content_refusals_name_the_listed_artifact() {
    let w = world();
    let service = w.service();
    let mine = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let bobs = w.upload(BOB, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let pending = w.register(ALICE, ArtifactKind::Content, "later.csv", 10).await.id;
    let context = w.upload(ALICE, ArtifactKind::Context, "context.yaml", CONTEXT.as_bytes()).await;

    let twice = transform(vec![mine.clone(), mine.clone()]);
    assert_invalid(service.submit(&actor(ALICE), twice).await, "content_artifact_ids[1]", "listed twice");
    // Someone else's artifact reads exactly as one that does not exist.
    let foreign = transform(vec![mine.clone(), bobs.clone()]);
    assert_invalid(service.submit(&actor(ALICE), foreign).await, "content_artifact_ids[1]", "does not exist");
    let unknown = transform(vec!["no-such-artifact".into()]);
    assert_invalid(service.submit(&actor(ALICE), unknown).await, "content_artifact_ids[0]", "does not exist");
    let not_uploaded = transform(vec![pending]);
    assert_invalid(service.submit(&actor(ALICE), not_uploaded).await, "content_artifact_ids[0]", "not AVAILABLE");
    let wrong_kind = transform(vec![mine, context]);
    assert_invalid(service.submit(&actor(ALICE), wrong_kind).await, "content_artifact_ids[1]", "not Content");

    assert!(w.jobs.all().is_empty());
    assert!(w.job_queue.take().is_empty());
}

#[tokio::test]
async fn suggest_mapping_and_auto_map_refusals() {
    let w = world();
    let service = w.service();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let alice = actor(ALICE);
    let submit = |request: JobRequest| service.submit(&alice, request);

    let request = JobRequest {
        kind: JobKind::SuggestMapping,
        context: Some(text("context", CONTEXT)),
        ..transform(vec![content.clone()])
    };
    assert_invalid(submit(request).await, "context", "proposes the context");

    let request =
        JobRequest { auto_map: true, context: Some(text("context", CONTEXT)), ..transform(vec![content.clone()]) };
    assert_invalid(submit(request).await, "auto_map", "schema");
    let request =
        JobRequest { auto_map: true, schema: Some(text("schema", SCHEMA)), ..transform(vec![content.clone()]) };
    assert_invalid(submit(request).await, "auto_map", "needs a context");
    let request = JobRequest {
        kind: JobKind::SuggestMapping,
        auto_map: true,
        schema: Some(text("schema", SCHEMA)),
        ..transform(vec![content])
    };
    assert_invalid(submit(request).await, "auto_map", "transform jobs");
    assert!(w.jobs.all().is_empty());
}

#[tokio::test]
async fn invalid_documents_are_refused_on_their_field() {
    let w = world();
    let service = w.service();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let alice = actor(ALICE);
    let submit = |context: Option<Input>, schema: Option<Input>| {
        service.submit(&alice, JobRequest { context, schema, ..transform(vec![content.clone()]) })
    };

    assert_invalid(submit(Some(text("context", "fields: [unclosed\n")), None).await, "context", "");
    assert_invalid(submit(Some(text("context", "no_such_key: 1\n")), None).await, "context", "no_such_key");
    assert_invalid(submit(None, Some(text("schema", "this is not JSON"))).await, "schema", "");
    assert_invalid(submit(None, Some(text("schema", r#"{"type": "no-such-type"}"#))).await, "schema", "");

    // A context artifact larger than any document a job may use.
    let huge = vec![b'#'; MAX_DOCUMENT_BYTES as usize + 1];
    let big = w.upload(ALICE, ArtifactKind::Context, "big.yaml", &huge).await;
    assert_invalid(submit(Some(artifact("context_artifact_id", &big)), None).await, "context_artifact_id", "at most");
    // An uploaded schema used as the context.
    let schema = w.upload(ALICE, ArtifactKind::Schema, "s.json", SCHEMA.as_bytes()).await;
    let wrong = Some(artifact("context_artifact_id", &schema));
    assert_invalid(submit(wrong, None).await, "context_artifact_id", "not Context");
    let foreign = w.upload(BOB, ArtifactKind::Schema, "s.json", SCHEMA.as_bytes()).await;
    let foreign = Some(artifact("schema_artifact_id", &foreign));
    assert_invalid(submit(None, foreign).await, "schema_artifact_id", "does not exist");

    // Files that come with the request: UTF-8 text, not empty.
    let latin1 = Some(inline("context_file", "context.yaml", b"fields:\n  name: \"M\xe4rz\"\n"));
    assert_invalid(submit(latin1, None).await, "context_file", "UTF-8");
    let binary = Some(inline("schema_file", "schema.json", &[0xff, 0xfe, 0x00]));
    assert_invalid(submit(None, binary).await, "schema_file", "UTF-8");
    assert_invalid(submit(Some(inline("context_file", "context.yaml", b"")), None).await, "context_file", "empty");
    // Inline documents are held to the cap the worker reads them under.
    let mut padded = CONTEXT.as_bytes().to_vec();
    padded.resize(MAX_DOCUMENT_BYTES as usize + 1, b'\n');
    assert_invalid(
        submit(Some(inline("context_file", "context.yaml", &padded)), None).await,
        "context_file",
        "at most",
    );
    let padded = String::from_utf8(padded).unwrap();
    assert_invalid(submit(Some(text("context", &padded)), None).await, "context", "at most");
    let empty_content = JobRequest {
        content_field: "files",
        content: vec![inline("files[0]", "a.csv", CSV.as_bytes()), inline("files[1]", "b.csv", b"")],
        ..JobRequest::default()
    };
    assert_invalid(service.submit(&actor(ALICE), empty_content).await, "files[1]", "empty");

    assert!(w.jobs.all().is_empty());
    assert!(w.job_queue.take().is_empty());
}

#[tokio::test]
async fn a_name_is_at_most_two_hundred_characters() {
    let w = world();
    let service = w.service();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let named = |name: String| JobRequest { name: Some(name), ..transform(vec![content.clone()]) };

    assert_invalid(service.submit(&actor(ALICE), named("é".repeat(201))).await, "name", "200");
    let job = service.submit(&actor(ALICE), named("é".repeat(200))).await.unwrap();
    assert_eq!(job.name.map(|n| n.chars().count()), Some(200));
    let blank = service.submit(&actor(ALICE), named("   ".into())).await.unwrap();
    assert_eq!(blank.name, None);
}

#[tokio::test]
async fn lookup_tables_must_match_the_context_exactly() {
    let w = world();
    let service = w.service();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", b"id,PLANT\na,P1\n").await;
    let plants = w.upload(ALICE, ArtifactKind::Content, "plants.csv", b"PLANT,NAME\nP1,Berlin\n").await;
    let other = w.upload(ALICE, ArtifactKind::Content, "other.csv", b"X\n1\n").await;
    let with_lookups = |lookups: Option<Vec<_>>| JobRequest {
        context: Some(text("context", LOOKUP_CONTEXT)),
        lookups,
        ..transform(vec![content.clone()])
    };

    assert_invalid(
        service.submit(&actor(ALICE), with_lookups(Some(vec![]))).await,
        "lookup_artifact_ids",
        "plants.csv",
    );
    let extra = with_lookups(Some(vec![plants.clone(), other.clone()]));
    assert_invalid(service.submit(&actor(ALICE), extra).await, "lookup_artifact_ids[1]", "not a lookup file");
    let twice = with_lookups(Some(vec![plants.clone(), plants.clone()]));
    assert_invalid(service.submit(&actor(ALICE), twice).await, "lookup_artifact_ids[1]", "listed twice");
    // A transport that cannot carry lookups (lookups: None) refuses such a context on its field.
    assert_invalid(service.submit(&actor(ALICE), with_lookups(None)).await, "context", "lookup tables (plants.csv)");
    let multipart = JobRequest {
        context: Some(inline("context_file", "context.yaml", LOOKUP_CONTEXT.as_bytes())),
        ..with_lookups(None)
    };
    assert_invalid(service.submit(&actor(ALICE), multipart).await, "context_file", "lookup_artifact_ids");
    // Lookups without a context that reads them.
    let request = JobRequest { lookups: Some(vec![other]), ..transform(vec![content.clone()]) };
    assert_invalid(service.submit(&actor(ALICE), request).await, "lookup_artifact_ids[0]", "declares no lookup tables");
    assert!(w.jobs.all().is_empty());

    let job = service.submit(&actor(ALICE), with_lookups(Some(vec![plants.clone()]))).await.unwrap();
    assert_eq!(job.inputs.lookup_artifact_ids, [plants]);
    let plain = JobRequest { context: Some(text("context", CONTEXT)), lookups: None, ..transform(vec![content]) };
    service.submit(&actor(ALICE), plain).await.expect("a context without lookups needs no lookups field");
}

#[tokio::test]
async fn inline_files_are_stored_as_available_artifacts_of_the_job() {
    let w = world();
    let request = JobRequest {
        content_field: "files",
        content: vec![inline("files[0]", "orders.csv", CSV.as_bytes())],
        context: Some(text("context", CONTEXT)),
        schema: Some(text("schema", SCHEMA)),
        lookups: None,
        ..JobRequest::default()
    };
    let job = w.service().submit(&actor(ALICE), request).await.unwrap();

    let inputs = &job.inputs;
    let stored = [
        (&inputs.content_artifact_ids[0], ArtifactKind::Content, CSV),
        (inputs.context_artifact_id.as_ref().unwrap(), ArtifactKind::Context, CONTEXT),
        (inputs.schema_artifact_id.as_ref().unwrap(), ArtifactKind::Schema, SCHEMA),
    ];
    for (id, kind, text) in stored {
        let artifact = w.artifact(id).await;
        assert_eq!((artifact.kind, artifact.status), (kind, ArtifactStatus::Available));
        assert_eq!((artifact.job_id.as_ref(), artifact.owner_id.as_str()), (Some(&job.id), ALICE));
        assert_eq!(artifact.size_bytes, text.len() as u64);
        assert_eq!(artifact.expires_at, None, "an available artifact is not swept by the TTL");
        let blob = w.blobs.object(&artifact.s3_key).expect("the file is in the bucket");
        assert_eq!(blob.body, text.as_bytes());
        assert_eq!(blob.content_type, artifact.content_type);
    }
    assert_eq!(w.blobs.keys().len(), 3);
    assert_eq!(w.job_queue.take()[0].job_id, job.id);
}

#[tokio::test]
async fn a_queued_job_owes_no_message() {
    let w = world();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let job = w.service().submit(&actor(ALICE), transform(vec![content])).await.unwrap();
    assert_eq!(job.unsent_since, None);
    assert_eq!(w.jobs.all()[0].unsent_since, None, "the outbox mark is cleared once the message is sent");
}

/// The crash between the job's write and its message's send, injected as a queue that never
/// takes the message: the job is accepted, and the sweeper sends the message it still owes.
#[tokio::test]
async fn a_job_whose_message_was_never_sent_is_relayed_by_the_sweeper_and_runs() {
    let w = world();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    w.job_queue.outage.set(true);
    let request = JobRequest { traceparent: Some(TRACEPARENT.into()), ..transform(vec![content]) };
    let job = w.service().submit(&actor(ALICE), request).await.unwrap();
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(w.jobs.all()[0].unsent_since, Some(start().unix()), "the outbox mark stays");
    w.job_queue.outage.set(false);

    let sweeper = w.sweeper(Duration::from_secs(3600));
    assert_eq!(sweeper.sweep().await.unwrap().relayed_jobs, 0, "a fresh mark is left to the API's own send");
    w.clock.advance(RELAY_AFTER + Duration::from_secs(1));
    assert_eq!(sweeper.sweep().await.unwrap().relayed_jobs, 1);
    assert_eq!(sweeper.sweep().await.unwrap().relayed_jobs, 0, "once");
    let sent = w.job_queue.take();
    assert_eq!(sent.len(), 1);
    assert_eq!((&sent[0].job_id, sent[0].traceparent.as_deref()), (&job.id, Some(TRACEPARENT)));

    w.runner().run(&body(&job.id), 1).await;
    assert_eq!(w.jobs.get(&job.id).await.unwrap().unwrap().status, JobStatus::Completed);
}

#[tokio::test]
async fn an_owed_message_of_a_job_that_already_ran_is_not_sent() {
    let w = world();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let job = w.service().submit(&actor(ALICE), transform(vec![content])).await.unwrap();
    w.job_queue.take();
    // The API sent the message but died before clearing the mark; the worker ran the job.
    let mut stored = w.jobs.get(&job.id).await.unwrap().unwrap();
    let seen = stored.clone();
    stored.unsent_since = Some(start().unix());
    w.jobs.replace(&seen, &stored).await.unwrap();
    w.runner().run(&body(&job.id), 1).await;

    w.clock.advance(RELAY_AFTER + Duration::from_secs(1));
    assert_eq!(w.sweeper(Duration::from_secs(3600)).sweep().await.unwrap().relayed_jobs, 0);
    assert!(w.job_queue.take().is_empty());
}

#[tokio::test]
async fn jobs_are_read_and_listed_by_their_owner_only() {
    let w = world();
    let service = w.service();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let bobs_content = w.upload(BOB, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    for user in [ALICE, BOB] {
        w.on_plan(&helix_domain::TeamId::personal(&user.into()), helix_domain::Plan::Pro).await;
    }
    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(service.submit(&actor(ALICE), transform(vec![content.clone()])).await.unwrap().id);
        let bobs = service.submit(&actor(BOB), transform(vec![bobs_content.clone()])).await.unwrap();
        assert!(matches!(service.get(&actor(ALICE), &bobs.id).await, Err(JobError::NotFound(_))));
        w.clock.advance(Duration::from_secs(1));
    }
    assert_eq!(service.get(&actor(ALICE), &mine[0]).await.unwrap().id, mine[0]);
    assert!(matches!(service.get(&actor(ALICE), &"no-such-job".into()).await, Err(JobError::NotFound(_))));

    let query = |limit, cursor| JobQuery { limit: Some(limit), cursor, ..JobQuery::default() };
    let first = service.list(&actor(ALICE), query(2, None)).await.unwrap();
    assert_eq!(first.jobs.iter().map(|j| &j.id).collect::<Vec<_>>(), [&mine[2], &mine[1]]);
    let rest = service.list(&actor(ALICE), query(2, first.next_cursor)).await.unwrap();
    assert_eq!(rest.jobs.iter().map(|j| &j.id).collect::<Vec<_>>(), [&mine[0]]);
    assert!(rest.next_cursor.is_none());
    let all = service.list(&actor(ALICE), JobQuery::default()).await.unwrap();
    assert_eq!(all.jobs.len(), 3);
    let failed = JobQuery { status: Some(JobStatus::Failed), ..JobQuery::default() };
    assert!(service.list(&actor(ALICE), failed).await.unwrap().jobs.is_empty());

    for limit in [0, 101] {
        let error = service.list(&actor(ALICE), query(limit, None)).await.err();
        assert!(matches!(&error, Some(JobError::Malformed { field, .. }) if field == "limit"), "{error:?}");
    }
    assert_eq!(service.list(&actor(ALICE), query(100, None)).await.unwrap().jobs.len(), 3);
    let error = service.list(&actor(ALICE), query(2, Some("not-a-cursor".into()))).await.err();
    assert!(matches!(&error, Some(JobError::Malformed { field, .. }) if field == "cursor"), "{error:?}");
}

#[tokio::test]
async fn a_storage_fault_is_not_reported_as_a_missing_artifact() {
    let w = world();
    let service = w.service();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let context = w.upload(ALICE, ArtifactKind::Context, "context.yaml", CONTEXT.as_bytes()).await;
    let request =
        || JobRequest { context: Some(artifact("context_artifact_id", &context)), ..transform(vec![content.clone()]) };

    w.artifacts.outage.set(true);
    let error = service.submit(&actor(ALICE), request()).await.unwrap_err();
    assert!(matches!(error, JobError::Internal(_)), "{error:?}");
    w.artifacts.outage.set(false);

    w.blobs.outage.set(true);
    let error = service.submit(&actor(ALICE), request()).await.unwrap_err();
    assert!(matches!(error, JobError::Internal(_)), "{error:?}");
    w.blobs.outage.set(false);

    assert!(w.jobs.all().is_empty());
    service.submit(&actor(ALICE), request()).await.expect("the same request once storage is back");
}
