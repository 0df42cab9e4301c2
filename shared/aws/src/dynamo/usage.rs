//! `UsageTable`: the metering ledger. An event is applied in one transaction: its own item, put
//! only if its id is new, and `ADD`s to its job's total and to one total per cost group and day.
//! A redelivered or replayed event fails the first condition and changes nothing.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde_json::Value;

use helix_domain::{JobId, StoreError};
use helix_jobs::metering::{CostGroup, Usage, UsageEvent, UsageLedger};

use super::{Item, backend, n, s};

/// GPU milliseconds are kept per instance type, one attribute each.
const GPU_PREFIX: &str = "gpu_ms:";

pub struct DynamoUsageLedger {
    client: Client,
    table: String,
}

impl DynamoUsageLedger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    fn add(&self, pk: String, sk: String, counters: &[(String, u64)]) -> Result<TransactWriteItem, StoreError> {
        let mut expression = vec!["#events :one".to_owned()];
        let mut names = HashMap::from([("#events".to_owned(), "events".to_owned())]);
        let mut values = HashMap::from([(":one".to_owned(), n(1))]);
        for (i, (name, value)) in counters.iter().enumerate() {
            expression.push(format!("#a{i} :v{i}"));
            names.insert(format!("#a{i}"), name.clone());
            values.insert(format!(":v{i}"), n(value));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression(format!("ADD {}", expression.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    async fn total(&self, pk: &str, sk: &str) -> Result<Option<Usage>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?
            .item;
        item.map(usage_of).transpose()
    }
}

/// The usage's non-zero counters as attribute names and values (`gpu_ms:<type>` for GPU time).
fn counters(usage: &Usage) -> Result<Vec<(String, u64)>, StoreError> {
    let Value::Object(fields) = serde_json::to_value(usage).map_err(|e| StoreError::Backend(e.to_string()))? else {
        return Err(StoreError::Backend("usage is not an object".into()));
    };
    let mut counters = Vec::new();
    for (name, value) in fields {
        match value {
            Value::Object(per_type) => counters.extend(
                per_type.into_iter().map(|(t, v)| (format!("{GPU_PREFIX}{t}"), v.as_u64().unwrap_or_default())),
            ),
            other => counters.push((name, other.as_u64().unwrap_or_default())),
        }
    }
    counters.retain(|(_, value)| *value > 0);
    Ok(counters)
}

fn usage_of(item: Item) -> Result<Usage, StoreError> {
    let mut fields = serde_json::Map::new();
    let mut gpu = serde_json::Map::new();
    for (name, value) in item {
        let AttributeValue::N(number) = value else { continue };
        let Ok(number) = number.parse::<u64>() else { continue };
        match name.strip_prefix(GPU_PREFIX) {
            Some(instance_type) => {
                gpu.insert(instance_type.to_owned(), number.into());
            }
            None => {
                fields.insert(name, number.into());
            }
        }
    }
    fields.remove("events");
    let mut usage: Usage = serde_json::from_value(Value::Object(fields))
        .map_err(|e| StoreError::Backend(format!("cannot decode usage: {e}")))?;
    usage.gpu_ms = gpu.into_iter().map(|(t, v)| (t, v.as_u64().unwrap_or_default())).collect();
    Ok(usage)
}

/// Whether the transaction failed on its first item's condition: the event was applied before.
fn already_applied<R>(e: &SdkError<TransactWriteItemsError, R>) -> bool {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            c.cancellation_reasons().first().is_some_and(|r| r.code() == Some("ConditionalCheckFailed"))
        }
        _ => false,
    }
}

#[async_trait]
impl UsageLedger for DynamoUsageLedger {
    async fn apply(&self, event: &UsageEvent) -> Result<bool, StoreError> {
        let id = event.id();
        let body = serde_json::to_string(event).map_err(|e| StoreError::Backend(e.to_string()))?;
        let put = Put::builder()
            .table_name(&self.table)
            .item("pk", s(format!("event#{id}")))
            .item("sk", s("event"))
            .item("event", s(body))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let counters = counters(&event.usage())?;
        let mut items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.add(format!("job#{}", event.job_id), "total".into(), &counters)?,
        ];
        for group in CostGroup::ALL {
            items.push(self.add(format!("{}#{}", group.as_str(), event.day()), group.value_of(event), &counters)?);
        }
        // A retry of a write whose answer was lost finds the event there: applied once all the same.
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(true),
            Err(e) if already_applied(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    async fn job_usage(&self, job_id: &JobId) -> Result<Usage, StoreError> {
        Ok(self.total(&format!("job#{job_id}"), "total").await?.unwrap_or_default())
    }

    async fn totals(&self, group: CostGroup, from: &str, to: &str) -> Result<BTreeMap<String, Usage>, StoreError> {
        let mut totals: BTreeMap<String, Usage> = BTreeMap::new();
        for day in days(from, to)? {
            let items: Vec<Item> = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(format!("{}#{day}", group.as_str())))
                .consistent_read(true)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(backend)?;
            for mut item in items {
                let Some(AttributeValue::S(value)) = item.remove("sk") else { continue };
                totals.entry(value).or_default().add(&usage_of(item)?);
            }
        }
        Ok(totals)
    }
}

/// Every day from `from` to `to` (`YYYY-MM-DD`), both included.
fn days(from: &str, to: &str) -> Result<Vec<String>, StoreError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let parse =
        |text: &str| time::Date::parse(text, &format).map_err(|_| StoreError::Backend(format!("not a day: {text}")));
    let (mut day, last) = (parse(from)?, parse(to)?);
    let mut days = Vec::new();
    while day <= last {
        days.push(day.format(&format).map_err(|e| StoreError::Backend(e.to_string()))?);
        day = day.next_day().ok_or_else(|| StoreError::Backend("past the last day".into()))?;
    }
    Ok(days)
}
