//! Pipeline webhooks: registered per pipeline ([`WebhookService`]), told of every run that ends
//! ([`RunNotifier`], a [`JobEvents`]: a one-job run's job, a chained run once, not per step) and delivered from a queue ([`WebhookDeliverer`]): each
//! POST signed ([`sign`]), each attempt logged, a failed one tried again after an exponential
//! [`Backoff`] for up to 24 hours by keeping its message out of sight, not by waiting.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use base64::Engine;
use helix_domain::{
    AuditOutcome, ChainRun, Clock, DeliveryAttempt, DeliveryMessage, DeliveryStatus, Job, JobId, JobRead, PipelineId,
    RunStatus, StepJob, StepStatus, StoreError, TeamAction, Webhook, WebhookDelivery, WebhookEvent, WebhookId,
    WebhookPost, WebhookQueue, WebhookSender, WebhookStore,
};
use rand::RngCore;

use crate::audit::{AuditEvent, action};
use crate::batch::{MessageOutcome, handle_batch, message_span};
use crate::{Actor, Destinations, JobError, PipelineService};

/// The header that carries a delivery's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "Helix-Signature";
/// The header that carries the delivery's id, the same on every attempt.
pub const DELIVERY_HEADER: &str = "Helix-Delivery";
/// The header that carries the event's type (`run.completed`, ...).
pub const EVENT_HEADER: &str = "Helix-Event";
/// The most webhooks one pipeline may have.
pub const MAX_WEBHOOKS_PER_PIPELINE: usize = 10;
const MAX_URL_CHARS: usize = 2000;
/// Deliveries `GET …/webhooks/deliveries` returns at most.
pub const MAX_LISTED_DELIVERIES: usize = 100;

/// The signature of `body` sent at `timestamp` (unix seconds): HMAC-SHA256 keyed by the secret
/// over `<timestamp>.<body>`, as Stripe signs, so a receiver can refuse a replayed old delivery.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(tag.as_ref()))
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is not t=<seconds>,v1=<hex>")]
    Malformed,
    #[error("the signature is older than the tolerance")]
    Expired,
    #[error("no v1 signature matches")]
    Mismatch,
}

/// What a receiver does with [`SIGNATURE_HEADER`]: the HMAC checked in constant time, and the
/// timestamp within `tolerance` of `now` (unix seconds).
pub fn verify(secret: &str, header: &str, body: &str, now: i64, tolerance: Duration) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return Err(SignatureError::Expired);
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let signed = format!("{timestamp}.{body}");
    if candidates.iter().any(|tag| ring::hmac::verify(&key, signed.as_bytes(), tag).is_ok()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// When a failed delivery is tried again: `base`, doubling each time, at most `cap` apart, and
/// never after `window` from the run's end (the last attempt lands at the window's edge).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub window: Duration,
}

impl Backoff {
    /// The longest wait: half SQS's 12-hour limit on a message's visibility timeout.
    pub const CAP: Duration = Duration::from_secs(6 * 3600);
    pub const WINDOW: Duration = Duration::from_secs(24 * 3600);

    pub fn with_base(base: Duration) -> Self {
        Self { base, cap: Self::CAP, window: Self::WINDOW }
    }

    /// The wait after `failed` attempts (1 or more), `elapsed` after the delivery was made;
    /// `None` once the window is spent.
    pub fn next(&self, failed: u32, elapsed: Duration) -> Option<Duration> {
        let remaining = self.window.checked_sub(elapsed).filter(|r| !r.is_zero())?;
        let doubling = 2u32.checked_pow(failed.saturating_sub(1)).unwrap_or(u32::MAX);
        let wait = self.base.checked_mul(doubling).unwrap_or(self.cap).min(self.cap);
        Some(wait.min(remaining))
    }
}

/// Told of every job that reached a terminal status, and of every chained run that ended.
/// Reports may repeat (a redelivered worker message reports its finished job again): an
/// implementation is idempotent.
#[async_trait]
pub trait JobEvents: Send + Sync {
    async fn finished(&self, job: &Job) -> Result<(), StoreError>;

    /// A chained run ended (completed, failed or cancelled).
    async fn run_ended(&self, _run: &ChainRun) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The webhook use cases: registered, listed, deleted by the pipeline's editors; the delivery
/// log read by its readers.
pub struct WebhookService {
    pub pipelines: Arc<PipelineService>,
    pub webhooks: Arc<dyn WebhookStore>,
    /// Told of the runs the API ends (cancels).
    pub notifier: Arc<dyn JobEvents>,
    pub clock: Arc<dyn Clock>,
    /// Where a webhook may send.
    pub destinations: Arc<Destinations>,
}

fn check_url(url: &str) -> Result<String, JobError> {
    let url = url.trim();
    if url.is_empty() || url.chars().count() > MAX_URL_CHARS {
        return Err(JobError::invalid("url", format!("url must be 1 to {MAX_URL_CHARS} characters")));
    }
    let parsed = url::Url::parse(url).map_err(|e| JobError::invalid("url", format!("url is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(JobError::invalid("url", "url must be an http or https URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(JobError::invalid("url", "url has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(JobError::invalid("url", "url must not carry credentials; verify the signature instead"));
    }
    Ok(parsed.to_string())
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("whsec_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl WebhookService {
    /// A webhook for the pipeline's finished runs, with a fresh secret.
    pub async fn register(&self, actor: &Actor, pipeline: &PipelineId, url: &str) -> Result<Webhook, JobError> {
        let found = self.pipelines.editable(actor, pipeline, action::PIPELINE_WEBHOOK_CREATE).await?;
        let url = check_url(url)?;
        self.destinations.check(&url).await.map_err(|reason| JobError::invalid("url", reason))?;
        if self.webhooks.list(pipeline).await?.len() >= MAX_WEBHOOKS_PER_PIPELINE {
            return Err(JobError::Conflict(format!(
                "the pipeline has {MAX_WEBHOOKS_PER_PIPELINE} webhooks already; delete one first"
            )));
        }
        let webhook = Webhook {
            id: WebhookId::random(),
            pipeline_id: pipeline.clone(),
            url,
            secret: new_secret(),
            created_by: actor.user_id.clone(),
            created_at: self.clock.now(),
            deleted_at: None,
        };
        let audit = &self.pipelines.audit;
        let event = || AuditEvent {
            team: &found.team_id,
            action: action::PIPELINE_WEBHOOK_CREATE,
            target: webhook.id.as_str(),
        };
        audit.record(actor, event(), AuditOutcome::Success).await?;
        let added = self.webhooks.add(&webhook).await.map_err(JobError::from);
        audit.settled(actor, event(), added).await?;
        tracing::info!(pipeline_id = %pipeline, webhook_id = %webhook.id, "webhook registered");
        Ok(webhook)
    }

    pub async fn list(&self, actor: &Actor, pipeline: &PipelineId) -> Result<Vec<Webhook>, JobError> {
        self.pipelines.pipeline(actor, pipeline, TeamAction::Read).await?;
        Ok(self.webhooks.list(pipeline).await?)
    }

    pub async fn delete(&self, actor: &Actor, pipeline: &PipelineId, id: &WebhookId) -> Result<(), JobError> {
        let found = self.pipelines.editable(actor, pipeline, action::PIPELINE_WEBHOOK_DELETE).await?;
        let audit = &self.pipelines.audit;
        let event =
            || AuditEvent { team: &found.team_id, action: action::PIPELINE_WEBHOOK_DELETE, target: id.as_str() };
        audit.record(actor, event(), AuditOutcome::Success).await?;
        let deleted = match self.webhooks.delete(pipeline, id, self.clock.now()).await {
            Err(StoreError::NotFound) => Err(JobError::NotFound("webhook")),
            other => other.map_err(JobError::from),
        };
        audit.settled(actor, event(), deleted).await
    }

    /// Reports a run the API ended (a cancel). A failed report is logged: the cancel stands,
    /// and no worker message comes back to report it again.
    pub async fn run_ended(&self, job: &Job) {
        if let Err(e) = self.notifier.finished(job).await {
            tracing::error!(job_id = %job.id, error = %e, "the run's webhooks were not told of its end");
        }
    }

    /// Reports a chained run the API ended (a cancel), as [`Self::run_ended`].
    pub async fn chain_ended(&self, run: &ChainRun) {
        if let Err(e) = self.notifier.run_ended(run).await {
            tracing::error!(run_id = %run.id, error = %e, "the run's webhooks were not told of its end");
        }
    }

    /// The pipeline's latest deliveries, newest first, each with its attempts.
    pub async fn deliveries(&self, actor: &Actor, pipeline: &PipelineId) -> Result<Vec<WebhookDelivery>, JobError> {
        self.pipelines.pipeline(actor, pipeline, TeamAction::Read).await?;
        Ok(self.webhooks.deliveries(pipeline, MAX_LISTED_DELIVERIES).await?)
    }
}

/// Makes one delivery per webhook of a finished run's pipeline and queues it. The delivery's id
/// comes from the job and its end, so a repeated report adds nothing; its message is sent again
/// (the deliverer drops a message whose delivery is no longer pending).
pub struct RunNotifier {
    pub webhooks: Arc<dyn WebhookStore>,
    pub queue: Arc<dyn WebhookQueue>,
    pub clock: Arc<dyn Clock>,
}

/// The JSON a delivery sends.
fn event_body(id: &str, event: WebhookEvent, job: &Job) -> String {
    serde_json::json!({
        "id": id,
        "type": event.as_str(),
        "created_at": job.finished_at,
        "pipeline_id": job.pipeline_id,
        "pipeline_version": job.pipeline_version,
        "job": JobRead::from(job.clone()),
    })
    .to_string()
}

/// The JSON a chained run's delivery sends: the run with its steps, and the failed step.
fn chain_event_body(id: &str, event: WebhookEvent, run: &ChainRun) -> String {
    let failed_step = run.steps.iter().find(|s| s.status == StepStatus::Failed).map(|s| s.name.as_str());
    serde_json::json!({
        "id": id,
        "type": event.as_str(),
        "created_at": run.updated_at,
        "pipeline_id": run.pipeline_id,
        "pipeline_version": run.pipeline_version,
        "run": run,
        "failed_step": failed_step,
    })
    .to_string()
}

impl RunNotifier {
    async fn deliver(
        &self,
        pipeline: &PipelineId,
        job_id: Option<&JobId>,
        event: WebhookEvent,
        delivery: impl Fn(&WebhookId) -> (String, String),
    ) -> Result<(), StoreError> {
        for webhook in self.webhooks.list(pipeline).await? {
            let (id, body) = delivery(&webhook.id);
            let delivery = WebhookDelivery {
                body,
                id,
                pipeline_id: pipeline.clone(),
                webhook_id: webhook.id.clone(),
                job_id: job_id.cloned(),
                event,
                created_at: self.clock.now(),
                status: DeliveryStatus::Pending,
                attempts: Vec::new(),
                next_attempt_at: None,
            };
            self.webhooks.add_delivery(&delivery).await?;
            self.queue.send(&DeliveryMessage { pipeline_id: pipeline.clone(), delivery_id: delivery.id }).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl JobEvents for RunNotifier {
    async fn finished(&self, job: &Job) -> Result<(), StoreError> {
        let (Some(pipeline), Some(event)) = (&job.pipeline_id, WebhookEvent::of(job.status)) else {
            return Ok(());
        };
        // A chained run's step: the run's end is delivered, once, not each step's.
        if StepJob::parse(&job.id).is_some() {
            return Ok(());
        }
        self.deliver(pipeline, Some(&job.id), event, |webhook| {
            let id = WebhookDelivery::id_for(job, webhook);
            let body = event_body(&id, event, job);
            (id, body)
        })
        .await
    }

    async fn run_ended(&self, run: &ChainRun) -> Result<(), StoreError> {
        let event = match run.status {
            RunStatus::Completed => WebhookEvent::RunCompleted,
            RunStatus::Failed => WebhookEvent::RunFailed,
            RunStatus::Cancelled => WebhookEvent::RunCancelled,
            RunStatus::Running => return Ok(()),
        };
        // The same for every report of this end; a retried run's next end is another delivery.
        self.deliver(&run.pipeline_id, None, event, |webhook| {
            let id = format!("{}_{}-{}_{webhook}", run.updated_at, run.id, run.retries);
            let body = chain_event_body(&id, event, run);
            (id, body)
        })
        .await
    }
}

/// The webhook queue's worker: one attempt per message, logged; a failure keeps the message out
/// of sight for the backoff and hands it back, so the queue brings it again.
pub struct WebhookDeliverer {
    pub webhooks: Arc<dyn WebhookStore>,
    pub queue: Arc<dyn WebhookQueue>,
    pub sender: Arc<dyn WebhookSender>,
    pub clock: Arc<dyn Clock>,
    pub backoff: Backoff,
}

impl WebhookDeliverer {
    /// The Lambda handler: every message of the batch at once, the ones to try again reported.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        handle_batch(event, |message| self.handle_message(message)).await
    }

    async fn handle_message(&self, message: SqsMessage) -> MessageOutcome {
        use tracing::Instrument;
        let span = message_span("webhooks", &message);
        let body = message.body.clone().unwrap_or_default();
        let Ok(delivery) = serde_json::from_str::<DeliveryMessage>(&body) else {
            return MessageOutcome::Retry(format!("not a delivery message: {body:.200}"));
        };
        self.deliver(&delivery, message.receipt_handle.as_deref()).instrument(span).await
    }

    /// One attempt of the delivery the message names, unless it is settled or not due yet.
    pub async fn deliver(&self, message: &DeliveryMessage, receipt: Option<&str>) -> MessageOutcome {
        let delivery = match self.webhooks.delivery(&message.pipeline_id, &message.delivery_id).await {
            Ok(Some(delivery)) => delivery,
            Ok(None) => {
                tracing::warn!(delivery_id = %message.delivery_id, "no such delivery; message dropped");
                return MessageOutcome::Done;
            }
            Err(e) => return MessageOutcome::Retry(e.to_string()),
        };
        if delivery.status != DeliveryStatus::Pending {
            return MessageOutcome::Done;
        }
        let now = self.clock.now();
        // A copy of the message that came early (the notifier sent it again): wait out the backoff.
        if let Some(due) = delivery.next_attempt_at
            && due > now
        {
            let wait = Duration::from_secs_f64(due.seconds_since(&now).ceil());
            return self.postpone(receipt, wait, "not due yet".into()).await;
        }
        let webhook = match self.webhooks.get(&delivery.pipeline_id, &delivery.webhook_id).await {
            Ok(webhook) => webhook.filter(|w| w.deleted_at.is_none()),
            Err(e) => return MessageOutcome::Retry(e.to_string()),
        };
        let (attempt, delivered, refused) = match &webhook {
            None => (self.not_sent(&delivery, "the webhook was deleted"), false, true),
            // Checked again before each attempt: the host's addresses may have changed since.
            Some(webhook) => match self.sender.refuses(&webhook.url).await {
                None => {
                    let (attempt, delivered) = self.attempt(webhook, &delivery).await;
                    (attempt, delivered, false)
                }
                Some(why) => (self.not_sent(&delivery, &format!("the destination is refused: {why}")), false, true),
            },
        };
        let mut next = delivery.clone();
        let failed = u32::try_from(next.attempts.len() + 1).unwrap_or(u32::MAX);
        next.attempts.push(attempt);
        let elapsed = Duration::from_secs_f64(now.seconds_since(&delivery.created_at).max(0.0));
        // A refused destination is not tried again: the webhook must be changed.
        let wait = if delivered || refused { None } else { self.backoff.next(failed, elapsed) };
        next.next_attempt_at = wait.map(|wait| now.plus(wait));
        next.status = match (delivered, wait) {
            (true, _) => DeliveryStatus::Delivered,
            (false, Some(_)) => DeliveryStatus::Pending,
            (false, None) => DeliveryStatus::GaveUp,
        };
        match self.webhooks.record_attempt(&next).await {
            Ok(()) => {}
            // Another copy of the message recorded its attempt first; it goes on from there.
            Err(StoreError::Conflict(_)) => return MessageOutcome::Done,
            Err(e) => return MessageOutcome::Retry(format!("recording delivery {}: {e}", delivery.id)),
        }
        let status = next.attempts.last().and_then(|a| a.status_code);
        tracing::info!(delivery_id = %delivery.id, attempt = failed, ?status, outcome = ?next.status, "webhook attempt");
        match wait {
            Some(wait) => self.postpone(receipt, wait, format!("attempt {failed} failed; next in {wait:?}")).await,
            None => MessageOutcome::Done,
        }
    }

    async fn postpone(&self, receipt: Option<&str>, wait: Duration, reason: String) -> MessageOutcome {
        if let Some(receipt) = receipt
            && let Err(e) = self.queue.postpone(receipt, wait).await
        {
            // The message still comes back, after the queue's own visibility timeout.
            tracing::warn!(error = %e, "could not postpone the delivery");
        }
        MessageOutcome::Retry(reason)
    }

    async fn attempt(&self, webhook: &Webhook, delivery: &WebhookDelivery) -> (DeliveryAttempt, bool) {
        let at = self.clock.now();
        let post = WebhookPost {
            url: webhook.url.clone(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("User-Agent".into(), "HelixNet-Webhooks/1".into()),
                (SIGNATURE_HEADER.into(), sign(&webhook.secret, at.unix(), &delivery.body)),
                (DELIVERY_HEADER.into(), delivery.id.clone()),
                (EVENT_HEADER.into(), delivery.event.as_str().into()),
            ],
            body: delivery.body.clone(),
        };
        let started = std::time::Instant::now();
        let answer = self.sender.post(&post).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let number = u32::try_from(delivery.attempts.len() + 1).unwrap_or(u32::MAX);
        let (status_code, error) = match answer {
            Ok(code) if (200..300).contains(&code) => (Some(code), None),
            Ok(code) => (Some(code), Some(format!("the receiver answered {code}"))),
            Err(e) => (None, Some(e)),
        };
        let delivered = error.is_none();
        (DeliveryAttempt { number, at, status_code, error, duration_ms }, delivered)
    }

    fn not_sent(&self, delivery: &WebhookDelivery, why: &str) -> DeliveryAttempt {
        DeliveryAttempt {
            number: u32::try_from(delivery.attempts.len() + 1).unwrap_or(u32::MAX),
            at: self.clock.now(),
            status_code: None,
            error: Some(format!("not sent: {why}")),
            duration_ms: 0,
        }
    }
}
