//! A blocking client for the HelixNet HTTP API (`/api/v1`) and the presigned storage URLs it
//! hands out.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use helix_domain::{ArtifactId, ArtifactRead, ComparisonRead, JobRead, PipelineDiff, PipelineRead, PipelineVersion};

use super::error::{CliError, from_response};

pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8000";
/// API calls are small; transfers to storage get no overall limit (a large file takes long).
const API_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a request that creates something is sent, with the same key, when the connection fails.
const IDEMPOTENT_TRIES: u64 = 3;

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

/// The server's answer as sent (what `--json` prints) and read into `T` (what the command uses).
pub struct Answer<T> {
    pub raw: Value,
    pub value: T,
}

pub struct Api {
    /// As the user gave it, for messages.
    api_url: String,
    base: Url,
    token: Option<String>,
    http: Client,
}

/// The server's address as given, checked, without a trailing slash (so that the stored login
/// matches however the user spells it).
pub fn normalize_url(text: &str) -> Result<String, CliError> {
    let url = Url::parse(text.trim()).map_err(|e| CliError::Input(format!("--api-url {text}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(CliError::Input(format!("--api-url {text}: must be an http:// or https:// address")));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl Api {
    pub fn new(api_url: &str, token: Option<String>) -> Result<Self, CliError> {
        let base = Url::parse(api_url).map_err(|e| CliError::Input(format!("{api_url}: {e}")))?;
        let http = Client::builder()
            .user_agent(concat!("helix-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(None)
            .build()
            .map_err(|e| CliError::network(api_url, &e))?;
        Ok(Self { api_url: api_url.to_owned(), base, token, http })
    }

    /// The bearer token the client sends.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// `{base}/api/v1/{segments...}`, each segment percent-encoded (ids come from the command line;
    /// `.` and `..` would be dropped from the path, so they are refused).
    fn request(&self, method: Method, segments: &[&str]) -> Result<RequestBuilder, CliError> {
        if let Some(bad) = segments.iter().find(|s| matches!(**s, "" | "." | "..")) {
            return Err(CliError::Input(format!("{bad:?} is not an id")));
        }
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        let request = self.http.request(method, url).timeout(API_TIMEOUT);
        Ok(match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        })
    }

    fn call<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<Answer<T>, CliError> {
        let request = request.build().map_err(|e| CliError::network(&self.api_url, &e))?;
        let url = request.url().to_string();
        let response = self.http.execute(request).map_err(|e| CliError::network(&self.api_url, &e))?;
        let status = response.status();
        let body = response.text().map_err(|e| CliError::network(&url, &e))?;
        if !status.is_success() {
            return Err(from_response(status.as_u16(), &body, self.token.is_some()));
        }
        let raw: Value =
            serde_json::from_str(&body).map_err(|e| CliError::Protocol { url: url.clone(), reason: e.to_string() })?;
        let value =
            serde_json::from_value(raw.clone()).map_err(|e| CliError::Protocol { url, reason: e.to_string() })?;
        Ok(Answer { raw, value })
    }

    /// A request that creates something, sent with an `Idempotency-Key`: a connection lost before
    /// the answer is retried with the same key, and the server answers the retry with the first
    /// answer instead of creating a second job or upload.
    fn call_idempotent<T: DeserializeOwned>(
        &self,
        request: impl Fn() -> Result<RequestBuilder, CliError>,
    ) -> Result<Answer<T>, CliError> {
        let key = uuid::Uuid::new_v4().to_string();
        let mut tries = 0;
        loop {
            tries += 1;
            match self.call(request()?.header("Idempotency-Key", &key)) {
                Err(CliError::Network { .. }) if tries < IDEMPOTENT_TRIES => {
                    std::thread::sleep(Duration::from_millis(500 * tries));
                }
                answer => return answer,
            }
        }
    }

    pub fn login(&self, username: &str, password: &str) -> Result<TokenResponse, CliError> {
        let form = [("username", username), ("password", password)];
        Ok(self.call(self.request(Method::POST, &["auth", "token"])?.form(&form))?.value)
    }

    /// Spends a refresh token for new tokens (the refresh token is replaced).
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, CliError> {
        let body = serde_json::json!({ "refresh_token": refresh_token });
        Ok(self.call(self.request(Method::POST, &["auth", "refresh"])?.json(&body))?.value)
    }

    /// Ends the session on the server (204, no body).
    pub fn end_session(&self, refresh_token: &str) -> Result<(), CliError> {
        let body = serde_json::json!({ "refresh_token": refresh_token });
        let request = self.request(Method::POST, &["auth", "logout"])?.json(&body);
        let request = request.build().map_err(|e| CliError::network(&self.api_url, &e))?;
        let response = self.http.execute(request).map_err(|e| CliError::network(&self.api_url, &e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().unwrap_or_default();
            return Err(from_response(status.as_u16(), &body, false));
        }
        Ok(())
    }

    pub fn me(&self) -> Result<Answer<Value>, CliError> {
        self.call(self.request(Method::GET, &["users", "me"])?)
    }

    pub fn create_key(&self, team: &str, body: &Value) -> Result<Answer<Value>, CliError> {
        self.call(self.request(Method::POST, &["teams", team, "api-keys"])?.json(body))
    }

    /// A page of the team's audit trail, newest first; `query` as `GET /teams/{id}/audit` takes it.
    pub fn audit(&self, team: &str, query: &[(&str, String)]) -> Result<Answer<Value>, CliError> {
        self.call(self.request(Method::GET, &["teams", team, "audit"])?.query(query))
    }

    pub fn keys(&self, team: &str) -> Result<Answer<Value>, CliError> {
        self.call(self.request(Method::GET, &["teams", team, "api-keys"])?)
    }

    /// 204, no body.
    pub fn revoke_key(&self, team: &str, key_id: &str) -> Result<(), CliError> {
        let request = self.request(Method::DELETE, &["teams", team, "api-keys", key_id])?;
        let request = request.build().map_err(|e| CliError::network(&self.api_url, &e))?;
        let response = self.http.execute(request).map_err(|e| CliError::network(&self.api_url, &e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().unwrap_or_default();
            return Err(from_response(status.as_u16(), &body, self.token.is_some()));
        }
        Ok(())
    }

    /// The server's address as the user gave it.
    pub fn url(&self) -> &str {
        &self.api_url
    }

    pub fn register_upload(
        &self,
        filename: &str,
        content_type: &str,
        size_bytes: u64,
        kind: &str,
        team: Option<&str>,
    ) -> Result<UploadTicket, CliError> {
        let mut body = serde_json::json!({"filename": filename, "content_type": content_type, "size_bytes": size_bytes, "kind": kind});
        if let Some(team) = team {
            body["team_id"] = serde_json::json!(team);
        }
        Ok(self.call_idempotent(|| Ok(self.request(Method::POST, &["artifacts", "upload"])?.json(&body)))?.value)
    }

    /// Presigned PUTs for parts of a multipart upload, each bound to its SHA-256 (base64).
    pub fn part_urls(&self, artifact_id: &str, parts: &[(u32, String)]) -> Result<Vec<PartUrl>, CliError> {
        let (numbers, checksums): (Vec<u32>, Vec<&str>) = parts.iter().map(|(n, c)| (*n, c.as_str())).unzip();
        let body = serde_json::json!({"part_numbers": numbers, "checksums_sha256": checksums});
        let request = self.request(Method::POST, &["artifacts", artifact_id, "parts"])?.json(&body);
        Ok(self.call::<PartUrls>(request)?.value.parts)
    }

    /// The parts the storage holds of an unfinished multipart upload.
    pub fn stored_parts(&self, artifact_id: &str) -> Result<Vec<StoredPart>, CliError> {
        Ok(self.call::<StoredParts>(self.request(Method::GET, &["artifacts", artifact_id, "parts"])?)?.value.parts)
    }

    pub fn complete_upload(&self, artifact_id: &str, parts: &[(u32, String)]) -> Result<ArtifactRead, CliError> {
        let parts: Vec<Value> =
            parts.iter().map(|(n, etag)| serde_json::json!({"part_number": n, "etag": etag})).collect();
        let request = self.request(Method::POST, &["artifacts", artifact_id, "complete"])?;
        Ok(self.call(request.json(&serde_json::json!({"parts": parts})))?.value)
    }

    pub fn artifact(&self, id: &str) -> Result<ArtifactRead, CliError> {
        Ok(self.call(self.request(Method::GET, &["artifacts", id])?)?.value)
    }

    pub fn download_link(&self, artifact_id: &str) -> Result<DownloadLink, CliError> {
        Ok(self.call(self.request(Method::GET, &["artifacts", artifact_id, "download"])?)?.value)
    }

    pub fn create_job(&self, body: &Value) -> Result<Answer<JobRead>, CliError> {
        self.call_idempotent(|| Ok(self.request(Method::POST, &["jobs"])?.json(body)))
    }

    pub fn job(&self, id: &str) -> Result<Answer<JobRead>, CliError> {
        self.call(self.request(Method::GET, &["jobs", id])?)
    }

    /// A presigned PUT into the pipeline's inbox for one file (`POST /pipelines/{id}/drops`).
    pub fn drop_ticket(&self, pipeline: &str, body: &Value) -> Result<Answer<DropTicket>, CliError> {
        self.call(self.request(Method::POST, &["pipelines", pipeline, "drops"])?.json(body))
    }

    pub fn retry_job(&self, id: &str) -> Result<Answer<JobRead>, CliError> {
        self.call(self.request(Method::POST, &["jobs", id, "retry"])?)
    }

    pub fn clone_job(&self, id: &str, body: &Value) -> Result<Answer<JobRead>, CliError> {
        self.call(self.request(Method::POST, &["jobs", id, "clone"])?.json(body))
    }

    pub fn cancel_job(&self, id: &str) -> Result<Answer<JobRead>, CliError> {
        self.call(self.request(Method::POST, &["jobs", id, "cancel"])?)
    }

    pub fn jobs(
        &self,
        status: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Answer<JobPage>, CliError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        query.extend(status.map(|s| ("status", s.to_owned())));
        query.extend(limit.map(|l| ("limit", l.to_string())));
        query.extend(cursor.map(|c| ("cursor", c.to_owned())));
        self.call(self.request(Method::GET, &["jobs"])?.query(&query))
    }

    pub fn create_pipeline(&self, body: &Value) -> Result<Answer<PipelineRead>, CliError> {
        self.call_idempotent(|| Ok(self.request(Method::POST, &["pipelines"])?.json(body)))
    }

    pub fn pipelines(&self, team: Option<&str>, include_archived: bool) -> Result<Answer<Value>, CliError> {
        let mut query: Vec<(&str, String)> = team.map(|t| ("team_id", t.to_owned())).into_iter().collect();
        if include_archived {
            query.push(("include_archived", "true".into()));
        }
        self.call(self.request(Method::GET, &["pipelines"])?.query(&query))
    }

    pub fn pipeline(&self, id: &str) -> Result<Answer<PipelineRead>, CliError> {
        self.call(self.request(Method::GET, &["pipelines", id])?)
    }

    pub fn pipeline_versions(&self, id: &str) -> Result<Answer<Value>, CliError> {
        self.call(self.request(Method::GET, &["pipelines", id, "versions"])?)
    }

    pub fn create_pipeline_version(&self, id: &str, body: &Value) -> Result<Answer<PipelineVersion>, CliError> {
        self.call(self.request(Method::POST, &["pipelines", id, "versions"])?.json(body))
    }

    pub fn pipeline_diff(&self, id: &str, from: u32, to: u32) -> Result<Answer<PipelineDiff>, CliError> {
        let (from, to) = (from.to_string(), to.to_string());
        self.call(self.request(Method::GET, &["pipelines", id, "versions", &from, "diff", &to])?)
    }

    pub fn run_pipeline(&self, id: &str, body: &Value) -> Result<Answer<JobRead>, CliError> {
        self.call_idempotent(|| Ok(self.request(Method::POST, &["pipelines", id, "runs"])?.json(body)))
    }

    pub fn compare_version(&self, id: &str, version: u32, job: &str) -> Result<Answer<ComparisonRead>, CliError> {
        let (version, body) = (version.to_string(), serde_json::json!({"job_id": job}));
        self.call_idempotent(|| {
            Ok(self.request(Method::POST, &["pipelines", id, "versions", &version, "compare"])?.json(&body))
        })
    }

    pub fn comparison(&self, id: &str, job: &str) -> Result<Answer<ComparisonRead>, CliError> {
        self.call(self.request(Method::GET, &["pipelines", id, "comparisons", job])?)
    }

    /// A pipeline's runs, newest first.
    pub fn pipeline_runs(&self, id: &str, limit: Option<u32>) -> Result<Answer<JobPage>, CliError> {
        let mut query = vec![("pipeline_id", id.to_owned())];
        query.extend(limit.map(|l| ("limit", l.to_string())));
        self.call(self.request(Method::GET, &["jobs"])?.query(&query))
    }

    /// Sends `body` to a presigned upload URL with exactly the headers the server signed; returns
    /// the storage's ETag for what it stored.
    pub fn put_presigned(&self, put: &PresignedPut, body: reqwest::blocking::Body) -> Result<String, CliError> {
        let method = Method::from_bytes(put.method.as_bytes()).map_err(|_| CliError::Protocol {
            url: self.api_url.clone(),
            reason: format!("upload method {:?}", put.method),
        })?;
        let mut request = self.http.request(method, &put.url);
        for (name, value) in &put.headers {
            request = request.header(name, value);
        }
        let response = request.body(body).send().map_err(|e| CliError::network(&storage_host(&put.url), &e))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().unwrap_or_default();
            return Err(CliError::Transfer {
                code: "upload_failed",
                message: format!("the storage refused the upload: HTTP {status}{}", excerpt(&body)),
            });
        }
        let etag = response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or_default();
        Ok(etag.to_owned())
    }

    /// Opens a presigned download URL (no bearer token: the URL is the permission).
    pub fn open_presigned(&self, url: &str) -> Result<Response, CliError> {
        let response = self.http.get(url).send().map_err(|e| CliError::network(&storage_host(url), &e))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().unwrap_or_default();
            return Err(CliError::Transfer {
                code: "download_failed",
                message: format!("the storage refused the download: HTTP {status}{}", excerpt(&body)),
            });
        }
        Ok(response)
    }
}

#[derive(Deserialize)]
pub struct JobPage {
    pub items: Vec<JobRead>,
    pub next_cursor: Option<String>,
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
