use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::{InvitationId, Membership, Plan, Role, TeamId, Timestamp, UserId};
use helix_jobs::TeamView;

use super::audit;
use crate::extract::{JsonBody, Person};
use crate::{ApiError, ErrorBody, TeamsState};

pub fn router() -> Router<TeamsState> {
    Router::new()
        .route("/api/v1/teams", post(create_team).get(list_teams))
        .route("/api/v1/teams/{id}", get(get_team).patch(update_team))
        .route("/api/v1/teams/{id}/members", get(list_members).post(change_member).delete(remove_member))
        .route("/api/v1/teams/{id}/invitations", post(invite))
        .route("/api/v1/invitations/{token}/accept", post(accept_invitation))
        .route("/api/v1/teams/{id}/audit", get(audit::list_audit))
        .route("/api/v1/teams/{id}/audit/verify", get(audit::verify_audit))
}

/// A team and the caller's role in it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TeamRead {
    pub id: TeamId,
    pub name: String,
    /// The caller's own team: one member, no invitations.
    pub personal: bool,
    pub plan: Plan,
    pub role: Role,
    pub created_at: Timestamp,
}

impl From<TeamView> for TeamRead {
    fn from(v: TeamView) -> Self {
        Self {
            id: v.team.id,
            name: v.team.name,
            personal: v.team.personal,
            plan: v.team.plan,
            role: v.role,
            created_at: v.team.created_at,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TeamList {
    pub items: Vec<TeamRead>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamCreate {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<Membership>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberChange {
    user_id: UserId,
    role: Role,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRemoval {
    user_id: UserId,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationCreate {
    role: Role,
}

/// A new invitation. `token` is shown this once: only its hash is stored.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct InvitationRead {
    pub id: InvitationId,
    pub team_id: TeamId,
    pub role: Role,
    pub token: String,
    /// Where the invited user sends `POST` (logged in) to join.
    pub accept_path: String,
    pub expires_at: Timestamp,
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", security(("oauth2" = [])), request_body = TeamCreate,
    responses((status = 201, body = TeamRead), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "The body is not JSON"), (status = 422, body = ErrorBody)))]
pub async fn create_team(
    State(state): State<TeamsState>,
    user: Person,
    JsonBody(request): JsonBody<TeamCreate>,
) -> Result<(StatusCode, Json<TeamRead>), ApiError> {
    let team = state.teams.create(&user.actor(), &request.name).await?;
    Ok((StatusCode::CREATED, Json(team.into())))
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", security(("oauth2" = [])),
    responses((status = 200, body = TeamList), (status = 401, body = ErrorBody)))]
pub async fn list_teams(State(state): State<TeamsState>, user: Person) -> Result<Json<TeamList>, ApiError> {
    let teams = state.teams.list(&user.actor()).await?;
    Ok(Json(TeamList { items: teams.into_iter().map(TeamRead::from).collect() }))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The team's id")),
    responses((status = 200, body = TeamRead), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_team(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
) -> Result<Json<TeamRead>, ApiError> {
    Ok(Json(state.teams.get(&user.actor(), &id).await?.into()))
}

#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", security(("oauth2" = [])), request_body = TeamCreate,
    params(("id" = String, Path, description = "The team's id")),
    responses((status = 200, body = TeamRead), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "The body is not JSON"), (status = 422, body = ErrorBody)))]
pub async fn update_team(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
    JsonBody(request): JsonBody<TeamCreate>,
) -> Result<Json<TeamRead>, ApiError> {
    Ok(Json(state.teams.rename(&user.actor(), &id, &request.name).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/members", tag = "teams", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The team's id")),
    responses((status = 200, body = MemberList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
) -> Result<Json<MemberList>, ApiError> {
    Ok(Json(MemberList { items: state.teams.members(&user.actor(), &id).await? }))
}

/// Changes a member's role. New members join by invitation.
#[utoipa::path(post, path = "/api/v1/teams/{id}/members", tag = "teams", security(("oauth2" = [])), request_body = MemberChange,
    params(("id" = String, Path, description = "The team's id")),
    responses((status = 200, body = Membership), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "The body is not JSON"), (status = 422, body = ErrorBody)))]
pub async fn change_member(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
    JsonBody(request): JsonBody<MemberChange>,
) -> Result<Json<Membership>, ApiError> {
    Ok(Json(state.teams.change_role(&user.actor(), &id, &request.user_id, request.role).await?))
}

/// Removes a member; members may remove themselves (leave).
#[utoipa::path(delete, path = "/api/v1/teams/{id}/members", tag = "teams", security(("oauth2" = [])), request_body = MemberRemoval,
    params(("id" = String, Path, description = "The team's id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "The body is not JSON"), (status = 422, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
    JsonBody(request): JsonBody<MemberRemoval>,
) -> Result<StatusCode, ApiError> {
    state.teams.remove(&user.actor(), &id, &request.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/teams/{id}/invitations", tag = "teams", security(("oauth2" = [])),
    request_body = InvitationCreate, params(("id" = String, Path, description = "The team's id")),
    responses((status = 201, body = InvitationRead), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "The body is not JSON"), (status = 422, body = ErrorBody)))]
pub async fn invite(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
    JsonBody(request): JsonBody<InvitationCreate>,
) -> Result<(StatusCode, Json<InvitationRead>), ApiError> {
    let new = state.teams.invite(&user.actor(), &id, request.role).await?;
    let invitation = new.invitation;
    Ok((
        StatusCode::CREATED,
        Json(InvitationRead {
            accept_path: format!("/api/v1/invitations/{}/accept", new.token),
            id: invitation.id,
            team_id: invitation.team_id,
            role: invitation.role,
            token: new.token,
            expires_at: invitation.expires_at,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", tag = "teams", security(("oauth2" = [])),
    params(("token" = String, Path, description = "The invitation's token")),
    responses((status = 200, body = TeamRead), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Unknown, used or expired"), (status = 409, body = ErrorBody)))]
pub async fn accept_invitation(
    State(state): State<TeamsState>,
    user: Person,
    Path(token): Path<String>,
) -> Result<Json<TeamRead>, ApiError> {
    Ok(Json(state.teams.accept(&user.actor(), &token).await?.into()))
}
