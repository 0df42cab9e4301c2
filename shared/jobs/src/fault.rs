//! Crash injection for the tests of what survives a process dying at the worst moment: with
//! `HELIX_CRASH_AT=<point>` in its environment, a process aborts at that point, as `kill -9`
//! would stop it there. Unset, a point costs one comparison.

use std::sync::OnceLock;

/// The API process, between writing a job and sending its queue message.
pub const AFTER_JOB_WRITE: &str = "after-job-write";
/// A worker, once it has claimed a job and before the attempt's outcome is recorded.
pub const MID_JOB: &str = "mid-job";

pub fn crash_point(point: &str) {
    static CRASH_AT: OnceLock<Option<String>> = OnceLock::new();
    if CRASH_AT.get_or_init(|| std::env::var("HELIX_CRASH_AT").ok()).as_deref() == Some(point) {
        eprintln!("HELIX_CRASH_AT={point}: aborting");
        std::process::abort();
    }
}
