//! Lambda entry of the webhook deliverer: one signed POST per delivery message, each attempt
//! logged, a failure kept out of sight on the queue for its backoff.

use aws_lambda_events::sqs::SqsEvent;
use helix_aws::{AwsClients, Env, WebhookConfig, wiring};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let config = WebhookConfig::read(&env)?;
    let clients = AwsClients::from_env(&env).await;
    let deliverer = wiring::webhook_deliverer(&clients, &config)?;
    let deliverer = &deliverer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(deliverer.handle(event.payload).await)
    }))
    .await
}
