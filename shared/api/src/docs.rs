use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::routes::{
    artifacts, audit, auth, costs, events, jobs, keys, pipelines, reviews, schedules, teams, usage, users, webhooks,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "HelixNet API", description = "Messy business files in, schema-valid JSON out, as asynchronous jobs."),
    paths(
        auth::token, auth::single_sign_on, auth::refresh, auth::logout, auth::jwks, auth::health,
        users::me, users::update_me, auth::change_password,
        teams::create_team, teams::list_teams, teams::get_team, teams::update_team, teams::list_members,
        teams::change_member, teams::remove_member, teams::invite, teams::accept_invitation,
        keys::create_key, keys::list_keys, keys::revoke_key,
        audit::list_audit, audit::verify_audit, usage::team_usage, usage::set_plan,
        artifacts::request_upload, artifacts::get_artifact, artifacts::download,
        artifacts::request_parts, artifacts::list_parts, artifacts::complete_upload, artifacts::abort_upload,
        jobs::create_job, jobs::upload_job, jobs::list_jobs, jobs::get_job, jobs::delete_job, jobs::cancel_job, jobs::retry_job, jobs::clone_job, events::job_events, events::pipeline_events,
        pipelines::create_pipeline, pipelines::list_pipelines, pipelines::get_pipeline, pipelines::update_pipeline,
        pipelines::delete_pipeline, pipelines::create_version, pipelines::list_versions, pipelines::get_version,
        pipelines::diff_versions, pipelines::run_pipeline, pipelines::get_run, pipelines::retry_run, pipelines::cancel_run,
        pipelines::compare_version, pipelines::get_comparison,
        pipelines::create_drop,
        webhooks::create_webhook, webhooks::list_webhooks, webhooks::delete_webhook, webhooks::list_deliveries,
        schedules::create_schedule, schedules::list_schedules, schedules::delete_schedule,
        costs::costs, costs::costs_csv, costs::daily_costs, costs::reconciliation, costs::ingest_billing_export,
        costs::get_budget, costs::put_budget, costs::job_stats,
        reviews::confirm_draft, reviews::list_mapping_memory, reviews::delete_mapping_memory,
    ),
    modifiers(&PasswordFlow, &ApiKeyScheme),
)]
pub struct ApiDoc;

/// Swagger UI's "Authorize" button runs the same password flow as `helix login`.
struct PasswordFlow;

impl Modify for PasswordFlow {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(Password::new("/api/v1/auth/token", Scopes::new()))])),
        );
    }
}

/// Machines send a team's API key as a bearer token, on the endpoints that list `api_key`.
struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("hx_live_… API key")).build();
        components.add_security_scheme("api_key", SecurityScheme::Http(scheme));
    }
}

/// Swagger UI's assets are compiled in (the `vendored` feature): nothing is fetched at build or run time.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .merge(SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", ApiDoc::openapi()))
        .layer(axum::middleware::map_response(harden))
}

/// Swagger UI loads its own scripts and styles and calls only this API; its icons are `data:` images.
/// Its bundle inserts inline styles (Chromium refuses them under `style-src 'self'`): styles only,
/// never scripts, may be inline here.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const VIEWPORT: &str = r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#;
/// Swagger UI's page is a few hundred bytes; anything larger is not that page.
const MAX_PAGE_BYTES: usize = 64 * 1024;

/// Swagger UI's page, as the dashboard's: a content security policy, no type sniffing, no framing,
/// and a viewport so that a phone shows it at its own width.
async fn harden(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let headers = &mut parts.headers;
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let html = headers.get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if !html {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = to_bytes(body, MAX_PAGE_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let page = String::from_utf8_lossy(&bytes);
    let page = if page.contains("name=\"viewport\"") {
        page.into_owned()
    } else {
        page.replacen("<head>", &format!("<head>\n    {VIEWPORT}"), 1)
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_swagger_page_has_a_policy_nosniff_and_a_viewport() {
        let response =
            router::<()>().oneshot(Request::get("/api/v1/docs/").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'; script-src 'self';"), "{csp}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let page = String::from_utf8(to_bytes(response.into_body(), MAX_PAGE_BYTES).await.unwrap().to_vec()).unwrap();
        assert!(page.contains(VIEWPORT), "{page}");
        assert!(page.contains("swagger-ui"), "{page}");

        let document = router::<()>().oneshot(Request::get("/api/v1/openapi.json").body(Body::empty()).unwrap()).await;
        let document = document.unwrap();
        assert_eq!(document.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(document.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    }

    #[test]
    fn the_attempt_history_and_deleting_a_job_are_documented() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["JobRead"]["properties"].get("attempt_history").is_some(), "{:#}", schemas["JobRead"]);
        for field in ["number", "retry", "started_at", "finished_at", "outcome", "error", "records_in", "records_out"] {
            assert!(schemas["AttemptRecord"]["properties"].get(field).is_some(), "AttemptRecord.{field}");
        }
        let outcomes = schemas["AttemptOutcome"]["enum"].as_array().unwrap();
        assert!(outcomes.iter().any(|o| o == "RELEASED"), "{outcomes:?}");
        let responses = &doc["paths"]["/api/v1/jobs/{id}"]["delete"]["responses"];
        for status in ["204", "403", "404", "409"] {
            assert!(responses.get(status).is_some(), "DELETE /jobs/{{id}} {status}: {responses:#}");
        }
    }

    #[test]
    fn auto_map_is_documented_on_the_request_and_the_job() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["JobCreate"]["properties"]["auto_map"]["type"], "boolean");
        for field in ["auto_map", "auto_mapped_fields", "auto_map_context_artifact_id"] {
            assert!(schemas["JobRead"]["properties"].get(field).is_some(), "JobRead.{field}");
        }
        assert!(schemas["AutoMappedField"]["properties"].get("score").is_some(), "{:#}", schemas["AutoMappedField"]);
    }

    #[test]
    fn the_document_states_the_enforced_limits() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let ids = &schemas["JobCreate"]["properties"]["content_artifact_ids"];
        assert_eq!((ids["minItems"].as_u64(), ids["maxItems"].as_u64()), (Some(1), Some(20)), "{ids:#}");
        let params = doc["paths"]["/api/v1/jobs"]["get"]["parameters"].as_array().unwrap();
        let limit = &params.iter().find(|p| p["name"] == "limit").unwrap()["schema"];
        assert_eq!((limit["minimum"].as_u64(), limit["maximum"].as_u64()), (Some(1), Some(100)), "{limit:#}");
        let phone = &schemas["ProfileUpdate"]["properties"]["phone_number"];
        assert!(phone["pattern"].as_str().is_some_and(|p| p.starts_with("^(\\+")), "{phone:#}");
        let upload = &doc["paths"]["/api/v1/jobs/upload"]["post"]["requestBody"]["content"]["multipart/form-data"];
        let upload = match upload["schema"]["$ref"].as_str() {
            Some(reference) => &schemas[reference.rsplit('/').next().unwrap()],
            None => &upload["schema"],
        };
        assert_eq!(upload["required"], serde_json::json!(["content_file"]), "{upload:#}");
        for part in ["content_file", "context_file", "schema_file"] {
            assert_eq!(upload["properties"][part]["format"], "binary", "{upload:#}");
        }
        assert_eq!(upload["properties"]["auto_map"]["type"], "boolean", "{upload:#}");
        assert_eq!(upload["properties"]["name"]["type"], "string", "{upload:#}");
        for path in ["/api/v1/jobs", "/api/v1/artifacts/upload"] {
            assert!(doc["paths"][path]["post"]["responses"]["415"].is_object(), "{path}");
        }
        assert!(doc["paths"]["/api/v1/users/me"]["put"]["responses"]["415"].is_object());
    }

    #[test]
    fn the_documented_key_set_is_the_served_one() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert!(doc["paths"]["/api/v1/auth/jwks.json"]["get"].is_object());
        let documented: Vec<&String> =
            doc["components"]["schemas"]["Jwk"]["properties"].as_object().unwrap().keys().collect();
        let settings = helix_auth::TokenSettings {
            issuer: "i".into(),
            audience: "a".into(),
            ttl: std::time::Duration::from_secs(1),
        };
        let signer = helix_auth::TokenSigner::new(&[7; 32], settings).unwrap();
        let served = serde_json::to_value(signer.jwks()).unwrap();
        let mut served: Vec<&String> = served["keys"][0].as_object().unwrap().keys().collect();
        let mut documented = documented;
        served.sort();
        documented.sort();
        assert_eq!(documented, served);
    }
    #[test]
    fn api_keys_are_documented_where_they_are_accepted() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let scheme = &doc["components"]["securitySchemes"]["api_key"];
        assert_eq!((scheme["type"].as_str(), scheme["scheme"].as_str()), (Some("http"), Some("bearer")), "{scheme:#}");
        let schemes = |path: &str, method: &str| -> Vec<String> {
            let security =
                doc["paths"][path][method]["security"].as_array().unwrap_or_else(|| panic!("{method} {path}"));
            security.iter().flat_map(|s| s.as_object().unwrap().keys().cloned()).collect()
        };
        for (path, method) in [
            ("/api/v1/jobs", "post"),
            ("/api/v1/jobs", "get"),
            ("/api/v1/jobs/upload", "post"),
            ("/api/v1/jobs/{id}", "get"),
            ("/api/v1/artifacts/upload", "post"),
            ("/api/v1/artifacts/{id}", "get"),
            ("/api/v1/artifacts/{id}/download", "get"),
        ] {
            assert_eq!(schemes(path, method), ["oauth2", "api_key"], "{method} {path}");
        }
        for (path, method) in [
            ("/api/v1/teams/{id}/api-keys", "post"),
            ("/api/v1/teams/{id}/api-keys", "get"),
            ("/api/v1/teams/{id}/api-keys/{key_id}", "delete"),
            ("/api/v1/teams", "post"),
            ("/api/v1/users/me", "get"),
        ] {
            assert_eq!(schemes(path, method), ["oauth2"], "people only: {method} {path}");
        }
        let created = &doc["components"]["schemas"]["ApiKeyCreated"]["properties"];
        for field in ["id", "key", "name", "prefix", "scopes", "created_by", "created_at", "expires_at"] {
            assert!(created.get(field).is_some(), "ApiKeyCreated.{field}");
        }
        let listed = &doc["components"]["schemas"]["ApiKeyRead"]["properties"];
        assert!(listed.get("key").is_none(), "a listing never shows the key");
        for field in ["prefix", "last_used_at", "use_count", "revoked_at"] {
            assert!(listed.get(field).is_some(), "ApiKeyRead.{field}");
        }
    }
}
