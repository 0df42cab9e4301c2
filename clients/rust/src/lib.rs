//! A client of the HelixNet API: log in (or carry an API key), upload files through presigned
//! URLs (big ones in parts, resumably), submit jobs and follow them, read results and reject
//! reports, and manage a team's API keys, pipelines and audit trail. Every call is async
//! (tokio), answers with the domain's types (`JobRead`, `ArtifactRead`, `PipelineRead`, …)
//! beside the JSON as sent, and fails with one [`Error`] naming what went wrong. Reads are
//! retried after a lost connection or a 502/503/504, and requests that create something carry an
//! `Idempotency-Key`, so that their retry is answered with the first answer.
//!
//! The `helix` CLI is this crate plus argument parsing and printing; long calls report through
//! [`Progress`].
//!
//! ```no_run
//! # async fn run() -> helix_client::Result<()> {
//! use std::path::PathBuf;
//! use helix_client::{Client, Silent, Submission};
//!
//! let client = Client::new("http://127.0.0.1:8000", Some(std::env::var("HELIX_API_KEY").unwrap()))?;
//! let files = Submission::new(&[PathBuf::from("orders.csv")], Some("orders.yaml".as_ref()), None)?;
//! let job = client.submit(&files, &Silent).await?.value;
//! let job = client.wait_job(job.id.as_str(), |_| {}).await?.value;
//! for record in client.results(&job).await? {
//!     println!("{record}");
//! }
//! # Ok(())
//! # }
//! ```

mod client;
pub mod credentials;
mod error;
mod jobs;
mod multipart;
mod progress;
mod upload;

pub use client::{
    Answer, ApiKeyRead, AuditFilters, Client, CostFilters, CostReport, CostRow, DEFAULT_API_URL, Download, DropTicket,
    NewJob, Page, PresignedPut, StartedRun, TeamRead, TeamUsage, TokenResponse, normalize_url,
};
pub use error::{Error, Result, from_response};
pub use jobs::{output_of, parse_records};
pub use progress::{Progress, Silent};
pub use upload::{Submission, Upload};
