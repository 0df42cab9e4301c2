//! UploadWatcher: S3 ObjectCreated events → artifact state.

use helix_domain::{ArtifactKind, ArtifactStatus, Blobs};
use serde_json::json;

use crate::support::*;

/// An S3 event notification for `keys`, as S3 sends it through SQS (keys URL-encoded).
fn s3_event(event_name: &str, keys: &[&str]) -> String {
    let records: Vec<_> = keys
        .iter()
        .map(|key| {
            json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": event_name,
                "s3": {"bucket": {"name": "helix-artifacts"}, "object": {"key": key, "size": 1}}
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}

async fn deliver(w: &World, body: &str) -> Vec<String> {
    let response = w.watcher().handle(event(vec![message("m-1", body, 1)])).await;
    response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect()
}

#[tokio::test]
async fn an_upload_of_the_declared_size_becomes_available() {
    let w = world();
    let pending = w.register(ALICE, ArtifactKind::Content, "orders 2026.csv", CSV.len() as u64).await;
    assert!(pending.expires_at.is_some());
    w.blobs.put_bytes(&pending.s3_key, CSV.as_bytes().to_vec(), "text/csv").await.unwrap();

    let body = s3_event("ObjectCreated:Put", &[&pending.s3_key]);
    assert!(deliver(&w, &body).await.is_empty());
    let available = w.artifact(&pending.id).await;
    assert_eq!((available.status, available.expires_at), (ArtifactStatus::Available, None));
    assert!(w.blobs.object(&pending.s3_key).is_some());

    // The same event again (SQS delivers at least once), and a second event for the object.
    assert!(deliver(&w, &body).await.is_empty());
    assert!(deliver(&w, &s3_event("ObjectCreated:CompleteMultipartUpload", &[&pending.s3_key])).await.is_empty());
    assert_eq!(w.artifact(&pending.id).await, available);
}

#[tokio::test]
async fn an_upload_of_another_size_is_rejected_and_deleted() {
    let w = world();
    let pending = w.register(ALICE, ArtifactKind::Content, "orders.csv", 5).await;
    w.blobs.put_bytes(&pending.s3_key, b"abc".to_vec(), "text/csv").await.unwrap();

    assert!(deliver(&w, &s3_event("ObjectCreated:Put", &[&pending.s3_key])).await.is_empty());
    let rejected = w.artifact(&pending.id).await;
    assert_eq!(rejected.status, ArtifactStatus::Rejected);
    assert!(rejected.rejected_reason.as_deref().is_some_and(|r| r.contains("3 bytes but 5")), "{rejected:?}");
    assert!(w.blobs.object(&pending.s3_key).is_none());
    assert!(w.blobs.keys().is_empty());
}

#[tokio::test]
async fn objects_without_a_registration_are_deleted() {
    let w = world();
    let alices = w.register(ALICE, ArtifactKind::Content, "orders.csv", 3).await;
    // Bob's key naming Alice's artifact id: not her registration.
    let forged = format!("uploads/{BOB}/{}/orders.csv", alices.id);
    let keys = ["incoming/stray file.csv".to_owned(), format!("uploads/{ALICE}/no-such-artifact/x.csv"), forged];
    for key in &keys {
        w.blobs.put_bytes(key, b"abc".to_vec(), "text/csv").await.unwrap();
    }
    let encoded = ["incoming/stray+file.csv", &keys[1], &keys[2]];
    assert!(deliver(&w, &s3_event("ObjectCreated:Put", &encoded)).await.is_empty());
    assert!(w.blobs.keys().is_empty(), "{:?}", w.blobs.keys());
    assert_eq!(w.artifact(&alices.id).await, alices, "the registration it named is untouched");
}

#[tokio::test]
async fn events_that_are_not_object_creations_change_nothing() {
    let w = world();
    let pending = w.register(ALICE, ArtifactKind::Content, "orders.csv", 3).await;
    w.blobs.put_bytes(&pending.s3_key, b"abc".to_vec(), "text/csv").await.unwrap();
    let test_event = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "helix-artifacts"});
    assert!(deliver(&w, &test_event.to_string()).await.is_empty());
    assert!(deliver(&w, &s3_event("ObjectRemoved:Delete", &[&pending.s3_key])).await.is_empty());
    assert_eq!(w.artifact(&pending.id).await, pending);

    assert_eq!(deliver(&w, "not an event").await, ["m-1"]);
    // A storage fault is retried, and the retry then settles the upload.
    w.blobs.outage.set(true);
    let body = s3_event("ObjectCreated:Put", &[&pending.s3_key]);
    assert_eq!(deliver(&w, &body).await, ["m-1"]);
    w.blobs.outage.set(false);
    assert!(deliver(&w, &body).await.is_empty());
    assert_eq!(w.artifact(&pending.id).await.status, ArtifactStatus::Available);
}
