//! Teams over HTTP on the emulator: every id-taking endpoint answers an outsider 404 and a viewer
//! 403 on writes; a removed member is refused on their next request.

use helix_e2e::{StatusCode, TestPlatform, error_of};
use serde_json::{Value, json};

async fn delete_json(t: &TestPlatform, token: &str, path: &str, body: &Value) -> StatusCode {
    t.http.delete(t.url(path)).bearer_auth(token).json(body).send().await.unwrap().status()
}

#[tokio::test]
async fn a_teams_jobs_and_files_are_its_members_alone() {
    let t = TestPlatform::start().await;
    let (alice, bob, carol, dave) = (t.user().await, t.user().await, t.user().await, t.user().await);

    let (status, team) = t.post_json(&alice.token, "/api/v1/teams", &json!({"name": "Integration"})).await;
    assert_eq!((status, &team["role"]), (StatusCode::CREATED, &json!("owner")), "{team}");
    let team_id = team["id"].as_str().unwrap().to_owned();
    for (user, role) in [(&bob, "member"), (&carol, "viewer")] {
        let (status, invitation) =
            t.post_json(&alice.token, &format!("/api/v1/teams/{team_id}/invitations"), &json!({"role": role})).await;
        assert_eq!(status, StatusCode::CREATED, "{invitation}");
        let accept = invitation["accept_path"].as_str().unwrap();
        let (status, joined) = t.post_json(&user.token, accept, &json!({})).await;
        assert_eq!((status, &joined["role"]), (StatusCode::OK, &json!(role)), "{joined}");
        // Single use.
        assert_eq!(t.post_json(&dave.token, accept, &json!({})).await.0, StatusCode::NOT_FOUND);
    }
    let (_, teams) = t.get(&bob.token, "/api/v1/teams").await;
    let names: Vec<&str> = teams["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Personal", "Integration"]);

    // Bob uploads into the team and submits a job there.
    let content = t
        .upload_to(
            &bob.token,
            Some(&team_id),
            "o.csv",
            "text/csv",
            "content",
            b"id
1
2

",
        )
        .await;
    let (status, job) =
        t.post_json(&bob.token, "/api/v1/jobs", &json!({"team_id": team_id, "content_artifact_ids": [content]})).await;
    assert_eq!((status, &job["team_id"]), (StatusCode::ACCEPTED, &json!(team_id)), "{job}");
    let job_id = job["id"].as_str().unwrap().to_owned();
    let job = t.wait_job(&alice.token, &job_id).await;
    let result = job["result_artifact_id"].as_str().unwrap().to_owned();

    // Every member reads it, and the team's listing has it.
    for user in [&alice, &bob, &carol] {
        assert_eq!(t.get(&user.token, &format!("/api/v1/jobs/{job_id}")).await.0, StatusCode::OK);
        assert_eq!(t.get(&user.token, &format!("/api/v1/artifacts/{result}/download")).await.0, StatusCode::OK);
    }
    let (_, listed) = t.get(&carol.token, &format!("/api/v1/jobs?team_id={team_id}")).await;
    assert_eq!(listed["items"][0]["id"], json!(job_id), "{listed}");

    // Dave, an outsider, learns nothing: every id is unknown to him.
    for path in [
        format!("/api/v1/jobs/{job_id}"),
        format!("/api/v1/artifacts/{content}"),
        format!("/api/v1/artifacts/{result}/download"),
        format!("/api/v1/jobs?team_id={team_id}"),
        format!("/api/v1/teams/{team_id}"),
        format!("/api/v1/teams/{team_id}/members"),
    ] {
        let (status, body) = t.get(&dave.token, &path).await;
        assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::NOT_FOUND, "not_found"), "{path}");
    }
    let submit = json!({"team_id": team_id, "content_artifact_ids": [content]});
    assert_eq!(t.post_json(&dave.token, "/api/v1/jobs", &submit).await.0, StatusCode::NOT_FOUND);
    let invite = format!("/api/v1/teams/{team_id}/invitations");
    assert_eq!(t.post_json(&dave.token, &invite, &json!({"role": "owner"})).await.0, StatusCode::NOT_FOUND);

    // Carol, a viewer, may not write.
    let (status, body) = t.post_json(&carol.token, "/api/v1/jobs", &submit).await;
    assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{body}");
    assert_eq!(t.post_json(&carol.token, &invite, &json!({"role": "viewer"})).await.0, StatusCode::FORBIDDEN);
    let rename = t.http.patch(t.url(&format!("/api/v1/teams/{team_id}"))).bearer_auth(&carol.token);
    assert_eq!(rename.json(&json!({"name": "Mine"})).send().await.unwrap().status(), StatusCode::FORBIDDEN);

    // Bob, removed, is refused on his next request.
    let members = format!("/api/v1/teams/{team_id}/members");
    assert_eq!(delete_json(&t, &alice.token, &members, &json!({"user_id": bob.id})).await, StatusCode::NO_CONTENT);
    assert_eq!(t.get(&bob.token, &format!("/api/v1/jobs/{job_id}")).await.0, StatusCode::NOT_FOUND);
    // Carol, promoted, may submit.
    let (status, member) = t.post_json(&alice.token, &members, &json!({"user_id": carol.id, "role": "member"})).await;
    assert_eq!((status, &member["role"]), (StatusCode::OK, &json!("member")), "{member}");
    assert_eq!(t.post_json(&carol.token, "/api/v1/jobs", &submit).await.0, StatusCode::ACCEPTED);
}
