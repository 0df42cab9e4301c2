//! Every kind of bad input gets its status code and an error body naming the field; bad content
//! fails the job with a line number.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use helix_auth::{Claims, KeyDirectory, MemoryKeyDirectory, TokenVerifier};
use helix_aws::S3KeyDirectory;
use helix_e2e::{Options, StatusCode, TEST_JWT_SECRET, TestPlatform, error_of, split};
use serde_json::json;

/// `token` with its header replaced (payload and signature kept).
fn with_header(token: &str, header: &serde_json::Value) -> String {
    let (_, rest) = token.split_once('.').unwrap();
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

#[tokio::test]
async fn credentials_and_tokens() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let user = t.user().await;
    let login = |username: String, password: &'static str| {
        let t = &t;
        async move {
            split(
                t.http
                    .post(t.url("/api/v1/auth/token"))
                    .form(&[("username", username.as_str()), ("password", password)])
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, wrong_password) = login(user.email.clone(), "not the password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, unknown_user) = login("nobody@example.test".into(), "not the password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password, unknown_user, "the answer must not tell which part was wrong");

    let (status, body) = split(
        t.http.post(t.url("/api/v1/auth/token")).form(&[("username", user.email.as_str())]).send().await.unwrap(),
    )
    .await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::BAD_REQUEST, Some("password")));

    let me = "/api/v1/users/me";
    let (status, _) = split(t.http.get(t.url(me)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "missing token");

    // The platform signs with the key derived from the test secret and published its public half
    // to the bucket, where the verifiers read it; the auth routes serve the same key set.
    let signer = t.signer(TEST_JWT_SECRET);
    let bucket = &t.platform.settings.artifacts.bucket;
    let published = S3KeyDirectory::new(t.platform.clients.s3.clone(), bucket).load().await.unwrap();
    assert_eq!(published, Some(signer.jwks()), "keys/jwks.json holds the signing key's public half");
    let (status, served) = split(t.http.get(t.url("/api/v1/auth/jwks.json")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, serde_json::to_value(signer.jwks()).unwrap());
    let settings = helix_aws::wiring::token_settings(&t.platform.settings.tokens);
    let verifier = TokenVerifier::new(&settings, Arc::new(MemoryKeyDirectory::with(signer.jwks())));

    let good = verifier.verify(&user.token).await.unwrap();
    let now = good.iat;
    let expired = Claims { iat: now - 7200, exp: now - 3600, ..good.clone() };
    let wrong_audience = Claims { aud: "another-api".into(), ..good.clone() };
    let wrong_issuer = Claims { iss: "someone-else".into(), ..good.clone() };
    let mut tampered = user.token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let foreign = t.signer("another-secret-another-secret-another-secret").sign_claims(&good).unwrap();
    let our_kid = json!({"typ": "JWT", "alg": "EdDSA", "kid": signer.kid()});
    // The old scheme: HS256 with the test secret, and with the public key as the HMAC key.
    let hs256 = |key: &[u8]| {
        let header = jsonwebtoken::Header {
            kid: Some(signer.kid().to_owned()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        };
        jsonwebtoken::encode(&header, &good, &jsonwebtoken::EncodingKey::from_secret(key)).unwrap()
    };
    let public_key = URL_SAFE_NO_PAD.decode(&signer.jwks().keys[0].x).unwrap();
    for (what, token) in [
        ("expired", signer.sign_claims(&expired).unwrap()),
        ("wrong audience", signer.sign_claims(&wrong_audience).unwrap()),
        ("wrong issuer", signer.sign_claims(&wrong_issuer).unwrap()),
        ("foreign key", foreign.clone()),
        ("foreign key naming ours", with_header(&foreign, &our_kid)),
        ("HS256 with the secret", hs256(TEST_JWT_SECRET.as_bytes())),
        ("HS256 with the public key", hs256(&public_key)),
        ("tampered", tampered),
        ("garbage", "not-a-jwt".into()),
    ] {
        let (status, body) = t.get(&token, me).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(error_of(&body).0, "unauthorized");
    }
    let (status, body) = t.get(&user.token, me).await;
    assert_eq!(status, StatusCode::OK, "the platform's own token still opens the profile: {body}");
}

#[tokio::test]
async fn other_users_jobs_and_artifacts_are_not_found() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let (alice, mallory) = (t.user().await, t.user().await);
    let content = t.upload(&alice.token, "a.csv", "text/csv", "content", b"x\n1\n").await;
    let (_, job) = t.post_json(&alice.token, "/api/v1/jobs", &json!({"content_artifact_ids": [content]})).await;
    let job_id = job["id"].as_str().unwrap();
    for path in [
        format!("/api/v1/jobs/{job_id}"),
        format!("/api/v1/artifacts/{content}"),
        format!("/api/v1/artifacts/{content}/download"),
    ] {
        let (status, body) = t.get(&mallory.token, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        let (status, _) =
            t.get(&mallory.token, &path.replace(job_id, "no-such-id").replace(&content, "no-such-id")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn jobs_citing_unusable_artifacts_are_refused() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let (alice, bob) = (t.user().await, t.user().await);
    let mine = t.upload(&alice.token, "a.csv", "text/csv", "content", b"x\n1\n").await;
    let theirs = t.upload(&bob.token, "b.csv", "text/csv", "content", b"x\n1\n").await;
    let (_, pending) = t
        .post_json(
            &alice.token,
            "/api/v1/artifacts/upload",
            &json!({"filename": "p.csv", "content_type": "text/csv", "size_bytes": 10, "kind": "content"}),
        )
        .await;
    let pending = pending["artifact_id"].as_str().unwrap();
    let schema = t.upload(&alice.token, "s.json", "application/json", "schema", b"{\"type\": \"object\"}").await;

    for (body, field) in [
        (json!({"content_artifact_ids": [mine, pending]}), "content_artifact_ids[1]"),
        (json!({"content_artifact_ids": [theirs]}), "content_artifact_ids[0]"),
        (json!({"content_artifact_ids": ["no-such-artifact"]}), "content_artifact_ids[0]"),
        (json!({"content_artifact_ids": [schema]}), "content_artifact_ids[0]"),
        (json!({"content_artifact_ids": [mine, mine]}), "content_artifact_ids[1]"),
        (json!({"content_artifact_ids": []}), "content_artifact_ids"),
        (json!({"content_artifact_ids": [mine], "schema_artifact_id": mine}), "schema_artifact_id"),
        (json!({"content_artifact_ids": [mine], "schema": {"type": "object"}, "schema_artifact_id": schema}), "schema"),
        (json!({"content_artifact_ids": [mine], "schema": {"type": "no-such-type"}}), "schema"),
        (json!({"content_artifact_ids": [mine], "schema": "{not json"}), "schema"),
        (json!({"content_artifact_ids": [mine], "context": "fields: [unclosed"}), "context"),
    ] {
        let (status, error) = t.post_json(&alice.token, "/api/v1/jobs", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error_of(&error).1.as_deref(), Some(field), "{body}: {error}");
    }
    let (_, list) = t.get(&alice.token, "/api/v1/jobs").await;
    assert_eq!(list["items"], json!([]), "nothing was queued");
}

#[tokio::test]
async fn malformed_bodies_name_the_field() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let user = t.user().await;
    let raw = |body: &'static str| {
        let t = &t;
        let token = user.token.clone();
        async move {
            split(
                t.http
                    .post(t.url("/api/v1/artifacts/upload"))
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, body) = raw("{\"filename\": ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"].as_str().unwrap().contains("not valid JSON"), "{body}");
    for (payload, field) in [
        (r#"{"content_type": "text/csv", "size_bytes": 1, "kind": "content"}"#, "filename"),
        (r#"{"filename": "a.csv", "content_type": "text/csv", "size_bytes": "ten", "kind": "content"}"#, "size_bytes"),
        (r#"{"filename": "a.csv", "content_type": "text/csv", "size_bytes": 1, "kind": "movie"}"#, "kind"),
        (
            r#"{"filename": "a.csv", "content_type": "text/csv", "size_bytes": 1, "kind": "content", "acl": "public"}"#,
            "acl",
        ),
    ] {
        let (status, body) = raw(payload).await;
        assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::BAD_REQUEST, Some(field)), "{payload}: {body}");
    }
    let (status, body) =
        split(t.http.post(t.url("/api/v1/jobs")).bearer_auth(&user.token).body("{}").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");

    for (payload, status_code, field) in [
        (
            json!({"filename": "a.csv", "content_type": "text/csv", "size_bytes": 2_000_000, "kind": "content"}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "size_bytes",
        ),
        (
            json!({"filename": "a.csv", "content_type": "text/csv", "size_bytes": 0, "kind": "content"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "size_bytes",
        ),
        (
            json!({"filename": "a.csv", "content_type": "csv", "size_bytes": 1, "kind": "content"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "content_type",
        ),
        (
            json!({"filename": "r.json", "content_type": "application/json", "size_bytes": 1, "kind": "result"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind",
        ),
        (
            json!({"filename": "", "content_type": "text/csv", "size_bytes": 1, "kind": "content"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "filename",
        ),
    ] {
        let (status, body) = t.post_json(&user.token, "/api/v1/artifacts/upload", &payload).await;
        assert_eq!((status, error_of(&body).1.as_deref()), (status_code, Some(field)), "{payload}: {body}");
    }

    let big = vec![b'a'; 300 * 1024];
    let form =
        reqwest::multipart::Form::new().part("content_file", reqwest::multipart::Part::bytes(big).file_name("big.csv"));
    let (status, body) =
        split(t.http.post(t.url("/api/v1/jobs/upload")).bearer_auth(&user.token).multipart(form).send().await.unwrap())
            .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let form = reqwest::multipart::Form::new()
        .part("context_file", reqwest::multipart::Part::bytes(b"fields: {}".to_vec()).file_name("c.yaml"));
    let (status, body) =
        split(t.http.post(t.url("/api/v1/jobs/upload")).bearer_auth(&user.token).multipart(form).send().await.unwrap())
            .await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::BAD_REQUEST, Some("content_file")));
}

#[tokio::test]
async fn an_upload_larger_than_declared_is_rejected_and_deleted() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let (status, ticket) = t
        .post_json(
            &user.token,
            "/api/v1/artifacts/upload",
            &json!({"filename": "a.csv", "content_type": "text/csv", "size_bytes": 4, "kind": "content"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // The signed Content-Length is S3's check (LocalStack's S3 refuses this PUT; moto does not
    // check it); the upload watcher's is the second, tested here either way: where S3 refuses the
    // PUT, the object is written past the signature, as a client holding bucket credentials could.
    let oversized = b"x\n1\n2\n3\n".to_vec();
    let mut request = t.http.put(ticket["upload_url"].as_str().unwrap());
    for (name, value) in ticket["headers"].as_object().unwrap() {
        if !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name, value.as_str().unwrap());
        }
    }
    let put = request.body(oversized.clone()).send().await.unwrap();
    let id = ticket["artifact_id"].as_str().unwrap();
    let key = format!("uploads/{}/{id}/a.csv", user.id);
    if put.status() == StatusCode::FORBIDDEN {
        t.platform
            .clients
            .s3
            .put_object()
            .bucket(&t.platform.settings.artifacts.bucket)
            .key(&key)
            .content_type("text/csv")
            .body(oversized.into())
            .send()
            .await
            .unwrap();
    } else {
        assert!(put.status().is_success(), "PUT to the presigned URL: {}", put.status());
    }
    let artifact = t.wait_artifact(&user.token, id, "REJECTED").await;
    assert!(artifact["rejected_reason"].as_str().unwrap().contains("declared"), "{artifact}");
    let head = t.platform.clients.s3.head_object().bucket(&t.platform.settings.artifacts.bucket).key(key).send().await;
    assert!(head.is_err(), "the oversized object is deleted");
    let (status, body) = t.post_json(&user.token, "/api/v1/jobs", &json!({"content_artifact_ids": [id]})).await;
    assert_eq!(
        (status, error_of(&body).1.as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("content_artifact_ids[0]"))
    );
}

#[tokio::test]
async fn malformed_csv_fails_the_job_with_the_line_number() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let content =
        t.upload(&user.token, "broken.csv", "text/csv", "content", b"id,name\n1,ok\n2,\"unterminated\n3,x\n").await;
    let (status, job) = t.post_json(&user.token, "/api/v1/jobs", &json!({"content_artifact_ids": [content]})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "FAILED", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains("broken.csv") && error.contains("line 3"), "{error}");
    assert_eq!(job["attempts"], 1, "bad content is not retried");
    assert!(job["result_artifact_id"].is_null());
}

#[tokio::test]
async fn undeclared_encodings_are_detected_with_a_warning_or_refused_at_the_byte() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let run = |name: &'static str, bytes: Vec<u8>| {
        let (t, token) = (&t, user.token.clone());
        async move {
            let content = t.upload(&token, name, "text/csv", "content", &bytes).await;
            let (status, job) = t.post_json(&token, "/api/v1/jobs", &json!({"content_artifact_ids": [content]})).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{job}");
            t.wait_job(&token, job["id"].as_str().unwrap()).await
        }
    };

    // Windows-1252 throughout: decoded as detected, and the decision is on the job.
    let job = run("legacy.csv", b"name;city\nKr\xFCger;S\xFCd\nM\xFCller;K\xF6ln\n".to_vec()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    let warning = job["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.starts_with("legacy.csv: ") && warning.contains("decoded as windows-1252"), "{job}");
    let read = &job["inputs_read"][0];
    assert_eq!(
        (&read["input"], &read["encoding"], &read["delimiter"], &read["header_row"], &read["decided_by"]["encoding"]),
        (&json!("legacy.csv"), &json!("windows-1252"), &json!(";"), &json!(1), &json!("detected")),
        "{job}"
    );
    let result: serde_json::Value =
        serde_json::from_slice(&t.download(&user.token, job["result_artifact_id"].as_str().unwrap()).await).unwrap();
    assert_eq!(result[0]["name"], "Krüger");

    // UTF-8 but for one stray byte: refused at the byte, not turned into mojibake.
    let mut mixed = "name;city\nKrüger;Süd\nMüller;K".as_bytes().to_vec();
    mixed.extend_from_slice(b"\xF6ln\n");
    let job = run("mixed.csv", mixed).await;
    assert_eq!(job["status"], "FAILED", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.starts_with("mixed.csv line 3, column 9: byte 0xF6 is not valid UTF-8"), "{error}");

    // Plain UTF-8 carries no warning.
    let job = run("clean.csv", "name;city\nKrüger;Süd\n".as_bytes().to_vec()).await;
    assert_eq!((job["status"].as_str(), job["warnings"].as_array().map(Vec::len)), (Some("COMPLETED"), Some(0)));
}
