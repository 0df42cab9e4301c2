//! Lambda entry of the `users` endpoint group; the routes live in `helix-api`.

use std::sync::Arc;

use helix_api::UsersState;
use helix_aws::{AwsClients, Env, TokenConfig, wiring};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (users_table, tokens) = (env.required("USERS_TABLE")?, TokenConfig::read(&env)?);
    let clients = AwsClients::from_env(&env).await;
    let state = UsersState {
        users: wiring::user_store(&clients, &users_table),
        tokens: Arc::new(wiring::token_verifier(&clients, &tokens)),
    };
    lambda_http::run(helix_api::users_router(state)).await
}
