//! A job's live events over Server-Sent Events, on the emulator: a client that connects right
//! after submitting sees PENDING, then RUNNING with the bytes and lines read growing towards the
//! file's size, then COMPLETED, after which the stream ends. An outsider gets 404, as on
//! GET /jobs/{id}.

use std::time::Duration;

use helix_e2e::{Options, StatusCode, TestPlatform};
use serde_json::{Value, json};

/// The `(event, data)` pairs of a Server-Sent Events body, comments skipped.
fn parse_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut name = "message".to_owned();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            (!data.is_empty()).then(|| (name, serde_json::from_str(&data).expect("JSON data")))
        })
        .collect()
}

#[tokio::test]
async fn sse_delivers_pending_running_with_progress_and_completed() {
    // The worker starts once the client has the first event: PENDING is seen for sure.
    let options = Options { max_upload_bytes: 64 * 1024 * 1024, workers: false, ..Options::default() };
    let t = TestPlatform::start_with(options).await;
    let alice = t.user().await;
    let outsider = t.user().await;
    let mut csv = String::from("id,qty\n");
    for i in 0..900_000 {
        csv.push_str(&format!("r{i},{}\n", i % 1000));
    }
    let content = t.upload(&alice.token, "big.csv", "text/csv", "content", csv.as_bytes()).await;
    let context = "fields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty | int }}\"\n";
    let schema = json!({"type": "object", "properties": {"id": {"type": "string"}, "qty": {"type": "integer"}}});
    let (status, job) = t
        .post_json(
            &alice.token,
            "/api/v1/jobs",
            &json!({"content_artifact_ids": [content], "context": context, "schema": schema}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let events_url = t.url(&format!("/api/v1/jobs/{}/events", job["id"].as_str().unwrap()));

    let refused = t.http.get(&events_url).bearer_auth(&outsider.token).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);

    let mut response = t.http.get(&events_url).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut body = String::new();
    let mut worker = None;
    let read = async {
        while let Some(chunk) = response.chunk().await.unwrap() {
            body.push_str(std::str::from_utf8(&chunk).unwrap());
            if worker.is_none() && body.contains("\n\n") {
                worker = Some(helix_local::spawn_job_worker(&t.platform.settings, &t.platform.clients));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read).await.expect("the stream ends once the job has finished");

    let events = parse_events(&body);
    let statuses: Vec<&str> = events.iter().map(|(_, e)| e["status"].as_str().unwrap()).collect();
    let mut changes = statuses.clone();
    changes.dedup();
    assert_eq!(changes, ["PENDING", "RUNNING", "COMPLETED"], "{body:.2000}");
    assert_eq!(events[0].0, "status");
    let progress: Vec<&Value> =
        events.iter().filter(|(_, e)| e["status"] == "RUNNING").map(|(_, e)| &e["progress"]).collect();
    let read: Vec<u64> = progress.iter().filter_map(|p| p["bytes_read"].as_u64()).collect();
    assert!(read.iter().any(|b| *b > 0), "no progress while RUNNING: {progress:?}");
    assert!(read.windows(2).all(|w| w[0] <= w[1]), "bytes read only grow: {read:?}");
    let total = progress.iter().find_map(|p| p["bytes_total"].as_u64()).unwrap();
    assert_eq!(total, csv.len() as u64);
    assert!(progress.iter().filter_map(|p| p["lines_read"].as_u64()).any(|l| l > 0), "{progress:?}");
    let (last_kind, last) = events.last().unwrap();
    assert_eq!((last_kind.as_str(), &last["job"]["records_out"]), ("status", &json!(900_000)), "{last}");
    assert!(last["progress"].is_null());
}

#[tokio::test]
async fn a_pipelines_stream_shows_its_runs_as_they_change() {
    let t = TestPlatform::start().await;
    let alice = t.user().await;
    let outsider = t.user().await;
    let context = "fields:\n  id: \"{{ id }}\"\n";
    let (status, pipeline) = t
        .post_json(
            &alice.token,
            "/api/v1/pipelines",
            &json!({"name": "Orders", "context": context, "schema": {"type": "object"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pipeline}");
    let id = pipeline["id"].as_str().unwrap();
    let events_url = t.url(&format!("/api/v1/pipelines/{id}/events"));
    let refused = t.http.get(&events_url).bearer_auth(&outsider.token).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);

    let mut response = t.http.get(&events_url).bearer_auth(&alice.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content = t.upload(&alice.token, "orders.csv", "text/csv", "content", b"id\na\nb\n").await;
    let runs = format!("/api/v1/pipelines/{id}/runs");
    let (status, run) = t.post_json(&alice.token, &runs, &json!({"content_artifact_ids": [content]})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");

    let mut body = String::new();
    let read = async {
        while !body.contains("\"COMPLETED\"") {
            let Some(chunk) = response.chunk().await.unwrap() else { break };
            body.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read).await.expect("the run's completion within 60 s");
    let events = parse_events(&body);
    assert!(events.iter().all(|(kind, job)| kind == "run" && job["id"] == run["id"]), "{body:.2000}");
    let statuses: Vec<&str> = events.iter().map(|(_, job)| job["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.last(), Some(&"COMPLETED"), "{statuses:?}");
    assert!(statuses.windows(2).all(|w| w[0] != w[1] || w[0] == "RUNNING"), "one event per change: {statuses:?}");
}
