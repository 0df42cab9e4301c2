//! Chained pipelines: steps checked on save; a run's steps submitted as their upstream steps
//! complete (fan-in in declared order), a failure skipping what follows, a retry running only the
//! failed and skipped steps, and a step's end reported twice submitting each next step once.

use std::sync::Arc;

use helix_domain::{
    ArtifactKind, Blobs, ChainRun, Clock, Counter, Job, JobId, JobOutcome, JobStatus, JobStore, Pipeline, QuotaStore,
    RunStatus, StepStatus, Transition,
};
use helix_jobs::{
    ChainDriver, JobEvents, JobRunner, JobService, NewPipeline, PipelineDefinition, PipelineRun, PipelineService,
    RunNotifier, RunStarted, StepDefinition,
};

use crate::support::*;

/// Step B's context: A's mapping with the ids marked, so the two results differ.
const MARKED_CONTEXT: &str = "fields:\n  id: \"b-{{ id }}\"\n  qty: \"{{ qty }}\"\n";

fn step(name: &str, context: &str, after: &[&str]) -> StepDefinition {
    StepDefinition {
        name: name.into(),
        context: Some(text(&format!("steps[{name}].context"), context)),
        schema: Some(text(&format!("steps[{name}].schema"), SCHEMA)),
        lookups: Some(Vec::new()),
        after: after.iter().map(|s| (*s).to_owned()).collect(),
    }
}

async fn chained(w: &World, steps: Vec<StepDefinition>) -> Result<Pipeline, helix_jobs::JobError> {
    let definition = PipelineDefinition { steps: Some(steps), ..PipelineDefinition::default() };
    let request = NewPipeline { name: "chain".into(), definition, ..NewPipeline::default() };
    w.pipeline_service().create(&actor(ALICE), request).await.map(|(p, _)| p)
}

/// A, B (both on the run's content) and C after [A, B].
async fn fan_in(w: &World) -> Pipeline {
    let steps = vec![step("a", CONTEXT, &[]), step("b", MARKED_CONTEXT, &[]), step("c", CONTEXT, &["a", "b"])];
    chained(w, steps).await.unwrap()
}

async fn start(w: &World, pipeline: &Pipeline) -> ChainRun {
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let run = PipelineRun { content: vec![content], ..PipelineRun::default() };
    match w.pipeline_service().start(&actor(ALICE), &pipeline.id, run).await.unwrap() {
        RunStarted::Chain(run) => *run,
        RunStarted::Job(job) => panic!("a chained version ran as one job {}", job.id),
    }
}

fn driver(w: &World) -> Arc<ChainDriver> {
    let notifier = RunNotifier { webhooks: w.webhooks.clone(), queue: w.webhook_queue.clone(), clock: w.clock.clone() };
    Arc::new(ChainDriver { pipelines: Arc::new(w.pipeline_service()), events: Arc::new(notifier) })
}

fn worker(w: &World) -> JobRunner {
    w.runner().with_events(driver(w))
}

/// A run of A, then B after it, with A's job taken off the queue: the pipeline, the run and A's job.
async fn a_then_b(w: &World) -> (Pipeline, ChainRun, JobId) {
    let steps = vec![step("a", CONTEXT, &[]), step("b", CONTEXT, &["a"])];
    let pipeline = chained(w, steps).await.unwrap();
    let run = start(w, &pipeline).await;
    let a = run.step("a").unwrap().job_id.clone().unwrap();
    assert_eq!(w.job_queue.take().len(), 1, "A queued");
    (pipeline, run, a)
}

/// Runs every queued job message until the queue is empty; the jobs run, in order.
async fn drain(w: &World, runner: &JobRunner) -> Vec<JobId> {
    let mut ran = Vec::new();
    loop {
        let messages = w.job_queue.take();
        if messages.is_empty() {
            return ran;
        }
        for message in messages {
            runner.run(&body(&message.job_id), 1).await;
            ran.push(message.job_id);
        }
    }
}

async fn stored(w: &World, run: &ChainRun) -> ChainRun {
    w.pipeline_service().chain_run(&actor(ALICE), &run.pipeline_id, &run.id).await.unwrap()
}

fn status_of(run: &ChainRun, step: &str) -> StepStatus {
    run.step(step).unwrap().status
}

/// Fails a queued step's job as its worker would on bad input, and reports it.
async fn fail(w: &World, id: &JobId) -> Job {
    let job = w.job(id).await;
    let now = w.clock.now();
    let claimed = job.apply(Transition::Claim { lease_until: now.plus(LEASE) }, now).unwrap();
    w.jobs.replace(&job, &claimed).await.unwrap();
    let failed = claimed.apply(Transition::Finish(JobOutcome::Failed { error: "line 2: broken".into() }), now).unwrap();
    w.jobs.replace(&claimed, &failed).await.unwrap();
    driver(w).finished(&failed).await.unwrap();
    failed
}

async fn records(w: &World, job: &Job) -> Vec<serde_json::Value> {
    let result = w.artifact(job.result_artifact_id.as_ref().expect("a result")).await;
    let bytes = w.blobs.get_bytes(&result.s3_key, 1 << 20).await.unwrap();
    serde_json::from_slice(&bytes).expect("a JSON array of records")
}

#[tokio::test]
async fn a_fan_in_completes_with_the_upstream_results_in_declared_order() {
    let w = world();
    let pipeline = fan_in(&w).await;
    let run = start(&w, &pipeline).await;
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(
        ["a", "b", "c"].map(|s| status_of(&run, s)),
        [StepStatus::Running, StepStatus::Running, StepStatus::Waiting]
    );

    let ran = drain(&w, &worker(&w)).await;
    let run = stored(&w, &run).await;
    assert_eq!(run.status, RunStatus::Completed, "{:?}", run.error);
    assert_eq!(ran.len(), 3, "one job per step");
    let job = |name: &str| run.step(name).unwrap().job_id.clone().unwrap();
    let (a, b, c) = (w.job(&job("a")).await, w.job(&job("b")).await, w.job(&job("c")).await);
    assert_eq!(ran.last(), Some(&c.id), "C runs after both");
    assert_eq!(
        c.inputs.content_artifact_ids,
        vec![a.result_artifact_id.clone().unwrap(), b.result_artifact_id.clone().unwrap()]
    );
    assert_eq!((c.pipeline_id.as_ref(), c.pipeline_version), (Some(&pipeline.id), Some(1)));
    let ids: Vec<String> = records(&w, &c).await.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, ["a", "b", "b-a", "b-b"]);
}

#[tokio::test]
async fn a_failed_middle_step_skips_what_follows_and_a_retry_runs_only_those_steps() {
    let w = world();
    let steps = vec![step("a", CONTEXT, &[]), step("b", CONTEXT, &["a"]), step("c", CONTEXT, &["b"])];
    let pipeline = chained(&w, steps).await.unwrap();
    let run = start(&w, &pipeline).await;
    let runner = worker(&w);
    let queued = w.job_queue.take();
    assert_eq!(queued.len(), 1, "A alone is queued; B only after it");
    runner.run(&body(&queued[0].job_id), 1).await;
    let run = stored(&w, &run).await;
    let b = run.step("b").unwrap().job_id.clone().unwrap();
    assert_eq!(w.job_queue.take().iter().map(|m| m.job_id.clone()).collect::<Vec<_>>(), vec![b.clone()]);
    fail(&w, &b).await;

    let failed = stored(&w, &run).await;
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(failed.error.as_deref().unwrap().contains("step b failed: line 2: broken"), "{:?}", failed.error);
    assert_eq!(
        ["a", "b", "c"].map(|s| status_of(&failed, s)),
        [StepStatus::Completed, StepStatus::Failed, StepStatus::Skipped]
    );
    assert!(w.job_queue.take().is_empty(), "nothing runs after a failure");
    let a_job = failed.step("a").unwrap().job_id.clone().unwrap();

    let retried = w.pipeline_service().retry_chain(&actor(ALICE), &pipeline.id, &run.id).await.unwrap();
    assert_eq!((retried.status, retried.retries), (RunStatus::Running, 1));
    let again = drain(&w, &runner).await;
    let done = stored(&w, &run).await;
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    assert_eq!(again.len(), 2, "B and C again, not A: {again:?}");
    assert!(!again.contains(&a_job));
    assert_eq!(w.job(&a_job).await.attempts, 1, "A's output is reused");
    let (b, c) = (done.step("b").unwrap(), done.step("c").unwrap());
    assert_eq!((b.attempt, c.attempt), (2, 2));
    assert_eq!(w.job(b.job_id.as_ref().unwrap()).await.status, JobStatus::Completed);
    assert_eq!(
        w.job(c.job_id.as_ref().unwrap()).await.inputs.content_artifact_ids,
        vec![w.job(b.job_id.as_ref().unwrap()).await.result_artifact_id.unwrap()]
    );

    let refused = w.pipeline_service().retry_chain(&actor(ALICE), &pipeline.id, &run.id).await;
    assert!(matches!(refused, Err(helix_jobs::JobError::Conflict(_))), "{refused:?}");
}

#[tokio::test]
async fn a_step_end_reported_twice_submits_the_next_step_once() {
    let w = world();
    let (pipeline, run, a) = a_then_b(&w).await;
    // The worker runs A and reports its end (the message's first delivery)…
    worker(&w).run(&body(&a), 1).await;
    let after_first = stored(&w, &run).await;
    assert_eq!(w.job_queue.take().len(), 1, "B queued");
    // …then the same end comes again (a redelivered message, a second worker), twice at once.
    let job = w.job(&a).await;
    let (d1, d2) = (driver(&w), driver(&w));
    let (r1, r2) = tokio::join!(d1.finished(&job), d2.finished(&job));
    r1.unwrap();
    r2.unwrap();
    worker(&w).run(&body(&a), 2).await;
    assert!(w.job_queue.take().is_empty(), "B is not submitted again");
    assert_eq!(stored(&w, &run).await, after_first, "the run did not change");
    let runs = w.pipeline_service().runs(&actor(ALICE), &pipeline.id, None, None).await.unwrap();
    assert_eq!(runs.jobs.len(), 2, "one job per step");
}

#[tokio::test]
async fn a_report_that_finds_the_next_steps_job_made_meanwhile_leaves_the_step_running() {
    let w = world();
    let (_, run, a) = a_then_b(&w).await;
    worker(&w).run(&body(&a), 1).await;
    let after_first = stored(&w, &run).await;
    let b = after_first.step("b").unwrap().job_id.clone().unwrap();
    assert_eq!(w.job_queue.take().len(), 1, "B queued");
    // A second report of A's end, at the same time as the first: it looked for B's job just
    // before the first one wrote it, and its submission finds the id taken.
    let jobs = Arc::new(JobService { jobs: RacedJobs::hiding(&w, &b), ..w.service() });
    let pipelines = Arc::new(PipelineService { jobs, ..w.pipeline_service() });
    let racing = ChainDriver { pipelines, events: driver(&w).events.clone() };
    racing.finished(&w.job(&a).await).await.unwrap();
    assert_eq!(stored(&w, &run).await, after_first, "B still runs: its job is the one the first report made");
    assert!(w.job_queue.take().is_empty(), "B is not submitted again");
    let team = w.job(&b).await.team_id;
    assert_eq!(w.quotas.value(&team, &Counter::ActiveJobs).await.unwrap(), 1, "B's job keeps its slot");
}

#[tokio::test]
async fn a_report_that_could_not_submit_submits_on_the_next_report() {
    let w = world();
    let (_, run, a) = a_then_b(&w).await;
    w.runner().run(&body(&a), 1).await;
    let job = w.job(&a).await;
    // The run records A's end, then the job table is down: B's submission fails, and so the report.
    w.jobs.outage.set(true);
    assert!(driver(&w).finished(&job).await.is_err());
    w.jobs.outage.set(false);
    assert_eq!(status_of(&stored(&w, &run).await, "b"), StepStatus::Running);
    driver(&w).finished(&job).await.unwrap();
    let queued = w.job_queue.take();
    assert_eq!(queued.len(), 1);
    assert_eq!(Some(&queued[0].job_id), stored(&w, &run).await.step("b").unwrap().job_id.as_ref());
}

#[tokio::test]
async fn steps_are_checked_on_save_naming_the_field() {
    let w = world();
    let unknown = vec![step("a", CONTEXT, &[]), step("b", CONTEXT, &[]), step("c", CONTEXT, &["a", "x"])];
    assert_invalid(chained(&w, unknown).await, "steps[2].after", "no step named x");
    let cycle = vec![step("a", CONTEXT, &["c"]), step("b", CONTEXT, &["a"]), step("c", CONTEXT, &["b"])];
    assert_invalid(chained(&w, cycle).await, "steps[0].after", "wait for each other");
    let twice = vec![step("a", CONTEXT, &[]), step("a", CONTEXT, &[])];
    assert_invalid(chained(&w, twice).await, "steps[1].name", "taken by steps[0]");
    let bad_context = vec![step("a", "fields: [", &[])];
    assert_invalid(chained(&w, bad_context).await, "steps[a].context", "");
}

#[tokio::test]
async fn a_chained_version_is_not_run_as_one_job() {
    let w = world();
    let pipeline = chained(&w, vec![step("a", CONTEXT, &[])]).await.unwrap();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let run = PipelineRun { content: vec![content], ..PipelineRun::default() };
    assert_invalid(w.pipeline_service().run(&actor(ALICE), &pipeline.id, run).await, "version", "chained");
    let empty = PipelineRun::default();
    assert_invalid(w.pipeline_service().start(&actor(ALICE), &pipeline.id, empty).await, "content_artifact_ids", "");
}

#[tokio::test]
async fn a_cancelled_run_cancels_its_running_steps_jobs_skips_the_rest_and_can_be_retried() {
    let w = world();
    let pipeline = fan_in(&w).await;
    hook(&w, &pipeline).await;
    let run = start(&w, &pipeline).await;
    let queued: Vec<JobId> = w.job_queue.take().into_iter().map(|m| m.job_id).collect();
    assert_eq!(queued.len(), 2, "A and B submitted");

    let cancelled = w.pipeline_service().cancel_chain(&actor(ALICE), &pipeline.id, &run.id).await.unwrap();
    // What the API reports after the cancel: one run.cancelled delivery for the run.
    let notifier = RunNotifier { webhooks: w.webhooks.clone(), queue: w.webhook_queue.clone(), clock: w.clock.clone() };
    notifier.run_ended(&cancelled).await.unwrap();
    let made = deliveries(&w, &pipeline).await;
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!((made[0].0.as_str(), &made[0].1["run"]["status"]), ("run.cancelled", &serde_json::json!("CANCELLED")));
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    assert_eq!(
        ["a", "b", "c"].map(|s| status_of(&cancelled, s)),
        [StepStatus::Cancelled, StepStatus::Cancelled, StepStatus::Skipped]
    );
    for job in &queued {
        assert_eq!(w.job(job).await.status, JobStatus::Cancelled, "{job}");
    }
    // The queued messages still come: the cancelled jobs do not run, and the run stays as it is.
    for job in &queued {
        worker(&w).run(&body(job), 1).await;
    }
    assert_eq!(stored(&w, &run).await, cancelled);
    assert!(w.job_queue.take().is_empty());
    assert_eq!(deliveries(&w, &pipeline).await.len(), 1, "the cancelled step jobs make no delivery");
    let again = w.pipeline_service().cancel_chain(&actor(ALICE), &pipeline.id, &run.id).await;
    assert!(matches!(&again, Err(helix_jobs::JobError::Conflict(m)) if m.contains("CANCELLED")), "{again:?}");
    let outsider = w.pipeline_service().cancel_chain(&actor("carol"), &pipeline.id, &run.id).await;
    assert!(matches!(outsider, Err(helix_jobs::JobError::NotFound(_))), "{outsider:?}");

    let retried = w.pipeline_service().retry_chain(&actor(ALICE), &pipeline.id, &run.id).await.unwrap();
    assert_eq!(retried.status, RunStatus::Running);
    drain(&w, &worker(&w)).await;
    let done = stored(&w, &run).await;
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    let completed = w.pipeline_service().cancel_chain(&actor(ALICE), &pipeline.id, &run.id).await;
    assert!(matches!(&completed, Err(helix_jobs::JobError::Conflict(m)) if m.contains("COMPLETED")), "{completed:?}");
}

/// A webhook of the pipeline, straight into the world's store.
async fn hook(w: &World, pipeline: &Pipeline) {
    use helix_domain::WebhookStore;
    let webhook = helix_domain::Webhook {
        id: helix_domain::WebhookId::random(),
        pipeline_id: pipeline.id.clone(),
        url: "https://receiver.example/hook".into(),
        secret: "whsec_test".into(),
        created_by: helix_domain::UserId::from(ALICE),
        created_at: w.clock.now(),
        deleted_at: None,
    };
    w.webhooks.add(&webhook).await.unwrap();
}

/// The deliveries made so far: (event, body).
async fn deliveries(w: &World, pipeline: &Pipeline) -> Vec<(String, serde_json::Value)> {
    use helix_domain::WebhookStore;
    let made = w.webhooks.deliveries(&pipeline.id, 100).await.unwrap();
    made.into_iter().map(|d| (d.event.as_str().to_owned(), serde_json::from_str(&d.body).unwrap())).collect()
}

#[tokio::test]
async fn webhooks_hear_of_a_chained_run_once_when_it_ends_not_of_each_step() {
    let w = world();
    let steps = vec![step("a", CONTEXT, &[]), step("b", CONTEXT, &["a"]), step("c", CONTEXT, &["b"])];
    let pipeline = chained(&w, steps).await.unwrap();
    hook(&w, &pipeline).await;
    let notifier =
        Arc::new(RunNotifier { webhooks: w.webhooks.clone(), queue: w.webhook_queue.clone(), clock: w.clock.clone() });
    let runner = w.runner().with_events(notifier.clone()).with_events(driver(&w));
    let run = start(&w, &pipeline).await;
    let a = w.job_queue.take().remove(0).job_id;
    runner.run(&body(&a), 1).await;
    assert!(deliveries(&w, &pipeline).await.is_empty(), "a step's end is no run's end");
    let b = stored(&w, &run).await.step("b").unwrap().job_id.clone().unwrap();
    w.job_queue.take();
    let failed = fail(&w, &b).await;
    // Reported again (a redelivered message): still one delivery.
    driver(&w).finished(&failed).await.unwrap();
    notifier.finished(&failed).await.unwrap();

    let made = deliveries(&w, &pipeline).await;
    assert_eq!(made.len(), 1, "{made:?}");
    let (event, body) = &made[0];
    assert_eq!(event, "run.failed");
    assert_eq!((&body["failed_step"], &body["run"]["id"]), (&serde_json::json!("b"), &serde_json::json!(run.id)));
    assert_eq!(body["run"]["status"], "FAILED");
    assert_eq!(w.webhook_queue.sent().len(), 2, "the message sent again on each report of the end");

    w.pipeline_service().retry_chain(&actor(ALICE), &pipeline.id, &run.id).await.unwrap();
    drain(&w, &runner).await;
    let made = deliveries(&w, &pipeline).await;
    assert_eq!(made.iter().filter(|(event, _)| event == "run.completed").count(), 1, "{made:?}");
    assert_eq!(made.len(), 2, "the retried run's end is a delivery of its own");
}
