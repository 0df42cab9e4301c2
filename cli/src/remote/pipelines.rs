//! `helix pipeline create|list|show|versions|save|diff|run|compare`: a team's saved, versioned
//! mappings.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use helix_client::{Answer, Client, Silent, StartedRun, Upload};
use helix_domain::{ArtifactKind, ChainRun, ComparisonRead, JobStatus, PipelineRead, RunStatus, StepStatus};

use super::error::{CliError, EXIT_JOB_FAILED};
use super::output::{UploadBars, cell, job_details, jobs_table, print_json, table, time};
use super::submit::wait_job;
use super::{Common, Context};

#[derive(Subcommand)]
pub enum PipelineCommand {
    /// Save a new pipeline (version 1) from a context and a schema.
    Create {
        #[command(flatten)]
        common: Common,
        /// 1 to 100 characters.
        #[arg(long)]
        name: String,
        /// The team it belongs to (default: your personal team; an API key's: its team).
        #[arg(long)]
        team: Option<String>,
        /// A file-name glob its inbox takes (e.g. 'ORDERS_*.csv'); repeat for several; default: any.
        #[arg(long = "pattern", value_name = "GLOB")]
        patterns: Vec<String>,
        #[command(flatten)]
        documents: Documents,
    },
    /// List a team's pipelines.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        team: Option<String>,
        /// Deleted (archived) pipelines too.
        #[arg(long)]
        archived: bool,
    },
    /// Show a pipeline: its inbox, current version and latest runs.
    Show {
        #[command(flatten)]
        common: Common,
        id: String,
    },
    /// List a pipeline's versions, oldest first.
    Versions {
        #[command(flatten)]
        common: Common,
        id: String,
    },
    /// Save a new version: what you give replaces the current version's, the rest is kept.
    Save {
        #[command(flatten)]
        common: Common,
        id: String,
        #[command(flatten)]
        documents: Documents,
    },
    /// Show what changed between two versions (unified diffs of the context and the schema).
    Diff {
        #[command(flatten)]
        common: Common,
        id: String,
        from: u32,
        to: u32,
    },
    /// Upload content files into the pipeline's team and run a version on them.
    Run {
        #[command(flatten)]
        common: Common,
        id: String,
        /// The content files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The version to run (default: the current one).
        #[arg(long)]
        version: Option<u32>,
        /// Wait for the run to end; exit 0 only if it COMPLETED (3 if it FAILED).
        #[arg(long)]
        wait: bool,
    },
    /// Try a version on a finished run's input: run it, wait, and show how the outputs differ.
    Compare {
        #[command(flatten)]
        common: Common,
        id: String,
        version: u32,
        /// The COMPLETED run whose input and output to compare with.
        #[arg(long = "job", value_name = "JOB_ID")]
        job: String,
    },
}

/// A version's documents, read from files and sent inline.
#[derive(Args)]
pub struct Documents {
    /// The context: YAML mapping rules.
    #[arg(long, value_name = "FILE")]
    context: Option<PathBuf>,
    /// The target JSON Schema.
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,
    /// An artifact id of a lookup table the context reads (repeat for several).
    #[arg(long = "lookup-artifact", value_name = "ID")]
    lookups: Vec<String>,
    /// Propose the required target fields the context leaves unmapped.
    #[arg(long)]
    auto_map: bool,
}

impl PipelineCommand {
    pub fn common(&self) -> &Common {
        match self {
            Self::Create { common, .. }
            | Self::List { common, .. }
            | Self::Show { common, .. }
            | Self::Versions { common, .. }
            | Self::Save { common, .. }
            | Self::Diff { common, .. }
            | Self::Run { common, .. }
            | Self::Compare { common, .. } => common,
        }
    }
}

fn read_text(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|e| CliError::file(path, e))
}

impl Documents {
    /// The request's document fields; `auto_map` only when asked (a save keeps the options
    /// otherwise).
    fn body(&self) -> Result<Value, CliError> {
        let mut body = json!({});
        if let Some(path) = &self.context {
            body["context"] = json!(read_text(path)?);
        }
        if let Some(path) = &self.schema {
            body["schema"] = json!(read_text(path)?);
        }
        if !self.lookups.is_empty() {
            body["lookup_artifact_ids"] = json!(self.lookups);
        }
        if self.auto_map {
            body["options"] = json!({"auto_map": true});
        }
        Ok(body)
    }
}

fn pipeline_details(p: &PipelineRead) -> String {
    let mut lines = vec![
        ("Pipeline", p.id.to_string()),
        ("Name", p.name.clone()),
        ("Team", p.team_id.to_string()),
        ("Version", p.current_version.to_string()),
        ("Inbox", p.inbox.clone()),
        ("Created", format!("{} by {}", time(p.created_at), p.created_by)),
        ("Updated", time(p.updated_at)),
    ];
    if let Some(at) = p.archived_at {
        lines.push(("Archived", time(at)));
    }
    lines.iter().map(|(k, v)| format!("{k:<9} {v}\n")).collect()
}

pub async fn run(context: &Context, command: PipelineCommand) -> Result<ExitCode, CliError> {
    match command {
        PipelineCommand::Create { name, team, patterns, documents, .. } => {
            let mut body = documents.body()?;
            body["name"] = json!(name);
            if !patterns.is_empty() {
                body["patterns"] = json!(patterns);
            }
            if let Some(team) = team {
                body["team_id"] = json!(team);
            }
            let created = context.api().await?.create_pipeline(&body).await?;
            if context.json {
                print_json(&created.raw);
            } else {
                println!("{}", created.value.id);
                eprintln!("pipeline {} saved as version 1; inbox {}", created.value.name, created.value.inbox);
            }
        }
        PipelineCommand::List { team, archived, .. } => {
            let answer = context.api().await?.pipelines(team.as_deref(), archived).await?;
            if context.json {
                print_json(&answer.raw);
                return Ok(ExitCode::SUCCESS);
            }
            let pipelines = answer.value.items;
            if pipelines.is_empty() {
                println!("no pipelines");
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = pipelines
                .iter()
                .map(|p| {
                    vec![
                        p.id.to_string(),
                        cell(&p.name, 40),
                        p.current_version.to_string(),
                        time(p.updated_at),
                        if p.archived_at.is_some() { "archived".into() } else { String::new() },
                    ]
                })
                .collect();
            print!("{}", table(&["ID", "NAME", "VERSION", "UPDATED (UTC)", ""], &rows));
        }
        PipelineCommand::Show { id, .. } => {
            let api = context.api().await?;
            let pipeline = api.pipeline(&id).await?;
            let runs = api.pipeline_runs(&id, Some(10)).await?;
            if context.json {
                print_json(&json!({"pipeline": pipeline.raw, "runs": runs.raw["items"]}));
                return Ok(ExitCode::SUCCESS);
            }
            print!("{}", pipeline_details(&pipeline.value));
            if runs.value.items.is_empty() {
                println!("no runs yet");
            } else {
                println!("\nLatest runs:");
                print!("{}", jobs_table(&runs.value.items));
            }
        }
        PipelineCommand::Versions { id, .. } => {
            let answer = context.api().await?.pipeline_versions(&id).await?;
            if context.json {
                print_json(&answer.raw);
                return Ok(ExitCode::SUCCESS);
            }
            let versions = answer.value.items;
            let id_or_none = |id: &Option<helix_domain::ArtifactId>| id.as_ref().map_or("-".into(), |i| i.to_string());
            let rows: Vec<Vec<String>> = versions
                .iter()
                .map(|v| {
                    vec![
                        v.version.to_string(),
                        time(v.created_at),
                        v.author.to_string(),
                        id_or_none(&v.context_artifact_id),
                        id_or_none(&v.schema_artifact_id),
                        v.lookup_artifact_ids.len().to_string(),
                        if v.options.auto_map { "auto_map".into() } else { String::new() },
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["VERSION", "SAVED (UTC)", "AUTHOR", "CONTEXT", "SCHEMA", "LOOKUPS", "OPTIONS"], &rows)
            );
        }
        PipelineCommand::Save { id, documents, .. } => {
            let version = context.api().await?.create_pipeline_version(&id, &documents.body()?).await?;
            if context.json {
                print_json(&version.raw);
            } else {
                println!("{}", version.value.version);
                eprintln!("pipeline {id} saved as version {}", version.value.version);
            }
        }
        PipelineCommand::Diff { id, from, to, .. } => {
            let diff = context.api().await?.pipeline_diff(&id, from, to).await?;
            if context.json {
                print_json(&diff.raw);
                return Ok(ExitCode::SUCCESS);
            }
            let diff = diff.value;
            if diff.context.is_empty() && diff.schema.is_empty() {
                println!("the context and the schema of versions {from} and {to} are the same");
            }
            print!("{}{}", diff.context, diff.schema);
            if diff.lookups_changed {
                println!("the lookup tables differ");
            }
            if diff.options_changed {
                println!("the options differ");
            }
        }
        PipelineCommand::Run { id, files, version, wait, .. } => {
            return run_pipeline(context, &id, &files, version, wait).await;
        }
        PipelineCommand::Compare { id, version, job, .. } => return compare(context, &id, version, &job).await,
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_pipeline(
    context: &Context,
    id: &str,
    files: &[PathBuf],
    version: Option<u32>,
    wait: bool,
) -> Result<ExitCode, CliError> {
    let quiet = context.json;
    let uploads = files.iter().map(|path| Upload::of(path, ArtifactKind::Content)).collect::<Result<Vec<_>, _>>()?;
    let api = context.api().await?;
    let pipeline = api.pipeline(id).await?.value;
    let team = pipeline.team_id.as_str();
    let progress = UploadBars::new(quiet);
    let mut ids = Vec::new();
    for file in &uploads {
        ids.push(api.upload(file, Some(team), &progress).await?);
    }
    for (file, artifact) in uploads.iter().zip(&ids) {
        api.wait_available(file, artifact).await?;
    }
    let mut body = json!({"content_artifact_ids": ids});
    if let Some(version) = version {
        body["version"] = json!(version);
    }
    let started = api.run_pipeline(id, &body).await?;
    let job = match started.value {
        StartedRun::Job(job) => Answer { raw: started.raw, value: *job },
        StartedRun::Chain(run) => {
            return chained_run(context, &api, &pipeline, Answer { raw: started.raw, value: *run }, wait).await;
        }
    };
    if !quiet {
        let version = job.value.pipeline_version.unwrap_or_default();
        eprintln!("started run {} of {} version {version}", job.value.id, pipeline.name);
    }
    let job = if wait { wait_job(&api, job.value.id.as_str(), quiet).await? } else { job };
    if context.json {
        print_json(&job.raw);
    } else if wait {
        print!("{}", job_details(&job.value));
    } else {
        println!("{}", job.value.id);
        eprintln!("follow it with: helix job {}", job.value.id);
    }
    Ok(match job.value.status {
        JobStatus::Failed | JobStatus::Cancelled => ExitCode::from(EXIT_JOB_FAILED),
        JobStatus::Pending | JobStatus::Running | JobStatus::Completed => ExitCode::SUCCESS,
    })
}

/// How often a chained run is read while `--wait` follows it.
const CHAIN_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// A chained run just started: its steps, and with `--wait` the run followed to its end.
async fn chained_run(
    context: &Context,
    api: &Client,
    pipeline: &PipelineRead,
    mut run: Answer<ChainRun>,
    wait: bool,
) -> Result<ExitCode, CliError> {
    if !context.json {
        eprintln!("started chained run {} of {} version {}", run.value.id, pipeline.name, run.value.pipeline_version);
    }
    while wait && run.value.status == RunStatus::Running {
        tokio::time::sleep(CHAIN_POLL).await;
        run = api.pipeline_run(pipeline.id.as_str(), run.value.id.as_str()).await?;
    }
    if context.json {
        print_json(&run.raw);
    } else {
        print!("{}", steps_table(&run.value));
        if let Some(error) = &run.value.error {
            eprintln!("{error}");
        }
    }
    Ok(match run.value.status {
        RunStatus::Failed | RunStatus::Cancelled => ExitCode::from(EXIT_JOB_FAILED),
        RunStatus::Running | RunStatus::Completed => ExitCode::SUCCESS,
    })
}

fn steps_table(run: &ChainRun) -> String {
    let rows: Vec<Vec<String>> = run
        .steps
        .iter()
        .map(|step| {
            let status = match step.status {
                StepStatus::Waiting => "WAITING",
                StepStatus::Running => "RUNNING",
                StepStatus::Completed => "COMPLETED",
                StepStatus::Failed => "FAILED",
                StepStatus::Skipped => "SKIPPED",
                StepStatus::Cancelled => "CANCELLED",
            };
            vec![
                step.name.clone(),
                status.to_owned(),
                step.after.join(", "),
                step.attempt.to_string(),
                step.job_id.as_ref().map(ToString::to_string).unwrap_or_default(),
                cell(step.error.as_deref().unwrap_or(""), 60),
            ]
        })
        .collect();
    table(&["STEP", "STATUS", "AFTER", "ATTEMPT", "JOB", "ERROR"], &rows)
}

async fn compare(context: &Context, id: &str, version: u32, job: &str) -> Result<ExitCode, CliError> {
    let api = context.api().await?;
    let started = api.compare_version(id, version, job).await?.value;
    let candidate = started.candidate.id.to_string();
    if !context.json {
        eprintln!("running version {version} on the input of job {job}: job {candidate}");
    }
    let finished = wait_job(&api, &candidate, context.json).await?;
    if finished.value.status != JobStatus::Completed {
        if !context.json {
            print!("{}", job_details(&finished.value));
        }
        return Ok(ExitCode::from(EXIT_JOB_FAILED));
    }
    let comparison = api.comparison(id, &candidate).await?;
    if context.json {
        print_json(&comparison.raw);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", comparison_summary(&comparison.value));
    Ok(ExitCode::SUCCESS)
}

fn comparison_summary(c: &ComparisonRead) -> String {
    let mut out = format!("job {} (version {}) against job {}\n", c.candidate.id, c.version, c.baseline.id);
    if let Some(r) = &c.records {
        out.push_str(&format!(
            "records: {} changed, {} added, {} removed, {} unchanged (matched by {})\n",
            r.changed,
            r.added,
            r.removed,
            r.unchanged,
            r.aligned_by.replace('_', " ")
        ));
    }
    if c.fields.is_empty() {
        out.push_str("no field differs\n");
        return out;
    }
    let show = |v: &Option<Value>| v.as_ref().map_or_else(|| "(none)".to_owned(), Value::to_string);
    let rows: Vec<Vec<String>> = c
        .fields
        .iter()
        .map(|f| {
            let example = f.examples.first().map_or_else(String::new, |e| {
                cell(&format!("#{}: {} → {}", e.record, show(&e.before), show(&e.after)), 60)
            });
            vec![f.field.clone(), f.changed.to_string(), f.added.to_string(), f.removed.to_string(), example]
        })
        .collect();
    out.push_str(&table(&["FIELD", "CHANGED", "ADDED", "REMOVED", "EXAMPLE"], &rows));
    out
}

/// `helix drop`: each file checked first (so a typo drops nothing), then a drop URL asked for and
/// the file PUT to it; the inbox starts the runs.
pub async fn drop_files(context: &Context, pipeline: &str, files: &[PathBuf]) -> Result<ExitCode, CliError> {
    let api = context.api().await?;
    let uploads = files.iter().map(|path| Upload::of(path, ArtifactKind::Content)).collect::<Result<Vec<_>, _>>()?;
    let mut dropped = Vec::new();
    for file in &uploads {
        let ticket = api.drop_file(pipeline, file, &Silent).await?;
        if !context.json {
            println!("{} -> {}", file.path.display(), ticket.value.inbox_object);
        }
        dropped.push(json!({"file": file.path.display().to_string(), "inbox_object": ticket.value.inbox_object}));
    }
    if context.json {
        print_json(&json!({ "dropped": dropped }));
    }
    Ok(ExitCode::SUCCESS)
}
