use std::sync::Arc;

use helix_domain::{QuotaStore, Role, TeamAction, TeamId, TeamStore};

use crate::{Actor, JobError, KeyGrant};

const MAX_TEAM_ID_BYTES: usize = 128;

/// Who may do what in a team: a person by their role, read from the store on every request (so
/// that a changed role or a removed member counts at once), checked against the role table; an
/// API key by its scopes, in its own team only.
pub struct Access {
    pub teams: Arc<dyn TeamStore>,
    /// What each team uses of its plan (`quotas`): how much it may do besides what.
    pub quotas: Arc<dyn QuotaStore>,
}

fn describe(action: TeamAction) -> &'static str {
    match action {
        TeamAction::Read => "read it",
        TeamAction::SubmitJobs => "create jobs",
        TeamAction::Upload => "upload files",
        TeamAction::ManageMembers => "manage members",
        TeamAction::ManageKeys => "manage API keys",
        TeamAction::Configure => "change the team",
        TeamAction::ManageOwners => "change owners",
        TeamAction::ViewAudit => "read the audit trail",
        TeamAction::ViewUsage => "read the team's usage",
        TeamAction::EditPipelines => "change pipelines",
    }
}

/// A key sees its own team and nothing else; there, its scopes decide.
fn key_allows(grant: &KeyGrant, team: &TeamId, action: TeamAction, what: &'static str) -> Result<(), JobError> {
    if &grant.team_id != team {
        return Err(JobError::NotFound(what));
    }
    if grant.scopes.iter().any(|scope| scope.allows(action)) {
        return Ok(());
    }
    Err(JobError::Forbidden(format!("this API key's scopes do not allow it to {}", describe(action))))
}

impl Access {
    /// The person's role in `team`, `None` for an outsider. A personal team's only member is its
    /// owner, whether or not its record is stored. A key is a member of no team: it has scopes,
    /// not a role.
    pub async fn role(&self, actor: &Actor, team: &TeamId) -> Result<Option<Role>, JobError> {
        // Ids are generated; anything longer is no id, and is never sent to the store.
        if actor.key.is_some() || team.as_str().is_empty() || team.as_str().len() > MAX_TEAM_ID_BYTES {
            return Ok(None);
        }
        if team.personal_owner().is_some() {
            return Ok((team == &TeamId::personal(&actor.user_id)).then_some(Role::Owner));
        }
        Ok(self.teams.membership(team, &actor.user_id).await?.map(|m| m.role))
    }

    /// Whether the actor may do `action` in `team`. An outsider learns nothing: `what` is not
    /// found (the team's ids do not leak); a member whose role, or a key whose scopes, fall short
    /// is forbidden.
    pub async fn require(
        &self,
        actor: &Actor,
        team: &TeamId,
        action: TeamAction,
        what: &'static str,
    ) -> Result<(), JobError> {
        match &actor.key {
            Some(grant) => key_allows(grant, team, action, what),
            None => self.require_role(actor, team, action, what).await.map(drop),
        }
    }

    /// The person's role, if it allows `action` in `team`. A key, having no role, is refused
    /// as [`Access::require`] would refuse it a management action.
    pub async fn require_role(
        &self,
        actor: &Actor,
        team: &TeamId,
        action: TeamAction,
        what: &'static str,
    ) -> Result<Role, JobError> {
        if let Some(grant) = &actor.key {
            key_allows(grant, team, action, what)?;
            return Err(JobError::Forbidden("an API key has no role in a team".into()));
        }
        match self.role(actor, team).await? {
            None => Err(JobError::NotFound(what)),
            Some(role) if role.allows(action) => Ok(role),
            Some(role) => Err(JobError::Forbidden(format!("a team {} may not {}", role.as_str(), describe(action)))),
        }
    }
}
