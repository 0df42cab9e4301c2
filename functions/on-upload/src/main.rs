//! Lambda entry of the upload watcher: S3 `ObjectCreated` events, delivered through SQS.

use aws_lambda_events::sqs::SqsEvent;
use helix_aws::{ArtifactConfig, AwsClients, Env, wiring};
use helix_jobs::UploadWatcher;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (artifacts, idempotency_table) = (ArtifactConfig::read(&env)?, env.required("IDEMPOTENCY_TABLE")?);
    let clients = AwsClients::from_env(&env).await;
    let watcher = UploadWatcher::new(wiring::upload_watcher_ports(&clients, &artifacts, &idempotency_table));
    let watcher = &watcher;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(watcher.handle(event.payload).await)
    }))
    .await
}
