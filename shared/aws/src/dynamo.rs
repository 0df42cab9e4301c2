mod api_keys;
mod audit;
mod limits;
mod mapping_memory;
mod pipelines;
mod progress;
mod schedules;
mod shards;
mod usage;
mod webhooks;

pub use api_keys::DynamoApiKeyStore;
pub use audit::DynamoAuditLog;
pub use limits::{DynamoQuotaStore, DynamoRateBuckets};
pub use mapping_memory::DynamoMappingMemory;
pub use pipelines::DynamoPipelineStore;
pub use progress::DynamoProgressStore;
pub use schedules::DynamoScheduleStore;
pub use shards::DynamoShardStore;
pub use usage::{DynamoBillingLedger, DynamoBudgetStore, DynamoUsageLedger};
pub use webhooks::DynamoWebhookStore;

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use helix_domain::{
    Artifact, ArtifactId, ArtifactStatus, ArtifactStore, IdempotencyClaim, IdempotencyStore, Invitation, Job, JobId,
    JobPage, JobStatus, JobStore, KeyClaim, LoginAttempts, Membership, PipelineId, REFRESH_GRACE, RequestKeyStore,
    Role, Session, SessionId, SessionStore, StoreError, StoredResponse, Team, TeamId, TeamStore, Timestamp, User,
    UserId, UserStore,
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

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Backend(format!("cannot decode item: {e}")))
}

/// Decodes a job or an artifact. Those stored before teams existed have no `team_id`: they
/// belong to their owner's personal team, as everything the owner made then did.
fn from_team_item<T: DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    if !item.contains_key("team_id")
        && let Some(AttributeValue::S(owner)) = item.get("owner_id")
    {
        let team = TeamId::personal(&UserId::from(owner.as_str()));
        item.insert("team_id".into(), s(team.as_str()));
    }
    from_item(item)
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A strongly consistent read of one item by its key.
async fn get_item(client: &Client, table: &str, key: Item) -> Result<Option<Item>, StoreError> {
    let out =
        client.get_item().table_name(table).set_key(Some(key)).consistent_read(true).send().await.map_err(backend)?;
    Ok(out.item)
}

fn id_key(name: &str, value: &str) -> Item {
    Item::from([(name.to_owned(), s(value))])
}

/// Writes a new item; `Conflict(taken)` when one with the same key exists.
async fn create_new<T: Serialize>(
    client: &Client,
    table: &str,
    key: &str,
    value: &T,
    taken: &str,
) -> Result<(), StoreError> {
    put_new(client, table, key, to_item(value)?, taken).await
}

/// [`create_new`] for an item with attributes beyond its value's (index keys, a TTL).
async fn put_new(client: &Client, table: &str, key: &str, item: Item, taken: &str) -> Result<(), StoreError> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
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
        get_item(&self.client, &self.table, id_key("email", email)).await?.map(from_item).transpose()
    }

    async fn create(&self, user: &User) -> Result<(), StoreError> {
        create_new(&self.client, &self.table, "email", user, "an account with this e-mail exists").await
    }

    async fn set_password(&self, email: &str, seen: &str, hash: &str, at: Timestamp) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("email", s(email))
            .update_expression("SET password_hash = :hash, updated_at = :at")
            .condition_expression("password_hash = :seen")
            .expression_attribute_values(":hash", s(hash))
            .expression_attribute_values(":seen", s(seen))
            .expression_attribute_values(":at", s(at.to_string()))
            .send()
            .await
            .map_err(|e| conditional(e, "the password changed"))?;
        Ok(())
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

/// Failed logins, in the sessions table (they are what sessions are started past): one item per
/// account, `id` `login-attempts#<account hash>`, the failures' times in a list, removed by the
/// table's TTL once the throttle window has passed.
pub struct DynamoLoginAttempts {
    client: Client,
    table: String,
}

impl DynamoLoginAttempts {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

fn attempts_key(account: &str) -> Item {
    id_key("id", &format!("login-attempts#{account}"))
}

#[async_trait]
impl LoginAttempts for DynamoLoginAttempts {
    async fn failures_since(&self, account: &str, since: Timestamp) -> Result<Vec<Timestamp>, StoreError> {
        let Some(item) = get_item(&self.client, &self.table, attempts_key(account)).await? else {
            return Ok(Vec::new());
        };
        let times = match item.get("failures") {
            Some(AttributeValue::L(list)) => {
                list.iter().filter_map(|v| v.as_s().ok()).filter_map(|t| Timestamp::parse(t))
            }
            _ => return Ok(Vec::new()),
        };
        Ok(times.filter(|t| *t >= since).collect())
    }

    async fn record_failure(&self, account: &str, at: Timestamp) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(attempts_key(account)))
            .update_expression("SET failures = list_append(if_not_exists(failures, :none), :one), expiration = :ttl")
            .expression_attribute_values(":none", AttributeValue::L(Vec::new()))
            .expression_attribute_values(":one", AttributeValue::L(vec![s(at.to_string())]))
            .expression_attribute_values(":ttl", n(at.plus(LOGIN_ATTEMPTS_KEPT).unix()))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn clear(&self, account: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(attempts_key(account)))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// Long enough for the throttle window to have passed.
const LOGIN_ATTEMPTS_KEPT: std::time::Duration = std::time::Duration::from_secs(3600);

/// Login sessions, one item each keyed by `id`; `user-index` (`user_id`) lists a user's. An
/// ended or expired session's item stays until `expiration` (the table's TTL) a week later, so a
/// spent refresh token still reads as spent, not unknown, for that long.
pub struct DynamoSessionStore {
    client: Client,
    table: String,
}

const SESSION_KEPT_AFTER_EXPIRY: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

impl DynamoSessionStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl SessionStore for DynamoSessionStore {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        let mut item = to_item(session)?;
        item.insert("expiration".into(), n(session.expires_at.plus(SESSION_KEPT_AFTER_EXPIRY).unix()));
        put_new(&self.client, &self.table, "id", item, "the session exists").await
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        get_item(&self.client, &self.table, id_key("id", id.as_str())).await?.map(from_item).transpose()
    }

    async fn rotate(
        &self,
        id: &SessionId,
        seen: &str,
        next: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id.as_str()))
            .update_expression(
                "SET previous_hash = refresh_hash, refresh_hash = :next, refreshed_at = :now, \
                 expires_at = :expires, expiration = :ttl ADD generation :one",
            )
            .condition_expression(
                "attribute_not_exists(ended_at) AND expires_at > :now \
                 AND (refresh_hash = :seen OR (previous_hash = :seen AND refreshed_at > :grace))",
            )
            .expression_attribute_values(":grace", s(now.minus(REFRESH_GRACE).to_string()))
            .expression_attribute_values(":next", s(next))
            .expression_attribute_values(":seen", s(seen))
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":expires", s(expires_at.to_string()))
            .expression_attribute_values(":ttl", n(expires_at.plus(SESSION_KEPT_AFTER_EXPIRY).unix()))
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(|e| conditional(e, "the session moved on or ended"))?;
        Ok(())
    }

    async fn end(&self, id: &SessionId, reason: &str, now: Timestamp) -> Result<(), StoreError> {
        let ended = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("id", s(id.as_str()))
            .update_expression("SET ended_at = :now, ended_reason = :reason")
            .condition_expression("attribute_exists(id) AND attribute_not_exists(ended_at)")
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":reason", s(reason))
            .send()
            .await;
        match ended.map_err(|e| conditional(e, "")) {
            // Unknown or ended already: either way it is over.
            Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn active_of(&self, user: &UserId, now: Timestamp) -> Result<Vec<Session>, StoreError> {
        let mut sessions = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(USER_INDEX)
                .key_condition_expression("user_id = :user")
                .expression_attribute_values(":user", s(user.as_str()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(backend)?;
            for item in out.items.unwrap_or_default() {
                let session: Session = from_item(item)?;
                if session.is_active(now) {
                    sessions.push(session);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(sessions);
            }
        }
    }
}

/// Teams, their members and their invitations, one item each in one table keyed by `pk`/`sk`:
///
/// | item | `pk` | `sk` |
/// |---|---|---|
/// | team | `TEAM#<team id>` | `TEAM` |
/// | membership | `TEAM#<team id>` | `MEMBER#<user id>` |
/// | invitation | `INVITE#<token hash>` | `INVITE` |
///
/// A team and its members share a partition, so one query lists the members. Only memberships
/// carry `user_id`: the sparse `user-index` (`user_id`, `team_id`) lists a user's teams. Each item
/// holds its domain struct's fields besides the keys; invitations also `expiration`, the table's
/// TTL, so that spent ones are deleted some time after they run out.
pub struct DynamoTeamStore {
    client: Client,
    table: String,
}

const USER_INDEX: &str = "user-index";

fn team_pk(team: &TeamId) -> String {
    format!("TEAM#{team}")
}

fn member_sk(user: &UserId) -> String {
    format!("MEMBER#{user}")
}

fn key(pk: String, sk: impl Into<String>) -> Item {
    Item::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn team_key(team: &TeamId) -> Item {
    key(team_pk(team), "TEAM")
}

fn member_key(team: &TeamId, user: &UserId) -> Item {
    key(team_pk(team), member_sk(user))
}

fn invitation_key(token_hash: &str) -> Item {
    key(format!("INVITE#{token_hash}"), "INVITE")
}

/// `value`'s fields under `key`.
fn keyed<T: Serialize>(key: Item, value: &T) -> Result<Item, StoreError> {
    let mut item = to_item(value)?;
    item.extend(key);
    Ok(item)
}

fn invitation_item(invitation: &Invitation) -> Result<Item, StoreError> {
    let mut item = keyed(invitation_key(&invitation.token_hash), invitation)?;
    // Left out rather than stored as NULL, so that "not accepted yet" is `attribute_not_exists`.
    item.retain(|_, v| !matches!(v, AttributeValue::Null(_)));
    item.insert("expiration".into(), n(invitation.expires_at.unix()));
    Ok(item)
}

/// A transaction that lost: `Conflict(what)` when a condition failed or a concurrent write to
/// the same items won, a backend fault for anything else (throttling, validation).
fn cancelled<R: std::fmt::Debug>(e: SdkError<TransactWriteItemsError, R>, what: &str) -> StoreError {
    let lost = match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .iter()
            .any(|r| matches!(r.code(), Some("ConditionalCheckFailed" | "TransactionConflict"))),
        _ => false,
    };
    if lost { StoreError::Conflict(what.to_owned()) } else { backend(e) }
}

/// Whether the transaction failed because its first item (with `ALL_OLD` on failure) does not
/// exist: a failed condition on a present item returns the item.
fn first_item_missing<R>(e: &SdkError<TransactWriteItemsError, R>) -> bool {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .first()
            .is_some_and(|r| r.code() == Some("ConditionalCheckFailed") && r.item().is_none_or(HashMap::is_empty)),
        _ => false,
    }
}

impl DynamoTeamStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// A put that lands only where no item has the key yet.
    fn put_new(&self, item: Item) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    async fn read<T: DeserializeOwned>(&self, key: Item) -> Result<Option<T>, StoreError> {
        get_item(&self.client, &self.table, key).await?.map(from_item).transpose()
    }

    /// Every membership a query finds, across pages.
    async fn memberships(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Membership>, StoreError> {
        let items: Vec<Item> =
            query.into_paginator().items().send().collect::<Result<_, _>>().await.map_err(backend)?;
        items.into_iter().map(from_item).collect()
    }
}

#[async_trait]
impl TeamStore for DynamoTeamStore {
    async fn create(&self, team: &Team, owner: &Membership) -> Result<(), StoreError> {
        let items = vec![
            self.put_new(keyed(team_key(&team.id), team)?),
            self.put_new(keyed(member_key(&owner.team_id, &owner.user_id), owner)?),
        ];
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| cancelled(e, "the team exists"))?;
        Ok(())
    }

    async fn put(&self, team: &Team) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(keyed(team_key(&team.id), team)?))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn get(&self, id: &TeamId) -> Result<Option<Team>, StoreError> {
        self.read(team_key(id)).await
    }

    async fn membership(&self, team: &TeamId, user: &UserId) -> Result<Option<Membership>, StoreError> {
        self.read(member_key(team, user)).await
    }

    async fn members(&self, team: &TeamId) -> Result<Vec<Membership>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :member)")
            .expression_attribute_values(":pk", s(team_pk(team)))
            .expression_attribute_values(":member", s("MEMBER#"))
            .consistent_read(true);
        self.memberships(query).await
    }

    /// Read from the index, which trails the table by a moment (a global index cannot be read
    /// consistently): a membership made a second ago may be missing.
    async fn memberships_of(&self, user: &UserId) -> Result<Vec<Membership>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(USER_INDEX)
            .key_condition_expression("user_id = :user")
            .expression_attribute_values(":user", s(user.as_str()));
        self.memberships(query).await
    }

    async fn add_member(&self, member: &Membership) -> Result<(), StoreError> {
        let item = keyed(member_key(&member.team_id, &member.user_id), member)?;
        put_new(&self.client, &self.table, "pk", item, "the user is a member").await
    }

    async fn set_role(&self, team: &TeamId, user: &UserId, seen: Role, role: Role) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(member_key(team, user)))
            .update_expression("SET #role = :role")
            .condition_expression("#role = :seen")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":role", s(role.as_str()))
            .expression_attribute_values(":seen", s(seen.as_str()))
            .send()
            .await
            .map_err(|e| conditional(e, "the membership changed"))?;
        Ok(())
    }

    async fn remove_member(&self, team: &TeamId, user: &UserId, seen: Role) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(member_key(team, user)))
            .condition_expression("#role = :seen")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":seen", s(seen.as_str()))
            .send()
            .await
            .map_err(|e| conditional(e, "the membership changed"))?;
        Ok(())
    }

    async fn create_invitation(&self, invitation: &Invitation) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(invitation_item(invitation)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| conditional(e, "invitation token taken"))?;
        Ok(())
    }

    async fn invitation(&self, token_hash: &str) -> Result<Option<Invitation>, StoreError> {
        self.read(invitation_key(token_hash)).await
    }

    async fn accept_invitation(
        &self,
        invitation: &Invitation,
        member: &Membership,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        // Timestamps are fixed-width UTC text, so comparing the text compares the instants.
        let accept = Update::builder()
            .table_name(&self.table)
            .set_key(Some(invitation_key(&invitation.token_hash)))
            .update_expression("SET accepted_by = :user")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(accepted_by) AND expires_at > :now")
            .expression_attribute_values(":user", s(member.user_id.as_str()))
            .expression_attribute_values(":now", s(now.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, key and update are set");
        let items = vec![
            TransactWriteItem::builder().update(accept).build(),
            self.put_new(keyed(member_key(&member.team_id, &member.user_id), member)?),
        ];
        self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(|e| {
            if first_item_missing(&e) {
                StoreError::NotFound
            } else {
                cancelled(e, "the invitation was used or ran out, or the user is a member")
            }
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

    async fn leave_pending(
        &self,
        id: &ArtifactId,
        to: ArtifactStatus,
        reason: Option<&str>,
        checksum: Option<&str>,
    ) -> Result<(), StoreError> {
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
                .update_expression("SET #status = :to, rejected_reason = :reason REMOVE multipart")
                .expression_attribute_values(":reason", s(reason)),
            None => match checksum {
                Some(checksum) => update
                    .update_expression("SET #status = :to, checksum_sha256 = :checksum REMOVE expires_at, multipart")
                    .expression_attribute_values(":checksum", s(checksum)),
                // An available artifact is kept: the TTL only sweeps registrations never uploaded.
                None => update.update_expression("SET #status = :to REMOVE expires_at, multipart"),
            },
        };
        update.send().await.map_err(|e| conditional(e, "the artifact is no longer pending upload"))?;
        Ok(())
    }
}

#[async_trait]
impl ArtifactStore for DynamoArtifactStore {
    async fn get(&self, id: &ArtifactId) -> Result<Option<Artifact>, StoreError> {
        get_item(&self.client, &self.table, id_key("id", id.as_str())).await?.map(from_team_item).transpose()
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

    async fn delete(&self, id: &ArtifactId) -> Result<(), StoreError> {
        self.client.delete_item().table_name(&self.table).key("id", s(id.as_str())).send().await.map_err(backend)?;
        Ok(())
    }

    async fn mark_available(&self, id: &ArtifactId, checksum_sha256: Option<&str>) -> Result<(), StoreError> {
        self.leave_pending(id, ArtifactStatus::Available, None, checksum_sha256).await
    }

    async fn mark_rejected(&self, id: &ArtifactId, reason: &str) -> Result<(), StoreError> {
        self.leave_pending(id, ArtifactStatus::Rejected, Some(reason), None).await
    }
}

pub struct DynamoJobStore {
    client: Client,
    table: String,
}

const TEAM_INDEX: &str = "team-created-index";
const TEAM_STATUS_INDEX: &str = "team-status-index";
const LEASE_INDEX: &str = "lease-expiry-index";
const OUTBOX_INDEX: &str = "outbox-index";
/// Sparse: only a pipeline's runs carry `pipeline_id`.
const PIPELINE_INDEX: &str = "pipeline-created-index";
/// The `outbox` attribute's one value: present exactly while the job's message is owed.
const UNSENT: &str = "UNSENT";
/// The `leased` attribute's one value: present exactly while a worker holds the job.
const LEASED: &str = "RUNNING";

/// The attribute behind the status-filtered listing index; rewritten with every status change.
fn team_status(team_id: &TeamId, status: JobStatus) -> String {
    format!("{team_id}#{}", status.as_str())
}

/// A job as stored, with the attributes its indexes need: `team_status` always, `leased`
/// exactly while a worker holds the job.
fn job_item(job: &Job) -> Result<Item, StoreError> {
    let mut item = to_item(job)?;
    item.insert("team_status".into(), s(team_status(&job.team_id, job.status)));
    if job.status == JobStatus::Running && job.lease_expires_at.is_some() {
        item.insert("leased".into(), s(LEASED));
    }
    if job.unsent_since.is_some() {
        item.insert("outbox".into(), s(UNSENT));
    }
    Ok(item)
}

/// The condition that the stored job is still `seen` (its values; `#status` names `status`). The
/// lifecycle (helix-domain) decided the transition from `seen`; the write only lands if the
/// stored job is still `seen`. Every transition changes the status, the attempt or the lease, so
/// those three identify the state it was decided from.
fn still_as_seen(seen: &Job) -> (String, HashMap<String, AttributeValue>) {
    let mut values = HashMap::from([
        (":seen_status".to_owned(), s(seen.status.as_str())),
        (":seen_attempts".to_owned(), n(seen.attempts)),
    ]);
    let lease_condition = match seen.lease_expires_at {
        Some(lease) => {
            values.insert(":seen_lease".to_owned(), n(lease));
            "lease_expires_at = :seen_lease"
        }
        None => "attribute_not_exists(lease_expires_at)",
    };
    (format!("#status = :seen_status AND attempts = :seen_attempts AND {lease_condition}"), values)
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

    /// A page of the jobs in `index` whose `attr` is `partition`, newest first.
    async fn page(
        &self,
        index: &str,
        attr: &str,
        partition: String,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<JobPage, StoreError> {
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
        let jobs = out.items.unwrap_or_default().into_iter().map(from_team_item).collect::<Result<Vec<Job>, _>>()?;
        let next_cursor = out.last_evaluated_key.as_ref().and_then(Self::encode_cursor);
        Ok(JobPage { jobs, next_cursor })
    }
}

#[async_trait]
impl JobStore for DynamoJobStore {
    async fn create(&self, job: &Job) -> Result<(), StoreError> {
        put_new(&self.client, &self.table, "id", job_item(job)?, "job id taken").await
    }

    async fn get(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        get_item(&self.client, &self.table, id_key("id", id.as_str())).await?.map(from_team_item).transpose()
    }

    async fn list(
        &self,
        team: &TeamId,
        status: Option<JobStatus>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<JobPage, StoreError> {
        match status {
            Some(status) => self.page(TEAM_STATUS_INDEX, "team_status", team_status(team, status), limit, cursor).await,
            None => self.page(TEAM_INDEX, "team_id", team.to_string(), limit, cursor).await,
        }
    }

    async fn runs(&self, pipeline: &PipelineId, limit: u32, cursor: Option<&str>) -> Result<JobPage, StoreError> {
        self.page(PIPELINE_INDEX, "pipeline_id", pipeline.to_string(), limit, cursor).await
    }

    async fn replace(&self, seen: &Job, next: &Job) -> Result<(), StoreError> {
        let (condition, values) = still_as_seen(seen);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_item(next)?))
            .condition_expression(condition)
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| conditional(e, "the job moved on"))?;
        Ok(())
    }

    async fn delete(&self, seen: &Job) -> Result<(), StoreError> {
        let (condition, values) = still_as_seen(seen);
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(seen.id.as_str()))
            .condition_expression(condition)
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| conditional(e, "the job moved on"));
        match deleted {
            Ok(_) => Ok(()),
            // The condition also fails on a job that is gone (a delete that lost the race).
            Err(StoreError::Conflict(reason)) => match self.get(&seen.id).await? {
                Some(_) => Err(StoreError::Conflict(reason)),
                None => Err(StoreError::NotFound),
            },
            Err(e) => Err(e),
        }
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
        out.items.unwrap_or_default().into_iter().map(from_team_item).collect()
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
        out.items.unwrap_or_default().into_iter().map(from_team_item).collect()
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

#[cfg(test)]
mod tests {
    use helix_domain::{ArtifactKind, FileDeclaration, JobInputs, JobKind};

    use super::*;

    fn stored_before_teams<T: Serialize>(value: &T) -> Item {
        let mut item = to_item(value).unwrap();
        item.remove("team_id");
        item
    }

    #[test]
    fn jobs_and_artifacts_stored_before_teams_belong_to_their_owners_personal_team() {
        let at = Timestamp::from_unix(1_800_000_000).unwrap();
        let owner = UserId::from("u-1");
        let job = Job::new("j-1".into(), owner.clone(), JobKind::Transform, None, JobInputs::default(), at);
        let decoded: Job = from_team_item(stored_before_teams(&job)).unwrap();
        assert_eq!(decoded.team_id, "personal-u-1");
        assert_eq!(decoded, job);

        let file = FileDeclaration {
            kind: ArtifactKind::Content,
            filename: "a.csv".into(),
            content_type: "text/csv".into(),
            size_bytes: 1,
        };
        let artifact = Artifact::pending_upload(owner.clone(), TeamId::personal(&owner), file, None, at);
        let decoded: Artifact = from_team_item(stored_before_teams(&artifact)).unwrap();
        assert_eq!(decoded, artifact);
    }

    #[test]
    fn a_stored_team_is_kept() {
        let at = Timestamp::from_unix(1_800_000_000).unwrap();
        let mut job = Job::new("j-1".into(), "u-1".into(), JobKind::Transform, None, JobInputs::default(), at);
        job.team_id = TeamId::from("t-1");
        let decoded: Job = from_team_item(job_item(&job).unwrap()).unwrap();
        assert_eq!(decoded.team_id, "t-1");
    }
}
