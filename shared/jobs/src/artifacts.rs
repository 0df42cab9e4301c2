use std::sync::Arc;
use std::time::Duration;

use helix_domain::artifact::{MAX_FILENAME_CHARS, safe_filename};
use helix_domain::{
    Artifact, ArtifactId, ArtifactKind, ArtifactStatus, ArtifactStore, AuditOutcome, Blobs, Clock, FileDeclaration,
    JobId, MultipartUpload, PartUpload, PresignedRequest, StoreError, StoredPart, TeamAction, TeamId, Timestamp,
    UserId,
};

use crate::audit::{AuditEvent, AuditTrail, action};
use crate::{Access, Actor, JobError};

const MAX_CONTENT_TYPE_CHARS: usize = 255;
/// The rejection reason of an upload its uploader cancelled.
const ABORTED: &str = "the upload was cancelled";

fn is_sha256_base64(value: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(value).is_ok_and(|raw| raw.len() == 32)
}

fn unquoted(etag: &str) -> &str {
    etag.trim_matches('"')
}

#[derive(Clone, Debug)]
pub struct ArtifactLimits {
    pub max_upload_bytes: u64,
    /// Files larger than this go up in parts (S3 multipart), smaller ones in one PUT.
    pub multipart_threshold: u64,
    pub upload_url_ttl: Duration,
    pub download_url_ttl: Duration,
}

/// A presigned upload for a registered artifact.
#[derive(Clone, Debug)]
pub struct UploadTicket {
    pub artifact: Artifact,
    pub upload: Upload,
}

#[derive(Clone, Debug)]
pub enum Upload {
    /// One PUT of the whole file.
    Single(PresignedRequest),
    /// The file goes up in parts of `part_size` bytes; `parts` are the URLs for the parts whose
    /// checksums came with the request, the rest come from [`ArtifactService::part_urls`].
    Multipart { upload: MultipartUpload, parts: Vec<PartUrl>, expires_at: Timestamp },
}

/// A presigned PUT for one part of a multipart upload.
#[derive(Clone, Debug)]
pub struct PartUrl {
    pub part_number: u32,
    pub request: PresignedRequest,
}

/// A part the client means to upload, with the SHA-256 (base64) S3 will check its body against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartChecksum {
    pub part_number: u32,
    pub checksum_sha256: String,
}

/// How a client wants a multipart upload cut: `part_size` (default: chosen for the file) and
/// the checksums of the parts it wants URLs for at once.
#[derive(Clone, Debug, Default)]
pub struct PartPlan {
    pub part_size: Option<u64>,
    pub parts: Vec<PartChecksum>,
}

/// A part as the client reports it uploaded: its number and the ETag S3 answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedPart {
    pub part_number: u32,
    pub etag: String,
}

/// A file that arrives with the request (a multipart part, an inline context or schema), to be
/// stored by the platform as an artifact of the job.
#[derive(Clone, Debug)]
pub struct InlineFile {
    pub kind: ArtifactKind,
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The artifact use cases: upload registrations, reads, downloads, and the files a job's
/// request carries inline.
pub struct ArtifactService {
    pub access: Arc<Access>,
    pub artifacts: Arc<dyn ArtifactStore>,
    pub blobs: Arc<dyn Blobs>,
    pub clock: Arc<dyn Clock>,
    pub limits: ArtifactLimits,
    pub audit: Arc<AuditTrail>,
}

pub fn validate_filename(filename: &str) -> Result<(), JobError> {
    if filename.trim().is_empty() {
        return Err(JobError::invalid("filename", "filename must not be empty"));
    }
    if filename.chars().count() > MAX_FILENAME_CHARS {
        return Err(JobError::invalid("filename", format!("filename must be at most {MAX_FILENAME_CHARS} characters")));
    }
    Ok(())
}

pub fn validate_content_type(content_type: &str) -> Result<(), JobError> {
    let token = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c));
    let valid = content_type.len() <= MAX_CONTENT_TYPE_CHARS
        && content_type
            .split_once('/')
            .is_some_and(|(t, s)| token(t) && token(s.split(';').next().unwrap_or_default().trim()));
    if valid {
        Ok(())
    } else {
        Err(JobError::invalid("content_type", "content_type must be a media type such as text/csv"))
    }
}

impl ArtifactService {
    /// Registers a file the caller is about to upload into `team` (default: the caller's default
    /// team, [`Actor::default_team`]) and hands out the presigned PUT for it, or, above the
    /// multipart threshold, opens a multipart upload and hands out the URLs of the parts `plan`
    /// gives checksums for.
    pub async fn request_upload(
        &self,
        actor: &Actor,
        file: FileDeclaration,
        team: Option<TeamId>,
        plan: PartPlan,
    ) -> Result<UploadTicket, JobError> {
        let team = team.unwrap_or_else(|| actor.default_team());
        self.access.require(actor, &team, TeamAction::Upload, "team").await?;
        validate_filename(&file.filename)?;
        validate_content_type(&file.content_type)?;
        if !file.kind.is_user_upload() {
            return Err(JobError::invalid("kind", "kind must be content, context or schema"));
        }
        if file.size_bytes == 0 {
            return Err(JobError::invalid("size_bytes", "size_bytes must be at least 1"));
        }
        let max = self.limits.max_upload_bytes;
        if file.size_bytes > max {
            return Err(JobError::TooLarge {
                field: "size_bytes".into(),
                message: format!("size_bytes {} exceeds the upload limit of {max} bytes", file.size_bytes),
            });
        }
        let artifact = Artifact::pending_upload(actor.user_id.clone(), team, file, None, self.clock.now());
        self.take_storage(actor, &artifact).await?;
        let registered = self.register_upload(actor, artifact.clone(), plan).await;
        if registered.is_err() {
            self.give_back_storage(&artifact).await;
        }
        registered
    }

    /// Records the upload and hands out its presigned PUT, or opens its multipart upload.
    async fn register_upload(
        &self,
        actor: &Actor,
        mut artifact: Artifact,
        plan: PartPlan,
    ) -> Result<UploadTicket, JobError> {
        if artifact.size_bytes <= self.limits.multipart_threshold {
            if plan.part_size.is_some() || !plan.parts.is_empty() {
                let message = format!(
                    "a file of at most {} bytes goes up in one PUT: leave out part_size and parts",
                    self.limits.multipart_threshold
                );
                return Err(JobError::invalid("parts", message));
            }
            self.artifacts.create(&artifact).await?;
            let upload = self
                .blobs
                .presign_upload(
                    &artifact.s3_key,
                    &artifact.content_type,
                    artifact.size_bytes,
                    self.limits.upload_url_ttl,
                )
                .await?;
            tracing::info!(artifact_id = %artifact.id, user_id = %actor.user_id, size = artifact.size_bytes, "upload registered");
            return Ok(UploadTicket { artifact, upload: Upload::Single(upload) });
        }
        let part_size = MultipartUpload::part_size_for(artifact.size_bytes, plan.part_size)
            .map_err(|message| JobError::invalid("part_size", message))?;
        let shape = MultipartUpload { upload_id: String::new(), part_size };
        let parts = self.checked_parts(&shape, artifact.size_bytes, &plan.parts, "parts")?;
        let upload_id = self.blobs.start_multipart(&artifact.s3_key, &artifact.content_type).await?;
        let upload = MultipartUpload { upload_id, part_size };
        artifact.multipart = Some(upload.clone());
        // An upload left open by a failed write is removed by the bucket's lifecycle rule.
        self.artifacts.create(&artifact).await?;
        let urls = self.presign_parts(&artifact, &upload, parts).await?;
        tracing::info!(artifact_id = %artifact.id, user_id = %actor.user_id, size = artifact.size_bytes, part_size, "multipart upload registered");
        let expires_at = self.clock.now().plus(self.limits.upload_url_ttl);
        Ok(UploadTicket { artifact, upload: Upload::Multipart { upload, parts: urls, expires_at } })
    }

    /// The caller's artifact still going up in parts, with its upload: what the part
    /// operations act on. Uploading is what they do, so it takes the team's upload right.
    async fn open_upload(&self, actor: &Actor, id: &ArtifactId) -> Result<(Artifact, MultipartUpload), JobError> {
        let artifact = self.artifacts.get(id).await?.ok_or(JobError::NotFound("artifact"))?;
        self.access.require(actor, &artifact.team_id, TeamAction::Read, "artifact").await?;
        self.access.require(actor, &artifact.team_id, TeamAction::Upload, "artifact").await?;
        if artifact.status != ArtifactStatus::PendingUpload {
            return Err(JobError::Conflict(format!(
                "the artifact is {}, not PENDING_UPLOAD",
                artifact.status.as_str()
            )));
        }
        let upload = artifact
            .multipart
            .clone()
            .ok_or_else(|| JobError::Conflict("the artifact goes up in one PUT, not in parts".into()))?;
        Ok((artifact, upload))
    }

    /// Part numbers in range, each once, with a SHA-256 in base64: what S3 will check.
    fn checked_parts(
        &self,
        upload: &MultipartUpload,
        size: u64,
        parts: &[PartChecksum],
        field: &str,
    ) -> Result<Vec<PartUpload>, JobError> {
        let count = upload.part_count(size);
        let mut seen = std::collections::BTreeSet::new();
        parts
            .iter()
            .map(|part| {
                let n = part.part_number;
                if n == 0 || n > count {
                    return Err(JobError::invalid(
                        field,
                        format!("part {n} is not a part of this file: parts are 1 to {count}"),
                    ));
                }
                if !seen.insert(n) {
                    return Err(JobError::invalid(field, format!("part {n} is listed twice")));
                }
                if !is_sha256_base64(&part.checksum_sha256) {
                    return Err(JobError::invalid(
                        field,
                        format!("part {n}: checksum_sha256 must be the part's SHA-256 in base64 (44 characters)"),
                    ));
                }
                Ok(PartUpload {
                    part_number: n,
                    size: upload.part_len(size, n),
                    checksum_sha256: part.checksum_sha256.clone(),
                })
            })
            .collect()
    }

    async fn presign_parts(
        &self,
        artifact: &Artifact,
        upload: &MultipartUpload,
        parts: Vec<PartUpload>,
    ) -> Result<Vec<PartUrl>, JobError> {
        let mut urls = Vec::with_capacity(parts.len());
        for part in parts {
            let request =
                self.blobs.presign_part(&artifact.s3_key, &upload.upload_id, &part, self.limits.upload_url_ttl).await?;
            urls.push(PartUrl { part_number: part.part_number, request });
        }
        Ok(urls)
    }

    /// Presigned PUTs for more parts of an open multipart upload, each bound to its checksum.
    pub async fn part_urls(
        &self,
        actor: &Actor,
        id: &ArtifactId,
        parts: &[PartChecksum],
    ) -> Result<Vec<PartUrl>, JobError> {
        let (artifact, upload) = self.open_upload(actor, id).await?;
        if parts.is_empty() {
            return Err(JobError::invalid("part_numbers", "name at least one part"));
        }
        let parts = self.checked_parts(&upload, artifact.size_bytes, parts, "part_numbers")?;
        self.presign_parts(&artifact, &upload, parts).await
    }

    /// The parts S3 holds so far: what a resumed upload need not send again.
    pub async fn stored_parts(&self, actor: &Actor, id: &ArtifactId) -> Result<Vec<StoredPart>, JobError> {
        let (artifact, upload) = self.open_upload(actor, id).await?;
        self.blobs.list_parts(&artifact.s3_key, &upload.upload_id).await.map_err(|e| self.upload_gone(e))
    }

    fn upload_gone(&self, e: StoreError) -> JobError {
        match e {
            StoreError::NotFound => JobError::Conflict(
                "the multipart upload is no longer open (aborted, or removed after a day): upload the file again"
                    .into(),
            ),
            other => other.into(),
        }
    }

    /// Joins the uploaded parts into the file and makes it available. The parts must be every
    /// part of the file, each as S3 stored it; the checksum S3 computed over them is recorded.
    /// Completing again after a lost answer returns the available artifact.
    pub async fn complete_upload(
        &self,
        actor: &Actor,
        id: &ArtifactId,
        parts: &[UploadedPart],
    ) -> Result<Artifact, JobError> {
        let artifact = self.artifacts.get(id).await?.ok_or(JobError::NotFound("artifact"))?;
        self.access.require(actor, &artifact.team_id, TeamAction::Read, "artifact").await?;
        if artifact.status == ArtifactStatus::Available && artifact.multipart.is_none() {
            return Ok(artifact);
        }
        let (artifact, upload) = self.open_upload(actor, id).await?;
        let count = upload.part_count(artifact.size_bytes);
        let stored = match self.blobs.list_parts(&artifact.s3_key, &upload.upload_id).await {
            Ok(stored) => stored,
            // S3 completed it, and the answer (or the record of it) was lost.
            Err(StoreError::NotFound) => return self.settle_completed(&artifact).await,
            Err(e) => return Err(e.into()),
        };
        let stored: std::collections::BTreeMap<u32, StoredPart> =
            stored.into_iter().map(|p| (p.part_number, p)).collect();
        if parts.len() != count as usize {
            let message = format!("the file has {count} parts, {} were listed: list parts 1 to {count}", parts.len());
            return Err(JobError::invalid("parts", message));
        }
        let mut listed = Vec::with_capacity(parts.len());
        for (expected, part) in (1..=count).zip(parts) {
            if part.part_number != expected {
                let message = format!(
                    "expected part {expected} here, got {}: list parts 1 to {count}, in order",
                    part.part_number
                );
                return Err(JobError::invalid("parts", message));
            }
            let Some(held) = stored.get(&expected) else {
                return Err(JobError::invalid("parts", format!("part {expected} has not been uploaded")));
            };
            // A storage that lists no ETag (s3s-fs) still checks the client's when completing.
            if !held.etag.is_empty() && unquoted(&held.etag) != unquoted(&part.etag) {
                return Err(JobError::invalid(
                    "parts",
                    format!("part {expected}: the etag is not that of the stored part (upload it again)"),
                ));
            }
            let want = upload.part_len(artifact.size_bytes, expected);
            if held.size != want {
                return Err(JobError::invalid(
                    "parts",
                    format!("part {expected} holds {} bytes, not {want}: upload it again", held.size),
                ));
            }
            let etag = if held.etag.is_empty() { part.etag.clone() } else { held.etag.clone() };
            listed.push(StoredPart { etag, ..held.clone() });
        }
        match self.blobs.complete_multipart(&artifact.s3_key, &upload.upload_id, &listed).await {
            Ok(()) | Err(StoreError::NotFound) => self.settle_completed(&artifact).await,
            Err(e) => Err(e.into()),
        }
    }

    /// Records a completed multipart object as available, once it is the declared size.
    async fn settle_completed(&self, artifact: &Artifact) -> Result<Artifact, JobError> {
        let head = self.blobs.head(&artifact.s3_key).await?.ok_or_else(|| self.upload_gone(StoreError::NotFound))?;
        if head.size != artifact.size_bytes {
            return Err(JobError::Conflict(format!(
                "the joined file is {} bytes but {} were declared",
                head.size, artifact.size_bytes
            )));
        }
        match self.artifacts.mark_available(&artifact.id, head.checksum_sha256.as_deref()).await {
            // The upload watcher saw the object first.
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!(artifact_id = %artifact.id, size = head.size, "multipart upload completed");
        self.artifacts.get(&artifact.id).await?.ok_or(JobError::NotFound("artifact"))
    }

    /// Drops an unfinished multipart upload and its parts; the registration becomes `REJECTED`.
    pub async fn abort_upload(&self, actor: &Actor, id: &ArtifactId) -> Result<(), JobError> {
        let (artifact, upload) = match self.open_upload(actor, id).await {
            Ok(open) => open,
            // Aborted already: asking again changes nothing.
            Err(JobError::Conflict(_)) if self.is_aborted(id).await? => return Ok(()),
            Err(e) => return Err(e),
        };
        self.blobs.abort_multipart(&artifact.s3_key, &upload.upload_id).await?;
        self.give_back_storage(&artifact).await;
        match self.artifacts.mark_rejected(&artifact.id, ABORTED).await {
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn is_aborted(&self, id: &ArtifactId) -> Result<bool, JobError> {
        let artifact = self.artifacts.get(id).await?;
        Ok(artifact
            .is_some_and(|a| a.status == ArtifactStatus::Rejected && a.rejected_reason.as_deref() == Some(ABORTED)))
    }

    /// An artifact of one of the caller's teams; 404 for unknown and foreign ids alike.
    pub async fn get(&self, actor: &Actor, id: &ArtifactId) -> Result<Artifact, JobError> {
        let artifact = self.artifacts.get(id).await?.ok_or(JobError::NotFound("artifact"))?;
        self.access.require(actor, &artifact.team_id, TeamAction::Read, "artifact").await?;
        Ok(artifact)
    }

    /// A short-lived presigned GET for the caller's available artifact. Every download is in
    /// the team's audit trail: the URL is handed out only once its entry is written.
    pub async fn download(&self, actor: &Actor, id: &ArtifactId) -> Result<PresignedRequest, JobError> {
        let artifact = self.artifacts.get(id).await?.ok_or(JobError::NotFound("artifact"))?;
        let event = || AuditEvent { team: &artifact.team_id, action: action::ARTIFACT_DOWNLOAD, target: id.as_str() };
        let allowed = self.access.require(actor, &artifact.team_id, TeamAction::Read, "artifact").await;
        self.audit.checked(actor, event(), allowed).await?;
        if artifact.status != ArtifactStatus::Available {
            return Err(JobError::Conflict(format!("the artifact is {}, not AVAILABLE", artifact.status.as_str())));
        }
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        let filename = safe_filename(&artifact.filename);
        let result = self.blobs.presign_download(&artifact.s3_key, &filename, self.limits.download_url_ttl).await;
        self.audit.settled(actor, event(), result.map_err(JobError::from)).await
    }

    /// An input a job of `team` may use: the team's, of the right kind, uploaded and checked.
    /// Errors name `field`, the request field that listed it. The caller may submit jobs to
    /// `team`: that covers the team's own files without reading rights (a key may submit but
    /// not read).
    pub async fn usable(
        &self,
        actor: &Actor,
        team: &TeamId,
        id: &ArtifactId,
        kind: ArtifactKind,
        field: &str,
    ) -> Result<Artifact, JobError> {
        let missing = || JobError::invalid(field, format!("artifact {id} does not exist"));
        let artifact = self.artifacts.get(id).await?.ok_or_else(missing)?;
        // A job reads only its own team's files: another team's data never flows into it. The
        // file is named as another team's only to those who may see it; to the rest it is unknown.
        if &artifact.team_id != team {
            return match self.access.require(actor, &artifact.team_id, TeamAction::Read, "artifact").await {
                Ok(()) => Err(JobError::invalid(
                    field,
                    format!("artifact {id} belongs to another team: upload it to team {team}"),
                )),
                Err(JobError::NotFound(_) | JobError::Forbidden(_)) => Err(missing()),
                Err(other) => Err(other),
            };
        }
        if artifact.status != ArtifactStatus::Available {
            return Err(JobError::invalid(
                field,
                format!("artifact {id} is {}, not AVAILABLE: upload it first", artifact.status.as_str()),
            ));
        }
        // A job's result is content too: the next step of a chained run reads it.
        let content_from_result = kind == ArtifactKind::Content && artifact.kind == ArtifactKind::Result;
        if artifact.kind != kind && !content_from_result {
            return Err(JobError::invalid(
                field,
                format!("artifact {id} is a {:?} artifact, not {kind:?}", artifact.kind),
            ));
        }
        Ok(artifact)
    }

    /// Stores a file that came with a request as an available artifact of `job_id`. It is
    /// registered as pending first, then stored, then marked available: the upload watcher sees
    /// an object only after its registration exists, and a failed PUT leaves a pending
    /// registration for the TTL to sweep instead of a record pointing at nothing.
    pub async fn store_inline(
        &self,
        owner: &UserId,
        team: &TeamId,
        job_id: &JobId,
        file: InlineFile,
    ) -> Result<ArtifactId, JobError> {
        let declaration = FileDeclaration {
            kind: file.kind,
            filename: file.filename,
            content_type: file.content_type,
            size_bytes: file.bytes.len() as u64,
        };
        let artifact =
            Artifact::pending_upload(owner.clone(), team.clone(), declaration, Some(job_id.clone()), self.clock.now());
        self.artifacts.create(&artifact).await?;
        self.blobs.put_bytes(&artifact.s3_key, file.bytes, &artifact.content_type).await?;
        match self.artifacts.mark_available(&artifact.id, None).await {
            // The upload watcher got there first.
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(artifact.id),
            Err(e) => Err(e.into()),
        }
    }
}
