//! Quotas: what a team's plan lets it use, taken from the counters of a [`QuotaStore`] by the
//! use cases that use it, and refused with [`JobError::QuotaExceeded`] (recorded in the audit
//! trail) when the plan is used up.
//!
//! - **Concurrent jobs** are taken at submission (and at a retry), one slot per job, and given
//!   back when the job ends, whoever ends it (its worker, a cancellation, the sweeper). Taken at
//!   submission rather than when a worker claims the job: a refusal then reaches the caller as an
//!   answer saying what to do, while a worker finding no free slot could only hand the message
//!   back to the queue, where each redelivery counts towards the dead-letter queue and the job
//!   would wait unseen. So a team's `PENDING` and `RUNNING` jobs together stay within the limit,
//!   and never more than that many run.
//! - **Storage** is taken by an upload's registration (its declared size), given back when it is
//!   rejected or cancelled. **The size of one file** is checked there too.
//! - **Records a month** are added when a job completes (its records read); once the month's
//!   count reaches the limit, new submissions are refused until the next month.
//!
//! A slot whose job ended without giving it back (a process that died between the two writes)
//! is found and given back when the team next runs out of slots: the count heals itself.

use std::time::Duration;

use helix_domain::{
    Artifact, AuditOutcome, Counter, Job, JobId, Plan, PlanLimits, QuotaUsage, Take, Team, TeamAction, TeamId, month_of,
};

use crate::audit::{AuditEvent, AuditTrail, action};
use crate::{Access, Actor, ArtifactService, JobError, JobService, TeamService};

/// How long a slot may be held by a job that does not exist yet: a submission takes its slot
/// just before it writes the job.
const SLOT_GRACE: Duration = Duration::from_secs(300);

/// The quotas a plan sets, by the names refusals and the usage report give them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quota {
    ConcurrentJobs,
    StorageBytes,
    FileBytes,
    RecordsPerMonth,
}

impl Quota {
    pub fn as_str(self) -> &'static str {
        match self {
            Quota::ConcurrentJobs => "concurrent_jobs",
            Quota::StorageBytes => "storage_bytes",
            Quota::FileBytes => "file_bytes",
            Quota::RecordsPerMonth => "records_per_month",
        }
    }

    fn what_to_do(self) -> &'static str {
        match self {
            Quota::ConcurrentJobs => {
                "wait for a running job to finish or cancel one, or ask for a plan with more concurrent jobs"
            }
            Quota::StorageBytes => "ask for a plan with more storage",
            Quota::FileBytes => "split the file, or ask for a plan with larger files",
            Quota::RecordsPerMonth => "wait for next month (UTC), or ask for a plan with more records",
        }
    }

    /// The refusal: the limit, the usage and what to do.
    pub fn exceeded(self, plan: &Team, limit: u64, used: u64) -> JobError {
        let message = format!(
            "the {} plan's {} quota is {limit} and {used} is used: {}",
            plan.plan.as_str(),
            self.as_str(),
            self.what_to_do()
        );
        JobError::QuotaExceeded { quota: self.as_str(), limit, used, message }
    }
}

/// A team's plan, its limits and what it uses of them: `GET /teams/{id}/usage`.
#[derive(Clone, Debug, PartialEq)]
pub struct TeamUsage {
    pub team: Team,
    pub limits: PlanLimits,
    pub usage: QuotaUsage,
}

impl Access {
    /// The team as stored, or (a personal team never changed) as it starts.
    pub(crate) async fn team_record(&self, id: &TeamId, now: helix_domain::Timestamp) -> Result<Team, JobError> {
        match (self.teams.get(id).await?, id.personal_owner()) {
            (Some(team), _) => Ok(team),
            (None, Some(owner)) => Ok(Team::personal(&owner, now)),
            (None, None) => Err(JobError::NotFound("team")),
        }
    }

    /// What the team uses now.
    pub async fn usage(&self, team: &TeamId, now: helix_domain::Timestamp) -> Result<QuotaUsage, JobError> {
        Ok(QuotaUsage {
            concurrent_jobs: self.quotas.value(team, &Counter::ActiveJobs).await?,
            storage_bytes: self.quotas.value(team, &Counter::StorageBytes).await?,
            records_this_month: self.quotas.value(team, &Counter::Records(month_of(now))).await?,
        })
    }
}

impl AuditTrail {
    /// Records a quota refusal (`quota.exceeded`, the quota as its target) and hands `result`
    /// back. A refusal that cannot be recorded is still a refusal: logged.
    pub(crate) async fn quota_checked<T>(
        &self,
        actor: &Actor,
        team: &TeamId,
        result: Result<T, JobError>,
    ) -> Result<T, JobError> {
        if let Err(JobError::QuotaExceeded { quota, .. }) = &result {
            let event = AuditEvent { team, action: action::QUOTA_EXCEEDED, target: quota };
            if let Err(e) = self.record(actor, event, AuditOutcome::Refused).await {
                tracing::warn!(error = %e, "could not record a quota refusal in the audit trail");
            }
        }
        result
    }
}

impl JobService {
    /// Refuses a submission to a team whose records this month reached its plan's, and takes one
    /// of its concurrent-job slots for `job`.
    pub(crate) async fn take_job_slot(&self, actor: &Actor, team: &TeamId, job: &JobId) -> Result<(), JobError> {
        let result = self.try_take_job_slot(team, job).await;
        self.audit.quota_checked(actor, team, result).await
    }

    async fn try_take_job_slot(&self, team: &TeamId, job: &JobId) -> Result<(), JobError> {
        let now = self.clock.now();
        let record = self.access.team_record(team, now).await?;
        let limits = record.limits();
        let records = self.access.quotas.value(team, &Counter::Records(month_of(now))).await?;
        if records >= limits.records_per_month {
            return Err(Quota::RecordsPerMonth.exceeded(&record, limits.records_per_month, records));
        }
        let limit = u64::from(limits.concurrent_jobs);
        let quotas = &self.access.quotas;
        let mut taken = quotas.take(team, &Counter::ActiveJobs, job.as_str(), 1, limit, now).await?;
        if matches!(taken, Take::Refused { .. }) && self.free_ended_slots(team).await? > 0 {
            taken = quotas.take(team, &Counter::ActiveJobs, job.as_str(), 1, limit, now).await?;
        }
        match taken {
            Take::Taken => Ok(()),
            Take::Refused { used } => Err(Quota::ConcurrentJobs.exceeded(&record, limit, used)),
        }
    }

    /// Gives back the slots of jobs that ended (or were never written) without giving them back.
    async fn free_ended_slots(&self, team: &TeamId) -> Result<usize, JobError> {
        let now = self.clock.now();
        let mut freed = 0;
        for holding in self.access.quotas.holdings(team, &Counter::ActiveJobs).await? {
            let ended = match self.jobs.get(&JobId::from(holding.holder.as_str())).await? {
                Some(job) => job.status.is_terminal(),
                None => holding.since.plus(SLOT_GRACE) < now,
            };
            if ended {
                self.access.quotas.give_back(team, &Counter::ActiveJobs, &holding.holder).await?;
                tracing::warn!(team_id = %team, job_id = holding.holder, "slot of an ended job given back");
                freed += 1;
            }
        }
        Ok(freed)
    }

    /// Gives back the slot of a job that ended, or was not made after all. A slot that cannot
    /// be given back now is found by the next refusal ([`JobService::take_job_slot`]).
    pub(crate) async fn give_back_job_slot(&self, team: &TeamId, job: &JobId) {
        give_back_slot(&*self.access.quotas, team, job).await;
    }
}

/// Gives back an ended job's slot and, for a completed one, counts its records in the month it
/// completed. Failures are logged: the job's end stands, and a slot left held is found later.
pub(crate) async fn job_ended(quotas: &dyn helix_domain::QuotaStore, job: &Job) {
    give_back_slot(quotas, &job.team_id, &job.id).await;
    if job.status == helix_domain::JobStatus::Completed
        && let Some(records) = job.records_in.filter(|n| *n > 0)
    {
        let month = month_of(job.finished_at.unwrap_or_else(helix_domain::Timestamp::now));
        if let Err(e) = quotas.add(&job.team_id, &Counter::Records(month), records).await {
            tracing::warn!(job_id = %job.id, error = %e, "records not counted towards the quota");
        }
    }
}

async fn give_back_slot(quotas: &dyn helix_domain::QuotaStore, team: &TeamId, job: &JobId) {
    if let Err(e) = quotas.give_back(team, &Counter::ActiveJobs, job.as_str()).await {
        tracing::warn!(job_id = %job, error = %e, "job slot not given back; the next refusal frees it");
    }
}

impl TeamService {
    /// The team's plan, limits and usage, for its admins.
    pub async fn usage(&self, actor: &Actor, id: &TeamId) -> Result<TeamUsage, JobError> {
        self.access.require_role(actor, id, TeamAction::ViewUsage, "team").await?;
        let now = self.clock.now();
        let team = self.access.team_record(id, now).await?;
        Ok(TeamUsage { limits: team.limits(), usage: self.access.usage(id, now).await?, team })
    }
}

impl TeamService {
    /// Puts the team on `plan`, with an enterprise team's own `limits` (unset: the pro plan's).
    /// Only a platform admin (`is_admin`, looked up by the account's e-mail) changes plans; to
    /// anyone else the team is as `GET /teams/{id}` shows it, and the change forbidden.
    pub async fn set_plan(
        &self,
        actor: &Actor,
        email: &str,
        id: &TeamId,
        plan: Plan,
        limits: Option<PlanLimits>,
    ) -> Result<TeamUsage, JobError> {
        let admin = actor.key.is_none()
            && self.users.get(email).await?.is_some_and(|user| user.id == actor.user_id && user.is_admin);
        if !admin {
            self.access.require(actor, id, TeamAction::Read, "team").await?;
            return Err(JobError::Forbidden("only a platform admin changes a team's plan".into()));
        }
        if let Some(limits) = &limits {
            if plan != Plan::Enterprise {
                return Err(JobError::invalid("limits", "limits are set for the enterprise plan only"));
            }
            limits.check().map_err(|(field, reason)| JobError::invalid(field, reason))?;
        }
        let now = self.clock.now();
        let team = Team { plan, limits, ..self.access.team_record(id, now).await? };
        let event = || AuditEvent { team: id, action: action::TEAM_PLAN, target: plan.as_str() };
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let stored = self.access.teams.put(&team).await.map_err(JobError::from);
        self.audit.settled(actor, event(), stored).await?;
        tracing::info!(team_id = %id, plan = plan.as_str(), "team plan changed");
        Ok(TeamUsage { limits: team.limits(), usage: self.access.usage(id, now).await?, team })
    }
}

impl ArtifactService {
    /// Refuses an upload larger than the team's plan allows for one file, and takes its declared
    /// size from the team's storage.
    pub(crate) async fn take_storage(&self, actor: &Actor, artifact: &Artifact) -> Result<(), JobError> {
        let result = self.try_take_storage(artifact).await;
        self.audit.quota_checked(actor, &artifact.team_id, result).await
    }

    async fn try_take_storage(&self, artifact: &Artifact) -> Result<(), JobError> {
        let now = self.clock.now();
        let team = self.access.team_record(&artifact.team_id, now).await?;
        let limits = team.limits();
        if artifact.size_bytes > limits.file_bytes {
            return Err(Quota::FileBytes.exceeded(&team, limits.file_bytes, artifact.size_bytes));
        }
        let (counter, holder) = (Counter::StorageBytes, artifact.id.as_str());
        match self
            .access
            .quotas
            .take(&team.id, &counter, holder, artifact.size_bytes, limits.storage_bytes, now)
            .await?
        {
            Take::Taken => Ok(()),
            Take::Refused { used } => Err(Quota::StorageBytes.exceeded(&team, limits.storage_bytes, used)),
        }
    }

    /// Gives back what an upload took of its team's storage: it was refused or cancelled.
    pub(crate) async fn give_back_storage(&self, artifact: &Artifact) {
        let given = self.access.quotas.give_back(&artifact.team_id, &Counter::StorageBytes, artifact.id.as_str()).await;
        if let Err(e) = given {
            tracing::warn!(artifact_id = %artifact.id, error = %e, "storage not given back");
        }
    }
}
