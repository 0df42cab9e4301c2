use std::sync::Arc;

use axum::extract::FromRef;

use helix_auth::TokenSigner;
use helix_domain::UserStore;
use helix_jobs::{
    ApiKeyService, ArtifactService, AuditService, CostService, DraftReviewService, JobService, PipelineService,
    ScheduleService, SessionService, SingleSignOn, TeamService, WebhookService,
};

use crate::{Authenticator, RequestKeys};

/// What the `auth` router reaches: sessions (logins, refreshes, logouts) and the signing key. The
/// only state that signs.
#[derive(Clone, FromRef)]
pub struct AuthState {
    pub sessions: Arc<SessionService>,
    pub signer: Arc<TokenSigner>,
    /// Single sign-on, where external issuers are configured (`OIDC_ISSUERS`).
    pub sso: Option<Arc<SingleSignOn>>,
    /// For the routes of a signed-in account (its password).
    pub auth: Arc<Authenticator>,
    /// Cookies are marked `Secure` unless the platform is served over plain HTTP (locally).
    pub secure_cookies: bool,
}

/// What the `users` router reaches.
#[derive(Clone, FromRef)]
pub struct UsersState {
    pub users: Arc<dyn UserStore>,
    pub auth: Arc<Authenticator>,
}

/// What the `teams` router reaches.
#[derive(Clone, FromRef)]
pub struct TeamsState {
    pub teams: Arc<TeamService>,
    /// The team's API keys, managed under `/teams/{id}/api-keys`.
    pub keys: Arc<ApiKeyService>,
    /// The team's audit trail, read under `/teams/{id}/audit`.
    pub audit: Arc<AuditService>,
    pub auth: Arc<Authenticator>,
}

/// What the `artifacts` router reaches.
#[derive(Clone, FromRef)]
pub struct ArtifactsState {
    pub artifacts: Arc<ArtifactService>,
    /// Checks the API keys that callers may send instead of a token.
    pub keys: Arc<ApiKeyService>,
    pub auth: Arc<Authenticator>,
    pub request_keys: RequestKeys,
}

/// What the `jobs` router reaches (the pipelines' routes too: a run is a job).
#[derive(Clone, FromRef)]
pub struct JobsState {
    pub jobs: Arc<JobService>,
    pub pipelines: Arc<PipelineService>,
    /// The pipelines' webhooks, and the runs the API ends reported to them.
    pub webhooks: Arc<WebhookService>,
    /// The pipelines' schedules.
    pub schedules: Arc<ScheduleService>,
    /// Costs (`/costs`), and each job's cost in its JSON.
    pub costs: Arc<CostService>,
    /// Suggest-mapping drafts confirmed, and the teams' mapping memory.
    pub reviews: Arc<DraftReviewService>,
    /// Checks the API keys that callers may send instead of a token.
    pub keys: Arc<ApiKeyService>,
    pub auth: Arc<Authenticator>,
    /// Bound of `POST /jobs/upload` bodies.
    pub payload_limit: usize,
    pub request_keys: RequestKeys,
}

/// What the `events` router reaches: a job's live events need the job (and who may read it) and
/// its progress.
#[derive(Clone, FromRef)]
pub struct EventsState {
    pub jobs: Arc<JobService>,
    /// A pipeline's runs, for its stream.
    pub pipelines: Arc<PipelineService>,
    pub progress: Arc<dyn helix_domain::ProgressStore>,
    pub keys: Arc<ApiKeyService>,
    pub auth: Arc<Authenticator>,
}
