use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use helix_domain::artifact::{context_file_name, media_type_for, upload_key};
use helix_domain::{
    Artifact, ArtifactKind, ArtifactStatus, Job, JobInputs, JobKind, JobMessage, JobOutcome, JobRead, JobStatus,
    Runner, StoreError, Timestamp,
};
use helix_engine::Source;

use crate::extract::{CurrentUser, JsonBody};
use crate::routes::artifacts::{PENDING_UPLOAD_TTL_SECONDS, owned_artifact, validate_filename};
use crate::{ApiError, AppState, ErrorBody};

pub fn router(payload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/api/v1/jobs", post(create_job).get(list_jobs))
        .route("/api/v1/jobs/upload", post(upload_job).layer(DefaultBodyLimit::max(payload_limit)))
        .route("/api/v1/jobs/{id}", get(get_job))
}

const MAX_CONTENT_FILES: usize = 20;
const MAX_NAME_CHARS: usize = 200;
/// Contexts and schemas are read whole by the API to be checked before anything is queued.
const MAX_DOCUMENT_BYTES: u64 = 5 * 1024 * 1024;
const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobCreate {
    /// `transform` (the default) or `suggest-mapping` (a draft context from content + schema).
    #[serde(default)]
    kind: JobKind,
    content_artifact_ids: Vec<String>,
    context_artifact_id: Option<String>,
    schema_artifact_id: Option<String>,
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
    lookup_artifact_ids: Vec<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub items: Vec<JobRead>,
    pub next_cursor: Option<String>,
}

/// A context or schema given inline or as a file through `/jobs/upload`, to be stored as an
/// artifact of the job.
struct InlineDocument {
    kind: ArtifactKind,
    filename: String,
    content_type: String,
    bytes: Vec<u8>,
}

fn validate_name(name: Option<String>) -> Result<Option<String>, ApiError> {
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_CHARS) {
        return Err(ApiError::unprocessable("name", format!("name must be at most {MAX_NAME_CHARS} characters")));
    }
    Ok(name)
}

/// An input artifact the job may use: the caller's, of the right kind, uploaded and checked.
async fn usable_artifact(
    state: &AppState,
    owner: &str,
    id: &str,
    kind: ArtifactKind,
    field: String,
) -> Result<Artifact, ApiError> {
    let artifact = owned_artifact(state, owner, id)
        .await
        .map_err(|_| ApiError::unprocessable(field.clone(), format!("artifact {id} does not exist")))?;
    if artifact.status != ArtifactStatus::Available {
        return Err(ApiError::unprocessable(
            field,
            format!("artifact {id} is {}, not AVAILABLE: upload it first", artifact.status.as_str()),
        ));
    }
    if artifact.kind != kind {
        return Err(ApiError::unprocessable(
            field,
            format!("artifact {id} is a {:?} artifact, not {kind:?}", artifact.kind),
        ));
    }
    Ok(artifact)
}

async fn artifact_text(state: &AppState, artifact: &Artifact, field: &str) -> Result<String, ApiError> {
    let bytes = state.blobs.get_bytes(&artifact.s3_key, MAX_DOCUMENT_BYTES).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ApiError::unprocessable(field, format!("must be at most {MAX_DOCUMENT_BYTES} bytes"))
        }
        StoreError::NotFound => ApiError::unprocessable(field, "the artifact's object is missing"),
        other => other.into(),
    })?;
    String::from_utf8(bytes).map_err(|_| ApiError::unprocessable(field, "must be UTF-8 text"))
}

fn check_schema(name: &str, text: &str, field: &str) -> Result<(), ApiError> {
    helix_engine::check_schema(Source { name, text }).map_err(|e| ApiError::unprocessable(field, e.to_string()))
}

fn check_auto_map(kind: JobKind, has_context: bool, has_schema: bool) -> Result<(), ApiError> {
    if kind != JobKind::Transform {
        return Err(ApiError::unprocessable(
            "auto_map",
            "auto_map is for transform jobs; a suggest-mapping job proposes the whole context",
        ));
    }
    if !has_schema {
        return Err(ApiError::unprocessable(
            "auto_map",
            "auto_map needs a target schema: it proposes the fields the schema requires",
        ));
    }
    if !has_context {
        return Err(ApiError::unprocessable(
            "auto_map",
            "auto_map needs a context: it adds the required fields the context leaves unmapped (without one, a suggest-mapping job proposes a whole context)",
        ));
    }
    Ok(())
}

/// Checks a context; returns the lookup tables it declares: `(name, file)`.
fn check_context(name: &str, text: &str, field: &str) -> Result<Vec<(String, String)>, ApiError> {
    helix_engine::compile(Some(Source { name, text }), None)
        .map(|t| t.lookup_files())
        .map_err(|e| ApiError::unprocessable(field, e.to_string()))
}

/// Every table the context declares needs exactly one artifact of the same file name, and every
/// artifact listed must be one of them: a job never starts without the data it looks up.
async fn check_lookups(
    state: &AppState,
    owner: &str,
    ids: &[String],
    declared: &[(String, String)],
) -> Result<(), ApiError> {
    let mut found = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let field = format!("lookup_artifact_ids[{i}]");
        if ids[..i].contains(id) {
            return Err(ApiError::unprocessable(field, format!("artifact {id} is listed twice")));
        }
        let artifact = usable_artifact(state, owner, id, ArtifactKind::Content, field.clone()).await?;
        if !declared.iter().any(|(_, file)| context_file_name(file) == artifact.filename) {
            let files: Vec<&str> = declared.iter().map(|(_, f)| context_file_name(f)).collect();
            let expected = if files.is_empty() {
                "the context declares no lookup tables".to_owned()
            } else {
                format!("the context's lookup files are {}", files.join(", "))
            };
            return Err(ApiError::unprocessable(
                field,
                format!("artifact {id} ({}) is not a lookup file of the context: {expected}", artifact.filename),
            ));
        }
        found.push(artifact.filename);
    }
    for (name, file) in declared {
        if !found.iter().any(|f| f == context_file_name(file)) {
            return Err(ApiError::unprocessable(
                "lookup_artifact_ids",
                format!(
                    "the context's lookup table `{name}` reads {}: upload it and list its artifact id here",
                    context_file_name(file)
                ),
            ));
        }
    }
    Ok(())
}

/// Registers the document as pending, stores the object, then marks it available: the upload
/// watcher sees an object only after its registration exists, and a failed PUT leaves a pending
/// registration for the TTL to sweep instead of a record pointing at nothing.
async fn store_document(state: &AppState, owner: &str, job_id: &str, doc: InlineDocument) -> Result<String, ApiError> {
    let id = uuid::Uuid::new_v4().to_string();
    let key = upload_key(owner, &id, &doc.filename);
    let artifact = Artifact {
        id: id.clone(),
        owner_id: owner.to_owned(),
        kind: doc.kind,
        filename: doc.filename,
        content_type: doc.content_type,
        size_bytes: doc.bytes.len() as u64,
        status: ArtifactStatus::PendingUpload,
        s3_key: key.clone(),
        job_id: Some(job_id.to_owned()),
        created_at: Timestamp::now(),
        rejected_reason: None,
        expires_at: Some(Timestamp::now().unix() + PENDING_UPLOAD_TTL_SECONDS),
    };
    state.artifacts.create(&artifact).await?;
    state.blobs.put_bytes(&key, doc.bytes, &artifact.content_type).await?;
    match state.artifacts.mark_available(&id).await {
        // The upload watcher got there first.
        Ok(()) | Err(StoreError::Conflict(_)) => Ok(id),
        Err(e) => Err(e.into()),
    }
}

/// Records the job and queues it. A job that cannot be queued is marked FAILED at once rather
/// than left PENDING with no message that would ever run it.
async fn submit(state: &AppState, job: Job) -> Result<Job, ApiError> {
    state.jobs.create(&job).await?;
    let queue = match job.runner() {
        Runner::JobWorker => &state.queue,
        Runner::GpuWorker => &state.gpu_queue,
    };
    if let Err(e) = queue.send(&JobMessage { job_id: job.id.clone() }).await {
        let now = Timestamp::now();
        if let Ok(claimed) = state.jobs.claim(&job, now, now).await {
            let error = "the job could not be queued; submit it again".to_owned();
            let _ = state.jobs.finish(&claimed, &JobOutcome::Failed { error }).await;
        }
        return Err(ApiError::Unavailable(format!("queueing job {}: {e}", job.id)));
    }
    tracing::info!(job_id = %job.id, user_id = %job.owner_id, "job queued");
    Ok(job)
}

#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", security(("oauth2" = [])), request_body = JobCreate,
    responses((status = 202, body = JobRead), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_job(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    JsonBody(request): JsonBody<JobCreate>,
) -> Result<(StatusCode, Json<JobRead>), ApiError> {
    let owner = claims.sub.as_str();
    let name = validate_name(request.name)?;
    if request.content_artifact_ids.is_empty() {
        return Err(ApiError::unprocessable("content_artifact_ids", "at least one content artifact is required"));
    }
    if request.content_artifact_ids.len() > MAX_CONTENT_FILES {
        return Err(ApiError::unprocessable(
            "content_artifact_ids",
            format!("at most {MAX_CONTENT_FILES} content artifacts per job"),
        ));
    }
    for (i, id) in request.content_artifact_ids.iter().enumerate() {
        if request.content_artifact_ids[..i].contains(id) {
            return Err(ApiError::unprocessable(
                format!("content_artifact_ids[{i}]"),
                format!("artifact {id} is listed twice"),
            ));
        }
        usable_artifact(&state, owner, id, ArtifactKind::Content, format!("content_artifact_ids[{i}]")).await?;
    }
    if request.kind == JobKind::SuggestMapping && (request.context.is_some() || request.context_artifact_id.is_some()) {
        return Err(ApiError::unprocessable(
            "context",
            "a suggest-mapping job proposes the context; give content and (optionally) a schema",
        ));
    }
    if request.auto_map {
        check_auto_map(
            request.kind,
            request.context.is_some() || request.context_artifact_id.is_some(),
            request.schema.is_some() || request.schema_artifact_id.is_some(),
        )?;
    }
    if request.context.is_some() && request.context_artifact_id.is_some() {
        return Err(ApiError::unprocessable("context", "give either context or context_artifact_id, not both"));
    }
    if request.schema.is_some() && request.schema_artifact_id.is_some() {
        return Err(ApiError::unprocessable("schema", "give either schema or schema_artifact_id, not both"));
    }
    let job_id = uuid::Uuid::new_v4().to_string();
    let mut inline = Vec::new();

    let mut lookups = Vec::new();
    if let Some(id) = &request.context_artifact_id {
        let artifact = usable_artifact(&state, owner, id, ArtifactKind::Context, "context_artifact_id".into()).await?;
        let text = artifact_text(&state, &artifact, "context_artifact_id").await?;
        lookups = check_context(&artifact.filename, &text, "context_artifact_id")?;
    }
    if let Some(text) = request.context {
        lookups = check_context("context", &text, "context")?;
        inline.push(InlineDocument {
            kind: ArtifactKind::Context,
            filename: "context.yaml".into(),
            content_type: "application/yaml".into(),
            bytes: text.into_bytes(),
        });
    }
    if let Some(id) = &request.schema_artifact_id {
        let artifact = usable_artifact(&state, owner, id, ArtifactKind::Schema, "schema_artifact_id".into()).await?;
        let text = artifact_text(&state, &artifact, "schema_artifact_id").await?;
        check_schema(&artifact.filename, &text, "schema_artifact_id")?;
    }
    if let Some(schema) = request.schema {
        let text = match schema {
            serde_json::Value::String(text) => text,
            value => value.to_string(),
        };
        check_schema("schema", &text, "schema")?;
        inline.push(InlineDocument {
            kind: ArtifactKind::Schema,
            filename: "schema.json".into(),
            content_type: "application/schema+json".into(),
            bytes: text.into_bytes(),
        });
    }

    check_lookups(&state, owner, &request.lookup_artifact_ids, &lookups).await?;

    let mut inputs = JobInputs {
        content_artifact_ids: request.content_artifact_ids,
        context_artifact_id: request.context_artifact_id,
        schema_artifact_id: request.schema_artifact_id,
        lookup_artifact_ids: request.lookup_artifact_ids,
    };
    for doc in inline {
        let kind = doc.kind;
        let id = store_document(&state, owner, &job_id, doc).await?;
        match kind {
            ArtifactKind::Context => inputs.context_artifact_id = Some(id),
            _ => inputs.schema_artifact_id = Some(id),
        }
    }
    let job = Job { auto_map: request.auto_map, ..Job::new(job_id, owner.to_owned(), request.kind, name, inputs) };
    let job = submit(&state, job).await?;
    Ok((StatusCode::ACCEPTED, Json(JobRead::from(&job))))
}

#[utoipa::path(post, path = "/api/v1/jobs/upload", tag = "jobs", security(("oauth2" = [])),
    request_body(content_type = "multipart/form-data", description = "content_file (required), context_file, schema_file, name, auto_map (true/false, as for POST /jobs)"),
    responses((status = 201, body = JobRead), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_job(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<JobRead>), ApiError> {
    let mut multipart = multipart.map_err(|e| ApiError::BadRequest { field: None, message: e.body_text() })?;
    let owner = claims.sub.as_str();
    let mut docs: HashMap<&'static str, InlineDocument> = HashMap::new();
    let mut name = None;
    let mut auto_map = false;
    loop {
        let field = multipart.next_field().await.map_err(multipart_error)?;
        let Some(field) = field else { break };
        let field_name = field.name().unwrap_or_default().to_owned();
        let (key, kind) = match field_name.as_str() {
            "content_file" => ("content_file", ArtifactKind::Content),
            "context_file" => ("context_file", ArtifactKind::Context),
            "schema_file" => ("schema_file", ArtifactKind::Schema),
            "name" => {
                name = Some(field.text().await.map_err(multipart_error)?);
                continue;
            }
            "auto_map" => {
                auto_map = match field.text().await.map_err(multipart_error)?.trim() {
                    "true" | "on" => true,
                    "false" | "" => false,
                    _ => return Err(ApiError::bad_request("auto_map", "must be true or false")),
                };
                continue;
            }
            other => {
                return Err(ApiError::bad_request(
                    other,
                    "unexpected form field; expected content_file, context_file, schema_file, name or auto_map",
                ));
            }
        };
        if docs.contains_key(key) {
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
        if bytes.is_empty() {
            return Err(ApiError::unprocessable(key, "the file is empty"));
        }
        docs.insert(key, InlineDocument { kind, filename, content_type, bytes });
    }
    let name = validate_name(name)?;
    if !docs.contains_key("content_file") {
        return Err(ApiError::bad_request("content_file", "is required"));
    }
    if auto_map {
        check_auto_map(JobKind::Transform, docs.contains_key("context_file"), docs.contains_key("schema_file"))?;
    }
    let text = |key: &'static str, doc: &InlineDocument| {
        std::str::from_utf8(&doc.bytes)
            .map(str::to_owned)
            .map_err(|_| ApiError::unprocessable(key, "must be UTF-8 text"))
    };
    if let Some(doc) = docs.get("context_file") {
        let lookups = check_context(&doc.filename, &text("context_file", doc)?, "context_file")?;
        if !lookups.is_empty() {
            let files: Vec<&str> = lookups.iter().map(|(_, f)| context_file_name(f)).collect();
            return Err(ApiError::unprocessable(
                "context_file",
                format!(
                    "the context reads lookup tables ({}): upload them as artifacts and submit with POST /api/v1/jobs and lookup_artifact_ids",
                    files.join(", ")
                ),
            ));
        }
    }
    if let Some(doc) = docs.get("schema_file") {
        check_schema(&doc.filename, &text("schema_file", doc)?, "schema_file")?;
    }
    let job_id = uuid::Uuid::new_v4().to_string();
    let mut inputs = JobInputs::default();
    for key in ["content_file", "context_file", "schema_file"] {
        if let Some(doc) = docs.remove(key) {
            let id = store_document(&state, owner, &job_id, doc).await?;
            match key {
                "content_file" => inputs.content_artifact_ids.push(id),
                "context_file" => inputs.context_artifact_id = Some(id),
                _ => inputs.schema_artifact_id = Some(id),
            }
        }
    }
    let job = submit(&state, Job { auto_map, ..Job::new(job_id, owner.to_owned(), JobKind::Transform, name, inputs) })
        .await?;
    Ok((StatusCode::CREATED, Json(JobRead::from(&job))))
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
    params(("status" = Option<String>, Query, description = "PENDING, RUNNING, COMPLETED or FAILED"),
           ("limit" = Option<u32>, Query, description = "1 to 100, default 20"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody)))]
pub async fn list_jobs(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<JobList>, ApiError> {
    if let Some(unknown) = params.keys().find(|k| !["status", "limit", "cursor"].contains(&k.as_str())) {
        return Err(ApiError::bad_request(unknown.as_str(), "unknown query parameter"));
    }
    let status = params
        .get("status")
        .map(|s| {
            JobStatus::parse(&s.to_ascii_uppercase())
                .ok_or_else(|| ApiError::bad_request("status", "must be PENDING, RUNNING, COMPLETED or FAILED"))
        })
        .transpose()?;
    let limit = params
        .get("limit")
        .map(|l| {
            l.parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX_PAGE).contains(l))
                .ok_or_else(|| ApiError::bad_request("limit", format!("must be a number from 1 to {MAX_PAGE}")))
        })
        .transpose()?
        .unwrap_or(DEFAULT_PAGE);
    let page = state.jobs.list(&claims.sub, status, limit, params.get("cursor").map(String::as_str)).await?;
    Ok(Json(JobList { items: page.jobs.iter().map(JobRead::from).collect(), next_cursor: page.next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", security(("oauth2" = [])),
    responses((status = 200, body = JobRead), (status = 404, body = ErrorBody)))]
pub async fn get_job(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<JobRead>, ApiError> {
    let job = state.jobs.get(&id).await?.filter(|j| j.owner_id == claims.sub).ok_or(ApiError::NotFound("job"))?;
    Ok(Json(JobRead::from(&job)))
}
