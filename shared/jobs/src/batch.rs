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
pub fn receive_count(message: &SqsMessage) -> u32 {
    message.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1)
}

/// Handles every message of the batch at once and reports the ones to retry by id.
pub async fn handle_batch<F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
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

/// The span of one message: its worker, its id, the job it is about (recorded once known) and
/// the trace id of the request that sent it, from its `traceparent` message attribute, so that
/// the request's logs and the worker's share one trace id.
pub fn message_span(worker: &'static str, message: &SqsMessage) -> tracing::Span {
    let traceparent =
        message.message_attributes.get(helix_domain::TRACEPARENT_ATTRIBUTE).and_then(|a| a.string_value.as_deref());
    let span = tracing::info_span!(
        "message",
        worker,
        message_id = message.message_id.as_deref().unwrap_or(""),
        job_id = tracing::field::Empty,
        trace_id = traceparent.and_then(trace_id_of).unwrap_or(""),
    );
    if let Some(traceparent) = traceparent {
        crate::continue_trace(&span, traceparent);
    }
    span
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`).
fn trace_id_of(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (_version, trace_id) = (parts.next()?, parts.next()?);
    (trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(trace_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_id_comes_from_a_well_formed_traceparent_only() {
        assert_eq!(
            trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(trace_id_of("00-not-hex-01"), None);
        assert_eq!(trace_id_of(""), None);
    }

    #[test]
    fn a_batch_reports_only_the_messages_to_retry() {
        let response = batch_response([
            (Some("m1".to_owned()), MessageOutcome::Done),
            (Some("m2".to_owned()), MessageOutcome::Retry("storage down".into())),
        ]);
        let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(failed, ["m2"]);
    }
}
