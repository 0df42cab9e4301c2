use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;

use helix_domain::artifact::parse_upload_key;
use helix_domain::{
    ArtifactId, ArtifactStatus, ArtifactStore, Blobs, Clock, INBOX_PREFIX, IdempotencyStore, StoreError,
};

use crate::MessageOutcome;
use crate::batch::{handle_batch, message_span};
use crate::idempotency::{payload_key, run_once};
use crate::inbox::{InboxObject, InboxTrigger};

pub struct UploadWatcherPorts {
    pub artifacts: Arc<dyn ArtifactStore>,
    pub blobs: Arc<dyn Blobs>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub clock: Arc<dyn Clock>,
    pub max_upload_bytes: u64,
    /// Where the events of `inbox/` objects go.
    pub inbox: Arc<InboxTrigger>,
}

/// A check takes a HEAD and one or two writes; a minute is plenty before a redelivery may retry.
const CHECK_LEASE: Duration = Duration::from_secs(60);

/// Turns S3 `ObjectCreated` events (delivered through SQS) into artifact state: an upload that
/// matches its registration becomes `AVAILABLE`; anything else is deleted, and its registration,
/// if any, `REJECTED`.
pub struct UploadWatcher {
    deps: UploadWatcherPorts,
}

impl UploadWatcher {
    pub fn new(deps: UploadWatcherPorts) -> Self {
        Self { deps }
    }

    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        handle_batch(event, |message| self.handle_message(message)).await
    }

    async fn handle_message(&self, message: SqsMessage) -> MessageOutcome {
        let span = message_span("on-upload", &message);
        let body = message.body.unwrap_or_default();
        let key = payload_key("on-upload", &body);
        run_once(&*self.deps.idempotency, &*self.deps.clock, &key, CHECK_LEASE, || self.check_event(&body))
            .instrument(span)
            .await
    }

    async fn check_event(&self, body: &str) -> MessageOutcome {
        let value: serde_json::Value = match serde_json::from_str(body) {
            Ok(value) => value,
            Err(e) => return MessageOutcome::Retry(format!("not an S3 event: {e}")),
        };
        // S3 sends one when the notification is configured; there is nothing to check.
        if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
            return MessageOutcome::Done;
        }
        let event: ObjectEvents = match serde_json::from_value(value) {
            Ok(event) => event,
            Err(e) => return MessageOutcome::Retry(format!("not an S3 event: {e}")),
        };
        for record in event.records {
            if !record.event_name.starts_with("ObjectCreated") {
                continue;
            }
            let key = decode_event_key(&record.s3.object.key);
            let checked = if key.starts_with(INBOX_PREFIX) {
                self.deps.inbox.object_created(&record.inbox_object(key.clone())).await.map(drop)
            } else {
                self.check_object(&key).await
            };
            if let Err(e) = checked {
                return MessageOutcome::Retry(format!("checking {key}: {e}"));
            }
        }
        MessageOutcome::Done
    }

    async fn check_object(&self, key: &str) -> Result<(), StoreError> {
        let Some((owner_id, artifact_id)) = parse_upload_key(key) else {
            tracing::warn!(%key, "object outside any upload registration; deleting it");
            return self.deps.blobs.delete(key).await;
        };
        let artifact_id = ArtifactId::from(artifact_id);
        let artifact = self.deps.artifacts.get(&artifact_id).await?;
        let Some(artifact) = artifact.filter(|a| a.owner_id == *owner_id && a.s3_key == key) else {
            tracing::warn!(%key, "object without a matching registration; deleting it");
            return self.deps.blobs.delete(key).await;
        };
        if artifact.status != ArtifactStatus::PendingUpload {
            return Ok(());
        }
        // The event's size is what was written then; HEAD says what is there now.
        let Some(head) = self.deps.blobs.head(key).await? else {
            return Ok(());
        };
        let size = head.size;
        let problem = if size != artifact.size_bytes {
            Some(format!("the upload was {size} bytes but {} were declared", artifact.size_bytes))
        } else if size > self.deps.max_upload_bytes {
            Some(format!("the upload is {size} bytes, over the limit of {} bytes", self.deps.max_upload_bytes))
        } else {
            None
        };
        let settled = match &problem {
            Some(reason) => {
                self.deps.blobs.delete(key).await?;
                tracing::warn!(%artifact_id, %reason, "upload rejected");
                self.deps.artifacts.mark_rejected(&artifact_id, reason).await
            }
            None => {
                tracing::info!(%artifact_id, size, "upload available");
                self.deps.artifacts.mark_available(&artifact_id, head.checksum_sha256.as_deref()).await
            }
        };
        match settled {
            // Another delivery of the same event settled it first.
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The part of an S3 event notification the watcher reads. Deliberately narrower than
/// `aws_lambda_events::s3::S3Event`, which insists on fields (`userIdentity`, ...) that emulators
/// leave out and the watcher never uses.
#[derive(serde::Deserialize)]
struct ObjectEvents {
    #[serde(rename = "Records")]
    records: Vec<ObjectEvent>,
}

#[derive(serde::Deserialize)]
struct ObjectEvent {
    #[serde(rename = "eventName")]
    event_name: String,
    s3: ObjectEventEntity,
}

impl ObjectEvent {
    fn inbox_object(&self, key: String) -> InboxObject {
        let object = &self.s3.object;
        InboxObject {
            bucket: self.s3.bucket.as_ref().map(|b| b.name.clone()).unwrap_or_default(),
            key,
            etag: object.e_tag.clone().filter(|e| !e.is_empty()),
            version_id: object.version_id.clone().filter(|v| !v.is_empty()),
        }
    }
}

#[derive(serde::Deserialize)]
struct ObjectEventEntity {
    #[serde(default)]
    bucket: Option<ObjectEventBucket>,
    object: ObjectEventObject,
}

#[derive(serde::Deserialize)]
struct ObjectEventBucket {
    name: String,
}

#[derive(serde::Deserialize)]
struct ObjectEventObject {
    key: String,
    #[serde(default, rename = "eTag")]
    e_tag: Option<String>,
    #[serde(default, rename = "versionId")]
    version_id: Option<String>,
}

/// S3 event keys are URL-encoded with `+` for spaces.
fn decode_event_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_decoded() {
        assert_eq!(decode_event_key("incoming%2Fa+b.txt"), "incoming/a b.txt");
        assert_eq!(decode_event_key("uploads/u/a/x%2By.csv"), "uploads/u/a/x+y.csv");
    }
}
