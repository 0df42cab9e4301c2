//! `helix`: run HelixNet mappings locally, exactly as a job would.

mod cases;
mod remote;
mod suggest;

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use helix_engine::{EngineError, Source, Summary, Transformation};
use indicatif::{ProgressBar, ProgressStyle};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "helix", version, about = "Turn messy business files into schema-valid JSON, locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Mapping {
    /// Context (YAML mapping rules, or a whole-document .j2 template); none: convert as is.
    #[arg(short, long)]
    context: Option<PathBuf>,
    /// Target JSON Schema; none: no validation.
    #[arg(short, long)]
    schema: Option<PathBuf>,
    /// Mapping/validation threads (default: all cores).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

#[derive(Subcommand)]
enum Command {
    /// Transform content files into one result (JSON array or NDJSON) and a reject report.
    Transform {
        #[command(flatten)]
        mapping: Mapping,
        /// Result file (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Reject report file (default: beside the output as NAME.rejects.json, else not written).
        #[arg(short, long)]
        rejects: Option<PathBuf>,
        /// No progress bar and no summary.
        #[arg(short, long)]
        quiet: bool,
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Show the first mapped records and the rejects.
    Preview {
        #[command(flatten)]
        mapping: Mapping,
        /// How many records to show.
        #[arg(short = 'n', long, default_value_t = 10)]
        count: usize,
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Run the test cases stored beside a context (CONTEXT.tests.yaml).
    Test {
        /// Test files, or contexts whose NAME.tests.yaml to run (default: all *.tests.yaml here).
        paths: Vec<PathBuf>,
    },
    /// Propose a draft context mapping INPUT onto a target schema (AI-assisted; review it).
    Suggest(suggest::Args),
    #[command(flatten)]
    Remote(remote::Command),
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn display_name(path: &Path) -> String {
    path.display().to_string()
}

/// Compiles context + schema from files, and loads the lookup tables the context names
/// (relative to the context's folder).
pub fn load(context: Option<&Path>, schema: Option<&Path>, threads: Option<usize>) -> Result<Transformation, String> {
    let ctx_text = context.map(read).transpose()?;
    let schema_text = schema.map(read).transpose()?;
    let (ctx_name, schema_name) = (context.map(display_name), schema.map(display_name));
    let mut t = helix_engine::compile(
        ctx_text.as_deref().zip(ctx_name.as_deref()).map(|(text, name)| Source { name, text }),
        schema_text.as_deref().zip(schema_name.as_deref()).map(|(text, name)| Source { name, text }),
    )
    .map_err(|e| e.to_string())?;
    if let Some(n) = threads {
        t.set_threads(n);
    }
    let dir = context.and_then(Path::parent).unwrap_or(Path::new("."));
    for (name, file) in t.lookup_files() {
        let path = dir.join(&file);
        let text = read(&path)?;
        t.add_lookup(&name, Source { name: &display_name(&path), text: &text }).map_err(|e| e.to_string())?;
    }
    Ok(t)
}

fn progress(total: u64, quiet: bool) -> ProgressBar {
    // Small files finish before a bar is worth drawing.
    if quiet || total < 16 << 20 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style =
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .map(|s| s.progress_chars("=> "));
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar
}

fn print_summary(s: &Summary, rejects: Option<&Path>) {
    eprintln!(
        "{} records in, {} out, {} rejected, {} filtered",
        s.records_in, s.records_out, s.records_rejected, s.records_filtered
    );
    for w in &s.warnings {
        eprintln!("warning: {}: {}", w.input, w.message);
    }
    for r in s.first_rejects.iter().take(10) {
        let at = if r.pointer.is_empty() { String::new() } else { format!(" {}", r.pointer) };
        eprintln!("  {} line {} (record {}){at} [{}]: {}", r.input, r.line, r.record, r.keyword, r.message);
    }
    if s.records_rejected > 0 {
        match rejects {
            Some(p) => eprintln!("reject report: {}", p.display()),
            None => eprintln!("(use --rejects FILE for the full reject report)"),
        }
    }
}

fn feed_all(run: &mut helix_engine::Run<'_, '_>, inputs: &[PathBuf], quiet: bool) -> Result<(), String> {
    let total: u64 = inputs.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    let bar = progress(total, quiet);
    for path in inputs {
        let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        bar.set_message(display_name(path));
        let mut reader = bar.wrap_read(file);
        run.feed(&display_name(path), &mut reader as &mut dyn Read).map_err(|e| e.to_string())?;
    }
    bar.finish_and_clear();
    Ok(())
}

fn transform(
    mapping: Mapping,
    output: Option<PathBuf>,
    rejects: Option<PathBuf>,
    quiet: bool,
    inputs: Vec<PathBuf>,
) -> Result<ExitCode, String> {
    let t = load(mapping.context.as_deref(), mapping.schema.as_deref(), mapping.threads)?;
    let rejects = rejects.or_else(|| output.as_ref().map(|o| o.with_extension("rejects.json")));
    let mut out: Box<dyn Write> = match &output {
        Some(p) => Box::new(File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, &mut out);
    let mut rej: Box<dyn Write> = match &rejects {
        Some(p) => Box::new(BufWriter::new(File::create(p).map_err(|e| format!("{}: {e}", p.display()))?)),
        None => Box::new(io::sink()),
    };
    let mut run = t.start(&mut out, &mut rej).map_err(|e| e.to_string())?;
    feed_all(&mut run, &inputs, quiet)?;
    match run.finish() {
        Ok(s) => {
            if !quiet {
                print_summary(&s, rejects.as_deref());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ EngineError::RejectRateExceeded { .. }) => {
            eprintln!("helix: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn preview(mapping: Mapping, count: usize, inputs: Vec<PathBuf>) -> Result<ExitCode, String> {
    let mut t = load(mapping.context.as_deref(), mapping.schema.as_deref(), mapping.threads)?;
    t.set_threads(1);
    let (mut out, mut rej) = (Vec::new(), Vec::new());
    let mut run = t.start(&mut out, &mut rej).map_err(|e| e.to_string())?;
    feed_all(&mut run, &inputs, true)?;
    let summary = run.finish();
    let records = cases::records(&out).map_err(|e| format!("unreadable result: {e}"))?;
    for r in records.iter().take(count) {
        println!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
    }
    match summary {
        Ok(s) => print_summary(&s, None),
        Err(e) => eprintln!("helix: {e}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Transform { mapping, output, rejects, quiet, inputs } => {
            transform(mapping, output, rejects, quiet, inputs)
        }
        Command::Preview { mapping, count, inputs } => preview(mapping, count, inputs),
        Command::Test { paths } => cases::run(&paths),
        Command::Suggest(args) => suggest::run(args),
        Command::Remote(command) => return remote::run(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("helix: {e}");
            ExitCode::FAILURE
        }
    }
}
