//! A suggest-mapping job runs end to end through the GPU queue and the GPU worker (on the CPU,
//! with the real model from .venv), and its draft context runs as a normal transform job; a
//! transform job with `auto_map` has the required fields its context leaves unmapped proposed.

use helix_e2e::{StatusCode, TestPlatform, error_of, split};
use serde_json::{Value, json};

const ORDERS: &[u8] = b"VBELN;KUNNR;ERDAT;NETWR;WAERS;Bemerkung\n\
0000012345;0000100234;20240301;1.234,50;EUR;eilig\n\
0000012346;0000100871;20240302;99,90;EUR;\n\
0000012347;0000100912;20240305;2.750,00;USD;\n";

fn order_schema() -> Value {
    json!({
        "type": "object",
        "required": ["order_number", "customer_id", "order_date", "net_value", "currency"],
        "properties": {
            "order_number": {"type": "string", "description": "Sales document number"},
            "customer_id": {"type": "string"},
            "order_date": {"type": "string", "format": "date"},
            "net_value": {"type": "number"},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "loyalty_tier": {"type": "string", "enum": ["gold", "silver"]}
        }
    })
}

#[tokio::test]
async fn a_suggested_mapping_runs_as_a_transform_job() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let schema = order_schema();
    let content = t.upload(&user.token, "orders.csv", "text/csv", "content", ORDERS).await;
    let schema_id =
        t.upload(&user.token, "order.schema.json", "application/json", "schema", schema.to_string().as_bytes()).await;
    let (status, job) = t
        .post_json(
            &user.token,
            "/api/v1/jobs",
            &json!({"kind": "suggest-mapping", "content_artifact_ids": [content], "schema_artifact_id": schema_id}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert_eq!(job["result_path"], format!("results/{}/context.yaml", job["id"].as_str().unwrap()));

    let report: Value =
        serde_json::from_slice(&t.download(&user.token, job["error_report_artifact_id"].as_str().unwrap()).await)
            .unwrap();
    let mapped: Vec<(&str, Option<&str>)> = report["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["target"].as_str().unwrap(), f["source"].as_str()))
        .collect();
    assert_eq!(
        mapped,
        [
            ("order_number", Some("VBELN")),
            ("customer_id", Some("KUNNR")),
            ("order_date", Some("ERDAT")),
            ("net_value", Some("NETWR")),
            ("currency", Some("WAERS")),
            ("loyalty_tier", None),
        ],
        "{report:#}"
    );
    // The best candidate and three alternatives.
    assert_eq!(report["fields"][0]["candidates"].as_array().unwrap().len(), 4, "{report:#}");
    assert_eq!(job["records_out"], 5);
    assert_eq!(job["records_rejected"], 1);

    // The draft is a context artifact of the user's: submit it as it is.
    let draft = job["result_artifact_id"].as_str().unwrap();
    let (status, transform) = t
        .post_json(
            &user.token,
            "/api/v1/jobs",
            &json!({"content_artifact_ids": [content], "context_artifact_id": draft, "schema_artifact_id": schema_id}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{transform}");
    let transform = t.wait_job(&user.token, transform["id"].as_str().unwrap()).await;
    assert_eq!(
        (transform["status"].as_str(), transform["records_out"].as_u64()),
        (Some("COMPLETED"), Some(3)),
        "{transform}"
    );
    let records: Value =
        serde_json::from_slice(&t.download(&user.token, transform["result_artifact_id"].as_str().unwrap()).await)
            .unwrap();
    assert_eq!(
        records[0],
        json!({"order_number": "0000012345", "customer_id": "0000100234", "order_date": "2024-03-01", "net_value": 1234.5, "currency": "EUR"})
    );
}

#[tokio::test]
async fn unreadable_content_fails_the_suggestion_with_a_reason() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let content = t.upload(&user.token, "broken.csv", "text/csv", "content", b"A;B\n1;\"unterminated\n").await;
    let (status, job) = t
        .post_json(&user.token, "/api/v1/jobs", &json!({"kind": "suggest-mapping", "content_artifact_ids": [content]}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "FAILED", "{job}");
    assert!(job["error"].as_str().unwrap().contains("unterminated"), "{job}");
}

#[tokio::test]
async fn auto_map_fills_in_the_required_fields_a_context_leaves_unmapped() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let content = t.upload(&user.token, "orders.csv", "text/csv", "content", ORDERS).await;
    let schema = t
        .upload(&user.token, "order.schema.json", "application/json", "schema", order_schema().to_string().as_bytes())
        .await;
    // No customer_id, no order_date.
    let context = "fields:\n  order_number: \"{{ VBELN }}\"\n  net_value: \"{{ NETWR | decimal('de') }}\"\n  currency: \"{{ WAERS }}\"\n";
    let (status, job) = t
        .post_json(
            &user.token,
            "/api/v1/jobs",
            &json!({"content_artifact_ids": [content], "schema_artifact_id": schema, "context": context, "auto_map": true}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["auto_map"], true);
    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert_eq!((job["records_out"].as_u64(), job["records_rejected"].as_u64()), (Some(3), Some(0)), "{job}");

    let proposed: Vec<(&str, &str)> = job["auto_mapped_fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["source"].as_str().unwrap()))
        .collect();
    assert_eq!(proposed, [("customer_id", "KUNNR"), ("order_date", "ERDAT")], "{job}");
    assert!(
        job["auto_mapped_fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["score"].as_f64().is_some_and(|s| s > 0.4 && s <= 1.0)),
        "{job}"
    );

    let merged =
        String::from_utf8(t.download(&user.token, job["auto_map_context_artifact_id"].as_str().unwrap()).await)
            .unwrap();
    assert!(merged.contains("customer_id") && merged.contains("KUNNR") && merged.contains("order_number"), "{merged}");
    let records: Value =
        serde_json::from_slice(&t.download(&user.token, job["result_artifact_id"].as_str().unwrap()).await).unwrap();
    assert_eq!(
        records[0],
        json!({"order_number": "0000012345", "net_value": 1234.5, "currency": "EUR", "customer_id": "0000100234", "order_date": "2024-03-01"})
    );
}

#[tokio::test]
async fn auto_map_is_refused_where_it_cannot_apply() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let content = t.upload(&user.token, "orders.csv", "text/csv", "content", ORDERS).await;
    let schema = order_schema();
    for body in [
        json!({"kind": "suggest-mapping", "content_artifact_ids": [content], "schema": schema, "auto_map": true}),
        json!({"content_artifact_ids": [content], "context": "fields: {a: b}", "auto_map": true}),
        json!({"content_artifact_ids": [content], "schema": schema, "auto_map": true}),
    ] {
        let (status, answer) = t.post_json(&user.token, "/api/v1/jobs", &body).await;
        assert_eq!(
            (status, error_of(&answer).1.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("auto_map")),
            "{body}: {answer}"
        );
    }
    let (status, answer) =
        t.post_json(&user.token, "/api/v1/jobs", &json!({"content_artifact_ids": [content], "auto_map": "yes"})).await;
    assert_eq!((status, error_of(&answer).1.as_deref()), (StatusCode::BAD_REQUEST, Some("auto_map")), "{answer}");

    // The same rules for the multipart upload.
    let form = |auto_map: &str, with_context: bool| {
        let part =
            |bytes: &[u8], name: &str| reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned());
        let form = reqwest::multipart::Form::new()
            .part("content_file", part(ORDERS, "orders.csv"))
            .part("schema_file", part(schema.to_string().as_bytes(), "s.json"))
            .text("auto_map", auto_map.to_owned());
        if with_context {
            form.part("context_file", part(b"fields: {order_id: '{{ BELNR }}'}", "c.yaml"))
        } else {
            form
        }
    };
    let upload = |form| async {
        split(t.http.post(t.url("/api/v1/jobs/upload")).bearer_auth(&user.token).multipart(form).send().await.unwrap())
            .await
    };
    let (status, answer) = upload(form("true", false)).await;
    assert_eq!(
        (status, error_of(&answer).1.as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("auto_map")),
        "{answer}"
    );
    let (status, answer) = upload(form("maybe", true)).await;
    assert_eq!((status, error_of(&answer).1.as_deref()), (StatusCode::BAD_REQUEST, Some("auto_map")), "{answer}");
    let (status, job) = upload(form("true", true)).await;
    assert_eq!((status, job["auto_map"].as_bool()), (StatusCode::CREATED, Some(true)), "{job}");
}
