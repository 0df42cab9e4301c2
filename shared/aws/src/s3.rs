use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart};

use helix_domain::ports::ListedBlob;
use helix_domain::{BlobHead, Blobs, PartUpload, PresignedRequest, StoreError, StoredPart, Timestamp};

use crate::dynamo::backend;

/// The most keys S3 lists in one page.
const LIST_PAGE: i32 = 1000;

pub struct S3Blobs {
    client: Client,
    bucket: String,
    body_idle: Duration,
}

impl S3Blobs {
    /// How long a response body may send nothing before its read fails. The SDK's attempt
    /// timeout ends when the headers arrive; a body that stalls after them would otherwise hold
    /// its job RUNNING, its lease renewed, for ever. The failure is a backend error, which the
    /// callers retry.
    const BODY_IDLE: Duration = Duration::from_secs(30);

    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into(), body_idle: Self::BODY_IDLE }
    }

    /// Another limit on a body's silence than [`Self::BODY_IDLE`] (a test of a stalled body).
    pub fn with_body_idle(self, body_idle: Duration) -> Self {
        Self { body_idle, ..self }
    }
}

/// Reads a response body whole, failing when it sends nothing for `idle`.
async fn read_body(mut body: ByteStream, size: Option<i64>, idle: Duration) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::with_capacity(size.unwrap_or_default().clamp(0, 64 << 20) as usize);
    loop {
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(Ok(piece))) => bytes.extend_from_slice(&piece),
            Ok(Some(Err(e))) => return Err(StoreError::Backend(e.to_string())),
            Ok(None) => return Ok(bytes),
            Err(_) => {
                return Err(StoreError::Backend(format!(
                    "the object's body sent nothing for {} s after {} bytes",
                    idle.as_secs_f32(),
                    bytes.len()
                )));
            }
        }
    }
}

/// A key as `x-amz-copy-source` takes it: URL-encoded, its slashes kept.
fn copy_source_encoded(key: &str) -> String {
    let mut encoded = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => encoded.push(byte as char),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

fn presigning(expires_in: Duration) -> Result<PresigningConfig, StoreError> {
    PresigningConfig::expires_in(expires_in).map_err(|e| StoreError::Backend(e.to_string()))
}

fn presigned(request: aws_sdk_s3::presigning::PresignedRequest, expires_in: Duration) -> PresignedRequest {
    PresignedRequest {
        url: request.uri().to_owned(),
        method: request.method().to_owned(),
        headers: request.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        expires_at: Timestamp::now().plus(expires_in),
    }
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(content_length as i64)
            .presigned(presigning(expires_in)?)
            .await
            .map_err(backend)?;
        Ok(presigned(request, expires_in))
    }

    async fn presign_download(
        &self,
        key: &str,
        filename: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{filename}\""))
            .presigned(presigning(expires_in)?)
            .await
            .map_err(backend)?;
        Ok(presigned(request, expires_in))
    }

    async fn put_bytes(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn get_bytes(&self, key: &str, limit: u64) -> Result<Vec<u8>, StoreError> {
        let object = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Err(StoreError::NotFound),
            Err(e) => return Err(backend(e)),
        };
        if object.content_length().unwrap_or_default().max(0) as u64 > limit {
            return Err(StoreError::Conflict(format!("larger than {limit} bytes")));
        }
        read_body(object.body, object.content_length, self.body_idle).await
    }

    async fn head(&self, key: &str) -> Result<Option<BlobHead>, StoreError> {
        let head = self.client.head_object().bucket(&self.bucket).key(key).checksum_mode(ChecksumMode::Enabled);
        match head.send().await {
            Ok(head) => Ok(Some(BlobHead {
                size: head.content_length().unwrap_or_default().max(0) as u64,
                checksum_sha256: head.checksum_sha256().map(str::to_owned),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(backend)?;
        Ok(())
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let source = format!("{}/{}", self.bucket, copy_source_encoded(from));
        match self.client.copy_object().bucket(&self.bucket).key(to).copy_source(source).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("NoSuchKey") => Err(StoreError::NotFound),
            Err(e) => Err(backend(e)),
        }
    }

    async fn start_multipart(&self, key: &str, content_type: &str) -> Result<String, StoreError> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(backend)?;
        upload.upload_id().map(str::to_owned).ok_or_else(|| StoreError::Backend("S3 returned no upload id".into()))
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part: &PartUpload,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part.part_number as i32)
            .content_length(part.size as i64)
            .checksum_sha256(&part.checksum_sha256)
            .presigned(presigning(expires_in)?)
            .await
            .map_err(backend)?;
        Ok(presigned(request, expires_in))
    }

    async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, StoreError> {
        let mut parts = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker)
                .send()
                .await
                .map_err(|e| match e.as_service_error().and_then(|s| s.code()) {
                    Some("NoSuchUpload") => StoreError::NotFound,
                    _ => backend(e),
                })?;
            parts.extend(page.parts().iter().map(|p| StoredPart {
                part_number: p.part_number().unwrap_or_default().max(0) as u32,
                etag: p.e_tag().unwrap_or_default().to_owned(),
                size: p.size().unwrap_or_default().max(0) as u64,
                checksum_sha256: p.checksum_sha256().map(str::to_owned),
            }));
            if page.is_truncated() != Some(true) {
                return Ok(parts);
            }
            marker = page.next_part_number_marker().map(str::to_owned);
        }
    }

    async fn complete_multipart(&self, key: &str, upload_id: &str, parts: &[StoredPart]) -> Result<(), StoreError> {
        let completed = parts
            .iter()
            .map(|p| {
                CompletedPart::builder()
                    .part_number(p.part_number as i32)
                    .e_tag(&p.etag)
                    .set_checksum_sha256(p.checksum_sha256.clone())
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
            .send()
            .await
            .map_err(|e| match e.as_service_error().and_then(|s| s.code()) {
                Some("NoSuchUpload") => StoreError::NotFound,
                Some(code @ ("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" | "BadDigest")) => {
                    let message = e.as_service_error().and_then(|s| s.message()).unwrap_or_default();
                    StoreError::Conflict(format!("{code}: {message}"))
                }
                _ => backend(e),
            })?;
        Ok(())
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: Vec<u8>,
    ) -> Result<StoredPart, StoreError> {
        let size = body.len() as u64;
        let part = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number as i32)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| match e.as_service_error().and_then(|s| s.code()) {
                Some("NoSuchUpload") => StoreError::NotFound,
                _ => backend(e),
            })?;
        Ok(StoredPart {
            part_number,
            etag: part.e_tag().unwrap_or_default().to_owned(),
            size,
            checksum_sha256: part.checksum_sha256().map(str::to_owned),
        })
    }

    async fn upload_part_copy(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        from: &str,
        range: std::ops::Range<u64>,
    ) -> Result<StoredPart, StoreError> {
        if range.is_empty() {
            return Err(StoreError::Conflict(format!("InvalidRange: an empty range of {from} is no part")));
        }
        let source = format!("{}/{}", self.bucket, copy_source_encoded(from));
        let copied = self
            .client
            .upload_part_copy()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number as i32)
            .copy_source(source)
            .copy_source_range(format!("bytes={}-{}", range.start, range.end - 1))
            .send()
            .await
            .map_err(|e| match e.as_service_error().and_then(|s| s.code()) {
                // moto answers a missing source with a bare 404 `NotFound`.
                Some("NoSuchUpload" | "NoSuchKey" | "NotFound") => StoreError::NotFound,
                Some(code @ "InvalidRange") => StoreError::Conflict(format!("{code}: {range:?} of {from}")),
                _ => backend(e),
            })?;
        let part = copied.copy_part_result();
        Ok(StoredPart {
            part_number,
            etag: part.and_then(|p| p.e_tag()).unwrap_or_default().to_owned(),
            size: range.end - range.start,
            checksum_sha256: part.and_then(|p| p.checksum_sha256()).map(str::to_owned),
        })
    }

    async fn read_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let range = format!("bytes={start}-{}", start + len - 1);
        let object = match self.client.get_object().bucket(&self.bucket).key(key).range(range).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Err(StoreError::NotFound),
            // A range that starts at or after the end: nothing left to read.
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("InvalidRange") => return Ok(Vec::new()),
            Err(e) => return Err(backend(e)),
        };
        read_body(object.body, object.content_length, self.body_idle).await
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<ListedBlob>, StoreError> {
        let mut listed = Vec::new();
        let mut token = None;
        while listed.len() < limit {
            let page_size = i32::try_from(limit - listed.len()).unwrap_or(i32::MAX).min(LIST_PAGE);
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .max_keys(page_size)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(backend)?;
            listed.extend(page.contents().iter().filter_map(|o| {
                Some(ListedBlob {
                    key: o.key()?.to_owned(),
                    size: o.size().unwrap_or_default().max(0) as u64,
                    etag: o.e_tag().unwrap_or_default().to_owned(),
                })
            }));
            token = page.next_continuation_token().map(str::to_owned);
            if page.is_truncated() != Some(true) || token.is_none() {
                break;
            }
        }
        listed.truncate(limit);
        Ok(listed)
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        match self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(upload_id).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_upload()) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }
}
