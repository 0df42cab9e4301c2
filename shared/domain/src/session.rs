//! Login sessions. A session lives as long as its refresh tokens are used (each use replaces the
//! token: rotation) and ends at logout, at a password change, or when an old refresh token is
//! presented again (the family is taken to be stolen). Access tokens name their session, so an
//! ended session's access tokens are refused too.

use serde::{Deserialize, Serialize};

use crate::{SessionId, Timestamp, UserId};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    /// The account's key in the users table.
    pub email: String,
    /// SHA-256 (hex) of the current refresh token's secret: the one that refreshes.
    pub refresh_hash: String,
    /// The token it replaced, which still refreshes for [`REFRESH_GRACE`] after the rotation:
    /// two tabs refreshing at once with one cookie are a race, not a theft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_hash: Option<String>,
    /// How many times the session was refreshed.
    #[serde(default)]
    pub generation: u64,
    pub created_at: Timestamp,
    pub refreshed_at: Timestamp,
    /// When an unused session ends by itself.
    pub expires_at: Timestamp,
    /// Left out while the session is on, so that stores can test for its absence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// `logout`, `refresh token reused`, `password changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_reason: Option<String>,
}

/// How long a just-replaced refresh token still refreshes (see [`Session::previous_hash`]).
pub const REFRESH_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

impl Session {
    /// A session that starts `now` with the refresh token hashing to `refresh_hash`, and lasts
    /// `ttl` unless refreshed.
    pub fn start(
        id: SessionId,
        user_id: UserId,
        email: String,
        refresh_hash: String,
        now: Timestamp,
        ttl: std::time::Duration,
    ) -> Self {
        Self {
            id,
            user_id,
            email,
            refresh_hash,
            previous_hash: None,
            generation: 0,
            created_at: now,
            refreshed_at: now,
            expires_at: now.plus(ttl),
            ended_at: None,
            ended_reason: None,
        }
    }

    pub fn is_active(&self, now: Timestamp) -> bool {
        self.ended_at.is_none() && self.expires_at > now
    }

    /// Whether a refresh token hashing to `hash` may refresh this session at `now`: the current
    /// one, or the one it replaced within the grace period.
    pub fn refreshes_with(&self, hash: &str, now: Timestamp) -> bool {
        self.refresh_hash == hash
            || (self.previous_hash.as_deref() == Some(hash) && now < self.refreshed_at.plus(REFRESH_GRACE))
    }
}
