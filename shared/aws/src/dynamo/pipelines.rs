//! `PipelinesTable`: a pipeline is one partition (`pipeline_id`), its record at sort key
//! `PIPELINE`, each version at `VERSION#<number, ten digits>` (so its versions read in order with
//! one query), each comparison at `COMPARISON#<candidate job id>` and each chained run at
//! `RUN#<run id>` (a put only where none is, then puts conditional on the revision read). Only the record carries
//! `team_id`: `team-index` (`team_id`, `created_at`) lists a team's pipelines and nothing else.
//! Saving a version puts the version (only where none is) and moves the record's
//! `current_version` from the number the saver saw, in one transaction: of two saves from
//! version n, one becomes n+1 and the other gets `Conflict`.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::Serialize;

use helix_domain::{
    ChainRun, Comparison, JobId, Pipeline, PipelineId, PipelineStore, PipelineVersion, RunId, StoreError, TeamId,
    Timestamp,
};

use super::{Item, backend, cancelled, conditional, from_item, get_item, n, s, to_item};

const TEAM_INDEX: &str = "team-index";
const RECORD: &str = "PIPELINE";
const VERSION_PREFIX: &str = "VERSION#";
const COMPARISON_PREFIX: &str = "COMPARISON#";
const RUN_PREFIX: &str = "RUN#";

fn run_sk(run: &RunId) -> String {
    format!("{RUN_PREFIX}{run}")
}

/// A run's item. Its team is kept as `run_team_id`: only pipeline records carry `team_id`, so
/// `team-index` lists no runs.
fn run_item(run: &ChainRun) -> Result<Item, StoreError> {
    let mut item = keyed(key(&run.pipeline_id, run_sk(&run.id)), run)?;
    if let Some(team) = item.remove("team_id") {
        item.insert("run_team_id".into(), team);
    }
    Ok(item)
}

fn run_of(mut item: Item) -> Result<ChainRun, StoreError> {
    if let Some(team) = item.remove("run_team_id") {
        item.insert("team_id".into(), team);
    }
    from_item(item)
}

fn version_sk(version: u32) -> String {
    format!("{VERSION_PREFIX}{version:010}")
}

fn key(pipeline: &PipelineId, sk: String) -> Item {
    Item::from([("pipeline_id".to_owned(), s(pipeline.as_str())), ("sk".to_owned(), s(sk))])
}

/// `value`'s attributes under the item key `key` (no NULLs: an unset field is left out).
fn keyed<T: Serialize>(key: Item, value: &T) -> Result<Item, StoreError> {
    let mut item = to_item(value)?;
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    item.extend(key);
    Ok(item)
}

fn timestamp(at: Timestamp) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(at).map_err(|e| StoreError::Backend(format!("cannot encode a time: {e}")))
}

fn patterns(patterns: &[String]) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(patterns).map_err(|e| StoreError::Backend(format!("cannot encode patterns: {e}")))
}

pub struct DynamoPipelineStore {
    client: Client,
    table: String,
}

impl DynamoPipelineStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// A put that lands only where the item does not exist yet.
    fn put_new(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pipeline_id)")
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    async fn all(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        query.into_paginator().items().send().collect::<Result<Vec<_>, _>>().await.map_err(backend)
    }
}

#[async_trait]
impl PipelineStore for DynamoPipelineStore {
    async fn create(&self, pipeline: &Pipeline, first: &PipelineVersion) -> Result<(), StoreError> {
        let items = vec![
            self.put_new(keyed(key(&pipeline.id, RECORD.into()), pipeline)?),
            self.put_new(keyed(key(&pipeline.id, version_sk(first.version)), first)?),
        ];
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| cancelled(e, "pipeline id taken"))?;
        Ok(())
    }

    async fn get(&self, id: &PipelineId) -> Result<Option<Pipeline>, StoreError> {
        get_item(&self.client, &self.table, key(id, RECORD.into())).await?.map(from_item).transpose()
    }

    async fn list(&self, team: &TeamId) -> Result<Vec<Pipeline>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TEAM_INDEX)
            .key_condition_expression("team_id = :team")
            .expression_attribute_values(":team", s(team.as_str()));
        self.all(query).await?.into_iter().map(from_item).collect()
    }

    async fn add_version(&self, version: &PipelineVersion, updated_at: Timestamp) -> Result<(), StoreError> {
        let id = &version.pipeline_id;
        let previous = version.version.checked_sub(1).ok_or_else(|| StoreError::Conflict("no version 0".into()))?;
        let advance = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(id, RECORD.into())))
            .update_expression("SET current_version = :next, updated_at = :at")
            .condition_expression("current_version = :seen AND attribute_not_exists(archived_at)")
            .expression_attribute_values(":next", n(version.version))
            .expression_attribute_values(":seen", n(previous))
            .expression_attribute_values(":at", timestamp(updated_at)?)
            .build()
            .expect("table, key and expression are set");
        let items = vec![
            self.put_new(keyed(key(id, version_sk(version.version)), version)?),
            TransactWriteItem::builder().update(advance).build(),
        ];
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| cancelled(e, "the pipeline moved on"))?;
        Ok(())
    }

    async fn update(&self, next: &Pipeline) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&next.id, RECORD.into())))
            .condition_expression("current_version = :seen AND attribute_not_exists(archived_at)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(next.name.as_str()))
            .expression_attribute_values(":at", timestamp(next.updated_at)?)
            .expression_attribute_values(":patterns", patterns(&next.patterns)?)
            .expression_attribute_values(":seen", n(next.current_version));
        update = match next.archived_at {
            Some(archived_at) => update
                .update_expression("SET #name = :name, patterns = :patterns, updated_at = :at, archived_at = :archived")
                .expression_attribute_values(":archived", timestamp(archived_at)?),
            None => update.update_expression("SET #name = :name, patterns = :patterns, updated_at = :at"),
        };
        update.send().await.map_err(|e| conditional(e, "the pipeline moved on"))?;
        Ok(())
    }

    async fn version(&self, id: &PipelineId, version: u32) -> Result<Option<PipelineVersion>, StoreError> {
        get_item(&self.client, &self.table, key(id, version_sk(version))).await?.map(from_item).transpose()
    }

    async fn versions(&self, id: &PipelineId) -> Result<Vec<PipelineVersion>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pipeline_id = :id AND begins_with(sk, :prefix)")
            .expression_attribute_values(":id", s(id.as_str()))
            .expression_attribute_values(":prefix", s(VERSION_PREFIX))
            .consistent_read(true);
        self.all(query).await?.into_iter().map(from_item).collect()
    }

    async fn add_comparison(&self, comparison: &Comparison) -> Result<(), StoreError> {
        let sk = format!("{COMPARISON_PREFIX}{}", comparison.candidate_job_id);
        let item = keyed(key(&comparison.pipeline_id, sk), comparison)?;
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(backend)?;
        Ok(())
    }

    async fn comparison(&self, id: &PipelineId, candidate: &JobId) -> Result<Option<Comparison>, StoreError> {
        let sk = format!("{COMPARISON_PREFIX}{candidate}");
        get_item(&self.client, &self.table, key(id, sk)).await?.map(from_item).transpose()
    }

    async fn add_run(&self, run: &ChainRun) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(run_item(run)?))
            .condition_expression("attribute_not_exists(pipeline_id)")
            .send()
            .await
            .map_err(|e| conditional(e, "run id taken"))?;
        Ok(())
    }

    async fn run(&self, id: &PipelineId, run: &RunId) -> Result<Option<ChainRun>, StoreError> {
        get_item(&self.client, &self.table, key(id, run_sk(run))).await?.map(run_of).transpose()
    }

    async fn replace_run(&self, next: &ChainRun) -> Result<(), StoreError> {
        let seen = next.revision.checked_sub(1).ok_or_else(|| StoreError::Conflict("no revision 0".into()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(run_item(next)?))
            .condition_expression("revision = :seen")
            .expression_attribute_values(":seen", n(seen))
            .send()
            .await
            .map_err(|e| conditional(e, "the run moved on"))?;
        Ok(())
    }
}
