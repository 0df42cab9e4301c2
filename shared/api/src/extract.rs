use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use helix_auth::{Claims, TokenError, TokenVerifier};
use helix_domain::{API_KEY_PREFIX, SessionId};
use helix_jobs::{Actor, ApiKeyService, RequestOrigin, SessionGate};

use crate::ApiError;
use crate::rate_limit::{DecisionSlot, RequestLimiter};

/// Proves callers: an access token's signature and claims against the published public keys,
/// then its session (ended sessions' tokens are refused within [`SessionGate::MEMORY`]); and
/// holds each proven caller to its request rate.
pub struct Authenticator {
    pub tokens: Arc<TokenVerifier>,
    pub sessions: Arc<SessionGate>,
    pub limiter: Arc<RequestLimiter>,
}

impl Authenticator {
    /// Takes one request from the bucket of `caller` (`user#<id>`, `key#<id>`): 429 once it is
    /// empty. The decision goes to the answer's `RateLimit-*` headers.
    async fn admit(&self, parts: &Parts, caller: &str) -> Result<(), ApiError> {
        let decision = self.limiter.admit(caller).await?;
        if let Some(slot) = parts.extensions.get::<DecisionSlot>() {
            slot.set(decision);
        }
        Ok(())
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let claims = self.tokens.verify(token).await.map_err(|e| match e {
            TokenError::KeysUnavailable(detail) => ApiError::Unavailable(detail),
            _ => ApiError::Unauthorized("the token is invalid or has expired"),
        })?;
        if !self.sessions.is_active(&SessionId::from(claims.sid.as_str())).await? {
            return Err(ApiError::Unauthorized("the session has ended: log in again"));
        }
        Ok(claims)
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())?;
    header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).map(str::trim)
}

/// The caller, proven by a valid bearer token of a session that is still on.
pub struct CurrentUser(pub Claims);

impl CurrentUser {
    pub fn actor(&self) -> Actor {
        Actor::user(self.0.sub.as_str().into())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser
where
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized("missing bearer token"))?;
        let auth = Arc::<Authenticator>::from_ref(state);
        let claims = auth.verify(token).await?;
        auth.admit(parts, &format!("user#{}", claims.sub)).await?;
        Ok(Self(claims))
    }
}

/// Where a request came from, for the audit trail. Behind API Gateway the client's address is the
/// last hop of `X-Forwarded-For`: the one the gateway appended, whereas earlier hops are whatever
/// the client sent. Without the header (a direct connection, locally), the connection's address
/// where the server records it.
pub fn origin(parts: &Parts) -> RequestOrigin {
    let text = |name| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let forwarded = text("x-forwarded-for").and_then(|hops| hops.rsplit(',').next()).map(|hop| hop.trim().to_owned());
    let connected =
        || parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
    RequestOrigin {
        ip: forwarded.filter(|ip| !ip.is_empty()).or_else(connected),
        user_agent: text("user-agent").map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect()),
    }
}

/// A longer user agent is cut: it is the client's text, stored in every entry it makes.
const MAX_USER_AGENT_CHARS: usize = 512;

/// A person, as [`CurrentUser`] proves one, with where the request came from: the caller of the
/// team endpoints, whose use cases record what they do in the audit trail.
pub struct Person {
    pub user: CurrentUser,
    pub origin: RequestOrigin,
}

impl Person {
    pub fn actor(&self) -> Actor {
        self.user.actor().from_origin(self.origin.clone())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Person
where
    CurrentUser: FromRequestParts<S, Rejection = ApiError>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Ok(Self { user: CurrentUser::from_request_parts(parts, state).await?, origin: origin(parts) })
    }
}

/// The caller of the endpoints machines may call too (jobs, artifacts): a person, as
/// [`CurrentUser`] proves one, or an API key (`Bearer hx_live_…`), which acts as its team within
/// its scopes. The other endpoints take people only.
pub struct Caller(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    CurrentUser: FromRequestParts<S, Rejection = ApiError>,
    Arc<ApiKeyService>: FromRef<S>,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let key = bearer(parts).filter(|token| token.starts_with(API_KEY_PREFIX));
        let actor = match key {
            Some(key) => {
                let actor = api_key(&Arc::<ApiKeyService>::from_ref(state), key).await?;
                Arc::<Authenticator>::from_ref(state).admit(parts, &format!("key#{}", actor.user_id)).await?;
                actor
            }
            None => CurrentUser::from_request_parts(parts, state).await?.actor(),
        };
        Ok(Self(actor.from_origin(origin(parts))))
    }
}

/// The actor an API key stands for: looked up on every request, so a revoked key is refused on
/// the next one.
async fn api_key(keys: &ApiKeyService, key: &str) -> Result<Actor, ApiError> {
    keys.authenticate(key).await?.ok_or(ApiError::Unauthorized("the API key is unknown, revoked or expired"))
}

/// A JSON body whose errors name the offending field (`content_artifact_ids[1]`), unlike axum's
/// `Json`, whose rejection is one sentence for the whole body.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
                ct.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType {
                message: "the body must be JSON (Content-Type: application/json)".into(),
            });
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge { field: None, message: "the body exceeds the API's payload limit".into() }
            } else {
                ApiError::BadRequest { field: None, message: e.body_text() }
            }
        })?;
        parse_json(&bytes).map(Self)
    }
}

/// The most bytes an id may have: ids are UUIDs. An empty or oversized id cannot name anything,
/// and the table would refuse it as a key (a fault, not "not found"): it is answered as unknown
/// without a look-up.
const MAX_ID_BYTES: usize = 128;

pub fn could_exist(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_BYTES
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let inner = e.inner();
        let message = inner.to_string();
        let path = e.path().to_string();
        let field = field_of(&path, &message);
        let message = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("the body is not valid JSON: {message}")
            }
            _ => message,
        };
        ApiError::BadRequest { field, message }
    })
}

/// serde reports a missing field at its parent's path, naming it only in the message (unknown
/// fields are already on the path).
fn field_of(path: &str, message: &str) -> Option<String> {
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    let parent = (path != ".").then(|| path.to_owned());
    match (parent, missing) {
        (Some(parent), Some(name)) => Some(format!("{parent}.{name}")),
        (None, Some(name)) => Some(name.to_owned()),
        (parent, None) => parent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        ids: Vec<String>,
    }

    fn field(json: &str) -> Option<String> {
        match parse_json::<Body>(json.as_bytes()).unwrap_err() {
            ApiError::BadRequest { field, .. } => field,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn names_the_field() {
        assert_eq!(field(r#"{"ids": []}"#).as_deref(), Some("name"));
        assert_eq!(field(r#"{"name": 3, "ids": []}"#).as_deref(), Some("name"));
        assert_eq!(field(r#"{"name": "a", "ids": ["x", 2]}"#).as_deref(), Some("ids[1]"));
        assert_eq!(field(r#"{"name": "a", "ids": [], "extra": 1}"#).as_deref(), Some("extra"));
    }

    mod bearer {
        use std::time::Duration;

        use axum::Router;
        use axum::body::Body;
        use axum::http::{Request, StatusCode};
        use axum::routing::get;
        use helix_auth::{MemoryKeyDirectory, TokenSettings, TokenSigner};
        use helix_domain::memory::MemorySessionStore;
        use helix_domain::{Session, SessionStore, SystemClock, Timestamp, User};
        use tower::ServiceExt;

        use super::super::*;

        fn settings() -> TokenSettings {
            TokenSettings { issuer: "helixnet".into(), audience: "helixnet-api".into(), ttl: Duration::from_secs(60) }
        }

        fn token(signer: &TokenSigner) -> String {
            let now = Timestamp::now();
            let user = User {
                email: "a@example.test".into(),
                id: "u1".into(),
                password_hash: String::new(),
                fullname: None,
                phone_number: None,
                web_url: None,
                is_admin: false,
                created_at: now,
                updated_at: now,
            };
            signer.issue(&user, "s1").unwrap().access_token
        }

        /// The store with session `s1` on.
        async fn sessions() -> Arc<MemorySessionStore> {
            let store = Arc::new(MemorySessionStore::default());
            let session = Session::start(
                "s1".into(),
                "u1".into(),
                "a@example.test".into(),
                String::new(),
                Timestamp::now(),
                Duration::from_secs(3600),
            );
            store.create(&session).await.unwrap();
            store
        }

        async fn status(app: &Router, token: Option<&str>) -> StatusCode {
            let mut request = Request::get("/me");
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap().status()
        }

        fn app(directory: Arc<MemoryKeyDirectory>, sessions: Arc<MemorySessionStore>) -> Router {
            limited_app(directory, sessions, helix_domain::RateLimit { per_minute: 600, burst: 100 })
        }

        fn limited_app(
            directory: Arc<MemoryKeyDirectory>,
            sessions: Arc<MemorySessionStore>,
            limit: helix_domain::RateLimit,
        ) -> Router {
            let auth = Arc::new(Authenticator {
                tokens: Arc::new(TokenVerifier::new(&settings(), directory)),
                sessions: Arc::new(SessionGate::new(sessions, Arc::new(SystemClock))),
                limiter: Arc::new(RequestLimiter {
                    buckets: Arc::new(helix_domain::rate::MemoryRateBuckets::default()),
                    limit,
                }),
            });
            Router::new()
                .route("/me", get(|CurrentUser(claims): CurrentUser| async move { claims.sub }))
                .with_state(auth)
        }

        #[tokio::test]
        async fn the_verifier_checks_the_token_and_reads_keys_only_for_one() {
            let signer = TokenSigner::new(b"api-test-secret-api-test-secret-api-test", settings()).unwrap();
            let directory = Arc::new(MemoryKeyDirectory::with(signer.jwks()));
            let app = app(directory.clone(), sessions().await);
            assert_eq!(status(&app, None).await, StatusCode::UNAUTHORIZED);
            assert_eq!(directory.loads(), 0, "a request without a token reads no keys");
            assert_eq!(status(&app, Some(&token(&signer))).await, StatusCode::OK);
            let foreign = TokenSigner::new(b"another-secret-another-secret-another", settings()).unwrap();
            assert_eq!(status(&app, Some(&token(&foreign))).await, StatusCode::UNAUTHORIZED);
            assert_eq!(status(&app, Some("not-a-jwt")).await, StatusCode::UNAUTHORIZED);
        }

        #[tokio::test]
        async fn a_caller_over_its_rate_is_answered_429_with_retry_after_and_the_ratelimit_headers() {
            let signer = TokenSigner::new(b"api-test-secret-api-test-secret-api-test", settings()).unwrap();
            let limit = helix_domain::RateLimit { per_minute: 1, burst: 2 };
            let app = limited_app(Arc::new(MemoryKeyDirectory::with(signer.jwks())), sessions().await, limit);
            let token = token(&signer);
            assert_eq!(status(&app, Some(&token)).await, StatusCode::OK);
            assert_eq!(status(&app, Some(&token)).await, StatusCode::OK);
            let request = Request::get("/me").header("authorization", format!("Bearer {token}"));
            let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
            assert_eq!((header("retry-after"), header("ratelimit-limit")), ("60".into(), "2".into()));
            assert_eq!((header("ratelimit-remaining"), header("ratelimit-reset")), ("0".into(), "120".into()));
            // Invalid tokens take nothing from anyone's bucket: they are refused before.
            assert_eq!(status(&app, Some("not-a-jwt")).await, StatusCode::UNAUTHORIZED);
        }

        #[tokio::test]
        async fn unreadable_keys_are_a_503_not_a_401() {
            let signer = TokenSigner::new(b"api-test-secret-api-test-secret-api-test", settings()).unwrap();
            let directory = Arc::new(MemoryKeyDirectory::with(signer.jwks()));
            directory.set_failing(true);
            let app = app(directory, sessions().await);
            assert_eq!(status(&app, Some(&token(&signer))).await, StatusCode::SERVICE_UNAVAILABLE);
        }

        #[tokio::test]
        async fn an_ended_sessions_tokens_are_refused_within_a_second() {
            let signer = TokenSigner::new(b"api-test-secret-api-test-secret-api-test", settings()).unwrap();
            let sessions = sessions().await;
            let app = app(Arc::new(MemoryKeyDirectory::with(signer.jwks())), sessions.clone());
            let token = token(&signer);
            assert_eq!(status(&app, Some(&token)).await, StatusCode::OK);
            sessions.end(&"s1".into(), "logout", Timestamp::now()).await.unwrap();
            tokio::time::sleep(SessionGate::MEMORY).await;
            assert_eq!(status(&app, Some(&token)).await, StatusCode::UNAUTHORIZED);
        }
    }

    #[tokio::test]
    async fn an_oversized_json_body_is_a_413_with_the_error_body() {
        use axum::extract::DefaultBodyLimit;
        use axum::http::{Request, StatusCode};
        use tower::ServiceExt;

        let app = axum::Router::new()
            .route("/", axum::routing::post(|JsonBody(_): JsonBody<serde_json::Value>| async { "ok" }))
            .layer(DefaultBodyLimit::max(64));
        let body = format!("[{}1]", "1,".repeat(100));
        let request =
            Request::post("/").header("content-type", "application/json").body(axum::body::Body::from(body)).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    }

    #[test]
    fn syntax_errors_say_so() {
        match parse_json::<Body>(b"{\"name\": ").unwrap_err() {
            ApiError::BadRequest { message, .. } => assert!(message.contains("not valid JSON"), "{message}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
