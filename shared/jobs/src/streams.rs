//! A job's files streamed between the bucket and the engine: inputs read in ranged GETs, outputs
//! written as multipart uploads as the engine produces them. A worker holds a few MiB of any file
//! and writes none of it to disk; an output is visible only once it is whole.
//!
//! Both directions keep one request in flight while the engine works: the reader fetches the next
//! range while the engine maps the current one, and the writer sends a full part while the engine
//! fills the next, so a run waits on the network only when the network is the slower of the two.

use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use helix_domain::{Blobs, StoreError, StoredPart};

/// One ranged GET: big enough that requests cost little next to the bytes, small enough to hold.
pub const RANGE_BYTES: u64 = 8 * 1024 * 1024;
/// One output part; S3 wants at least 5 MiB for every part but the last.
pub const PART_BYTES: usize = 8 * 1024 * 1024;
/// Tries per ranged GET or part before the attempt fails (and is retried as a whole).
const TRIES: u32 = 3;

fn io_error(what: &str, e: StoreError) -> io::Error {
    io::Error::other(format!("{what}: {e}"))
}

/// The error a stream gives once its job is cancelled: the run stops at its next read or write.
fn stop_if(cancelled: &AtomicBool) -> io::Result<()> {
    if cancelled.load(Ordering::SeqCst) {
        return Err(io::Error::other("the job was cancelled"));
    }
    Ok(())
}

/// What a stream needs of its attempt: the bucket, the runtime its calls run on (from the
/// engine's blocking thread), and the job's cancellation flag.
#[derive(Clone)]
pub struct StreamContext {
    pub blobs: Arc<dyn Blobs>,
    pub runtime: Handle,
    pub cancelled: Arc<AtomicBool>,
}

/// Retries `call` on backend errors (a dropped connection, a throttle), not on missing objects.
async fn with_retries<T, F: Future<Output = Result<T, StoreError>>>(
    mut call: impl FnMut() -> F,
) -> Result<T, StoreError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match call().await {
            Err(StoreError::Backend(_)) if tries < TRIES => {
                tokio::time::sleep(Duration::from_millis(200 * u64::from(tries))).await;
            }
            other => return other,
        }
    }
}

/// Waits on the blocking thread for a request running on the runtime.
fn join<T>(runtime: &Handle, request: JoinHandle<Result<T, StoreError>>) -> Result<T, StoreError> {
    runtime
        .block_on(request)
        .unwrap_or_else(|e| Err(StoreError::Backend(format!("a storage request was stopped: {e}"))))
}

/// A ranged GET in flight.
type RangeRequest = JoinHandle<Result<Vec<u8>, StoreError>>;

/// Reads an object of `size` bytes in ranged GETs, for the engine's blocking thread.
pub struct BlobReader {
    blobs: Arc<dyn Blobs>,
    runtime: Handle,
    cancelled: Arc<AtomicBool>,
    /// The file's name, for errors.
    name: String,
    key: String,
    size: u64,
    /// Where the next range to request starts.
    offset: u64,
    /// The range requested ahead, starting where `buffer` ends.
    ahead: Option<(u64, RangeRequest)>,
    buffer: Vec<u8>,
    at: usize,
}

impl BlobReader {
    pub fn new(streams: &StreamContext, name: String, key: String, size: u64) -> Self {
        let StreamContext { blobs, runtime, cancelled } = streams.clone();
        Self { blobs, runtime, cancelled, name, key, size, offset: 0, ahead: None, buffer: Vec::new(), at: 0 }
    }

    /// Reads bytes `range` of the object only (a shard of it).
    pub fn range(streams: &StreamContext, name: String, key: String, range: std::ops::Range<u64>) -> Self {
        let mut reader = Self::new(streams, name, key, range.end);
        reader.offset = range.start;
        reader
    }

    /// Requests the range at `offset`, if the object goes on, to be read while the engine works.
    fn request_next(&mut self) {
        if self.offset >= self.size {
            return;
        }
        let len = RANGE_BYTES.min(self.size - self.offset);
        let (blobs, key, offset) = (self.blobs.clone(), self.key.clone(), self.offset);
        let request = self.runtime.spawn(async move { with_retries(|| blobs.read_range(&key, offset, len)).await });
        self.ahead = Some((offset, request));
        self.offset += len;
    }

    /// The next range, from the request ahead (or a new one on the first read).
    fn next_range(&mut self) -> io::Result<Option<Vec<u8>>> {
        if self.ahead.is_none() {
            self.request_next();
        }
        let Some((offset, request)) = self.ahead.take() else { return Ok(None) };
        let chunk = join(&self.runtime, request)
            .map_err(|e| io_error(&format!("{} could not be read from storage", self.name), e))?;
        let expected = RANGE_BYTES.min(self.size - offset) as usize;
        if chunk.len() != expected {
            return Err(io::Error::other(format!(
                "{} could not be read from storage: it ends at byte {} of the {} recorded",
                self.name,
                offset + chunk.len() as u64,
                self.size
            )));
        }
        self.request_next();
        Ok(Some(chunk))
    }
}

impl Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        stop_if(&self.cancelled)?;
        if self.at == self.buffer.len() {
            match self.next_range()? {
                Some(chunk) => self.buffer = chunk,
                None => return Ok(0),
            }
            self.at = 0;
        }
        let n = out.len().min(self.buffer.len() - self.at);
        out[..n].copy_from_slice(&self.buffer[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for BlobReader {
    fn drop(&mut self) {
        // A run that stops early (an error, a cancel) needs no more of the object.
        if let Some((_, request)) = self.ahead.take() {
            request.abort();
        }
    }
}

/// Writes an object as the engine produces it: parts of [`PART_BYTES`] go up as they fill, and
/// [`BlobWriter::finish`] joins them (or, for a small output, stores it in one PUT). Until then
/// nothing is visible at the key; [`BlobWriter::abort`] drops what went up.
pub struct BlobWriter {
    blobs: Arc<dyn Blobs>,
    runtime: Handle,
    cancelled: Arc<AtomicBool>,
    key: String,
    content_type: String,
    buffer: Vec<u8>,
    upload_id: Option<String>,
    parts: Vec<StoredPart>,
    /// The part going up while the engine fills the next.
    sending: Option<JoinHandle<Result<StoredPart, StoreError>>>,
    written: u64,
}

impl BlobWriter {
    pub fn new(streams: &StreamContext, key: String, content_type: &str) -> Self {
        let StreamContext { blobs, runtime, cancelled } = streams.clone();
        Self {
            blobs,
            runtime,
            cancelled,
            key,
            content_type: content_type.to_owned(),
            buffer: Vec::with_capacity(PART_BYTES),
            upload_id: None,
            parts: Vec::new(),
            sending: None,
            written: 0,
        }
    }

    /// Waits for the part going up, so parts are recorded in order and at most one is in flight.
    fn sent(&mut self) -> Result<(), StoreError> {
        if let Some(request) = self.sending.take() {
            let part = join(&self.runtime, request)?;
            self.parts.push(part);
        }
        Ok(())
    }

    fn send_part(&mut self) -> Result<(), StoreError> {
        self.sent()?;
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let (blobs, key, content_type) = (&self.blobs, &self.key, &self.content_type);
                let id = self.runtime.block_on(with_retries(|| blobs.start_multipart(key, content_type)))?;
                self.upload_id.insert(id).clone()
            }
        };
        let number = self.parts.len() as u32 + 1;
        let body = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_BYTES));
        let (blobs, key) = (self.blobs.clone(), self.key.clone());
        self.sending =
            Some(self.runtime.spawn(async move {
                with_retries(|| blobs.upload_part(&key, &upload_id, number, body.clone())).await
            }));
        Ok(())
    }

    /// Makes the object visible, whole; returns its size in bytes.
    pub fn finish(mut self) -> Result<u64, StoreError> {
        let (blobs, runtime) = (self.blobs.clone(), self.runtime.clone());
        if self.upload_id.is_none() {
            let body = std::mem::take(&mut self.buffer);
            let (key, content_type) = (&self.key, &self.content_type);
            runtime.block_on(with_retries(|| blobs.put_bytes(key, body.clone(), content_type)))?;
            return Ok(self.written);
        }
        if !self.buffer.is_empty() {
            self.send_part()?;
        }
        self.sent()?;
        let upload_id = self.upload_id.clone().unwrap_or_default();
        let (key, parts) = (&self.key, &self.parts);
        runtime.block_on(with_retries(|| blobs.complete_multipart(key, &upload_id, parts)))?;
        Ok(self.written)
    }

    /// Drops the parts sent so far: a failed run leaves no half-written output (and the bucket's
    /// lifecycle rule removes parts an abort could not).
    pub fn abort(mut self) {
        if let Some(request) = self.sending.take() {
            // The abort must come after the part, or the part would outlive it.
            let _ = self.runtime.block_on(request);
        }
        if let Some(upload_id) = &self.upload_id
            && let Err(e) = self.runtime.block_on(self.blobs.abort_multipart(&self.key, upload_id))
        {
            tracing::warn!(key = %self.key, error = %e, "could not abort an output's multipart upload");
        }
    }
}

impl Write for BlobWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        stop_if(&self.cancelled)?;
        let n = bytes.len().min(PART_BYTES - self.buffer.len());
        self.buffer.extend_from_slice(&bytes[..n]);
        self.written += n as u64;
        if self.buffer.len() == PART_BYTES {
            let what = format!("{} could not be written to storage", self.key);
            self.send_part().map_err(|e| io_error(&what, e))?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Parts go up when full; what is buffered goes up with `finish`.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use helix_domain::memory::MemoryBlobs;

    use super::*;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 253) as u8).collect()
    }

    /// Runs `f` on a blocking thread, as the engine runs, with the streams' context.
    async fn blocking<T: Send + 'static>(
        blobs: Arc<MemoryBlobs>,
        f: impl FnOnce(StreamContext) -> T + Send + 'static,
    ) -> T {
        let streams = StreamContext { blobs, runtime: Handle::current(), cancelled: Arc::new(AtomicBool::new(false)) };
        tokio::task::spawn_blocking(move || f(streams)).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_big_output_goes_up_in_parts_and_appears_whole() {
        let blobs = Arc::new(MemoryBlobs::default());
        let body = bytes(2 * PART_BYTES + 123);
        let (store, sent) = (blobs.clone(), body.clone());
        let size = blocking(blobs.clone(), move |streams| {
            let mut writer = BlobWriter::new(&streams, "out.json".into(), "application/json");
            for chunk in sent.chunks(1000) {
                writer.write_all(chunk).unwrap();
                if writer.parts.len() == 1 {
                    // Half-written: nothing is visible yet.
                    assert_eq!(store.object("out.json"), None);
                }
            }
            writer.finish().unwrap()
        })
        .await;
        assert_eq!(size, body.len() as u64);
        assert_eq!(blobs.object("out.json").unwrap().body, body);
        assert!(blobs.open_uploads().is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_small_output_is_one_put_and_an_aborted_one_leaves_nothing() {
        let blobs = Arc::new(MemoryBlobs::default());
        blocking(blobs.clone(), move |streams| {
            let mut small = BlobWriter::new(&streams, "small.json".into(), "application/json");
            small.write_all(b"[]").unwrap();
            assert_eq!(small.finish().unwrap(), 2);
            let mut failed = BlobWriter::new(&streams, "failed.json".into(), "application/json");
            failed.write_all(&bytes(PART_BYTES + 1)).unwrap();
            // A cancelled job's streams stop at their next write.
            streams.cancelled.store(true, Ordering::SeqCst);
            let stopped = failed.write_all(b"more").unwrap_err();
            assert_eq!(stopped.to_string(), "the job was cancelled");
            failed.abort();
        })
        .await;
        assert_eq!(blobs.object("small.json").unwrap().body, b"[]");
        assert_eq!(blobs.object("failed.json"), None);
        assert!(blobs.open_uploads().is_empty(), "the parts sent were dropped");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_input_is_read_in_ranges_and_a_short_object_is_an_error() {
        let blobs = Arc::new(MemoryBlobs::default());
        let body = bytes(RANGE_BYTES as usize * 2 + 7);
        blobs.put_bytes("in.csv", body.clone(), "text/csv").await.unwrap();
        let (read, short) = blocking(blobs.clone(), move |streams| {
            let mut read = Vec::new();
            let size = body.len() as u64;
            let reader = |size| BlobReader::new(&streams, "in.csv".into(), "in.csv".into(), size);
            reader(size).read_to_end(&mut read).unwrap();
            let short = reader(size + 10).read_to_end(&mut Vec::new());
            (read, short)
        })
        .await;
        assert_eq!(read, blobs.object("in.csv").unwrap().body);
        let error = short.unwrap_err().to_string();
        assert!(error.contains("in.csv could not be read from storage: it ends at byte"), "{error}");
    }
}
