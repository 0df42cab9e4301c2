//! Lambda entry of the job worker (SQS event source with `ReportBatchItemFailures`): transform jobs.

use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use helix_aws::{ArtifactConfig, AwsClients, Env, WebhookConfig, WorkerConfig, wiring};
use helix_jobs::{JobRunner, RunnerConfig, TransformAttempt};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (artifacts, worker) = (ArtifactConfig::read(&env)?, WorkerConfig::read(&env)?);
    let clients = AwsClients::from_env(&env).await;
    let config = RunnerConfig::for_worker("job-worker", worker.max_attempts, worker.lease);
    let runner =
        JobRunner::new(wiring::runner_ports(&clients, &artifacts, &worker), config, vec![Arc::new(TransformAttempt)])
            .with_events(wiring::run_notifier(&clients, &WebhookConfig::read(&env)?));
    let runner = &runner;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(runner.handle(event.payload).await)
    }))
    .await
}
