//! Processes killed at the worst moments, as `kill -9` would stop them there (the crash points of
//! `helix_jobs::fault`, set with `HELIX_CRASH_AT` on a function binary run as Lambda runs it):
//! - the jobs function between writing a job and sending its queue message: the job still runs,
//!   because the sweeper sends the message it owed (the transactional outbox);
//! - the worker in the middle of a job: the first redelivery takes the job over, because the
//!   lease (and the idempotency record, which lasts as long) is shorter than the redelivery.

use std::time::Duration;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use helix_e2e::lambda_function::{LambdaFunction, function_binary, function_settings, own_profile_dir};
use helix_e2e::lambda_runtime_api::{HttpRequest, SqsRecord, sqs_event};
use helix_e2e::{Options, TestPlatform};
use helix_jobs::MessageOutcome;
use serde_json::json;

async fn spawn_crashing(t: &TestPlatform, name: &str, point: &str) -> LambdaFunction {
    let mut settings = function_settings(t, name);
    settings.insert("HELIX_CRASH_AT".into(), point.into());
    // The platform's short test lease, not the template's default.
    settings.insert("JOB_LEASE_SECONDS".into(), t.platform.settings.worker.lease.as_secs().to_string());
    LambdaFunction::spawn(&function_binary(&own_profile_dir(), name), name, &settings).await
}

async fn receive_job_message(t: &TestPlatform, wait_seconds: i32) -> aws_sdk_sqs::types::Message {
    let received = t
        .platform
        .clients
        .sqs
        .receive_message()
        .queue_url(&t.platform.settings.jobs.queue_url)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .wait_time_seconds(wait_seconds)
        .send()
        .await
        .unwrap();
    received.messages.unwrap_or_default().pop().expect("the job's message")
}

#[tokio::test]
async fn a_worker_killed_mid_job_is_taken_over_by_the_first_redelivery() {
    let t = TestPlatform::start_with(Options { workers: false, redelivery_seconds: 4, ..Default::default() }).await;
    let user = t.user().await;
    let content = t.upload(&user.token, "a.csv", "text/csv", "content", b"id,name\n1,a\n").await;
    let (_, job) = t.post_json(&user.token, "/api/v1/jobs", &json!({"content_artifact_ids": [content]})).await;
    let job_id = job["id"].as_str().unwrap().to_owned();

    let queue_arn = t.platform.provisioned.queue_arns["JobsQueue"].clone();
    let first = receive_job_message(&t, 5).await;
    let worker = spawn_crashing(&t, "helix-fn-worker", helix_jobs::fault::MID_JOB).await;
    let Err(died) = worker.try_invoke(&sqs_event(&queue_arn, &[SqsRecord::received(&first)])).await else {
        panic!("the worker dies mid-job");
    };
    assert!(died.contains("exited"), "{died}");
    let (_, running) = t.get(&user.token, &format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!((running["status"].as_str(), running["attempts"].as_u64()), (Some("RUNNING"), Some(1)), "{running}");

    let redelivery = receive_job_message(&t, 10).await;
    let record = SqsRecord::received(&redelivery);
    assert_eq!(record.receive_count, 2, "the first redelivery");
    let worker = helix_local::job_worker(&t.platform.settings, &t.platform.clients);
    let outcome = worker.run(&record.body, record.receive_count).await;
    assert!(matches!(outcome, MessageOutcome::Done), "the first redelivery is not refused: {outcome:?}");
    let (_, job) = t.get(&user.token, &format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!((job["status"].as_str(), job["attempts"].as_u64()), (Some("COMPLETED"), Some(2)), "{job}");
}

#[tokio::test]
async fn a_job_whose_api_process_died_before_the_send_still_runs() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let content = t.upload(&user.token, "a.csv", "text/csv", "content", b"id,name\n1,a\n2,b\n").await;
    let jobs = spawn_crashing(&t, "helix-fn-jobs", helix_jobs::fault::AFTER_JOB_WRITE).await;
    let request =
        HttpRequest::post("/api/v1/jobs").bearer(&user.token).json(&json!({"content_artifact_ids": [content]}));
    let Err(died) = jobs.try_invoke(&request.event()).await else { panic!("the function dies at the crash point") };
    assert!(died.contains("exited"), "{died}");

    let (_, list) = t.get(&user.token, "/api/v1/jobs").await;
    let job = &list["items"][0];
    assert_eq!(job["status"], "PENDING", "the job was written before the crash: {list}");
    let job_id = job["id"].as_str().unwrap().to_owned();

    let mut config = t.platform.settings.sweeper.clone();
    config.relay_after = Duration::ZERO;
    let sweeper = helix_aws::wiring::sweeper(&t.platform.clients, &config);
    // Outbox marks have a resolution of a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(sweeper.sweep().await.unwrap().relayed_jobs, 1);
    let job = t.wait_job(&user.token, &job_id).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert_eq!(job["records_out"], 2, "{job}");
    assert_eq!(sweeper.sweep().await.unwrap().relayed_jobs, 0, "nothing owed any more");
}

/// A client that lost the answer and retried: the same `Idempotency-Key` and body give the first
/// job back, not a second one; the same key with another body is refused.
#[tokio::test]
async fn a_retried_post_with_the_same_idempotency_key_creates_one_job() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let content = t.upload(&user.token, "a.csv", "text/csv", "content", b"id,name\n1,a\n").await;
    let post = |body: serde_json::Value| {
        t.http
            .post(t.url("/api/v1/jobs"))
            .bearer_auth(&user.token)
            .header("Idempotency-Key", "retry-1")
            .json(&body)
            .send()
    };
    let body = json!({"content_artifact_ids": [content], "name": "once"});
    let first = post(body.clone()).await.unwrap();
    assert_eq!(first.status(), 202);
    let first: serde_json::Value = first.json().await.unwrap();
    let retry = post(body).await.unwrap();
    assert_eq!(retry.status(), 202);
    assert_eq!(retry.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    let retry: serde_json::Value = retry.json().await.unwrap();
    assert_eq!(retry["id"], first["id"], "the retry gets the first job");
    let (_, list) = t.get(&user.token, "/api/v1/jobs").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    let other = post(json!({"content_artifact_ids": [content], "name": "another"})).await.unwrap();
    assert_eq!(other.status(), 422);
    let other: serde_json::Value = other.json().await.unwrap();
    assert_eq!(other["error"]["field"], "Idempotency-Key", "{other}");
}
