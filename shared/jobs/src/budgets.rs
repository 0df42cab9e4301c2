//! A team's monthly budget: at 80 % and at 100 % of it (the month's metered cost, by the price
//! table), once per threshold and month, an audit entry, a signed `budget.threshold` webhook
//! delivery to every webhook of the team's pipelines, and the dashboard's banner; with
//! `hard_stop`, no new job once it is spent (403 `budget_exceeded`).
//!
//! Thresholds are looked at when the team submits a job, when its budget is read or set, and when
//! a worker ends one of its jobs ([`BudgetWatch`] as [`JobEvents`]), after the job's usage is
//! recorded: a team crossing 100 % mid-run is noticed when that run ends.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::{
    AuditOutcome, Clock, DeliveryMessage, DeliveryStatus, Job, PipelineStore, StoreError, TeamAction, TeamId,
    Timestamp, WebhookDelivery, WebhookEvent, WebhookQueue, WebhookStore,
};

use crate::audit::{AuditEvent, AuditTrail};
use crate::metering::{PriceTable, UsageLedger};
use crate::{Access, Actor, JobError, JobEvents};

/// The audit actions of budgets.
pub mod action {
    /// A team's budget set or changed.
    pub const BUDGET_SET: &str = "budget.set";
    /// The month's cost reached a threshold of the budget; the target is `<YYYY-MM>:<percent>%`.
    pub const BUDGET_THRESHOLD: &str = "budget.threshold";
}

/// The share of the budget at which it notifies, in percent.
pub const THRESHOLDS: [u32; 2] = [80, 100];
/// The largest budget accepted: anything above is a typo, not a budget.
pub const MAX_MONTHLY_USD: f64 = 10_000_000.0;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub team_id: TeamId,
    pub monthly_usd: f64,
    pub hard_stop: bool,
    pub updated_at: Timestamp,
}

/// A threshold reached in a month: when it was first seen, and whether its webhook deliveries
/// are made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crossing {
    /// In percent of the budget (one of [`THRESHOLDS`]).
    pub threshold: u32,
    pub at: Timestamp,
    pub notified: bool,
}

/// Where budgets, and the thresholds crossed, are kept.
#[async_trait]
pub trait BudgetStore: Send + Sync {
    async fn get(&self, team: &TeamId) -> Result<Option<Budget>, StoreError>;
    async fn put(&self, budget: &Budget) -> Result<(), StoreError>;
    /// The thresholds the team crossed in `month` (`YYYY-MM`).
    async fn crossings(&self, team: &TeamId, month: &str) -> Result<Vec<Crossing>, StoreError>;
    /// Records the crossing unless its threshold has one in `month`: `Ok(false)`, changing
    /// nothing, when it has.
    async fn add_crossing(&self, team: &TeamId, month: &str, crossing: &Crossing) -> Result<bool, StoreError>;
    /// Marks the crossing's webhook deliveries made.
    async fn mark_notified(&self, team: &TeamId, month: &str, threshold: u32) -> Result<(), StoreError>;
}

#[derive(Default)]
pub struct MemoryBudgetStore {
    budgets: Mutex<BTreeMap<TeamId, Budget>>,
    crossings: Mutex<BTreeMap<(TeamId, String, u32), Crossing>>,
}

#[async_trait]
impl BudgetStore for MemoryBudgetStore {
    async fn get(&self, team: &TeamId) -> Result<Option<Budget>, StoreError> {
        Ok(self.budgets.lock().expect("budgets lock").get(team).cloned())
    }

    async fn put(&self, budget: &Budget) -> Result<(), StoreError> {
        self.budgets.lock().expect("budgets lock").insert(budget.team_id.clone(), budget.clone());
        Ok(())
    }

    async fn crossings(&self, team: &TeamId, month: &str) -> Result<Vec<Crossing>, StoreError> {
        let crossings = self.crossings.lock().expect("budgets lock");
        Ok(crossings.iter().filter(|((t, m, _), _)| t == team && m == month).map(|(_, c)| c.clone()).collect())
    }

    async fn add_crossing(&self, team: &TeamId, month: &str, crossing: &Crossing) -> Result<bool, StoreError> {
        let mut crossings = self.crossings.lock().expect("budgets lock");
        let key = (team.clone(), month.to_owned(), crossing.threshold);
        if crossings.contains_key(&key) {
            return Ok(false);
        }
        crossings.insert(key, crossing.clone());
        Ok(true)
    }

    async fn mark_notified(&self, team: &TeamId, month: &str, threshold: u32) -> Result<(), StoreError> {
        let mut crossings = self.crossings.lock().expect("budgets lock");
        let crossing = crossings.get_mut(&(team.clone(), month.to_owned(), threshold)).ok_or(StoreError::NotFound)?;
        crossing.notified = true;
        Ok(())
    }
}

/// A team's budget and how much of it this month has spent.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct BudgetRead {
    pub team_id: TeamId,
    /// `null`: the team has no budget.
    pub monthly_usd: Option<f64>,
    pub hard_stop: bool,
    /// `YYYY-MM` (UTC).
    pub month: String,
    pub spent_usd: f64,
    /// `spent_usd` as a percentage of `monthly_usd`; `null` without a budget.
    pub percent: Option<f64>,
    /// `none` (no budget), `ok`, `warning` (80 % or more), `exceeded` (100 % or more).
    pub state: &'static str,
    pub price_table: String,
}

/// The body of `PUT /teams/{id}/budget`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetUpdate {
    /// USD per calendar month (UTC), more than 0.
    pub monthly_usd: f64,
    /// Refuse new jobs (403 `budget_exceeded`) once the month's cost reaches the budget.
    #[serde(default)]
    pub hard_stop: bool,
}

pub struct BudgetService {
    pub access: Arc<Access>,
    pub watch: Arc<BudgetWatch>,
}

impl BudgetService {
    /// Sets the team's budget: its admins and owners.
    pub async fn set(&self, actor: &Actor, team: &TeamId, update: BudgetUpdate) -> Result<BudgetRead, JobError> {
        self.access.require_role(actor, team, TeamAction::Configure, "team").await?;
        // A millionth of a dollar at least: the prices' own scale; DynamoDB stores no number
        // below 1e-130 (9.5e-184 was a 500).
        if !(update.monthly_usd.is_finite() && update.monthly_usd >= 1e-6 && update.monthly_usd <= MAX_MONTHLY_USD) {
            return Err(JobError::invalid(
                "monthly_usd",
                format!("monthly_usd must be a number of USD from 0.000001 to {MAX_MONTHLY_USD}"),
            ));
        }
        let watch = &self.watch;
        let budget = Budget {
            team_id: team.clone(),
            monthly_usd: update.monthly_usd,
            hard_stop: update.hard_stop,
            updated_at: watch.clock.now(),
        };
        let event = AuditEvent { team, action: action::BUDGET_SET, target: team.as_str() };
        watch.audit.record(actor, event, AuditOutcome::Success).await?;
        watch.store.put(&budget).await?;
        watch.standing(actor, team).await
    }

    /// The team's budget and this month's spending: any member (the dashboard's banner).
    pub async fn read(&self, actor: &Actor, team: &TeamId) -> Result<BudgetRead, JobError> {
        self.access.require(actor, team, TeamAction::Read, "team").await?;
        self.watch.standing(actor, team).await
    }

    /// Before a job of `team` is made: notifies the thresholds crossed, and refuses the job once
    /// a hard-stopping budget is spent.
    pub async fn check_submission(&self, actor: &Actor, team: &TeamId) -> Result<(), JobError> {
        let standing = self.watch.standing(actor, team).await?;
        if standing.state == "exceeded" && standing.hard_stop {
            return Err(JobError::BudgetExceeded(format!(
                "the team's budget of {} USD for {} is spent ({:.4} USD): no new jobs until next month or a larger budget",
                standing.monthly_usd.unwrap_or_default(),
                standing.month,
                standing.spent_usd
            )));
        }
        Ok(())
    }
}

/// Holds teams' spending to their budgets: what every check of a budget goes through, and, told
/// of the jobs a worker ends, the check after a job's usage is recorded.
pub struct BudgetWatch {
    pub store: Arc<dyn BudgetStore>,
    pub ledger: Arc<dyn UsageLedger>,
    pub prices: Arc<PriceTable>,
    pub audit: Arc<AuditTrail>,
    pub clock: Arc<dyn Clock>,
    /// Where the processes that may queue webhook deliveries make them; a crossing seen by one
    /// that may not stays unnotified until the next check by one that may.
    pub webhooks: Option<BudgetWebhooks>,
}

impl BudgetWatch {
    /// The month's spending against the budget. Each threshold reached is recorded (with the
    /// time it was first seen) and entered in the team's audit trail the first time it is seen
    /// this month, then delivered to the team's webhooks; a crossing whose deliveries were not
    /// all made (a process that stopped, or could not deliver) is delivered by the next check.
    pub async fn standing(&self, actor: &Actor, team: &TeamId) -> Result<BudgetRead, JobError> {
        let now = self.clock.now();
        let month = now.to_string()[..7].to_owned();
        let budget = self.store.get(team).await?;
        let spent_usd = match &budget {
            Some(_) => self.prices.cost(&self.ledger.month_usage(team, &month).await?).total_usd,
            None => 0.0,
        };
        let mut read = BudgetRead {
            team_id: team.clone(),
            monthly_usd: budget.as_ref().map(|b| b.monthly_usd),
            hard_stop: budget.as_ref().is_some_and(|b| b.hard_stop),
            month,
            spent_usd,
            percent: None,
            state: "none",
            price_table: self.prices.version.clone(),
        };
        let Some(budget) = budget else { return Ok(read) };
        let percent = spent_usd / budget.monthly_usd * 100.0;
        read.percent = Some(percent);
        read.state = match percent {
            p if p >= 100.0 => "exceeded",
            p if p >= 80.0 => "warning",
            _ => "ok",
        };
        let reached: Vec<u32> = THRESHOLDS.into_iter().filter(|t| percent >= f64::from(*t)).collect();
        if reached.is_empty() {
            return Ok(read);
        }
        let crossings = self.store.crossings(team, &read.month).await?;
        for threshold in reached {
            let crossing = match crossings.iter().find(|c| c.threshold == threshold) {
                Some(crossing) if crossing.notified => continue,
                Some(crossing) => crossing.clone(),
                None => {
                    let crossing = Crossing { threshold, at: now, notified: false };
                    // Another check recorded it first: that one notifies.
                    if !self.store.add_crossing(team, &read.month, &crossing).await? {
                        continue;
                    }
                    let target = format!("{}:{threshold}%", read.month);
                    let event = AuditEvent { team, action: action::BUDGET_THRESHOLD, target: &target };
                    self.audit.record(actor, event, AuditOutcome::Success).await?;
                    crossing
                }
            };
            if let Some(webhooks) = &self.webhooks {
                webhooks.notify(&read, &crossing).await?;
                self.store.mark_notified(team, &read.month, threshold).await?;
            }
        }
        Ok(read)
    }
}

#[async_trait]
impl JobEvents for BudgetWatch {
    /// The ended job's usage is recorded: its team's budget is checked, as the job's owner.
    async fn finished(&self, job: &Job) -> Result<(), StoreError> {
        self.standing(&Actor::user(job.owner_id.clone()), &job.team_id)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Backend(format!("the budget check of team {}: {e}", job.team_id)))
    }
}

/// A team's budget events as webhook deliveries: one for each webhook of the team's pipelines
/// (one per URL, the oldest webhook's, when several pipelines send to the same place), signed
/// and retried as a run's are, and listed in its pipeline's delivery log.
pub struct BudgetWebhooks {
    pub pipelines: Arc<dyn PipelineStore>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub queue: Arc<dyn WebhookQueue>,
}

impl BudgetWebhooks {
    /// Makes and queues the crossing's deliveries. Their ids come from the crossing, so a check
    /// that makes them again adds none (its messages find them made, or delivered, and one
    /// attempt records).
    async fn notify(&self, read: &BudgetRead, crossing: &Crossing) -> Result<(), StoreError> {
        let mut webhooks = Vec::new();
        for pipeline in self.pipelines.list(&read.team_id).await? {
            if pipeline.archived_at.is_none() {
                webhooks.extend(self.webhooks.list(&pipeline.id).await?);
            }
        }
        // The oldest webhook of a URL is its one (ids break a tie), whatever order the stores list.
        webhooks.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.as_str().cmp(b.id.as_str())));
        let mut urls = HashSet::new();
        for webhook in webhooks {
            if !urls.insert(webhook.url.clone()) {
                continue;
            }
            let id = WebhookDelivery::budget_id(crossing.at, &read.month, crossing.threshold, &webhook.id);
            let body = serde_json::json!({
                "id": id,
                "type": WebhookEvent::BudgetThreshold.as_str(),
                "created_at": crossing.at,
                "team_id": read.team_id,
                "month": read.month,
                "threshold_percent": crossing.threshold,
                "monthly_usd": read.monthly_usd,
                "spent_usd": read.spent_usd,
                "percent": read.percent,
                "hard_stop": read.hard_stop,
                "price_table": read.price_table,
            });
            let delivery = WebhookDelivery {
                body: body.to_string(),
                id,
                pipeline_id: webhook.pipeline_id.clone(),
                webhook_id: webhook.id.clone(),
                job_id: None,
                event: WebhookEvent::BudgetThreshold,
                created_at: crossing.at,
                status: DeliveryStatus::Pending,
                attempts: Vec::new(),
                next_attempt_at: None,
            };
            self.webhooks.add_delivery(&delivery).await?;
            self.queue
                .send(&DeliveryMessage { pipeline_id: webhook.pipeline_id.clone(), delivery_id: delivery.id })
                .await?;
        }
        Ok(())
    }
}
