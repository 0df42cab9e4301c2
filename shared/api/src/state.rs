use std::sync::Arc;
use std::time::Duration;

use helix_auth::{TokenIssuer, TokenSettings};
use helix_aws::{AwsClients, DynamoArtifactStore, DynamoJobStore, DynamoUserStore, S3Blobs, Settings, SqsJobQueue};
use helix_domain::{ArtifactStore, Blobs, JobQueue, JobStore, UserStore};

/// The limits the handlers enforce, taken from `Settings` once.
#[derive(Clone, Debug)]
pub struct ApiSettings {
    pub max_upload_bytes: u64,
    pub upload_url_ttl: Duration,
    pub download_url_ttl: Duration,
    pub api_payload_limit: usize,
}

/// What every handler can reach; built once per process and cloned (cheaply) into each request.
#[derive(Clone)]
pub struct AppState {
    pub users: Arc<dyn UserStore>,
    pub artifacts: Arc<dyn ArtifactStore>,
    pub jobs: Arc<dyn JobStore>,
    pub blobs: Arc<dyn Blobs>,
    /// Transform jobs, for the Lambda worker.
    pub queue: Arc<dyn JobQueue>,
    /// Suggest-mapping jobs, for the GPU container worker.
    pub gpu_queue: Arc<dyn JobQueue>,
    pub tokens: Arc<TokenIssuer>,
    pub settings: ApiSettings,
}

impl AppState {
    pub fn new(settings: &Settings, clients: &AwsClients) -> Self {
        Self {
            users: Arc::new(DynamoUserStore::new(clients.dynamodb.clone(), &settings.users_table)),
            artifacts: Arc::new(DynamoArtifactStore::new(clients.dynamodb.clone(), &settings.artifacts_table)),
            jobs: Arc::new(DynamoJobStore::new(clients.dynamodb.clone(), &settings.jobs_table)),
            blobs: Arc::new(S3Blobs::new(clients.s3.clone(), &settings.artifacts_bucket)),
            queue: Arc::new(SqsJobQueue::new(clients.sqs.clone(), &settings.jobs_queue_url)),
            gpu_queue: Arc::new(SqsJobQueue::new(clients.sqs.clone(), &settings.gpu_queue_url)),
            tokens: Arc::new(TokenIssuer::new(TokenSettings {
                secret: settings.jwt_secret.clone(),
                issuer: settings.jwt_issuer.clone(),
                audience: settings.jwt_audience.clone(),
                ttl: settings.token_ttl,
            })),
            settings: ApiSettings {
                max_upload_bytes: settings.max_upload_bytes,
                upload_url_ttl: settings.upload_url_ttl,
                download_url_ttl: settings.download_url_ttl,
                api_payload_limit: settings.api_payload_limit,
            },
        }
    }
}
