//! `DynamoTeamStore`, the team job listing and `DynamoApiKeyStore` against the emulator `make test`
//! starts (`HELIX_TEST_AWS_ENDPOINT`), on tables created as `infra/template.yaml` declares them.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use helix_aws::{DynamoApiKeyStore, DynamoJobStore, DynamoTeamStore};
use helix_domain::{
    ApiKey, ApiKeyId, ApiKeyStore, Invitation, InvitationId, Job, JobInputs, JobKind, JobStatus, JobStore, KeyScope,
    Membership, Plan, PlanLimits, Role, StoreError, Team, TeamId, TeamStore, Timestamp, UserId,
};

mod common;
use common::{client, table};

fn at(second: i64) -> Timestamp {
    Timestamp::from_unix(1_800_000_000 + second).unwrap()
}

fn team(id: &TeamId, owner: &UserId) -> (Team, Membership) {
    let team = Team {
        id: id.clone(),
        name: "Data".into(),
        personal: false,
        // An enterprise plan's own limits are stored with the team.
        plan: Plan::Enterprise,
        limits: Some(PlanLimits { concurrent_jobs: 50, ..PlanLimits::PRO }),
        created_by: owner.clone(),
        created_at: at(0),
    };
    let membership = Membership { team_id: id.clone(), user_id: owner.clone(), role: Role::Owner, joined_at: at(0) };
    (team, membership)
}

fn member(team: &TeamId, user: &UserId, role: Role) -> Membership {
    Membership { team_id: team.clone(), user_id: user.clone(), role, joined_at: at(10) }
}

fn invitation(team: &TeamId, token_hash: &str, expires_at: Timestamp) -> Invitation {
    Invitation {
        id: InvitationId::random(),
        team_id: team.clone(),
        role: Role::Member,
        token_hash: token_hash.into(),
        created_by: "owner".into(),
        created_at: at(0),
        expires_at,
        accepted_by: None,
    }
}

#[tokio::test]
async fn teams_memberships_and_conditional_role_changes() {
    let client = client();
    let store = DynamoTeamStore::new(client.clone(), table(&client, "TeamsTable").await);
    let (owner, ana, bob) = (UserId::from("owner"), UserId::from("ana"), UserId::from("bob"));
    let id = TeamId::random();
    let (data, owned) = team(&id, &owner);

    store.create(&data, &owned).await.unwrap();
    assert_eq!(store.get(&id).await.unwrap(), Some(data.clone()));
    assert_eq!(store.membership(&id, &owner).await.unwrap(), Some(owned.clone()));
    assert!(matches!(store.create(&data, &owned).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.get(&TeamId::random()).await.unwrap(), None);

    let renamed = Team { name: "Data platform".into(), ..data.clone() };
    store.put(&renamed).await.unwrap();
    assert_eq!(store.get(&id).await.unwrap(), Some(renamed));

    // A second team of ana's, and a personal team record: neither is a member of `id`.
    let other = TeamId::random();
    let (other_team, other_owner) = team(&other, &ana);
    store.create(&other_team, &other_owner).await.unwrap();
    store.put(&Team::personal(&ana, at(0))).await.unwrap();

    for (user, role) in [(&ana, Role::Admin), (&bob, Role::Viewer)] {
        let token = format!("hash-{user}-{id}");
        store.create_invitation(&invitation(&id, &token, at(3600))).await.unwrap();
        let invited = store.invitation(&token).await.unwrap().unwrap();
        store.accept_invitation(&invited, &member(&id, user, role), at(60)).await.unwrap();
    }

    let mut members: Vec<(String, Role)> =
        store.members(&id).await.unwrap().into_iter().map(|m| (m.user_id.to_string(), m.role)).collect();
    members.sort();
    assert_eq!(members, [("ana".into(), Role::Admin), ("bob".into(), Role::Viewer), ("owner".into(), Role::Owner)]);

    let mut of_ana: Vec<(TeamId, Role)> =
        store.memberships_of(&ana).await.unwrap().into_iter().map(|m| (m.team_id, m.role)).collect();
    of_ana.sort();
    let mut expected = vec![(id.clone(), Role::Admin), (other.clone(), Role::Owner)];
    expected.sort();
    assert_eq!(of_ana, expected);
    assert!(store.memberships_of(&UserId::from("nobody")).await.unwrap().is_empty());

    // Two admins acting on what they saw: the second, from a stale role, loses.
    store.set_role(&id, &bob, Role::Viewer, Role::Member).await.unwrap();
    assert!(matches!(store.set_role(&id, &bob, Role::Viewer, Role::Admin).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.membership(&id, &bob).await.unwrap().unwrap().role, Role::Member);
    assert!(matches!(store.remove_member(&id, &bob, Role::Viewer).await, Err(StoreError::Conflict(_))));
    store.remove_member(&id, &bob, Role::Member).await.unwrap();
    assert_eq!(store.membership(&id, &bob).await.unwrap(), None);
    assert!(store.memberships_of(&bob).await.unwrap().is_empty());

    // No membership to change: the same conflict, never a membership made by an update.
    assert!(matches!(store.set_role(&id, &bob, Role::Member, Role::Admin).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.remove_member(&id, &bob, Role::Member).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.membership(&id, &bob).await.unwrap(), None);
}

#[tokio::test]
async fn an_invitation_is_accepted_once_before_it_runs_out_by_a_non_member() {
    let client = client();
    let store = DynamoTeamStore::new(client.clone(), table(&client, "TeamsTable").await);
    let (owner, ana, bob) = (UserId::from("owner"), UserId::from("ana"), UserId::from("bob"));
    let id = TeamId::random();
    let (data, owned) = team(&id, &owner);
    store.create(&data, &owned).await.unwrap();

    let invited = invitation(&id, "once", at(3600));
    store.create_invitation(&invited).await.unwrap();
    assert_eq!(store.invitation("once").await.unwrap(), Some(invited.clone()));
    assert_eq!(store.invitation("unknown").await.unwrap(), None);
    assert!(matches!(store.create_invitation(&invited).await, Err(StoreError::Conflict(_))));

    store.accept_invitation(&invited, &member(&id, &ana, Role::Member), at(60)).await.unwrap();
    assert_eq!(store.invitation("once").await.unwrap().unwrap().accepted_by, Some(ana.clone()));
    assert_eq!(store.membership(&id, &ana).await.unwrap().unwrap().role, Role::Member);
    // Used: nobody else joins with it.
    assert!(matches!(
        store.accept_invitation(&invited, &member(&id, &bob, Role::Member), at(61)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.membership(&id, &bob).await.unwrap(), None);

    // Ran out: refused at and after its expiry, and nothing is written.
    let expiring = invitation(&id, "expiring", at(100));
    store.create_invitation(&expiring).await.unwrap();
    for now in [at(100), at(101)] {
        assert!(matches!(
            store.accept_invitation(&expiring, &member(&id, &bob, Role::Member), now).await,
            Err(StoreError::Conflict(_))
        ));
    }
    assert_eq!(store.membership(&id, &bob).await.unwrap(), None);
    assert_eq!(store.invitation("expiring").await.unwrap().unwrap().accepted_by, None);

    // A member already: refused, and the invitation stays unused (one transaction).
    let second = invitation(&id, "second", at(3600));
    store.create_invitation(&second).await.unwrap();
    assert!(matches!(
        store.accept_invitation(&second, &member(&id, &ana, Role::Admin), at(60)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.invitation("second").await.unwrap().unwrap().accepted_by, None);
    assert_eq!(store.membership(&id, &ana).await.unwrap().unwrap().role, Role::Member);

    let unknown = invitation(&id, "unknown", at(3600));
    assert!(matches!(
        store.accept_invitation(&unknown, &member(&id, &bob, Role::Member), at(60)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.membership(&id, &bob).await.unwrap(), None);
}

fn job(id: &str, team: &TeamId, status: JobStatus, second: i64) -> Job {
    let mut job = Job::new(id.into(), "owner".into(), JobKind::Transform, None, JobInputs::default(), at(second));
    job.team_id = team.clone();
    job.status = status;
    job
}

fn ids(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.id.as_str()).collect()
}

#[tokio::test]
async fn a_teams_jobs_are_listed_newest_first_by_status_and_page() {
    let client = client();
    let table = table(&client, "JobsTable").await;
    let store = DynamoJobStore::new(client.clone(), &table);
    let (data, other) = (TeamId::random(), TeamId::random());
    for (i, (team, status)) in [
        (&data, JobStatus::Completed),
        (&data, JobStatus::Pending),
        (&other, JobStatus::Completed),
        (&data, JobStatus::Completed),
        (&data, JobStatus::Failed),
        (&data, JobStatus::Completed),
    ]
    .into_iter()
    .enumerate()
    {
        store.create(&job(&format!("j{i}"), team, status, i as i64)).await.unwrap();
    }

    let mut listed = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list(&data, None, 2, cursor.as_deref()).await.unwrap();
        assert!(page.jobs.len() <= 2);
        listed.extend(page.jobs);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(ids(&listed), ["j5", "j4", "j3", "j1", "j0"]);

    let first = store.list(&data, Some(JobStatus::Completed), 2, None).await.unwrap();
    assert_eq!(ids(&first.jobs), ["j5", "j3"]);
    let rest = store.list(&data, Some(JobStatus::Completed), 2, first.next_cursor.as_deref()).await.unwrap();
    assert_eq!(ids(&rest.jobs), ["j0"]);
    assert_eq!(ids(&store.list(&other, None, 10, None).await.unwrap().jobs), ["j2"]);

    // A cursor continues its own listing only: not another team's, nor another status's.
    let cursor = first.next_cursor.as_deref();
    assert!(matches!(store.list(&other, Some(JobStatus::Completed), 2, cursor).await, Err(StoreError::InvalidCursor)));
    assert!(matches!(store.list(&data, Some(JobStatus::Failed), 2, cursor).await, Err(StoreError::InvalidCursor)));

    // A status change moves the job between the status listings.
    let pending = store.get(&"j1".into()).await.unwrap().unwrap();
    let claimed = pending
        .apply(helix_domain::Transition::Claim { lease_until: at(1000).plus(Duration::from_secs(60)) }, at(1000))
        .unwrap();
    store.replace(&pending, &claimed).await.unwrap();
    assert!(store.list(&data, Some(JobStatus::Pending), 10, None).await.unwrap().jobs.is_empty());
    assert_eq!(ids(&store.list(&data, Some(JobStatus::Running), 10, None).await.unwrap().jobs), ["j1"]);
}

#[tokio::test]
async fn a_job_stored_before_teams_reads_as_its_owners_personal_teams() {
    let client = client();
    let table = table(&client, "JobsTable").await;
    let item = [
        ("id", AttributeValue::S("legacy".into())),
        ("owner_id", AttributeValue::S("u-1".into())),
        ("owner_status", AttributeValue::S("u-1#COMPLETED".into())),
        ("status", AttributeValue::S("COMPLETED".into())),
        ("created_at", AttributeValue::S("2024-03-01T10:00:00.000000Z".into())),
        ("attempts", AttributeValue::N("1".into())),
        ("inputs", AttributeValue::M([("content_artifact_ids".to_owned(), AttributeValue::L(vec![]))].into())),
    ];
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(item.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
        .send()
        .await
        .unwrap();
    let job = DynamoJobStore::new(client, &table).get(&"legacy".into()).await.unwrap().unwrap();
    assert_eq!(job.team_id, TeamId::personal(&UserId::from("u-1")));
}

fn api_key(team: &TeamId, hash: &str, second: i64) -> ApiKey {
    ApiKey {
        id: ApiKeyId::random(),
        team_id: team.clone(),
        name: format!("key {second}"),
        key_hash: hash.into(),
        prefix: "hx_live_abcd".into(),
        scopes: vec![KeyScope::JobsRead, KeyScope::JobsWrite],
        created_by: "owner".into(),
        created_at: at(second),
        expires_at: Some(at(86_400)),
        revoked_at: None,
        last_used_at: None,
        use_count: 0,
        pipeline_id: None,
    }
}

#[tokio::test]
async fn api_keys_are_found_by_hash_listed_by_team_revoked_by_id_and_counted() {
    let client = client();
    let store = DynamoApiKeyStore::new(client.clone(), table(&client, "ApiKeysTable").await);
    let (data, other) = (TeamId::random(), TeamId::random());
    let (first, second, foreign) = (api_key(&data, "h1", 1), api_key(&data, "h2", 2), api_key(&other, "h3", 0));
    for key in [&second, &first, &foreign] {
        store.create(key).await.unwrap();
    }
    assert_eq!(store.get("h1").await.unwrap(), Some(first.clone()));
    assert_eq!(store.get("unknown").await.unwrap(), None);
    assert!(matches!(store.create(&first).await, Err(StoreError::Conflict(_))));
    let listed: Vec<ApiKeyId> = store.list(&data).await.unwrap().into_iter().map(|k| k.id).collect();
    assert_eq!(listed, [first.id.clone(), second.id.clone()], "oldest first, the team's only");

    // Every use: one write, counted and stamped; never an item for an unknown hash.
    store.record_use("h1", at(10)).await.unwrap();
    store.record_use("h1", at(20)).await.unwrap();
    let used = store.get("h1").await.unwrap().unwrap();
    assert_eq!((used.use_count, used.last_used_at), (2, Some(at(20))));
    assert!(matches!(store.record_use("unknown", at(20)).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.get("unknown").await.unwrap(), None);

    // Revoked by id within its team, at once and for good; another team's id is not found.
    store.revoke(&data, &first.id, at(30)).await.unwrap();
    assert_eq!(store.get("h1").await.unwrap().unwrap().revoked_at, Some(at(30)));
    store.revoke(&data, &first.id, at(40)).await.unwrap();
    assert_eq!(store.get("h1").await.unwrap().unwrap().revoked_at, Some(at(30)), "the first revocation stands");
    assert!(matches!(store.revoke(&data, &foreign.id, at(30)).await, Err(StoreError::NotFound)));
    assert!(matches!(store.revoke(&data, &ApiKeyId::random(), at(30)).await, Err(StoreError::NotFound)));
    assert_eq!(store.get("h3").await.unwrap().unwrap().revoked_at, None);
    assert_eq!(store.get("h2").await.unwrap(), Some(second));
}
