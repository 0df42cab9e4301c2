use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::{ApiKey, ApiKeyId, KeyScope, PipelineId, TeamId, Timestamp, UserId};
use helix_jobs::KeyRequest;

use crate::extract::{JsonBody, Person, could_exist};
use crate::{ApiError, ErrorBody, TeamsState};

pub fn router() -> Router<TeamsState> {
    Router::new()
        .route("/api/v1/teams/{id}/api-keys", get(list_keys).post(create_key))
        .route("/api/v1/teams/{id}/api-keys/{key_id}", delete(revoke_key))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    /// 1 to 100 characters: what the key is for.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// At least one of `jobs:read`, `jobs:write`, `artifacts:write`; or `pipelines:run` alone, with
    /// `pipeline_id`: a drop credential, which obtains upload URLs into that pipeline's inbox only.
    #[schema(min_items = 1, example = json!(["jobs:read", "jobs:write", "artifacts:write"]))]
    scopes: Vec<String>,
    /// When the key stops working (RFC 3339, in the future); default: never.
    expires_at: Option<Timestamp>,
    /// The pipeline of the team a `pipelines:run` key drops files for.
    pipeline_id: Option<PipelineId>,
}

/// A new key. `key` is shown this once: only its hash is stored.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ApiKeyCreated {
    pub id: ApiKeyId,
    /// Send it as `Authorization: Bearer <key>`.
    pub key: String,
    pub name: String,
    /// The key's first characters, as listings show it.
    pub prefix: String,
    pub scopes: Vec<KeyScope>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// A drop credential's pipeline.
    pub pipeline_id: Option<PipelineId>,
}

/// A key as its team's admins see it: never the key itself.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ApiKeyRead {
    pub id: ApiKeyId,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<KeyScope>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub use_count: u64,
    pub pipeline_id: Option<PipelineId>,
}

impl From<ApiKey> for ApiKeyRead {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes,
            created_by: k.created_by,
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
            use_count: k.use_count,
            pipeline_id: k.pipeline_id,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKeyRead>,
}

/// Makes an API key for the team's machines (team admins and owners).
#[utoipa::path(post, path = "/api/v1/teams/{id}/api-keys", tag = "teams", security(("oauth2" = [])),
    request_body = ApiKeyCreate, params(("id" = String, Path, description = "The team's id")),
    responses((status = 201, body = ApiKeyCreated), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team may not manage keys"),
        (status = 404, body = ErrorBody, description = "No such team among the caller's"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody, description = "An unknown scope (naming `scopes[i]`), no scope, or an expiry in the past")))]
pub async fn create_key(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
    JsonBody(request): JsonBody<ApiKeyCreate>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    let request = KeyRequest {
        name: request.name,
        scopes: request.scopes,
        expires_at: request.expires_at,
        pipeline_id: request.pipeline_id,
    };
    let new = state.keys.create(&user.actor(), &id, request).await?;
    let key = new.key;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            id: key.id,
            key: new.secret,
            name: key.name,
            prefix: key.prefix,
            scopes: key.scopes,
            created_by: key.created_by,
            created_at: key.created_at,
            expires_at: key.expires_at,
            pipeline_id: key.pipeline_id,
        }),
    ))
}

/// The team's keys, revoked ones included, oldest first (team admins and owners).
#[utoipa::path(get, path = "/api/v1/teams/{id}/api-keys", tag = "teams", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The team's id")),
    responses((status = 200, body = ApiKeyList), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team may not manage keys"),
        (status = 404, body = ErrorBody, description = "No such team among the caller's")))]
pub async fn list_keys(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
) -> Result<Json<ApiKeyList>, ApiError> {
    let keys = state.keys.list(&user.actor(), &id).await?;
    Ok(Json(ApiKeyList { items: keys.into_iter().map(ApiKeyRead::from).collect() }))
}

/// Revokes a key: requests that carry it are refused from the next one on (team admins and owners).
#[utoipa::path(delete, path = "/api/v1/teams/{id}/api-keys/{key_id}", tag = "teams", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The team's id"), ("key_id" = String, Path, description = "The key's id")),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team may not manage keys"),
        (status = 404, body = ErrorBody, description = "No such team among the caller's, or no such key of the team")))]
pub async fn revoke_key(
    State(state): State<TeamsState>,
    user: Person,
    Path((id, key_id)): Path<(TeamId, ApiKeyId)>,
) -> Result<StatusCode, ApiError> {
    if !could_exist(key_id.as_str()) {
        return Err(ApiError::NotFound("API key"));
    }
    state.keys.revoke(&user.actor(), &id, &key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
