use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use helix_domain::{JobMessage, JobQueue, StoreError, TRACEPARENT_ATTRIBUTE};

use crate::dynamo::backend;

/// SQS takes at most 10 messages per `SendMessageBatch`.
const BATCH_ENTRIES: usize = 10;

/// Entries SQS refused for its own reasons (throttling, an internal error) are sent again this
/// many times before the batch fails.
const BATCH_ROUNDS: usize = 3;

pub struct SqsJobQueue {
    client: Client,
    queue_url: String,
}

impl SqsJobQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }
}

fn body(message: &JobMessage) -> Result<String, StoreError> {
    serde_json::to_string(message).map_err(|e| StoreError::Backend(e.to_string()))
}

fn traceparent(message: &JobMessage) -> Result<Option<MessageAttributeValue>, StoreError> {
    message
        .traceparent
        .as_ref()
        .map(|traceparent| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(traceparent)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))
        })
        .transpose()
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    async fn send(&self, message: &JobMessage) -> Result<(), StoreError> {
        let mut send = self.client.send_message().queue_url(&self.queue_url).message_body(body(message)?);
        if let Some(value) = traceparent(message)? {
            send = send.message_attributes(TRACEPARENT_ATTRIBUTE, value);
        }
        send.send().await.map_err(backend)?;
        Ok(())
    }

    async fn send_all(&self, messages: &[JobMessage]) -> Result<(), StoreError> {
        for chunk in messages.chunks(BATCH_ENTRIES) {
            // An entry's id is its index in the chunk: what a refusal names.
            let mut pending: Vec<usize> = (0..chunk.len()).collect();
            for round in 1..=BATCH_ROUNDS {
                let mut entries = Vec::with_capacity(pending.len());
                for &index in &pending {
                    let entry = SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(body(&chunk[index])?)
                        .set_message_attributes(
                            traceparent(&chunk[index])?
                                .map(|value| [(TRACEPARENT_ATTRIBUTE.to_owned(), value)].into_iter().collect()),
                        )
                        .build()
                        .map_err(|e| StoreError::Backend(e.to_string()))?;
                    entries.push(entry);
                }
                let sent = self
                    .client
                    .send_message_batch()
                    .queue_url(&self.queue_url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(backend)?;
                let refused = sent.failed();
                if refused.is_empty() {
                    break;
                }
                if round == BATCH_ROUNDS || refused.iter().any(|entry| entry.sender_fault()) {
                    let first = &refused[0];
                    return Err(StoreError::Backend(format!(
                        "SQS refused {} of {} messages: {} {}",
                        refused.len(),
                        pending.len(),
                        first.code(),
                        first.message().unwrap_or_default()
                    )));
                }
                pending = refused.iter().filter_map(|entry| entry.id().parse().ok()).collect();
            }
        }
        Ok(())
    }
}
