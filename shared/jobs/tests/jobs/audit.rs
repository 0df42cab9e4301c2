//! The audit trail: what the use cases record, who reads it, and that its hash chain shows an
//! edited or deleted entry and stays one chain under concurrent appends.

use helix_domain::{ApiKeyStore, ArtifactKind, AuditEntry, AuditLog, AuditOutcome, Role, TeamId, UserId};
use helix_jobs::{Actor, AuditEvent, AuditQuery, JobError, JobRequest, KeyRequest, RequestOrigin, action};

use crate::support::*;

/// Alice's team with Bob in it as `role`.
async fn team_with_bob(w: &World, role: Role) -> TeamId {
    let teams = w.team_service();
    let team = teams.create(&actor(ALICE), "Integration").await.unwrap().team.id;
    let invitation = teams.invite(&actor(ALICE), &team, role).await.unwrap();
    teams.accept(&actor(BOB), &invitation.token).await.unwrap();
    team
}

fn from_browser(user: &str) -> Actor {
    actor(user).from_origin(RequestOrigin { ip: Some("203.0.113.7".into()), user_agent: Some("Firefox/140".into()) })
}

/// The team's whole trail, oldest first.
async fn trail(w: &World, team: &TeamId) -> Vec<AuditEntry> {
    w.audit.oldest(team, 0, 1000).await.unwrap()
}

fn actions(entries: &[AuditEntry]) -> Vec<(&str, &str, AuditOutcome)> {
    entries.iter().map(|e| (e.action.as_str(), e.actor.as_str(), e.outcome)).collect()
}

/// A job Bob submits to `team`, and the download of one of its inputs.
async fn bob_submits_and_downloads(w: &World, team: &TeamId) -> (String, String) {
    let file = helix_jobs::InlineFile {
        kind: ArtifactKind::Content,
        filename: "orders.csv".into(),
        content_type: "text/csv".into(),
        bytes: CSV.as_bytes().to_vec(),
    };
    let request = JobRequest {
        team_id: Some(team.clone()),
        content: vec![helix_jobs::Input::new("content_file", helix_jobs::InputSource::File(file))],
        ..transform(vec![])
    };
    let job = w.service().submit(&from_browser(BOB), request).await.unwrap();
    let input = job.inputs.content_artifact_ids[0].clone();
    w.artifact_service().download(&from_browser(BOB), &input).await.unwrap();
    (job.id.to_string(), input.to_string())
}

#[tokio::test]
async fn member_changes_keys_jobs_and_downloads_are_recorded_with_their_origin() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    let (job, download) = bob_submits_and_downloads(&w, &team).await;
    let request =
        KeyRequest { name: "ci".into(), scopes: vec!["jobs:read".into()], expires_at: None, pipeline_id: None };
    let key = w.key_service().create(&actor(ALICE), &team, request).await.unwrap().key;
    w.key_service().revoke(&actor(ALICE), &team, &key.id).await.unwrap();
    w.team_service().change_role(&actor(ALICE), &team, &UserId::from(BOB), Role::Viewer).await.unwrap();
    w.team_service().remove(&actor(ALICE), &team, &UserId::from(BOB)).await.unwrap();

    let entries = trail(&w, &team).await;
    let success = AuditOutcome::Success;
    assert_eq!(
        actions(&entries),
        [
            (action::MEMBER_INVITE, ALICE, success),
            (action::MEMBER_JOIN, BOB, success),
            (action::JOB_CREATE, BOB, success),
            (action::ARTIFACT_DOWNLOAD, BOB, success),
            (action::KEY_CREATE, ALICE, success),
            (action::KEY_REVOKE, ALICE, success),
            (action::MEMBER_ROLE, ALICE, success),
            (action::MEMBER_REMOVE, ALICE, success),
        ]
    );
    assert_eq!((entries[2].target.as_str(), entries[3].target.as_str()), (job.as_str(), download.as_str()));
    assert_eq!(entries[4].target, key.id.as_str());
    assert_eq!(entries[2].source_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(entries[2].user_agent.as_deref(), Some("Firefox/140"));
    assert_eq!(entries[0].source_ip, None, "a caller without an origin has none recorded");
    let report = w.audit_service().verify(&actor(ALICE), &team).await.unwrap();
    assert_eq!((report.entries, report.broken), (8, None));
    assert_eq!(report.head.as_deref(), Some(entries[7].hash.as_str()));
}

#[tokio::test]
async fn refusals_of_members_are_recorded_and_outsiders_open_no_chain() {
    let w = world();
    let team = team_with_bob(&w, Role::Viewer).await;
    let request = JobRequest { team_id: Some(team.clone()), ..transform(vec![]) };
    assert!(matches!(w.service().submit(&actor(BOB), request).await, Err(JobError::Forbidden(_))));
    let key = KeyRequest { name: "ci".into(), scopes: vec!["jobs:read".into()], expires_at: None, pipeline_id: None };
    assert!(matches!(w.key_service().create(&actor(BOB), &team, key).await, Err(JobError::Forbidden(_))));
    let entries = trail(&w, &team).await;
    assert_eq!(
        actions(&entries[2..]),
        [(action::JOB_CREATE, BOB, AuditOutcome::Refused), (action::KEY_CREATE, BOB, AuditOutcome::Refused)]
    );

    let foreign = TeamId::from("t-unknown");
    let request = JobRequest { team_id: Some(foreign.clone()), ..transform(vec![]) };
    assert!(matches!(w.service().submit(&actor("carol"), request).await, Err(JobError::NotFound(_))));
    assert!(trail(&w, &foreign).await.is_empty());
}

#[tokio::test]
async fn only_admins_and_owners_read_and_verify_the_trail() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    let audit = w.audit_service();
    assert!(matches!(audit.list(&actor(BOB), &team, AuditQuery::default()).await, Err(JobError::Forbidden(_))));
    assert!(matches!(audit.verify(&actor(BOB), &team).await, Err(JobError::Forbidden(_))));
    assert!(matches!(audit.list(&actor("carol"), &team, AuditQuery::default()).await, Err(JobError::NotFound(_))));
    w.team_service().change_role(&actor(ALICE), &team, &UserId::from(BOB), Role::Admin).await.unwrap();
    assert_eq!(audit.list(&actor(BOB), &team, AuditQuery::default()).await.unwrap().entries.len(), 3);
}

#[tokio::test]
async fn the_listing_filters_and_pages_newest_first() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    w.on_plan(&team, helix_domain::Plan::Pro).await;
    for _ in 0..3 {
        bob_submits_and_downloads(&w, &team).await;
    }
    let audit = w.audit_service();
    let query = |cursor: Option<String>| AuditQuery {
        action: Some(action::JOB_CREATE.into()),
        actor: Some(UserId::from(BOB)),
        limit: Some(2),
        cursor,
        ..AuditQuery::default()
    };
    let first = audit.list(&actor(ALICE), &team, query(None)).await.unwrap();
    assert_eq!(first.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [7, 5]);
    let rest = audit.list(&actor(ALICE), &team, query(first.next_cursor)).await.unwrap();
    assert_eq!(rest.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
    assert_eq!(rest.next_cursor, None);

    let bad = AuditQuery { cursor: Some("x".into()), ..AuditQuery::default() };
    assert!(matches!(audit.list(&actor(ALICE), &team, bad).await, Err(JobError::Malformed { .. })));
    let after = AuditQuery { from: Some(start().plus(std::time::Duration::from_secs(1))), ..AuditQuery::default() };
    assert!(audit.list(&actor(ALICE), &team, after).await.unwrap().entries.is_empty());
}

#[tokio::test]
async fn a_deleted_or_edited_entry_breaks_the_chain_where_it_was() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    bob_submits_and_downloads(&w, &team).await;
    let verify = || async { w.audit_service().verify(&actor(ALICE), &team).await.unwrap() };
    assert_eq!(verify().await.broken, None);

    let entries = trail(&w, &team).await;
    w.audit.tamper_replace(AuditEntry { actor: "mallory".into(), ..entries[2].clone() });
    let broken = verify().await.broken.expect("an edit is seen");
    assert_eq!(broken.seq, 3, "{}", broken.reason);

    w.audit.tamper_replace(AuditEntry { actor: "mallory".into(), ..entries[2].clone() }.sealed());
    assert_eq!(verify().await.broken.map(|b| b.seq), Some(4), "a resealed edit breaks the next link");

    w.audit.tamper_replace(entries[2].clone());
    w.audit.tamper_delete(&team, 2);
    let broken = verify().await.broken.expect("a deletion is seen");
    assert_eq!(broken.seq, 3);
    assert!(broken.reason.contains("missing"), "{}", broken.reason);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_keep_one_chain() {
    let w = world();
    let trail = w.trail();
    let team = TeamId::from("t-busy");
    let writers: Vec<_> = (0..24)
        .map(|i| {
            let (trail, team) = (trail.clone(), team.clone());
            tokio::spawn(async move {
                let event = AuditEvent { team: &team, action: action::JOB_CREATE, target: &format!("j{i}") };
                trail.record(&actor(ALICE), event, AuditOutcome::Success).await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let entries = w.audit.oldest(&team, 0, 100).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=24).collect::<Vec<_>>());
    let mut targets: Vec<&str> = entries.iter().map(|e| e.target.as_str()).collect();
    targets.sort();
    targets.dedup();
    assert_eq!(targets.len(), 24, "every append landed once");
    let mut check = helix_domain::ChainCheck::default();
    entries.iter().for_each(|e| check.push(e));
    assert_eq!(check.broken, None);
}

#[tokio::test]
async fn an_unwritable_trail_fails_the_use_case_closed() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    let (_, input) = bob_submits_and_downloads(&w, &team).await;
    w.job_queue.take();
    w.audit.outage.set(true);
    let jobs_before = w.jobs.all().len();
    let file = helix_jobs::InlineFile {
        kind: ArtifactKind::Content,
        filename: "orders.csv".into(),
        content_type: "text/csv".into(),
        bytes: CSV.as_bytes().to_vec(),
    };
    let request = JobRequest {
        team_id: Some(team.clone()),
        content: vec![helix_jobs::Input::new("content_file", helix_jobs::InputSource::File(file))],
        ..transform(vec![])
    };
    assert!(matches!(w.service().submit(&actor(BOB), request).await, Err(JobError::Unavailable(_))));
    assert_eq!(w.jobs.all().len(), jobs_before, "no job is created unrecorded");
    assert!(w.job_queue.take().is_empty(), "nothing queued");
    let download = w.artifact_service().download(&actor(BOB), &input.as_str().into()).await;
    assert!(matches!(download, Err(JobError::Unavailable(_))), "no URL is handed out unrecorded");
    let key = KeyRequest { name: "ci".into(), scopes: vec!["jobs:read".into()], expires_at: None, pipeline_id: None };
    assert!(matches!(w.key_service().create(&actor(ALICE), &team, key).await, Err(JobError::Unavailable(_))));
    assert!(w.keys.list(&team).await.unwrap().is_empty(), "no key is made unrecorded");
    w.audit.outage.set(false);
    assert_eq!(w.audit_service().verify(&actor(ALICE), &team).await.unwrap().broken, None);
}

#[tokio::test]
async fn an_effect_that_fails_after_its_entry_is_recorded_as_failed() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    w.jobs.outage.set(true);
    let request = JobRequest {
        team_id: Some(team.clone()),
        content: vec![helix_jobs::Input::new("content_file", helix_jobs::InputSource::Text("id\n1\n".into()))],
        ..transform(vec![])
    };
    assert!(w.service().submit(&actor(BOB), request).await.is_err());
    let entries = trail(&w, &team).await;
    assert_eq!(
        actions(&entries[2..]),
        [(action::JOB_CREATE, BOB, AuditOutcome::Success), (action::JOB_CREATE, BOB, AuditOutcome::Failed)]
    );
    assert_eq!(entries[2].target, entries[3].target);
}
