use std::time::Duration;

/// Everything a function needs from its environment, read and checked once at start-up so a
/// misconfigured deployment fails on its first request with the variable's name, not on some later
/// code path.
#[derive(Clone, Debug)]
pub struct Settings {
    pub users_table: String,
    pub jobs_table: String,
    pub artifacts_table: String,
    pub idempotency_table: String,
    pub artifacts_bucket: String,
    pub jobs_queue_url: String,
    /// The GPU container worker's queue (`suggest-mapping` jobs).
    pub gpu_queue_url: String,
    pub jwt_secret: Vec<u8>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub token_ttl: Duration,
    pub max_upload_bytes: u64,
    pub job_max_attempts: u32,
    /// How long a worker owns a claimed job; a redelivery after that may take it over.
    pub job_lease: Duration,
    /// How long after its lease ran out a still-`RUNNING` job counts as abandoned: longer than the
    /// job queue's visibility timeout, after which its message would have come back.
    pub job_stale_after: Duration,
    pub upload_url_ttl: Duration,
    pub download_url_ttl: Duration,
    /// Bound of `POST /jobs/upload` bodies (API Gateway and Lambda cap payloads at about 6 MB).
    pub api_payload_limit: usize,
    pub s3_force_path_style: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration variable {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

/// Presigned uploads never live longer than this, whatever the configuration asks.
pub const MAX_UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);
pub const MAX_DOWNLOAD_URL_TTL: Duration = Duration::from_secs(5 * 60);
const MIN_JWT_SECRET_BYTES: usize = 32;

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let jwt_secret = env.required("JWT_SECRET")?.into_bytes();
        if jwt_secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(ConfigError {
                var: "JWT_SECRET",
                reason: format!("must be at least {MIN_JWT_SECRET_BYTES} bytes"),
            });
        }
        let endpoint_overridden = lookup("AWS_ENDPOINT_URL").is_some() || lookup("AWS_ENDPOINT_URL_S3").is_some();
        Ok(Self {
            users_table: env.required("USERS_TABLE")?,
            jobs_table: env.required("JOBS_TABLE")?,
            artifacts_table: env.required("ARTIFACTS_TABLE")?,
            idempotency_table: env.required("IDEMPOTENCY_TABLE")?,
            artifacts_bucket: env.required("ARTIFACTS_BUCKET")?,
            jobs_queue_url: env.required("JOBS_QUEUE_URL")?,
            gpu_queue_url: env.required("GPU_QUEUE_URL")?,
            jwt_secret,
            jwt_issuer: env.required("JWT_ISSUER")?,
            jwt_audience: env.required("JWT_AUDIENCE")?,
            token_ttl: Duration::from_secs(env.number("TOKEN_TTL_SECONDS", 3600)?),
            max_upload_bytes: env.number("MAX_UPLOAD_BYTES", 100 * 1024 * 1024)?,
            job_max_attempts: env.number("JOB_MAX_ATTEMPTS", 3)?,
            job_lease: Duration::from_secs(env.number("JOB_LEASE_SECONDS", 300)?),
            job_stale_after: Duration::from_secs(env.number("JOB_STALE_AFTER_SECONDS", 2100)?),
            upload_url_ttl: Duration::from_secs(env.number("UPLOAD_URL_TTL_SECONDS", 900)?).min(MAX_UPLOAD_URL_TTL),
            download_url_ttl: Duration::from_secs(env.number("DOWNLOAD_URL_TTL_SECONDS", 300)?)
                .min(MAX_DOWNLOAD_URL_TTL),
            api_payload_limit: env.number("API_PAYLOAD_LIMIT_BYTES", 5 * 1024 * 1024)?,
            s3_force_path_style: match lookup("AWS_S3_FORCE_PATH_STYLE") {
                Some(v) => v == "true" || v == "1",
                None => endpoint_overridden,
            },
        })
    }
}

struct Env<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn required(&self, var: &'static str) -> Result<String, ConfigError> {
        match (self.0)(var) {
            Some(v) if !v.trim().is_empty() => Ok(v),
            _ => Err(ConfigError { var, reason: "is not set".into() }),
        }
    }

    fn number<T: std::str::FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError> {
        match (self.0)(var) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| ConfigError { var, reason: format!("{v:?} is not a number") }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, String> {
        [
            ("USERS_TABLE", "u"),
            ("JOBS_TABLE", "j"),
            ("ARTIFACTS_TABLE", "a"),
            ("IDEMPOTENCY_TABLE", "i"),
            ("ARTIFACTS_BUCKET", "b"),
            ("JOBS_QUEUE_URL", "http://q"),
            ("GPU_QUEUE_URL", "http://g"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("JWT_ISSUER", "iss"),
            ("JWT_AUDIENCE", "aud"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect()
    }

    #[test]
    fn reads_defaults_and_caps_url_lifetimes() {
        let mut env = base();
        env.insert("UPLOAD_URL_TTL_SECONDS", "86400".into());
        let s = Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
        assert_eq!(s.upload_url_ttl, MAX_UPLOAD_URL_TTL);
        assert_eq!(s.job_max_attempts, 3);
        assert!(!s.s3_force_path_style);
    }

    #[test]
    fn names_the_missing_or_bad_variable() {
        let mut env = base();
        env.remove("JOBS_TABLE");
        assert_eq!(Settings::from_lookup(|k| env.get(k).cloned()).unwrap_err().var, "JOBS_TABLE");
        let mut env = base();
        env.insert("JOB_MAX_ATTEMPTS", "three".into());
        assert_eq!(Settings::from_lookup(|k| env.get(k).cloned()).unwrap_err().var, "JOB_MAX_ATTEMPTS");
        let mut env = base();
        env.insert("JWT_SECRET", "short".into());
        assert_eq!(Settings::from_lookup(|k| env.get(k).cloned()).unwrap_err().var, "JWT_SECRET");
    }
}
