//! API keys: made by a team's admins and owners, shown once, stored as a hash; a key acts as its
//! team within its scopes and is refused from the request after its revocation or expiry.

use std::time::Duration;

use helix_domain::{ApiKeyId, ArtifactKind, Clock, FileDeclaration, KeyScope, PipelineId, Role, TeamId, UserId};
use helix_jobs::{Actor, InlineFile, Input, InputSource, JobError, JobQuery, JobRequest, KeyRequest, NewApiKey};
use sha2::{Digest, Sha256};

use crate::support::*;

const CAROL: &str = "carol";

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, JobError>) {
    assert!(matches!(result, Err(JobError::NotFound(_))), "{result:?}");
}

#[track_caller]
fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, JobError>) {
    assert!(matches!(result, Err(JobError::Forbidden(_))), "{result:?}");
}

fn request(scopes: &[&str]) -> KeyRequest {
    KeyRequest { name: "ci".into(), scopes: scopes.iter().map(|s| s.to_string()).collect(), ..KeyRequest::default() }
}

/// Alice's team with Bob in it as `role`.
async fn team_with_bob(w: &World, role: Role) -> TeamId {
    let teams = w.team_service();
    let team = teams.create(&actor(ALICE), "Integration").await.unwrap().team.id;
    let invitation = teams.invite(&actor(ALICE), &team, role).await.unwrap();
    teams.accept(&actor(BOB), &invitation.token).await.unwrap();
    team
}

/// A key of `team` made by Alice, and the actor a request carrying it stands for.
async fn key_of(w: &World, team: &TeamId, scopes: &[&str]) -> (NewApiKey, Actor) {
    let new = w.key_service().create(&actor(ALICE), team, request(scopes)).await.unwrap();
    let actor = w.key_service().authenticate(&new.secret).await.unwrap().expect("an active key");
    (new, actor)
}

fn upload(team: Option<TeamId>) -> (FileDeclaration, Option<TeamId>) {
    let file = FileDeclaration {
        kind: ArtifactKind::Content,
        filename: "orders.csv".into(),
        content_type: "text/csv".into(),
        size_bytes: CSV.len() as u64,
    };
    (file, team)
}

/// A transform request over a file that comes with it, into `team` (default: the caller's).
fn inline_job(team: Option<TeamId>) -> JobRequest {
    let file = InlineFile {
        kind: ArtifactKind::Content,
        filename: "orders.csv".into(),
        content_type: "text/csv".into(),
        bytes: CSV.as_bytes().to_vec(),
    };
    JobRequest {
        team_id: team,
        content: vec![Input::new("content_file", InputSource::File(file))],
        ..transform(vec![])
    }
}

#[tokio::test]
async fn admins_and_owners_make_keys_that_are_shown_once_and_stored_as_a_hash() {
    let w = world();
    let team = team_with_bob(&w, Role::Admin).await;
    let new =
        w.key_service().create(&actor(BOB), &team, request(&["jobs:write", "jobs:read", "jobs:read"])).await.unwrap();
    let secret = new.secret.strip_prefix("hx_live_").expect("the key says what it is");
    assert_eq!(secret.len(), 43, "256 random bits, base64url");
    assert_eq!(new.key.key_hash, hex::encode(Sha256::digest(new.secret.as_bytes())));
    assert_eq!(new.key.prefix, new.secret[..12]);
    assert_eq!(new.key.scopes, [KeyScope::JobsRead, KeyScope::JobsWrite]);
    assert_eq!((new.key.created_by.as_str(), &new.key.team_id), (BOB, &team));

    let listed = w.key_service().list(&actor(ALICE), &team).await.unwrap();
    assert_eq!(listed.len(), 1);
    let stored = format!("{listed:?}");
    assert!(!stored.contains(secret), "the key itself is not stored: {stored}");

    // A member and a viewer may not manage keys; an outsider learns nothing.
    for role in [Role::Member, Role::Viewer] {
        let w = world();
        let team = team_with_bob(&w, role).await;
        assert_forbidden(w.key_service().create(&actor(BOB), &team, request(&["jobs:read"])).await);
        assert_forbidden(w.key_service().list(&actor(BOB), &team).await);
        assert_not_found(w.key_service().create(&actor(CAROL), &team, request(&["jobs:read"])).await);
        assert_not_found(w.key_service().list(&actor(CAROL), &team).await);
    }
}

#[tokio::test]
async fn names_scopes_and_expiry_are_checked() {
    let w = world();
    let team = TeamId::personal(&UserId::from(ALICE));
    let create = |request: KeyRequest| {
        let service = w.key_service();
        let team = team.clone();
        async move { service.create(&actor(ALICE), &team, request).await }
    };
    assert_invalid(create(request(&["jobs:read", "jobs:admin"])).await, "scopes[1]", "jobs:admin");
    assert_invalid(create(request(&[])).await, "scopes", "at least one scope");
    assert_invalid(create(KeyRequest { name: " ".into(), ..request(&["jobs:read"]) }).await, "name", "1 to 100");
    let past = KeyRequest { expires_at: Some(w.clock.now()), ..request(&["jobs:read"]) };
    assert_invalid(create(past).await, "expires_at", "in the future");
    // A drop credential: pipelines:run alone, naming its pipeline; no other key names one.
    let drop = |scopes: &[&str], pipeline: Option<&str>| KeyRequest {
        pipeline_id: pipeline.map(PipelineId::from),
        ..request(scopes)
    };
    assert_invalid(create(drop(&["pipelines:run"], None)).await, "pipeline_id", "names the pipeline");
    assert_invalid(create(drop(&["jobs:read"], Some("p1"))).await, "pipeline_id", "only a pipelines:run key");
    assert_invalid(create(drop(&["pipelines:run", "jobs:read"], Some("p1"))).await, "scopes", "no other scope");
    let credential = create(drop(&["pipelines:run"], Some("p1"))).await.unwrap();
    assert_eq!(credential.key.scopes, [KeyScope::PipelinesRun]);
    assert_eq!(credential.key.pipeline_id, Some(PipelineId::from("p1")));
}

#[tokio::test]
async fn a_key_acts_as_its_team_within_its_scopes() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    let (new, key) = key_of(&w, &team, &["jobs:read", "jobs:write", "artifacts:write"]).await;
    assert_eq!(key.user_id.as_str(), format!("key-{}", new.key.id));

    // Without a team_id, a key's requests go to its team.
    let (file, none) = upload(None);
    let ticket = w.artifact_service().request_upload(&key, file, none, Default::default()).await.unwrap();
    assert_eq!(ticket.artifact.team_id, team);
    assert!(ticket.artifact.s3_key.starts_with(&format!("uploads/key-{}/", new.key.id)), "{}", ticket.artifact.s3_key);
    let job = w.service().submit(&key, inline_job(None)).await.unwrap();
    assert_eq!((&job.team_id, &job.owner_id), (&team, &key.user_id));
    assert_eq!(w.service().get(&key, &job.id).await.unwrap().id, job.id);
    let listed = w.service().list(&key, JobQuery::default()).await.unwrap();
    assert_eq!(listed.jobs.iter().map(|j| &j.id).collect::<Vec<_>>(), [&job.id]);
    // The team's people see what the key made.
    assert_eq!(w.service().get(&actor(BOB), &job.id).await.unwrap().owner_id, key.user_id);

    // A read-only key reads, and writes nothing.
    let (_, reader) = key_of(&w, &team, &["jobs:read"]).await;
    assert_eq!(w.service().get(&reader, &job.id).await.unwrap().id, job.id);
    assert_forbidden(w.service().submit(&reader, inline_job(None)).await);
    let (file, none) = upload(None);
    assert_forbidden(w.artifact_service().request_upload(&reader, file, none, Default::default()).await);

    // A submit-only key submits over the team's files, and reads nothing.
    let (_, submitter) = key_of(&w, &team, &["jobs:write"]).await;
    let content = w.service().get(&actor(BOB), &job.id).await.unwrap().inputs.content_artifact_ids[0].clone();
    let over_upload = w.service().submit(&submitter, transform(vec![content.clone()])).await.unwrap();
    assert_eq!(over_upload.team_id, team);
    assert_forbidden(w.service().get(&submitter, &job.id).await);
    assert_forbidden(w.artifact_service().get(&submitter, &content).await);
    let (file, none) = upload(None);
    assert_forbidden(w.artifact_service().request_upload(&submitter, file, none, Default::default()).await);

    // A drop credential reads and submits nothing.
    let drop = KeyRequest { pipeline_id: Some(PipelineId::from("p1")), ..request(&["pipelines:run"]) };
    let new = w.key_service().create(&actor(ALICE), &team, drop).await.unwrap();
    let pipelines = w.key_service().authenticate(&new.secret).await.unwrap().expect("an active key");
    assert_forbidden(w.service().get(&pipelines, &job.id).await);
    assert_forbidden(w.service().submit(&pipelines, inline_job(None)).await);
}

#[tokio::test]
async fn a_key_sees_nothing_outside_its_team_and_manages_nothing_in_it() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    let (_, key) = key_of(&w, &team, &["jobs:read", "jobs:write", "artifacts:write"]).await;
    let alices = TeamId::personal(&UserId::from(ALICE));
    let job = w.service().submit(&actor(ALICE), inline_job(None)).await.unwrap();
    assert_eq!(job.team_id, alices);
    let content = &job.inputs.content_artifact_ids[0];

    assert_not_found(w.service().get(&key, &job.id).await);
    assert_not_found(w.artifact_service().get(&key, content).await);
    assert_not_found(w.artifact_service().download(&key, content).await);
    let query = JobQuery { team_id: Some(alices.clone()), ..JobQuery::default() };
    assert_not_found(w.service().list(&key, query).await);
    assert_not_found(w.service().submit(&key, inline_job(Some(alices.clone()))).await);
    let (file, other) = upload(Some(alices.clone()));
    assert_not_found(w.artifact_service().request_upload(&key, file, other, Default::default()).await);
    // Another team's file reads as unknown, not as another team's.
    assert_invalid(
        w.service().submit(&key, transform(vec![content.clone()])).await,
        "content_artifact_ids[0]",
        "does not exist",
    );
    // The principal's personal team is no team of the key's.
    let own = TeamId::personal(&key.user_id);
    assert_not_found(w.service().submit(&key, inline_job(Some(own))).await);

    // Members, keys and teams take a person.
    assert_forbidden(w.key_service().create(&key, &team, request(&["jobs:read"])).await);
    assert_forbidden(w.key_service().list(&key, &team).await);
    assert_forbidden(w.team_service().invite(&key, &team, Role::Viewer).await);
    assert_forbidden(w.team_service().rename(&key, &team, "Machines").await);
    assert_forbidden(w.team_service().get(&key, &team).await);
    assert_forbidden(w.team_service().create(&key, "Machines").await);
    assert_forbidden(w.team_service().list(&key).await);
    let invitation = w.team_service().invite(&actor(ALICE), &team, Role::Admin).await.unwrap();
    assert_forbidden(w.team_service().accept(&key, &invitation.token).await);
    assert_not_found(w.team_service().invite(&key, &alices, Role::Viewer).await);
}

#[tokio::test]
async fn revoked_and_expired_keys_are_refused_and_every_use_is_counted() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    let (new, _) = key_of(&w, &team, &["jobs:read"]).await;
    w.clock.advance(Duration::from_secs(5));
    assert!(w.key_service().authenticate(&new.secret).await.unwrap().is_some());
    let listed = &w.key_service().list(&actor(ALICE), &team).await.unwrap()[0];
    assert_eq!((listed.use_count, listed.last_used_at), (2, Some(w.clock.now())));

    // Revoked: refused from the next request on, listed with the time.
    w.key_service().revoke(&actor(ALICE), &team, &new.key.id).await.unwrap();
    assert_eq!(w.key_service().authenticate(&new.secret).await.unwrap(), None);
    let listed = &w.key_service().list(&actor(ALICE), &team).await.unwrap()[0];
    assert_eq!((listed.revoked_at, listed.use_count), (Some(w.clock.now()), 2));
    // Revoking twice is no error; an unknown key, or another team's, is not found.
    w.key_service().revoke(&actor(ALICE), &team, &new.key.id).await.unwrap();
    assert_not_found(w.key_service().revoke(&actor(ALICE), &team, &ApiKeyId::from("nope")).await);
    let alices = TeamId::personal(&UserId::from(ALICE));
    assert_not_found(w.key_service().revoke(&actor(ALICE), &alices, &new.key.id).await);
    assert_forbidden(w.key_service().revoke(&actor(BOB), &team, &new.key.id).await);

    // Expired: refused once its time has come.
    let expiring =
        KeyRequest { expires_at: Some(w.clock.now().plus(Duration::from_secs(60))), ..request(&["jobs:read"]) };
    let expiring = w.key_service().create(&actor(ALICE), &team, expiring).await.unwrap();
    assert!(w.key_service().authenticate(&expiring.secret).await.unwrap().is_some());
    w.clock.advance(Duration::from_secs(60));
    assert_eq!(w.key_service().authenticate(&expiring.secret).await.unwrap(), None);

    // Anything that is not a key of ours is refused without a look-up.
    let forged = format!("hx_live_{}", "A".repeat(43));
    for presented in ["", "hx_live_", "hx_live_short", &forged, &new.secret[1..]] {
        assert_eq!(w.key_service().authenticate(presented).await.unwrap(), None, "{presented}");
    }
}

#[tokio::test]
async fn a_personal_team_has_keys_of_its_owner() {
    let w = world();
    let alices = TeamId::personal(&UserId::from(ALICE));
    let (_, key) = key_of(&w, &alices, &["jobs:read", "jobs:write"]).await;
    let job = w.service().submit(&key, inline_job(None)).await.unwrap();
    assert_eq!(job.team_id, alices);
    assert_eq!(w.service().get(&actor(ALICE), &job.id).await.unwrap().owner_id, key.user_id);
    assert_not_found(w.key_service().list(&actor(BOB), &alices).await);
}
