//! `helix-dev`: the whole platform on one machine (`make dev`), plus the seeding and inspection
//! commands behind `make seed-data` and `make show-users`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use helix_aws::DynamoUserStore;
use helix_local::emulator::start_moto;
use helix_local::provision::local_name;
use helix_local::seed::{DEMO_USERS, seed_demo_users};
use helix_local::{LocalAws, Platform, PlatformOptions};

/// Every local resource is named under this prefix, so `seed` and `show-users` find what `up` made.
const PREFIX: &str = "helix-dev";

#[derive(Parser)]
#[command(about = "Run HelixNet locally against emulated AWS")]
struct Cli {
    /// Emulated AWS endpoint. Unset: a moto server from .venv is started on --emulator-port.
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    endpoint: Option<String>,
    #[arg(long, default_value_t = 4566, global = true)]
    emulator_port: u16,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Emulator, provisioning, demo users, API + dashboard + workers, until Ctrl-C (the default).
    Up {
        #[arg(long, default_value = "127.0.0.1:8000")]
        listen: SocketAddr,
    },
    /// Creates the demo users on a running platform (idempotent).
    Seed,
    /// Lists the accounts on a running platform.
    ShowUsers,
}

/// DynamoDB and Secrets Manager on `endpoint`; S3 and SQS there too unless `AWS_ENDPOINT_URL_S3` /
/// `AWS_ENDPOINT_URL_SQS` name another emulator (LocalStack's S3, which reads a ranged GET without
/// reading the whole object, for big files).
fn local_aws(endpoint: &str) -> LocalAws {
    let service = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    LocalAws {
        s3_endpoint: service("AWS_ENDPOINT_URL_S3"),
        sqs_endpoint: service("AWS_ENDPOINT_URL_SQS"),
        ..LocalAws::at(endpoint)
    }
}

fn repo_root() -> PathBuf {
    let from_crate = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    if from_crate.join("infra/template.yaml").exists() { from_crate } else { PathBuf::from(".") }
}

/// Generated once and kept in `.local/` (ignored by git): tokens survive a restart of `make dev`.
fn local_jwt_secret(root: &std::path::Path) -> std::io::Result<String> {
    let path = root.join(".local/jwt-secret");
    if let Ok(secret) = std::fs::read_to_string(&path)
        && secret.trim().len() >= 32
    {
        return Ok(secret.trim().to_owned());
    }
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    std::fs::create_dir_all(root.join(".local"))?;
    std::fs::write(&path, &secret)?;
    Ok(secret)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    helix_aws::telemetry::init();
    let cli = Cli::parse();
    let root = repo_root();
    match cli.command.unwrap_or(Command::Up { listen: "127.0.0.1:8000".parse()? }) {
        Command::Up { listen } => {
            let (_emulator, endpoint) = match cli.endpoint {
                Some(endpoint) => (None, endpoint),
                None => {
                    let emulator = start_moto(&root, cli.emulator_port).await?;
                    let endpoint = emulator.endpoint.clone();
                    (Some(emulator), endpoint)
                }
            };
            let origin = format!("http://{listen}");
            let platform = Platform::start(PlatformOptions {
                aws: local_aws(&endpoint),
                prefix: PREFIX.into(),
                listen,
                dashboard_origin: origin.clone(),
                jwt_secret: local_jwt_secret(&root)?,
                visibility_timeout_override: Some(60),
                extra_env: BTreeMap::from([
                    // Shorter than the visibility timeout: a redelivery finds a dead worker's lease over.
                    ("JOB_LEASE_SECONDS".to_owned(), "45".to_owned()),
                    ("JOB_STALE_AFTER_SECONDS".to_owned(), "120".to_owned()),
                    ("JOB_RELAY_AFTER_SECONDS".to_owned(), "10".to_owned()),
                ])
                .into_iter()
                .chain(settings_from_env())
                .collect(),
                run_job_worker: true,
            })
            .await?;
            let users = DynamoUserStore::new(platform.clients.dynamodb.clone(), &platform.settings.users_table);
            seed_demo_users(&users).await?;
            println!("\nHelixNet is up (emulated AWS at {endpoint}):");
            println!("  dashboard  {origin}/");
            println!("  API docs   {origin}/api/v1/docs");
            println!("  health     {origin}/api/v1/health");
            println!(
                "  logins     {}",
                DEMO_USERS.iter().map(|u| format!("{} / {}", u.email, u.password)).collect::<Vec<_>>().join(", ")
            );
            println!("Ctrl-C stops everything.\n");
            // SIGTERM too, so the moto child is stopped however the launcher is asked to end.
            let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                result = tokio::signal::ctrl_c() => result?,
                _ = terminate.recv() => {}
            }
            println!("stopping: running jobs are handed back");
            platform.stop().await;
        }
        Command::Seed => {
            let aws = LocalAws::at(cli.endpoint.unwrap_or_else(|| format!("http://127.0.0.1:{}", cli.emulator_port)));
            let users = DynamoUserStore::new(aws.raw_clients().dynamodb, local_name(PREFIX, "UsersTable"));
            seed_demo_users(&users).await?;
        }
        Command::ShowUsers => {
            let aws = LocalAws::at(cli.endpoint.unwrap_or_else(|| format!("http://127.0.0.1:{}", cli.emulator_port)));
            let out = aws.raw_clients().dynamodb.scan().table_name(local_name(PREFIX, "UsersTable")).send().await?;
            println!("{:<32} {:<24} {:<6} created", "email", "fullname", "admin");
            for item in out.items.unwrap_or_default() {
                let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let admin = item.get("is_admin").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false);
                println!("{:<32} {:<24} {:<6} {}", text("email"), text("fullname"), admin, text("created_at"));
            }
        }
    }
    Ok(())
}

/// The upload limits, the single sign-on issuers and the request rate, as the deployment's
/// environment would set them, taken from this process's environment when set
/// (`MULTIPART_THRESHOLD_BYTES=5242880 helix-dev up` to try multipart uploads with small files;
/// `OIDC_ISSUERS=…` for a local Keycloak; `RATE_LIMIT_BURST=5` to see the rate limit).
fn settings_from_env() -> Vec<(String, String)> {
    [
        "MAX_UPLOAD_BYTES",
        "MULTIPART_THRESHOLD_BYTES",
        "UPLOAD_URL_TTL_SECONDS",
        "OIDC_ISSUERS",
        "SHARD_THRESHOLD_BYTES",
        "SHARD_BYTES",
        "RATE_LIMIT_PER_MINUTE",
        "RATE_LIMIT_BURST",
    ]
    .into_iter()
    .filter_map(|name| std::env::var(name).ok().map(|value| (name.to_owned(), value)))
    .collect()
}
