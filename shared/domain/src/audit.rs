//! The audit trail: who did what to which of a team's things, and whether it was allowed. Each
//! entry holds the hash of the one before it in its chain, so an edited or deleted entry breaks
//! the chain at that point ([`verify_chain`]).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::{AuditEntryId, TeamId, Timestamp, UserId};

/// What a chain's first entry holds as the hash before it.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Allowed and done.
    Success,
    /// Refused: the actor's role or scopes do not allow it.
    Refused,
    /// Allowed, but it did not happen (a storage fault, a conflict).
    Failed,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Refused => "refused",
            AuditOutcome::Failed => "failed",
        }
    }
}

/// One entry of a team's audit chain.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AuditEntry {
    pub id: AuditEntryId,
    /// The chain: the team.
    pub team_id: TeamId,
    /// 1, 2, 3, … without gaps in its chain.
    pub seq: u64,
    pub at: Timestamp,
    /// A user's id, or an API key's principal (`key-<id>`); for a failed login, the e-mail tried.
    pub actor: UserId,
    /// What was done, such as `job.create` or `artifact.download`.
    pub action: String,
    /// The id of what it was done to.
    pub target: String,
    pub outcome: AuditOutcome,
    #[serde(default)]
    pub source_ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    /// The hash of the entry before it ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// SHA-256 (hex) of the entry's canonical encoding ([`AuditEntry::digest`]).
    pub hash: String,
}

/// Each field as `<byte length>:<bytes>` (`-` for an absent one), in a fixed order: no two
/// different entries encode alike, whatever their texts contain.
fn encode(out: &mut Vec<u8>, field: Option<&str>) {
    match field {
        Some(text) => {
            out.extend_from_slice(text.len().to_string().as_bytes());
            out.push(b':');
            out.extend_from_slice(text.as_bytes());
        }
        None => out.push(b'-'),
    }
    out.push(b'\n');
}

impl AuditEntry {
    /// The hash the entry should carry: SHA-256 over every field but `hash`, `prev_hash` included,
    /// so that changing any entry changes its hash and breaks the link from the next one.
    pub fn digest(&self) -> String {
        let mut out = Vec::with_capacity(256);
        for field in [
            Some("helix-audit-v1"),
            Some(self.id.as_str()),
            Some(self.team_id.as_str()),
            Some(&self.seq.to_string()),
            Some(&self.at.to_string()),
            Some(self.actor.as_str()),
            Some(self.action.as_str()),
            Some(self.target.as_str()),
            Some(self.outcome.as_str()),
            self.source_ip.as_deref(),
            self.user_agent.as_deref(),
            Some(self.prev_hash.as_str()),
        ] {
            encode(&mut out, field);
        }
        hex::encode(Sha256::digest(&out))
    }

    /// The entry with its hash set.
    pub fn sealed(self) -> Self {
        let hash = self.digest();
        Self { hash, ..self }
    }
}

/// Where and why a chain breaks.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct BrokenLink {
    /// The sequence number of the first entry that does not follow from the one before it.
    pub seq: u64,
    pub reason: String,
}

/// Walks a chain's entries, oldest first, one at a time: the first broken link it finds stays.
#[derive(Debug, Default)]
pub struct ChainCheck {
    last: Option<(u64, String)>,
    pub entries: u64,
    pub broken: Option<BrokenLink>,
}

impl ChainCheck {
    pub fn push(&mut self, entry: &AuditEntry) {
        self.entries += 1;
        if self.broken.is_some() {
            return;
        }
        let (expected_seq, expected_prev) = match &self.last {
            Some((seq, hash)) => (seq + 1, hash.as_str()),
            None => (1, GENESIS_HASH),
        };
        let reason = if entry.digest() != entry.hash {
            Some("the entry was changed: its hash does not match its content".to_owned())
        } else if entry.seq != expected_seq {
            Some(format!("entries {expected_seq} to {} are missing", entry.seq.saturating_sub(1)))
        } else if entry.prev_hash != expected_prev {
            Some("the entry before it was changed or replaced: the hash it holds does not match".to_owned())
        } else {
            None
        };
        self.broken = reason.map(|reason| BrokenLink { seq: entry.seq, reason });
        self.last = Some((entry.seq, entry.hash.clone()));
    }

    /// The hash of the last entry seen: the chain's head once every entry was pushed.
    pub fn head(&self) -> Option<&str> {
        self.last.as_ref().map(|(_, hash)| hash.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let entry = AuditEntry {
                    id: format!("e{seq}").into(),
                    team_id: "t".into(),
                    seq,
                    at: Timestamp::from_unix(1_800_000_000 + seq as i64).unwrap(),
                    actor: "u".into(),
                    action: "job.create".into(),
                    target: format!("j{seq}"),
                    outcome: AuditOutcome::Success,
                    source_ip: None,
                    user_agent: Some("curl".into()),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                }
                .sealed();
                prev = entry.hash.clone();
                entry
            })
            .collect()
    }

    fn check(entries: &[AuditEntry]) -> Option<BrokenLink> {
        let mut check = ChainCheck::default();
        entries.iter().for_each(|e| check.push(e));
        check.broken
    }

    #[test]
    fn an_intact_chain_verifies_and_any_change_breaks_it() {
        let entries = chain(4);
        assert_eq!(check(&entries), None);
        let mut edited = entries.clone();
        edited[1].target = "j9".into();
        assert_eq!(check(&edited).unwrap().seq, 2);
        let mut resealed = entries.clone();
        resealed[1] = AuditEntry { target: "j9".into(), ..resealed[1].clone() }.sealed();
        assert_eq!(check(&resealed).unwrap().seq, 3, "a resealed entry breaks the next link");
        let mut deleted = entries.clone();
        deleted.remove(2);
        assert_eq!(check(&deleted).unwrap().seq, 4);
        assert_eq!(check(&entries[1..]).unwrap().seq, 2, "a deleted first entry is seen");
    }

    #[test]
    fn absent_and_empty_fields_encode_apart() {
        let entry = chain(1).remove(0);
        let empty = AuditEntry { source_ip: Some(String::new()), ..entry.clone() };
        assert_ne!(entry.digest(), empty.digest());
    }
}
