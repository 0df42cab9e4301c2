//! What a long call tells its caller while it runs: bytes sent, an upload resumed, a file stored.
//! The CLI draws bars from it; a program may log it, or pass [`Silent`].

use crate::upload::Upload;

/// Told about one file's transfer at a time; parts of a big file may report from several tasks.
pub trait Progress: Send + Sync {
    /// `file` starts going to storage; `done` of its bytes are stored already (a resumed upload).
    fn transfer_started(&self, _file: &Upload, _done: u64) {}
    /// `bytes` more of the file are stored.
    fn transferred(&self, _bytes: u64) {}
    /// The transfer is over, whether or not it succeeded.
    fn transfer_ended(&self) {}
    /// An unfinished upload of `file` is resumed: `stored` of its `parts` are in storage.
    fn resuming(&self, _file: &Upload, _stored: usize, _parts: u32) {}
    /// `file` is uploaded (the server still checks it before a job may use it).
    fn uploaded(&self, _file: &Upload) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}
