//! Lambda entry of the upload watcher: S3 `ObjectCreated` events, delivered through SQS.

use aws_lambda_events::sqs::SqsEvent;
use helix_aws::{AwsClients, Settings};
use helix_workers::{UploadWatcher, UploadWatcherDeps};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    helix_aws::telemetry::init();
    let settings = Settings::from_env()?;
    let clients = AwsClients::from_env(&settings).await;
    let watcher = UploadWatcher::new(UploadWatcherDeps::new(&settings, &clients));
    let watcher = &watcher;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(watcher.handle(event.payload).await)
    }))
    .await
}
