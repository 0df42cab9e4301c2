//! A pipeline's schedules, in the pipeline's own partition of `PipelinesTable` at sort key
//! `SCHEDULE#<id>` (no `team_id`: `team-index` keeps listing pipelines only). A firing claims
//! its slot with a put conditional on the `next_run_at` it saw. `due` scans the table: only the
//! local platform asks it (the cloud is woken by EventBridge Scheduler), on a small table.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use helix_domain::{PipelineId, Schedule, ScheduleId, ScheduleStore, StoreError, Timestamp};

use super::{Item, backend, conditional, from_item, get_item, s, to_item};

const PREFIX: &str = "SCHEDULE#";

fn key(pipeline: &PipelineId, id: &ScheduleId) -> Item {
    Item::from([("pipeline_id".to_owned(), s(pipeline.as_str())), ("sk".to_owned(), s(format!("{PREFIX}{id}")))])
}

fn item(schedule: &Schedule) -> Result<Item, StoreError> {
    let mut item = to_item(schedule)?;
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    item.extend(key(&schedule.pipeline_id, &schedule.id));
    Ok(item)
}

fn schedule(mut item: Item) -> Result<Schedule, StoreError> {
    item.remove("sk");
    from_item(item)
}

fn time(at: Timestamp) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(at).map_err(|e| StoreError::Backend(format!("cannot encode a time: {e}")))
}

pub struct DynamoScheduleStore {
    client: Client,
    table: String,
}

impl DynamoScheduleStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl ScheduleStore for DynamoScheduleStore {
    async fn add(&self, schedule: &Schedule) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(schedule)?))
            .condition_expression("attribute_not_exists(sk)")
            .send()
            .await
            .map_err(|e| conditional(e, "schedule id taken"))?;
        Ok(())
    }

    async fn get(&self, pipeline: &PipelineId, id: &ScheduleId) -> Result<Option<Schedule>, StoreError> {
        get_item(&self.client, &self.table, key(pipeline, id)).await?.map(schedule).transpose()
    }

    async fn list(&self, pipeline: &PipelineId) -> Result<Vec<Schedule>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pipeline_id = :p AND begins_with(sk, :prefix)")
            .expression_attribute_values(":p", s(pipeline.as_str()))
            .expression_attribute_values(":prefix", s(PREFIX))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(backend)?;
        let mut schedules = items.into_iter().map(schedule).collect::<Result<Vec<_>, _>>()?;
        schedules.retain(|s| s.deleted_at.is_none());
        schedules.sort_by_key(|s| s.created_at);
        Ok(schedules)
    }

    async fn delete(&self, pipeline: &PipelineId, id: &ScheduleId, at: Timestamp) -> Result<(), StoreError> {
        let deleted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pipeline, id)))
            .update_expression("SET deleted_at = :at")
            .condition_expression("attribute_exists(sk) AND attribute_not_exists(deleted_at)")
            .expression_attribute_values(":at", time(at)?)
            .send()
            .await
            .map_err(|e| conditional(e, "no such schedule"));
        match deleted {
            Err(StoreError::Conflict(_)) => Err(StoreError::NotFound),
            other => other.map(|_| ()),
        }
    }

    async fn advance(&self, next: &Schedule, seen_next_run_at: Timestamp) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(next)?))
            .condition_expression("next_run_at = :seen AND attribute_not_exists(deleted_at)")
            .expression_attribute_values(":seen", time(seen_next_run_at)?)
            .send()
            .await
            .map_err(|e| conditional(e, "the schedule moved meanwhile"))?;
        Ok(())
    }

    async fn due(&self, now: Timestamp) -> Result<Vec<Schedule>, StoreError> {
        let items = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(sk, :prefix) AND next_run_at <= :now AND attribute_not_exists(deleted_at)")
            .expression_attribute_values(":prefix", s(PREFIX))
            .expression_attribute_values(":now", time(now)?)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(backend)?;
        items.into_iter().map(schedule).collect()
    }
}
