//! `DynamoShardStore` against the emulator `make test` starts, with the real SDK, on a fresh
//! `IdempotencyTable`: each shard's result is stored once, and of the writers racing to record
//! the last one exactly one is told it completed the plan.

mod common;

use std::sync::Arc;

use helix_aws::DynamoShardStore;
use helix_domain::shard::{ShardOutput, ShardPlan, ShardScan, ShardSpan};
use helix_domain::{JobId, ShardStore, StoreError};

#[tokio::test]
async fn shards_are_recorded_once_and_one_writer_completes_each_phase() {
    let client = common::client();
    let table = common::table(&client, "IdempotencyTable").await;
    let store = Arc::new(DynamoShardStore::new(client, table));
    let job = JobId::from("j-shards");
    let plan = ShardPlan::new(job.clone(), 2, "{\"input\":1}".into(), 6);
    store.create(&plan).await.unwrap();
    assert!(matches!(store.create(&plan).await, Err(StoreError::Conflict(_))));
    let missing = store.record_scan(&JobId::from("none"), 1, 0, &ShardScan::default()).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");

    // Six scans at once, each delivered twice.
    let mut racing = Vec::new();
    for index in (0..6).chain(0..6) {
        let (store, job) = (store.clone(), job.clone());
        let scan = ShardScan { odd_quotes: index % 2 == 1, newlines: u64::from(index), ..ShardScan::default() };
        racing.push(tokio::spawn(async move { store.record_scan(&job, 2, index, &scan).await.unwrap() }));
    }
    let mut completed = 0;
    for writer in racing {
        let recorded = writer.await.unwrap();
        completed += usize::from(recorded.stored && recorded.plan.scanned());
    }
    assert_eq!(completed, 1, "exactly one writer stores the last scan");
    let stored = store.get(&job, 2).await.unwrap().unwrap();
    assert_eq!(stored.scans.len(), 6);
    assert_eq!(stored.scans[&3], ShardScan { odd_quotes: true, newlines: 3, ..ShardScan::default() });
    assert_eq!(stored.input, "{\"input\":1}");

    let spans = vec![ShardSpan { start: 10, end: 20, first_line: 2, records_before: 0, records: 4 }];
    assert!(store.record_spans(&job, 2, &spans).await.unwrap().stored);
    let again = store.record_spans(&job, 2, &[]).await.unwrap();
    assert!(!again.stored);
    assert_eq!(again.plan.spans, Some(spans));

    let output = ShardOutput { records_in: 4, result_bytes: 99, ..ShardOutput::default() };
    assert!(store.record_output(&job, 2, 0, &output).await.unwrap().stored);
    assert!(!store.record_output(&job, 2, 0, &ShardOutput::default()).await.unwrap().stored);
    let failed = store.record_failure(&job, 2, 5, "the bucket is down").await.unwrap();
    assert_eq!(failed.plan.outputs[&0], output);
    assert_eq!(failed.plan.failures[&5], "the bucket is down");
    assert_eq!(failed.plan.progress(), helix_domain::ShardProgress { total: 6, done: 1, failed: 1 });
}
