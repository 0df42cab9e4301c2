//! Lambda entry of the `artifacts` endpoint group; the routes live in `helix-api`.

use std::sync::Arc;

use helix_api::{ArtifactsState, Authenticator, RequestKeys, RequestLimiter};
use helix_aws::{ArtifactConfig, AwsClients, Env, LimitsConfig, TokenConfig, wiring};

/// An upload request is a small JSON document.
const UPLOAD_REQUEST_LIMIT: usize = 64 * 1024;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (artifacts, tokens) = (ArtifactConfig::read(&env)?, TokenConfig::read(&env)?);
    let (idempotency_table, teams_table) = (env.required("IDEMPOTENCY_TABLE")?, env.required("TEAMS_TABLE")?);
    let limits = LimitsConfig::read(&env)?;
    let clients = AwsClients::from_env(&env).await;
    let access = wiring::access(&clients, &teams_table, &limits.table);
    let trail = wiring::audit_trail(&clients, &env.required("AUDIT_TABLE")?);
    let keys =
        Arc::new(wiring::api_key_service(&clients, &env.required("API_KEYS_TABLE")?, access.clone(), trail.clone()));
    let state = ArtifactsState {
        artifacts: Arc::new(wiring::artifact_service(&clients, &artifacts, access, trail)),
        keys,
        auth: Arc::new(Authenticator {
            tokens: Arc::new(wiring::token_verifier(&clients, &tokens)),
            sessions: Arc::new(wiring::session_gate(&clients, &tokens)),
            limiter: Arc::new(RequestLimiter { buckets: wiring::rate_buckets(&clients, &limits), limit: limits.rate }),
        }),
        request_keys: RequestKeys::new(wiring::request_key_store(&clients, &idempotency_table), UPLOAD_REQUEST_LIMIT),
    };
    lambda_http::run(helix_api::artifacts_router(state)).await
}
