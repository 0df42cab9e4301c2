use std::sync::Arc;

use helix_domain::{Role, TeamAction, TeamId, TeamStore};

use crate::{Actor, JobError};

const MAX_TEAM_ID_BYTES: usize = 128;

/// Who may do what in a team: the actor's role, read from the store on every request (so that a
/// changed role or a removed member counts at once), checked against the role table.
pub struct Access {
    pub teams: Arc<dyn TeamStore>,
}

impl Access {
    /// The actor's role in `team`, `None` for an outsider. A personal team's only member is its
    /// owner, whether or not its record is stored.
    pub async fn role(&self, actor: &Actor, team: &TeamId) -> Result<Option<Role>, JobError> {
        // Ids are generated; anything longer is no id, and is never sent to the store.
        if team.as_str().is_empty() || team.as_str().len() > MAX_TEAM_ID_BYTES {
            return Ok(None);
        }
        if team.personal_owner().is_some() {
            return Ok((team == &TeamId::personal(&actor.user_id)).then_some(Role::Owner));
        }
        Ok(self.teams.membership(team, &actor.user_id).await?.map(|m| m.role))
    }

    /// The actor's role if it allows `action` in `team`. An outsider learns nothing: `what` is
    /// not found (the team's ids do not leak); a member whose role falls short is forbidden.
    pub async fn require(
        &self,
        actor: &Actor,
        team: &TeamId,
        action: TeamAction,
        what: &'static str,
    ) -> Result<Role, JobError> {
        match self.role(actor, team).await? {
            None => Err(JobError::NotFound(what)),
            Some(role) if role.allows(action) => Ok(role),
            Some(role) => Err(JobError::Forbidden(format!(
                "a team {} may not {}",
                role.as_str(),
                match action {
                    TeamAction::Read => "read it",
                    TeamAction::Write => "create jobs or upload files",
                    TeamAction::ManageMembers => "manage members",
                    TeamAction::Configure => "change the team",
                    TeamAction::ManageOwners => "change owners",
                }
            ))),
        }
    }
}
