//! Metering: what each job used, recorded once per usage event, and what that cost by the price
//! table (`infra/prices.yaml`).
//!
//! Usage is kept in integers (requests, bytes, MB·ms, units), so that totals are exact sums in any
//! order; money is computed from totals when read, with the table's version beside it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use helix_domain::{Job, JobId, JobKind, JobStatus, PipelineId, StoreError, TeamId, Timestamp, UserId};

/// The price table the platform ships (`infra/prices.yaml`).
pub const BUNDLED_PRICE_TABLE: &str = include_str!("../../../infra/prices.yaml");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    Arm64,
    X86_64,
}

/// The compute an invocation was billed for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Compute {
    /// A Lambda invocation: billed by memory × duration (rounded up to the millisecond) and request.
    Lambda { memory_mb: u64, duration_ms: u64, architecture: Architecture },
    /// Time of the GPU container worker on an instance of `instance_type`.
    Gpu { instance_type: String, duration_ms: u64 },
}

/// One invocation's work for one attempt of a job: what it ran on and what it used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    pub job_id: JobId,
    pub attempt: u32,
    /// The function or worker (`job-worker`, `gpu-worker`, `jobs-api`).
    pub function: String,
    /// The event's number within the attempt and function, from 0.
    pub sequence: u32,
    pub team_id: TeamId,
    pub user_id: UserId,
    pub pipeline_id: Option<PipelineId>,
    pub kind: JobKind,
    pub at: Timestamp,
    pub compute: Option<Compute>,
    pub s3_put_requests: u64,
    pub s3_get_requests: u64,
    pub s3_bytes_stored: u64,
    pub s3_bytes_out: u64,
    pub sqs_requests: u64,
    pub dynamodb_read_units: u64,
    pub dynamodb_write_units: u64,
    /// Records the attempt read, once it completed the job: what "cost per million records" divides by.
    #[serde(default)]
    pub records: u64,
}

impl UsageEvent {
    /// Deterministic: a redelivered or replayed event has the id it had the first time.
    pub fn id(&self) -> String {
        format!("{}#{}#{}#{}", self.job_id, self.attempt, self.function, self.sequence)
    }

    /// The UTC day the event happened (`2026-11-30`).
    pub fn day(&self) -> String {
        self.at.to_string()[..10].to_owned()
    }

    /// The UTC month the event happened (`2026-11`).
    pub fn month(&self) -> String {
        self.at.to_string()[..7].to_owned()
    }

    pub fn usage(&self) -> Usage {
        let mut usage = Usage {
            s3_put_requests: self.s3_put_requests,
            s3_get_requests: self.s3_get_requests,
            s3_bytes_stored: self.s3_bytes_stored,
            s3_bytes_out: self.s3_bytes_out,
            sqs_requests: self.sqs_requests,
            dynamodb_read_units: self.dynamodb_read_units,
            dynamodb_write_units: self.dynamodb_write_units,
            records: self.records,
            ..Usage::default()
        };
        match &self.compute {
            Some(Compute::Lambda { memory_mb, duration_ms, architecture }) => {
                usage.lambda_requests = 1;
                let mb_ms = memory_mb * duration_ms;
                match architecture {
                    Architecture::Arm64 => usage.lambda_arm64_mb_ms = mb_ms,
                    Architecture::X86_64 => usage.lambda_x86_64_mb_ms = mb_ms,
                }
            }
            Some(Compute::Gpu { instance_type, duration_ms }) => {
                usage.gpu_ms.insert(instance_type.clone(), *duration_ms);
            }
            None => {}
        }
        usage
    }
}

/// What this process is billed for, for `duration` of work: in Lambda its memory size and
/// architecture (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), on the GPU worker its instance type
/// (`GPU_INSTANCE_TYPE`, set by the template); nothing elsewhere (the local platform).
pub fn compute_of_this_process(duration: std::time::Duration) -> Option<Compute> {
    // Lambda bills by the millisecond, rounded up.
    let duration_ms = duration.as_micros().div_ceil(1000) as u64;
    if let Some(memory_mb) = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok().and_then(|m| m.parse().ok()) {
        let architecture = if cfg!(target_arch = "aarch64") { Architecture::Arm64 } else { Architecture::X86_64 };
        return Some(Compute::Lambda { memory_mb, duration_ms, architecture });
    }
    let instance_type = std::env::var("GPU_INSTANCE_TYPE").ok().filter(|t| !t.is_empty())?;
    Some(Compute::Gpu { instance_type, duration_ms })
}

/// The usage event of the attempt that settled `job` as it is now, run by `function`: its
/// compute, and the requests a runner makes for one attempt, as far as they are known without
/// counting at the adapters: the message received and deleted, the job read, claimed and
/// settled, the idempotency record written twice, each input artifact read (its record and one
/// GET), and for a completed job two outputs (result and reject report) written, `stored_bytes`
/// long together, and their records read back for their size. Items are counted as one unit each
/// (under 1 KB written, 4 KB read).
pub fn attempt_event(
    job: &Job,
    function: &str,
    compute: Option<Compute>,
    stored_bytes: u64,
    at: Timestamp,
) -> UsageEvent {
    let inputs = &job.inputs;
    let input_count = inputs.content_artifact_ids.len() as u64
        + u64::from(inputs.context_artifact_id.is_some())
        + u64::from(inputs.schema_artifact_id.is_some())
        + inputs.lookup_artifact_ids.len() as u64;
    let completed = job.status == JobStatus::Completed;
    let outputs = if completed { 2 } else { 0 };
    UsageEvent {
        job_id: job.id.clone(),
        attempt: job.attempts,
        function: function.to_owned(),
        sequence: 0,
        team_id: job.team_id.clone(),
        user_id: job.owner_id.clone(),
        pipeline_id: job.pipeline_id.clone(),
        kind: job.kind,
        at,
        compute,
        s3_put_requests: outputs,
        s3_get_requests: input_count,
        s3_bytes_stored: stored_bytes,
        s3_bytes_out: 0,
        sqs_requests: 2,
        dynamodb_read_units: 1 + input_count + outputs,
        dynamodb_write_units: 2 + 2 + outputs,
        records: if completed { job.records_in.unwrap_or(0) } else { 0 },
    }
}

/// The usage event of the API request that submitted `job` (attempt 0 of `jobs-api`): its
/// compute in Lambda, the job written and marked sent, its audit entry (the chain's head read,
/// the entry put), the caller's membership and each input artifact's record read, the context and
/// schema documents read from S3 for their checks, the queue message sent, and the files that came
/// with the request (`inline_bytes`, one per file) put to S3 with their records.
pub fn submission_event(job: &Job, compute: Option<Compute>, inline_bytes: &[u64], at: Timestamp) -> UsageEvent {
    let inputs = &job.inputs;
    let documents = u64::from(inputs.context_artifact_id.is_some()) + u64::from(inputs.schema_artifact_id.is_some());
    let input_count = inputs.content_artifact_ids.len() as u64 + documents + inputs.lookup_artifact_ids.len() as u64;
    UsageEvent {
        job_id: job.id.clone(),
        attempt: 0,
        function: SUBMISSION_FUNCTION.to_owned(),
        sequence: 0,
        team_id: job.team_id.clone(),
        user_id: job.owner_id.clone(),
        pipeline_id: job.pipeline_id.clone(),
        kind: job.kind,
        at,
        compute,
        s3_put_requests: inline_bytes.len() as u64,
        s3_get_requests: documents,
        s3_bytes_stored: inline_bytes.iter().sum(),
        s3_bytes_out: 0,
        sqs_requests: 1,
        dynamodb_read_units: 2 + input_count,
        dynamodb_write_units: 3 + inline_bytes.len() as u64,
        records: 0,
    }
}

/// The function name of a submission's usage event.
pub const SUBMISSION_FUNCTION: &str = "jobs-api";

/// Resources used, summed over events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Usage {
    pub lambda_requests: u64,
    /// Lambda memory (MB) × duration (ms) on arm64 and on x86_64.
    pub lambda_arm64_mb_ms: u64,
    pub lambda_x86_64_mb_ms: u64,
    /// GPU container milliseconds per instance type.
    pub gpu_ms: BTreeMap<String, u64>,
    pub s3_put_requests: u64,
    pub s3_get_requests: u64,
    pub s3_bytes_stored: u64,
    pub s3_bytes_out: u64,
    pub sqs_requests: u64,
    pub dynamodb_read_units: u64,
    pub dynamodb_write_units: u64,
    /// Records read by the attempts that completed their jobs.
    pub records: u64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.lambda_requests += other.lambda_requests;
        self.lambda_arm64_mb_ms += other.lambda_arm64_mb_ms;
        self.lambda_x86_64_mb_ms += other.lambda_x86_64_mb_ms;
        for (instance_type, ms) in &other.gpu_ms {
            *self.gpu_ms.entry(instance_type.clone()).or_default() += ms;
        }
        self.s3_put_requests += other.s3_put_requests;
        self.s3_get_requests += other.s3_get_requests;
        self.s3_bytes_stored += other.s3_bytes_stored;
        self.s3_bytes_out += other.s3_bytes_out;
        self.sqs_requests += other.sqs_requests;
        self.dynamodb_read_units += other.dynamodb_read_units;
        self.dynamodb_write_units += other.dynamodb_write_units;
        self.records += other.records;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PriceTableError {
    #[error("price table: {0}")]
    Malformed(String),
    #[error("price table: currency is {0}, not USD")]
    Currency(String),
    #[error("price table: {field} is negative")]
    Negative { field: String },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaPrice {
    pub per_gb_second: f64,
    pub per_million_requests: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaPrices {
    pub arm64: LambdaPrice,
    pub x86_64: LambdaPrice,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Prices {
    pub standard_per_gb_month: f64,
    pub put_per_thousand: f64,
    pub get_per_thousand: f64,
    pub transfer_out_per_gb: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsPrices {
    pub per_million_requests: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoPrices {
    pub per_million_read_units: f64,
    pub per_million_write_units: f64,
}

/// USD prices of one region at one date, named by `version`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    pub version: String,
    pub region: String,
    pub currency: String,
    pub lambda: LambdaPrices,
    pub gpu_per_hour: BTreeMap<String, f64>,
    pub s3: S3Prices,
    pub sqs: SqsPrices,
    pub dynamodb: DynamoPrices,
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// What usage cost, per line of the price table, in USD.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cost {
    pub price_table: String,
    pub total_usd: f64,
    pub breakdown: BTreeMap<&'static str, f64>,
    /// GPU instance types the table has no price for: their time is left out of the total.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
}

impl PriceTable {
    pub fn bundled() -> Result<Self, PriceTableError> {
        Self::parse(BUNDLED_PRICE_TABLE)
    }

    pub fn parse(text: &str) -> Result<Self, PriceTableError> {
        let table: Self = serde_yaml::from_str(text).map_err(|e| PriceTableError::Malformed(e.to_string()))?;
        if table.currency != "USD" {
            return Err(PriceTableError::Currency(table.currency));
        }
        let l = &table.lambda;
        let fixed = [
            ("lambda.arm64.per_gb_second", l.arm64.per_gb_second),
            ("lambda.arm64.per_million_requests", l.arm64.per_million_requests),
            ("lambda.x86_64.per_gb_second", l.x86_64.per_gb_second),
            ("lambda.x86_64.per_million_requests", l.x86_64.per_million_requests),
            ("s3.standard_per_gb_month", table.s3.standard_per_gb_month),
            ("s3.put_per_thousand", table.s3.put_per_thousand),
            ("s3.get_per_thousand", table.s3.get_per_thousand),
            ("s3.transfer_out_per_gb", table.s3.transfer_out_per_gb),
            ("sqs.per_million_requests", table.sqs.per_million_requests),
            ("dynamodb.per_million_read_units", table.dynamodb.per_million_read_units),
            ("dynamodb.per_million_write_units", table.dynamodb.per_million_write_units),
        ];
        let gpu = table.gpu_per_hour.iter().map(|(t, p)| (format!("gpu_per_hour.{t}"), *p));
        let negative = fixed.iter().map(|(f, p)| ((*f).to_owned(), *p)).chain(gpu).find(|(_, price)| *price < 0.0);
        if let Some((field, _)) = negative {
            return Err(PriceTableError::Negative { field });
        }
        Ok(table)
    }

    pub fn cost(&self, usage: &Usage) -> Cost {
        let l = &self.lambda;
        // AWS bills Lambda memory in GB of 1024 MB.
        let gb_seconds = |mb_ms: u64| mb_ms as f64 / 1024.0 / 1000.0;
        let lambda_requests = if usage.lambda_arm64_mb_ms >= usage.lambda_x86_64_mb_ms { &l.arm64 } else { &l.x86_64 };
        let mut unpriced = Vec::new();
        let mut gpu = 0.0;
        for (instance_type, ms) in &usage.gpu_ms {
            match self.gpu_per_hour.get(instance_type) {
                Some(per_hour) => gpu += *ms as f64 / 3_600_000.0 * per_hour,
                None => unpriced.push(instance_type.clone()),
            }
        }
        let breakdown = BTreeMap::from([
            (
                "lambda_compute",
                gb_seconds(usage.lambda_arm64_mb_ms) * l.arm64.per_gb_second
                    + gb_seconds(usage.lambda_x86_64_mb_ms) * l.x86_64.per_gb_second,
            ),
            ("lambda_requests", usage.lambda_requests as f64 / 1e6 * lambda_requests.per_million_requests),
            ("gpu", gpu),
            ("s3_storage", usage.s3_bytes_stored as f64 / GIB * self.s3.standard_per_gb_month),
            (
                "s3_requests",
                usage.s3_put_requests as f64 / 1000.0 * self.s3.put_per_thousand
                    + usage.s3_get_requests as f64 / 1000.0 * self.s3.get_per_thousand,
            ),
            ("s3_transfer_out", usage.s3_bytes_out as f64 / GIB * self.s3.transfer_out_per_gb),
            ("sqs", usage.sqs_requests as f64 / 1e6 * self.sqs.per_million_requests),
            (
                "dynamodb",
                usage.dynamodb_read_units as f64 / 1e6 * self.dynamodb.per_million_read_units
                    + usage.dynamodb_write_units as f64 / 1e6 * self.dynamodb.per_million_write_units,
            ),
        ]);
        Cost { price_table: self.version.clone(), total_usd: breakdown.values().sum(), breakdown, unpriced }
    }
}

/// What costs are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CostGroup {
    Team,
    Pipeline,
    User,
    Kind,
    Day,
}

impl CostGroup {
    pub const ALL: [Self; 5] = [Self::Team, Self::Pipeline, Self::User, Self::Kind, Self::Day];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Team => "team",
            Self::Pipeline => "pipeline",
            Self::User => "user",
            Self::Kind => "kind",
            Self::Day => "day",
        }
    }

    /// The event's value for this group; events of no pipeline group under `none`.
    pub fn value_of(self, event: &UsageEvent) -> String {
        match self {
            Self::Team => event.team_id.to_string(),
            Self::Pipeline => event.pipeline_id.as_ref().map_or_else(|| "none".to_owned(), ToString::to_string),
            Self::User => event.user_id.to_string(),
            Self::Kind => match event.kind {
                JobKind::Transform => "transform".to_owned(),
                JobKind::SuggestMapping => "suggest-mapping".to_owned(),
            },
            Self::Day => event.day(),
        }
    }
}

/// Whose usage a read covers: every team's (platform admins), or one team's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CostScope {
    All,
    Team(TeamId),
}

impl CostScope {
    /// The scopes an event counts in: all, and its team's.
    pub fn of(event: &UsageEvent) -> [Self; 2] {
        [Self::All, Self::Team(event.team_id.clone())]
    }

    /// The prefix of its totals' keys: `` for all, `team:<id>#` for a team.
    pub fn key_prefix(&self) -> String {
        match self {
            Self::All => String::new(),
            Self::Team(team) => format!("team:{team}#"),
        }
    }
}

/// One group value's usage on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyUsage {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// The group's value (a team id, a pipeline id or `none`, a user id, a kind, a day).
    pub key: String,
    pub usage: Usage,
}

/// Where usage events are applied: each at most once, by its id.
#[async_trait]
pub trait UsageLedger: Send + Sync {
    /// Records the event and adds its usage to its job's total and to each group's total for its
    /// day, in every [`CostScope`] it counts in, all or nothing; `Ok(false)`, changing nothing,
    /// when its id is recorded already.
    async fn apply(&self, event: &UsageEvent) -> Result<bool, StoreError>;
    async fn job_usage(&self, job_id: &JobId) -> Result<Usage, StoreError>;
    /// Each job's usage, in order (a job list's costs): one read per job unless the store
    /// batches them.
    async fn jobs_usage(&self, job_ids: &[JobId]) -> Result<Vec<Usage>, StoreError> {
        let mut usages = Vec::with_capacity(job_ids.len());
        for job_id in job_ids {
            usages.push(self.job_usage(job_id).await?);
        }
        Ok(usages)
    }
    /// The team's usage in `month` (`YYYY-MM`), kept as one total (what its budget is held to).
    async fn month_usage(&self, team: &TeamId, month: &str) -> Result<Usage, StoreError>;
    /// Each day's usage per value of `group` in `scope`, over the days `from..=to` (`YYYY-MM-DD`),
    /// by day then value.
    async fn daily(
        &self,
        scope: &CostScope,
        group: CostGroup,
        from: &str,
        to: &str,
    ) -> Result<Vec<DailyUsage>, StoreError>;

    /// Each value of `group` in `scope` with its usage over the days `from..=to`.
    async fn totals(
        &self,
        scope: &CostScope,
        group: CostGroup,
        from: &str,
        to: &str,
    ) -> Result<BTreeMap<String, Usage>, StoreError> {
        let mut totals: BTreeMap<String, Usage> = BTreeMap::new();
        for daily in self.daily(scope, group, from, to).await? {
            totals.entry(daily.key).or_default().add(&daily.usage);
        }
        Ok(totals)
    }
}

#[derive(Default)]
struct LedgerState {
    applied: HashSet<String>,
    jobs: HashMap<JobId, Usage>,
    /// (scope, group, day, value) → usage.
    groups: BTreeMap<(CostScope, CostGroup, String, String), Usage>,
    /// (team, month) → usage.
    months: HashMap<(TeamId, String), Usage>,
}

/// The in-memory ledger, for tests of what reads it.
#[derive(Default)]
pub struct MemoryUsageLedger {
    state: Mutex<LedgerState>,
}

#[async_trait]
impl UsageLedger for MemoryUsageLedger {
    async fn apply(&self, event: &UsageEvent) -> Result<bool, StoreError> {
        let mut state = self.state.lock().expect("ledger lock");
        if !state.applied.insert(event.id()) {
            return Ok(false);
        }
        let usage = event.usage();
        state.jobs.entry(event.job_id.clone()).or_default().add(&usage);
        state.months.entry((event.team_id.clone(), event.month())).or_default().add(&usage);
        for scope in CostScope::of(event) {
            for group in CostGroup::ALL {
                let key = (scope.clone(), group, event.day(), group.value_of(event));
                state.groups.entry(key).or_default().add(&usage);
            }
        }
        Ok(true)
    }

    async fn job_usage(&self, job_id: &JobId) -> Result<Usage, StoreError> {
        Ok(self.state.lock().expect("ledger lock").jobs.get(job_id).cloned().unwrap_or_default())
    }

    async fn month_usage(&self, team: &TeamId, month: &str) -> Result<Usage, StoreError> {
        let state = self.state.lock().expect("ledger lock");
        Ok(state.months.get(&(team.clone(), month.to_owned())).cloned().unwrap_or_default())
    }

    async fn daily(
        &self,
        scope: &CostScope,
        group: CostGroup,
        from: &str,
        to: &str,
    ) -> Result<Vec<DailyUsage>, StoreError> {
        let state = self.state.lock().expect("ledger lock");
        Ok(state
            .groups
            .iter()
            .filter(|((s, g, day, _), _)| s == scope && *g == group && day.as_str() >= from && day.as_str() <= to)
            .map(|((_, _, day, key), usage)| DailyUsage { day: day.clone(), key: key.clone(), usage: usage.clone() })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> PriceTable {
        PriceTable::bundled().expect("the bundled price table parses")
    }

    #[test]
    fn the_bundled_table_names_its_source_region_and_date() {
        let header: String = BUNDLED_PRICE_TABLE.lines().take_while(|l| l.starts_with('#')).collect();
        for word in ["Source:", "Region:", "Date:"] {
            assert!(header.contains(word), "no {word} in the header");
        }
        let table = table();
        assert!(header.contains(&table.region) && header.contains(&table.version));
        assert!(table.gpu_per_hour.contains_key("g5.xlarge"), "the template's default GPU instance type");
    }

    #[test]
    fn a_bad_table_says_what_is_wrong() {
        let eur = BUNDLED_PRICE_TABLE.replace("currency: USD", "currency: EUR");
        assert_eq!(PriceTable::parse(&eur).unwrap_err().to_string(), "price table: currency is EUR, not USD");
        let negative = BUNDLED_PRICE_TABLE.replace("per_million_requests: 0.40", "per_million_requests: -0.40");
        assert_eq!(
            PriceTable::parse(&negative).unwrap_err().to_string(),
            "price table: sqs.per_million_requests is negative"
        );
        let unknown = BUNDLED_PRICE_TABLE.replace("sqs:\n", "sqs:\n  per_request: 1\n");
        assert!(PriceTable::parse(&unknown).unwrap_err().to_string().contains("unknown field `per_request`"));
    }

    #[test]
    fn cost_matches_a_hand_computed_total_to_the_cent() {
        // 1,000,000 invocations of 1024 MB for 1 s on arm64: 1,000,000 GB-s × 0.0000133334 = 13.3334,
        // requests 1 × 0.20; 10 h of g5.xlarge: 10.06; 100 GiB stored: 2.30; 1,000,000 PUTs: 5.00,
        // 1,000,000 GETs: 0.40; 10 GiB out: 0.90; 2,000,000 SQS requests: 0.80; 1,000,000 RRU: 0.125,
        // 1,000,000 WRU: 0.625. Total 33.7434 → 33.74.
        let usage = Usage {
            lambda_requests: 1_000_000,
            lambda_arm64_mb_ms: 1024 * 1000 * 1_000_000,
            gpu_ms: BTreeMap::from([("g5.xlarge".to_owned(), 10 * 3_600_000)]),
            s3_bytes_stored: 100 * 1024 * 1024 * 1024,
            s3_put_requests: 1_000_000,
            s3_get_requests: 1_000_000,
            s3_bytes_out: 10 * 1024 * 1024 * 1024,
            sqs_requests: 2_000_000,
            dynamodb_read_units: 1_000_000,
            dynamodb_write_units: 1_000_000,
            ..Usage::default()
        };
        let cost = table().cost(&usage);
        assert_eq!(format!("{:.2}", cost.total_usd), "33.74");
        assert_eq!(format!("{:.4}", cost.breakdown["lambda_compute"]), "13.3334");
        assert_eq!(format!("{:.2}", cost.breakdown["gpu"]), "10.06");
        assert_eq!(format!("{:.2}", cost.breakdown["s3_requests"]), "5.40");
        assert_eq!(cost.price_table, "2026-11-01");
        assert!(cost.unpriced.is_empty());
        let unknown = Usage { gpu_ms: BTreeMap::from([("p5.48xlarge".to_owned(), 1000)]), ..Usage::default() };
        assert_eq!(table().cost(&unknown).unpriced, ["p5.48xlarge"]);
    }

    fn events_of(job: usize) -> Vec<UsageEvent> {
        let job_id = JobId::from(format!("00000000-0000-4000-8000-{job:012}"));
        let team_id = TeamId::from(format!("00000000-0000-4000-9000-{:012}", job % 3));
        let user_id = UserId::from(format!("00000000-0000-4000-a000-{:012}", job % 4));
        let at = Timestamp::parse(&format!("2026-11-{:02}T12:00:00Z", 1 + job % 5)).unwrap();
        let base = |function: &str, attempt, sequence| UsageEvent {
            job_id: job_id.clone(),
            attempt,
            function: function.to_owned(),
            sequence,
            team_id: team_id.clone(),
            user_id: user_id.clone(),
            pipeline_id: None,
            kind: if job.is_multiple_of(7) { JobKind::SuggestMapping } else { JobKind::Transform },
            at,
            compute: None,
            s3_put_requests: 0,
            s3_get_requests: 0,
            s3_bytes_stored: 0,
            s3_bytes_out: 0,
            sqs_requests: 0,
            dynamodb_read_units: 0,
            dynamodb_write_units: 0,
            records: 0,
        };
        let submit = UsageEvent {
            compute: Some(Compute::Lambda {
                memory_mb: 256,
                duration_ms: 40 + job as u64,
                architecture: Architecture::Arm64,
            }),
            sqs_requests: 1,
            dynamodb_write_units: 2,
            ..base("jobs-api", 0, 0)
        };
        let mut events = vec![submit];
        // Every third job needed a second attempt.
        for attempt in 1..=(1 + u32::from(job.is_multiple_of(3))) {
            events.push(UsageEvent {
                compute: Some(Compute::Lambda {
                    memory_mb: 1024,
                    duration_ms: 1_000 * u64::from(attempt) + job as u64,
                    architecture: Architecture::Arm64,
                }),
                s3_get_requests: 3,
                s3_put_requests: 2,
                s3_bytes_stored: 10_000 * job as u64,
                sqs_requests: 2,
                dynamodb_read_units: 1,
                dynamodb_write_units: 3,
                ..base("job-worker", attempt, 0)
            });
            events.push(UsageEvent { dynamodb_write_units: 1, ..base("job-worker", attempt, 1) });
        }
        events
    }

    async fn snapshot(ledger: &MemoryUsageLedger, jobs: usize) -> Vec<String> {
        let mut lines = Vec::new();
        for group in CostGroup::ALL {
            let totals = ledger.totals(&CostScope::All, group, "2026-11-01", "2026-11-30").await.unwrap();
            lines.push(format!("{group:?} {totals:?}"));
        }
        for job in 0..jobs {
            let events = events_of(job);
            lines.push(format!("{:?}", ledger.job_usage(&events[0].job_id).await.unwrap()));
        }
        lines
    }

    #[tokio::test]
    async fn replaying_every_event_three_times_leaves_the_totals_unchanged() {
        const JOBS: usize = 20;
        let ledger = MemoryUsageLedger::default();
        let events: Vec<UsageEvent> = (0..JOBS).flat_map(events_of).collect();
        for event in &events {
            assert!(ledger.apply(event).await.unwrap(), "{} applied the first time", event.id());
        }
        let first = snapshot(&ledger, JOBS).await;
        for _replay in 0..2 {
            for event in events.iter().rev() {
                assert!(!ledger.apply(event).await.unwrap(), "{} applied again", event.id());
            }
            assert_eq!(snapshot(&ledger, JOBS).await, first);
        }
        let days = ledger.totals(&CostScope::All, CostGroup::Day, "2026-11-01", "2026-11-30").await.unwrap();
        let mut all = Usage::default();
        days.values().for_each(|u| all.add(u));
        let mut expected = Usage::default();
        events.iter().for_each(|e| expected.add(&e.usage()));
        assert_eq!(all, expected, "the days add up to every event once");
        assert_eq!(ledger.totals(&CostScope::All, CostGroup::Team, "2026-11-01", "2026-11-30").await.unwrap().len(), 3);
        assert_eq!(ledger.totals(&CostScope::All, CostGroup::Day, "2026-11-02", "2026-11-03").await.unwrap().len(), 2);
    }

    #[test]
    fn an_event_id_is_its_job_attempt_function_and_sequence() {
        let event = &events_of(3)[3];
        assert_eq!(event.id(), "00000000-0000-4000-8000-000000000003#2#job-worker#0");
        assert_eq!(event.day(), "2026-11-04");
        assert_eq!(CostGroup::parse("pipeline"), Some(CostGroup::Pipeline));
        assert_eq!(CostGroup::parse("month"), None);
    }
}
