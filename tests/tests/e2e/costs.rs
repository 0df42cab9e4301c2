//! Costs over HTTP on the emulator: after a fixed set of jobs the team's cost equals the price
//! table's hand-computed total to the cent; a job shows its cost; the bill's export is ingested
//! once and a corrected re-issue replaces its period; a spent hard-stopping budget refuses jobs,
//! and each threshold reaches the team's webhooks once, signed.

use helix_domain::{JobKind, PipelineId, TeamId, Timestamp, User};
use helix_e2e::{StatusCode, TestPlatform, TestUser, error_of};
use helix_jobs::metering::{Architecture, Compute, UsageEvent, UsageLedger};
use serde_json::{Value, json};

const CSV: &str = "order_no;qty\nA-1;3\nA-2;4\n";
const CONTEXT: &str = "fields:\n  order: '{{ order_no }}'\n  qty: '{{ qty }}'\n";
const SCHEMA: &str = r#"{"type": "object", "required": ["order", "qty"],
  "properties": {"order": {"type": "string"}, "qty": {"type": "string"}}}"#;
const EXPORT: &str = include_str!("../../../shared/jobs/tests/fixtures/focus-2026-11.csv");
const REISSUE: &str = include_str!("../../../shared/jobs/tests/fixtures/focus-2026-11-reissue.csv");

async fn platform_admin(t: &TestPlatform) -> TestUser {
    let email = format!("{}@example.test", uuid::Uuid::new_v4().simple());
    let password = "correct horse battery staple".to_owned();
    let now = Timestamp::now();
    let user = User {
        email: email.clone(),
        id: helix_domain::UserId::random(),
        password_hash: helix_auth::hash_password(&password).unwrap(),
        fullname: Some("Platform Admin".into()),
        phone_number: None,
        web_url: None,
        is_admin: true,
        created_at: now,
        updated_at: now,
    };
    helix_domain::UserStore::create(&t.users(), &user).await.unwrap();
    let token = t.login(&email, &password).await;
    TestUser { id: user.id.to_string(), email, password, token }
}

fn ledger(t: &TestPlatform) -> helix_aws::DynamoUsageLedger {
    helix_aws::DynamoUsageLedger::new(t.platform.clients.dynamodb.clone(), &t.platform.settings.jobs.usage_table)
}

/// A job's one worker event: `compute`, and a fixed set of requests.
fn fixed_event(job: &str, team: &TeamId, pipeline: &str, compute: Compute, records: u64) -> UsageEvent {
    UsageEvent {
        job_id: job.into(),
        attempt: 1,
        function: "job-worker".into(),
        sequence: 0,
        team_id: team.clone(),
        user_id: "fixed".into(),
        pipeline_id: Some(PipelineId::from(pipeline)),
        kind: JobKind::Transform,
        at: Timestamp::now(),
        compute: Some(compute),
        s3_put_requests: 2_000,
        s3_get_requests: 10_000,
        s3_bytes_stored: 2 * 1024 * 1024 * 1024,
        s3_bytes_out: 1024 * 1024 * 1024,
        sqs_requests: 1_000_000,
        dynamodb_read_units: 400_000,
        dynamodb_write_units: 800_000,
        records,
    }
}

/// Today, and a range around it that a run crossing midnight still falls in.
fn range() -> (String, String) {
    let now = Timestamp::now();
    let day = |t: Timestamp| t.to_string()[..10].to_owned();
    (day(now.minus(std::time::Duration::from_secs(86_400))), day(now.plus(std::time::Duration::from_secs(86_400))))
}

async fn run_job(t: &TestPlatform, user: &TestUser) -> Value {
    let content = t.upload(&user.token, "orders.csv", "text/csv", "content", CSV.as_bytes()).await;
    let body = json!({"content_artifact_ids": [content], "context": CONTEXT, "schema": serde_json::from_str::<Value>(SCHEMA).unwrap()});
    let (status, job) = t.post_json(&user.token, "/api/v1/jobs", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    job
}

#[tokio::test]
async fn costs_after_a_fixed_set_of_jobs_equal_the_hand_computed_total_to_the_cent() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let team = TeamId::personal(&user.id.as_str().into());

    // Two real jobs through the platform: metered by the API and the worker (requests only, no
    // Lambda here: fractions of a cent).
    let job = run_job(&t, &user).await;
    run_job(&t, &user).await;
    let (status, read) = t.get(&user.token, &format!("/api/v1/jobs/{}", job["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["cost"]["price_table"], "2026-11-01", "{read}");
    assert!(read["cost"]["breakdown"]["sqs"].as_f64().unwrap() > 0.0, "{read}");
    let (_, list) = t.get(&user.token, "/api/v1/jobs").await;
    assert!(list["items"].as_array().unwrap().iter().all(|j| j["cost"]["total_usd"].as_f64().unwrap() > 0.0), "{list}");

    // The fixed set: three jobs of the team's two pipelines, applied to the ledger as the worker
    // would (and again, as a redelivery would: no change).
    let events = [
        fixed_event(
            "fixed-1",
            &team,
            "orders",
            Compute::Lambda { memory_mb: 2048, duration_ms: 1_800_000, architecture: Architecture::Arm64 },
            1_000_000,
        ),
        fixed_event(
            "fixed-2",
            &team,
            "orders",
            Compute::Lambda { memory_mb: 1024, duration_ms: 600_000, architecture: Architecture::X86_64 },
            500_000,
        ),
        fixed_event(
            "fixed-3",
            &team,
            "invoices",
            Compute::Gpu { instance_type: "g5.xlarge".into(), duration_ms: 3 * 3_600_000 },
            0,
        ),
    ];
    for event in events.iter().chain(events.iter()) {
        ledger(&t).apply(event).await.unwrap();
    }
    // By hand from infra/prices.yaml:
    //   Lambda arm64 2 GB × 1800 s = 3600 GB-s × 0.0000133334 = 0.04800024
    //   Lambda x86 1 GB × 600 s = 600 GB-s × 0.0000166667 = 0.01000002; 2 requests × 0.20/1e6
    //   GPU g5.xlarge 3 h × 1.006 = 3.018
    //   per job: S3 2 GiB stored 0.046, 2000 PUT 0.01, 10000 GET 0.004, 1 GiB out 0.09;
    //   SQS 1e6 × 0.40/1e6 = 0.40; DynamoDB 0.4e6 × 0.125/1e6 + 0.8e6 × 0.625/1e6 = 0.55
    //   = 1.10 per job, 3.30 for three. Total 0.04800024 + 0.01000002 + 0.0000004 + 3.018 + 3.30
    //   = 6.37600066 → 6.38 USD, the two real jobs adding well under a cent.
    let (from, to) = range();
    let (status, report) = t.get(&user.token, &format!("/api/v1/costs?group_by=team&from={from}&to={to}")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["groups"][0]["key"], team.as_str(), "{report}");
    assert_eq!(format!("{:.2}", report["total_usd"].as_f64().unwrap()), "6.38", "{report}");
    assert_eq!(report["price_table"], "2026-11-01");

    let (_, pipelines) = t.get(&user.token, &format!("/api/v1/costs?group_by=pipeline&from={from}&to={to}")).await;
    let group = |key: &str| pipelines["groups"].as_array().unwrap().iter().find(|g| g["key"] == key).cloned().unwrap();
    // orders: 0.04800024 + 0.01000002 + 0.0000004 + 2 × 1.10 = 2.25800066, over 1.5 M records.
    let orders = group("orders");
    assert_eq!(format!("{:.2}", orders["total_usd"].as_f64().unwrap()), "2.26", "{orders}");
    assert_eq!(orders["records"], 1_500_000);
    assert_eq!(format!("{:.4}", orders["usd_per_million_records"].as_f64().unwrap()), "1.5053", "{orders}");
    assert_eq!(format!("{:.3}", group("invoices")["total_usd"].as_f64().unwrap()), "4.118");
    assert_eq!(group("none")["records"], 4, "the two real jobs' records");

    let response =
        t.http.get(t.url(&format!("/api/v1/costs.csv?group_by=pipeline&from={from}&to={to}"))).bearer_auth(&user.token);
    let response = response.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = response.text().await.unwrap();
    assert!(csv.starts_with("pipeline,total_usd,records,usd_per_million_records,"), "{csv}");
    assert!(csv.contains("\r\ninvoices,4.118"), "{csv}");

    // Every parameter is checked by name; another user sees none of this team's costs.
    for (query, field) in
        [("group_by=week", "group_by"), ("from=2026-13-01", "from"), ("to=soon", "to"), ("sort=asc", "sort")]
    {
        let (status, body) = t.get(&user.token, &format!("/api/v1/costs?{query}")).await;
        assert!(status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST, "{query}: {status}");
        assert_eq!(error_of(&body).1.as_deref(), Some(field), "{query}: {body}");
    }
    let other = t.user().await;
    let (_, theirs) = t.get(&other.token, &format!("/api/v1/costs?from={from}&to={to}")).await;
    assert_eq!(theirs["groups"], json!([]), "{theirs}");
    let (status, body) = t.get(&other.token, &format!("/api/v1/costs?team_id={team}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn a_cost_export_is_ingested_once_and_a_corrected_reissue_replaces_its_period() {
    let t = TestPlatform::start().await;
    let admin = platform_admin(&t).await;
    let export = t.upload(&admin.token, "focus-2026-11.csv", "text/csv", "content", EXPORT.as_bytes()).await;
    let ingest = |id: String| {
        let (t, token) = (&t, admin.token.clone());
        async move { t.post_json(&token, "/api/v1/costs/billing-exports", &json!({"artifact_id": id})).await }
    };
    let (status, first) = ingest(export.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first["periods"],
        json!([{"period": "2026-11", "outcome": "stored", "billed_usd": first["periods"][0]["billed_usd"]}])
    );
    assert_eq!(format!("{:.6}", first["periods"][0]["billed_usd"].as_f64().unwrap()), "3.990437");
    let (_, again) = ingest(export.clone()).await;
    assert_eq!((&again["checksum"], &again["periods"][0]["outcome"]), (&first["checksum"], &json!("unchanged")));

    let path = "/api/v1/costs/reconciliation?from=2026-11-01&to=2026-11-30";
    let (status, reconciled) = t.get(&admin.token, path).await;
    assert_eq!(status, StatusCode::OK, "{reconciled}");
    assert_eq!(format!("{:.6}", reconciled["billed_usd"].as_f64().unwrap()), "3.990437");
    let row = |r: &Value, component: &str| {
        r["days"].as_array().unwrap().iter().find(|d| d["day"] == "2026-11-02" && d["component"] == component).cloned()
    };
    assert_eq!(format!("{:.6}", row(&reconciled, "gpu").unwrap()["billed_usd"].as_f64().unwrap()), "2.012000");
    assert!(row(&reconciled, "untagged").is_some());

    let reissue = t.upload(&admin.token, "focus-2026-11-v2.csv", "text/csv", "content", REISSUE.as_bytes()).await;
    let (_, replaced) = ingest(reissue).await;
    assert_eq!(replaced["periods"][0]["outcome"], "stored", "{replaced}");
    let (_, reconciled) = t.get(&admin.token, path).await;
    assert_eq!(format!("{:.6}", reconciled["billed_usd"].as_f64().unwrap()), "3.851326", "{reconciled}");
    assert!(row(&reconciled, "untagged").is_none(), "the re-issue has no untagged row: {reconciled}");
    // The first file again puts its figures back: it is the period's latest word now.
    let (_, back) = ingest(export).await;
    assert_eq!(back["periods"][0]["outcome"], "stored");

    // Only platform admins; a broken export names its line.
    let user = t.user().await;
    let own = t.upload(&user.token, "focus.csv", "text/csv", "content", EXPORT.as_bytes()).await;
    let (status, body) = t.post_json(&user.token, "/api/v1/costs/billing-exports", &json!({"artifact_id": own})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let broken = EXPORT.replace("2.012000", "two");
    let broken = t.upload(&admin.token, "broken.csv", "text/csv", "content", broken.as_bytes()).await;
    let (status, body) = ingest(broken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_of(&body).1.as_deref(), Some("artifact_id"));
    assert!(body["error"]["message"].as_str().unwrap().contains("line 4"), "{body}");
}

#[tokio::test]
async fn a_spent_hard_stopping_budget_refuses_new_jobs_and_notifies_once_per_threshold() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let team = TeamId::personal(&user.id.as_str().into());
    let put = |body: Value| {
        let (t, token, team) = (&t, user.token.clone(), team.clone());
        async move {
            let response = t.http.put(t.url(&format!("/api/v1/teams/{team}/budget"))).bearer_auth(token).json(&body);
            helix_e2e::split(response.send().await.unwrap()).await
        }
    };
    let (status, body) = put(json!({"monthly_usd": -3})).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("monthly_usd")));
    // A pipeline of the team with a webhook: told of each threshold, through the webhook queue.
    let (status, pipeline) = t
        .post_json(
            &user.token,
            "/api/v1/pipelines",
            &json!({"name": "Orders", "context": CONTEXT, "schema": serde_json::from_str::<Value>(SCHEMA).unwrap()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pipeline}");
    let hooks = format!("/api/v1/pipelines/{}/webhooks", pipeline["id"].as_str().unwrap());
    let (url, received) = receiver().await;
    let (status, webhook) = t.post_json(&user.token, &hooks, &json!({"url": url})).await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    let (status, budget) = put(json!({"monthly_usd": 1.0, "hard_stop": true})).await;
    assert_eq!((status, budget["state"].as_str()), (StatusCode::OK, Some("ok")), "{budget}");

    // 0.85 USD of SQS requests this month: over 80 %.
    let spend = |job: &str, requests: u64| UsageEvent {
        sqs_requests: requests,
        s3_put_requests: 0,
        s3_get_requests: 0,
        s3_bytes_stored: 0,
        s3_bytes_out: 0,
        dynamodb_read_units: 0,
        dynamodb_write_units: 0,
        compute: None,
        ..fixed_event(job, &team, "orders", Compute::Gpu { instance_type: "none".into(), duration_ms: 0 }, 0)
    };
    ledger(&t).apply(&spend("spend-1", 2_125_000)).await.unwrap();
    let (_, budget) = t.get(&user.token, &format!("/api/v1/teams/{team}/budget")).await;
    assert_eq!(budget["state"], "warning", "{budget}");
    run_job(&t, &user).await;
    ledger(&t).apply(&spend("spend-2", 500_000)).await.unwrap();
    let content = t.upload(&user.token, "orders.csv", "text/csv", "content", CSV.as_bytes()).await;
    let body = json!({"content_artifact_ids": [content], "context": CONTEXT});
    let (status, refused) = t.post_json(&user.token, "/api/v1/jobs", &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(error_of(&refused).0, "budget_exceeded");
    let (_, refused_again) = t.post_json(&user.token, "/api/v1/jobs", &body).await;
    assert_eq!(error_of(&refused_again).0, "budget_exceeded");

    let (_, audit) = t.get(&user.token, &format!("/api/v1/teams/{team}/audit?action=budget.threshold")).await;
    let targets: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["target"].as_str().unwrap()).collect();
    let month = &Timestamp::now().to_string()[..7];
    assert_eq!(targets, [format!("{month}:100%"), format!("{month}:80%")], "{audit}");

    // The receiver got each threshold once, signed with the webhook's secret.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while received.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let posts = received.lock().unwrap().clone();
    let thresholds: Vec<u64> = posts
        .iter()
        .map(|(signature, body)| {
            let now = Timestamp::now().unix();
            let fresh = std::time::Duration::from_secs(300);
            assert_eq!(helix_jobs::verify(&secret, signature, body, now, fresh), Ok(()), "{body}");
            let event: Value = serde_json::from_str(body).unwrap();
            assert_eq!(
                (event["type"].as_str(), event["team_id"].as_str()),
                (Some("budget.threshold"), Some(team.as_str()))
            );
            event["threshold_percent"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(thresholds, [80, 100], "one delivery per threshold: {posts:?}");
    let (_, log) = t.get(&user.token, &format!("{hooks}/deliveries")).await;
    let events: Vec<(&str, &str, &Value)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["event"].as_str().unwrap(), d["status"].as_str().unwrap(), &d["job_id"]))
        .collect();
    assert_eq!(events.len(), 2, "{log}");
    assert!(events.iter().all(|e| *e == ("budget.threshold", "DELIVERED", &Value::Null)), "{log}");
}

/// A webhook receiver answering 200: each POST's signature and body.
async fn receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>) {
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let signature = headers.get("helix-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
                seen.lock().unwrap().push((signature.to_owned(), body));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}
