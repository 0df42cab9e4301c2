//! Quotas: a team's concurrent jobs, storage, file size and records a month, taken and given back
//! by the use cases; refusals are 403 `quota_exceeded` with the limit and the usage, and are
//! recorded in the audit trail. Plans are set by platform admins only; usage is read by a team's
//! admins.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use helix_domain::{
    ArtifactKind, AuditLog, AuditOutcome, Clock, Counter, FileDeclaration, JobStatus, JobStore, Plan, PlanLimits,
    QuotaStore, Role, Team, TeamId, Timestamp, Transition, User, UserId, UserStore,
};
use helix_jobs::{ArtifactLimits, ArtifactService, JobError, JobService, PartPlan, Quota, Upload};

use crate::support::*;

fn alice_team() -> TeamId {
    TeamId::personal(&UserId::from(ALICE))
}

/// Puts Alice's personal team on an enterprise plan with `limits`.
async fn enterprise(w: &World, limits: PlanLimits) {
    let team = Team { plan: Plan::Enterprise, limits: Some(limits), ..Team::personal(&ALICE.into(), start()) };
    helix_domain::TeamStore::put(&*w.teams, &team).await.unwrap();
}

#[track_caller]
fn assert_quota<T: std::fmt::Debug>(result: Result<T, JobError>, quota: Quota, limit: u64, used: u64) {
    match result {
        Err(JobError::QuotaExceeded { quota: q, limit: l, used: u, message }) => {
            assert_eq!((q, l, u), (quota.as_str(), limit, used), "{message}");
            assert!(message.contains(&limit.to_string()) && message.contains("plan"), "{message}");
        }
        other => panic!("expected {quota:?} exceeded, got {other:?}"),
    }
}

async fn submit(service: &JobService, content: &helix_domain::ArtifactId) -> Result<helix_domain::Job, JobError> {
    let request = helix_jobs::JobRequest {
        context: Some(text("context", CONTEXT)),
        schema: Some(text("schema", SCHEMA)),
        ..transform(vec![content.clone()])
    };
    service.submit(&actor(ALICE), request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_submissions_at_a_concurrency_quota_of_two_never_run_more_than_two() {
    let w = Arc::new(world());
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let service = Arc::new(w.service());
    let submissions = (0..50).map(|_| {
        let (service, content) = (service.clone(), content.clone());
        tokio::spawn(async move { submit(&service, &content).await })
    });
    let results = futures::future::join_all(submissions).await;
    let (accepted, refused): (Vec<_>, Vec<_>) = results.into_iter().map(Result::unwrap).partition(Result::is_ok);
    assert_eq!((accepted.len(), refused.len()), (2, 48));
    for refusal in refused {
        assert_quota(refusal, Quota::ConcurrentJobs, 2, 2);
    }
    let active = w.jobs.all().into_iter().filter(|j| !j.status.is_terminal()).count();
    assert_eq!(active, 2);
}

/// 50 callers each submit until accepted while workers run what is accepted: all 50 complete,
/// and no moment has more than 2 of the team's jobs unfinished, so never more than 2 running.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_callers_with_workers_all_complete_and_never_more_than_two_run() {
    let w = Arc::new(world());
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let service = Arc::new(w.service());
    let runner = Arc::new(w.runner());
    let (done, most) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let watch = {
        let (w, done, most) = (w.clone(), done.clone(), most.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let jobs = w.jobs.all();
                let running = jobs.iter().filter(|j| j.status == JobStatus::Running).count();
                let active = jobs.iter().filter(|j| !j.status.is_terminal()).count();
                assert!(active <= 2, "{active} unfinished jobs at once");
                most.fetch_max(running, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
        })
    };
    let callers = (0..50).map(|_| {
        let (service, runner, content) = (service.clone(), runner.clone(), content.clone());
        tokio::spawn(async move {
            let job = loop {
                match submit(&service, &content).await {
                    Ok(job) => break job,
                    Err(JobError::QuotaExceeded { .. }) => tokio::time::sleep(Duration::from_millis(1)).await,
                    Err(e) => panic!("{e:?}"),
                }
            };
            runner.run(&body(&job.id), 1).await;
        })
    });
    for caller in futures::future::join_all(callers).await {
        caller.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    watch.await.unwrap();
    let jobs = w.jobs.all();
    assert_eq!(jobs.iter().filter(|j| j.status == JobStatus::Completed).count(), 50);
    assert!(most.load(Ordering::SeqCst) <= 2);
    assert_eq!(w.quotas.value(&alice_team(), &Counter::ActiveJobs).await.unwrap(), 0, "every slot given back");
    assert_eq!(w.quotas.value(&alice_team(), &Counter::Records("2027-01".into())).await.unwrap(), 150);
}

#[tokio::test]
async fn a_cancelled_job_gives_back_its_slot_once() {
    let w = world();
    let first = w.submitted(CONTEXT, CSV).await;
    w.submitted(CONTEXT, CSV).await;
    let content = w.upload(ALICE, ArtifactKind::Content, "more.csv", CSV.as_bytes()).await;
    assert_quota(submit(&w.service(), &content).await, Quota::ConcurrentJobs, 2, 2);
    let trail = w.audit.newest(&alice_team(), None, 1).await.unwrap();
    assert_eq!((trail[0].action.as_str(), trail[0].target.as_str()), ("quota.exceeded", "concurrent_jobs"));
    assert_eq!(trail[0].outcome, AuditOutcome::Refused);
    w.service().cancel(&actor(ALICE), &first.id).await.unwrap();
    // The cancelled job's message, when it comes, gives back nothing more.
    w.runner().run(&body(&first.id), 1).await;
    assert_eq!(w.quotas.value(&alice_team(), &Counter::ActiveJobs).await.unwrap(), 1);
    submit(&w.service(), &content).await.unwrap();
    assert_quota(submit(&w.service(), &content).await, Quota::ConcurrentJobs, 2, 2);
}

#[tokio::test]
async fn completed_failed_and_abandoned_jobs_give_back_their_slots() {
    let w = world();
    let completed = w.submitted(CONTEXT, CSV).await;
    let failing = w.submitted(CONTEXT, "x,y\n1,2\n").await;
    w.runner().run(&body(&completed.id), 1).await;
    w.runner().run(&body(&failing.id), 1).await;
    assert_eq!(w.job(&completed.id).await.status, JobStatus::Completed);
    assert_eq!(w.job(&failing.id).await.status, JobStatus::Failed);
    assert_eq!(w.quotas.value(&alice_team(), &Counter::ActiveJobs).await.unwrap(), 0);

    // A worker that vanished: the sweeper fails the job and gives back its slot.
    let abandoned = w.submitted(CONTEXT, CSV).await;
    let now = w.clock.now();
    let claimed = abandoned.apply(Transition::Claim { lease_until: now.plus(LEASE) }, now).unwrap();
    w.jobs.replace(&abandoned, &claimed).await.unwrap();
    let stale_after = Duration::from_secs(600);
    w.clock.advance(LEASE + stale_after + Duration::from_secs(1));
    assert_eq!(w.sweeper(stale_after).sweep().await.unwrap().failed_jobs, 1);
    assert_eq!(w.quotas.value(&alice_team(), &Counter::ActiveJobs).await.unwrap(), 0);
}

#[tokio::test]
async fn a_slot_whose_job_ended_without_giving_it_back_is_freed_by_the_next_refusal() {
    let w = world();
    let first = w.submitted(CONTEXT, CSV).await;
    w.submitted(CONTEXT, CSV).await;
    // The process died between recording the job's end and giving back its slot.
    let now = w.clock.now();
    let cancelled = first.apply(Transition::Cancel, now).unwrap();
    w.jobs.replace(&first, &cancelled).await.unwrap();
    // And a submission died between taking its slot and writing its job, long ago.
    w.quotas.take(&alice_team(), &Counter::ActiveJobs, "never-written", 1, 3, now).await.unwrap();
    w.clock.advance(Duration::from_secs(301));
    let content = w.upload(ALICE, ArtifactKind::Content, "more.csv", CSV.as_bytes()).await;
    submit(&w.service(), &content).await.unwrap();
    assert_eq!(w.quotas.value(&alice_team(), &Counter::ActiveJobs).await.unwrap(), 2);
}

#[tokio::test]
async fn a_retry_takes_a_slot() {
    let w = world();
    let failed = w.submitted(CONTEXT, "x,y\n1,2\n").await;
    w.runner().run(&body(&failed.id), 1).await;
    w.submitted(CONTEXT, CSV).await;
    w.submitted(CONTEXT, CSV).await;
    assert_quota(w.service().retry(&actor(ALICE), &failed.id).await, Quota::ConcurrentJobs, 2, 2);
    assert_eq!(w.job(&failed.id).await.status, JobStatus::Failed, "a refused retry changes nothing");
}

#[tokio::test]
async fn a_month_over_its_records_refuses_new_jobs_until_the_next() {
    let w = world();
    enterprise(&w, PlanLimits { records_per_month: 3, ..PlanLimits::PRO }).await;
    let job = w.submitted(CONTEXT, CSV).await;
    w.runner().run(&body(&job.id), 1).await;
    assert_eq!(w.job(&job.id).await.records_in, Some(3));
    let content = w.upload(ALICE, ArtifactKind::Content, "more.csv", CSV.as_bytes()).await;
    assert_quota(submit(&w.service(), &content).await, Quota::RecordsPerMonth, 3, 3);
    // 1_800_000_000 is 2027-01-15: a month on, it is February.
    w.clock.advance(Duration::from_secs(31 * 24 * 3600));
    submit(&w.service(), &content).await.unwrap();
}

fn declaration(size_bytes: u64) -> FileDeclaration {
    FileDeclaration {
        kind: ArtifactKind::Content,
        filename: "big.csv".into(),
        content_type: "text/csv".into(),
        size_bytes,
    }
}

#[tokio::test]
async fn uploads_take_storage_and_a_file_over_the_plans_size_is_refused() {
    let w = world();
    enterprise(&w, PlanLimits { storage_bytes: 1000, file_bytes: 600, ..PlanLimits::PRO }).await;
    let uploads = w.artifact_service();
    let alice = actor(ALICE);
    assert_quota(
        uploads.request_upload(&alice, declaration(601), None, PartPlan::default()).await,
        Quota::FileBytes,
        600,
        601,
    );
    uploads.request_upload(&alice, declaration(600), None, PartPlan::default()).await.unwrap();
    assert_quota(
        uploads.request_upload(&alice, declaration(401), None, PartPlan::default()).await,
        Quota::StorageBytes,
        1000,
        600,
    );
    uploads.request_upload(&alice, declaration(400), None, PartPlan::default()).await.unwrap();
    assert_eq!(w.quotas.value(&alice_team(), &Counter::StorageBytes).await.unwrap(), 1000);
    let trail = w.audit.newest(&alice_team(), None, 10).await.unwrap();
    let refused: Vec<&str> = trail.iter().filter(|e| e.action == "quota.exceeded").map(|e| e.target.as_str()).collect();
    assert_eq!(refused, ["storage_bytes", "file_bytes"]);
}

#[tokio::test]
async fn a_cancelled_multipart_upload_gives_back_its_storage() {
    let w = world();
    let size = 2048;
    enterprise(&w, PlanLimits { storage_bytes: size, file_bytes: size, ..PlanLimits::PRO }).await;
    let defaults = w.artifact_service();
    let limits = ArtifactLimits { multipart_threshold: 1024, ..defaults.limits.clone() };
    let uploads = ArtifactService { limits, ..defaults };
    let alice = actor(ALICE);
    let ticket = uploads.request_upload(&alice, declaration(size), None, PartPlan::default()).await.unwrap();
    assert!(matches!(ticket.upload, Upload::Multipart { .. }));
    assert_quota(
        uploads.request_upload(&alice, declaration(1), None, PartPlan::default()).await,
        Quota::StorageBytes,
        size,
        size,
    );
    uploads.abort_upload(&alice, &ticket.artifact.id).await.unwrap();
    uploads.abort_upload(&alice, &ticket.artifact.id).await.unwrap();
    assert_eq!(w.quotas.value(&alice_team(), &Counter::StorageBytes).await.unwrap(), 0);
}

async fn admin(w: &World) -> User {
    let now = Timestamp::from_unix(0).unwrap();
    let user = User {
        email: "ops@example.test".into(),
        id: "ops".into(),
        password_hash: String::new(),
        fullname: None,
        phone_number: None,
        web_url: None,
        is_admin: true,
        created_at: now,
        updated_at: now,
    };
    w.users.create(&user).await.unwrap();
    user
}

#[tokio::test]
async fn only_platform_admins_set_plans() {
    let w = world();
    let ops = admin(&w).await;
    let teams = w.team_service();
    let team = teams.create(&actor(ALICE), "Data").await.unwrap().team.id;
    let owner = teams.set_plan(&actor(ALICE), "alice@example.test", &team, Plan::Pro, None).await;
    assert!(matches!(owner, Err(JobError::Forbidden(_))), "{owner:?}");
    // Someone else's e-mail does not make an admin of the caller.
    let borrowed = teams.set_plan(&actor(ALICE), &ops.email, &team, Plan::Pro, None).await;
    assert!(matches!(borrowed, Err(JobError::Forbidden(_))), "{borrowed:?}");
    let outsider = teams.set_plan(&actor(BOB), "bob@example.test", &team, Plan::Pro, None).await;
    assert!(matches!(outsider, Err(JobError::NotFound(_))), "{outsider:?}");

    let ops_actor = actor(ops.id.as_str());
    let pro = teams.set_plan(&ops_actor, &ops.email, &team, Plan::Pro, None).await.unwrap();
    assert_eq!((pro.team.plan, pro.limits), (Plan::Pro, PlanLimits::PRO));
    let custom = PlanLimits { concurrent_jobs: 50, ..PlanLimits::PRO };
    let limits_on_pro = teams.set_plan(&ops_actor, &ops.email, &team, Plan::Pro, Some(custom)).await;
    assert_invalid(limits_on_pro, "limits", "enterprise");
    let zero = PlanLimits { concurrent_jobs: 0, ..custom };
    assert_invalid(
        teams.set_plan(&ops_actor, &ops.email, &team, Plan::Enterprise, Some(zero)).await,
        "limits.concurrent_jobs",
        "1 to",
    );
    let enterprise = teams.set_plan(&ops_actor, &ops.email, &team, Plan::Enterprise, Some(custom)).await.unwrap();
    assert_eq!(enterprise.limits, custom);
    assert_eq!(teams.usage(&actor(ALICE), &team).await.unwrap().limits.concurrent_jobs, 50);
    let trail = w.audit.newest(&team, None, 10).await.unwrap();
    assert!(trail.iter().any(|e| e.action == "team.plan" && e.target == "enterprise" && e.actor == ops.id));
}

#[tokio::test]
async fn usage_is_for_admins_and_owners() {
    let w = world();
    let teams = w.team_service();
    let usage = teams.usage(&actor(ALICE), &alice_team()).await.unwrap();
    assert_eq!((usage.team.plan, usage.limits, usage.usage.concurrent_jobs), (Plan::Free, PlanLimits::FREE, 0));
    w.submitted(CONTEXT, CSV).await;
    assert_eq!(teams.usage(&actor(ALICE), &alice_team()).await.unwrap().usage.concurrent_jobs, 1);

    let team = teams.create(&actor(ALICE), "Data").await.unwrap().team.id;
    let invitation = teams.invite(&actor(ALICE), &team, Role::Member).await.unwrap();
    teams.accept(&actor(BOB), &invitation.token).await.unwrap();
    assert!(matches!(teams.usage(&actor(BOB), &team).await, Err(JobError::Forbidden(_))));
    assert!(matches!(teams.usage(&actor("carol"), &team).await, Err(JobError::NotFound(_))));
    teams.change_role(&actor(ALICE), &team, &BOB.into(), Role::Admin).await.unwrap();
    assert!(teams.usage(&actor(BOB), &team).await.is_ok());
}
