use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use helix_domain::{ProfileUpdate, Timestamp, UserProfile};

use crate::extract::{CurrentUser, JsonBody};
use crate::{ApiError, ErrorBody, UsersState};

pub fn router() -> Router<UsersState> {
    Router::new().route("/api/v1/users/me", get(me).put(update_me))
}

#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("oauth2" = [])),
    responses((status = 200, body = UserProfile), (status = 401, body = ErrorBody)))]
pub async fn me(
    State(state): State<UsersState>,
    CurrentUser(claims): CurrentUser,
) -> Result<Json<UserProfile>, ApiError> {
    let user = state.users.get(&claims.email).await?.filter(|u| u.id == claims.sub.as_str());
    let user = user.ok_or(ApiError::Unauthorized("the account no longer exists"))?;
    Ok(Json(UserProfile::from(&user)))
}

#[utoipa::path(put, path = "/api/v1/users/me", tag = "users", security(("oauth2" = [])), request_body = ProfileUpdate,
    responses((status = 200, body = UserProfile), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody)))]
pub async fn update_me(
    State(state): State<UsersState>,
    CurrentUser(claims): CurrentUser,
    JsonBody(update): JsonBody<ProfileUpdate>,
) -> Result<Json<UserProfile>, ApiError> {
    let user = state.users.get(&claims.email).await?.filter(|u| u.id == claims.sub.as_str());
    let mut user = user.ok_or(ApiError::Unauthorized("the account no longer exists"))?;
    update.apply_to(&mut user)?;
    user.updated_at = Timestamp::now();
    state.users.save_profile(&user).await?;
    Ok(Json(UserProfile::from(&user)))
}
