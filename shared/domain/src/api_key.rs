//! API keys: the credentials a team gives its machines. A key acts as its team, within its
//! scopes, until it expires or is revoked. The key itself is shown once; only its hash and a short
//! prefix (to tell keys apart in a listing) are stored.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ApiKeyId, PipelineId, TeamAction, TeamId, Timestamp, UserId};

/// What every key starts with: it tells people and secret scanners what the string is, and the
/// API a key from an access token without a look-up.
pub const API_KEY_PREFIX: &str = "hx_live_";

/// How much of a key is kept in the clear: the prefix and four characters of the secret (24 of
/// its 256 bits), enough to tell a team's keys apart, far too little to guess the rest.
pub const DISPLAY_PREFIX_CHARS: usize = 12;

/// What a key may do in its team.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyScope {
    /// Read the team's jobs, artifacts and results.
    #[serde(rename = "jobs:read")]
    JobsRead,
    /// Submit jobs.
    #[serde(rename = "jobs:write")]
    JobsWrite,
    /// Upload files.
    #[serde(rename = "artifacts:write")]
    ArtifactsWrite,
    /// A drop credential: upload URLs into one pipeline's inbox (the key's `pipeline_id`), and
    /// nothing else.
    #[serde(rename = "pipelines:run")]
    PipelinesRun,
}

/// Each scope and what it lets a key do in its team. No scope allows managing members, keys or
/// the team: those take a person.
pub const SCOPES: &[(KeyScope, &[TeamAction])] = &[
    (KeyScope::JobsRead, &[TeamAction::Read]),
    (KeyScope::JobsWrite, &[TeamAction::SubmitJobs]),
    (KeyScope::ArtifactsWrite, &[TeamAction::Upload]),
    (KeyScope::PipelinesRun, &[]),
];

impl KeyScope {
    pub const ALL: [KeyScope; 4] =
        [KeyScope::JobsRead, KeyScope::JobsWrite, KeyScope::ArtifactsWrite, KeyScope::PipelinesRun];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::JobsRead => "jobs:read",
            KeyScope::JobsWrite => "jobs:write",
            KeyScope::ArtifactsWrite => "artifacts:write",
            KeyScope::PipelinesRun => "pipelines:run",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == text)
    }

    pub fn allows(self, action: TeamAction) -> bool {
        SCOPES.iter().any(|(scope, actions)| *scope == self && actions.contains(&action))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub team_id: TeamId,
    pub name: String,
    /// SHA-256 of the whole key, hex: what a request's key is looked up by.
    pub key_hash: String,
    /// The key's first [`DISPLAY_PREFIX_CHARS`] characters.
    pub prefix: String,
    pub scopes: Vec<KeyScope>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    #[serde(default)]
    pub revoked_at: Option<Timestamp>,
    #[serde(default)]
    pub last_used_at: Option<Timestamp>,
    #[serde(default)]
    pub use_count: u64,
    /// The one pipeline a `pipelines:run` key drops files for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<PipelineId>,
}

impl ApiKey {
    /// Whether the key still opens the API at `now`: not revoked, not run out.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

impl ApiKeyId {
    /// Who a key acts as: the owner recorded on the jobs and files it creates (and part of their
    /// upload keys, so only characters safe in S3 keys). Never a user's id: those are UUIDs.
    pub fn principal(&self) -> UserId {
        UserId::from(format!("key-{self}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_as_written_and_grant_no_management() {
        for scope in KeyScope::ALL {
            assert_eq!(KeyScope::parse(scope.as_str()), Some(scope));
            assert_eq!(serde_json::to_value(scope).unwrap(), scope.as_str());
            for action in
                [TeamAction::ManageMembers, TeamAction::ManageKeys, TeamAction::Configure, TeamAction::ManageOwners]
            {
                assert!(!scope.allows(action), "{scope:?} {action:?}");
            }
        }
        assert_eq!(KeyScope::parse("jobs:admin"), None);
        assert!(KeyScope::JobsRead.allows(TeamAction::Read));
        assert!(!KeyScope::JobsWrite.allows(TeamAction::Upload));
    }

    #[test]
    fn a_key_is_active_until_revoked_or_run_out() {
        let now = Timestamp::from_unix(1_800_000_000).unwrap();
        let key = ApiKey {
            id: "k1".into(),
            team_id: "t1".into(),
            name: "ci".into(),
            key_hash: "h".into(),
            prefix: "hx_live_abcd".into(),
            scopes: vec![KeyScope::JobsRead],
            created_by: "u1".into(),
            created_at: now,
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
            use_count: 0,
            pipeline_id: None,
        };
        assert!(key.is_active(now));
        let expiring = ApiKey { expires_at: Some(now.plus(std::time::Duration::from_secs(1))), ..key.clone() };
        assert!(expiring.is_active(now));
        assert!(!expiring.is_active(now.plus(std::time::Duration::from_secs(1))));
        assert!(!ApiKey { revoked_at: Some(now), ..key.clone() }.is_active(now));
        assert_eq!(key.id.principal().as_str(), "key-k1");
    }
}
