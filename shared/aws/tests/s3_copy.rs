//! `S3Blobs::copy` against the emulator `make test` starts, with the real SDK: keys with the
//! characters inbox file names carry (spaces, `+`, non-ASCII) copy as they are.

use helix_aws::S3Blobs;
use helix_domain::{Blobs, StoreError};

fn client() -> aws_sdk_s3::Client {
    let endpoint = std::env::var("HELIX_TEST_AWS_ENDPOINT")
        .expect("HELIX_TEST_AWS_ENDPOINT is not set: run the tests with `make test`, which starts the emulator");
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

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
