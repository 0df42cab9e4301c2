//! The per-caller request rate limit, applied once where a request's caller is proven
//! ([`crate::extract`]): one token bucket per user and one per API key.
//!
//! The buckets live in DynamoDB (`DynamoRateBuckets`, in the idempotency table), not in the
//! process: every API function runs as many Lambda instances as traffic asks for, each with its
//! own memory, so a bucket in memory would let a caller through once per instance, and API
//! Gateway's usage plans count per API key of the gateway, not per user or per HelixNet key.
//! A bucket is one item moved forward by one conditional write per request (GCRA,
//! [`helix_domain::rate`]), which costs a write unit and a few milliseconds: no read, no lock.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use helix_domain::{RateBuckets, RateDecision, RateLimit};

use crate::ApiError;

/// Admits or refuses each proven caller's request against its bucket.
pub struct RequestLimiter {
    pub buckets: Arc<dyn RateBuckets>,
    pub limit: RateLimit,
}

impl RequestLimiter {
    /// Takes one request from `caller`'s bucket. A bucket store that fails lets the request
    /// through (logged): the limit protects the service, and an outage of its table must not
    /// become an outage of the API.
    pub async fn admit(&self, caller: &str) -> Result<RateDecision, ApiError> {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
        let decision = match self.buckets.take(caller, &self.limit, now_ms).await {
            Ok(decision) => decision,
            Err(e) => {
                tracing::warn!(error = %e, "rate limit not checked: the buckets are unavailable");
                return Ok(self.limit.allowed(now_ms, now_ms));
            }
        };
        if decision.allowed {
            Ok(decision)
        } else {
            tracing::info!(caller, retry_after = decision.retry_after.as_secs(), "request rate limited");
            Err(ApiError::RateLimited { decision, per_minute: self.limit.per_minute })
        }
    }
}

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (the IETF `RateLimit` header
/// fields draft's names).
pub fn rate_limit_headers(headers: &mut HeaderMap, decision: &RateDecision) {
    headers.insert("ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(decision.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(decision.reset.as_secs()));
}

/// Where the caller's extraction leaves its decision for [`with_rate_limit_headers`].
#[derive(Clone, Default)]
pub(crate) struct DecisionSlot(Arc<Mutex<Option<RateDecision>>>);

impl DecisionSlot {
    pub(crate) fn set(&self, decision: RateDecision) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(decision);
    }
}

/// Adds the `RateLimit-*` headers to every answer to a caller whose bucket was taken from (a
/// refusal carries them already).
pub(crate) async fn with_rate_limit_headers(mut request: Request, next: Next) -> Response {
    let slot = DecisionSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    let decision = *slot.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(decision) = decision
        && !response.headers().contains_key("ratelimit-limit")
    {
        rate_limit_headers(response.headers_mut(), &decision);
    }
    response
}
