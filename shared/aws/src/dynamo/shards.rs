//! The shard plans of sharded job attempts, in `IdempotencyTable` (one item per job attempt,
//! `shards#<job>#<attempt>`, expiring with the table's TTL a week on: a plan is bookkeeping of
//! one attempt, as an idempotency record is of one message). Each shard's scan, output and
//! failure is a map entry written by an `UpdateItem` conditional on the entry being absent, whose
//! `ALL_NEW` answer tells the writer whether its entry completed the map.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use helix_domain::shard::{Recorded, ShardOutput, ShardPlan, ShardScan, ShardSpan};
use helix_domain::{JobId, ShardStore, StoreError, Timestamp};

use super::{Item, backend, n, s};

/// How long a plan is kept after it was made.
const KEEP_SECONDS: u64 = 7 * 24 * 3600;

pub struct DynamoShardStore {
    client: Client,
    table: String,
}

impl DynamoShardStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    async fn read(&self, job: &JobId, attempt: u32) -> Result<Option<ShardPlan>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(id(job, attempt)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?
            .item;
        item.map(plan_of).transpose()
    }

    /// Sets `path` to `value` unless it is set; the plan after it.
    async fn record(
        &self,
        job: &JobId,
        attempt: u32,
        names: &[(&str, String)],
        path: &str,
        value: AttributeValue,
    ) -> Result<Recorded, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id(job, attempt)))
            .update_expression(format!("SET {path} = :value"))
            .condition_expression(format!("attribute_exists(id) AND attribute_not_exists({path})"))
            .expression_attribute_values(":value", value)
            .return_values(ReturnValue::AllNew);
        for (name, value) in names {
            update = update.expression_attribute_names(*name, value.clone());
        }
        match update.send().await {
            Ok(out) => {
                let item = out.attributes.ok_or_else(|| StoreError::Backend("no item in the answer".into()))?;
                Ok(Recorded { stored: true, plan: plan_of(item)? })
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                let plan = self.read(job, attempt).await?.ok_or(StoreError::NotFound)?;
                Ok(Recorded { stored: false, plan })
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn record_entry<T: Serialize>(
        &self,
        job: &JobId,
        attempt: u32,
        map: &str,
        index: u32,
        value: &T,
    ) -> Result<Recorded, StoreError> {
        let names = [("#map", map.to_owned()), ("#index", index.to_string())];
        self.record(job, attempt, &names, "#map.#index", s(json(value)?)).await
    }
}

fn id(job: &JobId, attempt: u32) -> String {
    format!("shards#{job}#{attempt}")
}

fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("unreadable shard plan: {e}")))
}

fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Backend(format!("shard plan without {name}")))
}

fn entries<T: DeserializeOwned>(item: &Item, name: &str) -> Result<BTreeMap<u32, T>, StoreError> {
    let Some(map) = item.get(name).and_then(|v| v.as_m().ok()) else { return Ok(BTreeMap::new()) };
    map.iter()
        .map(|(index, value)| {
            let index = index.parse().map_err(|_| StoreError::Backend(format!("shard index {index}")))?;
            let value = value.as_s().map_err(|_| StoreError::Backend(format!("shard {index} of {name}")))?;
            Ok((index, parse(value)?))
        })
        .collect()
}

fn plan_of(item: Item) -> Result<ShardPlan, StoreError> {
    let head: ShardPlan = parse(text(&item, "plan")?)?;
    let spans: Option<Vec<ShardSpan>> = item.get("spans").and_then(|v| v.as_s().ok()).map(|t| parse(t)).transpose()?;
    Ok(ShardPlan {
        scans: entries(&item, "scans")?,
        spans,
        outputs: entries(&item, "outputs")?,
        failures: entries(&item, "failures")?,
        ..head
    })
}

#[async_trait]
impl ShardStore for DynamoShardStore {
    async fn create(&self, plan: &ShardPlan) -> Result<(), StoreError> {
        let head = ShardPlan::new(plan.job_id.clone(), plan.attempt, plan.input.clone(), plan.total);
        let empty = AttributeValue::M(HashMap::new());
        let expiration = Timestamp::now().unix() + KEEP_SECONDS as i64;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", s(id(&plan.job_id, plan.attempt)))
            .item("plan", s(json(&head)?))
            .item("scans", empty.clone())
            .item("outputs", empty.clone())
            .item("failures", empty)
            .item("expiration", n(expiration))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::Conflict(format!("job {} attempt {} has a shard plan", plan.job_id, plan.attempt)))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn get(&self, job: &JobId, attempt: u32) -> Result<Option<ShardPlan>, StoreError> {
        self.read(job, attempt).await
    }

    async fn record_scan(
        &self,
        job: &JobId,
        attempt: u32,
        index: u32,
        scan: &ShardScan,
    ) -> Result<Recorded, StoreError> {
        self.record_entry(job, attempt, "scans", index, scan).await
    }

    async fn record_spans(&self, job: &JobId, attempt: u32, spans: &[ShardSpan]) -> Result<Recorded, StoreError> {
        self.record(job, attempt, &[], "spans", s(json(&spans)?)).await
    }

    async fn record_output(
        &self,
        job: &JobId,
        attempt: u32,
        index: u32,
        output: &ShardOutput,
    ) -> Result<Recorded, StoreError> {
        self.record_entry(job, attempt, "outputs", index, output).await
    }

    async fn record_failure(&self, job: &JobId, attempt: u32, index: u32, error: &str) -> Result<Recorded, StoreError> {
        self.record_entry(job, attempt, "failures", index, &error).await
    }
}
