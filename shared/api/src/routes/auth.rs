use axum::extract::{State, rejection::FormRejection};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_auth::verify_password;
use helix_domain::normalise_email;

use crate::{ApiError, AuthState, ErrorBody};

pub fn router() -> Router<AuthState> {
    Router::new()
        .route("/api/v1/auth/token", post(token))
        .route("/api/v1/auth/jwks.json", get(jwks))
        .route("/api/v1/health", get(health))
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
    State(state): State<AuthState>,
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
    let issued = state.signer.issue(&user).map_err(|e| ApiError::Internal(e.to_string()))?;
    tracing::info!(user_id = %user.id, "token issued");
    Ok(Json(TokenResponse {
        access_token: issued.access_token,
        token_type: "bearer".into(),
        expires_in: issued.expires_in,
    }))
}

/// The public keys that check access tokens (RFC 7517), for documentation: the body is the
/// signer's [`helix_auth::Jwks`], the same document the verifiers read from the bucket.
#[derive(ToSchema)]
#[schema(as = JwkSet)]
#[allow(dead_code)]
pub struct JwkSetDoc {
    keys: Vec<JwkDoc>,
}

/// An Ed25519 public key (RFC 8037); tokens name it in their header's `kid`.
#[derive(ToSchema)]
#[schema(as = Jwk)]
#[allow(dead_code)]
pub struct JwkDoc {
    /// `OKP`
    kty: String,
    /// `Ed25519`
    crv: String,
    /// The public key, base64url without padding.
    x: String,
    /// The first 16 hex digits of SHA-256 of the public key.
    kid: String,
    /// `EdDSA`
    alg: String,
    /// `sig`
    #[serde(rename = "use")]
    key_use: String,
}

#[utoipa::path(get, path = "/api/v1/auth/jwks.json", tag = "auth",
    responses((status = 200, body = JwkSetDoc, description = "The public keys that check access tokens (EdDSA, by `kid`)")))]
pub async fn jwks(State(state): State<AuthState>) -> Response {
    let mut response = Json(state.signer.jwks()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
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
