//! Files to storage through presigned URLs: one PUT, or (big files) resumable parts; then the
//! server's check of what landed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::Stream;
use reqwest::Body;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use helix_domain::artifact::media_type_for;
use helix_domain::{ArtifactId, ArtifactKind, ArtifactStatus, JobRead};

use crate::client::{Answer, Client, DropTicket, NewJob, UploadTicket};
use crate::error::{Error, Result};
use crate::multipart;
use crate::progress::Progress;

/// How long the server may take to check an uploaded object before the client gives up on it.
const AVAILABLE_WITHIN: Duration = Duration::from_secs(120);
const AVAILABLE_POLL: Duration = Duration::from_millis(250);
/// What a streamed upload reads at a time.
const CHUNK: usize = 64 * 1024;

/// A local file to upload, checked.
pub struct Upload {
    pub path: PathBuf,
    pub filename: String,
    pub kind: ArtifactKind,
    pub size: u64,
}

impl Upload {
    /// Checks the file before anything is sent, so a typo fails at once and uploads nothing.
    pub fn of(path: &Path, kind: ArtifactKind) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| Error::file(path, e))?;
        if !meta.is_file() {
            return Err(Error::Input(format!("{}: not a file", path.display())));
        }
        if meta.len() == 0 {
            return Err(Error::Input(format!("{}: the file is empty", path.display())));
        }
        let kind_name = kind_name(kind);
        let filename = path.file_name().map_or_else(|| kind_name.to_owned(), |n| n.to_string_lossy().into_owned());
        Ok(Self { path: path.to_owned(), filename, kind, size: meta.len() })
    }

    /// The kind as the API spells it (`content`, `context`, `schema`).
    pub fn kind_name(&self) -> &'static str {
        kind_name(self.kind)
    }

    /// The same guesses the API makes for files it receives whole.
    pub fn content_type(&self) -> &'static str {
        media_type_for(&self.filename, self.kind)
    }
}

fn kind_name(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::Content => "content",
        ArtifactKind::Context => "context",
        ArtifactKind::Schema => "schema",
        ArtifactKind::Result => "result",
        ArtifactKind::ErrorReport => "error_report",
    }
}

/// A job's files, checked before anything is sent: `Client::submit` uploads them and submits
/// the job.
pub struct Submission {
    pub contents: Vec<Upload>,
    /// CSV lookup tables the context's `lookups:` reads, matched by file name.
    pub lookups: Vec<Upload>,
    pub context: Option<Upload>,
    pub schema: Option<Upload>,
    pub name: Option<String>,
    /// Have the server propose the target fields the schema requires and the context leaves
    /// unmapped.
    pub auto_map: bool,
}

impl Submission {
    pub fn new(contents: &[PathBuf], context: Option<&Path>, schema: Option<&Path>) -> Result<Self> {
        if contents.is_empty() {
            return Err(Error::Input("a job needs at least one content file".into()));
        }
        Ok(Self {
            contents: contents.iter().map(|p| Upload::of(p, ArtifactKind::Content)).collect::<Result<_>>()?,
            lookups: Vec::new(),
            context: context.map(|p| Upload::of(p, ArtifactKind::Context)).transpose()?,
            schema: schema.map(|p| Upload::of(p, ArtifactKind::Schema)).transpose()?,
            name: None,
            auto_map: false,
        })
    }

    pub fn lookups(mut self, paths: &[PathBuf]) -> Result<Self> {
        self.lookups = paths.iter().map(|p| Upload::of(p, ArtifactKind::Content)).collect::<Result<_>>()?;
        Ok(self)
    }

    fn files(&self) -> impl Iterator<Item = &Upload> {
        self.contents.iter().chain(&self.lookups).chain(&self.context).chain(&self.schema)
    }
}

/// The file's bytes as a stream that says on `sent` how many it handed over.
fn file_chunks(file: tokio::fs::File, sent: UnboundedSender<u64>) -> impl Stream<Item = std::io::Result<Bytes>> {
    futures::stream::try_unfold((file, sent), |(mut file, sent)| async move {
        let mut buf = vec![0; CHUNK];
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        // The receiver is gone only once the upload is over.
        let _ = sent.send(n as u64);
        Ok(Some((Bytes::from(buf), (file, sent))))
    })
}

fn naming_file(file: &Upload, error: Error) -> Error {
    match error {
        Error::Transfer { code, message } => {
            Error::Transfer { code, message: format!("{}: {message}", file.path.display()) }
        }
        other => other,
    }
}

impl Client {
    /// Registers the upload (into `team`, by default the caller's), then streams the file to the
    /// presigned URL with the signed headers; a big file goes up in parts, and an unfinished
    /// upload of the same file (to the same server and team) resumes.
    pub async fn upload(&self, file: &Upload, team: Option<&str>, progress: &dyn Progress) -> Result<ArtifactId> {
        let id = match multipart::resume(self, file, team, progress).await? {
            Some(id) => id,
            None => match self
                .register_upload(&file.filename, file.content_type(), file.size, file.kind_name(), team)
                .await?
            {
                UploadTicket::Single(ticket) => {
                    self.put_file(&ticket.put, file, progress).await.map_err(|e| naming_file(file, e))?;
                    ticket.artifact_id
                }
                UploadTicket::Multipart(ticket) => multipart::send(self, file, team, ticket, progress).await?,
            },
        };
        progress.uploaded(file);
        Ok(id)
    }

    /// Streams the whole file to one presigned PUT.
    async fn put_file(
        &self,
        put: &crate::client::PresignedPut,
        file: &Upload,
        progress: &dyn Progress,
    ) -> Result<String> {
        let reader = tokio::fs::File::open(&file.path).await.map_err(|e| Error::file(&file.path, e))?;
        let (sent, mut reports) = unbounded_channel();
        progress.transfer_started(file, 0);
        let put = self.put_presigned(put, Body::wrap_stream(file_chunks(reader, sent)), file.size);
        let report = async {
            while let Some(bytes) = reports.recv().await {
                progress.transferred(bytes);
            }
        };
        let (stored, ()) = tokio::join!(put, report);
        progress.transfer_ended();
        stored
    }

    /// Waits until the server has checked an uploaded object (real size, type): a job may use it
    /// only then.
    pub async fn wait_available(&self, file: &Upload, id: &ArtifactId) -> Result<()> {
        let deadline = Instant::now() + AVAILABLE_WITHIN;
        loop {
            let artifact = self.artifact(id.as_str()).await?;
            match artifact.status {
                ArtifactStatus::Available => return Ok(()),
                ArtifactStatus::Rejected => {
                    let reason = artifact.rejected_reason.unwrap_or_else(|| "no reason given".into());
                    return Err(Error::Transfer {
                        code: "upload_rejected",
                        message: format!("{}: the server rejected the upload: {reason}", file.path.display()),
                    });
                }
                _ if Instant::now() >= deadline => {
                    return Err(Error::Transfer {
                        code: "timeout",
                        message: format!(
                            "{}: uploaded, but the server had not accepted it after {} s (artifact {id})",
                            file.path.display(),
                            AVAILABLE_WITHIN.as_secs()
                        ),
                    });
                }
                _ => tokio::time::sleep(AVAILABLE_POLL).await,
            }
        }
    }

    /// Uploads every file of the submission, waits until the server accepted them, and submits
    /// the job (it runs on; see [`Client::wait_job`]).
    pub async fn submit(&self, submission: &Submission, progress: &dyn Progress) -> Result<Answer<JobRead>> {
        let mut ids = Vec::new();
        for file in submission.files() {
            ids.push(self.upload(file, None, progress).await?);
        }
        for (file, id) in submission.files().zip(&ids) {
            self.wait_available(file, id).await?;
        }
        let mut ids = ids.into_iter();
        let job = NewJob {
            content_artifact_ids: ids.by_ref().take(submission.contents.len()).collect(),
            lookup_artifact_ids: ids.by_ref().take(submission.lookups.len()).collect(),
            context_artifact_id: submission.context.as_ref().and_then(|_| ids.next()),
            schema_artifact_id: submission.schema.as_ref().and_then(|_| ids.next()),
            name: submission.name.clone(),
            auto_map: submission.auto_map,
        };
        self.create_job(&job).await
    }

    /// Drops a file into a pipeline's inbox, where it starts a run of the pipeline's current
    /// version once stored (a drop credential may do this and nothing else).
    pub async fn drop_file(
        &self,
        pipeline: &str,
        file: &Upload,
        progress: &dyn Progress,
    ) -> Result<Answer<DropTicket>> {
        let body = serde_json::json!({"filename": file.filename, "content_type": file.content_type(), "size_bytes": file.size});
        let ticket = self.drop_ticket(pipeline, &body).await?;
        self.put_file(&ticket.value.put, file, progress).await?;
        Ok(ticket)
    }
}
