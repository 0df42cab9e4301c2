//! The one stored login of the `helix` CLI (`helix login`): which server, as whom, the bearer
//! token and when it runs out. A program may use it too: `credentials::load()?` then
//! `Credentials::client`.

use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
pub struct Credentials {
    pub api_url: String,
    pub username: String,
    pub access_token: String,
    pub token_type: String,
    /// Unix seconds.
    pub expires_at: u64,
    /// Spent for a new access token when this one has run out (and replaced): the login lasts as
    /// long as the server's session. Absent in logins stored before sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The team commands act in when they name none (`helix team use`); unset, the server's
    /// default (the personal team).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_team: Option<String>,
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// The `token_type` of a login with an API key (`helix login --api-key`). Such a login never runs
/// out here: the server refuses the key once it is revoked or expired.
pub const API_KEY_TOKEN_TYPE: &str = "api_key";

/// An access token this close to running out is refreshed before use rather than sent.
const REFRESH_MARGIN_SECONDS: u64 = 30;

impl Credentials {
    pub fn expired(&self) -> bool {
        now() >= self.expires_at
    }

    /// Whether the access token should be refreshed before the next request.
    pub fn due_for_refresh(&self) -> bool {
        self.refresh_token.is_some() && now() + REFRESH_MARGIN_SECONDS >= self.expires_at
    }

    pub fn is_api_key(&self) -> bool {
        self.token_type == API_KEY_TOKEN_TYPE
    }

    /// A client carrying this login's token. A token about to run out is refreshed first, and
    /// the refresh token, spent, is replaced in the stored login; a session the server ended is
    /// an expired login.
    pub async fn client(&self) -> Result<Client> {
        if self.due_for_refresh() {
            return self.refreshed().await;
        }
        if self.expired() {
            return Err(Error::SessionExpired(self.api_url.clone()));
        }
        Client::new(&self.api_url, Some(self.access_token.clone()))
    }

    async fn refreshed(&self) -> Result<Client> {
        let anonymous = Client::new(&self.api_url, None)?;
        let refresh_token = self.refresh_token.as_deref().unwrap_or_default();
        let token = match anonymous.refresh(refresh_token).await {
            Ok(token) => token,
            Err(Error::Api { status: 401, .. }) => return Err(Error::SessionExpired(self.api_url.clone())),
            Err(e) => return Err(e),
        };
        let renewed = Self {
            api_url: self.api_url.clone(),
            username: self.username.clone(),
            access_token: token.access_token,
            token_type: token.token_type,
            expires_at: now() + token.expires_in,
            refresh_token: token.refresh_token.or_else(|| self.refresh_token.clone()),
            default_team: self.default_team.clone(),
        };
        save(&renewed)?;
        Ok(anonymous.with_token(renewed.access_token))
    }
}

fn dir() -> Result<PathBuf, Error> {
    dirs::config_dir()
        .map(|d| d.join("helix"))
        .ok_or_else(|| Error::Input("no configuration directory: set HOME (or XDG_CONFIG_HOME)".into()))
}

pub fn path() -> Result<PathBuf, Error> {
    Ok(dir()?.join("credentials.json"))
}

/// The stored login, if any. An unreadable file is an error rather than "not logged in", so a
/// broken file is noticed instead of silently ignored.
pub fn load() -> Result<Option<Credentials>, Error> {
    let path = path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::file(&path, e)),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Error::Input(format!("{}: unreadable ({e}); run `helix logout`, then log in again", path.display()))
    })
}

/// Writes the login to a private temporary file beside the target and renames it over: readers
/// see the old file or the new one, never a half-written token, and never one readable by others.
pub fn save(credentials: &Credentials) -> Result<PathBuf, Error> {
    let dir = dir()?;
    create_private_dir(&dir).map_err(|e| Error::file(&dir, e))?;
    let path = dir.join("credentials.json");
    // tempfile creates the file with mode 0600 on Unix.
    let mut file = tempfile::NamedTempFile::new_in(&dir).map_err(|e| Error::file(&dir, e))?;
    let text = serde_json::to_vec_pretty(credentials).map_err(|e| Error::Input(e.to_string()))?;
    file.write_all(&text).and_then(|()| file.as_file().sync_all()).map_err(|e| Error::file(file.path(), e))?;
    file.persist(&path).map_err(|e| Error::file(&path, e.error))?;
    Ok(path)
}

/// Removes the stored login; false when there was none.
pub fn remove() -> Result<bool, Error> {
    let path = path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::file(&path, e)),
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}
