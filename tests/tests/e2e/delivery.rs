//! At-least-once delivery: duplicates, a worker that dies mid-job, a job that always fails.

use std::time::Duration;

use helix_domain::{JobStore, Transition};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use helix_domain::Timestamp;
use helix_e2e::{Options, StatusCode, TestPlatform};
use serde_json::json;

fn message(id: &str, body: &str, receive_count: u32) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(id.to_owned());
    message.body = Some(body.to_owned());
    message.attributes.insert("ApproximateReceiveCount".into(), receive_count.to_string());
    message
}

async fn submitted_job(t: &TestPlatform) -> (helix_e2e::TestUser, String) {
    let user = t.user().await;
    let content = t.upload(&user.token, "a.csv", "text/csv", "content", b"id,name\n1,a\n2,b\n").await;
    let (status, job) = t.post_json(&user.token, "/api/v1/jobs", &json!({"content_artifact_ids": [content]})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    (user, job["id"].as_str().unwrap().to_owned())
}

fn runner_ports(t: &TestPlatform) -> helix_jobs::RunnerPorts {
    let settings = &t.platform.settings;
    helix_aws::wiring::runner_ports(&t.platform.clients, &settings.artifacts, &settings.worker)
}

/// Claims the job as a worker would, leased until `lease`.
async fn claim(jobs: &dyn JobStore, job_id: &str, lease: Timestamp) {
    let job = jobs.get(&job_id.into()).await.unwrap().unwrap();
    let claimed = job.apply(Transition::Claim { lease_until: lease }, Timestamp::now()).unwrap();
    jobs.replace(&job, &claimed).await.unwrap();
}

fn start_workers(t: &TestPlatform) -> tokio::task::JoinHandle<()> {
    helix_local::spawn_job_worker(&t.platform.settings, &t.platform.clients)
}

#[tokio::test]
async fn the_same_message_twice_gives_one_result() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let (user, job_id) = submitted_job(&t).await;
    let worker = helix_local::job_worker(&t.platform.settings, &t.platform.clients);
    let body = json!({"job_id": job_id}).to_string();

    let mut batch = SqsEvent::default();
    batch.records = vec![message("m1", &body, 1), message("m2", &body, 1)];
    let response = worker.handle(batch).await;
    assert!(response.batch_item_failures.len() <= 1, "at most the concurrent copy waits");
    let first = t.wait_job(&user.token, &job_id).await;
    assert_eq!((first["status"].as_str(), first["attempts"].as_u64()), (Some("COMPLETED"), Some(1)), "{first}");

    // Redeliveries of either copy, later: acknowledged without running again.
    let mut again = SqsEvent::default();
    again.records = vec![message("m2", &body, 2), message("m3", &body, 1)];
    assert!(worker.handle(again).await.batch_item_failures.is_empty());
    let (_, after) = t.get(&user.token, &format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!(after, first, "a finished job does not move");

    let listed = t
        .platform
        .clients
        .s3
        .list_objects_v2()
        .bucket(&t.platform.settings.artifacts.bucket)
        .prefix(format!("results/{job_id}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.key_count(), Some(2), "one result.json and one errors.json");
}

#[tokio::test]
async fn a_worker_killed_mid_job_leaves_it_to_the_next_delivery() {
    let t = TestPlatform::start_with(Options { workers: false, redelivery_seconds: 2, ..Default::default() }).await;
    let (user, job_id) = submitted_job(&t).await;

    // The dying worker: it received the message (now invisible for 2 s), took the idempotency
    // record and claimed the job, and then never finished or deleted anything.
    let received = t
        .platform
        .clients
        .sqs
        .receive_message()
        .queue_url(&t.platform.settings.jobs.queue_url)
        .wait_time_seconds(5)
        .send()
        .await
        .unwrap();
    let dead_message = received.messages.unwrap_or_default().pop().expect("the job's message");
    let ports = runner_ports(&t);
    let now = Timestamp::now();
    let lease = now.plus(Duration::from_secs(1));
    claim(&*ports.jobs, &job_id, lease).await;
    let key = format!("job-worker#{}", sha256_hex(dead_message.body().unwrap()));
    ports.idempotency.begin(&key, now, lease).await.unwrap();
    let (_, running) = t.get(&user.token, &format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!(running["status"], "RUNNING");

    let workers = start_workers(&t);
    let job = t.wait_job(&user.token, &job_id).await;
    workers.abort();
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert_eq!(job["attempts"], 2, "the second delivery took over");
    let outcomes: Vec<_> = job["attempt_history"].as_array().unwrap().iter().map(|a| a["outcome"].clone()).collect();
    assert_eq!(outcomes, [json!("ABANDONED"), json!("COMPLETED")], "{job}");
}

#[tokio::test]
async fn a_job_that_always_fails_ends_failed_with_its_message_in_the_dead_letter_queue() {
    let t = TestPlatform::start_with(Options { workers: false, redelivery_seconds: 2, ..Default::default() }).await;
    let (user, job_id) = submitted_job(&t).await;
    let (_, job) = t.get(&user.token, &format!("/api/v1/jobs/{job_id}")).await;
    let content_id = job["inputs"]["content_artifact_ids"][0].as_str().unwrap();
    // Storage loses the input: every attempt fails for a reason that retrying might cure.
    let prefix = format!("uploads/{}/{content_id}/", user.id);
    let s3 = &t.platform.clients.s3;
    let bucket = &t.platform.settings.artifacts.bucket;
    for object in s3.list_objects_v2().bucket(bucket).prefix(&prefix).send().await.unwrap().contents() {
        s3.delete_object().bucket(bucket).key(object.key().unwrap()).send().await.unwrap();
    }

    let workers = start_workers(&t);
    let job = t.wait_job(&user.token, &job_id).await;
    assert_eq!(job["status"], "FAILED", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains("gave up after 3 attempts") && error.contains("a.csv"), "{error}");
    // Each delivery's attempt is on the job, as the worker recorded it in DynamoDB.
    let history = job["attempt_history"].as_array().unwrap();
    let outcomes: Vec<_> = history.iter().map(|a| (a["number"].clone(), a["outcome"].clone())).collect();
    assert_eq!(
        outcomes,
        [(json!(1), json!("RELEASED")), (json!(2), json!("RELEASED")), (json!(3), json!("FAILED"))],
        "{job}"
    );
    assert!(history.iter().all(|a| a["error"].as_str().is_some_and(|e| e.contains("a.csv"))), "{job}");

    let dlq = t.platform.provisioned.queue_urls["JobsDeadLetterQueue"].clone();
    let mut dead = Vec::new();
    for _ in 0..10 {
        let out = t.platform.clients.sqs.receive_message().queue_url(&dlq).wait_time_seconds(1).send().await.unwrap();
        dead.extend(out.messages.unwrap_or_default());
        if !dead.is_empty() {
            break;
        }
    }
    workers.abort();
    assert_eq!(dead.len(), 1, "the message is in the dead-letter queue");
    assert!(dead[0].body().unwrap().contains(&job_id));
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn a_job_whose_worker_died_on_the_last_delivery_is_failed_by_the_sweeper() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let (user, job_id) = submitted_job(&t).await;
    let ports = runner_ports(&t);
    let sqs = &t.platform.clients.sqs;
    let queue = &t.platform.settings.jobs.queue_url;
    // The last delivery: claimed, then its worker died, and SQS moved the message to the
    // dead-letter queue instead of delivering it again.
    let received = sqs.receive_message().queue_url(queue).wait_time_seconds(5).send().await.unwrap();
    let message = received.messages.unwrap_or_default().pop().expect("the job's message");
    sqs.delete_message().queue_url(queue).receipt_handle(message.receipt_handle().unwrap()).send().await.unwrap();
    claim(&*ports.jobs, &job_id, Timestamp::now().plus(Duration::from_secs(1))).await;

    let mut config = t.platform.settings.sweeper.clone();
    config.stale_after = Duration::from_secs(1);
    let sweeper = helix_aws::wiring::sweeper(&t.platform.clients, &config);
    assert_eq!(sweeper.sweep().await.unwrap().failed_jobs, 0, "a live lease is left alone");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(sweeper.sweep().await.unwrap().failed_jobs, 1);
    assert_eq!(sweeper.sweep().await.unwrap().failed_jobs, 0, "once");
    let (_, job) = t.get(&user.token, &format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!(job["status"], "FAILED", "{job}");
    assert!(job["error"].as_str().unwrap().contains("stopped responding"));
    assert!(job["finished_at"].is_string());
}
