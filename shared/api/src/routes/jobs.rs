use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::artifact::media_type_for;
use helix_domain::{ArtifactId, ArtifactKind, JobId, JobKind, JobRead, JobStatus, PipelineId, TeamId};
use helix_jobs::{CloneRequest, InlineFile, Input, InputSource, JobCost, JobQuery, JobRequest, validate_filename};

use crate::extract::{Caller, JsonBody, could_exist};
use crate::idempotency::honour_idempotency_key;
use crate::{ApiError, ErrorBody, JobsState, RequestKeys, TraceContext};

pub fn router(payload_limit: usize, keys: RequestKeys) -> Router<JobsState> {
    let idempotent = axum::middleware::from_fn_with_state(keys, honour_idempotency_key);
    Router::new()
        .route("/api/v1/jobs", post(create_job).layer(idempotent.clone()).get(list_jobs))
        .route("/api/v1/jobs/upload", post(upload_job).layer(DefaultBodyLimit::max(payload_limit)).layer(idempotent))
        .route("/api/v1/jobs/{id}", get(get_job).delete(delete_job))
        .route("/api/v1/jobs/{id}/cancel", post(cancel_job))
        .route("/api/v1/jobs/{id}/retry", post(retry_job))
        .route("/api/v1/jobs/{id}/clone", post(clone_job))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobCreate {
    /// The team the job belongs to; default: the caller's personal team (an API key's: its team).
    team_id: Option<TeamId>,
    /// `transform` (the default) or `suggest-mapping` (a draft context from content + schema).
    #[serde(default)]
    kind: JobKind,
    /// The content artifacts to transform, 1 to 20.
    #[schema(min_items = 1, max_items = 20)]
    content_artifact_ids: Vec<ArtifactId>,
    context_artifact_id: Option<ArtifactId>,
    schema_artifact_id: Option<ArtifactId>,
    /// Mapping rules as YAML text, instead of `context_artifact_id`.
    context: Option<String>,
    /// The target JSON Schema (an object, or its JSON text), instead of `schema_artifact_id`.
    schema: Option<serde_json::Value>,
    /// At most 200 characters (after trimming).
    #[schema(max_length = 200)]
    name: Option<String>,
    /// `transform` only, with a context and a schema: the target fields the schema requires and
    /// the context leaves unmapped are proposed by the mapping suggestion (recorded on the job as
    /// `auto_mapped_fields`) and added to the context the job runs with.
    #[serde(default)]
    auto_map: bool,
    /// The CSV tables the context's `lookups:` read (content artifacts), one per declared table,
    /// matched to it by file name.
    #[serde(default)]
    lookup_artifact_ids: Vec<ArtifactId>,
}

/// `POST /jobs/upload`: the files themselves in one `multipart/form-data` body (for documentation:
/// the handler reads the parts one by one).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct JobUpload {
    /// The team the job belongs to; default: the caller's personal team (an API key's: its team).
    #[schema(nullable = false)]
    team_id: Option<String>,
    /// The content file (CSV, fixed-width, SAP IDoc, JSON/NDJSON, XML).
    #[schema(value_type = String, format = Binary)]
    content_file: Vec<u8>,
    /// Mapping rules (YAML).
    #[schema(value_type = String, format = Binary, required = false)]
    context_file: Option<Vec<u8>>,
    /// The target JSON Schema.
    #[schema(value_type = String, format = Binary, required = false)]
    schema_file: Option<Vec<u8>>,
    /// UTF-8 text, at most 200 characters (after trimming).
    #[schema(max_length = 200, nullable = false)]
    name: Option<String>,
    /// As for `POST /jobs`.
    #[schema(nullable = false)]
    auto_map: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct JobList {
    pub items: Vec<JobWithCost>,
    pub next_cursor: Option<String>,
}

/// A job with what its metered usage cost so far.
#[derive(Serialize, ToSchema)]
pub struct JobWithCost {
    #[serde(flatten)]
    pub job: JobRead,
    /// Its cost, breakdown and the price table's version.
    pub cost: JobCost,
}

/// The jobs, each with its cost (read from the ledger concurrently).
async fn with_costs(state: &JobsState, jobs: Vec<helix_domain::Job>) -> Result<Vec<JobWithCost>, ApiError> {
    let ids: Vec<JobId> = jobs.iter().map(|job| job.id.clone()).collect();
    let costs = state.costs.job_costs(&ids).await?;
    Ok(jobs.into_iter().zip(costs).map(|(job, cost)| JobWithCost { job: JobRead::from(job), cost }).collect())
}

/// One of two ways of giving a document: an artifact id or the document inline, not both. An id
/// that cannot exist is answered as an unknown one is, without a look-up.
pub(crate) fn either(
    artifact: Option<ArtifactId>,
    inline: Option<String>,
    artifact_field: &str,
    inline_field: &str,
) -> Result<Option<Input>, ApiError> {
    match (artifact, inline) {
        (Some(_), Some(_)) => Err(ApiError::unprocessable(
            inline_field,
            format!("give either {inline_field} or {artifact_field}, not both"),
        )),
        (Some(id), None) if !could_exist(id.as_str()) => {
            Err(ApiError::unprocessable(artifact_field, format!("artifact {id} does not exist")))
        }
        (Some(id), None) => Ok(Some(Input::new(artifact_field, InputSource::Artifact(id)))),
        (None, Some(text)) => Ok(Some(Input::new(inline_field, InputSource::Text(text)))),
        (None, None) => Ok(None),
    }
}

/// An artifact id that cannot exist is answered as an unknown one is (422, naming the field),
/// without a look-up (the table would refuse it as a key).
fn check_artifact_ids(
    contents: &[ArtifactId],
    context: Option<&ArtifactId>,
    schema: Option<&ArtifactId>,
    lookups: &[ArtifactId],
) -> Result<(), ApiError> {
    let listed = |field: &'static str, ids: &[ArtifactId]| {
        ids.iter().enumerate().map(move |(i, id)| (format!("{field}[{i}]"), id.clone())).collect::<Vec<_>>()
    };
    let single = |field: &str, id: Option<&ArtifactId>| id.iter().map(|id| (field.to_owned(), (*id).clone())).collect();
    let all: Vec<(String, ArtifactId)> = [
        listed("content_artifact_ids", contents),
        single("context_artifact_id", context),
        single("schema_artifact_id", schema),
        listed("lookup_artifact_ids", lookups),
    ]
    .concat();
    match all.into_iter().find(|(_, id)| !could_exist(id.as_str())) {
        Some((field, id)) => Err(ApiError::unprocessable(field, format!("artifact {id} does not exist"))),
        None => Ok(()),
    }
}

impl JobCreate {
    /// An id that cannot exist is answered as an unknown one is (422, naming the field), without
    /// a look-up.
    fn check_ids(&self) -> Result<(), ApiError> {
        check_artifact_ids(
            &self.content_artifact_ids,
            self.context_artifact_id.as_ref(),
            self.schema_artifact_id.as_ref(),
            &self.lookup_artifact_ids,
        )
    }

    fn into_request(self, traceparent: Option<String>) -> Result<JobRequest, ApiError> {
        self.check_ids()?;
        let schema_text = self.schema.map(|schema| match schema {
            serde_json::Value::String(text) => text,
            value => value.to_string(),
        });
        Ok(JobRequest {
            team_id: self.team_id,
            kind: self.kind,
            name: self.name,
            content_field: "content_artifact_ids",
            content: self
                .content_artifact_ids
                .into_iter()
                .enumerate()
                .map(|(i, id)| Input::new(format!("content_artifact_ids[{i}]"), InputSource::Artifact(id)))
                .collect(),
            context: either(self.context_artifact_id, self.context, "context_artifact_id", "context")?,
            schema: either(self.schema_artifact_id, schema_text, "schema_artifact_id", "schema")?,
            lookups: Some(self.lookup_artifact_ids),
            auto_map: self.auto_map,
            traceparent,
            pipeline: None,
        })
    }
}

#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", security(("oauth2" = []), ("api_key" = [])), request_body = JobCreate,
    responses((status = 202, body = JobRead), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A request with the same Idempotency-Key is still running"),
        (status = 403, body = ErrorBody, description = "The caller's role in the team, or the API key's scopes, may not create jobs"),
        (status = 404, body = ErrorBody, description = "No such team among the caller's"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody)))]
pub async fn create_job(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    trace: Option<Extension<TraceContext>>,
    JsonBody(request): JsonBody<JobCreate>,
) -> Result<(StatusCode, Json<JobRead>), ApiError> {
    let request = request.into_request(trace.map(|Extension(t)| t.0))?;
    let job = state.jobs.submit(&caller, request).await?;
    Ok((StatusCode::ACCEPTED, Json(JobRead::from(job))))
}

const UPLOAD_FIELDS: &str = "content_file, context_file, schema_file, name, auto_map or team_id";

#[utoipa::path(post, path = "/api/v1/jobs/upload", tag = "jobs", security(("oauth2" = []), ("api_key" = [])),
    request_body(content = JobUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = JobRead), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A request with the same Idempotency-Key is still running"),
        (status = 403, body = ErrorBody, description = "The caller's role in the team, or the API key's scopes, may not create jobs"),
        (status = 404, body = ErrorBody, description = "No such team among the caller's"),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_job(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    trace: Option<Extension<TraceContext>>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<JobRead>), ApiError> {
    let mut multipart = multipart.map_err(|e| ApiError::BadRequest { field: None, message: e.body_text() })?;
    let mut files: HashMap<&'static str, Input> = HashMap::new();
    let mut request = JobRequest {
        content_field: "content_file",
        traceparent: trace.map(|Extension(t)| t.0),
        ..JobRequest::default()
    };
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let (key, kind) = match field.name().unwrap_or_default() {
            "content_file" => ("content_file", ArtifactKind::Content),
            "context_file" => ("context_file", ArtifactKind::Context),
            "schema_file" => ("schema_file", ArtifactKind::Schema),
            "name" => {
                request.name = Some(text_part(field, "name").await?);
                continue;
            }
            "team_id" => {
                request.team_id = Some(TeamId::from(text_part(field, "team_id").await?.trim()));
                continue;
            }
            "auto_map" => {
                request.auto_map = match text_part(field, "auto_map").await?.trim() {
                    "true" | "on" => true,
                    "false" | "" => false,
                    _ => return Err(ApiError::bad_request("auto_map", "must be true or false")),
                };
                continue;
            }
            other => {
                return Err(ApiError::bad_request(other, format!("unexpected form field; expected {UPLOAD_FIELDS}")));
            }
        };
        if files.contains_key(key) {
            return Err(ApiError::bad_request(key, "given more than once"));
        }
        let filename = field.file_name().map(str::to_owned).unwrap_or_else(|| key.replace("_file", ""));
        validate_filename(&filename).map_err(|_| ApiError::unprocessable(key, "the file needs a name"))?;
        // A declared type wins unless it is the browsers' and curl's catch-all.
        let content_type = match field.content_type().filter(|ct| !ct.is_empty() && *ct != "application/octet-stream") {
            Some(declared) => declared.to_owned(),
            None => media_type_for(&filename, kind).to_owned(),
        };
        let bytes = field.bytes().await.map_err(multipart_error)?.to_vec();
        let file = InlineFile { kind, filename, content_type, bytes };
        files.insert(key, Input::new(key, InputSource::File(file)));
    }
    request.content =
        vec![files.remove("content_file").ok_or_else(|| ApiError::bad_request("content_file", "is required"))?];
    request.context = files.remove("context_file");
    request.schema = files.remove("schema_file");
    let job = state.jobs.submit(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(JobRead::from(job))))
}

/// A text part's value: UTF-8 or refused. (`Field::text` would decode invalid bytes as U+FFFD and
/// a part led by a UTF-16 byte-order mark as UTF-16.)
async fn text_part(field: axum::extract::multipart::Field<'_>, part: &'static str) -> Result<String, ApiError> {
    let bytes = field.bytes().await.map_err(multipart_error)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::bad_request(part, format!("{part} must be UTF-8 text")))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge {
            field: None,
            message:
                "the upload exceeds the API's payload limit; upload large files with POST /api/v1/artifacts/upload"
                    .into(),
        }
    } else {
        ApiError::BadRequest { field: None, message: format!("malformed multipart body: {}", e.body_text()) }
    }
}

#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", security(("oauth2" = []), ("api_key" = [])),
    params(("team_id" = Option<String>, Query, description = "The team whose jobs to list; default: the caller's personal team (an API key's: its team)"),
           ("status" = Option<JobStatus>, Query, description = "PENDING, RUNNING, COMPLETED, FAILED or CANCELLED"),
           ("pipeline_id" = Option<String>, Query, description = "List this pipeline's runs instead (newest first); takes no team_id or status"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "1 to 100, default 20"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such team or pipeline among the caller's")))]
pub async fn list_jobs(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<JobList>, ApiError> {
    const KNOWN: [&str; 5] = ["team_id", "status", "limit", "cursor", "pipeline_id"];
    if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(ApiError::bad_request(unknown.as_str(), "unknown query parameter"));
    }
    let status = params
        .get("status")
        .map(|s| {
            JobStatus::parse(&s.to_ascii_uppercase()).ok_or_else(|| {
                ApiError::bad_request("status", "must be PENDING, RUNNING, COMPLETED, FAILED or CANCELLED")
            })
        })
        .transpose()?;
    let limit = params
        .get("limit")
        .map(|l| l.parse::<u32>().map_err(|_| ApiError::bad_request("limit", "must be a number from 1 to 100")))
        .transpose()?;
    if let Some(pipeline) = params.get("pipeline_id") {
        if let Some(other) = ["team_id", "status"].into_iter().find(|k| params.contains_key(*k)) {
            return Err(ApiError::bad_request(
                other,
                "pipeline_id lists one pipeline's runs: give no team_id or status",
            ));
        }
        if !could_exist(pipeline) {
            return Err(ApiError::NotFound("pipeline"));
        }
        let id = PipelineId::from(pipeline.as_str());
        let page = state.pipelines.runs(&caller, &id, limit, params.get("cursor").map(String::as_str)).await?;
        return Ok(Json(JobList { items: with_costs(&state, page.jobs).await?, next_cursor: page.next_cursor }));
    }
    let query = JobQuery {
        team_id: params.get("team_id").map(|t| TeamId::from(t.as_str())),
        status,
        limit,
        cursor: params.get("cursor").cloned(),
    };
    let page = state.jobs.list(&caller, query).await?;
    Ok(Json(JobList { items: with_costs(&state, page.jobs).await?, next_cursor: page.next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, body = JobWithCost), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_job(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<JobId>,
) -> Result<Json<JobWithCost>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("job"));
    }
    let job = state.jobs.get(&caller, &id).await?;
    let cost = state.costs.job_cost(&job.id).await?;
    Ok(Json(JobWithCost { job: JobRead::from(job), cost }))
}

#[utoipa::path(delete, path = "/api/v1/jobs/{id}", tag = "jobs", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 204, description = "The job and its outputs (result, reject report) are deleted; its inputs stay"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team, or the API key's scopes, may not create jobs"),
        (status = 404, body = ErrorBody, description = "No such job among the caller's (a deleted job too)"),
        (status = 409, body = ErrorBody, description = "The job is PENDING or RUNNING: cancel it first")))]
pub async fn delete_job(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<JobId>,
) -> Result<StatusCode, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("job"));
    }
    state.jobs.delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, body = JobRead, description = "The job, CANCELLED"), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team, or the API key's scopes, may not create jobs"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The job has finished (COMPLETED, FAILED or CANCELLED): it is not changed")))]
pub async fn cancel_job(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<JobId>,
) -> Result<Json<JobRead>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("job"));
    }
    let cancelled = state.jobs.cancel(&caller, &id).await?;
    state.webhooks.run_ended(&cancelled).await;
    Ok(Json(JobRead::from(cancelled)))
}

#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 202, body = JobRead, description = "The job, PENDING again: its next run is queued"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team, or the API key's scopes, may not create jobs"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The job is not FAILED or CANCELLED: it is not changed")))]
pub async fn retry_job(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<JobId>,
) -> Result<(StatusCode, Json<JobRead>), ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("job"));
    }
    Ok((StatusCode::ACCEPTED, Json(JobRead::from(state.jobs.retry(&caller, &id).await?))))
}

/// What a clone replaces of the job's inputs; everything left out is the job's.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobClone {
    name: Option<String>,
    context_artifact_id: Option<ArtifactId>,
    schema_artifact_id: Option<ArtifactId>,
    lookup_artifact_ids: Option<Vec<ArtifactId>>,
    auto_map: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/jobs/{id}/clone", tag = "jobs", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The job's id")), request_body = JobClone,
    responses((status = 202, body = JobRead, description = "The new job, PENDING"), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role in the team, or the API key's scopes, may not create jobs"),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody, description = "A replacement that is not a usable artifact of the team")))]
pub async fn clone_job(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<JobId>,
    JsonBody(body): JsonBody<JobClone>,
) -> Result<(StatusCode, Json<JobRead>), ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("job"));
    }
    let lookups = body.lookup_artifact_ids.as_deref().unwrap_or_default();
    check_artifact_ids(&[], body.context_artifact_id.as_ref(), body.schema_artifact_id.as_ref(), lookups)?;
    let request = CloneRequest {
        name: body.name,
        context_artifact_id: body.context_artifact_id,
        schema_artifact_id: body.schema_artifact_id,
        lookup_artifact_ids: body.lookup_artifact_ids,
        auto_map: body.auto_map,
    };
    Ok((StatusCode::ACCEPTED, Json(JobRead::from(state.jobs.clone_job(&caller, &id, request).await?))))
}

#[cfg(test)]
mod tests {
    use axum::extract::{FromRequest, Multipart};
    use axum::http::Request;

    use super::*;

    async fn text_of(value: &[u8]) -> Result<String, ApiError> {
        let mut body = b"--B\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n".to_vec();
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n--B--\r\n");
        let request = Request::post("/")
            .header("content-type", "multipart/form-data; boundary=B")
            .body(axum::body::Body::from(body))
            .unwrap();
        let mut multipart = Multipart::from_request(request, &()).await.unwrap();
        let field = multipart.next_field().await.unwrap().unwrap();
        text_part(field, "name").await
    }

    #[tokio::test]
    async fn text_parts_must_be_utf8() {
        assert_eq!(text_of("Bestellungen Zürich".as_bytes()).await.unwrap(), "Bestellungen Zürich");
        let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain("ab".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        for bad in [&b"caf\xE9"[..], &utf16] {
            match text_of(bad).await.unwrap_err() {
                ApiError::BadRequest { field, .. } => assert_eq!(field.as_deref(), Some("name")),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
