//! Request rate limits: a token bucket per caller (a user or an API key), kept as its
//! *theoretical arrival time* (GCRA, the generic cell rate algorithm): one number per bucket,
//! which a store can move forward with a single conditional write, instead of a token count and
//! a refill time that must be read, recomputed and written back together.
//!
//! A bucket of `burst` tokens refilled at `per_minute` is the same as: each request moves the
//! bucket's time `tat` to `max(tat, now) + interval`, and a request is refused when that would
//! put `tat` more than `burst × interval` ahead of now.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::StoreError;

/// How many requests a caller may make: `per_minute` on average, `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl RateLimit {
    /// Milliseconds between two requests at the average rate (at least 1).
    pub fn interval_ms(&self) -> i64 {
        (60_000 / i64::from(self.per_minute.max(1))).max(1)
    }

    /// How far ahead of now a bucket's time may be after a request: `burst` intervals.
    pub fn window_ms(&self) -> i64 {
        self.interval_ms() * i64::from(self.burst.max(1))
    }

    /// The bucket's next time if a request at `now_ms` is allowed, given its time `tat_ms`
    /// (`None`: a full bucket); `Err` with the time to wait otherwise.
    pub fn next_tat(&self, tat_ms: Option<i64>, now_ms: i64) -> Result<i64, i64> {
        let next = tat_ms.unwrap_or(now_ms).max(now_ms) + self.interval_ms();
        if next - now_ms <= self.window_ms() { Ok(next) } else { Err(next - now_ms - self.window_ms()) }
    }

    /// What a request that moved the bucket's time to `tat_ms` (allowed) leaves.
    pub fn allowed(&self, tat_ms: i64, now_ms: i64) -> RateDecision {
        let ahead = (tat_ms - now_ms).max(0);
        RateDecision {
            allowed: true,
            limit: self.burst,
            remaining: ((self.window_ms() - ahead) / self.interval_ms()).max(0) as u32,
            reset: ceil_seconds(ahead),
            retry_after: Duration::ZERO,
        }
    }

    /// A refusal, the bucket's time being `tat_ms`.
    pub fn refused(&self, tat_ms: i64, now_ms: i64) -> RateDecision {
        let wait = self.next_tat(Some(tat_ms), now_ms).err().unwrap_or(0).max(1);
        RateDecision {
            allowed: false,
            limit: self.burst,
            remaining: 0,
            reset: ceil_seconds((tat_ms - now_ms).max(0)),
            retry_after: ceil_seconds(wait),
        }
    }
}

fn ceil_seconds(ms: i64) -> Duration {
    Duration::from_secs(((ms.max(0) + 999) / 1000) as u64)
}

/// The answer to one request: whether it may go on, and what the `RateLimit-*` headers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// `RateLimit-Limit`: the burst.
    pub limit: u32,
    /// `RateLimit-Remaining`: requests that may follow at once.
    pub remaining: u32,
    /// `RateLimit-Reset`: until the bucket is full again.
    pub reset: Duration,
    /// `Retry-After` of a refusal: until one request is allowed.
    pub retry_after: Duration,
}

/// The callers' buckets, shared by every process that serves the API.
#[async_trait]
pub trait RateBuckets: Send + Sync {
    /// Takes one request from `caller`'s bucket at `now_ms` (Unix milliseconds).
    async fn take(&self, caller: &str, limit: &RateLimit, now_ms: i64) -> Result<RateDecision, StoreError>;
}

/// [`RateBuckets`] in memory, for one process and tests.
#[derive(Default)]
pub struct MemoryRateBuckets {
    tats: Mutex<HashMap<String, i64>>,
}

#[async_trait]
impl RateBuckets for MemoryRateBuckets {
    async fn take(&self, caller: &str, limit: &RateLimit, now_ms: i64) -> Result<RateDecision, StoreError> {
        let mut tats = self.tats.lock().unwrap_or_else(|e| e.into_inner());
        let tat = tats.get(caller).copied();
        match limit.next_tat(tat, now_ms) {
            Ok(next) => {
                tats.insert(caller.to_owned(), next);
                Ok(limit.allowed(next, now_ms))
            }
            Err(_) => Ok(limit.refused(tat.unwrap_or(now_ms), now_ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: RateLimit = RateLimit { per_minute: 60, burst: 3 };

    #[tokio::test]
    async fn a_burst_passes_then_one_request_per_interval() {
        let buckets = MemoryRateBuckets::default();
        let mut remaining = Vec::new();
        for _ in 0..3 {
            let decision = buckets.take("u", &LIMIT, 0).await.unwrap();
            assert!(decision.allowed);
            remaining.push(decision.remaining);
        }
        assert_eq!(remaining, [2, 1, 0]);
        let refused = buckets.take("u", &LIMIT, 0).await.unwrap();
        assert!(!refused.allowed);
        assert_eq!(
            (refused.retry_after, refused.reset, refused.limit),
            (Duration::from_secs(1), Duration::from_secs(3), 3)
        );
        assert!(!buckets.take("u", &LIMIT, 999).await.unwrap().allowed);
        assert!(buckets.take("u", &LIMIT, 1000).await.unwrap().allowed);
        assert!(buckets.take("other", &LIMIT, 1000).await.unwrap().allowed, "buckets are per caller");
    }

    #[tokio::test]
    async fn an_idle_bucket_fills_up_to_its_burst_only() {
        let buckets = MemoryRateBuckets::default();
        buckets.take("u", &LIMIT, 0).await.unwrap();
        let later = buckets.take("u", &LIMIT, 3_600_000).await.unwrap();
        assert_eq!(later.remaining, 2);
        assert_eq!(later.reset, Duration::from_secs(1));
    }
}
