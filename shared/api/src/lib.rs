//! The HTTP API: one axum `Router` per endpoint group (each is one Lambda function in the cloud),
//! all of them merged into one router for local use.

mod docs;
mod error;
mod extract;
mod routes;
mod state;

use axum::Router;

pub use error::{ApiError, ErrorBody};
pub use state::{ApiSettings, AppState};

/// `POST /auth/token`, `GET /health`, the OpenAPI document and Swagger UI.
pub fn auth_router(state: AppState) -> Router {
    routes::auth::router().merge(docs::router()).with_state(state)
}

pub fn users_router(state: AppState) -> Router {
    routes::users::router().with_state(state)
}

pub fn artifacts_router(state: AppState) -> Router {
    routes::artifacts::router().with_state(state)
}

pub fn jobs_router(state: AppState) -> Router {
    let limit = state.settings.api_payload_limit;
    routes::jobs::router(limit).with_state(state)
}

/// Every endpoint group on one router, as `make dev` and the end-to-end tests serve it.
pub fn api_router(state: AppState) -> Router {
    auth_router(state.clone())
        .merge(users_router(state.clone()))
        .merge(artifacts_router(state.clone()))
        .merge(jobs_router(state))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
