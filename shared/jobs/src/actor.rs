use helix_domain::{ApiKeyId, KeyScope, PipelineId, TeamId, UserId};

use crate::JobError;

/// Who is asking, as proven by the transport (a bearer token, an API key, a worker's own
/// identity). Authorization is decided from it in this crate ([`crate::Access`]), never in a
/// handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// A person, or the principal of the API key (`key-<key id>`): the owner of what it creates.
    pub user_id: UserId,
    /// Set when an API key asks: it acts as its team, within its scopes, and as nothing else.
    pub key: Option<KeyGrant>,
    /// Where the request came from, for the audit trail; `None` for workers and tests.
    pub origin: Option<RequestOrigin>,
}

/// The network origin of a request, as the transport saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// What an API key may do: its team, its scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGrant {
    pub key_id: ApiKeyId,
    pub team_id: TeamId,
    pub scopes: Vec<KeyScope>,
    /// A drop credential's pipeline: the only one it may drop files for.
    pub pipeline_id: Option<PipelineId>,
}

impl Actor {
    pub fn user(user_id: UserId) -> Self {
        Self { user_id, key: None, origin: None }
    }

    pub fn key(grant: KeyGrant) -> Self {
        Self { user_id: grant.key_id.principal(), key: Some(grant), origin: None }
    }

    /// The same actor, coming from `origin`.
    pub fn from_origin(self, origin: RequestOrigin) -> Self {
        Self { origin: Some(origin), ..self }
    }

    /// The team a request that names none acts in: a key's team, a person's personal team.
    pub fn default_team(&self) -> TeamId {
        match &self.key {
            Some(grant) => grant.team_id.clone(),
            None => TeamId::personal(&self.user_id),
        }
    }
    /// The person asking. A key is refused what only people do: making, listing and joining teams.
    pub fn person(&self) -> Result<&UserId, JobError> {
        match self.key {
            Some(_) => Err(JobError::Forbidden("an API key acts on its team's jobs and files only".into())),
            None => Ok(&self.user_id),
        }
    }
}
