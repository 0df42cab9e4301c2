//! One trace per request, continued from the caller's W3C `traceparent` (or API Gateway's
//! `X-Amzn-Trace-Id`) when it sends one, and handed on to the job queue, so that a job's request
//! and its worker run share one `trace_id` in the logs.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::trace::{HttpMakeClassifier, TraceLayer};

/// The request's W3C trace context (`00-<trace id>-<span id>-01`).
#[derive(Clone, Debug)]
pub struct TraceContext(pub String);

impl TraceContext {
    pub fn trace_id(&self) -> &str {
        self.0.split('-').nth(1).unwrap_or_default()
    }

    fn of(request: &Request) -> Self {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let trace_id = header("traceparent")
            .and_then(|t| t.split('-').nth(1))
            .filter(|id| is_hex(id, 32))
            .map(str::to_owned)
            .or_else(|| header("x-amzn-trace-id").and_then(amazon_trace_id))
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let span_id = &uuid::Uuid::new_v4().simple().to_string()[..16];
        Self(format!("00-{trace_id}-{span_id}-01"))
    }
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `Root=1-5759e988-bd862e3fe1be46a994272793;…` → the 32 hex digits of its root.
fn amazon_trace_id(header: &str) -> Option<String> {
    let root = header.split(';').find_map(|part| part.trim().strip_prefix("Root="))?;
    let mut parts = root.split('-');
    let (_version, time, id) = (parts.next()?, parts.next()?, parts.next()?);
    let trace_id = format!("{time}{id}").to_ascii_lowercase();
    is_hex(&trace_id, 32).then_some(trace_id)
}

/// Attaches the request's [`TraceContext`]; runs before the trace layer makes the span.
pub async fn attach_trace_context(mut request: Request, next: Next) -> Response {
    let context = TraceContext::of(&request);
    request.extensions_mut().insert(context);
    next.run(request).await
}

pub type RequestTraceLayer = TraceLayer<HttpMakeClassifier, fn(&Request) -> tracing::Span>;

fn request_span(request: &Request) -> tracing::Span {
    let context = request.extensions().get::<TraceContext>();
    let trace_id = context.map(TraceContext::trace_id).unwrap_or_default();
    let span = tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), trace_id);
    if let Some(context) = context {
        helix_jobs::continue_trace(&span, &context.0);
    }
    span
}

pub fn trace_layer() -> RequestTraceLayer {
    TraceLayer::new_for_http().make_span_with(request_span as fn(&Request) -> tracing::Span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_the_callers_trace() {
        let request = Request::builder()
            .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(TraceContext::of(&request).trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let request = Request::builder()
            .header("x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(TraceContext::of(&request).trace_id(), "5759e988bd862e3fe1be46a994272793");
        let fresh = TraceContext::of(&Request::new(axum::body::Body::empty()));
        assert!(is_hex(fresh.trace_id(), 32), "{fresh:?}");
    }
}
