//! Single sign-on: an access token of a configured external OIDC issuer is exchanged once for a
//! HelixNet session (`POST /auth/sso`). The account is provisioned on its first login, and the
//! issuer's groups claim gives its team memberships (`helix:<team id>:<role>`).
//!
//! Exchanging rather than accepting external tokens on every request keeps one kind of access
//! token behind every function: logout, refresh rotation and the session gate work for SSO users
//! as for passwords, and only the auth function ever talks to the issuer.

use std::sync::Arc;

use helix_auth::{ExternalIdentity, OidcVerifier, TokenError};
use helix_domain::{
    AuditOutcome, Clock, Membership, Role, StoreError, TeamId, TeamStore, User, UserId, normalise_email,
};

use crate::audit::{AuditEvent, AuditTrail, action};
use crate::{Actor, IssuedSession, JobError, RequestOrigin, SessionService};

/// The prefix of a group that makes a team membership.
const GROUP_PREFIX: &str = "helix:";

pub struct SingleSignOn {
    pub verifier: Arc<OidcVerifier>,
    pub sessions: Arc<SessionService>,
    pub teams: Arc<dyn TeamStore>,
    pub audit: Arc<AuditTrail>,
    pub clock: Arc<dyn Clock>,
}

/// A membership a group claims.
#[derive(Debug, PartialEq)]
pub struct ClaimedMembership {
    pub team: TeamId,
    pub role: Role,
}

/// `helix:<team id>:<role>` (Keycloak's full group path `/helix:…` too) → the membership. Owners
/// are never made by a claim: ownership stays with HelixNet's own transfer. Other groups are not
/// HelixNet's and are ignored.
pub fn claimed_membership(group: &str) -> Option<ClaimedMembership> {
    let (team, role) = group.trim_start_matches('/').strip_prefix(GROUP_PREFIX)?.rsplit_once(':')?;
    let role = match role {
        "admin" => Role::Admin,
        "member" => Role::Member,
        "viewer" => Role::Viewer,
        _ => return None,
    };
    let valid = !team.is_empty() && team.len() <= 128 && TeamId::from(team).personal_owner().is_none();
    valid.then(|| ClaimedMembership { team: team.into(), role })
}

/// The account id of an external identity: the same for every login of one subject of one issuer
/// (128 bits of SHA-256 over both, length-prefixed).
fn user_id_of(identity: &ExternalIdentity) -> UserId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update((identity.issuer.len() as u64).to_be_bytes())
        .chain_update(&identity.issuer)
        .chain_update(&identity.subject)
        .finalize();
    format!("sso-{}", hex::encode(&digest[..16])).into()
}

impl SingleSignOn {
    /// A session for the bearer of `token`, if a configured issuer signed it for HelixNet.
    pub async fn login(&self, token: &str, origin: RequestOrigin) -> Result<IssuedSession, JobError> {
        let identity = self.verifier.verify(token).await.map_err(|e| match e {
            TokenError::KeysUnavailable(detail) => JobError::Unavailable(format!("the issuer's keys: {detail}")),
            _ => JobError::Unauthorized("the token is invalid, has expired, or is not from a configured issuer"),
        })?;
        let user = self.provision(&identity).await?;
        let actor = Actor::user(user.id.clone()).from_origin(origin);
        self.join_claimed_teams(&actor, &identity).await?;
        self.sessions.start(&user, &actor, action::SESSION_SSO_LOGIN).await
    }

    /// The identity's account, created on its first login. An address that already belongs to
    /// another account (a password account, another issuer's user) is refused, never linked:
    /// whoever controls an issuer must not take over an account by naming its address.
    async fn provision(&self, identity: &ExternalIdentity) -> Result<User, JobError> {
        let email = identity.email.as_deref().map(normalise_email).ok_or_else(|| JobError::Invalid {
            field: "token.email".into(),
            message: "the token carries no e-mail address (email, preferred_username or upn claim)".into(),
        })?;
        if !identity.email_verified {
            return Err(JobError::Forbidden("the issuer says the e-mail address is not verified".into()));
        }
        let id = user_id_of(identity);
        let same = |user: User, id: &UserId| {
            if &user.id == id {
                Ok(user)
            } else {
                Err(JobError::Conflict(
                    "an account with this e-mail address exists: sign in with its password, not single sign-on".into(),
                ))
            }
        };
        if let Some(user) = self.sessions.users.get(&email).await? {
            return same(user, &id);
        }
        let now = self.clock.now();
        let user = User {
            email: email.clone(),
            id: id.clone(),
            // No password: a password login of this account never succeeds.
            password_hash: String::new(),
            fullname: identity.name.clone(),
            phone_number: None,
            web_url: None,
            is_admin: false,
            created_at: now,
            updated_at: now,
        };
        match self.sessions.users.create(&user).await {
            Ok(()) => {
                tracing::info!(user_id = %user.id, issuer = %identity.issuer, "account provisioned by single sign-on");
                Ok(user)
            }
            // Two first logins at once: the other one made it.
            Err(StoreError::Conflict(_)) => {
                let stored = self.sessions.users.get(&email).await?;
                same(stored.ok_or(JobError::Internal("the account vanished".into()))?, &id)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Adds the memberships the groups claim and brings claimed roles up to date. A claimed team
    /// that does not exist is skipped, an owner keeps ownership, and memberships the claim does not
    /// name (from invitations) are left alone.
    async fn join_claimed_teams(&self, actor: &Actor, identity: &ExternalIdentity) -> Result<(), JobError> {
        let user = actor.person()?;
        for claimed in identity.groups.iter().filter_map(|g| claimed_membership(g)) {
            if self.teams.get(&claimed.team).await?.is_none() {
                tracing::warn!(team_id = %claimed.team, "a claimed team does not exist: skipped");
                continue;
            }
            let current = self.teams.membership(&claimed.team, user).await?;
            let (action, changed) = match &current {
                None => (action::MEMBER_JOIN, true),
                Some(member) => (action::MEMBER_ROLE, member.role != claimed.role && member.role != Role::Owner),
            };
            if !changed {
                continue;
            }
            let event = || AuditEvent { team: &claimed.team, action, target: claimed.role.as_str() };
            self.audit.record(actor, event(), AuditOutcome::Success).await?;
            let written = match &current {
                None => {
                    let member = Membership {
                        team_id: claimed.team.clone(),
                        user_id: user.clone(),
                        role: claimed.role,
                        joined_at: self.clock.now(),
                    };
                    self.teams.add_member(&member).await
                }
                Some(member) => self.teams.set_role(&claimed.team, user, member.role, claimed.role).await,
            };
            // A concurrent login of the same user wrote it first: the claim holds either way.
            let written = match written {
                Err(StoreError::Conflict(_)) => Ok(()),
                other => other.map_err(JobError::from),
            };
            self.audit.settled(actor, event(), written).await?;
            tracing::info!(team_id = %claimed.team, user_id = %user, role = claimed.role.as_str(), "membership from the issuer's claim");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_name_a_team_and_a_role() {
        let member = |team: &str, role| Some(ClaimedMembership { team: team.into(), role });
        assert_eq!(claimed_membership("helix:t-1:admin"), member("t-1", Role::Admin));
        assert_eq!(claimed_membership("/helix:t-1:viewer"), member("t-1", Role::Viewer));
        assert_eq!(claimed_membership("helix:a:b:member"), member("a:b", Role::Member));
        for ignored in
            ["helix:t-1:owner", "helix:t-1:root", "helix::admin", "helix:t-1", "admins", "", "helix:personal-u1:admin"]
        {
            assert_eq!(claimed_membership(ignored), None, "{ignored}");
        }
    }
}
