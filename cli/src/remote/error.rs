use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};

/// Everything a remote command can fail with, each turned into one message, one JSON error object
/// and one exit code in `report`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
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

/// Exit codes: 0 done (for `submit --wait`: the job COMPLETED), 1 any error, 2 bad usage (clap),
/// 3 the job FAILED, 4 not logged in or the session was refused.
pub const EXIT_JOB_FAILED: u8 = 3;
const EXIT_AUTH: u8 = 4;

impl CliError {
    pub fn file(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::File { path: path.to_owned(), source }
    }

    pub fn network(url: &str, error: &reqwest::Error) -> Self {
        // reqwest's own message only says a request failed; the cause is further down the chain.
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            reason = cause.to_string();
            source = cause.source();
        }
        Self::Network { url: url.to_owned(), reason }
    }

    fn code(&self) -> &str {
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

    fn needs_login(&self) -> bool {
        match self {
            Self::Api { status: 401, authenticated, .. } => *authenticated,
            Self::NotLoggedIn(_) | Self::SessionExpired(_) => true,
            _ => false,
        }
    }

    fn exit_code(&self) -> u8 {
        match self {
            Self::Api { status: 401, .. } | Self::NotLoggedIn(_) | Self::SessionExpired(_) => EXIT_AUTH,
            _ => 1,
        }
    }

    /// Writes the error to stderr (as one JSON object with `--json`) and gives the exit code.
    pub fn report(&self, json: bool, login_command: &str) -> ExitCode {
        let hint = self.needs_login().then(|| format!("run `{login_command}` to log in"));
        if json {
            let mut error = json!({"code": self.code(), "message": self.to_string()});
            if let Self::Api { status, field, .. } = self {
                error["status"] = json!(status);
                if let Some(field) = field {
                    error["field"] = json!(field);
                }
            }
            if let Some(hint) = &hint {
                error["hint"] = json!(hint);
            }
            eprintln!("{}", json!({ "error": error }));
        } else {
            match self {
                Self::Api { field: Some(field), .. } => eprintln!("helix: {self} (field: {field})"),
                _ => eprintln!("helix: {self}"),
            }
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
        }
        ExitCode::from(self.exit_code())
    }
}

/// The API's error body, or a stand-in naming the HTTP status when the body is not one (a proxy's
/// HTML page, an empty 502).
pub fn from_response(status: u16, body: &str, authenticated: bool) -> CliError {
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
    CliError::Api {
        status,
        code: text("code").unwrap_or_else(|| format!("http_{status}")),
        message,
        field: text("field"),
        authenticated,
    }
}
