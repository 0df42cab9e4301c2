//! Lambda entry of the upload watcher: S3 `ObjectCreated` events, delivered through SQS: uploads
//! checked against their registrations, inbox files turned into pipeline runs.

use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use helix_aws::{ArtifactConfig, AwsClients, Env, JobConfig, LimitsConfig, wiring};
use helix_jobs::UploadWatcher;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (artifacts, jobs) = (ArtifactConfig::read(&env)?, JobConfig::read(&env)?);
    let (idempotency_table, teams_table) = (env.required("IDEMPOTENCY_TABLE")?, env.required("TEAMS_TABLE")?);
    let limits = LimitsConfig::read(&env)?;
    let clients = AwsClients::from_env(&env).await;
    let access = wiring::access(&clients, &teams_table, &limits.table);
    let trail = wiring::audit_trail(&clients, &env.required("AUDIT_TABLE")?);
    let job_service = Arc::new(wiring::job_service(&clients, &artifacts, &jobs, access, trail, None)?);
    let pipelines = Arc::new(wiring::pipeline_service(&clients, &artifacts, &jobs, job_service));
    let inbox = wiring::inbox_trigger(&clients, &artifacts, &idempotency_table, pipelines);
    let watcher = UploadWatcher::new(wiring::upload_watcher_ports(&clients, &artifacts, &idempotency_table, inbox));
    let watcher = &watcher;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(watcher.handle(event.payload).await)
    }))
    .await
}
