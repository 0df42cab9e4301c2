//! The queue-driven side of the platform: the job worker and the upload watcher. Each takes an
//! SQS batch and answers with the ids of the messages that must come back (`ReportBatchItemFailures`),
//! so the Lambda shims and the local pollers call the very same code.

mod batch;
mod idempotency;
pub mod jobs;
mod sweeper;
pub mod uploads;

pub use batch::MessageOutcome;
pub use jobs::{AttemptError, JobWorker, JobWorkerDeps, run_job_once};
pub use sweeper::JobSweeper;
pub use uploads::{UploadWatcher, UploadWatcherDeps};
