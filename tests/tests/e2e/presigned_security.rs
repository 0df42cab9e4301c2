//! Presigned URLs against an S3 that checks SigV4 (s3s-fs in `make test`, LocalStack's S3 in
//! `make test-localstack`): the upload must be exactly what was declared, to the key that was
//! signed, before it expires.

use std::time::Duration;

use helix_e2e::{Options, StatusCode, TestPlatform};
use serde_json::{Value, json};

async fn ticket(t: &TestPlatform, token: &str, size: usize) -> Value {
    let (status, ticket) = t
        .post_json(
            token,
            "/api/v1/artifacts/upload",
            &json!({"filename": "a.csv", "content_type": "text/csv", "size_bytes": size, "kind": "content"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    ticket
}

fn signing() -> Options {
    Options { workers: false, signing_s3: true, ..Default::default() }
}

#[tokio::test]
async fn a_matching_upload_is_accepted_and_downloadable_only_as_signed() {
    let t = TestPlatform::start_with(signing()).await;
    let user = t.user().await;
    let body = b"id\n1\n".to_vec();
    let ticket = ticket(&t, &user.token, body.len()).await;
    assert!(ticket["headers"].as_object().unwrap().keys().any(|k| k.eq_ignore_ascii_case("content-type")), "{ticket}");
    let put = t.put_presigned(&ticket, body.clone()).await;
    assert_eq!(put.status(), StatusCode::OK);

    // No event notifications on s3s-fs: settle the registration as the watcher would. LocalStack's
    // S3 does notify, and the platform's watcher may have settled it first: a conflict, then.
    let id = ticket["artifact_id"].as_str().unwrap();
    use helix_domain::{ArtifactStore, StoreError};
    let store =
        helix_aws::DynamoArtifactStore::new(t.platform.clients.dynamodb.clone(), &t.platform.settings.artifacts.table);
    match store.mark_available(&id.into(), None).await {
        Ok(()) | Err(StoreError::Conflict(_)) => {}
        Err(e) => panic!("marking the upload available: {e}"),
    }
    t.wait_artifact(&user.token, id, "AVAILABLE").await;
    assert_eq!(t.download(&user.token, id).await, body);

    let (_, link) = t.get(&user.token, &format!("/api/v1/artifacts/{id}/download")).await;
    let tampered = tamper_signature(link["url"].as_str().unwrap());
    assert_eq!(t.http.get(tampered).send().await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn uploads_that_differ_from_the_signature_are_refused() {
    let t = TestPlatform::start_with(signing()).await;
    let user = t.user().await;
    let body = b"id\n1\n".to_vec();

    let ticket_value = ticket(&t, &user.token, body.len()).await;
    // The client states the body's real length; the signature covers the declared one.
    let mut larger = t.http.put(ticket_value["upload_url"].as_str().unwrap());
    for (name, value) in ticket_value["headers"].as_object().unwrap() {
        if !name.eq_ignore_ascii_case("content-length") {
            larger = larger.header(name, value.as_str().unwrap());
        }
    }
    let larger = larger.body(b"id\n1\n2\n3\n".to_vec()).send().await.unwrap();
    assert_eq!(larger.status(), StatusCode::FORBIDDEN, "larger body");

    let mut wrong_type = t.http.put(ticket_value["upload_url"].as_str().unwrap());
    for (name, value) in ticket_value["headers"].as_object().unwrap() {
        let value = if name.eq_ignore_ascii_case("content-type") {
            "application/octet-stream"
        } else {
            value.as_str().unwrap()
        };
        wrong_type = wrong_type.header(name, value);
    }
    assert_eq!(
        wrong_type.body(body.clone()).send().await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "wrong content type"
    );

    let tampered = json!({"upload_url": tamper_signature(ticket_value["upload_url"].as_str().unwrap()), "headers": ticket_value["headers"]});
    assert_eq!(t.put_presigned(&tampered, body.clone()).await.status(), StatusCode::FORBIDDEN, "tampered signature");

    let other_key = ticket_value["upload_url"].as_str().unwrap().replace("/a.csv?", "/b.csv?");
    let moved = json!({"upload_url": other_key, "headers": ticket_value["headers"]});
    assert_eq!(t.put_presigned(&moved, body.clone()).await.status(), StatusCode::FORBIDDEN, "another key");
}

#[tokio::test]
async fn an_expired_upload_url_is_refused() {
    let t = TestPlatform::start_with(Options { upload_url_ttl_seconds: 1, ..signing() }).await;
    let user = t.user().await;
    let ticket = ticket(&t, &user.token, 5).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let put = t.put_presigned(&ticket, b"id\n1\n".to_vec()).await;
    assert_eq!(put.status(), StatusCode::FORBIDDEN);
    assert!(put.text().await.unwrap().contains("expired"));
}

fn tamper_signature(url: &str) -> String {
    let (head, signature) = url.split_once("X-Amz-Signature=").expect("a SigV4 query signature");
    let mut signature: Vec<char> = signature.chars().collect();
    signature[0] = if signature[0] == 'a' { 'b' } else { 'a' };
    format!("{head}X-Amz-Signature={}", signature.into_iter().collect::<String>())
}
