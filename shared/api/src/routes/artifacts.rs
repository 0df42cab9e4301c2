use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::artifact::{MAX_FILENAME_CHARS, upload_key};
use helix_domain::{Artifact, ArtifactKind, ArtifactRead, ArtifactStatus, PresignedRequest, Timestamp};

use crate::extract::{CurrentUser, JsonBody};
use crate::{ApiError, AppState, ErrorBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/artifacts/upload", post(request_upload))
        .route("/api/v1/artifacts/{id}", get(get_artifact))
        .route("/api/v1/artifacts/{id}/download", get(download))
}

/// How long an upload registration waits for its object before DynamoDB's TTL removes it.
pub(crate) const PENDING_UPLOAD_TTL_SECONDS: i64 = 24 * 3600;
const MAX_CONTENT_TYPE_CHARS: usize = 255;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    filename: String,
    content_type: String,
    size_bytes: u64,
    kind: ArtifactKind,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UploadTicket {
    pub artifact_id: String,
    pub upload_url: String,
    pub method: String,
    /// Send these headers with the PUT, unchanged: they are signed.
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: Timestamp,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DownloadLink {
    pub url: String,
    pub expires_at: Timestamp,
}

/// The caller's artifact, or 404 for unknown and foreign ids alike.
pub(crate) async fn owned_artifact(state: &AppState, owner_id: &str, id: &str) -> Result<Artifact, ApiError> {
    state.artifacts.get(id).await?.filter(|a| a.owner_id == owner_id).ok_or(ApiError::NotFound("artifact"))
}

pub(crate) fn validate_content_type(content_type: &str) -> Result<(), ApiError> {
    let valid = content_type.len() <= MAX_CONTENT_TYPE_CHARS
        && content_type.split_once('/').is_some_and(|(t, s)| {
            let token =
                |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c));
            token(t) && token(s.split(';').next().unwrap_or_default().trim())
        });
    if valid {
        Ok(())
    } else {
        Err(ApiError::unprocessable("content_type", "content_type must be a media type such as text/csv"))
    }
}

pub(crate) fn validate_filename(filename: &str) -> Result<(), ApiError> {
    if filename.trim().is_empty() {
        return Err(ApiError::unprocessable("filename", "filename must not be empty"));
    }
    if filename.chars().count() > MAX_FILENAME_CHARS {
        return Err(ApiError::unprocessable(
            "filename",
            format!("filename must be at most {MAX_FILENAME_CHARS} characters"),
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/artifacts/upload", tag = "artifacts", security(("oauth2" = [])), request_body = UploadRequest,
    responses((status = 201, body = UploadTicket), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn request_upload(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    JsonBody(request): JsonBody<UploadRequest>,
) -> Result<(StatusCode, Json<UploadTicket>), ApiError> {
    validate_filename(&request.filename)?;
    validate_content_type(&request.content_type)?;
    if !request.kind.is_user_upload() {
        return Err(ApiError::unprocessable("kind", "kind must be content, context or schema"));
    }
    if request.size_bytes == 0 {
        return Err(ApiError::unprocessable("size_bytes", "size_bytes must be at least 1"));
    }
    let max = state.settings.max_upload_bytes;
    if request.size_bytes > max {
        return Err(ApiError::PayloadTooLarge {
            field: Some("size_bytes".into()),
            message: format!("size_bytes {} exceeds the upload limit of {max} bytes", request.size_bytes),
        });
    }
    let id = uuid::Uuid::new_v4().to_string();
    let key = upload_key(&claims.sub, &id, &request.filename);
    let artifact = Artifact {
        id: id.clone(),
        owner_id: claims.sub.clone(),
        kind: request.kind,
        filename: request.filename,
        content_type: request.content_type,
        size_bytes: request.size_bytes,
        status: ArtifactStatus::PendingUpload,
        s3_key: key.clone(),
        job_id: None,
        created_at: Timestamp::now(),
        rejected_reason: None,
        expires_at: Some(Timestamp::now().unix() + PENDING_UPLOAD_TTL_SECONDS),
    };
    state.artifacts.create(&artifact).await?;
    let PresignedRequest { url, method, headers, expires_at } = state
        .blobs
        .presign_upload(&key, &artifact.content_type, artifact.size_bytes, state.settings.upload_url_ttl)
        .await?;
    tracing::info!(artifact_id = %id, user_id = %claims.sub, size = artifact.size_bytes, "upload registered");
    Ok((StatusCode::CREATED, Json(UploadTicket { artifact_id: id, upload_url: url, method, headers, expires_at })))
}

#[utoipa::path(get, path = "/api/v1/artifacts/{id}", tag = "artifacts", security(("oauth2" = [])),
    responses((status = 200, body = ArtifactRead), (status = 404, body = ErrorBody)))]
pub async fn get_artifact(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ArtifactRead>, ApiError> {
    let artifact = owned_artifact(&state, &claims.sub, &id).await?;
    Ok(Json(ArtifactRead::from(&artifact)))
}

#[utoipa::path(get, path = "/api/v1/artifacts/{id}/download", tag = "artifacts", security(("oauth2" = [])),
    responses((status = 200, body = DownloadLink), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<DownloadLink>, ApiError> {
    let artifact = owned_artifact(&state, &claims.sub, &id).await?;
    if artifact.status != ArtifactStatus::Available {
        return Err(ApiError::Conflict {
            message: format!("the artifact is {}, not AVAILABLE", artifact.status.as_str()),
        });
    }
    let filename = helix_domain::artifact::safe_filename(&artifact.filename);
    let link = state.blobs.presign_download(&artifact.s3_key, &filename, state.settings.download_url_ttl).await?;
    Ok(Json(DownloadLink { url: link.url, expires_at: link.expires_at }))
}
