use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helix_auth::{TokenSigner, verify_password};
use helix_domain::{Clock, Session, SessionId, SessionStore, StoreError, UserStore, normalise_email};
use rand::RngCore;

use crate::JobError;
use crate::teams::token_hash;

/// What distinguishes a refresh token from an access token or an API key at a glance (and to
/// secret scanners).
const REFRESH_PREFIX: &str = "hxr_";

/// A login's or a refresh's tokens.
#[derive(Clone, Debug)]
pub struct IssuedSession {
    pub access_token: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// Opaque; only its hash is stored, and each use replaces it.
    pub refresh_token: String,
    pub session_id: SessionId,
}

/// Logins, refreshes and logouts.
pub struct SessionService {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub signer: Arc<TokenSigner>,
    pub clock: Arc<dyn Clock>,
    /// How long a session lasts without being refreshed.
    pub refresh_ttl: Duration,
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `hxr_<session id>.<secret>` → (session id, secret).
fn parse_refresh(token: &str) -> Option<(SessionId, &str)> {
    let (sid, secret) = token.trim().strip_prefix(REFRESH_PREFIX)?.split_once('.')?;
    (!sid.is_empty() && sid.len() <= 64 && !secret.is_empty()).then(|| (SessionId::from(sid), secret))
}

impl SessionService {
    fn tokens(&self, session: &Session, secret: &str) -> Result<IssuedSession, JobError> {
        let issued = self
            .signer
            .issue_for(session.user_id.as_str(), &session.email, session.id.as_str())
            .map_err(|e| JobError::Internal(e.to_string()))?;
        Ok(IssuedSession {
            access_token: issued.access_token,
            expires_in: issued.expires_in,
            refresh_token: format!("{REFRESH_PREFIX}{}.{secret}", session.id),
            session_id: session.id.clone(),
        })
    }

    /// A new session for the account, if the password is its password.
    pub async fn login(&self, username: &str, password: &str) -> Result<IssuedSession, JobError> {
        let user = self.users.get(&normalise_email(username)).await?;
        // Same work and the same answer for an unknown account and a wrong password.
        if !verify_password(password, user.as_ref().map(|u| u.password_hash.as_str())) {
            return Err(JobError::InvalidCredentials);
        }
        let user = user.ok_or(JobError::InvalidCredentials)?;
        let now = self.clock.now();
        let secret = new_secret();
        let session = Session {
            id: SessionId::random(),
            user_id: user.id.clone(),
            email: user.email.clone(),
            refresh_hash: token_hash(&secret),
            previous_hash: None,
            generation: 0,
            created_at: now,
            refreshed_at: now,
            expires_at: now.plus(self.refresh_ttl),
            ended_at: None,
            ended_reason: None,
        };
        self.sessions.create(&session).await?;
        tracing::info!(user_id = %user.id, session_id = %session.id, "session started");
        self.tokens(&session, &secret)
    }

    /// New tokens for a refresh token, which is spent. A refresh token presented again (stolen,
    /// or replayed) ends its whole session: every token of it is refused from then on.
    pub async fn refresh(&self, refresh_token: &str) -> Result<IssuedSession, JobError> {
        let refused = || JobError::Unauthorized("the refresh token is invalid, spent or expired");
        let (id, secret) = parse_refresh(refresh_token).ok_or_else(refused)?;
        let now = self.clock.now();
        let session = self.sessions.get(&id).await?.filter(|s| s.is_active(now)).ok_or_else(refused)?;
        let seen = token_hash(secret);
        if !session.refreshes_with(&seen, now) {
            self.end_reused(&session).await?;
            return Err(refused());
        }
        let next = new_secret();
        match self.sessions.rotate(&id, &seen, &token_hash(&next), now, now.plus(self.refresh_ttl)).await {
            Ok(()) => self.tokens(&session, &next),
            // Another use of the same token won the rotation: this one is a reuse.
            Err(StoreError::Conflict(_)) => {
                self.end_reused(&session).await?;
                Err(refused())
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn end_reused(&self, session: &Session) -> Result<(), JobError> {
        self.sessions.end(&session.id, "refresh token reused", self.clock.now()).await?;
        tracing::warn!(user_id = %session.user_id, session_id = %session.id, "refresh token reused: session ended");
        Ok(())
    }

    /// Ends the session a refresh token or an access token's `sid` names.
    pub async fn logout(&self, session: &SessionId) -> Result<(), JobError> {
        self.sessions.end(session, "logout", self.clock.now()).await?;
        tracing::info!(session_id = %session, "session ended");
        Ok(())
    }

    /// The session a refresh token names, if it is one of ours in form.
    pub fn session_of(refresh_token: &str) -> Option<SessionId> {
        parse_refresh(refresh_token).map(|(id, _)| id)
    }
}

/// Whether an access token's session is still on: read from the store, remembered for at most
/// [`SessionGate::MEMORY`], so an ended session's tokens are refused within that time.
pub struct SessionGate {
    pub sessions: Arc<dyn SessionStore>,
    pub clock: Arc<dyn Clock>,
    seen: Mutex<HashMap<SessionId, (Instant, bool)>>,
}

impl SessionGate {
    pub const MEMORY: Duration = Duration::from_millis(900);
    const MAX_REMEMBERED: usize = 10_000;

    pub fn new(sessions: Arc<dyn SessionStore>, clock: Arc<dyn Clock>) -> Self {
        Self { sessions, clock, seen: Mutex::new(HashMap::new()) }
    }

    pub async fn is_active(&self, id: &SessionId) -> Result<bool, JobError> {
        let remembered = self.seen.lock().unwrap_or_else(|e| e.into_inner()).get(id).copied();
        if let Some((at, active)) = remembered
            && at.elapsed() < Self::MEMORY
        {
            return Ok(active);
        }
        let active = self.sessions.get(id).await?.is_some_and(|s| s.is_active(self.clock.now()));
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= Self::MAX_REMEMBERED {
            seen.retain(|_, (at, _)| at.elapsed() < Self::MEMORY);
        }
        seen.insert(id.clone(), (Instant::now(), active));
        Ok(active)
    }
}
