//! `helix jobs`, `helix job`, `helix download`, `helix rejects`.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

use helix_domain::{ArtifactId, JobRead, JobStatus};

use super::Context;
use super::api::Api;
use super::error::CliError;
use super::output::{job_details, jobs_table, print_json, rejects_table, transfer_bar};

pub fn list(
    context: &Context,
    status: Option<JobStatus>,
    limit: Option<u32>,
    cursor: Option<String>,
    all: bool,
) -> Result<ExitCode, CliError> {
    let api = context.api()?;
    let status = status.map(JobStatus::as_str);
    let first = api.jobs(status, limit, cursor.as_deref())?;
    let mut raw_items: Vec<Value> = first.raw["items"].as_array().cloned().unwrap_or_default();
    let mut jobs = first.value.items;
    let mut next = first.value.next_cursor;
    while all && let Some(cursor) = next.take() {
        let page = api.jobs(status, limit, Some(&cursor))?;
        raw_items.extend(page.raw["items"].as_array().cloned().unwrap_or_default());
        jobs.extend(page.value.items);
        next = page.value.next_cursor;
    }
    if context.json {
        print_json(&json!({ "items": raw_items, "next_cursor": next }));
        return Ok(ExitCode::SUCCESS);
    }
    if jobs.is_empty() {
        println!("no jobs");
    } else {
        print!("{}", jobs_table(&jobs));
    }
    if let Some(cursor) = next {
        let mut more = String::from("helix jobs");
        if let Some(s) = status {
            more.push_str(&format!(" --status {s}"));
        }
        if let Some(l) = limit {
            more.push_str(&format!(" --limit {l}"));
        }
        eprintln!("more: {more} --cursor {cursor}  (or --all)");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show(context: &Context, id: &str) -> Result<ExitCode, CliError> {
    let job = context.api()?.job(id)?;
    if context.json {
        print_json(&job.raw);
    } else {
        print!("{}", job_details(&job.value));
    }
    Ok(ExitCode::SUCCESS)
}

/// One of a finished job's outputs, or why there is none (yet).
fn output_of<'j>(job: &'j JobRead, artifact: Option<&'j ArtifactId>, what: &str) -> Result<&'j str, CliError> {
    match (artifact, job.status) {
        (Some(id), _) => Ok(id.as_str()),
        (None, JobStatus::Failed) => Err(CliError::Transfer {
            code: "job_failed",
            message: format!(
                "job {} FAILED, so it has no {what}: {}",
                job.id,
                job.error.as_deref().unwrap_or("no reason given")
            ),
        }),
        (None, JobStatus::Completed) => {
            Err(CliError::Transfer { code: "no_output", message: format!("job {} has no {what}", job.id) })
        }
        (None, JobStatus::Cancelled) => Err(CliError::Transfer {
            code: "no_output",
            message: format!("job {} was CANCELLED, so it has no {what}", job.id),
        }),
        (None, status @ (JobStatus::Pending | JobStatus::Running)) => Err(CliError::Transfer {
            code: "job_not_finished",
            message: format!("job {} is {}: no {what} yet (see `helix job {}`)", job.id, status.as_str(), job.id),
        }),
    }
}

/// Copies storage → sink, telling a broken download apart from a failed write.
fn copy(mut from: impl Read, to: &mut impl Write, target: &str) -> Result<u64, CliError> {
    let mut buf = vec![0; 64 * 1024];
    let mut total = 0;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(CliError::Transfer {
                    code: "download_failed",
                    message: format!("the download broke off: {e}"),
                });
            }
        };
        to.write_all(&buf[..n]).map_err(|e| CliError::Input(format!("writing {target}: {e}")))?;
        total += n as u64;
    }
}

pub fn cancel(context: &Context, id: &str) -> Result<ExitCode, CliError> {
    let job = context.api()?.cancel_job(id)?;
    if context.json {
        print_json(&job.raw);
    } else {
        println!("job {id}: {}", job.value.status.as_str());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn retry(context: &Context, id: &str) -> Result<ExitCode, CliError> {
    let job = context.api()?.retry_job(id)?;
    if context.json {
        print_json(&job.raw);
    } else {
        println!("job {id}: {} (retry {})", job.value.status.as_str(), job.value.retries);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn clone(context: &Context, id: &str, body: &serde_json::Value) -> Result<ExitCode, CliError> {
    let job = context.api()?.clone_job(id, body)?;
    if context.json {
        print_json(&job.raw);
    } else {
        println!("{}", job.value.id);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn download(context: &Context, id: &str, output: Option<&Path>) -> Result<ExitCode, CliError> {
    let api = context.api()?;
    let job = api.job(id)?.value;
    let artifact = output_of(&job, job.result_artifact_id.as_ref(), "result")?;
    let link = api.download_link(artifact)?;
    let response = api.open_presigned(&link.url)?;
    let Some(path) = output else {
        let mut stdout = io::stdout().lock();
        copy(response, &mut stdout, "standard output")?;
        stdout.flush().map_err(|e| CliError::Input(format!("writing standard output: {e}")))?;
        return Ok(ExitCode::SUCCESS);
    };
    let mut file = crate::atomic::beside(path).map_err(|e| CliError::file(path, e))?;
    let bar = transfer_bar(response.content_length(), &path.display().to_string());
    let bytes = copy(bar.wrap_read(response), file.as_file_mut(), &path.display().to_string());
    bar.finish_and_clear();
    let bytes = bytes?;
    file.as_file().sync_all().map_err(|e| CliError::file(path, e))?;
    file.persist(path).map_err(|e| CliError::file(path, e.error))?;
    if context.json {
        print_json(&json!({"job_id": job.id, "artifact_id": artifact, "path": path, "bytes": bytes}));
    } else {
        eprintln!("wrote {} ({bytes} bytes)", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn report(api: &Api, artifact: &str) -> Result<Value, CliError> {
    let link = api.download_link(artifact)?;
    let mut body = Vec::new();
    copy(api.open_presigned(&link.url)?, &mut body, "memory")?;
    serde_json::from_slice(&body)
        .map_err(|e| CliError::Protocol { url: "the reject report".into(), reason: e.to_string() })
}

pub fn rejects(context: &Context, id: &str) -> Result<ExitCode, CliError> {
    let api = context.api()?;
    let job = api.job(id)?.value;
    let artifact = output_of(&job, job.error_report_artifact_id.as_ref(), "reject report")?;
    let report = report(&api, artifact)?;
    if context.json {
        print_json(&report);
    } else {
        print!("{}", rejects_table(&report));
    }
    Ok(ExitCode::SUCCESS)
}
