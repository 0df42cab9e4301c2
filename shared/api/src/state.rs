use std::sync::Arc;

use axum::extract::FromRef;

use helix_auth::TokenIssuer;
use helix_domain::UserStore;
use helix_jobs::{ArtifactService, JobService};

/// What the `auth` and `users` routers reach: the accounts and the tokens.
#[derive(Clone, FromRef)]
pub struct AccountsState {
    pub users: Arc<dyn UserStore>,
    pub tokens: Arc<TokenIssuer>,
}

/// What the `artifacts` router reaches.
#[derive(Clone, FromRef)]
pub struct ArtifactsState {
    pub artifacts: Arc<ArtifactService>,
    pub tokens: Arc<TokenIssuer>,
}

/// What the `jobs` router reaches.
#[derive(Clone, FromRef)]
pub struct JobsState {
    pub jobs: Arc<JobService>,
    pub tokens: Arc<TokenIssuer>,
    /// Bound of `POST /jobs/upload` bodies.
    pub payload_limit: usize,
}
