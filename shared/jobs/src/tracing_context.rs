//! The W3C trace context a request or a queue message carries, made the parent of the span that
//! handles it, so that an OpenTelemetry exporter (set up by the process, `helix_aws::telemetry`)
//! sends the API's and the worker's spans as one trace. Without an exporter this does nothing.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Makes the span of `traceparent` (`00-<trace id>-<span id>-<flags>`) the parent of `span`;
/// a malformed value is ignored (the span starts a trace of its own).
pub fn continue_trace(span: &tracing::Span, traceparent: &str) {
    let mut parts = traceparent.split('-');
    let (Some("00"), Some(trace), Some(parent), Some(flags)) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let (Ok(trace), Ok(parent), Ok(flags)) =
        (TraceId::from_hex(trace), SpanId::from_hex(parent), u8::from_str_radix(flags, 16))
    else {
        return;
    };
    if trace == TraceId::INVALID || parent == SpanId::INVALID {
        return;
    }
    let remote = SpanContext::new(trace, parent, TraceFlags::new(flags), true, TraceState::default());
    // Refused only when no OpenTelemetry layer is installed: nothing to continue then.
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
}
