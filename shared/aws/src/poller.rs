//! What Lambda's SQS event source does, for the processes that are not Lambdas (the GPU container
//! worker, the local platform): long-poll a queue, hand each batch to the handler as an
//! `SqsEvent`, keep the batch invisible while it runs, delete what succeeded, and leave the
//! reported failures to come back after their visibility timeout (and, after `maxReceiveCount`,
//! to go to the dead-letter queue).

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use futures::FutureExt;

#[derive(Clone, Copy, Debug)]
pub struct PollOptions {
    /// Messages taken per receive (SQS allows 1..=10); the handler runs them concurrently.
    pub batch: i32,
    /// Batches in flight at once, as the event source mapping's `MaximumConcurrency` runs that
    /// many Lambda invocations: a small job does not wait behind a long one.
    pub concurrency: usize,
    /// Long-poll wait.
    pub wait_seconds: i32,
    /// Keeps a running batch invisible: every `every`, its visibility is set to `visibility`
    /// seconds. `None` leaves the queue's visibility timeout alone.
    pub heartbeat: Option<Heartbeat>,
}

#[derive(Clone, Copy, Debug)]
pub struct Heartbeat {
    pub visibility_seconds: i32,
    pub every: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self { batch: 10, wait_seconds: 20, heartbeat: None, concurrency: 1 }
    }
}

impl PollOptions {
    /// For jobs that may outlast the queue's visibility timeout (the GPU worker's): a few at a
    /// time, kept invisible by a heartbeat while they run. The runner renews the job's `lease`
    /// on the same beat; the message stays invisible a minute longer than the lease, so that the
    /// redelivery after a crash finds the lease run out and takes the job over at once.
    pub fn long_running(lease: Duration) -> Self {
        let visibility_seconds = i32::try_from(lease.as_secs() + 60).unwrap_or(i32::MAX);
        Self {
            batch: 4,
            wait_seconds: 20,
            heartbeat: Some(Heartbeat { visibility_seconds, every: lease / 3 }),
            concurrency: 1,
        }
    }
}

/// Completes on SIGTERM (ECS or Lambda stopping the process) or Ctrl-C.
pub async fn termination() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!(error = %e, "no SIGTERM handler; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: finishing the running batch"),
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C: finishing the running batch"),
    }
}

pub struct SqsPoller {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub options: PollOptions,
}

impl SqsPoller {
    /// Polls until `shutdown` completes, with `concurrency` batches in flight; a shutdown stops
    /// receiving and lets the running batches finish.
    pub async fn run<F, Fut>(&self, handler: F, shutdown: impl Future<Output = ()>)
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let shutdown = shutdown.shared();
        tracing::info!(queue = %self.queue_url, concurrency = self.options.concurrency, "polling");
        futures::future::join_all((0..self.options.concurrency.max(1)).map(|_| self.poll(&handler, shutdown.clone())))
            .await;
        tracing::info!(queue = %self.queue_url, "stopped polling");
    }

    async fn poll<F, Fut>(&self, handler: &F, shutdown: impl Future<Output = ()>)
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        tokio::pin!(shutdown);
        loop {
            let receive = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(self.options.batch.clamp(1, 10))
                .wait_time_seconds(self.options.wait_seconds)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .set_visibility_timeout(self.options.heartbeat.map(|h| h.visibility_seconds))
                .send();
            let received = tokio::select! {
                _ = &mut shutdown => break,
                received = receive => received,
            };
            let messages = match received {
                Ok(out) => out.messages.unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(queue = %self.queue_url, error = %DisplayErrorContext(e), "receive failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if !messages.is_empty() {
                self.handle(&messages, handler).await;
            }
        }
    }

    async fn handle<F, Fut>(&self, messages: &[Message], handler: &F)
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let response = tokio::select! {
            response = handler(to_event(messages)) => response,
            () = self.keep_invisible(messages) => unreachable!("the heartbeat never ends"),
        };
        let failed: HashSet<String> = response.batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !failed.contains(m.message_id().unwrap_or_default()))
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle.clone())
                    .build()
                    .ok()
            })
            .collect();
        if !done.is_empty()
            && let Err(e) =
                self.sqs.delete_message_batch().queue_url(&self.queue_url).set_entries(Some(done)).send().await
        {
            // Not lost: the messages come back and the idempotent handlers acknowledge them.
            tracing::warn!(queue = %self.queue_url, error = %DisplayErrorContext(e), "delete failed");
        }
    }

    async fn keep_invisible(&self, messages: &[Message]) {
        let Some(heartbeat) = self.options.heartbeat else { return std::future::pending().await };
        loop {
            tokio::time::sleep(heartbeat.every).await;
            for receipt in messages.iter().filter_map(|m| m.receipt_handle.as_deref()) {
                let extended = self
                    .sqs
                    .change_message_visibility()
                    .queue_url(&self.queue_url)
                    .receipt_handle(receipt)
                    .visibility_timeout(heartbeat.visibility_seconds)
                    .send()
                    .await;
                if let Err(e) = extended {
                    tracing::warn!(error = %DisplayErrorContext(e), "could not extend a message's visibility");
                }
            }
        }
    }
}

fn to_event(messages: &[Message]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| {
            let mut record = SqsMessage::default();
            record.message_id = m.message_id.clone();
            record.receipt_handle = m.receipt_handle.clone();
            record.body = m.body.clone();
            record.md5_of_body = m.md5_of_body.clone();
            record.event_source = Some("aws:sqs".into());
            record.attributes =
                m.attributes.iter().flatten().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect();
            record.message_attributes = m
                .message_attributes
                .iter()
                .flatten()
                .map(|(k, v)| {
                    let mut attribute = SqsMessageAttribute::default();
                    attribute.string_value = v.string_value.clone();
                    attribute.data_type = Some(v.data_type.clone());
                    (k.clone(), attribute)
                })
                .collect();
            record
        })
        .collect();
    event
}
