//! One big input over many workers: the shard messages a sharded job sends, run in any order,
//! give the job the same result and reject report, byte for byte, as one worker gives it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use helix_domain::memory::MemoryBlobs;
use helix_domain::ports::ListedBlob;
use helix_domain::shard::MemoryShardStore;
use helix_domain::{
    ArtifactKind, BlobHead, Blobs, Clock, Job, JobId, JobMessage, JobStatus, ManualClock, PartUpload, PresignedRequest,
    ShardProgress, ShardStore, ShardTask, StoreError, StoredPart,
};
use helix_jobs::metering::UsageLedger;
use helix_jobs::{
    JobRequest, JobRunner, MessageOutcome, RunnerConfig, RunnerPorts, ShardConfig, ShardWork, ShardedTransformAttempt,
    Sharding,
};

use crate::support::*;

const SHARD_BYTES: u64 = 1024;

/// Maps every column and where the record was read: line numbers and record indexes must be
/// the whole file's in every shard.
fn context(format: &str) -> String {
    format!(
        "output:\n  format: {format}\nfields:\n  id: \"{{{{ id }}}}\"\n  qty: \"{{{{ qty }}}}\"\n  note: \"{{{{ note }}}}\"\n  \
         line: \"{{{{ meta.line }}}}\"\n  index: \"{{{{ meta.index }}}}\"\n"
    )
}

const WIDE_SCHEMA: &str = r#"{
  "type": "object",
  "required": ["id", "qty"],
  "properties": {"id": {"type": "string"}, "qty": {"type": "integer", "minimum": 0}, "note": {"type": "string"}}
}"#;

/// About 20 KiB: notes with line breaks and escaped quotes inside quotes, CRLF and LF line ends,
/// blank lines, and every seventh quantity negative (rejected).
fn big_csv() -> String {
    let mut csv = String::from("id,qty,note\n");
    for i in 0..400 {
        let qty = if i % 7 == 3 { -(i as i64) } else { i as i64 };
        let note = match i % 5 {
            0 => format!("\"line one\nline two of {i}\""),
            1 => format!("\"a \"\"quoted\"\" word, and\r\n{}\"", "x".repeat(i % 40)),
            2 => "plain".to_owned(),
            3 => String::new(),
            _ => format!("\"{}\n\n{}\"", "long ".repeat(i % 23), i),
        };
        let end = if i % 3 == 0 { "\r\n" } else { "\n" };
        csv.push_str(&format!("r{i},{qty},{note}{end}"));
        if i % 50 == 17 {
            csv.push('\n');
        }
    }
    csv
}

/// Whether some shard's nominal boundary falls inside a quoted field: the split must move it.
fn a_boundary_is_inside_quotes(csv: &str) -> bool {
    let data_start = csv.find('\n').unwrap() + 1;
    let mut inside = false;
    let mut quoted_at = Vec::new();
    for b in csv.bytes() {
        if b == b'"' {
            inside = !inside;
        }
        quoted_at.push(inside);
    }
    (1..).map(|k| data_start + k * SHARD_BYTES as usize).take_while(|&b| b < csv.len()).any(|b| quoted_at[b])
}

struct Sharded {
    world: World,
    runner: JobRunner,
    store: Arc<MemoryShardStore>,
}

fn sharded() -> Sharded {
    sharded_by(SHARD_BYTES)
}

fn sharded_by(shard_bytes: u64) -> Sharded {
    let world = world();
    let ports = world.ports();
    sharded_over(world, ports, LEASE, shard_bytes)
}

/// A sharding worker of `world` through `ports`, holding jobs for `lease`.
fn sharded_over(world: World, ports: RunnerPorts, lease: Duration, shard_bytes: u64) -> Sharded {
    let store = Arc::new(MemoryShardStore::default());
    let sharding = Sharding {
        queue: world.job_queue.clone(),
        store: store.clone(),
        config: ShardConfig { threshold_bytes: 4 * SHARD_BYTES, shard_bytes, min_part_bytes: 700 },
        work: ShardWork::per_core(),
    };
    let config = RunnerConfig { name: "worker", max_attempts: MAX_ATTEMPTS, lease };
    let runner = JobRunner::new(ports, config, vec![Arc::new(ShardedTransformAttempt::new(sharding))]);
    Sharded { world, runner, store }
}

async fn submit(world: &World, context: &str, csv: &str) -> Job {
    submit_file(world, "orders.csv", context, csv).await
}

async fn submit_file(world: &World, name: &str, context: &str, content: &str) -> Job {
    let content = world.upload(ALICE, ArtifactKind::Content, name, content.as_bytes()).await;
    let request = JobRequest {
        context: Some(text("context", context)),
        schema: Some(text("schema", WIDE_SCHEMA)),
        ..transform(vec![content])
    };
    let job = world.service().submit(&actor(ALICE), request).await.unwrap();
    assert_eq!(world.job_queue.take().len(), 1);
    job
}

/// The job's result and reject report.
async fn outputs(world: &World, id: &JobId) -> (Vec<u8>, Vec<u8>) {
    let job = world.job(id).await;
    assert_eq!(job.status, JobStatus::Completed, "{:?}", job.error);
    let read = |artifact| async move {
        let artifact = world.artifact(artifact).await;
        world.blobs.object(&artifact.s3_key).unwrap().body
    };
    (read(job.result_artifact_id.as_ref().unwrap()).await, read(job.error_report_artifact_id.as_ref().unwrap()).await)
}

/// The job on one worker.
async fn on_one_worker(context: &str, csv: &str) -> (Vec<u8>, Vec<u8>) {
    let world = world();
    let job = submit(&world, context, csv).await;
    assert!(matches!(world.runner().run(&body(&job.id), 1).await, MessageOutcome::Done));
    outputs(&world, &job.id).await
}

/// A job's counts, as its JSON shows them.
fn counts(job: &Job) -> [Option<u64>; 3] {
    [job.records_in, job.records_out, job.records_rejected]
}

fn body_of(message: &JobMessage) -> String {
    serde_json::to_string(message).unwrap()
}

/// Runs the queued messages, the newest first (any order must do), until none is left.
async fn drain(sharded: &Sharded) -> Vec<JobMessage> {
    let mut ran = Vec::new();
    loop {
        let mut messages = sharded.world.job_queue.take();
        if messages.is_empty() {
            return ran;
        }
        messages.reverse();
        for message in messages {
            assert!(matches!(sharded.runner.run(&body_of(&message), 1).await, MessageOutcome::Done), "{message:?}");
            ran.push(message);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_big_csv_on_many_workers_is_byte_identical_to_one_worker() {
    let csv = big_csv();
    assert!(a_boundary_is_inside_quotes(&csv), "the test file must have quoted line breaks across shard ends");
    for format in ["json", "ndjson"] {
        let context = context(format);
        let (result, report) = on_one_worker(&context, &csv).await;
        let sharded = sharded();
        let job = submit(&sharded.world, &context, &csv).await;

        assert!(matches!(sharded.runner.run(&body(&job.id), 1).await, MessageOutcome::Done));
        let fanned = sharded.world.job(&job.id).await;
        assert_eq!(fanned.status, JobStatus::Running);
        let total = fanned.shards.unwrap().total;
        assert!(total >= 8, "{total} shards");
        let ran = drain(&sharded).await;
        let scans = ran.iter().filter(|m| matches!(m.shard, Some(ShardTask::Scan { .. }))).count();
        let maps = ran.iter().filter(|m| matches!(m.shard, Some(ShardTask::Map { .. }))).count();
        assert_eq!((scans, maps), (total as usize, total as usize));
        // Every shard task is metered once, with its reads: at least one range each way.
        let usage = sharded.world.usage.job_usage(&job.id).await.unwrap();
        assert!(usage.s3_get_requests >= 2 * u64::from(total), "{usage:?}");
        assert!(usage.sqs_requests >= 4 * u64::from(total), "{usage:?}");

        let (sharded_result, sharded_report) = outputs(&sharded.world, &job.id).await;
        assert_eq!(String::from_utf8_lossy(&sharded_result), String::from_utf8_lossy(&result), "{format} result");
        assert_eq!(String::from_utf8_lossy(&sharded_report), String::from_utf8_lossy(&report), "{format} report");
        let done = sharded.world.job(&job.id).await;
        assert_eq!(done.shards, Some(ShardProgress { total, done: total, failed: 0 }));
        assert_eq!(done.records_rejected, Some((0..400).filter(|i| i % 7 == 3).count() as u64));
        assert!(
            sharded.world.blobs.keys().iter().all(|k| !k.starts_with("shards/")),
            "the shards' intermediate objects are removed"
        );
        // A redelivered shard message does nothing more.
        let again = JobMessage { shard: Some(ShardTask::Map { attempt: 1, index: 2 }), ..done.message() };
        assert!(matches!(sharded.runner.run(&body_of(&again), 2).await, MessageOutcome::Done));
        assert_eq!(outputs(&sharded.world, &job.id).await, (result, report));
        assert_eq!(sharded.world.usage.job_usage(&job.id).await.unwrap(), usage, "nothing metered twice");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_shard_is_retried_alone_and_one_failing_for_good_fails_the_job() {
    let csv = big_csv();
    let context = context("ndjson");
    let (result, report) = on_one_worker(&context, &csv).await;
    for gives_up in [false, true] {
        let sharded = sharded();
        let job = submit(&sharded.world, &context, &csv).await;
        sharded.runner.run(&body(&job.id), 1).await;
        // Every scan, then every map but the third.
        for message in sharded.world.job_queue.take() {
            assert!(matches!(sharded.runner.run(&body_of(&message), 1).await, MessageOutcome::Done));
        }
        let maps = sharded.world.job_queue.take();
        let total = maps.len() as u32;
        let third = maps[2].clone();
        for message in maps.iter().filter(|m| **m != third) {
            assert!(matches!(sharded.runner.run(&body_of(message), 1).await, MessageOutcome::Done));
        }
        let waiting = sharded.world.job(&job.id).await;
        assert_eq!(waiting.status, JobStatus::Running);
        assert_eq!(waiting.shards, Some(ShardProgress { total, done: total - 1, failed: 0 }));

        sharded.world.blobs.outage.set(true);
        let deliveries = if gives_up { MAX_ATTEMPTS } else { 1 };
        let failed = sharded.runner.run(&body_of(&third), deliveries).await;
        assert!(matches!(failed, MessageOutcome::Retry(_)), "{failed:?}");
        sharded.world.blobs.outage.set(false);
        if gives_up {
            let job = sharded.world.job(&job.id).await;
            assert_eq!(job.status, JobStatus::Failed);
            let error = job.error.unwrap();
            assert!(error.starts_with(&format!("shard 2 of {total} gave up after 3 attempts")), "{error}");
            assert_eq!(job.shards, Some(ShardProgress { total, done: total - 1, failed: 1 }));
            // The bucket was down, so its intermediates wait for the lifecycle rule.
            continue;
        }
        // The next delivery of that one message completes the job; no other shard runs again.
        assert!(matches!(sharded.runner.run(&body_of(&third), 2).await, MessageOutcome::Done));
        assert!(sharded.world.job_queue.take().is_empty());
        assert_eq!(outputs(&sharded.world, &job.id).await, (result.clone(), report.clone()));
        let plan = sharded.store.get(&job.id, 1).await.unwrap().unwrap();
        assert_eq!(plan.outputs.len() as u32, total);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quote_inside_an_unquoted_field_runs_the_job_on_one_worker_and_it_is_still_right() {
    let mut csv = big_csv();
    // A stray quote two thirds in: parity no longer says what is quoted after it.
    let at = csv[csv.len() * 2 / 3..].find("plain").unwrap() + csv.len() * 2 / 3;
    csv.replace_range(at..at + 5, "5\" tv");
    let context = context("json");
    let (result, report) = on_one_worker(&context, &csv).await;
    let sharded = sharded();
    let job = submit(&sharded.world, &context, &csv).await;
    sharded.runner.run(&body(&job.id), 1).await;
    let ran = drain(&sharded).await;

    assert!(ran.iter().any(|m| m.shard == Some(ShardTask::OneWorker { attempt: 1 })), "{ran:?}");
    assert!(!ran.iter().any(|m| matches!(m.shard, Some(ShardTask::Map { .. }))), "no shard was mapped");
    let done = sharded.world.job(&job.id).await;
    assert_eq!(done.attempts, 2, "the sharded attempt, then one worker's");
    assert_eq!(outputs(&sharded.world, &job.id).await, (result, report));
}

#[tokio::test(flavor = "multi_thread")]
async fn small_inputs_and_grouping_contexts_run_on_one_worker() {
    let sharded = sharded();
    let small = submit(&sharded.world, &context("json"), "id,qty,note\na,1,x\n").await;
    sharded.runner.run(&body(&small.id), 1).await;
    assert!(sharded.world.job_queue.take().is_empty());
    assert_eq!(sharded.world.job(&small.id).await.shards, None);

    let grouping = "group:\n  by: \"{{ id }}\"\nfields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n";
    let grouped = submit(&sharded.world, grouping, &big_csv()).await;
    sharded.runner.run(&body(&grouped.id), 1).await;
    assert!(sharded.world.job_queue.take().is_empty());
    let job = sharded.world.job(&grouped.id).await;
    assert_eq!((job.status, job.shards), (JobStatus::Completed, None));
}

/// A flat IDoc line: the segment name in columns 1–30, then the client, the IDoc number,
/// SEGNUM, PSGNUM, HLEVEL and SDATA.
fn segment(name: &str, docnum: u32, segnum: u32, parent: u32, level: u32, sdata: &str) -> String {
    format!("{name:<30}800{docnum:016}{segnum:06}{parent:06}{level:02}{sdata}")
}

/// About 290 KiB of ORDERS IDocs of 2 to 80 segments (many longer than a shard), with blank
/// lines between some, CRLF in a quarter of them (LF is the file's line end, though not in its
/// first few KiB), non-ASCII text, a data segment whose name starts `EDI_DC40`, and every fifth
/// order's first quantity negative (rejected), as is an order without items.
fn big_idoc() -> String {
    let mut text = String::new();
    for docnum in 0..90u32 {
        let end = if docnum % 4 == 1 { "\r\n" } else { "\n" };
        let tabnam = if docnum % 9 == 4 { "EDI_DC" } else { "EDI_DC40" };
        let control = format!("{tabnam:<10}800{docnum:016}740 3022  {:<60}{:<30}", "ORDERS05", "ORDERS");
        let mut lines = vec![control, segment("E2EDK01005", docnum, 1, 0, 1, &format!("EUR Müller {docnum}"))];
        for item in 0..(docnum * 7 % 40) {
            let qty = if docnum % 5 == 2 && item == 0 { -7 } else { i64::from(item) };
            lines.push(segment("E2EDP01008", docnum, 2 + 2 * item, 0, 2, &format!("{qty}")));
            lines.push(segment("E2EDP19001", docnum, 3 + 2 * item, 2 + 2 * item, 3, "002MAT-4711"));
        }
        if docnum % 11 == 3 {
            lines.push(segment("EDI_DC400", docnum, 99, 0, 1, "not a control record"));
        }
        text.push_str(&lines.join(end));
        text.push_str(end);
        if docnum % 6 == 5 {
            text.push_str("\n  \n");
        }
    }
    text
}

const IDOC_CONTEXT: &str = "fields:\n  id: \"{{ EDI_DC40.DOCNUM }}\"\n  qty: \"{{ E1EDP01[0].SDATA if E1EDP01 else 0 }}\"\n  \
    note: \"{{ E1EDK01[0].SDATA }} {{ EDI_DC40.TABNAM }} {{ E1EDP01 | length if E1EDP01 else 0 }}\"\n  \
    line: \"{{ meta.line }}\"\n  index: \"{{ meta.index }}\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_big_idoc_file_on_many_workers_is_byte_identical_to_one_worker_whatever_the_shard_size() {
    let idoc = big_idoc();
    let world = world();
    let single = submit_file(&world, "orders.idoc", IDOC_CONTEXT, &idoc).await;
    assert!(matches!(world.runner().run(&body(&single.id), 1).await, MessageOutcome::Done));
    let (result, report) = outputs(&world, &single.id).await;
    let single = world.job(&single.id).await;
    assert_eq!(counts(&single), [Some(90), Some(69), Some(21)]);

    for shard_bytes in [300, 1024, 4096] {
        let sharded = sharded_by(shard_bytes);
        let job = submit_file(&sharded.world, "orders.idoc", IDOC_CONTEXT, &idoc).await;
        assert!(matches!(sharded.runner.run(&body(&job.id), 1).await, MessageOutcome::Done));
        let total = sharded.world.job(&job.id).await.shards.unwrap().total;
        assert!(total >= 5, "{shard_bytes}: {total} shards");
        let ran = drain(&sharded).await;
        assert!(!ran.iter().any(|m| matches!(m.shard, Some(ShardTask::OneWorker { .. }))), "{shard_bytes}: {ran:?}");

        let (sharded_result, sharded_report) = outputs(&sharded.world, &job.id).await;
        assert_eq!(String::from_utf8_lossy(&sharded_result), String::from_utf8_lossy(&result), "{shard_bytes}");
        assert_eq!(String::from_utf8_lossy(&sharded_report), String::from_utf8_lossy(&report), "{shard_bytes}");
        let done = sharded.world.job(&job.id).await;
        assert_eq!((done.attempts, counts(&done)), (1, counts(&single)), "{shard_bytes}");
        assert_eq!(done.shards, Some(ShardProgress { total, done: total, failed: 0 }));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idoc_file_a_byte_scan_cannot_split_runs_on_one_worker_and_it_is_still_right() {
    let mut idoc = big_idoc();
    // TABNAM padded with no-break spaces: a control record to the reader, unclear to a byte scan.
    let at = idoc.len() / 2 + idoc[idoc.len() / 2..].find("EDI_DC40  ").unwrap();
    idoc.replace_range(at..at + 10, "EDI_DC40\u{a0}\u{a0}");
    let world = world();
    let single = submit_file(&world, "orders.idoc", IDOC_CONTEXT, &idoc).await;
    world.runner().run(&body(&single.id), 1).await;
    let expected = outputs(&world, &single.id).await;

    let sharded = sharded();
    let job = submit_file(&sharded.world, "orders.idoc", IDOC_CONTEXT, &idoc).await;
    sharded.runner.run(&body(&job.id), 1).await;
    let ran = drain(&sharded).await;
    assert!(ran.iter().any(|m| m.shard == Some(ShardTask::OneWorker { attempt: 1 })), "{ran:?}");
    assert!(!ran.iter().any(|m| matches!(m.shard, Some(ShardTask::Map { .. }))), "no shard was mapped");
    assert_eq!(sharded.world.job(&job.id).await.attempts, 2, "the sharded attempt, then one worker's");
    assert_eq!(outputs(&sharded.world, &job.id).await, expected);
}

/// The world's bucket, whose reads of anything but the shards' intermediates take `step` three
/// times while `slow` is up, the world's clock moving with each: a big shard on a busy worker.
struct SlowBlobs {
    inner: Arc<MemoryBlobs>,
    clock: Arc<ManualClock>,
    slow: AtomicBool,
    step: Duration,
}

#[async_trait]
impl Blobs for SlowBlobs {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        self.inner.presign_upload(key, content_type, content_length, expires_in).await
    }
    async fn presign_download(
        &self,
        key: &str,
        filename: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        self.inner.presign_download(key, filename, expires_in).await
    }
    async fn put_bytes(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        self.inner.put_bytes(key, body, content_type).await
    }
    async fn get_bytes(&self, key: &str, limit: u64) -> Result<Vec<u8>, StoreError> {
        self.inner.get_bytes(key, limit).await
    }
    async fn head(&self, key: &str) -> Result<Option<BlobHead>, StoreError> {
        self.inner.head(key).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.inner.copy(from, to).await
    }
    async fn start_multipart(&self, key: &str, content_type: &str) -> Result<String, StoreError> {
        self.inner.start_multipart(key, content_type).await
    }
    async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part: &PartUpload,
        expires_in: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        self.inner.presign_part(key, upload_id, part, expires_in).await
    }
    async fn list_parts(&self, key: &str, upload_id: &str) -> Result<Vec<StoredPart>, StoreError> {
        self.inner.list_parts(key, upload_id).await
    }
    async fn complete_multipart(&self, key: &str, upload_id: &str, parts: &[StoredPart]) -> Result<(), StoreError> {
        self.inner.complete_multipart(key, upload_id, parts).await
    }
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), StoreError> {
        self.inner.abort_multipart(key, upload_id).await
    }
    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: Vec<u8>,
    ) -> Result<StoredPart, StoreError> {
        self.inner.upload_part(key, upload_id, part_number, body).await
    }
    async fn upload_part_copy(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        from: &str,
        range: std::ops::Range<u64>,
    ) -> Result<StoredPart, StoreError> {
        self.inner.upload_part_copy(key, upload_id, part_number, from, range).await
    }
    async fn read_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>, StoreError> {
        if self.slow.load(Ordering::SeqCst) && !key.starts_with("shards/") {
            for _ in 0..3 {
                tokio::time::sleep(self.step).await;
                self.clock.advance(self.step);
            }
        }
        self.inner.read_range(key, start, len).await
    }
    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<ListedBlob>, StoreError> {
        self.inner.list(prefix, limit).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_shard_keeps_its_job_leased_and_the_merge_still_settles_it() {
    // A job's lease counts whole seconds. Each slow read takes three quarters of the lease, and a
    // shard's scan or map reads twice or more: over a second more than the lease.
    const LEASE: Duration = Duration::from_secs(2);
    let world = world();
    let blobs = Arc::new(SlowBlobs {
        inner: world.blobs.clone(),
        clock: world.clock.clone(),
        slow: AtomicBool::new(false),
        step: LEASE / 4,
    });
    let ports = RunnerPorts { blobs: blobs.clone(), ..world.ports() };
    let sharded = sharded_over(world, ports, LEASE, SHARD_BYTES);
    let csv = big_csv();
    let context = context("ndjson");
    let expected = on_one_worker(&context, &csv).await;
    let job = submit(&sharded.world, &context, &csv).await;
    sharded.runner.run(&body(&job.id), 1).await;
    let leased = |job: Job| job.lease_expires_at.is_some_and(|until| until >= sharded.world.clock.now().unix());
    let run_slowly = async |message: &JobMessage| {
        blobs.slow.store(true, Ordering::SeqCst);
        let started = sharded.world.clock.now();
        assert!(matches!(sharded.runner.run(&body_of(message), 1).await, MessageOutcome::Done));
        blobs.slow.store(false, Ordering::SeqCst);
        let outlasted = started.plus(LEASE + Duration::from_secs(1));
        assert!(sharded.world.clock.now() >= outlasted, "the shard outlasted the lease");
    };

    let scans = sharded.world.job_queue.take();
    run_slowly(&scans[1]).await;
    assert!(leased(sharded.world.job(&job.id).await), "the scan renewed the lease");
    for scan in scans.iter().filter(|m| **m != scans[1]) {
        assert!(matches!(sharded.runner.run(&body_of(scan), 1).await, MessageOutcome::Done));
    }
    let maps = sharded.world.job_queue.take();
    run_slowly(&maps[1]).await;
    assert!(leased(sharded.world.job(&job.id).await), "the map renewed the lease");
    for map in maps.iter().filter(|m| **m != maps[1] && **m != maps[2]) {
        assert!(matches!(sharded.runner.run(&body_of(map), 1).await, MessageOutcome::Done));
    }
    // The last map merges and settles the job once its heartbeat has stopped.
    run_slowly(&maps[2]).await;
    let done = sharded.world.job(&job.id).await;
    assert_eq!((done.status, done.attempts, done.lease_expires_at), (JobStatus::Completed, 1, None));
    assert_eq!(outputs(&sharded.world, &job.id).await, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_whose_settle_another_write_came_before_settles_the_job_still() {
    let world = world();
    let jobs = RacedJobs::over(&world, 1);
    let ports = RunnerPorts { jobs: jobs.clone(), ..world.ports() };
    let sharded = sharded_over(world, ports, LEASE, SHARD_BYTES);
    let csv = big_csv();
    let context = context("json");
    let expected = on_one_worker(&context, &csv).await;
    let job = submit(&sharded.world, &context, &csv).await;
    sharded.runner.run(&body(&job.id), 1).await;
    drain(&sharded).await;

    assert_eq!(jobs.races.load(Ordering::SeqCst), 0, "the settle was raced");
    let done = sharded.world.job(&job.id).await;
    assert_eq!((done.status, done.attempts), (JobStatus::Completed, 1), "{:?}", done.error);
    assert_eq!(outputs(&sharded.world, &job.id).await, expected);
}
