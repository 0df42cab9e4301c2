//! Lambda entry of the live events (`GET /jobs/{id}/events`): behind a function URL in
//! `RESPONSE_STREAM` mode, so each Server-Sent Event reaches the client as it is written.

use std::sync::Arc;

use helix_api::{Authenticator, EventsState, RequestLimiter};
use helix_aws::{ArtifactConfig, AwsClients, Env, JobConfig, LimitsConfig, TokenConfig, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (artifacts, jobs, tokens) = (ArtifactConfig::read(&env)?, JobConfig::read(&env)?, TokenConfig::read(&env)?);
    let limits = LimitsConfig::read(&env)?;
    let clients = AwsClients::from_env(&env).await;
    let access = wiring::access(&clients, &env.required("TEAMS_TABLE")?, &limits.table);
    let trail = wiring::audit_trail(&clients, &env.required("AUDIT_TABLE")?);
    let keys =
        Arc::new(wiring::api_key_service(&clients, &env.required("API_KEYS_TABLE")?, access.clone(), trail.clone()));
    let job_service = Arc::new(wiring::job_service(&clients, &artifacts, &jobs, access, trail, None)?);
    let state = EventsState {
        progress: wiring::progress_store(&clients, &jobs.table),
        pipelines: Arc::new(wiring::pipeline_service(&clients, &artifacts, &jobs, job_service.clone())),
        jobs: job_service,
        keys,
        auth: Arc::new(Authenticator {
            tokens: Arc::new(wiring::token_verifier(&clients, &tokens)),
            sessions: Arc::new(wiring::session_gate(&clients, &tokens)),
            limiter: Arc::new(RequestLimiter { buckets: wiring::rate_buckets(&clients, &limits), limit: limits.rate }),
        }),
    };
    lambda_http::run_with_streaming_response(helix_api::events_router(state)).await
}
