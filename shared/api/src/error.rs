use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use helix_domain::StoreError;
use helix_domain::user::ValidationErrors;
use helix_jobs::JobError;

/// Every way a request can fail, mapped to one HTTP answer in `into_response` and nowhere else.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request: unreadable JSON or form, a wrong type, a missing field.
    #[error("{message}")]
    BadRequest { field: Option<String>, message: String },
    #[error("incorrect username or password")]
    InvalidCredentials,
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("too many failed attempts: try again in {} seconds", retry_after.as_secs())]
    TooManyRequests { retry_after: std::time::Duration },
    /// The caller's request rate is used up: 429 with `Retry-After` and the `RateLimit-*` headers.
    #[error("too many requests: at most {} at once, then {per_minute} a minute; try again in {} seconds", decision.limit, decision.retry_after.as_secs())]
    RateLimited { decision: helix_domain::RateDecision, per_minute: u32 },
    /// The team's plan is used up: the quota, its limit and the usage are in the body.
    #[error("{message}")]
    QuotaExceeded { quota: &'static str, limit: u64, used: u64, message: String },
    /// A member whose role does not allow the request.
    #[error("{0}")]
    Forbidden(String),
    /// The team's spent budget stops new jobs.
    #[error("{0}")]
    BudgetExceeded(String),
    /// Unknown, or owned by someone else: the two are indistinguishable on purpose.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { message: String },
    #[error("{message}")]
    PayloadTooLarge { field: Option<String>, message: String },
    #[error("{message}")]
    UnsupportedMediaType { message: String },
    /// Well-formed but refused: an artifact not ready, an invalid schema.
    #[error("{message}")]
    Unprocessable { field: Option<String>, message: String },
    /// Several fields refused at once: the first names the answer's `field`, all are in `errors`.
    #[error("{}", .0.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    InvalidFields(Vec<FieldError>),
    #[error("the service is temporarily unavailable, try again")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every refused field, when a request had more than one field checked (the profile).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// A `quota_exceeded` refusal's quota (`concurrent_jobs`, `storage_bytes`, `file_bytes`,
    /// `records_per_month`), its limit and the usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<u64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    /// Why, starting with the field's name: `phone_number must be …`.
    pub message: String,
}

impl ApiError {
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest { field: Some(field.into()), message: message.into() }
    }

    pub fn unprocessable(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Unprocessable { field: Some(field.into()), message: message.into() }
    }

    fn parts(&self) -> (StatusCode, &'static str, Option<String>) {
        match self {
            Self::BadRequest { field, .. } => (StatusCode::BAD_REQUEST, "bad_request", field.clone()),
            Self::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials", None),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
            Self::BudgetExceeded(_) => (StatusCode::FORBIDDEN, "budget_exceeded", None),
            Self::TooManyRequests { .. } | Self::RateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests", None)
            }
            Self::QuotaExceeded { .. } => (StatusCode::FORBIDDEN, "quota_exceeded", None),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            Self::Conflict { .. } => (StatusCode::CONFLICT, "conflict", None),
            Self::PayloadTooLarge { field, .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", field.clone()),
            Self::UnsupportedMediaType { .. } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None),
            Self::Unprocessable { field, .. } => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", field.clone()),
            Self::InvalidFields(errors) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", errors.first().map(|e| e.field.clone()))
            }
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, field) = self.parts();
        match &self {
            Self::Internal(detail) | Self::Unavailable(detail) => tracing::error!(%detail, "request failed"),
            _ => tracing::debug!(%status, error = %self, "request refused"),
        }
        let errors = match &self {
            Self::InvalidFields(errors) => errors.clone(),
            _ => Vec::new(),
        };
        let (quota, limit, usage) = match &self {
            Self::QuotaExceeded { quota, limit, used, .. } => (Some(*quota), Some(*limit), Some(*used)),
            _ => (None, None, None),
        };
        let body =
            ErrorBody { error: ErrorDetail { code, message: self.to_string(), field, errors, quota, limit, usage } };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Self::TooManyRequests { retry_after } = &self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs()));
        }
        if let Self::RateLimited { decision, .. } = &self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(decision.retry_after.as_secs()));
            crate::rate_limit::rate_limit_headers(response.headers_mut(), decision);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("resource"),
            StoreError::Conflict(message) => Self::Conflict { message },
            StoreError::InvalidCursor => Self::bad_request("cursor", "is not a cursor this listing returned"),
            StoreError::Backend(detail) => Self::Internal(detail),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        let errors = errors
            .0
            .into_iter()
            .map(|e| FieldError { field: e.field.into(), message: format!("{} {}", e.field, e.reason) });
        Self::InvalidFields(errors.collect())
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Malformed { field, message } => Self::BadRequest { field: Some(field), message },
            JobError::Invalid { field, message } => Self::Unprocessable { field: Some(field), message },
            JobError::TooLarge { field, message } => Self::PayloadTooLarge { field: Some(field), message },
            JobError::NotFound(what) => Self::NotFound(what),
            JobError::Forbidden(message) => Self::Forbidden(message),
            JobError::BudgetExceeded(message) => Self::BudgetExceeded(message),
            JobError::InvalidCredentials => Self::InvalidCredentials,
            JobError::TooManyRequests { retry_after } => Self::TooManyRequests { retry_after },
            JobError::Unauthorized(message) => Self::Unauthorized(message),
            JobError::Conflict(message) => Self::Conflict { message },
            JobError::QuotaExceeded { quota, limit, used, message } => {
                Self::QuotaExceeded { quota, limit, used, message }
            }
            JobError::Unavailable(detail) => Self::Unavailable(detail),
            JobError::Internal(detail) => Self::Internal(detail),
        }
    }
}
