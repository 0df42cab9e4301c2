//! Entry of the GPU container worker (not a Lambda: the model stays loaded and the image can carry
//! CUDA): settings and model once, then it long-polls its own queue until SIGTERM (ECS stopping
//! the task) or Ctrl-C. The jobs it runs live in `helix-jobs`.

use std::sync::Arc;

use helix_aws::{ArtifactConfig, AwsClients, Env, PollOptions, SqsPoller, WebhookConfig, WorkerConfig, poller, wiring};
use helix_jobs::{JobRunner, RunnerConfig, gpu_attempts};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    helix_aws::telemetry::init();
    let env = Env::process();
    let (artifacts, worker, queue_url) =
        (ArtifactConfig::read(&env)?, WorkerConfig::read(&env)?, env.required("GPU_QUEUE_URL")?);
    let clients = AwsClients::from_env(&env).await;
    let model = helix_suggest::MiniLm::load(&helix_suggest::model_dir()?)?;
    tracing::info!(device = model.device_name(), "embedding model loaded");
    let config = RunnerConfig::for_worker("gpu-worker", worker.max_attempts, worker.lease);
    // Suggestions consult the job's team's mapping memory first.
    let memory = wiring::mapping_memory(&clients, &env.required("TEAMS_TABLE")?);
    let webhooks = WebhookConfig::read(&env)?;
    // An ended job's usage is recorded: its team's budget is checked.
    let trail = wiring::audit_trail(&clients, &env.required("AUDIT_TABLE")?);
    let budgets = wiring::budget_watch(&clients, &worker.usage_table, trail, Some(&webhooks))?;
    let runner = JobRunner::new(
        wiring::runner_ports(&clients, &artifacts, &worker),
        config,
        gpu_attempts(Arc::new(model), memory),
    )
    .with_events(wiring::run_notifier(&clients, &webhooks))
    .with_events(budgets)
    .with_events(wiring::failed_inbox_runs(&clients, &artifacts))
    .with_progress(wiring::progress_store(&clients, &worker.jobs_table));
    let poller = SqsPoller { sqs: clients.sqs, queue_url, options: PollOptions::long_running(worker.lease) };
    poller.run(|event| runner.handle(event), poller::termination()).await;
    Ok(())
}
