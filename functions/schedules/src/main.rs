//! Lambda entry of the schedule trigger: EventBridge Scheduler's wake-ups, through the schedule
//! queue; each fires its schedule's slot once (a pipeline run, or one per file waiting in an inbox
//! folder) and arms the next.

use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use helix_aws::{ArtifactConfig, AwsClients, Env, JobConfig, LimitsConfig, ScheduleConfig, wiring};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (artifacts, jobs, schedules) =
        (ArtifactConfig::read(&env)?, JobConfig::read(&env)?, ScheduleConfig::read(&env)?);
    let clients = AwsClients::from_env(&env).await;
    let limits = LimitsConfig::read(&env)?;
    let access = wiring::access(&clients, &env.required("TEAMS_TABLE")?, &limits.table);
    let trail = wiring::audit_trail(&clients, &env.required("AUDIT_TABLE")?);
    let job_service = Arc::new(wiring::job_service(&clients, &artifacts, &jobs, access, trail, None)?);
    let pipelines = Arc::new(wiring::pipeline_service(&clients, &artifacts, &jobs, job_service));
    let timer = wiring::schedule_timer(&schedules).await;
    let inbox = wiring::inbox_trigger(&clients, &artifacts, &env.required("IDEMPOTENCY_TABLE")?, pipelines.clone());
    let trigger = wiring::schedule_trigger(&clients, &jobs.pipelines_table, pipelines, timer, inbox);
    let trigger = &trigger;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(trigger.handle(event.payload).await)
    }))
    .await
}
