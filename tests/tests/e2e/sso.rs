//! Single sign-on over HTTP on the emulator: an OIDC issuer in the test process, configured in
//! the platform's `OIDC_ISSUERS`; its tokens traded at `POST /auth/sso` for sessions (the account
//! and its claimed membership written to DynamoDB), and the JWT attack set refused there.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helix_auth::test_issuer::{TEST_AUDIENCE, TestIssuer, TestKey};
use helix_domain::UserStore;
use helix_e2e::{Options, StatusCode, TestPlatform, error_of};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

async fn platform_trusting(issuer: &TestIssuer) -> TestPlatform {
    let issuers = json!([{"issuer": issuer.issuer(), "audience": TEST_AUDIENCE, "algorithm": "ES256"}]);
    TestPlatform::start_with(Options { workers: false, oidc_issuers: issuers.to_string(), ..Options::default() }).await
}

async fn sso(t: &TestPlatform, token: &str) -> (StatusCode, Value) {
    let response = t.http.post(t.url("/api/v1/auth/sso")).json(&json!({"access_token": token})).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_issuers_token_starts_a_session_and_provisions_the_account_and_its_membership() {
    let issuer = TestIssuer::start().await;
    let t = platform_trusting(&issuer).await;
    let alice = t.user().await;
    let (_, team) = t.post_json(&alice.token, "/api/v1/teams", &json!({"name": "Integration"})).await;
    let team_id = team["id"].as_str().unwrap().to_owned();

    let group = format!("helix:{team_id}:member");
    let token = issuer.sign(&issuer.claims("kc-ada", "ada@sso.example.test", &[group.as_str(), "staff"]));
    let (status, session) = sso(&t, &token).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let access = session["access_token"].as_str().unwrap().to_owned();
    assert!(session["refresh_token"].as_str().unwrap().starts_with("hxr_"));

    let (status, me) = t.get(&access, "/api/v1/users/me").await;
    assert_eq!((status, &me["email"]), (StatusCode::OK, &json!("ada@sso.example.test")), "{me}");
    let (_, teams) = t.get(&access, "/api/v1/teams").await;
    let roles: Vec<(&str, &str)> = teams["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("Personal", "owner"), ("Integration", "member")]);
    let (_, audit) = t.get(&alice.token, &format!("/api/v1/teams/{team_id}/audit?action=member.join")).await;
    assert_eq!(audit["items"][0]["actor"], me["id"], "{audit}");

    // The same subject again: the same account, a new session; its password login never works.
    let (status, again) = sso(&t, &issuer.sign(&issuer.claims("kc-ada", "ada@sso.example.test", &[]))).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    let (_, me_again) = t.get(again["access_token"].as_str().unwrap(), "/api/v1/users/me").await;
    assert_eq!(me_again["id"], me["id"]);
    let refused = t
        .http
        .post(t.url("/api/v1/auth/token"))
        .form(&[("username", "ada@sso.example.test"), ("password", "")])
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error());

    // A HelixNet session like any other: logout ends it.
    let logout = t
        .http
        .post(t.url("/api/v1/auth/logout"))
        .json(&json!({"refresh_token": session["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(t.get(&access, "/api/v1/users/me").await.0, StatusCode::UNAUTHORIZED);

    // An address that has a password account is not taken over.
    let (status, body) = sso(&t, &issuer.sign(&issuer.claims("kc-mallory", &alice.email, &[group.as_str()]))).await;
    assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::CONFLICT, "conflict"), "{body}");
}

/// A token with its header replaced (payload and signature kept).
fn with_header(token: &str, header: &Value) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

#[tokio::test]
async fn the_jwt_attack_set_is_refused_at_the_exchange() {
    let issuer = TestIssuer::start().await;
    let t = platform_trusting(&issuer).await;
    let claims = || issuer.claims("kc-eve", "eve@sso.example.test", &[]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let key = issuer.key();
    let hs256 = Header { kid: Some(key.kid.clone()), ..Header::new(Algorithm::HS256) };
    let mut attacks: Vec<(&str, String)> = vec![
        ("alg none", with_header(&issuer.sign(&claims()), &json!({"alg": "none", "kid": key.kid}))),
        (
            "HS256 with the public key",
            encode(&hs256, &claims(), &EncodingKey::from_secret(key.public_bytes())).unwrap(),
        ),
        ("an unknown kid", TestKey::generate("unknown-kid").sign(&claims())),
        ("another key under our kid", TestKey::generate(&key.kid).sign(&claims())),
    ];
    for (what, field, value) in [
        ("expired", "exp", json!(now - 120)),
        ("not yet valid", "nbf", json!(now + 600)),
        ("the wrong issuer", "iss", json!("https://evil.example.test/realms/test")),
        ("the wrong audience", "aud", json!("another-client")),
    ] {
        let mut bad = claims();
        bad[field] = value;
        attacks.push((what, issuer.sign(&bad)));
    }
    for (what, token) in attacks {
        let (status, body) = sso(&t, &token).await;
        assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"), "{what}: {body}");
    }
    assert!(t.users().get("eve@sso.example.test").await.unwrap().is_none(), "nothing provisioned");

    let (status, body) = t.post_json("unused", "/api/v1/auth/sso", &json!({})).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::BAD_REQUEST, Some("access_token")), "{body}");
}
