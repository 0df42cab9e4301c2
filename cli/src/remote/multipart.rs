//! Big files go up in parts: several at a time, each checked by the storage against its SHA-256,
//! each retried alone, and an interrupted upload resumes from the parts already stored. What an
//! upload needs to resume is kept in `~/.cache/helix/uploads/` until it completes.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use helix_domain::{ArtifactId, ArtifactStatus};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::api::{Api, MultipartTicket};
use super::error::CliError;
use super::output::transfer_bar;
use super::submit::Upload;

/// Parts in flight at once.
const PARALLEL_PARTS: usize = 4;
/// Tries per part before the upload stops (to be resumed by running the command again).
const PART_TRIES: u32 = 4;

/// What an unfinished upload needs to resume, kept per file (path, size, modification time), so
/// a changed file starts over.
#[derive(Serialize, Deserialize)]
struct Resumable {
    artifact_id: ArtifactId,
    upload_id: String,
    part_size: u64,
    part_count: u32,
}

fn state_dir() -> Option<PathBuf> {
    std::env::var_os("HELIX_CACHE_DIR").map(PathBuf::from).or_else(dirs::cache_dir).map(|d| d.join("helix/uploads"))
}

/// The state file of `file` uploaded to `api_url` into `team`.
fn state_path(api_url: &str, file: &Upload, team: Option<&str>) -> Option<PathBuf> {
    let path = std::fs::canonicalize(&file.path).ok()?;
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    let identity = format!(
        "{api_url}\n{}\n{}\n{}\n{}\n{}",
        path.display(),
        file.size,
        since.as_nanos(),
        file.kind,
        team.unwrap_or_default()
    );
    let digest = Sha256::digest(identity.as_bytes());
    Some(state_dir()?.join(format!("{}.json", &hex_of(&digest)[..32])))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn load(path: &PathBuf) -> Option<Resumable> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn save(path: &PathBuf, state: &Resumable) {
    // A state that cannot be written costs only the resume; the upload itself goes on.
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(path, serde_json::to_vec(state).unwrap_or_default());
}

/// Resumes `file`'s unfinished upload, if one is recorded and the server still has it open;
/// `None` when there is nothing to resume (the caller then starts a new upload).
pub(super) fn resume(
    api: &Api,
    file: &Upload,
    team: Option<&str>,
    quiet: bool,
) -> Result<Option<ArtifactId>, CliError> {
    let Some(path) = state_path(api.url(), file, team) else { return Ok(None) };
    let Some(state) = load(&path) else { return Ok(None) };
    let artifact = match api.artifact(state.artifact_id.as_str()) {
        Ok(artifact) => artifact,
        Err(CliError::Api { status: 404, .. }) => {
            let _ = std::fs::remove_file(&path);
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    match artifact.status {
        // Completed, but the state outlived it: nothing to send.
        ArtifactStatus::Available => {
            let _ = std::fs::remove_file(&path);
            Ok(Some(state.artifact_id))
        }
        ArtifactStatus::PendingUpload if artifact.multipart.is_some_and(|m| m.upload_id == state.upload_id) => {
            // A part of another length than this file's would be (none, unless the file was
            // rewritten in place with its time kept) is sent again, replacing it.
            let stored: Vec<_> = api
                .stored_parts(state.artifact_id.as_str())?
                .into_iter()
                .filter(|p| p.part_number <= state.part_count && p.size == part_len(&state, file.size, p.part_number))
                .collect();
            if !quiet {
                eprintln!(
                    "resuming the upload of {}: {} of {} parts already stored",
                    file.path.display(),
                    stored.len(),
                    state.part_count
                );
            }
            let done: Vec<(u32, String)> = stored.into_iter().map(|p| (p.part_number, p.etag)).collect();
            send_parts(api, file, &state, done)?;
            let _ = std::fs::remove_file(&path);
            Ok(Some(state.artifact_id))
        }
        _ => {
            let _ = std::fs::remove_file(&path);
            Ok(None)
        }
    }
}

/// Sends every part of a new multipart upload and completes it.
pub(super) fn send(
    api: &Api,
    file: &Upload,
    team: Option<&str>,
    ticket: MultipartTicket,
) -> Result<ArtifactId, CliError> {
    let state = Resumable {
        artifact_id: ticket.artifact_id,
        upload_id: ticket.upload_id,
        part_size: ticket.part_size,
        part_count: ticket.part_count,
    };
    let path = state_path(api.url(), file, team);
    if let Some(path) = &path {
        save(path, &state);
    }
    send_parts(api, file, &state, Vec::new())?;
    if let Some(path) = &path {
        let _ = std::fs::remove_file(path);
    }
    Ok(state.artifact_id)
}

fn part_len(state: &Resumable, size: u64, number: u32) -> u64 {
    let start = u64::from(number - 1) * state.part_size;
    state.part_size.min(size - start)
}

/// Uploads the parts not in `done` (number, ETag), `PARALLEL_PARTS` at a time, then completes.
fn send_parts(api: &Api, file: &Upload, state: &Resumable, done: Vec<(u32, String)>) -> Result<(), CliError> {
    let todo: Vec<u32> = (1..=state.part_count).filter(|n| !done.iter().any(|(d, _)| d == n)).collect();
    let bar = transfer_bar(Some(file.size), &file.filename);
    bar.set_position(done.iter().map(|(n, _)| part_len(state, file.size, *n)).sum());
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let finished = Mutex::new(done);
    let first_error = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_PARTS.min(todo.len()) {
            scope.spawn(|| {
                while !failed.load(Ordering::SeqCst) {
                    let Some(&number) = todo.get(next.fetch_add(1, Ordering::SeqCst)) else { return };
                    match send_part(api, file, state, number, &bar) {
                        Ok(etag) => finished.lock().unwrap_or_else(|e| e.into_inner()).push((number, etag)),
                        Err(e) => {
                            failed.store(true, Ordering::SeqCst);
                            first_error.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    bar.finish_and_clear();
    if let Some(error) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(match error {
            CliError::Transfer { code, message } => CliError::Transfer {
                code,
                message: format!(
                    "{}: {message} (run the same command again to resume the upload)",
                    file.path.display()
                ),
            },
            other => other,
        });
    }
    let mut parts = finished.into_inner().unwrap_or_else(|e| e.into_inner());
    parts.sort_by_key(|(n, _)| *n);
    api.complete_upload(state.artifact_id.as_str(), &parts)?;
    Ok(())
}

/// Reads part `number`, asks for its URL (bound to its checksum) and PUTs it, retrying alone.
fn send_part(
    api: &Api,
    file: &Upload,
    state: &Resumable,
    number: u32,
    bar: &indicatif::ProgressBar,
) -> Result<String, CliError> {
    let len = part_len(state, file.size, number);
    let mut body = vec![0; len as usize];
    let mut reader = File::open(&file.path).map_err(|e| CliError::file(&file.path, e))?;
    reader.seek(SeekFrom::Start(u64::from(number - 1) * state.part_size)).map_err(|e| CliError::file(&file.path, e))?;
    reader.read_exact(&mut body).map_err(|e| CliError::file(&file.path, e))?;
    let checksum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&body));
    let mut tries = 0;
    loop {
        tries += 1;
        // A fresh URL each try: one that expired during a long outage is not retried.
        let attempt = api.part_urls(state.artifact_id.as_str(), &[(number, checksum.clone())]).and_then(|urls| {
            let url = urls.into_iter().find(|u| u.part_number == number).ok_or_else(|| CliError::Protocol {
                url: api.url().to_owned(),
                reason: format!("no URL for part {number}"),
            })?;
            api.put_presigned(&url.put, reqwest::blocking::Body::from(body.clone()))
        });
        match attempt {
            Ok(etag) => {
                bar.inc(len);
                return Ok(etag);
            }
            Err(CliError::Network { .. } | CliError::Transfer { .. }) if tries < PART_TRIES => {
                std::thread::sleep(Duration::from_millis(500 * 2u64.pow(tries - 1)));
            }
            Err(e) => return Err(e),
        }
    }
}
