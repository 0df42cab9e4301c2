//! `UsageTable`: the metering ledger. An event is applied in one transaction: its own item, put
//! only if its id is new, and `ADD`s to its job's total and to one total per cost group and day,
//! for all teams (`<group>#<day>`) and for its team (`team:<team>#<group>#<day>`), the value of
//! the group as the sort key, and to its team's month (`team:<team>#month`, `<YYYY-MM>`). A redelivered or replayed event fails the first condition and
//! changes nothing.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};
use serde_json::Value;

use helix_domain::{JobId, StoreError, TeamId};
use helix_jobs::billing::{BilledDay, BillingLedger, PeriodTotals};
use helix_jobs::budgets::{Budget, BudgetStore, Crossing};
use helix_jobs::metering::{CostGroup, CostScope, DailyUsage, Usage, UsageEvent, UsageLedger};

use super::{Item, backend, n, s};

/// GPU milliseconds are kept per instance type, one attribute each.
const GPU_PREFIX: &str = "gpu_ms:";
/// The most keys one BatchGetItem takes.
const MAX_BATCH_GET: usize = 100;
/// Tries of a batch whose keys come back unprocessed, waiting 50 ms doubling between them.
const MAX_BATCH_ROUNDS: u32 = 8;

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
        items.push(self.add(format!("team:{}#month", event.team_id), event.month(), &counters)?);
        for scope in CostScope::of(event) {
            for group in CostGroup::ALL {
                let pk = format!("{}{}#{}", scope.key_prefix(), group.as_str(), event.day());
                items.push(self.add(pk, group.value_of(event), &counters)?);
            }
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

    /// BatchGetItem of up to 100 totals at a time; the keys DynamoDB leaves unprocessed (a
    /// throttled partition, a response over 16 MB) are asked for again after a short wait.
    async fn jobs_usage(&self, job_ids: &[JobId]) -> Result<Vec<Usage>, StoreError> {
        let unique: BTreeSet<&JobId> = job_ids.iter().collect();
        let mut found: HashMap<String, Usage> = HashMap::new();
        let unique: Vec<&JobId> = unique.into_iter().collect();
        for chunk in unique.chunks(MAX_BATCH_GET) {
            let keys = chunk
                .iter()
                .map(|job| Item::from([("pk".to_owned(), s(format!("job#{job}"))), ("sk".to_owned(), s("total"))]))
                .collect();
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            for round in 0.. {
                let answer =
                    self.client.batch_get_item().request_items(&self.table, pending).send().await.map_err(backend)?;
                for mut item in answer.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                    let Some(AttributeValue::S(pk)) = item.remove("pk") else { continue };
                    item.remove("sk");
                    found.insert(pk, usage_of(item)?);
                }
                match answer.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                    Some(left) if !left.keys.is_empty() => {
                        if round + 1 >= MAX_BATCH_ROUNDS {
                            return Err(StoreError::Backend(format!(
                                "{} job totals still unprocessed after {MAX_BATCH_ROUNDS} tries",
                                left.keys.len()
                            )));
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(50 << round.min(5))).await;
                        pending = left;
                    }
                    _ => break,
                }
            }
        }
        Ok(job_ids.iter().map(|job| found.get(&format!("job#{job}")).cloned().unwrap_or_default()).collect())
    }

    async fn month_usage(&self, team: &TeamId, month: &str) -> Result<Usage, StoreError> {
        Ok(self.total(&format!("team:{team}#month"), month).await?.unwrap_or_default())
    }

    async fn daily(
        &self,
        scope: &CostScope,
        group: CostGroup,
        from: &str,
        to: &str,
    ) -> Result<Vec<DailyUsage>, StoreError> {
        let mut daily = Vec::new();
        for day in days(from, to)? {
            let items: Vec<Item> = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(format!("{}{}#{day}", scope.key_prefix(), group.as_str())))
                .consistent_read(true)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(backend)?;
            for mut item in items {
                let Some(AttributeValue::S(key)) = item.remove("sk") else { continue };
                daily.push(DailyUsage { day: day.clone(), key, usage: usage_of(item)? });
            }
        }
        Ok(daily)
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

/// The billed totals of ingested cost exports, on `UsageTable`: per billing period one partition
/// `billed#<YYYY-MM>`, with the export's checksum at sort key `export` and one item per day and
/// component (`<day>#<component>`, `usd`). A re-issue writes its items, deletes the period's
/// items it does not have, and puts its checksum last: a replacement cut short leaves the old
/// checksum, so the same file sent again finishes it.
pub struct DynamoBillingLedger {
    client: Client,
    table: String,
}

impl DynamoBillingLedger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    async fn put(&self, pk: &str, sk: &str, name: &str, value: AttributeValue) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item(name, value)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn items(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(backend)
    }
}

const EXPORT_SK: &str = "export";

fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

#[async_trait]
impl BillingLedger for DynamoBillingLedger {
    async fn replace_period(&self, totals: &PeriodTotals) -> Result<bool, StoreError> {
        let pk = format!("billed#{}", totals.period);
        let stored = self.items(&pk).await?;
        let stored_checksum = stored.iter().find(|i| text(i, "sk").as_deref() == Some(EXPORT_SK));
        if stored_checksum.and_then(|i| text(i, "checksum")).as_deref() == Some(totals.checksum.as_str()) {
            return Ok(false);
        }
        let keys: Vec<String> = totals.totals.keys().map(|(day, component)| format!("{day}#{component}")).collect();
        for (sk, usd) in keys.iter().zip(totals.totals.values()) {
            self.put(&pk, sk, "usd", n(usd)).await?;
        }
        for sk in stored.iter().filter_map(|i| text(i, "sk")) {
            if sk != EXPORT_SK && !keys.contains(&sk) {
                let delete = self.client.delete_item().table_name(&self.table).key("pk", s(&pk)).key("sk", s(sk));
                delete.send().await.map_err(backend)?;
            }
        }
        self.put(&pk, EXPORT_SK, "checksum", s(&totals.checksum)).await?;
        Ok(true)
    }

    async fn period(&self, period: &str) -> Result<Vec<BilledDay>, StoreError> {
        let mut days = Vec::new();
        for item in self.items(&format!("billed#{period}")).await? {
            let Some((day, component)) =
                text(&item, "sk").and_then(|sk| sk.split_once('#').map(|(d, c)| (d.to_owned(), c.to_owned())))
            else {
                continue;
            };
            let Some(AttributeValue::N(usd)) = item.get("usd") else { continue };
            let billed_usd = usd.parse().map_err(|_| StoreError::Backend(format!("billed usd {usd:?}")))?;
            days.push(BilledDay { day, component, billed_usd });
        }
        Ok(days)
    }
}

/// Teams' budgets on `UsageTable`: `budget#<team>`, sort key `budget`; each threshold crossed
/// beside it at `crossing#<YYYY-MM>#<percent>`, put only if absent, so a month's are one query.
const CROSSING_PREFIX: &str = "crossing#";

fn crossing_key(month: &str, threshold: u32) -> String {
    format!("{CROSSING_PREFIX}{month}#{threshold}")
}

pub struct DynamoBudgetStore {
    client: Client,
    table: String,
}

impl DynamoBudgetStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl BudgetStore for DynamoBudgetStore {
    async fn get(&self, team: &TeamId) -> Result<Option<Budget>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("budget#{team}")))
            .key("sk", s("budget"))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?
            .item;
        item.map(|mut item| {
            item.remove("pk");
            item.remove("sk");
            super::from_item(item)
        })
        .transpose()
    }

    async fn put(&self, budget: &Budget) -> Result<(), StoreError> {
        let mut item = super::to_item(budget)?;
        item.insert("pk".into(), s(format!("budget#{}", budget.team_id)));
        item.insert("sk".into(), s("budget"));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(backend)?;
        Ok(())
    }

    async fn crossings(&self, team: &TeamId, month: &str) -> Result<Vec<Crossing>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :month)")
            .expression_attribute_values(":pk", s(format!("budget#{team}")))
            .expression_attribute_values(":month", s(format!("{CROSSING_PREFIX}{month}#")))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?
            .items
            .unwrap_or_default();
        items
            .into_iter()
            .map(|mut item| {
                item.remove("pk");
                item.remove("sk");
                super::from_item(item)
            })
            .collect()
    }

    async fn add_crossing(&self, team: &TeamId, month: &str, crossing: &Crossing) -> Result<bool, StoreError> {
        let mut item = super::to_item(crossing)?;
        item.insert("pk".into(), s(format!("budget#{team}")));
        item.insert("sk".into(), s(crossing_key(month, crossing.threshold)));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put.map_err(|e| super::conditional(e, "crossed")) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn mark_notified(&self, team: &TeamId, month: &str, threshold: u32) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("budget#{team}")))
            .key("sk", s(crossing_key(month, threshold)))
            .update_expression("SET notified = :yes")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| super::conditional(e, "no such crossing"))?;
        Ok(())
    }
}
