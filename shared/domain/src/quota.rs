//! What a team's plan lets it use: jobs at once, bytes stored, the size of one file, records
//! a month. The stores count usage in the same conditional write as the record it counts (a
//! job's creation and its end, an upload's registration and its rejection), so no number of
//! concurrent requests takes a team over a limit.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Plan, StoreError, TeamId, Timestamp};

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// The most jobs at once any plan may set: a team's unfinished jobs are counted on one item.
pub const MAX_CONCURRENT_JOBS: u32 = 10_000;

/// A plan's limits.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    /// Jobs not yet finished (PENDING or RUNNING) at once.
    pub concurrent_jobs: u32,
    /// Bytes of uploaded files the team keeps.
    pub storage_bytes: u64,
    /// Bytes of one uploaded file.
    pub file_bytes: u64,
    /// Records read by the team's completed jobs in a calendar month (UTC).
    pub records_per_month: u64,
}

impl PlanLimits {
    pub const FREE: Self =
        Self { concurrent_jobs: 2, storage_bytes: GIB, file_bytes: 100 * MIB, records_per_month: 1_000_000 };
    pub const PRO: Self =
        Self { concurrent_jobs: 10, storage_bytes: 100 * GIB, file_bytes: 5 * GIB, records_per_month: 100_000_000 };

    /// The first limit that is out of range, as `(field, reason)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(1..=MAX_CONCURRENT_JOBS).contains(&self.concurrent_jobs) {
            return Err(("limits.concurrent_jobs", format!("must be 1 to {MAX_CONCURRENT_JOBS}")));
        }
        if self.storage_bytes == 0 {
            return Err(("limits.storage_bytes", "must be at least 1".into()));
        }
        if self.file_bytes == 0 || self.file_bytes > self.storage_bytes {
            return Err(("limits.file_bytes", "must be at least 1 and at most storage_bytes".into()));
        }
        if self.records_per_month == 0 {
            return Err(("limits.records_per_month", "must be at least 1".into()));
        }
        Ok(())
    }
}

impl Plan {
    /// The plan's own limits; an enterprise team's are set on the team
    /// ([`crate::Team::limits`]), the pro plan's until they are.
    pub fn limits(self) -> PlanLimits {
        match self {
            Plan::Free => PlanLimits::FREE,
            Plan::Pro | Plan::Enterprise => PlanLimits::PRO,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }
}

/// What a team uses of its limits now.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct QuotaUsage {
    pub concurrent_jobs: u64,
    pub storage_bytes: u64,
    /// Records read this calendar month (UTC).
    pub records_this_month: u64,
}

/// The calendar month (UTC) of `at`, `YYYY-MM`: the period records are counted in.
pub fn month_of(at: Timestamp) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(at.unix()).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}", date.year(), u8::from(date.month()))
}

/// What a team's usage is counted on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Counter {
    /// Unfinished jobs; each job holds one unit while it is PENDING or RUNNING.
    ActiveJobs,
    /// Bytes of uploads; each upload holds its size until it is rejected.
    StorageBytes,
    /// Records read by completed jobs in one month (`YYYY-MM`): added to, never given back.
    Records(String),
}

impl Counter {
    /// The counter's name in storage.
    pub fn key(&self) -> String {
        match self {
            Counter::ActiveJobs => "active_jobs".into(),
            Counter::StorageBytes => "storage_bytes".into(),
            Counter::Records(month) => format!("records#{month}"),
        }
    }
}

/// What [`QuotaStore::take`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Take {
    /// The holder holds its amount now (or held it already).
    Taken,
    /// Taking it would have gone over the limit; `used` is what the counter holds.
    Refused { used: u64 },
}

/// One holder of part of a counter: who, how much, since when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub holder: String,
    pub amount: u64,
    pub since: Timestamp,
}

/// Team usage counters. A counter is the sum of its holdings (a job's slot, an upload's bytes):
/// taking writes the holding and raises the counter in one conditional write, refused when the
/// counter would pass the limit; giving back removes the holding and lowers the counter in one
/// write, and does nothing for a holder that holds nothing. So concurrent requests never take a
/// team over its limit, and a release repeated (a redelivered message, a retried call) counts once.
#[async_trait]
pub trait QuotaStore: Send + Sync {
    async fn take(
        &self,
        team: &TeamId,
        counter: &Counter,
        holder: &str,
        amount: u64,
        limit: u64,
        at: Timestamp,
    ) -> Result<Take, StoreError>;
    async fn give_back(&self, team: &TeamId, counter: &Counter, holder: &str) -> Result<(), StoreError>;
    /// The counter's holdings, for finding ones whose holder ended without giving back.
    async fn holdings(&self, team: &TeamId, counter: &Counter) -> Result<Vec<Holding>, StoreError>;
    /// Adds to a counter without holdings (records of a month).
    async fn add(&self, team: &TeamId, counter: &Counter, amount: u64) -> Result<(), StoreError>;
    /// The counter's value, 0 for one never written.
    async fn value(&self, team: &TeamId, counter: &Counter) -> Result<u64, StoreError>;
}

/// A counter's value and its holdings, by holder.
type CounterState = (u64, HashMap<String, Holding>);

/// [`QuotaStore`] in memory: one lock over every counter, so take is as atomic as DynamoDB's.
#[derive(Default)]
pub struct MemoryQuotaStore {
    counters: Mutex<HashMap<(TeamId, String), CounterState>>,
}

impl MemoryQuotaStore {
    fn with<T>(&self, team: &TeamId, counter: &Counter, f: impl FnOnce(&mut CounterState) -> T) -> T {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        f(counters.entry((team.clone(), counter.key())).or_default())
    }
}

#[async_trait]
impl QuotaStore for MemoryQuotaStore {
    async fn take(
        &self,
        team: &TeamId,
        counter: &Counter,
        holder: &str,
        amount: u64,
        limit: u64,
        at: Timestamp,
    ) -> Result<Take, StoreError> {
        Ok(self.with(team, counter, |(value, holdings)| {
            if holdings.contains_key(holder) {
                return Take::Taken;
            }
            if value.saturating_add(amount) > limit {
                return Take::Refused { used: *value };
            }
            *value += amount;
            holdings.insert(holder.to_owned(), Holding { holder: holder.to_owned(), amount, since: at });
            Take::Taken
        }))
    }

    async fn give_back(&self, team: &TeamId, counter: &Counter, holder: &str) -> Result<(), StoreError> {
        self.with(team, counter, |(value, holdings)| {
            if let Some(holding) = holdings.remove(holder) {
                *value = value.saturating_sub(holding.amount);
            }
        });
        Ok(())
    }

    async fn holdings(&self, team: &TeamId, counter: &Counter) -> Result<Vec<Holding>, StoreError> {
        Ok(self.with(team, counter, |(_, holdings)| holdings.values().cloned().collect()))
    }

    async fn add(&self, team: &TeamId, counter: &Counter, amount: u64) -> Result<(), StoreError> {
        self.with(team, counter, |(value, _)| *value += amount);
        Ok(())
    }

    async fn value(&self, team: &TeamId, counter: &Counter) -> Result<u64, StoreError> {
        Ok(self.with(team, counter, |(value, _)| *value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_have_the_published_limits() {
        assert_eq!(Plan::Free.limits().concurrent_jobs, 2);
        assert_eq!(Plan::Free.limits().storage_bytes, 1 << 30);
        assert_eq!(Plan::Free.limits().file_bytes, 100 << 20);
        assert_eq!(Plan::Pro.limits().records_per_month, 100_000_000);
        assert_eq!(Plan::Pro.limits().file_bytes, 5 << 30);
        assert!(PlanLimits::FREE.check().is_ok() && PlanLimits::PRO.check().is_ok());
    }

    #[test]
    fn limits_out_of_range_name_their_field() {
        let zero_jobs = PlanLimits { concurrent_jobs: 0, ..PlanLimits::PRO };
        assert_eq!(zero_jobs.check().unwrap_err().0, "limits.concurrent_jobs");
        let file_over_storage = PlanLimits { file_bytes: 2, storage_bytes: 1, ..PlanLimits::PRO };
        assert_eq!(file_over_storage.check().unwrap_err().0, "limits.file_bytes");
    }

    #[test]
    fn months_are_utc_calendar_months() {
        assert_eq!(month_of(Timestamp::parse("2026-11-30T23:59:59Z").unwrap()), "2026-11");
        assert_eq!(month_of(Timestamp::parse("2026-12-01T00:00:00Z").unwrap()), "2026-12");
    }
}
