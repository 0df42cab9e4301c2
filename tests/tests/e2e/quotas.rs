//! Quotas and request rates over HTTP on the emulator: 50 parallel submissions at a concurrency
//! quota of 2 leave 2 jobs and 48 `quota_exceeded` answers; a platform admin sets a plan, a team's
//! admins read its usage; a caller over its request rate gets 429 with `Retry-After` and the
//! `RateLimit-*` headers.

use helix_domain::{Timestamp, User, UserStore};
use helix_e2e::{Options, StatusCode, TestPlatform, TestUser, error_of};
use serde_json::{Value, json};

async fn put_json(t: &TestPlatform, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    helix_e2e::split(t.http.put(t.url(path)).bearer_auth(token).json(body).send().await.unwrap()).await
}

fn personal(user: &TestUser) -> String {
    format!("personal-{}", user.id)
}

/// A platform admin (`is_admin`), logged in.
async fn operator(t: &TestPlatform) -> String {
    let email = format!("ops-{}@example.test", uuid::Uuid::new_v4().simple());
    let now = Timestamp::now();
    let user = User {
        email: email.clone(),
        id: helix_domain::UserId::random(),
        password_hash: helix_auth::hash_password("operator password").unwrap(),
        fullname: None,
        phone_number: None,
        web_url: None,
        is_admin: true,
        created_at: now,
        updated_at: now,
    };
    t.users().create(&user).await.unwrap();
    t.login(&email, "operator password").await
}

#[tokio::test]
async fn fifty_parallel_submissions_at_a_concurrency_quota_of_two_run_two() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let alice = t.user().await;
    let content = t.upload(&alice.token, "o.csv", "text/csv", "content", b"id\n1\n2\n").await;
    let body = json!({"content_artifact_ids": [content]});
    let mut submissions = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let request = t.http.post(t.url("/api/v1/jobs")).bearer_auth(&alice.token).json(&body);
        submissions.spawn(async move { helix_e2e::split(request.send().await.unwrap()).await });
    }
    let answers = submissions.join_all().await;
    let accepted: Vec<&Value> = answers.iter().filter(|(s, _)| *s == StatusCode::ACCEPTED).map(|(_, b)| b).collect();
    assert_eq!(accepted.len(), 2, "{answers:?}");
    for (status, refusal) in answers.iter().filter(|(s, _)| *s != StatusCode::ACCEPTED) {
        assert_eq!(*status, StatusCode::FORBIDDEN, "{refusal}");
        let error = &refusal["error"];
        assert_eq!((&error["code"], &error["quota"]), (&json!("quota_exceeded"), &json!("concurrent_jobs")));
        assert_eq!((&error["limit"], &error["usage"]), (&json!(2), &json!(2)), "{refusal}");
        assert!(error["message"].as_str().unwrap().contains("cancel"), "{refusal}");
    }
    let team = personal(&alice);
    let (_, usage) = t.get(&alice.token, &format!("/api/v1/teams/{team}/usage")).await;
    assert_eq!(usage["usage"]["concurrent_jobs"], 2, "{usage}");
    assert_eq!((&usage["plan"], &usage["limits"]["concurrent_jobs"]), (&json!("free"), &json!(2)));
    let (_, trail) = t.get(&alice.token, &format!("/api/v1/teams/{team}/audit?action=quota.exceeded")).await;
    assert!(!trail["items"].as_array().unwrap().is_empty(), "quota refusals are audited: {trail}");

    // The worker runs the two; they give back their slots and count their records.
    let worker = helix_local::spawn_job_worker(&t.platform.settings, &t.platform.clients);
    for job in &accepted {
        let done = t.wait_job(&alice.token, job["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
    }
    worker.abort();
    let (_, usage) = t.get(&alice.token, &format!("/api/v1/teams/{team}/usage")).await;
    assert_eq!((&usage["usage"]["concurrent_jobs"], &usage["usage"]["records_this_month"]), (&json!(0), &json!(4)));
    assert_eq!(t.post_json(&alice.token, "/api/v1/jobs", &body).await.0, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_platform_admin_sets_plans_and_team_admins_read_usage() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let (alice, bob) = (t.user().await, t.user().await);
    let ops = operator(&t).await;
    let team = personal(&alice);
    let plan = |limits: Value| json!({"plan": "enterprise", "limits": limits});
    let limits = json!({"concurrent_jobs": 3, "storage_bytes": 5000, "file_bytes": 1000, "records_per_month": 10});

    let (status, refused) =
        put_json(&t, &alice.token, &format!("/api/v1/teams/{team}/plan"), &plan(limits.clone())).await;
    assert_eq!((status, error_of(&refused).0.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{refused}");
    let (status, set) = put_json(&t, &ops, &format!("/api/v1/teams/{team}/plan"), &plan(limits.clone())).await;
    assert_eq!((status, &set["plan"], &set["limits"]), (StatusCode::OK, &json!("enterprise"), &limits), "{set}");
    let (status, bad) =
        put_json(&t, &ops, &format!("/api/v1/teams/{team}/plan"), &json!({"plan": "pro", "limits": limits})).await;
    assert_eq!(
        (status, error_of(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, ("unprocessable".into(), Some("limits".into())))
    );
    let (status, bad) = put_json(&t, &ops, &format!("/api/v1/teams/{team}/plan"), &json!({"plan": "gold"})).await;
    assert_eq!((status, error_of(&bad).1.as_deref()), (StatusCode::BAD_REQUEST, Some("plan")), "{bad}");
    assert_eq!(
        put_json(&t, &ops, "/api/v1/teams/no-such-team/plan", &json!({"plan": "pro"})).await.0,
        StatusCode::NOT_FOUND
    );

    let (status, usage) = t.get(&alice.token, &format!("/api/v1/teams/{team}/usage")).await;
    assert_eq!((status, &usage["limits"]), (StatusCode::OK, &limits), "{usage}");
    assert_eq!(t.get(&bob.token, &format!("/api/v1/teams/{team}/usage")).await.0, StatusCode::NOT_FOUND);

    // The plan's file size and storage, at the upload request.
    let upload =
        |size: u64| json!({"filename": "f.csv", "content_type": "text/csv", "size_bytes": size, "kind": "content"});
    let (status, refused) = t.post_json(&alice.token, "/api/v1/artifacts/upload", &upload(1001)).await;
    assert_eq!((status, &refused["error"]["quota"]), (StatusCode::FORBIDDEN, &json!("file_bytes")), "{refused}");
    for _ in 0..5 {
        assert_eq!(t.post_json(&alice.token, "/api/v1/artifacts/upload", &upload(1000)).await.0, StatusCode::CREATED);
    }
    let (status, refused) = t.post_json(&alice.token, "/api/v1/artifacts/upload", &upload(1)).await;
    assert_eq!(
        (status, &refused["error"]["quota"], &refused["error"]["usage"]),
        (StatusCode::FORBIDDEN, &json!("storage_bytes"), &json!(5000))
    );
    let (_, usage) = t.get(&alice.token, &format!("/api/v1/teams/{team}/usage")).await;
    assert_eq!(usage["usage"]["storage_bytes"], 5000);
}

fn header(response: &reqwest::Response, name: &str) -> u64 {
    response.headers()[name].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_caller_over_its_request_rate_is_answered_429_with_the_headers() {
    let t = TestPlatform::start_with(Options { workers: false, rate_limit: (1, 5), ..Default::default() }).await;
    let (alice, bob) = (t.user().await, t.user().await);
    for remaining in (0..5).rev() {
        let response = t.http.get(t.url("/api/v1/jobs")).bearer_auth(&alice.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!((header(&response, "ratelimit-limit"), header(&response, "ratelimit-remaining")), (5, remaining));
    }
    let response = t.http.get(t.url("/api/v1/teams")).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after = header(&response, "retry-after");
    assert!((55..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&response, "ratelimit-remaining"), 0);
    assert!(header(&response, "ratelimit-reset") >= retry_after);
    let (_, body) = helix_e2e::split(response).await;
    assert_eq!(error_of(&body).0, "too_many_requests");
    // Another user has a bucket of their own.
    assert_eq!(t.get(&bob.token, "/api/v1/jobs").await.0, StatusCode::OK);
}
