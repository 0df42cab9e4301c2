//! Sessions: a login starts one, each refresh spends its token for a new one, a spent token
//! presented again ends the whole session, and logout ends it; the gate then refuses its access
//! tokens.

use std::sync::Arc;
use std::time::Duration;

use helix_auth::{TokenSettings, TokenSigner, hash_password};
use helix_domain::memory::{MemoryAuditLog, MemoryLoginAttempts, MemorySessionStore, MemoryUserStore};
use helix_domain::{AuditLog, Clock, SessionStore, User, UserStore};
use helix_jobs::{AuditTrail, JobError, RequestOrigin, SessionGate, SessionService};

use crate::support::*;

const PASSWORD: &str = "correct horse battery staple";

struct Sessions {
    service: SessionService,
    audit: Arc<MemoryAuditLog>,
    store: Arc<MemorySessionStore>,
    gate: SessionGate,
    clock: Arc<helix_domain::ManualClock>,
}

async fn sessions() -> Sessions {
    let w = world();
    let users = Arc::new(MemoryUserStore::default());
    let now = start();
    let user = User {
        email: "alice@example.test".into(),
        id: ALICE.into(),
        password_hash: hash_password(PASSWORD).unwrap(),
        fullname: None,
        phone_number: None,
        web_url: None,
        is_admin: false,
        created_at: now,
        updated_at: now,
    };
    users.create(&user).await.unwrap();
    let settings = TokenSettings { issuer: "i".into(), audience: "a".into(), ttl: Duration::from_secs(900) };
    let store = Arc::new(MemorySessionStore::default());
    let audit = Arc::new(MemoryAuditLog::default());
    let service = SessionService {
        users,
        audit: Arc::new(AuditTrail { log: audit.clone(), clock: w.clock.clone() }),
        sessions: store.clone(),
        attempts: Arc::new(MemoryLoginAttempts::default()),
        signer: Arc::new(TokenSigner::new(b"sessions-test-secret-sessions-test-secret", settings).unwrap()),
        clock: w.clock.clone(),
        refresh_ttl: Duration::from_secs(30 * 24 * 3600),
    };
    let gate = SessionGate::new(store.clone(), w.clock.clone());
    Sessions { service, audit, store, gate, clock: w.clock }
}

#[track_caller]
fn assert_unauthorized<T: std::fmt::Debug>(result: Result<T, JobError>) {
    assert!(matches!(result, Err(JobError::Unauthorized(_))), "{result:?}");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_account_answer_alike() {
    let s = sessions().await;
    assert!(matches!(
        s.service.login("alice@example.test", "wrong", RequestOrigin::default()).await,
        Err(JobError::InvalidCredentials)
    ));
    assert!(matches!(
        s.service.login("nobody@example.test", PASSWORD, RequestOrigin::default()).await,
        Err(JobError::InvalidCredentials)
    ));
    let issued = s.service.login(" Alice@Example.test ", PASSWORD, RequestOrigin::default()).await.unwrap();
    assert!(issued.refresh_token.starts_with("hxr_") && issued.expires_in == 900);
}

#[tokio::test]
async fn each_refresh_spends_the_token_and_a_reused_one_ends_the_session() {
    let s = sessions().await;
    let first = s.service.login("alice@example.test", PASSWORD, RequestOrigin::default()).await.unwrap();
    let second = s.service.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(second.session_id, first.session_id);
    assert_ne!(second.refresh_token, first.refresh_token);
    let third = s.service.refresh(&second.refresh_token).await.unwrap();

    // The first token, presented again: someone holds a copy. The whole family ends.
    assert_unauthorized(s.service.refresh(&first.refresh_token).await);
    assert_unauthorized(s.service.refresh(&third.refresh_token).await);
    let ended = s.store.get(&first.session_id).await.unwrap().unwrap();
    assert_eq!(ended.ended_reason.as_deref(), Some("refresh token reused"));
    assert!(!s.gate.is_active(&first.session_id).await.unwrap());
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_is_a_race_not_a_theft() {
    let s = sessions().await;
    let shared = s.service.login("alice@example.test", PASSWORD, RequestOrigin::default()).await.unwrap();
    let first_tab = s.service.refresh(&shared.refresh_token).await.unwrap();
    // The second tab sent the same cookie a moment later: it still refreshes.
    s.clock.advance(Duration::from_secs(2));
    let second_tab = s.service.refresh(&shared.refresh_token).await.unwrap();
    assert!(s.gate.is_active(&shared.session_id).await.unwrap());
    s.service.refresh(&second_tab.refresh_token).await.unwrap();
    // Past the grace period, the old token is a reuse again.
    s.clock.advance(helix_domain::REFRESH_GRACE);
    assert_unauthorized(s.service.refresh(&first_tab.refresh_token).await);
    tokio::time::sleep(SessionGate::MEMORY).await;
    assert!(!s.gate.is_active(&shared.session_id).await.unwrap());
}

#[tokio::test]
async fn logout_ends_the_refresh_token_and_the_access_tokens() {
    let s = sessions().await;
    let issued = s.service.login("alice@example.test", PASSWORD, RequestOrigin::default()).await.unwrap();
    assert!(s.gate.is_active(&issued.session_id).await.unwrap());
    let session = SessionService::session_of(&issued.refresh_token).unwrap();
    s.service.logout(&session).await.unwrap();
    assert_unauthorized(s.service.refresh(&issued.refresh_token).await);
    tokio::time::sleep(SessionGate::MEMORY).await;
    assert!(!s.gate.is_active(&issued.session_id).await.unwrap());
}

#[tokio::test]
async fn an_unused_session_runs_out_and_garbage_is_refused() {
    let s = sessions().await;
    let issued = s.service.login("alice@example.test", PASSWORD, RequestOrigin::default()).await.unwrap();
    s.clock.advance(Duration::from_secs(30 * 24 * 3600));
    assert_unauthorized(s.service.refresh(&issued.refresh_token).await);
    for garbage in ["", "hxr_", "hxr_x.", "not-a-token", "hxr_unknown.secret"] {
        assert_unauthorized(s.service.refresh(garbage).await);
    }
}

#[tokio::test]
async fn five_wrong_passwords_make_logins_wait_longer_each_time() {
    let s = sessions().await;
    for _ in 0..5 {
        assert!(matches!(
            s.service.login("alice@example.test", "wrong", RequestOrigin::default()).await,
            Err(JobError::InvalidCredentials)
        ));
    }
    // The sixth attempt waits, whatever its password: the throttle is no password oracle.
    let waited = |r: Result<_, JobError>| match r {
        Err(JobError::TooManyRequests { retry_after }) => retry_after,
        other => panic!("expected a wait, got {other:?}"),
    };
    assert_eq!(
        waited(s.service.login("alice@example.test", PASSWORD, RequestOrigin::default()).await),
        Duration::from_secs(30)
    );
    s.clock.advance(Duration::from_secs(30));
    assert!(matches!(
        s.service.login("alice@example.test", "wrong", RequestOrigin::default()).await,
        Err(JobError::InvalidCredentials)
    ));
    assert_eq!(
        waited(s.service.login("alice@example.test", PASSWORD, RequestOrigin::default()).await),
        Duration::from_secs(60)
    );
    // Unknown accounts are throttled alike (no telling which exist).
    for _ in 0..5 {
        let _ = s.service.login("nobody@example.test", "wrong", RequestOrigin::default()).await;
    }
    waited(s.service.login("nobody@example.test", "wrong", RequestOrigin::default()).await);
    // Past the wait, the right password logs in and forgets the failures.
    s.clock.advance(Duration::from_secs(60));
    s.service.login("alice@example.test", PASSWORD, RequestOrigin::default()).await.unwrap();
    assert!(matches!(
        s.service.login("alice@example.test", "wrong", RequestOrigin::default()).await,
        Err(JobError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn a_new_password_ends_the_accounts_other_sessions() {
    let s = sessions().await;
    let here = s.service.login("alice@example.test", PASSWORD, RequestOrigin::default()).await.unwrap();
    let elsewhere = s.service.login("alice@example.test", PASSWORD, RequestOrigin::default()).await.unwrap();
    let change = |current: &'static str, new: &'static str| {
        let (service, session) = (&s.service, here.session_id.clone());
        async move { service.change_password("alice@example.test", &session, current, new).await }
    };
    let field = |r: Result<(), JobError>| match r {
        Err(JobError::Invalid { field, .. }) => field,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(field(change(PASSWORD, "short").await), "new_password");
    assert_eq!(field(change("not the password", "a much better password").await), "current_password");
    assert_eq!(field(change(PASSWORD, PASSWORD).await), "new_password");

    change(PASSWORD, "a much better password").await.unwrap();
    assert!(s.store.get(&here.session_id).await.unwrap().unwrap().is_active(s.clock.now()));
    let ended = s.store.get(&elsewhere.session_id).await.unwrap().unwrap();
    assert_eq!(ended.ended_reason.as_deref(), Some("password changed"));
    assert!(matches!(
        s.service.login("alice@example.test", PASSWORD, RequestOrigin::default()).await,
        Err(JobError::InvalidCredentials)
    ));
    s.service.login("alice@example.test", "a much better password", RequestOrigin::default()).await.unwrap();
}

#[tokio::test]
async fn logins_refusals_reuse_and_password_changes_are_in_the_accounts_trail() {
    let s = sessions().await;
    let origin = RequestOrigin { ip: Some("203.0.113.7".into()), user_agent: Some("curl/8".into()) };
    assert!(s.service.login("alice@example.test", "wrong", origin.clone()).await.is_err());
    let issued = s.service.login("alice@example.test", PASSWORD, origin).await.unwrap();
    let second = s.service.refresh(&issued.refresh_token).await.unwrap();
    s.service.refresh(&second.refresh_token).await.unwrap();
    assert!(s.service.refresh(&issued.refresh_token).await.is_err());
    let personal = helix_domain::TeamId::personal(&ALICE.into());
    let entries = s.audit.newest(&personal, None, 10).await.unwrap();
    let seen: Vec<(&str, helix_domain::AuditOutcome)> =
        entries.iter().rev().map(|e| (e.action.as_str(), e.outcome)).collect();
    use helix_domain::AuditOutcome::{Refused, Success};
    assert_eq!(seen, [("session.login", Refused), ("session.login", Success), ("session.refresh_reuse", Refused)]);
    assert_eq!(entries.last().unwrap().source_ip.as_deref(), Some("203.0.113.7"));
}
