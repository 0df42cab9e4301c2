//! The dashboard: a dependency-free single-page app (HTML, CSS, ES modules; no build step) whose
//! files are compiled into the binary and served at `/`, the assets under `/assets/{version}/`.
//!
//! `{version}` is a digest of every asset, so assets are cached for good (`immutable`) and a new
//! build is picked up at once: only `index.html`, which names the version, is revalidated.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

/// Extra `connect-src` origins (space-separated): where the page may PUT presigned uploads and
/// fetch presigned downloads, i.e. the bucket's origin (`http://127.0.0.1:4566` locally).
pub const CONNECT_SRC_VAR: &str = "DASHBOARD_CONNECT_SRC";
/// Where the live events (`GET /api/v1/jobs/{id}/events`, `…/pipelines/{id}/events`) are served
/// when not beside the API: in the cloud, the events function's URL (Lambda response streaming,
/// which the HTTP API cannot carry). Unset: the page asks its own origin.
pub const EVENTS_URL_VAR: &str = "DASHBOARD_EVENTS_URL";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset { name: $name, content_type: $content_type, body: include_bytes!(concat!("../assets/", $name)) }
    };
}

/// A file of `examples/orders`, served for the first-run guide's downloads and "Try the example".
macro_rules! example {
    ($name:literal, $file:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../../examples/orders/", $file)),
        }
    };
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

const ASSETS: &[Asset] = &[
    asset!("app.js", JAVASCRIPT),
    asset!("api.js", JAVASCRIPT),
    asset!("audit.js", JAVASCRIPT),
    asset!("dom.js", JAVASCRIPT),
    asset!("guide.js", JAVASCRIPT),
    asset!("job.js", JAVASCRIPT),
    asset!("jobs.js", JAVASCRIPT),
    asset!("keys.js", JAVASCRIPT),
    asset!("login.js", JAVASCRIPT),
    asset!("new-job.js", JAVASCRIPT),
    asset!("pipeline.js", JAVASCRIPT),
    asset!("pipelines.js", JAVASCRIPT),
    asset!("preview.js", JAVASCRIPT),
    asset!("profile.js", JAVASCRIPT),
    asset!("review.js", JAVASCRIPT),
    asset!("team-usage.js", JAVASCRIPT),
    asset!("teams.js", JAVASCRIPT),
    asset!("upload.js", JAVASCRIPT),
    asset!("usage.js", JAVASCRIPT),
    // uPlot 1.6.32 (npm `uplot`, dist/uPlot.esm.js and dist/uPlot.min.css as published), MIT: its
    // licence is served beside it.
    asset!("uplot.esm.js", JAVASCRIPT),
    asset!("uplot.min.css", "text/css; charset=utf-8"),
    asset!("uplot.LICENSE.txt", "text/plain; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    example!("example-orders.csv", "orders.csv", "text/csv; charset=utf-8"),
    example!("example-orders.yaml", "orders.yaml", "application/yaml; charset=utf-8"),
    example!("example-order_line.schema.json", "order_line.schema.json", "application/schema+json"),
];

const INDEX_TEMPLATE: &str = include_str!("../assets/index.html");
const ASSET_BASE_PLACEHOLDER: &str = "{{ASSETS}}";
const EVENTS_ORIGIN_PLACEHOLDER: &str = "{{EVENTS_ORIGIN}}";

#[derive(Debug, thiserror::Error, PartialEq)]
#[error(
    "{0:?} is not an origin for the dashboard's connect-src ({CONNECT_SRC_VAR}, else AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL; or {EVENTS_URL_VAR}), such as http://127.0.0.1:4566 or https://my-bucket.s3.eu-west-1.amazonaws.com"
)]
pub struct InvalidOrigin(String);

/// The dashboard's configuration, read once from the environment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DashboardConfig {
    pub connect_src: Vec<String>,
    /// The origin of the live events, when not the page's own (see [`EVENTS_URL_VAR`]).
    pub events_origin: Option<String>,
}

impl DashboardConfig {
    pub fn from_env() -> Result<Self, InvalidOrigin> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// `DASHBOARD_CONNECT_SRC`; without it, the origin of the S3 endpoint override
    /// (`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`) that presigned URLs then point at, so an
    /// emulated platform needs no extra setting.
    /// `DASHBOARD_EVENTS_URL` adds the events' origin.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, InvalidOrigin> {
        let events_origin = lookup(EVENTS_URL_VAR)
            .filter(|url| !url.trim().is_empty())
            .map(|url| origin(endpoint_origin(url.trim())))
            .transpose()?;
        let connect_src = match lookup(CONNECT_SRC_VAR) {
            Some(list) => Self::parse(&list)?.connect_src,
            None => lookup("AWS_ENDPOINT_URL_S3")
                .or_else(|| lookup("AWS_ENDPOINT_URL"))
                .filter(|url| !url.trim().is_empty())
                .map(|endpoint| origin(endpoint_origin(endpoint.trim())))
                .into_iter()
                .collect::<Result<_, _>>()?,
        };
        Ok(Self { connect_src, events_origin })
    }

    /// Whitespace-separated origins; each becomes a CSP source, so nothing but an origin may pass
    /// (a `;` or a quote would smuggle in directives).
    pub fn parse(text: &str) -> Result<Self, InvalidOrigin> {
        let connect_src = text.split_whitespace().map(origin).collect::<Result<_, _>>()?;
        Ok(Self { connect_src, events_origin: None })
    }
}

/// `http://127.0.0.1:4566/some/path` → `http://127.0.0.1:4566`.
fn endpoint_origin(url: &str) -> &str {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    url[authority_start..].find('/').map_or(url, |end| &url[..authority_start + end])
}

fn origin(text: &str) -> Result<String, InvalidOrigin> {
    let trimmed = text.trim_end_matches('/');
    let host = trimmed.strip_prefix("https://").or_else(|| trimmed.strip_prefix("http://"));
    let valid = host.is_some_and(|host| {
        !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]*".contains(c))
    });
    if valid { Ok(trimmed.to_owned()) } else { Err(InvalidOrigin(text.to_owned())) }
}

struct Dashboard {
    version: String,
    index: String,
    index_etag: HeaderValue,
    security_headers: Vec<(HeaderName, HeaderValue)>,
}

/// The dashboard router, configured from the environment (see [`DashboardConfig::from_lookup`]).
///
/// # Panics
/// If the configured connect origins are not origins: a misconfigured deployment
/// should stop at start-up, not serve a page whose uploads the browser blocks.
pub fn router() -> Router {
    let config = DashboardConfig::from_env().unwrap_or_else(|e| panic!("{e}"));
    router_with(&config)
}

pub fn router_with(config: &DashboardConfig) -> Router {
    let version = assets_version();
    // An origin holds no character HTML would read (see `origin`): it goes into the attribute as is.
    let index = INDEX_TEMPLATE
        .replace(ASSET_BASE_PLACEHOLDER, &format!("/assets/{version}"))
        .replace(EVENTS_ORIGIN_PLACEHOLDER, config.events_origin.as_deref().unwrap_or(""));
    let index_etag = HeaderValue::from_str(&format!("\"{}\"", &hex::encode(Sha256::digest(&index))[..32]))
        .expect("a hex digest is a valid header value");
    let dashboard = Dashboard { version, index, index_etag, security_headers: security_headers(config) };
    Router::new()
        .route("/", get(index_page))
        .route("/assets/{version}/{name}", get(asset))
        .with_state(Arc::new(dashboard))
}

fn assets_version() -> String {
    let mut digest = Sha256::new();
    for asset in ASSETS {
        digest.update(asset.name.as_bytes());
        digest.update((asset.body.len() as u64).to_le_bytes());
        digest.update(asset.body);
    }
    hex::encode(digest.finalize())[..16].to_owned()
}

fn content_security_policy(config: &DashboardConfig) -> String {
    let mut connect = vec!["'self'".to_owned()];
    connect.extend(config.connect_src.iter().cloned());
    connect.extend(config.events_origin.iter().cloned());
    [
        "default-src 'none'".to_owned(),
        "script-src 'self'".to_owned(),
        "style-src 'self'".to_owned(),
        "img-src 'self'".to_owned(),
        format!("connect-src {}", connect.join(" ")),
        "base-uri 'none'".to_owned(),
        "form-action 'self'".to_owned(),
        "frame-ancestors 'none'".to_owned(),
    ]
    .join("; ")
}

fn security_headers(config: &DashboardConfig) -> Vec<(HeaderName, HeaderValue)> {
    let csp = HeaderValue::from_str(&content_security_policy(config)).expect("validated origins make a valid header");
    vec![
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        // Presigned URLs carry credentials in their query: never leak the page's URL onwards.
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
    ]
}

fn respond(
    dashboard: &Dashboard,
    status: StatusCode,
    headers: &[(HeaderName, HeaderValue)],
    body: impl IntoResponse,
) -> Response {
    let mut response = (status, body).into_response();
    let map = response.headers_mut();
    for (name, value) in dashboard.security_headers.iter().chain(headers) {
        map.insert(name.clone(), value.clone());
    }
    response
}

async fn index_page(State(dashboard): State<Arc<Dashboard>>, request_headers: HeaderMap) -> Response {
    let etag = dashboard.index_etag.clone();
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        // Always revalidated: it names the current assets' version.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::ETAG, etag.clone()),
    ];
    let unchanged = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*");
    if unchanged {
        return respond(&dashboard, StatusCode::NOT_MODIFIED, &headers[1..], ());
    }
    respond(&dashboard, StatusCode::OK, &headers, dashboard.index.clone())
}

async fn asset(State(dashboard): State<Arc<Dashboard>>, Path((version, name)): Path<(String, String)>) -> Response {
    let found = ASSETS.iter().find(|a| a.name == name);
    match found {
        Some(asset) if version == dashboard.version => {
            let headers = [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
            ];
            respond(&dashboard, StatusCode::OK, &headers, asset.body)
        }
        _ => {
            let headers = [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ];
            respond(
                &dashboard,
                StatusCode::NOT_FOUND,
                &headers,
                "not found: reload the page to get the current dashboard\n",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    fn app() -> Router {
        router_with(&DashboardConfig::parse("http://127.0.0.1:4566").unwrap())
    }

    async fn get(app: Router, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
        let mut request = Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, String::from_utf8_lossy(&body).into_owned())
    }

    fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
        headers.get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap()
    }

    /// `/assets/…/x.js` paths named by `src`/`href` attributes of the page.
    fn asset_paths(index: &str) -> Vec<String> {
        index.split(['"', '\'']).filter(|s| s.starts_with("/assets/")).map(str::to_owned).collect()
    }

    #[tokio::test]
    async fn the_events_url_is_named_to_the_page_and_allowed_by_its_policy() {
        let lookup = |name: &str| match name {
            EVENTS_URL_VAR => Some("https://abc123.lambda-url.eu-west-1.on.aws/".to_owned()),
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:4566".to_owned()),
            _ => None,
        };
        let config = DashboardConfig::from_lookup(lookup).unwrap();
        assert_eq!(config.events_origin.as_deref(), Some("https://abc123.lambda-url.eu-west-1.on.aws"));
        let (_, headers, body) = get(router_with(&config), "/", &[]).await;
        let csp = header(&headers, "content-security-policy");
        assert!(
            csp.contains("connect-src 'self' http://127.0.0.1:4566 https://abc123.lambda-url.eu-west-1.on.aws;"),
            "{csp}"
        );
        assert!(
            body.contains(r#"<meta name="helix-events-origin" content="https://abc123.lambda-url.eu-west-1.on.aws">"#),
            "{body}"
        );
        let smuggled = |name: &str| (name == EVENTS_URL_VAR).then(|| "https://x.on.aws\"><script>".to_owned());
        assert!(DashboardConfig::from_lookup(smuggled).is_err());
    }

    #[tokio::test]
    async fn index_is_html_with_a_strict_policy_and_revalidated() {
        let (status, headers, body) = get(app(), "/", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&headers, "cache-control"), "no-cache");
        let csp = header(&headers, "content-security-policy");
        assert!(csp.starts_with("default-src 'none'; script-src 'self'; style-src 'self'"), "{csp}");
        assert!(csp.contains("connect-src 'self' http://127.0.0.1:4566;"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
        assert!(body.contains(r#"<script type="module" src="/assets/"#));
        assert!(!body.contains(ASSET_BASE_PLACEHOLDER));
        assert!(body.contains(r#"<meta name="helix-events-origin" content="">"#), "{body}");

        let etag = header(&headers, "etag").to_owned();
        let (status, headers, body) = get(app(), "/", &[("if-none-match", &etag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        assert_eq!(header(&headers, "etag"), etag);
    }

    #[tokio::test]
    async fn every_asset_the_page_names_is_served_with_its_type_and_cached_for_good() {
        let (_, _, index) = get(app(), "/", &[]).await;
        let paths = asset_paths(&index);
        assert!(paths.len() >= 3, "{paths:?}");
        for path in paths {
            let (status, headers, body) = get(app(), &path, &[]).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert!(!body.is_empty(), "{path}");
            assert_eq!(header(&headers, "cache-control"), "public, max-age=31536000, immutable");
            assert!(headers.contains_key("content-security-policy"));
            let expected = match path.rsplit('.').next().unwrap() {
                "js" => JAVASCRIPT,
                "css" => "text/css; charset=utf-8",
                "svg" => "image/svg+xml",
                other => panic!("unexpected asset type {other}"),
            };
            assert_eq!(header(&headers, "content-type"), expected, "{path}");
        }
    }

    #[test]
    fn every_module_import_resolves_to_an_embedded_asset() {
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            assert_eq!(asset.content_type, JAVASCRIPT, "{}", asset.name);
            let source = std::str::from_utf8(asset.body).unwrap();
            for line in source.lines().filter(|l| l.starts_with("import ")) {
                let target = line.rsplit(" from ").next().unwrap().trim_matches([' ', ';', '\'']);
                let name =
                    target.strip_prefix("./").unwrap_or_else(|| panic!("{}: non-relative import {target}", asset.name));
                assert!(ASSETS.iter().any(|a| a.name == name), "{} imports missing {name}", asset.name);
            }
        }
    }

    #[test]
    fn every_file_in_the_assets_folder_is_embedded() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        for entry in std::fs::read_dir(folder).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(name == "index.html" || ASSETS.iter().any(|a| a.name == name), "assets/{name} is not in ASSETS");
        }
    }

    #[test]
    fn nothing_is_loaded_from_elsewhere() {
        for source in ASSETS.iter().map(|a| std::str::from_utf8(a.body).unwrap()).chain([INDEX_TEMPLATE]) {
            for line in source.lines() {
                let external = ["src=\"http", "href=\"http", "@import", "url(http", "from 'http"];
                assert!(!external.iter().any(|e| line.contains(e)), "external reference: {line}");
            }
        }
    }

    #[tokio::test]
    async fn the_orders_example_is_served_as_the_examples_folder_holds_it() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/orders");
        for (asset, file) in [
            ("example-orders.csv", "orders.csv"),
            ("example-orders.yaml", "orders.yaml"),
            ("example-order_line.schema.json", "order_line.schema.json"),
        ] {
            let (status, _, body) = get(app(), &format!("/assets/{}/{asset}", assets_version()), &[]).await;
            assert_eq!(status, StatusCode::OK, "{asset}");
            assert_eq!(body, std::fs::read_to_string(folder.join(file)).unwrap(), "{asset}");
        }
    }

    #[tokio::test]
    async fn unknown_or_stale_assets_are_not_found() {
        let (status, headers, _) = get(app(), "/assets/0000000000000000/app.js", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(header(&headers, "cache-control"), "no-store");
        let path = format!("/assets/{}/secret.rs", assets_version());
        assert_eq!(get(app(), &path, &[]).await.0, StatusCode::NOT_FOUND);
    }

    #[test]
    fn connect_src_accepts_only_origins() {
        assert_eq!(DashboardConfig::parse("").unwrap().connect_src, Vec::<String>::new());
        assert_eq!(
            DashboardConfig::parse(" https://b.s3.eu-west-1.amazonaws.com/  http://127.0.0.1:4566 ")
                .unwrap()
                .connect_src,
            ["https://b.s3.eu-west-1.amazonaws.com", "http://127.0.0.1:4566"]
        );
        for bad in ["127.0.0.1:4566", "https://", "https://x; script-src *", "http://a/b", "'unsafe-inline'", "ftp://x"]
        {
            assert!(DashboardConfig::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn connect_src_falls_back_to_the_s3_endpoint_override() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        let from = |vars| DashboardConfig::from_lookup(env(vars)).unwrap().connect_src;
        assert_eq!(from(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")]), ["http://127.0.0.1:4566"]);
        assert_eq!(
            from(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
                ("AWS_ENDPOINT_URL_S3", "http://localhost:9000/s3/")
            ]),
            ["http://localhost:9000"]
        );
        assert_eq!(
            from(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"), (CONNECT_SRC_VAR, "https://b.s3.amazonaws.com")]),
            ["https://b.s3.amazonaws.com"]
        );
        assert!(from(&[]).is_empty());
        assert!(DashboardConfig::from_lookup(env(&[("AWS_ENDPOINT_URL", "localhost:4566")])).is_err());
    }

    #[tokio::test]
    async fn without_configuration_only_the_own_origin_is_reachable() {
        let (_, headers, _) = get(router_with(&DashboardConfig::default()), "/", &[]).await;
        assert!(header(&headers, "content-security-policy").contains("connect-src 'self';"));
    }
}
