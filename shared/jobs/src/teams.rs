use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helix_domain::{
    AuditOutcome, Clock, INVITATION_TTL, Invitation, InvitationId, Membership, Plan, Role, StoreError, Team,
    TeamAction, TeamId, TeamStore, UserId, UserStore,
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::access::Access;
use crate::audit::{AuditEvent, AuditTrail, action};
use crate::{Actor, JobError};

const MAX_TEAM_NAME_CHARS: usize = 100;

/// A team as one of its members sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct TeamView {
    pub team: Team,
    pub role: Role,
}

/// An invitation just made, with its token: shown once, only its hash is kept.
#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub invitation: Invitation,
    pub token: String,
}

/// The team use cases: teams, members, invitations.
pub struct TeamService {
    pub access: Arc<Access>,
    /// Who is a platform admin (`is_admin`): only they change a team's plan.
    pub users: Arc<dyn UserStore>,
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<AuditTrail>,
}

fn team_name(name: &str) -> Result<String, JobError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_TEAM_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(JobError::invalid(
            "name",
            format!("name must be 1 to {MAX_TEAM_NAME_CHARS} characters, without control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// The stored form of an invitation token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl TeamService {
    fn store(&self) -> &dyn TeamStore {
        &*self.access.teams
    }

    /// A new team, the actor its owner.
    pub async fn create(&self, actor: &Actor, name: &str) -> Result<TeamView, JobError> {
        let user = actor.person()?;
        let now = self.clock.now();
        let team = Team {
            id: TeamId::random(),
            name: team_name(name)?,
            personal: false,
            plan: Plan::Free,
            limits: None,
            created_by: user.clone(),
            created_at: now,
        };
        let owner = Membership { team_id: team.id.clone(), user_id: user.clone(), role: Role::Owner, joined_at: now };
        self.store().create(&team, &owner).await?;
        tracing::info!(team_id = %team.id, user_id = %user, "team created");
        Ok(TeamView { team, role: Role::Owner })
    }

    /// The team, as stored or (a personal team never changed) as it starts.
    async fn team(&self, id: &TeamId) -> Result<Team, JobError> {
        match (self.store().get(id).await?, id.personal_owner()) {
            (Some(team), _) => Ok(team),
            (None, Some(owner)) => Ok(Team::personal(&owner, self.clock.now())),
            (None, None) => Err(JobError::NotFound("team")),
        }
    }

    /// The actor's teams, their personal team first.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<TeamView>, JobError> {
        let user = actor.person()?;
        let personal = TeamId::personal(user);
        let mut views = vec![TeamView { team: self.team(&personal).await?, role: Role::Owner }];
        for membership in self.store().memberships_of(user).await? {
            if membership.team_id != personal {
                views.push(TeamView { team: self.team(&membership.team_id).await?, role: membership.role });
            }
        }
        Ok(views)
    }

    pub async fn get(&self, actor: &Actor, id: &TeamId) -> Result<TeamView, JobError> {
        let role = self.access.require_role(actor, id, TeamAction::Read, "team").await?;
        Ok(TeamView { team: self.team(id).await?, role })
    }

    pub async fn rename(&self, actor: &Actor, id: &TeamId, name: &str) -> Result<TeamView, JobError> {
        let role = self.access.require_role(actor, id, TeamAction::Configure, "team").await?;
        let team = Team { name: team_name(name)?, ..self.team(id).await? };
        self.store().put(&team).await?;
        Ok(TeamView { team, role })
    }

    pub async fn members(&self, actor: &Actor, id: &TeamId) -> Result<Vec<Membership>, JobError> {
        self.access.require(actor, id, TeamAction::Read, "team").await?;
        if let Some(owner) = id.personal_owner() {
            let team = self.team(id).await?;
            return Ok(vec![Membership {
                team_id: id.clone(),
                user_id: owner,
                role: Role::Owner,
                joined_at: team.created_at,
            }]);
        }
        Ok(self.store().members(id).await?)
    }

    /// A single-use invitation into the team with `role`, valid for 7 days.
    pub async fn invite(&self, actor: &Actor, id: &TeamId, role: Role) -> Result<NewInvitation, JobError> {
        let mut allowed = self.access.require(actor, id, TeamAction::ManageMembers, "team").await;
        if allowed.is_ok() && role == Role::Owner {
            allowed = self.access.require(actor, id, TeamAction::ManageOwners, "team").await;
        }
        let refused = AuditEvent { team: id, action: action::MEMBER_INVITE, target: role.as_str() };
        self.audit.checked(actor, refused, allowed).await?;
        if id.personal_owner().is_some() {
            return Err(JobError::invalid("team_id", "a personal team has one member: create a team to invite people"));
        }
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let now = self.clock.now();
        let invitation = Invitation {
            id: InvitationId::random(),
            team_id: id.clone(),
            role,
            token_hash: token_hash(&token),
            created_by: actor.user_id.clone(),
            created_at: now,
            expires_at: now.plus(INVITATION_TTL),
            accepted_by: None,
        };
        let event = || AuditEvent { team: id, action: action::MEMBER_INVITE, target: invitation.id.as_str() };
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let stored = self.store().create_invitation(&invitation).await.map_err(JobError::from);
        self.audit.settled(actor, event(), stored).await?;
        tracing::info!(team_id = %id, invitation_id = %invitation.id, role = role.as_str(), "invitation created");
        Ok(NewInvitation { invitation, token })
    }

    /// Joins the team the invitation is for, with its role. Unknown, used and expired tokens all
    /// answer 404: a token is a secret, and a wrong guess learns nothing.
    pub async fn accept(&self, actor: &Actor, token: &str) -> Result<TeamView, JobError> {
        let user = actor.person()?;
        let now = self.clock.now();
        let invitation = self
            .store()
            .invitation(&token_hash(token))
            .await?
            .filter(|i| i.accepted_by.is_none() && i.expires_at > now)
            .ok_or(JobError::NotFound("invitation"))?;
        if self.access.role(actor, &invitation.team_id).await?.is_some() {
            return Err(JobError::Conflict("you are a member of this team already".into()));
        }
        let member = Membership {
            team_id: invitation.team_id.clone(),
            user_id: user.clone(),
            role: invitation.role,
            joined_at: now,
        };
        let event = || AuditEvent { team: &member.team_id, action: action::MEMBER_JOIN, target: member.role.as_str() };
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let accepted = match self.store().accept_invitation(&invitation, &member, now).await {
            Ok(()) => Ok(()),
            Err(StoreError::Conflict(_) | StoreError::NotFound) => Err(JobError::NotFound("invitation")),
            Err(e) => Err(e.into()),
        };
        self.audit.settled(actor, event(), accepted).await?;
        tracing::info!(team_id = %member.team_id, user_id = %member.user_id, role = member.role.as_str(), "member joined");
        Ok(TeamView { team: self.team(&invitation.team_id).await?, role: member.role })
    }

    /// The member of `team` the actor may manage: owners only by owners, and never the last one.
    async fn managed_member(&self, actor: &Actor, team: &TeamId, user: &UserId) -> Result<Membership, JobError> {
        self.access.require(actor, team, TeamAction::ManageMembers, "team").await?;
        let member = self.store().membership(team, user).await?.ok_or(JobError::NotFound("member"))?;
        if member.role == Role::Owner {
            self.access.require(actor, team, TeamAction::ManageOwners, "team").await?;
        }
        Ok(member)
    }

    async fn ensure_another_owner(&self, team: &TeamId, leaving: &Membership) -> Result<(), JobError> {
        if leaving.role != Role::Owner {
            return Ok(());
        }
        let owners = self.store().members(team).await?.into_iter().filter(|m| m.role == Role::Owner).count();
        if owners <= 1 {
            return Err(JobError::Conflict("a team keeps at least one owner: make another member owner first".into()));
        }
        Ok(())
    }

    pub async fn change_role(
        &self,
        actor: &Actor,
        team: &TeamId,
        user: &UserId,
        role: Role,
    ) -> Result<Membership, JobError> {
        let event = || AuditEvent { team, action: action::MEMBER_ROLE, target: user.as_str() };
        let mut allowed = self.managed_member(actor, team, user).await;
        if allowed.is_ok() && role == Role::Owner {
            allowed = self.access.require(actor, team, TeamAction::ManageOwners, "team").await.and(allowed);
        }
        let member = self.audit.checked(actor, event(), allowed).await?;
        if role != Role::Owner {
            self.ensure_another_owner(team, &member).await?;
        }
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let changed = self.store().set_role(team, user, member.role, role).await.map_err(JobError::from);
        self.audit.settled(actor, event(), changed).await?;
        tracing::info!(team_id = %team, user_id = %user, from = member.role.as_str(), to = role.as_str(), "role changed");
        Ok(Membership { role, ..member })
    }

    /// Removes a member (anyone may leave; managing others takes the role for it).
    pub async fn remove(&self, actor: &Actor, team: &TeamId, user: &UserId) -> Result<(), JobError> {
        if team.personal_owner().is_some() {
            self.access.require(actor, team, TeamAction::Read, "team").await?;
            return Err(JobError::invalid("user_id", "a personal team keeps its owner"));
        }
        let event = || AuditEvent { team, action: action::MEMBER_REMOVE, target: user.as_str() };
        let member = if user == &actor.user_id {
            self.access.require(actor, team, TeamAction::Read, "team").await?;
            self.store().membership(team, user).await?.ok_or(JobError::NotFound("member"))?
        } else {
            let allowed = self.managed_member(actor, team, user).await;
            self.audit.checked(actor, event(), allowed).await?
        };
        self.ensure_another_owner(team, &member).await?;
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let removed = self.store().remove_member(team, user, member.role).await.map_err(JobError::from);
        self.audit.settled(actor, event(), removed).await?;
        tracing::info!(team_id = %team, user_id = %user, "member removed");
        Ok(())
    }
}
