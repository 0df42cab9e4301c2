//! In-memory implementations of every port, with the same contracts as the AWS adapters: the
//! rules above them (jobs, artifacts, the lifecycle) are tested in-process, in milliseconds.
//! Each can be told to fail, to test how the rules handle a storage fault.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::ports::{IdempotencyClaim, JobPage, KeyClaim, ListedBlob, RequestKeyStore, StoredResponse};
use crate::{
    ApiKey, ApiKeyId, ApiKeyStore, Artifact, ArtifactId, ArtifactStatus, ArtifactStore, AuditEntry, AuditLog, BlobHead,
    Blobs, Comparison, IdempotencyStore, Invitation, Job, JobId, JobMessage, JobQueue, JobStatus, JobStore, Membership,
    PartUpload, Pipeline, PipelineId, PipelineStore, PipelineVersion, PresignedRequest, Role, Session, SessionId,
    SessionStore, StoreError, StoredPart, Team, TeamId, TeamStore, Timestamp, User, UserId, UserStore,
};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A switch that makes an adapter's calls fail as a backend outage would.
#[derive(Debug, Default)]
pub struct Outage(AtomicBool);

impl Outage {
    pub fn set(&self, down: bool) {
        self.0.store(down, Ordering::SeqCst);
    }

    pub(crate) fn check(&self, what: &str) -> Result<(), StoreError> {
        if self.0.load(Ordering::SeqCst) { Err(StoreError::Backend(format!("{what} is unavailable"))) } else { Ok(()) }
    }
}

#[derive(Default)]
pub struct MemoryUserStore {
    users: Mutex<HashMap<String, User>>,
}

#[async_trait]
impl UserStore for MemoryUserStore {
    async fn get(&self, email: &str) -> Result<Option<User>, StoreError> {
        Ok(lock(&self.users).get(email).cloned())
    }

    async fn create(&self, user: &User) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        if users.contains_key(&user.email) {
            return Err(StoreError::Conflict("an account with this e-mail exists".into()));
        }
        users.insert(user.email.clone(), user.clone());
        Ok(())
    }

    async fn set_password(&self, email: &str, seen: &str, hash: &str, at: Timestamp) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        match users.get_mut(email) {
            Some(user) if user.password_hash == seen => {
                user.password_hash = hash.to_owned();
                user.updated_at = at;
                Ok(())
            }
            Some(_) => Err(StoreError::Conflict("the password changed".into())),
            None => Err(StoreError::NotFound),
        }
    }

    async fn save_profile(&self, user: &User) -> Result<(), StoreError> {
        let mut users = lock(&self.users);
        let stored = users.get_mut(&user.email).ok_or(StoreError::NotFound)?;
        stored.fullname.clone_from(&user.fullname);
        stored.phone_number.clone_from(&user.phone_number);
        stored.web_url.clone_from(&user.web_url);
        stored.updated_at = user.updated_at;
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryLoginAttempts {
    failures: Mutex<HashMap<String, Vec<Timestamp>>>,
}

#[async_trait]
impl crate::LoginAttempts for MemoryLoginAttempts {
    async fn failures_since(&self, account: &str, since: Timestamp) -> Result<Vec<Timestamp>, StoreError> {
        let failures = lock(&self.failures);
        Ok(failures.get(account).map(|f| f.iter().copied().filter(|t| *t >= since).collect()).unwrap_or_default())
    }

    async fn record_failure(&self, account: &str, at: Timestamp) -> Result<(), StoreError> {
        lock(&self.failures).entry(account.to_owned()).or_default().push(at);
        Ok(())
    }

    async fn clear(&self, account: &str) -> Result<(), StoreError> {
        lock(&self.failures).remove(account);
        Ok(())
    }
}

#[derive(Default)]
pub struct MemorySessionStore {
    sessions: Mutex<HashMap<SessionId, Session>>,
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        lock(&self.sessions).insert(session.id.clone(), session.clone());
        Ok(())
    }

    async fn get(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        Ok(lock(&self.sessions).get(id).cloned())
    }

    async fn rotate(
        &self,
        id: &SessionId,
        seen: &str,
        next: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut sessions = lock(&self.sessions);
        match sessions.get_mut(id) {
            Some(s) if s.is_active(now) && s.refreshes_with(seen, now) => {
                s.previous_hash = Some(std::mem::replace(&mut s.refresh_hash, next.to_owned()));
                s.generation += 1;
                s.refreshed_at = now;
                s.expires_at = expires_at;
                Ok(())
            }
            _ => Err(StoreError::Conflict("the session moved on or ended".into())),
        }
    }

    async fn end(&self, id: &SessionId, reason: &str, now: Timestamp) -> Result<(), StoreError> {
        if let Some(s) = lock(&self.sessions).get_mut(id)
            && s.ended_at.is_none()
        {
            s.ended_at = Some(now);
            s.ended_reason = Some(reason.to_owned());
        }
        Ok(())
    }

    async fn active_of(&self, user: &UserId, now: Timestamp) -> Result<Vec<Session>, StoreError> {
        Ok(lock(&self.sessions).values().filter(|s| &s.user_id == user && s.is_active(now)).cloned().collect())
    }
}

#[derive(Default)]
pub struct MemoryTeamStore {
    teams: Mutex<HashMap<TeamId, Team>>,
    members: Mutex<BTreeMap<(TeamId, UserId), Membership>>,
    invitations: Mutex<HashMap<String, Invitation>>,
}

#[async_trait]
impl TeamStore for MemoryTeamStore {
    async fn create(&self, team: &Team, owner: &Membership) -> Result<(), StoreError> {
        let mut teams = lock(&self.teams);
        if teams.contains_key(&team.id) {
            return Err(StoreError::Conflict("the team exists".into()));
        }
        teams.insert(team.id.clone(), team.clone());
        lock(&self.members).insert((owner.team_id.clone(), owner.user_id.clone()), owner.clone());
        Ok(())
    }

    async fn put(&self, team: &Team) -> Result<(), StoreError> {
        lock(&self.teams).insert(team.id.clone(), team.clone());
        Ok(())
    }

    async fn get(&self, id: &TeamId) -> Result<Option<Team>, StoreError> {
        Ok(lock(&self.teams).get(id).cloned())
    }

    async fn membership(&self, team: &TeamId, user: &UserId) -> Result<Option<Membership>, StoreError> {
        Ok(lock(&self.members).get(&(team.clone(), user.clone())).cloned())
    }

    async fn members(&self, team: &TeamId) -> Result<Vec<Membership>, StoreError> {
        Ok(lock(&self.members).values().filter(|m| &m.team_id == team).cloned().collect())
    }

    async fn memberships_of(&self, user: &UserId) -> Result<Vec<Membership>, StoreError> {
        Ok(lock(&self.members).values().filter(|m| &m.user_id == user).cloned().collect())
    }

    async fn add_member(&self, member: &Membership) -> Result<(), StoreError> {
        let mut members = lock(&self.members);
        let key = (member.team_id.clone(), member.user_id.clone());
        if members.contains_key(&key) {
            return Err(StoreError::Conflict("the user is a member".into()));
        }
        members.insert(key, member.clone());
        Ok(())
    }

    async fn set_role(&self, team: &TeamId, user: &UserId, seen: Role, role: Role) -> Result<(), StoreError> {
        let mut members = lock(&self.members);
        match members.get_mut(&(team.clone(), user.clone())) {
            Some(m) if m.role == seen => {
                m.role = role;
                Ok(())
            }
            _ => Err(StoreError::Conflict("the membership changed".into())),
        }
    }

    async fn remove_member(&self, team: &TeamId, user: &UserId, seen: Role) -> Result<(), StoreError> {
        let mut members = lock(&self.members);
        let key = (team.clone(), user.clone());
        match members.get(&key) {
            Some(m) if m.role == seen => {
                members.remove(&key);
                Ok(())
            }
            _ => Err(StoreError::Conflict("the membership changed".into())),
        }
    }

    async fn create_invitation(&self, invitation: &Invitation) -> Result<(), StoreError> {
        lock(&self.invitations).insert(invitation.token_hash.clone(), invitation.clone());
        Ok(())
    }

    async fn invitation(&self, token_hash: &str) -> Result<Option<Invitation>, StoreError> {
        Ok(lock(&self.invitations).get(token_hash).cloned())
    }

    async fn accept_invitation(
        &self,
        invitation: &Invitation,
        member: &Membership,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut invitations = lock(&self.invitations);
        let mut members = lock(&self.members);
        let stored = invitations.get_mut(&invitation.token_hash).ok_or(StoreError::NotFound)?;
        let key = (member.team_id.clone(), member.user_id.clone());
        if stored.accepted_by.is_some() || stored.expires_at <= now || members.contains_key(&key) {
            return Err(StoreError::Conflict("the invitation was used, ran out, or the user is a member".into()));
        }
        stored.accepted_by = Some(member.user_id.clone());
        members.insert(key, member.clone());
        Ok(())
    }
}

/// Keys by their hash, as the table holds them.
#[derive(Default)]
pub struct MemoryApiKeyStore {
    keys: Mutex<HashMap<String, ApiKey>>,
}

#[async_trait]
impl ApiKeyStore for MemoryApiKeyStore {
    async fn create(&self, key: &ApiKey) -> Result<(), StoreError> {
        let mut keys = lock(&self.keys);
        if keys.contains_key(&key.key_hash) {
            return Err(StoreError::Conflict("the key exists".into()));
        }
        keys.insert(key.key_hash.clone(), key.clone());
        Ok(())
    }

    async fn get(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        Ok(lock(&self.keys).get(key_hash).cloned())
    }

    async fn list(&self, team: &TeamId) -> Result<Vec<ApiKey>, StoreError> {
        let mut keys: Vec<ApiKey> = lock(&self.keys).values().filter(|k| &k.team_id == team).cloned().collect();
        keys.sort_by_key(|k| k.created_at);
        Ok(keys)
    }

    async fn revoke(&self, team: &TeamId, id: &ApiKeyId, now: Timestamp) -> Result<(), StoreError> {
        let mut keys = lock(&self.keys);
        let key = keys.values_mut().find(|k| &k.id == id && &k.team_id == team).ok_or(StoreError::NotFound)?;
        key.revoked_at.get_or_insert(now);
        Ok(())
    }

    async fn record_use(&self, key_hash: &str, now: Timestamp) -> Result<(), StoreError> {
        let mut keys = lock(&self.keys);
        let key = keys.get_mut(key_hash).ok_or(StoreError::NotFound)?;
        key.last_used_at = Some(now);
        key.use_count += 1;
        Ok(())
    }
}

/// Every team's audit chain, keyed as the table is: team, then sequence number.
#[derive(Default)]
pub struct MemoryAuditLog {
    entries: Mutex<BTreeMap<(TeamId, u64), AuditEntry>>,
    pub outage: Outage,
}

impl MemoryAuditLog {
    /// Deletes an entry behind the port's back, as someone with access to the table could.
    pub fn tamper_delete(&self, team: &TeamId, seq: u64) {
        lock(&self.entries).remove(&(team.clone(), seq));
    }

    /// Overwrites an entry behind the port's back.
    pub fn tamper_replace(&self, entry: AuditEntry) {
        lock(&self.entries).insert((entry.team_id.clone(), entry.seq), entry);
    }
}

#[async_trait]
impl AuditLog for MemoryAuditLog {
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.outage.check("the audit table")?;
        let mut entries = lock(&self.entries);
        let key = (entry.team_id.clone(), entry.seq);
        if entries.contains_key(&key) {
            return Err(StoreError::Conflict("the chain has an entry at this sequence number".into()));
        }
        entries.insert(key, entry.clone());
        Ok(())
    }

    async fn newest(&self, team: &TeamId, before: Option<u64>, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.outage.check("the audit table")?;
        let entries = lock(&self.entries);
        let end = (team.clone(), before.unwrap_or(u64::MAX));
        Ok(entries.range((team.clone(), 0)..end).rev().take(limit as usize).map(|(_, e)| e.clone()).collect())
    }

    async fn oldest(&self, team: &TeamId, after: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.outage.check("the audit table")?;
        let entries = lock(&self.entries);
        let start = (team.clone(), after.saturating_add(1));
        Ok(entries.range(start..=(team.clone(), u64::MAX)).take(limit as usize).map(|(_, e)| e.clone()).collect())
    }
}

#[derive(Default)]
pub struct MemoryArtifactStore {
    artifacts: Mutex<HashMap<ArtifactId, Artifact>>,
    pub outage: Outage,
}

impl MemoryArtifactStore {
    fn leave_pending(
        &self,
        id: &ArtifactId,
        to: ArtifactStatus,
        reason: Option<&str>,
        checksum: Option<&str>,
    ) -> Result<(), StoreError> {
        self.outage.check("the artifact table")?;
        let mut artifacts = lock(&self.artifacts);
        let artifact = artifacts
            .get_mut(id)
            .filter(|a| a.status == ArtifactStatus::PendingUpload)
            .ok_or_else(|| StoreError::Conflict("the artifact is no longer pending upload".into()))?;
        artifact.status = to;
        artifact.multipart = None;
        match reason {
            Some(reason) => artifact.rejected_reason = Some(reason.to_owned()),
            None => {
                artifact.expires_at = None;
                artifact.checksum_sha256 = checksum.map(str::to_owned);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ArtifactStore for MemoryArtifactStore {
    async fn get(&self, id: &ArtifactId) -> Result<Option<Artifact>, StoreError> {
        self.outage.check("the artifact table")?;
        Ok(lock(&self.artifacts).get(id).cloned())
    }

    async fn create(&self, artifact: &Artifact) -> Result<(), StoreError> {
        self.outage.check("the artifact table")?;
        let mut artifacts = lock(&self.artifacts);
        if artifacts.contains_key(&artifact.id) {
            return Err(StoreError::Conflict("artifact id taken".into()));
        }
        artifacts.insert(artifact.id.clone(), artifact.clone());
        Ok(())
    }

    async fn put(&self, artifact: &Artifact) -> Result<(), StoreError> {
        self.outage.check("the artifact table")?;
        lock(&self.artifacts).insert(artifact.id.clone(), artifact.clone());
        Ok(())
    }

    async fn mark_available(&self, id: &ArtifactId, checksum_sha256: Option<&str>) -> Result<(), StoreError> {
        self.leave_pending(id, ArtifactStatus::Available, None, checksum_sha256)
    }

    async fn mark_rejected(&self, id: &ArtifactId, reason: &str) -> Result<(), StoreError> {
        self.leave_pending(id, ArtifactStatus::Rejected, Some(reason), None)
    }

    async fn delete(&self, id: &ArtifactId) -> Result<(), StoreError> {
        self.outage.check("the artifact table")?;
        lock(&self.artifacts).remove(id);
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryJobStore {
    jobs: Mutex<HashMap<JobId, Job>>,
    pub outage: Outage,
}

impl MemoryJobStore {
    /// Every stored job, for assertions.
    pub fn all(&self) -> Vec<Job> {
        lock(&self.jobs).values().cloned().collect()
    }
}

impl MemoryJobStore {
    /// The jobs that pass `filter`, newest first, from after the job `cursor` names.
    fn page(&self, filter: impl Fn(&Job) -> bool, limit: u32, cursor: Option<&str>) -> Result<JobPage, StoreError> {
        self.outage.check("the job table")?;
        let mut jobs: Vec<Job> = lock(&self.jobs).values().filter(|j| filter(j)).cloned().collect();
        jobs.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        let start = match cursor {
            None => 0,
            Some(cursor) => jobs.iter().position(|j| j.id == cursor).ok_or(StoreError::InvalidCursor)? + 1,
        };
        let page: Vec<Job> = jobs.into_iter().skip(start).collect();
        let more = page.len() > limit as usize;
        let jobs: Vec<Job> = page.into_iter().take(limit as usize).collect();
        let next_cursor = if more { jobs.last().map(|j| j.id.to_string()) } else { None };
        Ok(JobPage { jobs, next_cursor })
    }
}

/// The fields a conditional write compares: the lifecycle changes at least one of them in every
/// transition.
fn version(job: &Job) -> (JobStatus, u32, Option<i64>) {
    (job.status, job.attempts, job.lease_expires_at)
}

#[async_trait]
impl JobStore for MemoryJobStore {
    async fn create(&self, job: &Job) -> Result<(), StoreError> {
        self.outage.check("the job table")?;
        let mut jobs = lock(&self.jobs);
        if jobs.contains_key(&job.id) {
            return Err(StoreError::Conflict("job id taken".into()));
        }
        jobs.insert(job.id.clone(), job.clone());
        Ok(())
    }

    async fn get(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        self.outage.check("the job table")?;
        Ok(lock(&self.jobs).get(id).cloned())
    }

    async fn list(
        &self,
        team: &TeamId,
        status: Option<JobStatus>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<JobPage, StoreError> {
        self.page(|j| &j.team_id == team && status.is_none_or(|s| j.status == s), limit, cursor)
    }

    async fn runs(&self, pipeline: &PipelineId, limit: u32, cursor: Option<&str>) -> Result<JobPage, StoreError> {
        self.page(|j| j.pipeline_id.as_ref() == Some(pipeline), limit, cursor)
    }

    async fn replace(&self, seen: &Job, next: &Job) -> Result<(), StoreError> {
        self.outage.check("the job table")?;
        let mut jobs = lock(&self.jobs);
        let stored = jobs.get_mut(&seen.id).ok_or(StoreError::NotFound)?;
        if version(stored) != version(seen) {
            return Err(StoreError::Conflict("the job moved on".into()));
        }
        *stored = next.clone();
        Ok(())
    }

    async fn delete(&self, seen: &Job) -> Result<(), StoreError> {
        self.outage.check("the job table")?;
        let mut jobs = lock(&self.jobs);
        let stored = jobs.get(&seen.id).ok_or(StoreError::NotFound)?;
        if version(stored) != version(seen) {
            return Err(StoreError::Conflict("the job moved on".into()));
        }
        jobs.remove(&seen.id);
        Ok(())
    }

    async fn expired_leases(&self, expired_before: Timestamp, limit: u32) -> Result<Vec<Job>, StoreError> {
        self.outage.check("the job table")?;
        let mut expired: Vec<Job> = lock(&self.jobs)
            .values()
            .filter(|j| j.status == JobStatus::Running && j.lease_expires_at.is_some_and(|l| l < expired_before.unix()))
            .cloned()
            .collect();
        expired.sort_by_key(|j| j.lease_expires_at);
        expired.truncate(limit as usize);
        Ok(expired)
    }

    async fn mark_sent(&self, id: &JobId) -> Result<(), StoreError> {
        self.outage.check("the job table")?;
        lock(&self.jobs).get_mut(id).ok_or(StoreError::NotFound)?.unsent_since = None;
        Ok(())
    }

    async fn unsent(&self, before: Timestamp, limit: u32) -> Result<Vec<Job>, StoreError> {
        self.outage.check("the job table")?;
        let mut unsent: Vec<Job> =
            lock(&self.jobs).values().filter(|j| j.unsent_since.is_some_and(|t| t < before.unix())).cloned().collect();
        unsent.sort_by_key(|j| j.unsent_since);
        unsent.truncate(limit as usize);
        Ok(unsent)
    }
}

#[derive(Default)]
pub struct MemoryPipelineStore {
    pipelines: Mutex<HashMap<PipelineId, Pipeline>>,
    versions: Mutex<BTreeMap<(PipelineId, u32), PipelineVersion>>,
    comparisons: Mutex<HashMap<(PipelineId, JobId), Comparison>>,
    runs: Mutex<HashMap<(PipelineId, crate::RunId), crate::ChainRun>>,
    pub outage: Outage,
}

#[async_trait]
impl PipelineStore for MemoryPipelineStore {
    async fn create(&self, pipeline: &Pipeline, first: &PipelineVersion) -> Result<(), StoreError> {
        self.outage.check("the pipeline table")?;
        let mut pipelines = lock(&self.pipelines);
        if pipelines.contains_key(&pipeline.id) {
            return Err(StoreError::Conflict("pipeline id taken".into()));
        }
        pipelines.insert(pipeline.id.clone(), pipeline.clone());
        lock(&self.versions).insert((first.pipeline_id.clone(), first.version), first.clone());
        Ok(())
    }

    async fn get(&self, id: &PipelineId) -> Result<Option<Pipeline>, StoreError> {
        self.outage.check("the pipeline table")?;
        Ok(lock(&self.pipelines).get(id).cloned())
    }

    async fn list(&self, team: &TeamId) -> Result<Vec<Pipeline>, StoreError> {
        self.outage.check("the pipeline table")?;
        let mut found: Vec<Pipeline> = lock(&self.pipelines).values().filter(|p| &p.team_id == team).cloned().collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn add_version(&self, version: &PipelineVersion, updated_at: Timestamp) -> Result<(), StoreError> {
        self.outage.check("the pipeline table")?;
        let mut pipelines = lock(&self.pipelines);
        let stored = pipelines.get_mut(&version.pipeline_id).ok_or(StoreError::NotFound)?;
        if stored.current_version + 1 != version.version || stored.archived_at.is_some() {
            return Err(StoreError::Conflict("the pipeline moved on".into()));
        }
        stored.current_version = version.version;
        stored.updated_at = updated_at;
        lock(&self.versions).insert((version.pipeline_id.clone(), version.version), version.clone());
        Ok(())
    }

    async fn update(&self, next: &Pipeline) -> Result<(), StoreError> {
        self.outage.check("the pipeline table")?;
        let mut pipelines = lock(&self.pipelines);
        let stored = pipelines.get_mut(&next.id).ok_or(StoreError::NotFound)?;
        if stored.current_version != next.current_version || stored.archived_at.is_some() {
            return Err(StoreError::Conflict("the pipeline moved on".into()));
        }
        stored.name = next.name.clone();
        stored.patterns = next.patterns.clone();
        stored.updated_at = next.updated_at;
        stored.archived_at = next.archived_at;
        Ok(())
    }

    async fn version(&self, id: &PipelineId, version: u32) -> Result<Option<PipelineVersion>, StoreError> {
        self.outage.check("the pipeline table")?;
        Ok(lock(&self.versions).get(&(id.clone(), version)).cloned())
    }

    async fn versions(&self, id: &PipelineId) -> Result<Vec<PipelineVersion>, StoreError> {
        self.outage.check("the pipeline table")?;
        Ok(lock(&self.versions).range((id.clone(), 0)..=(id.clone(), u32::MAX)).map(|(_, v)| v.clone()).collect())
    }

    async fn add_comparison(&self, comparison: &Comparison) -> Result<(), StoreError> {
        self.outage.check("the pipeline table")?;
        let key = (comparison.pipeline_id.clone(), comparison.candidate_job_id.clone());
        lock(&self.comparisons).insert(key, comparison.clone());
        Ok(())
    }

    async fn comparison(&self, id: &PipelineId, candidate: &JobId) -> Result<Option<Comparison>, StoreError> {
        self.outage.check("the pipeline table")?;
        Ok(lock(&self.comparisons).get(&(id.clone(), candidate.clone())).cloned())
    }

    async fn add_run(&self, run: &crate::ChainRun) -> Result<(), StoreError> {
        self.outage.check("the pipeline table")?;
        match lock(&self.runs).entry((run.pipeline_id.clone(), run.id.clone())) {
            std::collections::hash_map::Entry::Occupied(_) => Err(StoreError::Conflict("run id taken".into())),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(run.clone());
                Ok(())
            }
        }
    }

    async fn run(&self, id: &PipelineId, run: &crate::RunId) -> Result<Option<crate::ChainRun>, StoreError> {
        self.outage.check("the pipeline table")?;
        Ok(lock(&self.runs).get(&(id.clone(), run.clone())).cloned())
    }

    async fn replace_run(&self, next: &crate::ChainRun) -> Result<(), StoreError> {
        self.outage.check("the pipeline table")?;
        let mut runs = lock(&self.runs);
        match runs.get_mut(&(next.pipeline_id.clone(), next.id.clone())) {
            Some(stored) if stored.revision + 1 == next.revision => {
                *stored = next.clone();
                Ok(())
            }
            Some(_) => Err(StoreError::Conflict("the run moved on".into())),
            None => Err(StoreError::NotFound),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoredBlob {
    pub body: Vec<u8>,
    pub content_type: String,
    pub checksum_sha256: Option<String>,
}

#[derive(Default)]
pub struct MemoryBlobs {
    objects: Mutex<BTreeMap<String, StoredBlob>>,
    uploads: Mutex<HashMap<String, OpenUpload>>,
    pub outage: Outage,
}

/// A multipart upload in progress, as S3 keeps it: its key and the parts received, by number.
struct OpenUpload {
    key: String,
    content_type: String,
    parts: BTreeMap<u32, Vec<u8>>,
}

fn sha256_base64(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// A part's ETag: S3's is an MD5; any digest of the bytes serves a fake.
fn part_etag(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", hex::encode(&Sha256::digest(bytes)[..16]))
}

impl MemoryBlobs {
    /// What a client's PUT to a presigned part URL does: S3 stores the part when the body
    /// matches the signed SHA-256 and refuses it otherwise. Returns the part's ETag.
    pub fn put_part(
        &self,
        upload_id: &str,
        part_number: u32,
        checksum_sha256: &str,
        body: Vec<u8>,
    ) -> Result<String, StoreError> {
        if sha256_base64(&body) != checksum_sha256 {
            return Err(StoreError::Conflict("BadDigest: the part's SHA-256 does not match".into()));
        }
        let mut uploads = lock(&self.uploads);
        let upload = uploads.get_mut(upload_id).ok_or(StoreError::NotFound)?;
        let etag = part_etag(&body);
        upload.parts.insert(part_number, body);
        Ok(etag)
    }

    /// The ids of the multipart uploads still open.
    pub fn open_uploads(&self) -> Vec<String> {
        lock(&self.uploads).keys().cloned().collect()
    }

    pub fn object(&self, key: &str) -> Option<StoredBlob> {
        lock(&self.objects).get(key).cloned()
    }

    pub fn keys(&self) -> Vec<String> {
        lock(&self.objects).keys().cloned().collect()
    }

    fn presigned(key: &str, method: &str, expires_in: Duration, headers: BTreeMap<String, String>) -> PresignedRequest {
        PresignedRequest {
            url: format!("memory://blobs/{key}"),
            method: method.to_owned(),
            headers,
            expires_at: Timestamp::now().plus(expires_in),
        }
    }
}

#[async_trait]
impl Blobs for MemoryBlobs {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        self.outage.check("the bucket")?;
        let headers = BTreeMap::from([
            ("content-type".to_owned(), content_type.to_owned()),
            ("content-length".to_owned(), content_length.to_string()),
        ]);
        Ok(Self::presigned(key, "PUT", expires_in, headers))
    }

    async fn presign_download(
        &self,
        key: &str,
        _filename: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        self.outage.check("the bucket")?;
        Ok(Self::presigned(key, "GET", expires_in, BTreeMap::new()))
    }

    async fn put_bytes(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.outage.check("the bucket")?;
        let checksum_sha256 = Some(sha256_base64(&body));
        lock(&self.objects)
            .insert(key.to_owned(), StoredBlob { body, content_type: content_type.to_owned(), checksum_sha256 });
        Ok(())
    }

    async fn get_bytes(&self, key: &str, limit: u64) -> Result<Vec<u8>, StoreError> {
        self.outage.check("the bucket")?;
        let object = self.object(key).ok_or(StoreError::NotFound)?;
        if object.body.len() as u64 > limit {
            return Err(StoreError::Conflict(format!("larger than {limit} bytes")));
        }
        Ok(object.body)
    }

    async fn head(&self, key: &str) -> Result<Option<BlobHead>, StoreError> {
        self.outage.check("the bucket")?;
        Ok(self.object(key).map(|o| BlobHead { size: o.body.len() as u64, checksum_sha256: o.checksum_sha256 }))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.outage.check("the bucket")?;
        lock(&self.objects).remove(key);
        Ok(())
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.outage.check("the bucket")?;
        let object = self.object(from).ok_or(StoreError::NotFound)?;
        lock(&self.objects).insert(to.to_owned(), object);
        Ok(())
    }

    async fn start_multipart(&self, key: &str, content_type: &str) -> Result<String, StoreError> {
        self.outage.check("the bucket")?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let upload = OpenUpload { key: key.to_owned(), content_type: content_type.to_owned(), parts: BTreeMap::new() };
        lock(&self.uploads).insert(id.clone(), upload);
        Ok(id)
    }

    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part: &PartUpload,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        self.outage.check("the bucket")?;
        let headers = BTreeMap::from([
            ("content-length".to_owned(), part.size.to_string()),
            ("x-amz-checksum-sha256".to_owned(), part.checksum_sha256.clone()),
        ]);
        let mut request = Self::presigned(key, "PUT", expires_in, headers);
        request.url = format!("{}?partNumber={}&uploadId={upload_id}", request.url, part.part_number);
        Ok(request)
    }

    async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, StoreError> {
        self.outage.check("the bucket")?;
        let uploads = lock(&self.uploads);
        let upload = uploads.get(upload_id).filter(|u| u.key == key).ok_or(StoreError::NotFound)?;
        Ok(upload
            .parts
            .iter()
            .map(|(&part_number, body)| StoredPart {
                part_number,
                etag: part_etag(body),
                size: body.len() as u64,
                checksum_sha256: Some(sha256_base64(body)),
            })
            .collect())
    }

    async fn complete_multipart(&self, key: &str, upload_id: &str, parts: &[StoredPart]) -> Result<(), StoreError> {
        self.outage.check("the bucket")?;
        let mut uploads = lock(&self.uploads);
        let upload = uploads.get(upload_id).filter(|u| u.key == key).ok_or(StoreError::NotFound)?;
        let mut body = Vec::new();
        let mut digests = Vec::new();
        for part in parts {
            let stored = upload
                .parts
                .get(&part.part_number)
                .filter(|b| part_etag(b) == part.etag)
                .ok_or_else(|| StoreError::Conflict(format!("InvalidPart: part {}", part.part_number)))?;
            body.extend_from_slice(stored);
            use sha2::{Digest, Sha256};
            digests.extend_from_slice(&Sha256::digest(stored));
        }
        let checksum = format!("{}-{}", sha256_base64(&digests), parts.len());
        let content_type = upload.content_type.clone();
        uploads.remove(upload_id);
        drop(uploads);
        lock(&self.objects).insert(key.to_owned(), StoredBlob { body, content_type, checksum_sha256: Some(checksum) });
        Ok(())
    }

    async fn abort_multipart(&self, _key: &str, upload_id: &str) -> Result<(), StoreError> {
        self.outage.check("the bucket")?;
        lock(&self.uploads).remove(upload_id);
        Ok(())
    }

    async fn upload_part(
        &self,
        _key: &str,
        upload_id: &str,
        part_number: u32,
        body: Vec<u8>,
    ) -> Result<StoredPart, StoreError> {
        self.outage.check("the bucket")?;
        let checksum = sha256_base64(&body);
        let etag = self.put_part(upload_id, part_number, &checksum, body.clone())?;
        Ok(StoredPart { part_number, etag, size: body.len() as u64, checksum_sha256: Some(checksum) })
    }

    async fn upload_part_copy(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        from: &str,
        range: std::ops::Range<u64>,
    ) -> Result<StoredPart, StoreError> {
        self.outage.check("the bucket")?;
        let object = self.object(from).ok_or(StoreError::NotFound)?;
        let bytes = usize::try_from(range.start)
            .ok()
            .zip(usize::try_from(range.end).ok())
            .and_then(|(start, end)| object.body.get(start..end))
            .ok_or_else(|| StoreError::Conflict(format!("InvalidRange: {range:?} of {from}")))?;
        self.upload_part(key, upload_id, part_number, bytes.to_vec()).await
    }

    async fn read_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        self.outage.check("the bucket")?;
        let object = self.object(key).ok_or(StoreError::NotFound)?;
        let start = (start as usize).min(object.body.len());
        let end = start.saturating_add(len as usize).min(object.body.len());
        Ok(object.body[start..end].to_vec())
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<ListedBlob>, StoreError> {
        self.outage.check("the bucket")?;
        let objects = lock(&self.objects);
        let listed = objects.range(prefix.to_owned()..).take_while(|(key, _)| key.starts_with(prefix)).take(limit);
        Ok(listed
            .map(|(key, o)| ListedBlob { key: key.clone(), size: o.body.len() as u64, etag: part_etag(&o.body) })
            .collect())
    }
}

#[derive(Default)]
pub struct MemoryJobQueue {
    messages: Mutex<Vec<JobMessage>>,
    pub outage: Outage,
}

impl MemoryJobQueue {
    /// The messages sent so far, oldest first; the queue is left empty.
    pub fn take(&self) -> Vec<JobMessage> {
        std::mem::take(&mut *lock(&self.messages))
    }
}

#[async_trait]
impl JobQueue for MemoryJobQueue {
    async fn send(&self, message: &JobMessage) -> Result<(), StoreError> {
        self.outage.check("the queue")?;
        lock(&self.messages).push(message.clone());
        Ok(())
    }

    async fn send_all(&self, messages: &[JobMessage]) -> Result<(), StoreError> {
        self.outage.check("the queue")?;
        lock(&self.messages).extend_from_slice(messages);
        Ok(())
    }
}

#[derive(Clone, Debug)]
enum Record {
    InProgress { until: i64 },
    Completed { until: i64 },
}

#[derive(Default)]
pub struct MemoryIdempotencyStore {
    records: Mutex<HashMap<String, Record>>,
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotencyStore {
    async fn begin(
        &self,
        key: &str,
        now: Timestamp,
        in_progress_until: Timestamp,
    ) -> Result<IdempotencyClaim, StoreError> {
        let mut records = lock(&self.records);
        let claim = match records.get(key) {
            Some(Record::Completed { until }) if *until >= now.unix() => IdempotencyClaim::AlreadyCompleted,
            Some(Record::InProgress { until }) if *until >= now.unix() => IdempotencyClaim::InProgress,
            _ => IdempotencyClaim::Started,
        };
        if claim == IdempotencyClaim::Started {
            records.insert(key.to_owned(), Record::InProgress { until: in_progress_until.unix() });
        }
        Ok(claim)
    }

    async fn complete(&self, key: &str, keep_until: Timestamp) -> Result<(), StoreError> {
        lock(&self.records).insert(key.to_owned(), Record::Completed { until: keep_until.unix() });
        Ok(())
    }

    async fn abandon(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.records).remove(key);
        Ok(())
    }
}

#[derive(Clone, Debug)]
enum KeyRecord {
    InProgress { fingerprint: String, until: i64 },
    Completed { fingerprint: String, response: StoredResponse, until: i64 },
}

#[derive(Default)]
pub struct MemoryRequestKeyStore {
    records: Mutex<HashMap<String, KeyRecord>>,
}

#[async_trait]
impl RequestKeyStore for MemoryRequestKeyStore {
    async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        in_progress_until: Timestamp,
    ) -> Result<KeyClaim, StoreError> {
        let mut records = lock(&self.records);
        let claim = match records.get(key) {
            Some(
                KeyRecord::Completed { fingerprint: f, until, .. } | KeyRecord::InProgress { fingerprint: f, until },
            ) if *until >= now.unix() && f != fingerprint => KeyClaim::Mismatch,
            Some(KeyRecord::Completed { response, until, .. }) if *until >= now.unix() => {
                KeyClaim::Replay(response.clone())
            }
            Some(KeyRecord::InProgress { until, .. }) if *until >= now.unix() => KeyClaim::InProgress,
            _ => KeyClaim::Started,
        };
        if claim == KeyClaim::Started {
            let record = KeyRecord::InProgress { fingerprint: fingerprint.to_owned(), until: in_progress_until.unix() };
            records.insert(key.to_owned(), record);
        }
        Ok(claim)
    }

    async fn complete(&self, key: &str, response: &StoredResponse, keep_until: Timestamp) -> Result<(), StoreError> {
        let mut records = lock(&self.records);
        let fingerprint = match records.get(key) {
            Some(KeyRecord::InProgress { fingerprint, .. } | KeyRecord::Completed { fingerprint, .. }) => {
                fingerprint.clone()
            }
            None => return Err(StoreError::NotFound),
        };
        records.insert(
            key.to_owned(),
            KeyRecord::Completed { fingerprint, response: response.clone(), until: keep_until.unix() },
        );
        Ok(())
    }

    async fn abandon(&self, key: &str) -> Result<(), StoreError> {
        lock(&self.records).remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JobInputs, JobKind, Transition};

    fn job(id: &str, owner: &str, second: i64) -> Job {
        let at = Timestamp::from_unix(1_800_000_000 + second).unwrap();
        Job::new(id.into(), owner.into(), JobKind::Transform, None, JobInputs::default(), at)
    }

    #[tokio::test]
    async fn listing_is_newest_first_per_team_and_pages_by_cursor() {
        let store = MemoryJobStore::default();
        for (i, owner) in ["a", "a", "b", "a"].into_iter().enumerate() {
            store.create(&job(&format!("j{i}"), owner, i as i64)).await.unwrap();
        }
        let owner = TeamId::personal(&UserId::from("a"));
        let first = store.list(&owner, None, 2, None).await.unwrap();
        assert_eq!(first.jobs.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(), ["j3", "j1"]);
        let rest = store.list(&owner, None, 2, first.next_cursor.as_deref()).await.unwrap();
        assert_eq!(rest.jobs.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(), ["j0"]);
        assert!(rest.next_cursor.is_none());
        assert!(matches!(store.list(&owner, None, 2, Some("j2")).await, Err(StoreError::InvalidCursor)));
    }

    #[tokio::test]
    async fn a_replace_from_a_stale_view_loses() {
        let store = MemoryJobStore::default();
        let pending = job("j", "a", 0);
        store.create(&pending).await.unwrap();
        let now = Timestamp::now();
        let claimed = pending.apply(Transition::Claim { lease_until: now.plus(Duration::from_secs(60)) }, now).unwrap();
        store.replace(&pending, &claimed).await.unwrap();
        assert!(matches!(store.replace(&pending, &claimed).await, Err(StoreError::Conflict(_))));
    }

    #[tokio::test]
    async fn idempotency_records_block_duplicates_until_they_expire() {
        let store = MemoryIdempotencyStore::default();
        let now = Timestamp::from_unix(1_800_000_000).unwrap();
        let later = now.plus(Duration::from_secs(60));
        assert_eq!(store.begin("k", now, later).await.unwrap(), IdempotencyClaim::Started);
        assert_eq!(store.begin("k", now, later).await.unwrap(), IdempotencyClaim::InProgress);
        assert_eq!(
            store.begin("k", later.plus(Duration::from_secs(1)), later).await.unwrap(),
            IdempotencyClaim::Started
        );
        store.complete("k", later).await.unwrap();
        assert_eq!(store.begin("k", now, later).await.unwrap(), IdempotencyClaim::AlreadyCompleted);
    }
}
