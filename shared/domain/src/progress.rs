//! A running job's progress, as its worker last reported it: what the live event stream of a job
//! (`GET /jobs/{id}/events`) shows between status changes.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{JobId, StoreError, Timestamp};

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct JobProgress {
    /// Bytes of the content files read so far.
    pub bytes_read: u64,
    /// Bytes of all the content files.
    pub bytes_total: u64,
    /// Lines of the content files read so far: for CSV, NDJSON and fixed-width files one per
    /// record (and the header).
    pub lines_read: u64,
}

/// A running job's progress, written by its worker and read by the event stream.
#[async_trait]
pub trait ProgressStore: Send + Sync {
    /// Records the progress of a job that is still `RUNNING` (a finished job's is not revived).
    async fn record(&self, job: &JobId, progress: &JobProgress, at: Timestamp) -> Result<(), StoreError>;
    async fn read(&self, job: &JobId) -> Result<Option<JobProgress>, StoreError>;
}

#[derive(Default)]
pub struct MemoryProgressStore {
    progress: Mutex<HashMap<JobId, JobProgress>>,
}

#[async_trait]
impl ProgressStore for MemoryProgressStore {
    async fn record(&self, job: &JobId, progress: &JobProgress, _at: Timestamp) -> Result<(), StoreError> {
        self.progress.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(job.clone(), *progress);
        Ok(())
    }

    async fn read(&self, job: &JobId) -> Result<Option<JobProgress>, StoreError> {
        Ok(self.progress.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(job).copied())
    }
}
