//! Single sign-on: access tokens of external OpenID Connect issuers (Keycloak, Cognito, Entra ID,
//! Auth0), checked against the keys each issuer publishes (its JWKS).
//!
//! Each configured issuer has its algorithm pinned: a token whose header names another (`none`,
//! HS256 keyed with the public key, another curve) is refused before any key is looked at, and
//! only keys of that algorithm's type are taken from the issuer's key set (never an `oct` key).
//! The key set is read on the first token of that issuer, kept, and read again for a `kid` it does
//! not hold (a rotation at the issuer) at most once per [`OIDC_KEY_RELOAD_INTERVAL`], and in any
//! case once it is older than [`OIDC_KEY_MAX_AGE`] (a key the issuer withdrew stops verifying).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::token::TokenError;

/// How often, at most, an issuer's keys are read again for a token naming a key id not among them.
pub const OIDC_KEY_RELOAD_INTERVAL: Duration = Duration::from_secs(60);
/// Keys read longer ago than this are read again before the next token is checked.
pub const OIDC_KEY_MAX_AGE: Duration = Duration::from_secs(3600);
/// An issuer's clock and ours may disagree by this much on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;
/// Discovery documents and key sets are small; anything longer is not one.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// One trusted issuer, as configured (`OIDC_ISSUERS`, a JSON list of these).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OidcIssuer {
    /// The `iss` its tokens carry, exactly (Keycloak: `https://host/realms/<realm>`).
    pub issuer: String,
    /// The `aud` a token must hold to be for HelixNet (the client id, or an API identifier).
    pub audience: String,
    /// The one signing algorithm accepted from this issuer (`RS256`, `ES256`, `EdDSA`, …).
    pub algorithm: Algorithm,
    /// Where its keys are; without it, the `jwks_uri` of `<issuer>/.well-known/openid-configuration`.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The claim listing the user's groups, each `helix:<team id>:<role>` for a team membership.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
}

fn default_groups_claim() -> String {
    "groups".into()
}

#[derive(Debug, thiserror::Error)]
#[error("OIDC issuer {issuer:?}: {reason}")]
pub struct OidcConfigError {
    pub issuer: String,
    pub reason: String,
}

impl OidcIssuer {
    /// Parses and checks the configured list: every issuer and key URL `https` (or plain HTTP on
    /// loopback, for a local issuer), an asymmetric algorithm, no issuer twice.
    pub fn parse_list(json: &str) -> Result<Vec<Self>, OidcConfigError> {
        let issuers: Vec<Self> = serde_json::from_str(json).map_err(|e| OidcConfigError {
            issuer: String::new(),
            reason: format!("not a JSON list of issuers: {e}"),
        })?;
        for (i, issuer) in issuers.iter().enumerate() {
            issuer.check()?;
            if issuers[..i].iter().any(|other| other.issuer == issuer.issuer) {
                return Err(issuer.error("is configured twice"));
            }
        }
        Ok(issuers)
    }

    fn error(&self, reason: &str) -> OidcConfigError {
        OidcConfigError { issuer: self.issuer.clone(), reason: reason.into() }
    }

    fn check(&self) -> Result<(), OidcConfigError> {
        if !is_trusted_url(&self.issuer) {
            return Err(self.error("the issuer must be an https URL (plain http only on localhost)"));
        }
        if self.jwks_url.as_deref().is_some_and(|url| !is_trusted_url(url)) {
            return Err(self.error("jwks_url must be an https URL (plain http only on localhost)"));
        }
        if self.audience.trim().is_empty() {
            return Err(self.error("audience must not be empty"));
        }
        if self.groups_claim.trim().is_empty() {
            return Err(self.error("groups_claim must not be empty"));
        }
        if key_fits(self.algorithm).is_none() {
            return Err(self.error("the algorithm must be asymmetric: RS*, PS*, ES256, ES384 or EdDSA"));
        }
        Ok(())
    }
}

fn is_trusted_url(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else { return false };
    match parsed.scheme() {
        "https" => parsed.host().is_some(),
        "http" => matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")),
        _ => false,
    }
}

/// The kind of key an algorithm verifies with; `None` for the symmetric ones, never accepted.
#[derive(Clone, Copy, PartialEq)]
enum KeyKind {
    Rsa,
    Ec(&'static str),
    Ed25519,
}

fn key_fits(algorithm: Algorithm) -> Option<KeyKind> {
    use Algorithm::*;
    match algorithm {
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => Some(KeyKind::Rsa),
        ES256 => Some(KeyKind::Ec("P-256")),
        ES384 => Some(KeyKind::Ec("P-384")),
        EdDSA => Some(KeyKind::Ed25519),
        HS256 | HS384 | HS512 => None,
    }
}

/// Who an external token says the caller is.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// `false` only when the token says the address is unverified.
    pub email_verified: bool,
    pub name: Option<String>,
    /// The values of the issuer's groups claim (strings only).
    pub groups: Vec<String>,
}

/// Checks tokens of every configured issuer, each with its own keys.
pub struct OidcVerifier {
    issuers: Vec<IssuerKeys>,
    http: reqwest::Client,
    reload_interval: Duration,
}

struct IssuerKeys {
    config: OidcIssuer,
    validation: Validation,
    keys: RwLock<LoadedKeys>,
    /// When the keys were last read; held while reading them, so concurrent misses read once.
    read_at: tokio::sync::Mutex<Option<Instant>>,
    /// The key set's address, once configured or discovered.
    jwks_url: RwLock<Option<String>>,
}

#[derive(Default)]
struct LoadedKeys {
    by_kid: HashMap<String, DecodingKey>,
    at: Option<Instant>,
}

#[derive(Deserialize)]
struct UnverifiedIssuer {
    iss: Option<String>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl OidcVerifier {
    pub fn new(issuers: Vec<OidcIssuer>) -> Self {
        Self::with_reload_interval(issuers, OIDC_KEY_RELOAD_INTERVAL)
    }

    /// With another minimum time between two reads of an issuer's keys (tests).
    pub fn with_reload_interval(issuers: Vec<OidcIssuer>, reload_interval: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds");
        let issuers = issuers
            .into_iter()
            .map(|config| {
                let mut validation = Validation::new(config.algorithm);
                validation.set_issuer(&[&config.issuer]);
                validation.set_audience(&[&config.audience]);
                validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                validation.validate_nbf = true;
                validation.leeway = LEEWAY_SECONDS;
                IssuerKeys {
                    jwks_url: RwLock::new(config.jwks_url.clone()),
                    config,
                    validation,
                    keys: RwLock::new(LoadedKeys::default()),
                    read_at: tokio::sync::Mutex::new(None),
                }
            })
            .collect();
        Self { issuers, http, reload_interval }
    }

    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// The caller's identity, if the token is a valid one of a configured issuer. Every bad token
    /// is the same error; only an issuer whose keys cannot be read is another.
    pub async fn verify(&self, token: &str) -> Result<ExternalIdentity, TokenError> {
        let issuer = self.issuer_of(token).ok_or(TokenError::Invalid)?;
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != issuer.config.algorithm {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.filter(|k| !k.is_empty() && k.len() <= 256).ok_or(TokenError::Invalid)?;
        let key = match issuer.fresh_key(&kid) {
            Some(key) => key,
            None => self.reload_for(issuer, &kid).await?.ok_or(TokenError::Invalid)?,
        };
        let claims =
            decode::<Map<String, Value>>(token, &key, &issuer.validation).map_err(|_| TokenError::Invalid)?.claims;
        identity(&issuer.config, &claims).ok_or(TokenError::Invalid)
    }

    /// The configured issuer the token claims to be from (unverified: it only picks the keys).
    fn issuer_of(&self, token: &str) -> Option<&IssuerKeys> {
        let payload = token.split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let iss = serde_json::from_slice::<UnverifiedIssuer>(&bytes).ok()?.iss?;
        self.issuers.iter().find(|issuer| issuer.config.issuer == iss)
    }

    async fn reload_for(&self, issuer: &IssuerKeys, kid: &str) -> Result<Option<DecodingKey>, TokenError> {
        let mut read_at = issuer.read_at.lock().await;
        // Another request may have read them while this one waited.
        if let Some(key) = issuer.fresh_key(kid) {
            return Ok(Some(key));
        }
        let stale =
            issuer.keys.read().unwrap_or_else(|e| e.into_inner()).at.is_none_or(|at| at.elapsed() >= OIDC_KEY_MAX_AGE);
        // Failed reads count too: a stream of forged key ids never makes more than one request
        // to the issuer per interval, whether it answers or not.
        if read_at.is_some_and(|at| at.elapsed() < self.reload_interval) {
            return if stale {
                Err(TokenError::KeysUnavailable("the issuer's keys could not be read".into()))
            } else {
                Ok(None)
            };
        }
        let now = Instant::now();
        *read_at = Some(now);
        let by_kid = self.load_keys(issuer).await.map_err(TokenError::KeysUnavailable)?;
        tracing::info!(issuer = %issuer.config.issuer, keys = by_kid.len(), "OIDC issuer keys loaded");
        *issuer.keys.write().unwrap_or_else(|e| e.into_inner()) = LoadedKeys { by_kid, at: Some(now) };
        Ok(issuer.fresh_key(kid))
    }

    async fn load_keys(&self, issuer: &IssuerKeys) -> Result<HashMap<String, DecodingKey>, String> {
        let known = issuer.jwks_url.read().unwrap_or_else(|e| e.into_inner()).clone();
        let url = match known {
            Some(url) => url,
            None => {
                let url = self.discover(&issuer.config).await?;
                *issuer.jwks_url.write().unwrap_or_else(|e| e.into_inner()) = Some(url.clone());
                url
            }
        };
        let set: Value = self.fetch(&url).await?;
        let keys = set.get("keys").and_then(Value::as_array).ok_or_else(|| format!("{url} is not a JWKS document"))?;
        Ok(keys.iter().filter_map(|key| usable_key(key, issuer.config.algorithm)).collect())
    }

    /// OpenID Connect Discovery 1.0: the document must name the configured issuer exactly (§4.3).
    async fn discover(&self, config: &OidcIssuer) -> Result<String, String> {
        let url = format!("{}/.well-known/openid-configuration", config.issuer.trim_end_matches('/'));
        let discovery: Discovery = self.fetch(&url).await?;
        if discovery.issuer != config.issuer {
            return Err(format!("{url} names the issuer {:?}, not {:?}", discovery.issuer, config.issuer));
        }
        if !is_trusted_url(&discovery.jwks_uri) {
            return Err(format!("{url}: jwks_uri must be an https URL (plain http only on localhost)"));
        }
        Ok(discovery.jwks_uri)
    }

    async fn fetch<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self.http.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        if response.content_length().is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64) {
            return Err(format!("{url}: the document is too large"));
        }
        let body = response.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("{url}: the document is too large"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not the expected JSON: {e}"))
    }
}

impl IssuerKeys {
    /// The key, if the set holding it was read less than [`OIDC_KEY_MAX_AGE`] ago.
    fn fresh_key(&self, kid: &str) -> Option<DecodingKey> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.at.filter(|at| at.elapsed() < OIDC_KEY_MAX_AGE)?;
        keys.by_kid.get(kid).cloned()
    }
}

/// A key of the set, if it can verify `algorithm`: its type and curve fit, it is for signatures,
/// any `alg` it names is that one, and it has a key id.
fn usable_key(value: &Value, algorithm: Algorithm) -> Option<(String, DecodingKey)> {
    let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
    let kid = jwk.common.key_id.clone().filter(|k| !k.is_empty())?;
    if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature) {
        return None;
    }
    if jwk.common.key_algorithm.is_some_and(|alg| !names(alg, algorithm)) {
        return None;
    }
    let fits = match (&jwk.algorithm, key_fits(algorithm)?) {
        (AlgorithmParameters::RSA(_), KeyKind::Rsa) => true,
        (AlgorithmParameters::EllipticCurve(ec), KeyKind::Ec(curve)) => curve_name(&ec.curve) == curve,
        (AlgorithmParameters::OctetKeyPair(_), KeyKind::Ed25519) => true,
        _ => false,
    };
    if !fits {
        return None;
    }
    Some((kid, DecodingKey::from_jwk(&jwk).ok()?))
}

fn names(key_algorithm: KeyAlgorithm, algorithm: Algorithm) -> bool {
    key_algorithm.to_string() == format!("{algorithm:?}")
}

fn curve_name(curve: &EllipticCurve) -> &'static str {
    match curve {
        EllipticCurve::P256 => "P-256",
        EllipticCurve::P384 => "P-384",
        EllipticCurve::P521 => "P-521",
        EllipticCurve::Ed25519 => "Ed25519",
    }
}

/// The identity in verified claims; `None` without a subject.
fn identity(config: &OidcIssuer, claims: &Map<String, Value>) -> Option<ExternalIdentity> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    let subject = text("sub")?.to_owned();
    // Access tokens of Entra ID carry the address as `preferred_username` or `upn`, Cognito's ID
    // tokens and Keycloak's and Auth0's as `email`.
    let email = ["email", "preferred_username", "upn"].into_iter().find_map(text).filter(|v| v.contains('@'));
    let groups = match claims.get(&config.groups_claim) {
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(value)) => value.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    Some(ExternalIdentity {
        issuer: config.issuer.clone(),
        subject,
        email: email.map(str::to_owned),
        email_verified: claims.get("email_verified").and_then(Value::as_bool) != Some(false),
        name: text("name").map(str::to_owned),
        groups,
    })
}
