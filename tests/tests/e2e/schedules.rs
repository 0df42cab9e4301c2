//! Pipeline schedules on the emulator: a schedule made through the API shows its next run; a
//! slot missed while the platform was down (its `next_run_at` three slots in the past) fires
//! exactly once, through the platform's poll and the same firing code as the cloud's, and the
//! run completes; the next slot is ahead again.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use helix_domain::Timestamp;
use helix_e2e::{StatusCode, TestPlatform, TestUser};
use serde_json::{Value, json};

const CSV: &[u8] = b"id,qty\na,1\nb,2\n";
const CONTEXT: &str = "fields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n";

async fn runs(t: &TestPlatform, user: &TestUser, pipeline: &str) -> Vec<Value> {
    let (status, page) = t.get(&user.token, &format!("/api/v1/jobs?pipeline_id={pipeline}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_missed_slot_fires_once_when_the_platform_is_back() {
    let t = TestPlatform::start().await;
    let alice = t.user().await;
    let schema = json!({"type": "object", "required": ["id", "qty"],
        "properties": {"id": {"type": "string"}, "qty": {"type": "integer"}}});
    let (status, pipeline) = t
        .post_json(&alice.token, "/api/v1/pipelines", &json!({"name": "Orders", "context": CONTEXT, "schema": schema}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pipeline}");
    let id = pipeline["id"].as_str().unwrap().to_owned();
    let content = t.upload(&alice.token, "orders.csv", "text/csv", "content", CSV).await;
    let schedules = format!("/api/v1/pipelines/{id}/schedules");

    let (status, refused) = t
        .post_json(
            &alice.token,
            &schedules,
            &json!({"expression": "every minute", "input": {"content_artifact_ids": [content]}}),
        )
        .await;
    assert_eq!(
        (status, &refused["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("expression")),
        "{refused}"
    );
    let (status, refused) = t
        .post_json(
            &alice.token,
            &schedules,
            &json!({"expression": "0 6 * * *", "timezone": "Nowhere/Else", "input": {"content_artifact_ids": [content]}}),
        )
        .await;
    assert_eq!(
        (status, &refused["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("timezone")),
        "{refused}"
    );

    let made = Timestamp::now();
    let body = json!({"expression": "rate(1 minute)", "timezone": "Europe/Berlin", "input": {"content_artifact_ids": [content]}});
    let (status, schedule) = t.post_json(&alice.token, &schedules, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{schedule}");
    let next = Timestamp::parse(schedule["next_run_at"].as_str().unwrap()).unwrap();
    assert!((59.0..=61.0).contains(&next.seconds_since(&made)), "{schedule}");
    let (status, listed) = t.get(&alice.token, &schedules).await;
    assert_eq!((status, &listed["items"][0]["id"]), (StatusCode::OK, &schedule["id"]), "{listed}");
    assert!(runs(&t, &alice, &id).await.is_empty());

    // The platform "was down" for three slots: the stored next slot is three minutes ago.
    let missed = Timestamp::now().minus(Duration::from_secs(180));
    t.platform
        .clients
        .dynamodb
        .update_item()
        .table_name(&t.platform.settings.jobs.pipelines_table)
        .key("pipeline_id", AttributeValue::S(id.clone()))
        .key("sk", AttributeValue::S(format!("SCHEDULE#{}", schedule["id"].as_str().unwrap())))
        .update_expression("SET next_run_at = :missed")
        .expression_attribute_values(":missed", AttributeValue::S(missed.to_string()))
        .send()
        .await
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let run = loop {
        if let Some(run) = runs(&t, &alice, &id).await.pop() {
            break run;
        }
        assert!(Instant::now() < deadline, "the missed slot did not fire within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(run["name"], "Orders (scheduled)", "{run}");
    let done = t.wait_job(&alice.token, run["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    // Three more polls: still one run for the three missed slots.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(runs(&t, &alice, &id).await.len(), 1);
    let (_, listed) = t.get(&alice.token, &schedules).await;
    let stored = &listed["items"][0];
    assert_eq!(stored["last_job_id"], run["id"], "{stored}");
    let next = Timestamp::parse(stored["next_run_at"].as_str().unwrap()).unwrap();
    assert!(next > Timestamp::now(), "the next slot is ahead: {stored}");

    let delete = t.http.delete(t.url(&format!("{schedules}/{}", schedule["id"].as_str().unwrap())));
    assert_eq!(delete.bearer_auth(&alice.token).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(t.get(&alice.token, &schedules).await.1["items"], json!([]));
}

/// Sets the schedule's next slot a minute in the past, as if the platform had been down.
async fn make_due(t: &TestPlatform, pipeline: &str, schedule: &str) {
    let missed = Timestamp::now().minus(Duration::from_secs(60));
    t.platform
        .clients
        .dynamodb
        .update_item()
        .table_name(&t.platform.settings.jobs.pipelines_table)
        .key("pipeline_id", AttributeValue::S(pipeline.to_owned()))
        .key("sk", AttributeValue::S(format!("SCHEDULE#{schedule}")))
        .update_expression("SET next_run_at = :missed")
        .expression_attribute_values(":missed", AttributeValue::S(missed.to_string()))
        .send()
        .await
        .unwrap();
}

/// The schedule once it has fired after `after` and recorded what the firing started.
async fn fired_after(t: &TestPlatform, user: &TestUser, schedules: &str, after: Timestamp) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, listed) = t.get(&user.token, schedules).await;
        let stored = listed["items"][0].clone();
        if let Some(fired) = stored["last_fired_at"].as_str().and_then(Timestamp::parse)
            && fired >= after
            && !stored["last_run_count"].is_null()
        {
            return stored;
        }
        assert!(Instant::now() < deadline, "the schedule did not fire within 30 s: {stored}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_schedule_reading_an_inbox_folder_runs_the_files_waiting_there_once() {
    let t = TestPlatform::start().await;
    let alice = t.user().await;
    let schema = json!({"type": "object", "required": ["id", "qty"],
        "properties": {"id": {"type": "string"}, "qty": {"type": "integer"}}});
    let (status, pipeline) = t
        .post_json(&alice.token, "/api/v1/pipelines", &json!({"name": "Nightly", "context": CONTEXT, "schema": schema}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pipeline}");
    let id = pipeline["id"].as_str().unwrap().to_owned();
    let schedules = format!("/api/v1/pipelines/{id}/schedules");
    for (input, field) in [
        (json!({"inbox_prefix": "../other"}), "input.inbox_prefix"),
        (json!({"inbox_prefix": "nightly", "content_artifact_ids": ["a1"]}), "input"),
    ] {
        let (status, refused) =
            t.post_json(&alice.token, &schedules, &json!({"expression": "rate(1 hour)", "input": input})).await;
        assert_eq!(
            (status, &refused["error"]["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!(field)),
            "{refused}"
        );
    }
    let body = json!({"expression": "rate(1 hour)", "input": {"inbox_prefix": "nightly"}});
    let (status, schedule) = t.post_json(&alice.token, &schedules, &body).await;
    assert_eq!((status, &schedule["input"]), (StatusCode::CREATED, &json!({"inbox_prefix": "nightly"})), "{schedule}");
    let schedule_id = schedule["id"].as_str().unwrap().to_owned();

    // Nothing waiting: the firing is recorded and starts nothing.
    let before = Timestamp::now();
    make_due(&t, &id, &schedule_id).await;
    let stored = fired_after(&t, &alice, &schedules, before).await;
    assert_eq!((&stored["last_run_count"], &stored["last_error"]), (&json!(0), &Value::Null), "{stored}");
    assert!(runs(&t, &alice, &id).await.is_empty());

    // A file put into the folder with the plain SDK waits there: no run on arrival.
    let (s3, bucket) = (&t.platform.clients.s3, &t.platform.settings.artifacts.bucket);
    let key = format!("inbox/{}/{id}/nightly/ORDERS_1.csv", pipeline["team_id"].as_str().unwrap());
    s3.put_object().bucket(bucket).key(&key).body(CSV.to_vec().into()).send().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(runs(&t, &alice, &id).await.is_empty(), "a file in a folder starts no run on arrival");
    assert!(s3.head_object().bucket(bucket).key(&key).send().await.is_ok());

    let before = Timestamp::now();
    make_due(&t, &id, &schedule_id).await;
    let stored = fired_after(&t, &alice, &schedules, before).await;
    assert_eq!(stored["last_run_count"], 1, "{stored}");
    let run = runs(&t, &alice, &id).await.pop().expect("the file's run");
    assert_eq!(stored["last_job_id"], run["id"], "{stored}");
    let done = t.wait_job(&alice.token, run["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert!(s3.head_object().bucket(bucket).key(&key).send().await.is_err(), "the file left the folder");
    let processed = format!(
        "processed/{}/{id}/{}/ORDERS_1.csv",
        pipeline["team_id"].as_str().unwrap(),
        run["id"].as_str().unwrap()
    );
    assert!(s3.head_object().bucket(bucket).key(&processed).send().await.is_ok(), "{processed}");

    // The same bytes put there again: the next firing starts no run.
    s3.put_object().bucket(bucket).key(&key).body(CSV.to_vec().into()).send().await.unwrap();
    let before = Timestamp::now();
    make_due(&t, &id, &schedule_id).await;
    let stored = fired_after(&t, &alice, &schedules, before).await;
    assert_eq!(stored["last_run_count"], 0, "{stored}");
    assert_eq!(runs(&t, &alice, &id).await.len(), 1);
}
