use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::artifact::media_type_for;
use helix_domain::{ArtifactId, ArtifactKind, JobId, JobKind, JobRead, JobStatus};
use helix_jobs::{InlineFile, Input, InputSource, JobQuery, JobRequest, validate_filename};

use crate::extract::{CurrentUser, JsonBody};
use crate::idempotency::honour_idempotency_key;
use crate::{ApiError, ErrorBody, JobsState, RequestKeys, TraceContext};

pub fn router(payload_limit: usize, keys: RequestKeys) -> Router<JobsState> {
    let idempotent = axum::middleware::from_fn_with_state(keys, honour_idempotency_key);
    Router::new()
        .route("/api/v1/jobs", post(create_job).layer(idempotent.clone()).get(list_jobs))
        .route("/api/v1/jobs/upload", post(upload_job).layer(DefaultBodyLimit::max(payload_limit)).layer(idempotent))
        .route("/api/v1/jobs/{id}", get(get_job))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobCreate {
    /// `transform` (the default) or `suggest-mapping` (a draft context from content + schema).
    #[serde(default)]
    kind: JobKind,
    content_artifact_ids: Vec<ArtifactId>,
    context_artifact_id: Option<ArtifactId>,
    schema_artifact_id: Option<ArtifactId>,
    /// Mapping rules as YAML text, instead of `context_artifact_id`.
    context: Option<String>,
    /// The target JSON Schema (an object, or its JSON text), instead of `schema_artifact_id`.
    #[schema(value_type = Object)]
    schema: Option<serde_json::Value>,
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

#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub items: Vec<JobRead>,
    pub next_cursor: Option<String>,
}

/// One of two ways of giving a document: an artifact id or the document inline, not both.
fn either(
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
        (Some(id), None) => Ok(Some(Input::new(artifact_field, InputSource::Artifact(id)))),
        (None, Some(text)) => Ok(Some(Input::new(inline_field, InputSource::Text(text)))),
        (None, None) => Ok(None),
    }
}

impl JobCreate {
    fn into_request(self, traceparent: Option<String>) -> Result<JobRequest, ApiError> {
        let schema_text = self.schema.map(|schema| match schema {
            serde_json::Value::String(text) => text,
            value => value.to_string(),
        });
        Ok(JobRequest {
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
        })
    }
}

#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", security(("oauth2" = [])), request_body = JobCreate,
    responses((status = 202, body = JobRead), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_job(
    State(state): State<JobsState>,
    user: CurrentUser,
    trace: Option<Extension<TraceContext>>,
    JsonBody(request): JsonBody<JobCreate>,
) -> Result<(StatusCode, Json<JobRead>), ApiError> {
    let request = request.into_request(trace.map(|Extension(t)| t.0))?;
    let job = state.jobs.submit(&user.actor(), request).await?;
    Ok((StatusCode::ACCEPTED, Json(JobRead::from(job))))
}

const UPLOAD_FIELDS: &str = "content_file, context_file, schema_file, name or auto_map";

#[utoipa::path(post, path = "/api/v1/jobs/upload", tag = "jobs", security(("oauth2" = [])),
    request_body(content_type = "multipart/form-data", description = "content_file (required), context_file, schema_file, name, auto_map (true/false, as for POST /jobs)"),
    responses((status = 201, body = JobRead), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_job(
    State(state): State<JobsState>,
    user: CurrentUser,
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
                request.name = Some(field.text().await.map_err(multipart_error)?);
                continue;
            }
            "auto_map" => {
                request.auto_map = match field.text().await.map_err(multipart_error)?.trim() {
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
    let job = state.jobs.submit(&user.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(JobRead::from(job))))
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

#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", security(("oauth2" = [])),
    params(("status" = Option<String>, Query, description = "PENDING, RUNNING, COMPLETED, FAILED or CANCELLED"),
           ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody)))]
pub async fn list_jobs(
    State(state): State<JobsState>,
    user: CurrentUser,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<JobList>, ApiError> {
    if let Some(unknown) = params.keys().find(|k| !["status", "limit", "cursor"].contains(&k.as_str())) {
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
    let query = JobQuery { status, limit, cursor: params.get("cursor").cloned() };
    let page = state.jobs.list(&user.actor(), query).await?;
    Ok(Json(JobList { items: page.jobs.into_iter().map(JobRead::from).collect(), next_cursor: page.next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", security(("oauth2" = [])),
    responses((status = 200, body = JobRead), (status = 404, body = ErrorBody)))]
pub async fn get_job(
    State(state): State<JobsState>,
    user: CurrentUser,
    Path(id): Path<JobId>,
) -> Result<Json<JobRead>, ApiError> {
    Ok(Json(JobRead::from(state.jobs.get(&user.actor(), &id).await?)))
}
