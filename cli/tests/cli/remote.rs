//! The remote commands end to end: the real `helix` binary against a whole local platform (the
//! helix-e2e harness on the emulator `make test` starts), with its own home and config directory.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use helix_e2e::TestPlatform;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

const ORDERS_CSV: &str = "order_no;customer;qty\nA-1;  Acme ;3\nA-2;Globex;x\n";
const CONTEXT: &str = "fields:\n  order: '{{ order_no }}'\n  customer: '{{ customer | trim }}'\n  qty: '{{ qty }}'\n";
const SCHEMA: &str = r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
  "required": ["order", "customer", "qty"],
  "properties": {"order": {"type": "string"}, "customer": {"type": "string"}, "qty": {"type": "string", "pattern": "^[0-9]+$"}}}"#;

/// One user's machine: a home directory holding the config dir and the files to upload.
struct Laptop {
    home: tempfile::TempDir,
    api_url: String,
}

impl Laptop {
    fn new(t: &TestPlatform) -> Self {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("orders.csv"), ORDERS_CSV).unwrap();
        std::fs::write(home.path().join("orders.yaml"), CONTEXT).unwrap();
        std::fs::write(home.path().join("orders.schema.json"), SCHEMA).unwrap();
        Self { home, api_url: t.platform.base_url().trim_end_matches('/').to_owned() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    fn credentials(&self) -> PathBuf {
        self.path("config/helix/credentials.json")
    }

    /// Runs `helix` without blocking the runtime the platform is served from.
    async fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.run_with_env(args, stdin, &[]).await
    }

    async fn run_with_env(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_helix"))
            .args(args)
            .envs(env.iter().copied())
            .current_dir(self.home.path())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("HELIX_API_URL", &self.api_url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("helix starts");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        Run::from(child.wait_with_output().await.unwrap(), args)
    }

    async fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, "").await
    }

    /// Runs a command that must succeed.
    async fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args).await;
        assert_eq!(run.code, 0, "{run}");
        run
    }

    async fn login(&self, email: &str, password: &str) -> Run {
        self.run_with_stdin(&["login", "--username", email, "--password-stdin"], &format!("{password}\n")).await
    }
}

struct Run {
    args: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(output: Output, args: &[&str]) -> Self {
        Self {
            args: args.join(" "),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self}"))
    }

    /// The error object `--json` writes to stderr.
    fn json_error(&self) -> Value {
        let value: Value =
            serde_json::from_str(self.stderr.trim()).unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {self}"));
        value["error"].clone()
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "helix {} → exit {}\n--- stdout\n{}--- stderr\n{}", self.args, self.code, self.stdout, self.stderr)
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn login_submit_wait_download_and_rejects() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let me = Laptop::new(&t);

    let run = me.login(&user.email, &user.password).await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains(&format!("Logged in to {} as {}", me.api_url, user.email)), "{run}");
    assert_eq!(mode(&me.credentials()), 0o600);
    assert_eq!(mode(&me.path("config/helix")), 0o700);
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(me.credentials()).unwrap()).unwrap();
    assert_eq!(stored["api_url"], me.api_url.as_str());
    assert!(stored["access_token"].as_str().is_some_and(|t| !t.is_empty()));

    let run = me.ok(&["whoami"]).await;
    assert!(run.stdout.contains(&user.email) && run.stdout.contains("Test User"), "{run}");
    assert_eq!(me.ok(&["whoami", "--json"]).await.json()["email"], user.email.as_str());

    let submit = ["submit", "--content", "orders.csv", "--context", "orders.yaml", "--schema", "orders.schema.json"];
    let run = me.ok(&[&submit[..], &["--name", "cli orders", "--wait"]].concat()).await;
    assert!(run.stdout.contains("COMPLETED") && run.stdout.contains("2 in, 1 out, 1 rejected"), "{run}");
    assert!(run.stderr.contains("uploaded orders.csv") && run.stderr.contains("submitted job"), "{run}");
    let first = run.stdout.lines().find_map(|l| l.strip_prefix("Job")).unwrap().trim().to_owned();

    let run = me.ok(&[&submit[..], &["--wait", "--json"]].concat()).await;
    let job = run.json();
    assert_eq!(job["status"], "COMPLETED", "{run}");
    assert_eq!((job["records_out"].as_u64(), job["records_rejected"].as_u64()), (Some(1), Some(1)));
    assert!(run.stderr.is_empty(), "--json keeps stderr for errors: {run}");
    let second = job["id"].as_str().unwrap().to_owned();

    // Without --wait: the job id on stdout, for scripts.
    let run = me.ok(&submit).await;
    let third = run.stdout.trim().to_owned();
    t.wait_job(&user.token, &third).await;

    let run = me.ok(&["jobs"]).await;
    let ids: Vec<&str> = run.stdout.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(ids, [third.as_str(), second.as_str(), first.as_str()], "newest first: {run}");
    assert!(run.stdout.starts_with("ID") && run.stdout.contains("cli orders"), "{run}");
    let page = me.ok(&["jobs", "--status", "completed", "--limit", "2", "--json"]).await.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["next_cursor"].is_string());
    let run = me.ok(&["jobs", "--limit", "2"]).await;
    assert!(run.stderr.contains("--cursor"), "tells how to see more: {run}");
    let all = me.ok(&["jobs", "--limit", "2", "--all", "--json"]).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    assert_eq!(all["next_cursor"], Value::Null);
    assert_eq!(me.ok(&["jobs", "--status", "FAILED", "--json"]).await.json()["items"], json!([]));

    let run = me.ok(&["job", &first]).await;
    assert!(run.stdout.contains("cli orders") && run.stdout.contains(&format!("helix rejects {first}")), "{run}");
    assert_eq!(me.ok(&["job", &first, "--json"]).await.json()["name"], "cli orders");

    let expected = json!([{"order": "A-1", "customer": "Acme", "qty": "3"}]);
    let run = me.run(&["download", &first, "-o", "out/result.json"]).await;
    assert!(run.code == 1 && run.stderr.contains("out"), "the folder must exist, as for a shell redirection: {run}");
    std::fs::create_dir(me.path("out")).unwrap();
    let run = me.ok(&["download", &first, "-o", "out/result.json"]).await;
    assert!(run.stdout.is_empty() && run.stderr.contains("wrote out/result.json"), "{run}");
    assert_eq!(mode(&me.path("out/result.json")) & 0o044, 0o044, "a result is an ordinary file, not a secret");
    let written: Value = serde_json::from_slice(&std::fs::read(me.path("out/result.json")).unwrap()).unwrap();
    assert_eq!(written, expected, "{run}");
    assert_eq!(me.ok(&["download", &first]).await.json(), expected);
    let run = me.ok(&["download", &second, "--json", "-o", "second.json"]).await;
    let receipt = run.json();
    assert_eq!((receipt["job_id"].as_str(), receipt["path"].as_str()), (Some(second.as_str()), Some("second.json")));
    assert_eq!(receipt["bytes"].as_u64(), Some(std::fs::metadata(me.path("second.json")).unwrap().len()));

    let run = me.ok(&["rejects", &first]).await;
    let row = run.stdout.lines().find(|l| l.contains("/qty")).unwrap_or_else(|| panic!("{run}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..5], ["orders.csv", "3", "2", "/qty", "pattern"], "{run}");
    assert!(run.stdout.contains("2 records in, 1 out, 1 rejected"), "{run}");
    let report = me.ok(&["rejects", &first, "--json"]).await.json();
    assert_eq!(report["rejects"][0]["line"], 3);
    assert_eq!(report["summary"]["records_rejected"], 1);

    std::fs::write(me.path("plants.csv"), "code;city\nA-1;Hamburg\n").unwrap();
    std::fs::write(me.path("lookup.yaml"), "lookups:\n  plants: { file: plants.csv, key: code }\nfields:\n  city: \"{{ lookup('plants', order_no, 'city') }}\"\n").unwrap();
    let run = me
        .ok(&[
            "submit",
            "--content",
            "orders.csv",
            "--context",
            "lookup.yaml",
            "--lookup",
            "plants.csv",
            "--wait",
            "--json",
        ])
        .await;
    let job = run.json();
    assert_eq!((job["status"].as_str(), job["records_out"].as_u64()), (Some("COMPLETED"), Some(2)), "{run}");
    assert_eq!(
        me.ok(&["download", job["id"].as_str().unwrap()]).await.json(),
        json!([{"city": "Hamburg"}, {"city": null}])
    );

    let run = me.ok(&["logout"]).await;
    assert!(run.stdout.contains("Logged out"), "{run}");
    assert!(!me.credentials().exists());
    let run = me.run(&["jobs"]).await;
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stderr.contains("not logged in") && run.stderr.contains("helix login"), "{run}");
    let error = me.run(&["whoami", "--json"]).await.json_error();
    assert_eq!(error["code"], "not_logged_in");
    assert!(error["hint"].as_str().unwrap().contains("helix login"));
    assert_eq!(me.ok(&["logout", "--json"]).await.json(), json!({"logged_out": false}));
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_say_why_on_stderr_with_nonzero_exit() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let me = Laptop::new(&t);

    let run = me.login(&user.email, "not the password").await;
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stderr.contains("incorrect username or password") && !run.stderr.contains("hint"), "{run}");
    assert!(!me.credentials().exists(), "a refused login stores nothing");
    let run = me.run(&["login", "--username", &user.email]).await;
    assert!(run.code != 0 && run.stderr.contains("--password-stdin"), "no terminal to ask on: {run}");

    assert_eq!(me.login(&user.email, &user.password).await.code, 0);

    let run = me.run(&["submit", "--content", "missing.csv", "--context", "orders.yaml"]).await;
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("missing.csv") && run.stderr.contains("No such file"), "{run}");
    let error = me.run(&["submit", "--json", "--content", "orders.csv", "--schema", "missing.json"]).await.json_error();
    assert_eq!(error["code"], "file");
    let run = me.run(&["submit", "--content", "orders.csv", "--schema", "orders.schema.json", "--auto-map"]).await;
    assert!(run.code == 2 && run.stderr.contains("--context"), "--auto-map needs a context: {run}");
    assert_eq!(me.ok(&["jobs", "--json"]).await.json()["items"], json!([]), "nothing was submitted");

    std::fs::write(me.path("bad.schema.json"), r#"{"type": 12}"#).unwrap();
    let run = me.run(&["submit", "--content", "orders.csv", "--schema", "bad.schema.json"]).await;
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("(field: schema_artifact_id)"), "the API's message and field: {run}");

    std::fs::write(me.path("broken.csv"), "id,name\n1,ok\n2,\"unterminated\n3,x\n").unwrap();
    let run = me.run(&["submit", "--content", "broken.csv", "--wait"]).await;
    assert_eq!(run.code, 3, "a FAILED job: {run}");
    assert!(run.stdout.contains("FAILED") && run.stdout.contains("line 3"), "{run}");
    let failed = run.stdout.lines().find_map(|l| l.strip_prefix("Job")).unwrap().trim().to_owned();
    let run = me.run(&["download", &failed]).await;
    assert!(run.code == 1 && run.stderr.contains("FAILED, so it has no result"), "{run}");

    let unknown = "00000000-0000-0000-0000-000000000000";
    for command in ["job", "download", "rejects"] {
        let run = me.run(&[command, unknown]).await;
        assert_eq!(run.code, 1, "{run}");
        assert!(run.stderr.contains("job not found"), "{run}");
    }
    let error = me.run(&["job", unknown, "--json"]).await.json_error();
    assert_eq!((error["code"].as_str(), error["status"].as_u64()), (Some("not_found"), Some(404)));
    let run = me.run(&["job", "../users/me"]).await;
    assert!(run.code == 1 && run.stderr.contains("job not found"), "ids are path segments, not paths: {run}");
    let run = me.run(&["job", ".."]).await;
    assert!(run.code == 1 && run.stderr.contains("not an id"), "{run}");

    let run = me.run(&["jobs", "--status", "DONE"]).await;
    assert_eq!(run.code, 2, "{run}");

    // The stored token goes only to the server that issued it.
    let run = me.run(&["whoami", "--api-url", "http://127.0.0.1:9"]).await;
    assert!(run.code == 4 && run.stderr.contains("not logged in to http://127.0.0.1:9"), "{run}");
    let run = me
        .run_with_stdin(&["login", "-u", &user.email, "--password-stdin", "--api-url", "http://127.0.0.1:9"], "pw")
        .await;
    assert!(run.code == 1 && run.stderr.contains("cannot reach http://127.0.0.1:9"), "{run}");

    // A token the server no longer accepts: its message, and the way out.
    let mut stored: Value = serde_json::from_str(&std::fs::read_to_string(me.credentials()).unwrap()).unwrap();
    stored["access_token"] = json!("not-a-token");
    std::fs::write(me.credentials(), stored.to_string()).unwrap();
    let run = me.run(&["whoami"]).await;
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stderr.contains("hint: run `helix login"), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_made_listed_and_revoked_and_act_for_their_team() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let me = Laptop::new(&t);
    let team = format!("personal-{}", user.id);
    assert_eq!(me.login(&user.email, &user.password).await.code, 0);

    let create = ["keys", "create", "--team", &team, "--name", "nightly import"];
    let run = me
        .ok(&[&create[..], &["--scope", "jobs:read", "--scope", "jobs:write", "--scope", "artifacts:write"]].concat())
        .await;
    let key = run.stdout.trim().to_owned();
    assert!(key.starts_with("hx_live_") && !key.contains('\n'), "the key alone on stdout: {run}");
    assert!(
        run.stderr.contains("not shown again") && run.stderr.contains("jobs:read, jobs:write, artifacts:write"),
        "{run}"
    );
    let run = me.run(&[&create[..], &["--scope", "jobs:everything"]].concat()).await;
    assert!(run.code == 2 && run.stderr.contains("jobs:read"), "scopes are checked before asking: {run}");
    let error = me
        .run(&[&create[..], &["--scope", "jobs:read", "--expires-at", "2020-01-01T00:00:00Z", "--json"]].concat())
        .await
        .json_error();
    assert_eq!((error["status"].as_u64(), error["field"].as_str()), (Some(422), Some("expires_at")), "{error}");
    let reader = me.ok(&[&create[..], &["--scope", "jobs:read", "--json"]].concat()).await.json();
    assert_eq!(reader["scopes"], json!(["jobs:read"]));

    // HELIX_API_KEY: every command acts as the key's team.
    let as_key = [("HELIX_API_KEY", key.as_str())];
    let submit =
        ["submit", "--content", "orders.csv", "--context", "orders.yaml", "--schema", "orders.schema.json", "--wait"];
    let run = me.run_with_env(&submit, "", &as_key).await;
    assert!(run.code == 0 && run.stdout.contains("COMPLETED"), "{run}");
    let run = me.run_with_env(&["jobs", "--json"], "", &as_key).await;
    assert_eq!(run.json()["items"].as_array().map(Vec::len), Some(1), "{run}");
    let run = me.run_with_env(&["whoami"], "", &as_key).await;
    assert!(run.code == 0 && run.stdout.contains(&format!("API key {}…", &key[..12])), "{run}");
    let read_only = [("HELIX_API_KEY", reader["key"].as_str().unwrap())];
    let run = me.run_with_env(&submit, "", &read_only).await;
    assert!(run.code == 1 && run.stderr.contains("scopes do not allow"), "{run}");

    // The listing: uses counted, never the key.
    let run = me.ok(&["keys", "list", "--team", &team]).await;
    assert!(run.stdout.starts_with("ID") && run.stdout.contains("nightly import"), "{run}");
    assert!(run.stdout.contains(&format!("{}…", &key[..12])) && !run.stdout.contains(&key), "{run}");
    let listed = me.ok(&["keys", "list", "--team", &team, "--json"]).await.json();
    let ours = listed["items"].as_array().unwrap().iter().find(|k| k["name"] == "nightly import").unwrap().clone();
    assert!(ours["use_count"].as_u64().unwrap() >= 3 && ours["last_used_at"].is_string(), "{ours}");

    // `helix login --api-key`, from standard input: the key becomes the stored login.
    let other = Laptop::new(&t);
    let run = other.run_with_stdin(&["login", "--api-key"], &format!("{key}\n")).await;
    assert!(run.code == 0 && run.stdout.contains(&format!("with API key {}…", &key[..12])), "{run}");
    assert_eq!(mode(&other.credentials()), 0o600);
    assert_eq!(other.ok(&["jobs", "--json"]).await.json()["items"].as_array().map(Vec::len), Some(1));
    let run = other.run_with_stdin(&["login", "--api-key"], "hx_live_not-a-key").await;
    assert_eq!(run.code, 4, "an unknown key is refused and not stored: {run}");
    assert_eq!(other.ok(&["jobs", "--json"]).await.json()["items"].as_array().map(Vec::len), Some(1));

    // Revoked: refused from the next command on, wherever the key is kept.
    let run = me.ok(&["keys", "revoke", "--team", &team, ours["id"].as_str().unwrap()]).await;
    assert!(run.stdout.contains("Revoked"), "{run}");
    let run = me.run_with_env(&["jobs"], "", &as_key).await;
    assert!(run.code == 4 && run.stderr.contains("revoked"), "{run}");
    assert_eq!(other.run(&["jobs"]).await.code, 4);
    let run = me.run(&["keys", "revoke", "--team", &team, "00000000-0000-0000-0000-000000000000"]).await;
    assert!(run.code == 1 && run.stderr.contains("not found"), "{run}");
}

#[tokio::test]
async fn a_run_out_access_token_is_refreshed_and_logout_ends_the_session() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let me = Laptop::new(&t);
    assert_eq!(me.login(&user.email, &user.password).await.code, 0);
    let stored =
        |me: &Laptop| -> Value { serde_json::from_str(&std::fs::read_to_string(me.credentials()).unwrap()).unwrap() };
    let first = stored(&me);
    assert!(first["refresh_token"].as_str().is_some_and(|r| r.starts_with("hxr_")), "{first}");

    // The access token has run out: the next command refreshes it, and keeps the new tokens.
    let mut expired = first.clone();
    expired["expires_at"] = json!(0);
    std::fs::write(me.credentials(), serde_json::to_vec(&expired).unwrap()).unwrap();
    let run = me.ok(&["whoami"]).await;
    assert!(run.stdout.contains(&user.email), "{run}");
    let second = stored(&me);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert!(second["expires_at"].as_u64().unwrap() > 0);
    let access = second["access_token"].as_str().unwrap().to_owned();

    // Logout ends the session on the server: the old access token is refused there too.
    assert_eq!(me.ok(&["logout"]).await.code, 0);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(t.get(&access, "/api/v1/users/me").await.0, helix_e2e::StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_list_shows_what_was_done_and_verify_checks_the_chain() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let me = Laptop::new(&t);
    let team = format!("personal-{}", user.id);
    assert_eq!(me.login(&user.email, &user.password).await.code, 0);
    me.ok(&["keys", "create", "--team", &team, "--name", "ci", "--scope", "jobs:read"]).await;

    let run = me.ok(&["audit", "list", "--team", &team]).await;
    assert!(run.stdout.starts_with("SEQ") && run.stdout.contains("key.create"), "{run}");
    let listed = me.ok(&["audit", "list", "--team", &team, "--action", "key.create", "--json"]).await.json();
    assert_eq!(listed["items"][0]["actor"], json!(user.id), "{listed}");
    let run = me.ok(&["audit", "verify", "--team", &team]).await;
    // The two logins (the test's and the CLI's) are in the personal chain too.
    assert!(run.stdout.contains("holds: 3 entries"), "{run}");
    let run = me.run(&["audit", "list", "--team", "no-such-team"]).await;
    assert!(run.code == 1 && run.stderr.contains("not found"), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn costs_are_shown_per_team_as_a_table_or_json_and_a_bad_day_is_refused() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let me = Laptop::new(&t);
    let team = format!("personal-{}", user.id);
    assert_eq!(me.login(&user.email, &user.password).await.code, 0);
    let submit = ["submit", "--content", "orders.csv", "--context", "orders.yaml", "--schema", "orders.schema.json"];
    me.ok(&[&submit[..], &["--wait"]].concat()).await;

    let today = helix_domain::Timestamp::now().to_string()[..10].to_owned();
    let run = me.ok(&["costs", "--group-by", "team", "--from", "2026-11-01", "--to", &today]).await;
    assert!(
        run.stdout.contains("Costs by team from 2026-11-01") && run.stdout.contains("price table 2026-11-01"),
        "{run}"
    );
    assert!(run.stdout.contains("COST (USD)") && run.stdout.contains(&team), "{run}");
    let report = me.ok(&["costs", "--group-by", "kind", "--from", "2026-11-01", "--to", &today, "--json"]).await.json();
    assert_eq!(report["groups"][0]["key"], "transform", "{report}");
    assert!(report["total_usd"].as_f64().unwrap() > 0.0, "{report}");
    let run = me.run(&["costs", "--from", "2026-13-01"]).await;
    assert!(run.code == 1 && run.stderr.contains("from must be a day"), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pipelines_are_created_versioned_diffed_run_and_cancelled() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let me = Laptop::new(&t);
    assert_eq!(me.login(&user.email, &user.password).await.code, 0);
    let create =
        ["pipeline", "create", "--name", "Orders", "--context", "orders.yaml", "--schema", "orders.schema.json"];
    let run = me.ok(&create).await;
    let id = run.stdout.trim().to_owned();
    assert!(run.stderr.contains("saved as version 1") && run.stderr.contains("/inbox/"), "{run}");

    std::fs::write(me.path("orders-v2.yaml"), CONTEXT.replace("| trim", "| trim | upper")).unwrap();
    let run = me.ok(&["pipeline", "save", &id, "--context", "orders-v2.yaml"]).await;
    assert_eq!(run.stdout.trim(), "2", "{run}");
    let run = me.ok(&["pipeline", "diff", &id, "1", "2"]).await;
    assert!(
        run.stdout.contains("--- context v1") && run.stdout.contains("+  customer: '{{ customer | trim | upper }}'"),
        "{run}"
    );
    let versions = me.ok(&["pipeline", "versions", &id, "--json"]).await.json();
    assert_eq!(versions["items"].as_array().map(Vec::len), Some(2), "{versions}");

    let run = me.ok(&["pipeline", "run", &id, "orders.csv", "--wait", "--json"]).await;
    let job = run.json();
    assert_eq!(
        (&job["status"], &job["pipeline_id"], &job["pipeline_version"]),
        (&json!("COMPLETED"), &json!(id), &json!(2)),
        "{run}"
    );
    let run = me.ok(&["pipeline", "show", &id]).await;
    assert!(run.stdout.contains("Version   2") && run.stdout.contains(job["id"].as_str().unwrap()), "{run}");
    let run = me.ok(&["pipeline", "list"]).await;
    assert!(run.stdout.contains(&id) && run.stdout.contains("Orders"), "{run}");

    // Version 1 tried on version 2's run: the customers lose their capitals.
    let run = me.ok(&["pipeline", "compare", &id, "1", "--job", job["id"].as_str().unwrap()]).await;
    assert!(run.stdout.contains("records: 1 changed") && run.stdout.contains("customer"), "{run}");

    // A finished run is not cancelled; a bad version is refused, naming it.
    let run = me.run(&["cancel", job["id"].as_str().unwrap()]).await;
    assert!(run.code == 1 && run.stderr.contains("COMPLETED"), "{run}");
    let run = me.run(&["pipeline", "run", &id, "orders.csv", "--version", "7", "--json"]).await;
    assert_eq!((run.code, &run.json_error()["field"]), (1, &json!("version")), "{run}");
    let run = me.run(&["pipeline", "show", "no-such-pipeline"]).await;
    assert!(run.code == 1 && run.stderr.contains("not found"), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drop_credential_drops_files_that_run_themselves() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let me = Laptop::new(&t);
    let team = format!("personal-{}", user.id);
    assert_eq!(me.login(&user.email, &user.password).await.code, 0);
    let create =
        ["pipeline", "create", "--name", "Orders", "--context", "orders.yaml", "--schema", "orders.schema.json"];
    let id = me.ok(&[&create[..], &["--pattern", "orders*.csv"]].concat()).await.stdout.trim().to_owned();
    let key = ["keys", "create", "--team", &team, "--name", "partner", "--scope", "pipelines:run", "--json"];
    let credential = me.ok(&[&key[..], &["--pipeline", &id]].concat()).await.json();
    assert_eq!(credential["pipeline_id"], json!(id), "{credential}");
    let as_partner = [("HELIX_API_KEY", credential["key"].as_str().unwrap())];

    let run = me.run_with_env(&["drop", &id, "orders.csv"], "", &as_partner).await;
    assert!(run.code == 0 && run.stdout.contains(&format!("/inbox/{team}/{id}/orders.csv")), "{run}");
    // The run starts by itself; the partner sees none of it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let job = loop {
        let jobs = me.ok(&["jobs", "--json"]).await.json();
        let run = jobs["items"].as_array().unwrap().iter().find(|j| j["pipeline_id"] == json!(id)).cloned();
        match run {
            Some(job) if job["status"] == "COMPLETED" => break job,
            _ if std::time::Instant::now() > deadline => panic!("no completed run: {jobs}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(300)).await,
        }
    };
    assert_eq!(job["pipeline_version"], 1, "{job}");
    let run = me.run_with_env(&["jobs"], "", &as_partner).await;
    assert!(run.code == 1 && run.stderr.contains("scopes do not allow"), "{run}");
    // A name the pipeline would ignore is refused before anything is sent.
    std::fs::write(me.path("invoices.csv"), "id\n1\n").unwrap();
    let run = me.run_with_env(&["drop", &id, "invoices.csv", "--json"], "", &as_partner).await;
    assert_eq!((run.code, &run.json_error()["field"]), (1, &json!("filename")), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_job_is_retried_and_a_job_is_cloned() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let me = Laptop::new(&t);
    assert_eq!(me.login(&user.email, &user.password).await.code, 0);
    let submit = ["submit", "--content", "orders.csv", "--context", "orders.yaml", "--schema", "orders.schema.json"];
    let id = me.ok(&submit).await.stdout.trim().to_owned();
    let finished = |id: String| {
        let me = &me;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                let job = me.ok(&["job", &id, "--json"]).await.json();
                if ["COMPLETED", "FAILED", "CANCELLED"].contains(&job["status"].as_str().unwrap_or_default()) {
                    return job;
                }
                assert!(std::time::Instant::now() < deadline, "{job}");
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
        }
    };
    // Cancelled before it ran (or while it ran): retried, it completes as the same job.
    let run = me.run(&["cancel", &id]).await;
    if run.code == 0 {
        let run = me.ok(&["retry", &id]).await;
        assert!(run.stdout.contains("PENDING (retry 1)"), "{run}");
        let job = finished(id.clone()).await;
        assert_eq!((&job["status"], &job["retries"]), (&json!("COMPLETED"), &json!(1)), "{job}");
    }
    let done = finished(id.clone()).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let run = me.run(&["retry", &id]).await;
    assert!(run.code == 1 && run.stderr.contains("COMPLETED"), "{run}");

    // A FAILED job runs again: a new attempt in the same job's history.
    std::fs::write(me.path("broken.csv"), "id,qty\n\"a,1\n").unwrap();
    let broken = ["submit", "--content", "broken.csv", "--context", "orders.yaml", "--schema", "orders.schema.json"];
    let failing = me.ok(&broken).await.stdout.trim().to_owned();
    let failed = finished(failing.clone()).await;
    assert_eq!((&failed["status"], &failed["attempts"]), (&json!("FAILED"), &json!(1)), "{failed}");
    let run = me.ok(&["retry", &failing]).await;
    assert!(run.stdout.contains("PENDING (retry 1)"), "{run}");
    let again = finished(failing).await;
    assert_eq!(
        (&again["status"], &again["attempts"], &again["retries"]),
        (&json!("FAILED"), &json!(2), &json!(1)),
        "{again}"
    );

    let copy = me.ok(&["clone", &id, "--name", "copy"]).await.stdout.trim().to_owned();
    assert_ne!(copy, id);
    let job = finished(copy.clone()).await;
    assert_eq!(
        (&job["status"], &job["name"], &job["inputs"]),
        (&json!("COMPLETED"), &json!("copy"), &done["inputs"]),
        "{job}"
    );
    let run = me.run(&["clone", &id, "--schema-artifact", "no-such-artifact", "--json"]).await;
    assert_eq!((run.code, &run.json_error()["field"]), (1, &json!("schema_artifact_id")), "{run}");

    // Deleted, each reported; one that is not there does not stop the others.
    let run = me.run(&["delete", &id, "no-such-job", &copy]).await;
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(run.stdout, format!("job {id}: deleted\njob {copy}: deleted\n"), "{run}");
    assert!(run.stderr.contains("job no-such-job: ") && run.stderr.contains("not found"), "{run}");
    assert_eq!(me.run(&["job", &id]).await.code, 1);
    let run = me.run(&["delete", &id, "--json"]).await;
    let answer: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!((run.code, &answer["deleted"], &answer["failed"][0]["id"]), (1, &json!([]), &json!(id)), "{run}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_big_file_goes_up_in_parts_and_its_upload_state_is_cleared() {
    let options =
        helix_e2e::Options { max_upload_bytes: 64 << 20, multipart_threshold_bytes: 5 << 20, ..Default::default() };
    let t = TestPlatform::start_with(options).await;
    let user = t.user().await;
    let me = Laptop::new(&t);
    me.login(&user.email, &user.password).await;
    let mut big = b"order_no;customer;qty\n".to_vec();
    while big.len() < 21 << 20 {
        big.extend_from_slice(format!("A-{};Acme;{}\n", big.len(), big.len() % 9).as_bytes());
    }
    std::fs::write(me.path("big.csv"), &big).unwrap();

    let run =
        me.run_with_env(&["upload", "big.csv"], "", &[("HELIX_CACHE_DIR", me.path("cache").to_str().unwrap())]).await;
    assert_eq!(run.code, 0, "{run}");
    let id = run.stdout.trim();
    assert!(run.stderr.contains("uploaded big.csv"), "{run}");
    assert_eq!(t.download(&user.token, id).await, big);
    let (_, artifact) = t.get(&user.token, &format!("/api/v1/artifacts/{id}")).await;
    assert_eq!(artifact["status"], "AVAILABLE", "{artifact}");
    // Nothing is left to resume once the upload completed.
    let left = std::fs::read_dir(me.path("cache/helix/uploads")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_upload_resumes_from_the_parts_already_stored() {
    let options =
        helix_e2e::Options { max_upload_bytes: 256 << 20, multipart_threshold_bytes: 5 << 20, ..Default::default() };
    let t = TestPlatform::start_with(options).await;
    let user = t.user().await;
    let me = Laptop::new(&t);
    me.login(&user.email, &user.password).await;
    // Six parts of the default 16 MiB, within the free plan's 100 MiB of files.
    let big: Vec<u8> = (0..(90u32 << 20)).map(|i| b"0123456789;abcdef\n"[(i % 18) as usize]).collect();
    std::fs::write(me.path("big.csv"), &big).unwrap();
    let cache = me.path("cache");
    let env = [("HELIX_CACHE_DIR", cache.to_str().unwrap())];

    // The first run is killed once the storage holds a part.
    let mut first = tokio::process::Command::new(env!("CARGO_BIN_EXE_helix"))
        .args(["upload", "big.csv"])
        .envs(env)
        .current_dir(me.home.path())
        .env("HOME", me.home.path())
        .env("XDG_CONFIG_HOME", me.path("config"))
        .env("HELIX_API_URL", &me.api_url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let id = loop {
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the first upload ended ({status}) before the storage held a part of it");
        }
        let state = std::fs::read_dir(cache.join("helix/uploads")).ok().and_then(|mut d| d.next()).and_then(Result::ok);
        if let Some(entry) = state {
            let state: Value =
                serde_json::from_slice(&std::fs::read(entry.path()).unwrap_or_default()).unwrap_or_default();
            if let Some(id) = state["artifact_id"].as_str() {
                let (_, parts) = t.get(&user.token, &format!("/api/v1/artifacts/{id}/parts")).await;
                if parts["parts"].as_array().is_some_and(|p| !p.is_empty()) {
                    break id.to_owned();
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    first.kill().await.unwrap();

    let run = me.run_with_env(&["upload", "big.csv"], "", &env).await;
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout.trim(), id, "the same artifact, resumed");
    assert!(
        run.stderr.contains("resuming the upload of big.csv:") && run.stderr.contains("of 6 parts already stored"),
        "{run}"
    );
    assert_eq!(t.download(&user.token, &id).await, big);
}

#[tokio::test(flavor = "multi_thread")]
async fn teams_are_listed_one_is_chosen_for_later_commands_and_its_usage_shown() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    let me = Laptop::new(&t);
    assert_eq!(me.login(&user.email, &user.password).await.code, 0);
    let (status, team) = t.post_json(&user.token, "/api/v1/teams", &json!({"name": "Data Platform"})).await;
    assert_eq!(status, 201, "{team}");
    let team_id = team["id"].as_str().unwrap().to_owned();

    let run = me.ok(&["teams"]).await;
    assert!(run.stdout.contains("Personal") && run.stdout.contains("Data Platform"), "{run}");
    assert!(run.stdout.contains("owner") && run.stdout.contains("free") && !run.stdout.contains('*'), "{run}");
    let run = me.run(&["keys", "list"]).await;
    assert!(run.code != 0 && run.stderr.contains("helix team use"), "{run}");

    let run = me.ok(&["team", "use", "data platform"]).await;
    assert!(run.stdout.contains(&team_id), "{run}");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(me.credentials()).unwrap()).unwrap();
    assert_eq!(stored["default_team"], json!(team_id));
    let run = me.ok(&["teams"]).await;
    let marked = run.stdout.lines().find(|l| l.starts_with('*')).unwrap_or_default().to_owned();
    assert!(marked.contains(&team_id), "{run}");
    // Commands that take --team now act in it.
    me.ok(&["keys", "create", "--name", "ci", "--scope", "jobs:read"]).await;
    let (_, keys) = t.get(&user.token, &format!("/api/v1/teams/{team_id}/api-keys")).await;
    assert_eq!(keys["items"].as_array().unwrap().len(), 1, "{keys}");
    // Logging in again keeps the choice.
    assert_eq!(me.login(&user.email, &user.password).await.code, 0);
    assert!(me.ok(&["keys", "list"]).await.stdout.contains("ci"));

    let run = me.ok(&["team", "usage"]).await;
    assert!(run.stdout.contains(&format!("Team {team_id}: the free plan")), "{run}");
    assert!(run.stdout.contains("concurrent jobs") && run.stdout.contains("0 / 2"), "{run}");
    assert!(run.stdout.contains("0 B / 1.0 GiB") && run.stdout.contains("100.0 MiB"), "{run}");
    let usage = me.ok(&["team", "usage", "--json"]).await.json();
    assert_eq!((&usage["plan"], &usage["limits"]["records_per_month"]), (&json!("free"), &json!(1_000_000)));

    let run = me.run(&["team", "use", "no such team"]).await;
    assert!(run.code != 0 && run.stderr.contains("Data Platform"), "{run}");
}
