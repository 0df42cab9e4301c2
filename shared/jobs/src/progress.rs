//! How far a running attempt has read its content files: counted as the engine reads (a
//! [`CountingReader`] around each input), reported to the [`ProgressStore`] by the runner every
//! [`PROGRESS_EVERY`], shown by the job's event stream.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use helix_domain::JobProgress;

/// How often a running attempt's progress is written.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// An attempt's reading so far, shared between the engine's thread and the runner.
#[derive(Debug, Default)]
pub struct ReadProgress {
    bytes_read: AtomicU64,
    bytes_total: AtomicU64,
    lines_read: AtomicU64,
}

impl ReadProgress {
    pub fn set_total(&self, bytes: u64) {
        self.bytes_total.store(bytes, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> JobProgress {
        JobProgress {
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
            lines_read: self.lines_read.load(Ordering::Relaxed),
        }
    }
}

/// Counts the bytes and line feeds read through it.
pub struct CountingReader<R> {
    inner: R,
    progress: Arc<ReadProgress>,
}

impl<R> CountingReader<R> {
    pub fn new(inner: R, progress: Arc<ReadProgress>) -> Self {
        Self { inner, progress }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        let lines = out[..n].iter().filter(|b| **b == b'\n').count() as u64;
        self.progress.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
        self.progress.lines_read.fetch_add(lines, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_bytes_and_lines_as_they_are_read() {
        let progress = Arc::new(ReadProgress::default());
        progress.set_total(12);
        let mut reader = CountingReader::new(&b"id\na\nb\nc,d\n"[..], progress.clone());
        let mut first = [0u8; 4];
        reader.read_exact(&mut first).unwrap();
        assert_eq!(progress.snapshot(), JobProgress { bytes_read: 4, bytes_total: 12, lines_read: 1 });
        io::copy(&mut reader, &mut io::sink()).unwrap();
        assert_eq!(progress.snapshot(), JobProgress { bytes_read: 11, bytes_total: 12, lines_read: 4 });
    }
}
