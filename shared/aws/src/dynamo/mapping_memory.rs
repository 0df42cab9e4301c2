//! A team's mapping memory, in the team's own partition of `TeamsTable`: each entry at sort key
//! `MEMORY#<entry id>` beside the team's `TEAM` and `MEMBER#…` items, so one query lists it and
//! the members' queries (`begins_with(sk, 'MEMBER#')`) never see it. Entries carry no `user_id`:
//! the sparse `user-index` keeps listing memberships only.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use helix_domain::{MappingMemoryStore, RememberedMapping, StoreError, TeamId};

use super::{Item, backend, from_item, s, to_item};

const MEMORY_PREFIX: &str = "MEMORY#";
/// BatchWriteItem's most requests per call.
const BATCH: usize = 25;
/// Rounds of resending what a batch left unprocessed (throttled) before giving up.
const BATCH_ROUNDS: u32 = 8;

fn key(team: &TeamId, id: &str) -> Item {
    Item::from([("pk".to_owned(), s(format!("TEAM#{team}"))), ("sk".to_owned(), s(format!("{MEMORY_PREFIX}{id}")))])
}

pub struct DynamoMappingMemory {
    client: Client,
    table: String,
}

impl DynamoMappingMemory {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl MappingMemoryStore for DynamoMappingMemory {
    async fn remember(&self, entries: &[RememberedMapping]) -> Result<(), StoreError> {
        for chunk in entries.chunks(BATCH) {
            let mut requests = chunk
                .iter()
                .map(|entry| {
                    let mut item = to_item(entry)?;
                    item.extend(key(&entry.team_id, &entry.id));
                    let put = PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map_err(|e| StoreError::Backend(e.to_string()))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            for round in 0.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(backend)?;
                requests = out.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if round == BATCH_ROUNDS {
                    return Err(StoreError::Backend("the mapping memory's writes stayed unprocessed".into()));
                }
                tokio::time::sleep(Duration::from_millis(50 << round.min(5))).await;
            }
        }
        Ok(())
    }

    async fn list(&self, team: &TeamId) -> Result<Vec<RememberedMapping>, StoreError> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :memory)")
            .expression_attribute_values(":pk", s(format!("TEAM#{team}")))
            .expression_attribute_values(":memory", s(MEMORY_PREFIX))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(backend)?;
        items
            .into_iter()
            .map(|mut item| {
                item.remove("pk");
                item.remove("sk");
                from_item(item)
            })
            .collect()
    }

    async fn forget(&self, team: &TeamId, id: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(team, id)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(backend)?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }
}
