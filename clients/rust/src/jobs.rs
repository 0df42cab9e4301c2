//! Following a job to its end, and reading what it produced.

use std::time::Duration;

use serde_json::Value;

use helix_domain::{ArtifactId, AuditEntry, ChainCheck, JobProgress, JobRead, JobStatus};

use crate::client::{Answer, AuditFilters, Client, Download};
use crate::error::{Error, Result};

const FIRST_POLL: Duration = Duration::from_millis(250);
const LONGEST_POLL: Duration = Duration::from_secs(5);
/// The most audit entries a page carries: what reading a whole chain asks for.
const MAX_AUDIT_PAGE: u32 = 500;

/// One of a finished job's outputs (`what`: "result", "reject report"), or why there is none
/// (yet).
pub fn output_of<'j>(job: &'j JobRead, artifact: Option<&'j ArtifactId>, what: &str) -> Result<&'j ArtifactId> {
    match (artifact, job.status) {
        (Some(id), _) => Ok(id),
        (None, JobStatus::Failed) => Err(Error::Transfer {
            code: "job_failed",
            message: format!(
                "job {} FAILED, so it has no {what}: {}",
                job.id,
                job.error.as_deref().unwrap_or("no reason given")
            ),
        }),
        (None, JobStatus::Completed) => {
            Err(Error::Transfer { code: "no_output", message: format!("job {} has no {what}", job.id) })
        }
        (None, JobStatus::Cancelled) => Err(Error::Transfer {
            code: "no_output",
            message: format!("job {} was CANCELLED, so it has no {what}", job.id),
        }),
        (None, status @ (JobStatus::Pending | JobStatus::Running)) => Err(Error::Transfer {
            code: "job_not_finished",
            message: format!("job {} is {}: no {what} yet (see `helix job {}`)", job.id, status.as_str(), job.id),
        }),
    }
}

/// Records of a result artifact: a JSON array, or NDJSON (one record per line).
pub fn parse_records(body: &[u8]) -> Result<Vec<Value>> {
    let unreadable = |e: serde_json::Error| Error::Protocol { url: "the result".into(), reason: e.to_string() };
    let text =
        std::str::from_utf8(body).map_err(|e| Error::Protocol { url: "the result".into(), reason: e.to_string() })?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).map_err(unreadable);
    }
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).map_err(unreadable))
        .collect()
}

impl Client {
    /// Polls the job, with a growing interval, until it has ended (COMPLETED, FAILED or
    /// CANCELLED); `polled` sees it after every poll.
    pub async fn wait_job(&self, id: &str, mut polled: impl FnMut(&JobRead)) -> Result<Answer<JobRead>> {
        let mut delay = FIRST_POLL;
        let mut last_status = None;
        loop {
            let job = self.job(id).await?;
            polled(&job.value);
            let status = job.value.status;
            if last_status != Some(status) {
                last_status = Some(status);
                delay = FIRST_POLL;
            }
            if status.is_terminal() {
                return Ok(job);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(LONGEST_POLL);
        }
    }

    /// Follows the job to its end through its live events (`GET /jobs/{id}/events`): `seen` gets
    /// every event, the job and, while it runs, how far it has read. A stream the server ends
    /// while the job runs is opened again; where none is served, the job is polled instead.
    pub async fn follow_job(
        &self,
        id: &str,
        mut seen: impl FnMut(&JobRead, Option<&JobProgress>),
    ) -> Result<Answer<JobRead>> {
        loop {
            let Some(mut stream) = self.job_events(id).await? else {
                return self.wait_job(id, |job| seen(job, None)).await;
            };
            let mut buffered = String::new();
            while let Some(chunk) = stream.chunk().await.map_err(|e| Error::network(self.url(), &e))? {
                buffered.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffered.find("\n\n") {
                    let block: String = buffered.drain(..end + 2).collect();
                    let data: Vec<&str> =
                        block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
                    if data.is_empty() {
                        continue; // a keep-alive comment
                    }
                    let event: Value = serde_json::from_str(&data.join("\n"))
                        .map_err(|e| Error::Protocol { url: format!("job {id}'s events"), reason: e.to_string() })?;
                    // An error event (the job no longer readable) ends the stream; polling says why.
                    let Some(raw) = event.get("job").cloned() else { continue };
                    let job: JobRead = serde_json::from_value(raw.clone())
                        .map_err(|e| Error::Protocol { url: format!("job {id}'s events"), reason: e.to_string() })?;
                    let progress: Option<JobProgress> = serde_json::from_value(event["progress"].clone()).ok();
                    seen(&job, progress.as_ref());
                    if job.status.is_terminal() {
                        return Ok(Answer { raw, value: job });
                    }
                }
            }
        }
    }

    /// Opens an artifact's content (through its presigned download URL).
    pub async fn open_artifact(&self, id: &ArtifactId) -> Result<Download> {
        let link = self.download_link(id.as_str()).await?;
        self.open_presigned(&link.url).await
    }

    /// A finished job's valid records.
    pub async fn results(&self, job: &JobRead) -> Result<Vec<Value>> {
        let artifact = output_of(job, job.result_artifact_id.as_ref(), "result")?;
        parse_records(&self.open_artifact(artifact).await?.bytes().await?)
    }

    /// A finished job's reject report: `{"rejects": [...], "summary": {...}}`.
    pub async fn reject_report(&self, job: &JobRead) -> Result<Value> {
        let artifact = output_of(job, job.error_report_artifact_id.as_ref(), "reject report")?;
        let body = self.open_artifact(artifact).await?.bytes().await?;
        serde_json::from_slice(&body)
            .map_err(|e| Error::Protocol { url: "the reject report".into(), reason: e.to_string() })
    }

    /// A team's whole audit chain, newest first.
    pub async fn audit_chain(&self, team: &str) -> Result<Vec<AuditEntry>> {
        let mut chain = Vec::new();
        let mut filters = AuditFilters { limit: Some(MAX_AUDIT_PAGE), ..AuditFilters::default() };
        loop {
            let page = self.audit(team, &filters).await?.value;
            chain.extend(page.items);
            match page.next_cursor {
                Some(next) => filters.cursor = Some(next),
                None => return Ok(chain),
            }
        }
    }

    /// Reads a team's audit chain and checks every entry's hash and link here, rather than trust
    /// the server's word that it holds.
    pub async fn verify_audit(&self, team: &str) -> Result<ChainCheck> {
        let chain = self.audit_chain(team).await?;
        let mut check = ChainCheck::default();
        chain.iter().rev().for_each(|entry| check.push(entry));
        Ok(check)
    }
}
