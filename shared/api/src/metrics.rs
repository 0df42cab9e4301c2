//! API latency and status per route, recorded as `helix_jobs::metrics` names them.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::Method;

/// Times each request and counts its answer under its route template (`/api/v1/jobs/{id}`), so a
/// dimension never holds an id; a request no route matched counts as `unmatched`.
pub async fn record_request(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = bounded_method(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    helix_jobs::metrics::api_request(&route, method, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// HTTP allows any token as a method: the ones the API serves, and `OTHER` for the rest.
fn bounded_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
