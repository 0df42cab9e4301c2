use std::sync::Arc;
use std::time::Duration;

use helix_domain::artifact::{MAX_FILENAME_CHARS, safe_filename};
use helix_domain::{
    Artifact, ArtifactId, ArtifactKind, ArtifactStatus, ArtifactStore, AuditOutcome, Blobs, Clock, FileDeclaration,
    JobId, PresignedRequest, StoreError, TeamAction, TeamId, UserId,
};

use crate::audit::{AuditEvent, AuditTrail, action};
use crate::{Access, Actor, JobError};

const MAX_CONTENT_TYPE_CHARS: usize = 255;

#[derive(Clone, Debug)]
pub struct ArtifactLimits {
    pub max_upload_bytes: u64,
    pub upload_url_ttl: Duration,
    pub download_url_ttl: Duration,
}

/// A presigned upload for a registered artifact.
#[derive(Clone, Debug)]
pub struct UploadTicket {
    pub artifact: Artifact,
    pub upload: PresignedRequest,
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
    /// team, [`Actor::default_team`]) and hands out the presigned PUT for it.
    pub async fn request_upload(
        &self,
        actor: &Actor,
        file: FileDeclaration,
        team: Option<TeamId>,
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
        self.artifacts.create(&artifact).await?;
        let upload = self
            .blobs
            .presign_upload(&artifact.s3_key, &artifact.content_type, artifact.size_bytes, self.limits.upload_url_ttl)
            .await?;
        tracing::info!(artifact_id = %artifact.id, user_id = %actor.user_id, size = artifact.size_bytes, "upload registered");
        Ok(UploadTicket { artifact, upload })
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
        if artifact.kind != kind {
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
        match self.artifacts.mark_available(&artifact.id).await {
            // The upload watcher got there first.
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(artifact.id),
            Err(e) => Err(e.into()),
        }
    }
}
