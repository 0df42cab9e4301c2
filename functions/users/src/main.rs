//! Lambda entry of the `users` endpoint group; the routes live in `helix-api`.

use helix_api::AppState;
use helix_aws::{AwsClients, Settings};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    helix_aws::telemetry::init();
    let settings = Settings::from_env()?;
    let clients = AwsClients::from_env(&settings).await;
    lambda_http::run(helix_api::users_router(AppState::new(&settings, &clients))).await
}
