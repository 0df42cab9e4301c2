//! Pipeline webhooks: a run's end makes one delivery per webhook however often it is reported;
//! each attempt is signed and logged; a failure is postponed by a doubling backoff and the
//! delivery gives up only after 24 hours; a delivered, deleted or early message sends nothing.
//! Registration checks the URL and who asks; a URL must lead to public addresses over https,
//! when registered and again at each delivery.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use helix_domain::{
    ArtifactKind, Clock, DeliveryMessage, DeliveryStatus, JobStatus, MemoryWebhookQueue, MemoryWebhookStore, Pipeline,
    Role, WebhookDelivery, WebhookEvent, WebhookPost, WebhookSender, WebhookStore,
};
use helix_jobs::{
    Backoff, Destinations, HostResolver, JobError, MessageOutcome, NewPipeline, PipelineDefinition, PipelineRun,
    RunNotifier, SIGNATURE_HEADER, SignatureError, WebhookDeliverer, WebhookService, sign, verify,
};

use crate::support::*;

const SECRET: &str = "whsec_test";
const TOLERANCE: Duration = Duration::from_secs(300);
const BASE: Duration = Duration::from_secs(30);

/// Answers each POST with the next scripted answer (200 once the script runs out), and keeps
/// every POST.
/// With `destinations`, it refuses the URLs they refuse, as the HTTP sender does.
#[derive(Default)]
struct ScriptedReceiver {
    answers: Mutex<VecDeque<Result<u16, String>>>,
    posts: Mutex<Vec<WebhookPost>>,
    destinations: Option<Arc<Destinations>>,
}

impl ScriptedReceiver {
    fn answering(answers: impl IntoIterator<Item = Result<u16, String>>) -> Arc<Self> {
        Arc::new(Self { answers: Mutex::new(answers.into_iter().collect()), ..Self::default() })
    }

    fn posts(&self) -> Vec<WebhookPost> {
        self.posts.lock().unwrap().clone()
    }
}

#[async_trait]
impl WebhookSender for ScriptedReceiver {
    async fn post(&self, post: &WebhookPost) -> Result<u16, String> {
        self.posts.lock().unwrap().push(post.clone());
        self.answers.lock().unwrap().pop_front().unwrap_or(Ok(200))
    }

    async fn refuses(&self, url: &str) -> Option<String> {
        match &self.destinations {
            Some(destinations) => destinations.check(url).await.err(),
            None => None,
        }
    }
}

/// A DNS of a few names, changed by the tests; an address literal resolves to itself.
struct Dns(Mutex<HashMap<String, Vec<IpAddr>>>);

impl Dns {
    fn new() -> Arc<Self> {
        let names = [("example.test", "93.184.215.14"), ("intranet.test", "fd00::7")];
        let names = names.into_iter().map(|(host, ip)| (host.to_owned(), vec![ip.parse().unwrap()])).collect();
        Arc::new(Self(Mutex::new(names)))
    }

    fn point(&self, host: &str, ip: &str) {
        self.0.lock().unwrap().insert(host.to_owned(), vec![ip.parse().unwrap()]);
    }
}

#[async_trait]
impl HostResolver for Dns {
    async fn resolve(&self, host: &str, _port: u16) -> Result<Vec<IpAddr>, String> {
        if let Ok(ip) = host.trim_matches(['[', ']']).parse() {
            return Ok(vec![ip]);
        }
        self.0.lock().unwrap().get(host).cloned().ok_or_else(|| "no such host".into())
    }
}

struct Hooks {
    store: Arc<MemoryWebhookStore>,
    queue: Arc<MemoryWebhookQueue>,
    dns: Arc<Dns>,
}

impl Hooks {
    fn new() -> Self {
        Self { store: Arc::default(), queue: Arc::default(), dns: Dns::new() }
    }

    /// The cloud's rule: https to public addresses only.
    fn destinations(&self) -> Arc<Destinations> {
        Arc::new(Destinations { resolver: self.dns.clone(), allow_loopback: false })
    }

    fn notifier(&self, w: &World) -> Arc<RunNotifier> {
        Arc::new(RunNotifier { webhooks: self.store.clone(), queue: self.queue.clone(), clock: w.clock.clone() })
    }

    fn service(&self, w: &World) -> WebhookService {
        WebhookService {
            pipelines: Arc::new(w.pipeline_service()),
            webhooks: self.store.clone(),
            notifier: self.notifier(w),
            clock: w.clock.clone(),
            destinations: self.destinations(),
        }
    }

    fn deliverer(&self, w: &World, receiver: Arc<ScriptedReceiver>) -> WebhookDeliverer {
        WebhookDeliverer {
            webhooks: self.store.clone(),
            queue: self.queue.clone(),
            sender: receiver,
            clock: w.clock.clone(),
            backoff: Backoff::with_base(BASE),
        }
    }

    async fn delivery(&self, message: &DeliveryMessage) -> WebhookDelivery {
        self.store.delivery(&message.pipeline_id, &message.delivery_id).await.unwrap().expect("the delivery")
    }
}

async fn orders(w: &World) -> Pipeline {
    let definition = PipelineDefinition {
        context: Some(text("context", CONTEXT)),
        schema: Some(text("schema", SCHEMA)),
        ..PipelineDefinition::default()
    };
    let request = NewPipeline { name: "orders".into(), definition, ..NewPipeline::default() };
    w.pipeline_service().create(&actor(ALICE), request).await.unwrap().0
}

/// A run of the pipeline, run to COMPLETED by a worker that reports to `hooks`.
async fn completed_run(w: &World, hooks: &Hooks, pipeline: &Pipeline) -> helix_domain::Job {
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let run = PipelineRun { content: vec![content], ..PipelineRun::default() };
    let job = w.pipeline_service().run(&actor(ALICE), &pipeline.id, run).await.unwrap();
    let runner = w.runner().with_events(hooks.notifier(w));
    runner.run(&body(&job.id), 1).await;
    let job = w.job(&job.id).await;
    assert_eq!(job.status, JobStatus::Completed);
    job
}

#[test]
fn a_signature_verifies_with_its_secret_only_and_only_while_fresh() {
    let header = sign(SECRET, 1_800_000_000, r#"{"a":1}"#);
    assert!(header.starts_with("t=1800000000,v1="), "{header}");
    assert_eq!(verify(SECRET, &header, r#"{"a":1}"#, 1_800_000_100, TOLERANCE), Ok(()));
    assert_eq!(verify("whsec_other", &header, r#"{"a":1}"#, 1_800_000_100, TOLERANCE), Err(SignatureError::Mismatch));
    assert_eq!(verify(SECRET, &header, r#"{"a":2}"#, 1_800_000_100, TOLERANCE), Err(SignatureError::Mismatch));
    assert_eq!(verify(SECRET, &header, r#"{"a":1}"#, 1_800_000_301, TOLERANCE), Err(SignatureError::Expired));
    for malformed in ["", "v1=00", "t=1800000000", "t=x,v1=00", "t=1800000000,v1=zz"] {
        assert_eq!(
            verify(SECRET, malformed, "{}", 1_800_000_000, TOLERANCE),
            Err(SignatureError::Malformed),
            "{malformed}"
        );
    }
    // A receiver rotating secrets may see two v1 values: either may match.
    let rotated = format!("{header},v1={}", "00".repeat(32));
    assert_eq!(verify(SECRET, &rotated, r#"{"a":1}"#, 1_800_000_000, TOLERANCE), Ok(()));
}

#[test]
fn the_backoff_doubles_up_to_its_cap_and_ends_at_the_window() {
    let backoff = Backoff::with_base(BASE);
    let waits: Vec<u64> = (1..=5).map(|n| backoff.next(n, Duration::ZERO).unwrap().as_secs()).collect();
    assert_eq!(waits, [30, 60, 120, 240, 480]);
    assert_eq!(backoff.next(20, Duration::ZERO), Some(Backoff::CAP));
    assert_eq!(backoff.next(1, Backoff::WINDOW - Duration::from_secs(10)), Some(Duration::from_secs(10)));
    assert_eq!(backoff.next(1, Backoff::WINDOW), None);
    // Every wait of a delivery that never succeeds adds up to the window, in about 14 attempts.
    let (mut elapsed, mut attempts) = (Duration::ZERO, 1);
    while let Some(wait) = backoff.next(attempts, elapsed) {
        elapsed += wait;
        attempts += 1;
    }
    assert_eq!(elapsed, Backoff::WINDOW);
    assert!((12..=16).contains(&attempts), "{attempts} attempts");
}

#[tokio::test]
async fn a_runs_end_makes_one_delivery_per_webhook_however_often_it_is_reported() {
    let w = world();
    let hooks = Hooks::new();
    let pipeline = orders(&w).await;
    let service = hooks.service(&w);
    let first = service.register(&actor(ALICE), &pipeline.id, "https://example.test/a").await.unwrap();
    service.register(&actor(ALICE), &pipeline.id, "https://example.test/b").await.unwrap();
    let job = completed_run(&w, &hooks, &pipeline).await;
    assert_eq!(hooks.queue.sent().len(), 2);

    // The worker's message again (a redelivery after a crash): the same deliveries, sent again.
    w.runner().with_events(hooks.notifier(&w)).run(&format!("{} ", body(&job.id)), 2).await;
    let deliveries = hooks.store.deliveries(&pipeline.id, 10).await.unwrap();
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert_eq!(hooks.queue.sent().len(), 4, "the messages are sent again; the deliverer drops the copies");
    let delivery = deliveries.iter().find(|d| d.webhook_id == first.id).unwrap();
    assert_eq!((delivery.event, delivery.status), (WebhookEvent::RunCompleted, DeliveryStatus::Pending));
    let sent: serde_json::Value = serde_json::from_str(&delivery.body).unwrap();
    assert_eq!(sent["type"], "run.completed");
    assert_eq!(sent["id"], delivery.id.as_str());
    assert_eq!(sent["job"]["id"], job.id.as_str());
    assert_eq!(sent["pipeline_id"], pipeline.id.as_str());
    assert_eq!(sent["pipeline_version"], 1);

    // A job of no pipeline tells nobody.
    w.job_queue.take();
    let plain = w.submitted(CONTEXT, CSV).await;
    w.runner().with_events(hooks.notifier(&w)).run(&body(&plain.id), 1).await;
    assert_eq!(hooks.queue.sent().len(), 4);
}

#[tokio::test]
async fn a_cancelled_run_is_reported_by_the_api() {
    let w = world();
    let hooks = Hooks::new();
    let pipeline = orders(&w).await;
    let service = hooks.service(&w);
    service.register(&actor(ALICE), &pipeline.id, "https://example.test/a").await.unwrap();
    let content = w.upload(ALICE, ArtifactKind::Content, "orders.csv", CSV.as_bytes()).await;
    let run = PipelineRun { content: vec![content], ..PipelineRun::default() };
    let job = w.pipeline_service().run(&actor(ALICE), &pipeline.id, run).await.unwrap();
    let cancelled = w.service().cancel(&actor(ALICE), &job.id).await.unwrap();
    service.run_ended(&cancelled).await;
    let deliveries = hooks.store.deliveries(&pipeline.id, 10).await.unwrap();
    assert_eq!(deliveries.iter().map(|d| d.event).collect::<Vec<_>>(), [WebhookEvent::RunCancelled]);
}

#[tokio::test]
async fn a_receiver_down_for_three_attempts_gets_the_signed_event_on_the_fourth() {
    let w = world();
    let hooks = Hooks::new();
    let pipeline = orders(&w).await;
    let webhook = hooks.service(&w).register(&actor(ALICE), &pipeline.id, "https://example.test/hook").await.unwrap();
    completed_run(&w, &hooks, &pipeline).await;
    let message = hooks.queue.sent().remove(0);
    let receiver =
        ScriptedReceiver::answering([Err("could not connect to the receiver".into()), Ok(503), Ok(500), Ok(204)]);
    let deliverer = hooks.deliverer(&w, receiver.clone());

    for (attempt, wait) in [(1, 30), (2, 60), (3, 120)] {
        let outcome = deliverer.deliver(&message, Some("receipt")).await;
        assert!(matches!(outcome, MessageOutcome::Retry(_)), "attempt {attempt}: {outcome:?}");
        assert_eq!(hooks.queue.postponed().last(), Some(&("receipt".to_owned(), Duration::from_secs(wait))));
        let delivery = hooks.delivery(&message).await;
        assert_eq!((delivery.status, delivery.attempts.len()), (DeliveryStatus::Pending, attempt));
        assert_eq!(delivery.next_attempt_at, Some(w.clock.now().plus(Duration::from_secs(wait))));
        w.clock.advance(Duration::from_secs(wait));
    }
    assert!(matches!(deliverer.deliver(&message, Some("receipt")).await, MessageOutcome::Done));

    let delivery = hooks.delivery(&message).await;
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    let logged: Vec<_> = delivery.attempts.iter().map(|a| (a.number, a.status_code, a.error.is_some())).collect();
    assert_eq!(logged, [(1, None, true), (2, Some(503), true), (3, Some(500), true), (4, Some(204), false)]);
    assert_eq!(delivery.attempts[0].error.as_deref(), Some("could not connect to the receiver"));
    let posts = receiver.posts();
    assert_eq!(posts.len(), 4);
    for post in &posts {
        assert_eq!(post.url, "https://example.test/hook");
        assert_eq!(post.body, delivery.body, "every attempt sends the same body");
        let header = &post.headers.iter().find(|(n, _)| n == SIGNATURE_HEADER).unwrap().1;
        assert_eq!(verify(&webhook.secret, header, &post.body, w.clock.now().unix(), TOLERANCE), Ok(()));
        let id = &post.headers.iter().find(|(n, _)| n == "Helix-Delivery").unwrap().1;
        assert_eq!(id, &delivery.id);
    }

    // A copy of the message after the delivery: nothing is sent.
    assert!(matches!(deliverer.deliver(&message, Some("copy")).await, MessageOutcome::Done));
    assert_eq!(receiver.posts().len(), 4);
}

#[tokio::test]
async fn an_early_copy_waits_and_a_spent_window_gives_up() {
    let w = world();
    let hooks = Hooks::new();
    let pipeline = orders(&w).await;
    hooks.service(&w).register(&actor(ALICE), &pipeline.id, "https://example.test/hook").await.unwrap();
    completed_run(&w, &hooks, &pipeline).await;
    let message = hooks.queue.sent().remove(0);
    let receiver = ScriptedReceiver::answering(std::iter::repeat_n(Ok(500), 100));
    let deliverer = hooks.deliverer(&w, receiver.clone());
    deliverer.deliver(&message, Some("first")).await;
    w.clock.advance(Duration::from_secs(10));
    // Another copy arrives 10 s into a 30 s wait: it is put back for the 20 s left, unsent.
    assert!(matches!(deliverer.deliver(&message, Some("copy")).await, MessageOutcome::Retry(_)));
    assert_eq!(hooks.queue.postponed().last(), Some(&("copy".to_owned(), Duration::from_secs(20))));
    assert_eq!(receiver.posts().len(), 1);

    let mut outcome = MessageOutcome::Retry(String::new());
    for _ in 0..30 {
        let due = hooks.delivery(&message).await.next_attempt_at;
        let Some(due) = due else { break };
        w.clock.advance(Duration::from_secs_f64(due.seconds_since(&w.clock.now()).max(0.0)));
        outcome = deliverer.deliver(&message, Some("receipt")).await;
    }
    assert!(matches!(outcome, MessageOutcome::Done), "{outcome:?}");
    let delivery = hooks.delivery(&message).await;
    assert_eq!(delivery.status, DeliveryStatus::GaveUp);
    let last = delivery.attempts.last().unwrap().at;
    assert_eq!(last.seconds_since(&delivery.created_at), Backoff::WINDOW.as_secs_f64(), "the last try at 24 h");
}

#[tokio::test]
async fn a_deleted_webhooks_pending_delivery_gives_up_unsent() {
    let w = world();
    let hooks = Hooks::new();
    let pipeline = orders(&w).await;
    let service = hooks.service(&w);
    let webhook = service.register(&actor(ALICE), &pipeline.id, "https://example.test/hook").await.unwrap();
    completed_run(&w, &hooks, &pipeline).await;
    service.delete(&actor(ALICE), &pipeline.id, &webhook.id).await.unwrap();
    let receiver = ScriptedReceiver::answering([]);
    let message = hooks.queue.sent().remove(0);
    assert!(matches!(hooks.deliverer(&w, receiver.clone()).deliver(&message, None).await, MessageOutcome::Done));
    let delivery = hooks.delivery(&message).await;
    assert_eq!(delivery.status, DeliveryStatus::GaveUp);
    assert_eq!(delivery.attempts[0].error.as_deref(), Some("not sent: the webhook was deleted"));
    assert!(receiver.posts().is_empty());
    assert!(service.list(&actor(ALICE), &pipeline.id).await.unwrap().is_empty());
    assert!(matches!(service.delete(&actor(ALICE), &pipeline.id, &webhook.id).await, Err(JobError::NotFound(_))));
}

#[tokio::test]
async fn registration_checks_the_url_and_who_asks() {
    let w = world();
    let hooks = Hooks::new();
    let service = hooks.service(&w);
    let teams = w.team_service();
    let team = teams.create(&actor(ALICE), "Integration").await.unwrap().team.id;
    let invitation = teams.invite(&actor(ALICE), &team, Role::Viewer).await.unwrap();
    teams.accept(&actor(BOB), &invitation.token).await.unwrap();
    let definition = PipelineDefinition {
        context: Some(text("context", CONTEXT)),
        schema: Some(text("schema", SCHEMA)),
        ..PipelineDefinition::default()
    };
    let request = NewPipeline { team_id: Some(team), name: "orders".into(), definition, ..NewPipeline::default() };
    let pipeline = w.pipeline_service().create(&actor(ALICE), request).await.unwrap().0;

    for (url, reason) in [
        ("", "1 to 2000 characters"),
        ("not a url", "is not a URL"),
        ("ftp://example.test/x", "http or https"),
        ("https://user:pw@example.test/x", "credentials"),
    ] {
        match service.register(&actor(ALICE), &pipeline.id, url).await {
            Err(JobError::Invalid { field, message }) => {
                assert_eq!(field, "url");
                assert!(message.contains(reason), "{url}: {message}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    assert!(matches!(
        service.register(&actor(BOB), &pipeline.id, "https://example.test/x").await,
        Err(JobError::Forbidden(_))
    ));
    assert!(matches!(
        service.register(&actor("carol"), &pipeline.id, "https://example.test/x").await,
        Err(JobError::NotFound(_))
    ));
    assert!(matches!(service.deliveries(&actor("carol"), &pipeline.id).await, Err(JobError::NotFound(_))));

    let made = service.register(&actor(ALICE), &pipeline.id, "https://example.test/x").await.unwrap();
    assert!(made.secret.starts_with("whsec_") && made.secret.len() > 40, "{}", made.secret);
    assert_eq!(service.list(&actor(BOB), &pipeline.id).await.unwrap().len(), 1, "a viewer reads them");
    assert!(matches!(service.delete(&actor(BOB), &pipeline.id, &made.id).await, Err(JobError::Forbidden(_))));
    for n in 1..helix_jobs::MAX_WEBHOOKS_PER_PIPELINE {
        service.register(&actor(ALICE), &pipeline.id, &format!("https://example.test/{n}")).await.unwrap();
    }
    assert!(matches!(
        service.register(&actor(ALICE), &pipeline.id, "https://example.test/11").await,
        Err(JobError::Conflict(_))
    ));
}

#[tokio::test]
async fn destinations_outside_the_public_internet_are_refused_when_registered_and_when_delivered() {
    let w = world();
    let hooks = Hooks::new();
    let pipeline = orders(&w).await;
    let service = hooks.service(&w);
    for (url, reason) in [
        ("http://example.test/hook", "must be https"),
        ("https://10.0.0.5/hook", "10.0.0.5 is a private address"),
        ("https://169.254.169.254/latest/meta-data/", "link-local (the cloud metadata address among them)"),
        ("https://127.0.0.1:8443/hook", "loopback"),
        ("https://[::ffff:192.168.0.1]/hook", "private"),
        ("https://intranet.test/hook", "intranet.test resolves to fd00::7, a unique-local address"),
        ("https://nowhere.test/hook", "does not resolve"),
    ] {
        match service.register(&actor(ALICE), &pipeline.id, url).await {
            Err(JobError::Invalid { field, message }) => {
                assert_eq!(field, "url");
                assert!(message.contains(reason), "{url}: {message}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    let loopback = Destinations { resolver: hooks.dns.clone(), allow_loopback: true };
    assert_eq!(loopback.check("http://127.0.0.1:9000/hook").await, Ok(()), "local development");

    service.register(&actor(ALICE), &pipeline.id, "https://example.test/hook").await.unwrap();
    completed_run(&w, &hooks, &pipeline).await;
    // The name now leads into the network (DNS changed after registration): refused, logged, not retried.
    hooks.dns.point("example.test", "10.20.30.40");
    let receiver =
        Arc::new(ScriptedReceiver { destinations: Some(hooks.destinations()), ..ScriptedReceiver::default() });
    let message = hooks.queue.sent().remove(0);
    assert!(matches!(hooks.deliverer(&w, receiver.clone()).deliver(&message, Some("r-1")).await, MessageOutcome::Done));
    let delivery = hooks.delivery(&message).await;
    assert_eq!((delivery.status, delivery.next_attempt_at), (DeliveryStatus::GaveUp, None));
    let error = delivery.attempts[0].error.as_deref().unwrap();
    assert!(
        error.starts_with("not sent: the destination is refused") && error.contains("10.20.30.40, a private address"),
        "{error}"
    );
    assert!(receiver.posts().is_empty(), "nothing was sent");
    assert!(hooks.queue.postponed().is_empty(), "not tried again");
}
