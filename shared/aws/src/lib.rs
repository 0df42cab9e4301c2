//! The AWS side of the platform's edges: DynamoDB stores, S3 blobs, the SQS job queue and the SQS
//! poller, plus the typed configuration every function reads once at start-up, the assembly of
//! the ports from it, and the tracing set-up.

pub mod config;
mod dynamo;
pub mod keys;
pub mod poller;
mod s3;
pub mod schedules;
mod sqs;
pub mod telemetry;
pub mod webhooks;
pub mod wiring;

pub use config::shard_config;
pub use config::{
    ArtifactConfig, ConfigError, Env, JobConfig, LimitsConfig, ScheduleConfig, Settings, SigningConfig, SsoConfig,
    SweeperConfig, TokenConfig, WebhookConfig, WorkerConfig,
};
pub use dynamo::DynamoAuditLog;
pub use dynamo::DynamoMappingMemory;
pub use dynamo::DynamoPipelineStore;
pub use dynamo::DynamoProgressStore;
pub use dynamo::DynamoScheduleStore;
pub use dynamo::DynamoShardStore;
pub use dynamo::DynamoWebhookStore;
pub use dynamo::{
    DynamoApiKeyStore, DynamoArtifactStore, DynamoIdempotencyStore, DynamoJobStore, DynamoLoginAttempts,
    DynamoRequestKeyStore, DynamoSessionStore, DynamoTeamStore, DynamoUserStore,
};
pub use dynamo::{DynamoBillingLedger, DynamoBudgetStore, DynamoUsageLedger};
pub use dynamo::{DynamoQuotaStore, DynamoRateBuckets};
pub use keys::{JWKS_OBJECT_KEY, S3KeyDirectory};
pub use poller::{Heartbeat, PollOptions, SqsPoller};
pub use s3::S3Blobs;
pub use sqs::SqsJobQueue;

/// The SDK clients a function needs, built once per process from one `SdkConfig`.
#[derive(Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// Only the signing function calls it (`GetSecretValue`, once at start-up).
    pub secretsmanager: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    /// Reads region, credentials and endpoints the SDK's usual way, so `AWS_ENDPOINT_URL` and
    /// `AWS_ENDPOINT_URL_S3` / `_SQS` / `_DYNAMODB` / `_SECRETS_MANAGER` point the same binary at an emulator.
    pub async fn from_env(env: &Env) -> Self {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::new(&sdk, env.s3_force_path_style())
    }

    pub fn new(sdk: &aws_config::SdkConfig, s3_force_path_style: bool) -> Self {
        let sdk = sdk.to_builder().timeout_config(timeouts()).build();
        let s3 = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(s3_force_path_style).build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            secretsmanager: aws_sdk_secretsmanager::Client::new(&sdk),
        }
    }
}

/// The SDK sets no limit on how long an answer may take: a request whose answer never comes
/// (a dropped connection, an emulator that stalls one) would hold a job RUNNING until its lease
/// ran out. Each attempt now ends after a minute (a long poll waits 20 s at most) and is retried
/// by the SDK's retry policy on a fresh connection.
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .operation_attempt_timeout(std::time::Duration::from_secs(60))
        .build()
}
