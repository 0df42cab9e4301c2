//! Lambda entry of the identity endpoint group (users, teams, invitations, API keys); the routes
//! live in `helix-api`, the team rules in `helix-jobs`.

use std::sync::Arc;

use helix_api::{Authenticator, RequestLimiter, TeamsState, UsersState};
use helix_aws::{AwsClients, Env, LimitsConfig, TokenConfig, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (users_table, teams_table) = (env.required("USERS_TABLE")?, env.required("TEAMS_TABLE")?);
    let (api_keys_table, audit_table) = (env.required("API_KEYS_TABLE")?, env.required("AUDIT_TABLE")?);
    let tokens = TokenConfig::read(&env)?;
    let limits = LimitsConfig::read(&env)?;
    let clients = AwsClients::from_env(&env).await;
    let auth = Arc::new(Authenticator {
        tokens: Arc::new(wiring::token_verifier(&clients, &tokens)),
        sessions: Arc::new(wiring::session_gate(&clients, &tokens)),
        limiter: Arc::new(RequestLimiter { buckets: wiring::rate_buckets(&clients, &limits), limit: limits.rate }),
    });
    let access = wiring::access(&clients, &teams_table, &limits.table);
    let trail = wiring::audit_trail(&clients, &audit_table);
    let keys = Arc::new(wiring::api_key_service(&clients, &api_keys_table, access.clone(), trail.clone()));
    let users = UsersState { users: wiring::user_store(&clients, &users_table), auth: auth.clone() };
    let audit = Arc::new(wiring::audit_service(&clients, &audit_table, access.clone()));
    let teams =
        TeamsState { teams: Arc::new(wiring::team_service(&clients, &users_table, access, trail)), keys, audit, auth };
    lambda_http::run(helix_api::users_router(users).merge(helix_api::teams_router(teams))).await
}
