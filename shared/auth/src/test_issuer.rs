//! A small OpenID Connect issuer for tests (feature `test-issuer`): it serves
//! `/.well-known/openid-configuration` and its key set on a loopback port, and signs ES256 tokens
//! with keys generated at start, as Keycloak or Auth0 would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

use crate::oidc::OidcIssuer;

/// The audience the test issuer's tokens are for, unless a test says otherwise.
pub const TEST_AUDIENCE: &str = "helixnet-sso";

/// An ES256 key pair.
pub struct TestKey {
    pub kid: String,
    pkcs8: Vec<u8>,
    /// The uncompressed point: `0x04 || x || y`.
    public: Vec<u8>,
}

impl TestKey {
    pub fn generate(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("a P-256 key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).expect("its pair");
        Self { kid: kid.into(), pkcs8: pkcs8.as_ref().to_vec(), public: pair.public_key().as_ref().to_vec() }
    }

    /// The public key as a JWK (RFC 7518 §6.2).
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&self.public[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&self.public[33..65]),
        })
    }

    /// The public key's bytes, as an attacker would use them for an HMAC secret.
    pub fn public_bytes(&self) -> &[u8] {
        &self.public
    }

    pub fn sign(&self, claims: &Value) -> String {
        let header = Header { kid: Some(self.kid.clone()), ..Header::new(Algorithm::ES256) };
        encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).expect("ES256 signs")
    }
}

struct Published {
    issuer: String,
    keys: Mutex<Vec<Value>>,
    jwks_requests: AtomicUsize,
}

/// The running issuer. Dropping it stops the server.
pub struct TestIssuer {
    published: Arc<Published>,
    key: Mutex<Arc<TestKey>>,
    server: tokio::task::JoinHandle<()>,
}

impl TestIssuer {
    /// Serves on a free loopback port, with one key published.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let issuer = format!("http://{}/realms/test", listener.local_addr().expect("its address"));
        let key = TestKey::generate("test-key-1");
        let published =
            Arc::new(Published { issuer, keys: Mutex::new(vec![key.jwk()]), jwks_requests: AtomicUsize::new(0) });
        let app = axum::Router::new()
            .route("/realms/test/.well-known/openid-configuration", get(discovery))
            .route("/realms/test/protocol/openid-connect/certs", get(jwks))
            .with_state(published.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the test issuer serves");
        });
        Self { published, key: Mutex::new(Arc::new(key)), server }
    }

    pub fn issuer(&self) -> &str {
        &self.published.issuer
    }

    /// The configuration HelixNet would have for it: ES256 pinned, keys found by discovery.
    pub fn config(&self) -> OidcIssuer {
        OidcIssuer {
            issuer: self.issuer().into(),
            audience: TEST_AUDIENCE.into(),
            algorithm: Algorithm::ES256,
            jwks_url: None,
            groups_claim: "groups".into(),
        }
    }

    /// How many times its key set was fetched.
    pub fn jwks_requests(&self) -> usize {
        self.published.jwks_requests.load(Ordering::SeqCst)
    }

    pub fn key(&self) -> Arc<TestKey> {
        self.key.lock().unwrap().clone()
    }

    /// Valid claims for a user: this issuer, the test audience, five minutes to live.
    pub fn claims(&self, subject: &str, email: &str, groups: &[&str]) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({
            "iss": self.issuer(), "aud": TEST_AUDIENCE, "sub": subject, "email": email,
            "email_verified": true, "name": "Test User", "groups": groups,
            "iat": now, "nbf": now, "exp": now + 300,
        })
    }

    /// Signed with the current key.
    pub fn sign(&self, claims: &Value) -> String {
        self.key().sign(claims)
    }

    /// A new key signs from now on and is published next to the old one (a rotation).
    pub fn rotate(&self, kid: &str) -> Arc<TestKey> {
        let key = Arc::new(TestKey::generate(kid));
        self.published.keys.lock().unwrap().push(key.jwk());
        *self.key.lock().unwrap() = key.clone();
        key
    }

    /// Replaces the published key set.
    pub fn publish(&self, keys: Vec<Value>) {
        *self.published.keys.lock().unwrap() = keys;
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn discovery(State(published): State<Arc<Published>>) -> Json<Value> {
    Json(json!({
        "issuer": published.issuer,
        "jwks_uri": format!("{}/protocol/openid-connect/certs", published.issuer),
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn jwks(State(published): State<Arc<Published>>) -> Json<Value> {
    published.jwks_requests.fetch_add(1, Ordering::SeqCst);
    Json(json!({ "keys": *published.keys.lock().unwrap() }))
}
