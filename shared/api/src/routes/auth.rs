use axum::body::Bytes;
use axum::extract::{State, rejection::FormRejection};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_jobs::{IssuedSession, SessionService};

use crate::extract::{CurrentUser, JsonBody, origin, parse_json};
use crate::{ApiError, AuthState, ErrorBody};

/// The dashboard keeps its refresh token in this cookie: HttpOnly (no script reads it),
/// SameSite=Strict (no other site sends it), scoped to the auth routes (no other route sees it).
const REFRESH_COOKIE: &str = "helix_refresh";
const COOKIE_PATH: &str = "/api/v1/auth";
/// A hint the page can read (it holds no secret): a session cookie is there to refresh with, so
/// a new tab asks for a token instead of showing the login form.
const HINT_COOKIE: &str = "helix_session";

pub fn router() -> Router<AuthState> {
    Router::new()
        .route("/api/v1/auth/token", post(token))
        .route("/api/v1/auth/sso", post(single_sign_on))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/users/me/password", put(change_password))
        .route("/api/v1/auth/jwks.json", get(jwks))
        .route("/.well-known/jwks.json", get(jwks))
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
    /// Opaque, single use: `POST /auth/refresh` spends it for new tokens. Presenting a spent one
    /// ends the session. Also set as an HttpOnly cookie for the dashboard.
    pub refresh_token: String,
}

/// `POST /auth/refresh` and `/auth/logout`: the refresh token, or none when the cookie carries it.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: Option<String>,
}

/// The refresh cookie and its hint, both set (or, with `max_age` 0, both cleared).
fn cookies(refresh_token: &str, max_age: u64, secure: bool, headers: &mut HeaderMap) {
    let secure = if secure { "; Secure" } else { "" };
    let refresh = format!(
        "{REFRESH_COOKIE}={refresh_token}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    let hint = format!("{HINT_COOKIE}={}; Path=/; Max-Age={max_age}; SameSite=Strict{secure}", u8::from(max_age > 0));
    for cookie in [refresh, hint] {
        headers.append(header::SET_COOKIE, HeaderValue::from_str(&cookie).expect("a cookie of token characters"));
    }
}

fn session_response(state: &AuthState, issued: IssuedSession) -> Response {
    let max_age = state.sessions.refresh_ttl.as_secs();
    let body = TokenResponse {
        access_token: issued.access_token,
        token_type: "bearer".into(),
        expires_in: issued.expires_in,
        refresh_token: issued.refresh_token.clone(),
    };
    let mut response = Json(body).into_response();
    cookies(&issued.refresh_token, max_age, state.secure_cookies, response.headers_mut());
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The refresh token from the JSON body, else from the cookie.
fn refresh_token(headers: &HeaderMap, body: &Bytes) -> Result<String, ApiError> {
    let request: RefreshRequest =
        if body.iter().all(u8::is_ascii_whitespace) { RefreshRequest::default() } else { parse_json(body)? };
    if let Some(token) = request.refresh_token {
        return Ok(token);
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(REFRESH_COOKIE)?.strip_prefix('=').map(str::to_owned))
        .ok_or_else(|| ApiError::bad_request("refresh_token", "is required (in the body, or the session cookie)"))
}

#[utoipa::path(post, path = "/api/v1/auth/token", tag = "auth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Five failed logins of the account within 15 minutes: wait `Retry-After` seconds")))]
pub async fn token(
    State(state): State<AuthState>,
    parts: axum::http::request::Parts,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Result<Response, ApiError> {
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
    let issued = state.sessions.login(&username, &password, origin(&parts)).await?;
    Ok(session_response(&state, issued))
}

/// `POST /auth/sso`: an access token of a configured external OIDC issuer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoRequest {
    access_token: String,
}

/// Single sign-on: exchanges an access token of a configured OIDC issuer (Keycloak, Cognito,
/// Entra ID, Auth0) for a HelixNet session, as a password login would. The first login creates
/// the account; the issuer's groups claim (`helix:<team id>:<role>`) adds team memberships.
#[utoipa::path(post, path = "/api/v1/auth/sso", tag = "auth", request_body = SsoRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody, description = "Invalid, expired, or not from a configured issuer"),
        (status = 403, body = ErrorBody, description = "The issuer says the e-mail address is unverified"),
        (status = 404, body = ErrorBody, description = "Single sign-on is not configured"),
        (status = 409, body = ErrorBody, description = "The address belongs to another account (never linked)"),
        (status = 422, body = ErrorBody, description = "The token carries no e-mail address"),
        (status = 503, body = ErrorBody, description = "The issuer's keys could not be read")))]
pub async fn single_sign_on(
    State(state): State<AuthState>,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    let sso = state.sso.clone().ok_or(ApiError::NotFound("single sign-on configuration"))?;
    let request: SsoRequest = parse_json(&body)?;
    if request.access_token.trim().is_empty() {
        return Err(ApiError::bad_request("access_token", "is required"));
    }
    let issued = sso.login(request.access_token.trim(), origin(&parts)).await?;
    Ok(session_response(&state, issued))
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody, description = "Unknown, spent or expired; a spent one also ends its session")))]
pub async fn refresh(State(state): State<AuthState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let token = refresh_token(&headers, &body)?;
    let issued = state.sessions.refresh(&token).await?;
    Ok(session_response(&state, issued))
}

/// `PUT /users/me/password`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    /// 10 to 256 characters.
    #[schema(min_length = 10, max_length = 256)]
    new_password: String,
}

/// Changes the password (the current one required) and ends the account's other sessions.
#[utoipa::path(put, path = "/api/v1/users/me/password", tag = "users", security(("oauth2" = [])),
    request_body = PasswordChange,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AuthState>,
    CurrentUser(claims): CurrentUser,
    JsonBody(change): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let session = claims.sid.as_str().into();
    state.sessions.change_password(&claims.email, &session, &change.current_password, &change.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends the session: its refresh token at once, its access tokens within a second.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204), (status = 400, body = ErrorBody)))]
pub async fn logout(State(state): State<AuthState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let token = refresh_token(&headers, &body)?;
    if let Some(session) = SessionService::session_of(&token) {
        state.sessions.logout(&session).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    cookies("", 0, state.secure_cookies, response.headers_mut());
    Ok(response)
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
