//! `ApiKeysTable`: one item per key, keyed by the key's hash (`key_hash`), so the key a request
//! carries is found with one strongly consistent `GetItem` and a revocation counts on the next
//! request. `team-index` (`team_id`, `created_at`) lists a team's keys; `id-index` (`id`, keys
//! only) finds a key's item from its id, for revocation.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use helix_domain::{ApiKey, ApiKeyId, ApiKeyStore, StoreError, TeamId, Timestamp};

use super::{Item, backend, conditional, from_item, get_item, id_key, n, s, to_item};

const TEAM_INDEX: &str = "team-index";
const ID_INDEX: &str = "id-index";

pub struct DynamoApiKeyStore {
    client: Client,
    table: String,
}

impl DynamoApiKeyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    async fn query(&self, index: &str, condition: &str, name: &str, value: &str) -> Result<Vec<Item>, StoreError> {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(condition)
            .expression_attribute_values(name, s(value))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ApiKeyStore for DynamoApiKeyStore {
    async fn create(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut item = to_item(key)?;
        // Left out rather than stored as NULL, so that "not revoked yet" is `if_not_exists`.
        item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(key_hash)")
            .send()
            .await
            .map_err(|e| conditional(e, "the key exists"))?;
        Ok(())
    }

    async fn get(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        get_item(&self.client, &self.table, id_key("key_hash", key_hash)).await?.map(from_item).transpose()
    }

    /// Read from the index, which trails the table by a moment: a key made a second ago may be
    /// missing, and the use counts may lag.
    async fn list(&self, team: &TeamId) -> Result<Vec<ApiKey>, StoreError> {
        let items = self.query(TEAM_INDEX, "team_id = :team", ":team", team.as_str()).await?;
        items.into_iter().map(from_item).collect()
    }

    async fn revoke(&self, team: &TeamId, id: &ApiKeyId, now: Timestamp) -> Result<(), StoreError> {
        let items = self.query(ID_INDEX, "id = :id", ":id", id.as_str()).await?;
        let Some(AttributeValue::S(hash)) = items.into_iter().next().and_then(|mut item| item.remove("key_hash"))
        else {
            return Err(StoreError::NotFound);
        };
        // Conditional on the team: a key id of another team is not found, whoever guessed it.
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key("key_hash", &hash)))
            .update_expression("SET revoked_at = if_not_exists(revoked_at, :now)")
            .condition_expression("team_id = :team")
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":team", s(team.as_str()))
            .send()
            .await
            .map_err(|e| match conditional(e, "another team's key") {
                StoreError::Conflict(_) => StoreError::NotFound,
                other => other,
            })?;
        Ok(())
    }

    async fn record_use(&self, key_hash: &str, now: Timestamp) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(id_key("key_hash", key_hash)))
            .update_expression("SET last_used_at = :now ADD use_count :one")
            // Never an item for a hash that names no key.
            .condition_expression("attribute_exists(key_hash)")
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| conditional(e, "no such key"))?;
        Ok(())
    }
}
