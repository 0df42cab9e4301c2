use std::future::Future;
use std::time::Duration;

use sha2::{Digest, Sha256};

use helix_domain::{Clock, IdempotencyClaim, IdempotencyStore};

use crate::MessageOutcome;

/// How long a finished payload is remembered; SQS keeps a message at most 14 days.
const REMEMBER_COMPLETED: Duration = Duration::from_secs(14 * 24 * 3600);

/// The key of a payload, as Powertools builds it: the handler's name and a hash of the body.
pub(crate) fn payload_key(handler: &str, body: &str) -> String {
    format!("{handler}#{}", hex::encode(Sha256::digest(body.as_bytes())))
}

/// Runs `handler` at most once per payload at a time, and not again once it has succeeded: a
/// duplicated or redelivered message finds the record and is acknowledged without running.
/// A failed run forgets its record so that the redelivery runs.
pub(crate) async fn run_once<F, Fut>(
    store: &dyn IdempotencyStore,
    clock: &dyn Clock,
    key: &str,
    in_progress_for: Duration,
    handler: F,
) -> MessageOutcome
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = MessageOutcome>,
{
    let now = clock.now();
    match store.begin(key, now, now.plus(in_progress_for)).await {
        Ok(IdempotencyClaim::Started) => {}
        Ok(IdempotencyClaim::AlreadyCompleted) => {
            tracing::info!(%key, "payload already handled; acknowledging the duplicate");
            return MessageOutcome::Done;
        }
        Ok(IdempotencyClaim::InProgress) => {
            return MessageOutcome::Retry("the payload is being handled elsewhere".into());
        }
        Err(e) => return MessageOutcome::Retry(format!("idempotency store: {e}")),
    }
    let outcome = handler().await;
    let recorded = match &outcome {
        MessageOutcome::Done => store.complete(key, clock.now().plus(REMEMBER_COMPLETED)).await,
        MessageOutcome::Retry(_) => store.abandon(key).await,
    };
    if let Err(e) = recorded {
        // The record expires by itself; the handlers are safe to run again in the meantime.
        tracing::warn!(%key, error = %e, "could not update the idempotency record");
    }
    outcome
}
