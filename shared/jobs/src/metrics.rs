//! The platform's metrics: every name and label recorded anywhere, through the `metrics` facade.
//! Whatever recorder the process installed receives them (`helix_aws::telemetry`: CloudWatch EMF
//! lines in Lambda, a Prometheus registry locally), so the code that measures never knows where
//! the figures go.
//!
//! Labels become CloudWatch dimensions, so each takes a handful of values at most: a job kind, a
//! status, a route template, a status class. Never an id.
//!
//! A name's suffix gives its unit (`_seconds`, `_bytes_total`, `_per_second`, else a count), as
//! Prometheus' naming conventions have it; the EMF recorder reads the unit from it.

use helix_domain::{Job, JobKind, JobStatus};

pub const JOBS_SETTLED: &str = "helix_jobs_settled_total";
pub const JOB_DURATION: &str = "helix_job_duration_seconds";
pub const JOB_QUEUE_WAIT: &str = "helix_job_queue_wait_seconds";
pub const JOB_ATTEMPTS: &str = "helix_job_attempts";
pub const JOB_RECORDS_IN: &str = "helix_job_records_in_total";
pub const JOB_RECORDS_OUT: &str = "helix_job_records_out_total";
pub const JOB_RECORDS_REJECTED: &str = "helix_job_records_rejected_total";
pub const JOB_RECORDS_PER_SECOND: &str = "helix_job_records_per_second";
pub const JOB_BYTES_IN: &str = "helix_job_input_bytes_total";
pub const API_REQUESTS: &str = "helix_api_requests_total";
pub const API_LATENCY: &str = "helix_api_request_duration_seconds";
pub const COLD_STARTS: &str = "helix_cold_starts_total";

fn kind_label(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Transform => "transform",
        JobKind::SuggestMapping => "suggest_mapping",
    }
}

/// How an attempt left its job: `completed`, `failed` or `cancelled` for good, `retried` when it
/// went back to the queue.
fn settled_label(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Completed => "completed",
        JobStatus::Failed => "failed",
        JobStatus::Cancelled => "cancelled",
        JobStatus::Pending | JobStatus::Running => "retried",
    }
}

/// An attempt has settled its job as `job`. A job that finished for good also counts its
/// duration (first claim to finish), its wait in the queue (submission to first claim), its
/// attempts and its records.
pub fn job_settled(job: &Job) {
    let kind = kind_label(job.kind);
    let status = settled_label(job.status);
    metrics::counter!(JOBS_SETTLED, "kind" => kind, "status" => status).increment(1);
    if !job.status.is_terminal() {
        return;
    }
    metrics::histogram!(JOB_ATTEMPTS, "kind" => kind).record(f64::from(job.attempts));
    let Some(started) = job.started_at else { return };
    metrics::histogram!(JOB_QUEUE_WAIT, "kind" => kind).record(started.seconds_since(&job.created_at).max(0.0));
    let Some(finished) = job.finished_at else { return };
    let duration = finished.seconds_since(&started).max(0.0);
    metrics::histogram!(JOB_DURATION, "kind" => kind, "status" => status).record(duration);
    let records_in = job.records_in.unwrap_or_default();
    metrics::counter!(JOB_RECORDS_IN, "kind" => kind).increment(records_in);
    metrics::counter!(JOB_RECORDS_OUT, "kind" => kind).increment(job.records_out.unwrap_or_default());
    metrics::counter!(JOB_RECORDS_REJECTED, "kind" => kind).increment(job.records_rejected.unwrap_or_default());
    if records_in > 0 && duration > 0.0 {
        metrics::histogram!(JOB_RECORDS_PER_SECOND, "kind" => kind).record(records_in as f64 / duration);
    }
}

/// An attempt opened a job's input artifact of `bytes` (its content, context or schema).
pub fn job_input_opened(bytes: u64) {
    metrics::counter!(JOB_BYTES_IN).increment(bytes);
}

/// An API request answered: `route` is the matched route template (`/api/v1/jobs/{id}`), never
/// the path with its ids.
pub fn api_request(route: &str, method: &str, status: u16, seconds: f64) {
    let status_class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    let labels =
        [("route", route.to_owned()), ("method", method.to_owned()), ("status_class", status_class.to_owned())];
    metrics::counter!(API_REQUESTS, &labels).increment(1);
    metrics::histogram!(API_LATENCY, &labels).record(seconds);
}

/// The process started: in Lambda, a cold start of `function`.
pub fn cold_start(function: &str) {
    metrics::counter!(COLD_STARTS, "function" => function.to_owned()).increment(1);
}
