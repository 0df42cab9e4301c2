use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use helix_auth::{Claims, TokenIssuer};
use helix_jobs::Actor;

use crate::ApiError;

/// The caller, proven by a valid bearer token.
pub struct CurrentUser(pub Claims);

impl CurrentUser {
    pub fn actor(&self) -> Actor {
        Actor::user(self.0.sub.as_str().into())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser
where
    Arc<TokenIssuer>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized("missing bearer token"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(ApiError::Unauthorized("missing bearer token"))?;
        let claims = Arc::<TokenIssuer>::from_ref(state)
            .verify(token.trim())
            .map_err(|_| ApiError::Unauthorized("the token is invalid or has expired"))?;
        Ok(Self(claims))
    }
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
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest { field: None, message: e.body_text() })?;
        parse_json(&bytes).map(Self)
    }
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

    #[test]
    fn syntax_errors_say_so() {
        match parse_json::<Body>(b"{\"name\": ").unwrap_err() {
            ApiError::BadRequest { message, .. } => assert!(message.contains("not valid JSON"), "{message}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
