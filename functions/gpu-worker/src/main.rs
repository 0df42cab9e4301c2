//! Entry of the GPU container worker: settings and model once, then the poll loop until SIGTERM
//! (ECS stopping the task) or Ctrl-C.

use std::sync::Arc;

use helix_aws::{AwsClients, Settings};
use helix_gpu_worker::{GpuWorker, PollOptions, poll};
use helix_suggest::MiniLm;
use helix_workers::JobWorkerDeps;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    helix_aws::telemetry::init();
    let settings = Settings::from_env()?;
    let clients = AwsClients::from_env(&settings).await;
    let model = MiniLm::load(&helix_suggest::model_dir()?)?;
    tracing::info!(device = model.device_name(), "embedding model loaded");
    let worker = Arc::new(GpuWorker::new(JobWorkerDeps::new(&settings, &clients), Arc::new(model)));
    poll(clients.sqs.clone(), settings.gpu_queue_url.clone(), worker, PollOptions::default(), shutdown()).await;
    Ok(())
}

async fn shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!(error = %e, "no SIGTERM handler; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: finishing the running batch"),
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C: finishing the running batch"),
    }
}
