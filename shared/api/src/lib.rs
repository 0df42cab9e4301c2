//! The HTTP API: one axum `Router` per endpoint group (each is one Lambda function in the cloud),
//! all of them merged into one router for local use. Handlers only parse, authorize and call the
//! jobs core (`helix-jobs`); its errors map to HTTP answers in one place (`ApiError`).

mod docs;
mod error;
mod extract;
mod idempotency;
mod metrics;
mod rate_limit;
mod routes;
mod state;
mod trace;

use axum::Router;

pub use error::{ApiError, ErrorBody};
pub use extract::Authenticator;
pub use idempotency::RequestKeys;
pub use rate_limit::{RequestLimiter, rate_limit_headers};
pub use state::{ArtifactsState, AuthState, EventsState, JobsState, TeamsState, UsersState};
pub use trace::TraceContext;

/// Every router is traced (one span per request, carrying its trace id) and measured (latency
/// and status class per route).
fn traced(router: Router) -> Router {
    router
        .layer(axum::middleware::from_fn(rate_limit::with_rate_limit_headers))
        .layer(axum::middleware::from_fn(metrics::record_request))
        .layer(trace::trace_layer())
        .layer(axum::middleware::from_fn(trace::attach_trace_context))
}

/// `POST /auth/token`, `GET /auth/jwks.json`, `GET /health`, the OpenAPI document and Swagger UI.
pub fn auth_router(state: AuthState) -> Router {
    traced(routes::auth::router().merge(docs::router()).with_state(state))
}

pub fn users_router(state: UsersState) -> Router {
    traced(routes::users::router().with_state(state))
}

/// Teams, their members, invitations and API keys (served by the `users` function: one identity
/// group).
pub fn teams_router(state: TeamsState) -> Router {
    traced(routes::teams::router().merge(routes::keys::router()).merge(routes::usage::router()).with_state(state))
}

pub fn artifacts_router(state: ArtifactsState) -> Router {
    let keys = state.request_keys.clone();
    traced(routes::artifacts::router(keys).with_state(state))
}

/// Jobs, pipelines (whose runs are jobs) and what jobs cost.
/// Jobs' live events (Server-Sent Events), for the events function's streamed responses.
pub fn events_router(state: EventsState) -> Router {
    traced(routes::events::router().with_state(state))
}

pub fn jobs_router(state: JobsState) -> Router {
    let (limit, keys) = (state.payload_limit, state.request_keys.clone());
    traced(
        routes::jobs::router(limit, keys.clone())
            .merge(routes::pipelines::router(keys))
            .merge(routes::webhooks::router())
            .merge(routes::schedules::router())
            .merge(routes::costs::router())
            .merge(routes::reviews::router())
            .with_state(state),
    )
}

/// Every endpoint group on one router, as `make dev` and the end-to-end tests serve it.
pub fn api_router(
    auth: AuthState,
    users: UsersState,
    teams: TeamsState,
    artifacts: ArtifactsState,
    jobs: JobsState,
) -> Router {
    auth_router(auth)
        .merge(users_router(users))
        .merge(teams_router(teams))
        .merge(artifacts_router(artifacts))
        .merge(jobs_router(jobs))
}
