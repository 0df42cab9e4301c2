//! `S3Blobs`' multipart operations against the emulator `make test` starts, with the real SDK.

use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use sha2::{Digest, Sha256};

mod s3_common;
use s3_common::client;

use helix_aws::S3Blobs;
use helix_domain::{Blobs, StoreError};

fn checksum(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn parts_are_listed_joined_and_aborted() {
    let client = client();
    let bucket = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let blobs = S3Blobs::new(client.clone(), &bucket);
    let part_size = 5 * 1024 * 1024;
    let bytes: Vec<u8> = (0..part_size + 100).map(|i| (i % 13) as u8).collect();
    let (first, second) = bytes.split_at(part_size);

    let upload_id = blobs.start_multipart("big.csv", "text/csv").await.unwrap();
    assert_eq!(blobs.list_parts("big.csv", &upload_id).await.unwrap(), []);
    for (number, body) in [(1, first), (2, second)] {
        client
            .upload_part()
            .bucket(&bucket)
            .key("big.csv")
            .upload_id(&upload_id)
            .part_number(number)
            .checksum_sha256(checksum(body))
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .unwrap();
    }
    let parts = blobs.list_parts("big.csv", &upload_id).await.unwrap();
    assert_eq!(parts.iter().map(|p| (p.part_number, p.size)).collect::<Vec<_>>(), [(1, part_size as u64), (2, 100)]);
    blobs.complete_multipart("big.csv", &upload_id, &parts).await.unwrap();
    let head = blobs.head("big.csv").await.unwrap().unwrap();
    assert_eq!(head.size, bytes.len() as u64);
    assert_eq!(blobs.get_bytes("big.csv", u64::MAX).await.unwrap(), bytes);
    assert!(matches!(blobs.list_parts("big.csv", &upload_id).await, Err(StoreError::NotFound)));
    // Completing again (a retry after a lost answer) is either S3's success or "no such upload".
    match blobs.complete_multipart("big.csv", &upload_id, &parts).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => panic!("completing again: {e}"),
    }

    let upload_id = blobs.start_multipart("gone.csv", "text/csv").await.unwrap();
    blobs.abort_multipart("gone.csv", &upload_id).await.unwrap();
    blobs.abort_multipart("gone.csv", &upload_id).await.unwrap();
    assert!(matches!(blobs.list_parts("gone.csv", &upload_id).await, Err(StoreError::NotFound)));
    assert_eq!(blobs.head("gone.csv").await.unwrap(), None);
}
