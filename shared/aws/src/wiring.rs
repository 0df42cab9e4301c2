//! The AWS adapters of the ports, assembled from configuration: what each function's `main` and
//! the local platform build once per process.

use std::sync::Arc;

use helix_auth::{
    KeyDirectory, KeyDirectoryError, OidcVerifier, TokenError, TokenSettings, TokenSigner, TokenVerifier,
};
use helix_domain::{QuotaStore, RateBuckets, RequestKeyStore, SessionStore, SystemClock, TeamStore, UserStore};
use helix_jobs::{
    Access, ApiKeyService, ArtifactLimits, ArtifactService, InboxTrigger, JobService, JobSweeper, PipelineService,
    Queues, RunnerPorts, SessionGate, SessionService, SingleSignOn, TeamService, UploadWatcherPorts,
};

use helix_jobs::budgets::{BudgetService, BudgetWatch, BudgetWebhooks};
use helix_jobs::metering::{PriceTable, PriceTableError, UsageLedger};
use helix_jobs::{AuditService, AuditTrail, CostService};

use crate::config::{
    ArtifactConfig, JobConfig, LimitsConfig, SigningConfig, SsoConfig, SweeperConfig, TokenConfig, WorkerConfig,
};
use crate::keys::{S3KeyDirectory, SecretError, fetch_secret};
use crate::{
    AwsClients, DynamoApiKeyStore, DynamoArtifactStore, DynamoIdempotencyStore, DynamoJobStore, DynamoLoginAttempts,
    DynamoRequestKeyStore, DynamoSessionStore, DynamoTeamStore, DynamoUserStore, S3Blobs, SqsJobQueue,
};
use crate::{DynamoAuditLog, DynamoPipelineStore, DynamoQuotaStore, DynamoRateBuckets};

/// Who may do what in which team, read from `TEAMS_TABLE` (`Settings::teams_table`), and how
/// much of its plan each team uses, counted in `LIMITS_TABLE`: the one each of a process's
/// services checks with.
pub fn access(clients: &AwsClients, teams_table: &str, limits_table: &str) -> Arc<Access> {
    Arc::new(Access { teams: team_store(clients, teams_table), quotas: quota_store(clients, limits_table) })
}

/// The teams' quota counters in `LIMITS_TABLE`.
pub fn quota_store(clients: &AwsClients, table: &str) -> Arc<dyn QuotaStore> {
    Arc::new(DynamoQuotaStore::new(clients.dynamodb.clone(), table))
}

/// The callers' request-rate buckets in `LIMITS_TABLE`, shared by every API function.
pub fn rate_buckets(clients: &AwsClients, config: &LimitsConfig) -> Arc<dyn RateBuckets> {
    Arc::new(DynamoRateBuckets::new(clients.dynamodb.clone(), &config.table))
}

/// The audit trail in `AUDIT_TABLE` (`Settings::audit_table`), appended to by every service
/// that records what it does.
pub fn audit_trail(clients: &AwsClients, table: &str) -> Arc<AuditTrail> {
    Arc::new(AuditTrail {
        log: Arc::new(DynamoAuditLog::new(clients.dynamodb.clone(), table)),
        clock: Arc::new(SystemClock),
    })
}

/// Reading and verifying a team's audit trail (the users function's).
pub fn audit_service(clients: &AwsClients, table: &str, access: Arc<Access>) -> AuditService {
    AuditService { access, log: Arc::new(DynamoAuditLog::new(clients.dynamodb.clone(), table)) }
}

/// Teams' use cases; platform admins (who set plans) known by `USERS_TABLE`.
pub fn team_service(
    clients: &AwsClients,
    users_table: &str,
    access: Arc<Access>,
    audit: Arc<AuditTrail>,
) -> TeamService {
    TeamService { access, users: user_store(clients, users_table), clock: Arc::new(SystemClock), audit }
}

/// Teams' API keys in `API_KEYS_TABLE` (`Settings::api_keys_table`): managed by the users
/// function, checked by the jobs and artifacts functions on every request that carries one.
pub fn api_key_service(
    clients: &AwsClients,
    table: &str,
    access: Arc<Access>,
    audit: Arc<AuditTrail>,
) -> ApiKeyService {
    ApiKeyService {
        access,
        keys: Arc::new(DynamoApiKeyStore::new(clients.dynamodb.clone(), table)),
        clock: Arc::new(SystemClock),
        audit,
    }
}

pub fn artifact_service(
    clients: &AwsClients,
    config: &ArtifactConfig,
    access: Arc<Access>,
    audit: Arc<AuditTrail>,
) -> ArtifactService {
    ArtifactService {
        access,
        artifacts: Arc::new(DynamoArtifactStore::new(clients.dynamodb.clone(), &config.table)),
        blobs: Arc::new(S3Blobs::new(clients.s3.clone(), &config.bucket)),
        clock: Arc::new(SystemClock),
        limits: ArtifactLimits {
            max_upload_bytes: config.max_upload_bytes,
            multipart_threshold: config.multipart_threshold,
            upload_url_ttl: config.upload_url_ttl,
            download_url_ttl: config.download_url_ttl,
        },
        audit,
    }
}

/// Jobs' use cases; with `webhooks`, the budget thresholds its checks see are delivered to the
/// team's webhooks (otherwise by the next check of a process that has them).
pub fn job_service(
    clients: &AwsClients,
    artifacts: &ArtifactConfig,
    jobs: &JobConfig,
    access: Arc<Access>,
    audit: Arc<AuditTrail>,
    webhooks: Option<&crate::WebhookConfig>,
) -> Result<JobService, PriceTableError> {
    let watch = budget_watch(clients, &jobs.usage_table, audit.clone(), webhooks)?;
    Ok(JobService {
        artifacts: Arc::new(artifact_service(clients, artifacts, access.clone(), audit.clone())),
        budgets: Arc::new(BudgetService { access: access.clone(), watch }),
        access,
        jobs: Arc::new(DynamoJobStore::new(clients.dynamodb.clone(), &jobs.table)),
        queues: Queues {
            jobs: Arc::new(SqsJobQueue::new(clients.sqs.clone(), &jobs.queue_url)),
            gpu: Arc::new(SqsJobQueue::new(clients.sqs.clone(), &jobs.gpu_queue_url)),
        },
        clock: Arc::new(SystemClock),
        audit,
        usage: usage_ledger(clients, &jobs.usage_table),
    })
}

/// Teams' budgets in `USAGE_TABLE`, held to the month's metered cost; with `webhooks`, their
/// thresholds delivered to the webhooks of the team's pipelines (in `PIPELINES_TABLE`).
pub fn budget_watch(
    clients: &AwsClients,
    usage_table: &str,
    audit: Arc<AuditTrail>,
    webhooks: Option<&crate::WebhookConfig>,
) -> Result<Arc<BudgetWatch>, PriceTableError> {
    Ok(Arc::new(BudgetWatch {
        store: Arc::new(crate::DynamoBudgetStore::new(clients.dynamodb.clone(), usage_table)),
        ledger: usage_ledger(clients, usage_table),
        prices: Arc::new(PriceTable::bundled()?),
        audit,
        clock: Arc::new(SystemClock),
        webhooks: webhooks.map(|config| BudgetWebhooks {
            pipelines: Arc::new(DynamoPipelineStore::new(clients.dynamodb.clone(), &config.pipelines_table)),
            webhooks: webhook_store(clients, &config.pipelines_table),
            queue: Arc::new(crate::webhooks::SqsWebhookQueue::new(clients.sqs.clone(), &config.queue_url)),
        }),
    }))
}

/// The metering ledger in `USAGE_TABLE`.
pub fn usage_ledger(clients: &AwsClients, table: &str) -> Arc<dyn UsageLedger> {
    Arc::new(crate::DynamoUsageLedger::new(clients.dynamodb.clone(), table))
}

/// Costs read from the ledger in `USAGE_TABLE`, priced by the bundled price table, and the
/// bill's exports (uploaded artifacts) kept there too; platform admins known by `USERS_TABLE`.
pub fn cost_service(
    clients: &AwsClients,
    artifacts: &ArtifactConfig,
    usage_table: &str,
    users_table: &str,
    access: Arc<Access>,
) -> Result<CostService, PriceTableError> {
    Ok(CostService {
        access,
        users: user_store(clients, users_table),
        ledger: usage_ledger(clients, usage_table),
        prices: Arc::new(PriceTable::bundled()?),
        clock: Arc::new(SystemClock),
        artifacts: Arc::new(DynamoArtifactStore::new(clients.dynamodb.clone(), &artifacts.table)),
        blobs: Arc::new(S3Blobs::new(clients.s3.clone(), &artifacts.bucket)),
        billing: Arc::new(crate::DynamoBillingLedger::new(clients.dynamodb.clone(), usage_table)),
    })
}

/// Pipelines in `PIPELINES_TABLE`, their runs submitted through `jobs`; their inboxes in the
/// artifacts bucket.
pub fn pipeline_service(
    clients: &AwsClients,
    artifacts: &ArtifactConfig,
    config: &JobConfig,
    jobs: Arc<JobService>,
) -> PipelineService {
    PipelineService {
        access: jobs.access.clone(),
        pipelines: Arc::new(DynamoPipelineStore::new(clients.dynamodb.clone(), &config.pipelines_table)),
        clock: Arc::new(SystemClock),
        audit: jobs.audit.clone(),
        bucket: artifacts.bucket.clone(),
        jobs,
    }
}

/// A team's mapping memory, in the team's partition of `TEAMS_TABLE`.
pub fn mapping_memory(clients: &AwsClients, teams_table: &str) -> Arc<dyn helix_domain::MappingMemoryStore> {
    Arc::new(crate::DynamoMappingMemory::new(clients.dynamodb.clone(), teams_table))
}

/// Drafts confirmed into contexts or pipeline versions, and the team mapping memory they feed.
pub fn draft_review_service(
    clients: &AwsClients,
    teams_table: &str,
    pipelines: Arc<PipelineService>,
) -> helix_jobs::DraftReviewService {
    helix_jobs::DraftReviewService {
        jobs: pipelines.jobs.clone(),
        pipelines,
        memory: mapping_memory(clients, teams_table),
    }
}

pub fn runner_ports(clients: &AwsClients, artifacts: &ArtifactConfig, worker: &WorkerConfig) -> RunnerPorts {
    RunnerPorts {
        jobs: Arc::new(DynamoJobStore::new(clients.dynamodb.clone(), &worker.jobs_table)),
        artifacts: Arc::new(DynamoArtifactStore::new(clients.dynamodb.clone(), &artifacts.table)),
        blobs: Arc::new(S3Blobs::new(clients.s3.clone(), &artifacts.bucket)),
        idempotency: Arc::new(DynamoIdempotencyStore::new(clients.dynamodb.clone(), &worker.idempotency_table)),
        clock: Arc::new(SystemClock),
        usage: usage_ledger(clients, &worker.usage_table),
        quotas: quota_store(clients, &worker.limits_table),
    }
}

/// Pipeline runs started by inbox files, claimed in `IDEMPOTENCY_TABLE`.
pub fn inbox_trigger(
    clients: &AwsClients,
    artifacts: &ArtifactConfig,
    idempotency_table: &str,
    pipelines: Arc<PipelineService>,
) -> Arc<InboxTrigger> {
    Arc::new(InboxTrigger {
        pipelines,
        idempotency: Arc::new(DynamoIdempotencyStore::new(clients.dynamodb.clone(), idempotency_table)),
        max_file_bytes: artifacts.max_upload_bytes,
    })
}

pub fn upload_watcher_ports(
    clients: &AwsClients,
    artifacts: &ArtifactConfig,
    idempotency_table: &str,
    inbox: Arc<InboxTrigger>,
) -> UploadWatcherPorts {
    UploadWatcherPorts {
        inbox,
        artifacts: Arc::new(DynamoArtifactStore::new(clients.dynamodb.clone(), &artifacts.table)),
        blobs: Arc::new(S3Blobs::new(clients.s3.clone(), &artifacts.bucket)),
        idempotency: Arc::new(DynamoIdempotencyStore::new(clients.dynamodb.clone(), idempotency_table)),
        clock: Arc::new(SystemClock),
        max_upload_bytes: artifacts.max_upload_bytes,
    }
}

pub fn sweeper(clients: &AwsClients, config: &SweeperConfig) -> JobSweeper {
    JobSweeper {
        jobs: Arc::new(DynamoJobStore::new(clients.dynamodb.clone(), &config.jobs_table)),
        queues: Queues {
            jobs: Arc::new(SqsJobQueue::new(clients.sqs.clone(), &config.queue_url)),
            gpu: Arc::new(SqsJobQueue::new(clients.sqs.clone(), &config.gpu_queue_url)),
        },
        clock: Arc::new(SystemClock),
        quotas: quota_store(clients, &config.limits_table),
        stale_after: config.stale_after,
        relay_after: config.relay_after,
    }
}

pub fn token_settings(config: &TokenConfig) -> TokenSettings {
    TokenSettings { issuer: config.issuer.clone(), audience: config.audience.clone(), ttl: config.ttl }
}

/// Where the signer publishes its public keys and the verifiers read them: `keys/jwks.json` in the
/// artifacts bucket.
pub fn key_directory(clients: &AwsClients, config: &TokenConfig) -> Arc<dyn KeyDirectory> {
    Arc::new(S3KeyDirectory::new(clients.s3.clone(), &config.keys_bucket))
}

/// Every HTTP function's token check. Reads nothing until the first token comes.
pub fn token_verifier(clients: &AwsClients, config: &TokenConfig) -> TokenVerifier {
    TokenVerifier::new(&token_settings(config), key_directory(clients, config))
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("the signing key: {0}")]
    Key(#[from] TokenError),
    #[error("publishing the public key: {0}")]
    Publish(#[from] KeyDirectoryError),
}

/// The token signer of the function that signs: the secret fetched from Secrets Manager, the key
/// pair derived from it, and its public key published for the verifiers.
pub async fn token_signer(
    clients: &AwsClients,
    config: &TokenConfig,
    signing: &SigningConfig,
) -> Result<TokenSigner, SignerError> {
    let secret = fetch_secret(&clients.secretsmanager, &signing.secret_arn).await?;
    publishing_signer(clients, config, &secret).await
}

/// A signer from a secret already in hand (the local platform's), its public key published.
pub async fn publishing_signer(
    clients: &AwsClients,
    config: &TokenConfig,
    secret: &[u8],
) -> Result<TokenSigner, SignerError> {
    let mut signer = TokenSigner::new(secret, token_settings(config))?;
    // Ahead of the keys published before, which go on verifying their tokens: a rotated secret
    // logs nobody out.
    signer.publish(&*key_directory(clients, config)).await?;
    tracing::info!(kid = signer.kid(), keys = signer.jwks().keys.len(), "token signing key published");
    Ok(signer)
}

pub fn session_store(clients: &AwsClients, config: &TokenConfig) -> Arc<dyn SessionStore> {
    Arc::new(DynamoSessionStore::new(clients.dynamodb.clone(), &config.sessions_table))
}

/// Every HTTP function's check that a token's session is still on.
pub fn session_gate(clients: &AwsClients, config: &TokenConfig) -> SessionGate {
    SessionGate::new(session_store(clients, config), Arc::new(SystemClock))
}

/// Logins, refreshes and logouts: the auth function's (and the local platform's).
pub fn session_service(
    clients: &AwsClients,
    config: &TokenConfig,
    users_table: &str,
    signer: Arc<TokenSigner>,
    audit: Arc<AuditTrail>,
) -> SessionService {
    SessionService {
        users: user_store(clients, users_table),
        audit,
        sessions: session_store(clients, config),
        attempts: Arc::new(DynamoLoginAttempts::new(clients.dynamodb.clone(), &config.sessions_table)),
        signer,
        clock: Arc::new(SystemClock),
        refresh_ttl: config.refresh_ttl,
    }
}

/// Single sign-on over the login sessions, where issuers are configured (the auth function's and
/// the local platform's).
pub fn single_sign_on(
    clients: &AwsClients,
    config: &SsoConfig,
    sessions: Arc<SessionService>,
    teams_table: &str,
    audit: Arc<AuditTrail>,
) -> Option<Arc<SingleSignOn>> {
    if config.issuers.is_empty() {
        return None;
    }
    Some(Arc::new(SingleSignOn {
        verifier: Arc::new(OidcVerifier::new(config.issuers.clone())),
        sessions,
        teams: team_store(clients, teams_table),
        audit,
        clock: Arc::new(SystemClock),
    }))
}

pub fn user_store(clients: &AwsClients, table: &str) -> Arc<dyn UserStore> {
    Arc::new(DynamoUserStore::new(clients.dynamodb.clone(), table))
}

/// Teams, members and invitations in `TEAMS_TABLE`.
pub fn team_store(clients: &AwsClients, table: &str) -> Arc<dyn TeamStore> {
    Arc::new(DynamoTeamStore::new(clients.dynamodb.clone(), table))
}

pub fn request_key_store(clients: &AwsClients, idempotency_table: &str) -> Arc<dyn RequestKeyStore> {
    Arc::new(DynamoRequestKeyStore::new(clients.dynamodb.clone(), idempotency_table))
}

/// Webhooks and their deliveries in `PIPELINES_TABLE`.
pub fn webhook_store(clients: &AwsClients, pipelines_table: &str) -> Arc<dyn helix_domain::WebhookStore> {
    Arc::new(crate::DynamoWebhookStore::new(clients.dynamodb.clone(), pipelines_table))
}

/// What every process that ends jobs tells of them: a delivery per webhook, queued.
pub fn run_notifier(clients: &AwsClients, config: &crate::WebhookConfig) -> Arc<helix_jobs::RunNotifier> {
    Arc::new(helix_jobs::RunNotifier {
        webhooks: webhook_store(clients, &config.pipelines_table),
        queue: Arc::new(crate::webhooks::SqsWebhookQueue::new(clients.sqs.clone(), &config.queue_url)),
        clock: Arc::new(SystemClock),
    })
}

/// The pipelines' webhooks as the jobs function serves them.
pub fn webhook_service(
    clients: &AwsClients,
    config: &crate::WebhookConfig,
    pipelines: Arc<PipelineService>,
) -> helix_jobs::WebhookService {
    helix_jobs::WebhookService {
        pipelines,
        webhooks: webhook_store(clients, &config.pipelines_table),
        notifier: run_notifier(clients, config),
        clock: Arc::new(SystemClock),
        destinations: webhook_destinations(config),
    }
}

/// Where webhooks may send: public addresses over https, looked up in DNS; loopback too where
/// `WEBHOOK_ALLOW_LOOPBACK` says so (local development).
pub fn webhook_destinations(config: &crate::WebhookConfig) -> Arc<helix_jobs::Destinations> {
    Arc::new(helix_jobs::Destinations {
        resolver: Arc::new(helix_jobs::SystemResolver),
        allow_loopback: config.allow_loopback,
    })
}

/// The webhook queue's worker.
pub fn webhook_deliverer(
    clients: &AwsClients,
    config: &crate::WebhookConfig,
) -> Result<helix_jobs::WebhookDeliverer, reqwest::Error> {
    Ok(helix_jobs::WebhookDeliverer {
        webhooks: webhook_store(clients, &config.pipelines_table),
        queue: Arc::new(crate::webhooks::SqsWebhookQueue::new(clients.sqs.clone(), &config.queue_url)),
        sender: Arc::new(crate::webhooks::HttpWebhookSender::new(config.timeout, webhook_destinations(config))?),
        clock: Arc::new(SystemClock),
        backoff: helix_jobs::Backoff::with_base(config.backoff_base),
    })
}

/// Schedules in `PIPELINES_TABLE`.
pub fn schedule_store(clients: &AwsClients, pipelines_table: &str) -> Arc<dyn helix_domain::ScheduleStore> {
    Arc::new(crate::DynamoScheduleStore::new(clients.dynamodb.clone(), pipelines_table))
}

/// The cloud's schedule timer: one-shot EventBridge Scheduler schedules that wake the schedule
/// queue.
pub async fn schedule_timer(config: &crate::ScheduleConfig) -> Arc<dyn helix_domain::ScheduleTimer> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Arc::new(crate::schedules::EventBridgeScheduleTimer::new(
        aws_sdk_scheduler::Client::new(&sdk),
        &config.queue_arn,
        &config.role_arn,
    ))
}

pub fn schedule_service(
    clients: &AwsClients,
    pipelines_table: &str,
    pipelines: Arc<PipelineService>,
    timer: Arc<dyn helix_domain::ScheduleTimer>,
) -> helix_jobs::ScheduleService {
    helix_jobs::ScheduleService {
        schedules: schedule_store(clients, pipelines_table),
        pipelines,
        timer,
        clock: Arc::new(SystemClock),
    }
}

/// Fires schedules; a schedule that reads an inbox folder hands its files to `inbox`.
pub fn schedule_trigger(
    clients: &AwsClients,
    pipelines_table: &str,
    pipelines: Arc<PipelineService>,
    timer: Arc<dyn helix_domain::ScheduleTimer>,
    inbox: Arc<InboxTrigger>,
) -> helix_jobs::ScheduleTrigger {
    helix_jobs::ScheduleTrigger {
        schedules: schedule_store(clients, pipelines_table),
        pipelines,
        timer,
        clock: Arc::new(SystemClock),
        inbox,
    }
}

/// How the job worker spreads a big input over many workers: shard messages on the job queue
/// (`JOBS_QUEUE_URL`), plans in `IDEMPOTENCY_TABLE`.
pub fn sharding(
    clients: &AwsClients,
    queue_url: &str,
    worker: &WorkerConfig,
    config: helix_jobs::ShardConfig,
) -> helix_jobs::Sharding {
    helix_jobs::Sharding {
        queue: Arc::new(SqsJobQueue::new(clients.sqs.clone(), queue_url)),
        store: Arc::new(crate::DynamoShardStore::new(clients.dynamodb.clone(), &worker.idempotency_table)),
        config,
        work: helix_jobs::ShardWork::per_core(),
    }
}

/// Running jobs' progress, on their items in `JOBS_TABLE`.
pub fn progress_store(clients: &AwsClients, jobs_table: &str) -> Arc<dyn helix_domain::ProgressStore> {
    Arc::new(crate::DynamoProgressStore::new(clients.dynamodb.clone(), jobs_table))
}

/// Moves a failed inbox run's file to `failed/` in the artifacts bucket.
pub fn failed_inbox_runs(clients: &AwsClients, artifacts: &ArtifactConfig) -> Arc<helix_jobs::FailedInboxRuns> {
    Arc::new(helix_jobs::FailedInboxRuns {
        artifacts: Arc::new(DynamoArtifactStore::new(clients.dynamodb.clone(), &artifacts.table)),
        blobs: Arc::new(S3Blobs::new(clients.s3.clone(), &artifacts.bucket)),
    })
}
