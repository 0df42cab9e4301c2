//! Pipeline schedules: a cron pattern or a rate in a time zone, and what each run reads; the
//! store that keeps them with the next slot due, the timer that wakes the platform for it, and
//! in-memory adapters.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ArtifactId, JobId, PipelineId, RunId, ScheduleId, StoreError, Timestamp, UserId};

/// What each scheduled run reads: a fixed set of content artifacts, or the files waiting in a
/// folder of the pipeline's inbox. Exactly one of the two.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ScheduleInput {
    /// The content artifacts of the pipeline's team one run reads, 1 to 20, every time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content_artifact_ids: Vec<ArtifactId>,
    /// A folder of the pipeline's inbox (`nightly`, `erp/orders`): files put under
    /// `inbox/<team>/<pipeline>/<inbox_prefix>/` wait there (a file only starts a run on arrival
    /// directly in the inbox) until the schedule fires; then each file waiting starts one run, as
    /// an inbox file does, and moves to `processed/` or `failed/`. Nothing waiting: no run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox_prefix: Option<String>,
}

/// The longest inbox folder a schedule reads.
pub const MAX_INBOX_PREFIX_CHARS: usize = 200;

/// Checks a schedule's inbox folder as sent; the folder without the slashes around it.
/// Segments of letters, digits, `.`, `_` and `-`, split by `/`, none empty, `.` or `..`.
pub fn check_inbox_prefix(prefix: &str) -> Result<String, String> {
    let folder = prefix.trim().trim_matches('/');
    if folder.is_empty() || folder.chars().count() > MAX_INBOX_PREFIX_CHARS {
        return Err(format!("inbox_prefix must be a folder name of 1 to {MAX_INBOX_PREFIX_CHARS} characters"));
    }
    for segment in folder.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(format!("inbox_prefix {folder:?} has an empty, '.' or '..' folder"));
        }
        if let Some(bad) = segment.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
            return Err(format!(
                "inbox_prefix may hold letters, digits, '.', '_', '-' and '/' between folders, not {bad:?}"
            ));
        }
    }
    Ok(folder.to_owned())
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Schedule {
    pub id: ScheduleId,
    pub pipeline_id: PipelineId,
    /// A 5-field cron pattern (`0 6 * * MON-FRI`) or a rate (`rate(15 minutes)`).
    pub expression: String,
    /// The IANA time zone the cron pattern's wall-clock times are in (`Europe/Berlin`).
    pub timezone: String,
    pub input: ScheduleInput,
    pub created_by: UserId,
    pub created_at: Timestamp,
    /// The slot the schedule fires at next. A slot missed while the platform was down fires
    /// once, when it is back; the slots after it are counted from then.
    pub next_run_at: Timestamp,
    /// When it last fired, and the runs it started (or why it started none).
    pub last_fired_at: Option<Timestamp>,
    /// The job of the last one-job run it started.
    pub last_job_id: Option<JobId>,
    /// The last chained run it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_id: Option<RunId>,
    /// How many runs its last firing started: one for a fixed artifact set, one per file waiting
    /// for an inbox folder (0 when none was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run_count: Option<u32>,
    pub last_error: Option<String>,
    pub deleted_at: Option<Timestamp>,
}

/// The message that wakes the platform for a schedule's slot.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ScheduleFire {
    pub pipeline_id: PipelineId,
    pub schedule_id: ScheduleId,
}

#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// `Conflict` when the id is taken.
    async fn add(&self, schedule: &Schedule) -> Result<(), StoreError>;
    async fn get(&self, pipeline: &PipelineId, id: &ScheduleId) -> Result<Option<Schedule>, StoreError>;
    /// The pipeline's schedules that are not deleted, oldest first.
    async fn list(&self, pipeline: &PipelineId) -> Result<Vec<Schedule>, StoreError>;
    /// Marks it deleted: `NotFound` when it does not exist or is deleted already.
    async fn delete(&self, pipeline: &PipelineId, id: &ScheduleId, at: Timestamp) -> Result<(), StoreError>;
    /// Replaces the schedule with `next`: `Conflict` unless it is still due at `seen_next_run_at`
    /// and not deleted. Of two firings of one slot, one claims it.
    async fn advance(&self, next: &Schedule, seen_next_run_at: Timestamp) -> Result<(), StoreError>;
    /// Every schedule, of every pipeline, due at `now` (the local platform's poll).
    async fn due(&self, now: Timestamp) -> Result<Vec<Schedule>, StoreError>;
}

/// What wakes the platform at a schedule's next slot: in the cloud a one-shot EventBridge
/// Scheduler schedule that sends a [`ScheduleFire`]; locally nothing, the platform polls
/// [`ScheduleStore::due`].
#[async_trait]
pub trait ScheduleTimer: Send + Sync {
    /// Sets (or moves) the wake-up to `schedule.next_run_at`.
    async fn arm(&self, schedule: &Schedule) -> Result<(), StoreError>;
    async fn disarm(&self, schedule: &Schedule) -> Result<(), StoreError>;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
pub struct MemoryScheduleStore {
    schedules: Mutex<BTreeMap<(PipelineId, ScheduleId), Schedule>>,
}

#[async_trait]
impl ScheduleStore for MemoryScheduleStore {
    async fn add(&self, schedule: &Schedule) -> Result<(), StoreError> {
        let mut schedules = lock(&self.schedules);
        let key = (schedule.pipeline_id.clone(), schedule.id.clone());
        if schedules.contains_key(&key) {
            return Err(StoreError::Conflict("schedule id taken".into()));
        }
        schedules.insert(key, schedule.clone());
        Ok(())
    }

    async fn get(&self, pipeline: &PipelineId, id: &ScheduleId) -> Result<Option<Schedule>, StoreError> {
        Ok(lock(&self.schedules).get(&(pipeline.clone(), id.clone())).cloned())
    }

    async fn list(&self, pipeline: &PipelineId) -> Result<Vec<Schedule>, StoreError> {
        let mut listed: Vec<Schedule> = lock(&self.schedules)
            .values()
            .filter(|s| &s.pipeline_id == pipeline && s.deleted_at.is_none())
            .cloned()
            .collect();
        listed.sort_by_key(|s| s.created_at);
        Ok(listed)
    }

    async fn delete(&self, pipeline: &PipelineId, id: &ScheduleId, at: Timestamp) -> Result<(), StoreError> {
        match lock(&self.schedules).get_mut(&(pipeline.clone(), id.clone())) {
            Some(schedule) if schedule.deleted_at.is_none() => {
                schedule.deleted_at = Some(at);
                Ok(())
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn advance(&self, next: &Schedule, seen_next_run_at: Timestamp) -> Result<(), StoreError> {
        let mut schedules = lock(&self.schedules);
        match schedules.get_mut(&(next.pipeline_id.clone(), next.id.clone())) {
            Some(stored) if stored.deleted_at.is_none() && stored.next_run_at == seen_next_run_at => {
                *stored = next.clone();
                Ok(())
            }
            Some(_) => Err(StoreError::Conflict("the schedule moved meanwhile".into())),
            None => Err(StoreError::NotFound),
        }
    }

    async fn due(&self, now: Timestamp) -> Result<Vec<Schedule>, StoreError> {
        Ok(lock(&self.schedules).values().filter(|s| s.deleted_at.is_none() && s.next_run_at <= now).cloned().collect())
    }
}

/// The local timer: nothing to set, the platform polls the store for due schedules.
pub struct PolledScheduleTimer;

#[async_trait]
impl ScheduleTimer for PolledScheduleTimer {
    async fn arm(&self, _schedule: &Schedule) -> Result<(), StoreError> {
        Ok(())
    }

    async fn disarm(&self, _schedule: &Schedule) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_inbox_prefix;

    #[test]
    fn inbox_folders_are_plain_names() {
        assert_eq!(check_inbox_prefix("/nightly/").unwrap(), "nightly");
        assert_eq!(check_inbox_prefix("erp/orders-2026_v1.x").unwrap(), "erp/orders-2026_v1.x");
        for (bad, reason) in [
            ("", "1 to 200"),
            ("/", "1 to 200"),
            ("a//b", "empty"),
            ("../other", "'..'"),
            ("a/./b", "'.'"),
            ("night ly", "' '"),
            ("*.csv", "'*'"),
            ("Aufträge", "'ä'"),
        ] {
            let error = check_inbox_prefix(bad).unwrap_err();
            assert!(error.contains(reason), "{bad}: {error}");
        }
        assert!(check_inbox_prefix(&"a".repeat(201)).is_err());
    }
}
