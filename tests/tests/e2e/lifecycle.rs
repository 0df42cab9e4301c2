//! The job lifecycle end to end over HTTP: the original platform's QA workflow, the same through
//! presigned uploads, listings, profile, docs.

use helix_e2e::{StatusCode, TestPlatform, error_of};
use serde_json::{Value, json};

const ORDERS_CSV: &str = "order_no;customer;qty\nA-1;  Acme ;3\nA-2;Globex;x\n";
const CONTEXT: &str = "fields:\n  order: '{{ order_no }}'\n  customer: '{{ customer | trim }}'\n  qty: '{{ qty }}'\n";
const SCHEMA: &str = r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
  "required": ["order", "customer", "qty"],
  "properties": {"order": {"type": "string"}, "customer": {"type": "string"}, "qty": {"type": "string", "pattern": "^[0-9]+$"}}}"#;

#[tokio::test]
async fn qa_workflow_through_the_api() {
    let t = TestPlatform::start().await;
    let user = t.user().await;

    let (status, list) = t.get(&user.token, "/api/v1/jobs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"], json!([]));

    let form = reqwest::multipart::Form::new()
        .part("content_file", reqwest::multipart::Part::bytes(ORDERS_CSV.as_bytes().to_vec()).file_name("orders.csv"))
        .part("context_file", reqwest::multipart::Part::bytes(CONTEXT.as_bytes().to_vec()).file_name("context.yaml"))
        .text("name", "QA run");
    let response =
        t.http.post(t.url("/api/v1/jobs/upload")).bearer_auth(&user.token).multipart(form).send().await.unwrap();
    let (status, job) = helix_e2e::split(response).await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(job["status"], "PENDING");
    assert_eq!(job["name"], "QA run");

    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert!(job["result_path"].as_str().unwrap().ends_with("/result.json"));
    assert_eq!((job["records_in"].as_u64(), job["records_out"].as_u64()), (Some(2), Some(2)));
    assert!(job["started_at"].is_string() && job["finished_at"].is_string());

    let result: Value =
        serde_json::from_slice(&t.download(&user.token, job["result_artifact_id"].as_str().unwrap()).await).unwrap();
    assert_eq!(
        result,
        json!([{"order": "A-1", "customer": "Acme", "qty": "3"}, {"order": "A-2", "customer": "Globex", "qty": "x"}])
    );

    let (_, list) = t.get(&user.token, "/api/v1/jobs").await;
    assert_eq!(list["items"][0]["id"], job["id"]);

    // Deleted with its outputs: the job and its result are gone, a second delete finds nothing.
    let path = format!("/api/v1/jobs/{}", job["id"].as_str().unwrap());
    let deleted = t.http.delete(t.url(&path)).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(t.get(&user.token, &path).await.0, StatusCode::NOT_FOUND);
    let result = format!("/api/v1/artifacts/{}", job["result_artifact_id"].as_str().unwrap());
    assert_eq!(t.get(&user.token, &result).await.0, StatusCode::NOT_FOUND);
    let (status, body) =
        helix_e2e::split(t.http.delete(t.url(&path)).bearer_auth(&user.token).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn presigned_upload_workflow_with_schema_and_rejects() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let content = t.upload(&user.token, "orders.csv", "text/csv", "content", ORDERS_CSV.as_bytes()).await;
    let context = t.upload(&user.token, "context.yaml", "application/yaml", "context", CONTEXT.as_bytes()).await;
    let schema = t.upload(&user.token, "schema.json", "application/schema+json", "schema", SCHEMA.as_bytes()).await;

    let (status, job) = t
        .post_json(
            &user.token,
            "/api/v1/jobs",
            &json!({"content_artifact_ids": [content], "context_artifact_id": context, "schema_artifact_id": schema}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["status"], "PENDING");

    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert_eq!((job["records_out"].as_u64(), job["records_rejected"].as_u64()), (Some(1), Some(1)));

    let result: Value =
        serde_json::from_slice(&t.download(&user.token, job["result_artifact_id"].as_str().unwrap()).await).unwrap();
    assert_eq!(result, json!([{"order": "A-1", "customer": "Acme", "qty": "3"}]));
    let report: Value =
        serde_json::from_slice(&t.download(&user.token, job["error_report_artifact_id"].as_str().unwrap()).await)
            .unwrap();
    let reject = &report["rejects"][0];
    assert_eq!((reject["line"].as_u64(), reject["record"].as_u64()), (Some(3), Some(2)), "{report}");
    assert_eq!(reject["pointer"], "/qty");
    assert_eq!(reject["input"], "orders.csv");

    let (_, result_artifact) =
        t.get(&user.token, &format!("/api/v1/artifacts/{}", job["result_artifact_id"].as_str().unwrap())).await;
    assert_eq!(result_artifact["kind"], "result");
    assert_eq!(result_artifact["job_id"], job["id"]);
}

#[tokio::test]
async fn inline_context_and_schema_and_no_context_conversion() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let content = t
        .upload(&user.token, "lines.ndjson", "application/x-ndjson", "content", b"{\"a\": 1}\n{\"a\": \"two\"}\n")
        .await;
    let schema: Value = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
    let (status, job) =
        t.post_json(&user.token, "/api/v1/jobs", &json!({"content_artifact_ids": [content], "schema": schema})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert_eq!((job["records_out"].as_u64(), job["records_rejected"].as_u64()), (Some(1), Some(1)));
    let result: Value =
        serde_json::from_slice(&t.download(&user.token, job["result_artifact_id"].as_str().unwrap()).await).unwrap();
    assert_eq!(result, json!([{"a": 1}]));
}

/// A context's `lookups:` read CSV artifacts the job lists in `lookup_artifact_ids`, matched by
/// file name; a job missing one, or listing a file the context does not read, is refused.
#[tokio::test]
async fn lookup_tables_come_from_the_jobs_lookup_artifacts() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let content =
        t.upload(&user.token, "orders.csv", "text/csv", "content", b"order;plant\nA-1;DE01\nA-2;XX99\n").await;
    let plants = t.upload(&user.token, "plants.csv", "text/csv", "content", b"PLANT;CITY\nDE01;Hamburg\n").await;
    let context = "lookups:\n  plants: { file: plants.csv, key: PLANT }\n\
        fields:\n  order: '{{ order }}'\n  city: \"{{ lookup('plants', plant, 'CITY') or 'unknown' }}\"\n";
    let submit =
        |lookups: Value| json!({"content_artifact_ids": [content], "context": context, "lookup_artifact_ids": lookups});

    let (status, body) = t.post_json(&user.token, "/api/v1/jobs", &submit(json!([]))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_of(&body).1.as_deref(), Some("lookup_artifact_ids"));
    assert!(body["error"]["message"].as_str().unwrap().contains("plants.csv"), "{body}");
    for (listed, field) in
        [(json!([plants, content]), "lookup_artifact_ids[1]"), (json!([plants, plants]), "lookup_artifact_ids[1]")]
    {
        let (status, body) = t.post_json(&user.token, "/api/v1/jobs", &submit(listed)).await;
        assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{body}");
    }

    let (status, job) = t.post_json(&user.token, "/api/v1/jobs", &submit(json!([plants]))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["inputs"]["lookup_artifact_ids"], json!([plants]));
    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    let result: Value =
        serde_json::from_slice(&t.download(&user.token, job["result_artifact_id"].as_str().unwrap()).await).unwrap();
    assert_eq!(result, json!([{"order": "A-1", "city": "Hamburg"}, {"order": "A-2", "city": "unknown"}]));

    // A table without its key column fails the job, naming the file and the column.
    let keyless = t.upload(&user.token, "plants.csv", "text/csv", "content", b"CODE;CITY\nDE01;Hamburg\n").await;
    let (status, job) = t.post_json(&user.token, "/api/v1/jobs", &submit(json!([keyless]))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "FAILED", "{job}");
    let error = job["error"].as_str().unwrap_or_default();
    assert!(error.contains("plants.csv") && error.contains("PLANT"), "{job}");
}

#[tokio::test]
async fn listing_is_newest_first_filtered_paged_and_private() {
    let t = TestPlatform::start_with(helix_e2e::Options { workers: false, ..Default::default() }).await;
    let (alice, bob) = (t.user().await, t.user().await);
    t.put_on_plan(&alice, helix_domain::Plan::Pro).await;
    let content = t.upload(&alice.token, "a.csv", "text/csv", "content", b"x\n1\n").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, job) =
            t.post_json(&alice.token, "/api/v1/jobs", &json!({"content_artifact_ids": [content]})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    ids.reverse();

    let (_, first) = t.get(&alice.token, "/api/v1/jobs?limit=2").await;
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    let (_, second) = t.get(&alice.token, &format!("/api/v1/jobs?limit=2&cursor={cursor}")).await;
    let listed: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids);

    let (_, pending) = t.get(&alice.token, "/api/v1/jobs?status=PENDING").await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 3);
    let (_, completed) = t.get(&alice.token, "/api/v1/jobs?status=COMPLETED").await;
    assert_eq!(completed["items"], json!([]));

    let (_, theirs) = t.get(&bob.token, "/api/v1/jobs").await;
    assert_eq!(theirs["items"], json!([]));
    // Alice's cursor does not open Bob's view of her listing.
    let (status, body) = t.get(&bob.token, &format!("/api/v1/jobs?limit=2&cursor={cursor}")).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::BAD_REQUEST, Some("cursor")));

    for (query, field) in [
        ("status=DONE", "status"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("cursor=%%%", "cursor"),
        ("sort=asc", "sort"),
    ] {
        let (status, body) = t.get(&alice.token, &format!("/api/v1/jobs?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(error_of(&body).1.as_deref(), Some(field), "{query}");
    }
}

#[tokio::test]
async fn profile_can_be_read_and_edited_with_validation() {
    let t = TestPlatform::start_with(helix_e2e::Options { workers: false, ..Default::default() }).await;
    let user = t.user().await;
    let (status, me) = t.get(&user.token, "/api/v1/users/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], user.email.as_str());

    let update = |body: Value| {
        let t = &t;
        let token = user.token.clone();
        async move {
            helix_e2e::split(t.http.put(t.url("/api/v1/users/me")).bearer_auth(token).json(&body).send().await.unwrap())
                .await
        }
    };
    let (status, me) = update(
        json!({"fullname": "Grace Hopper", "phone_number": "+1 (202) 555-0100", "web_url": "https://example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!((me["fullname"].as_str(), me["phone_number"].as_str()), (Some("Grace Hopper"), Some("+12025550100")));

    for (body, field) in [
        (json!({"web_url": "ftp://example.com"}), "web_url"),
        (json!({"phone_number": "555-0100"}), "phone_number"),
        (json!({"fullname": "x".repeat(201)}), "fullname"),
    ] {
        let (status, error) = update(body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error_of(&error).1.as_deref(), Some(field));
    }
    // A form with three mistakes learns all three from one answer.
    let (status, error) =
        update(json!({"fullname": "x".repeat(201), "phone_number": "555-0100", "web_url": "ftp://example.com"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let fields: Vec<_> = error["error"]["errors"].as_array().unwrap().iter().map(|e| e["field"].clone()).collect();
    assert_eq!(fields, ["fullname", "phone_number", "web_url"], "{error}");
    assert_eq!(error_of(&error).1.as_deref(), Some("fullname"));
    let (status, error) = update(json!({"email": "new@example.com"})).await;
    assert_eq!((status, error_of(&error).1.as_deref()), (StatusCode::BAD_REQUEST, Some("email")));
    let (_, me) = t.get(&user.token, "/api/v1/users/me").await;
    assert_eq!(me["web_url"], "https://example.com");
}

#[tokio::test]
async fn health_openapi_and_swagger_ui_are_served() {
    let t = TestPlatform::start_with(helix_e2e::Options { workers: false, ..Default::default() }).await;
    let health: Value = t.http.get(t.url("/api/v1/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let doc: Value = t.http.get(t.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for path in
        ["/api/v1/auth/token", "/api/v1/jobs", "/api/v1/jobs/{id}", "/api/v1/artifacts/upload", "/api/v1/users/me"]
    {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    assert_eq!(doc["components"]["securitySchemes"]["oauth2"]["flows"]["password"]["tokenUrl"], "/api/v1/auth/token");
    let ui = t.http.get(t.url("/api/v1/docs/")).send().await.unwrap();
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap().contains("swagger"));
}

#[tokio::test]
async fn suggest_mapping_jobs_go_to_the_gpu_queue() {
    let t = TestPlatform::start_with(helix_e2e::Options { workers: false, ..Default::default() }).await;
    let user = t.user().await;
    let content = t.upload(&user.token, "a.csv", "text/csv", "content", b"CUST_NO,ERDAT\n1,01.02.2026\n").await;
    let (status, body) = t
        .post_json(
            &user.token,
            "/api/v1/jobs",
            &json!({"kind": "suggest-mapping", "content_artifact_ids": [content], "context": "fields: {}"}),
        )
        .await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("context")));
    let (status, job) = t
        .post_json(&user.token, "/api/v1/jobs", &json!({"kind": "suggest-mapping", "content_artifact_ids": [content]}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["kind"], "suggest-mapping");
    let sqs = &t.platform.clients.sqs;
    let gpu = sqs
        .receive_message()
        .queue_url(&t.platform.settings.jobs.gpu_queue_url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let bodies: Vec<String> = gpu.messages().iter().filter_map(|m| m.body().map(str::to_owned)).collect();
    assert_eq!(bodies, vec![json!({"job_id": job["id"]}).to_string()]);
    let jobs =
        sqs.receive_message().queue_url(&t.platform.settings.jobs.queue_url).wait_time_seconds(1).send().await.unwrap();
    assert!(jobs.messages().is_empty(), "nothing on the transform queue");
}
