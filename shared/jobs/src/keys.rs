use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helix_domain::{
    API_KEY_PREFIX, ApiKey, ApiKeyId, ApiKeyStore, AuditOutcome, Clock, KeyScope, PipelineId, TeamAction, TeamId,
    Timestamp, api_key::DISPLAY_PREFIX_CHARS,
};
use rand::RngCore;

use crate::access::Access;
use crate::audit::{AuditEvent, AuditTrail, action};
use crate::teams::token_hash;
use crate::{Actor, JobError, KeyGrant};

const MAX_KEY_NAME_CHARS: usize = 100;
/// The random part of a key: 256 bits, 43 characters of URL-safe base64.
const SECRET_BYTES: usize = 32;
const SECRET_CHARS: usize = 43;

/// A key just made, with the key itself: shown this once, only its hash is kept.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub key: ApiKey,
    pub secret: String,
}

/// What a key is asked to be.
#[derive(Clone, Debug, Default)]
pub struct KeyRequest {
    pub name: String,
    /// As sent: each is checked to be a known scope.
    pub scopes: Vec<String>,
    pub expires_at: Option<Timestamp>,
    /// For a drop credential (scope `pipelines:run`, alone): the pipeline of the team whose inbox
    /// it drops files into.
    pub pipeline_id: Option<PipelineId>,
}

/// A team's API keys: made, listed and revoked by its admins and owners; checked on every request
/// that carries one.
pub struct ApiKeyService {
    pub access: Arc<Access>,
    pub keys: Arc<dyn ApiKeyStore>,
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<AuditTrail>,
}

fn key_name(name: &str) -> Result<String, JobError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_KEY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(JobError::invalid(
            "name",
            format!("name must be 1 to {MAX_KEY_NAME_CHARS} characters, without control characters"),
        ));
    }
    Ok(name.to_owned())
}

fn scopes(requested: &[String]) -> Result<Vec<KeyScope>, JobError> {
    if requested.is_empty() {
        return Err(JobError::invalid("scopes", "a key needs at least one scope"));
    }
    let mut scopes = requested
        .iter()
        .enumerate()
        .map(|(i, text)| {
            KeyScope::parse(text).ok_or_else(|| {
                let known: Vec<&str> = KeyScope::ALL.iter().map(|s| s.as_str()).collect();
                JobError::invalid(
                    format!("scopes[{i}]"),
                    format!("unknown scope {text:?}; the scopes are {}", known.join(", ")),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
}

/// A drop credential is `pipelines:run` alone and names its pipeline; no other key names one.
fn check_drop_credential(scopes: &[KeyScope], pipeline: Option<&PipelineId>) -> Result<(), JobError> {
    let drops = scopes.contains(&KeyScope::PipelinesRun);
    match pipeline {
        None if drops => {
            Err(JobError::invalid("pipeline_id", "a pipelines:run key names the pipeline it drops files for"))
        }
        Some(_) if !drops => Err(JobError::invalid("pipeline_id", "only a pipelines:run key names a pipeline")),
        Some(_) if scopes.len() > 1 => {
            Err(JobError::invalid("scopes", "a pipelines:run key (a drop credential) takes no other scope"))
        }
        Some(id) if id.as_str().is_empty() || id.as_str().len() > 128 => {
            Err(JobError::invalid("pipeline_id", "not a pipeline id"))
        }
        _ => Ok(()),
    }
}

/// Whether `text` has the form of a key, so that anything else is refused without a look-up.
fn well_formed(text: &str) -> bool {
    text.strip_prefix(API_KEY_PREFIX).is_some_and(|secret| {
        secret.len() == SECRET_CHARS && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

impl ApiKeyService {
    /// A new key of `team`. The key is 256 random bits: its SHA-256 is as safe to store as a
    /// slow password hash would be (nothing to guess), and lets a request's key be found by one
    /// look-up of its hash.
    pub async fn create(&self, actor: &Actor, team: &TeamId, request: KeyRequest) -> Result<NewApiKey, JobError> {
        let allowed = self.access.require(actor, team, TeamAction::ManageKeys, "team").await;
        let refused = AuditEvent { team, action: action::KEY_CREATE, target: team.as_str() };
        self.audit.checked(actor, refused, allowed).await?;
        let name = key_name(&request.name)?;
        let scopes = scopes(&request.scopes)?;
        check_drop_credential(&scopes, request.pipeline_id.as_ref())?;
        let now = self.clock.now();
        if request.expires_at.is_some_and(|at| at <= now) {
            return Err(JobError::invalid("expires_at", "expires_at must be in the future"));
        }
        let mut bytes = [0u8; SECRET_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        let secret = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let key = ApiKey {
            id: ApiKeyId::random(),
            team_id: team.clone(),
            name,
            key_hash: token_hash(&secret),
            prefix: secret[..DISPLAY_PREFIX_CHARS].to_owned(),
            scopes,
            created_by: actor.user_id.clone(),
            created_at: now,
            expires_at: request.expires_at,
            revoked_at: None,
            last_used_at: None,
            use_count: 0,
            pipeline_id: request.pipeline_id,
        };
        let event = || AuditEvent { team, action: action::KEY_CREATE, target: key.id.as_str() };
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let stored = self.keys.create(&key).await.map_err(JobError::from);
        self.audit.settled(actor, event(), stored).await?;
        tracing::info!(team_id = %team, key_id = %key.id, user_id = %actor.user_id, "API key created");
        Ok(NewApiKey { key, secret })
    }

    /// The team's keys, revoked ones included, oldest first.
    pub async fn list(&self, actor: &Actor, team: &TeamId) -> Result<Vec<ApiKey>, JobError> {
        self.access.require(actor, team, TeamAction::ManageKeys, "team").await?;
        Ok(self.keys.list(team).await?)
    }

    /// Revokes the key: the next request that carries it is refused.
    pub async fn revoke(&self, actor: &Actor, team: &TeamId, id: &ApiKeyId) -> Result<(), JobError> {
        let event = || AuditEvent { team, action: action::KEY_REVOKE, target: id.as_str() };
        let allowed = self.access.require(actor, team, TeamAction::ManageKeys, "team").await;
        self.audit.checked(actor, event(), allowed).await?;
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let revoked = self.keys.revoke(team, id, self.clock.now()).await.map_err(|e| match e {
            helix_domain::StoreError::NotFound => JobError::NotFound("API key"),
            other => other.into(),
        });
        self.audit.settled(actor, event(), revoked).await?;
        tracing::info!(team_id = %team, key_id = %id, user_id = %actor.user_id, "API key revoked");
        Ok(())
    }

    /// The actor a request's key stands for; `None` for anything but an active key. Read from
    /// the table on every request, so a revocation counts from the next one. The use is counted
    /// on the way, and a failure to count it does not refuse the request.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<Actor>, JobError> {
        if !well_formed(presented) {
            return Ok(None);
        }
        let hash = token_hash(presented);
        let now = self.clock.now();
        let Some(key) = self.keys.get(&hash).await?.filter(|k| k.is_active(now)) else {
            return Ok(None);
        };
        if let Err(e) = self.keys.record_use(&hash, now).await {
            tracing::warn!(key_id = %key.id, error = %e, "could not count an API key's use");
        }
        let grant = KeyGrant { key_id: key.id, team_id: key.team_id, scopes: key.scopes, pipeline_id: key.pipeline_id };
        Ok(Some(Actor::key(grant)))
    }
}
