use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helix_auth::{TokenSigner, hash_password, verify_password};
use helix_domain::{
    AuditOutcome, Clock, LoginAttempts, Session, SessionId, SessionStore, StoreError, TeamId, User, UserStore,
    normalise_email,
};
use rand::RngCore;

use crate::audit::{AuditEvent, AuditTrail, action};
use crate::teams::token_hash;
use crate::{Actor, JobError, RequestOrigin};

/// What distinguishes a refresh token from an access token or an API key at a glance (and to
/// secret scanners).
const REFRESH_PREFIX: &str = "hxr_";

/// Failed passwords for one account within [`THROTTLE_WINDOW`] before logins wait.
pub const FREE_FAILURES: usize = 5;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
const FIRST_WAIT: Duration = Duration::from_secs(30);
const MIN_PASSWORD_CHARS: usize = 10;
const MAX_PASSWORD_CHARS: usize = 256;

/// How long a login waits after `failures` failed ones: nothing up to [`FREE_FAILURES`], then 30 s,
/// doubling with each further failure, at most the window.
fn wait_after(failures: usize) -> Duration {
    match failures.checked_sub(FREE_FAILURES) {
        None => Duration::ZERO,
        Some(extra) => FIRST_WAIT.saturating_mul(1 << extra.min(10)).min(THROTTLE_WINDOW),
    }
}

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
    /// Logins, refused passwords, refresh-token reuse and password changes go to the account's
    /// personal team's chain: the user's own record, read by them, contended by no one else.
    pub audit: Arc<AuditTrail>,
    pub sessions: Arc<dyn SessionStore>,
    pub attempts: Arc<dyn LoginAttempts>,
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

    /// A new session for the account, if the password is its password. After
    /// [`FREE_FAILURES`] wrong passwords within [`THROTTLE_WINDOW`], each login first waits a
    /// growing delay (refused with the time to wait, before the password is looked at).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        origin: RequestOrigin,
    ) -> Result<IssuedSession, JobError> {
        let email = normalise_email(username);
        let account = token_hash(&email);
        let failures = self.throttled(&account).await?;
        let now = self.clock.now();
        let user = self.users.get(&email).await?;
        // Same work and the same answer for an unknown account and a wrong password.
        if !verify_password(password, user.as_ref().map(|u| u.password_hash.as_str())) {
            self.attempts.record_failure(&account, now).await?;
            if let Some(user) = &user {
                let actor = Actor::user(user.id.clone()).from_origin(origin);
                self.refused(&actor, action::SESSION_LOGIN, "wrong password").await;
            }
            return Err(JobError::InvalidCredentials);
        }
        let user = user.ok_or(JobError::InvalidCredentials)?;
        let actor = Actor::user(user.id.clone()).from_origin(origin);
        if !failures.is_empty() {
            self.attempts.clear(&account).await?;
        }
        self.start(&user, &actor, action::SESSION_LOGIN).await
    }

    /// A new session of a proven user, recorded as `action` (a password login, a single sign-on)
    /// in the account's chain.
    pub(crate) async fn start(
        &self,
        user: &User,
        actor: &Actor,
        action: &'static str,
    ) -> Result<IssuedSession, JobError> {
        let secret = new_secret();
        let session = Session::start(
            SessionId::random(),
            user.id.clone(),
            user.email.clone(),
            token_hash(&secret),
            self.clock.now(),
            self.refresh_ttl,
        );
        let personal = TeamId::personal(&user.id);
        let event = AuditEvent { team: &personal, action, target: session.id.as_str() };
        self.audit.record(actor, event, AuditOutcome::Success).await?;
        self.sessions.create(&session).await?;
        tracing::info!(user_id = %user.id, session_id = %session.id, action, "session started");
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

    /// Records a refusal in the account's chain. A refusal that cannot be recorded is still a
    /// refusal: the failure is logged, not answered.
    async fn refused(&self, actor: &Actor, action: &'static str, target: &str) {
        let personal = TeamId::personal(&actor.user_id);
        let event = AuditEvent { team: &personal, action, target };
        if let Err(e) = self.audit.record(actor, event, AuditOutcome::Refused).await {
            tracing::warn!(user_id = %actor.user_id, action, error = %e, "a refusal could not be recorded");
        }
    }

    async fn end_reused(&self, session: &Session) -> Result<(), JobError> {
        self.refused(&Actor::user(session.user_id.clone()), action::SESSION_REFRESH_REUSE, session.id.as_str()).await;
        self.sessions.end(&session.id, "refresh token reused", self.clock.now()).await?;
        tracing::warn!(user_id = %session.user_id, session_id = %session.id, "refresh token reused: session ended");
        Ok(())
    }

    /// The throttle's answer for an account: a wait while its recent failures say so.
    async fn throttled(&self, account: &str) -> Result<Vec<helix_domain::Timestamp>, JobError> {
        let now = self.clock.now();
        let failures = self.attempts.failures_since(account, now.minus(THROTTLE_WINDOW)).await?;
        if let Some(last) = failures.last() {
            let until = last.plus(wait_after(failures.len()));
            if until > now {
                let retry_after = Duration::from_secs((until.unix() - now.unix()).max(1) as u64);
                tracing::warn!(failures = failures.len(), "login throttled");
                return Err(JobError::TooManyRequests { retry_after });
            }
        }
        Ok(failures)
    }

    /// Changes the password of the account signed in as `email` in `session`, if `current` is its
    /// password, and ends the account's other sessions (a stolen session does not outlive it).
    /// Wrong current passwords count towards the login throttle.
    pub async fn change_password(
        &self,
        email: &str,
        session: &SessionId,
        current: &str,
        new: &str,
    ) -> Result<(), JobError> {
        let chars = new.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(JobError::invalid(
                "new_password",
                format!("new_password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
            ));
        }
        let account = token_hash(email);
        self.throttled(&account).await?;
        let user = self.users.get(email).await?.ok_or(JobError::Unauthorized("the account no longer exists"))?;
        if !verify_password(current, Some(&user.password_hash)) {
            self.attempts.record_failure(&account, self.clock.now()).await?;
            return Err(JobError::invalid("current_password", "current_password is not the account's password"));
        }
        if current == new {
            return Err(JobError::invalid("new_password", "new_password is the current password"));
        }
        let hash = hash_password(new).map_err(|e| JobError::Internal(e.to_string()))?;
        let personal = TeamId::personal(&user.id);
        let event = AuditEvent { team: &personal, action: action::PASSWORD_CHANGE, target: session.as_str() };
        self.audit.record(&Actor::user(user.id.clone()), event, AuditOutcome::Success).await?;
        let now = self.clock.now();
        match self.users.set_password(email, &user.password_hash, &hash, now).await {
            Err(StoreError::Conflict(_)) => {
                return Err(JobError::Conflict("the password was changed meanwhile: log in again".into()));
            }
            other => other?,
        }
        for other in self.sessions.active_of(&user.id, now).await? {
            if &other.id != session {
                self.sessions.end(&other.id, "password changed", now).await?;
            }
        }
        tracing::info!(user_id = %user.id, "password changed; other sessions ended");
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
