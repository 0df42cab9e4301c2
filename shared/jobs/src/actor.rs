use helix_domain::UserId;

/// Who is asking, as proven by the transport (a bearer token, a worker's own identity).
/// Authorization is decided from it in this crate ([`crate::Access`]), never in a handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: UserId,
}

impl Actor {
    pub fn user(user_id: UserId) -> Self {
        Self { user_id }
    }
}
