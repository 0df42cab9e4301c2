//! The jobs function's own cost per request, with every store in memory: what our code adds to
//! a Lambda invocation, without the network. Prints a table; `make bench-api` runs it.
//!
//! `init` builds the ports, the service and the router, as a function's `main` does once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use helix_api::{Authenticator, JobsState, RequestKeys};
use helix_auth::{MemoryKeyDirectory, TokenSettings, TokenSigner, TokenVerifier};
use helix_domain::memory::{
    MemoryApiKeyStore, MemoryArtifactStore, MemoryAuditLog, MemoryBlobs, MemoryJobQueue, MemoryJobStore,
    MemoryPipelineStore, MemoryRequestKeyStore, MemorySessionStore, MemoryTeamStore, MemoryUserStore,
};
use helix_domain::{Job, JobInputs, JobKind, JobStore, Session, SessionStore, SystemClock, Timestamp, User};
use helix_jobs::billing::MemoryBillingLedger;
use helix_jobs::budgets::{BudgetService, BudgetWatch, MemoryBudgetStore};
use helix_jobs::metering::{MemoryUsageLedger, PriceTable};
use helix_jobs::{
    Access, ApiKeyService, ArtifactLimits, ArtifactService, AuditTrail, CostService, JobService, PipelineService,
    Queues, SessionGate,
};

const REQUESTS: usize = 20_000;
const SESSION: &str = "bench-session";

async fn init() -> (axum::Router, Arc<MemoryJobStore>, TokenSigner) {
    let jobs = Arc::new(MemoryJobStore::default());
    let blobs = Arc::new(MemoryBlobs::default());
    let access = Arc::new(Access {
        teams: Arc::new(MemoryTeamStore::default()),
        quotas: Arc::new(helix_domain::quota::MemoryQuotaStore::default()),
    });
    let audit = Arc::new(AuditTrail { log: Arc::new(MemoryAuditLog::default()), clock: Arc::new(SystemClock) });
    let artifacts = Arc::new(ArtifactService {
        access: access.clone(),
        artifacts: Arc::new(MemoryArtifactStore::default()),
        blobs: blobs.clone(),
        clock: Arc::new(SystemClock),
        limits: ArtifactLimits {
            max_upload_bytes: 1 << 20,
            multipart_threshold: 1 << 20,
            upload_url_ttl: Duration::from_secs(900),
            download_url_ttl: Duration::from_secs(300),
        },
        audit: audit.clone(),
    });
    let usage = Arc::new(MemoryUsageLedger::default());
    let prices = Arc::new(PriceTable::bundled().unwrap());
    let service = JobService {
        access: access.clone(),
        artifacts,
        jobs: jobs.clone(),
        queues: Queues { jobs: Arc::new(MemoryJobQueue::default()), gpu: Arc::new(MemoryJobQueue::default()) },
        clock: Arc::new(SystemClock),
        audit: audit.clone(),
        usage: usage.clone(),
        budgets: Arc::new(BudgetService {
            access: access.clone(),
            watch: Arc::new(BudgetWatch {
                store: Arc::new(MemoryBudgetStore::default()),
                ledger: usage.clone(),
                prices: prices.clone(),
                audit: audit.clone(),
                clock: Arc::new(SystemClock),
                webhooks: None,
            }),
        }),
    };
    let keys = Arc::new(ApiKeyService {
        access,
        keys: Arc::new(MemoryApiKeyStore::default()),
        clock: Arc::new(SystemClock),
        audit,
    });
    let settings =
        TokenSettings { issuer: "helixnet".into(), audience: "helixnet-api".into(), ttl: Duration::from_secs(3600) };
    // The signer stands for the auth function; the jobs function holds only the verifier, whose
    // keys (here in memory, in the cloud an S3 object) are read on the first token.
    let signer = TokenSigner::new(b"benchmark-secret-benchmark-secret-benchmark", settings.clone()).unwrap();
    let tokens = Arc::new(TokenVerifier::new(&settings, Arc::new(MemoryKeyDirectory::with(signer.jwks()))));
    // The session every benchmark token belongs to; the gate reads it once per MEMORY, as in the cloud.
    let sessions = Arc::new(MemorySessionStore::default());
    let session = Session::start(
        SESSION.into(),
        "bench-user".into(),
        "bench@example.test".into(),
        String::new(),
        Timestamp::now(),
        Duration::from_secs(3600),
    );
    sessions.create(&session).await.unwrap();
    // The rate limit is not what is measured: a bucket no run empties.
    let limiter = Arc::new(helix_api::RequestLimiter {
        buckets: Arc::new(helix_domain::rate::MemoryRateBuckets::default()),
        limit: helix_domain::RateLimit { per_minute: u32::MAX, burst: u32::MAX },
    });
    let auth = Arc::new(Authenticator {
        tokens,
        sessions: Arc::new(SessionGate::new(sessions, Arc::new(SystemClock))),
        limiter,
    });
    let request_keys = RequestKeys::new(Arc::new(MemoryRequestKeyStore::default()), 1 << 20);
    let service = Arc::new(service);
    let pipelines = Arc::new(PipelineService {
        access: service.access.clone(),
        pipelines: Arc::new(MemoryPipelineStore::default()),
        jobs: service.clone(),
        clock: Arc::new(SystemClock),
        audit: service.audit.clone(),
        bucket: "bench".into(),
    });
    let costs = Arc::new(CostService {
        access: service.access.clone(),
        users: Arc::new(MemoryUserStore::default()),
        ledger: usage,
        prices,
        clock: Arc::new(SystemClock),
        artifacts: Arc::new(MemoryArtifactStore::default()),
        blobs: blobs.clone(),
        billing: Arc::new(MemoryBillingLedger::default()),
    });
    let webhooks = Arc::new(helix_jobs::WebhookService {
        pipelines: pipelines.clone(),
        webhooks: Arc::new(helix_domain::MemoryWebhookStore::default()),
        notifier: Arc::new(helix_jobs::RunNotifier {
            webhooks: Arc::new(helix_domain::MemoryWebhookStore::default()),
            queue: Arc::new(helix_domain::MemoryWebhookQueue::default()),
            clock: Arc::new(SystemClock),
        }),
        clock: Arc::new(SystemClock),
        destinations: Arc::new(helix_jobs::Destinations {
            resolver: Arc::new(helix_jobs::SystemResolver),
            allow_loopback: false,
        }),
    });
    let schedules = Arc::new(helix_jobs::ScheduleService {
        pipelines: pipelines.clone(),
        schedules: Arc::new(helix_domain::MemoryScheduleStore::default()),
        timer: Arc::new(helix_domain::PolledScheduleTimer),
        clock: Arc::new(SystemClock),
    });
    let reviews = Arc::new(helix_jobs::DraftReviewService {
        jobs: service.clone(),
        pipelines: pipelines.clone(),
        memory: Arc::new(helix_domain::MemoryMappingMemory::default()),
    });
    let router = helix_api::jobs_router(JobsState {
        reviews,
        webhooks,
        schedules,
        costs,
        jobs: service,
        pipelines,
        keys,
        auth,
        payload_limit: 1 << 20,
        request_keys,
    });
    (router, jobs, signer)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn measure(router: &axum::Router, request: impl Fn() -> Request<Body>, expect: StatusCode) -> Vec<Duration> {
    let mut times = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let started = Instant::now();
        let response = router.clone().oneshot(request()).await.unwrap();
        let status = response.status();
        axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        times.push(started.elapsed());
        assert_eq!(status, expect);
    }
    times.sort();
    times
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let started = Instant::now();
        let (router, jobs, tokens) = init().await;
        let init_time = started.elapsed();

        let now = Timestamp::now();
        let user = User {
            email: "bench@example.test".into(),
            id: "bench-user".into(),
            password_hash: String::new(),
            fullname: None,
            phone_number: None,
            web_url: None,
            is_admin: false,
            created_at: now,
            updated_at: now,
        };
        let job = Job::new("bench-job".into(), user.id.clone(), JobKind::Transform, None, JobInputs::default(), now);
        jobs.create(&job).await.unwrap();
        let bearer = format!("Bearer {}", tokens.issue(&user, SESSION).unwrap().access_token);

        let unauthorized = measure(
            &router,
            || Request::get("/api/v1/jobs/bench-job").body(Body::empty()).unwrap(),
            StatusCode::UNAUTHORIZED,
        )
        .await;
        let get_job = measure(
            &router,
            || Request::get("/api/v1/jobs/bench-job").header("authorization", &bearer).body(Body::empty()).unwrap(),
            StatusCode::OK,
        )
        .await;

        println!("jobs function, stores in memory, {REQUESTS} requests each, one thread");
        println!();
        println!("| measure | p50 | p95 | p99 |");
        println!("|---|---|---|---|");
        println!("| init (ports + service + router) | {init_time:.1?} | | |");
        for (name, times) in [("401 (no token)", &unauthorized), ("GET /jobs/{id} (valid token)", &get_job)] {
            let (p50, p95, p99) = (percentile(times, 0.5), percentile(times, 0.95), percentile(times, 0.99));
            println!("| {name} | {p50:.1?} | {p95:.1?} | {p99:.1?} |");
        }
    });
}
