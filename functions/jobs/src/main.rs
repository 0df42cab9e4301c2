//! Lambda entry of the `jobs` endpoint group; the routes live in `helix-api`, the rules in
//! `helix-jobs`.

use std::sync::Arc;

use helix_api::{Authenticator, JobsState, RequestKeys, RequestLimiter};
use helix_aws::{
    ArtifactConfig, AwsClients, Env, JobConfig, LimitsConfig, ScheduleConfig, TokenConfig, WebhookConfig, wiring,
};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (artifacts, jobs, tokens) = (ArtifactConfig::read(&env)?, JobConfig::read(&env)?, TokenConfig::read(&env)?);
    let (idempotency_table, teams_table) = (env.required("IDEMPOTENCY_TABLE")?, env.required("TEAMS_TABLE")?);
    let limits = LimitsConfig::read(&env)?;
    let clients = AwsClients::from_env(&env).await;
    let access = wiring::access(&clients, &teams_table, &limits.table);
    let trail = wiring::audit_trail(&clients, &env.required("AUDIT_TABLE")?);
    let keys =
        Arc::new(wiring::api_key_service(&clients, &env.required("API_KEYS_TABLE")?, access.clone(), trail.clone()));
    let users_table = env.required("USERS_TABLE")?;
    let costs = wiring::cost_service(&clients, &artifacts, &jobs.usage_table, &users_table, access.clone())?;
    let webhook_config = WebhookConfig::read(&env)?;
    let job_service = Arc::new(wiring::job_service(&clients, &artifacts, &jobs, access, trail, Some(&webhook_config))?);
    let pipelines = Arc::new(wiring::pipeline_service(&clients, &artifacts, &jobs, job_service.clone()));
    let webhooks = wiring::webhook_service(&clients, &webhook_config, pipelines.clone());
    let timer = wiring::schedule_timer(&ScheduleConfig::read(&env)?).await;
    let schedules = wiring::schedule_service(&clients, &jobs.pipelines_table, pipelines.clone(), timer);
    let reviews = wiring::draft_review_service(&clients, &teams_table, pipelines.clone());
    let state = JobsState {
        reviews: Arc::new(reviews),
        costs: Arc::new(costs),
        pipelines,
        webhooks: Arc::new(webhooks),
        schedules: Arc::new(schedules),
        jobs: job_service,
        keys,
        auth: Arc::new(Authenticator {
            tokens: Arc::new(wiring::token_verifier(&clients, &tokens)),
            sessions: Arc::new(wiring::session_gate(&clients, &tokens)),
            limiter: Arc::new(RequestLimiter { buckets: wiring::rate_buckets(&clients, &limits), limit: limits.rate }),
        }),
        payload_limit: jobs.api_payload_limit,
        request_keys: RequestKeys::new(wiring::request_key_store(&clients, &idempotency_table), jobs.api_payload_limit),
    };
    lambda_http::run(helix_api::jobs_router(state)).await
}
