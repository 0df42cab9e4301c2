//! One big input spread over many workers: the shard tasks on the job queue, what the scan of a
//! shard finds, the plan of one job attempt's shards, and the store through which the workers
//! agree on it (each shard's result recorded once; the worker that records the last one goes on
//! to the next phase). The algorithm is in `helix-jobs` (`runner/shards.rs`) and
//! `docs/scaling.md`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{JobId, StoreError};

/// What a shard message on the job queue asks of a worker. The message is the job's
/// ([`crate::JobMessage::shard`]); its body, and so its idempotency record, names the job, the
/// attempt and the shard.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum ShardTask {
    /// Scan shard `index`'s bytes of attempt `attempt`'s input (phase 1).
    Scan { attempt: u32, index: u32 },
    /// Map shard `index`'s records (phase 3).
    Map { attempt: u32, index: u32 },
    /// Run the job on one worker after attempt `attempt`'s shards disagreed with the file (a
    /// quote the split cannot account for): the job's own message, not sharded again.
    OneWorker { attempt: u32 },
}

impl ShardTask {
    /// A task on one shard (not the job's whole run).
    pub fn is_part(&self) -> bool {
        matches!(self, Self::Scan { .. } | Self::Map { .. })
    }
}

/// The share of a sharded job's shards that are done (`shards` in the job's JSON).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ShardProgress {
    pub total: u32,
    pub done: u32,
    pub failed: u32,
}

/// What a scan found for one assumed quote state at the shard's first byte.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StateScan {
    /// The first record-ending line feed: its offset in the file, and the line feeds of the
    /// shard up to and including it.
    pub first_end: Option<(u64, u64)>,
    /// Records (lines with more than carriage returns) that end at a record-ending line feed
    /// after the first.
    pub records_after_first: u64,
    /// The bytes before the first record-ending line feed (all of them, without one) are
    /// carriage returns at most.
    pub head_blank: bool,
    /// The bytes after the last record-ending line feed are carriage returns at most.
    pub tail_blank: bool,
    /// Every quote that opens a quoted field stands at the start of a field: the file is read as
    /// RFC 4180 from this state, and the parity of quotes decides what is quoted.
    pub strict: bool,
}

/// What phase 1 found in one shard's byte range.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardScan {
    /// An odd number of quote characters: the quote state at the end is the other one.
    pub odd_quotes: bool,
    /// Line feeds in the range, quoted or not.
    pub newlines: u64,
    /// Starting outside quotes (`[0]`) and inside (`[1]`).
    pub from: [StateScan; 2],
}

/// Where one shard's records are, once every scan is in (phase 2).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardSpan {
    /// Byte offsets `start..end` of the file: whole records.
    pub start: u64,
    pub end: u64,
    /// The line of its first byte.
    pub first_line: u64,
    /// Records of the file before its first.
    pub records_before: u64,
    /// Records in it.
    pub records: u64,
}

/// What mapping one shard wrote (phase 3).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardOutput {
    pub records_in: u64,
    pub records_out: u64,
    pub records_rejected: u64,
    pub records_filtered: u64,
    pub result_bytes: u64,
    pub reject_bytes: u64,
}

/// One job attempt's shards: the input, then each phase's results as the workers record them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ShardPlan {
    pub job_id: JobId,
    pub attempt: u32,
    /// The input as the plan reads it (opaque here: `helix-jobs` writes and reads it).
    pub input: String,
    pub total: u32,
    pub scans: BTreeMap<u32, ShardScan>,
    /// Set once, by whoever records the last scan (or a redelivery of it).
    pub spans: Option<Vec<ShardSpan>>,
    pub outputs: BTreeMap<u32, ShardOutput>,
    pub failures: BTreeMap<u32, String>,
}

impl ShardPlan {
    pub fn new(job_id: JobId, attempt: u32, input: String, total: u32) -> Self {
        Self {
            job_id,
            attempt,
            input,
            total,
            scans: BTreeMap::new(),
            spans: None,
            outputs: BTreeMap::new(),
            failures: BTreeMap::new(),
        }
    }

    pub fn progress(&self) -> ShardProgress {
        ShardProgress { total: self.total, done: self.outputs.len() as u32, failed: self.failures.len() as u32 }
    }

    pub fn scanned(&self) -> bool {
        self.scans.len() as u32 == self.total
    }

    pub fn mapped(&self) -> bool {
        self.outputs.len() as u32 == self.total
    }
}

/// Whether a record call stored its value, and the plan after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// False when the shard's value was there already (a redelivered message).
    pub stored: bool,
    pub plan: ShardPlan,
}

/// The plans of sharded job attempts. Every record is a conditional write, so that of the
/// workers recording the last scan or the last output, exactly one sees itself store it.
#[async_trait]
pub trait ShardStore: Send + Sync {
    /// Stores a new plan; `Conflict` when the attempt has one.
    async fn create(&self, plan: &ShardPlan) -> Result<(), StoreError>;
    async fn get(&self, job: &JobId, attempt: u32) -> Result<Option<ShardPlan>, StoreError>;
    /// Records shard `index`'s scan unless it is recorded. `NotFound` without a plan.
    async fn record_scan(
        &self,
        job: &JobId,
        attempt: u32,
        index: u32,
        scan: &ShardScan,
    ) -> Result<Recorded, StoreError>;
    /// Records the spans unless they are recorded.
    async fn record_spans(&self, job: &JobId, attempt: u32, spans: &[ShardSpan]) -> Result<Recorded, StoreError>;
    /// Records shard `index`'s output unless it is recorded.
    async fn record_output(
        &self,
        job: &JobId,
        attempt: u32,
        index: u32,
        output: &ShardOutput,
    ) -> Result<Recorded, StoreError>;
    /// Records that shard `index` failed for good unless a failure of it is recorded.
    async fn record_failure(&self, job: &JobId, attempt: u32, index: u32, error: &str) -> Result<Recorded, StoreError>;
}

/// [`ShardStore`] in memory.
#[derive(Default)]
pub struct MemoryShardStore {
    plans: Mutex<BTreeMap<(JobId, u32), ShardPlan>>,
    pub outage: crate::memory::Outage,
}

impl MemoryShardStore {
    fn record(
        &self,
        job: &JobId,
        attempt: u32,
        change: impl FnOnce(&mut ShardPlan) -> bool,
    ) -> Result<Recorded, StoreError> {
        self.outage.check("the shard table")?;
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        let plan = plans.get_mut(&(job.clone(), attempt)).ok_or(StoreError::NotFound)?;
        let stored = change(plan);
        Ok(Recorded { stored, plan: plan.clone() })
    }
}

fn insert_new<V: Clone>(map: &mut BTreeMap<u32, V>, index: u32, value: &V) -> bool {
    if map.contains_key(&index) {
        return false;
    }
    map.insert(index, value.clone());
    true
}

#[async_trait]
impl ShardStore for MemoryShardStore {
    async fn create(&self, plan: &ShardPlan) -> Result<(), StoreError> {
        self.outage.check("the shard table")?;
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        let key = (plan.job_id.clone(), plan.attempt);
        if plans.contains_key(&key) {
            return Err(StoreError::Conflict(format!("job {} attempt {} has a shard plan", key.0, key.1)));
        }
        plans.insert(key, plan.clone());
        Ok(())
    }

    async fn get(&self, job: &JobId, attempt: u32) -> Result<Option<ShardPlan>, StoreError> {
        self.outage.check("the shard table")?;
        Ok(self.plans.lock().unwrap_or_else(|e| e.into_inner()).get(&(job.clone(), attempt)).cloned())
    }

    async fn record_scan(
        &self,
        job: &JobId,
        attempt: u32,
        index: u32,
        scan: &ShardScan,
    ) -> Result<Recorded, StoreError> {
        self.record(job, attempt, |plan| insert_new(&mut plan.scans, index, scan))
    }

    async fn record_spans(&self, job: &JobId, attempt: u32, spans: &[ShardSpan]) -> Result<Recorded, StoreError> {
        self.record(job, attempt, |plan| {
            if plan.spans.is_some() {
                return false;
            }
            plan.spans = Some(spans.to_vec());
            true
        })
    }

    async fn record_output(
        &self,
        job: &JobId,
        attempt: u32,
        index: u32,
        output: &ShardOutput,
    ) -> Result<Recorded, StoreError> {
        self.record(job, attempt, |plan| insert_new(&mut plan.outputs, index, output))
    }

    async fn record_failure(&self, job: &JobId, attempt: u32, index: u32, error: &str) -> Result<Recorded, StoreError> {
        self.record(job, attempt, |plan| insert_new(&mut plan.failures, index, &error.to_owned()))
    }
}
