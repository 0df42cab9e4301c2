//! A job's live events (`GET /jobs/{id}/events`, Server-Sent Events): its status changes and, while
//! it runs, how far it has read its content files. Served by the events function, which streams
//! its response (a Lambda function URL in `RESPONSE_STREAM` mode), and locally by the platform.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;
use serde::Serialize;
use utoipa::ToSchema;

use std::collections::HashMap;

use helix_domain::{JobId, JobProgress, JobRead, JobStatus, PipelineId};

use crate::extract::{Caller, could_exist};
use crate::{ApiError, ErrorBody, EventsState};

/// How often the stream looks at the job.
const POLL: Duration = Duration::from_millis(250);
/// A comment line after this long without an event keeps proxies from closing the stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A stream ends after this long (a function URL's limit is 15 minutes); the client reconnects.
const MAX_STREAM: Duration = Duration::from_secs(14 * 60);

pub fn router() -> Router<EventsState> {
    Router::new()
        .route("/api/v1/jobs/{id}/events", get(job_events))
        .route("/api/v1/pipelines/{id}/events", get(pipeline_events))
}

/// How many of a pipeline's latest runs its stream follows.
const PIPELINE_RUNS: u32 = 20;

/// The data of each event: the job, and its progress while it runs.
#[derive(Serialize, ToSchema)]
pub struct JobEvent {
    pub status: JobStatus,
    /// While the job runs: bytes and lines of its content files read so far.
    pub progress: Option<JobProgress>,
    pub job: JobRead,
}

/// What the stream last sent.
struct Watch {
    state: EventsState,
    caller: helix_jobs::Actor,
    id: JobId,
    sent: Option<(JobStatus, Option<JobProgress>)>,
    done: bool,
    started: Instant,
}

impl Watch {
    /// The next event: the job's state once it differs from what was sent; `None` once the job
    /// has finished (its last event sent), its reader may no longer see it, or the stream is old.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if self.done || self.started.elapsed() > MAX_STREAM {
                return None;
            }
            let job = match self.state.jobs.get(&self.caller, &self.id).await {
                Ok(job) => job,
                Err(e) => {
                    self.done = true;
                    let body = serde_json::json!({"error": {"message": e.to_string()}});
                    return Some((Ok(Event::default().event("error").data(body.to_string())), self));
                }
            };
            let progress = match job.status {
                JobStatus::Running => self.state.progress.read(&job.id).await.ok().flatten(),
                _ => None,
            };
            let now = (job.status, progress);
            if self.sent != Some(now) {
                let kind = if self.sent.map(|(status, _)| status) == Some(job.status) { "progress" } else { "status" };
                self.sent = Some(now);
                self.done = job.status.is_terminal();
                let data = JobEvent { status: job.status, progress, job: JobRead::from(job) };
                let data = serde_json::to_string(&data).unwrap_or_default();
                return Some((Ok(Event::default().event(kind).data(data)), self));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}/events", tag = "jobs", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, content_type = "text/event-stream", body = serde_json::Value,
        description = "Server-Sent Events, each with its `event` name and its `data`, the JSON of a `JobEvent` ({status, progress, job}): `status` at once and on every status change, `progress` while it runs (bytes and lines read), a `: keep-alive` comment after 15 s without one; the stream ends after the job's last status"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn job_events(
    State(state): State<EventsState>,
    Caller(caller): Caller,
    Path(id): Path<JobId>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("job"));
    }
    // Refused at once, as GET /jobs/{id}: an outsider learns nothing, not even over a stream.
    state.jobs.get(&caller, &id).await?;
    let watch = Watch { state, caller, id, sent: None, done: false, started: Instant::now() };
    let stream = futures::stream::unfold(watch, Watch::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

/// What a pipeline's stream last sent of each of its latest runs.
struct RunsWatch {
    state: EventsState,
    caller: helix_jobs::Actor,
    id: PipelineId,
    sent: HashMap<JobId, (JobStatus, u32, u32)>,
    pending: Vec<JobRead>,
    done: bool,
    started: Instant,
}

impl RunsWatch {
    /// The next `run` event: a run among the pipeline's latest that is new or changed (status,
    /// attempt, retry) since it was last sent, oldest first.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(run) = self.pending.pop() {
                let data = serde_json::to_string(&run).unwrap_or_default();
                return Some((Ok(Event::default().event("run").data(data)), self));
            }
            if self.done || self.started.elapsed() > MAX_STREAM {
                return None;
            }
            if !self.sent.is_empty() {
                tokio::time::sleep(POLL * 4).await;
            }
            let runs = match self.state.pipelines.runs(&self.caller, &self.id, Some(PIPELINE_RUNS), None).await {
                Ok(list) => list.jobs,
                Err(e) => {
                    self.done = true;
                    let body = serde_json::json!({"error": {"message": e.to_string()}});
                    return Some((Ok(Event::default().event("error").data(body.to_string())), self));
                }
            };
            // Newest first from the store: kept so, popped from the back, they go out oldest first.
            for job in runs {
                let seen = (job.status, job.attempts, job.retries);
                if self.sent.insert(job.id.clone(), seen) != Some(seen) {
                    self.pending.push(JobRead::from(job));
                }
            }
        }
    }
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/events", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id")),
    responses((status = 200, content_type = "text/event-stream", body = serde_json::Value,
        description = "Server-Sent Events, each with its `event` name and its `data`, the JSON of a job (`JobRead`): a `run` event for each of the pipeline's 20 latest runs at once, then whenever one of them is new or changes status, attempt or retry; a `: keep-alive` comment after 15 s without one; the stream ends after 14 minutes (reconnect)"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn pipeline_events(
    State(state): State<EventsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("pipeline"));
    }
    state.pipelines.get(&caller, &id).await?;
    let watch = RunsWatch {
        state,
        caller,
        id,
        sent: HashMap::new(),
        pending: Vec::new(),
        done: false,
        started: Instant::now(),
    };
    let stream = futures::stream::unfold(watch, RunsWatch::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}
