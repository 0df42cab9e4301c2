//! The token keys' AWS side: the signing secret from Secrets Manager (read by the signing function
//! only), and the public keys as a JWKS object in the artifacts bucket (written by the signer,
//! read by every verifier).

use async_trait::async_trait;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;

use helix_auth::{Jwks, KeyDirectory, KeyDirectoryError};

/// The published key set's object key in the artifacts bucket (the IAM policies grant `keys/*`).
pub const JWKS_OBJECT_KEY: &str = "keys/jwks.json";

/// A key set larger than this is not ours.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// The public keys as `s3://<bucket>/keys/jwks.json`.
pub struct S3KeyDirectory {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3KeyDirectory {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into() }
    }
}

#[async_trait]
impl KeyDirectory for S3KeyDirectory {
    async fn load(&self) -> Result<Option<Jwks>, KeyDirectoryError> {
        let object = match self.client.get_object().bucket(&self.bucket).key(JWKS_OBJECT_KEY).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(KeyDirectoryError(format!("reading {JWKS_OBJECT_KEY}: {}", DisplayErrorContext(e)))),
        };
        if object.content_length().is_some_and(|n| n as usize > MAX_JWKS_BYTES) {
            return Err(KeyDirectoryError(format!("{JWKS_OBJECT_KEY} is larger than {MAX_JWKS_BYTES} bytes")));
        }
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| KeyDirectoryError(format!("reading {JWKS_OBJECT_KEY}: {e}")))?
            .into_bytes();
        Jwks::from_json(&bytes).map(Some)
    }

    async fn publish(&self, keys: &Jwks) -> Result<(), KeyDirectoryError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(JWKS_OBJECT_KEY)
            .content_type("application/json")
            .body(ByteStream::from(keys.to_json()))
            .send()
            .await
            .map_err(|e| KeyDirectoryError(format!("writing {JWKS_OBJECT_KEY}: {}", DisplayErrorContext(e))))?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("reading the signing secret {arn}: {detail}")]
    Read { arn: String, detail: String },
    #[error("the signing secret {arn} has no value")]
    Empty { arn: String },
}

/// The secret's current value (`SecretString`, else `SecretBinary`), fetched once at start-up.
pub async fn fetch_secret(client: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<Vec<u8>, SecretError> {
    let out = client.get_secret_value().secret_id(arn).send().await.map_err(|e| SecretError::Read {
        arn: arn.to_owned(),
        detail: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
    })?;
    let value = match (out.secret_string, out.secret_binary) {
        (Some(text), _) => text.into_bytes(),
        (None, Some(binary)) => binary.into_inner(),
        (None, None) => Vec::new(),
    };
    if value.is_empty() {
        return Err(SecretError::Empty { arn: arn.to_owned() });
    }
    Ok(value)
}
