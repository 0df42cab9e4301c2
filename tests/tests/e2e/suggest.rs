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

/// A second file of the same source: the columns renamed and reordered.
const MORE_ORDERS: &[u8] = b"Kunde;Waehrung;Belegnummer;Nettowert;Anlagedatum\n\
0000100555;EUR;0000012400;10,00;20240401\n\
0000100871;USD;0000012401;1.500,00;20240402\n\
0000100990;EUR;0000012402;7,25;20240403\n";

#[tokio::test]
async fn a_confirmed_draft_is_remembered_for_the_next_file_of_the_source() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let schema = order_schema();
    let schema_id =
        t.upload(&user.token, "order.schema.json", "application/json", "schema", schema.to_string().as_bytes()).await;
    let suggest = |file: &'static str, bytes: &'static [u8]| {
        let (t, token, schema_id) = (&t, user.token.clone(), schema_id.clone());
        async move {
            let content = t.upload(&token, file, "text/csv", "content", bytes).await;
            let body =
                json!({"kind": "suggest-mapping", "content_artifact_ids": [content], "schema_artifact_id": schema_id});
            let (status, job) = t.post_json(&token, "/api/v1/jobs", &body).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{job}");
            let job = t.wait_job(&token, job["id"].as_str().unwrap()).await;
            assert_eq!(job["status"], "COMPLETED", "{job}");
            let report: Value =
                serde_json::from_slice(&t.download(&token, job["error_report_artifact_id"].as_str().unwrap()).await)
                    .unwrap();
            (job, report, content)
        }
    };
    let (job, report, content) = suggest("orders.csv", ORDERS).await;
    let id = job["id"].as_str().unwrap();
    assert_eq!(report["columns"].as_array().unwrap().len(), 6, "{report:#}");
    let confirm = format!("/api/v1/jobs/{id}/draft/confirm");

    // Bad decisions are refused by name, and nothing is remembered.
    for (body, status, field) in [
        (json!({"decisions": [{"field": "shoe_size", "decision": "accept"}]}), 422, "decisions[0].field"),
        (json!({"decisions": [{"field": "currency", "decision": "change"}]}), 422, "decisions[0].source"),
        (
            json!({"decisions": [{"field": "currency", "decision": "change", "source": "NOPE"}]}),
            422,
            "decisions[0].source",
        ),
        (json!({"decisions": [{"field": "loyalty_tier", "decision": "accept"}]}), 422, "decisions[0].decision"),
        (
            json!({"decisions": [{"field": "currency", "decision": "accept"}, {"field": "currency", "decision": "reject"}]}),
            422,
            "decisions[1].field",
        ),
        (json!({"decisions": [{"field": "currency", "decision": "maybe"}]}), 400, "decisions[0].decision"),
        (
            json!({"decisions": [{"field": "currency", "decision": "accept", "value_map": {"EUR": [1]}}]}),
            422,
            "decisions[0].value_map",
        ),
    ] {
        let (got, answer) = t.post_json(&user.token, &confirm, &body).await;
        assert_eq!((got.as_u16(), error_of(&answer).1.as_deref()), (status, Some(field)), "{body}: {answer}");
    }
    let team = job["team_id"].as_str().unwrap();
    let memory = format!("/api/v1/teams/{team}/mapping-memory");
    assert_eq!(t.get(&user.token, &memory).await.1, json!([]));

    // Accept the draft, but the currency through an edited value map, and reject the tier.
    let body = json!({"decisions": [
        {"field": "currency", "decision": "accept", "value_map": {"eur": "EUR"}},
        {"field": "loyalty_tier", "decision": "reject"}
    ]});
    let (status, confirmed) = t.post_json(&user.token, &confirm, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{confirmed}");
    assert_eq!(confirmed["unmapped"], json!(["loyalty_tier"]), "{confirmed}");
    let remembered: Vec<(&str, &str)> = confirmed["remembered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["target"].as_str().unwrap(), e["column"].as_str().unwrap()))
        .collect();
    assert_eq!(
        remembered,
        [
            ("order_number", "VBELN"),
            ("customer_id", "KUNNR"),
            ("order_date", "ERDAT"),
            ("net_value", "NETWR"),
            ("currency", "WAERS")
        ]
    );
    let (_, listed) = t.get(&user.token, &memory).await;
    assert_eq!(listed.as_array().unwrap().len(), 5, "{listed}");
    assert_eq!(listed[0]["confirmed_by"], user.email.as_str());

    // The confirmed context is the user's to run.
    let context = confirmed["context_artifact_id"].as_str().unwrap();
    let (status, transform) = t
        .post_json(
            &user.token,
            "/api/v1/jobs",
            &json!({"content_artifact_ids": [content], "context_artifact_id": context, "schema_artifact_id": schema_id}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{transform}");
    let transform = t.wait_job(&user.token, transform["id"].as_str().unwrap()).await;
    assert_eq!(
        (transform["status"].as_str(), transform["records_out"].as_u64()),
        (Some("COMPLETED"), Some(3)),
        "{transform}"
    );

    // The next file of the source: every column renamed and moved, each found again.
    let (_, second, _) = suggest("orders-april.csv", MORE_ORDERS).await;
    let mapped: Vec<(&str, Option<&str>, bool)> = second["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["target"].as_str().unwrap(), f["source"].as_str(), f["remembered"] == true))
        .collect();
    assert_eq!(
        mapped,
        [
            ("order_number", Some("Belegnummer"), true),
            ("customer_id", Some("Kunde"), true),
            ("order_date", Some("Anlagedatum"), true),
            ("net_value", Some("Nettowert"), true),
            ("currency", Some("Waehrung"), true),
            ("loyalty_tier", None, false),
        ],
        "{second:#}"
    );
    let evidence = second["fields"][1]["candidates"][0]["evidence"].as_str().unwrap();
    assert!(
        evidence.starts_with(&format!("confirmed by {} on ", user.email)) && evidence.contains("for KUNNR"),
        "{evidence}"
    );

    // Forgotten: gone from the list; twice is a 404. Viewers and outsiders see nothing.
    let entry = listed[0]["id"].as_str().unwrap();
    let forget = |entry: &str| {
        let (t, token, path) = (&t, user.token.clone(), format!("{memory}/{entry}"));
        async move { t.http.delete(t.url(&path)).bearer_auth(token).send().await.unwrap().status() }
    };
    assert_eq!(forget(entry).await, StatusCode::NO_CONTENT);
    assert_eq!(forget(entry).await, StatusCode::NOT_FOUND);
    assert_eq!(t.get(&user.token, &memory).await.1.as_array().unwrap().len(), 4);
    let outsider = t.user().await;
    assert_eq!(t.get(&outsider.token, &memory).await.0, StatusCode::NOT_FOUND);
    let (status, _) = t.post_json(&outsider.token, &confirm, &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Only a suggest-mapping job has a draft.
    let (status, answer) = t
        .post_json(
            &user.token,
            &format!("/api/v1/jobs/{}/draft/confirm", transform["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
}
