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
    /// The S3 multipart upload a large file goes up in, while it is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<MultipartUpload>,
    /// The stored object's SHA-256 as S3 reports it (base64; `-<parts>` for a multipart
    /// upload's checksum of its parts' checksums), once the object is available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_sha256: Option<String>,
}

/// An open S3 multipart upload: its id, and the size of every part but the last.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MultipartUpload {
    pub upload_id: String,
    pub part_size: u64,
}

/// S3's bounds on a multipart upload's parts.
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
pub const MAX_PART_BYTES: u64 = 5 * 1024 * 1024 * 1024;
pub const MAX_PARTS: u64 = 10_000;
/// Big enough that a 5 GiB file needs a few hundred requests, small enough that a lost
/// connection costs seconds, not minutes.
pub const DEFAULT_PART_BYTES: u64 = 16 * 1024 * 1024;
/// S3's limit on one object.
pub const MAX_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024 * 1024;

impl MultipartUpload {
    /// The part size for a file of `size` bytes: the requested one, or the default grown in whole
    /// MiB until the file fits S3's 10,000 parts. Errors name what is wrong with a requested size.
    pub fn part_size_for(size: u64, requested: Option<u64>) -> Result<u64, String> {
        let fitting = size.div_ceil(MAX_PARTS).div_ceil(1024 * 1024) * 1024 * 1024;
        let Some(part_size) = requested else {
            return Ok(DEFAULT_PART_BYTES.max(fitting));
        };
        if !(MIN_PART_BYTES..=MAX_PART_BYTES).contains(&part_size) {
            return Err(format!("part_size must be between {MIN_PART_BYTES} and {MAX_PART_BYTES} bytes"));
        }
        if size.div_ceil(part_size) > MAX_PARTS {
            return Err(format!(
                "part_size {part_size} cuts the file into more than {MAX_PARTS} parts: use at least {fitting}"
            ));
        }
        Ok(part_size)
    }

    pub fn part_count(&self, size: u64) -> u32 {
        size.div_ceil(self.part_size) as u32
    }

    /// The size of part `number` (1-based) of a `size`-byte file: `part_size`, except the last.
    pub fn part_len(&self, size: u64, number: u32) -> u64 {
        let start = u64::from(number - 1) * self.part_size;
        self.part_size.min(size.saturating_sub(start))
    }
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
            multipart: None,
            checksum_sha256: None,
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
            multipart: None,
            checksum_sha256: None,
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
    /// The multipart upload to resume, while the file is still going up in parts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multipart: Option<MultipartUpload>,
    /// The stored object's SHA-256 as S3 computed it (base64; `-<parts>` for a file uploaded in
    /// parts: S3's checksum of the parts' checksums).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum_sha256: Option<String>,
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
            multipart: a.multipart.clone().filter(|_| a.status == ArtifactStatus::PendingUpload),
            checksum_sha256: a.checksum_sha256.clone(),
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

/// Where a job's valid records go; the name says the format (`extension`: `json` for one JSON
/// array, `ndjson` for a record per line).
pub fn result_key(job_id: &JobId, extension: &str) -> String {
    format!("results/{job_id}/result.{extension}")
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

/// Every key an output of the job can have, whichever of its runs wrote it: deleting the job
/// deletes these.
pub fn output_keys(job_id: &JobId) -> [String; 7] {
    [
        result_key(job_id, "json"),
        result_key(job_id, "ndjson"),
        result_key(job_id, "csv"),
        result_key(job_id, "parquet"),
        error_report_key(job_id),
        job_context_key(job_id),
        suggestion_report_key(job_id),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn parts_default_to_16_mib_and_grow_to_fit_10000() {
        assert_eq!(MultipartUpload::part_size_for(100 * MIB, None), Ok(16 * MIB));
        // 5 TiB needs parts of at least 524.288 MiB: whole MiB, rounded up.
        assert_eq!(MultipartUpload::part_size_for(MAX_OBJECT_BYTES, None), Ok(525 * MIB));
        assert_eq!(MultipartUpload::part_size_for(100 * MIB, Some(8 * MIB)), Ok(8 * MIB));
        let small = MultipartUpload::part_size_for(100 * MIB, Some(MIB)).unwrap_err();
        assert!(small.contains("between 5242880"), "{small}");
        let many = MultipartUpload::part_size_for(100_000 * MIB, Some(5 * MIB)).unwrap_err();
        assert!(many.contains("more than 10000 parts: use at least 10485760"), "{many}");
    }

    #[test]
    fn the_last_part_holds_the_rest() {
        let upload = MultipartUpload { upload_id: "u".into(), part_size: 16 * MIB };
        let size = 40 * MIB + 3;
        assert_eq!(upload.part_count(size), 3);
        assert_eq!(upload.part_len(size, 1), 16 * MIB);
        assert_eq!(upload.part_len(size, 3), 8 * MIB + 3);
        assert_eq!(upload.part_count(32 * MIB), 2);
        assert_eq!(upload.part_len(32 * MIB, 2), 16 * MIB);
    }

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
