//! `helix suggest`: propose a draft context for a content file and a target schema (or a schema
//! inferred from the file), the same step a `suggest-mapping` job runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use helix_suggest::{Abbreviations, MatchOptions, MiniLm, Signals, SuggestOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Target JSON Schema; none: one is inferred from the sample (see --inferred-schema).
    #[arg(short, long)]
    schema: Option<PathBuf>,
    /// Draft context file (default: standard output).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// JSON report: the best candidates of every target field with confidence and evidence,
    /// and the value maps.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print the draft and the report as one JSON object on standard output
    /// ({"draft_context": "...", "report": {...}}) instead of the draft and a summary.
    #[arg(long)]
    json: bool,
    /// Alternative columns per target field besides the best: in the draft's comments and in
    /// the report.
    #[arg(long, visible_alias = "top", value_name = "K", default_value_t = MatchOptions::default().top_k,
          value_parser = top_k)]
    top_k: usize,
    /// Where to write the inferred schema when no --schema is given.
    #[arg(long)]
    inferred_schema: Option<PathBuf>,
    /// Records of the input to sample.
    #[arg(long, default_value_t = helix_suggest::sample::DEFAULT_SAMPLE_RECORDS)]
    sample: usize,
    /// Confidence (0..1) below which a target field stays unmapped.
    #[arg(long, default_value_t = MatchOptions::default().threshold, value_parser = confidence)]
    threshold: f32,
    /// Embedding model directory (config.json, model.safetensors, tokenizer.json); default:
    /// beside the program (../share/helix/models/all-minilm-l6-v2), the user's cache
    /// (~/.cache/helix/models/all-minilm-l6-v2), or a checkout's .venv.
    #[arg(long, env = helix_suggest::MODEL_DIR_VAR)]
    model: Option<PathBuf>,
    /// Lexical and value signals only: no embedding model.
    #[arg(long)]
    no_model: bool,
    /// Consult this team's mapping memory first (the pairs its users confirmed when reviewing
    /// drafts), read from the server you logged in to (`helix login`; or HELIX_API_KEY): a column
    /// confirmed for a field, under its name or renamed, gets it again. The suggestion itself
    /// runs here. Needs --schema.
    #[arg(long, value_name = "TEAM_ID", requires = "schema")]
    team: Option<String>,
    /// The server to read --team's memory from [default: the one you logged in to].
    #[arg(long, env = "HELIX_API_URL", value_name = "URL", requires = "team")]
    api_url: Option<String>,
    /// Print every value map in full after the summary: each source value, its target value,
    /// how it was matched and the confidence, and the values left without one.
    #[arg(long)]
    values: bool,
    /// A team's abbreviations, added to the built-in domain tables (SAP, clinical, finance, HR,
    /// German/French/Spanish/Dutch): one `ABBREVIATION<TAB>words` a line, `#` comments.
    /// Repeatable; a later file wins.
    #[arg(long, value_name = "FILE")]
    abbreviations: Vec<PathBuf>,
    input: PathBuf,
}

fn top_k(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(k) if (1..=50).contains(&k) => Ok(k),
        _ => Err(format!("`{text}` is not a number of alternatives from 1 to 50")),
    }
}

fn confidence(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{text}` is not a confidence between 0 and 1")),
    }
}

/// Unmapped fields named in the summary; the report and --json list them all.
const UNMAPPED_SHOWN: usize = 10;

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
    let mut abbreviations = Abbreviations::built_in();
    for path in &args.abbreviations {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        abbreviations =
            Arc::new(abbreviations.extended(&path.display().to_string(), &text).map_err(|e| e.to_string())?);
    }
    let options = SuggestOptions {
        sample_records: args.sample,
        matching: MatchOptions { signals, threshold: args.threshold, top_k: args.top_k },
        abbreviations,
    };
    let name =
        args.input.file_name().map_or_else(|| args.input.display().to_string(), |n| n.to_string_lossy().into_owned());
    let embedder = model.as_ref().map(|m| m as _);
    let suggestion = match (&args.team, &schema) {
        (Some(team), Some(schema)) => {
            let memory = crate::remote::mapping_memory(team, args.api_url.clone())?;
            helix_suggest::suggest_remembering(&name, &content, schema, &memory, embedder, &options)
        }
        _ => helix_suggest::suggest(&name, &content, schema.as_ref(), embedder, &options),
    }
    .map_err(|e| e.to_string())?;
    if let Some(path) = &args.output {
        write(path, &suggestion.context_yaml)?;
    }
    let report_json = || serde_json::to_string_pretty(&suggestion.report).map_err(|e| e.to_string());
    if let Some(path) = &args.report {
        write(path, &report_json()?)?;
    }
    if let (Some(path), Some(inferred)) = (&args.inferred_schema, &suggestion.inferred_schema) {
        write(path, &serde_json::to_string_pretty(inferred).map_err(|e| e.to_string())?)?;
    }
    if args.json {
        let both = serde_json::json!({"draft_context": suggestion.context_yaml, "report": suggestion.report});
        println!("{}", serde_json::to_string_pretty(&both).map_err(|e| e.to_string())?);
        return Ok(ExitCode::SUCCESS);
    }
    if args.output.is_none() {
        print!("{}", suggestion.context_yaml);
    }
    eprintln!("{}", summary(&suggestion.report));
    if args.values {
        eprint!("{}", value_maps(&suggestion.report));
    }
    if suggestion.inferred_schema.is_some() && args.inferred_schema.is_none() {
        eprintln!("(no --schema: the fields come from an inferred schema; save it with --inferred-schema FILE)");
    }
    Ok(ExitCode::SUCCESS)
}

/// Every field's value map in full, one line per value.
fn value_maps(report: &helix_suggest::Report) -> String {
    let mut text = String::new();
    for field in &report.fields {
        let Some(map) = &field.value_map else { continue };
        text.push_str(&format!("{} (from {}):\n", field.target, field.source.as_deref().unwrap_or("?")));
        for entry in &map.entries {
            let how =
                serde_json::to_value(entry.how).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            text.push_str(&format!("  {} -> {} ({how} {:.2})\n", entry.source, entry.target, entry.confidence));
        }
        for value in &map.unmapped {
            text.push_str(&format!("  {value} -> no target value: records with it are rejected\n"));
        }
    }
    text
}

/// What was mapped, in a few lines: counts, the value maps, and the first unmapped fields.
fn summary(report: &helix_suggest::Report) -> String {
    let mapped = report.fields.len() - report.unmapped_fields.len();
    let mut text = format!(
        "{mapped} of {} target fields mapped from {} sampled records",
        report.fields.len(),
        report.records_sampled
    );
    let remembered = report.fields.iter().filter(|f| f.remembered).count();
    if remembered > 0 {
        text.push_str(&format!(" ({remembered} from the team's mapping memory)"));
    }
    let maps: Vec<_> = report.fields.iter().filter_map(|f| f.value_map.as_ref()).collect();
    if !maps.is_empty() {
        let translated: usize = maps.iter().map(|m| m.entries.len()).sum();
        let open: usize = maps.iter().map(|m| m.unmapped.len()).sum();
        text.push_str(&format!(
            "\n{} value maps: {translated} source values translated, {open} without a target value",
            maps.len()
        ));
    }
    let unmapped = &report.unmapped_fields;
    if !unmapped.is_empty() {
        let shown = unmapped.iter().take(UNMAPPED_SHOWN).map(String::as_str).collect::<Vec<_>>().join(", ");
        let more = match unmapped.len().saturating_sub(UNMAPPED_SHOWN) {
            0 => String::new(),
            n => format!(" and {n} more (all of them in --report or --json)"),
        };
        text.push_str(&format!("\n{} not mapped: {shown}{more}", unmapped.len()));
    }
    let check: Vec<&str> = report.fields.iter().filter(|f| f.fallback.is_some()).map(|f| f.target.as_str()).collect();
    if !check.is_empty() {
        text.push_str(&format!(
            "\n{} required fields filled with a guess to check (CHECK ME): {}",
            check.len(),
            check.join(", ")
        ));
    }
    if !report.rejecting_fields.is_empty() {
        text.push_str(&format!(
            "\n{} required fields unmapped, every record is rejected until they are mapped: {}",
            report.rejecting_fields.len(),
            report.rejecting_fields.join(", ")
        ));
    }
    text
}
