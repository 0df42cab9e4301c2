//! A team's monthly budget: at 80 % and at 100 % of it (the month's metered cost, by the price
//! table) an audit entry, once per threshold and month, and the dashboard's banner; with
//! `hard_stop`, no new job once it is spent (403 `budget_exceeded`).
//!
//! Thresholds are looked at when the team submits a job and when its budget is read: the cost of
//! the job that crosses one is counted by the submission after it.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::{AuditOutcome, Clock, StoreError, TeamAction, TeamId, Timestamp};

use crate::audit::{AuditEvent, AuditTrail};
use crate::metering::{PriceTable, UsageLedger};
use crate::{Access, Actor, JobError};

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

/// Where budgets, and the thresholds already notified, are kept.
#[async_trait]
pub trait BudgetStore: Send + Sync {
    async fn get(&self, team: &TeamId) -> Result<Option<Budget>, StoreError>;
    async fn put(&self, budget: &Budget) -> Result<(), StoreError>;
    /// Marks `threshold` notified for the team in `month` (`YYYY-MM`); `Ok(false)` when it was.
    async fn mark_notified(&self, team: &TeamId, month: &str, threshold: u32) -> Result<bool, StoreError>;
}

#[derive(Default)]
pub struct MemoryBudgetStore {
    budgets: Mutex<BTreeMap<TeamId, Budget>>,
    notified: Mutex<HashSet<(TeamId, String, u32)>>,
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

    async fn mark_notified(&self, team: &TeamId, month: &str, threshold: u32) -> Result<bool, StoreError> {
        Ok(self.notified.lock().expect("budgets lock").insert((team.clone(), month.to_owned(), threshold)))
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
    pub store: Arc<dyn BudgetStore>,
    pub ledger: Arc<dyn UsageLedger>,
    pub prices: Arc<PriceTable>,
    pub audit: Arc<AuditTrail>,
    pub clock: Arc<dyn Clock>,
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
        let budget = Budget {
            team_id: team.clone(),
            monthly_usd: update.monthly_usd,
            hard_stop: update.hard_stop,
            updated_at: self.clock.now(),
        };
        let event = AuditEvent { team, action: action::BUDGET_SET, target: team.as_str() };
        self.audit.record(actor, event, AuditOutcome::Success).await?;
        self.store.put(&budget).await?;
        self.standing(actor, team).await
    }

    /// The team's budget and this month's spending: any member (the dashboard's banner).
    pub async fn read(&self, actor: &Actor, team: &TeamId) -> Result<BudgetRead, JobError> {
        self.access.require(actor, team, TeamAction::Read, "team").await?;
        self.standing(actor, team).await
    }

    /// Before a job of `team` is made: notifies the thresholds crossed, and refuses the job once
    /// a hard-stopping budget is spent.
    pub async fn check_submission(&self, actor: &Actor, team: &TeamId) -> Result<(), JobError> {
        let standing = self.standing(actor, team).await?;
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

    /// The month's spending against the budget; each threshold reached is recorded in the team's
    /// audit trail the first time it is seen this month.
    async fn standing(&self, actor: &Actor, team: &TeamId) -> Result<BudgetRead, JobError> {
        let month = self.clock.now().to_string()[..7].to_owned();
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
        for threshold in THRESHOLDS.into_iter().filter(|t| percent >= f64::from(*t)) {
            if self.store.mark_notified(team, &read.month, threshold).await? {
                let target = format!("{}:{threshold}%", read.month);
                let event = AuditEvent { team, action: action::BUDGET_THRESHOLD, target: &target };
                self.audit.record(actor, event, AuditOutcome::Success).await?;
            }
        }
        Ok(read)
    }
}
