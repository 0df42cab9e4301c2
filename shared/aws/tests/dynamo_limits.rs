//! `DynamoQuotaStore` and `DynamoRateBuckets` against the emulator `make test` starts
//! (`HELIX_TEST_AWS_ENDPOINT`), on a table created as `infra/template.yaml` declares
//! `LimitsTable`: concurrent takes never pass a limit, give-backs count once, and a request-rate
//! bucket admits its burst and then one request per interval, however many ask at once.

use helix_aws::{DynamoQuotaStore, DynamoRateBuckets};
use helix_domain::{Counter, QuotaStore, RateBuckets, RateLimit, Take, TeamId, Timestamp};

mod common;
use common::{client, table};

fn team() -> TeamId {
    TeamId::from(format!("team-{}", uuid::Uuid::new_v4()))
}

#[tokio::test]
async fn fifty_concurrent_takes_at_a_limit_of_two_take_two() {
    let client = client();
    let store = DynamoQuotaStore::new(client.clone(), table(&client, "LimitsTable").await);
    let (team, now) = (team(), Timestamp::now());
    let takes = (0..50).map(|i| {
        let (store, team) = (&store, &team);
        async move { store.take(team, &Counter::ActiveJobs, &format!("job-{i}"), 1, 2, now).await.unwrap() }
    });
    let results = futures::future::join_all(takes).await;
    assert_eq!(results.iter().filter(|t| **t == Take::Taken).count(), 2);
    assert!(results.iter().all(|t| matches!(t, Take::Taken | Take::Refused { used: 2 })), "{results:?}");
    assert_eq!(store.value(&team, &Counter::ActiveJobs).await.unwrap(), 2);

    let holdings = store.holdings(&team, &Counter::ActiveJobs).await.unwrap();
    assert_eq!(holdings.len(), 2);
    assert!(holdings.iter().all(|h| h.amount == 1 && h.since.unix() == now.unix()));
    let holder = &holdings[0].holder;
    // Taking again for a holder that holds changes nothing; giving back twice counts once.
    assert_eq!(store.take(&team, &Counter::ActiveJobs, holder, 1, 2, now).await.unwrap(), Take::Taken);
    assert_eq!(store.value(&team, &Counter::ActiveJobs).await.unwrap(), 2);
    store.give_back(&team, &Counter::ActiveJobs, holder).await.unwrap();
    store.give_back(&team, &Counter::ActiveJobs, holder).await.unwrap();
    store.give_back(&team, &Counter::ActiveJobs, "never-held").await.unwrap();
    assert_eq!(store.value(&team, &Counter::ActiveJobs).await.unwrap(), 1);
    assert_eq!(store.take(&team, &Counter::ActiveJobs, "next", 1, 2, now).await.unwrap(), Take::Taken);
    assert_eq!(
        store.take(&team, &Counter::ActiveJobs, "one-too-many", 1, 2, now).await.unwrap(),
        Take::Refused { used: 2 }
    );
}

#[tokio::test]
async fn bytes_are_taken_up_to_the_limit_and_records_are_added() {
    let client = client();
    let store = DynamoQuotaStore::new(client.clone(), table(&client, "LimitsTable").await);
    let (team, now) = (team(), Timestamp::now());
    let bytes = Counter::StorageBytes;
    assert_eq!(store.take(&team, &bytes, "a", 600, 1000, now).await.unwrap(), Take::Taken);
    assert_eq!(store.take(&team, &bytes, "b", 401, 1000, now).await.unwrap(), Take::Refused { used: 600 });
    assert_eq!(store.take(&team, &bytes, "c", 1001, 1000, now).await.unwrap(), Take::Refused { used: 600 });
    assert_eq!(store.take(&team, &bytes, "b", 400, 1000, now).await.unwrap(), Take::Taken);
    assert_eq!(store.value(&team, &bytes).await.unwrap(), 1000);
    store.give_back(&team, &bytes, "a").await.unwrap();
    assert_eq!(store.value(&team, &bytes).await.unwrap(), 400);
    assert_eq!(store.value(&team, &Counter::ActiveJobs).await.unwrap(), 0, "counters are apart");

    let month = Counter::Records("2026-12".into());
    store.add(&team, &month, 3).await.unwrap();
    store.add(&team, &month, 4).await.unwrap();
    assert_eq!(store.value(&team, &month).await.unwrap(), 7);
    assert_eq!(store.value(&team, &Counter::Records("2027-01".into())).await.unwrap(), 0);
}

#[tokio::test]
async fn a_bucket_admits_its_burst_then_one_request_per_interval() {
    let client = client();
    let buckets = DynamoRateBuckets::new(client.clone(), table(&client, "LimitsTable").await);
    let limit = RateLimit { per_minute: 60, burst: 3 };
    let now = 1_800_000_000_000;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let decision = buckets.take("user#u", &limit, now).await.unwrap();
        assert!(decision.allowed);
        remaining.push(decision.remaining);
    }
    assert_eq!(remaining, [2, 1, 0]);
    let refused = buckets.take("user#u", &limit, now + 500).await.unwrap();
    assert!(!refused.allowed);
    assert_eq!((refused.retry_after.as_secs(), refused.remaining, refused.limit), (1, 0, 3));
    assert!(buckets.take("user#u", &limit, now + 1000).await.unwrap().allowed);
    assert!(buckets.take("key#k", &limit, now).await.unwrap().allowed, "every caller has a bucket of its own");
    // At rest long enough, the bucket is full again, and no fuller.
    let rested = buckets.take("user#u", &limit, now + 600_000).await.unwrap();
    assert_eq!((rested.allowed, rested.remaining), (true, 2));
}

#[tokio::test]
async fn fifty_requests_at_once_pass_only_the_burst() {
    let client = client();
    let buckets = DynamoRateBuckets::new(client.clone(), table(&client, "LimitsTable").await);
    let limit = RateLimit { per_minute: 1, burst: 5 };
    let now = 1_800_000_000_000;
    let requests = (0..50).map(|_| buckets.take("user#busy", &limit, now));
    let decisions: Vec<_> = futures::future::join_all(requests).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(decisions.iter().filter(|d| d.allowed).count(), 5);
    assert!(decisions.iter().filter(|d| !d.allowed).all(|d| d.retry_after.as_secs() == 60));
}
