//! `LimitsTable`: teams' quota counters and the callers' request-rate buckets.
//!
//! - A counter is the item (`team#<team>`, `<counter>`) with its `value`; each of its holdings
//!   (a job's slot, an upload's bytes) is the item (`team#<team>`, `<counter>#holder#<holder>`)
//!   with its `amount`. Taking is one transaction: the holding put only if it is new, the
//!   counter raised only if it stays within the limit (`value <= limit - amount`); giving back
//!   deletes the holding (only if it is there) and lowers the counter by its amount in one
//!   transaction. Two takes at once cannot both pass the limit, and a give-back repeated lowers
//!   the counter once.
//! - A request-rate bucket is the item (`rate#<caller>`, `bucket`) holding its GCRA time `tat`
//!   (Unix ms) and `expires_at`, the table's TTL attribute, so idle callers' buckets go away.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update};

use helix_domain::{
    Counter, Holding, QuotaStore, RateBuckets, RateDecision, RateLimit, StoreError, Take, TeamId, Timestamp,
};

use super::{Item, backend, get_item, n, s};

/// How often a take or give-back is tried again after losing a race for its counter item
/// (`TransactionConflict`: another transaction on the same team's counter at the same moment).
const MAX_TRIES: u32 = 20;

fn team_pk(team: &TeamId) -> String {
    format!("team#{team}")
}

fn holding_sk(counter: &Counter, holder: &str) -> String {
    format!("{}#holder#{holder}", counter.key())
}

fn key(pk: String, sk: String) -> Item {
    Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn number(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name).map(|v| v.as_n()) {
        None => Ok(0),
        Some(Ok(text)) => {
            // Counts lowered by holdings written before the counter existed may dip below zero.
            text.parse::<i64>().map(|v| v.max(0) as u64).map_err(|e| StoreError::Backend(format!("{name}: {e}")))
        }
        Some(Err(_)) => Err(StoreError::Backend(format!("{name} is not a number"))),
    }
}

fn build<T, E: std::fmt::Display>(built: Result<T, E>) -> Result<T, StoreError> {
    built.map_err(|e| StoreError::Backend(e.to_string()))
}

/// What cancelled a transaction, item by item: `ConditionalCheckFailed`, `TransactionConflict`,
/// `None`; empty for any other error.
fn reasons<R>(e: &SdkError<TransactWriteItemsError, R>) -> Vec<String> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
            c.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None").to_owned()).collect()
        }
        _ => Vec::new(),
    }
}

/// A short, growing wait before trying a transaction again that lost a race.
async fn back_off(attempt: u32) {
    // Jitter, so that the writers that lost together do not try again together.
    let jitter = u64::from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos() % 10,
    );
    tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt.min(10)) + jitter)).await;
}

pub struct DynamoQuotaStore {
    client: Client,
    table: String,
}

impl DynamoQuotaStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl QuotaStore for DynamoQuotaStore {
    async fn take(
        &self,
        team: &TeamId,
        counter: &Counter,
        holder: &str,
        amount: u64,
        limit: u64,
        at: Timestamp,
    ) -> Result<Take, StoreError> {
        if amount > limit {
            return Ok(Take::Refused { used: self.value(team, counter).await? });
        }
        let mut holding = key(team_pk(team), holding_sk(counter, holder));
        holding.extend([("amount".to_owned(), n(amount)), ("since".to_owned(), n(at.unix()))]);
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(holding))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        let raise = build(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(team_pk(team), counter.key())))
                .update_expression("ADD #value :amount")
                .condition_expression("attribute_not_exists(#value) OR #value <= :room")
                .expression_attribute_names("#value", "value")
                .expression_attribute_values(":amount", n(amount))
                .expression_attribute_values(":room", n(limit - amount))
                .build(),
        )?;
        let items =
            vec![TransactWriteItem::builder().put(put).build(), TransactWriteItem::builder().update(raise).build()];
        for attempt in 0..MAX_TRIES {
            let sent = self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let Err(e) = sent else { return Ok(Take::Taken) };
            match reasons(&e).iter().map(String::as_str).collect::<Vec<_>>()[..] {
                // The holder holds it already: taking again changes nothing.
                ["ConditionalCheckFailed", _] => return Ok(Take::Taken),
                [_, "ConditionalCheckFailed"] => return Ok(Take::Refused { used: self.value(team, counter).await? }),
                [] => return Err(backend(e)),
                _ => back_off(attempt).await,
            }
        }
        Err(StoreError::Backend(format!("{}: too many concurrent writers", counter.key())))
    }

    async fn give_back(&self, team: &TeamId, counter: &Counter, holder: &str) -> Result<(), StoreError> {
        let holding_key = key(team_pk(team), holding_sk(counter, holder));
        let Some(holding) = get_item(&self.client, &self.table, holding_key.clone()).await? else {
            return Ok(());
        };
        let amount = number(&holding, "amount")?;
        let delete = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(holding_key))
                .condition_expression("attribute_exists(pk)")
                .build(),
        )?;
        let lower = build(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(team_pk(team), counter.key())))
                .update_expression("ADD #value :minus")
                .expression_attribute_names("#value", "value")
                .expression_attribute_values(":minus", AttributeValue::N(format!("-{amount}")))
                .build(),
        )?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder().update(lower).build(),
        ];
        for attempt in 0..MAX_TRIES {
            let sent = self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let Err(e) = sent else { return Ok(()) };
            match reasons(&e).first().map(String::as_str) {
                // Given back meanwhile by another caller.
                Some("ConditionalCheckFailed") => return Ok(()),
                None => return Err(backend(e)),
                Some(_) => back_off(attempt).await,
            }
        }
        Err(StoreError::Backend(format!("{}: too many concurrent writers", counter.key())))
    }

    async fn holdings(&self, team: &TeamId, counter: &Counter) -> Result<Vec<Holding>, StoreError> {
        let prefix = holding_sk(counter, "");
        let mut holdings = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(team_pk(team)))
                .expression_attribute_values(":prefix", s(&prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in out.items.unwrap_or_default() {
                let holder = item.get("sk").and_then(|v| v.as_s().ok()).map(|sk| sk[prefix.len()..].to_owned());
                let since = Timestamp::from_unix(number(&item, "since")? as i64);
                if let (Some(holder), Some(since)) = (holder, since) {
                    holdings.push(Holding { holder, amount: number(&item, "amount")?, since });
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(holdings);
            }
        }
    }

    async fn add(&self, team: &TeamId, counter: &Counter, amount: u64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(team_pk(team), counter.key())))
            .update_expression("ADD #value :amount")
            .expression_attribute_names("#value", "value")
            .expression_attribute_values(":amount", n(amount))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn value(&self, team: &TeamId, counter: &Counter) -> Result<u64, StoreError> {
        let item = get_item(&self.client, &self.table, key(team_pk(team), counter.key())).await?;
        item.map_or(Ok(0), |item| number(&item, "value"))
    }
}

/// The callers' request-rate buckets: one conditional write per request, no read (a read only
/// to say how long a refused caller waits).
pub struct DynamoRateBuckets {
    client: Client,
    table: String,
}

impl DynamoRateBuckets {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    fn bucket_key(caller: &str) -> Item {
        key(format!("rate#{caller}"), "bucket".to_owned())
    }

    /// Sets the bucket's time to `expression` if `condition` holds: the new time, or `None`.
    async fn advance(
        &self,
        caller: &str,
        expression: &str,
        condition: &str,
        values: Item,
    ) -> Result<Option<i64>, StoreError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::bucket_key(caller)))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match sent {
            Ok(out) => {
                let tat = out.attributes.as_ref().and_then(|a| a.get("tat")).and_then(|v| v.as_n().ok());
                Ok(Some(
                    tat.and_then(|t| t.parse().ok()).ok_or_else(|| StoreError::Backend("bucket without tat".into()))?,
                ))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }
}

#[async_trait]
impl RateBuckets for DynamoRateBuckets {
    async fn take(&self, caller: &str, limit: &RateLimit, now_ms: i64) -> Result<RateDecision, StoreError> {
        let (interval, window) = (limit.interval_ms(), limit.window_ms());
        // Kept until the bucket would be full again, and a minute more.
        let expires_at = n(now_ms / 1000 + window / 1000 + 60);
        // A bucket at rest (its time passed): the request starts from now.
        let values = HashMap::from([
            (":next".to_owned(), n(now_ms + interval)),
            (":now".to_owned(), n(now_ms)),
            (":expires".to_owned(), expires_at.clone()),
        ]);
        let fresh = "attribute_not_exists(tat) OR tat <= :now";
        if let Some(tat) = self.advance(caller, "SET tat = :next, expires_at = :expires", fresh, values).await? {
            return Ok(limit.allowed(tat, now_ms));
        }
        // A bucket in use: one interval more, if that stays within the burst.
        let values = HashMap::from([
            (":interval".to_owned(), n(interval)),
            (":latest".to_owned(), n(now_ms + window - interval)),
            (":expires".to_owned(), expires_at),
        ]);
        let within = "tat <= :latest";
        if let Some(tat) =
            self.advance(caller, "SET tat = tat + :interval, expires_at = :expires", within, values).await?
        {
            return Ok(limit.allowed(tat, now_ms));
        }
        let item = get_item(&self.client, &self.table, Self::bucket_key(caller)).await?.unwrap_or_default();
        Ok(limit.refused(number(&item, "tat")? as i64, now_ms))
    }
}
