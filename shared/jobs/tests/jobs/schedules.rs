//! Pipeline schedules: cron patterns in a time zone and rates, the next run time shown; a
//! schedule fires once at its slot; a slot missed while the platform was down fires once, not
//! once per missed slot; a deleted schedule fires no more. A schedule reading an inbox folder
//! runs each file waiting there once (a chained version as a chained run), and nothing when none
//! waits. Bad input names its field.

use std::sync::Arc;
use std::time::Duration;

use helix_domain::{
    ArtifactKind, Blobs, Clock, Job, JobStatus, MemoryScheduleStore, Pipeline, PolledScheduleTimer, Role,
    ScheduleInput, ScheduleStore, Timestamp,
};
use helix_jobs::{
    Expression, JobError, NewPipeline, NewSchedule, PipelineDefinition, RunStarted, ScheduleService, ScheduleTrigger,
    StepDefinition,
};

use crate::support::*;

struct Schedules {
    store: Arc<MemoryScheduleStore>,
}

impl Schedules {
    fn new() -> Self {
        Self { store: Arc::default() }
    }

    fn service(&self, w: &World) -> ScheduleService {
        ScheduleService {
            pipelines: Arc::new(w.pipeline_service()),
            schedules: self.store.clone(),
            timer: Arc::new(PolledScheduleTimer),
            clock: w.clock.clone(),
        }
    }

    fn trigger(&self, w: &World) -> ScheduleTrigger {
        ScheduleTrigger {
            pipelines: Arc::new(w.pipeline_service()),
            schedules: self.store.clone(),
            timer: Arc::new(PolledScheduleTimer),
            clock: w.clock.clone(),
            inbox: w.inbox_trigger(),
        }
    }
}

fn job(started: &RunStarted) -> &Job {
    match started {
        RunStarted::Job(job) => job,
        RunStarted::Chain(run) => panic!("a one-job version started a chained run {}", run.id),
    }
}

fn reading(folder: &str) -> NewSchedule {
    NewSchedule {
        expression: "rate(1 hour)".into(),
        timezone: None,
        input: ScheduleInput { inbox_prefix: Some(folder.into()), ..ScheduleInput::default() },
    }
}

async fn orders(w: &World, team: Option<helix_domain::TeamId>) -> Pipeline {
    let definition = PipelineDefinition {
        context: Some(text("context", CONTEXT)),
        schema: Some(text("schema", SCHEMA)),
        ..PipelineDefinition::default()
    };
    let request = NewPipeline { team_id: team, name: "orders".into(), definition, ..NewPipeline::default() };
    w.pipeline_service().create(&actor(ALICE), request).await.unwrap().0
}

async fn every(w: &World, expression: &str, timezone: Option<&str>) -> NewSchedule {
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    NewSchedule {
        expression: expression.into(),
        timezone: timezone.map(str::to_owned),
        input: ScheduleInput { content_artifact_ids: vec![content], ..ScheduleInput::default() },
    }
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn berlin() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get("Europe/Berlin").unwrap()
}

#[test]
fn cron_patterns_run_on_the_wall_clock_of_their_time_zone() {
    let six = Expression::parse("0 6 * * *").unwrap();
    let anchor = at("2026-01-01T00:00:00Z");
    // 06:00 in Berlin is 05:00 UTC in winter, 04:00 UTC in summer.
    assert_eq!(six.next_after(at("2026-12-01T10:00:00Z"), anchor, &berlin()), Some(at("2026-12-02T05:00:00Z")));
    assert_eq!(six.next_after(at("2026-07-01T10:00:00Z"), anchor, &berlin()), Some(at("2026-07-02T04:00:00Z")));
    // Strictly after: a slot that is now is not the next one.
    assert_eq!(six.next_after(at("2026-12-02T05:00:00Z"), anchor, &berlin()), Some(at("2026-12-03T05:00:00Z")));
    let weekdays = Expression::parse("30 8 * * MON-FRI").unwrap();
    let saturday = at("2026-11-28T12:00:00Z");
    assert_eq!(weekdays.next_after(saturday, anchor, &jiff::tz::TimeZone::UTC), Some(at("2026-11-30T08:30:00Z")));
}

#[test]
fn rates_count_whole_periods_from_their_anchor() {
    let quarter = Expression::parse("rate(15 minutes)").unwrap();
    let anchor = at("2026-11-30T10:07:00Z");
    let utc = jiff::tz::TimeZone::UTC;
    assert_eq!(quarter.next_after(anchor, anchor, &utc), Some(at("2026-11-30T10:22:00Z")));
    assert_eq!(quarter.next_after(at("2026-11-30T11:00:00Z"), anchor, &utc), Some(at("2026-11-30T11:07:00Z")));
    assert!(Expression::parse("rate(1 hour)").is_ok() && Expression::parse("rate(2 days)").is_ok());
    for (bad, reason) in [
        ("rate(30 seconds)", "unit"),
        ("rate(0 minutes)", "at least 1 minute"),
        ("rate(x minutes)", "whole number"),
        ("rate(5)", "rate(<n>"),
        ("0 6 * *", "5-field cron"),
        ("0 0 6 * * *", "5-field cron"),
        ("61 * * * *", "5-field cron"),
    ] {
        let error = Expression::parse(bad).unwrap_err();
        assert!(error.contains(reason), "{bad}: {error}");
    }
}

#[tokio::test]
async fn a_schedule_shows_its_next_run_and_fires_once_at_its_slot() {
    let w = world();
    let schedules = Schedules::new();
    let pipeline = orders(&w, None).await;
    let request = every(&w, "rate(1 hour)", None).await;
    let schedule = schedules.service(&w).create(&actor(ALICE), &pipeline.id, request).await.unwrap();
    assert_eq!(schedule.next_run_at, w.clock.now().plus(Duration::from_secs(3600)));
    assert_eq!(schedule.timezone, "UTC");
    let trigger = schedules.trigger(&w);
    assert!(trigger.fire_due().await.unwrap().is_empty(), "not due yet");

    w.clock.advance(Duration::from_secs(3600));
    let started = trigger.fire_due().await.unwrap();
    assert_eq!(started.len(), 1);
    let run = job(&started[0]);
    assert_eq!((run.pipeline_id.as_ref(), run.pipeline_version), (Some(&pipeline.id), Some(1)));
    assert_eq!(run.name.as_deref(), Some("orders (scheduled)"));
    assert_eq!(run.status, JobStatus::Pending);
    assert!(trigger.fire_due().await.unwrap().is_empty(), "the slot fires once");
    let stored = schedules.store.get(&pipeline.id, &schedule.id).await.unwrap().unwrap();
    assert_eq!(stored.next_run_at, schedule.next_run_at.plus(Duration::from_secs(3600)));
    assert_eq!((stored.last_fired_at, stored.last_job_id.as_ref()), (Some(w.clock.now()), Some(&run.id)));
    w.runner().run(&body(&run.id), 1).await;
    assert_eq!(w.job(&run.id).await.status, JobStatus::Completed);
}

#[tokio::test]
async fn slots_missed_while_the_platform_was_down_fire_once() {
    let w = world();
    let schedules = Schedules::new();
    let pipeline = orders(&w, None).await;
    let request = every(&w, "rate(1 hour)", None).await;
    let schedule = schedules.service(&w).create(&actor(ALICE), &pipeline.id, request).await.unwrap();
    // Down for five slots and a half.
    w.clock.advance(Duration::from_secs(5 * 3600 + 1800));
    let trigger = schedules.trigger(&w);
    assert_eq!(trigger.fire_due().await.unwrap().len(), 1);
    assert!(trigger.fire_due().await.unwrap().is_empty());
    let stored = schedules.store.get(&pipeline.id, &schedule.id).await.unwrap().unwrap();
    assert_eq!(stored.next_run_at, schedule.created_at.plus(Duration::from_secs(6 * 3600)), "the next slot is ahead");
    assert_eq!(w.job_queue.take().len(), 1);
}

#[tokio::test]
async fn a_deleted_schedule_fires_no_more_and_a_refused_run_is_recorded() {
    let w = world();
    let schedules = Schedules::new();
    let service = schedules.service(&w);
    let pipeline = orders(&w, None).await;
    let kept = service.create(&actor(ALICE), &pipeline.id, every(&w, "rate(1 hour)", None).await).await.unwrap();
    let gone = service.create(&actor(ALICE), &pipeline.id, every(&w, "rate(1 hour)", None).await).await.unwrap();
    service.delete(&actor(ALICE), &pipeline.id, &gone.id).await.unwrap();
    assert!(matches!(service.delete(&actor(ALICE), &pipeline.id, &gone.id).await, Err(JobError::NotFound(_))));
    let listed: Vec<_> = service.list(&actor(ALICE), &pipeline.id).await.unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(listed, std::slice::from_ref(&kept.id));

    w.pipeline_service().archive(&actor(ALICE), &pipeline.id).await.unwrap();
    w.clock.advance(Duration::from_secs(3600));
    assert!(schedules.trigger(&w).fire_due().await.unwrap().is_empty(), "an archived pipeline takes no runs");
    let stored = schedules.store.get(&pipeline.id, &kept.id).await.unwrap().unwrap();
    assert!(stored.last_error.as_deref().is_some_and(|e| e.contains("archived")), "{stored:?}");
    assert!(stored.next_run_at > w.clock.now());
}

#[tokio::test]
async fn bad_schedules_are_refused_naming_the_field() {
    let w = world();
    let schedules = Schedules::new();
    let service = schedules.service(&w);
    let teams = w.team_service();
    let team = teams.create(&actor(ALICE), "Integration").await.unwrap().team.id;
    let invitation = teams.invite(&actor(ALICE), &team, Role::Viewer).await.unwrap();
    teams.accept(&actor(BOB), &invitation.token).await.unwrap();
    let pipeline = orders(&w, Some(team.clone())).await;
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    // A content file of the team, registered but never uploaded.
    let in_team = {
        let file = helix_domain::FileDeclaration {
            kind: ArtifactKind::Content,
            filename: "orders.csv".into(),
            content_type: "text/csv".into(),
            size_bytes: CSV.len() as u64,
        };
        let artifact = helix_domain::Artifact::pending_upload(
            helix_domain::UserId::from(ALICE),
            team.clone(),
            file,
            None,
            w.clock.now(),
        );
        helix_domain::ArtifactStore::create(&*w.artifacts, &artifact).await.unwrap();
        artifact.id
    };
    let request = |expression: &str, timezone: Option<&str>, ids: Vec<helix_domain::ArtifactId>| NewSchedule {
        expression: expression.into(),
        timezone: timezone.map(str::to_owned),
        input: ScheduleInput { content_artifact_ids: ids, ..ScheduleInput::default() },
    };
    let folder = |ids: Vec<helix_domain::ArtifactId>, prefix: &str| NewSchedule {
        expression: "0 6 * * *".into(),
        timezone: None,
        input: ScheduleInput { content_artifact_ids: ids, inbox_prefix: Some(prefix.into()) },
    };
    for (bad, field, reason) in [
        (request("every day", None, vec![in_team.clone()]), "expression", "5-field cron"),
        (request("0 6 * * *", Some("Mars/Olympus"), vec![in_team.clone()]), "timezone", "IANA"),
        (request("0 6 * * *", None, vec![]), "input.content_artifact_ids", "1 to 20"),
        (folder(vec![in_team.clone()], "nightly"), "input", "not both"),
        (folder(vec![], "../elsewhere"), "input.inbox_prefix", "'..'"),
        (folder(vec![], "night ly"), "input.inbox_prefix", "not ' '"),
        (folder(vec![], "//"), "input.inbox_prefix", "1 to 200"),
        (request("0 6 * * *", None, vec![content]), "input.content_artifact_ids[0]", "not one of the pipeline's team"),
        (
            request("0 6 * * *", None, vec![in_team.clone()]),
            "input.content_artifact_ids[0]",
            "not an uploaded content file",
        ),
    ] {
        match service.create(&actor(ALICE), &pipeline.id, bad).await {
            Err(JobError::Invalid { field: f, message }) => {
                assert_eq!(f, field);
                assert!(message.contains(reason), "{field}: {message}");
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    let good = request("0 6 * * *", Some("Europe/Berlin"), vec![in_team]);
    assert!(matches!(service.create(&actor(BOB), &pipeline.id, good.clone()).await, Err(JobError::Forbidden(_))));
    assert!(matches!(service.create(&actor("carol"), &pipeline.id, good).await, Err(JobError::NotFound(_))));
    assert!(matches!(service.list(&actor("carol"), &pipeline.id).await, Err(JobError::NotFound(_))));
    assert!(service.list(&actor(BOB), &pipeline.id).await.unwrap().is_empty());
}

/// Puts `bytes` into the pipeline's inbox at `path` (below the inbox); returns the key.
async fn put(w: &World, pipeline: &Pipeline, path: &str, bytes: &str) -> String {
    let key = format!("{}{path}", pipeline.inbox_prefix());
    w.blobs.put_bytes(&key, bytes.as_bytes().to_vec(), "text/csv").await.unwrap();
    key
}

#[tokio::test]
async fn a_schedule_reading_an_inbox_folder_runs_each_waiting_file_once() {
    let w = world();
    let schedules = Schedules::new();
    let pipeline = orders(&w, None).await;
    let schedule = schedules.service(&w).create(&actor(ALICE), &pipeline.id, reading("/nightly/")).await.unwrap();
    assert_eq!(schedule.input.inbox_prefix.as_deref(), Some("nightly"));
    assert!(schedule.input.content_artifact_ids.is_empty());
    let trigger = schedules.trigger(&w);

    // Nothing waiting: the firing is recorded and starts nothing.
    w.clock.advance(Duration::from_secs(3600));
    assert!(trigger.fire_due().await.unwrap().is_empty());
    let stored = schedules.store.get(&pipeline.id, &schedule.id).await.unwrap().unwrap();
    assert_eq!((stored.last_fired_at, stored.last_run_count), (Some(w.clock.now()), Some(0)));
    assert_eq!((stored.last_job_id, stored.last_error), (None, None));
    assert!(w.job_queue.take().is_empty());

    // Files arriving in the folder wait there: the upload watcher starts no run of them.
    let first = put(&w, &pipeline, "nightly/ORDERS_1.csv", CSV).await;
    let second = put(&w, &pipeline, "nightly/ORDERS_2.csv", "id,qty\nc,3\n").await;
    let deeper = put(&w, &pipeline, "nightly/later/ORDERS_3.csv", CSV).await;
    let created = serde_json::json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
        "eventTime": "t1", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "helix-artifacts"}, "object": {"key": first, "size": 1, "eTag": "e1"}}}]});
    let failures = w.watcher().handle(event(vec![message("m-1", &created.to_string(), 1)])).await;
    assert!(failures.batch_item_failures.is_empty() && w.job_queue.take().is_empty(), "no run on arrival");

    w.clock.advance(Duration::from_secs(3600));
    let started = trigger.fire_due().await.unwrap();
    let runs: Vec<&Job> = started.iter().map(job).collect();
    assert_eq!(runs.len(), 2, "one run per file directly in the folder");
    assert_eq!(w.job_queue.take().len(), 2);
    for (run, name) in runs.iter().zip(["ORDERS_1.csv", "ORDERS_2.csv"]) {
        assert_eq!((run.pipeline_id.as_ref(), run.pipeline_version), (Some(&pipeline.id), Some(1)));
        assert_eq!(w.artifact(&run.inputs.content_artifact_ids[0]).await.filename, name);
        let processed = format!("processed/{}/{}/{}/{name}", pipeline.team_id, pipeline.id, run.id);
        assert!(w.blobs.head(&processed).await.unwrap().is_some(), "{processed}");
    }
    assert!(w.blobs.head(&first).await.unwrap().is_none() && w.blobs.head(&second).await.unwrap().is_none());
    assert!(w.blobs.head(&deeper).await.unwrap().is_some(), "a folder below is another folder's to read");
    let stored = schedules.store.get(&pipeline.id, &schedule.id).await.unwrap().unwrap();
    assert_eq!((stored.last_run_count, stored.last_job_id.as_ref()), (Some(2), Some(&runs[1].id)));

    for run in &runs {
        w.runner().run(&body(&run.id), 1).await;
    }

    // The same bytes put there again start nothing (and leave); new bytes under the name do.
    put(&w, &pipeline, "nightly/ORDERS_1.csv", CSV).await;
    put(&w, &pipeline, "nightly/ORDERS_2.csv", "id,qty\nd,4\n").await;
    w.clock.advance(Duration::from_secs(3600));
    let started = trigger.fire_due().await.unwrap();
    assert_eq!(started.len(), 1);
    let rerun = job(&started[0]);
    assert_eq!(w.artifact(&rerun.inputs.content_artifact_ids[0]).await.filename, "ORDERS_2.csv");
    assert!(w.blobs.head(&first).await.unwrap().is_none(), "a copy of bytes already run is removed");
    w.runner().run(&body(&rerun.id), 1).await;
    assert_eq!(w.job(&rerun.id).await.status, JobStatus::Completed);
}

#[tokio::test]
async fn a_chained_version_runs_as_a_chained_run_from_a_schedule_and_from_its_inbox_folder() {
    let w = world();
    let schedules = Schedules::new();
    let step = |name: &str, after: &[&str]| StepDefinition {
        name: name.into(),
        context: Some(text(&format!("steps[{name}].context"), CONTEXT)),
        schema: Some(text(&format!("steps[{name}].schema"), SCHEMA)),
        lookups: Some(Vec::new()),
        after: after.iter().map(|s| (*s).to_owned()).collect(),
    };
    let steps = vec![step("a", &[]), step("b", &["a"])];
    let definition = PipelineDefinition { steps: Some(steps), ..PipelineDefinition::default() };
    let request = NewPipeline { name: "chain".into(), definition, ..NewPipeline::default() };
    let pipeline = w.pipeline_service().create(&actor(ALICE), request).await.unwrap().0;
    let service = schedules.service(&w);
    let fixed = service.create(&actor(ALICE), &pipeline.id, every(&w, "rate(1 hour)", None).await).await.unwrap();
    let folder = service.create(&actor(ALICE), &pipeline.id, reading("drops")).await.unwrap();
    put(&w, &pipeline, "drops/ORDERS_1.csv", CSV).await;

    w.clock.advance(Duration::from_secs(3600));
    let started = schedules.trigger(&w).fire_due().await.unwrap();
    assert_eq!(started.len(), 2);
    let chains: Vec<_> = started
        .iter()
        .map(|run| match run {
            RunStarted::Chain(run) => run,
            RunStarted::Job(job) => panic!("a chained version ran as one job {}", job.id),
        })
        .collect();
    assert!(chains.iter().all(|run| run.pipeline_id == pipeline.id && run.pipeline_version == 1));
    assert_eq!(w.job_queue.take().len(), 2, "each run's first step submitted");
    for schedule in [&fixed, &folder] {
        let stored = schedules.store.get(&pipeline.id, &schedule.id).await.unwrap().unwrap();
        assert_eq!((stored.last_run_count, stored.last_job_id, &stored.last_error), (Some(1), None, &None));
        let ran = stored.last_run_id.expect("the chained run is recorded");
        assert!(chains.iter().any(|run| run.id == ran));
    }
    let inbox = format!("inbox-{}", pipeline.id);
    let from_folder = chains.iter().find(|run| run.created_by.as_str() == inbox).expect("the folder's run");
    let processed = format!("processed/{}/{}/{}/ORDERS_1.csv", pipeline.team_id, pipeline.id, from_folder.id);
    assert!(w.blobs.head(&processed).await.unwrap().is_some(), "{processed}");
}
