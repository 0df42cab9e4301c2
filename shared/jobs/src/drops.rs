//! Drop credentials: upload URLs into a pipeline's inbox, for the partners and machines that
//! deliver its files. A `pipelines:run` key bound to the pipeline gets them, and nothing else.

use helix_domain::{AuditOutcome, KeyScope, PipelineId, PresignedRequest, TeamAction};

use crate::audit::{AuditEvent, action};
use crate::{Actor, JobError, PipelineService, validate_content_type, validate_filename};

/// S3's limit for one PUT: a dropped file goes up in one.
const MAX_SINGLE_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// A file about to be dropped into a pipeline's inbox.
#[derive(Clone, Debug)]
pub struct DropRequest {
    /// The name it gets in the inbox: one path segment, matching the pipeline's patterns.
    pub filename: String,
    pub content_type: String,
    pub size_bytes: u64,
}

/// Where to PUT the file, and the inbox key it lands at.
#[derive(Clone, Debug)]
pub struct DropTicket {
    pub key: String,
    pub upload: PresignedRequest,
}

fn inbox_filename(filename: &str) -> Result<(), JobError> {
    validate_filename(filename)?;
    if filename.contains('/') || filename.chars().any(char::is_control) || filename == "." || filename == ".." {
        return Err(JobError::invalid("filename", "a file name, without '/' or control characters"));
    }
    Ok(())
}

impl PipelineService {
    /// A presigned PUT of `file` into the pipeline's inbox, where it starts a run once stored.
    /// A drop credential gets one for its own pipeline only (any other pipeline is not found to
    /// it); a person needs the team's upload right.
    pub async fn drop_ticket(&self, actor: &Actor, id: &PipelineId, file: DropRequest) -> Result<DropTicket, JobError> {
        let pipeline = self.pipelines.get(id).await?.ok_or(JobError::NotFound("pipeline"))?;
        let allowed = match &actor.key {
            Some(grant) if grant.scopes.contains(&KeyScope::PipelinesRun) => {
                if grant.team_id == pipeline.team_id && grant.pipeline_id.as_ref() == Some(id) {
                    Ok(())
                } else {
                    Err(JobError::NotFound("pipeline"))
                }
            }
            _ => self.access.require(actor, &pipeline.team_id, TeamAction::Upload, "pipeline").await,
        };
        let event = || AuditEvent { team: &pipeline.team_id, action: action::PIPELINE_DROP, target: id.as_str() };
        self.audit.checked(actor, event(), allowed).await?;
        if pipeline.archived_at.is_some() {
            return Err(JobError::Conflict("the pipeline is archived (deleted): its inbox takes no files".into()));
        }
        inbox_filename(&file.filename)?;
        validate_content_type(&file.content_type)?;
        let limits = &self.jobs.artifacts.limits;
        let limit = limits.max_upload_bytes.min(MAX_SINGLE_PUT_BYTES);
        if file.size_bytes == 0 {
            return Err(JobError::invalid("size_bytes", "the file is empty"));
        }
        if file.size_bytes > limit {
            return Err(JobError::TooLarge {
                field: "size_bytes".into(),
                message: format!("a dropped file is at most {limit} bytes"),
            });
        }
        if !pipeline.accepts(&file.filename) {
            return Err(JobError::invalid(
                "filename",
                format!(
                    "the pipeline's inbox takes only names matching {}: this file would be ignored",
                    pipeline.patterns.join(", ")
                ),
            ));
        }
        let key = format!("{}{}", pipeline.inbox_prefix(), file.filename);
        let upload = self
            .jobs
            .artifacts
            .blobs
            .presign_upload(&key, &file.content_type, file.size_bytes, limits.upload_url_ttl)
            .await?;
        self.audit.record(actor, event(), AuditOutcome::Success).await?;
        tracing::info!(pipeline_id = %id, %key, user_id = %actor.user_id, "drop URL issued");
        Ok(DropTicket { key, upload })
    }
}
