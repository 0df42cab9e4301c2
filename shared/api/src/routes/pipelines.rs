//! Pipelines (served by the jobs function): a team's named mapping, its immutable versions, their
//! diffs, and runs, which are jobs.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::{
    ArtifactId, ChainRun, ComparisonRead, JobId, JobRead, Pipeline, PipelineDiff, PipelineId, PipelineOptions,
    PipelineRead, PipelineVersion, RunId, TeamId, Timestamp,
};
use helix_jobs::{
    ComparisonView, DropRequest, NewPipeline, PipelineDefinition, PipelineRun, RunStarted, StepDefinition,
};

use crate::extract::{Caller, JsonBody, could_exist};
use crate::idempotency::honour_idempotency_key;
use crate::routes::jobs::either;
use crate::{ApiError, ErrorBody, JobsState, RequestKeys, TraceContext};

pub fn router(keys: RequestKeys) -> Router<JobsState> {
    let idempotent = axum::middleware::from_fn_with_state(keys, honour_idempotency_key);
    Router::new()
        .route("/api/v1/pipelines", post(create_pipeline).layer(idempotent.clone()).get(list_pipelines))
        .route("/api/v1/pipelines/{id}", get(get_pipeline).patch(update_pipeline).delete(delete_pipeline))
        .route("/api/v1/pipelines/{id}/versions", post(create_version).get(list_versions))
        .route("/api/v1/pipelines/{id}/versions/{version}", get(get_version))
        .route("/api/v1/pipelines/{id}/versions/{from}/diff/{to}", get(diff_versions))
        .route("/api/v1/pipelines/{id}/runs", post(run_pipeline).layer(idempotent.clone()))
        .route("/api/v1/pipelines/{id}/runs/{run_id}", get(get_run))
        .route("/api/v1/pipelines/{id}/runs/{run_id}/retry", post(retry_run).layer(idempotent.clone()))
        .route("/api/v1/pipelines/{id}/runs/{run_id}/cancel", post(cancel_run))
        .route("/api/v1/pipelines/{id}/versions/{version}/compare", post(compare_version).layer(idempotent))
        .route("/api/v1/pipelines/{id}/comparisons/{job_id}", get(get_comparison))
        .route("/api/v1/pipelines/{id}/drops", post(create_drop))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineCreate {
    /// 1 to 100 characters (after trimming).
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// The team the pipeline belongs to; default: the caller's personal team.
    team_id: Option<TeamId>,
    /// Mapping rules as YAML text, instead of `context_artifact_id`.
    context: Option<String>,
    /// The target JSON Schema (an object, or its JSON text), instead of `schema_artifact_id`.
    schema: Option<serde_json::Value>,
    context_artifact_id: Option<ArtifactId>,
    schema_artifact_id: Option<ArtifactId>,
    /// The CSV tables the context's `lookups:` read, one per declared table.
    lookup_artifact_ids: Option<Vec<ArtifactId>>,
    options: Option<PipelineOptions>,
    /// The file names the inbox takes: globs (`*`, `?`, `[abc]`) of a name without `/`, e.g.
    /// `ORDERS_*.csv`; at most 20. Every name when left out.
    patterns: Option<Vec<String>>,
    /// A chained pipeline's steps (at most 20, a DAG): each runs as a job with its own
    /// documents, on the run's content or on the results of the steps it names in `after`.
    steps: Option<Vec<StepCreate>>,
}

/// One step of a chained version.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepCreate {
    /// 1 to 40 letters, digits, `-` or `_`; unique in the version.
    #[schema(min_length = 1, max_length = 40)]
    name: String,
    context: Option<String>,
    schema: Option<serde_json::Value>,
    context_artifact_id: Option<ArtifactId>,
    schema_artifact_id: Option<ArtifactId>,
    lookup_artifact_ids: Option<Vec<ArtifactId>>,
    /// The steps whose results are this step's content files, in this order (fan-in); the
    /// run's content when left out.
    #[serde(default)]
    after: Vec<String>,
}

/// A new version: what it gives replaces the current version's; what it leaves out is kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionCreate {
    context: Option<String>,
    schema: Option<serde_json::Value>,
    context_artifact_id: Option<ArtifactId>,
    schema_artifact_id: Option<ArtifactId>,
    lookup_artifact_ids: Option<Vec<ArtifactId>>,
    options: Option<PipelineOptions>,
    /// The steps of a chained version, replacing the current ones; `[]` makes a one-job version.
    /// Kept when left out.
    steps: Option<Vec<StepCreate>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineUpdate {
    /// 1 to 100 characters (after trimming).
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    /// The inbox's file-name globs, replacing the current ones; `[]` takes every name.
    patterns: Option<Vec<String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunCreate {
    /// The content artifacts to run the pipeline on, 1 to 20, uploaded to the pipeline's team.
    #[schema(min_items = 1, max_items = 20)]
    content_artifact_ids: Vec<ArtifactId>,
    /// The version to run; default: the current one.
    #[schema(minimum = 1)]
    version: Option<u32>,
    /// The job's name; default: the pipeline's name and the version.
    #[schema(max_length = 200)]
    name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareCreate {
    /// A COMPLETED run of the pipeline's team whose input is run again with the version.
    job_id: JobId,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PipelineList {
    pub items: Vec<PipelineRead>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct VersionList {
    pub items: Vec<PipelineVersion>,
}

fn lookups(ids: Option<Vec<ArtifactId>>, field: &str) -> Result<Option<Vec<ArtifactId>>, ApiError> {
    if let Some(ids) = &ids
        && let Some((i, id)) = ids.iter().enumerate().find(|(_, id)| !could_exist(id.as_str()))
    {
        return Err(ApiError::unprocessable(format!("{field}[{i}]"), format!("artifact {id} does not exist")));
    }
    Ok(ids)
}

fn definition(
    context: Option<String>,
    schema: Option<serde_json::Value>,
    context_artifact_id: Option<ArtifactId>,
    schema_artifact_id: Option<ArtifactId>,
    lookup_artifact_ids: Option<Vec<ArtifactId>>,
    options: Option<PipelineOptions>,
    steps: Option<Vec<StepCreate>>,
) -> Result<PipelineDefinition, ApiError> {
    let steps = match steps {
        Some(steps) => {
            Some(steps.into_iter().enumerate().map(|(i, step)| step_definition(i, step)).collect::<Result<_, _>>()?)
        }
        None => None,
    };
    Ok(PipelineDefinition {
        context: either(context_artifact_id, context, "context_artifact_id", "context")?,
        schema: either(schema_artifact_id, schema.map(schema_text), "schema_artifact_id", "schema")?,
        lookups: lookups(lookup_artifact_ids, "lookup_artifact_ids")?,
        options,
        steps,
    })
}

/// A schema sent as an object or as its JSON text.
fn schema_text(schema: serde_json::Value) -> String {
    match schema {
        serde_json::Value::String(text) => text,
        value => value.to_string(),
    }
}

/// Step `i` as sent, its fields named `steps[i].…`.
fn step_definition(i: usize, step: StepCreate) -> Result<StepDefinition, ApiError> {
    let field = |name: &str| format!("steps[{i}].{name}");
    Ok(StepDefinition {
        name: step.name,
        context: either(step.context_artifact_id, step.context, &field("context_artifact_id"), &field("context"))?,
        schema: either(
            step.schema_artifact_id,
            step.schema.map(schema_text),
            &field("schema_artifact_id"),
            &field("schema"),
        )?,
        lookups: lookups(step.lookup_artifact_ids, &field("lookup_artifact_ids"))?.or(Some(Vec::new())),
        after: step.after,
    })
}

fn pipeline_id(id: PipelineId) -> Result<PipelineId, ApiError> {
    if could_exist(id.as_str()) { Ok(id) } else { Err(ApiError::NotFound("pipeline")) }
}

/// A version number in a path: anything else names no version.
fn version_number(text: &str) -> Result<u32, ApiError> {
    text.parse::<u32>().ok().filter(|n| *n > 0).ok_or(ApiError::NotFound("version"))
}

fn read(state: &JobsState, pipeline: &Pipeline) -> PipelineRead {
    pipeline.read(&state.pipelines.bucket)
}

#[utoipa::path(post, path = "/api/v1/pipelines", tag = "pipelines", security(("oauth2" = [])), request_body = PipelineCreate,
    responses((status = 201, body = PipelineRead, description = "The pipeline, at version 1"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team (or an API key) may not edit pipelines"),
        (status = 404, body = ErrorBody, description = "No such team among the caller's"),
        (status = 409, body = ErrorBody, description = "A request with the same Idempotency-Key is still running"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody)))]
pub async fn create_pipeline(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    JsonBody(body): JsonBody<PipelineCreate>,
) -> Result<(StatusCode, Json<PipelineRead>), ApiError> {
    let definition = definition(
        body.context,
        body.schema,
        body.context_artifact_id,
        body.schema_artifact_id,
        body.lookup_artifact_ids,
        body.options,
        body.steps,
    )?;
    let patterns = body.patterns.unwrap_or_default();
    let request = NewPipeline { team_id: body.team_id, name: body.name, definition, patterns };
    let (pipeline, _) = state.pipelines.create(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(read(&state, &pipeline))))
}

#[utoipa::path(get, path = "/api/v1/pipelines", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("team_id" = Option<String>, Query, description = "The team whose pipelines to list; default: the caller's personal team (an API key's: its team)"),
           ("include_archived" = Option<bool>, Query, description = "Also list deleted (archived) pipelines; default false")),
    responses((status = 200, body = PipelineList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The API key's scopes may not read the team"),
        (status = 404, body = ErrorBody, description = "No such team among the caller's")))]
pub async fn list_pipelines(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<PipelineList>, ApiError> {
    if let Some(unknown) = params.keys().find(|k| !["team_id", "include_archived"].contains(&k.as_str())) {
        return Err(ApiError::bad_request(unknown.as_str(), "unknown query parameter"));
    }
    let include_archived = match params.get("include_archived").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::bad_request("include_archived", "must be true or false")),
    };
    let team = params.get("team_id").map(|t| TeamId::from(t.as_str()));
    let pipelines = state.pipelines.list(&caller, team, include_archived).await?;
    Ok(Json(PipelineList { items: pipelines.iter().map(|p| read(&state, p)).collect() }))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id")),
    responses((status = 200, body = PipelineRead), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The API key's scopes may not read the team"),
        (status = 404, body = ErrorBody)))]
pub async fn get_pipeline(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
) -> Result<Json<PipelineRead>, ApiError> {
    let pipeline = state.pipelines.get(&caller, &pipeline_id(id)?).await?;
    Ok(Json(read(&state, &pipeline)))
}

#[utoipa::path(patch, path = "/api/v1/pipelines/{id}", tag = "pipelines", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The pipeline's id")), request_body = PipelineUpdate,
    responses((status = 200, body = PipelineRead), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role (or an API key) may not edit pipelines"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The pipeline is archived, or changed meanwhile"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody)))]
pub async fn update_pipeline(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
    JsonBody(body): JsonBody<PipelineUpdate>,
) -> Result<Json<PipelineRead>, ApiError> {
    let id = pipeline_id(id)?;
    let renamed = match &body.name {
        Some(name) => Some(state.pipelines.rename(&caller, &id, name).await?),
        None => None,
    };
    let pipeline = match body.patterns {
        Some(patterns) => state.pipelines.set_patterns(&caller, &id, patterns).await?,
        None => renamed.ok_or_else(|| ApiError::bad_request("name", "give a name, patterns, or both"))?,
    };
    Ok(Json(read(&state, &pipeline)))
}

#[utoipa::path(delete, path = "/api/v1/pipelines/{id}", tag = "pipelines", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The pipeline's id")),
    responses((status = 204, description = "Archived: kept with its versions and runs, it takes no new ones"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role (or an API key) may not edit pipelines"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The pipeline changed meanwhile")))]
pub async fn delete_pipeline(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
) -> Result<StatusCode, ApiError> {
    state.pipelines.archive(&caller, &pipeline_id(id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/pipelines/{id}/versions", tag = "pipelines", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The pipeline's id")), request_body = VersionCreate,
    responses((status = 201, body = PipelineVersion, description = "The new version, now the current one"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role (or an API key) may not edit pipelines"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The pipeline is archived, or another version was saved meanwhile"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody)))]
pub async fn create_version(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
    JsonBody(body): JsonBody<VersionCreate>,
) -> Result<(StatusCode, Json<PipelineVersion>), ApiError> {
    let definition = definition(
        body.context,
        body.schema,
        body.context_artifact_id,
        body.schema_artifact_id,
        body.lookup_artifact_ids,
        body.options,
        body.steps,
    )?;
    let version = state.pipelines.save_version(&caller, &pipeline_id(id)?, definition).await?;
    Ok((StatusCode::CREATED, Json(version)))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/versions", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id")),
    responses((status = 200, body = VersionList, description = "Every version, oldest first"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The API key's scopes may not read the team"),
        (status = 404, body = ErrorBody)))]
pub async fn list_versions(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
) -> Result<Json<VersionList>, ApiError> {
    Ok(Json(VersionList { items: state.pipelines.versions(&caller, &pipeline_id(id)?).await? }))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/versions/{version}", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id"), ("version" = u32, Path, minimum = 1, description = "The version's number")),
    responses((status = 200, body = PipelineVersion), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The API key's scopes may not read the team"),
        (status = 404, body = ErrorBody)))]
pub async fn get_version(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path((id, version)): Path<(PipelineId, String)>,
) -> Result<Json<PipelineVersion>, ApiError> {
    let version = version_number(&version)?;
    Ok(Json(state.pipelines.version(&caller, &pipeline_id(id)?, version).await?))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/versions/{from}/diff/{to}", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id"),
           ("from" = u32, Path, minimum = 1, description = "The old version"),
           ("to" = u32, Path, minimum = 1, description = "The new version")),
    responses((status = 200, body = PipelineDiff, description = "Unified diffs of the two versions' contexts and schemas"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The API key's scopes may not read the team"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A version's document can no longer be read")))]
pub async fn diff_versions(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path((id, from, to)): Path<(PipelineId, String, String)>,
) -> Result<Json<PipelineDiff>, ApiError> {
    let (from, to) = (version_number(&from)?, version_number(&to)?);
    Ok(Json(state.pipelines.diff(&caller, &pipeline_id(id)?, from, to).await?))
}

#[utoipa::path(post, path = "/api/v1/pipelines/{id}/runs", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id")), request_body = RunCreate,
    responses((status = 202, body = RunStartedRead, description = "The run: a job that records the pipeline and the version; for a chained version, the run with its steps (the first ones submitted)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team, or the API key's scopes, may not create jobs"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The pipeline is archived, or a request with the same Idempotency-Key is still running"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody)))]
pub async fn run_pipeline(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    trace: Option<Extension<TraceContext>>,
    Path(id): Path<PipelineId>,
    JsonBody(body): JsonBody<RunCreate>,
) -> Result<(StatusCode, Json<RunStartedRead>), ApiError> {
    let id = pipeline_id(id)?;
    if let Some((i, id)) = body.content_artifact_ids.iter().enumerate().find(|(_, id)| !could_exist(id.as_str())) {
        return Err(ApiError::unprocessable(
            format!("content_artifact_ids[{i}]"),
            format!("artifact {id} does not exist"),
        ));
    }
    let run = PipelineRun {
        content: body.content_artifact_ids,
        version: body.version,
        name: body.name,
        traceparent: trace.map(|Extension(t)| t.0),
    };
    let started = match state.pipelines.start(&caller, &id, run).await? {
        RunStarted::Job(job) => RunStartedRead::Job(Box::new(JobRead::from(*job))),
        RunStarted::Chain(run) => RunStartedRead::Chain(run),
    };
    Ok((StatusCode::ACCEPTED, Json(started)))
}

/// A started run: a job, or for a chained version a run of one job per step.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RunStartedRead {
    Chain(Box<ChainRun>),
    Job(Box<JobRead>),
}

/// A run id in a path: anything that could not be one names no run.
fn run_id(id: RunId) -> Result<RunId, ApiError> {
    if could_exist(id.as_str()) { Ok(id) } else { Err(ApiError::NotFound("run")) }
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/runs/{run_id}", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id"), ("run_id" = String, Path, description = "A chained run's id")),
    responses((status = 200, body = ChainRun, description = "The run and its steps: each step's status, job and result"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The API key's scopes may not read the team"),
        (status = 404, body = ErrorBody)))]
pub async fn get_run(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path((id, run)): Path<(PipelineId, RunId)>,
) -> Result<Json<ChainRun>, ApiError> {
    Ok(Json(state.pipelines.chain_run(&caller, &pipeline_id(id)?, &run_id(run)?).await?))
}

#[utoipa::path(post, path = "/api/v1/pipelines/{id}/runs/{run_id}/retry", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id"), ("run_id" = String, Path, description = "A chained run's id")),
    responses((status = 202, body = ChainRun, description = "The run again RUNNING: its failed and skipped steps run again as new jobs (attempt + 1); completed steps keep their results"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team, or the API key's scopes, may not create jobs"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The run is not FAILED or CANCELLED, or a request with the same Idempotency-Key is still running")))]
pub async fn retry_run(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path((id, run)): Path<(PipelineId, RunId)>,
) -> Result<(StatusCode, Json<ChainRun>), ApiError> {
    let run = state.pipelines.retry_chain(&caller, &pipeline_id(id)?, &run_id(run)?).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}

#[utoipa::path(post, path = "/api/v1/pipelines/{id}/runs/{run_id}/cancel", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id"), ("run_id" = String, Path, description = "A chained run's id")),
    responses((status = 200, body = ChainRun, description = "The run CANCELLED: its running steps CANCELLED (their jobs cancelled), the steps not yet run SKIPPED"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team, or the API key's scopes, may not create jobs"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The run has ended (COMPLETED, FAILED or CANCELLED)")))]
pub async fn cancel_run(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path((id, run)): Path<(PipelineId, RunId)>,
) -> Result<Json<ChainRun>, ApiError> {
    let run = state.pipelines.cancel_chain(&caller, &pipeline_id(id)?, &run_id(run)?).await?;
    state.webhooks.chain_ended(&run).await;
    Ok(Json(run))
}

fn comparison_read(view: ComparisonView) -> ComparisonRead {
    let (records, fields) = match view.difference {
        Some((records, fields)) => (Some(records), fields),
        None => (None, Vec::new()),
    };
    ComparisonRead {
        pipeline_id: view.comparison.pipeline_id,
        version: view.comparison.version,
        baseline: JobRead::from(view.baseline),
        candidate: JobRead::from(view.candidate),
        records,
        fields,
    }
}

#[utoipa::path(post, path = "/api/v1/pipelines/{id}/versions/{version}/compare", tag = "pipelines",
    security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id"), ("version" = u32, Path, minimum = 1, description = "The version to try")),
    request_body = CompareCreate,
    responses((status = 202, body = ComparisonRead, description = "The version runs on the job's input; GET the comparison for the difference"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team, or the API key's scopes, may not create jobs"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The pipeline is archived, or a request with the same Idempotency-Key is still running"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody, description = "The job is unknown, another team's, or not COMPLETED")))]
pub async fn compare_version(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path((id, version)): Path<(PipelineId, String)>,
    JsonBody(body): JsonBody<CompareCreate>,
) -> Result<(StatusCode, Json<ComparisonRead>), ApiError> {
    let (id, version) = (pipeline_id(id)?, version_number(&version)?);
    if !could_exist(body.job_id.as_str()) {
        return Err(ApiError::unprocessable("job_id", format!("job {} does not exist", body.job_id)));
    }
    let view = state.pipelines.compare(&caller, &id, version, &body.job_id).await?;
    Ok((StatusCode::ACCEPTED, Json(comparison_read(view))))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/comparisons/{job_id}", tag = "pipelines",
    security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id"), ("job_id" = String, Path, description = "The comparison's candidate run")),
    responses((status = 200, body = ComparisonRead, description = "Both runs; once the candidate COMPLETED, records and fields that differ"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The API key's scopes may not read the team"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "An output cannot be read, or is too large to compare")))]
pub async fn get_comparison(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path((id, job_id)): Path<(PipelineId, JobId)>,
) -> Result<Json<ComparisonRead>, ApiError> {
    if !could_exist(job_id.as_str()) {
        return Err(ApiError::NotFound("comparison"));
    }
    let view = state.pipelines.comparison(&caller, &pipeline_id(id)?, &job_id).await?;
    Ok(Json(comparison_read(view)))
}

/// A file about to be dropped into the pipeline's inbox.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DropCreate {
    /// Its name in the inbox: one path segment, matching the pipeline's patterns.
    filename: String,
    /// Sent with the PUT, unchanged: it is signed.
    content_type: String,
    /// Its exact length; the PUT must send this many bytes.
    size_bytes: u64,
}

/// Where to PUT a dropped file. Once stored it starts one run of the pipeline's current version.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DropTicketBody {
    /// `s3://<bucket>/inbox/<team>/<pipeline>/<filename>`
    pub inbox_object: String,
    pub upload_url: String,
    pub method: String,
    /// Send these headers with the PUT, unchanged: they are signed.
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: Timestamp,
}

/// A presigned PUT into the pipeline's inbox: for a drop credential (an API key with scope
/// `pipelines:run` bound to this pipeline) or a team member who may upload.
#[utoipa::path(post, path = "/api/v1/pipelines/{id}/drops", tag = "pipelines", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The pipeline's id")), request_body = DropCreate,
    responses((status = 201, body = DropTicketBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role (or the API key's scopes) may not upload"),
        (status = 404, body = ErrorBody, description = "No such pipeline, or not the drop credential's"),
        (status = 409, body = ErrorBody, description = "The pipeline is archived"),
        (status = 413, body = ErrorBody, description = "size_bytes over the limit of one dropped file"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody, description = "A bad file name (or one the pipeline's patterns would ignore), content type or size")))]
pub async fn create_drop(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<PipelineId>,
    JsonBody(body): JsonBody<DropCreate>,
) -> Result<(StatusCode, Json<DropTicketBody>), ApiError> {
    let file = DropRequest { filename: body.filename, content_type: body.content_type, size_bytes: body.size_bytes };
    let ticket = state.pipelines.drop_ticket(&caller, &pipeline_id(id)?, file).await?;
    Ok((
        StatusCode::CREATED,
        Json(DropTicketBody {
            inbox_object: format!("s3://{}/{}", state.pipelines.bucket, ticket.key),
            upload_url: ticket.upload.url,
            method: ticket.upload.method,
            headers: ticket.upload.headers,
            expires_at: ticket.upload.expires_at,
        }),
    ))
}
