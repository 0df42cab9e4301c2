use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;

use helix_domain::{JobMessage, JobQueue, StoreError, TRACEPARENT_ATTRIBUTE};

use crate::dynamo::backend;

pub struct SqsJobQueue {
    client: Client,
    queue_url: String,
}

impl SqsJobQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    async fn send(&self, message: &JobMessage) -> Result<(), StoreError> {
        let body = serde_json::to_string(message).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut send = self.client.send_message().queue_url(&self.queue_url).message_body(body);
        if let Some(traceparent) = &message.traceparent {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(traceparent)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            send = send.message_attributes(TRACEPARENT_ATTRIBUTE, value);
        }
        send.send().await.map_err(backend)?;
        Ok(())
    }
}
