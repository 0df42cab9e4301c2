//! A pipeline's webhooks (served by the jobs function): registered with a secret shown once,
//! listed, deleted, and their delivery log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::{PipelineId, Timestamp, UserId, WebhookDelivery, WebhookId, WebhookRead};

use crate::extract::{Caller, JsonBody, could_exist};
use crate::{ApiError, ErrorBody, JobsState};

pub fn router() -> Router<JobsState> {
    Router::new()
        .route("/api/v1/pipelines/{id}/webhooks", post(create_webhook).get(list_webhooks))
        .route("/api/v1/pipelines/{id}/webhooks/deliveries", get(list_deliveries))
        .route("/api/v1/pipelines/{id}/webhooks/{webhook_id}", delete(delete_webhook))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreate {
    /// Where each finished run is POSTed: an http or https URL without credentials, at most
    /// 2,000 characters.
    #[schema(max_length = 2000)]
    url: String,
}

/// A new webhook: its secret is shown here only. Deliveries carry `Helix-Signature:
/// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WebhookCreated {
    pub id: WebhookId,
    pub pipeline_id: PipelineId,
    pub url: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub secret: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookRead>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    /// The latest 100 deliveries, newest first, each with every attempt.
    pub items: Vec<WebhookDelivery>,
}

fn pipeline_id(id: PipelineId) -> Result<PipelineId, ApiError> {
    if could_exist(id.as_str()) { Ok(id) } else { Err(ApiError::NotFound("pipeline")) }
}

#[utoipa::path(post, path = "/api/v1/pipelines/{id}/webhooks", tag = "pipelines", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The pipeline's id")), request_body = WebhookCreate,
    responses((status = 201, body = WebhookCreated, description = "The webhook, with its secret (shown this once)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role (or an API key) may not edit pipelines"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The pipeline is archived, or has 10 webhooks"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody, description = "The url is not https (http only to loopback on a local platform), carries credentials, or its host resolves to a non-public address (private, loopback, link-local such as the metadata address, unique-local IPv6)")))]
pub async fn create_webhook(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
    JsonBody(body): JsonBody<WebhookCreate>,
) -> Result<(StatusCode, Json<WebhookCreated>), ApiError> {
    let webhook = state.webhooks.register(&caller, &pipeline_id(id)?, &body.url).await?;
    let created = WebhookCreated {
        id: webhook.id,
        pipeline_id: webhook.pipeline_id,
        url: webhook.url,
        created_by: webhook.created_by,
        created_at: webhook.created_at,
        secret: webhook.secret,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/webhooks", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id")),
    responses((status = 200, body = WebhookList, description = "The webhooks, oldest first, without their secrets"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The API key's scopes may not read the team"),
        (status = 404, body = ErrorBody)))]
pub async fn list_webhooks(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
) -> Result<Json<WebhookList>, ApiError> {
    let webhooks = state.webhooks.list(&caller, &pipeline_id(id)?).await?;
    Ok(Json(WebhookList { items: webhooks.iter().map(WebhookRead::from).collect() }))
}

#[utoipa::path(delete, path = "/api/v1/pipelines/{id}/webhooks/{webhook_id}", tag = "pipelines", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The pipeline's id"), ("webhook_id" = String, Path, description = "The webhook's id")),
    responses((status = 204, description = "Deleted: its pending deliveries give up"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role (or an API key) may not edit pipelines"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The pipeline is archived")))]
pub async fn delete_webhook(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path((id, webhook_id)): Path<(PipelineId, WebhookId)>,
) -> Result<StatusCode, ApiError> {
    if !could_exist(webhook_id.as_str()) {
        return Err(ApiError::NotFound("webhook"));
    }
    state.webhooks.delete(&caller, &pipeline_id(id)?, &webhook_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/webhooks/deliveries", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id")),
    responses((status = 200, body = DeliveryList), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The API key's scopes may not read the team"),
        (status = 404, body = ErrorBody)))]
pub async fn list_deliveries(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
) -> Result<Json<DeliveryList>, ApiError> {
    Ok(Json(DeliveryList { items: state.webhooks.deliveries(&caller, &pipeline_id(id)?).await? }))
}
