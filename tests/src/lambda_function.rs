//! A function binary run as Lambda runs it: its own process, the environment a Lambda sandbox
//! gives it (`AWS_LAMBDA_*`, the region, credentials) plus the function's settings, and a
//! [`RuntimeApi`] stub of its own behind `AWS_LAMBDA_RUNTIME_API`. The process is killed when the
//! value is dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::lambda_runtime_api::{HttpRequest, HttpResponse, Invocation, InvokeError, Outcome, REGION, RuntimeApi};

/// Every binary of the workspace that runs on Lambda (`functions/*`, less the GPU container worker).
pub const LAMBDA_FUNCTIONS: &[&str] = &[
    "helix-fn-auth",
    "helix-fn-users",
    "helix-fn-artifacts",
    "helix-fn-jobs",
    "helix-fn-web",
    "helix-fn-worker",
    "helix-fn-on-upload",
    "helix-fn-sweeper",
    "helix-fn-webhooks",
    "helix-fn-schedules",
    "helix-fn-events",
];

/// The directory cargo put this executable's sibling binaries in: `target/<profile>/` for a test
/// (`target/<profile>/deps/<test>-<hash>`) or an example (`target/<profile>/examples/<name>`).
pub fn own_profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let dir = exe.parent().expect("the executable's directory");
    match dir.file_name().and_then(|n| n.to_str()) {
        Some("deps" | "examples") => dir.parent().expect("target/<profile>").to_owned(),
        _ => dir.to_owned(),
    }
}

/// The path of the function binary `name` in `dir`; panics, saying how to build it, when missing.
pub fn function_binary(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    if !path.is_file() {
        let release = if dir.ends_with("release") { " --release" } else { "" };
        panic!(
            "the function binary {} is missing: build the functions before running these tests \
             (`cargo build{release} --workspace --bins`; `make test` does it)",
            path.display(),
        );
    }
    path
}

/// A function's process and its Runtime API.
pub struct LambdaFunction {
    pub name: String,
    pub api: RuntimeApi,
    pub pid: u32,
    /// When the process was spawned.
    pub spawned_at: Instant,
    child: tokio::sync::Mutex<Child>,
    log: tempfile::NamedTempFile,
}

impl LambdaFunction {
    /// Starts `binary` as the function `name` with `settings` (its environment variables:
    /// tables, queues, `AWS_ENDPOINT_URL`, ...) on top of what Lambda itself sets.
    pub async fn spawn(binary: &Path, name: &str, settings: &BTreeMap<String, String>) -> Self {
        let api = RuntimeApi::start(name).await;
        let log = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .suffix(".log")
            .tempfile()
            .expect("a log file for the function");
        let stdout = log.reopen().expect("the function's log");
        let stderr = log.reopen().expect("the function's log");
        let mut command = Command::new(binary);
        command.env_clear().envs(sandbox_env(name, &api, binary)).envs(settings);
        if let Ok(backtrace) = std::env::var("RUST_BACKTRACE") {
            command.env("RUST_BACKTRACE", backtrace);
        }
        command.stdin(Stdio::null()).stdout(stdout).stderr(stderr).kill_on_drop(true);
        let spawned_at = Instant::now();
        let child = command.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let pid = child.id().expect("a running child");
        Self { name: name.to_owned(), api, pid, spawned_at, child: tokio::sync::Mutex::new(child), log }
    }

    /// Hands `event` to the function; an error names what happened and shows the function's log.
    pub async fn try_invoke(&self, event: &Value) -> Result<Invocation, String> {
        let mut child = self.child.lock().await;
        tokio::select! {
            result = self.api.invoke_timed(event) => result.map_err(|e| self.failure(&e.to_string())),
            status = child.wait() => Err(self.failure(&format!("the process exited ({status:?}) instead of answering"))),
        }
    }

    /// The function's JSON answer; panics on anything else, with the function's log.
    pub async fn invoke(&self, event: &Value) -> Value {
        let invocation = self.try_invoke(event).await.unwrap_or_else(|e| panic!("{e}"));
        match invocation.outcome {
            Outcome::Response(body) => serde_json::from_slice(&body).unwrap_or_else(|_| {
                panic!(
                    "{}",
                    self.failure(&InvokeError::NotJson(String::from_utf8_lossy(&body).into_owned()).to_string())
                )
            }),
            Outcome::Error { error_type, body } => {
                panic!("{}", self.failure(&InvokeError::Function { error_type, body }.to_string()))
            }
        }
    }

    /// Sends an HTTP API request through the function.
    pub async fn http(&self, request: &HttpRequest) -> HttpResponse {
        HttpResponse::from_answer(&self.invoke(&request.event()).await)
    }

    fn failure(&self, what: &str) -> String {
        format!(
            "{} ({}): {what}\n--- the function's log (last lines):\n{}",
            self.name,
            self.log.path().display(),
            self.log_tail(40)
        )
    }

    /// The last `lines` lines the function wrote (stdout and stderr).
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The CPU time the process has used so far, every thread together (from `/proc`).
    pub fn cpu_time(&self) -> Option<Duration> {
        process_cpu_time(self.pid)
    }

    /// The process's peak resident memory, in KiB (`VmHWM`).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Stops the process and waits for it.
    pub async fn stop(self) {
        let mut child = self.child.lock().await;
        let _ = child.kill().await;
    }
}

/// What Lambda sets in every function's environment (custom runtime, `provided.al2023`).
fn sandbox_env(name: &str, api: &RuntimeApi, binary: &Path) -> BTreeMap<String, String> {
    let task_root = binary.parent().map(|p| p.display().to_string()).unwrap_or_default();
    let stream = format!("2026/01/01/[$LATEST]{}", uuid::Uuid::new_v4().simple());
    [
        ("AWS_LAMBDA_RUNTIME_API", api.address()),
        ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_DEFAULT_REGION", REGION.into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("_HANDLER", "bootstrap".into()),
        ("LAMBDA_TASK_ROOT", task_root),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("TZ", ":UTC".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The names of the environment variables `infra/template.yaml` gives the function built from
/// `binary` (`Metadata.BuildProperties.Binary`): `Globals.Function`'s and the function's own.
pub fn template_env_names(binary: &str) -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let names = |function: &serde_yaml::Value| -> Vec<String> {
        function["Environment"]["Variables"]
            .as_mapping()
            .map(|vars| vars.keys().filter_map(|k| k.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let resources = template["Resources"].as_mapping().expect("the template's Resources");
    let function = resources
        .values()
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary))
        .unwrap_or_else(|| panic!("no function of {path} is built from {binary}"));
    names(&template["Globals"]["Function"]).into_iter().chain(names(&function["Properties"])).collect()
}

/// The function's settings on a test platform: the variables the template gives it (and only
/// those), as provisioning resolved them, plus the platform's endpoints (the emulator for every
/// service, S3's and SQS's own where they run elsewhere). A variable the template forgets makes
/// the function fail at start-up, naming it.
pub fn function_settings(t: &crate::TestPlatform, binary: &str) -> BTreeMap<String, String> {
    let resolved = &t.platform.provisioned.env;
    let mut env: BTreeMap<String, String> = template_env_names(binary)
        .into_iter()
        .filter_map(|name| resolved.get(&name).map(|value| (name, value.clone())))
        .collect();
    env.insert("AWS_ENDPOINT_URL".into(), t.aws.endpoint.clone());
    env.insert("AWS_ENDPOINT_URL_S3".into(), t.aws.s3_url().to_owned());
    env.insert("AWS_ENDPOINT_URL_SQS".into(), t.aws.sqs_url().to_owned());
    env.insert("AWS_S3_FORCE_PATH_STYLE".into(), "true".into());
    env
}

/// CPU time of every thread of `pid`: `/proc/<pid>/task/*/schedstat` (nanoseconds), else
/// `utime + stime` of `/proc/<pid>/stat` (clock ticks, 10 ms).
pub fn process_cpu_time(pid: u32) -> Option<Duration> {
    let from_schedstat = || -> Option<Duration> {
        let mut total = 0u64;
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        }
        Some(Duration::from_nanos(total))
    };
    from_schedstat().or_else(|| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may hold spaces: the fields count from after its closing parenthesis.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 10))
    })
}
