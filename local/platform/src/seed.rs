//! Demo accounts for local use only; the cloud template has no default password anywhere.

use helix_domain::{StoreError, Timestamp, User, UserStore};

pub struct DemoUser {
    pub email: &'static str,
    pub password: &'static str,
    pub fullname: &'static str,
    pub is_admin: bool,
}

/// Listed in the README; never deployed.
pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser { email: "admin@helixnet.local", password: "helix-admin-local", fullname: "Ada Admin", is_admin: true },
    DemoUser {
        email: "alice@helixnet.local",
        password: "alice-local-pass",
        fullname: "Alice Analyst",
        is_admin: false,
    },
    DemoUser { email: "bob@helixnet.local", password: "bob-local-pass", fullname: "Bob Builder", is_admin: false },
];

/// Idempotent: existing accounts are left untouched.
pub async fn seed_demo_users(users: &dyn UserStore) -> Result<(), StoreError> {
    for demo in DEMO_USERS {
        if users.get(demo.email).await?.is_some() {
            tracing::info!("Account already exists {}", demo.email);
            continue;
        }
        let now = Timestamp::now();
        let user = User {
            email: demo.email.to_owned(),
            id: helix_domain::UserId::random(),
            password_hash: helix_auth::hash_password(demo.password).map_err(|e| StoreError::Backend(e.to_string()))?,
            fullname: Some(demo.fullname.to_owned()),
            phone_number: None,
            web_url: None,
            is_admin: demo.is_admin,
            created_at: now,
            updated_at: now,
        };
        match users.create(&user).await {
            Ok(()) => tracing::info!("Created account {}", demo.email),
            Err(StoreError::Conflict(_)) => tracing::info!("Account already exists {}", demo.email),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
