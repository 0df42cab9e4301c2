use std::sync::Arc;

use axum::extract::FromRef;

use helix_auth::{TokenSigner, TokenVerifier};
use helix_domain::UserStore;
use helix_jobs::{ArtifactService, JobService, TeamService};

use crate::RequestKeys;

/// What the `auth` router reaches: the accounts and the signing key. The only state that signs.
#[derive(Clone, FromRef)]
pub struct AuthState {
    pub users: Arc<dyn UserStore>,
    pub signer: Arc<TokenSigner>,
}

/// What the `users` router reaches.
#[derive(Clone, FromRef)]
pub struct UsersState {
    pub users: Arc<dyn UserStore>,
    pub tokens: Arc<TokenVerifier>,
}

/// What the `teams` router reaches.
#[derive(Clone, FromRef)]
pub struct TeamsState {
    pub teams: Arc<TeamService>,
    pub tokens: Arc<TokenVerifier>,
}

/// What the `artifacts` router reaches.
#[derive(Clone, FromRef)]
pub struct ArtifactsState {
    pub artifacts: Arc<ArtifactService>,
    pub tokens: Arc<TokenVerifier>,
    pub request_keys: RequestKeys,
}

/// What the `jobs` router reaches.
#[derive(Clone, FromRef)]
pub struct JobsState {
    pub jobs: Arc<JobService>,
    pub tokens: Arc<TokenVerifier>,
    /// Bound of `POST /jobs/upload` bodies.
    pub payload_limit: usize,
    pub request_keys: RequestKeys,
}
