//! Teams own jobs and artifacts; members act in them by role. What each role may do is one
//! table ([`PERMISSIONS`]), read by the application layer on every request, so that a changed
//! role takes effect on the member's next request.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{InvitationId, PlanLimits, TeamId, Timestamp, UserId};

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads the team's jobs and artifacts.
    Viewer,
    /// Creates and reads jobs and artifacts.
    Member,
    /// Members, keys, usage and audit besides.
    Admin,
    /// Everything, including ownership.
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn allows(self, action: TeamAction) -> bool {
        PERMISSIONS.iter().any(|(role, actions)| *role == self && actions.contains(&action))
    }
}

/// What a member does in a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeamAction {
    /// See the team, its jobs, artifacts and results.
    Read,
    /// Submit jobs.
    SubmitJobs,
    /// Upload files.
    Upload,
    /// Invite, change roles, remove members (admins only below owner).
    ManageMembers,
    /// Create, list and revoke the team's API keys.
    ManageKeys,
    /// Rename the team.
    Configure,
    /// Make another member an owner, or change an owner's role.
    ManageOwners,
    /// Read and verify the team's audit trail.
    ViewAudit,
    /// Create pipelines, save their versions, rename and archive them.
    EditPipelines,
    /// Read the team's plan, limits and usage.
    ViewUsage,
}

/// Each role and what it may do.
pub const PERMISSIONS: &[(Role, &[TeamAction])] = &[
    (Role::Viewer, &[TeamAction::Read]),
    (Role::Member, &[TeamAction::Read, TeamAction::SubmitJobs, TeamAction::Upload, TeamAction::EditPipelines]),
    (
        Role::Admin,
        &[
            TeamAction::Read,
            TeamAction::SubmitJobs,
            TeamAction::Upload,
            TeamAction::EditPipelines,
            TeamAction::ManageMembers,
            TeamAction::ManageKeys,
            TeamAction::Configure,
            TeamAction::ViewAudit,
            TeamAction::ViewUsage,
        ],
    ),
    (
        Role::Owner,
        &[
            TeamAction::Read,
            TeamAction::SubmitJobs,
            TeamAction::Upload,
            TeamAction::EditPipelines,
            TeamAction::ManageMembers,
            TeamAction::ManageKeys,
            TeamAction::Configure,
            TeamAction::ManageOwners,
            TeamAction::ViewAudit,
            TeamAction::ViewUsage,
        ],
    ),
];

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    #[default]
    Free,
    Pro,
    Enterprise,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    /// A user's own team: it has one member, its owner, and takes no invitations.
    pub personal: bool,
    #[serde(default)]
    pub plan: Plan,
    /// An enterprise team's own limits, set by a platform admin; unset, the plan's apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<PlanLimits>,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

impl Team {
    /// The personal team of `user`, as it is before anything about it is stored.
    pub fn personal(user: &UserId, created_at: Timestamp) -> Self {
        Self {
            id: TeamId::personal(user),
            name: "Personal".into(),
            personal: true,
            plan: Plan::Free,
            limits: None,
            created_by: user.clone(),
            created_at,
        }
    }

    /// What the team may use: its plan's limits, or an enterprise team's own.
    pub fn limits(&self) -> PlanLimits {
        match (self.plan, self.limits) {
            (Plan::Enterprise, Some(limits)) => limits,
            (plan, _) => plan.limits(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Membership {
    pub team_id: TeamId,
    pub user_id: UserId,
    pub role: Role,
    pub joined_at: Timestamp,
}

/// A single-use invitation into a team. Only the hash of its token is stored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Invitation {
    pub id: InvitationId,
    pub team_id: TeamId,
    pub role: Role,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default)]
    pub accepted_by: Option<UserId>,
}

/// How long an invitation link works.
pub const INVITATION_TTL: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_do_what_the_one_below_may() {
        let actions = [
            TeamAction::Read,
            TeamAction::SubmitJobs,
            TeamAction::Upload,
            TeamAction::EditPipelines,
            TeamAction::ManageMembers,
            TeamAction::ManageKeys,
            TeamAction::Configure,
            TeamAction::ManageOwners,
            TeamAction::ViewAudit,
            TeamAction::ViewUsage,
        ];
        let roles = [Role::Viewer, Role::Member, Role::Admin, Role::Owner];
        for pair in roles.windows(2) {
            for action in actions {
                assert!(!pair[0].allows(action) || pair[1].allows(action), "{:?} {action:?}", pair[1]);
            }
        }
        assert!(!Role::Viewer.allows(TeamAction::SubmitJobs) && !Role::Viewer.allows(TeamAction::Upload));
        assert!(!Role::Member.allows(TeamAction::ManageKeys) && Role::Admin.allows(TeamAction::ManageKeys));
        assert!(!Role::Admin.allows(TeamAction::ManageOwners));
        assert!(!Role::Viewer.allows(TeamAction::EditPipelines) && Role::Member.allows(TeamAction::EditPipelines));
        assert!(!Role::Member.allows(TeamAction::ViewAudit) && Role::Admin.allows(TeamAction::ViewAudit));
    }

    #[test]
    fn personal_teams_are_named_after_their_user() {
        let user = UserId::from("u-1");
        assert_eq!(TeamId::personal(&user).personal_owner(), Some(user));
        assert_eq!(TeamId::from("t-1").personal_owner(), None);
    }
}
