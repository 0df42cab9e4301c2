//! Pipelines over HTTP on the emulator: a team's pipeline saved with inline documents, a second
//! version and the diff between the two, runs of either version that complete as jobs naming the
//! pipeline and version, the run history, archiving, and who may do what; and cancelling a job.

use helix_e2e::{Options, StatusCode, TestPlatform, TestUser, error_of, split};
use serde_json::{Value, json};

const CSV: &[u8] = b"id,qty\na,1\nb,2\n";
const CONTEXT: &str = "fields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n";
const CHANGED_CONTEXT: &str = "fields:\n  id: \"{{ id | upper }}\"\n  qty: \"{{ qty }}\"\n";

async fn join(t: &TestPlatform, owner: &TestUser, team: &str, user: &TestUser, role: &str) {
    let (status, invitation) =
        t.post_json(&owner.token, &format!("/api/v1/teams/{team}/invitations"), &json!({"role": role})).await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    let (status, joined) = t.post_json(&user.token, invitation["accept_path"].as_str().unwrap(), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
}

async fn patch_json(t: &TestPlatform, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
    split(t.http.patch(t.url(path)).bearer_auth(token).json(body).send().await.unwrap()).await
}

async fn delete(t: &TestPlatform, token: &str, path: &str) -> StatusCode {
    t.http.delete(t.url(path)).bearer_auth(token).send().await.unwrap().status()
}

#[tokio::test]
async fn a_pipeline_is_versioned_compared_and_run() {
    let t = TestPlatform::start().await;
    let (alice, bob, carol) = (t.user().await, t.user().await, t.user().await);
    let (status, team) = t.post_json(&alice.token, "/api/v1/teams", &json!({"name": "Integration"})).await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let team = team["id"].as_str().unwrap().to_owned();
    join(&t, &alice, &team, &bob, "viewer").await;

    // Saved with inline documents, as POST /jobs takes them.
    let schema = json!({"type": "object", "required": ["id", "qty"],
        "properties": {"id": {"type": "string"}, "qty": {"type": "integer"}}});
    let create = json!({"name": "Orders", "team_id": team, "context": CONTEXT, "schema": schema});
    let (status, pipeline) = t.post_json(&alice.token, "/api/v1/pipelines", &create).await;
    assert_eq!(status, StatusCode::CREATED, "{pipeline}");
    let id = pipeline["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (&pipeline["name"], &pipeline["team_id"], &pipeline["current_version"]),
        (&json!("Orders"), &json!(team), &json!(1))
    );
    let inbox = pipeline["inbox"].as_str().unwrap();
    assert!(inbox.starts_with("s3://") && inbox.ends_with(&format!("/inbox/{team}/{id}/")), "{inbox}");

    // Bad input names the field; a viewer may not save, an outsider learns nothing.
    let (status, body) =
        t.post_json(&alice.token, "/api/v1/pipelines", &json!({"name": "x", "context": "fields: ["})).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("context")), "{body}");
    let (status, body) = t.post_json(&alice.token, "/api/v1/pipelines", &json!({"name": "x", "contxt": CONTEXT})).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::BAD_REQUEST, Some("contxt")), "{body}");
    let versions = format!("/api/v1/pipelines/{id}/versions");
    let (status, body) = t.post_json(&bob.token, &versions, &json!({"context": CHANGED_CONTEXT})).await;
    assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::FORBIDDEN, "forbidden"), "{body}");
    assert_eq!(t.get(&carol.token, &format!("/api/v1/pipelines/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(t.get(&bob.token, &format!("/api/v1/pipelines/{id}")).await.0, StatusCode::OK);

    // Version 2 changes the context and keeps the schema.
    let (status, second) = t.post_json(&alice.token, &versions, &json!({"context": CHANGED_CONTEXT})).await;
    assert_eq!((status, &second["version"]), (StatusCode::CREATED, &json!(2)), "{second}");
    let (_, first) = t.get(&alice.token, &format!("{versions}/1")).await;
    assert_eq!(first["schema_artifact_id"], second["schema_artifact_id"], "{first} {second}");
    assert_ne!(first["context_artifact_id"], second["context_artifact_id"]);
    assert_eq!(t.get(&alice.token, &format!("{versions}/3")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(t.get(&alice.token, &format!("{versions}/two")).await.0, StatusCode::NOT_FOUND);
    let (status, listed) = t.get(&bob.token, &versions).await;
    assert_eq!((status, listed["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{listed}");

    let (status, diff) = t.get(&bob.token, &format!("{versions}/1/diff/2")).await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    let context_diff = diff["context"].as_str().unwrap();
    assert!(context_diff.contains("-  id: \"{{ id }}\"\n+  id: \"{{ id | upper }}\"\n"), "{context_diff}");
    assert_eq!(diff["schema"], "", "{diff}");

    // Runs: the current version by default, or the one named; each a job that completes.
    let content = t.upload_to(&alice.token, Some(&team), "orders.csv", "text/csv", "content", CSV).await;
    let runs = format!("/api/v1/pipelines/{id}/runs");
    let (status, run) = t.post_json(&alice.token, &runs, &json!({"content_artifact_ids": [content]})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    assert_eq!((&run["pipeline_id"], &run["pipeline_version"], &run["team_id"]), (&json!(id), &json!(2), &json!(team)));
    let (status, older) =
        t.post_json(&alice.token, &runs, &json!({"content_artifact_ids": [content], "version": 1})).await;
    assert_eq!((status, &older["pipeline_version"]), (StatusCode::ACCEPTED, &json!(1)), "{older}");
    for job in [&run, &older] {
        let done = t.wait_job(&alice.token, job["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "COMPLETED", "{done}");
        assert_eq!((&done["pipeline_id"], &done["pipeline_version"]), (&job["pipeline_id"], &job["pipeline_version"]));
    }
    let result = t
        .download(
            &alice.token,
            t.wait_job(&alice.token, run["id"].as_str().unwrap()).await["result_artifact_id"].as_str().unwrap(),
        )
        .await;
    let records: Value = serde_json::from_slice(&result).unwrap();
    assert_eq!(records[0]["id"], "A", "version 2's context ran: {records}");

    let (status, body) =
        t.post_json(&alice.token, &runs, &json!({"content_artifact_ids": [content], "version": 9})).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("version")), "{body}");
    let (status, body) = t.post_json(&bob.token, &runs, &json!({"content_artifact_ids": [content]})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer does not run: {body}");

    // Version 2 tried on version 1's run: the ids change.
    let compare = format!("{versions}/2/compare");
    let (status, started) = t.post_json(&alice.token, &compare, &json!({"job_id": older["id"]})).await;
    assert_eq!((status, &started["records"]), (StatusCode::ACCEPTED, &Value::Null), "{started}");
    let candidate = started["candidate"]["id"].as_str().unwrap().to_owned();
    assert_eq!(t.wait_job(&alice.token, &candidate).await["status"], "COMPLETED");
    let (status, compared) = t.get(&bob.token, &format!("/api/v1/pipelines/{id}/comparisons/{candidate}")).await;
    assert_eq!(status, StatusCode::OK, "{compared}");
    assert_eq!(
        compared["records"],
        json!({"added": 0, "removed": 0, "changed": 2, "unchanged": 0, "aligned_by": "input_record"})
    );
    assert_eq!(
        (&compared["fields"][0]["field"], &compared["fields"][0]["changed"]),
        (&json!("id"), &json!(2)),
        "{compared}"
    );
    let (status, body) = t.post_json(&alice.token, &compare, &json!({"job_id": "no-such-job"})).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("job_id")), "{body}");

    // The run history, newest first.
    let (status, history) = t.get(&bob.token, &format!("/api/v1/jobs?pipeline_id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let ids: Vec<&Value> = history["items"].as_array().unwrap().iter().map(|j| &j["id"]).collect();
    assert_eq!(ids, [&json!(candidate), &older["id"], &run["id"]], "{history}");
    let (status, body) = t.get(&bob.token, &format!("/api/v1/jobs?pipeline_id={id}&status=COMPLETED")).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::BAD_REQUEST, Some("status")), "{body}");
    assert_eq!(t.get(&carol.token, &format!("/api/v1/jobs?pipeline_id={id}")).await.0, StatusCode::NOT_FOUND);

    // Renamed, then deleted: archived, still readable, no longer listed or run.
    let path = format!("/api/v1/pipelines/{id}");
    let (status, renamed) = patch_json(&t, &alice.token, &path, &json!({"name": "Orders EU"})).await;
    assert_eq!((status, &renamed["name"]), (StatusCode::OK, &json!("Orders EU")), "{renamed}");
    assert_eq!(delete(&t, &bob.token, &path).await, StatusCode::FORBIDDEN);
    assert_eq!(delete(&t, &alice.token, &path).await, StatusCode::NO_CONTENT);
    let (status, archived) = t.get(&alice.token, &path).await;
    assert!(status == StatusCode::OK && archived["archived_at"].is_string(), "{archived}");
    let (_, listed) = t.get(&alice.token, &format!("/api/v1/pipelines?team_id={team}")).await;
    assert_eq!(listed["items"], json!([]), "{listed}");
    let (_, listed) = t.get(&alice.token, &format!("/api/v1/pipelines?team_id={team}&include_archived=true")).await;
    assert_eq!(listed["items"][0]["id"], json!(id), "{listed}");
    let (status, body) = t.post_json(&alice.token, &runs, &json!({"content_artifact_ids": [content]})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn a_pending_job_is_cancelled_and_a_finished_one_is_not() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let (alice, bob) = (t.user().await, t.user().await);
    let content = t.upload(&alice.token, "orders.csv", "text/csv", "content", CSV).await;
    let (status, job) = t.post_json(&alice.token, "/api/v1/jobs", &json!({"content_artifact_ids": [content]})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let cancel = format!("/api/v1/jobs/{}/cancel", job["id"].as_str().unwrap());

    assert_eq!(t.post_json(&bob.token, &cancel, &json!({})).await.0, StatusCode::NOT_FOUND, "not Bob's");
    let (status, cancelled) = t.post_json(&alice.token, &cancel, &json!({})).await;
    assert_eq!((status, &cancelled["status"]), (StatusCode::OK, &json!("CANCELLED")), "{cancelled}");
    assert!(cancelled["finished_at"].is_string(), "{cancelled}");
    let (status, body) = t.post_json(&alice.token, &cancel, &json!({})).await;
    assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::CONFLICT, "conflict"), "{body}");
    assert_eq!(t.post_json(&alice.token, "/api/v1/jobs/nope/cancel", &json!({})).await.0, StatusCode::NOT_FOUND);
}
