//! `/metrics`: after a job, the local platform serves the job and API metrics in Prometheus' text
//! format, recorded by the same code that writes CloudWatch EMF in Lambda.

use helix_e2e::{StatusCode, TestPlatform};
use helix_jobs::metering::UsageLedger;
use serde_json::json;

const CSV: &str = "order_no;qty\nA-1;3\nA-2;x\n";
const CONTEXT: &str = "fields:\n  order: '{{ order_no }}'\n  qty: '{{ qty }}'\n";
const SCHEMA: &str = r#"{"type": "object", "required": ["order", "qty"],
  "properties": {"order": {"type": "string"}, "qty": {"type": "string", "pattern": "^[0-9]+$"}}}"#;

/// The value of the series whose line starts with `series` (name and labels, as rendered).
fn value_of(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_expose_the_jobs_and_the_api_after_a_job() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let content = t.upload(&user.token, "orders.csv", "text/csv", "content", CSV.as_bytes()).await;
    let context = t.upload(&user.token, "context.yaml", "application/yaml", "context", CONTEXT.as_bytes()).await;
    let schema = t.upload(&user.token, "schema.json", "application/schema+json", "schema", SCHEMA.as_bytes()).await;
    let body = json!({"content_artifact_ids": [content], "context_artifact_id": context, "schema_artifact_id": schema});
    let (status, job) = t.post_json(&user.token, "/api/v1/jobs", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let job = t.wait_job(&user.token, &id).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert_eq!(job["records_rejected"], 1, "{job}");

    let response = t.http.get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();

    // Other tests share the process and its registry: this job's figures are the least there is.
    let at_least = |series: &str, least: f64| {
        let value = value_of(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
        assert!(value >= least, "{series} = {value}, expected at least {least}");
    };
    at_least(r#"helix_jobs_settled_total{kind="transform",status="completed"}"#, 1.0);
    at_least(r#"helix_job_records_in_total{kind="transform"}"#, 2.0);
    at_least(r#"helix_job_records_out_total{kind="transform"}"#, 1.0);
    at_least(r#"helix_job_records_rejected_total{kind="transform"}"#, 1.0);
    at_least("helix_job_input_bytes_total", CSV.len() as f64);
    at_least(r#"helix_job_duration_seconds_count{kind="transform",status="completed"}"#, 1.0);
    at_least(r#"helix_job_queue_wait_seconds_count{kind="transform"}"#, 1.0);
    at_least(r#"helix_job_attempts_count{kind="transform"}"#, 1.0);
    at_least(r#"helix_cold_starts_total{function="local"}"#, 1.0);
    // Per route template and status class, never per id.
    at_least(r#"helix_api_requests_total{route="/api/v1/jobs/{id}",method="GET",status_class="2xx"}"#, 1.0);
    at_least(r#"helix_api_requests_total{route="/api/v1/jobs",method="POST",status_class="2xx"}"#, 1.0);
    at_least(
        r#"helix_api_request_duration_seconds{route="/api/v1/jobs/{id}",method="GET",status_class="2xx",quantile="0.95"}"#,
        0.0,
    );
    assert!(!text.contains(&id), "a job id in the metrics");

    // The API metered the submission (its message sent) and the worker its attempt (the message
    // received and deleted, two outputs put): once each, whatever the deliveries.
    let settings = &t.platform.settings;
    let ledger = helix_aws::DynamoUsageLedger::new(t.platform.clients.dynamodb.clone(), &settings.worker.usage_table);
    let usage = ledger.job_usage(&id.as_str().into()).await.unwrap();
    assert_eq!((usage.sqs_requests, usage.s3_put_requests), (1 + 2, 2), "{usage:?}");

    // A job that is not there: its id stays out of the labels too.
    let missing = uuid::Uuid::new_v4().to_string();
    let (status, _) = t.get(&user.token, &format!("/api/v1/jobs/{missing}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let text = t.http.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let series = r#"helix_api_requests_total{route="/api/v1/jobs/{id}",method="GET",status_class="4xx"}"#;
    assert!(value_of(&text, series).is_some_and(|n| n >= 1.0), "no {series} in\n{text}");
    assert!(!text.contains(&missing));
}
