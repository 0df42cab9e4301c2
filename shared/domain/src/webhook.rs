//! Pipeline webhooks: URLs told of a pipeline's finished runs, each event a delivery whose every
//! attempt is logged; the ports that store them, queue them and send them, and in-memory adapters.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Job, JobId, JobStatus, PipelineId, StoreError, Timestamp, UserId, WebhookId};

/// A URL that is sent every finished run of its pipeline, signed with its secret.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Webhook {
    pub id: WebhookId,
    pub pipeline_id: PipelineId,
    pub url: String,
    /// The HMAC-SHA256 key of the signatures; shown to its maker once.
    pub secret: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    /// Set by `DELETE`: no delivery is made to it any more (pending ones give up).
    pub deleted_at: Option<Timestamp>,
}

/// A webhook as the API shows it: never its secret.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WebhookRead {
    pub id: WebhookId,
    pub pipeline_id: PipelineId,
    pub url: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

impl From<&Webhook> for WebhookRead {
    fn from(w: &Webhook) -> Self {
        Self {
            id: w.id.clone(),
            pipeline_id: w.pipeline_id.clone(),
            url: w.url.clone(),
            created_by: w.created_by.clone(),
            created_at: w.created_at,
        }
    }
}

/// What a delivery tells: a run of the pipeline finished, or its team's spending this month
/// reached 80 % or 100 % of its budget (sent to every webhook of the team's pipelines).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub enum WebhookEvent {
    #[serde(rename = "run.completed")]
    RunCompleted,
    #[serde(rename = "run.failed")]
    RunFailed,
    #[serde(rename = "run.cancelled")]
    RunCancelled,
    #[serde(rename = "budget.threshold")]
    BudgetThreshold,
}

impl WebhookEvent {
    /// The event a job's status gives, once it is terminal.
    pub fn of(status: JobStatus) -> Option<Self> {
        match status {
            JobStatus::Completed => Some(Self::RunCompleted),
            JobStatus::Failed => Some(Self::RunFailed),
            JobStatus::Cancelled => Some(Self::RunCancelled),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RunCompleted => "run.completed",
            Self::RunFailed => "run.failed",
            Self::RunCancelled => "run.cancelled",
            Self::BudgetThreshold => "budget.threshold",
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    /// Not received yet; `next_attempt_at` says when it is tried again.
    Pending,
    /// A 2xx answer came back.
    Delivered,
    /// No 2xx within the retry window, or the webhook was deleted.
    GaveUp,
}

/// One POST of a delivery, as it went.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DeliveryAttempt {
    /// 1 for the first attempt.
    pub number: u32,
    pub at: Timestamp,
    /// The receiver's HTTP status; `null` when none came (refused, timed out).
    pub status_code: Option<u16>,
    /// Why the attempt failed, when it did.
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// One event for one webhook: the exact body every attempt sends, and the attempts so far.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct WebhookDelivery {
    /// The same for every attempt (header `Helix-Delivery`): receivers drop repeats by it.
    pub id: String,
    pub pipeline_id: PipelineId,
    pub webhook_id: WebhookId,
    /// The run's job; `null` for a team's event (`budget.threshold`).
    pub job_id: Option<JobId>,
    pub event: WebhookEvent,
    /// The JSON sent, fixed when the run finished.
    pub body: String,
    pub created_at: Timestamp,
    pub status: DeliveryStatus,
    pub attempts: Vec<DeliveryAttempt>,
    pub next_attempt_at: Option<Timestamp>,
}

impl WebhookDelivery {
    /// The delivery of `job`'s end to `webhook`: its id is the same however often the end is
    /// reported (a redelivered worker message), and differs for each end of a retried job.
    pub fn id_for(job: &Job, webhook: &WebhookId) -> String {
        let ended = job.finished_at.map(|t| t.to_string()).unwrap_or_default();
        format!("{ended}_{}_{webhook}", job.id)
    }

    /// The delivery to `webhook` of its team's budget reaching `threshold` percent in `month`
    /// (`YYYY-MM`), first seen at `crossed_at`: the same however often the crossing is seen, and
    /// placed in the delivery log by when it happened.
    pub fn budget_id(crossed_at: Timestamp, month: &str, threshold: u32, webhook: &WebhookId) -> String {
        format!("{crossed_at}_budget-{month}-{threshold}_{webhook}")
    }
}

/// The queue message of a delivery.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DeliveryMessage {
    pub pipeline_id: PipelineId,
    pub delivery_id: String,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// `Conflict` when the id is taken.
    async fn add(&self, webhook: &Webhook) -> Result<(), StoreError>;
    async fn get(&self, pipeline: &PipelineId, id: &WebhookId) -> Result<Option<Webhook>, StoreError>;
    /// The pipeline's webhooks that are not deleted, oldest first.
    async fn list(&self, pipeline: &PipelineId) -> Result<Vec<Webhook>, StoreError>;
    /// Marks it deleted: `NotFound` when it does not exist or is deleted already.
    async fn delete(&self, pipeline: &PipelineId, id: &WebhookId, at: Timestamp) -> Result<(), StoreError>;
    /// Stores a new delivery; `false` (nothing written) when one with its id exists.
    async fn add_delivery(&self, delivery: &WebhookDelivery) -> Result<bool, StoreError>;
    async fn delivery(&self, pipeline: &PipelineId, id: &str) -> Result<Option<WebhookDelivery>, StoreError>;
    /// Replaces the delivery with `next`, one attempt longer: `Conflict` unless the stored one
    /// has `next.attempts.len() - 1` attempts.
    async fn record_attempt(&self, next: &WebhookDelivery) -> Result<(), StoreError>;
    /// The pipeline's latest deliveries, newest first, at most `limit`.
    async fn deliveries(&self, pipeline: &PipelineId, limit: usize) -> Result<Vec<WebhookDelivery>, StoreError>;
}

#[async_trait]
pub trait WebhookQueue: Send + Sync {
    async fn send(&self, message: &DeliveryMessage) -> Result<(), StoreError>;
    /// Keeps a received message (by its receipt handle) out of sight for `delay`: the next
    /// attempt's backoff, without holding a worker.
    async fn postpone(&self, receipt_handle: &str, delay: Duration) -> Result<(), StoreError>;
}

/// One signed POST.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookPost {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// The receiver's status code, or why none came.
    async fn post(&self, post: &WebhookPost) -> Result<u16, String>;

    /// Why nothing may be sent to `url` now (its host no longer resolves to public addresses),
    /// `None` when it may. A sender that reaches no network (a test's) refuses nothing.
    async fn refuses(&self, _url: &str) -> Option<String> {
        None
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Default)]
pub struct MemoryWebhookStore {
    webhooks: Mutex<BTreeMap<(PipelineId, WebhookId), Webhook>>,
    deliveries: Mutex<BTreeMap<(PipelineId, String), WebhookDelivery>>,
}

#[async_trait]
impl WebhookStore for MemoryWebhookStore {
    async fn add(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let mut webhooks = lock(&self.webhooks);
        let key = (webhook.pipeline_id.clone(), webhook.id.clone());
        if webhooks.contains_key(&key) {
            return Err(StoreError::Conflict("webhook id taken".into()));
        }
        webhooks.insert(key, webhook.clone());
        Ok(())
    }

    async fn get(&self, pipeline: &PipelineId, id: &WebhookId) -> Result<Option<Webhook>, StoreError> {
        Ok(lock(&self.webhooks).get(&(pipeline.clone(), id.clone())).cloned())
    }

    async fn list(&self, pipeline: &PipelineId) -> Result<Vec<Webhook>, StoreError> {
        let mut listed: Vec<Webhook> = lock(&self.webhooks)
            .values()
            .filter(|w| &w.pipeline_id == pipeline && w.deleted_at.is_none())
            .cloned()
            .collect();
        listed.sort_by_key(|w| w.created_at);
        Ok(listed)
    }

    async fn delete(&self, pipeline: &PipelineId, id: &WebhookId, at: Timestamp) -> Result<(), StoreError> {
        match lock(&self.webhooks).get_mut(&(pipeline.clone(), id.clone())) {
            Some(webhook) if webhook.deleted_at.is_none() => {
                webhook.deleted_at = Some(at);
                Ok(())
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn add_delivery(&self, delivery: &WebhookDelivery) -> Result<bool, StoreError> {
        let mut deliveries = lock(&self.deliveries);
        let key = (delivery.pipeline_id.clone(), delivery.id.clone());
        if deliveries.contains_key(&key) {
            return Ok(false);
        }
        deliveries.insert(key, delivery.clone());
        Ok(true)
    }

    async fn delivery(&self, pipeline: &PipelineId, id: &str) -> Result<Option<WebhookDelivery>, StoreError> {
        Ok(lock(&self.deliveries).get(&(pipeline.clone(), id.to_owned())).cloned())
    }

    async fn record_attempt(&self, next: &WebhookDelivery) -> Result<(), StoreError> {
        let mut deliveries = lock(&self.deliveries);
        let stored = deliveries.get_mut(&(next.pipeline_id.clone(), next.id.clone())).ok_or(StoreError::NotFound)?;
        if stored.attempts.len() + 1 != next.attempts.len() {
            return Err(StoreError::Conflict("another attempt was recorded meanwhile".into()));
        }
        *stored = next.clone();
        Ok(())
    }

    async fn deliveries(&self, pipeline: &PipelineId, limit: usize) -> Result<Vec<WebhookDelivery>, StoreError> {
        Ok(lock(&self.deliveries)
            .iter()
            .rev()
            .filter(|((p, _), _)| p == pipeline)
            .take(limit)
            .map(|(_, d)| d.clone())
            .collect())
    }
}

/// The queue as a list: what was sent, and each postponement asked for.
#[derive(Default)]
pub struct MemoryWebhookQueue {
    pub sent: Mutex<Vec<DeliveryMessage>>,
    pub postponed: Mutex<Vec<(String, Duration)>>,
}

impl MemoryWebhookQueue {
    pub fn sent(&self) -> Vec<DeliveryMessage> {
        lock(&self.sent).clone()
    }

    pub fn postponed(&self) -> Vec<(String, Duration)> {
        lock(&self.postponed).clone()
    }
}

#[async_trait]
impl WebhookQueue for MemoryWebhookQueue {
    async fn send(&self, message: &DeliveryMessage) -> Result<(), StoreError> {
        lock(&self.sent).push(message.clone());
        Ok(())
    }

    async fn postpone(&self, receipt_handle: &str, delay: Duration) -> Result<(), StoreError> {
        lock(&self.postponed).push((receipt_handle.to_owned(), delay));
        Ok(())
    }
}
