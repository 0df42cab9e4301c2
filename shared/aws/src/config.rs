//! Configuration, read once at start-up from the environment into typed sections, so a
//! misconfigured deployment fails at once with the variable's name. Each function reads only the
//! sections it uses; the one-process local platform reads them all ([`Settings`]).

use std::collections::BTreeMap;
use std::time::Duration;

use helix_domain::artifact::{MAX_OBJECT_BYTES, MAX_PART_BYTES, MIN_PART_BYTES};

#[derive(Debug, thiserror::Error)]
#[error("configuration variable {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

/// Presigned uploads never live longer than this, whatever the configuration asks.
pub const MAX_UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);
pub const MAX_DOWNLOAD_URL_TTL: Duration = Duration::from_secs(5 * 60);

type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where configuration comes from: the process environment, or a map (the local platform, tests).
pub struct Env(Lookup);

impl Env {
    pub fn process() -> Self {
        Self(Box::new(|name| std::env::var(name).ok()))
    }

    pub fn from_map(vars: BTreeMap<String, String>) -> Self {
        Self(Box::new(move |name| vars.get(name).cloned()))
    }

    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var)
    }

    pub fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        match self.get(var) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ConfigError { var, reason: "is not set".into() }),
        }
    }

    pub fn number<T: std::str::FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| ConfigError { var, reason: format!("{v:?} is not a number") }),
        }
    }

    fn seconds(&self, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.number(var, default).map(Duration::from_secs)
    }

    /// Emulators serve buckets under the path, not as virtual hosts on 127.0.0.1: path style is
    /// the default whenever the S3 endpoint is overridden.
    pub fn s3_force_path_style(&self) -> bool {
        match self.get("AWS_S3_FORCE_PATH_STYLE") {
            Some(v) => v == "true" || v == "1",
            None => self.get("AWS_ENDPOINT_URL").is_some() || self.get("AWS_ENDPOINT_URL_S3").is_some(),
        }
    }
}

/// Checking access tokens (every HTTP function) and, with [`SigningConfig`], issuing them: what a
/// token says, the bucket where the signer publishes its public keys (`keys/jwks.json`), and the
/// sessions table that says whether a token's session is still on.
#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub issuer: String,
    pub audience: String,
    /// Access tokens are short-lived: a session is kept by refreshing.
    pub ttl: Duration,
    /// How long a session lasts without a refresh.
    pub refresh_ttl: Duration,
    pub keys_bucket: String,
    pub sessions_table: String,
}

impl TokenConfig {
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            issuer: env.required("JWT_ISSUER")?,
            audience: env.required("JWT_AUDIENCE")?,
            ttl: env.seconds("TOKEN_TTL_SECONDS", 900)?,
            refresh_ttl: env.seconds("REFRESH_TTL_SECONDS", 30 * 24 * 3600)?,
            keys_bucket: env.required("ARTIFACTS_BUCKET")?,
            sessions_table: env.required("SESSIONS_TABLE")?,
        })
    }
}

/// Single sign-on (the auth function): the external OIDC issuers whose access tokens
/// `POST /auth/sso` exchanges for sessions, as a JSON list in `OIDC_ISSUERS` (each `{issuer,
/// audience, algorithm, jwks_url?, groups_claim?}`). Unset or empty: single sign-on is off.
#[derive(Clone, Debug, Default)]
pub struct SsoConfig {
    pub issuers: Vec<helix_auth::OidcIssuer>,
}

impl SsoConfig {
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        let var = "OIDC_ISSUERS";
        let issuers = match env.get(var) {
            Some(json) if !json.trim().is_empty() => {
                helix_auth::OidcIssuer::parse_list(&json).map_err(|e| ConfigError { var, reason: e.to_string() })?
            }
            _ => Vec::new(),
        };
        Ok(Self { issuers })
    }
}

/// Where the token signing secret is: read by the one function that signs (auth), which fetches
/// the secret from Secrets Manager at start-up. The variable holds the secret's ARN, never the
/// secret.
#[derive(Clone, Debug)]
pub struct SigningConfig {
    pub secret_arn: String,
}

impl SigningConfig {
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        let var = "JWT_SIGNING_SECRET_ARN";
        let secret_arn = env.required(var)?;
        // Never echoed: a secret pasted here by mistake must not reach the logs.
        if !(secret_arn.starts_with("arn:") && secret_arn.contains(":secretsmanager:")) {
            return Err(ConfigError { var, reason: "must be the ARN of a Secrets Manager secret".into() });
        }
        Ok(Self { secret_arn })
    }
}

/// The artifact table and bucket, and the limits on what users put there.
#[derive(Clone, Debug)]
pub struct ArtifactConfig {
    pub table: String,
    pub bucket: String,
    pub max_upload_bytes: u64,
    pub multipart_threshold: u64,
    pub upload_url_ttl: Duration,
    pub download_url_ttl: Duration,
}

impl ArtifactConfig {
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        let max_upload_bytes = env.number("MAX_UPLOAD_BYTES", 5 * 1024 * 1024 * 1024)?;
        if max_upload_bytes > MAX_OBJECT_BYTES {
            return Err(ConfigError {
                var: "MAX_UPLOAD_BYTES",
                reason: format!("must be at most {MAX_OBJECT_BYTES} (S3's 5 TiB)"),
            });
        }
        let multipart_threshold = env.number("MULTIPART_THRESHOLD_BYTES", 64 * 1024 * 1024)?;
        if !(MIN_PART_BYTES..=MAX_PART_BYTES).contains(&multipart_threshold) {
            return Err(ConfigError {
                var: "MULTIPART_THRESHOLD_BYTES",
                reason: format!("must be between {MIN_PART_BYTES} and {MAX_PART_BYTES} (S3's part and PUT sizes)"),
            });
        }
        Ok(Self {
            table: env.required("ARTIFACTS_TABLE")?,
            bucket: env.required("ARTIFACTS_BUCKET")?,
            max_upload_bytes,
            multipart_threshold,
            upload_url_ttl: env.seconds("UPLOAD_URL_TTL_SECONDS", 900)?.min(MAX_UPLOAD_URL_TTL),
            download_url_ttl: env.seconds("DOWNLOAD_URL_TTL_SECONDS", 300)?.min(MAX_DOWNLOAD_URL_TTL),
        })
    }
}

/// The job table and the queues jobs are sent to.
#[derive(Clone, Debug)]
pub struct JobConfig {
    pub table: String,
    pub queue_url: String,
    /// The GPU container worker's queue (`suggest-mapping` and `auto_map` jobs).
    pub gpu_queue_url: String,
    /// Bound of `POST /jobs/upload` bodies (API Gateway and Lambda cap payloads at about 6 MB).
    pub api_payload_limit: usize,
    /// `PIPELINES_TABLE`: pipelines and their versions, served by the jobs function.
    pub pipelines_table: String,
    /// `USAGE_TABLE`: the metering ledger, where each submission's usage event goes and costs
    /// are read.
    pub usage_table: String,
}

impl JobConfig {
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table: env.required("JOBS_TABLE")?,
            queue_url: env.required("JOBS_QUEUE_URL")?,
            gpu_queue_url: env.required("GPU_QUEUE_URL")?,
            api_payload_limit: env.number("API_PAYLOAD_LIMIT_BYTES", 5 * 1024 * 1024)?,
            pipelines_table: env.required("PIPELINES_TABLE")?,
            usage_table: env.required("USAGE_TABLE")?,
        })
    }
}

/// What a job worker needs beyond the artifacts: the job table, its idempotency records, and how
/// long and how often it may try.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub jobs_table: String,
    pub idempotency_table: String,
    /// The metering ledger (`UsageTable`): each attempt's usage event.
    pub usage_table: String,
    /// `LIMITS_TABLE`: an ended job gives back its team's slot and counts its records there.
    pub limits_table: String,
    /// The queue's `maxReceiveCount`.
    pub max_attempts: u32,
    /// How long a worker owns a claimed job; a redelivery after that may take it over.
    pub lease: Duration,
}

impl WorkerConfig {
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            jobs_table: env.required("JOBS_TABLE")?,
            idempotency_table: env.required("IDEMPOTENCY_TABLE")?,
            usage_table: env.required("USAGE_TABLE")?,
            limits_table: env.required("LIMITS_TABLE")?,
            max_attempts: env.number("JOB_MAX_ATTEMPTS", 3)?,
            lease: env.seconds("JOB_LEASE_SECONDS", 300)?,
        })
    }
}

#[derive(Clone, Debug)]
pub struct SweeperConfig {
    pub jobs_table: String,
    pub queue_url: String,
    pub gpu_queue_url: String,
    /// `LIMITS_TABLE`: an abandoned job gives back its team's slot there.
    pub limits_table: String,
    /// How long after its lease ran out a still-`RUNNING` job counts as abandoned: longer than the
    /// job queue's visibility timeout, after which its message would have come back.
    pub stale_after: Duration,
    /// How long a job's queue message may stay owed before the sweeper sends it: longer than an
    /// API request takes from writing the job to sending its message.
    pub relay_after: Duration,
}

impl SweeperConfig {
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            jobs_table: env.required("JOBS_TABLE")?,
            queue_url: env.required("JOBS_QUEUE_URL")?,
            gpu_queue_url: env.required("GPU_QUEUE_URL")?,
            limits_table: env.required("LIMITS_TABLE")?,
            stale_after: env.seconds("JOB_STALE_AFTER_SECONDS", 2100)?,
            relay_after: env.seconds("JOB_RELAY_AFTER_SECONDS", 30)?,
        })
    }
}

/// `LIMITS_TABLE`, the teams' quota counters and the callers' request-rate buckets, and the rate
/// every user and API key is held to: `RATE_LIMIT_PER_MINUTE` requests a minute on average
/// (default 600), `RATE_LIMIT_BURST` at once (default 120). Read by every function that serves
/// the API or counts usage.
#[derive(Clone, Debug)]
pub struct LimitsConfig {
    pub table: String,
    pub rate: helix_domain::RateLimit,
}

impl LimitsConfig {
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        let rate = helix_domain::RateLimit {
            per_minute: env.number("RATE_LIMIT_PER_MINUTE", 600)?,
            burst: env.number("RATE_LIMIT_BURST", 120)?,
        };
        for (var, value) in [("RATE_LIMIT_PER_MINUTE", rate.per_minute), ("RATE_LIMIT_BURST", rate.burst)] {
            if value == 0 {
                return Err(ConfigError { var, reason: "must be at least 1".into() });
            }
        }
        Ok(Self { table: env.required("LIMITS_TABLE")?, rate })
    }
}

/// Pipeline webhooks: where deliveries are queued (`WEBHOOK_QUEUE_URL`), where webhooks and
/// deliveries are kept (`PIPELINES_TABLE`), the first retry's wait (`WEBHOOK_BACKOFF_BASE_SECONDS`,
/// default 30, doubling up to 6 h for 24 h) and how long a receiver may take to answer
/// (`WEBHOOK_TIMEOUT_SECONDS`, default 10).
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub queue_url: String,
    pub pipelines_table: String,
    pub backoff_base: Duration,
    pub timeout: Duration,
    /// `WEBHOOK_ALLOW_LOOPBACK=true`, for local development only: webhooks may send to loopback
    /// receivers, over http too. Otherwise only https to public addresses.
    pub allow_loopback: bool,
}

impl WebhookConfig {
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        let backoff_base = env.seconds("WEBHOOK_BACKOFF_BASE_SECONDS", 30)?;
        if backoff_base.is_zero() {
            return Err(ConfigError { var: "WEBHOOK_BACKOFF_BASE_SECONDS", reason: "must be at least 1".into() });
        }
        let allow_loopback = match env.get("WEBHOOK_ALLOW_LOOPBACK").as_deref().map(str::trim) {
            None | Some("" | "false") => false,
            Some("true") => true,
            Some(other) => {
                let reason = format!("{other:?} is neither true nor false");
                return Err(ConfigError { var: "WEBHOOK_ALLOW_LOOPBACK", reason });
            }
        };
        Ok(Self {
            queue_url: env.required("WEBHOOK_QUEUE_URL")?,
            pipelines_table: env.required("PIPELINES_TABLE")?,
            backoff_base,
            timeout: env.seconds("WEBHOOK_TIMEOUT_SECONDS", 10)?,
            allow_loopback,
        })
    }
}

/// Pipeline schedules in the cloud: where EventBridge Scheduler sends a schedule's wake-up
/// (`SCHEDULE_QUEUE_ARN`) and the role it sends with (`SCHEDULER_ROLE_ARN`). The local platform
/// reads neither: it polls the schedules instead.
#[derive(Clone, Debug)]
pub struct ScheduleConfig {
    pub queue_arn: String,
    pub role_arn: String,
}

impl ScheduleConfig {
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self { queue_arn: env.required("SCHEDULE_QUEUE_ARN")?, role_arn: env.required("SCHEDULER_ROLE_ARN")? })
    }
}

/// Every section, as the one-process local platform reads them.
#[derive(Clone, Debug)]
pub struct Settings {
    pub users_table: String,
    pub teams_table: String,
    /// `API_KEYS_TABLE`: teams' API keys, managed by the users function and checked by the jobs
    /// and artifacts functions.
    pub api_keys_table: String,
    /// `AUDIT_TABLE`: the teams' audit chains, appended to by the users, jobs and artifacts
    /// functions and read by the users function.
    pub audit_table: String,
    pub tokens: TokenConfig,
    pub sso: SsoConfig,
    pub artifacts: ArtifactConfig,
    pub jobs: JobConfig,
    pub worker: WorkerConfig,
    /// How the job worker splits big inputs ([`shard_config`]).
    pub shards: helix_jobs::ShardConfig,
    pub sweeper: SweeperConfig,
    pub limits: LimitsConfig,
    pub s3_force_path_style: bool,
}

impl Settings {
    pub fn read(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            users_table: env.required("USERS_TABLE")?,
            teams_table: env.required("TEAMS_TABLE")?,
            api_keys_table: env.required("API_KEYS_TABLE")?,
            audit_table: env.required("AUDIT_TABLE")?,
            tokens: TokenConfig::read(env)?,
            sso: SsoConfig::read(env)?,
            artifacts: ArtifactConfig::read(env)?,
            jobs: JobConfig::read(env)?,
            worker: WorkerConfig::read(env)?,
            shards: shard_config(env)?,
            sweeper: SweeperConfig::read(env)?,
            limits: LimitsConfig::read(env)?,
            s3_force_path_style: env.s3_force_path_style(),
        })
    }
}

/// When the job worker splits an input over many workers (`SHARD_THRESHOLD_BYTES`, default 256
/// MiB) and into how many bytes per shard (`SHARD_BYTES`, default 64 MiB).
pub fn shard_config(env: &Env) -> Result<helix_jobs::ShardConfig, ConfigError> {
    let defaults = helix_jobs::ShardConfig::default();
    let shard_bytes = env.number("SHARD_BYTES", defaults.shard_bytes)?;
    if shard_bytes == 0 {
        return Err(ConfigError { var: "SHARD_BYTES", reason: "must be more than 0".into() });
    }
    let threshold_bytes = env.number("SHARD_THRESHOLD_BYTES", defaults.threshold_bytes)?;
    Ok(helix_jobs::ShardConfig { threshold_bytes, shard_bytes, ..defaults })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> BTreeMap<String, String> {
        [
            ("USERS_TABLE", "u"),
            ("TEAMS_TABLE", "t"),
            ("API_KEYS_TABLE", "k"),
            ("AUDIT_TABLE", "au"),
            ("SESSIONS_TABLE", "s"),
            ("JOBS_TABLE", "j"),
            ("PIPELINES_TABLE", "p"),
            ("ARTIFACTS_TABLE", "a"),
            ("IDEMPOTENCY_TABLE", "i"),
            ("USAGE_TABLE", "m"),
            ("LIMITS_TABLE", "l"),
            ("ARTIFACTS_BUCKET", "b"),
            ("JOBS_QUEUE_URL", "http://q"),
            ("GPU_QUEUE_URL", "http://g"),
            ("JWT_ISSUER", "iss"),
            ("JWT_AUDIENCE", "aud"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn with(changes: &[(&str, Option<&str>)]) -> Env {
        let mut env = base();
        for (k, v) in changes {
            match v {
                Some(v) => env.insert((*k).to_owned(), (*v).to_owned()),
                None => env.remove(*k),
            };
        }
        Env::from_map(env)
    }

    #[test]
    fn reads_defaults_and_caps_url_lifetimes() {
        let s = Settings::read(&with(&[("UPLOAD_URL_TTL_SECONDS", Some("86400"))])).unwrap();
        assert_eq!(s.artifacts.upload_url_ttl, MAX_UPLOAD_URL_TTL);
        assert_eq!(s.worker.max_attempts, 3);
        assert!(!s.s3_force_path_style);
        assert_eq!(s.limits.rate, helix_domain::RateLimit { per_minute: 600, burst: 120 });
    }

    #[test]
    fn names_the_missing_or_bad_variable() {
        assert_eq!(Settings::read(&with(&[("JOBS_TABLE", None)])).unwrap_err().var, "JOBS_TABLE");
        assert_eq!(Settings::read(&with(&[("PIPELINES_TABLE", None)])).unwrap_err().var, "PIPELINES_TABLE");
        assert_eq!(Settings::read(&with(&[("TEAMS_TABLE", None)])).unwrap_err().var, "TEAMS_TABLE");
        assert_eq!(Settings::read(&with(&[("API_KEYS_TABLE", None)])).unwrap_err().var, "API_KEYS_TABLE");
        assert_eq!(Settings::read(&with(&[("AUDIT_TABLE", None)])).unwrap_err().var, "AUDIT_TABLE");
        assert_eq!(Settings::read(&with(&[("USAGE_TABLE", None)])).unwrap_err().var, "USAGE_TABLE");
        assert_eq!(Settings::read(&with(&[("JOB_MAX_ATTEMPTS", Some("three"))])).unwrap_err().var, "JOB_MAX_ATTEMPTS");
        assert_eq!(Settings::read(&with(&[("JWT_AUDIENCE", None)])).unwrap_err().var, "JWT_AUDIENCE");
        assert_eq!(Settings::read(&with(&[("LIMITS_TABLE", None)])).unwrap_err().var, "LIMITS_TABLE");
        assert_eq!(Settings::read(&with(&[("RATE_LIMIT_BURST", Some("0"))])).unwrap_err().var, "RATE_LIMIT_BURST");
    }

    #[test]
    fn single_sign_on_is_off_unless_issuers_are_configured_and_they_are_checked() {
        assert!(Settings::read(&with(&[])).unwrap().sso.issuers.is_empty());
        assert!(Settings::read(&with(&[("OIDC_ISSUERS", Some("[]"))])).unwrap().sso.issuers.is_empty());
        let keycloak = r#"[{"issuer": "http://localhost:8180/realms/helixnet", "audience": "helixnet-sso", "algorithm": "RS256"}]"#;
        let settings = Settings::read(&with(&[("OIDC_ISSUERS", Some(keycloak))])).unwrap();
        assert_eq!(settings.sso.issuers[0].issuer, "http://localhost:8180/realms/helixnet");
        let symmetric = r#"[{"issuer": "https://sso.example.test", "audience": "a", "algorithm": "HS256"}]"#;
        let error = Settings::read(&with(&[("OIDC_ISSUERS", Some(symmetric))])).unwrap_err();
        assert_eq!(error.var, "OIDC_ISSUERS");
        assert!(error.reason.contains("asymmetric"), "{}", error.reason);
    }

    #[test]
    fn a_function_reads_only_its_own_sections() {
        let env = Env::from_map(BTreeMap::from([("JOBS_TABLE".to_owned(), "j".to_owned())]));
        assert!(WorkerConfig::read(&env).is_err());
        assert_eq!(SweeperConfig::read(&env).unwrap_err().var, "JOBS_QUEUE_URL");
        assert_eq!(TokenConfig::read(&env).unwrap_err().var, "JWT_ISSUER");
        assert_eq!(SigningConfig::read(&env).unwrap_err().var, "JWT_SIGNING_SECRET_ARN");
    }

    #[test]
    fn the_signing_section_takes_an_arn_not_a_secret() {
        let env =
            |value: &str| Env::from_map(BTreeMap::from([("JWT_SIGNING_SECRET_ARN".to_owned(), value.to_owned())]));
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:JwtSecret-AbCdEf";
        assert_eq!(SigningConfig::read(&env(arn)).unwrap().secret_arn, arn);
        let error = SigningConfig::read(&env("0123456789abcdef0123456789abcdef")).unwrap_err();
        assert!(!error.to_string().contains("0123456789abcdef"), "the value is not echoed: {error}");
    }
}
