//! `helix suggest`: propose a draft context for a content file and a target schema (or a schema
//! inferred from the file), the same step a `suggest-mapping` job runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use helix_suggest::{MatchOptions, MiniLm, Signals, SuggestOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Target JSON Schema; none: one is inferred from the sample (see --inferred-schema).
    #[arg(short, long)]
    schema: Option<PathBuf>,
    /// Draft context file (default: standard output).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// JSON report: the three best candidates of every target field with scores and evidence.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Where to write the inferred schema when no --schema is given.
    #[arg(long)]
    inferred_schema: Option<PathBuf>,
    /// Records of the input to sample.
    #[arg(long, default_value_t = helix_suggest::sample::DEFAULT_SAMPLE_RECORDS)]
    sample: usize,
    /// Confidence (0..1) below which a target field stays unmapped.
    #[arg(long, default_value_t = MatchOptions::default().threshold)]
    threshold: f32,
    /// Embedding model directory (config.json, model.safetensors, tokenizer.json); default: the
    /// project's .venv.
    #[arg(long, env = helix_suggest::MODEL_DIR_VAR)]
    model: Option<PathBuf>,
    /// Lexical and value signals only: no embedding model.
    #[arg(long)]
    no_model: bool,
    input: PathBuf,
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let content = std::fs::read(&args.input).map_err(|e| format!("{}: {e}", args.input.display()))?;
    let schema = match &args.schema {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Some(helix_suggest::parse_schema(&path.display().to_string(), &text).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    // A schema is needed to have something to match against; an inferred one maps column to field.
    let model = if args.no_model || schema.is_none() {
        None
    } else {
        let dir = match args.model {
            Some(dir) => dir,
            None => helix_suggest::model_dir().map_err(|e| e.to_string())?,
        };
        Some(MiniLm::load(&dir).map_err(|e| e.to_string())?)
    };
    let signals = if model.is_some() { Signals::Combined } else { Signals::WithoutEmbedding };
    let options =
        SuggestOptions { sample_records: args.sample, matching: MatchOptions { signals, threshold: args.threshold } };
    let name =
        args.input.file_name().map_or_else(|| args.input.display().to_string(), |n| n.to_string_lossy().into_owned());
    let suggestion = helix_suggest::suggest(&name, &content, schema.as_ref(), model.as_ref().map(|m| m as _), &options)
        .map_err(|e| e.to_string())?;
    match &args.output {
        Some(path) => write(path, &suggestion.context_yaml)?,
        None => print!("{}", suggestion.context_yaml),
    }
    if let Some(path) = &args.report {
        write(path, &serde_json::to_string_pretty(&suggestion.report).map_err(|e| e.to_string())?)?;
    }
    if let (Some(path), Some(inferred)) = (&args.inferred_schema, &suggestion.inferred_schema) {
        write(path, &serde_json::to_string_pretty(inferred).map_err(|e| e.to_string())?)?;
    }
    let report = &suggestion.report;
    let mapped = report.fields.len() - report.unmapped_fields.len();
    eprintln!(
        "{mapped} of {} target fields mapped from {} sampled records",
        report.fields.len(),
        report.records_sampled
    );
    if !report.unmapped_fields.is_empty() {
        eprintln!("not mapped: {}", report.unmapped_fields.join(", "));
    }
    if suggestion.inferred_schema.is_some() && args.inferred_schema.is_none() {
        eprintln!("(no --schema: the fields come from an inferred schema; save it with --inferred-schema FILE)");
    }
    Ok(ExitCode::SUCCESS)
}
