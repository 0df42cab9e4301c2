use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ArtifactId, JobId, TeamId, Timestamp, UserId};

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// A file to transform.
    Content,
    /// Mapping rules (YAML) or a template.
    Context,
    /// The target JSON Schema.
    Schema,
    /// A job's valid records, written by the worker.
    Result,
    /// A job's per-record rejects, written by the worker.
    ErrorReport,
}

impl ArtifactKind {
    /// Users upload inputs; results and reports are only ever written by the platform.
    pub fn is_user_upload(self) -> bool {
        matches!(self, Self::Content | Self::Context | Self::Schema)
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ArtifactStatus {
    /// Registered, upload URL handed out, object not (yet) seen in S3.
    PendingUpload,
    /// The object is in S3 and matched what was declared.
    Available,
    /// The object did not match its declaration and was deleted.
    Rejected,
}

impl ArtifactStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingUpload => "PENDING_UPLOAD",
            Self::Available => "AVAILABLE",
            Self::Rejected => "REJECTED",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Artifact {
    pub id: ArtifactId,
    /// Who uploaded it (or whose job wrote it).
    pub owner_id: UserId,
    /// The team it belongs to: its members read it by role.
    pub team_id: TeamId,
    pub kind: ArtifactKind,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub status: ArtifactStatus,
    pub s3_key: String,
    pub job_id: Option<JobId>,
    pub created_at: Timestamp,
    pub rejected_reason: Option<String>,
    /// Epoch seconds after which DynamoDB's TTL removes a registration whose upload never came.
    pub expires_at: Option<i64>,
}

/// How long an upload registration waits for its object before DynamoDB's TTL removes it.
pub const PENDING_UPLOAD_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// What a user declares of a file before uploading it.
#[derive(Clone, Debug, PartialEq)]
pub struct FileDeclaration {
    pub kind: ArtifactKind,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
}

impl Artifact {
    /// A registration awaiting its upload: `PENDING_UPLOAD` until the upload watcher (or the
    /// API, for files it stores itself) has seen the object, removed by DynamoDB's TTL if the
    /// object never comes.
    pub fn pending_upload(
        owner_id: UserId,
        team_id: TeamId,
        file: FileDeclaration,
        job_id: Option<JobId>,
        now: Timestamp,
    ) -> Self {
        let id = ArtifactId::random();
        Self {
            s3_key: upload_key(owner_id.as_str(), id.as_str(), &file.filename),
            id,
            owner_id,
            team_id,
            kind: file.kind,
            filename: file.filename,
            content_type: file.content_type,
            size_bytes: file.size_bytes,
            status: ArtifactStatus::PendingUpload,
            job_id,
            created_at: now,
            rejected_reason: None,
            expires_at: Some(now.plus(PENDING_UPLOAD_TTL).unix()),
        }
    }

    /// A file a job wrote at `key`. Its id derives from the key, so a retried attempt that
    /// writes the same key records the same artifact again instead of a second one.
    pub fn output(
        job: &crate::Job,
        kind: ArtifactKind,
        key: String,
        content_type: &str,
        size_bytes: u64,
        now: Timestamp,
    ) -> Self {
        Self {
            id: ArtifactId::for_key(&key),
            owner_id: job.owner_id.clone(),
            team_id: job.team_id.clone(),
            kind,
            filename: key.rsplit('/').next().unwrap_or("result.json").to_owned(),
            content_type: content_type.to_owned(),
            size_bytes,
            status: ArtifactStatus::Available,
            s3_key: key,
            job_id: Some(job.id.clone()),
            created_at: now,
            rejected_reason: None,
            expires_at: None,
        }
    }
}

/// The artifact as its owner sees it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ArtifactRead {
    pub id: ArtifactId,
    pub team_id: TeamId,
    pub kind: ArtifactKind,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
    pub status: ArtifactStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_reason: Option<String>,
}

impl From<&Artifact> for ArtifactRead {
    fn from(a: &Artifact) -> Self {
        Self {
            id: a.id.clone(),
            team_id: a.team_id.clone(),
            kind: a.kind,
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size_bytes: a.size_bytes,
            status: a.status,
            job_id: a.job_id.clone(),
            created_at: a.created_at,
            rejected_reason: a.rejected_reason.clone(),
        }
    }
}

pub const MAX_FILENAME_CHARS: usize = 255;
const MAX_SAFE_FILENAME_CHARS: usize = 120;

/// A file name that is safe as the last segment of an S3 key and in a `Content-Disposition`
/// header: no path, only `[A-Za-z0-9._-]`, no leading dot.
pub fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
        .take(MAX_SAFE_FILENAME_CHARS)
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() { "file".to_owned() } else { cleaned.to_owned() }
}

/// The media type a file's extension suggests, for files that arrive without a trustworthy one
/// (multipart parts, the CLI's uploads). A schema's `.json` is `application/schema+json`.
pub fn media_type_for(filename: &str, kind: ArtifactKind) -> &'static str {
    let ext = filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "json" if kind == ArtifactKind::Schema => "application/schema+json",
        "json" => "application/json",
        "ndjson" | "jsonl" => "application/x-ndjson",
        "xml" => "application/xml",
        "yaml" | "yml" => "application/yaml",
        "txt" | "dat" | "idoc" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// The artifact file name that supplies a file a context reads (`lookups: {…: {file: …}}`):
/// the path's last component, since uploads keep only a file name.
pub fn context_file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

pub fn upload_key(owner_id: &str, artifact_id: &str, filename: &str) -> String {
    format!("uploads/{owner_id}/{artifact_id}/{}", safe_filename(filename))
}

/// `(owner_id, artifact_id)` of an upload key, as S3 events report it once URL-decoded.
pub fn parse_upload_key(key: &str) -> Option<(&str, &str)> {
    let mut parts = key.splitn(4, '/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("uploads"), Some(owner), Some(id), Some(name))
            if !owner.is_empty() && !id.is_empty() && !name.is_empty() =>
        {
            Some((owner, id))
        }
        _ => None,
    }
}

pub fn result_key(job_id: &JobId) -> String {
    format!("results/{job_id}/result.json")
}

pub fn error_report_key(job_id: &JobId) -> String {
    format!("results/{job_id}/errors.json")
}

/// Where a job stores the context it ran with (`auto_map`) or the draft it proposed
/// (`suggest-mapping`).
pub fn job_context_key(job_id: &JobId) -> String {
    format!("results/{job_id}/context.yaml")
}

pub fn suggestion_report_key(job_id: &JobId) -> String {
    format!("results/{job_id}/report.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_odd_characters() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename(r"C:\Users\me\Bestellung März.csv"), "Bestellung_M_rz.csv");
        assert_eq!(safe_filename(".hidden"), "hidden");
        assert_eq!(safe_filename("///"), "file");
        assert_eq!(safe_filename(&"a".repeat(500)).len(), MAX_SAFE_FILENAME_CHARS);
    }

    #[test]
    fn media_types_follow_the_extension_and_kind() {
        assert_eq!(media_type_for("Orders.CSV", ArtifactKind::Content), "text/csv");
        assert_eq!(media_type_for("s.json", ArtifactKind::Schema), "application/schema+json");
        assert_eq!(media_type_for("s.json", ArtifactKind::Content), "application/json");
        assert_eq!(media_type_for("noextension", ArtifactKind::Content), "application/octet-stream");
    }

    #[test]
    fn a_context_file_is_matched_by_its_last_path_component() {
        assert_eq!(context_file_name("plants.csv"), "plants.csv");
        assert_eq!(context_file_name("tables/plants.csv"), "plants.csv");
        assert_eq!(context_file_name("C:\\data\\plants.csv"), "plants.csv");
    }

    #[test]
    fn upload_keys_round_trip() {
        let key = upload_key("u1", "a1", "orders 2026.csv");
        assert_eq!(key, "uploads/u1/a1/orders_2026.csv");
        assert_eq!(parse_upload_key(&key), Some(("u1", "a1")));
        assert_eq!(parse_upload_key("results/j/result.json"), None);
        assert_eq!(parse_upload_key("uploads/u1/a1"), None);
    }
}
