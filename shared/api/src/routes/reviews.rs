//! A suggest-mapping job's draft confirmed after review (the dashboard's review page), and the
//! team mapping memory those confirmations build, which the team's later suggestions consult.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};

use helix_domain::{JobId, RememberedMapping, TeamId};
use helix_jobs::{ConfirmedDraft, DraftConfirmation};

use crate::extract::{Caller, JsonBody, Person, could_exist};
use crate::{ApiError, ErrorBody, JobsState};

pub fn router() -> Router<JobsState> {
    Router::new()
        .route("/api/v1/jobs/{id}/draft/confirm", post(confirm_draft))
        .route("/api/v1/teams/{id}/mapping-memory", get(list_mapping_memory))
        .route("/api/v1/teams/{id}/mapping-memory/{entry_id}", delete(delete_mapping_memory))
}

#[utoipa::path(post, path = "/api/v1/jobs/{id}/draft/confirm", tag = "jobs", security(("oauth2" = [])),
    params(("id" = String, Path, description = "A completed suggest-mapping job")),
    request_body(content = DraftConfirmation, description = "Decisions per target field (accept, change with `source`, reject; an optional `value_map`); a field left out keeps the draft's proposal. With `pipeline_id`, a new version of that pipeline is saved instead of a context artifact."),
    responses((status = 201, body = ConfirmedDraft, description = "The confirmed context, where it was saved, and the pairs the team's mapping memory now holds"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "A viewer of the team"),
        (status = 404, body = ErrorBody, description = "No such job (or pipeline) the caller may see"),
        (status = 409, body = ErrorBody, description = "Not a suggest-mapping job, not completed yet, the pipeline archived, or the team's memory full"),
        (status = 415, body = ErrorBody, description = "The body is not JSON"),
        (status = 422, body = ErrorBody, description = "A decision refused: `field` names it (`decisions[2].source`)")))]
pub async fn confirm_draft(
    State(state): State<JobsState>,
    person: Person,
    Path(id): Path<JobId>,
    JsonBody(confirmation): JsonBody<DraftConfirmation>,
) -> Result<(StatusCode, Json<ConfirmedDraft>), ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("job"));
    }
    let by = person.user.0.email.clone();
    let confirmed = state.reviews.confirm(&person.actor(), &by, &id, confirmation).await?;
    Ok((StatusCode::CREATED, Json(confirmed)))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/mapping-memory", tag = "jobs", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The team's id")),
    responses((status = 200, body = Vec<RememberedMapping>, description = "The pairs the team's users confirmed, by target field and column"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_mapping_memory(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path(id): Path<TeamId>,
) -> Result<Json<Vec<RememberedMapping>>, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("team"));
    }
    Ok(Json(state.reviews.memory(&caller, &id).await?))
}

#[utoipa::path(delete, path = "/api/v1/teams/{id}/mapping-memory/{entry_id}", tag = "jobs", security(("oauth2" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The team's id"),
           ("entry_id" = String, Path, description = "The entry's id")),
    responses((status = 204, description = "Forgotten: later suggestions no longer use it"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "A viewer of the team"),
        (status = 404, body = ErrorBody)))]
pub async fn delete_mapping_memory(
    State(state): State<JobsState>,
    Caller(caller): Caller,
    Path((id, entry)): Path<(TeamId, String)>,
) -> Result<StatusCode, ApiError> {
    if !could_exist(id.as_str()) {
        return Err(ApiError::NotFound("team"));
    }
    if !could_exist(&entry) {
        return Err(ApiError::NotFound("mapping memory entry"));
    }
    state.reviews.forget(&caller, &id, &entry).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn the_review_routes_are_documented() {
        let doc = serde_json::to_value(crate::docs::ApiDoc::openapi()).unwrap();
        for (path, method) in [
            ("/api/v1/jobs/{id}/draft/confirm", "post"),
            ("/api/v1/teams/{id}/mapping-memory", "get"),
            ("/api/v1/teams/{id}/mapping-memory/{entry_id}", "delete"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path}");
        }
        let schemas = &doc["components"]["schemas"];
        for schema in ["DraftConfirmation", "FieldDecision", "Decision", "ConfirmedDraft", "RememberedMapping"] {
            assert!(schemas[schema].is_object(), "{schema}");
        }
    }
}
