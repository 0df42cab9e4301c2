//! Single sign-on against an OIDC issuer served on a loopback port: the happy path, and the JWT
//! attack set aimed at the external issuer's tokens.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use helix_auth::test_issuer::{TEST_AUDIENCE, TestIssuer, TestKey};
use helix_auth::{OidcIssuer, OidcVerifier, TokenError};

fn refused(result: Result<helix_auth::ExternalIdentity, TokenError>) -> bool {
    matches!(result, Err(TokenError::Invalid))
}

/// A token with its header replaced (payload and signature kept).
fn with_header(token: &str, header: &Value) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

#[tokio::test]
async fn a_token_of_the_issuer_gives_its_identity_and_the_keys_are_read_once() {
    let issuer = TestIssuer::start().await;
    let verifier = OidcVerifier::new(vec![issuer.config()]);
    assert_eq!(issuer.jwks_requests(), 0, "nothing is read before the first token");
    let token = issuer.sign(&issuer.claims("kc-1", "Ada@Example.test", &["helix:t1:admin", "other"]));
    let identity = verifier.verify(&token).await.unwrap();
    assert_eq!(identity.issuer, issuer.issuer());
    assert_eq!(identity.subject, "kc-1");
    assert_eq!(identity.email.as_deref(), Some("Ada@Example.test"));
    assert!(identity.email_verified);
    assert_eq!(identity.groups, ["helix:t1:admin", "other"]);
    verifier.verify(&token).await.unwrap();
    assert_eq!(issuer.jwks_requests(), 1, "the key set is cached");
}

/// Keycloak's, Cognito's, Entra ID's and Auth0's default algorithm: RS256, with an RSA key of the
/// set (a fixed test key: ring generates no RSA keys).
#[tokio::test]
async fn an_rs256_issuer_verifies_with_its_rsa_key_only() {
    let issuer = TestIssuer::start().await;
    let jwk: Value = serde_json::from_str(include_str!("fixtures/rsa-test-key.jwk.json")).unwrap();
    issuer.publish(vec![jwk, issuer.key().jwk()]);
    let verifier = OidcVerifier::new(vec![OidcIssuer { algorithm: Algorithm::RS256, ..issuer.config() }]);
    let rsa = EncodingKey::from_rsa_pem(include_bytes!("fixtures/rsa-test-key.pem")).unwrap();
    let claims = issuer.claims("kc-1", "a@example.test", &[]);
    let rs256 = Header { kid: Some("rsa-test-key".into()), ..Header::new(Algorithm::RS256) };
    let identity = verifier.verify(&encode(&rs256, &claims, &rsa).unwrap()).await.unwrap();
    assert_eq!(identity.subject, "kc-1");
    // The set's EC key, named by its kid, and the RSA key under another algorithm (PS256).
    assert!(refused(verifier.verify(&issuer.sign(&claims)).await));
    let ps256 = Header { kid: Some("rsa-test-key".into()), ..Header::new(Algorithm::PS256) };
    assert!(refused(verifier.verify(&encode(&ps256, &claims, &rsa).unwrap()).await));
}

#[tokio::test]
async fn an_unsigned_token_is_refused() {
    let issuer = TestIssuer::start().await;
    let verifier = OidcVerifier::new(vec![issuer.config()]);
    let token = issuer.sign(&issuer.claims("kc-1", "a@example.test", &[]));
    let none = with_header(&token, &json!({"alg": "none", "kid": issuer.key().kid}));
    let (head, payload, _) = {
        let parts: Vec<&str> = none.split('.').collect();
        (parts[0].to_owned(), parts[1].to_owned(), parts[2].to_owned())
    };
    assert!(refused(verifier.verify(&none).await));
    assert!(refused(verifier.verify(&format!("{head}.{payload}.")).await), "no signature at all");
    assert_eq!(issuer.jwks_requests(), 0, "refused on the header");
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let issuer = TestIssuer::start().await;
    let verifier = OidcVerifier::new(vec![issuer.config()]);
    let key = issuer.key();
    let header = Header { kid: Some(key.kid.clone()), ..Header::new(Algorithm::HS256) };
    let claims = issuer.claims("kc-1", "a@example.test", &[]);
    // The public key as the HMAC secret, raw and as its JWK text (algorithm confusion).
    for secret in [key.public_bytes().to_vec(), key.jwk().to_string().into_bytes()] {
        let token = encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        assert!(refused(verifier.verify(&token).await));
    }
    // Even when the issuer's set carries a symmetric key under that id, it is never used.
    issuer.publish(vec![json!({"kty": "oct", "kid": key.kid, "k": URL_SAFE_NO_PAD.encode(key.public_bytes())})]);
    let token = encode(&header, &claims, &EncodingKey::from_secret(key.public_bytes())).unwrap();
    assert!(refused(verifier.verify(&token).await));
    let es256 = Header { kid: Some(key.kid.clone()), ..Header::new(Algorithm::ES256) };
    let forged = encode(&es256, &claims, &EncodingKey::from_secret(key.public_bytes()));
    assert!(forged.is_err() || refused(verifier.verify(&forged.unwrap()).await));
}

#[tokio::test]
async fn an_unknown_kid_reads_the_keys_again_then_is_refused_and_reads_are_rate_limited() {
    let issuer = TestIssuer::start().await;
    let interval = Duration::from_millis(300);
    let verifier = OidcVerifier::with_reload_interval(vec![issuer.config()], interval);
    verifier.verify(&issuer.sign(&issuer.claims("kc-1", "a@example.test", &[]))).await.unwrap();
    assert_eq!(issuer.jwks_requests(), 1);

    let stranger = TestKey::generate("not-published");
    let forged = stranger.sign(&issuer.claims("kc-1", "a@example.test", &[]));
    assert!(refused(verifier.verify(&forged).await));
    assert_eq!(issuer.jwks_requests(), 1, "within the interval nothing is read");
    tokio::time::sleep(interval).await;
    assert!(refused(verifier.verify(&forged).await));
    assert_eq!(issuer.jwks_requests(), 2, "read again for the unknown kid, then refused");
    for _ in 0..5 {
        assert!(refused(verifier.verify(&forged).await));
    }
    assert_eq!(issuer.jwks_requests(), 2, "a stream of unknown kids reads once per interval");

    // A rotation at the issuer: the new key is found on the next read.
    issuer.rotate("test-key-2");
    tokio::time::sleep(interval).await;
    let identity = verifier.verify(&issuer.sign(&issuer.claims("kc-2", "b@example.test", &[]))).await.unwrap();
    assert_eq!(identity.subject, "kc-2");
    assert_eq!(issuer.jwks_requests(), 3);
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused() {
    let issuer = TestIssuer::start().await;
    let verifier = OidcVerifier::new(vec![issuer.config()]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut expired = issuer.claims("kc-1", "a@example.test", &[]);
    expired["exp"] = json!(now - 120);
    expired["iat"] = json!(now - 420);
    assert!(refused(verifier.verify(&issuer.sign(&expired)).await));
    let mut early = issuer.claims("kc-1", "a@example.test", &[]);
    early["nbf"] = json!(now + 600);
    early["exp"] = json!(now + 900);
    assert!(refused(verifier.verify(&issuer.sign(&early)).await));
    let mut no_exp = issuer.claims("kc-1", "a@example.test", &[]);
    no_exp.as_object_mut().unwrap().remove("exp");
    assert!(refused(verifier.verify(&issuer.sign(&no_exp)).await));
}

#[tokio::test]
async fn the_wrong_issuer_or_audience_is_refused() {
    let issuer = TestIssuer::start().await;
    let verifier = OidcVerifier::new(vec![issuer.config()]);
    let mut other_issuer = issuer.claims("kc-1", "a@example.test", &[]);
    other_issuer["iss"] = json!("https://login.example.test/realms/other");
    assert!(refused(verifier.verify(&issuer.sign(&other_issuer)).await));
    let mut no_issuer = issuer.claims("kc-1", "a@example.test", &[]);
    no_issuer.as_object_mut().unwrap().remove("iss");
    assert!(refused(verifier.verify(&issuer.sign(&no_issuer)).await));
    assert_eq!(issuer.jwks_requests(), 0, "an unconfigured issuer's token reads no keys");

    for aud in [json!("another-client"), json!(["another-client", "account"]), json!(null)] {
        let mut claims = issuer.claims("kc-1", "a@example.test", &[]);
        claims["aud"] = aud;
        assert!(refused(verifier.verify(&issuer.sign(&claims)).await));
    }
    let mut listed = issuer.claims("kc-1", "a@example.test", &[]);
    listed["aud"] = json!(["account", TEST_AUDIENCE]);
    assert!(verifier.verify(&issuer.sign(&listed)).await.is_ok(), "one of several audiences");
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_refused() {
    let issuer = TestIssuer::start().await;
    let verifier = OidcVerifier::new(vec![issuer.config()]);
    // Another key claiming the published key's id: the signature is checked with the real key.
    let impostor = TestKey::generate(&issuer.key().kid);
    assert!(refused(verifier.verify(&impostor.sign(&issuer.claims("kc-1", "a@example.test", &[]))).await));
    // Another issuer's genuine token, relabelled as ours.
    let other = TestIssuer::start().await;
    let mut claims = other.claims("kc-1", "a@example.test", &[]);
    claims["iss"] = json!(issuer.issuer());
    assert!(refused(verifier.verify(&other.sign(&claims)).await));
    // A tampered payload.
    let good = issuer.sign(&issuer.claims("kc-1", "a@example.test", &[]));
    let parts: Vec<&str> = good.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("kc-admin");
    let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(payload.to_string()), parts[2]);
    assert!(refused(verifier.verify(&tampered).await));
}

#[tokio::test]
async fn a_token_without_subject_or_kid_is_refused() {
    let issuer = TestIssuer::start().await;
    let verifier = OidcVerifier::new(vec![issuer.config()]);
    let mut claims = issuer.claims("kc-1", "a@example.test", &[]);
    claims.as_object_mut().unwrap().remove("sub");
    assert!(refused(verifier.verify(&issuer.sign(&claims)).await));
    let token = issuer.sign(&issuer.claims("kc-1", "a@example.test", &[]));
    assert!(refused(verifier.verify(&with_header(&token, &json!({"alg": "ES256"}))).await));
    assert!(refused(verifier.verify("not-a-jwt").await));
}

#[tokio::test]
async fn an_unreachable_or_lying_issuer_is_unavailable_not_invalid() {
    let issuer = TestIssuer::start().await;
    let mut config = issuer.config();
    config.jwks_url = Some("http://127.0.0.1:9/certs".into());
    let verifier = OidcVerifier::new(vec![config]);
    let token = issuer.sign(&issuer.claims("kc-1", "a@example.test", &[]));
    assert!(matches!(verifier.verify(&token).await, Err(TokenError::KeysUnavailable(_))));
    assert!(
        matches!(verifier.verify(&token).await, Err(TokenError::KeysUnavailable(_))),
        "not read again within the interval, still unavailable"
    );

    // Discovery that names another issuer is not followed.
    let mut config = issuer.config();
    config.issuer = format!("{}/", issuer.issuer());
    let verifier = OidcVerifier::new(vec![config.clone()]);
    let mut claims = issuer.claims("kc-1", "a@example.test", &[]);
    claims["iss"] = json!(config.issuer);
    assert!(matches!(verifier.verify(&issuer.sign(&claims)).await, Err(TokenError::KeysUnavailable(_))));
    assert_eq!(issuer.jwks_requests(), 0);
}

#[tokio::test]
async fn an_unverified_email_is_reported() {
    let issuer = TestIssuer::start().await;
    let verifier = OidcVerifier::new(vec![issuer.config()]);
    let mut claims = issuer.claims("kc-1", "a@example.test", &[]);
    claims["email_verified"] = json!(false);
    assert!(!verifier.verify(&issuer.sign(&claims)).await.unwrap().email_verified);
}

#[test]
fn the_configuration_is_checked() {
    let ok = r#"[{"issuer": "https://sso.example.test/realms/helix", "audience": "helixnet", "algorithm": "RS256"}]"#;
    let issuers = OidcIssuer::parse_list(ok).unwrap();
    assert_eq!(issuers[0].groups_claim, "groups");
    assert_eq!(issuers[0].jwks_url, None);
    assert!(OidcIssuer::parse_list("[]").unwrap().is_empty());
    let bad = [
        (r#"[{"issuer": "https://a.test", "audience": "x", "algorithm": "HS256"}]"#, "asymmetric"),
        (r#"[{"issuer": "http://sso.example.test", "audience": "x", "algorithm": "RS256"}]"#, "https"),
        (r#"[{"issuer": "https://a.test", "audience": " ", "algorithm": "RS256"}]"#, "audience"),
        (r#"[{"issuer": "https://a.test", "audience": "x", "algorithm": "RS256", "jwks": "y"}]"#, "unknown field"),
        (r#"[{"issuer": "https://a.test", "audience": "x", "algorithm": "none"}]"#, "unknown variant"),
        (
            r#"[{"issuer": "https://a.test", "audience": "x", "algorithm": "ES256"},
                {"issuer": "https://a.test", "audience": "y", "algorithm": "ES256"}]"#,
            "twice",
        ),
        (r#"{"issuer": "https://a.test"}"#, "JSON list"),
    ];
    for (json, reason) in bad {
        let error = OidcIssuer::parse_list(json).unwrap_err().to_string();
        assert!(error.contains(reason), "{json}: {error}");
    }
}
