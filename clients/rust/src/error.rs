use std::path::PathBuf;

use serde_json::Value;

/// Everything a call can fail with. `code` names each for programs (the CLI's `--json` errors).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server refused the request (`{"error": {"code", "message", "field"?}}`).
    #[error("{message}")]
    Api { status: u16, code: String, message: String, field: Option<String>, authenticated: bool },
    #[error("not logged in to {0}")]
    NotLoggedIn(String),
    #[error("the session for {0} has expired")]
    SessionExpired(String),
    #[error("cannot reach {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: std::io::Error },
    /// Local input the server would refuse anyway, said before anything is uploaded.
    #[error("{0}")]
    Input(String),
    /// A step outside the API: the storage PUT/GET, an upload the server rejected, a wait that
    /// ran out.
    #[error("{message}")]
    Transfer { code: &'static str, message: String },
    #[error("unexpected answer from {url}: {reason}")]
    Protocol { url: String, reason: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn file(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::File { path: path.to_owned(), source }
    }

    pub fn network(url: &str, error: &reqwest::Error) -> Self {
        Self::Network { url: url.to_owned(), reason: root_cause(error) }
    }

    /// A stable name for the error: the API's own code, else one per kind of failure.
    pub fn code(&self) -> &str {
        match self {
            Self::Api { code, .. } => code,
            Self::NotLoggedIn(_) => "not_logged_in",
            Self::SessionExpired(_) => "session_expired",
            Self::Network { .. } => "network",
            Self::File { .. } => "file",
            Self::Input(_) => "invalid_input",
            Self::Transfer { code, .. } => code,
            Self::Protocol { .. } => "protocol",
        }
    }

    /// The HTTP status of an API refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The API's error body, or a stand-in naming the HTTP status when the body is not one (a proxy's
/// HTML page, an empty 502).
pub fn from_response(status: u16, body: &str, authenticated: bool) -> Error {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().map(|v| &v["error"]);
    let text = |key: &str| error.and_then(|e| e[key].as_str()).map(str::to_owned);
    let message = text("message").unwrap_or_else(|| {
        let body = body.trim();
        let excerpt: String = body.chars().take(200).collect();
        if excerpt.is_empty() {
            format!("the server answered HTTP {status}")
        } else {
            format!("the server answered HTTP {status}: {excerpt}")
        }
    });
    Error::Api {
        status,
        code: text("code").unwrap_or_else(|| format!("http_{status}")),
        message,
        field: text("field"),
        authenticated,
    }
}

/// reqwest's own message only says a request failed; the cause is further down the chain.
pub(crate) fn root_cause(error: &reqwest::Error) -> String {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason = cause.to_string();
        source = cause.source();
    }
    reason
}
