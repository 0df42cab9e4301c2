//! Pipeline webhooks on the emulator: a run's end goes through the template's webhook queue to a
//! receiver that is down for its first three attempts (503); the fourth, after the backoff kept
//! the message out of sight on the queue (base 1 s here: 1, 2, 4 s), brings the event once, with
//! a signature the secret shown at registration verifies. Every attempt is in the delivery log.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use helix_e2e::{StatusCode, TestPlatform};
use serde_json::{Value, json};

const CSV: &[u8] = b"id,qty\na,1\nb,2\n";
const CONTEXT: &str = "fields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n";

/// What the receiver saw: each request's signature header and body, and how it answered.
#[derive(Default)]
struct Received {
    requests: Vec<(Option<String>, Option<String>, String, u16)>,
}

/// Answers 503 to the first `down_for` requests, 200 after.
async fn receiver(down_for: usize) -> (String, Arc<Mutex<Received>>) {
    let received = Arc::new(Mutex::new(Received::default()));
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                let status = if seen.requests.len() < down_for { 503 } else { 200 };
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                seen.requests.push((header("helix-signature"), header("helix-delivery"), body, status));
                AxumStatus::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn a_receiver_down_for_three_attempts_gets_the_signed_event_once_it_is_up() {
    let t = TestPlatform::start().await;
    let alice = t.user().await;
    let outsider = t.user().await;
    let schema = json!({"type": "object", "required": ["id", "qty"],
        "properties": {"id": {"type": "string"}, "qty": {"type": "integer"}}});
    let (status, pipeline) = t
        .post_json(&alice.token, "/api/v1/pipelines", &json!({"name": "Orders", "context": CONTEXT, "schema": schema}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pipeline}");
    let id = pipeline["id"].as_str().unwrap();
    let hooks = format!("/api/v1/pipelines/{id}/webhooks");

    // Loopback receivers are allowed on the dev platform (WEBHOOK_ALLOW_LOOPBACK); never the
    // network around it: the metadata address, private ranges, unique-local IPv6.
    for url in [
        "ftp://example.test/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/x",
        "https://[fd00::1]/x",
    ] {
        let (status, refused) = t.post_json(&alice.token, &hooks, &json!({"url": url})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {refused}");
        assert_eq!(refused["error"]["field"], "url", "{refused}");
    }
    let (status, _) = t.post_json(&outsider.token, &hooks, &json!({"url": "https://example.test/x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (url, received) = receiver(3).await;
    let (status, webhook) = t.post_json(&alice.token, &hooks, &json!({"url": url})).await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    let secret = webhook["secret"].as_str().expect("the secret, shown once").to_owned();
    let (status, listed) = t.get(&alice.token, &hooks).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["items"][0]["id"], webhook["id"]);
    assert!(listed["items"][0].get("secret").is_none(), "{listed}");

    let content = t.upload(&alice.token, "orders.csv", "text/csv", "content", CSV).await;
    let (status, run) = t
        .post_json(&alice.token, &format!("/api/v1/pipelines/{id}/runs"), &json!({"content_artifact_ids": [content]}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let job = t.wait_job(&alice.token, run["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");

    let deadline = Instant::now() + Duration::from_secs(60);
    while received.lock().unwrap().requests.iter().all(|r| r.3 != 200) {
        assert!(Instant::now() < deadline, "no successful delivery within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Nothing more comes once it is delivered.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let requests = received.lock().unwrap().requests.clone();
    let answers: Vec<u16> = requests.iter().map(|r| r.3).collect();
    assert_eq!(answers, [503, 503, 503, 200]);
    let (signature, delivery_id, body, _) = requests.last().unwrap().clone();
    let signature = signature.expect("a Helix-Signature header");
    let now = helix_domain::Timestamp::now().unix();
    helix_jobs::verify(&secret, &signature, &body, now, Duration::from_secs(300)).expect("a valid signature");
    let event: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["type"], "run.completed");
    assert_eq!(event["job"]["id"], job["id"]);
    assert!(requests.iter().all(|r| r.1 == delivery_id && r.2 == body), "every attempt is the same delivery");

    let (status, log) = t.get(&alice.token, &format!("{hooks}/deliveries")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let delivery = &log["items"][0];
    assert_eq!(delivery["status"], "DELIVERED", "{log}");
    assert_eq!(delivery["id"].as_str(), delivery_id.as_deref());
    let codes: Vec<&Value> = delivery["attempts"].as_array().unwrap().iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes, [&json!(503), &json!(503), &json!(503), &json!(200)]);
    let at = |i: usize| helix_domain::Timestamp::parse(delivery["attempts"][i]["at"].as_str().unwrap()).unwrap();
    for (i, base) in [(1, 1.0), (2, 2.0), (3, 4.0)] {
        let waited = at(i).seconds_since(&at(i - 1));
        assert!(waited >= base - 0.1, "attempt {} came {waited:.2} s after the one before, not after {base} s", i + 1);
    }
    assert_eq!(t.get(&outsider.token, &format!("{hooks}/deliveries")).await.0, StatusCode::NOT_FOUND);
}
