//! Lambda entry of the job worker (SQS event source with `ReportBatchItemFailures`).

use aws_lambda_events::sqs::SqsEvent;
use helix_aws::{AwsClients, Settings};
use helix_workers::{JobWorker, JobWorkerDeps};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    helix_aws::telemetry::init();
    let settings = Settings::from_env()?;
    let clients = AwsClients::from_env(&settings).await;
    let worker = JobWorker::new(JobWorkerDeps::new(&settings, &clients));
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(worker.handle(event.payload).await)
    }))
    .await
}
