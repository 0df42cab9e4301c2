//! Costs: who reads which team's, every query parameter checked by name, the report priced by
//! the bundled table, and what submitting and running a job meters.

use std::sync::Arc;

use helix_domain::memory::MemoryUserStore;
use helix_domain::{Clock, JobId, JobKind, PipelineId, Role, TeamId, Timestamp, User, UserStore};
use helix_jobs::billing::MemoryBillingLedger;
use helix_jobs::metering::{Architecture, Compute, PriceTable, UsageEvent, UsageLedger};
use helix_jobs::{Actor, CostQuery, CostService, JobError, KeyGrant};

use crate::support::*;

const ADMIN_EMAIL: &str = "root@example.test";

async fn costs(w: &World) -> CostService {
    let users = MemoryUserStore::default();
    let now = w.clock.now();
    let admin = User {
        email: ADMIN_EMAIL.into(),
        id: "root".into(),
        password_hash: String::new(),
        fullname: None,
        phone_number: None,
        web_url: None,
        is_admin: true,
        created_at: now,
        updated_at: now,
    };
    users.create(&admin).await.unwrap();
    CostService {
        access: w.access(),
        users: Arc::new(users),
        ledger: w.usage.clone(),
        prices: Arc::new(PriceTable::bundled().unwrap()),
        clock: w.clock.clone(),
        artifacts: w.artifacts.clone(),
        blobs: w.blobs.clone(),
        billing: Arc::new(MemoryBillingLedger::default()),
    }
}

/// One attempt of a job: 1 GiB of arm64 Lambda for `seconds`, `records` read.
fn event(job: &str, team: &TeamId, pipeline: Option<&str>, day: u32, seconds: u64, records: u64) -> UsageEvent {
    UsageEvent {
        job_id: JobId::from(job),
        attempt: 1,
        function: "job-worker".into(),
        sequence: 0,
        team_id: team.clone(),
        user_id: "alice".into(),
        pipeline_id: pipeline.map(PipelineId::from),
        kind: JobKind::Transform,
        at: Timestamp::parse(&format!("2026-11-{day:02}T10:00:00Z")).unwrap(),
        compute: Some(Compute::Lambda {
            memory_mb: 1024,
            duration_ms: seconds * 1000,
            architecture: Architecture::Arm64,
        }),
        s3_put_requests: 2,
        s3_get_requests: 3,
        s3_bytes_stored: 0,
        s3_bytes_out: 0,
        sqs_requests: 2,
        dynamodb_read_units: 3,
        dynamodb_write_units: 6,
        records,
    }
}

fn query(group_by: &str, from: &str, to: &str) -> CostQuery {
    CostQuery { group_by: Some(group_by.into()), from: Some(from.into()), to: Some(to.into()), ..CostQuery::default() }
}

#[track_caller]
fn assert_field<T: std::fmt::Debug>(result: Result<T, JobError>, expected: &str) {
    match result {
        Err(JobError::Invalid { field, .. }) => assert_eq!(field, expected),
        other => panic!("expected a 422 naming {expected}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_team_admin_reads_their_teams_costs_priced_to_the_cent() {
    let w = world();
    let service = costs(&w).await;
    let alice = TeamId::personal(&"alice".into());
    let other = TeamId::from("someone-elses");
    // Two pipeline runs of 100 s and 50 s, one job of no pipeline of 10 s; another team's job.
    for e in [
        event("j1", &alice, Some("orders"), 2, 100, 400_000),
        event("j2", &alice, Some("orders"), 3, 50, 100_000),
        event("j3", &alice, None, 3, 10, 0),
        event("j4", &other, None, 3, 1_000, 0),
    ] {
        assert!(w.usage.apply(&e).await.unwrap());
    }
    let report =
        service.report(&actor(ALICE), "alice@example.test", query("pipeline", "2026-11-01", "2026-11-30")).await;
    let report = report.unwrap();
    assert_eq!(report.teams, Some(vec![alice.clone()]), "Alice's personal team only");
    // orders: 150 GB-s × 0.0000133334 = 0.00200001; 2 requests × 0.20/1e6; 4 PUTs × 0.005/1000 =
    // 0.00002; 6 GETs × 0.0004/1000 = 0.0000024; 4 SQS × 0.40/1e6; 6 RRU, 12 WRU.
    let orders = &report.groups[0];
    assert_eq!(orders.key, "orders");
    let hand = 150.0 * 0.0000133334
        + 2.0 * 0.20 / 1e6
        + 4.0 * 0.005 / 1000.0
        + 6.0 * 0.0004 / 1000.0
        + 4.0 * 0.40 / 1e6
        + 6.0 * 0.125 / 1e6
        + 12.0 * 0.625 / 1e6;
    assert!((orders.total_usd - hand).abs() < 1e-12, "{} vs {hand}", orders.total_usd);
    assert_eq!(orders.records, 500_000);
    let per_million = orders.usd_per_million_records.unwrap();
    assert!((per_million - hand * 2.0).abs() < 1e-9, "{per_million}");
    assert_eq!(report.groups[1].key, "none");
    assert_eq!(report.groups[1].usd_per_million_records, None, "no records, no figure");
    assert_eq!(report.groups.len(), 2, "the other team's job is not Alice's to see");

    let days = service.report(&actor(ALICE), "", query("day", "2026-11-03", "2026-11-03")).await.unwrap();
    assert_eq!(days.groups.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(), ["2026-11-03"]);

    // The platform admin sees every team, the other team's thousand seconds first.
    let all = service.report(&actor("root"), ADMIN_EMAIL, query("team", "2026-11-01", "2026-11-30")).await.unwrap();
    assert_eq!(all.teams, None);
    assert_eq!(all.groups.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(), [other.as_str(), alice.as_str()]);
    assert!((all.total_usd - all.groups.iter().map(|g| g.total_usd).sum::<f64>()).abs() < 1e-12);

    let csv = CostService::csv(&report);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "pipeline,total_usd,records,usd_per_million_records,dynamodb_usd,gpu_usd,lambda_compute_usd,\
         lambda_requests_usd,s3_requests_usd,s3_storage_usd,s3_transfer_out_usd,sqs_usd"
    );
    assert!(lines.next().unwrap().starts_with(&format!("orders,{:.6},500000,", hand)), "{csv}");
    assert!(lines.next().unwrap().starts_with("none,"), "{csv}");

    let daily = service.daily(&actor(ALICE), "", query("pipeline", "2026-11-01", "2026-11-30")).await.unwrap();
    let keys: Vec<(&str, &str)> = daily.days.iter().map(|d| (d.day.as_str(), d.key.as_str())).collect();
    assert_eq!(keys, [("2026-11-02", "orders"), ("2026-11-03", "none"), ("2026-11-03", "orders")]);
}

#[tokio::test]
async fn only_admins_read_a_teams_costs_and_keys_none() {
    let w = world();
    let service = costs(&w).await;
    let teams = w.team_service();
    let team = teams.create(&actor(ALICE), "Integration").await.unwrap().team.id;
    let invitation = teams.invite(&actor(ALICE), &team, Role::Member).await.unwrap();
    teams.accept(&actor(BOB), &invitation.token).await.unwrap();
    w.usage.apply(&event("j1", &team, None, 2, 10, 0)).await.unwrap();
    let in_team = CostQuery { team_id: Some(team.clone()), ..query("team", "2026-11-01", "2026-11-30") };

    let owner = service.report(&actor(ALICE), "", in_team.clone()).await.unwrap();
    assert_eq!(owner.groups.len(), 1);
    let member = service.report(&actor(BOB), "", in_team.clone()).await;
    assert!(matches!(member, Err(JobError::Forbidden(_))), "{member:?}");
    let outsider = service.report(&actor("carol"), "", in_team.clone()).await;
    assert!(matches!(outsider, Err(JobError::NotFound(_))), "{outsider:?}");
    // Without team_id Bob sees his personal team only: nothing of the team's.
    let bobs = service.report(&actor(BOB), "", query("team", "2026-11-01", "2026-11-30")).await.unwrap();
    assert_eq!((bobs.teams.unwrap().len(), bobs.groups.len()), (1, 0));
    let key = Actor::key(KeyGrant {
        key_id: "k1".into(),
        team_id: team.clone(),
        scopes: helix_domain::KeyScope::ALL.to_vec(),
        pipeline_id: None,
    });
    let refused = service.report(&key, "", in_team.clone()).await;
    assert!(matches!(refused, Err(JobError::Forbidden(_))), "{refused:?}");
    let admin = service.report(&actor("root"), ADMIN_EMAIL, in_team).await.unwrap();
    assert_eq!(admin.teams, Some(vec![team]));
}

#[tokio::test]
async fn every_parameter_is_checked_by_name() {
    let w = world();
    let service = costs(&w).await;
    let alice = actor(ALICE);
    let report = |q: CostQuery| service.report(&alice, "", q);
    assert_field(report(query("month", "2026-11-01", "2026-11-30")).await, "group_by");
    assert_field(report(query("team", "2026-11-1", "2026-11-30")).await, "from");
    assert_field(report(query("team", "2026-02-30", "2026-03-01")).await, "from");
    assert_field(report(query("team", "0001-01-01", "2026-01-01")).await, "from");
    assert_field(report(query("team", "2026-11-01", "tomorrow")).await, "to");
    assert_field(report(query("team", "2026-11-30", "2026-11-01")).await, "from");
    assert_field(report(query("team", "2025-01-01", "2026-11-30")).await, "to");
    // Defaults: this month so far, grouped by team.
    let defaults = report(CostQuery::default()).await.unwrap();
    let today = w.clock.now().to_string()[..10].to_owned();
    assert_eq!((defaults.group_by.as_str(), defaults.to.as_str()), ("team", today.as_str()));
    assert_eq!(defaults.from, format!("{}01", &today[..8]));
}

#[tokio::test]
async fn a_submitted_and_run_job_is_metered_once_per_step() {
    let w = world();
    let job = w.submitted(CONTEXT, CSV).await;
    let submitted = w.usage.job_usage(&job.id).await.unwrap();
    assert_eq!((submitted.sqs_requests, submitted.dynamodb_write_units), (1, 3 + 2), "{submitted:?}");
    // The context and schema came inline: the submission stored them.
    assert_eq!(submitted.s3_put_requests, 2, "{submitted:?}");
    assert_eq!(submitted.s3_bytes_stored, (CONTEXT.len() + SCHEMA.len()) as u64, "{submitted:?}");
    assert!(matches!(w.runner().run(&body(&job.id), 1).await, helix_jobs::MessageOutcome::Done));
    let ran = w.usage.job_usage(&job.id).await.unwrap();
    assert_eq!(ran.sqs_requests, 3, "{ran:?}");
    assert_eq!((ran.s3_put_requests, ran.records), (2 + 2, 3), "{ran:?}");
    assert!(ran.s3_bytes_stored > 0, "the outputs' bytes: {ran:?}");
    let cost = costs(&w).await.job_cost(&job.id).await.unwrap();
    assert_eq!(cost.price_table, "2026-11-01");
    assert!(cost.total_usd > 0.0 && cost.breakdown.contains_key("sqs"), "{cost:?}");
}

const EXPORT: &str = include_str!("../fixtures/focus-2026-11.csv");
const REISSUE: &str = include_str!("../fixtures/focus-2026-11-reissue.csv");

#[tokio::test]
async fn a_cost_export_is_ingested_once_and_a_reissue_replaces_its_period() {
    let w = world();
    let service = costs(&w).await;
    let root = actor("root");
    let export = w.upload("root", helix_domain::ArtifactKind::Content, "focus.csv", EXPORT.as_bytes()).await;
    let first = service.ingest_export(&root, ADMIN_EMAIL, &export).await.unwrap();
    assert_eq!(first.periods.len(), 1);
    assert_eq!((first.periods[0].period.as_str(), first.periods[0].outcome), ("2026-11", "stored"));
    assert_eq!(format!("{:.6}", first.periods[0].billed_usd), "3.990437");
    let again = service.ingest_export(&root, ADMIN_EMAIL, &export).await.unwrap();
    assert_eq!((again.checksum.as_str(), again.periods[0].outcome), (first.checksum.as_str(), "unchanged"));

    // A day of metered usage to set against the bill: 100 s of 1 GiB arm64 Lambda on the 2nd.
    w.usage.apply(&event("j1", &TeamId::from("t1"), None, 2, 100, 0)).await.unwrap();
    let november = query("day", "2026-11-01", "2026-11-30");
    let reconciled = service.reconciliation(&root, ADMIN_EMAIL, november.clone()).await.unwrap();
    assert_eq!(format!("{:.6}", reconciled.billed_usd), "3.990437");
    let row = |r: &helix_jobs::Reconciliation, day: &str, component: &str| {
        r.days.iter().find(|d| d.day == day && d.component == component).cloned()
    };
    let functions = row(&reconciled, "2026-11-02", "functions").unwrap();
    assert_eq!(format!("{:.6}", functions.billed_usd), "0.413151");
    assert!((functions.estimated_usd - (100.0 * 0.0000133334 + 0.20 / 1e6)).abs() < 1e-12, "{functions:?}");
    assert!((functions.gap_usd - (functions.billed_usd - functions.estimated_usd)).abs() < 1e-12);
    assert_eq!(row(&reconciled, "2026-11-02", "untagged").unwrap().estimated_usd, 0.0);

    // The corrected re-issue replaces November: the untagged instance is gone, Lambda corrected.
    let reissue = w.upload("root", helix_domain::ArtifactKind::Content, "focus-2.csv", REISSUE.as_bytes()).await;
    let replaced = service.ingest_export(&root, ADMIN_EMAIL, &reissue).await.unwrap();
    assert_eq!(replaced.periods[0].outcome, "stored");
    let reconciled = service.reconciliation(&root, ADMIN_EMAIL, november.clone()).await.unwrap();
    assert_eq!(format!("{:.6}", reconciled.billed_usd), "3.851326");
    assert!(row(&reconciled, "2026-11-02", "untagged").is_none());
    assert_eq!(format!("{:.6}", row(&reconciled, "2026-11-02", "functions").unwrap().billed_usd), "0.398840");

    // Only platform admins read or ingest the bill; a bad file names the field and the line.
    let refused = service.ingest_export(&actor(ALICE), "alice@example.test", &export).await;
    assert!(matches!(refused, Err(JobError::Forbidden(_))), "{refused:?}");
    let refused = service.reconciliation(&actor(ALICE), "", november).await;
    assert!(matches!(refused, Err(JobError::Forbidden(_))), "{refused:?}");
    let broken = EXPORT.replace("0.006875", "n/a");
    let broken = w.upload("root", helix_domain::ArtifactKind::Content, "broken.csv", broken.as_bytes()).await;
    match service.ingest_export(&root, ADMIN_EMAIL, &broken).await {
        Err(JobError::Invalid { field, message }) => {
            assert_eq!(field, "artifact_id");
            assert!(message.contains("line 8: BilledCost \"n/a\""), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let unknown = service.ingest_export(&root, ADMIN_EMAIL, &"nope".into()).await;
    assert!(matches!(unknown, Err(JobError::NotFound(_))), "{unknown:?}");
}

#[tokio::test]
async fn a_budget_notifies_at_80_and_100_percent_once_and_its_hard_stop_refuses_jobs() {
    use helix_domain::AuditLog;
    use helix_jobs::budgets::BudgetUpdate;

    let w = world();
    let budgets = w.budget_service();
    let team = TeamId::personal(&"alice".into());
    let alice = actor(ALICE);
    let spend = |job: &str, seconds: u64| UsageEvent { at: w.clock.now(), ..event(job, &team, None, 2, seconds, 0) };
    let set = |monthly_usd: f64, hard_stop: bool| budgets.set(&alice, &team, BudgetUpdate { monthly_usd, hard_stop });

    let none = budgets.read(&alice, &team).await.unwrap();
    assert_eq!((none.state, none.monthly_usd), ("none", None));
    // Below the prices' scale (and DynamoDB's smallest number): refused by name, not stored.
    assert!(matches!(set(9.5e-184, false).await, Err(JobError::Invalid { ref field, .. }) if field == "monthly_usd"));
    // 100 s of 1 GiB arm64 Lambda and its requests: about 0.00134 USD of a 0.0016 budget.
    w.usage.apply(&spend("j1", 100)).await.unwrap();
    let warning = set(0.0016, false).await.unwrap();
    assert_eq!(warning.state, "warning", "{warning:?}");
    assert!((80.0..100.0).contains(&warning.percent.unwrap()), "{warning:?}");
    w.service().submit(&alice, budget_job(&w).await).await.unwrap();
    w.usage.apply(&spend("j2", 100)).await.unwrap();
    let exceeded = budgets.read(&alice, &team).await.unwrap();
    assert_eq!(exceeded.state, "exceeded", "{exceeded:?}");
    // Without a hard stop jobs go on; with one they are refused.
    w.service().submit(&alice, budget_job(&w).await).await.unwrap();
    set(0.0016, true).await.unwrap();
    match w.service().submit(&alice, budget_job(&w).await).await {
        Err(JobError::BudgetExceeded(message)) => assert!(message.contains("budget of 0.0016 USD"), "{message}"),
        other => panic!("{other:?}"),
    }
    // Each threshold was recorded once, however often it was seen.
    budgets.read(&alice, &team).await.unwrap();
    let entries = w.audit.newest(&team, None, 100).await.unwrap();
    let thresholds: Vec<&str> =
        entries.iter().filter(|e| e.action == "budget.threshold").map(|e| e.target.as_str()).rev().collect();
    let month = &w.clock.now().to_string()[..7];
    assert_eq!(thresholds, [format!("{month}:80%"), format!("{month}:100%")]);
    assert_eq!(entries.iter().filter(|e| e.action == "budget.set").count(), 2);
}

async fn budget_job(w: &World) -> helix_jobs::JobRequest {
    let content = w.upload(ALICE, helix_domain::ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    helix_jobs::JobRequest {
        context: Some(text("context", CONTEXT)),
        schema: Some(text("schema", SCHEMA)),
        ..transform(vec![content])
    }
}

#[tokio::test]
async fn only_a_teams_admins_set_its_budget_and_it_must_be_a_positive_amount() {
    use helix_jobs::budgets::BudgetUpdate;

    let w = world();
    let budgets = w.budget_service();
    let teams = w.team_service();
    let team = teams.create(&actor(ALICE), "Integration").await.unwrap().team.id;
    let invitation = teams.invite(&actor(ALICE), &team, Role::Member).await.unwrap();
    teams.accept(&actor(BOB), &invitation.token).await.unwrap();
    let update = |monthly_usd| BudgetUpdate { monthly_usd, hard_stop: false };
    let member = budgets.set(&actor(BOB), &team, update(10.0)).await;
    assert!(matches!(member, Err(JobError::Forbidden(_))), "{member:?}");
    let outsider = budgets.set(&actor("carol"), &team, update(10.0)).await;
    assert!(matches!(outsider, Err(JobError::NotFound(_))), "{outsider:?}");
    for bad in [0.0, -5.0, f64::NAN, f64::INFINITY, 1e12] {
        assert_field(budgets.set(&actor(ALICE), &team, update(bad)).await, "monthly_usd");
    }
    let set = budgets.set(&actor(ALICE), &team, update(250.0)).await.unwrap();
    assert_eq!((set.monthly_usd, set.state, set.spent_usd), (Some(250.0), "ok", 0.0));
    // Members read it (the dashboard's banner).
    assert_eq!(budgets.read(&actor(BOB), &team).await.unwrap().monthly_usd, Some(250.0));
}

/// A pipeline of alice's personal team named `name`, with webhooks to `urls`.
async fn pipeline_with_webhooks(w: &World, name: &str, urls: &[&str]) -> helix_domain::Pipeline {
    use helix_domain::{Webhook, WebhookId, WebhookStore};

    let definition = helix_jobs::PipelineDefinition {
        context: Some(text("context", CONTEXT)),
        schema: Some(text("schema", SCHEMA)),
        ..helix_jobs::PipelineDefinition::default()
    };
    let request = helix_jobs::NewPipeline { name: name.into(), definition, ..helix_jobs::NewPipeline::default() };
    let pipeline = w.pipeline_service().create(&actor(ALICE), request).await.unwrap().0;
    for url in urls {
        let webhook = Webhook {
            id: WebhookId::random(),
            pipeline_id: pipeline.id.clone(),
            url: (*url).to_owned(),
            secret: "whsec_test".into(),
            created_by: ALICE.into(),
            created_at: w.clock.now(),
            deleted_at: None,
        };
        w.webhooks.add(&webhook).await.unwrap();
    }
    pipeline
}

#[tokio::test]
async fn each_threshold_is_delivered_once_to_every_webhook_url_of_the_teams_pipelines() {
    use helix_domain::{DeliveryStatus, WebhookEvent, WebhookStore};
    use helix_jobs::JobEvents;
    use helix_jobs::budgets::BudgetUpdate;

    let w = world();
    let team = TeamId::personal(&"alice".into());
    let alice = actor(ALICE);
    let orders =
        pipeline_with_webhooks(&w, "orders", &["https://a.example.test/hook", "https://b.example.test/hook"]).await;
    // The same receiver as orders' first webhook, added a minute later: told once, by the oldest
    // webhook (orders').
    w.clock.advance(std::time::Duration::from_secs(60));
    let invoices = pipeline_with_webhooks(&w, "invoices", &["https://a.example.test/hook"]).await;
    let spend = |job: &str, seconds: u64| UsageEvent { at: w.clock.now(), ..event(job, &team, None, 2, seconds, 0) };
    let budgets = w.budget_service();
    budgets.set(&alice, &team, BudgetUpdate { monthly_usd: 0.0016, hard_stop: false }).await.unwrap();

    // A watch without webhooks (a process that may not queue them) records the crossing and its
    // audit entry, and leaves its deliveries to the next check that may.
    w.usage.apply(&spend("j1", 100)).await.unwrap();
    let blind = helix_jobs::budgets::BudgetWatch { webhooks: None, ..w.budget_watch() };
    assert_eq!(blind.standing(&alice, &team).await.unwrap().state, "warning");
    assert!(w.webhook_queue.sent().is_empty());
    assert_eq!(budgets.read(&alice, &team).await.unwrap().state, "warning");
    let sent = w.webhook_queue.sent();
    assert_eq!(sent.len(), 2, "one per URL: {sent:?}");
    assert!(sent.iter().all(|m| m.pipeline_id == orders.id), "{sent:?}");
    let month = w.clock.now().to_string()[..7].to_owned();
    for message in &sent {
        let delivery = w.webhooks.delivery(&orders.id, &message.delivery_id).await.unwrap().unwrap();
        assert_eq!(
            (delivery.event, delivery.status, &delivery.job_id),
            (WebhookEvent::BudgetThreshold, DeliveryStatus::Pending, &None)
        );
        assert!(delivery.id.ends_with(&format!("_budget-{month}-80_{}", delivery.webhook_id)), "{}", delivery.id);
        let body: serde_json::Value = serde_json::from_str(&delivery.body).unwrap();
        assert_eq!(body["type"], "budget.threshold");
        assert_eq!(body["id"], delivery.id.as_str());
        assert_eq!((body["threshold_percent"].as_u64(), body["monthly_usd"].as_f64()), (Some(80), Some(0.0016)));
        assert_eq!((body["team_id"].as_str(), body["month"].as_str()), (Some(team.as_str()), Some(month.as_str())));
    }
    assert!(w.webhooks.deliveries(&invoices.id, 10).await.unwrap().is_empty());

    // Seen again, by requests and by a worker ending a job: nothing more.
    budgets.read(&alice, &team).await.unwrap();
    w.service().submit(&alice, budget_job(&w).await).await.unwrap();
    assert_eq!(w.webhook_queue.sent().len(), 2);

    // A worker ends a job whose usage crosses 100 %: its end tells the webhooks, with no request.
    let submitted = w.service().submit(&alice, budget_job(&w).await).await.unwrap();
    w.usage.apply(&spend("j2", 100)).await.unwrap();
    let job = w.job(&submitted.id).await;
    w.budget_watch().finished(&job).await.unwrap();
    w.budget_watch().finished(&job).await.unwrap();
    let sent = w.webhook_queue.sent();
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(sent[2..].iter().all(|m| m.delivery_id.contains(&format!("_budget-{month}-100_"))), "{sent:?}");
    assert_eq!(w.webhooks.deliveries(&orders.id, 10).await.unwrap().len(), 4);

    // One audit entry per threshold, by whoever saw it first.
    use helix_domain::AuditLog;
    let entries = w.audit.newest(&team, None, 100).await.unwrap();
    let thresholds: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.action == "budget.threshold")
        .map(|e| (e.target.as_str(), e.actor.as_str()))
        .rev()
        .collect();
    assert_eq!(thresholds, [(format!("{month}:80%").as_str(), ALICE), (format!("{month}:100%").as_str(), ALICE)]);
}

#[tokio::test]
async fn a_budget_delivery_is_signed_and_sent_as_a_runs_is() {
    use helix_domain::{DeliveryStatus, WebhookPost, WebhookSender, WebhookStore};
    use helix_jobs::budgets::BudgetUpdate;
    use helix_jobs::{Backoff, SIGNATURE_HEADER, WebhookDeliverer, verify};

    struct Receiver(std::sync::Mutex<Vec<WebhookPost>>);
    #[async_trait::async_trait]
    impl WebhookSender for Receiver {
        async fn post(&self, post: &WebhookPost) -> Result<u16, String> {
            self.0.lock().unwrap().push(post.clone());
            Ok(204)
        }
    }

    let w = world();
    let team = TeamId::personal(&"alice".into());
    let orders = pipeline_with_webhooks(&w, "orders", &["https://a.example.test/hook"]).await;
    let budgets = w.budget_service();
    budgets.set(&actor(ALICE), &team, BudgetUpdate { monthly_usd: 0.0001, hard_stop: false }).await.unwrap();
    w.usage.apply(&UsageEvent { at: w.clock.now(), ..event("j1", &team, None, 2, 100, 0) }).await.unwrap();
    budgets.read(&actor(ALICE), &team).await.unwrap();
    let receiver = Arc::new(Receiver(std::sync::Mutex::default()));
    let deliverer = WebhookDeliverer {
        webhooks: w.webhooks.clone(),
        queue: w.webhook_queue.clone(),
        sender: receiver.clone(),
        clock: w.clock.clone(),
        backoff: Backoff::with_base(std::time::Duration::from_secs(30)),
    };
    // Both thresholds at once: 80 % and 100 %.
    let sent = w.webhook_queue.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    for message in &sent {
        deliverer.deliver(message, None).await;
        let delivery = w.webhooks.delivery(&orders.id, &message.delivery_id).await.unwrap().unwrap();
        assert_eq!(delivery.status, DeliveryStatus::Delivered);
    }
    let posts = receiver.0.lock().unwrap().clone();
    assert_eq!(posts.len(), 2);
    for post in &posts {
        let header = |name: &str| post.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap();
        let tolerance = std::time::Duration::from_secs(300);
        assert_eq!(verify("whsec_test", header(SIGNATURE_HEADER), &post.body, w.clock.now().unix(), tolerance), Ok(()));
        assert_eq!(header("Helix-Event"), "budget.threshold");
    }
}
