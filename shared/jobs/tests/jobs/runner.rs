//! JobRunner + TransformAttempt: claiming, running, settling, retrying, idempotency.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use helix_domain::artifact::{error_report_key, result_key};
use helix_domain::{ArtifactKind, ArtifactStatus, Clock, JobStatus, JobStore, Transition};
use helix_jobs::{JobRequest, JobRunner, MessageOutcome, RunnerConfig, RunnerPorts, TransformAttempt};
use serde_json::{Value, json};

use crate::support::*;

#[track_caller]
fn assert_done(outcome: MessageOutcome) {
    assert!(matches!(outcome, MessageOutcome::Done), "{outcome:?}");
}

#[track_caller]
fn assert_retry(outcome: MessageOutcome, needle: &str) {
    match outcome {
        MessageOutcome::Retry(reason) => assert!(reason.contains(needle), "{reason:?} does not mention {needle:?}"),
        MessageOutcome::Done => panic!("expected a retry ({needle})"),
    }
}

#[tokio::test]
async fn a_csv_job_runs_to_completed_with_its_result_and_report() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    w.clock.advance(Duration::from_secs(5));
    assert_done(w.runner().run(&body(&job.id), 1).await);

    let done = w.job(&job.id).await;
    assert_eq!(done.status, JobStatus::Completed, "{:?}", done.error);
    assert_eq!((done.records_in, done.records_out, done.records_rejected), (Some(3), Some(2), Some(1)));
    assert_eq!((done.attempts, done.error.as_deref(), done.lease_expires_at), (1, None, None));
    assert_eq!((done.started_at, done.finished_at), (Some(w.clock.now()), Some(w.clock.now())));
    assert_eq!(done.result_path.as_deref(), Some(result_key(&job.id, "json").as_str()));

    let result = w.artifact(done.result_artifact_id.as_ref().unwrap()).await;
    assert_eq!((result.kind, result.status), (ArtifactKind::Result, ArtifactStatus::Available));
    assert_eq!((result.owner_id.as_str(), result.job_id.as_ref()), (ALICE, Some(&job.id)));
    let blob = w.blobs.object(&result_key(&job.id, "json")).expect("the result is stored");
    assert_eq!(blob.content_type, "application/json");
    assert_eq!(result.size_bytes, blob.body.len() as u64);
    let records: Value = serde_json::from_slice(&blob.body).unwrap();
    assert_eq!(records, json!([{"id": "a", "qty": 1}, {"id": "b", "qty": 2}]));

    let report = w.artifact(done.error_report_artifact_id.as_ref().unwrap()).await;
    assert_eq!(report.kind, ArtifactKind::ErrorReport);
    let blob = w.blobs.object(&error_report_key(&job.id)).expect("the report is stored");
    let report: Value = serde_json::from_slice(&blob.body).unwrap();
    let rejects = report["rejects"].as_array().unwrap();
    assert_eq!(rejects.len(), 1);
    assert_eq!((&rejects[0]["line"], &rejects[0]["pointer"]), (&json!(4), &json!("/qty")));
}

#[tokio::test]
async fn an_ndjson_context_writes_ndjson() {
    let w = world();
    let job = w.submitted(NDJSON_CONTEXT, CSV).await;
    assert_done(w.runner().run(&body(&job.id), 1).await);
    assert_eq!(w.job(&job.id).await.status, JobStatus::Completed);

    // The name says what the file holds: a JSON parser is never handed NDJSON.
    assert_eq!(w.blobs.object(&result_key(&job.id, "json")), None);
    let blob = w.blobs.object(&result_key(&job.id, "ndjson")).unwrap();
    assert_eq!(blob.content_type, "application/x-ndjson");
    assert_eq!(
        w.artifact(w.job(&job.id).await.result_artifact_id.as_ref().unwrap()).await.content_type,
        blob.content_type
    );
    let lines: Vec<Value> =
        String::from_utf8(blob.body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, [json!({"id": "a", "qty": 1}), json!({"id": "b", "qty": 2})]);
}

#[tokio::test]
async fn a_table_context_writes_a_csv_or_parquet_result_named_so() {
    let w = world();
    let csv = w.submitted("output:\n  format: csv\nfields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n", CSV).await;
    assert_done(w.runner().run(&body(&csv.id), 1).await);
    assert_eq!(w.job(&csv.id).await.status, JobStatus::Completed);
    let blob = w.blobs.object(&result_key(&csv.id, "csv")).expect("result.csv");
    assert_eq!((blob.content_type.as_str(), blob.body.as_slice()), ("text/csv", &b"id,qty\na,1\nb,2\n"[..]));

    let parquet = w.submitted("output:\n  format: parquet\nfields:\n  id: \"{{ id }}\"\n", CSV).await;
    assert_done(w.runner().run(&body(&parquet.id), 1).await);
    let blob = w.blobs.object(&result_key(&parquet.id, "parquet")).expect("result.parquet");
    assert_eq!(blob.content_type, "application/vnd.apache.parquet");
    assert!(blob.body.starts_with(b"PAR1") && blob.body.ends_with(b"PAR1"));
}

#[tokio::test]
async fn a_record_the_table_cannot_hold_fails_the_job_and_stores_no_result() {
    let w = world();
    // The schema has no `extra` column: the table refuses the record rather than drop the field.
    let context = "output:\n  format: csv\nfields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty | int }}\"\n  extra: \"x\"\n";
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", b"id,qty\na,1\n").await;
    let request = JobRequest {
        context: Some(text("context", context)),
        schema: Some(text("schema", SCHEMA)),
        ..transform(vec![content])
    };
    let job = w.service().submit(&actor(ALICE), request).await.unwrap();
    assert_done(w.runner().run(&body(&job.id), 1).await);
    let failed = w.job(&job.id).await;
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.error.as_deref().unwrap_or_default().contains("has a field `extra`"), "{:?}", failed.error);
    assert_eq!(w.blobs.object(&result_key(&job.id, "csv")), None);
}

#[tokio::test]
async fn a_job_with_a_lookup_table_reads_it_by_file_name() {
    let w = world();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", b"id,PLANT\na,P1\nb,P2\n").await;
    let plants = w.upload(ALICE, ArtifactKind::Content, "plants.csv", b"PLANT,NAME\nP1,Berlin\nP2,Wien\n").await;
    let request = JobRequest {
        context: Some(text("context", LOOKUP_CONTEXT)),
        lookups: Some(vec![plants]),
        ..transform(vec![content])
    };
    let job = w.service().submit(&actor(ALICE), request).await.unwrap();
    assert_done(w.runner().run(&body(&job.id), 1).await);
    let done = w.job(&job.id).await;
    assert_eq!(done.status, JobStatus::Completed, "{:?}", done.error);
    let records: Value = serde_json::from_slice(&w.blobs.object(&result_key(&job.id, "json")).unwrap().body).unwrap();
    assert_eq!(records, json!([{"id": "a", "plant": "Berlin"}, {"id": "b", "plant": "Wien"}]));
}

#[tokio::test]
async fn bad_content_fails_the_job_on_the_first_delivery() {
    let w = world();
    let job = w.submitted(CONTEXT, "id,qty\na,1\n\"b,2\n").await;
    // Bad input is settled for good: the message is done with, not retried.
    assert_done(w.runner().run(&body(&job.id), 1).await);

    let failed = w.job(&job.id).await;
    assert_eq!((failed.status, failed.attempts), (JobStatus::Failed, 1));
    let error = failed.error.unwrap();
    assert!(error.contains("orders.csv line 3") && error.contains("unterminated quoted field"), "{error}");
    assert!(failed.result_artifact_id.is_none() && failed.finished_at.is_some());
}

#[tokio::test]
async fn a_detected_encoding_completes_the_job_with_a_warning() {
    let w = world();
    let job = w.submitted(CONTEXT, b"id,qty\n\xC4pfel,1\n\xD6l,2\n").await;
    assert_done(w.runner().run(&body(&job.id), 1).await);

    let done = w.job(&job.id).await;
    assert_eq!((done.status, done.records_out), (JobStatus::Completed, Some(2)), "{:?}", done.error);
    assert_eq!(done.warnings.len(), 1, "{:?}", done.warnings);
    assert!(done.warnings[0].starts_with("orders.csv: no encoding declared"), "{:?}", done.warnings);
}

#[tokio::test]
async fn a_storage_fault_hands_the_job_back_until_the_last_delivery() {
    let w = world();
    let runner = w.runner();
    let job = w.submitted(CONTEXT, CSV).await;

    w.blobs.outage.set(true);
    assert_retry(runner.run(&body(&job.id), 1).await, "the bucket is unavailable");
    let released = w.job(&job.id).await;
    assert_eq!((released.status, released.attempts, released.lease_expires_at), (JobStatus::Pending, 1, None));
    assert!(released.error.as_deref().is_some_and(|e| e.contains("the bucket is unavailable")), "{released:?}");
    assert!(released.finished_at.is_none());

    // The next delivery, with the bucket back, completes it and clears the error.
    w.blobs.outage.set(false);
    assert_done(runner.run(&body(&job.id), 2).await);
    let done = w.job(&job.id).await;
    assert_eq!((done.status, done.attempts, done.error), (JobStatus::Completed, 2, None));
}

#[tokio::test]
async fn the_last_delivery_gives_up() {
    let w = world();
    let runner = w.runner();
    let job = w.submitted(CONTEXT, CSV).await;
    w.blobs.outage.set(true);
    for delivery in 1..MAX_ATTEMPTS {
        assert_retry(runner.run(&body(&job.id), delivery).await, "unavailable");
        assert_eq!(w.job(&job.id).await.status, JobStatus::Pending);
    }
    // Still a retry: the message goes on to the dead-letter queue for a person to look at.
    assert_retry(runner.run(&body(&job.id), MAX_ATTEMPTS).await, "gave up after 3 attempts");
    let failed = w.job(&job.id).await;
    assert_eq!((failed.status, failed.attempts), (JobStatus::Failed, MAX_ATTEMPTS));
    let error = failed.error.unwrap();
    assert!(error.starts_with("gave up after 3 attempts: ") && error.contains("unavailable"), "{error}");
}

#[tokio::test]
async fn the_same_message_runs_once() {
    let w = world();
    let runner = w.runner();
    let job = w.submitted(CONTEXT, CSV).await;
    assert_done(runner.run(&body(&job.id), 1).await);
    let done = w.job(&job.id).await;

    // Put the job back as if it had never run: only the idempotency record stops a second run.
    w.jobs.replace(&done, &job).await.unwrap();
    assert_done(runner.run(&body(&job.id), 2).await);
    assert_eq!(w.job(&job.id).await, job, "the duplicate did not run");

    // Another worker's record is its own.
    let config = RunnerConfig { name: "other", max_attempts: MAX_ATTEMPTS, lease: LEASE };
    let other = JobRunner::new(w.ports(), config, vec![Arc::new(TransformAttempt)]);
    assert_done(other.run(&body(&job.id), 1).await);
    assert_eq!(w.job(&job.id).await.status, JobStatus::Completed);
}

/// A write of its own attempt that came before the settle (a renewal whose answer was lost) is
/// not taken for a later attempt's takeover: the job is settled, not left RUNNING with its
/// message acknowledged.
#[tokio::test]
async fn a_settle_that_its_own_attempt_raced_still_settles_the_job() {
    let w = world();
    let jobs = RacedJobs::over(&w, 1);
    let job = w.submitted(CONTEXT, CSV).await;
    assert_done(w.runner_over(RunnerPorts { jobs: jobs.clone(), ..w.ports() }).run(&body(&job.id), 1).await);

    assert_eq!(jobs.races.load(Ordering::SeqCst), 0, "the settle was raced");
    let done = w.job(&job.id).await;
    assert_eq!(
        (done.status, done.attempts, done.lease_expires_at),
        (JobStatus::Completed, 1, None),
        "{:?}",
        done.error
    );
}

/// A settle that keeps losing to writes of its own attempt gives up with a retry: the message
/// comes back while the job is unsettled, and its redelivery finishes it.
#[tokio::test]
async fn a_settle_that_keeps_losing_leaves_the_message_for_redelivery() {
    let w = world();
    let jobs = RacedJobs::over(&w, 3);
    let job = w.submitted(CONTEXT, CSV).await;
    let runner = w.runner_over(RunnerPorts { jobs: jobs.clone(), ..w.ports() });
    assert_retry(runner.run(&body(&job.id), 1).await, "could not be recorded");
    assert_eq!(w.job(&job.id).await.status, JobStatus::Running);

    w.clock.advance(LEASE * 3);
    assert_done(runner.run(&body(&job.id), 2).await);
    let done = w.job(&job.id).await;
    assert_eq!((done.status, done.attempts), (JobStatus::Completed, 2), "{:?}", done.error);
}

#[tokio::test]
async fn a_message_for_a_finished_job_is_done_without_running() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    assert_done(w.runner().run(&body(&job.id), 1).await);
    let done = w.job(&job.id).await;

    // A different payload for the same job (no idempotency record): the job's state decides.
    let late = format!(r#"{{ "job_id": "{}" }}"#, job.id);
    w.clock.advance(Duration::from_secs(60));
    assert_done(w.runner().run(&late, 1).await);
    assert_eq!(w.job(&job.id).await, done);
}

#[tokio::test]
async fn messages_this_worker_cannot_run_are_retried() {
    let w = world();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let request = JobRequest {
        auto_map: true,
        context: Some(text("context", CONTEXT)),
        schema: Some(text("schema", SCHEMA)),
        ..transform(vec![content])
    };
    let job = w.service().submit(&actor(ALICE), request).await.unwrap();
    assert_retry(w.runner().run(&body(&job.id), 1).await, "GpuWorker");
    assert_eq!(w.job(&job.id).await, job, "the job is left for its own worker");

    assert_retry(w.runner().run(&body(&"no-such-job".into()), 1).await, "does not exist");
    assert_retry(w.runner().run("not json", 1).await, "not a job message");
}

#[tokio::test]
async fn a_held_lease_is_taken_over_only_once_it_runs_out() {
    let w = world();
    let runner = w.runner();
    let job = w.submitted(CONTEXT, CSV).await;
    // Another worker claimed the job and is still within its lease.
    let now = w.clock.now();
    let claimed = job.apply(Transition::Claim { lease_until: now.plus(LEASE) }, now).unwrap();
    w.jobs.replace(&job, &claimed).await.unwrap();

    w.clock.advance(LEASE / 2);
    assert_retry(runner.run(&body(&job.id), 2).await, "another worker holds the job");
    assert_eq!(w.job(&job.id).await, claimed);

    // Its worker died: once the lease has run out, the redelivery takes the job over.
    w.clock.advance(LEASE);
    assert_done(runner.run(&body(&job.id), 3).await);
    let done = w.job(&job.id).await;
    assert_eq!((done.status, done.attempts, done.started_at), (JobStatus::Completed, 2, Some(start())));
}

#[tokio::test]
async fn a_batch_reports_exactly_the_messages_to_retry() {
    let w = world();
    let first = w.submitted(CONTEXT, CSV).await;
    let second = w.submitted(NDJSON_CONTEXT, CSV).await;
    let batch = event(vec![
        message("m-1", &body(&first.id), 1),
        message("m-bad", "{\"job\": 1}", 1),
        message("m-2", &body(&second.id), 2),
    ]);
    let response = w.runner().handle(batch).await;
    let failures: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failures, ["m-bad"]);
    assert_eq!(w.job(&first.id).await.status, JobStatus::Completed);
    let second = w.job(&second.id).await;
    assert_eq!((second.status, second.attempts), (JobStatus::Completed, 1));
}

/// An attempt that runs until it is stopped.
struct Endless;

#[async_trait::async_trait]
impl helix_jobs::Attempt for Endless {
    fn kind(&self) -> helix_jobs::AttemptKind {
        helix_jobs::AttemptKind::Transform
    }

    async fn run(
        &self,
        _: &helix_domain::Job,
        _: &helix_jobs::Workspace<'_>,
    ) -> Result<helix_domain::JobOutcome, helix_jobs::AttemptError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_stopping_worker_hands_its_running_job_back_at_once() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    let config = RunnerConfig { name: "worker", max_attempts: 3, lease: LEASE };
    let runner = JobRunner::new(w.ports(), config, vec![Arc::new(Endless)]);
    let stop = runner.stop_signal();
    let body = body(&job.id);
    let run = runner.run(&body, 1);
    let stopping = async {
        while w.job(&job.id).await.status != JobStatus::Running {
            tokio::task::yield_now().await;
        }
        stop.stop();
    };
    let (outcome, ()) = tokio::join!(run, stopping);
    assert_retry(outcome, "stopped");
    let handed_back = w.job(&job.id).await;
    assert_eq!((handed_back.status, handed_back.lease_expires_at), (JobStatus::Pending, None));
    assert_done(w.runner().run(&body, 2).await);
    assert_eq!(w.job(&job.id).await.status, JobStatus::Completed, "the next delivery runs it at once");
}

#[tokio::test]
async fn each_attempt_records_one_usage_event_and_a_redelivery_none() {
    use helix_jobs::metering::{CostGroup, CostScope, UsageLedger};
    let w = world();
    let runner = w.runner();
    let job = w.submitted(CONTEXT, CSV).await;
    w.blobs.outage.set(true);
    assert_retry(runner.run(&body(&job.id), 1).await, "unavailable");
    w.blobs.outage.set(false);
    assert_done(runner.run(&body(&job.id), 2).await);
    assert_done(runner.run(&body(&job.id), 3).await);

    // The submission sent the message, wrote the job, its sent mark and audit entry, read the
    // audit head, the membership and the three inputs' records, and the two documents from S3,
    // and stored the context and schema that came inline (two PUTs, two records).
    // Two attempts: each received and deleted its message, read the job and its three inputs
    // (content, context, schema), claimed and settled it, wrote its idempotency record twice;
    // only the second wrote the result and the reject report, and read their records back.
    let usage = w.usage.job_usage(&job.id).await.unwrap();
    assert_eq!((usage.sqs_requests, usage.s3_get_requests, usage.s3_put_requests), (1 + 4, 2 + 6, 2 + 2));
    assert_eq!((usage.dynamodb_read_units, usage.dynamodb_write_units), (5 + 10, 5 + 10));
    // Not in Lambda nor on a GPU instance: no compute is billed.
    assert_eq!(usage.lambda_requests, 0);
    let teams = w.usage.totals(&CostScope::All, CostGroup::Team, "2000-01-01", "2100-12-31").await.unwrap();
    assert_eq!(teams.len(), 1);
    assert_eq!(teams.values().next(), Some(&usage));
}
