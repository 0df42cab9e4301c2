//! End-to-end harness: a whole local platform per test (unique resource prefix) on the emulators
//! that `make test` (or `make test-localstack`) started, driven over real HTTP.

pub mod lambda_function;
pub mod lambda_runtime_api;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use helix_domain::{Timestamp, User, UserStore};
use helix_local::{LocalAws, Platform, PlatformOptions};
use serde_json::Value;

pub use reqwest::StatusCode;

/// The emulator `make test` started; the tests cannot run without one.
pub fn emulator_endpoint() -> String {
    std::env::var("HELIX_TEST_AWS_ENDPOINT")
        .expect("HELIX_TEST_AWS_ENDPOINT is not set: run the tests with `make test`, which starts the emulator")
}

/// Where a service runs when not on the emulator: `HELIX_TEST_S3_ENDPOINT` and
/// `HELIX_TEST_SQS_ENDPOINT` (LocalStack's, in `make test-localstack`); unset or empty, the emulator.
fn service_endpoint(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

/// The signature-checking S3 `make test` started (s3s-fs; LocalStack's S3 in
/// `make test-localstack`), and its credentials.
pub fn signing_s3() -> (String, String, String) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the tests with `make test`"))
    };
    (var("HELIX_TEST_S3S_ENDPOINT"), var("HELIX_TEST_S3S_ACCESS_KEY"), var("HELIX_TEST_S3S_SECRET_KEY"))
}

pub struct Options {
    /// Run the job worker (the upload watcher always runs).
    pub workers: bool,
    /// Seconds before an unacknowledged message comes back (and a dead worker's lease runs out).
    pub redelivery_seconds: i32,
    pub max_upload_bytes: u64,
    /// Serve S3 from the signature-checking server (`signing_s3`).
    pub signing_s3: bool,
    pub upload_url_ttl_seconds: u64,
    /// Files above this go up in parts.
    pub multipart_threshold_bytes: u64,
    /// Each user's and API key's request rate: `(per minute, burst)`. The default is far above
    /// what a test sends (its polls included); the rate limit's own tests set a small one.
    pub rate_limit: (u32, u32),
    /// `OIDC_ISSUERS`: the external issuers single sign-on accepts (none by default).
    pub oidc_issuers: String,
    /// `SHARD_THRESHOLD_BYTES` and `SHARD_BYTES`: inputs above the first are split into shards of
    /// the second (256 MiB and 64 MiB, as deployed, unless a test sets them).
    pub shards: (u64, u64),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            workers: true,
            redelivery_seconds: 2,
            max_upload_bytes: 1024 * 1024,
            signing_s3: false,
            upload_url_ttl_seconds: 900,
            multipart_threshold_bytes: 64 * 1024 * 1024,
            rate_limit: (600_000, 100_000),
            oidc_issuers: "[]".into(),
            shards: (256 * 1024 * 1024, 64 * 1024 * 1024),
        }
    }
}

pub struct TestPlatform {
    pub platform: Platform,
    /// Where the platform's services are (the functions run as Lambdas are pointed there too).
    pub aws: LocalAws,
    pub http: reqwest::Client,
    pub prefix: String,
}

pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

/// Every test platform's token signing secret (the template's `JwtSecret`, provisioned on the
/// emulator with this value). Tests that forge tokens derive the same Ed25519 key from it.
pub const TEST_JWT_SECRET: &str = "end-to-end-test-secret-end-to-end-test-secret";

impl TestPlatform {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut aws = LocalAws::at(emulator_endpoint());
        aws.s3_endpoint = service_endpoint("HELIX_TEST_S3_ENDPOINT");
        aws.sqs_endpoint = service_endpoint("HELIX_TEST_SQS_ENDPOINT");
        if options.signing_s3 {
            let (endpoint, access_key, secret_key) = signing_s3();
            aws.s3_endpoint = Some(endpoint);
            aws.access_key = access_key;
            aws.secret_key = secret_key;
        }
        let platform = Platform::start(PlatformOptions {
            aws: aws.clone(),
            prefix: prefix.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            dashboard_origin: "http://127.0.0.1:8000".into(),
            jwt_secret: TEST_JWT_SECRET.into(),
            visibility_timeout_override: Some(options.redelivery_seconds),
            extra_env: BTreeMap::from([
                // Shorter than the redelivery by 2 s where it can be (leases have a resolution of a
                // second), as everywhere: a dead worker's lease is over when its message comes back.
                ("JOB_LEASE_SECONDS".to_owned(), (options.redelivery_seconds - 2).max(1).to_string()),
                ("MAX_UPLOAD_BYTES".to_owned(), options.max_upload_bytes.to_string()),
                ("UPLOAD_URL_TTL_SECONDS".to_owned(), options.upload_url_ttl_seconds.to_string()),
                ("MULTIPART_THRESHOLD_BYTES".to_owned(), options.multipart_threshold_bytes.to_string()),
                ("API_PAYLOAD_LIMIT_BYTES".to_owned(), (256 * 1024).to_string()),
                ("RATE_LIMIT_PER_MINUTE".to_owned(), options.rate_limit.0.to_string()),
                ("RATE_LIMIT_BURST".to_owned(), options.rate_limit.1.to_string()),
                // Webhook retries after 1, 2, 4, ... s instead of 30, 60, 120, ... s.
                ("WEBHOOK_BACKOFF_BASE_SECONDS".to_owned(), "1".to_owned()),
                ("OIDC_ISSUERS".to_owned(), options.oidc_issuers.clone()),
                ("SHARD_THRESHOLD_BYTES".to_owned(), options.shards.0.to_string()),
                ("SHARD_BYTES".to_owned(), options.shards.1.to_string()),
            ]),
            run_job_worker: options.workers,
        })
        .await
        .expect("the local platform starts");
        Self { platform, aws, http: reqwest::Client::new(), prefix }
    }

    /// A token signer for `secret` with the platform's issuer, audience and lifetime.
    pub fn signer(&self, secret: &str) -> helix_auth::TokenSigner {
        let settings = helix_aws::wiring::token_settings(&self.platform.settings.tokens);
        helix_auth::TokenSigner::new(secret.as_bytes(), settings).expect("a long enough secret")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.platform.base_url())
    }

    /// The Rust client (helix-client) of this platform, sending `token`.
    pub fn client(&self, token: &str) -> helix_client::Client {
        helix_client::Client::new(self.platform.base_url().trim_end_matches('/'), Some(token.to_owned()))
            .expect("the platform's address is a URL")
    }

    pub fn users(&self) -> helix_aws::DynamoUserStore {
        helix_aws::DynamoUserStore::new(self.platform.clients.dynamodb.clone(), &self.platform.settings.users_table)
    }

    /// Puts the user's personal team on `plan`, as a platform admin would: for tests that keep
    /// more jobs unfinished than the free plan's two.
    pub async fn put_on_plan(&self, user: &TestUser, plan: helix_domain::Plan) {
        use helix_domain::TeamStore;
        let owner = helix_domain::UserId::from(user.id.as_str());
        let team = helix_domain::Team { plan, ..helix_domain::Team::personal(&owner, Timestamp::now()) };
        let store = helix_aws::DynamoTeamStore::new(
            self.platform.clients.dynamodb.clone(),
            &self.platform.settings.teams_table,
        );
        store.put(&team).await.unwrap();
    }

    /// A fresh account, logged in through the API.
    pub async fn user(&self) -> TestUser {
        let email = format!("{}@example.test", uuid::Uuid::new_v4().simple());
        let password = "correct horse battery staple".to_owned();
        let now = Timestamp::now();
        let user = User {
            email: email.clone(),
            id: helix_domain::UserId::random(),
            password_hash: helix_auth::hash_password(&password).unwrap(),
            fullname: Some("Test User".into()),
            phone_number: None,
            web_url: None,
            is_admin: false,
            created_at: now,
            updated_at: now,
        };
        self.users().create(&user).await.unwrap();
        let token = self.login(&email, &password).await;
        TestUser { id: user.id.to_string(), email, password, token }
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .http
            .post(self.url("/api/v1/auth/token"))
            .form(&[("username", email), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self.http.get(self.url(path)).bearer_auth(token).send().await.unwrap();
        split(response).await
    }

    pub async fn post_json(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self.http.post(self.url(path)).bearer_auth(token).json(body).send().await.unwrap();
        split(response).await
    }

    /// Registers an upload, PUTs the bytes to the presigned URL with the signed headers, and waits
    /// until the upload watcher has made the artifact AVAILABLE.
    pub async fn upload(&self, token: &str, filename: &str, content_type: &str, kind: &str, bytes: &[u8]) -> String {
        self.upload_to(token, None, filename, content_type, kind, bytes).await
    }

    /// [`Self::upload`] into `team` (the caller's personal team when `None`).
    pub async fn upload_to(
        &self,
        token: &str,
        team: Option<&str>,
        filename: &str,
        content_type: &str,
        kind: &str,
        bytes: &[u8],
    ) -> String {
        let mut body = serde_json::json!({"filename": filename, "content_type": content_type, "size_bytes": bytes.len(), "kind": kind});
        if let Some(team) = team {
            body["team_id"] = team.into();
        }
        let (status, ticket) = self.post_json(token, "/api/v1/artifacts/upload", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        let put = self.put_presigned(&ticket, bytes.to_vec()).await;
        assert!(put.status().is_success(), "PUT to the presigned URL: {}", put.status());
        let id = ticket["artifact_id"].as_str().unwrap().to_owned();
        self.wait_artifact(token, &id, "AVAILABLE").await;
        id
    }

    pub async fn put_presigned(&self, ticket: &Value, body: Vec<u8>) -> reqwest::Response {
        let mut request = self.http.put(ticket["upload_url"].as_str().unwrap());
        for (name, value) in ticket["headers"].as_object().unwrap() {
            request = request.header(name, value.as_str().unwrap());
        }
        request.body(body).send().await.unwrap()
    }

    pub async fn wait_artifact(&self, token: &str, id: &str, status: &str) -> Value {
        let mut last = Value::Null;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let (code, artifact) = self.get(token, &format!("/api/v1/artifacts/{id}")).await;
            assert_eq!(code, StatusCode::OK, "{artifact}");
            if artifact["status"] == status {
                return artifact;
            }
            last = artifact;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("artifact {id} never became {status}: {last}");
    }

    /// Polls until the job is COMPLETED or FAILED: longer than the SDK's 60 s request attempt
    /// (`AwsClients`), so that a job whose request the loaded emulator left unanswered, retried
    /// after that minute, still ends within the wait (twice in full `make test` runs a 3-record
    /// job was still RUNNING at 60 s).
    pub async fn wait_job(&self, token: &str, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(150);
        let mut last = Value::Null;
        while Instant::now() < deadline {
            let (code, job) = self.get(token, &format!("/api/v1/jobs/{id}")).await;
            assert_eq!(code, StatusCode::OK, "{job}");
            if job["status"] == "COMPLETED" || job["status"] == "FAILED" {
                return job;
            }
            last = job;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("job {id} did not finish: {last}");
    }

    /// Fetches an artifact's content through its presigned download URL.
    pub async fn download(&self, token: &str, artifact_id: &str) -> Vec<u8> {
        let (code, link) = self.get(token, &format!("/api/v1/artifacts/{artifact_id}/download")).await;
        assert_eq!(code, StatusCode::OK, "{link}");
        let response = self.http.get(link["url"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap().to_vec()
    }
}

pub async fn split(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The error body's `code` and `field`, for asserting on refusals.
pub fn error_of(body: &Value) -> (String, Option<String>) {
    let error = &body["error"];
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "no error message in {body}");
    (error["code"].as_str().unwrap_or_default().to_owned(), error["field"].as_str().map(str::to_owned))
}
