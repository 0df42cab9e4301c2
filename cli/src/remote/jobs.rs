//! `helix jobs`, `helix job`, `helix download`, `helix rejects`.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

use helix_client::{Download, output_of};
use helix_domain::JobStatus;

use super::Context;
use super::error::CliError;
use super::output::{job_details, jobs_table, print_json, rejects_table, transfer_bar};

pub async fn list(
    context: &Context,
    status: Option<JobStatus>,
    limit: Option<u32>,
    cursor: Option<String>,
    all: bool,
) -> Result<ExitCode, CliError> {
    let api = context.api().await?;
    let status = status.map(JobStatus::as_str);
    let first = api.jobs(status, limit, cursor.as_deref()).await?;
    let mut raw_items: Vec<Value> = first.raw["items"].as_array().cloned().unwrap_or_default();
    let mut jobs = first.value.items;
    let mut next = first.value.next_cursor;
    while all && let Some(cursor) = next.take() {
        let page = api.jobs(status, limit, Some(&cursor)).await?;
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

pub async fn show(context: &Context, id: &str) -> Result<ExitCode, CliError> {
    let job = context.api().await?.job(id).await?;
    if context.json {
        print_json(&job.raw);
    } else {
        print!("{}", job_details(&job.value));
    }
    Ok(ExitCode::SUCCESS)
}

/// Copies storage → sink, telling a broken download apart from a failed write.
async fn copy(
    mut from: Download,
    to: &mut impl Write,
    target: &str,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<u64, CliError> {
    let mut total = 0;
    while let Some(chunk) = from.chunk().await? {
        to.write_all(&chunk).map_err(|e| CliError::Input(format!("writing {target}: {e}")))?;
        total += chunk.len() as u64;
        if let Some(bar) = bar {
            bar.inc(chunk.len() as u64);
        }
    }
    Ok(total)
}

pub async fn cancel(context: &Context, id: &str) -> Result<ExitCode, CliError> {
    let job = context.api().await?.cancel_job(id).await?;
    if context.json {
        print_json(&job.raw);
    } else {
        println!("job {id}: {}", job.value.status.as_str());
    }
    Ok(ExitCode::SUCCESS)
}

/// Deletes each job, going on past a refusal: each one is reported, and the exit code is 1 if
/// any job was not deleted. Not being logged in stops at the first.
pub async fn delete(context: &Context, ids: &[String]) -> Result<ExitCode, CliError> {
    let api = context.api().await?;
    let (mut deleted, mut failed) = (Vec::new(), Vec::new());
    for id in ids {
        match api.delete_job(id).await {
            Ok(()) => {
                if !context.json {
                    println!("job {id}: deleted");
                }
                deleted.push(id.as_str());
            }
            Err(e @ (CliError::NotLoggedIn(_) | CliError::SessionExpired(_) | CliError::Api { status: 401, .. })) => {
                return Err(e);
            }
            Err(e) => {
                if !context.json {
                    eprintln!("helix: job {id}: {e}");
                }
                failed.push(serde_json::json!({"id": id, "code": e.code(), "message": e.to_string()}));
            }
        }
    }
    if context.json {
        print_json(&serde_json::json!({"deleted": deleted, "failed": failed}));
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub async fn retry(context: &Context, id: &str) -> Result<ExitCode, CliError> {
    let job = context.api().await?.retry_job(id).await?;
    if context.json {
        print_json(&job.raw);
    } else {
        println!("job {id}: {} (retry {})", job.value.status.as_str(), job.value.retries);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn clone(context: &Context, id: &str, body: &serde_json::Value) -> Result<ExitCode, CliError> {
    let job = context.api().await?.clone_job(id, body).await?;
    if context.json {
        print_json(&job.raw);
    } else {
        println!("{}", job.value.id);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn download(context: &Context, id: &str, output: Option<&Path>) -> Result<ExitCode, CliError> {
    let api = context.api().await?;
    let job = api.job(id).await?.value;
    let artifact = output_of(&job, job.result_artifact_id.as_ref(), "result")?;
    let download = api.open_artifact(artifact).await?;
    let Some(path) = output else {
        let mut stdout = io::stdout().lock();
        copy(download, &mut stdout, "standard output", None).await?;
        stdout.flush().map_err(|e| CliError::Input(format!("writing standard output: {e}")))?;
        return Ok(ExitCode::SUCCESS);
    };
    let mut file = crate::atomic::beside(path).map_err(|e| CliError::file(path, e))?;
    let bar = transfer_bar(download.content_length(), &path.display().to_string());
    let bytes = copy(download, file.as_file_mut(), &path.display().to_string(), Some(&bar)).await;
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

pub async fn rejects(context: &Context, id: &str) -> Result<ExitCode, CliError> {
    let api = context.api().await?;
    let job = api.job(id).await?.value;
    let report = api.reject_report(&job).await?;
    if context.json {
        print_json(&report);
    } else {
        print!("{}", rejects_table(&report));
    }
    Ok(ExitCode::SUCCESS)
}
