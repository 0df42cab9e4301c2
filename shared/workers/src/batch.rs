use std::future::Future;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};

/// What became of one message of a batch.
#[derive(Debug)]
pub enum MessageOutcome {
    /// Done (or nothing to do): delete the message.
    Done,
    /// Leave the message on the queue; it comes back after its visibility timeout and, after the
    /// queue's `maxReceiveCount`, lands in the dead-letter queue.
    Retry(String),
}

/// The receive count SQS reports (`1` on the first delivery).
pub(crate) fn receive_count(message: &SqsMessage) -> u32 {
    message.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1)
}

/// Handles every message of the batch at once and reports the ones to retry by id.
pub(crate) async fn handle_batch<F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = MessageOutcome>,
{
    let outcomes = futures::future::join_all(event.records.into_iter().map(|message| {
        let id = message.message_id.clone();
        let outcome = handle(message);
        async move { (id, outcome.await) }
    }))
    .await;
    batch_response(outcomes)
}

fn batch_response(outcomes: impl IntoIterator<Item = (Option<String>, MessageOutcome)>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for (message_id, outcome) in outcomes {
        if let MessageOutcome::Retry(reason) = outcome {
            tracing::warn!(message_id = message_id.as_deref().unwrap_or("?"), %reason, "message left for redelivery");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id.unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}
