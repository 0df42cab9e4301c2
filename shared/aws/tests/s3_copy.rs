//! `S3Blobs::copy` against the emulator `make test` starts, with the real SDK: keys with the
//! characters inbox file names carry (spaces, `+`, non-ASCII) copy as they are.

mod s3_common;
use s3_common::client;

use helix_aws::S3Blobs;
use helix_domain::{Blobs, StoreError};

#[tokio::test]
async fn objects_are_copied_under_any_file_name() {
    let client = client();
    let bucket = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let blobs = S3Blobs::new(client, &bucket);
    let from = "inbox/t1/p1/Aufträge 2026+Q4 (1).csv";
    blobs.put_bytes(from, b"id,qty\na,1\n".to_vec(), "text/csv").await.unwrap();

    blobs.copy(from, "processed/t1/p1/j1/Aufträge 2026+Q4 (1).csv").await.unwrap();

    let copied = blobs.get_bytes("processed/t1/p1/j1/Aufträge 2026+Q4 (1).csv", 1024).await.unwrap();
    assert_eq!(copied, b"id,qty\na,1\n");
    assert!(blobs.head(from).await.unwrap().is_some(), "a copy leaves the source");
    assert!(matches!(blobs.copy("inbox/t1/p1/missing.csv", "processed/x").await, Err(StoreError::NotFound)));
}
