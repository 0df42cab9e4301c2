//! `DynamoAuditLog` against the emulator `make test` starts (`HELIX_TEST_AWS_ENDPOINT`), on a
//! table created as `infra/template.yaml` declares `AuditTable`: the conditional append, both
//! reading directions, and one gapless chain from writers racing through `AuditTrail`.

use std::sync::Arc;

use helix_aws::DynamoAuditLog;
use helix_domain::{
    AuditEntry, AuditLog, AuditOutcome, ChainCheck, GENESIS_HASH, StoreError, SystemClock, TeamId, Timestamp,
};
use helix_jobs::{Actor, AuditEvent, AuditTrail, RequestOrigin, action};

mod common;
use common::{client, table};

fn entry(team: &TeamId, seq: u64, prev_hash: &str) -> AuditEntry {
    AuditEntry {
        id: format!("e{seq}").into(),
        team_id: team.clone(),
        seq,
        at: Timestamp::from_unix(1_800_000_000 + seq as i64).unwrap(),
        actor: "u1".into(),
        action: action::JOB_CREATE.into(),
        target: format!("j{seq}"),
        outcome: AuditOutcome::Success,
        source_ip: None,
        user_agent: Some("curl/8".into()),
        prev_hash: prev_hash.into(),
        hash: String::new(),
    }
    .sealed()
}

#[tokio::test]
async fn entries_append_once_per_sequence_number_and_read_both_ways() {
    let client = client();
    let log = DynamoAuditLog::new(client.clone(), table(&client, "AuditTable").await);
    let team = TeamId::from("t-1");
    let first = entry(&team, 1, GENESIS_HASH);
    log.append(&first).await.unwrap();
    let second = entry(&team, 2, &first.hash);
    log.append(&second).await.unwrap();
    let rival = entry(&team, 2, &first.hash);
    assert!(matches!(log.append(&rival).await, Err(StoreError::Conflict(_))), "seq 2 is taken");
    log.append(&entry(&TeamId::from("t-2"), 1, GENESIS_HASH)).await.unwrap();

    let newest = log.newest(&team, None, 10).await.unwrap();
    assert_eq!(newest, [second.clone(), first.clone()], "newest first, the team's only, read back as written");
    assert_eq!(log.newest(&team, Some(2), 10).await.unwrap(), std::slice::from_ref(&first));
    assert_eq!(log.newest(&team, None, 1).await.unwrap(), std::slice::from_ref(&second), "the head");
    assert_eq!(log.oldest(&team, 0, 10).await.unwrap(), [first.clone(), second.clone()]);
    assert_eq!(log.oldest(&team, 1, 10).await.unwrap(), [second]);
    assert!(log.newest(&TeamId::from("t-none"), None, 1).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_keep_one_chain() {
    let client = client();
    let log: Arc<dyn AuditLog> = Arc::new(DynamoAuditLog::new(client.clone(), table(&client, "AuditTable").await));
    let trail = Arc::new(AuditTrail { log: log.clone(), clock: Arc::new(SystemClock) });
    let team = TeamId::from("t-busy");
    let writers: Vec<_> = (0..12)
        .map(|i| {
            let (trail, team) = (trail.clone(), team.clone());
            tokio::spawn(async move {
                let actor = Actor::user("u1".into())
                    .from_origin(RequestOrigin { ip: Some("198.51.100.1".into()), user_agent: None });
                let event = AuditEvent { team: &team, action: action::ARTIFACT_DOWNLOAD, target: &format!("a{i}") };
                trail.record(&actor, event, AuditOutcome::Success).await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let entries = log.oldest(&team, 0, 100).await.unwrap();
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=12).collect::<Vec<_>>());
    let mut check = ChainCheck::default();
    entries.iter().for_each(|e| check.push(e));
    assert_eq!((check.entries, check.broken), (12, None));
    assert_eq!(entries[0].source_ip.as_deref(), Some("198.51.100.1"));
}
