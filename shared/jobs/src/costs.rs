//! What jobs cost, read back from the metering ledger and priced by the price table: per job, and
//! per team, pipeline, user, kind or day over a range of days, for the people who pay.
//!
//! Who sees what: a platform admin (`is_admin`) every team's costs; anyone else the teams they
//! administer (admin or owner: their personal team, at least); an API key nothing (403).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use helix_domain::{
    ArtifactId, ArtifactStatus, ArtifactStore, Blobs, Clock, JobId, Role, StoreError, TeamAction, TeamId, Timestamp,
    UserStore,
};

use crate::billing::{BillingLedger, component_of, parse_export};
use crate::metering::{Cost, CostGroup, CostScope, PriceTable, Usage, UsageLedger};
use crate::{Access, Actor, JobError};

/// The largest cost export read: a month of a small account's FOCUS rows is a few megabytes.
pub const MAX_EXPORT_BYTES: u64 = 64 * 1024 * 1024;
/// The longest range one request reads: the ledger is kept per day.
pub const MAX_COST_DAYS: i64 = 366;
const DAY_SECONDS: i64 = 86_400;

/// A job's cost in USD, with its breakdown per line of the price table and that table's version.
#[derive(Clone, Debug, Default, Serialize, ToSchema, PartialEq)]
pub struct JobCost {
    /// The price table's version (its date, `2026-11-01`).
    pub price_table: String,
    pub total_usd: f64,
    /// USD per line: `lambda_compute`, `lambda_requests`, `gpu`, `s3_storage`, `s3_requests`,
    /// `s3_transfer_out`, `sqs`, `dynamodb`.
    pub breakdown: BTreeMap<String, f64>,
}

impl From<Cost> for JobCost {
    fn from(cost: Cost) -> Self {
        Self {
            price_table: cost.price_table,
            total_usd: cost.total_usd,
            breakdown: cost.breakdown.into_iter().map(|(line, usd)| (line.to_owned(), usd)).collect(),
        }
    }
}

/// A request for costs, as the transport received it: every field is checked here.
#[derive(Clone, Debug, Default)]
pub struct CostQuery {
    /// `team` (the default), `pipeline`, `user`, `kind` or `day`.
    pub group_by: Option<String>,
    /// The first day, `YYYY-MM-DD` (UTC); default: the first of `to`'s month.
    pub from: Option<String>,
    /// The last day, included; default: today.
    pub to: Option<String>,
    /// One team only; default: every team the caller may see.
    pub team_id: Option<TeamId>,
}

/// One group's cost over the range.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct CostRow {
    /// The group's value: a team id, a pipeline id (`none` for jobs of no pipeline), a user id, a
    /// job kind or a day.
    pub key: String,
    pub total_usd: f64,
    pub breakdown: BTreeMap<String, f64>,
    /// Records read by the jobs that completed.
    pub records: u64,
    /// `total_usd` per million records; `null` without records.
    pub usd_per_million_records: Option<f64>,
    /// GPU instance types with no price in the table: their time is not in the total.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct CostReport {
    pub group_by: String,
    pub from: String,
    pub to: String,
    pub currency: &'static str,
    pub price_table: String,
    /// The teams the report covers; `null`: every team (a platform admin's).
    pub teams: Option<Vec<TeamId>>,
    pub total_usd: f64,
    /// Most expensive first.
    pub groups: Vec<CostRow>,
}

/// One group's cost on one day.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct DailyCost {
    pub day: String,
    pub key: String,
    pub total_usd: f64,
    pub records: u64,
}

#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct DailyCostReport {
    pub group_by: String,
    pub from: String,
    pub to: String,
    pub price_table: String,
    /// By day, then key.
    pub days: Vec<DailyCost>,
}

/// The checked form of a [`CostQuery`].
struct Range {
    group: CostGroup,
    from: String,
    to: String,
}

/// Reading costs.
pub struct CostService {
    pub access: Arc<Access>,
    /// Whether the caller is a platform admin.
    pub users: Arc<dyn UserStore>,
    pub ledger: Arc<dyn UsageLedger>,
    pub prices: Arc<PriceTable>,
    pub clock: Arc<dyn Clock>,
    /// Uploaded cost exports: their records and bytes.
    pub artifacts: Arc<dyn ArtifactStore>,
    pub blobs: Arc<dyn Blobs>,
    /// The billed totals of the exports ingested.
    pub billing: Arc<dyn BillingLedger>,
}

/// What ingesting one export did to each billing period it holds.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct ExportIngest {
    /// SHA-256 (hex) of the file.
    pub checksum: String,
    pub periods: Vec<PeriodIngest>,
}

#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct PeriodIngest {
    /// `YYYY-MM`.
    pub period: String,
    /// `stored`: the period's totals are this export's now (a re-issue replaced the earlier
    /// export's); `unchanged`: this very file was the period's already.
    pub outcome: &'static str,
    pub billed_usd: f64,
}

/// Estimated against billed, per day and component.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct Reconciliation {
    pub from: String,
    pub to: String,
    pub price_table: String,
    pub estimated_usd: f64,
    pub billed_usd: f64,
    /// Billed minus estimated.
    pub gap_usd: f64,
    /// By day, then component.
    pub days: Vec<ReconciledDay>,
}

#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct ReconciledDay {
    pub day: String,
    /// `functions`, `gpu`, `storage`, `queues`, `tables`, `platform`, `untagged`.
    pub component: String,
    pub estimated_usd: f64,
    pub billed_usd: f64,
    pub gap_usd: f64,
}

fn day_of(field: &str, text: &str) -> Result<i64, JobError> {
    let well_formed = text.len() == 10 && text.bytes().enumerate().all(|(i, b)| matches!(i, 4 | 7) == (b == b'-'));
    well_formed
        .then(|| Timestamp::parse(&format!("{text}T00:00:00Z")))
        .flatten()
        .map(|t| t.unix().div_euclid(DAY_SECONDS))
        // Nothing was metered before 1970; the ledger's keys are days after it.
        .filter(|day| *day >= 0)
        .ok_or_else(|| JobError::invalid(field, format!("{field} must be a day as YYYY-MM-DD, not {text:?}")))
}

fn day_text(day: i64) -> String {
    Timestamp::from_unix(day * DAY_SECONDS).map(|t| t.to_string()[..10].to_owned()).unwrap_or_default()
}

fn row(prices: &PriceTable, key: String, usage: &Usage) -> CostRow {
    let cost = prices.cost(usage);
    let records = usage.records;
    CostRow {
        key,
        total_usd: cost.total_usd,
        usd_per_million_records: (records > 0).then(|| cost.total_usd / records as f64 * 1e6),
        breakdown: cost.breakdown.into_iter().map(|(line, usd)| (line.to_owned(), usd)).collect(),
        records,
        unpriced: cost.unpriced,
    }
}

impl CostService {
    /// The job's cost so far (every usage event of it applied).
    pub async fn job_cost(&self, job: &JobId) -> Result<JobCost, JobError> {
        Ok(self.prices.cost(&self.ledger.job_usage(job).await?).into())
    }

    /// Each job's cost, in order, read in batches.
    pub async fn job_costs(&self, jobs: &[JobId]) -> Result<Vec<JobCost>, JobError> {
        let usages = self.ledger.jobs_usage(jobs).await?;
        Ok(usages.iter().map(|usage| self.prices.cost(usage).into()).collect())
    }

    /// The costs of every value of the query's group over its range, in the scopes the caller
    /// may see.
    pub async fn report(&self, actor: &Actor, email: &str, query: CostQuery) -> Result<CostReport, JobError> {
        let range = self.range(&query)?;
        let scopes = self.scopes(actor, email, query.team_id.as_ref()).await?;
        let mut totals: BTreeMap<String, Usage> = BTreeMap::new();
        for scope in &scopes {
            for (key, usage) in self.ledger.totals(scope, range.group, &range.from, &range.to).await? {
                totals.entry(key).or_default().add(&usage);
            }
        }
        let mut groups: Vec<CostRow> =
            totals.iter().map(|(key, usage)| row(&self.prices, key.clone(), usage)).collect();
        groups.sort_by(|a, b| b.total_usd.total_cmp(&a.total_usd).then_with(|| a.key.cmp(&b.key)));
        Ok(CostReport {
            group_by: range.group.as_str().to_owned(),
            from: range.from,
            to: range.to,
            currency: "USD",
            price_table: self.prices.version.clone(),
            teams: teams_of(&scopes),
            total_usd: groups.iter().map(|g| g.total_usd).sum(),
            groups,
        })
    }

    /// Each day's cost per value of the query's group (the usage page's charts).
    pub async fn daily(&self, actor: &Actor, email: &str, query: CostQuery) -> Result<DailyCostReport, JobError> {
        let range = self.range(&query)?;
        let scopes = self.scopes(actor, email, query.team_id.as_ref()).await?;
        let mut totals: BTreeMap<(String, String), Usage> = BTreeMap::new();
        for scope in &scopes {
            for daily in self.ledger.daily(scope, range.group, &range.from, &range.to).await? {
                totals.entry((daily.day, daily.key)).or_default().add(&daily.usage);
            }
        }
        let days = totals
            .into_iter()
            .map(|((day, key), usage)| DailyCost {
                day,
                key,
                total_usd: self.prices.cost(&usage).total_usd,
                records: usage.records,
            })
            .collect();
        Ok(DailyCostReport {
            group_by: range.group.as_str().to_owned(),
            from: range.from,
            to: range.to,
            price_table: self.prices.version.clone(),
            days,
        })
    }

    /// Reads an uploaded AWS cost export (FOCUS 1.0 CSV, see [`crate::billing`]) and stores each
    /// billing period's totals in place of the period's earlier export: the same file again
    /// changes nothing. Platform admins only.
    pub async fn ingest_export(&self, actor: &Actor, email: &str, id: &ArtifactId) -> Result<ExportIngest, JobError> {
        self.require_platform_admin(actor, email, "ingest a cost export").await?;
        let artifact = self.artifacts.get(id).await?.ok_or(JobError::NotFound("artifact"))?;
        self.access.require(actor, &artifact.team_id, TeamAction::Read, "artifact").await?;
        if artifact.status != ArtifactStatus::Available {
            return Err(JobError::invalid("artifact_id", "the artifact's upload has not completed"));
        }
        let bytes = self.blobs.get_bytes(&artifact.s3_key, MAX_EXPORT_BYTES).await.map_err(|e| match e {
            StoreError::Conflict(_) => JobError::TooLarge {
                field: "artifact_id".into(),
                message: format!("a cost export may have at most {MAX_EXPORT_BYTES} bytes"),
            },
            other => other.into(),
        })?;
        let periods =
            parse_export(&bytes).map_err(|e| JobError::invalid("artifact_id", format!("the cost export: {e}")))?;
        let mut ingest = ExportIngest { checksum: String::new(), periods: Vec::new() };
        for period in periods {
            let stored = self.billing.replace_period(&period).await?;
            ingest.checksum = period.checksum.clone();
            ingest.periods.push(PeriodIngest {
                outcome: if stored { "stored" } else { "unchanged" },
                billed_usd: period.totals.values().sum(),
                period: period.period,
            });
        }
        Ok(ingest)
    }

    /// The metered estimate against the bill, per day and component, over the query's days.
    /// Platform admins only: the bill is the account's.
    pub async fn reconciliation(
        &self,
        actor: &Actor,
        email: &str,
        query: CostQuery,
    ) -> Result<Reconciliation, JobError> {
        self.require_platform_admin(actor, email, "read the bill").await?;
        let range = self.range(&CostQuery { group_by: None, ..query })?;
        let mut rows: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
        for daily in self.ledger.daily(&CostScope::All, CostGroup::Day, &range.from, &range.to).await? {
            for (line, usd) in self.prices.cost(&daily.usage).breakdown {
                rows.entry((daily.day.clone(), component_of(line).to_owned())).or_default().0 += usd;
            }
        }
        let mut month = range.from[..7].to_owned();
        while month.as_str() <= &range.to[..7] {
            for billed in self.billing.period(&month).await? {
                if billed.day >= range.from && billed.day <= range.to {
                    rows.entry((billed.day, billed.component)).or_default().1 += billed.billed_usd;
                }
            }
            month = next_month(&month);
        }
        let days: Vec<ReconciledDay> = rows
            .into_iter()
            .map(|((day, component), (estimated_usd, billed_usd))| ReconciledDay {
                day,
                component,
                estimated_usd,
                billed_usd,
                gap_usd: billed_usd - estimated_usd,
            })
            .collect();
        let estimated_usd = days.iter().map(|d| d.estimated_usd).sum();
        let billed_usd = days.iter().map(|d| d.billed_usd).sum();
        Ok(Reconciliation {
            from: range.from,
            to: range.to,
            price_table: self.prices.version.clone(),
            estimated_usd,
            billed_usd,
            gap_usd: billed_usd - estimated_usd,
            days,
        })
    }

    async fn require_platform_admin(&self, actor: &Actor, email: &str, what: &str) -> Result<(), JobError> {
        actor.person().map_err(|_| JobError::Forbidden(format!("an API key cannot {what}")))?;
        match self.users.get(email).await? {
            Some(user) if user.is_admin => Ok(()),
            _ => Err(JobError::Forbidden(format!("only a platform admin may {what}"))),
        }
    }

    /// The report as CSV: one line per group, the breakdown's lines as columns.
    pub fn csv(report: &CostReport) -> String {
        let lines: BTreeSet<&str> = report.groups.iter().flat_map(|g| g.breakdown.keys().map(String::as_str)).collect();
        let mut out = format!("{},total_usd,records,usd_per_million_records", report.group_by);
        lines.iter().for_each(|line| out.push_str(&format!(",{line}_usd")));
        out.push_str("\r\n");
        for group in &report.groups {
            out.push_str(&format!(
                "{},{:.6},{},{}",
                csv_field(&group.key),
                group.total_usd,
                group.records,
                group.usd_per_million_records.map(|u| format!("{u:.6}")).unwrap_or_default()
            ));
            for line in &lines {
                out.push_str(&format!(",{:.6}", group.breakdown.get(*line).copied().unwrap_or_default()));
            }
            out.push_str("\r\n");
        }
        out
    }

    /// The query's days (`from`, `to`), checked as for a report; its group is ignored.
    pub fn days(&self, query: &CostQuery) -> Result<(String, String), JobError> {
        let range = self.range(&CostQuery { group_by: None, ..query.clone() })?;
        Ok((range.from, range.to))
    }

    fn range(&self, query: &CostQuery) -> Result<Range, JobError> {
        let group = match query.group_by.as_deref() {
            None => CostGroup::Team,
            Some(text) => CostGroup::parse(text).ok_or_else(|| {
                JobError::invalid(
                    "group_by",
                    format!("group_by must be team, pipeline, user, kind or day, not {text:?}"),
                )
            })?,
        };
        let to = match &query.to {
            Some(text) => day_of("to", text)?,
            None => self.clock.now().unix().div_euclid(DAY_SECONDS),
        };
        let from = match &query.from {
            Some(text) => day_of("from", text)?,
            None => day_of("to", &format!("{}01", &day_text(to)[..8]))?,
        };
        if from > to {
            return Err(JobError::invalid("from", "from must be on or before to"));
        }
        if to - from >= MAX_COST_DAYS {
            return Err(JobError::invalid("to", format!("the range may span at most {MAX_COST_DAYS} days")));
        }
        Ok(Range { group, from: day_text(from), to: day_text(to) })
    }

    /// What the caller may read: every team for a platform admin, else the teams they
    /// administer; `team` narrows either to one team.
    async fn scopes(&self, actor: &Actor, email: &str, team: Option<&TeamId>) -> Result<Vec<CostScope>, JobError> {
        let person = actor
            .person()
            .map_err(|_| JobError::Forbidden("an API key cannot read costs: a team admin's login can".into()))?;
        let platform_admin = self.users.get(email).await?.is_some_and(|user| user.is_admin);
        if let Some(team) = team {
            if !platform_admin {
                self.require_admin(actor, team).await?;
            }
            return Ok(vec![CostScope::Team(team.clone())]);
        }
        if platform_admin {
            return Ok(vec![CostScope::All]);
        }
        let mut teams = vec![TeamId::personal(person)];
        for membership in self.access.teams.memberships_of(person).await? {
            if is_admin(membership.role) && !teams.contains(&membership.team_id) {
                teams.push(membership.team_id);
            }
        }
        Ok(teams.into_iter().map(CostScope::Team).collect())
    }

    /// Whether the person administers `team` (outsiders: not found, members below admin: 403).
    pub(crate) async fn require_admin(&self, actor: &Actor, team: &TeamId) -> Result<(), JobError> {
        match self.access.role(actor, team).await? {
            None => Err(JobError::NotFound("team")),
            Some(role) if is_admin(role) => Ok(()),
            Some(role) => Err(JobError::Forbidden(format!(
                "a team {} may not read its costs: admins and owners may",
                role.as_str()
            ))),
        }
    }
}

/// `2026-12` → `2027-01`.
fn next_month(month: &str) -> String {
    let (year, month) = month.split_once('-').unwrap_or_default();
    let (year, month): (u32, u32) = (year.parse().unwrap_or_default(), month.parse().unwrap_or_default());
    if month >= 12 { format!("{:04}-01", year + 1) } else { format!("{year:04}-{:02}", month + 1) }
}

fn is_admin(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Owner)
}

fn teams_of(scopes: &[CostScope]) -> Option<Vec<TeamId>> {
    scopes
        .iter()
        .map(|scope| match scope {
            CostScope::All => None,
            CostScope::Team(team) => Some(team.clone()),
        })
        .collect()
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}
