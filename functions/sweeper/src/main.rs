//! Lambda entry of the job sweeper, run on a schedule (EventBridge); the event carries nothing it needs.

use helix_aws::{AwsClients, Env, SweeperConfig, wiring};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let config = SweeperConfig::read(&env)?;
    let clients = AwsClients::from_env(&env).await;
    let sweeper = wiring::sweeper(&clients, &config);
    let sweeper = &sweeper;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        Ok::<_, lambda_runtime::Error>(sweeper.sweep().await?)
    }))
    .await
}
