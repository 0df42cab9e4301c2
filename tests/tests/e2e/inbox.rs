//! Event-triggered runs on the emulator: a file put into a pipeline's inbox with the plain AWS SDK
//! (no HelixNet API call) reaches the upload watcher through the bucket's S3 → SQS notification
//! (the template's `inbox/` filter), starts exactly one run that completes, and moves to
//! `processed/`; the same bytes again start nothing.

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use helix_e2e::{StatusCode, TestPlatform, TestUser};
use serde_json::{Value, json};

const CSV: &[u8] = b"id,qty\na,1\nb,2\n";
const CONTEXT: &str = "fields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n";

async fn keys_under(t: &TestPlatform, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = t.platform.clients.s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await.unwrap();
    listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
}

async fn runs(t: &TestPlatform, user: &TestUser, pipeline: &str) -> Vec<Value> {
    let (status, page) = t.get(&user.token, &format!("/api/v1/jobs?pipeline_id={pipeline}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().cloned().unwrap_or_else(|| panic!("no items in {page}"))
}

/// Polls until `done` holds, for up to 30 s.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what} did not happen within 30 s");
}

#[tokio::test]
async fn a_file_put_into_an_inbox_runs_once_and_moves_to_processed() {
    let t = TestPlatform::start().await;
    let alice = t.user().await;
    let schema = json!({"type": "object", "required": ["id", "qty"],
        "properties": {"id": {"type": "string"}, "qty": {"type": "integer"}}});
    let create = json!({"name": "Orders", "context": CONTEXT, "schema": schema, "patterns": ["ORDERS_*.csv"]});
    let (status, pipeline) = t.post_json(&alice.token, "/api/v1/pipelines", &create).await;
    assert_eq!(status, StatusCode::CREATED, "{pipeline}");
    assert_eq!(pipeline["patterns"], json!(["ORDERS_*.csv"]));
    let id = pipeline["id"].as_str().unwrap().to_owned();
    let (bucket, inbox) = pipeline["inbox"].as_str().unwrap().strip_prefix("s3://").unwrap().split_once('/').unwrap();
    let (bucket, inbox) = (bucket.to_owned(), inbox.to_owned());
    let key = format!("{inbox}ORDERS_2026-11-30.csv");
    let put = || async {
        let s3 = &t.platform.clients.s3;
        s3.put_object().bucket(&bucket).key(&key).content_type("text/csv").body(ByteStream::from_static(CSV))
    };

    put().await.send().await.unwrap();

    eventually("a run of the inbox file", || async { !runs(&t, &alice, &id).await.is_empty() }).await;
    let run = runs(&t, &alice, &id).await.remove(0);
    let job_id = run["id"].as_str().unwrap().to_owned();
    let finished = t.wait_job(&alice.token, &job_id).await;
    assert_eq!(finished["status"], "COMPLETED", "{finished}");
    assert_eq!((&finished["pipeline_id"], &finished["pipeline_version"]), (&json!(id), &json!(1)), "{finished}");
    assert_eq!(finished["records_out"], 2, "{finished}");
    // The inbox is what is still to do: the file moved to processed/, under its run.
    let processed_prefix = inbox.replacen("inbox/", "processed/", 1);
    eventually("the move to processed/", || async { keys_under(&t, &bucket, &inbox).await.is_empty() }).await;
    assert_eq!(
        keys_under(&t, &bucket, &processed_prefix).await,
        [format!("{processed_prefix}{job_id}/ORDERS_2026-11-30.csv")]
    );

    // The same bytes again: taken off the inbox (its bytes are processed), no second run.
    put().await.send().await.unwrap();
    eventually("the duplicate's removal", || async { keys_under(&t, &bucket, &inbox).await.is_empty() }).await;
    assert_eq!(runs(&t, &alice, &id).await.len(), 1);
}

/// A run made from an inbox file that then fails (its header has none of the columns the context
/// reads) moves the file on from `processed/` to `failed/`, under its run.
#[tokio::test]
async fn an_inbox_run_that_fails_moves_its_file_to_failed() {
    let t = TestPlatform::start().await;
    let alice = t.user().await;
    let schema = json!({"type": "object"});
    let (status, pipeline) = t
        .post_json(&alice.token, "/api/v1/pipelines", &json!({"name": "Orders", "context": CONTEXT, "schema": schema}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pipeline}");
    let id = pipeline["id"].as_str().unwrap().to_owned();
    let (bucket, inbox) = pipeline["inbox"].as_str().unwrap().strip_prefix("s3://").unwrap().split_once('/').unwrap();
    let (bucket, inbox) = (bucket.to_owned(), inbox.to_owned());
    let s3 = &t.platform.clients.s3;
    let key = format!("{inbox}WRONG.csv");
    s3.put_object().bucket(&bucket).key(&key).body(ByteStream::from_static(b"x,y\n1,2\n")).send().await.unwrap();

    eventually("a run of the inbox file", || async { !runs(&t, &alice, &id).await.is_empty() }).await;
    let job_id = runs(&t, &alice, &id).await.remove(0)["id"].as_str().unwrap().to_owned();
    let finished = t.wait_job(&alice.token, &job_id).await;
    assert_eq!(finished["status"], "FAILED", "{finished}");
    let failed_prefix = inbox.replacen("inbox/", "failed/", 1);
    let processed_prefix = inbox.replacen("inbox/", "processed/", 1);
    eventually("the move to failed/", || async { !keys_under(&t, &bucket, &failed_prefix).await.is_empty() }).await;
    assert_eq!(keys_under(&t, &bucket, &failed_prefix).await, [format!("{failed_prefix}{job_id}/WRONG.csv")]);
    assert!(keys_under(&t, &bucket, &processed_prefix).await.is_empty());
}
