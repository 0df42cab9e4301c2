//! The platform's edges: one small trait per kind of storage, each with an AWS adapter in
//! `helix-aws` and an in-memory one in [`crate::memory`].

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    ApiKey, ApiKeyId, Artifact, ArtifactId, AuditEntry, Comparison, Invitation, Job, JobId, JobMessage, JobStatus,
    Membership, Pipeline, PipelineId, PipelineVersion, Role, Session, SessionId, Team, TeamId, Timestamp, User, UserId,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A conditional write lost: the item was not in the state the caller required.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("{0}")]
    Backend(String),
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn get(&self, email: &str) -> Result<Option<User>, StoreError>;
    /// Fails with `Conflict` when an account with that e-mail exists.
    async fn create(&self, user: &User) -> Result<(), StoreError>;
    async fn save_profile(&self, user: &User) -> Result<(), StoreError>;
    /// Replaces the password hash only if it is still `seen` (`Conflict` otherwise): two changes
    /// at once cannot both pass the old-password check.
    async fn set_password(&self, email: &str, seen: &str, hash: &str, at: Timestamp) -> Result<(), StoreError>;
}

/// Failed logins per account (by a hash of its normalised e-mail, known account or not: a
/// throttle that only known accounts hit would tell which exist).
#[async_trait]
pub trait LoginAttempts: Send + Sync {
    /// The times of the account's failed logins since `since`, oldest first.
    async fn failures_since(&self, account: &str, since: Timestamp) -> Result<Vec<Timestamp>, StoreError>;
    async fn record_failure(&self, account: &str, at: Timestamp) -> Result<(), StoreError>;
    /// Forgets the failures (a successful login).
    async fn clear(&self, account: &str) -> Result<(), StoreError>;
}

/// Login sessions. Rotation and ending are conditional writes: two uses of one refresh token
/// cannot both rotate it.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create(&self, session: &Session) -> Result<(), StoreError>;
    /// A strongly consistent read: an ended session reads as ended at once.
    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError>;
    /// Replaces the refresh hash by `next`, keeping the replaced one as the previous (and counts a
    /// generation): `Conflict` unless the session is still active and refreshes with `seen`
    /// ([`Session::refreshes_with`]).
    async fn rotate(
        &self,
        id: &SessionId,
        seen: &str,
        next: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Ends the session (a no-op for one already ended).
    async fn end(&self, id: &SessionId, reason: &str, now: Timestamp) -> Result<(), StoreError>;
    /// The user's sessions that have not ended.
    async fn active_of(&self, user: &UserId, now: Timestamp) -> Result<Vec<Session>, StoreError>;
}

/// Teams, their members and their invitations. Every change of a membership is conditional on
/// the role the caller saw, so two admins acting at once cannot undo each other unseen.
#[async_trait]
pub trait TeamStore: Send + Sync {
    /// A new team and its first owner, in one write. `Conflict` when the id is taken.
    async fn create(&self, team: &Team, owner: &Membership) -> Result<(), StoreError>;
    /// Creates or replaces the team record (a personal team's, the first time it changes).
    async fn put(&self, team: &Team) -> Result<(), StoreError>;
    async fn get(&self, id: &TeamId) -> Result<Option<Team>, StoreError>;
    async fn membership(&self, team: &TeamId, user: &UserId) -> Result<Option<Membership>, StoreError>;
    async fn members(&self, team: &TeamId) -> Result<Vec<Membership>, StoreError>;
    /// The teams `user` is a member of (a personal team only once it is stored).
    async fn memberships_of(&self, user: &UserId) -> Result<Vec<Membership>, StoreError>;
    /// Adds a member to an existing team (a user provisioned by single sign-on). `Conflict` when
    /// the user is a member already.
    async fn add_member(&self, member: &Membership) -> Result<(), StoreError>;
    /// `Conflict` unless the member still has the role `seen`.
    async fn set_role(&self, team: &TeamId, user: &UserId, seen: Role, role: Role) -> Result<(), StoreError>;
    /// `Conflict` unless the member still has the role `seen`.
    async fn remove_member(&self, team: &TeamId, user: &UserId, seen: Role) -> Result<(), StoreError>;
    async fn create_invitation(&self, invitation: &Invitation) -> Result<(), StoreError>;
    async fn invitation(&self, token_hash: &str) -> Result<Option<Invitation>, StoreError>;
    /// Marks the invitation accepted by `member.user_id` and adds the membership, in one write:
    /// `Conflict` when it was accepted already, ran out before `now`, or the user is a member.
    async fn accept_invitation(
        &self,
        invitation: &Invitation,
        member: &Membership,
        now: Timestamp,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait ArtifactStore: Send + Sync {
    async fn get(&self, id: &ArtifactId) -> Result<Option<Artifact>, StoreError>;
    /// Fails with `Conflict` when the id is taken.
    async fn create(&self, artifact: &Artifact) -> Result<(), StoreError>;
    /// Creates or replaces: for platform-written artifacts whose ids are derived from the job, so a
    /// retried run writes the same record again.
    async fn put(&self, artifact: &Artifact) -> Result<(), StoreError>;
    /// `PENDING_UPLOAD` → `AVAILABLE`; `Conflict` from any other state.
    async fn mark_available(&self, id: &ArtifactId, checksum_sha256: Option<&str>) -> Result<(), StoreError>;
    /// `PENDING_UPLOAD` → `REJECTED`; `Conflict` from any other state.
    async fn mark_rejected(&self, id: &ArtifactId, reason: &str) -> Result<(), StoreError>;
    /// Removes the record (a deleted job's output); nothing happens when there is none.
    async fn delete(&self, id: &ArtifactId) -> Result<(), StoreError>;
}

pub struct JobPage {
    pub jobs: Vec<Job>,
    pub next_cursor: Option<String>,
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Fails with `Conflict` when the id is taken.
    async fn create(&self, job: &Job) -> Result<(), StoreError>;
    async fn get(&self, id: &JobId) -> Result<Option<Job>, StoreError>;
    /// The team's jobs, newest first. `cursor` is what an earlier page returned as `next_cursor`.
    async fn list(
        &self,
        team: &TeamId,
        status: Option<JobStatus>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<JobPage, StoreError>;
    /// The runs of a pipeline, newest first, paged as [`JobStore::list`].
    async fn runs(&self, pipeline: &PipelineId, limit: u32, cursor: Option<&str>) -> Result<JobPage, StoreError>;
    /// Stores `next` (what [`Job::apply`] made of `seen`) only if the stored job is still `seen`:
    /// same status, attempt and lease. `Conflict` when another writer moved it in between, so
    /// that every transition is taken from the state the lifecycle checked.
    async fn replace(&self, seen: &Job, next: &Job) -> Result<(), StoreError>;
    /// Removes the job only if the stored job is still `seen` (as [`JobStore::replace`]):
    /// `Conflict` when it moved on, `NotFound` when it is gone.
    async fn delete(&self, seen: &Job) -> Result<(), StoreError>;
    /// Jobs still `RUNNING` whose lease ran out before `expired_before`, oldest first.
    async fn expired_leases(&self, expired_before: Timestamp, limit: u32) -> Result<Vec<Job>, StoreError>;
    /// Clears the job's outbox mark: its message has been sent.
    async fn mark_sent(&self, id: &JobId) -> Result<(), StoreError>;
    /// Jobs whose outbox mark was set before `before`, oldest first: their message may never
    /// have been sent.
    async fn unsent(&self, before: Timestamp, limit: u32) -> Result<Vec<Job>, StoreError>;
}

/// Pipelines and their versions. A version is written once and never changed; saving one moves
/// the pipeline's `current_version` in the same write, conditional on the version the caller saw,
/// so two saves at once cannot both become version n.
#[async_trait]
pub trait PipelineStore: Send + Sync {
    /// A new pipeline and its first version, in one write. `Conflict` when the id is taken.
    async fn create(&self, pipeline: &Pipeline, first: &PipelineVersion) -> Result<(), StoreError>;
    async fn get(&self, id: &PipelineId) -> Result<Option<Pipeline>, StoreError>;
    /// The team's pipelines, archived ones included, oldest first.
    async fn list(&self, team: &TeamId) -> Result<Vec<Pipeline>, StoreError>;
    /// Stores `version` and makes it the pipeline's current one (with `updated_at`), in one
    /// write: `Conflict` unless the pipeline is at `version.version - 1` and not archived.
    async fn add_version(&self, version: &PipelineVersion, updated_at: Timestamp) -> Result<(), StoreError>;
    /// Replaces the pipeline's name, inbox patterns, `updated_at` and `archived_at` with `next`'s: `Conflict`
    /// unless it is still at `next.current_version` and not archived.
    async fn update(&self, next: &Pipeline) -> Result<(), StoreError>;
    async fn version(&self, id: &PipelineId, version: u32) -> Result<Option<PipelineVersion>, StoreError>;
    /// Every version of the pipeline, oldest first.
    async fn versions(&self, id: &PipelineId) -> Result<Vec<PipelineVersion>, StoreError>;
    async fn add_comparison(&self, comparison: &Comparison) -> Result<(), StoreError>;
    /// The comparison whose candidate run is `candidate`.
    async fn comparison(&self, id: &PipelineId, candidate: &JobId) -> Result<Option<Comparison>, StoreError>;
    /// A new run of a chained version. `Conflict` when the id is taken.
    async fn add_run(&self, run: &crate::ChainRun) -> Result<(), StoreError>;
    async fn run(&self, id: &PipelineId, run: &crate::RunId) -> Result<Option<crate::ChainRun>, StoreError>;
    /// Replaces the run with `next`: `Conflict` unless the stored one is at `next.revision - 1`.
    async fn replace_run(&self, next: &crate::ChainRun) -> Result<(), StoreError>;
}

#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct PresignedRequest {
    pub url: String,
    pub method: String,
    /// Headers the client must send exactly as given: they are part of the signature.
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: Timestamp,
}

#[async_trait]
pub trait Blobs: Send + Sync {
    /// A PUT URL whose signature covers the content type and length, so S3 refuses any other body.
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError>;
    async fn presign_download(
        &self,
        key: &str,
        filename: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError>;
    async fn put_bytes(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StoreError>;
    /// The whole object, for small documents (schemas, contexts); `NotFound` when there is no such
    /// object, `Conflict` when it is larger than `limit` bytes.
    async fn get_bytes(&self, key: &str, limit: u64) -> Result<Vec<u8>, StoreError>;
    /// The stored size and checksum, `None` when there is no such object.
    async fn head(&self, key: &str) -> Result<Option<BlobHead>, StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Copies the object at `from` to `to` inside the bucket (objects up to 5 GB, S3's limit of
    /// one copy); `NotFound` when there is no object at `from`.
    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError>;
    /// Opens a multipart upload whose parts S3 checks against their SHA-256; returns its id.
    async fn start_multipart(&self, key: &str, content_type: &str) -> Result<String, StoreError>;
    /// A PUT URL for one part whose signature covers its length and SHA-256, so S3 refuses any
    /// other body.
    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part: &PartUpload,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError>;
    /// The parts stored so far, by number; `NotFound` when the upload is no longer open.
    async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, StoreError>;
    /// Joins `parts`, in order, into the object; `NotFound` when the upload is no longer open.
    async fn complete_multipart(&self, key: &str, upload_id: &str, parts: &[StoredPart]) -> Result<(), StoreError>;
    /// Drops the upload and its parts; an upload already gone is not an error.
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError>;
    /// Stores part `part_number` of an open multipart upload that the platform writes itself.
    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: Vec<u8>,
    ) -> Result<StoredPart, StoreError>;
    /// Stores bytes `range` (`start..end`) of the object at `from` as part `part_number` of an
    /// open multipart upload (S3's UploadPartCopy: the bytes never leave the bucket); `NotFound`
    /// when the upload is no longer open or there is no object at `from`.
    async fn upload_part_copy(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        from: &str,
        range: std::ops::Range<u64>,
    ) -> Result<StoredPart, StoreError>;
    /// Bytes `start..start + len` of an object, fewer at its end; `NotFound` when there is no such
    /// object.
    async fn read_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>, StoreError>;
    /// The objects whose keys start with `prefix`, in key order, at most `limit` of them (S3's
    /// ListObjectsV2, page after page until `limit`).
    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<ListedBlob>, StoreError>;
}

/// An object as a listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedBlob {
    pub key: String,
    pub size: u64,
    /// What tells one content of the key from another (quoted, as S3 sends it).
    pub etag: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobHead {
    pub size: u64,
    /// Base64; `-<parts>` for S3's checksum of a multipart object's part checksums.
    pub checksum_sha256: Option<String>,
}

/// A part a client is about to upload: its number (1-based), length and SHA-256 (base64).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartUpload {
    pub part_number: u32,
    pub size: u64,
    pub checksum_sha256: String,
}

/// A part S3 holds of an open multipart upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct StoredPart {
    pub part_number: u32,
    pub etag: String,
    pub size: u64,
    #[serde(skip)]
    pub checksum_sha256: Option<String>,
}

#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Queues the message, its `traceparent` as a message attribute.
    async fn send(&self, message: &JobMessage) -> Result<(), StoreError>;

    /// Queues every message, as `send` does each: a job split into hundreds of shards queues
    /// them in a few requests. On an error some may have been queued; sending them all again
    /// is safe, as every handler is idempotent.
    async fn send_all(&self, messages: &[JobMessage]) -> Result<(), StoreError>;
}

/// What an idempotency record said when a handler asked to start on a payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// No record, or an expired one: the caller now holds it.
    Started,
    /// Done before: skip, successfully.
    AlreadyCompleted,
    /// Someone else is on it and their time has not run out: try again later.
    InProgress,
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    async fn begin(
        &self,
        key: &str,
        now: Timestamp,
        in_progress_until: Timestamp,
    ) -> Result<IdempotencyClaim, StoreError>;
    async fn complete(&self, key: &str, keep_until: Timestamp) -> Result<(), StoreError>;
    /// Forgets a failed attempt so the next delivery may run.
    async fn abandon(&self, key: &str) -> Result<(), StoreError>;
}

/// The response a request with an `Idempotency-Key` got, kept to answer its retries with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What the record of an `Idempotency-Key` said when a request asked to run under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyClaim {
    /// No record, or an expired one: the caller runs the request and then records its response.
    Started,
    /// The same request ran before: answer with its response.
    Replay(StoredResponse),
    /// The same key is on a request that has not finished.
    InProgress,
    /// The key was used with another request body.
    Mismatch,
}

/// Client-chosen idempotency keys of HTTP requests (the IETF `Idempotency-Key` draft): a retried
/// request gets the first response instead of running twice.
#[async_trait]
pub trait RequestKeyStore: Send + Sync {
    /// Claims `key` for a request whose body hashes to `fingerprint`.
    async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        in_progress_until: Timestamp,
    ) -> Result<KeyClaim, StoreError>;
    /// Keeps the response until `keep_until`.
    async fn complete(&self, key: &str, response: &StoredResponse, keep_until: Timestamp) -> Result<(), StoreError>;
    /// Forgets a request that failed for a passing reason, so that its retry runs.
    async fn abandon(&self, key: &str) -> Result<(), StoreError>;
}

/// A team's API keys, found by the hash of the key a request carries.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// `Conflict` when a key with the same hash exists.
    async fn create(&self, key: &ApiKey) -> Result<(), StoreError>;
    /// A strongly consistent read: a key revoked a moment ago reads as revoked.
    async fn get(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError>;
    /// The team's keys, revoked ones included, oldest first.
    async fn list(&self, team: &TeamId) -> Result<Vec<ApiKey>, StoreError>;
    /// Marks the team's key `id` revoked at `now` (a revoked key keeps its first revocation time);
    /// `NotFound` when the team has no such key.
    async fn revoke(&self, team: &TeamId, id: &ApiKeyId, now: Timestamp) -> Result<(), StoreError>;
    /// Counts a use of the key at `now` (its last use and use count) in one write.
    async fn record_use(&self, key_hash: &str, now: Timestamp) -> Result<(), StoreError>;
}

/// The append-only audit trail: one chain of entries per team, numbered without gaps. There is
/// no update and no delete.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Adds `entry` at `entry.seq` of its team's chain: `Conflict` when the chain has an entry
    /// there already (another writer appended first: read the head again and retry).
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Up to `limit` entries of the chain below `before` (the whole chain when `None`), newest
    /// first. A strongly consistent read: the head read before an append is the latest.
    async fn newest(&self, team: &TeamId, before: Option<u64>, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
    /// Up to `limit` entries of the chain above `after`, oldest first.
    async fn oldest(&self, team: &TeamId, after: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
}
