//! Teams: who sees and does what. Outsiders learn nothing (404), members act by role (403 where
//! the role falls short), and a changed role counts on the member's next request.

use std::time::Duration;

use helix_domain::{ArtifactKind, FileDeclaration, Role, TeamId};
use helix_jobs::{JobError, JobQuery, JobRequest, TeamView};

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

fn upload_to(team: &TeamId) -> (FileDeclaration, Option<TeamId>) {
    let file = FileDeclaration {
        kind: ArtifactKind::Content,
        filename: "orders.csv".into(),
        content_type: "text/csv".into(),
        size_bytes: 10,
    };
    (file, Some(team.clone()))
}

/// Alice's team with Bob in it as `role`.
async fn team_with_bob(w: &World, role: Role) -> TeamId {
    let teams = w.team_service();
    let team = teams.create(&actor(ALICE), "Integration").await.unwrap().team.id;
    let invitation = teams.invite(&actor(ALICE), &team, role).await.unwrap();
    let joined = teams.accept(&actor(BOB), &invitation.token).await.unwrap();
    assert_eq!((joined.team.id.clone(), joined.role), (team.clone(), role));
    team
}

/// A job of `team` submitted by `user`, over content uploaded into the team.
async fn team_job(w: &World, user: &str, team: &TeamId) -> Result<helix_domain::Job, JobError> {
    let content = JobRequest { team_id: Some(team.clone()), ..transform(vec![]) };
    let request = JobRequest {
        content: vec![helix_jobs::Input::new(
            "content_file",
            helix_jobs::InputSource::File(helix_jobs::InlineFile {
                kind: ArtifactKind::Content,
                filename: "orders.csv".into(),
                content_type: "text/csv".into(),
                bytes: CSV.as_bytes().to_vec(),
            }),
        )],
        ..content
    };
    w.service().submit(&actor(user), request).await
}

#[tokio::test]
async fn a_new_team_has_its_creator_as_owner_beside_their_personal_team() {
    let w = world();
    let team = w.team_service().create(&actor(ALICE), "  Integration  ").await.unwrap();
    assert_eq!((team.team.name.as_str(), team.role, team.team.personal), ("Integration", Role::Owner, false));
    let listed: Vec<(bool, Role)> =
        w.team_service().list(&actor(ALICE)).await.unwrap().iter().map(|v| (v.team.personal, v.role)).collect();
    assert_eq!(listed, [(true, Role::Owner), (false, Role::Owner)]);
    let bad = w.team_service().create(&actor(ALICE), " ").await;
    assert!(matches!(bad, Err(JobError::Invalid { ref field, .. }) if field == "name"), "{bad:?}");
}

#[tokio::test]
async fn members_share_the_teams_jobs_and_outsiders_learn_nothing() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    let job = team_job(&w, BOB, &team).await.unwrap();
    assert_eq!((job.team_id.clone(), job.owner_id.as_str()), (team.clone(), BOB));

    // Alice reads Bob's job and lists it with the team's.
    assert_eq!(w.service().get(&actor(ALICE), &job.id).await.unwrap().id, job.id);
    let query = JobQuery { team_id: Some(team.clone()), ..JobQuery::default() };
    let listed = w.service().list(&actor(ALICE), query.clone()).await.unwrap();
    assert_eq!(listed.jobs.iter().map(|j| &j.id).collect::<Vec<_>>(), [&job.id]);
    // A personal listing keeps to the personal team.
    assert!(w.service().list(&actor(BOB), JobQuery::default()).await.unwrap().jobs.is_empty());

    // Carol is in no team of theirs: every id reads as unknown.
    let carol = actor(CAROL);
    assert_not_found(w.service().get(&carol, &job.id).await);
    assert_not_found(w.service().list(&carol, query).await);
    assert_not_found(w.team_service().get(&carol, &team).await);
    assert_not_found(w.team_service().members(&carol, &team).await);
    let content = &job.inputs.content_artifact_ids[0];
    assert_not_found(w.artifact_service().get(&carol, content).await);
    assert_not_found(w.artifact_service().download(&carol, content).await);
    assert_not_found(team_job(&w, CAROL, &team).await);
    let (file, team_id) = upload_to(&team);
    assert_not_found(w.artifact_service().request_upload(&carol, file, team_id, Default::default()).await);
}

#[tokio::test]
async fn a_viewer_reads_but_may_not_write() {
    let w = world();
    let team = team_with_bob(&w, Role::Viewer).await;
    let job = team_job(&w, ALICE, &team).await.unwrap();
    assert_eq!(w.service().get(&actor(BOB), &job.id).await.unwrap().id, job.id);
    assert!(w.artifact_service().get(&actor(BOB), &job.inputs.content_artifact_ids[0]).await.is_ok());
    assert_forbidden(team_job(&w, BOB, &team).await);
    let (file, team_id) = upload_to(&team);
    assert_forbidden(w.artifact_service().request_upload(&actor(BOB), file, team_id, Default::default()).await);
    assert_forbidden(w.team_service().invite(&actor(BOB), &team, Role::Viewer).await);
    assert_forbidden(w.team_service().rename(&actor(BOB), &team, "Mine").await);
}

#[tokio::test]
async fn a_changed_role_or_a_removal_counts_on_the_next_request() {
    let w = world();
    let team = team_with_bob(&w, Role::Member).await;
    let job = team_job(&w, BOB, &team).await.unwrap();
    let bob = helix_domain::UserId::from(BOB);

    w.team_service().change_role(&actor(ALICE), &team, &bob, Role::Viewer).await.unwrap();
    assert_forbidden(team_job(&w, BOB, &team).await);

    w.team_service().remove(&actor(ALICE), &team, &bob).await.unwrap();
    assert_not_found(w.service().get(&actor(BOB), &job.id).await);
    let teams: Vec<TeamView> = w.team_service().list(&actor(BOB)).await.unwrap();
    assert_eq!(teams.len(), 1, "only Bob's personal team is left");
}

#[tokio::test]
async fn invitations_are_single_use_and_run_out_after_seven_days() {
    let w = world();
    let teams = w.team_service();
    let team = teams.create(&actor(ALICE), "Integration").await.unwrap().team.id;
    let once = teams.invite(&actor(ALICE), &team, Role::Member).await.unwrap();
    teams.accept(&actor(BOB), &once.token).await.unwrap();
    assert_not_found(teams.accept(&actor(CAROL), &once.token).await);
    assert_not_found(teams.accept(&actor(CAROL), "not-a-token").await);

    let late = teams.invite(&actor(ALICE), &team, Role::Member).await.unwrap();
    w.clock.advance(Duration::from_secs(7 * 24 * 3600));
    assert_not_found(teams.accept(&actor(CAROL), &late.token).await);

    let again = teams.invite(&actor(ALICE), &team, Role::Member).await.unwrap();
    assert!(matches!(teams.accept(&actor(BOB), &again.token).await, Err(JobError::Conflict(_))));
}

#[tokio::test]
async fn owners_are_made_by_owners_and_a_team_keeps_one() {
    let w = world();
    let teams = w.team_service();
    let team = team_with_bob(&w, Role::Admin).await;
    let (alice, bob) = (helix_domain::UserId::from(ALICE), helix_domain::UserId::from(BOB));
    // An admin manages members below owner, but not owners, and makes none.
    assert_forbidden(teams.invite(&actor(BOB), &team, Role::Owner).await);
    assert_forbidden(teams.change_role(&actor(BOB), &team, &alice, Role::Member).await);
    assert_forbidden(teams.change_role(&actor(BOB), &team, &bob, Role::Owner).await);
    // The last owner can neither step down nor leave.
    assert!(matches!(teams.change_role(&actor(ALICE), &team, &alice, Role::Admin).await, Err(JobError::Conflict(_))));
    assert!(matches!(teams.remove(&actor(ALICE), &team, &alice).await, Err(JobError::Conflict(_))));
    // With a second owner, they can.
    teams.change_role(&actor(ALICE), &team, &bob, Role::Owner).await.unwrap();
    teams.remove(&actor(ALICE), &team, &alice).await.unwrap();
    assert_not_found(teams.get(&actor(ALICE), &team).await);
}

#[tokio::test]
async fn a_personal_team_takes_no_invitations_and_a_job_reads_only_its_teams_files() {
    let w = world();
    let personal = TeamId::personal(&helix_domain::UserId::from(ALICE));
    assert!(matches!(
        w.team_service().invite(&actor(ALICE), &personal, Role::Member).await,
        Err(JobError::Invalid { .. })
    ));
    let team = team_with_bob(&w, Role::Member).await;
    let mine = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let request = JobRequest { team_id: Some(team), ..transform(vec![mine]) };
    let refused = w.service().submit(&actor(ALICE), request).await;
    assert!(
        matches!(&refused, Err(JobError::Invalid { field, message }) if field == "content_artifact_ids[0]" && message.contains("another team")),
        "{refused:?}"
    );
}
