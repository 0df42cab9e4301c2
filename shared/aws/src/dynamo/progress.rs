//! A running job's progress, on its own item in `JobsTable` (attribute `progress`), written with an
//! `UpdateItem` that touches nothing else and only while the job is `RUNNING`. A transition's
//! conditional put replaces the whole item and with it the progress: the worker's next report,
//! within a second, brings it back while the job runs; a finished job has its counts instead.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use helix_domain::{JobId, JobProgress, ProgressStore, StoreError, Timestamp};

use super::{Item, backend, conditional, s};

pub struct DynamoProgressStore {
    client: Client,
    table: String,
}

impl DynamoProgressStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

fn key(job: &JobId) -> Item {
    Item::from([("id".to_owned(), s(job.as_str()))])
}

fn encode<T: serde::Serialize>(value: T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Backend(format!("cannot encode progress: {e}")))
}

#[async_trait]
impl ProgressStore for DynamoProgressStore {
    async fn record(&self, job: &JobId, progress: &JobProgress, at: Timestamp) -> Result<(), StoreError> {
        let written = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(job)))
            .update_expression("SET progress = :progress, progress_at = :at")
            .condition_expression("#status = :running")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":progress", encode(progress)?)
            .expression_attribute_values(":at", encode(at)?)
            .expression_attribute_values(":running", s("RUNNING"))
            .send()
            .await
            .map_err(|e| conditional(e, "the job is not running"));
        match written {
            // It finished meanwhile: its outcome has the counts.
            Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn read(&self, job: &JobId) -> Result<Option<JobProgress>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(job)))
            .projection_expression("progress")
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        out.item
            .and_then(|mut item| item.remove("progress"))
            .map(|value| {
                serde_dynamo::from_attribute_value(value)
                    .map_err(|e| StoreError::Backend(format!("cannot decode progress: {e}")))
            })
            .transpose()
    }
}
