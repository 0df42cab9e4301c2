//! Lambda entry of the `artifacts` endpoint group; the routes live in `helix-api`.

use std::sync::Arc;

use helix_api::ArtifactsState;
use helix_aws::{ArtifactConfig, AwsClients, Env, TokenConfig, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (artifacts, tokens) = (ArtifactConfig::read(&env)?, TokenConfig::read(&env)?);
    let clients = AwsClients::from_env(&env).await;
    let state = ArtifactsState {
        artifacts: Arc::new(wiring::artifact_service(&clients, &artifacts)),
        tokens: Arc::new(wiring::token_issuer(&tokens)),
    };
    lambda_http::run(helix_api::artifacts_router(state)).await
}
