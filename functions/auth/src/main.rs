//! Lambda entry of the `auth` endpoint group; the routes live in `helix-api`.
//!
//! The only function that signs tokens: at start-up it fetches the signing secret from Secrets
//! Manager (`JWT_SIGNING_SECRET_ARN`), derives the key pair and publishes the public key to the
//! artifacts bucket, where the other functions read it.

use std::sync::Arc;

use helix_api::{AuthState, Authenticator, RequestLimiter};
use helix_aws::{AwsClients, Env, LimitsConfig, SigningConfig, SsoConfig, TokenConfig, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (users_table, tokens, signing) =
        (env.required("USERS_TABLE")?, TokenConfig::read(&env)?, SigningConfig::read(&env)?);
    let (audit_table, teams_table) = (env.required("AUDIT_TABLE")?, env.required("TEAMS_TABLE")?);
    let sso = SsoConfig::read(&env)?;
    let limits = LimitsConfig::read(&env)?;
    let clients = AwsClients::from_env(&env).await;
    let signer = Arc::new(wiring::token_signer(&clients, &tokens, &signing).await?);
    let auth = Arc::new(Authenticator {
        tokens: Arc::new(wiring::token_verifier(&clients, &tokens)),
        sessions: Arc::new(wiring::session_gate(&clients, &tokens)),
        limiter: Arc::new(RequestLimiter { buckets: wiring::rate_buckets(&clients, &limits), limit: limits.rate }),
    });
    let trail = wiring::audit_trail(&clients, &audit_table);
    let sessions = Arc::new(wiring::session_service(&clients, &tokens, &users_table, signer.clone(), trail.clone()));
    let state = AuthState {
        sso: wiring::single_sign_on(&clients, &sso, sessions.clone(), &teams_table, trail),
        sessions,
        signer,
        auth,
        secure_cookies: true,
    };
    lambda_http::run(helix_api::auth_router(state)).await
}
