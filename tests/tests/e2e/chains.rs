//! Chained pipelines over HTTP on the emulator, the job worker advancing the run from each
//! step's end (SQS job queue, DynamoDB conditional writes): a fan-in completes with the upstream
//! results as its content in declared order; a middle step that fails leaves the run FAILED naming
//! it and the step after it SKIPPED, and a retry runs those two only; bad steps are refused by
//! field.

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use helix_domain::ArtifactStore;
use helix_e2e::{StatusCode, TestPlatform, TestUser, error_of};
use serde_json::{Value, json};

const CSV: &[u8] = b"id,qty\na,1\nb,2\n";
const CONTEXT: &str = "fields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n";
/// The same mapping with the ids marked, so two steps' results differ.
const MARKED_CONTEXT: &str = "fields:\n  id: \"b-{{ id }}\"\n  qty: \"{{ qty }}\"\n";

fn schema() -> Value {
    json!({"type": "object", "required": ["id", "qty"],
        "properties": {"id": {"type": "string"}, "qty": {"type": "integer"}}})
}

fn step(name: &str, context: &str, after: &[&str]) -> Value {
    json!({"name": name, "context": context, "schema": schema(), "after": after})
}

async fn chained(t: &TestPlatform, user: &TestUser, steps: Value) -> String {
    let (status, pipeline) =
        t.post_json(&user.token, "/api/v1/pipelines", &json!({"name": "Chain", "steps": steps})).await;
    assert_eq!(status, StatusCode::CREATED, "{pipeline}");
    pipeline["id"].as_str().unwrap().to_owned()
}

async fn start(t: &TestPlatform, user: &TestUser, pipeline: &str) -> Value {
    let content = t.upload(&user.token, "orders.csv", "text/csv", "content", CSV).await;
    let runs = format!("/api/v1/pipelines/{pipeline}/runs");
    let (status, run) = t.post_json(&user.token, &runs, &json!({"content_artifact_ids": [content]})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    run
}

/// The run once it is no longer RUNNING (60 s at most).
async fn settled(t: &TestPlatform, user: &TestUser, pipeline: &str, run: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, read) = t.get(&user.token, &format!("/api/v1/pipelines/{pipeline}/runs/{run}")).await;
        assert_eq!(status, StatusCode::OK, "{read}");
        if read["status"] != "RUNNING" {
            return read;
        }
        assert!(Instant::now() < deadline, "the run is still RUNNING: {read}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn step_of<'a>(run: &'a Value, name: &str) -> &'a Value {
    run["steps"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()
}

#[tokio::test]
async fn a_fan_in_chain_completes_with_its_upstream_results_in_order() {
    let t = TestPlatform::start().await;
    let alice = t.user().await;
    let steps = json!([step("a", CONTEXT, &[]), step("b", MARKED_CONTEXT, &[]), step("c", CONTEXT, &["a", "b"])]);
    let id = chained(&t, &alice, steps).await;
    let run = start(&t, &alice, &id).await;
    assert_eq!(run["status"], "RUNNING", "{run}");
    assert_eq!(step_of(&run, "c")["status"], "WAITING", "{run}");

    let done = settled(&t, &alice, &id, run["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let job = |name: &str| step_of(&done, name)["job_id"].as_str().unwrap().to_owned();
    let (_, c) = t.get(&alice.token, &format!("/api/v1/jobs/{}", job("c"))).await;
    let mut results = Vec::new();
    for name in ["a", "b"] {
        let (_, upstream) = t.get(&alice.token, &format!("/api/v1/jobs/{}", job(name))).await;
        assert_eq!(upstream["pipeline_id"], json!(id), "{upstream}");
        results.push(upstream["result_artifact_id"].clone());
    }
    assert_eq!(c["inputs"]["content_artifact_ids"], json!(results), "{c}");
    let records: Value =
        serde_json::from_slice(&t.download(&alice.token, c["result_artifact_id"].as_str().unwrap()).await).unwrap();
    let ids: Vec<&str> = records.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "b-a", "b-b"]);
}

#[tokio::test]
async fn a_failed_middle_step_skips_the_rest_and_a_retry_completes_only_those() {
    let t = TestPlatform::start().await;
    let alice = t.user().await;
    let steps = json!([step("a", CONTEXT, &[]), step("b", MARKED_CONTEXT, &["a"]), step("c", CONTEXT, &["b"])]);
    let id = chained(&t, &alice, steps).await;

    // Step b's context is taken out of storage (plain SDK): its job is refused when a completes.
    let (_, version) = t.get(&alice.token, &format!("/api/v1/pipelines/{id}/versions/1")).await;
    let context_id = version["steps"][1]["context_artifact_id"].as_str().unwrap().to_owned();
    let artifacts =
        helix_aws::DynamoArtifactStore::new(t.platform.clients.dynamodb.clone(), &t.platform.settings.artifacts.table);
    let key = artifacts.get(&context_id.as_str().into()).await.unwrap().unwrap().s3_key;
    let (s3, bucket) = (&t.platform.clients.s3, &t.platform.settings.artifacts.bucket);
    let bytes = s3.get_object().bucket(bucket).key(&key).send().await.unwrap().body.collect().await.unwrap();
    s3.delete_object().bucket(bucket).key(&key).send().await.unwrap();

    let run = start(&t, &alice, &id).await;
    let run_id = run["id"].as_str().unwrap().to_owned();
    let failed = settled(&t, &alice, &id, &run_id).await;
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert!(failed["error"].as_str().unwrap().starts_with("step b failed"), "{failed}");
    let statuses: Vec<&Value> = ["a", "b", "c"].iter().map(|s| &step_of(&failed, s)["status"]).collect();
    assert_eq!(statuses, [&json!("COMPLETED"), &json!("FAILED"), &json!("SKIPPED")], "{failed}");
    let a_job = step_of(&failed, "a")["job_id"].clone();

    // Back in place, a retry runs b and c, and not a.
    s3.put_object().bucket(bucket).key(&key).body(ByteStream::from(bytes.into_bytes())).send().await.unwrap();
    let retry = format!("/api/v1/pipelines/{id}/runs/{run_id}/retry");
    let (status, retried) = t.post_json(&alice.token, &retry, &json!({})).await;
    assert_eq!((status, &retried["retries"]), (StatusCode::ACCEPTED, &json!(1)), "{retried}");
    let done = settled(&t, &alice, &id, &run_id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(step_of(&done, "a")["job_id"], a_job, "a's result is reused");
    assert_eq!((&step_of(&done, "b")["attempt"], &step_of(&done, "c")["attempt"]), (&json!(2), &json!(2)));
    let (_, a) = t.get(&alice.token, &format!("/api/v1/jobs/{}", a_job.as_str().unwrap())).await;
    assert_eq!(a["attempts"], 1, "{a}");
    let (status, again) = t.post_json(&alice.token, &retry, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "only a FAILED run is retried: {again}");
    let cancel = format!("/api/v1/pipelines/{id}/runs/{run_id}/cancel");
    let (status, refused) = t.post_json(&alice.token, &cancel, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a finished run is not cancelled: {refused}");

    // A run cancelled while it runs: its steps' jobs cancelled, the steps not yet run skipped.
    let run = start(&t, &alice, &id).await;
    let run_id = run["id"].as_str().unwrap().to_owned();
    let cancel = format!("/api/v1/pipelines/{id}/runs/{run_id}/cancel");
    let (status, cancelled) = t.post_json(&alice.token, &cancel, &json!({})).await;
    assert_eq!((status, &cancelled["status"]), (StatusCode::OK, &json!("CANCELLED")), "{cancelled}");
    let (_, stored) = t.get(&alice.token, &format!("/api/v1/pipelines/{id}/runs/{run_id}")).await;
    assert_eq!(stored["status"], "CANCELLED", "{stored}");
    assert_eq!(step_of(&stored, "c")["status"], "SKIPPED", "{stored}");
    // Step a's job is cancelled with the run, unless it completed first (a two-line file maps in
    // milliseconds, and the run is written CANCELLED before its jobs are told): either way the
    // job ends, and the step shows how.
    let job_path = format!("/api/v1/jobs/{}", step_of(&stored, "a")["job_id"].as_str().unwrap());
    let run_path = format!("/api/v1/pipelines/{id}/runs/{run_id}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (job, stored) = loop {
        let (_, job) = t.get(&alice.token, &job_path).await;
        let (_, stored) = t.get(&alice.token, &run_path).await;
        let ended = matches!(job["status"].as_str(), Some("CANCELLED" | "COMPLETED"));
        if (ended && step_of(&stored, "a")["status"] == job["status"]) || std::time::Instant::now() > deadline {
            break (job, stored);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(matches!(job["status"].as_str(), Some("CANCELLED" | "COMPLETED")), "{job}");
    assert_eq!(step_of(&stored, "a")["status"], job["status"], "{stored}");
    assert_eq!(stored["status"], "CANCELLED", "{stored}");
    let (status, again) = t.post_json(&alice.token, &cancel, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
}

#[tokio::test]
async fn bad_steps_are_refused_naming_the_field() {
    let t = TestPlatform::start().await;
    let alice = t.user().await;
    let refused = |steps: Value| {
        let (t, token) = (&t, alice.token.clone());
        async move {
            let (status, body) =
                t.post_json(&token, "/api/v1/pipelines", &json!({"name": "Chain", "steps": steps})).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            error_of(&body).1.unwrap()
        }
    };
    let unknown = json!([step("a", CONTEXT, &[]), step("b", CONTEXT, &[]), step("c", CONTEXT, &["x"])]);
    assert_eq!(refused(unknown).await, "steps[2].after");
    let cycle = json!([step("a", CONTEXT, &["b"]), step("b", CONTEXT, &["a"])]);
    assert!(refused(cycle).await.ends_with("].after"));
    let twice = json!([step("a", CONTEXT, &[]), step("a", CONTEXT, &[])]);
    assert_eq!(refused(twice).await, "steps[1].name");
    let bad_context = json!([step("a", "fields: [", &[])]);
    assert_eq!(refused(bad_context).await, "steps[0].context");
    let unknown_run =
        format!("/api/v1/pipelines/{}/runs/nope", chained(&t, &alice, json!([step("a", CONTEXT, &[])])).await);
    assert_eq!(t.get(&alice.token, &unknown_run).await.0, StatusCode::NOT_FOUND);
}
