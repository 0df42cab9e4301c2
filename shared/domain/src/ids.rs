//! Typed identifiers: a job id cannot be passed where an artifact id is expected. On the wire and
//! in storage each is its plain string.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id (UUID v4).
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id_type!(
    /// A job's id.
    JobId
);
id_type!(
    /// An artifact's id: an uploaded input or a file a job wrote.
    ArtifactId
);
id_type!(
    /// A user account's id (the `sub` of its tokens).
    UserId
);
id_type!(
    /// An API key's id (not the key: that is a secret, kept only as a hash).
    ApiKeyId
);

id_type!(
    /// A team: it owns jobs and artifacts. Every user has a personal one.
    TeamId
);
id_type!(
    /// A team invitation (its token is a separate secret).
    InvitationId
);
id_type!(
    /// An entry of the audit trail.
    AuditEntryId
);
id_type!(
    /// A team's pipeline: a named, versioned mapping.
    PipelineId
);
id_type!(
    /// A pipeline's webhook: a URL told of the pipeline's finished runs.
    WebhookId
);
id_type!(
    /// A run of a chained pipeline: one job per step.
    RunId
);
id_type!(
    /// A pipeline's schedule: when its runs start by themselves.
    ScheduleId
);
id_type!(
    /// A login session: its access tokens carry it (`sid`), its refresh tokens name it.
    SessionId
);

impl TeamId {
    /// The personal team of `user`: the same id every time, so it exists from the account's
    /// creation without a write (its record is stored once something about it changes).
    pub fn personal(user: &UserId) -> Self {
        Self(format!("personal-{user}"))
    }

    /// The user whose personal team this is.
    pub fn personal_owner(&self) -> Option<UserId> {
        self.0.strip_prefix("personal-").map(UserId::from)
    }
}

impl ArtifactId {
    /// The id of a file the platform writes at `key`: derived from the key, so a retried attempt
    /// that writes the same key records the same artifact instead of a second one.
    pub fn for_key(key: &str) -> Self {
        Self(uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes()).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id = JobId::from("j-1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"j-1\"");
        assert_eq!(serde_json::from_str::<JobId>("\"j-1\"").unwrap(), id);
    }

    #[test]
    fn output_ids_derive_from_the_key() {
        assert_eq!(ArtifactId::for_key("results/j/result.json"), ArtifactId::for_key("results/j/result.json"));
        assert_ne!(ArtifactId::for_key("results/j/result.json"), ArtifactId::for_key("results/j/errors.json"));
    }
}
