//! `AuditTable`: one item per entry, partition `team_id`, sort `seq` (a number), so a team's
//! chain is one partition read in order in either direction. An entry is put only if its
//! `seq` is free (`attribute_not_exists(seq)`): of two writers that read the same head, one
//! wins and the other gets `Conflict`, re-reads the head and appends after it. No item is ever
//! updated or deleted by the platform (the writers' role has `PutItem` and `Query` only).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use helix_domain::{AuditEntry, AuditLog, StoreError, TeamId};

use super::{backend, conditional, from_item, n, s, to_item};

pub struct DynamoAuditLog {
    client: Client,
    table: String,
}

impl DynamoAuditLog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    async fn query(
        &self,
        team: &TeamId,
        condition: &str,
        bound: Option<u64>,
        forward: bool,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(condition)
            .expression_attribute_values(":team", s(team.as_str()))
            .scan_index_forward(forward)
            .consistent_read(true)
            .limit(limit.max(1) as i32);
        if let Some(bound) = bound {
            request = request.expression_attribute_values(":seq", n(bound));
        }
        let output = request.send().await.map_err(backend)?;
        output.items.unwrap_or_default().into_iter().map(from_item).collect()
    }
}

#[async_trait]
impl AuditLog for DynamoAuditLog {
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut item = to_item(entry)?;
        item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(seq)")
            .send()
            .await
            .map_err(|e| conditional(e, "the chain has an entry at this sequence number"))?;
        Ok(())
    }

    async fn newest(&self, team: &TeamId, before: Option<u64>, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        match before {
            Some(before) => self.query(team, "team_id = :team AND seq < :seq", Some(before), false, limit).await,
            None => self.query(team, "team_id = :team", None, false, limit).await,
        }
    }

    async fn oldest(&self, team: &TeamId, after: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.query(team, "team_id = :team AND seq > :seq", Some(after), true, limit).await
    }
}
