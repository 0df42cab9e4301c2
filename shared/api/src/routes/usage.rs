//! A team's plan, limits and usage (`GET /teams/{id}/usage`, for its admins and owners), and a
//! platform admin's change of its plan (`PUT /teams/{id}/plan`).

use axum::extract::{Path, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::{Plan, PlanLimits, QuotaUsage, TeamId};
use helix_jobs::TeamUsage;

use crate::extract::{JsonBody, Person};
use crate::{ApiError, ErrorBody, TeamsState};

pub fn router() -> Router<TeamsState> {
    Router::new().route("/api/v1/teams/{id}/usage", get(team_usage)).route("/api/v1/teams/{id}/plan", put(set_plan))
}

/// The team's plan, what it allows and what the team uses of it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct UsageRead {
    pub plan: Plan,
    pub limits: PlanLimits,
    pub usage: QuotaUsage,
}

impl From<TeamUsage> for UsageRead {
    fn from(u: TeamUsage) -> Self {
        Self { plan: u.team.plan, limits: u.limits, usage: u.usage }
    }
}

/// A team's plan; `limits` only for `enterprise` (unset: the pro plan's).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanChange {
    plan: Plan,
    #[serde(default)]
    limits: Option<PlanLimits>,
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/usage", tag = "teams", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The team's id")),
    responses((status = 200, body = UsageRead), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "A member or viewer: usage is for admins and owners"),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody, description = "Request rate used up")))]
pub async fn team_usage(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
) -> Result<Json<UsageRead>, ApiError> {
    Ok(Json(state.teams.usage(&user.actor(), &id).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/teams/{id}/plan", tag = "teams", security(("oauth2" = [])), request_body = PlanChange,
    params(("id" = String, Path, description = "The team's id")),
    responses((status = 200, body = UsageRead), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not a platform admin"), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody, description = "limits for a plan other than enterprise, or out of range")))]
pub async fn set_plan(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
    JsonBody(change): JsonBody<PlanChange>,
) -> Result<Json<UsageRead>, ApiError> {
    let email = user.user.0.email.clone();
    Ok(Json(state.teams.set_plan(&user.actor(), &email, &id, change.plan, change.limits).await?.into()))
}
