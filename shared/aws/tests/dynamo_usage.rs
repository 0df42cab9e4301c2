//! `DynamoUsageLedger` against the emulator `make test` starts (`HELIX_TEST_AWS_ENDPOINT`), on a
//! table created as `infra/template.yaml` declares `UsageTable`: every event of 20 jobs applied
//! three times counts once, in each job's total and in every cost group's.

use std::collections::BTreeMap;

use helix_aws::DynamoUsageLedger;
use helix_domain::{JobId, JobKind, PipelineId, StoreError, Timestamp};
use helix_jobs::metering::{Architecture, Compute, CostGroup, CostScope, PriceTable, Usage, UsageEvent, UsageLedger};

mod common;
use common::{client, table};

const JOBS: usize = 20;

fn events_of(job: usize) -> Vec<UsageEvent> {
    let base = |function: &str, attempt: u32, sequence: u32| UsageEvent {
        job_id: JobId::from(format!("job-{job:02}")),
        attempt,
        function: function.to_owned(),
        sequence,
        team_id: format!("team-{}", job % 3).into(),
        user_id: format!("user-{}", job % 4).into(),
        pipeline_id: job.is_multiple_of(2).then(|| PipelineId::from("orders")),
        kind: if job.is_multiple_of(5) { JobKind::SuggestMapping } else { JobKind::Transform },
        at: Timestamp::parse(&format!("2026-11-{:02}T08:00:00Z", 1 + job % 4)).unwrap(),
        compute: None,
        s3_put_requests: 0,
        s3_get_requests: 0,
        s3_bytes_stored: 0,
        s3_bytes_out: 0,
        sqs_requests: 0,
        dynamodb_read_units: 0,
        dynamodb_write_units: 0,
        records: 0,
    };
    let mut events = vec![UsageEvent {
        compute: Some(Compute::Lambda {
            memory_mb: 256,
            duration_ms: 30 + job as u64,
            architecture: Architecture::Arm64,
        }),
        sqs_requests: 1,
        dynamodb_write_units: 2,
        ..base("jobs-api", 0, 0)
    }];
    let compute = if job.is_multiple_of(5) {
        Compute::Gpu { instance_type: "g5.xlarge".into(), duration_ms: 60_000 + job as u64 }
    } else {
        Compute::Lambda { memory_mb: 1024, duration_ms: 2_000 + job as u64, architecture: Architecture::Arm64 }
    };
    events.push(UsageEvent {
        compute: Some(compute),
        s3_get_requests: 3,
        s3_put_requests: 2,
        s3_bytes_stored: 4_096 * job as u64,
        sqs_requests: 2,
        dynamodb_read_units: 1,
        dynamodb_write_units: 4,
        records: 1_000 + job as u64,
        ..base("job-worker", 1, 0)
    });
    events.push(UsageEvent { dynamodb_write_units: 1, ..base("job-worker", 1, 1) });
    events
}

async fn snapshot(ledger: &DynamoUsageLedger) -> Vec<String> {
    let mut lines = Vec::new();
    for group in CostGroup::ALL {
        lines.push(format!(
            "{group:?} {:?}",
            ledger.totals(&CostScope::All, group, "2026-11-01", "2026-11-30").await.unwrap()
        ));
    }
    for job in 0..JOBS {
        lines.push(format!("{:?}", ledger.job_usage(&JobId::from(format!("job-{job:02}"))).await.unwrap()));
    }
    lines
}

#[tokio::test]
async fn replaying_every_event_three_times_counts_each_once() {
    let client = client();
    let ledger = DynamoUsageLedger::new(client.clone(), table(&client, "UsageTable").await);
    let events: Vec<UsageEvent> = (0..JOBS).flat_map(events_of).collect();
    for event in &events {
        assert!(ledger.apply(event).await.unwrap(), "{} applied the first time", event.id());
    }
    let first = snapshot(&ledger).await;
    for _replay in 0..2 {
        for event in events.iter().rev() {
            assert!(!ledger.apply(event).await.unwrap(), "{} applied again", event.id());
        }
        assert_eq!(snapshot(&ledger).await, first);
    }

    let mut expected = Usage::default();
    events.iter().for_each(|e| expected.add(&e.usage()));
    for group in CostGroup::ALL {
        let totals = ledger.totals(&CostScope::All, group, "2026-11-01", "2026-11-30").await.unwrap();
        let mut all = Usage::default();
        totals.values().for_each(|u| all.add(u));
        assert_eq!(all, expected, "{group:?} adds up to every event once");
    }
    let teams = ledger.totals(&CostScope::All, CostGroup::Team, "2026-11-01", "2026-11-30").await.unwrap();
    assert_eq!(teams.keys().collect::<Vec<_>>(), ["team-0", "team-1", "team-2"]);
    let pipelines = ledger.totals(&CostScope::All, CostGroup::Pipeline, "2026-11-01", "2026-11-30").await.unwrap();
    assert_eq!(pipelines.keys().collect::<Vec<_>>(), ["none", "orders"]);
    let two_days = ledger.totals(&CostScope::All, CostGroup::Day, "2026-11-02", "2026-11-03").await.unwrap();
    assert_eq!(two_days.keys().collect::<Vec<_>>(), ["2026-11-02", "2026-11-03"]);

    // A team's scope holds its own jobs' usage only, in every group.
    let team = CostScope::Team("team-1".into());
    let mut team_expected = Usage::default();
    events.iter().filter(|e| e.team_id.as_str() == "team-1").for_each(|e| team_expected.add(&e.usage()));
    for group in CostGroup::ALL {
        let mut all = Usage::default();
        ledger.totals(&team, group, "2026-11-01", "2026-11-30").await.unwrap().values().for_each(|u| all.add(u));
        assert_eq!(all, team_expected, "team-1's {group:?}");
    }
    let daily = ledger.daily(&team, CostGroup::Pipeline, "2026-11-02", "2026-11-02").await.unwrap();
    assert!(daily.iter().all(|d| d.day == "2026-11-02"), "{daily:?}");
    assert_eq!(team_expected.records, (0..JOBS).filter(|j| j % 3 == 1).map(|j| 1_000 + j as u64).sum::<u64>());

    // Job 5 ran on the GPU: a minute of g5.xlarge, and the API's Lambda.
    let job = ledger.job_usage(&JobId::from("job-05")).await.unwrap();
    assert_eq!(job.gpu_ms, BTreeMap::from([("g5.xlarge".to_owned(), 60_005)]));
    assert_eq!((job.lambda_requests, job.lambda_arm64_mb_ms, job.dynamodb_write_units), (1, 256 * 35, 7));
    let cost = PriceTable::bundled().unwrap().cost(&job);
    assert_eq!(format!("{:.6}", cost.breakdown["gpu"]), format!("{:.6}", 60_005.0 / 3_600_000.0 * 1.006));
    assert_eq!(ledger.job_usage(&JobId::from("job-99")).await.unwrap(), Usage::default());
}

#[tokio::test]
async fn a_billing_period_is_stored_once_per_export_and_replaced_by_a_reissue() {
    use helix_aws::DynamoBillingLedger;
    use helix_jobs::billing::{BillingLedger, parse_export};

    let client = client();
    let billing = DynamoBillingLedger::new(client.clone(), table(&client, "UsageTable").await);
    let export = include_str!("../../jobs/tests/fixtures/focus-2026-11.csv");
    let reissue = include_str!("../../jobs/tests/fixtures/focus-2026-11-reissue.csv");
    let first = parse_export(export.as_bytes()).unwrap().remove(0);
    assert!(billing.replace_period(&first).await.unwrap());
    assert!(!billing.replace_period(&first).await.unwrap(), "the same file again changes nothing");
    let total = |days: &[helix_jobs::billing::BilledDay]| days.iter().map(|d| d.billed_usd).sum::<f64>();
    let stored = billing.period("2026-11").await.unwrap();
    assert_eq!(format!("{:.6}", total(&stored)), "3.990437");
    assert!(stored.iter().any(|d| d.component == "untagged"));

    let corrected = parse_export(reissue.as_bytes()).unwrap().remove(0);
    assert!(billing.replace_period(&corrected).await.unwrap());
    let stored = billing.period("2026-11").await.unwrap();
    assert_eq!(format!("{:.6}", total(&stored)), "3.851326");
    assert!(stored.iter().all(|d| d.component != "untagged"), "the re-issue's missing row is gone: {stored:?}");
    assert!(billing.period("2026-10").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_budget_is_kept_and_each_threshold_crossed_once_a_month() {
    use helix_aws::DynamoBudgetStore;
    use helix_jobs::budgets::{Budget, BudgetStore, Crossing};

    let client = client();
    let store = DynamoBudgetStore::new(client.clone(), table(&client, "UsageTable").await);
    let team = helix_domain::TeamId::from("team-budget");
    assert_eq!(store.get(&team).await.unwrap(), None);
    let budget = Budget {
        team_id: team.clone(),
        monthly_usd: 125.5,
        hard_stop: true,
        updated_at: Timestamp::from_unix(0).unwrap(),
    };
    store.put(&budget).await.unwrap();
    assert_eq!(store.get(&team).await.unwrap(), Some(budget));
    // The budget's partition holds its crossings: the month's, and only those, in one query.
    assert_eq!(store.crossings(&team, "2026-11").await.unwrap(), []);
    let crossing = |threshold, at| Crossing { threshold, at: Timestamp::from_unix(at).unwrap(), notified: false };
    assert!(store.add_crossing(&team, "2026-11", &crossing(80, 100)).await.unwrap());
    assert!(!store.add_crossing(&team, "2026-11", &crossing(80, 200)).await.unwrap(), "the first stays");
    assert!(store.add_crossing(&team, "2026-11", &crossing(100, 300)).await.unwrap());
    assert!(store.add_crossing(&team, "2026-12", &crossing(80, 400)).await.unwrap());
    store.mark_notified(&team, "2026-11", 80).await.unwrap();
    let mut november = store.crossings(&team, "2026-11").await.unwrap();
    november.sort_by_key(|c| c.threshold);
    assert_eq!(november, [Crossing { notified: true, ..crossing(80, 100) }, crossing(100, 300)]);
    assert_eq!(store.get(&team).await.unwrap().map(|b| b.monthly_usd), Some(125.5));
    let never = store.mark_notified(&team, "2026-10", 80).await;
    assert!(matches!(never, Err(StoreError::Conflict(_))), "{never:?}");

    // A team's month total is kept with each event.
    let ledger = DynamoUsageLedger::new(client.clone(), table(&client, "UsageTable").await);
    let event = events_of(1).remove(1);
    ledger.apply(&event).await.unwrap();
    let month = ledger.month_usage(&event.team_id, "2026-11").await.unwrap();
    assert_eq!(month, event.usage());
}

#[tokio::test]
async fn a_job_lists_usage_is_read_in_batches_of_100_in_the_lists_order() {
    let client = client();
    let ledger = DynamoUsageLedger::new(client.clone(), table(&client, "UsageTable").await);
    // More jobs than one BatchGetItem takes: two batches.
    let jobs: Vec<JobId> = (0..120).map(|job| JobId::from(format!("job-{job:03}"))).collect();
    for (n, job) in jobs.iter().enumerate() {
        let event = UsageEvent { job_id: job.clone(), records: n as u64 + 1, ..events_of(n).remove(1) };
        ledger.apply(&event).await.unwrap();
    }
    // The list's order, a job twice, and a job with no usage yet.
    let mut list: Vec<JobId> = jobs.iter().rev().cloned().collect();
    list.insert(3, jobs[7].clone());
    list.push(JobId::from("job-none"));
    let batched = ledger.jobs_usage(&list).await.unwrap();
    assert_eq!(batched.len(), list.len());
    for (job, usage) in list.iter().zip(&batched) {
        assert_eq!(usage, &ledger.job_usage(job).await.unwrap(), "{job}");
    }
    assert_eq!((batched[0].records, batched[3].records, &batched[121]), (120, 8, &Usage::default()));
    assert_eq!(ledger.jobs_usage(&[]).await.unwrap(), []);
}
