use std::sync::Arc;

use helix_domain::{
    AuditEntry, AuditEntryId, AuditLog, AuditOutcome, BrokenLink, ChainCheck, Clock, GENESIS_HASH, StoreError,
    TeamAction, TeamId, Timestamp, UserId,
};

use crate::{Access, Actor, JobError};

/// How often an append retries after losing the race for the next sequence number. Each loss
/// means another entry was added, so only a burst of this many writers at once on one team can
/// exhaust it; then the request fails closed (503) rather than go unrecorded.
const MAX_APPEND_ATTEMPTS: u32 = 32;
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;
/// How many entries one listing request reads at most while filtering: a sparse filter over a
/// long chain answers a short page with a cursor rather than read the whole chain at once.
const MAX_SCANNED: usize = 2000;
const VERIFY_BATCH: u32 = 500;

/// What is recorded, by its action name.
pub mod action {
    pub const JOB_CREATE: &str = "job.create";
    /// A request refused because the team's plan is used up; the quota is the target.
    pub const QUOTA_EXCEEDED: &str = "quota.exceeded";
    /// A platform admin changed the team's plan; the plan is the target.
    pub const TEAM_PLAN: &str = "team.plan";
    pub const JOB_CANCEL: &str = "job.cancel";
    pub const JOB_RETRY: &str = "job.retry";
    pub const JOB_DELETE: &str = "job.delete";
    pub const ARTIFACT_DOWNLOAD: &str = "artifact.download";
    pub const KEY_CREATE: &str = "key.create";
    pub const KEY_REVOKE: &str = "key.revoke";
    pub const MEMBER_INVITE: &str = "member.invite";
    pub const MEMBER_JOIN: &str = "member.join";
    pub const MEMBER_ROLE: &str = "member.role_change";
    pub const MEMBER_REMOVE: &str = "member.remove";
    pub const SESSION_LOGIN: &str = "session.login";
    /// A session started by single sign-on (an external issuer's token exchanged).
    pub const SESSION_SSO_LOGIN: &str = "session.sso_login";
    pub const SESSION_REFRESH_REUSE: &str = "session.refresh_reuse";
    pub const PASSWORD_CHANGE: &str = "user.password_change";
    pub const PIPELINE_CREATE: &str = "pipeline.create";
    pub const PIPELINE_VERSION: &str = "pipeline.version";
    pub const PIPELINE_UPDATE: &str = "pipeline.update";
    pub const PIPELINE_ARCHIVE: &str = "pipeline.archive";
    /// A file in a pipeline's inbox that matches none of its patterns.
    pub const PIPELINE_INBOX_IGNORE: &str = "pipeline.inbox_ignore";
    /// The same bytes dropped into an inbox again: no run.
    pub const PIPELINE_INBOX_DUPLICATE: &str = "pipeline.inbox_duplicate";
    /// An upload URL into a pipeline's inbox handed out (a drop).
    pub const PIPELINE_DROP: &str = "pipeline.drop";
    /// An inbox file no run could be made of.
    pub const PIPELINE_INBOX_REFUSE: &str = "pipeline.inbox_refuse";
    /// A webhook added to a pipeline; the webhook is the target.
    pub const PIPELINE_WEBHOOK_CREATE: &str = "pipeline.webhook_create";
    pub const PIPELINE_WEBHOOK_DELETE: &str = "pipeline.webhook_delete";
    /// A schedule added to a pipeline; the schedule is the target.
    pub const PIPELINE_SCHEDULE_CREATE: &str = "pipeline.schedule_create";
    pub const PIPELINE_SCHEDULE_DELETE: &str = "pipeline.schedule_delete";
}

/// Appends to the audit trail, for every use case that records what it does.
///
/// The trail is one hash chain per team: the table's partition is the team and its sort key the
/// sequence number, and entry n+1 is written only if no entry n+1 exists (a conditional put).
/// DynamoDB has no lock across items, so a single global chain would make every team's writers
/// contend for one head; per team, writers that race read the head again and retry, and the
/// chain stays one line without gaps whatever the concurrency. What belongs to no team (failed
/// logins, once recorded) is to go to a chain of its own, `platform`.
///
/// Security events fail closed: an entry that cannot be written fails the use case with
/// `Unavailable` (503) before its effect, so nothing recorded-worthy happens unrecorded. An
/// effect that then fails is recorded again as `failed`, as far as the trail allows.
pub struct AuditTrail {
    pub log: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

/// One thing to record.
pub struct AuditEvent<'a> {
    pub team: &'a TeamId,
    pub action: &'static str,
    pub target: &'a str,
}

fn unavailable(e: StoreError) -> JobError {
    JobError::Unavailable(format!("the audit trail: {e}"))
}

impl AuditTrail {
    /// Appends the entry at the head of its team's chain, retrying when another writer got there
    /// first. Fails with `Unavailable` when the entry cannot be written.
    pub async fn record(&self, actor: &Actor, event: AuditEvent<'_>, outcome: AuditOutcome) -> Result<(), JobError> {
        let origin = actor.origin.clone().unwrap_or_default();
        for _ in 0..MAX_APPEND_ATTEMPTS {
            let head = self.log.newest(event.team, None, 1).await.map_err(unavailable)?.pop();
            let (seq, prev_hash) = head.map_or((1, GENESIS_HASH.to_owned()), |h| (h.seq + 1, h.hash));
            let entry = AuditEntry {
                id: AuditEntryId::random(),
                team_id: event.team.clone(),
                seq,
                at: self.clock.now(),
                actor: actor.user_id.clone(),
                action: event.action.to_owned(),
                target: event.target.to_owned(),
                outcome,
                source_ip: origin.ip.clone(),
                user_agent: origin.user_agent.clone(),
                prev_hash,
                hash: String::new(),
            }
            .sealed();
            match self.log.append(&entry).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(_)) => tokio::task::yield_now().await,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(JobError::Unavailable("the audit trail is busy: too many concurrent writers".into()))
    }

    /// Records a refusal of a member or key of the team (`Forbidden`) and hands `result` back.
    /// Outsiders (`NotFound`) are not recorded: their requests would otherwise open chains for
    /// any team id they guess. A refusal that cannot be recorded is still a refusal: logged.
    pub async fn checked<T>(
        &self,
        actor: &Actor,
        event: AuditEvent<'_>,
        result: Result<T, JobError>,
    ) -> Result<T, JobError> {
        if matches!(result, Err(JobError::Forbidden(_)))
            && let Err(e) = self.record(actor, event, AuditOutcome::Refused).await
        {
            tracing::warn!(error = %e, "could not record a refusal in the audit trail");
        }
        result
    }

    /// Hands `result` back, recording a failure of an effect whose intent was recorded.
    pub async fn settled<T>(
        &self,
        actor: &Actor,
        event: AuditEvent<'_>,
        result: Result<T, JobError>,
    ) -> Result<T, JobError> {
        if result.is_err()
            && let Err(e) = self.record(actor, event, AuditOutcome::Failed).await
        {
            tracing::warn!(error = %e, "could not record a failure in the audit trail");
        }
        result
    }
}

/// A page of a team's audit trail.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub actor: Option<UserId>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// What walking a chain found.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainReport {
    pub team_id: TeamId,
    pub entries: u64,
    /// The hash of the newest entry: kept elsewhere, it shows later that nothing was cut off the
    /// end (which no chain can show by itself).
    pub head: Option<String>,
    /// The first entry that does not follow from the one before it.
    pub broken: Option<BrokenLink>,
}

/// Reading and verifying a team's audit trail: its admins and owners.
pub struct AuditService {
    pub access: Arc<Access>,
    pub log: Arc<dyn AuditLog>,
}

impl AuditQuery {
    fn matches(&self, entry: &AuditEntry) -> bool {
        self.action.as_ref().is_none_or(|a| &entry.action == a)
            && self.actor.as_ref().is_none_or(|a| &entry.actor == a)
            && self.from.is_none_or(|from| entry.at >= from)
            && self.to.is_none_or(|to| entry.at < to)
    }
}

impl AuditService {
    /// The team's entries that match the query, newest first. The cursor is the sequence number
    /// below which the next page starts; a page may hold fewer than `limit` entries and still
    /// have a next one (a sparse filter over a long chain).
    pub async fn list(&self, actor: &Actor, team: &TeamId, query: AuditQuery) -> Result<AuditPage, JobError> {
        self.access.require(actor, team, TeamAction::ViewAudit, "team").await?;
        let limit = match query.limit {
            None => DEFAULT_PAGE,
            Some(limit) if (1..=MAX_PAGE).contains(&limit) => limit,
            Some(_) => return Err(JobError::malformed("limit", format!("must be a number from 1 to {MAX_PAGE}"))),
        };
        let mut before = match query.cursor.as_deref() {
            None => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .map_err(|_| JobError::malformed("cursor", "is not a cursor this listing returned"))?,
            ),
        };
        let (mut entries, mut scanned) = (Vec::new(), 0);
        loop {
            let batch = self.log.newest(team, before, limit).await?;
            let Some(last) = batch.last() else { return Ok(AuditPage { entries, next_cursor: None }) };
            before = Some(last.seq);
            scanned += batch.len();
            for entry in batch {
                let seq = entry.seq;
                if query.matches(&entry) {
                    entries.push(entry);
                    if entries.len() == limit as usize {
                        return Ok(AuditPage { entries, next_cursor: (seq > 1).then(|| seq.to_string()) });
                    }
                }
            }
            if before == Some(1) {
                return Ok(AuditPage { entries, next_cursor: None });
            }
            if scanned >= MAX_SCANNED {
                return Ok(AuditPage { entries, next_cursor: before.map(|s| s.to_string()) });
            }
        }
    }

    /// Walks the team's chain from its first entry and reports the first broken link: an entry
    /// edited (its hash does not match), deleted (a gap in the numbers) or replaced (the next
    /// one's link does not match).
    pub async fn verify(&self, actor: &Actor, team: &TeamId) -> Result<ChainReport, JobError> {
        self.access.require(actor, team, TeamAction::ViewAudit, "team").await?;
        let mut check = ChainCheck::default();
        let mut after = 0;
        loop {
            let batch = self.log.oldest(team, after, VERIFY_BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = last.seq;
            batch.iter().for_each(|entry| check.push(entry));
        }
        Ok(ChainReport {
            team_id: team.clone(),
            entries: check.entries,
            head: check.head().map(str::to_owned),
            broken: check.broken,
        })
    }
}
