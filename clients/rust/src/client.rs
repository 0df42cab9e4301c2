//! The HTTP API (`/api/v1`) and the presigned storage URLs it hands out, one method per route.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Body, Client as Http, Method, Request, RequestBuilder, Response, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use helix_domain::{
    ApiKeyId, ArtifactId, ArtifactRead, AuditEntry, ChainRun, ComparisonRead, JobRead, KeyScope, PipelineDiff,
    PipelineId, PipelineRead, PipelineVersion, Plan, PlanLimits, QuotaUsage, Role, TeamId, Timestamp, UserId,
};

use crate::error::{Error, Result, from_response, root_cause};

pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8000";
/// API calls are small; transfers to storage get no overall limit (a large file takes long).
const API_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a live event stream is kept open: the server ends its streams sooner.
const STREAM_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How often a request is sent when the connection fails (or, for a read, the server is briefly
/// unavailable): reads are safe to repeat, and requests that create something carry an
/// `Idempotency-Key` that makes a repeat return the first answer.
const TRIES: u32 = 3;

#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// How the server wants the file: one PUT, or (big files) a multipart upload.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum UploadTicket {
    Single(SingleUpload),
    Multipart(MultipartTicket),
}

#[derive(Deserialize)]
pub struct SingleUpload {
    pub artifact_id: ArtifactId,
    #[serde(flatten)]
    pub put: PresignedPut,
}

/// Where a dropped file goes: its inbox object, and the PUT that stores it there.
#[derive(Deserialize)]
pub struct DropTicket {
    pub inbox_object: String,
    #[serde(flatten)]
    pub put: PresignedPut,
}

/// A presigned PUT: send exactly these headers, they are signed.
#[derive(Deserialize)]
pub struct PresignedPut {
    #[serde(alias = "upload_url")]
    pub url: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
pub struct MultipartTicket {
    pub artifact_id: ArtifactId,
    pub upload_id: String,
    pub part_size: u64,
    pub part_count: u32,
}

#[derive(Deserialize)]
pub struct PartUrl {
    pub part_number: u32,
    #[serde(flatten)]
    pub put: PresignedPut,
}

#[derive(Deserialize)]
struct PartUrls {
    parts: Vec<PartUrl>,
}

#[derive(Deserialize)]
pub struct StoredPart {
    pub part_number: u32,
    pub etag: String,
    pub size: u64,
}

#[derive(Deserialize)]
struct StoredParts {
    parts: Vec<StoredPart>,
}

#[derive(Deserialize)]
pub struct DownloadLink {
    pub url: String,
}

/// One page of a listing; `next_cursor` asks for the next.
#[derive(Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// A team as one of its members sees it (`GET /teams`).
#[derive(Deserialize)]
pub struct TeamRead {
    pub id: TeamId,
    pub name: String,
    /// The caller's own team: one member, no invitations.
    pub personal: bool,
    pub plan: Plan,
    /// The caller's role in it.
    pub role: Role,
    pub created_at: Timestamp,
}

/// A team's plan, its limits and what the team uses of them (`GET /teams/{id}/usage`).
#[derive(Deserialize)]
pub struct TeamUsage {
    pub plan: Plan,
    pub limits: PlanLimits,
    pub usage: QuotaUsage,
}

/// A team's API key as its admins see it: never the key itself.
#[derive(Deserialize)]
pub struct ApiKeyRead {
    pub id: ApiKeyId,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<KeyScope>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub use_count: u64,
    #[serde(default)]
    pub pipeline_id: Option<PipelineId>,
}

/// `POST /jobs`: the uploaded inputs of a job and its options.
#[derive(Serialize, Default)]
pub struct NewJob {
    pub content_artifact_ids: Vec<ArtifactId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lookup_artifact_ids: Vec<ArtifactId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_artifact_id: Option<ArtifactId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_artifact_id: Option<ArtifactId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auto_map: bool,
}

/// The filters of a team's audit listing (`GET /teams/{id}/audit`).
#[derive(Default)]
pub struct AuditFilters {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The query of `GET /costs`: every field optional, the server checks and defaults them.
#[derive(Default)]
pub struct CostFilters {
    /// `team`, `pipeline`, `user`, `kind` or `day`.
    pub group_by: Option<String>,
    /// `YYYY-MM-DD`.
    pub from: Option<String>,
    pub to: Option<String>,
    pub team_id: Option<String>,
}

/// What a range of days cost, per group (`GET /costs`).
#[derive(Deserialize)]
pub struct CostReport {
    pub group_by: String,
    pub from: String,
    pub to: String,
    pub currency: String,
    pub price_table: String,
    pub total_usd: f64,
    pub groups: Vec<CostRow>,
}

#[derive(Deserialize)]
pub struct CostRow {
    pub key: String,
    pub total_usd: f64,
    pub breakdown: BTreeMap<String, f64>,
    pub records: u64,
    pub usd_per_million_records: Option<f64>,
}

/// The server's answer as sent (what `helix --json` prints) and read into `T`.
pub struct Answer<T> {
    pub raw: Value,
    pub value: T,
}

/// What starting a pipeline run made: a job, or for a chained version a run of one job per step.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum StartedRun {
    Chain(Box<ChainRun>),
    Job(Box<JobRead>),
}

/// A client of one HelixNet server, carrying one bearer token (an access token or an API key),
/// or none for the routes that need none (login, refresh).
#[derive(Clone)]
pub struct Client {
    /// As the user gave it, for messages.
    api_url: String,
    base: Url,
    /// Where the live events are served, when not at `base` (in the cloud, the events function's
    /// URL: the HTTP API cannot stream).
    events_base: Option<Url>,
    token: Option<String>,
    http: Http,
}

/// The server's address as given, checked, without a trailing slash (so that a stored login
/// matches however the user spells it).
pub fn normalize_url(text: &str) -> Result<String> {
    let url = Url::parse(text.trim()).map_err(|e| Error::Input(format!("--api-url {text}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Input(format!("--api-url {text}: must be an http:// or https:// address")));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A failure that another try may not meet: the connection, or a server or proxy that is
/// briefly unavailable.
fn transient(error: &Error) -> bool {
    matches!(error, Error::Network { .. } | Error::Api { status: 502..=504, .. })
}

async fn pause_before_try(tries: u32) {
    tokio::time::sleep(Duration::from_millis(500 * u64::from(tries))).await;
}

impl Client {
    pub fn new(api_url: &str, token: Option<String>) -> Result<Self> {
        let base = Url::parse(api_url).map_err(|e| Error::Input(format!("{api_url}: {e}")))?;
        let http = Http::builder()
            .user_agent(concat!("helix-client/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::network(api_url, &e))?;
        Ok(Self { api_url: api_url.to_owned(), base, events_base: None, token, http })
    }

    /// The same server, its live events followed at `events_url` (`HELIX_EVENTS_URL`, the stack
    /// output `EventsUrl`) instead of beside the API.
    pub fn with_events_url(self, events_url: &str) -> Result<Self> {
        let events_base = Url::parse(events_url).map_err(|e| Error::Input(format!("{events_url}: {e}")))?;
        Ok(Self { events_base: Some(events_base), ..self })
    }

    /// The same server with another bearer token.
    pub fn with_token(&self, token: String) -> Self {
        Self { token: Some(token), ..self.clone() }
    }

    /// The bearer token the client sends.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The server's address as the user gave it.
    pub fn url(&self) -> &str {
        &self.api_url
    }

    /// `{base}/api/v1/{segments...}`, each segment percent-encoded (ids come from users; `.` and
    /// `..` would be dropped from the path, so they are refused).
    fn request(&self, method: Method, segments: &[&str]) -> Result<RequestBuilder> {
        self.request_on(&self.base, method, segments)
    }

    fn request_on(&self, base: &Url, method: Method, segments: &[&str]) -> Result<RequestBuilder> {
        if let Some(bad) = segments.iter().find(|s| matches!(**s, "" | "." | "..")) {
            return Err(Error::Input(format!("{bad:?} is not an id")));
        }
        let mut url = base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        let request = self.http.request(method, url).timeout(API_TIMEOUT);
        Ok(match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        })
    }

    /// The job's live event stream (`GET /jobs/{id}/events`); `None` where none is served (an
    /// older server, an unknown job: polling then says which).
    pub(crate) async fn job_events(&self, id: &str) -> Result<Option<Response>> {
        let base = self.events_base.as_ref().unwrap_or(&self.base);
        let request = self.request_on(base, Method::GET, &["jobs", id, "events"])?;
        let request = request.header(reqwest::header::ACCEPT, "text/event-stream").timeout(STREAM_TIMEOUT);
        let response = request.send().await.map_err(|e| Error::network(&self.api_url, &e))?;
        Ok(response.status().is_success().then_some(response))
    }

    /// Sends a request, once unless it is a read: a read is sent again after a transient failure.
    async fn send(&self, request: RequestBuilder) -> Result<(String, String)> {
        let request = request.build().map_err(|e| Error::network(&self.api_url, &e))?;
        let repeatable = request.method() == Method::GET;
        let mut tries = 0;
        loop {
            tries += 1;
            let again = if repeatable && tries < TRIES { request.try_clone() } else { None };
            let Some(this_try) = again else { return self.send_once(request).await };
            match self.send_once(this_try).await {
                Err(e) if transient(&e) => pause_before_try(tries).await,
                answer => return answer,
            }
        }
    }

    /// The URL and the body of a successful answer.
    async fn send_once(&self, request: Request) -> Result<(String, String)> {
        let url = request.url().to_string();
        let response = self.http.execute(request).await.map_err(|e| Error::network(&self.api_url, &e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| Error::network(&url, &e))?;
        if !status.is_success() {
            return Err(from_response(status.as_u16(), &body, self.token.is_some()));
        }
        Ok((url, body))
    }

    async fn call<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<Answer<T>> {
        let (url, body) = self.send(request).await?;
        let raw: Value =
            serde_json::from_str(&body).map_err(|e| Error::Protocol { url: url.clone(), reason: e.to_string() })?;
        let value = serde_json::from_value(raw.clone()).map_err(|e| Error::Protocol { url, reason: e.to_string() })?;
        Ok(Answer { raw, value })
    }

    /// A request that creates something, sent with an `Idempotency-Key`: a connection lost before
    /// the answer is retried with the same key, and the server answers the retry with the first
    /// answer instead of creating a second job or upload.
    async fn call_idempotent<T: DeserializeOwned>(
        &self,
        request: impl Fn() -> Result<RequestBuilder>,
    ) -> Result<Answer<T>> {
        let key = uuid::Uuid::new_v4().to_string();
        let mut tries = 0;
        loop {
            tries += 1;
            match self.call(request()?.header("Idempotency-Key", &key)).await {
                Err(e) if transient(&e) && tries < TRIES => pause_before_try(tries).await,
                answer => return answer,
            }
        }
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<TokenResponse> {
        let form = [("username", username), ("password", password)];
        Ok(self.call(self.request(Method::POST, &["auth", "token"])?.form(&form)).await?.value)
    }

    /// Spends a refresh token for new tokens (the refresh token is replaced).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse> {
        let body = serde_json::json!({ "refresh_token": refresh_token });
        Ok(self.call(self.request(Method::POST, &["auth", "refresh"])?.json(&body)).await?.value)
    }

    /// Ends the session on the server (204, no body).
    pub async fn end_session(&self, refresh_token: &str) -> Result<()> {
        let body = serde_json::json!({ "refresh_token": refresh_token });
        let request = self.request(Method::POST, &["auth", "logout"])?.json(&body);
        let request = request.build().map_err(|e| Error::network(&self.api_url, &e))?;
        let response = self.http.execute(request).await.map_err(|e| Error::network(&self.api_url, &e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(from_response(status.as_u16(), &body, false));
        }
        Ok(())
    }

    pub async fn me(&self) -> Result<Answer<Value>> {
        self.call(self.request(Method::GET, &["users", "me"])?).await
    }

    /// Makes a key; the answer carries the key itself (`key`), shown this once.
    pub async fn create_key(&self, team: &str, body: &Value) -> Result<Answer<Value>> {
        self.call(self.request(Method::POST, &["teams", team, "api-keys"])?.json(body)).await
    }

    /// What the caller's teams (a platform admin: every team) cost per group over a range of days.
    pub async fn costs(&self, filters: &CostFilters) -> Result<Answer<CostReport>> {
        let query: Vec<(&str, String)> = [
            ("group_by", filters.group_by.clone()),
            ("from", filters.from.clone()),
            ("to", filters.to.clone()),
            ("team_id", filters.team_id.clone()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect();
        self.call(self.request(Method::GET, &["costs"])?.query(&query)).await
    }

    /// A page of the team's audit trail, newest first.
    pub async fn audit(&self, team: &str, filters: &AuditFilters) -> Result<Answer<Page<AuditEntry>>> {
        let query: Vec<(&str, String)> = [
            ("action", filters.action.clone()),
            ("actor", filters.actor.clone()),
            ("from", filters.from.clone()),
            ("to", filters.to.clone()),
            ("limit", filters.limit.map(|l| l.to_string())),
            ("cursor", filters.cursor.clone()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect();
        self.call(self.request(Method::GET, &["teams", team, "audit"])?.query(&query)).await
    }

    /// The caller's teams, their personal team first.
    pub async fn teams(&self) -> Result<Answer<Page<TeamRead>>> {
        self.call(self.request(Method::GET, &["teams"])?).await
    }

    /// The team's plan, limits and usage (its admins and owners).
    pub async fn team_usage(&self, team: &str) -> Result<Answer<TeamUsage>> {
        self.call(self.request(Method::GET, &["teams", team, "usage"])?).await
    }

    /// The team's mapping memory: the pairs its users confirmed when reviewing drafts.
    pub async fn mapping_memory(&self, team: &str) -> Result<Answer<Vec<helix_domain::RememberedMapping>>> {
        self.call(self.request(Method::GET, &["teams", team, "mapping-memory"])?).await
    }

    pub async fn keys(&self, team: &str) -> Result<Answer<Page<ApiKeyRead>>> {
        self.call(self.request(Method::GET, &["teams", team, "api-keys"])?).await
    }

    /// 204, no body.
    pub async fn revoke_key(&self, team: &str, key_id: &str) -> Result<()> {
        self.call_no_content(self.request(Method::DELETE, &["teams", team, "api-keys", key_id])?).await
    }

    /// Deletes a finished job and its outputs (204); a pending or running one is refused (409).
    pub async fn delete_job(&self, id: &str) -> Result<()> {
        self.call_no_content(self.request(Method::DELETE, &["jobs", id])?).await
    }

    /// A request answered 204, no body.
    async fn call_no_content(&self, request: RequestBuilder) -> Result<()> {
        let request = request.build().map_err(|e| Error::network(&self.api_url, &e))?;
        let response = self.http.execute(request).await.map_err(|e| Error::network(&self.api_url, &e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(from_response(status.as_u16(), &body, self.token.is_some()));
        }
        Ok(())
    }

    pub async fn register_upload(
        &self,
        filename: &str,
        content_type: &str,
        size_bytes: u64,
        kind: &str,
        team: Option<&str>,
    ) -> Result<UploadTicket> {
        let mut body = serde_json::json!({"filename": filename, "content_type": content_type, "size_bytes": size_bytes, "kind": kind});
        if let Some(team) = team {
            body["team_id"] = serde_json::json!(team);
        }
        Ok(self.call_idempotent(|| Ok(self.request(Method::POST, &["artifacts", "upload"])?.json(&body))).await?.value)
    }

    /// Presigned PUTs for parts of a multipart upload, each bound to its SHA-256 (base64).
    pub async fn part_urls(&self, artifact_id: &str, parts: &[(u32, String)]) -> Result<Vec<PartUrl>> {
        let (numbers, checksums): (Vec<u32>, Vec<&str>) = parts.iter().map(|(n, c)| (*n, c.as_str())).unzip();
        let body = serde_json::json!({"part_numbers": numbers, "checksums_sha256": checksums});
        let request = self.request(Method::POST, &["artifacts", artifact_id, "parts"])?.json(&body);
        Ok(self.call::<PartUrls>(request).await?.value.parts)
    }

    /// The parts the storage holds of an unfinished multipart upload.
    pub async fn stored_parts(&self, artifact_id: &str) -> Result<Vec<StoredPart>> {
        let request = self.request(Method::GET, &["artifacts", artifact_id, "parts"])?;
        Ok(self.call::<StoredParts>(request).await?.value.parts)
    }

    pub async fn complete_upload(&self, artifact_id: &str, parts: &[(u32, String)]) -> Result<ArtifactRead> {
        let parts: Vec<Value> =
            parts.iter().map(|(n, etag)| serde_json::json!({"part_number": n, "etag": etag})).collect();
        let request = self.request(Method::POST, &["artifacts", artifact_id, "complete"])?;
        Ok(self.call(request.json(&serde_json::json!({"parts": parts}))).await?.value)
    }

    pub async fn artifact(&self, id: &str) -> Result<ArtifactRead> {
        Ok(self.call(self.request(Method::GET, &["artifacts", id])?).await?.value)
    }

    pub async fn download_link(&self, artifact_id: &str) -> Result<DownloadLink> {
        Ok(self.call(self.request(Method::GET, &["artifacts", artifact_id, "download"])?).await?.value)
    }

    pub async fn create_job(&self, job: &NewJob) -> Result<Answer<JobRead>> {
        self.call_idempotent(|| Ok(self.request(Method::POST, &["jobs"])?.json(job))).await
    }

    pub async fn job(&self, id: &str) -> Result<Answer<JobRead>> {
        self.call(self.request(Method::GET, &["jobs", id])?).await
    }

    /// A presigned PUT into the pipeline's inbox for one file (`POST /pipelines/{id}/drops`).
    pub async fn drop_ticket(&self, pipeline: &str, body: &Value) -> Result<Answer<DropTicket>> {
        self.call(self.request(Method::POST, &["pipelines", pipeline, "drops"])?.json(body)).await
    }

    pub async fn retry_job(&self, id: &str) -> Result<Answer<JobRead>> {
        self.call(self.request(Method::POST, &["jobs", id, "retry"])?).await
    }

    /// A new job from a job's inputs; `body` names what to replace (`name`,
    /// `context_artifact_id`, `schema_artifact_id`, …).
    pub async fn clone_job(&self, id: &str, body: &Value) -> Result<Answer<JobRead>> {
        self.call(self.request(Method::POST, &["jobs", id, "clone"])?.json(body)).await
    }

    pub async fn cancel_job(&self, id: &str) -> Result<Answer<JobRead>> {
        self.call(self.request(Method::POST, &["jobs", id, "cancel"])?).await
    }

    /// A page of the caller's jobs, newest first.
    pub async fn jobs(
        &self,
        status: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Answer<Page<JobRead>>> {
        let mut query: Vec<(&str, String)> = Vec::new();
        query.extend(status.map(|s| ("status", s.to_owned())));
        query.extend(limit.map(|l| ("limit", l.to_string())));
        query.extend(cursor.map(|c| ("cursor", c.to_owned())));
        self.call(self.request(Method::GET, &["jobs"])?.query(&query)).await
    }

    pub async fn create_pipeline(&self, body: &Value) -> Result<Answer<PipelineRead>> {
        self.call_idempotent(|| Ok(self.request(Method::POST, &["pipelines"])?.json(body))).await
    }

    pub async fn pipelines(&self, team: Option<&str>, include_archived: bool) -> Result<Answer<Page<PipelineRead>>> {
        let mut query: Vec<(&str, String)> = team.map(|t| ("team_id", t.to_owned())).into_iter().collect();
        if include_archived {
            query.push(("include_archived", "true".into()));
        }
        self.call(self.request(Method::GET, &["pipelines"])?.query(&query)).await
    }

    pub async fn pipeline(&self, id: &str) -> Result<Answer<PipelineRead>> {
        self.call(self.request(Method::GET, &["pipelines", id])?).await
    }

    pub async fn pipeline_versions(&self, id: &str) -> Result<Answer<Page<PipelineVersion>>> {
        self.call(self.request(Method::GET, &["pipelines", id, "versions"])?).await
    }

    pub async fn create_pipeline_version(&self, id: &str, body: &Value) -> Result<Answer<PipelineVersion>> {
        self.call(self.request(Method::POST, &["pipelines", id, "versions"])?.json(body)).await
    }

    pub async fn pipeline_diff(&self, id: &str, from: u32, to: u32) -> Result<Answer<PipelineDiff>> {
        let (from, to) = (from.to_string(), to.to_string());
        self.call(self.request(Method::GET, &["pipelines", id, "versions", &from, "diff", &to])?).await
    }

    /// Starts a run: a job, or for a chained version a run of one job per step.
    pub async fn run_pipeline(&self, id: &str, body: &Value) -> Result<Answer<StartedRun>> {
        self.call_idempotent(|| Ok(self.request(Method::POST, &["pipelines", id, "runs"])?.json(body))).await
    }

    /// A chained run and its steps.
    pub async fn pipeline_run(&self, id: &str, run: &str) -> Result<Answer<ChainRun>> {
        self.call(self.request(Method::GET, &["pipelines", id, "runs", run])?).await
    }

    pub async fn compare_version(&self, id: &str, version: u32, job: &str) -> Result<Answer<ComparisonRead>> {
        let (version, body) = (version.to_string(), serde_json::json!({"job_id": job}));
        self.call_idempotent(|| {
            Ok(self.request(Method::POST, &["pipelines", id, "versions", &version, "compare"])?.json(&body))
        })
        .await
    }

    pub async fn comparison(&self, id: &str, job: &str) -> Result<Answer<ComparisonRead>> {
        self.call(self.request(Method::GET, &["pipelines", id, "comparisons", job])?).await
    }

    /// A pipeline's runs, newest first.
    pub async fn pipeline_runs(&self, id: &str, limit: Option<u32>) -> Result<Answer<Page<JobRead>>> {
        let mut query = vec![("pipeline_id", id.to_owned())];
        query.extend(limit.map(|l| ("limit", l.to_string())));
        self.call(self.request(Method::GET, &["jobs"])?.query(&query)).await
    }

    /// Sends `body` (of `len` bytes) to a presigned upload URL with exactly the headers the server
    /// signed; returns the storage's ETag for what it stored.
    pub async fn put_presigned(&self, put: &PresignedPut, body: Body, len: u64) -> Result<String> {
        let method = Method::from_bytes(put.method.as_bytes()).map_err(|_| Error::Protocol {
            url: self.api_url.clone(),
            reason: format!("upload method {:?}", put.method),
        })?;
        let mut request = self.http.request(method, &put.url);
        for (name, value) in &put.headers {
            request = request.header(name, value);
        }
        // A streamed body has no length of its own, and storage refuses a PUT without one; the
        // server signs it among the headers of some URLs, which then say it already.
        if !put.headers.keys().any(|name| name.eq_ignore_ascii_case("content-length")) {
            request = request.header(reqwest::header::CONTENT_LENGTH, len);
        }
        let response = request.body(body).send().await.map_err(|e| Error::network(&storage_host(&put.url), &e))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(Error::Transfer {
                code: "upload_failed",
                message: format!("the storage refused the upload: HTTP {status}{}", excerpt(&body)),
            });
        }
        let etag = response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default();
        Ok(etag.to_owned())
    }

    /// Opens a presigned download URL (no bearer token: the URL is the permission).
    pub async fn open_presigned(&self, url: &str) -> Result<Download> {
        let response = self.http.get(url).send().await.map_err(|e| Error::network(&storage_host(url), &e))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(Error::Transfer {
                code: "download_failed",
                message: format!("the storage refused the download: HTTP {status}{}", excerpt(&body)),
            });
        }
        Ok(Download(response))
    }
}

/// An object coming from storage, read piece by piece.
pub struct Download(Response);

impl Download {
    /// The object's size, when the storage says it.
    pub fn content_length(&self) -> Option<u64> {
        self.0.content_length()
    }

    /// The next piece; `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>> {
        self.0.chunk().await.map_err(|e| Error::Transfer {
            code: "download_failed",
            message: format!("the download broke off: {}", root_cause(&e)),
        })
    }

    /// The whole object.
    pub async fn bytes(mut self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// The scheme and host of a presigned URL: its query string is a credential, not for messages.
fn storage_host(url: &str) -> String {
    Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_else(|_| "the storage".into())
}

/// Storage errors are XML documents; their `<Message>` is the part worth showing.
fn excerpt(body: &str) -> String {
    let message = body.split_once("<Message>").and_then(|(_, rest)| rest.split_once("</Message>")).map(|(m, _)| m);
    match message {
        Some(m) => format!(": {m}"),
        None if body.trim().is_empty() => String::new(),
        None => format!(": {}", body.trim().chars().take(200).collect::<String>()),
    }
}
