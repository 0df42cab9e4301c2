//! ArtifactService: upload registrations and downloads.

use helix_domain::{ArtifactKind, ArtifactStatus, FileDeclaration};
use helix_jobs::{JobError, Upload, validate_content_type};

use crate::support::*;

fn declaration(kind: ArtifactKind, filename: &str, content_type: &str, size_bytes: u64) -> FileDeclaration {
    FileDeclaration { kind, filename: filename.into(), content_type: content_type.into(), size_bytes }
}

fn csv(size_bytes: u64) -> FileDeclaration {
    declaration(ArtifactKind::Content, "orders.csv", "text/csv", size_bytes)
}

#[tokio::test]
async fn an_upload_is_registered_pending_with_a_presigned_put() {
    let w = world();
    let ticket = w
        .artifact_service()
        .request_upload(&actor(ALICE), csv(MAX_UPLOAD_BYTES), None, Default::default())
        .await
        .unwrap();
    let artifact = &ticket.artifact;
    assert_eq!(
        (artifact.status, artifact.kind, artifact.owner_id.as_str()),
        (ArtifactStatus::PendingUpload, ArtifactKind::Content, ALICE)
    );
    assert_eq!(artifact.s3_key, format!("uploads/{ALICE}/{}/orders.csv", artifact.id));
    assert!(artifact.expires_at.is_some_and(|t| t > start().unix()));
    assert_eq!(&w.artifact(&artifact.id).await, artifact);
    let Upload::Single(upload) = &ticket.upload else { panic!("a file at the threshold goes up in one PUT") };
    assert_eq!(upload.method, "PUT");
    assert_eq!(upload.headers["content-length"], MAX_UPLOAD_BYTES.to_string());
    assert_eq!(upload.headers["content-type"], "text/csv");
}

#[tokio::test]
async fn upload_requests_are_refused_on_their_field() {
    let w = world();
    let service = w.artifact_service();
    let alice = actor(ALICE);
    let request = |file| service.request_upload(&alice, file, None, Default::default());

    assert_invalid(request(csv(0)).await, "size_bytes", "at least 1");
    match request(csv(MAX_UPLOAD_BYTES + 1)).await {
        Err(JobError::TooLarge { field, .. }) => assert_eq!(field, "size_bytes"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let result = declaration(ArtifactKind::Result, "r.json", "application/json", 10);
    assert_invalid(request(result).await, "kind", "content, context or schema");
    let report = declaration(ArtifactKind::ErrorReport, "e.json", "application/json", 10);
    assert_invalid(request(report).await, "kind", "");
    for content_type in ["", "csv", "text/", "/csv", "text/c sv", "text csv"] {
        let file = declaration(ArtifactKind::Content, "a.csv", content_type, 10);
        assert_invalid(request(file).await, "content_type", "media type");
    }
    for filename in ["", "   "] {
        assert_invalid(
            request(declaration(ArtifactKind::Content, filename, "text/csv", 10)).await,
            "filename",
            "empty",
        );
    }
    let long = "a".repeat(256);
    assert_invalid(request(declaration(ArtifactKind::Content, &long, "text/csv", 10)).await, "filename", "at most");
    assert!(w.blobs.keys().is_empty());

    assert!(validate_content_type("text/csv; charset=utf-8").is_ok());
    assert!(validate_content_type("application/schema+json").is_ok());
}

#[tokio::test]
async fn downloads_are_for_the_owner_of_an_available_artifact() {
    let w = world();
    let service = w.artifact_service();
    let pending = w.register(ALICE, ArtifactKind::Content, "later.csv", 3).await;
    let available = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;

    match service.download(&actor(ALICE), &pending.id).await {
        Err(JobError::Conflict(message)) => assert!(message.contains("PENDING_UPLOAD"), "{message}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    for id in [&pending.id, &available] {
        assert!(matches!(service.download(&actor(BOB), id).await, Err(JobError::NotFound(_))));
        assert!(matches!(service.get(&actor(BOB), id).await, Err(JobError::NotFound(_))));
    }
    assert!(matches!(service.download(&actor(ALICE), &"no-such-artifact".into()).await, Err(JobError::NotFound(_))));

    let get = service.download(&actor(ALICE), &available).await.unwrap();
    assert_eq!(get.method, "GET");
    assert!(get.url.ends_with(&w.artifact(&available).await.s3_key), "{}", get.url);
}
