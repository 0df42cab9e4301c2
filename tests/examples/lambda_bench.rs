//! `make bench-lambda` (bench/lambda.sh): cold start and warm latency of the function binaries,
//! each run as Lambda runs it (its own process, the Runtime API stub of `helix_e2e`), against the
//! emulator; prints a markdown table. Not a test: nothing here asserts on a time.
//!
//! ```sh
//! HELIX_TEST_AWS_ENDPOINT=http://127.0.0.1:4566 cargo run -p helix-e2e --features bench \
//!     --example lambda-bench -- --bin-dir target/release [--cold 10] [--warm 300] [--only helix-fn-jobs,...] [--env K=V]
//! ```
//!
//! - cold start: process spawn → the runtime's first `next` poll ("init") and → the first answer,
//!   the median of `--cold` fresh processes, each handed the function's main request first;
//! - warm: `--warm` invocations of each request on one process, after a warm-up; p50/p95 of the
//!   round trip through the stub, and the process's CPU time per request (`/proc`, all threads).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use helix_e2e::lambda_function::{LambdaFunction, function_binary, function_settings};
use helix_e2e::lambda_runtime_api::{HttpRequest, Outcome, SqsRecord, sqs_event};
use helix_e2e::{Options, StatusCode, TestPlatform};
use serde_json::{Value, json};

struct Args {
    bin_dir: PathBuf,
    cold: usize,
    warm: usize,
    only: Option<Vec<String>>,
    /// Extra environment for every function (`--env RUST_LOG=warn`, `--env MALLOC_ARENA_MAX=2`).
    env: Vec<(String, String)>,
}

fn args() -> Args {
    let mut args = Args { bin_dir: PathBuf::from("target/release"), cold: 10, warm: 300, only: None, env: Vec::new() };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--bin-dir" => args.bin_dir = PathBuf::from(value()),
            "--cold" => args.cold = value().parse().expect("--cold N"),
            "--warm" => args.warm = value().parse().expect("--warm N"),
            "--only" => args.only = Some(value().split(',').map(str::to_owned).collect()),
            "--env" => {
                let pair = value();
                let (k, v) = pair.split_once('=').unwrap_or_else(|| panic!("--env KEY=VALUE, not {pair}"));
                args.env.push((k.to_owned(), v.to_owned()));
            }
            other => panic!("unknown argument {other} (--bin-dir DIR, --cold N, --warm N, --only a,b, --env K=V)"),
        }
    }
    args
}

/// One kind of request a function is timed on, and what it must answer.
struct Case {
    label: String,
    event: Value,
    expect: Expect,
}

enum Expect {
    Status(u16),
    NoBatchFailures,
}

impl Case {
    fn http(label: &str, request: HttpRequest, status: u16) -> Self {
        Self { label: label.to_owned(), event: request.event(), expect: Expect::Status(status) }
    }

    fn check(&self, name: &str, outcome: &Outcome) {
        let Outcome::Response(body) = outcome else { panic!("{name} / {}: {outcome:?}", self.label) };
        let answer: Value = serde_json::from_slice(body).expect("a JSON answer");
        let ok = match self.expect {
            Expect::Status(status) => answer["statusCode"] == status,
            Expect::NoBatchFailures => answer["batchItemFailures"].as_array().is_some_and(Vec::is_empty),
        };
        assert!(ok, "{name} / {}: unexpected answer {answer}", self.label);
    }
}

struct Row {
    function: String,
    binary_mib: f64,
    init_ms: f64,
    first_ms: f64,
    peak_rss_mib: f64,
    cases: Vec<CaseResult>,
}

struct CaseResult {
    label: String,
    p50_ms: f64,
    p95_ms: f64,
    in_function_p50_ms: f64,
    cpu_per_request_ms: Option<f64>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of `values` (sorted here).
fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

async fn measure(
    name: &str,
    binary: &std::path::Path,
    settings: &BTreeMap<String, String>,
    cases: &[Case],
    a: &Args,
) -> Row {
    // The main request (the last case) is what a fresh process answers first.
    let first = cases.last().unwrap();
    let (mut inits, mut firsts) = (Vec::new(), Vec::new());
    let mut warm_process = None;
    for i in 0..a.cold.max(1) {
        let function = LambdaFunction::spawn(binary, name, settings).await;
        let invocation = function.try_invoke(&first.event).await.unwrap_or_else(|e| panic!("{e}"));
        first.check(name, &invocation.outcome);
        let ready = function.api.ready_at().expect("the runtime polled before answering");
        inits.push(ms(ready - function.spawned_at));
        firsts.push(ms(invocation.answered - function.spawned_at));
        if i + 1 == a.cold.max(1) {
            warm_process = Some(function);
        } else {
            function.stop().await;
        }
    }
    let function = warm_process.unwrap();
    let mut results = Vec::new();
    for case in cases {
        for _ in 0..20 {
            let invocation = function.try_invoke(&case.event).await.unwrap_or_else(|e| panic!("{e}"));
            case.check(name, &invocation.outcome);
        }
        let cpu_before = function.cpu_time();
        let (mut round_trips, mut in_function) = (Vec::with_capacity(a.warm), Vec::with_capacity(a.warm));
        for _ in 0..a.warm {
            let started = std::time::Instant::now();
            let invocation = function.try_invoke(&case.event).await.unwrap_or_else(|e| panic!("{e}"));
            round_trips.push(ms(started.elapsed()));
            in_function.push(ms(invocation.in_function()));
            case.check(name, &invocation.outcome);
        }
        let cpu_per_request = match (cpu_before, function.cpu_time()) {
            (Some(before), Some(after)) => Some(ms(after.saturating_sub(before)) / a.warm as f64),
            _ => None,
        };
        results.push(CaseResult {
            label: case.label.clone(),
            p50_ms: percentile(&mut round_trips, 50.0),
            p95_ms: percentile(&mut round_trips, 95.0),
            in_function_p50_ms: percentile(&mut in_function, 50.0),
            cpu_per_request_ms: cpu_per_request,
        });
    }
    let peak_rss_mib = function.peak_rss_kib().map_or(f64::NAN, |k| k as f64 / 1024.0);
    function.stop().await;
    Row {
        function: name.to_owned(),
        binary_mib: std::fs::metadata(binary).map_or(f64::NAN, |m| m.len() as f64 / (1024.0 * 1024.0)),
        init_ms: percentile(&mut inits, 50.0),
        first_ms: percentile(&mut firsts, 50.0),
        peak_rss_mib,
        cases: results,
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    // The data the requests read: a user, an available upload and a finished job.
    let t = TestPlatform::start_with(Options::default()).await;
    let user = t.user().await;
    let content = t.upload(&user.token, "bench.csv", "text/csv", "content", b"id,name\n1,a\n2,b\n").await;
    let (status, job) = t.post_json(&user.token, "/api/v1/jobs", &json!({"content_artifact_ids": [content]})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job_id = job["id"].as_str().unwrap().to_owned();
    let done = t.wait_job(&user.token, &job_id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let names =
        ["helix-fn-auth", "helix-fn-users", "helix-fn-artifacts", "helix-fn-jobs", "helix-fn-web", "helix-fn-worker"];
    let settings: BTreeMap<&str, BTreeMap<String, String>> = names
        .iter()
        .map(|name| (*name, function_settings(&t, name).into_iter().chain(a.env.clone()).collect()))
        .collect();
    let jobs_queue_arn = t.platform.provisioned.queue_arns["JobsQueue"].clone();
    // The platform's own workers and sweeper stop here: only the functions under test run.
    drop(t);

    let token = user.token.as_str();
    let job_path = format!("/api/v1/jobs/{job_id}");
    let artifact_path = format!("/api/v1/artifacts/{content}");
    let job_message = SqsRecord::new("bench-message", &json!({"job_id": job_id}).to_string());
    let functions: Vec<(&str, Vec<Case>)> = vec![
        (
            "helix-fn-auth",
            vec![
                Case::http("GET /api/v1/health → 200", HttpRequest::get("/api/v1/health"), 200),
                Case::http(
                    "POST /api/v1/auth/token → 200 (argon2id)",
                    HttpRequest::post("/api/v1/auth/token")
                        .form(&[("username", &user.email), ("password", &user.password)]),
                    200,
                ),
            ],
        ),
        (
            "helix-fn-users",
            vec![
                Case::http("GET /api/v1/users/me, no token → 401", HttpRequest::get("/api/v1/users/me"), 401),
                Case::http("GET /api/v1/users/me → 200", HttpRequest::get("/api/v1/users/me").bearer(token), 200),
            ],
        ),
        (
            "helix-fn-artifacts",
            vec![
                Case::http("GET /api/v1/artifacts/{id}, no token → 401", HttpRequest::get(&artifact_path), 401),
                Case::http("GET /api/v1/artifacts/{id} → 200", HttpRequest::get(&artifact_path).bearer(token), 200),
            ],
        ),
        (
            "helix-fn-jobs",
            vec![
                Case::http("GET /api/v1/jobs/{id}, no token → 401", HttpRequest::get(&job_path), 401),
                Case::http("GET /api/v1/jobs/{id} → 200", HttpRequest::get(&job_path).bearer(token), 200),
            ],
        ),
        ("helix-fn-web", vec![Case::http("GET / → 200", HttpRequest::get("/"), 200)]),
        (
            "helix-fn-worker",
            vec![Case {
                label: "SQS batch: 1 message of a finished job → no failures".into(),
                event: sqs_event(&jobs_queue_arn, &[job_message]),
                expect: Expect::NoBatchFailures,
            }],
        ),
    ];

    let mut rows = Vec::new();
    for (name, cases) in &functions {
        if a.only.as_ref().is_some_and(|only| !only.iter().any(|o| o == name)) {
            continue;
        }
        let binary = function_binary(&a.bin_dir, name);
        eprintln!("measuring {name} ({} cold starts, {} warm requests per case)", a.cold, a.warm);
        rows.push(measure(name, &binary, &settings[name], cases, &a).await);
    }

    println!(
        "\n{} fresh processes per function for the cold start (median); {} warm requests per case on one process.",
        a.cold, a.warm
    );
    println!(
        "Binaries: {}. Emulator: moto (every DynamoDB/S3/SQS call is a local HTTP call to Python).\n",
        a.bin_dir.display()
    );
    println!(
        "| function | binary MiB | init ms | first answer ms | request | p50 ms | p95 ms | in function p50 ms | CPU ms/request | peak RSS MiB |"
    );
    println!("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|");
    for row in &rows {
        for (i, case) in row.cases.iter().enumerate() {
            let head = if i == 0 {
                format!("| {} | {:.1} | {:.1} | {:.1} ", row.function, row.binary_mib, row.init_ms, row.first_ms)
            } else {
                "| | | | ".to_owned()
            };
            let cpu = case.cpu_per_request_ms.map_or("n/a".to_owned(), |c| format!("{c:.3}"));
            let rss = if i == 0 { format!("{:.1}", row.peak_rss_mib) } else { String::new() };
            println!(
                "{head}| {} | {:.2} | {:.2} | {:.2} | {cpu} | {rss} |",
                case.label, case.p50_ms, case.p95_ms, case.in_function_p50_ms
            );
        }
    }
}
