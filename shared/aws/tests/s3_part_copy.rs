//! `S3Blobs::upload_part_copy` against the emulator `make test` starts, with the real SDK: byte
//! ranges of objects become the parts of one multipart upload without leaving the bucket (how a
//! sharded job's outputs are joined).

mod s3_common;
use s3_common::client;

use helix_aws::S3Blobs;
use helix_domain::{Blobs, StoreError};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn ranges_of_objects_are_joined_into_one_object() {
    let client = client();
    let bucket = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let blobs = S3Blobs::new(client, &bucket);
    // Every part but the last must be 5 MiB or more.
    let first: Vec<u8> = (0..6 * MIB).map(|i| (i % 251) as u8).collect();
    let second = b"xx[second shard]yy".to_vec();
    blobs.put_bytes("shards/0", first.clone(), "application/x-ndjson").await.unwrap();
    blobs.put_bytes("shards/1", second.clone(), "application/x-ndjson").await.unwrap();

    let upload = blobs.start_multipart("result.ndjson", "application/x-ndjson").await.unwrap();
    let whole = blobs.upload_part_copy("result.ndjson", &upload, 1, "shards/0", 1..first.len() as u64).await.unwrap();
    let tail = blobs.upload_part_copy("result.ndjson", &upload, 2, "shards/1", 2..16).await.unwrap();
    assert_eq!((whole.part_number, whole.size, tail.size), (1, first.len() as u64 - 1, 14));
    blobs.complete_multipart("result.ndjson", &upload, &[whole, tail]).await.unwrap();

    let joined = blobs.read_range("result.ndjson", 0, 7 * MIB as u64).await.unwrap();
    let mut expected = first[1..].to_vec();
    expected.extend_from_slice(&second[2..16]);
    assert_eq!(joined.len(), expected.len());
    assert!(joined == expected, "the object is the ranges in order");
}

#[tokio::test]
async fn a_copy_from_a_missing_object_is_not_found_and_an_empty_range_is_refused() {
    let client = client();
    let bucket = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let blobs = S3Blobs::new(client, &bucket);
    blobs.put_bytes("shards/0", b"0123456789".to_vec(), "text/plain").await.unwrap();
    let upload = blobs.start_multipart("out", "text/plain").await.unwrap();

    let missing = blobs.upload_part_copy("out", &upload, 1, "shards/none", 0..4).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let empty = blobs.upload_part_copy("out", &upload, 1, "shards/0", 4..4).await;
    assert!(matches!(empty, Err(StoreError::Conflict(_))), "{empty:?}");
    // A copy into an aborted upload is S3's NoSuchUpload (NotFound); moto answers it with a 500,
    // so it is not asserted here.
    blobs.abort_multipart("out", &upload).await.unwrap();
}
