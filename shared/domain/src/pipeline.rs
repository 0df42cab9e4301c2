//! Pipelines: a team's named mapping, saved as immutable versions (context, schema, lookups,
//! options) and run on new content files. Every save makes a version; a run names the version it
//! ran, so a job's output can always be traced to the exact rules that made it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ArtifactId, JobId, JobRead, PipelineId, TeamId, Timestamp, UserId};

/// A pipeline as stored: its name, its team, and the number of its newest version.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Pipeline {
    pub id: PipelineId,
    pub team_id: TeamId,
    pub name: String,
    /// The version a run takes unless it names one; versions are numbered 1, 2, 3, … without gaps.
    pub current_version: u32,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Set once the pipeline is deleted: it is kept (its runs name it) but takes no new versions
    /// or runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
    /// The file names its inbox takes (globs, e.g. `ORDERS_*.csv`); any name when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
}

impl Pipeline {
    /// The key prefix of the pipeline's inbox in the artifacts bucket.
    pub fn inbox_prefix(&self) -> String {
        format!("inbox/{}/{}/", self.team_id, self.id)
    }

    /// The pipeline as the API shows it, its inbox in `bucket`.
    pub fn read(&self, bucket: &str) -> PipelineRead {
        PipelineRead {
            id: self.id.clone(),
            name: self.name.clone(),
            team_id: self.team_id.clone(),
            current_version: self.current_version,
            inbox: format!("s3://{bucket}/{}", self.inbox_prefix()),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            archived_at: self.archived_at,
            patterns: self.patterns.clone(),
        }
    }

    /// Whether a file of this name dropped into the inbox starts a run: it matches one of the
    /// patterns, or there are none.
    pub fn accepts(&self, filename: &str) -> bool {
        self.patterns.is_empty()
            || self.patterns.iter().any(|p| glob::Pattern::new(p).is_ok_and(|pattern| pattern.matches(filename)))
    }
}

/// A file in a pipeline's inbox, from its key: `inbox/<team>/<pipeline>/<filename>`. Keys deeper
/// than that (a "folder" in the inbox) are no inbox file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxFile {
    pub team_id: TeamId,
    pub pipeline_id: PipelineId,
    pub filename: String,
}

/// What every inbox key starts with.
pub const INBOX_PREFIX: &str = "inbox/";

impl InboxFile {
    pub fn parse(key: &str) -> Option<Self> {
        let mut parts = key.strip_prefix(INBOX_PREFIX)?.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(team), Some(pipeline), Some(filename), None)
                if !team.is_empty() && !pipeline.is_empty() && !filename.is_empty() =>
            {
                Some(Self { team_id: team.into(), pipeline_id: pipeline.into(), filename: filename.to_owned() })
            }
            _ => None,
        }
    }

    /// Where the file goes once its run was created: under the run's id, its name kept.
    pub fn processed_key(&self, run: &str) -> String {
        format!("processed/{}/{}/{run}/{}", self.team_id, self.pipeline_id, self.filename)
    }

    /// Where the file goes when no run could be made of it: under `attempt` (an id of the try),
    /// its name kept.
    pub fn failed_key(&self, attempt: &str) -> String {
        format!("failed/{}/{}/{attempt}/{}", self.team_id, self.pipeline_id, self.filename)
    }
}

/// The most patterns a pipeline takes, and the longest one.
pub const MAX_PATTERNS: usize = 20;
pub const MAX_PATTERN_CHARS: usize = 200;

/// Checks inbox patterns as sent: each a glob of a file name (no `/`), at most
/// [`MAX_PATTERNS`] of at most [`MAX_PATTERN_CHARS`] characters. `Err((index, reason))` names the
/// first bad one (`None` for the list as a whole).
pub fn check_patterns(patterns: &[String]) -> Result<(), (Option<usize>, String)> {
    if patterns.len() > MAX_PATTERNS {
        return Err((None, format!("at most {MAX_PATTERNS} patterns")));
    }
    for (i, pattern) in patterns.iter().enumerate() {
        if pattern.is_empty() || pattern.chars().count() > MAX_PATTERN_CHARS || pattern.chars().any(char::is_control) {
            return Err((
                Some(i),
                format!("a pattern is 1 to {MAX_PATTERN_CHARS} characters, without control characters"),
            ));
        }
        if pattern.contains('/') {
            return Err((Some(i), "a pattern matches a file name, which has no '/'".into()));
        }
        if let Err(e) = glob::Pattern::new(pattern) {
            return Err((Some(i), format!("not a glob pattern: {e}")));
        }
    }
    Ok(())
}

/// A pipeline's JSON in the API.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PipelineRead {
    pub id: PipelineId,
    pub name: String,
    pub team_id: TeamId,
    pub current_version: u32,
    /// `s3://<bucket>/inbox/<team>/<pipeline>/`: where the pipeline's input files are dropped.
    pub inbox: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When the pipeline was deleted (archived); `null` while it is in use.
    pub archived_at: Option<Timestamp>,
    /// The file names the inbox takes (globs: `*`, `?`, `[abc]`); every name when empty. A file
    /// that matches none is recorded and left in the inbox.
    pub patterns: Vec<String>,
}

/// How a version's runs are made, beyond its documents.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PipelineOptions {
    /// As a job's `auto_map`: required target fields the context leaves unmapped are proposed by
    /// the mapping suggestion. Needs a context and a schema.
    #[serde(default)]
    pub auto_map: bool,
}

/// One saved state of a pipeline. Never changed once written: a change is a new version.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PipelineVersion {
    pub pipeline_id: PipelineId,
    pub version: u32,
    pub context_artifact_id: Option<ArtifactId>,
    pub schema_artifact_id: Option<ArtifactId>,
    #[serde(default)]
    pub lookup_artifact_ids: Vec<ArtifactId>,
    #[serde(default)]
    pub options: PipelineOptions,
    /// A chained version's steps (a DAG, see [`crate::chain`]): each a job with its own
    /// documents; the version's own documents are then unused. Empty for a one-job version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<crate::PipelineStep>,
    /// Who saved it.
    pub author: UserId,
    pub created_at: Timestamp,
}

/// Two versions of a pipeline compared: unified diffs of their contexts and schemas (empty where
/// the document is the same).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PipelineDiff {
    pub pipeline_id: PipelineId,
    pub from: u32,
    pub to: u32,
    pub context: String,
    pub schema: String,
    /// Whether the lookups or the options differ too (they are ids and flags, not text).
    pub lookups_changed: bool,
    pub options_changed: bool,
}

/// A finished run's input run again with another version, to see what that version changes
/// before it goes live. Kept with the pipeline, keyed by the new run's job.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    pub pipeline_id: PipelineId,
    /// The version tried.
    pub version: u32,
    /// The finished run whose input and output are compared against.
    pub baseline_job_id: JobId,
    /// The run of `version` on the same input.
    pub candidate_job_id: JobId,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

/// How the records of two runs of one input compare.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ComparedRecords {
    /// Records only the candidate run wrote.
    pub added: u64,
    /// Records only the baseline run wrote.
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// `input_record` (records matched by their input record number, around each run's rejects),
    /// or `position` (by their place in the output: a context that filters or groups).
    pub aligned_by: String,
}

/// One target field that differs between two runs (a dotted path: `customer.id`, `lines[0].sku`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ComparedField {
    pub field: String,
    /// Records where both runs wrote the field, with different values.
    pub changed: u64,
    /// Records where only the candidate wrote it.
    pub added: u64,
    /// Records where only the baseline wrote it.
    pub removed: u64,
    /// A few of them: the record and both values (`null` where a run did not write the field).
    pub examples: Vec<FieldExample>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FieldExample {
    /// The record's number: its input record, or its place in the output (see `aligned_by`).
    pub record: u64,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// A comparison as the API shows it: both runs, and once the candidate has completed, the
/// difference of their outputs.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ComparisonRead {
    pub pipeline_id: PipelineId,
    pub version: u32,
    pub baseline: JobRead,
    pub candidate: JobRead,
    /// `null` until the candidate run has COMPLETED.
    pub records: Option<ComparedRecords>,
    /// The fields that differ, most often first.
    pub fields: Vec<ComparedField>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inbox_is_under_the_team_and_the_pipeline() {
        let now = Timestamp::from_unix(1_800_000_000).unwrap();
        let pipeline = Pipeline {
            id: "p1".into(),
            team_id: "t1".into(),
            name: "orders".into(),
            current_version: 1,
            created_by: "u1".into(),
            created_at: now,
            updated_at: now,
            archived_at: None,
            patterns: Vec::new(),
        };
        assert_eq!(pipeline.inbox_prefix(), "inbox/t1/p1/");
        assert_eq!(pipeline.read("helix-artifacts").inbox, "s3://helix-artifacts/inbox/t1/p1/");
    }

    #[test]
    fn inbox_files_are_direct_children_of_the_inbox() {
        let file = InboxFile::parse("inbox/t1/p1/ORDERS_1.csv").unwrap();
        assert_eq!(
            (file.team_id.as_str(), file.pipeline_id.as_str(), file.filename.as_str()),
            ("t1", "p1", "ORDERS_1.csv")
        );
        assert_eq!(file.processed_key("j1"), "processed/t1/p1/j1/ORDERS_1.csv");
        assert_eq!(file.failed_key("a1"), "failed/t1/p1/a1/ORDERS_1.csv");
        for key in ["inbox/t1/p1/", "inbox/t1/p1/sub/x.csv", "inbox/t1/x.csv", "uploads/u/a/x.csv", "inbox//p1/x"] {
            assert_eq!(InboxFile::parse(key), None, "{key}");
        }
    }

    #[test]
    fn patterns_select_file_names() {
        let now = Timestamp::from_unix(1_800_000_000).unwrap();
        let mut pipeline = Pipeline {
            id: "p1".into(),
            team_id: "t1".into(),
            name: "orders".into(),
            current_version: 1,
            created_by: "u1".into(),
            created_at: now,
            updated_at: now,
            archived_at: None,
            patterns: Vec::new(),
        };
        assert!(pipeline.accepts("anything.bin"));
        pipeline.patterns = vec!["ORDERS_*.csv".into(), "invoice-?.xml".into()];
        assert!(pipeline.accepts("ORDERS_2026-11-30.csv"));
        assert!(pipeline.accepts("invoice-7.xml"));
        assert!(!pipeline.accepts("orders_1.csv"));
        assert!(!pipeline.accepts("ORDERS_1.csv.tmp"));
        assert!(!pipeline.accepts("invoice-77.xml"));
    }

    #[test]
    fn bad_patterns_are_named() {
        assert!(check_patterns(&["ORDERS_*.csv".into()]).is_ok());
        assert_eq!(check_patterns(&["a".into(), "[".into()]).unwrap_err().0, Some(1));
        assert_eq!(check_patterns(&["x/*.csv".into()]).unwrap_err().0, Some(0));
        assert_eq!(check_patterns(&["".into()]).unwrap_err().0, Some(0));
        assert_eq!(check_patterns(&vec!["*".to_owned(); MAX_PATTERNS + 1]).unwrap_err().0, None);
    }

    #[test]
    fn options_refuse_unknown_fields() {
        assert!(serde_json::from_str::<PipelineOptions>(r#"{"auto_map": true}"#).unwrap().auto_map);
        assert!(serde_json::from_str::<PipelineOptions>(r#"{"automap": true}"#).is_err());
    }
}
