//! The AWS adapters of the ports, assembled from configuration: what each function's `main` and
//! the local platform build once per process.

use std::sync::Arc;

use helix_auth::{TokenIssuer, TokenSettings};
use helix_domain::{SystemClock, UserStore};
use helix_jobs::{ArtifactLimits, ArtifactService, JobService, JobSweeper, Queues, RunnerPorts, UploadWatcherPorts};

use crate::config::{ArtifactConfig, JobConfig, SweeperConfig, TokenConfig, WorkerConfig};
use crate::{
    AwsClients, DynamoArtifactStore, DynamoIdempotencyStore, DynamoJobStore, DynamoUserStore, S3Blobs, SqsJobQueue,
};

pub fn artifact_service(clients: &AwsClients, config: &ArtifactConfig) -> ArtifactService {
    ArtifactService {
        artifacts: Arc::new(DynamoArtifactStore::new(clients.dynamodb.clone(), &config.table)),
        blobs: Arc::new(S3Blobs::new(clients.s3.clone(), &config.bucket)),
        clock: Arc::new(SystemClock),
        limits: ArtifactLimits {
            max_upload_bytes: config.max_upload_bytes,
            upload_url_ttl: config.upload_url_ttl,
            download_url_ttl: config.download_url_ttl,
        },
    }
}

pub fn job_service(clients: &AwsClients, artifacts: &ArtifactConfig, jobs: &JobConfig) -> JobService {
    JobService {
        artifacts: Arc::new(artifact_service(clients, artifacts)),
        jobs: Arc::new(DynamoJobStore::new(clients.dynamodb.clone(), &jobs.table)),
        queues: Queues {
            jobs: Arc::new(SqsJobQueue::new(clients.sqs.clone(), &jobs.queue_url)),
            gpu: Arc::new(SqsJobQueue::new(clients.sqs.clone(), &jobs.gpu_queue_url)),
        },
        clock: Arc::new(SystemClock),
    }
}

pub fn runner_ports(clients: &AwsClients, artifacts: &ArtifactConfig, worker: &WorkerConfig) -> RunnerPorts {
    RunnerPorts {
        jobs: Arc::new(DynamoJobStore::new(clients.dynamodb.clone(), &worker.jobs_table)),
        artifacts: Arc::new(DynamoArtifactStore::new(clients.dynamodb.clone(), &artifacts.table)),
        blobs: Arc::new(S3Blobs::new(clients.s3.clone(), &artifacts.bucket)),
        idempotency: Arc::new(DynamoIdempotencyStore::new(clients.dynamodb.clone(), &worker.idempotency_table)),
        clock: Arc::new(SystemClock),
    }
}

pub fn upload_watcher_ports(
    clients: &AwsClients,
    artifacts: &ArtifactConfig,
    idempotency_table: &str,
) -> UploadWatcherPorts {
    UploadWatcherPorts {
        artifacts: Arc::new(DynamoArtifactStore::new(clients.dynamodb.clone(), &artifacts.table)),
        blobs: Arc::new(S3Blobs::new(clients.s3.clone(), &artifacts.bucket)),
        idempotency: Arc::new(DynamoIdempotencyStore::new(clients.dynamodb.clone(), idempotency_table)),
        clock: Arc::new(SystemClock),
        max_upload_bytes: artifacts.max_upload_bytes,
    }
}

pub fn sweeper(clients: &AwsClients, config: &SweeperConfig) -> JobSweeper {
    JobSweeper::new(
        Arc::new(DynamoJobStore::new(clients.dynamodb.clone(), &config.jobs_table)),
        Arc::new(SystemClock),
        config.stale_after,
    )
}

pub fn token_issuer(config: &TokenConfig) -> TokenIssuer {
    TokenIssuer::new(TokenSettings {
        secret: config.secret.clone(),
        issuer: config.issuer.clone(),
        audience: config.audience.clone(),
        ttl: config.ttl,
    })
}

pub fn user_store(clients: &AwsClients, table: &str) -> Arc<dyn UserStore> {
    Arc::new(DynamoUserStore::new(clients.dynamodb.clone(), table))
}
