//! A pipeline's schedules (served by the jobs function): made, listed with their next run time,
//! deleted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::{PipelineId, Schedule, ScheduleId, ScheduleInput};
use helix_jobs::NewSchedule;

use crate::extract::{Caller, JsonBody, could_exist};
use crate::{ApiError, ErrorBody, JobsState};

pub fn router() -> Router<JobsState> {
    Router::new()
        .route("/api/v1/pipelines/{id}/schedules", post(create_schedule).get(list_schedules))
        .route("/api/v1/pipelines/{id}/schedules/{schedule_id}", delete(delete_schedule))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleCreate {
    /// A 5-field cron pattern (minute hour day-of-month month day-of-week, e.g. `0 6 * * MON-FRI`)
    /// or a rate (`rate(15 minutes)`, `rate(1 hour)`, `rate(2 days)`; at least a minute).
    expression: String,
    /// The IANA time zone of the cron pattern's times; default `UTC`.
    timezone: Option<String>,
    /// What each run reads.
    input: ScheduleInput,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ScheduleList {
    pub items: Vec<Schedule>,
}

fn pipeline_id(id: PipelineId) -> Result<PipelineId, ApiError> {
    if could_exist(id.as_str()) { Ok(id) } else { Err(ApiError::NotFound("pipeline")) }
}

#[utoipa::path(post, path = "/api/v1/pipelines/{id}/schedules", tag = "pipelines", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The pipeline's id")), request_body = ScheduleCreate,
    responses((status = 201, body = Schedule, description = "The schedule, with its next_run_at"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role (or an API key) may not edit pipelines"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The pipeline is archived, or has 10 schedules"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody, description = "The expression, timezone, inbox_prefix or an input artifact is refused, or both content_artifact_ids and inbox_prefix are given (the field named)")))]
pub async fn create_schedule(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
    JsonBody(body): JsonBody<ScheduleCreate>,
) -> Result<(StatusCode, Json<Schedule>), ApiError> {
    let request = NewSchedule { expression: body.expression, timezone: body.timezone, input: body.input };
    let schedule = state.schedules.create(&caller, &pipeline_id(id)?, request).await?;
    Ok((StatusCode::CREATED, Json(schedule)))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/schedules", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id")),
    responses((status = 200, body = ScheduleList, description = "The schedules, oldest first, each with next_run_at and its last firing"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The API key's scopes may not read the team"),
        (status = 404, body = ErrorBody)))]
pub async fn list_schedules(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
) -> Result<Json<ScheduleList>, ApiError> {
    Ok(Json(ScheduleList { items: state.schedules.list(&caller, &pipeline_id(id)?).await? }))
}

#[utoipa::path(delete, path = "/api/v1/pipelines/{id}/schedules/{schedule_id}", tag = "pipelines", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The pipeline's id"), ("schedule_id" = String, Path, description = "The schedule's id")),
    responses((status = 204, description = "Deleted: it fires no more"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role (or an API key) may not edit pipelines"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The pipeline is archived")))]
pub async fn delete_schedule(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path((id, schedule_id)): Path<(PipelineId, ScheduleId)>,
) -> Result<StatusCode, ApiError> {
    if !could_exist(schedule_id.as_str()) {
        return Err(ApiError::NotFound("schedule"));
    }
    state.schedules.delete(&caller, &pipeline_id(id)?, &schedule_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
