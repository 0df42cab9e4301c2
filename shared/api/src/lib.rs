//! The HTTP API: one axum `Router` per endpoint group (each is one Lambda function in the cloud),
//! all of them merged into one router for local use. Handlers only parse, authorize and call the
//! jobs core (`helix-jobs`); its errors map to HTTP answers in one place (`ApiError`).

mod docs;
mod error;
mod extract;
mod routes;
mod state;
mod trace;

use axum::Router;

pub use error::{ApiError, ErrorBody};
pub use state::{AccountsState, ArtifactsState, JobsState};
pub use trace::TraceContext;

/// Every router is traced: one span per request, carrying its trace id.
fn traced(router: Router) -> Router {
    router.layer(trace::trace_layer()).layer(axum::middleware::from_fn(trace::attach_trace_context))
}

/// `POST /auth/token`, `GET /health`, the OpenAPI document and Swagger UI.
pub fn auth_router(state: AccountsState) -> Router {
    traced(routes::auth::router().merge(docs::router()).with_state(state))
}

pub fn users_router(state: AccountsState) -> Router {
    traced(routes::users::router().with_state(state))
}

pub fn artifacts_router(state: ArtifactsState) -> Router {
    traced(routes::artifacts::router().with_state(state))
}

pub fn jobs_router(state: JobsState) -> Router {
    let limit = state.payload_limit;
    traced(routes::jobs::router(limit).with_state(state))
}

/// Every endpoint group on one router, as `make dev` and the end-to-end tests serve it.
pub fn api_router(accounts: AccountsState, artifacts: ArtifactsState, jobs: JobsState) -> Router {
    auth_router(accounts.clone())
        .merge(users_router(accounts))
        .merge(artifacts_router(artifacts))
        .merge(jobs_router(jobs))
}
