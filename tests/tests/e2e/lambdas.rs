//! The Lambdas tested as Lambdas: every function binary of the workspace that runs on Lambda, built
//! as it is deployed, started as its own process against a Runtime API stub (what
//! `AWS_LAMBDA_RUNTIME_API` names in a sandbox), with its settings pointing at the emulator, and
//! handed the events its event source sends: API Gateway HTTP API requests (payload format 2.0),
//! SQS batches, the schedule's EventBridge event.
//!
//! The binaries come from the same target directory as this test (`target/debug/`); `make test`
//! builds them first (`scripts/test.sh`).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use helix_aws::JWKS_OBJECT_KEY;
use helix_e2e::lambda_function::{
    LAMBDA_FUNCTIONS, LambdaFunction, function_binary, function_settings, own_profile_dir,
};
use helix_e2e::lambda_runtime_api::{
    HttpRequest, HttpResponse, SqsRecord, s3_object_created, scheduled_event, sqs_event,
};
use helix_e2e::{Options, StatusCode, TEST_JWT_SECRET, TestPlatform, error_of};
use serde_json::{Value, json};

async fn spawn(t: &TestPlatform, name: &str) -> LambdaFunction {
    LambdaFunction::spawn(&function_binary(&own_profile_dir(), name), name, &function_settings(t, name)).await
}

fn assert_status(response: &HttpResponse, status: u16, what: &str) {
    assert_eq!(response.status, status, "{what}: {}", response.text());
}

fn queue_arn(t: &TestPlatform, logical_id: &str) -> String {
    t.platform.provisioned.queue_arns.get(logical_id).unwrap_or_else(|| panic!("no queue {logical_id}")).clone()
}

/// The bucket key of a presigned upload URL, still URL-encoded as S3 events carry it.
fn encoded_key(upload_url: &str, bucket: &str) -> String {
    let path = upload_url.split_once("://").map_or(upload_url, |(_, rest)| rest);
    let path = &path[path.find('/').expect("a path")..];
    let path = path.split('?').next().unwrap();
    path.strip_prefix(&format!("/{bucket}/")).unwrap_or_else(|| panic!("{upload_url} is not path-style")).to_owned()
}

fn failed_ids(answer: &Value) -> Vec<&str> {
    answer["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures in {answer}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect()
}

/// A function added to the template is added here too (and to a test below).
#[test]
fn every_function_of_the_template_is_run_here() {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml")).unwrap();
    let built: BTreeSet<&str> =
        template.lines().filter_map(|line| line.trim().strip_prefix("Binary:")).map(str::trim).collect();
    assert_eq!(built, LAMBDA_FUNCTIONS.iter().copied().collect::<BTreeSet<_>>());
}

#[tokio::test]
async fn the_http_functions_answer_api_gateway_events() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let user = t.user().await;

    // No function's environment holds the signing secret; only auth is told where it is (an ARN
    // on the emulated Secrets Manager, provisioned from the template's JwtSecret).
    for name in LAMBDA_FUNCTIONS {
        let settings = function_settings(&t, name);
        assert!(!settings.values().any(|v| v.contains(TEST_JWT_SECRET)), "{name}'s environment holds the secret");
        assert_eq!(settings.contains_key("JWT_SIGNING_SECRET_ARN"), *name == "helix-fn-auth", "{name}");
    }
    assert!(function_settings(&t, "helix-fn-auth")["JWT_SIGNING_SECRET_ARN"].starts_with("arn:aws:secretsmanager:"));
    // The platform published its key at start; removed, so that what the verifying functions read
    // below can only be what the auth function publishes at its own start-up.
    let bucket = t.platform.provisioned.env["ARTIFACTS_BUCKET"].clone();
    let s3 = &t.platform.clients.s3;
    s3.delete_object().bucket(&bucket).key(JWKS_OBJECT_KEY).send().await.unwrap();

    let (auth, users, artifacts, jobs, web) = tokio::join!(
        spawn(&t, "helix-fn-auth"),
        spawn(&t, "helix-fn-users"),
        spawn(&t, "helix-fn-artifacts"),
        spawn(&t, "helix-fn-jobs"),
        spawn(&t, "helix-fn-web"),
    );

    // auth: health, a login (a form post, base64-encoded as HTTP APIs pass it), a wrong password.
    let health = auth.http(&HttpRequest::get("/api/v1/health")).await;
    assert_status(&health, 200, "GET /api/v1/health");
    let login = auth
        .http(&HttpRequest::post("/api/v1/auth/token").form(&[("username", &user.email), ("password", &user.password)]))
        .await;
    assert_status(&login, 200, "POST /api/v1/auth/token");
    let login = login.json();
    assert_eq!(login["token_type"].as_str().map(str::to_ascii_lowercase).as_deref(), Some("bearer"), "{login}");
    let token = login["access_token"].as_str().expect("an access token").to_owned();

    // The auth function fetched the secret, derived the same key as the platform and published
    // its public half; it serves the same key set.
    let jwks = auth.http(&HttpRequest::get("/api/v1/auth/jwks.json")).await;
    assert_status(&jwks, 200, "GET /api/v1/auth/jwks.json");
    let expected = serde_json::to_value(t.signer(TEST_JWT_SECRET).jwks()).unwrap();
    assert_eq!(jwks.json(), expected);
    let object = s3.get_object().bucket(&bucket).key(JWKS_OBJECT_KEY).send().await.expect("keys/jwks.json");
    let published: Value = serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(published, expected);
    let refused = auth
        .http(
            &HttpRequest::post("/api/v1/auth/token")
                .form(&[("username", &user.email), ("password", "not the password")]),
        )
        .await;
    assert_status(&refused, 401, "a wrong password");
    error_of(&refused.json());

    // users: the token the auth function issued opens the profile; no token, 401.
    let me = users.http(&HttpRequest::get("/api/v1/users/me").bearer(&token)).await;
    assert_status(&me, 200, "GET /api/v1/users/me");
    assert_eq!(me.json()["email"], user.email.as_str());
    let anonymous = users.http(&HttpRequest::get("/api/v1/users/me")).await;
    assert_status(&anonymous, 401, "GET /api/v1/users/me without a token");
    error_of(&anonymous.json());

    // artifacts: a presigned upload registered through the function, the bytes PUT to S3, and the
    // artifact read back through the function once the upload watcher made it AVAILABLE.
    let content = b"id,name\n1,a\n2,b\n";
    let ticket = artifacts
        .http(&HttpRequest::post("/api/v1/artifacts/upload").bearer(&token).json(&json!({
            "filename": "a.csv", "content_type": "text/csv", "size_bytes": content.len(), "kind": "content",
        })))
        .await;
    assert_status(&ticket, 201, "POST /api/v1/artifacts/upload");
    let ticket = ticket.json();
    let put = t.put_presigned(&ticket, content.to_vec()).await;
    assert!(put.status().is_success(), "PUT to the presigned URL: {}", put.status());
    let artifact_id = ticket["artifact_id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let artifact =
            artifacts.http(&HttpRequest::get(&format!("/api/v1/artifacts/{artifact_id}")).bearer(&token)).await;
        assert_status(&artifact, 200, "GET /api/v1/artifacts/{id}");
        if artifact.json()["status"] == "AVAILABLE" {
            break;
        }
        assert!(Instant::now() < deadline, "the upload never became AVAILABLE: {}", artifact.text());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let anonymous = artifacts.http(&HttpRequest::get(&format!("/api/v1/artifacts/{artifact_id}"))).await;
    assert_status(&anonymous, 401, "GET /api/v1/artifacts/{id} without a token");

    // jobs: a job on that artifact, read back; no token, 401.
    let created = jobs
        .http(&HttpRequest::post("/api/v1/jobs").bearer(&token).json(&json!({"content_artifact_ids": [artifact_id]})))
        .await;
    assert_status(&created, 202, "POST /api/v1/jobs");
    let job_id = created.json()["id"].as_str().expect("a job id").to_owned();
    let job = jobs.http(&HttpRequest::get(&format!("/api/v1/jobs/{job_id}")).bearer(&token)).await;
    assert_status(&job, 200, "GET /api/v1/jobs/{id}");
    assert_eq!(job.json()["id"], job_id.as_str());
    assert_eq!(job.json()["status"], "PENDING", "no worker runs in this test");
    let listed = jobs.http(&HttpRequest::get("/api/v1/jobs?limit=5").bearer(&token)).await;
    assert_status(&listed, 200, "GET /api/v1/jobs?limit=5");
    assert!(listed.text().contains(&job_id), "{}", listed.text());
    let anonymous = jobs.http(&HttpRequest::get(&format!("/api/v1/jobs/{job_id}"))).await;
    assert_status(&anonymous, 401, "GET /api/v1/jobs/{id} without a token");
    error_of(&anonymous.json());
    // The jobs function serves pipelines too (PIPELINES_TABLE from the template).
    let pipeline = jobs
        .http(
            &HttpRequest::post("/api/v1/pipelines")
                .bearer(&token)
                .json(&json!({"name": "Orders", "context": "fields:\n  id: \"{{ id }}\"\n"})),
        )
        .await;
    assert_status(&pipeline, 201, "POST /api/v1/pipelines");
    let pipeline_id = pipeline.json()["id"].as_str().unwrap().to_owned();
    let runs = jobs.http(&HttpRequest::get(&format!("/api/v1/jobs?pipeline_id={pipeline_id}")).bearer(&token)).await;
    assert_status(&runs, 200, "GET /api/v1/jobs?pipeline_id=");

    // web: the dashboard's page.
    let page = web.http(&HttpRequest::get("/")).await;
    assert_status(&page, 200, "GET /");
    assert!(page.header("content-type").is_some_and(|c| c.starts_with("text/html")), "{:?}", page.headers);
    assert!(page.text().to_ascii_lowercase().contains("<html"), "{}", page.text());
}

#[tokio::test]
async fn the_worker_runs_a_real_job_and_reports_only_the_bad_message() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let user = t.user().await;
    let content = t.upload(&user.token, "a.csv", "text/csv", "content", b"id,name\n1,a\n2,b\n").await;
    let (status, job) = t.post_json(&user.token, "/api/v1/jobs", &json!({"content_artifact_ids": [content]})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job_id = job["id"].as_str().unwrap().to_owned();
    let worker = spawn(&t, "helix-fn-worker").await;

    // The message the API sent, as the SQS event source would deliver it.
    let sqs = &t.platform.clients.sqs;
    let deadline = Instant::now() + Duration::from_secs(30);
    let message = loop {
        let received = sqs
            .receive_message()
            .queue_url(&t.platform.provisioned.queue_urls["JobsQueue"])
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        if let Some(m) = received.messages().iter().find(|m| m.body().is_some_and(|b| b.contains(&job_id))) {
            break m.clone();
        }
        assert!(Instant::now() < deadline, "the job's message never reached the queue");
    };
    let good = SqsRecord::received(&message);
    let bad = SqsRecord::new("not-a-job-message", "this is not a job message");
    let answer = worker.invoke(&sqs_event(&queue_arn(&t, "JobsQueue"), &[good, bad])).await;
    assert_eq!(failed_ids(&answer), ["not-a-job-message"], "{answer}");

    let done = t.wait_job(&user.token, &job_id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["records_out"], 2, "{done}");
}

#[tokio::test]
async fn the_upload_watcher_checks_an_upload_and_reports_only_the_bad_message() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let user = t.user().await;
    let bytes = b"id,name\n1,a\n";
    let (status, ticket) = t
        .post_json(
            &user.token,
            "/api/v1/artifacts/upload",
            &json!({"filename": "b.csv", "content_type": "text/csv", "size_bytes": bytes.len(), "kind": "content"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let put = t.put_presigned(&ticket, bytes.to_vec()).await;
    assert!(put.status().is_success(), "PUT to the presigned URL: {}", put.status());
    let bucket = &t.platform.provisioned.env["ARTIFACTS_BUCKET"];
    let key = encoded_key(ticket["upload_url"].as_str().unwrap(), bucket);
    let watcher = spawn(&t, "helix-fn-on-upload").await;

    // The platform's own watcher sees S3's notification too; either settles the artifact, and a
    // second check of an AVAILABLE artifact is a no-op, so the batch's answer does not depend on it.
    let good = SqsRecord::new("s3-object-created", &s3_object_created(bucket, &key, bytes.len() as u64).to_string());
    let bad = SqsRecord::new("not-an-s3-event", "this is not an S3 event");
    let answer = watcher.invoke(&sqs_event(&queue_arn(&t, "UploadEventsQueue"), &[good, bad])).await;
    assert_eq!(failed_ids(&answer), ["not-an-s3-event"], "{answer}");
    t.wait_artifact(&user.token, ticket["artifact_id"].as_str().unwrap(), "AVAILABLE").await;
}

#[tokio::test]
async fn the_sweeper_answers_its_schedule() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let sweeper = spawn(&t, "helix-fn-sweeper").await;
    let answer = sweeper.invoke(&scheduled_event("helix-sweeper")).await;
    assert!(answer.is_object(), "the sweeper's answer: {answer}");
    // A second run, warm, answers too.
    let again = sweeper.invoke(&scheduled_event("helix-sweeper")).await;
    assert!(again.is_object(), "the sweeper's second answer: {again}");
}

/// The webhook deliverer and the schedule trigger as Lambdas on their queues' events: a message
/// that is not theirs is reported for redelivery (and the dead-letter queue), one naming nothing
/// that exists is done; the events function starts with the template's settings (its streamed
/// responses are not served by the Runtime API stub).
#[tokio::test]
async fn the_webhook_schedule_and_event_functions_start_and_answer_their_queues() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let (webhooks, schedules, events) =
        tokio::join!(spawn(&t, "helix-fn-webhooks"), spawn(&t, "helix-fn-schedules"), spawn(&t, "helix-fn-events"));

    let gone = SqsRecord::new("gone", &json!({"pipeline_id": "p-none", "delivery_id": "d-none"}).to_string());
    let bad = SqsRecord::new("not-a-delivery", "this is not a delivery");
    let answer = webhooks.invoke(&sqs_event(&queue_arn(&t, "WebhookDeliveriesQueue"), &[gone, bad])).await;
    assert_eq!(failed_ids(&answer), ["not-a-delivery"], "{answer}");

    let gone = SqsRecord::new("gone", &json!({"pipeline_id": "p-none", "schedule_id": "s-none"}).to_string());
    let bad = SqsRecord::new("not-a-fire", "this is not a schedule's wake-up");
    let answer = schedules.invoke(&sqs_event(&queue_arn(&t, "ScheduleFiresQueue"), &[gone, bad])).await;
    assert_eq!(failed_ids(&answer), ["not-a-fire"], "{answer}");

    events.api.wait_ready(Duration::from_secs(30)).await.unwrap_or_else(|e| panic!("{e}: {}", events.log_tail(20)));
}
