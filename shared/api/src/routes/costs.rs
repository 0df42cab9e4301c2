//! What jobs cost: per team, pipeline, user, kind or day over a range of days, as JSON or CSV,
//! and per day for the usage page's charts. Team admins see their teams, platform admins all.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use serde::Deserialize;
use utoipa::ToSchema;

use helix_domain::{ArtifactId, TeamId};
use helix_jobs::budgets::{BudgetRead, BudgetUpdate};
use helix_jobs::{CostQuery, CostReport, CostService, DailyCostReport, ExportIngest, JobStats, Reconciliation};

use crate::extract::{Caller, CurrentUser, JsonBody, could_exist};
use crate::{ApiError, ErrorBody, JobsState};

pub fn router() -> Router<JobsState> {
    Router::new()
        .route("/api/v1/costs", get(costs))
        .route("/api/v1/costs.csv", get(costs_csv))
        .route("/api/v1/costs/daily", get(daily_costs))
        .route("/api/v1/costs/reconciliation", get(reconciliation))
        .route("/api/v1/costs/billing-exports", post(ingest_billing_export))
        .route("/api/v1/teams/{id}/budget", get(get_budget).put(put_budget))
        .route("/api/v1/usage/jobs", get(job_stats))
}

const PARAMETERS: [&str; 4] = ["group_by", "from", "to", "team_id"];

/// The query's parameters, each checked by the cost service; an unknown one is refused by name.
fn cost_query(params: HashMap<String, String>) -> Result<CostQuery, ApiError> {
    if let Some(unknown) = params.keys().find(|k| !PARAMETERS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(unknown.as_str(), "unknown query parameter"));
    }
    let mut params = params;
    let team_id = params.remove("team_id").map(|team| TeamId::from(team.as_str()));
    if team_id.as_ref().is_some_and(|team| !could_exist(team.as_str())) {
        return Err(ApiError::NotFound("team"));
    }
    Ok(CostQuery { group_by: params.remove("group_by"), from: params.remove("from"), to: params.remove("to"), team_id })
}

/// The caller's e-mail, by which a platform admin is known; an API key has none (and is refused).
fn email(user: &Result<CurrentUser, ApiError>) -> &str {
    user.as_ref().map(|u| u.0.email.as_str()).unwrap_or_default()
}

#[utoipa::path(get, path = "/api/v1/costs", tag = "costs", security(("oauth2" = [])),
    params(("group_by" = Option<String>, Query, description = "team (default), pipeline, user, kind or day"),
           ("from" = Option<String>, Query, description = "The first day, YYYY-MM-DD (UTC); default: the first of the month of `to`"),
           ("to" = Option<String>, Query, description = "The last day, included; default: today. At most 366 days from `from`"),
           ("team_id" = Option<String>, Query, description = "One team only; default: every team the caller administers (a platform admin: all)")),
    responses((status = 200, body = CostReport, description = "Each group's cost over the range, most expensive first, with its cost per million records"),
        (status = 400, body = ErrorBody, description = "An unknown query parameter"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "An API key, or a team member below admin"),
        (status = 404, body = ErrorBody, description = "No such team among the caller's"),
        (status = 422, body = ErrorBody, description = "group_by, from or to refused, named in `field`")))]
pub async fn costs(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    user: Result<CurrentUser, ApiError>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<CostReport>, ApiError> {
    Ok(Json(state.costs.report(&caller, email(&user), cost_query(params)?).await?))
}

#[utoipa::path(get, path = "/api/v1/costs.csv", tag = "costs", security(("oauth2" = [])),
    params(("group_by" = Option<String>, Query, description = "As for GET /costs"),
           ("from" = Option<String>, Query, description = "As for GET /costs"),
           ("to" = Option<String>, Query, description = "As for GET /costs"),
           ("team_id" = Option<String>, Query, description = "As for GET /costs")),
    responses((status = 200, description = "One line per group: the group, total_usd, records, usd_per_million_records, then one <line>_usd column per line of the price table",
            content_type = "text/csv"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn costs_csv(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    user: Result<CurrentUser, ApiError>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let report = state.costs.report(&caller, email(&user), cost_query(params)?).await?;
    let mut response = CostService::csv(&report).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    let disposition = format!("attachment; filename=\"costs-{}-{}-{}.csv\"", report.group_by, report.from, report.to);
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/costs/daily", tag = "costs", security(("oauth2" = [])),
    params(("group_by" = Option<String>, Query, description = "As for GET /costs"),
           ("from" = Option<String>, Query, description = "As for GET /costs"),
           ("to" = Option<String>, Query, description = "As for GET /costs"),
           ("team_id" = Option<String>, Query, description = "As for GET /costs")),
    responses((status = 200, body = DailyCostReport, description = "Each day's cost per group, by day then group"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn daily_costs(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    user: Result<CurrentUser, ApiError>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<DailyCostReport>, ApiError> {
    Ok(Json(state.costs.daily(&caller, email(&user), cost_query(params)?).await?))
}

#[utoipa::path(get, path = "/api/v1/costs/reconciliation", tag = "costs", security(("oauth2" = [])),
    params(("from" = Option<String>, Query, description = "As for GET /costs"),
           ("to" = Option<String>, Query, description = "As for GET /costs")),
    responses((status = 200, body = Reconciliation, description = "The metered estimate against the ingested bill, per day and component, and the gap (billed - estimated)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not a platform admin"), (status = 422, body = ErrorBody)))]
pub async fn reconciliation(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    user: Result<CurrentUser, ApiError>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Reconciliation>, ApiError> {
    if let Some(unknown) = params.keys().find(|k| !["from", "to"].contains(&k.as_str())) {
        return Err(ApiError::bad_request(unknown.as_str(), "unknown query parameter"));
    }
    Ok(Json(state.costs.reconciliation(&caller, email(&user), cost_query(params)?).await?))
}

/// `POST /costs/billing-exports`: an uploaded AWS cost export to ingest.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingExportRequest {
    /// A content artifact: a FOCUS 1.0 CSV export (columns BillingPeriodStart, ChargePeriodStart,
    /// BilledCost, ServiceName, Tags), at most 64 MiB.
    artifact_id: ArtifactId,
}

#[utoipa::path(post, path = "/api/v1/costs/billing-exports", tag = "costs", security(("oauth2" = [])),
    request_body = BillingExportRequest,
    responses((status = 200, body = ExportIngest, description = "Each billing period of the export: stored (in place of the period's earlier export) or unchanged (this very file was the period's)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not a platform admin"),
        (status = 404, body = ErrorBody, description = "No such artifact among the caller's"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "The artifact is not uploaded, or not a readable export: the message names the line")))]
pub async fn ingest_billing_export(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    user: Result<CurrentUser, ApiError>,
    JsonBody(request): JsonBody<BillingExportRequest>,
) -> Result<Json<ExportIngest>, ApiError> {
    if !could_exist(request.artifact_id.as_str()) {
        return Err(ApiError::NotFound("artifact"));
    }
    Ok(Json(state.costs.ingest_export(&caller, email(&user), &request.artifact_id).await?))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/budget", tag = "costs", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The team's id")),
    responses((status = 200, body = BudgetRead, description = "The budget (if any) and this month's spending against it"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_budget(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<TeamId>,
) -> Result<Json<BudgetRead>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("team"));
    }
    Ok(Json(state.jobs.budgets.read(&caller, &id).await?))
}

#[utoipa::path(put, path = "/api/v1/teams/{id}/budget", tag = "costs", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The team's id")),
    request_body = BudgetUpdate,
    responses((status = 200, body = BudgetRead),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not an admin or owner of the team"),
        (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody, description = "monthly_usd refused")))]
pub async fn put_budget(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<TeamId>,
    JsonBody(update): JsonBody<BudgetUpdate>,
) -> Result<Json<BudgetRead>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("team"));
    }
    Ok(Json(state.jobs.budgets.set(&caller, &id, update).await?))
}

#[utoipa::path(get, path = "/api/v1/usage/jobs", tag = "costs", security(("oauth2" = []), ("api_key" = [])),
    params(("team_id" = Option<String>, Query, description = "The team; default: the caller's personal team (an API key's: its team)"),
           ("from" = Option<String>, Query, description = "As for GET /costs"),
           ("to" = Option<String>, Query, description = "As for GET /costs")),
    responses((status = 200, body = JobStats, description = "The team's jobs per day made: per status, p50/p95 run time, records read"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn job_stats(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<JobStats>, ApiError> {
    if let Some(unknown) = params.keys().find(|k| !["from", "to", "team_id"].contains(&k.as_str())) {
        return Err(ApiError::bad_request(unknown.as_str(), "unknown query parameter"));
    }
    let query = cost_query(params)?;
    let (from, to) = state.costs.days(&query)?;
    let team = query.team_id.unwrap_or_else(|| caller.default_team());
    Ok(Json(state.jobs.daily_stats(&caller, &team, &from, &to).await?))
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn every_cost_route_and_a_jobs_cost_are_documented() {
        let doc = serde_json::to_value(crate::docs::ApiDoc::openapi()).unwrap();
        for (path, method) in [
            ("/api/v1/costs", "get"),
            ("/api/v1/costs.csv", "get"),
            ("/api/v1/costs/daily", "get"),
            ("/api/v1/costs/reconciliation", "get"),
            ("/api/v1/costs/billing-exports", "post"),
            ("/api/v1/teams/{id}/budget", "get"),
            ("/api/v1/teams/{id}/budget", "put"),
            ("/api/v1/usage/jobs", "get"),
        ] {
            let operation = &doc["paths"][path][method];
            assert!(operation["responses"]["200"].is_object(), "{method} {path}: {operation:#}");
        }
        let schemas = &doc["components"]["schemas"];
        let row = &schemas["CostRow"]["properties"];
        assert!(row.get("usd_per_million_records").is_some(), "{row:#}");
        let job = serde_json::to_string(&schemas["JobWithCost"]).unwrap();
        assert!(job.contains("JobRead") && job.contains("JobCost"), "{job}");
        assert_eq!(schemas["BudgetUpdate"]["required"], serde_json::json!(["monthly_usd"]));
    }
}
