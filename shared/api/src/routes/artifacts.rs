use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::{
    ArtifactId, ArtifactKind, ArtifactRead, FileDeclaration, PresignedRequest, StoredPart, TeamId, Timestamp,
};
use helix_jobs::{PartChecksum, PartPlan, PartUrl, Upload, UploadedPart};

use crate::extract::{Caller, JsonBody, could_exist};
use crate::idempotency::honour_idempotency_key;
use crate::{ApiError, ArtifactsState, ErrorBody, RequestKeys};

pub fn router(keys: RequestKeys) -> Router<ArtifactsState> {
    let idempotent = axum::middleware::from_fn_with_state(keys, honour_idempotency_key);
    Router::new()
        .route("/api/v1/artifacts/upload", post(request_upload).layer(idempotent))
        .route("/api/v1/artifacts/{id}", get(get_artifact))
        .route("/api/v1/artifacts/{id}/download", get(download))
        .route("/api/v1/artifacts/{id}/parts", get(list_parts).post(request_parts))
        .route("/api/v1/artifacts/{id}/complete", post(complete_upload))
        .route("/api/v1/artifacts/{id}/upload", delete(abort_upload))
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
    /// Files above 64 MiB go up in parts: the part size in bytes (5 MiB to 5 GiB; default
    /// 16 MiB, more when the file needs it to fit in 10,000 parts).
    part_size: Option<u64>,
    /// The first parts' SHA-256 checksums, for their URLs in the answer.
    #[serde(default)]
    parts: Vec<PartChecksumBody>,
}

/// A part's number (1-based) and its SHA-256 in base64: S3 refuses a body that does not match.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartChecksumBody {
    part_number: u32,
    checksum_sha256: String,
}

/// How to upload the file: one PUT, or (above 64 MiB) a multipart upload.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum UploadTicket {
    Single(SingleUpload),
    Multipart(MultipartTicket),
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SingleUpload {
    pub artifact_id: ArtifactId,
    pub upload_url: String,
    pub method: String,
    /// Send these headers with the PUT, unchanged: they are signed.
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: Timestamp,
}

/// A multipart upload: PUT each part (`part_size` bytes, the last one the rest) to its URL with
/// its headers, then `POST /artifacts/{id}/complete` with every part's ETag.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct MultipartTicket {
    pub artifact_id: ArtifactId,
    pub upload_id: String,
    pub part_size: u64,
    pub part_count: u32,
    /// URLs for the parts whose checksums came with the request; more from `POST /artifacts/{id}/parts`.
    pub parts: Vec<PartUrlBody>,
    pub expires_at: Timestamp,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PartUrlBody {
    pub part_number: u32,
    pub url: String,
    pub method: String,
    /// Send these headers with the PUT, unchanged: they are signed (length and SHA-256).
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: Timestamp,
}

impl From<PartUrl> for PartUrlBody {
    fn from(part: PartUrl) -> Self {
        let PresignedRequest { url, method, headers, expires_at } = part.request;
        Self { part_number: part.part_number, url, method, headers, expires_at }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartsRequest {
    part_numbers: Vec<u32>,
    /// Each listed part's SHA-256 in base64, in the order of `part_numbers`.
    checksums_sha256: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PartUrls {
    pub parts: Vec<PartUrlBody>,
}

#[derive(Serialize, ToSchema)]
pub struct StoredParts {
    pub parts: Vec<StoredPart>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// Every part of the file, in order, with the ETag its PUT answered.
    parts: Vec<CompletedPartBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletedPartBody {
    part_number: u32,
    etag: String,
}

fn checksums(parts: Vec<PartChecksumBody>) -> Vec<PartChecksum> {
    parts.into_iter().map(|p| PartChecksum { part_number: p.part_number, checksum_sha256: p.checksum_sha256 }).collect()
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
    let plan = PartPlan { part_size: request.part_size, parts: checksums(request.parts) };
    let ticket = state.artifacts.request_upload(&caller, declaration, request.team_id, plan).await?;
    let artifact_id = ticket.artifact.id.clone();
    let body = match ticket.upload {
        Upload::Single(upload) => UploadTicket::Single(SingleUpload {
            artifact_id,
            upload_url: upload.url,
            method: upload.method,
            headers: upload.headers,
            expires_at: upload.expires_at,
        }),
        Upload::Multipart { upload, parts, expires_at } => UploadTicket::Multipart(MultipartTicket {
            artifact_id,
            part_count: upload.part_count(ticket.artifact.size_bytes),
            upload_id: upload.upload_id,
            part_size: upload.part_size,
            parts: parts.into_iter().map(PartUrlBody::from).collect(),
            expires_at,
        }),
    };
    Ok((StatusCode::CREATED, Json(body)))
}

#[utoipa::path(post, path = "/api/v1/artifacts/{id}/parts", tag = "artifacts", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The artifact's id")), request_body = PartsRequest,
    responses((status = 200, body = PartUrls), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The artifact is not going up in parts (any more)"),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn request_parts(
    State(state): State<ArtifactsState>,
    Caller(caller): Caller,
    Path(id): Path<ArtifactId>,
    JsonBody(request): JsonBody<PartsRequest>,
) -> Result<Json<PartUrls>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("artifact"));
    }
    if request.part_numbers.len() != request.checksums_sha256.len() {
        return Err(helix_jobs::JobError::invalid(
            "checksums_sha256",
            "give one checksum per part number, in the same order: S3 checks every part",
        )
        .into());
    }
    let parts: Vec<PartChecksum> = request
        .part_numbers
        .into_iter()
        .zip(request.checksums_sha256)
        .map(|(part_number, checksum_sha256)| PartChecksum { part_number, checksum_sha256 })
        .collect();
    let urls = state.artifacts.part_urls(&caller, &id, &parts).await?;
    Ok(Json(PartUrls { parts: urls.into_iter().map(PartUrlBody::from).collect() }))
}

#[utoipa::path(get, path = "/api/v1/artifacts/{id}/parts", tag = "artifacts", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The artifact's id")),
    responses((status = 200, body = StoredParts, description = "The parts stored so far: a resumed upload sends only the others"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn list_parts(
    State(state): State<ArtifactsState>,
    Caller(caller): Caller,
    Path(id): Path<ArtifactId>,
) -> Result<Json<StoredParts>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("artifact"));
    }
    let parts = state.artifacts.stored_parts(&caller, &id).await?;
    Ok(Json(StoredParts { parts }))
}

#[utoipa::path(post, path = "/api/v1/artifacts/{id}/complete", tag = "artifacts", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The artifact's id")), request_body = CompleteRequest,
    responses((status = 200, body = ArtifactRead, description = "The file, AVAILABLE, with the checksum S3 computed"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn complete_upload(
    State(state): State<ArtifactsState>,
    Caller(caller): Caller,
    Path(id): Path<ArtifactId>,
    JsonBody(request): JsonBody<CompleteRequest>,
) -> Result<Json<ArtifactRead>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("artifact"));
    }
    let parts: Vec<UploadedPart> =
        request.parts.into_iter().map(|p| UploadedPart { part_number: p.part_number, etag: p.etag }).collect();
    let artifact = state.artifacts.complete_upload(&caller, &id, &parts).await?;
    Ok(Json(ArtifactRead::from(&artifact)))
}

#[utoipa::path(delete, path = "/api/v1/artifacts/{id}/upload", tag = "artifacts", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The artifact's id")),
    responses((status = 204, description = "The upload and its stored parts are gone; the artifact is REJECTED"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn abort_upload(
    State(state): State<ArtifactsState>,
    Caller(caller): Caller,
    Path(id): Path<ArtifactId>,
) -> Result<StatusCode, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("artifact"));
    }
    state.artifacts.abort_upload(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
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
