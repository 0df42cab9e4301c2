//! A team's audit trail, for its admins and owners: the entries as JSON pages or CSV, and the
//! chain's verification.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use helix_domain::{AuditEntry, BrokenLink, TeamId, Timestamp, UserId};
use helix_jobs::{AuditQuery, ChainReport};

use crate::extract::Person;
use crate::{ApiError, ErrorBody, TeamsState};

/// The filters of `GET /teams/{id}/audit`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only this action, such as `job.create` or `artifact.download`.
    action: Option<String>,
    /// Only this actor: a user id or an API key's principal (`key-<id>`).
    actor: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    from: Option<String>,
    /// Only entries before this time (RFC 3339).
    to: Option<String>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
    /// 1 to 500, default 50.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `csv` for a CSV export (as `Accept: text/csv`).
    format: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    /// Newest first.
    pub items: Vec<AuditEntry>,
    /// Where the next page starts; absent on the last. A page may be short and still have a
    /// next one: a sparse filter reads the chain a stretch at a time.
    pub next_cursor: Option<String>,
}

/// What verifying the team's chain found.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    pub team_id: TeamId,
    pub entries: u64,
    /// The newest entry's hash: kept elsewhere, it shows later that nothing was cut off the end.
    pub head: Option<String>,
    /// The first entry that does not follow from the one before it; absent when the chain holds.
    pub broken: Option<BrokenLink>,
}

impl From<ChainReport> for AuditVerification {
    fn from(r: ChainReport) -> Self {
        Self { team_id: r.team_id, entries: r.entries, head: r.head, broken: r.broken }
    }
}

fn time(field: &str, text: Option<String>) -> Result<Option<Timestamp>, ApiError> {
    text.map(|t| {
        Timestamp::parse(&t).ok_or_else(|| ApiError::BadRequest {
            field: Some(field.to_owned()),
            message: format!("{field} must be an RFC 3339 time, such as 2026-01-31T00:00:00Z"),
        })
    })
    .transpose()
}

fn wants_csv(headers: &HeaderMap, format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        Some("csv") => return Ok(true),
        Some("json") => return Ok(false),
        Some(_) => {
            return Err(ApiError::BadRequest {
                field: Some("format".into()),
                message: "format must be csv or json".into(),
            });
        }
        None => {}
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    Ok(accept.split(',').any(|m| m.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))))
}

const CSV_COLUMNS: &str = "seq,at,team_id,actor,action,target,outcome,source_ip,user_agent,id,prev_hash,hash";

/// One CSV cell: quoted when it holds a separator, a quote or a line break. A cell a spreadsheet
/// would run as a formula (a user agent is the client's text) is prefixed with `'`.
fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

fn csv(entries: &[AuditEntry]) -> String {
    let mut out = format!("{CSV_COLUMNS}\r\n");
    for e in entries {
        let row = [
            e.seq.to_string(),
            e.at.to_string(),
            e.team_id.to_string(),
            e.actor.to_string(),
            e.action.clone(),
            e.target.clone(),
            e.outcome.as_str().to_owned(),
            e.source_ip.clone().unwrap_or_default(),
            e.user_agent.clone().unwrap_or_default(),
            e.id.to_string(),
            e.prev_hash.clone(),
            e.hash.clone(),
        ];
        out.push_str(&row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// The team's audit trail, newest first (team admins and owners): as JSON, or as CSV with
/// `Accept: text/csv` or `?format=csv` (the next page's cursor in `X-Next-Cursor`).
#[utoipa::path(get, path = "/api/v1/teams/{id}/audit", tag = "teams", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The team's id"), AuditParams),
    responses((status = 200, description = "A page of entries, newest first; as CSV with `Accept: text/csv` or `format=csv`",
            content((AuditList = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role may not read the audit trail"),
        (status = 404, body = ErrorBody, description = "No such team among the caller's"),
        (status = 503, body = ErrorBody)))]
pub async fn list_audit(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
    headers: HeaderMap,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    // axum's rejection is a plain-text sentence; the API answers JSON naming the parameter.
    let Query(params) = params.map_err(|e| {
        let text = e.body_text();
        let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text).to_owned();
        let field = detail.split_once(':').map(|(f, _)| f.trim().to_owned()).filter(|f| !f.contains(' '));
        ApiError::BadRequest { field, message: detail }
    })?;
    let csv_wanted = wants_csv(&headers, params.format.as_deref())?;
    let query = AuditQuery {
        action: params.action,
        actor: params.actor.map(UserId::from),
        from: time("from", params.from)?,
        to: time("to", params.to)?,
        cursor: params.cursor,
        limit: params.limit,
    };
    let page = state.audit.list(&user.actor(), &id, query).await?;
    if !csv_wanted {
        return Ok(Json(AuditList { items: page.entries, next_cursor: page.next_cursor }).into_response());
    }
    let mut response = csv(&page.entries).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"audit.csv\""));
    if let Some(cursor) = page.next_cursor.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert("x-next-cursor", cursor);
    }
    Ok(response)
}

/// Walks the team's audit chain and reports the first broken link: an entry edited, deleted or
/// replaced (team admins and owners).
#[utoipa::path(get, path = "/api/v1/teams/{id}/audit/verify", tag = "teams", security(("oauth2" = [])),
    params(("id" = String, Path, description = "The team's id")),
    responses((status = 200, body = AuditVerification), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The caller's role may not read the audit trail"),
        (status = 404, body = ErrorBody, description = "No such team among the caller's"),
        (status = 503, body = ErrorBody)))]
pub async fn verify_audit(
    State(state): State<TeamsState>,
    user: Person,
    Path(id): Path<TeamId>,
) -> Result<Json<AuditVerification>, ApiError> {
    Ok(Json(state.audit.verify(&user.actor(), &id).await?.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }
}
