use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::{ArtifactId, ArtifactKind, ArtifactRead, FileDeclaration, TeamId, Timestamp};

use crate::extract::{Caller, JsonBody, could_exist};
use crate::idempotency::honour_idempotency_key;
use crate::{ApiError, ArtifactsState, ErrorBody, RequestKeys};

pub fn router(keys: RequestKeys) -> Router<ArtifactsState> {
    let idempotent = axum::middleware::from_fn_with_state(keys, honour_idempotency_key);
    Router::new()
        .route("/api/v1/artifacts/upload", post(request_upload).layer(idempotent))
        .route("/api/v1/artifacts/{id}", get(get_artifact))
        .route("/api/v1/artifacts/{id}/download", get(download))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// The team the file belongs to; default: the caller's personal team (an API key's: its team).
    team_id: Option<TeamId>,
    filename: String,
    content_type: String,
    size_bytes: u64,
    kind: ArtifactKind,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct UploadTicket {
    pub artifact_id: ArtifactId,
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

#[utoipa::path(post, path = "/api/v1/artifacts/upload", tag = "artifacts", security(("oauth2" = []), ("api_key" = [])), request_body = UploadRequest,
    responses((status = 201, body = UploadTicket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team, or the API key's scopes, may not upload"),
        (status = 404, body = ErrorBody, description = "No such team among the caller's"),
        (status = 409, body = ErrorBody, description = "A request with the same Idempotency-Key is still running"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody)))]
pub async fn request_upload(
    State(state): State<ArtifactsState>,
    Caller(caller): Caller,
    JsonBody(request): JsonBody<UploadRequest>,
) -> Result<(StatusCode, Json<UploadTicket>), ApiError> {
    let declaration = FileDeclaration {
        kind: request.kind,
        filename: request.filename,
        content_type: request.content_type,
        size_bytes: request.size_bytes,
    };
    let ticket = state.artifacts.request_upload(&caller, declaration, request.team_id).await?;
    let upload = ticket.upload;
    Ok((
        StatusCode::CREATED,
        Json(UploadTicket {
            artifact_id: ticket.artifact.id,
            upload_url: upload.url,
            method: upload.method,
            headers: upload.headers,
            expires_at: upload.expires_at,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/artifacts/{id}", tag = "artifacts", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The artifact's id")),
    responses((status = 200, body = ArtifactRead), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_artifact(
    State(state): State<ArtifactsState>,
    Caller(caller): Caller,
    Path(id): Path<ArtifactId>,
) -> Result<Json<ArtifactRead>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("artifact"));
    }
    let artifact = state.artifacts.get(&caller, &id).await?;
    Ok(Json(ArtifactRead::from(&artifact)))
}

#[utoipa::path(get, path = "/api/v1/artifacts/{id}/download", tag = "artifacts", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The artifact's id")),
    responses((status = 200, body = DownloadLink), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn download(
    State(state): State<ArtifactsState>,
    Caller(caller): Caller,
    Path(id): Path<ArtifactId>,
) -> Result<Json<DownloadLink>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("artifact"));
    }
    let link = state.artifacts.download(&caller, &id).await?;
    Ok(Json(DownloadLink { url: link.url, expires_at: link.expires_at }))
}
