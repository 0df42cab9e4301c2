//! A pipeline's webhooks and their deliveries, in the pipeline's own partition of
//! `PipelinesTable`: each webhook at sort key `WEBHOOK#<id>`, each delivery at `DELIVERY#<id>`
//! (ids that start with the run's end time, so a newest-first query is the delivery log). Neither
//! carries `team_id`: `team-index` keeps listing pipelines only. A deleted webhook is marked
//! (`deleted_at`), never removed; an attempt replaces its delivery only if the stored one has one
//! attempt fewer (`attempt_count`), so two copies of a message cannot both record.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;

use helix_domain::{PipelineId, StoreError, Timestamp, Webhook, WebhookDelivery, WebhookId, WebhookStore};

use super::{Item, backend, conditional, from_item, get_item, n, s, to_item};

const WEBHOOK_PREFIX: &str = "WEBHOOK#";
const DELIVERY_PREFIX: &str = "DELIVERY#";

fn key(pipeline: &PipelineId, sk: String) -> Item {
    Item::from([("pipeline_id".to_owned(), s(pipeline.as_str())), ("sk".to_owned(), s(sk))])
}

fn keyed<T: Serialize>(key: Item, value: &T) -> Result<Item, StoreError> {
    let mut item = to_item(value)?;
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    item.extend(key);
    Ok(item)
}

fn delivery_item(delivery: &WebhookDelivery) -> Result<Item, StoreError> {
    let mut item = keyed(key(&delivery.pipeline_id, format!("{DELIVERY_PREFIX}{}", delivery.id)), delivery)?;
    item.insert("attempt_count".into(), n(delivery.attempts.len()));
    Ok(item)
}

fn without_bookkeeping(mut item: Item) -> Item {
    item.remove("sk");
    item.remove("attempt_count");
    item
}

pub struct DynamoWebhookStore {
    client: Client,
    table: String,
}

impl DynamoWebhookStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    fn query(
        &self,
        pipeline: &PipelineId,
        prefix: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pipeline_id = :p AND begins_with(sk, :prefix)")
            .expression_attribute_values(":p", s(pipeline.as_str()))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
    }
}

#[async_trait]
impl WebhookStore for DynamoWebhookStore {
    async fn add(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let item = keyed(key(&webhook.pipeline_id, format!("{WEBHOOK_PREFIX}{}", webhook.id)), webhook)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(sk)")
            .send()
            .await
            .map_err(|e| conditional(e, "webhook id taken"))?;
        Ok(())
    }

    async fn get(&self, pipeline: &PipelineId, id: &WebhookId) -> Result<Option<Webhook>, StoreError> {
        let item = get_item(&self.client, &self.table, key(pipeline, format!("{WEBHOOK_PREFIX}{id}"))).await?;
        item.map(|i| from_item(without_bookkeeping(i))).transpose()
    }

    async fn list(&self, pipeline: &PipelineId) -> Result<Vec<Webhook>, StoreError> {
        let items = self
            .query(pipeline, WEBHOOK_PREFIX)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(backend)?;
        let mut webhooks =
            items.into_iter().map(|i| from_item::<Webhook>(without_bookkeeping(i))).collect::<Result<Vec<_>, _>>()?;
        webhooks.retain(|w| w.deleted_at.is_none());
        webhooks.sort_by_key(|w| w.created_at);
        Ok(webhooks)
    }

    async fn delete(&self, pipeline: &PipelineId, id: &WebhookId, at: Timestamp) -> Result<(), StoreError> {
        let at = serde_dynamo::to_attribute_value(at)
            .map_err(|e| StoreError::Backend(format!("cannot encode a time: {e}")))?;
        let deleted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pipeline, format!("{WEBHOOK_PREFIX}{id}"))))
            .update_expression("SET deleted_at = :at")
            .condition_expression("attribute_exists(sk) AND attribute_not_exists(deleted_at)")
            .expression_attribute_values(":at", at)
            .send()
            .await
            .map_err(|e| conditional(e, "no such webhook"));
        match deleted {
            Err(StoreError::Conflict(_)) => Err(StoreError::NotFound),
            other => other.map(|_| ()),
        }
    }

    async fn add_delivery(&self, delivery: &WebhookDelivery) -> Result<bool, StoreError> {
        let added = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(delivery_item(delivery)?))
            .condition_expression("attribute_not_exists(sk)")
            .send()
            .await
            .map_err(|e| conditional(e, "delivery exists"));
        match added {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn delivery(&self, pipeline: &PipelineId, id: &str) -> Result<Option<WebhookDelivery>, StoreError> {
        let item = get_item(&self.client, &self.table, key(pipeline, format!("{DELIVERY_PREFIX}{id}"))).await?;
        item.map(|i| from_item(without_bookkeeping(i))).transpose()
    }

    async fn record_attempt(&self, next: &WebhookDelivery) -> Result<(), StoreError> {
        let seen = next.attempts.len().checked_sub(1).ok_or_else(|| StoreError::Conflict("no attempt".into()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(delivery_item(next)?))
            .condition_expression("attempt_count = :seen")
            .expression_attribute_values(":seen", n(seen))
            .send()
            .await
            .map_err(|e| conditional(e, "another attempt was recorded meanwhile"))?;
        Ok(())
    }

    async fn deliveries(&self, pipeline: &PipelineId, limit: usize) -> Result<Vec<WebhookDelivery>, StoreError> {
        let page = self
            .query(pipeline, DELIVERY_PREFIX)
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(backend)?;
        page.items.unwrap_or_default().into_iter().map(|i| from_item(without_bookkeeping(i))).collect()
    }
}
