//! Single sign-on: an external issuer's token (from an OIDC issuer served on a loopback port) is
//! exchanged for a session; the first login provisions the account and the groups claim its
//! memberships.

use std::sync::Arc;
use std::time::Duration;

use helix_auth::test_issuer::TestIssuer;
use helix_auth::{OidcVerifier, TokenSettings, TokenSigner, hash_password};
use helix_domain::memory::{MemoryLoginAttempts, MemorySessionStore};
use helix_domain::{AuditLog, Role, SessionStore, TeamId, TeamStore, User, UserStore};
use helix_jobs::{JobError, RequestOrigin, SessionService, SingleSignOn};

use crate::support::*;

struct Sso {
    world: World,
    sso: SingleSignOn,
    sessions: Arc<MemorySessionStore>,
    issuer: TestIssuer,
}

async fn sso() -> Sso {
    let world = world();
    let issuer = TestIssuer::start().await;
    let sessions = Arc::new(MemorySessionStore::default());
    let settings = TokenSettings { issuer: "i".into(), audience: "a".into(), ttl: Duration::from_secs(900) };
    let service = SessionService {
        users: world.users.clone(),
        audit: world.trail(),
        sessions: sessions.clone(),
        attempts: Arc::new(MemoryLoginAttempts::default()),
        signer: Arc::new(TokenSigner::new(b"sso-test-secret-sso-test-secret-sso-test", settings).unwrap()),
        clock: world.clock.clone(),
        refresh_ttl: Duration::from_secs(3600),
    };
    let sso = SingleSignOn {
        verifier: Arc::new(OidcVerifier::new(vec![issuer.config()])),
        sessions: Arc::new(service),
        teams: world.teams.clone(),
        audit: world.trail(),
        clock: world.clock.clone(),
    };
    Sso { world, sso, sessions, issuer }
}

fn origin() -> RequestOrigin {
    RequestOrigin { ip: Some("192.0.2.7".into()), user_agent: Some("test".into()) }
}

/// A team of Alice's, with Alice its owner.
async fn team_of_alice(world: &World) -> TeamId {
    world.team_service().create(&actor(ALICE), "Integration").await.unwrap().team.id
}

#[tokio::test]
async fn the_first_login_provisions_the_account_and_its_claimed_membership() {
    let s = sso().await;
    let team = team_of_alice(&s.world).await;
    let groups = [format!("helix:{team}:member"), "/staff".into(), "helix:no-such-team:admin".into()];
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    let token = s.issuer.sign(&s.issuer.claims("kc-ada", "Ada@Example.test", &groups));

    let issued = s.sso.login(&token, origin()).await.unwrap();
    assert!(issued.refresh_token.starts_with("hxr_"));
    let user = s.world.users.get("ada@example.test").await.unwrap().expect("provisioned");
    assert!(user.id.as_str().starts_with("sso-"));
    assert_eq!(user.fullname.as_deref(), Some("Test User"));
    assert!(user.password_hash.is_empty(), "no password: a password login never succeeds");
    let session = s.sessions.get(&issued.session_id).await.unwrap().unwrap();
    assert_eq!(session.user_id, user.id);
    let member = s.world.teams.membership(&team, &user.id).await.unwrap().expect("joined from the claim");
    assert_eq!(member.role, Role::Member);

    // The team's chain records the join, the account's chain the login.
    let joined = s.world.audit.newest(&team, None, 10).await.unwrap();
    assert_eq!((joined[0].action.as_str(), joined[0].actor.as_str()), ("member.join", user.id.as_str()));
    let logins = s.world.audit.newest(&TeamId::personal(&user.id), None, 10).await.unwrap();
    assert_eq!(logins[0].action, "session.sso_login");
    assert_eq!(logins[0].source_ip.as_deref(), Some("192.0.2.7"));

    // A second login is the same account, and adds nothing.
    let again = s.sso.login(&token, origin()).await.unwrap();
    assert_ne!(again.session_id, issued.session_id);
    assert_eq!(s.world.audit.newest(&team, None, 10).await.unwrap().len(), joined.len());
}

#[tokio::test]
async fn a_changed_claim_changes_the_role_but_never_an_owners() {
    let s = sso().await;
    let team = team_of_alice(&s.world).await;
    let login = |role: &str| {
        let group = format!("helix:{team}:{role}");
        s.issuer.sign(&s.issuer.claims("kc-ada", "ada@example.test", &[group.as_str()]))
    };
    s.sso.login(&login("viewer"), origin()).await.unwrap();
    let user = s.world.users.get("ada@example.test").await.unwrap().unwrap();
    s.sso.login(&login("admin"), origin()).await.unwrap();
    assert_eq!(s.world.teams.membership(&team, &user.id).await.unwrap().unwrap().role, Role::Admin);
    let entries = s.world.audit.newest(&team, None, 1).await.unwrap();
    assert_eq!((entries[0].action.as_str(), entries[0].target.as_str()), ("member.role_change", "admin"));

    // Made the owner in HelixNet: a claim naming her a viewer leaves her the owner.
    s.world.teams.set_role(&team, &user.id, Role::Admin, Role::Owner).await.unwrap();
    s.sso.login(&login("viewer"), origin()).await.unwrap();
    assert_eq!(s.world.teams.membership(&team, &user.id).await.unwrap().unwrap().role, Role::Owner);
}

#[tokio::test]
async fn an_address_of_another_account_is_refused_not_linked() {
    let s = sso().await;
    let now = start();
    let password_account = User {
        email: "bob@example.test".into(),
        id: BOB.into(),
        password_hash: hash_password("a long enough password").unwrap(),
        fullname: None,
        phone_number: None,
        web_url: None,
        is_admin: false,
        created_at: now,
        updated_at: now,
    };
    s.world.users.create(&password_account).await.unwrap();
    let token = s.issuer.sign(&s.issuer.claims("kc-mallory", "Bob@example.test", &[]));
    let refused = s.sso.login(&token, origin()).await;
    assert!(matches!(&refused, Err(JobError::Conflict(m)) if m.contains("exists")), "{refused:?}");
    assert_eq!(s.world.users.get("bob@example.test").await.unwrap().unwrap().id.as_str(), BOB);
}

#[tokio::test]
async fn an_unverified_or_missing_address_and_a_bad_token_are_refused() {
    let s = sso().await;
    let mut unverified = s.issuer.claims("kc-eve", "eve@example.test", &[]);
    unverified["email_verified"] = false.into();
    assert!(matches!(s.sso.login(&s.issuer.sign(&unverified), origin()).await, Err(JobError::Forbidden(_))));
    let mut anonymous = s.issuer.claims("kc-eve", "eve@example.test", &[]);
    anonymous.as_object_mut().unwrap().remove("email");
    let missing = s.sso.login(&s.issuer.sign(&anonymous), origin()).await;
    assert!(matches!(&missing, Err(JobError::Invalid { field, .. }) if field == "token.email"), "{missing:?}");
    let mut expired = s.issuer.claims("kc-eve", "eve@example.test", &[]);
    expired["exp"] = 1_000.into();
    assert!(matches!(s.sso.login(&s.issuer.sign(&expired), origin()).await, Err(JobError::Unauthorized(_))));
    assert!(matches!(s.sso.login("not-a-token", origin()).await, Err(JobError::Unauthorized(_))));
    assert!(s.world.users.get("eve@example.test").await.unwrap().is_none(), "nothing provisioned");
}
