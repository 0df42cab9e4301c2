//! Big files go up in parts: several at a time, each checked by the storage against its SHA-256,
//! each retried alone, and an interrupted upload resumes from the parts already stored. What an
//! upload needs to resume is kept in `~/.cache/helix/uploads/` (`HELIX_CACHE_DIR`) until it
//! completes.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use helix_domain::{ArtifactId, ArtifactStatus};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::client::{Client, MultipartTicket};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::upload::Upload;

/// Parts in flight at once.
const PARALLEL_PARTS: usize = 4;
/// Tries per part before the upload stops (to be resumed by uploading the file again).
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
        file.kind_name(),
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
pub(crate) async fn resume(
    client: &Client,
    file: &Upload,
    team: Option<&str>,
    progress: &dyn Progress,
) -> Result<Option<ArtifactId>> {
    let Some(path) = state_path(client.url(), file, team) else { return Ok(None) };
    let Some(state) = load(&path) else { return Ok(None) };
    let artifact = match client.artifact(state.artifact_id.as_str()).await {
        Ok(artifact) => artifact,
        Err(Error::Api { status: 404, .. }) => {
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
            let stored: Vec<_> = client
                .stored_parts(state.artifact_id.as_str())
                .await?
                .into_iter()
                .filter(|p| p.part_number <= state.part_count && p.size == part_len(&state, file.size, p.part_number))
                .collect();
            progress.resuming(file, stored.len(), state.part_count);
            let done: Vec<(u32, String)> = stored.into_iter().map(|p| (p.part_number, p.etag)).collect();
            send_parts(client, file, &state, done, progress).await?;
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
pub(crate) async fn send(
    client: &Client,
    file: &Upload,
    team: Option<&str>,
    ticket: MultipartTicket,
    progress: &dyn Progress,
) -> Result<ArtifactId> {
    let state = Resumable {
        artifact_id: ticket.artifact_id,
        upload_id: ticket.upload_id,
        part_size: ticket.part_size,
        part_count: ticket.part_count,
    };
    let path = state_path(client.url(), file, team);
    if let Some(path) = &path {
        save(path, &state);
    }
    send_parts(client, file, &state, Vec::new(), progress).await?;
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
async fn send_parts(
    client: &Client,
    file: &Upload,
    state: &Resumable,
    done: Vec<(u32, String)>,
    progress: &dyn Progress,
) -> Result<()> {
    let todo: Vec<u32> = (1..=state.part_count).filter(|n| !done.iter().any(|(d, _)| d == n)).collect();
    progress.transfer_started(file, done.iter().map(|(n, _)| part_len(state, file.size, *n)).sum());
    let sent: Result<Vec<(u32, String)>> = futures::stream::iter(todo)
        .map(|number| send_part(client, file, state, number, progress))
        .buffer_unordered(PARALLEL_PARTS)
        .try_collect()
        .await;
    progress.transfer_ended();
    let sent = sent.map_err(|error| match error {
        Error::Transfer { code, message } => Error::Transfer {
            code,
            message: format!("{}: {message} (run the same command again to resume the upload)", file.path.display()),
        },
        other => other,
    })?;
    let mut parts = done;
    parts.extend(sent);
    parts.sort_by_key(|(n, _)| *n);
    client.complete_upload(state.artifact_id.as_str(), &parts).await?;
    Ok(())
}

/// Part `number` of the file and its SHA-256 (base64), read and hashed off the async threads.
async fn read_part(file: &Upload, state: &Resumable, number: u32) -> Result<(Bytes, String)> {
    let len = part_len(state, file.size, number);
    let offset = u64::from(number - 1) * state.part_size;
    let path = file.path.clone();
    let read = tokio::task::spawn_blocking(move || {
        let mut body = vec![0; len as usize];
        let mut reader = std::fs::File::open(&path)?;
        reader.seek(SeekFrom::Start(offset))?;
        reader.read_exact(&mut body)?;
        let checksum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&body));
        Ok((Bytes::from(body), checksum))
    });
    match read.await {
        Ok(read) => read.map_err(|e| Error::file(&file.path, e)),
        Err(e) => Err(Error::file(&file.path, std::io::Error::other(e))),
    }
}

/// Reads part `number`, asks for its URL (bound to its checksum) and PUTs it, retrying alone.
async fn send_part(
    client: &Client,
    file: &Upload,
    state: &Resumable,
    number: u32,
    progress: &dyn Progress,
) -> Result<(u32, String)> {
    let (body, checksum) = read_part(file, state, number).await?;
    let len = body.len() as u64;
    let mut tries = 0;
    loop {
        tries += 1;
        // A fresh URL each try: one that expired during a long outage is not retried.
        let attempt = async {
            let urls = client.part_urls(state.artifact_id.as_str(), &[(number, checksum.clone())]).await?;
            let url = urls.into_iter().find(|u| u.part_number == number).ok_or_else(|| Error::Protocol {
                url: client.url().to_owned(),
                reason: format!("no URL for part {number}"),
            })?;
            client.put_presigned(&url.put, body.clone().into(), len).await
        };
        match attempt.await {
            Ok(etag) => {
                progress.transferred(len);
                return Ok((number, etag));
            }
            Err(Error::Network { .. } | Error::Transfer { .. }) if tries < PART_TRIES => {
                tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(tries - 1))).await;
            }
            Err(e) => return Err(e),
        }
    }
}
