//! `DynamoMappingMemory` against the emulator `make test` starts (`HELIX_TEST_AWS_ENDPOINT`), on
//! a `TeamsTable` created as `infra/template.yaml` declares it, beside a team and its members.

use std::collections::BTreeMap;

use helix_aws::{DynamoMappingMemory, DynamoTeamStore};
use helix_domain::{
    ColumnSignature, JobId, MappingMemoryStore, Membership, Plan, RememberedMapping, Role, Team, TeamId, TeamStore,
    Timestamp, UserId,
};

mod common;
use common::{client, table};

fn entry(team: &TeamId, column: &str, target: &str) -> RememberedMapping {
    RememberedMapping {
        id: RememberedMapping::entry_id(target, column),
        team_id: team.clone(),
        column: column.into(),
        signature: ColumnSignature {
            kind: "decimal".into(),
            min_len: 1,
            max_len: 8,
            distinct_ratio: 0.25,
            values: vec!["O".into(), "C".into()],
            shapes: vec!["a".into()],
            min: Some(0.5),
            max: Some(1234.5),
        },
        target: target.into(),
        value_map: BTreeMap::from([
            ("O".to_owned(), serde_json::json!("open")),
            ("9".to_owned(), serde_json::json!(9)),
        ]),
        confirmed_by: "alice".into(),
        confirmed_at: Timestamp::from_unix(1_800_000_000).unwrap(),
        source_file: "orders.csv".into(),
        job_id: JobId::from("job-1"),
    }
}

#[tokio::test]
async fn entries_are_kept_per_team_replaced_by_id_and_deleted() {
    let client = client();
    let name = table(&client, "TeamsTable").await;
    let memory = DynamoMappingMemory::new(client.clone(), name.clone());
    let teams = DynamoTeamStore::new(client.clone(), name);
    let (data, other) = (TeamId::random(), TeamId::random());
    let owner = UserId::from("alice");
    let team = Team {
        id: data.clone(),
        name: "Data".into(),
        personal: false,
        plan: Plan::Free,
        limits: None,
        created_by: owner.clone(),
        created_at: Timestamp::from_unix(1_800_000_000).unwrap(),
    };
    let membership =
        Membership { team_id: data.clone(), user_id: owner.clone(), role: Role::Owner, joined_at: team.created_at };
    teams.create(&team, &membership).await.unwrap();

    // More than one BatchWriteItem's worth.
    let many: Vec<RememberedMapping> =
        (0..30).map(|i| entry(&data, &format!("COL{i}"), &format!("field_{i}"))).collect();
    memory.remember(&many).await.unwrap();
    memory.remember(&[entry(&other, "KUNNR", "customer_id")]).await.unwrap();
    let listed = memory.list(&data).await.unwrap();
    assert_eq!(listed.len(), 30);
    assert!(listed.contains(&many[7]), "{listed:?}");

    // The same field and column, spelled otherwise: the entry is replaced, not added.
    let mut again = entry(&data, "col 7", "field_7");
    again.confirmed_by = "bob".into();
    assert_eq!(again.id, many[7].id);
    memory.remember(std::slice::from_ref(&again)).await.unwrap();
    let listed = memory.list(&data).await.unwrap();
    assert_eq!(listed.len(), 30);
    assert_eq!(listed.iter().find(|e| e.id == again.id), Some(&again));

    // The team's own items are untouched and unseen.
    assert_eq!(teams.members(&data).await.unwrap().len(), 1);
    assert_eq!(teams.memberships_of(&owner).await.unwrap().len(), 1);

    assert!(memory.forget(&data, &again.id).await.unwrap());
    assert!(!memory.forget(&data, &again.id).await.unwrap());
    // Another team's entry is not this team's to delete.
    let theirs = memory.list(&other).await.unwrap().remove(0);
    assert!(!memory.forget(&data, &theirs.id).await.unwrap());
    assert_eq!(memory.list(&data).await.unwrap().len(), 29);
    assert_eq!(memory.list(&other).await.unwrap(), [theirs]);
}
