use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use helix_domain::{
    Artifact, ArtifactId, ArtifactStatus, ArtifactStore, IdempotencyClaim, IdempotencyStore, Job, JobId, JobPage,
    JobStatus, JobStore, KeyClaim, RequestKeyStore, StoreError, StoredResponse, Timestamp, User, UserId, UserStore,
};

type Item = HashMap<String, AttributeValue>;

pub(crate) fn backend<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    StoreError::Backend(DisplayErrorContext(e).to_string())
}

/// Conditional writes fail with this code; everything else is a backend fault.
fn conditional<E, R>(e: SdkError<E, R>, what: &str) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    if e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException") {
        StoreError::Conflict(what.to_owned())
    } else {
        backend(e)
    }
}

fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Backend(format!("cannot encode item: {e}")))
}

fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Backend(format!("cannot decode item: {e}")))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A strongly consistent read of one item by its partition key.
async fn get_by_key<T: serde::de::DeserializeOwned>(
    client: &Client,
    table: &str,
    key: &str,
    value: &str,
) -> Result<Option<T>, StoreError> {
    let out =
        client.get_item().table_name(table).key(key, s(value)).consistent_read(true).send().await.map_err(backend)?;
    out.item.map(from_item).transpose()
}

/// Writes a new item; `Conflict(taken)` when one with the same key exists.
async fn create_new<T: Serialize>(
    client: &Client,
    table: &str,
    key: &str,
    value: &T,
    taken: &str,
) -> Result<(), StoreError> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(to_item(value)?))
        .condition_expression(format!("attribute_not_exists({key})"))
        .send()
        .await
        .map_err(|e| conditional(e, taken))?;
    Ok(())
}

pub struct DynamoUserStore {
    client: Client,
    table: String,
}

impl DynamoUserStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl UserStore for DynamoUserStore {
    async fn get(&self, email: &str) -> Result<Option<User>, StoreError> {
        get_by_key(&self.client, &self.table, "email", email).await
    }

    async fn create(&self, user: &User) -> Result<(), StoreError> {
        create_new(&self.client, &self.table, "email", user, "an account with this e-mail exists").await
    }

    async fn save_profile(&self, user: &User) -> Result<(), StoreError> {
        let opt = |v: &Option<String>| v.clone().map(s).unwrap_or(AttributeValue::Null(true));
        self.client
            .update_item()
            .table_name(&self.table)
            .key("email", s(&user.email))
            .update_expression("SET fullname = :f, phone_number = :p, web_url = :w, updated_at = :u")
            .condition_expression("attribute_exists(email)")
            .expression_attribute_values(":f", opt(&user.fullname))
            .expression_attribute_values(":p", opt(&user.phone_number))
            .expression_attribute_values(":w", opt(&user.web_url))
            .expression_attribute_values(":u", s(user.updated_at.to_string()))
            .send()
            .await
            .map_err(|e| match conditional(e, "") {
                StoreError::Conflict(_) => StoreError::NotFound,
                other => other,
            })?;
        Ok(())
    }
}

pub struct DynamoArtifactStore {
    client: Client,
    table: String,
}

impl DynamoArtifactStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    async fn leave_pending(&self, id: &ArtifactId, to: ArtifactStatus, reason: Option<&str>) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id.as_str()))
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(ArtifactStatus::PendingUpload.as_str()))
            .expression_attribute_values(":to", s(to.as_str()));
        update = match reason {
            Some(reason) => update
                .update_expression("SET #status = :to, rejected_reason = :reason")
                .expression_attribute_values(":reason", s(reason)),
            // An available artifact is kept: the TTL only sweeps registrations never uploaded.
            None => update.update_expression("SET #status = :to REMOVE expires_at"),
        };
        update.send().await.map_err(|e| conditional(e, "the artifact is no longer pending upload"))?;
        Ok(())
    }
}

#[async_trait]
impl ArtifactStore for DynamoArtifactStore {
    async fn get(&self, id: &ArtifactId) -> Result<Option<Artifact>, StoreError> {
        get_by_key(&self.client, &self.table, "id", id.as_str()).await
    }

    async fn create(&self, artifact: &Artifact) -> Result<(), StoreError> {
        create_new(&self.client, &self.table, "id", artifact, "artifact id taken").await
    }

    async fn put(&self, artifact: &Artifact) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(artifact)?))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn mark_available(&self, id: &ArtifactId) -> Result<(), StoreError> {
        self.leave_pending(id, ArtifactStatus::Available, None).await
    }

    async fn mark_rejected(&self, id: &ArtifactId, reason: &str) -> Result<(), StoreError> {
        self.leave_pending(id, ArtifactStatus::Rejected, Some(reason)).await
    }
}

pub struct DynamoJobStore {
    client: Client,
    table: String,
}

const OWNER_INDEX: &str = "owner-created-index";
const OWNER_STATUS_INDEX: &str = "owner-status-index";
const LEASE_INDEX: &str = "lease-expiry-index";
const OUTBOX_INDEX: &str = "outbox-index";
/// The `outbox` attribute's one value: present exactly while the job's message is owed.
const UNSENT: &str = "UNSENT";
/// The `leased` attribute's one value: present exactly while a worker holds the job.
const LEASED: &str = "RUNNING";

/// The attribute behind the status-filtered listing index; rewritten with every status change.
fn owner_status(owner_id: &UserId, status: JobStatus) -> String {
    format!("{owner_id}#{}", status.as_str())
}

/// A job as stored, with the attributes its indexes need: `owner_status` always, `leased`
/// exactly while a worker holds the job.
fn job_item(job: &Job) -> Result<Item, StoreError> {
    let mut item = to_item(job)?;
    item.insert("owner_status".into(), s(owner_status(&job.owner_id, job.status)));
    if job.status == JobStatus::Running && job.lease_expires_at.is_some() {
        item.insert("leased".into(), s(LEASED));
    }
    if job.unsent_since.is_some() {
        item.insert("outbox".into(), s(UNSENT));
    }
    Ok(item)
}

impl DynamoJobStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    fn decode_cursor(cursor: &str, partition_attr: &str, partition: &str) -> Result<Item, StoreError> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| StoreError::InvalidCursor)?;
        let keys: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
        // A cursor only continues the listing it came from: never someone else's partition.
        if keys.get(partition_attr).map(String::as_str) != Some(partition) || !keys.contains_key("id") {
            return Err(StoreError::InvalidCursor);
        }
        Ok(keys.into_iter().map(|(k, v)| (k, s(v))).collect())
    }

    fn encode_cursor(key: &Item) -> Option<String> {
        let plain: HashMap<&str, &str> =
            key.iter().filter_map(|(k, v)| v.as_s().ok().map(|v| (k.as_str(), v.as_str()))).collect();
        serde_json::to_vec(&plain).ok().map(|json| URL_SAFE_NO_PAD.encode(json))
    }
}

#[async_trait]
impl JobStore for DynamoJobStore {
    async fn create(&self, job: &Job) -> Result<(), StoreError> {
        let item = job_item(job)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await
            .map_err(|e| conditional(e, "job id taken"))?;
        Ok(())
    }

    async fn get(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        get_by_key(&self.client, &self.table, "id", id.as_str()).await
    }

    async fn list(
        &self,
        owner_id: &UserId,
        status: Option<JobStatus>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<JobPage, StoreError> {
        let (index, attr, partition) = match status {
            Some(status) => (OWNER_STATUS_INDEX, "owner_status", owner_status(owner_id, status)),
            None => (OWNER_INDEX, "owner_id", owner_id.to_string()),
        };
        let start = cursor.map(|c| Self::decode_cursor(c, attr, &partition)).transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", attr)
            .expression_attribute_values(":p", s(partition))
            .scan_index_forward(false)
            .limit(limit as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(backend)?;
        let jobs = out.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<Vec<Job>, _>>()?;
        let next_cursor = out.last_evaluated_key.as_ref().and_then(Self::encode_cursor);
        Ok(JobPage { jobs, next_cursor })
    }

    async fn replace(&self, seen: &Job, next: &Job) -> Result<(), StoreError> {
        // The lifecycle (helix-domain) decided the transition from `seen`; the write only lands
        // if the stored job is still `seen`. Every transition changes the status, the attempt or
        // the lease, so those three identify the state it was decided from.
        let lease_condition = match seen.lease_expires_at {
            Some(_) => "lease_expires_at = :seen_lease",
            None => "attribute_not_exists(lease_expires_at)",
        };
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_item(next)?))
            .condition_expression(format!("#status = :seen_status AND attempts = :seen_attempts AND {lease_condition}"))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":seen_status", s(seen.status.as_str()))
            .expression_attribute_values(":seen_attempts", n(seen.attempts));
        if let Some(lease) = seen.lease_expires_at {
            put = put.expression_attribute_values(":seen_lease", n(lease));
        }
        put.send().await.map_err(|e| conditional(e, "the job moved on"))?;
        Ok(())
    }

    async fn expired_leases(&self, expired_before: Timestamp, limit: u32) -> Result<Vec<Job>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(LEASE_INDEX)
            .key_condition_expression("leased = :leased AND lease_expires_at < :before")
            .expression_attribute_values(":leased", s(LEASED))
            .expression_attribute_values(":before", n(expired_before.unix()))
            .limit(limit as i32)
            .send()
            .await
            .map_err(backend)?;
        out.items.unwrap_or_default().into_iter().map(from_item).collect()
    }

    async fn mark_sent(&self, id: &JobId) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id.as_str()))
            .update_expression("REMOVE unsent_since, outbox")
            .condition_expression("attribute_exists(id)")
            .send()
            .await
            .map_err(|e| match conditional(e, "") {
                StoreError::Conflict(_) => StoreError::NotFound,
                other => other,
            })?;
        Ok(())
    }

    async fn unsent(&self, before: Timestamp, limit: u32) -> Result<Vec<Job>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OUTBOX_INDEX)
            .key_condition_expression("outbox = :unsent AND unsent_since < :before")
            .expression_attribute_values(":unsent", s(UNSENT))
            .expression_attribute_values(":before", n(before.unix()))
            .limit(limit as i32)
            .send()
            .await
            .map_err(backend)?;
        out.items.unwrap_or_default().into_iter().map(from_item).collect()
    }
}

/// Puts an `INPROGRESS` record of `key` (with `fields`) unless a live one exists: `None` when
/// the caller now holds it, else the record that stands.
async fn claim_record(
    client: &Client,
    table: &str,
    key: &str,
    mut fields: Item,
    now: Timestamp,
    in_progress_until: Timestamp,
) -> Result<Option<Item>, StoreError> {
    fields.extend([
        ("id".to_owned(), s(key)),
        ("status".to_owned(), s(IN_PROGRESS)),
        ("in_progress_expiry".to_owned(), n(in_progress_until.unix())),
        ("expiration".to_owned(), n(in_progress_until.unix())),
    ]);
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(fields))
        .condition_expression(
            "attribute_not_exists(id) OR expiration < :now OR (#status = :in_progress AND in_progress_expiry < :now)",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":now", n(now.unix()))
        .expression_attribute_values(":in_progress", s(IN_PROGRESS))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(_) => Ok(None),
        Err(e) => match e.as_service_error() {
            Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => {
                Ok(Some(c.item().cloned().unwrap_or_default()))
            }
            _ => Err(backend(e)),
        },
    }
}

/// Powertools' idempotency record: one item per payload key, `INPROGRESS` while a handler runs
/// (until `in_progress_expiry`, after which a redelivery may take over from a dead handler),
/// `COMPLETED` until `expiration` (also the table's TTL attribute).
pub struct DynamoIdempotencyStore {
    client: Client,
    table: String,
}

const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

impl DynamoIdempotencyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotencyStore {
    async fn begin(
        &self,
        key: &str,
        now: Timestamp,
        in_progress_until: Timestamp,
    ) -> Result<IdempotencyClaim, StoreError> {
        let existing = claim_record(&self.client, &self.table, key, Item::new(), now, in_progress_until).await?;
        let status = existing.as_ref().map(|item| item.get("status").and_then(|v| v.as_s().ok()));
        Ok(match status {
            None => IdempotencyClaim::Started,
            Some(Some(status)) if status == COMPLETED => IdempotencyClaim::AlreadyCompleted,
            Some(_) => IdempotencyClaim::InProgress,
        })
    }

    async fn complete(&self, key: &str, keep_until: Timestamp) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(key))
            .update_expression("SET #status = :completed, expiration = :exp REMOVE in_progress_expiry")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":exp", n(keep_until.unix()))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn abandon(&self, key: &str) -> Result<(), StoreError> {
        self.client.delete_item().table_name(&self.table).key("id", s(key)).send().await.map_err(backend)?;
        Ok(())
    }
}

/// Records of clients' `Idempotency-Key`s, in the idempotency table beside the workers' payload
/// records (their keys start with `http#`): `INPROGRESS` while the request runs, then
/// `COMPLETED` with its response until `expiration` (the table's TTL).
pub struct DynamoRequestKeyStore {
    client: Client,
    table: String,
}

impl DynamoRequestKeyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl RequestKeyStore for DynamoRequestKeyStore {
    async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        in_progress_until: Timestamp,
    ) -> Result<KeyClaim, StoreError> {
        let fields = Item::from([("fingerprint".to_owned(), s(fingerprint))]);
        let Some(existing) = claim_record(&self.client, &self.table, key, fields, now, in_progress_until).await? else {
            return Ok(KeyClaim::Started);
        };
        let text = |name: &str| existing.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        if text("fingerprint") != fingerprint {
            return Ok(KeyClaim::Mismatch);
        }
        if text("status") != COMPLETED {
            return Ok(KeyClaim::InProgress);
        }
        let status = existing.get("response_status").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok());
        let body = existing.get("response_body").and_then(|v| v.as_b().ok()).map(|b| b.as_ref().to_vec());
        match (status, body) {
            (Some(status), Some(body)) => {
                Ok(KeyClaim::Replay(StoredResponse { status, content_type: text("response_content_type"), body }))
            }
            _ => Err(StoreError::Backend(format!("the record of {key} has no response"))),
        }
    }

    async fn complete(&self, key: &str, response: &StoredResponse, keep_until: Timestamp) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(key))
            .update_expression(
                "SET #status = :completed, expiration = :exp, response_status = :rs, response_content_type = :rct, \
                 response_body = :rb REMOVE in_progress_expiry",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":exp", n(keep_until.unix()))
            .expression_attribute_values(":rs", n(response.status))
            .expression_attribute_values(":rct", s(&response.content_type))
            .expression_attribute_values(
                ":rb",
                AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(response.body.clone())),
            )
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn abandon(&self, key: &str) -> Result<(), StoreError> {
        self.client.delete_item().table_name(&self.table).key("id", s(key)).send().await.map_err(backend)?;
        Ok(())
    }
}
