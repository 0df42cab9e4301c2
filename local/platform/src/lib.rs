//! The cloud on one machine: provisions the template's resources on an emulator, serves every HTTP
//! function on one router, and drives the workers from the emulated queues with the same handlers
//! the Lambda shims call. `make dev` and the end-to-end tests both start the platform through here.

pub mod emulator;
pub mod provision;
pub mod seed;
pub mod template;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use helix_api::{
    ArtifactsState, AuthState, Authenticator, JobsState, RequestKeys, RequestLimiter, TeamsState, UsersState,
};
use helix_aws::{AwsClients, Env, PollOptions, Settings, SqsPoller, WebhookConfig, wiring};
use helix_jobs::{Attempt, JobRunner, RunnerConfig, StopSignal, UploadWatcher};
use tokio::task::JoinHandle;

use crate::provision::{ProvisionOptions, Provisioned, Provisioner};
use crate::template::Template;

/// Where the emulated AWS services are: DynamoDB and Secrets Manager on `endpoint`, S3 and SQS
/// there too unless `s3_endpoint` / `sqs_endpoint` send them elsewhere (a signature-checking S3
/// for the presigned-URL tests; LocalStack's S3 and SQS in `make test-localstack`).
#[derive(Clone, Debug)]
pub struct LocalAws {
    pub endpoint: String,
    pub s3_endpoint: Option<String>,
    pub sqs_endpoint: Option<String>,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl LocalAws {
    /// The emulator's usual settings: any key is accepted.
    pub fn at(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            s3_endpoint: None,
            sqs_endpoint: None,
            access_key: "test".into(),
            secret_key: "test".into(),
            region: "us-east-1".into(),
        }
    }

    /// Where S3 requests (and the presigned URLs handed out) go.
    pub fn s3_url(&self) -> &str {
        self.s3_endpoint.as_deref().unwrap_or(&self.endpoint)
    }

    /// Where SQS requests go.
    pub fn sqs_url(&self) -> &str {
        self.sqs_endpoint.as_deref().unwrap_or(&self.endpoint)
    }

    fn sdk_config(&self, endpoint: &str) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new(&self.access_key, &self.secret_key, None, None, "helix-local"),
            ))
            .build()
    }

    fn clients_with(&self, s3_force_path_style: bool) -> AwsClients {
        let sdk = self.sdk_config(&self.endpoint);
        let s3_sdk = self.sdk_config(self.s3_url());
        AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&self.sdk_config(self.sqs_url())),
            secretsmanager: aws_sdk_secretsmanager::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&s3_sdk).force_path_style(s3_force_path_style).build(),
            ),
        }
    }

    pub fn clients(&self, settings: &Settings) -> AwsClients {
        self.clients_with(settings.s3_force_path_style)
    }

    /// Clients for provisioning and inspection, before any `Settings` exist.
    pub fn raw_clients(&self) -> AwsClients {
        self.clients_with(true)
    }
}

pub struct PlatformOptions {
    pub aws: LocalAws,
    pub prefix: String,
    pub listen: SocketAddr,
    /// The browser origin the bucket's CORS rule allows (the dashboard's).
    pub dashboard_origin: String,
    /// The token signing secret: the template's `JwtSecret` (provisioned on the emulator with this
    /// value); the platform signs with it directly.
    pub jwt_secret: String,
    pub visibility_timeout_override: Option<i32>,
    /// Settings beyond the template's (`JOB_LEASE_SECONDS`, `MAX_UPLOAD_BYTES`, ...).
    pub extra_env: BTreeMap<String, String>,
    /// The job worker; off in tests that drive deliveries by hand. The upload watcher always runs.
    pub run_job_worker: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    #[error(transparent)]
    Provision(#[from] provision::ProvisionError),
    #[error(transparent)]
    Config(#[from] helix_aws::ConfigError),
    #[error("dashboard: {0}")]
    Dashboard(String),
    #[error(transparent)]
    Prices(#[from] helix_jobs::metering::PriceTableError),
    #[error("listening on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("webhook HTTP client: {0}")]
    WebhookClient(reqwest::Error),
    #[error("token signer: {0}")]
    Signer(#[from] wiring::SignerError),
    #[error("JOB_LEASE_SECONDS ({lease}) must be shorter than the queues' visibility timeout ({visibility} s)")]
    Timing { lease: u64, visibility: i32 },
}

/// A running local platform; dropping it stops the server and the workers.
pub struct Platform {
    pub addr: SocketAddr,
    pub settings: Settings,
    pub clients: AwsClients,
    pub provisioned: Provisioned,
    tasks: Vec<JoinHandle<()>>,
    workers: Vec<Worker>,
}

impl Platform {
    pub async fn start(options: PlatformOptions) -> Result<Self, PlatformError> {
        helix_aws::telemetry::init_metrics();
        let template = Template::load(&template::default_path())?;
        let raw = options.aws.raw_clients();
        let provision_options = ProvisionOptions {
            prefix: options.prefix.clone(),
            parameters: BTreeMap::from([("DashboardOrigin".to_owned(), options.dashboard_origin.clone())]),
            env_values: BTreeMap::from([
                ("DASHBOARD_CONNECT_SRC".to_owned(), options.aws.s3_url().to_owned()),
                // The events are served beside the API here, on the page's own origin.
                ("DASHBOARD_EVENTS_URL".to_owned(), String::new()),
                // No EventBridge Scheduler here: the platform polls the schedules itself.
                ("SCHEDULER_ROLE_ARN".to_owned(), "none: schedules are polled locally".to_owned()),
            ]),
            secret_values: BTreeMap::from([("JwtSecret".to_owned(), options.jwt_secret.clone())]),
            visibility_timeout_override: options.visibility_timeout_override,
        };
        let provisioned =
            Provisioner { dynamodb: &raw.dynamodb, sqs: &raw.sqs, s3: &raw.s3, secretsmanager: &raw.secretsmanager }
                .provision(&template, &provision_options)
                .await?;
        let mut env = provisioned.env.clone();
        env.insert("AWS_S3_FORCE_PATH_STYLE".into(), "true".into());
        // Local receivers (a developer's, the tests') listen on loopback, over http.
        env.insert("WEBHOOK_ALLOW_LOOPBACK".into(), "true".into());
        env.extend(options.extra_env.clone());
        let webhook_config = WebhookConfig::read(&Env::from_map(env.clone()))?;
        let settings = Settings::read(&Env::from_map(env))?;
        check_timing(settings.worker.lease, options.visibility_timeout_override)?;
        let clients = options.aws.clients(&settings);

        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| PlatformError::Listen { addr: options.listen, source })?;
        let addr = listener.local_addr().map_err(|source| PlatformError::Listen { addr: options.listen, source })?;
        // The browser PUTs and GETs presigned URLs on the S3 endpoint: the page's CSP must allow it.
        let s3_origin = options.aws.s3_url();
        let dashboard =
            helix_web::DashboardConfig::parse(s3_origin).map_err(|e| PlatformError::Dashboard(e.to_string()))?;
        // What the auth function does at start-up (with the secret in hand, not fetched): the key
        // pair derived, its public key published to the bucket, where the verifiers read it.
        let signer =
            Arc::new(wiring::publishing_signer(&clients, &settings.tokens, options.jwt_secret.as_bytes()).await?);
        let auth = Arc::new(Authenticator {
            tokens: Arc::new(wiring::token_verifier(&clients, &settings.tokens)),
            sessions: Arc::new(wiring::session_gate(&clients, &settings.tokens)),
            limiter: Arc::new(RequestLimiter {
                buckets: wiring::rate_buckets(&clients, &settings.limits),
                limit: settings.limits.rate,
            }),
        });

        let users = wiring::user_store(&clients, &settings.users_table);
        let request_keys = wiring::request_key_store(&clients, &settings.worker.idempotency_table);
        let access = wiring::access(&clients, &settings.teams_table, &settings.limits.table);
        let trail = wiring::audit_trail(&clients, &settings.audit_table);
        let sessions = Arc::new(wiring::session_service(
            &clients,
            &settings.tokens,
            &settings.users_table,
            signer.clone(),
            trail.clone(),
        ));
        let sso =
            wiring::single_sign_on(&clients, &settings.sso, sessions.clone(), &settings.teams_table, trail.clone());
        let keys = Arc::new(wiring::api_key_service(&clients, &settings.api_keys_table, access.clone(), trail.clone()));
        let jobs = Arc::new(wiring::job_service(
            &clients,
            &settings.artifacts,
            &settings.jobs,
            access.clone(),
            trail.clone(),
            Some(&webhook_config),
        )?);
        let pipelines = Arc::new(wiring::pipeline_service(&clients, &settings.artifacts, &settings.jobs, jobs.clone()));
        let notifier = wiring::run_notifier(&clients, &webhook_config);
        // The workers' check of an ended job's team's budget (BudgetWatch).
        let budgets = jobs.budgets.watch.clone();
        let webhooks = Arc::new(wiring::webhook_service(&clients, &webhook_config, pipelines.clone()));
        // Locally no EventBridge: the schedules are polled (below), the same firing as the cloud's.
        let timer: Arc<dyn helix_domain::ScheduleTimer> = Arc::new(helix_domain::PolledScheduleTimer);
        let pipelines_table = &settings.jobs.pipelines_table;
        let schedules = Arc::new(wiring::schedule_service(&clients, pipelines_table, pipelines.clone(), timer.clone()));
        let inbox =
            wiring::inbox_trigger(&clients, &settings.artifacts, &settings.worker.idempotency_table, pipelines.clone());
        let schedule_trigger =
            wiring::schedule_trigger(&clients, pipelines_table, pipelines.clone(), timer, inbox.clone());
        let progress = wiring::progress_store(&clients, &settings.jobs.table);
        let events = helix_api::EventsState {
            jobs: jobs.clone(),
            pipelines: pipelines.clone(),
            progress,
            keys: keys.clone(),
            auth: auth.clone(),
        };
        let api = helix_api::api_router(
            // Served over plain HTTP on loopback, where not every browser keeps a Secure cookie.
            AuthState { sessions, sso, signer, auth: auth.clone(), secure_cookies: false },
            UsersState { users, auth: auth.clone() },
            TeamsState {
                teams: Arc::new(wiring::team_service(&clients, &settings.users_table, access.clone(), trail.clone())),
                keys: keys.clone(),
                audit: Arc::new(wiring::audit_service(&clients, &settings.audit_table, access.clone())),
                auth: auth.clone(),
            },
            ArtifactsState {
                artifacts: Arc::new(wiring::artifact_service(
                    &clients,
                    &settings.artifacts,
                    access.clone(),
                    trail.clone(),
                )),
                keys: keys.clone(),
                auth: auth.clone(),
                request_keys: RequestKeys::new(request_keys.clone(), settings.jobs.api_payload_limit),
            },
            JobsState {
                costs: Arc::new(wiring::cost_service(
                    &clients,
                    &settings.artifacts,
                    &settings.jobs.usage_table,
                    &settings.users_table,
                    access.clone(),
                )?),
                reviews: Arc::new(wiring::draft_review_service(&clients, &settings.teams_table, pipelines.clone())),
                pipelines: pipelines.clone(),
                webhooks,
                schedules,
                jobs,
                keys,
                auth,
                payload_limit: settings.jobs.api_payload_limit,
                request_keys: RequestKeys::new(request_keys, settings.jobs.api_payload_limit),
            },
        );
        let app = api
            .merge(helix_api::events_router(events))
            .merge(helix_web::router_with(&dashboard))
            .route("/metrics", axum::routing::get(prometheus_metrics));
        let mut tasks = vec![tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        })];

        let mut workers = Vec::new();
        if options.run_job_worker {
            // A chained run's next steps are submitted by the end of the step before (ChainDriver).
            let chains = Arc::new(helix_jobs::ChainDriver { pipelines: pipelines.clone(), events: notifier.clone() });
            let runner = job_worker(&settings, &clients)
                .with_events(notifier.clone())
                .with_events(chains)
                .with_events(budgets.clone());
            let poller = local_poller(&clients, settings.jobs.queue_url.clone(), job_queue_options());
            workers.push(spawn_runner(runner, poller));
            workers.extend(gpu_worker(&settings, &clients, notifier, budgets));
        }
        tasks.push(tokio::spawn(async move {
            // The first tick is at once: a slot missed while the platform was down fires now, once.
            let mut every = tokio::time::interval(SCHEDULE_POLL);
            loop {
                every.tick().await;
                if let Err(e) = schedule_trigger.fire_due().await {
                    tracing::warn!(error = %e, "schedules not polled");
                }
            }
        }));
        let deliverer = wiring::webhook_deliverer(&clients, &webhook_config).map_err(PlatformError::WebhookClient)?;
        let poller = local_poller(&clients, webhook_config.queue_url.clone(), PollOptions::default());
        tasks.push(tokio::spawn(async move {
            poller.run(|event| deliverer.handle(event), std::future::pending()).await;
        }));
        let sweeper = wiring::sweeper(&clients, &settings.sweeper);
        tasks.push(tokio::spawn(async move {
            // The cloud's schedule is every 5 minutes; locally leases and timeouts are short.
            let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
            loop {
                every.tick().await;
                if let Err(e) = sweeper.sweep().await {
                    tracing::warn!(error = %e, "sweep failed");
                }
            }
        }));
        let watcher = Arc::new(UploadWatcher::new(wiring::upload_watcher_ports(
            &clients,
            &settings.artifacts,
            &settings.worker.idempotency_table,
            inbox,
        )));
        let uploads_url = provisioned.queue_urls.get("UploadEventsQueue").cloned().unwrap_or_default();
        let poller = local_poller(&clients, uploads_url, PollOptions::default());
        tasks.push(tokio::spawn(async move {
            poller.run(|event| watcher.handle(event), std::future::pending()).await;
        }));
        Ok(Self { addr, settings, clients, provisioned, tasks, workers })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the workers as a stopping Lambda or container would be stopped, but handing their
    /// running jobs back at once (they run again on their next delivery) instead of leaving them
    /// to their leases; then everything else.
    pub async fn stop(mut self) {
        for worker in &self.workers {
            worker.stop.stop();
        }
        for worker in self.workers.drain(..) {
            if tokio::time::timeout(STOP_GRACE, worker.task).await.is_err() {
                tracing::warn!("a worker did not stop in time");
            }
        }
    }
}

/// How often the local platform looks for schedules whose slot has come (EventBridge Scheduler
/// wakes the cloud at the slot).
const SCHEDULE_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a stopping worker has to hand its jobs back.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A job runner polling its queue, and how to stop it.
struct Worker {
    task: JoinHandle<()>,
    stop: StopSignal,
}

/// The job queue's event source mapping runs up to `WorkerMaxConcurrency` Lambdas of one message
/// each. One process takes one message per receive and two per core: one on the CPU while the
/// other waits on its requests. A process that took more (it took 20) held shard messages it
/// could not work on (`ShardWork`) while other processes found the queue empty at a phase's end.
fn job_queue_options() -> PollOptions {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    PollOptions { batch: 1, concurrency: 2 * cores, ..PollOptions::default() }
}

/// What Lambda's SQS event source does (or the GPU container's poll loop, `options`), on an
/// emulated queue, with short polls so that a stopping platform is not held up.
fn local_poller(clients: &AwsClients, queue_url: String, options: PollOptions) -> SqsPoller {
    SqsPoller { sqs: clients.sqs.clone(), queue_url, options: PollOptions { wait_seconds: 1, ..options } }
}

fn runner(settings: &Settings, clients: &AwsClients, name: &'static str, attempts: Vec<Arc<dyn Attempt>>) -> JobRunner {
    let config = RunnerConfig::for_worker(name, settings.worker.max_attempts, settings.worker.lease);
    JobRunner::new(wiring::runner_ports(clients, &settings.artifacts, &settings.worker), config, attempts)
        .with_progress(wiring::progress_store(clients, &settings.jobs.table))
        .with_events(wiring::failed_inbox_runs(clients, &settings.artifacts))
}

/// The transform job worker, as its Lambda runs it.
pub fn job_worker(settings: &Settings, clients: &AwsClients) -> JobRunner {
    let sharding = wiring::sharding(clients, &settings.jobs.queue_url, &settings.worker, settings.shards);
    runner(settings, clients, "job-worker", vec![Arc::new(helix_jobs::ShardedTransformAttempt::new(sharding))])
}

/// The transform job worker, driven from its emulated queue.
pub fn spawn_job_worker(settings: &Settings, clients: &AwsClients) -> JoinHandle<()> {
    let runner = job_worker(settings, clients);
    let poller = local_poller(clients, settings.jobs.queue_url.clone(), job_queue_options());
    tokio::spawn(async move { poller.run(|event| runner.handle(event), std::future::pending()).await })
}

/// Polls until stopped: a stopped runner hands its running jobs back, and the poller stops
/// receiving.
fn spawn_runner(runner: JobRunner, poller: SqsPoller) -> Worker {
    let stop = runner.stop_signal();
    let stopped = stop.clone();
    let task = tokio::spawn(async move { poller.run(|event| runner.handle(event), stopped.wait()).await });
    Worker { task, stop }
}

/// The GPU container worker, on the CPU, against the emulated GPU queue; the model loads on the
/// first job. Without a model (`scripts/setup.sh` installs it) suggest-mapping and `auto_map`
/// jobs wait.
fn gpu_worker(
    settings: &Settings,
    clients: &AwsClients,
    events: Arc<helix_jobs::RunNotifier>,
    budgets: Arc<helix_jobs::budgets::BudgetWatch>,
) -> Option<Worker> {
    let dir = match helix_suggest::model_dir() {
        Ok(dir) => dir,
        Err(e) => {
            tracing::warn!(error = %e, "no GPU worker: suggest-mapping and auto_map jobs will stay PENDING");
            return None;
        }
    };
    let memory = wiring::mapping_memory(clients, &settings.teams_table);
    let attempts = helix_jobs::gpu_attempts(Arc::new(helix_suggest::LazyMiniLm::new(dir)), memory);
    let runner = runner(settings, clients, "gpu-worker", attempts).with_events(events).with_events(budgets);
    let options = PollOptions::long_running(settings.worker.lease);
    Some(spawn_runner(runner, local_poller(clients, settings.jobs.gpu_queue_url.clone(), options)))
}

impl Drop for Platform {
    fn drop(&mut self) {
        for task in self.tasks.iter().chain(self.workers.iter().map(|w| &w.task)) {
            task.abort();
        }
    }
}

/// A killed worker's job is taken over by the first redelivery only if its lease (and its
/// idempotency record, which lasts as long) has run out when the message comes back.
fn check_timing(lease: std::time::Duration, visibility: Option<i32>) -> Result<(), PlatformError> {
    match visibility {
        Some(visibility) if lease.as_secs() >= visibility.max(0) as u64 => {
            Err(PlatformError::Timing { lease: lease.as_secs(), visibility })
        }
        _ => Ok(()),
    }
}

/// `GET /metrics`: what the functions recorded, in Prometheus' text format; the same recording
/// that the Lambda functions write as CloudWatch EMF.
async fn prometheus_metrics() -> axum::response::Response {
    use axum::response::IntoResponse;
    match helix_aws::telemetry::prometheus_text() {
        Some(text) => ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "metrics are not kept in this process").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_lease_as_long_as_the_visibility_timeout_is_refused() {
        assert!(check_timing(Duration::from_secs(45), Some(60)).is_ok());
        assert!(check_timing(Duration::from_secs(60), None).is_ok());
        for lease in [60, 61] {
            let e = check_timing(Duration::from_secs(lease), Some(60)).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("JOB_LEASE_SECONDS ({lease}) must be shorter than the queues' visibility timeout (60 s)")
            );
        }
    }
}
