//! `helix submit`: presigned uploads, the job, and optionally its whole run.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant};

use clap::Args;
use helix_domain::artifact::media_type_for;
use helix_domain::{ArtifactId, ArtifactKind, ArtifactStatus, JobRead, JobStatus};
use serde_json::json;

use super::api::{Answer, Api, UploadTicket};
use super::error::{CliError, EXIT_JOB_FAILED};
use super::multipart;
use super::output::{job_details, print_json, spinner, transfer_bar};
use super::{Common, Context};

#[derive(Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub common: Common,
    /// A content file to transform (repeat for several).
    #[arg(long = "content", value_name = "FILE", required = true)]
    contents: Vec<PathBuf>,
    /// The context: YAML mapping rules (none: convert the content as it is).
    #[arg(long, value_name = "FILE")]
    context: Option<PathBuf>,
    /// The target JSON Schema every record is validated against.
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,
    /// A CSV lookup table the context's `lookups:` reads, matched by file name (repeat for several).
    #[arg(long = "lookup", value_name = "FILE", requires = "context")]
    lookups: Vec<PathBuf>,
    /// A name for the job.
    #[arg(long)]
    name: Option<String>,
    /// Have the server propose the target fields the schema requires and the context leaves
    /// unmapped (needs --context and --schema; the job lists the fields it proposed).
    #[arg(long, requires_all = ["context", "schema"])]
    auto_map: bool,
    /// Wait for the job to end, showing its status; exit 0 only if it COMPLETED (3 if it FAILED).
    #[arg(long)]
    wait: bool,
}

/// How long the server may take to check an uploaded object before the CLI gives up on it.
const AVAILABLE_WITHIN: Duration = Duration::from_secs(120);
const FIRST_POLL: Duration = Duration::from_millis(250);
const LONGEST_POLL: Duration = Duration::from_secs(5);

pub(super) struct Upload {
    pub(super) path: PathBuf,
    pub(super) filename: String,
    pub(super) kind: &'static str,
    pub(super) size: u64,
}

impl Upload {
    /// Checks the file before anything is sent, so a typo fails at once and uploads nothing.
    pub(super) fn of(path: &Path, kind: &'static str) -> Result<Self, CliError> {
        let meta = std::fs::metadata(path).map_err(|e| CliError::file(path, e))?;
        if !meta.is_file() {
            return Err(CliError::Input(format!("{}: not a file", path.display())));
        }
        if meta.len() == 0 {
            return Err(CliError::Input(format!("{}: the file is empty", path.display())));
        }
        let filename = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| kind.to_owned());
        Ok(Self { path: path.to_owned(), filename, kind, size: meta.len() })
    }

    /// The same guesses the API makes for files it receives whole.
    fn content_type(&self) -> &'static str {
        let kind = match self.kind {
            "schema" => ArtifactKind::Schema,
            "context" => ArtifactKind::Context,
            _ => ArtifactKind::Content,
        };
        media_type_for(&self.filename, kind)
    }
}

/// Registers the upload (into `team`, by default the caller's), then streams the file to the
/// presigned URL with the signed headers; a big file goes up in parts, and an unfinished upload
/// of the same file resumes.
pub(super) fn upload(api: &Api, file: &Upload, team: Option<&str>, quiet: bool) -> Result<ArtifactId, CliError> {
    let id = match multipart::resume(api, file, team, quiet)? {
        Some(id) => id,
        None => match api.register_upload(&file.filename, file.content_type(), file.size, file.kind, team)? {
            UploadTicket::Single(ticket) => {
                let reader = File::open(&file.path).map_err(|e| CliError::file(&file.path, e))?;
                let bar = transfer_bar(Some(file.size), &file.filename);
                let body = reqwest::blocking::Body::sized(bar.wrap_read(reader), file.size);
                let sent = api.put_presigned(&ticket.put, body);
                bar.finish_and_clear();
                sent.map_err(|e| match e {
                    CliError::Transfer { code, message } => {
                        CliError::Transfer { code, message: format!("{}: {message}", file.path.display()) }
                    }
                    other => other,
                })?;
                ticket.artifact_id
            }
            UploadTicket::Multipart(ticket) => multipart::send(api, file, team, ticket)?,
        },
    };
    if !quiet {
        eprintln!("uploaded {} ({} bytes, {})", file.path.display(), file.size, file.kind);
    }
    Ok(id)
}

/// The server checks each object after it lands (real size, type) before a job may use it.
pub(super) fn wait_available(api: &Api, file: &Upload, id: &ArtifactId) -> Result<(), CliError> {
    let deadline = Instant::now() + AVAILABLE_WITHIN;
    loop {
        let artifact = api.artifact(id.as_str())?;
        match artifact.status {
            ArtifactStatus::Available => return Ok(()),
            ArtifactStatus::Rejected => {
                let reason = artifact.rejected_reason.unwrap_or_else(|| "no reason given".into());
                return Err(CliError::Transfer {
                    code: "upload_rejected",
                    message: format!("{}: the server rejected the upload: {reason}", file.path.display()),
                });
            }
            _ if Instant::now() >= deadline => {
                return Err(CliError::Transfer {
                    code: "timeout",
                    message: format!(
                        "{}: uploaded, but the server had not accepted it after {} s (artifact {id})",
                        file.path.display(),
                        AVAILABLE_WITHIN.as_secs()
                    ),
                });
            }
            _ => sleep(FIRST_POLL),
        }
    }
}

/// Polls with a growing interval, showing the status while it runs; every change is a line.
pub(super) fn wait_job(api: &Api, id: &str, quiet: bool) -> Result<Answer<JobRead>, CliError> {
    let bar = spinner(format!("job {id}: waiting"));
    let mut delay = FIRST_POLL;
    let mut last_status = None;
    loop {
        let job = api.job(id)?;
        let status = job.value.status;
        if last_status != Some(status) {
            last_status = Some(status);
            if !quiet {
                bar.suspend(|| eprintln!("job {id}: {}", status.as_str()));
            }
            delay = FIRST_POLL;
        }
        if status.is_terminal() {
            bar.finish_and_clear();
            return Ok(job);
        }
        bar.set_message(format!("job {id}: {} (attempt {})", status.as_str(), job.value.attempts));
        sleep(delay);
        delay = (delay * 3 / 2).min(LONGEST_POLL);
    }
}

/// `helix upload`: every file checked first, then uploaded and accepted by the server.
pub fn upload_files(
    context: &Context,
    kind: &str,
    team: Option<&str>,
    paths: &[PathBuf],
) -> Result<ExitCode, CliError> {
    let kind = match kind {
        "context" => "context",
        "schema" => "schema",
        _ => "content",
    };
    let files = paths.iter().map(|p| Upload::of(p, kind)).collect::<Result<Vec<_>, _>>()?;
    let api = context.api()?;
    let mut artifacts = Vec::new();
    for file in &files {
        let id = upload(&api, file, team, context.json)?;
        wait_available(&api, file, &id)?;
        artifacts.push(api.artifact(id.as_str())?);
    }
    if context.json {
        print_json(&serde_json::to_value(&artifacts).unwrap_or_default());
    } else {
        for artifact in &artifacts {
            println!("{}", artifact.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn submit(context: &Context, args: SubmitArgs) -> Result<ExitCode, CliError> {
    let quiet = context.json;
    let mut files = Vec::new();
    for path in args.contents.iter().chain(&args.lookups) {
        files.push(Upload::of(path, "content")?);
    }
    if let Some(path) = &args.context {
        files.push(Upload::of(path, "context")?);
    }
    if let Some(path) = &args.schema {
        files.push(Upload::of(path, "schema")?);
    }
    let api = context.api()?;
    let mut ids = Vec::new();
    for file in &files {
        ids.push(upload(&api, file, None, quiet)?);
    }
    for (file, id) in files.iter().zip(&ids) {
        wait_available(&api, file, id)?;
    }

    let (contents, lookups) = (args.contents.len(), args.lookups.len());
    let mut body = json!({ "content_artifact_ids": ids[..contents] });
    if lookups > 0 {
        body["lookup_artifact_ids"] = json!(ids[contents..contents + lookups]);
    }
    for (file, id) in files.iter().zip(&ids).skip(contents + lookups) {
        body[format!("{}_artifact_id", file.kind)] = json!(id);
    }
    if let Some(name) = &args.name {
        body["name"] = json!(name);
    }
    if args.auto_map {
        body["auto_map"] = json!(true);
    }
    let job = api.create_job(&body)?;
    if !quiet {
        eprintln!("submitted job {}", job.value.id);
    }
    let job = if args.wait { wait_job(&api, job.value.id.as_str(), quiet)? } else { job };

    if context.json {
        print_json(&job.raw);
    } else if args.wait {
        print!("{}", job_details(&job.value));
    } else {
        println!("{}", job.value.id);
        eprintln!("follow it with: helix job {}", job.value.id);
    }
    // With --wait, only a COMPLETED job exits 0; a job that ended any other way exits 3.
    Ok(match job.value.status {
        JobStatus::Failed | JobStatus::Cancelled => ExitCode::from(EXIT_JOB_FAILED),
        JobStatus::Pending | JobStatus::Running | JobStatus::Completed => ExitCode::SUCCESS,
    })
}
