use helix_domain::{Refused, StoreError};

/// Every way a use case of this crate refuses or fails, naming the request field at fault. The
/// API maps it to one HTTP status each; the CLI and the dashboard show the same field.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Malformed: a value of the wrong form (400).
    #[error("{message}")]
    Malformed { field: String, message: String },
    /// Well-formed but refused by a rule: an artifact not ready, an invalid schema (422).
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// Over a size limit (413).
    #[error("{message}")]
    TooLarge { field: String, message: String },
    /// Unknown, or not the caller's: the two are indistinguishable on purpose (404).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A login with an unknown account or a wrong password: the two answer alike (401).
    #[error("incorrect username or password")]
    InvalidCredentials,
    /// No valid credential: a spent or unknown refresh token, an ended session (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Too many attempts: try again after `retry_after` (429 with `Retry-After`).
    #[error("too many failed attempts: try again in {} seconds", retry_after.as_secs())]
    TooManyRequests { retry_after: std::time::Duration },
    /// The caller is a member, but their role does not allow it (403).
    #[error("{0}")]
    Forbidden(String),
    /// The team's plan is used up (403 `quota_exceeded`): the limit, the usage, and in
    /// `message` what to do.
    #[error("{message}")]
    QuotaExceeded { quota: &'static str, limit: u64, used: u64, message: String },
    /// The team's budget for the month is spent and set to stop new jobs (403 `budget_exceeded`).
    #[error("{0}")]
    BudgetExceeded(String),
    /// The resource is not in a state that allows the request (409).
    #[error("{0}")]
    Conflict(String),
    /// A dependency failed for a passing reason; the request may be retried (503).
    #[error("the service is temporarily unavailable, try again")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl JobError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    pub fn malformed(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Malformed { field: field.into(), message: message.into() }
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("resource"),
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::InvalidCursor => Self::malformed("cursor", "is not a cursor this listing returned"),
            StoreError::Backend(detail) => Self::Internal(detail),
        }
    }
}

impl From<Refused> for JobError {
    fn from(e: Refused) -> Self {
        Self::Conflict(e.to_string())
    }
}
