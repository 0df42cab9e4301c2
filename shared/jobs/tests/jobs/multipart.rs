//! ArtifactService: files above the multipart threshold go up in checked parts, resumably.

use base64::Engine;
use sha2::{Digest, Sha256};

use helix_domain::{ArtifactKind, ArtifactStatus, Blobs, FileDeclaration};
use helix_jobs::{ArtifactService, JobError, PartChecksum, PartPlan, Upload, UploadedPart};

use crate::support::*;

const MIB: u64 = 1024 * 1024;
const PART: u64 = 5 * MIB;

fn service(w: &World) -> ArtifactService {
    let mut service = w.artifact_service();
    service.limits.max_upload_bytes = 64 * MIB;
    service.limits.multipart_threshold = PART;
    service
}

/// A file of three parts of 5 MiB: two full ones and a short last one.
fn file() -> Vec<u8> {
    (0..(2 * PART + 1234)).map(|i| (i % 251) as u8).collect()
}

fn declared(bytes: &[u8]) -> FileDeclaration {
    FileDeclaration {
        kind: ArtifactKind::Content,
        filename: "big.csv".into(),
        content_type: "text/csv".into(),
        size_bytes: bytes.len() as u64,
    }
}

fn part(bytes: &[u8], number: u32) -> &[u8] {
    let start = (u64::from(number - 1) * PART) as usize;
    &bytes[start..(start + PART as usize).min(bytes.len())]
}

fn checksum(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

fn checksums(bytes: &[u8], numbers: &[u32]) -> Vec<PartChecksum> {
    numbers.iter().map(|&n| PartChecksum { part_number: n, checksum_sha256: checksum(part(bytes, n)) }).collect()
}

fn plan(bytes: &[u8], numbers: &[u32]) -> PartPlan {
    PartPlan { part_size: Some(PART), parts: checksums(bytes, numbers) }
}

/// Uploads part `n` as a client's PUT to its presigned URL would; returns the part as completed.
fn put(w: &World, upload_id: &str, bytes: &[u8], n: u32) -> UploadedPart {
    let body = part(bytes, n).to_vec();
    let etag = w.blobs.put_part(upload_id, n, &checksum(&body), body).unwrap();
    UploadedPart { part_number: n, etag }
}

#[tokio::test]
async fn a_big_file_goes_up_in_checked_parts_and_becomes_available() {
    let w = world();
    let service = service(&w);
    let bytes = file();
    let ticket = service.request_upload(&actor(ALICE), declared(&bytes), None, plan(&bytes, &[1, 2])).await.unwrap();
    let Upload::Multipart { upload, parts, .. } = ticket.upload else { panic!("expected a multipart upload") };
    assert_eq!((upload.part_size, upload.part_count(bytes.len() as u64)), (PART, 3));
    assert_eq!(parts.iter().map(|p| p.part_number).collect::<Vec<_>>(), [1, 2]);
    // Each URL is bound to its part's length and checksum: S3 refuses any other body.
    assert_eq!(parts[0].request.headers["content-length"], PART.to_string());
    assert_eq!(parts[0].request.headers["x-amz-checksum-sha256"], checksum(part(&bytes, 1)));
    let id = ticket.artifact.id.clone();
    assert_eq!(w.artifact(&id).await.multipart, Some(upload.clone()));

    let mut uploaded = vec![put(&w, &upload.upload_id, &bytes, 1), put(&w, &upload.upload_id, &bytes, 2)];
    let last = service.part_urls(&actor(ALICE), &id, &checksums(&bytes, &[3])).await.unwrap();
    assert_eq!(last[0].request.headers["content-length"], "1234");
    uploaded.push(put(&w, &upload.upload_id, &bytes, 3));

    let done = service.complete_upload(&actor(ALICE), &id, &uploaded).await.unwrap();
    assert_eq!(done.status, ArtifactStatus::Available);
    assert!(done.checksum_sha256.as_deref().is_some_and(|c| c.ends_with("-3")), "{:?}", done.checksum_sha256);
    assert_eq!(done.multipart, None);
    assert_eq!(w.blobs.object(&done.s3_key).unwrap().body, bytes);
    assert!(w.blobs.open_uploads().is_empty());
    // A retry after a lost answer gets the same file, not an error.
    assert_eq!(service.complete_upload(&actor(ALICE), &id, &uploaded).await.unwrap(), done);
}

#[tokio::test]
async fn an_interrupted_upload_resumes_from_the_stored_parts() {
    let w = world();
    let service = service(&w);
    let bytes = file();
    let ticket = service.request_upload(&actor(ALICE), declared(&bytes), None, plan(&bytes, &[1, 2, 3])).await.unwrap();
    let Upload::Multipart { upload, .. } = ticket.upload else { panic!("expected a multipart upload") };
    let id = ticket.artifact.id;
    put(&w, &upload.upload_id, &bytes, 2);

    // The client starts again: it asks what is stored and sends only the rest.
    let stored = service.stored_parts(&actor(ALICE), &id).await.unwrap();
    assert_eq!(stored.iter().map(|p| (p.part_number, p.size)).collect::<Vec<_>>(), [(2, PART)]);
    let mut parts = vec![put(&w, &upload.upload_id, &bytes, 1)];
    parts.push(UploadedPart { part_number: 2, etag: stored[0].etag.clone() });
    parts.push(put(&w, &upload.upload_id, &bytes, 3));
    let done = service.complete_upload(&actor(ALICE), &id, &parts).await.unwrap();
    assert_eq!(w.blobs.object(&done.s3_key).unwrap().body, bytes);
}

#[tokio::test]
async fn a_completion_s3_made_but_nobody_recorded_is_recorded_on_retry() {
    let w = world();
    let service = service(&w);
    let bytes = file();
    let ticket = service.request_upload(&actor(ALICE), declared(&bytes), None, plan(&bytes, &[])).await.unwrap();
    let Upload::Multipart { upload, parts, .. } = ticket.upload else { panic!("expected a multipart upload") };
    // Without checksums no URL is handed out: every part is checked.
    assert!(parts.is_empty());
    let uploaded: Vec<_> =
        (1..=upload.part_count(bytes.len() as u64)).map(|n| put(&w, &upload.upload_id, &bytes, n)).collect();
    let stored = w.blobs.list_parts(&ticket.artifact.s3_key, &upload.upload_id).await.unwrap();
    w.blobs.complete_multipart(&ticket.artifact.s3_key, &upload.upload_id, &stored).await.unwrap();

    let done = service.complete_upload(&actor(ALICE), &ticket.artifact.id, &uploaded).await.unwrap();
    assert_eq!(done.status, ArtifactStatus::Available);
}

#[tokio::test]
async fn bad_part_requests_are_refused_on_their_field() {
    let w = world();
    let service = service(&w);
    let bytes = file();
    let alice = actor(ALICE);
    let request = |plan| service.request_upload(&alice, declared(&bytes), None, plan);

    let tiny = PartPlan { part_size: Some(MIB), parts: vec![] };
    assert_invalid(request(tiny).await, "part_size", "between 5242880 and 5368709120");
    let beyond = PartPlan {
        part_size: Some(PART),
        parts: vec![PartChecksum { part_number: 4, checksum_sha256: checksum(b"x") }],
    };
    assert_invalid(request(beyond).await, "parts", "part 4 is not a part of this file: parts are 1 to 3");
    let twice = PartPlan { part_size: Some(PART), parts: checksums(&bytes, &[1, 1]) };
    assert_invalid(request(twice).await, "parts", "part 1 is listed twice");
    let hex = PartPlan {
        part_size: Some(PART),
        parts: vec![PartChecksum { part_number: 1, checksum_sha256: "ab12".into() }],
    };
    assert_invalid(request(hex).await, "parts", "SHA-256 in base64");
    let small = FileDeclaration { size_bytes: 10, ..declared(&bytes) };
    assert_invalid(service.request_upload(&alice, small, None, plan(&bytes, &[1])).await, "parts", "one PUT");

    let ticket = request(plan(&bytes, &[])).await.unwrap();
    let Upload::Multipart { upload, .. } = ticket.upload else { panic!("expected a multipart upload") };
    let id = ticket.artifact.id;
    assert_invalid(service.part_urls(&alice, &id, &[]).await, "part_numbers", "at least one part");
    let one = put(&w, &upload.upload_id, &bytes, 1);
    let two = put(&w, &upload.upload_id, &bytes, 2);
    let complete = |parts: Vec<UploadedPart>| {
        let service = &service;
        let (alice, id) = (&alice, &id);
        async move { service.complete_upload(alice, id, &parts).await }
    };
    assert_invalid(complete(vec![one.clone(), two.clone()]).await, "parts", "the file has 3 parts, 2 were listed");
    let three = UploadedPart { part_number: 3, etag: "\"x\"".into() };
    assert_invalid(complete(vec![one.clone(), two.clone(), three]).await, "parts", "part 3 has not been uploaded");
    let swapped = vec![two.clone(), one.clone(), put(&w, &upload.upload_id, &bytes, 3)];
    assert_invalid(complete(swapped).await, "parts", "expected part 1 here, got 2");
    let stale = UploadedPart { part_number: 1, etag: "\"0000\"".into() };
    let held = w.blobs.list_parts(&w.artifact(&id).await.s3_key, &upload.upload_id).await.unwrap();
    let wrong = vec![stale, two, UploadedPart { part_number: 3, etag: held[2].etag.clone() }];
    assert_invalid(complete(wrong).await, "parts", "part 1: the etag is not that of the stored part");
    assert_eq!(w.artifact(&id).await.status, ArtifactStatus::PendingUpload, "nothing refused was half-done");
}

#[tokio::test]
async fn a_cancelled_upload_drops_its_parts_and_is_rejected() {
    let w = world();
    let service = service(&w);
    let bytes = file();
    let ticket = service.request_upload(&actor(ALICE), declared(&bytes), None, plan(&bytes, &[1])).await.unwrap();
    let Upload::Multipart { upload, .. } = ticket.upload else { panic!("expected a multipart upload") };
    let id = ticket.artifact.id;
    put(&w, &upload.upload_id, &bytes, 1);

    service.abort_upload(&actor(ALICE), &id).await.unwrap();
    assert!(w.blobs.open_uploads().is_empty());
    let artifact = w.artifact(&id).await;
    assert_eq!(
        (artifact.status, artifact.rejected_reason.as_deref()),
        (ArtifactStatus::Rejected, Some("the upload was cancelled"))
    );
    // Cancelling twice is one cancel; the upload's other operations say it is over.
    service.abort_upload(&actor(ALICE), &id).await.unwrap();
    match service.part_urls(&actor(ALICE), &id, &checksums(&bytes, &[2])).await {
        Err(JobError::Conflict(message)) => assert!(message.contains("REJECTED, not PENDING_UPLOAD"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn another_users_upload_is_not_found() {
    let w = world();
    let service = service(&w);
    let bytes = file();
    let ticket = service.request_upload(&actor(ALICE), declared(&bytes), None, plan(&bytes, &[1])).await.unwrap();
    let id = ticket.artifact.id;
    let bob = actor(BOB);
    assert!(matches!(service.stored_parts(&bob, &id).await, Err(JobError::NotFound(_))));
    assert!(matches!(service.part_urls(&bob, &id, &checksums(&bytes, &[2])).await, Err(JobError::NotFound(_))));
    assert!(matches!(service.complete_upload(&bob, &id, &[]).await, Err(JobError::NotFound(_))));
    assert!(matches!(service.abort_upload(&bob, &id).await, Err(JobError::NotFound(_))));
    assert_eq!(w.blobs.open_uploads().len(), 1, "the outsider changed nothing");
}
