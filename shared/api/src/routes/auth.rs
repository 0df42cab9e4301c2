use axum::extract::{State, rejection::FormRejection};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_auth::verify_password;
use helix_domain::normalise_email;

use crate::{AccountsState, ApiError, ErrorBody};

pub fn router() -> Router<AccountsState> {
    Router::new().route("/api/v1/auth/token", post(token)).route("/api/v1/health", get(health))
}

/// OAuth2 resource-owner password form (RFC 6749 §4.3), as Swagger UI and `helix login` send it.
#[derive(Deserialize, ToSchema)]
pub struct TokenForm {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn token(
    State(state): State<AccountsState>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Json<TokenResponse>, ApiError> {
    let Form(form) = form.map_err(|e| ApiError::BadRequest {
        field: None,
        message: format!(
            "expected an application/x-www-form-urlencoded body with username and password: {}",
            e.body_text()
        ),
    })?;
    if form.grant_type.as_deref().is_some_and(|g| g != "password") {
        return Err(ApiError::bad_request("grant_type", "only the \"password\" grant is supported"));
    }
    let username = form
        .username
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("username", "is required"))?;
    let password =
        form.password.filter(|p| !p.is_empty()).ok_or_else(|| ApiError::bad_request("password", "is required"))?;
    let user = state.users.get(&normalise_email(&username)).await?;
    // Same work and the same answer for an unknown account and a wrong password.
    if !verify_password(&password, user.as_ref().map(|u| u.password_hash.as_str())) {
        return Err(ApiError::InvalidCredentials);
    }
    let user = user.ok_or(ApiError::InvalidCredentials)?;
    let issued = state.tokens.issue(&user).map_err(|e| ApiError::Internal(e.to_string()))?;
    tracing::info!(user_id = %user.id, "token issued");
    Ok(Json(TokenResponse {
        access_token: issued.access_token,
        token_type: "bearer".into(),
        expires_in: issued.expires_in,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
    version: &'static str,
}

#[utoipa::path(get, path = "/api/v1/health", tag = "meta", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}
