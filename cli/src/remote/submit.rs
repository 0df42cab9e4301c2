//! `helix submit`: presigned uploads, the job, and optionally its whole run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use helix_client::{Answer, Client, Submission, Upload};
use helix_domain::{ArtifactKind, JobRead, JobStatus};

use super::error::{CliError, EXIT_JOB_FAILED};
use super::output::{UploadBars, job_details, print_json, spinner};
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

/// Follows the job to its end (its live events, or polling where the server streams none),
/// showing its status and, while it runs, how far it has read; every status change is a line.
pub(super) async fn wait_job(api: &Client, id: &str, quiet: bool) -> Result<Answer<JobRead>, CliError> {
    let bar = spinner(format!("job {id}: waiting"));
    let mut last_status = None;
    let job = api
        .follow_job(id, |job, progress| {
            if last_status != Some(job.status) {
                last_status = Some(job.status);
                if !quiet {
                    bar.suspend(|| eprintln!("job {id}: {}", job.status.as_str()));
                }
            }
            if !job.status.is_terminal() {
                let read = progress
                    .filter(|p| p.bytes_total > 0)
                    .map(|p| format!(", {} of {} bytes read, {} lines", p.bytes_read, p.bytes_total, p.lines_read))
                    .unwrap_or_default();
                bar.set_message(format!("job {id}: {} (attempt {}){read}", job.status.as_str(), job.attempts));
            }
        })
        .await?;
    bar.finish_and_clear();
    Ok(job)
}

/// `helix upload`: every file checked first, then uploaded and accepted by the server.
pub async fn upload_files(
    context: &Context,
    kind: &str,
    team: Option<&str>,
    paths: &[PathBuf],
) -> Result<ExitCode, CliError> {
    let kind = match kind {
        "context" => ArtifactKind::Context,
        "schema" => ArtifactKind::Schema,
        _ => ArtifactKind::Content,
    };
    let files = paths.iter().map(|p| Upload::of(p, kind)).collect::<Result<Vec<_>, _>>()?;
    let api = context.api().await?;
    let progress = UploadBars::new(context.json);
    let mut artifacts = Vec::new();
    for file in &files {
        let id = api.upload(file, team, &progress).await?;
        api.wait_available(file, &id).await?;
        artifacts.push(api.artifact(id.as_str()).await?);
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

pub async fn submit(context: &Context, args: SubmitArgs) -> Result<ExitCode, CliError> {
    let quiet = context.json;
    let mut submission =
        Submission::new(&args.contents, args.context.as_deref(), args.schema.as_deref())?.lookups(&args.lookups)?;
    submission.name = args.name;
    submission.auto_map = args.auto_map;
    let api = context.api().await?;
    let job = api.submit(&submission, &UploadBars::new(quiet)).await?;
    if !quiet {
        eprintln!("submitted job {}", job.value.id);
    }
    let job = if args.wait { wait_job(&api, job.value.id.as_str(), quiet).await? } else { job };

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
