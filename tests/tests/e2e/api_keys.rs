//! API keys over HTTP on the emulator: made by a team's admin, sent as `Bearer hx_live_…`, a key
//! uploads, submits and reads as its team within its scopes, is a stranger to other teams, and is
//! refused on the request right after its revocation.

use helix_e2e::{StatusCode, TestPlatform, TestUser, error_of};
use serde_json::{Value, json};

const CSV: &[u8] = b"id,qty\na,1\nb,2\n";

async fn join(t: &TestPlatform, owner: &TestUser, team: &str, user: &TestUser, role: &str) {
    let (status, invitation) =
        t.post_json(&owner.token, &format!("/api/v1/teams/{team}/invitations"), &json!({"role": role})).await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    let (status, joined) = t.post_json(&user.token, invitation["accept_path"].as_str().unwrap(), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
}

async fn create_key(t: &TestPlatform, token: &str, team: &str, scopes: &[&str]) -> (StatusCode, Value) {
    t.post_json(token, &format!("/api/v1/teams/{team}/api-keys"), &json!({"name": "ci", "scopes": scopes})).await
}

#[tokio::test]
async fn a_teams_key_acts_as_the_team_within_its_scopes_until_revoked() {
    let t = TestPlatform::start().await;
    let (alice, bob, carol, dave) = (t.user().await, t.user().await, t.user().await, t.user().await);
    let (status, team) = t.post_json(&alice.token, "/api/v1/teams", &json!({"name": "Integration"})).await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team = team["id"].as_str().unwrap().to_owned();
    join(&t, &alice, &team, &bob, "admin").await;
    join(&t, &alice, &team, &carol, "viewer").await;

    // Keys take a team admin or owner: a viewer is forbidden, an outsider learns nothing.
    let (status, body) = create_key(&t, &carol.token, &team, &["jobs:read"]).await;
    assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{body}");
    assert_eq!(create_key(&t, &dave.token, &team, &["jobs:read"]).await.0, StatusCode::NOT_FOUND);
    assert_eq!(t.get(&carol.token, &format!("/api/v1/teams/{team}/api-keys")).await.0, StatusCode::FORBIDDEN);

    // Scopes and expiry are checked, naming the field.
    let (status, body) = create_key(&t, &bob.token, &team, &["jobs:read", "jobs:delete"]).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("scopes[1]")), "{body}");
    let (status, body) = create_key(&t, &bob.token, &team, &[]).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("scopes")), "{body}");
    let past = json!({"name": "old", "scopes": ["jobs:read"], "expires_at": "2020-01-01T00:00:00Z"});
    let (status, body) = t.post_json(&bob.token, &format!("/api/v1/teams/{team}/api-keys"), &past).await;
    assert_eq!(
        (status, error_of(&body).1.as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("expires_at")),
        "{body}"
    );

    // The admin's key, shown once.
    let (status, created) = create_key(&t, &bob.token, &team, &["jobs:read", "jobs:write", "artifacts:write"]).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("hx_live_") && key.len() >= 8 + 43, "{key}");
    assert_eq!(created["prefix"], json!(key[..12]));
    assert_eq!(created["created_by"], json!(bob.id));
    assert_eq!(created["scopes"], json!(["jobs:read", "jobs:write", "artifacts:write"]));
    let key_id = created["id"].as_str().unwrap().to_owned();

    // With the key: upload and submit without naming the team, and read the job.
    let content = t.upload(&key, "orders.csv", "text/csv", "content", CSV).await;
    let (status, job) = t.post_json(&key, "/api/v1/jobs", &json!({"content_artifact_ids": [content]})).await;
    assert_eq!((status, &job["team_id"]), (StatusCode::ACCEPTED, &json!(team)), "{job}");
    let job_id = job["id"].as_str().unwrap().to_owned();
    let done = t.wait_job(&key, &job_id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let (status, listed) = t.get(&key, "/api/v1/jobs").await;
    assert_eq!((status, &listed["items"][0]["id"]), (StatusCode::OK, &json!(job_id)), "{listed}");
    // The team's people see what the key made.
    assert_eq!(t.get(&carol.token, &format!("/api/v1/jobs/{job_id}")).await.0, StatusCode::OK);

    // A read-only key reads, and may not submit.
    let (_, reader) = create_key(&t, &alice.token, &team, &["jobs:read"]).await;
    let reader = reader["key"].as_str().unwrap();
    assert_eq!(t.get(reader, &format!("/api/v1/jobs/{job_id}")).await.0, StatusCode::OK);
    let (status, body) = t.post_json(reader, "/api/v1/jobs", &json!({"content_artifact_ids": [content]})).await;
    assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{body}");

    // A key of another team (Dave's personal one) is a stranger here.
    let daves = format!("personal-{}", dave.id);
    let (status, other) = create_key(&t, &dave.token, &daves, &["jobs:read", "jobs:write"]).await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let other = other["key"].as_str().unwrap();
    for path in [
        format!("/api/v1/jobs/{job_id}"),
        format!("/api/v1/artifacts/{content}"),
        format!("/api/v1/jobs?team_id={team}"),
    ] {
        let (status, body) = t.get(other, &path).await;
        assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::NOT_FOUND, "not_found"), "{path}");
    }
    let submit = json!({"team_id": team, "content_artifact_ids": [content]});
    assert_eq!(t.post_json(other, "/api/v1/jobs", &submit).await.0, StatusCode::NOT_FOUND);
    // Keys open the jobs and artifacts endpoints only; teams and accounts take a person.
    assert_eq!(t.get(&key, "/api/v1/teams").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get(&key, &format!("/api/v1/teams/{team}/api-keys")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get(&key, "/api/v1/users/me").await.0, StatusCode::UNAUTHORIZED);

    // The listing: who made it, when it was last used, how often; never the key.
    let (status, keys) = t.get(&alice.token, &format!("/api/v1/teams/{team}/api-keys")).await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    let listed = keys["items"].as_array().unwrap().iter().find(|k| k["id"] == json!(key_id)).unwrap().clone();
    assert!(listed["use_count"].as_u64().unwrap() >= 3, "{listed}");
    assert!(listed["last_used_at"].is_string(), "{listed}");
    assert_eq!(
        (&listed["prefix"], &listed["revoked_at"], &listed["name"]),
        (&json!(key[..12]), &Value::Null, &json!("ci"))
    );
    assert!(!keys.to_string().contains(&key), "a listing never shows a key");

    // Revoked: refused on the very next request.
    let revoke = t.http.delete(t.url(&format!("/api/v1/teams/{team}/api-keys/{key_id}"))).bearer_auth(&alice.token);
    assert_eq!(revoke.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let (status, body) = t.get(&key, &format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"), "{body}");
    let (_, keys) = t.get(&bob.token, &format!("/api/v1/teams/{team}/api-keys")).await;
    let revoked = keys["items"].as_array().unwrap().iter().find(|k| k["id"] == json!(key_id)).unwrap();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    // Another team's key id is not found there.
    let foreign = t.http.delete(t.url(&format!("/api/v1/teams/{daves}/api-keys/{key_id}"))).bearer_auth(&dave.token);
    assert_eq!(foreign.send().await.unwrap().status(), StatusCode::NOT_FOUND);
}
