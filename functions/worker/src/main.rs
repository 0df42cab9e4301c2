//! Lambda entry of the job worker (SQS event source with `ReportBatchItemFailures`): transform jobs,
//! and the shards of a big one.

use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use helix_aws::{ArtifactConfig, AwsClients, Env, JobConfig, WebhookConfig, WorkerConfig, shard_config, wiring};
use helix_jobs::{ChainDriver, JobRunner, RunnerConfig, ShardedTransformAttempt};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (artifacts, worker) = (ArtifactConfig::read(&env)?, WorkerConfig::read(&env)?);
    let clients = AwsClients::from_env(&env).await;
    let config = RunnerConfig::for_worker("job-worker", worker.max_attempts, worker.lease);
    // A big input goes out as shard messages on this worker's own queue.
    let sharding = wiring::sharding(&clients, &env.required("JOBS_QUEUE_URL")?, &worker, shard_config(&env)?);
    let transform = Arc::new(ShardedTransformAttempt::new(sharding));
    // A chained run's next steps are submitted, as any job, by the end of the step before.
    let access = wiring::access(&clients, &env.required("TEAMS_TABLE")?, &worker.limits_table);
    let trail = wiring::audit_trail(&clients, &env.required("AUDIT_TABLE")?);
    let submit = JobConfig::read(&env)?;
    let webhooks = WebhookConfig::read(&env)?;
    let jobs = Arc::new(wiring::job_service(&clients, &artifacts, &submit, access, trail, Some(&webhooks))?);
    // An ended job's usage is recorded: its team's budget is checked (BudgetWatch).
    let budgets = jobs.budgets.watch.clone();
    let pipelines = Arc::new(wiring::pipeline_service(&clients, &artifacts, &submit, jobs));
    let notifier = wiring::run_notifier(&clients, &webhooks);
    let runner = JobRunner::new(wiring::runner_ports(&clients, &artifacts, &worker), config, vec![transform])
        .with_events(notifier.clone())
        .with_events(Arc::new(ChainDriver { pipelines, events: notifier }))
        .with_events(budgets)
        .with_events(wiring::failed_inbox_runs(&clients, &artifacts))
        .with_progress(wiring::progress_store(&clients, &worker.jobs_table));
    let runner = &runner;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(runner.handle(event.payload).await)
    }))
    .await
}
