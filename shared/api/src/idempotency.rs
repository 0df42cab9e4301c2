//! `Idempotency-Key` (the IETF draft "The Idempotency-Key HTTP Header Field") on the requests that
//! create something (`POST /jobs`, `/jobs/upload`, `/artifacts/upload`): a client that retries
//! after a lost answer sends the same key and gets the first answer, not a second job. The same
//! key with another body is refused (422); the same key while the first request still runs is a
//! 409. Keys are kept 24 hours, per caller (the credentials the request carries).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use helix_domain::{Clock, KeyClaim, RequestKeyStore, StoredResponse};

use crate::ApiError;

const HEADER: &str = "idempotency-key";
const KEEP: Duration = Duration::from_secs(24 * 3600);
/// Longer than any request takes; a request whose process died is run again after it.
const IN_PROGRESS_FOR: Duration = Duration::from_secs(60);
const MAX_KEY_CHARS: usize = 255;

/// The keys' store, as the routes that honour the header reach it.
#[derive(Clone)]
pub struct RequestKeys {
    pub store: Arc<dyn RequestKeyStore>,
    pub clock: Arc<dyn Clock>,
    /// The largest body the routes accept: the middleware reads the body to fingerprint it.
    pub body_limit: usize,
}

impl RequestKeys {
    pub fn new(store: Arc<dyn RequestKeyStore>, body_limit: usize) -> Self {
        Self { store, clock: Arc::new(helix_domain::SystemClock), body_limit }
    }
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

/// Whether a response is the request's outcome, to be replayed: not an answer that a retry may
/// change (bad credentials, a conflict of the moment, a server fault).
fn is_outcome(status: StatusCode) -> bool {
    status.is_success()
        || (status.is_client_error()
            && ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::CONFLICT, StatusCode::TOO_MANY_REQUESTS]
                .contains(&status))
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, stored.body).into_response();
    if let Ok(content_type) = HeaderValue::from_str(&stored.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

pub async fn honour_idempotency_key(State(keys): State<RequestKeys>, request: Request, next: Next) -> Response {
    let Some(value) = request.headers().get(HEADER).cloned() else { return next.run(request).await };
    let key = match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_KEY_CHARS && key.bytes().all(|b| b.is_ascii_graphic()) => {
            key.to_owned()
        }
        _ => {
            let message = format!("must be 1 to {MAX_KEY_CHARS} visible ASCII characters");
            return ApiError::bad_request("Idempotency-Key", message).into_response();
        }
    };
    let (parts, body) = request.into_parts();
    let header_bytes = |name| parts.headers.get(name).map(HeaderValue::as_bytes).unwrap_or_default().to_vec();
    let (credentials, content_type) = (header_bytes(header::AUTHORIZATION), header_bytes(header::CONTENT_TYPE));
    let caller = &sha256_hex(&[&credentials])[..32];
    let record = format!("http#{caller}#{} {}#{key}", parts.method, parts.uri.path());
    let Ok(body) = axum::body::to_bytes(body, keys.body_limit).await else {
        let message = format!("the body exceeds {} bytes", keys.body_limit);
        return ApiError::PayloadTooLarge { field: None, message }.into_response();
    };
    let fingerprint = sha256_hex(&[&content_type, &body]);
    let now = keys.clock.now();
    match keys.store.begin(&record, &fingerprint, now, now.plus(IN_PROGRESS_FOR)).await {
        Ok(KeyClaim::Started) => {}
        Ok(KeyClaim::Replay(stored)) => return replay(stored),
        Ok(KeyClaim::InProgress) => {
            let message = "a request with this Idempotency-Key is still in progress; retry it later".to_owned();
            return ApiError::Conflict { message }.into_response();
        }
        Ok(KeyClaim::Mismatch) => {
            let message = "this key was used with another request; use a new key for a new request";
            return ApiError::unprocessable("Idempotency-Key", message).into_response();
        }
        Err(e) => return ApiError::Unavailable(format!("idempotency keys: {e}")).into_response(),
    }
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    if !is_outcome(response.status()) {
        if let Err(e) = keys.store.abandon(&record).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::Internal("reading the response".into()).into_response();
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let stored =
        StoredResponse { status: parts.status.as_u16(), content_type: content_type.to_owned(), body: body.to_vec() };
    if let Err(e) = keys.store.complete(&record, &stored, keys.clock.now().plus(KEEP)).await {
        // The retry runs again after IN_PROGRESS_FOR: no worse than without a key.
        tracing::warn!(error = %e, "could not keep the response of an idempotency key");
    }
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::Router;
    use axum::routing::post;
    use tower::ServiceExt;

    use helix_domain::SystemClock;
    use helix_domain::memory::MemoryRequestKeyStore;

    use super::*;

    /// A route that counts its runs and answers with the count, or with `status` when the body is
    /// a status code.
    fn app() -> (Router, Arc<AtomicU32>) {
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        let keys = RequestKeys {
            store: Arc::new(MemoryRequestKeyStore::default()),
            clock: Arc::new(SystemClock),
            body_limit: 1024,
        };
        let handler = move |body: String| {
            let run = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                let status =
                    body.parse().ok().and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::ACCEPTED);
                (status, format!("run {run}"))
            }
        };
        let layer = axum::middleware::from_fn_with_state(keys, honour_idempotency_key);
        (Router::new().route("/jobs", post(handler).layer(layer)), runs)
    }

    async fn send(app: &Router, key: Option<&str>, token: &str, body: &str) -> (StatusCode, String, bool) {
        let mut request = Request::post("/jobs").header("authorization", token);
        if let Some(key) = key {
            request = request.header(HEADER, key);
        }
        let response = app.clone().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap(), replayed)
    }

    #[tokio::test]
    async fn a_retry_with_the_same_key_and_body_gets_the_first_answer() {
        let (app, runs) = app();
        assert_eq!(send(&app, Some("k1"), "Bearer a", "x").await, (StatusCode::ACCEPTED, "run 1".into(), false));
        assert_eq!(send(&app, Some("k1"), "Bearer a", "x").await, (StatusCode::ACCEPTED, "run 1".into(), true));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(send(&app, None, "Bearer a", "x").await.1, "run 2", "no key, no deduplication");
    }

    #[tokio::test]
    async fn the_same_key_with_another_body_is_refused() {
        let (app, runs) = app();
        send(&app, Some("k1"), "Bearer a", "x").await;
        let (status, body, _) = send(&app, Some("k1"), "Bearer a", "y").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.contains("\"field\":\"Idempotency-Key\""), "{body}");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn keys_belong_to_the_caller() {
        let (app, runs) = app();
        send(&app, Some("k1"), "Bearer a", "x").await;
        assert_eq!(send(&app, Some("k1"), "Bearer b", "x").await.1, "run 2");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_passing_failure_is_not_kept() {
        let (app, runs) = app();
        assert_eq!(send(&app, Some("k1"), "Bearer a", "503").await.0, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(send(&app, Some("k1"), "Bearer a", "503").await.1, "run 2", "the retry runs");
        assert_eq!(send(&app, Some("k2"), "Bearer a", "422").await.0, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            send(&app, Some("k2"), "Bearer a", "422").await,
            (StatusCode::UNPROCESSABLE_ENTITY, "run 3".into(), true)
        );
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_malformed_key_is_refused() {
        let (app, runs) = app();
        let (status, body, _) = send(&app, Some(&"k".repeat(256)), "Bearer a", "x").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("Idempotency-Key"), "{body}");
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }
}
