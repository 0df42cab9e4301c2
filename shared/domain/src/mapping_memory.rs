//! A team's mapping memory: the source columns its users confirmed for target fields (from a
//! suggest-mapping job's draft, on the review page or through the API), with what the column
//! looked like and the value map they settled on. Later suggestions for files of the same
//! source use it first.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::{JobId, StoreError, TeamId, Timestamp};

/// The most entries a team keeps; confirming more is refused until some are deleted.
pub const MAX_REMEMBERED_PER_TEAM: usize = 5_000;

/// What a column's sampled values looked like: enough to know the column again under another
/// name or at another place in a later file of the same source.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ColumnSignature {
    /// The values' common shape: `empty`, `boolean`, `integer`, `decimal`, `date`, `date-time`,
    /// `email` or `text`.
    pub kind: String,
    /// Shortest and longest non-empty value, in characters.
    pub min_len: u32,
    pub max_len: u32,
    /// Distinct values per non-empty value in the sample (1: every value differs, a key).
    pub distinct_ratio: f32,
    /// The most frequent values, most frequent first (at most a dozen).
    pub values: Vec<String>,
    /// The values' most frequent shapes, most frequent first: each run of digits `9`, of
    /// letters `a`, of both `x`, other characters as they are (`9-9-9` for an ISO date).
    #[serde(default)]
    pub shapes: Vec<String>,
    /// The smallest and largest value of a numeric column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// One confirmed pair: a source column and the target field it fills.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RememberedMapping {
    /// The entry's id within the team ([`RememberedMapping::entry_id`]).
    pub id: String,
    pub team_id: TeamId,
    /// The source column's name as the file spelled it.
    pub column: String,
    pub signature: ColumnSignature,
    /// The target field's dotted path (`customer.id`).
    pub target: String,
    /// The confirmed translation of the column's values (source value → target value).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub value_map: BTreeMap<String, serde_json::Value>,
    /// Who confirmed it: their e-mail address (the user id where there is none).
    pub confirmed_by: String,
    pub confirmed_at: Timestamp,
    /// The file whose draft was confirmed.
    pub source_file: String,
    /// The suggest-mapping job whose draft was confirmed.
    pub job_id: JobId,
}

/// Case, spacing and punctuation folded: `Customer No.`, `customer_no` and `CUSTOMER-NO` are
/// one name.
pub fn normalised_column(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

impl RememberedMapping {
    /// One entry per target field and (normalised) column name: confirming the pair again
    /// replaces it, while another source's column for the same field is kept beside it.
    pub fn entry_id(target: &str, column: &str) -> String {
        let digest = Sha256::new()
            .chain_update(target.as_bytes())
            .chain_update([0])
            .chain_update(normalised_column(column).as_bytes())
            .finalize();
        hex::encode(&digest[..10])
    }
}

/// Where a team's confirmed mappings are kept.
#[async_trait]
pub trait MappingMemoryStore: Send + Sync {
    /// Stores the entries (all of one team), each replacing the entry of the same id.
    async fn remember(&self, entries: &[RememberedMapping]) -> Result<(), StoreError>;
    /// Every entry of the team, in no particular order.
    async fn list(&self, team: &TeamId) -> Result<Vec<RememberedMapping>, StoreError>;
    /// Deletes an entry: `false` when the team has none of that id.
    async fn forget(&self, team: &TeamId, id: &str) -> Result<bool, StoreError>;
}

/// The in-memory mapping memory, for tests.
#[derive(Default)]
pub struct MemoryMappingMemory {
    entries: Mutex<BTreeMap<(TeamId, String), RememberedMapping>>,
}

#[async_trait]
impl MappingMemoryStore for MemoryMappingMemory {
    async fn remember(&self, entries: &[RememberedMapping]) -> Result<(), StoreError> {
        let mut stored = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for entry in entries {
            stored.insert((entry.team_id.clone(), entry.id.clone()), entry.clone());
        }
        Ok(())
    }

    async fn list(&self, team: &TeamId) -> Result<Vec<RememberedMapping>, StoreError> {
        let stored = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        Ok(stored.iter().filter(|((t, _), _)| t == team).map(|(_, e)| e.clone()).collect())
    }

    async fn forget(&self, team: &TeamId, id: &str) -> Result<bool, StoreError> {
        let mut stored = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        Ok(stored.remove(&(team.clone(), id.to_owned())).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_field_and_spelling_of_a_column() {
        assert_eq!(normalised_column("Customer No."), "customerno");
        assert_eq!(
            RememberedMapping::entry_id("customer_id", "Customer No."),
            RememberedMapping::entry_id("customer_id", "customer_no")
        );
        assert_ne!(
            RememberedMapping::entry_id("customer_id", "KUNNR"),
            RememberedMapping::entry_id("order_id", "KUNNR")
        );
        assert_eq!(RememberedMapping::entry_id("a", "b").len(), 20);
    }
}
