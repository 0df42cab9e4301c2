//! The commands that talk to a HelixNet server: log in, submit jobs, follow them, fetch results,
//! manage a team's API keys and pipelines, read and verify its audit trail.

mod audit;
mod costs;
mod error;
mod jobs;
mod keys;
pub mod output;
mod pipelines;
mod session;
mod submit;
mod teams;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use helix_domain::{JobStatus, KeyScope};

use helix_client::credentials::{self, Credentials};
use helix_client::{Client, DEFAULT_API_URL, normalize_url};

use error::CliError;

#[derive(Args, Clone)]
pub struct Common {
    /// Print machine-readable JSON on stdout (errors as a JSON object on stderr).
    #[arg(long)]
    json: bool,
    /// The HelixNet server [default: the one you logged in to, else http://127.0.0.1:8000].
    #[arg(long, env = "HELIX_API_URL", value_name = "URL")]
    api_url: Option<String>,
}

/// `--status`: one of the API's job statuses, in any case.
fn job_status() -> impl TypedValueParser<Value = JobStatus> {
    PossibleValuesParser::new(JobStatus::ALL.map(JobStatus::as_str))
        .map(|status| JobStatus::parse(&status.to_ascii_uppercase()).expect("one of the possible values"))
}

#[derive(Subcommand)]
pub enum Command {
    /// Log in to a HelixNet server; the token is kept in your config directory (mode 0600).
    Login {
        #[command(flatten)]
        common: Common,
        /// Your e-mail address (asked for when not given).
        #[arg(short, long, conflicts_with = "api_key")]
        username: Option<String>,
        /// Read the password from standard input instead of asking on the terminal.
        #[arg(long, conflicts_with = "api_key")]
        password_stdin: bool,
        /// Log in with a team's API key instead: from HELIX_API_KEY, else standard input (asked
        /// for on a terminal). Every command then acts as the key's team, within its scopes.
        #[arg(long)]
        api_key: bool,
    },
    /// Forget the stored login.
    Logout {
        #[command(flatten)]
        common: Common,
    },
    /// Show the account you are logged in as.
    Whoami {
        #[command(flatten)]
        common: Common,
    },
    /// Upload files through presigned URLs and submit a job.
    Submit(submit::SubmitArgs),
    /// Upload files (big ones in parts, resumably: run it again after an interruption) and print
    /// their artifact ids, one per line.
    Upload {
        #[command(flatten)]
        common: Common,
        /// What the files are.
        #[arg(long, default_value = "content", value_parser = ["content", "context", "schema"])]
        kind: String,
        /// The team the files belong to (default: your personal team; an API key's: its team).
        #[arg(long)]
        team: Option<String>,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<std::path::PathBuf>,
    },
    /// List your jobs, newest first.
    Jobs {
        #[command(flatten)]
        common: Common,
        /// Only jobs with this status.
        #[arg(long, value_parser = job_status(), ignore_case = true)]
        status: Option<JobStatus>,
        /// Jobs per page (1 to 100; the server's default is 20).
        #[arg(long)]
        limit: Option<u32>,
        /// Start at this page (the `next_cursor` of the previous one).
        #[arg(long, conflicts_with = "all")]
        cursor: Option<String>,
        /// Follow every page.
        #[arg(long)]
        all: bool,
    },
    /// List your teams: id, your role, plan, name; `*` marks the default team (`helix team use`).
    Teams {
        #[command(flatten)]
        common: Common,
    },
    /// Choose the team later commands act in, and read a team's plan and usage.
    Team {
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// A team's API keys, for its machines (team admins and owners).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// A team's pipelines: saved, versioned mappings, and their runs.
    Pipeline {
        #[command(subcommand)]
        command: pipelines::PipelineCommand,
    },
    /// What jobs cost per team, pipeline, user, job kind or day (team admins and owners: their
    /// teams; platform admins: every team).
    Costs {
        #[command(flatten)]
        common: Common,
        /// What to group the costs by.
        #[arg(long, default_value = "team", value_parser = ["team", "pipeline", "user", "kind", "day"])]
        group_by: String,
        /// The first day, YYYY-MM-DD (UTC) [default: the first of the month of --to].
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<String>,
        /// The last day, included [default: today].
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<String>,
        /// One team only.
        #[arg(long)]
        team: Option<String>,
    },
    /// A team's audit trail (team admins and owners).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Show one job: status, timeline, counts, error.
    Job {
        #[command(flatten)]
        common: Common,
        id: String,
    },
    /// Drop files into a pipeline's inbox: each starts one run of its current version once
    /// stored. Works with a drop credential (an API key with scope pipelines:run for the pipeline).
    Drop {
        #[command(flatten)]
        common: Common,
        /// The pipeline's id.
        pipeline: String,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a FAILED or CANCELLED job again on the same inputs, as the same job (any other: exit 1).
    Retry {
        #[command(flatten)]
        common: Common,
        id: String,
    },
    /// A new job from a job's inputs; the options replace some of them. Prints the new job's id.
    Clone {
        #[command(flatten)]
        common: Common,
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// An uploaded context (artifact id) instead of the job's.
        #[arg(long, value_name = "ARTIFACT_ID")]
        context_artifact: Option<String>,
        /// An uploaded schema (artifact id) instead of the job's.
        #[arg(long, value_name = "ARTIFACT_ID")]
        schema_artifact: Option<String>,
    },
    /// Cancel a job that has not finished (a finished one is not changed: exit 1).
    Cancel {
        #[command(flatten)]
        common: Common,
        id: String,
    },
    /// Delete finished jobs and their results (a pending or running one is not deleted: cancel
    /// it first). Each job is reported; exit 1 if any was not deleted.
    Delete {
        #[command(flatten)]
        common: Common,
        #[arg(required = true, value_name = "JOB_ID")]
        ids: Vec<String>,
    },
    /// Download a completed job's result.
    Download {
        #[command(flatten)]
        common: Common,
        id: String,
        /// Write the result to this file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Show a completed job's rejected records.
    Rejects {
        #[command(flatten)]
        common: Common,
        id: String,
    },
}

#[derive(Subcommand)]
pub enum TeamCommand {
    /// Make the team named NAME (or with id NAME) the one that commands taking --team act in when
    /// they are given none; kept with your login.
    Use {
        #[command(flatten)]
        common: Common,
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// The team's plan, its limits and what the team uses of them (team admins and owners).
    Usage {
        #[command(flatten)]
        common: Common,
        /// The team's id [default: the default team, else your personal team].
        #[arg(long)]
        team: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Make a key; it is printed once, on standard output.
    Create {
        #[command(flatten)]
        common: Common,
        /// The team's id (a personal team's is personal-<your user id>) [default: `helix team use`'s].
        #[arg(long)]
        team: Option<String>,
        /// What the key is for.
        #[arg(long)]
        name: String,
        /// What the key may do; repeat for several.
        #[arg(long = "scope", required = true, value_name = "SCOPE",
            value_parser = PossibleValuesParser::new(KeyScope::ALL.map(KeyScope::as_str)))]
        scopes: Vec<String>,
        /// When the key stops working (RFC 3339, e.g. 2027-01-01T00:00:00Z); default: never.
        #[arg(long, value_name = "RFC3339")]
        expires_at: Option<String>,
        /// For a drop credential (--scope pipelines:run alone): the pipeline it drops files for.
        #[arg(long, value_name = "PIPELINE_ID")]
        pipeline: Option<String>,
    },
    /// List the team's keys: name, prefix, scopes, creator, last use, uses (never the keys).
    List {
        #[command(flatten)]
        common: Common,
        /// The team's id [default: `helix team use`'s].
        #[arg(long)]
        team: Option<String>,
    },
    /// Revoke a key: requests that carry it are refused from the next one on.
    Revoke {
        #[command(flatten)]
        common: Common,
        /// The team's id [default: `helix team use`'s].
        #[arg(long)]
        team: Option<String>,
        key_id: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// List the team's audit entries, newest first.
    List {
        #[command(flatten)]
        common: Common,
        /// The team's id [default: `helix team use`'s].
        #[arg(long)]
        team: Option<String>,
        /// Only this action, such as job.create or artifact.download.
        #[arg(long)]
        action: Option<String>,
        /// Only this actor: a user id, or an API key's key-<id>.
        #[arg(long)]
        actor: Option<String>,
        /// Only entries at or after this time (RFC 3339).
        #[arg(long, value_name = "RFC3339")]
        from: Option<String>,
        /// Only entries before this time (RFC 3339).
        #[arg(long, value_name = "RFC3339")]
        to: Option<String>,
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: Option<u32>,
        /// Where to continue: the cursor the last page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Check the team's audit chain: every entry's hash and link; exits 1 when it is broken.
    Verify {
        #[command(flatten)]
        common: Common,
        /// The team's id [default: `helix team use`'s].
        #[arg(long)]
        team: Option<String>,
    },
}

impl KeysCommand {
    fn common(&self) -> &Common {
        match self {
            Self::Create { common, .. } | Self::List { common, .. } | Self::Revoke { common, .. } => common,
        }
    }
}

impl Command {
    fn common(&self) -> &Common {
        match self {
            Self::Login { common, .. }
            | Self::Logout { common }
            | Self::Whoami { common }
            | Self::Jobs { common, .. }
            | Self::Job { common, .. }
            | Self::Cancel { common, .. }
            | Self::Delete { common, .. }
            | Self::Drop { common, .. }
            | Self::Retry { common, .. }
            | Self::Clone { common, .. }
            | Self::Download { common, .. }
            | Self::Upload { common, .. }
            | Self::Rejects { common, .. }
            | Self::Costs { common, .. }
            | Self::Teams { common } => common,
            Self::Team { command: TeamCommand::Use { common, .. } | TeamCommand::Usage { common, .. } } => common,
            Self::Submit(args) => &args.common,
            Self::Keys { command } => command.common(),
            Self::Pipeline { command } => command.common(),
            Self::Audit { command: AuditCommand::List { common, .. } | AuditCommand::Verify { common, .. } } => common,
        }
    }
}

/// Which server a command talks to, the login kept for it, and how to print.
pub struct Context {
    api_url: String,
    json: bool,
    /// An unreadable credentials file fails only the commands that need the token, so that
    /// `helix logout` and `helix login` can still replace it.
    stored: Result<Option<Credentials>, String>,
    /// `HELIX_API_KEY`: when set, every command sends it instead of the stored login.
    api_key: Option<String>,
    /// `HELIX_EVENTS_URL`: where live job events are followed when not beside the API (in the
    /// cloud, the stack output `EventsUrl`).
    events_url: Option<String>,
}

impl Context {
    /// The server is `--api-url`, else `HELIX_API_URL`, else the one of the stored login, else
    /// the local default.
    fn new(common: &Common) -> Result<Self, CliError> {
        let stored = credentials::load().map_err(|e| e.to_string());
        let api_url = match &common.api_url {
            Some(url) => normalize_url(url)?,
            None => stored
                .as_ref()
                .ok()
                .and_then(Option::as_ref)
                .map_or_else(|| DEFAULT_API_URL.to_owned(), |c| c.api_url.clone()),
        };
        let api_key = std::env::var("HELIX_API_KEY").ok().map(|k| k.trim().to_owned()).filter(|k| !k.is_empty());
        let events_url = match std::env::var("HELIX_EVENTS_URL").ok().filter(|u| !u.trim().is_empty()) {
            Some(url) => Some(
                normalize_url(&url)
                    .map_err(|_| CliError::Input(format!("HELIX_EVENTS_URL {url:?} is not an http(s) URL")))?,
            ),
            None => None,
        };
        Ok(Self { api_url, json: common.json, stored, api_key, events_url })
    }

    /// The login of this server, if any.
    fn credentials(&self) -> Option<&Credentials> {
        self.stored.as_ref().ok().and_then(Option::as_ref).filter(|c| c.api_url == self.api_url)
    }

    /// Whether commands act as an API key (`HELIX_API_KEY`, or a login with `--api-key`).
    fn as_key(&self) -> bool {
        self.api_key.is_some() || self.credentials().is_some_and(Credentials::is_api_key)
    }

    /// A client carrying `HELIX_API_KEY`, else the stored token — only to the server it was
    /// issued by (refreshed first when it is about to run out).
    async fn api(&self) -> Result<Client, CliError> {
        let client = match &self.api_key {
            Some(key) => Client::new(&self.api_url, Some(key.clone()))?,
            None => {
                let stored = self.stored.as_ref().map_err(|e| CliError::Input(e.clone()))?;
                let credentials = stored
                    .as_ref()
                    .filter(|c| c.api_url == self.api_url)
                    .ok_or_else(|| CliError::NotLoggedIn(self.api_url.clone()))?;
                credentials.client().await?
            }
        };
        Ok(match &self.events_url {
            Some(url) => client.with_events_url(url)?,
            None => client,
        })
    }

    /// The team chosen with `helix team use` for this server's login, if any.
    fn default_team(&self) -> Option<&str> {
        self.credentials().filter(|c| !c.is_api_key()).and_then(|c| c.default_team.as_deref())
    }

    /// `given`, else the default team.
    fn team(&self, given: Option<String>) -> Option<String> {
        given.or_else(|| self.default_team().map(str::to_owned))
    }

    /// `given`, else the default team; a command that needs a team fails without either.
    fn required_team(&self, given: Option<String>) -> Result<String, CliError> {
        self.team(given).ok_or_else(|| {
            CliError::Input(
                "which team? give --team ID, or choose one for every command with `helix team use NAME`".into(),
            )
        })
    }

    fn anonymous_api(&self) -> Result<Client, CliError> {
        Client::new(&self.api_url, None)
    }

    fn login_command(&self) -> String {
        if self.api_url == DEFAULT_API_URL {
            "helix login".into()
        } else {
            format!("helix login --api-url {}", self.api_url)
        }
    }
}

/// `helix suggest --team`: the team's mapping memory, read with the stored login (or
/// `HELIX_API_KEY`) from `api_url`, else from the login's server. Errors say what to do
/// (`helix login` when there is no login).
pub fn mapping_memory(team: &str, api_url: Option<String>) -> Result<Vec<helix_domain::RememberedMapping>, String> {
    let context = Context::new(&Common { json: false, api_url }).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the client: {e}"))?;
    let memory = runtime.block_on(async { context.api().await?.mapping_memory(team).await });
    memory.map(|answer| answer.value).map_err(|e| match e {
        CliError::NotLoggedIn(_) | CliError::SessionExpired(_) => {
            format!("{e}: run `{}` to read team {team}'s mapping memory", context.login_command())
        }
        other => format!("team {team}'s mapping memory: {other}"),
    })
}

pub fn run(command: Command) -> ExitCode {
    let json = command.common().json;
    let context = match Context::new(command.common()) {
        Ok(context) => context,
        Err(e) => return error::report(&e, json, "helix login"),
    };
    // One request at a time, but the parts of a big upload go up side by side.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return error::report(&CliError::Input(format!("starting the client: {e}")), json, "helix login"),
    };
    let result = runtime.block_on(dispatch(&context, command));
    result.unwrap_or_else(|e| error::report(&e, json, &context.login_command()))
}

async fn dispatch(context: &Context, command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Login { api_key: true, .. } => session::login_with_key(context).await,
        Command::Login { username, password_stdin, .. } => session::login(context, username, password_stdin).await,
        Command::Logout { .. } => session::logout(context).await,
        Command::Whoami { .. } => session::whoami(context).await,
        Command::Submit(args) => submit::submit(context, args).await,
        Command::Upload { kind, team, files, .. } => {
            submit::upload_files(context, &kind, context.team(team).as_deref(), &files).await
        }
        Command::Teams { .. } => teams::list(context).await,
        Command::Team { command: TeamCommand::Use { name, .. } } => teams::use_team(context, &name).await,
        Command::Team { command: TeamCommand::Usage { team, .. } } => teams::usage(context, team).await,
        Command::Jobs { status, limit, cursor, all, .. } => jobs::list(context, status, limit, cursor, all).await,
        Command::Job { id, .. } => jobs::show(context, &id).await,
        Command::Cancel { id, .. } => jobs::cancel(context, &id).await,
        Command::Delete { ids, .. } => jobs::delete(context, &ids).await,
        Command::Retry { id, .. } => jobs::retry(context, &id).await,
        Command::Clone { id, name, context_artifact, schema_artifact, .. } => {
            let mut body = serde_json::json!({});
            for (field, value) in
                [("name", name), ("context_artifact_id", context_artifact), ("schema_artifact_id", schema_artifact)]
            {
                if let Some(value) = value {
                    body[field] = serde_json::json!(value);
                }
            }
            jobs::clone(context, &id, &body).await
        }
        Command::Drop { pipeline, files, .. } => pipelines::drop_files(context, &pipeline, &files).await,
        Command::Download { id, output, .. } => jobs::download(context, &id, output.as_deref()).await,
        Command::Rejects { id, .. } => jobs::rejects(context, &id).await,
        Command::Keys { command } => match command {
            KeysCommand::Create { team, name, scopes, expires_at, pipeline, .. } => {
                let team = context.required_team(team)?;
                keys::create(context, &team, &name, &scopes, expires_at.as_deref(), pipeline.as_deref()).await
            }
            KeysCommand::List { team, .. } => keys::list(context, &context.required_team(team)?).await,
            KeysCommand::Revoke { team, key_id, .. } => {
                keys::revoke(context, &context.required_team(team)?, &key_id).await
            }
        },
        Command::Audit { command: AuditCommand::List { team, action, actor, from, to, limit, cursor, .. } } => {
            let filters = helix_client::AuditFilters { action, actor, from, to, limit, cursor };
            audit::list(context, &context.required_team(team)?, filters).await
        }
        Command::Audit { command: AuditCommand::Verify { team, .. } } => {
            audit::verify(context, &context.required_team(team)?).await
        }
        Command::Pipeline { command } => pipelines::run(context, command).await,
        Command::Costs { group_by, from, to, team, .. } => {
            costs::costs(context, helix_client::CostFilters { group_by: Some(group_by), from, to, team_id: team }).await
        }
    }
}
