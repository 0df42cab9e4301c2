//! What the S3 emulator tests share: a client of the emulator `make test` starts
//! (`HELIX_TEST_AWS_ENDPOINT`), path-style as emulators want.

pub fn client() -> aws_sdk_s3::Client {
    let endpoint = std::env::var("HELIX_TEST_AWS_ENDPOINT")
        .expect("HELIX_TEST_AWS_ENDPOINT is not set: run the tests with `make test`, which starts the emulator");
    client_at(&endpoint)
}

/// A client of the S3 at `endpoint`, with the emulators' test keys.
pub fn client_at(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
