//! The audit trail over HTTP on the emulator: a member's job and download land in the team's
//! trail with where they came from; only admins and owners read it (a member 403, an outsider
//! 404); the CSV export; the chain's verification, and a deleted entry found by it.

use aws_sdk_dynamodb::types::AttributeValue;
use helix_e2e::{StatusCode, TestPlatform, error_of};
use serde_json::json;

#[tokio::test]
async fn a_members_job_and_download_are_in_the_teams_audit_trail() {
    let t = TestPlatform::start().await;
    let (alice, bob, dave) = (t.user().await, t.user().await, t.user().await);
    let (_, team) = t.post_json(&alice.token, "/api/v1/teams", &json!({"name": "Audited"})).await;
    let team_id = team["id"].as_str().unwrap().to_owned();
    let (_, invitation) =
        t.post_json(&alice.token, &format!("/api/v1/teams/{team_id}/invitations"), &json!({"role": "member"})).await;
    let accept = invitation["accept_path"].as_str().unwrap();
    assert_eq!(t.post_json(&bob.token, accept, &json!({})).await.0, StatusCode::OK);

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
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job_id = job["id"].as_str().unwrap().to_owned();
    let download = t
        .http
        .get(t.url(&format!("/api/v1/artifacts/{content}/download")))
        .bearer_auth(&bob.token)
        .header("user-agent", "audit-e2e/1.0")
        .header("x-forwarded-for", "192.0.2.66, 203.0.113.5")
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);

    let audit = format!("/api/v1/teams/{team_id}/audit");
    let (status, trail) = t.get(&alice.token, &audit).await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    let items = trail["items"].as_array().unwrap();
    let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["artifact.download", "job.create", "member.join", "member.invite"], "newest first: {trail}");
    assert_eq!((&items[0]["actor"], &items[0]["target"]), (&json!(bob.id), &json!(content)));
    assert_eq!(items[0]["source_ip"], json!("203.0.113.5"), "the hop API Gateway appends");
    assert_eq!(items[0]["user_agent"], json!("audit-e2e/1.0"));
    assert_eq!((&items[1]["actor"], &items[1]["target"]), (&json!(bob.id), &json!(job_id)));
    assert_eq!(items[0]["prev_hash"], items[1]["hash"], "{trail}");

    let (_, filtered) = t.get(&alice.token, &format!("{audit}?action=job.create&actor={}", bob.id)).await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1, "{filtered}");
    let (_, paged) = t.get(&alice.token, &format!("{audit}?limit=3")).await;
    let cursor = paged["next_cursor"].as_str().expect("a next page").to_owned();
    let (_, rest) = t.get(&alice.token, &format!("{audit}?limit=3&cursor={cursor}")).await;
    assert_eq!(rest["items"][0]["action"], json!("member.invite"), "{rest}");

    let (status, body) = t.get(&bob.token, &audit).await;
    assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "a member: {body}");
    let (status, body) = t.get(&dave.token, &audit).await;
    assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::NOT_FOUND, "not_found"), "an outsider: {body}");

    for request in
        [t.http.get(t.url(&audit)).header("accept", "text/csv"), t.http.get(t.url(&format!("{audit}?format=csv")))]
    {
        let response = request.bearer_auth(&alice.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/csv"), "{content_type}");
        let text = response.text().await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "seq,at,team_id,actor,action,target,outcome,source_ip,user_agent,id,prev_hash,hash");
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[1].starts_with("4,") && lines[1].contains(",artifact.download,"), "{text}");
    }

    let (status, report) = t.get(&alice.token, &format!("{audit}/verify")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((&report["entries"], &report["broken"]), (&json!(4), &json!(null)), "{report}");
    assert_eq!(report["head"], items[0]["hash"]);

    // Someone with access to the table deletes an entry: the chain breaks where it was.
    let table = &t.platform.settings.audit_table;
    let deleted = t
        .platform
        .clients
        .dynamodb
        .delete_item()
        .table_name(table)
        .key("team_id", AttributeValue::S(team_id.clone()))
        .key("seq", AttributeValue::N("2".into()))
        .send()
        .await;
    deleted.unwrap();
    let (_, report) = t.get(&alice.token, &format!("{audit}/verify")).await;
    assert_eq!(report["broken"]["seq"], json!(3), "{report}");
}
