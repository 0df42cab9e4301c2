//! `S3Blobs::list` against the emulator `make test` starts, with the real SDK: the keys under a
//! prefix in key order, with size and ETag, page after page up to the limit asked.

mod s3_common;
use s3_common::client;

use helix_aws::S3Blobs;
use helix_domain::Blobs;

#[tokio::test]
async fn keys_under_a_prefix_are_listed_in_order_across_pages_up_to_the_limit() {
    let client = client();
    let bucket = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let blobs = S3Blobs::new(client, &bucket);
    let prefix = "inbox/t1/p1/nightly/";
    // More than one page of 1,000 keys, so the listing follows continuation tokens.
    let names: Vec<String> = (0..1003).map(|i| format!("{prefix}ORDERS_{i:04}.csv")).collect();
    let puts = names.iter().map(|key| blobs.put_bytes(key, key.as_bytes().to_vec(), "text/csv"));
    for put in futures::future::join_all(puts).await {
        put.unwrap();
    }
    blobs.put_bytes("inbox/t1/p1/ORDERS_direct.csv", b"x".to_vec(), "text/csv").await.unwrap();
    blobs.put_bytes("inbox/t1/p1/nightly", b"not under the folder".to_vec(), "text/plain").await.unwrap();

    let listed = blobs.list(prefix, 5000).await.unwrap();
    assert_eq!(listed.iter().map(|b| b.key.clone()).collect::<Vec<_>>(), names);
    let first = &listed[0];
    assert_eq!(first.size, names[0].len() as u64);
    assert!(!first.etag.is_empty());
    // New bytes under the same key list with another ETag.
    blobs.put_bytes(&names[0], b"new bytes".to_vec(), "text/csv").await.unwrap();
    let again = &blobs.list(&names[0], 1).await.unwrap()[0];
    assert_eq!((again.key.as_str(), again.size), (names[0].as_str(), 9));
    assert_ne!(again.etag, first.etag);

    let limited = blobs.list(prefix, 1001).await.unwrap();
    assert_eq!(limited.len(), 1001);
    assert_eq!(limited.last().unwrap().key, names[1000]);
    assert!(blobs.list("inbox/t1/p2/", 10).await.unwrap().is_empty());
}
