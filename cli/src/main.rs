//! `helix`: run HelixNet mappings locally, exactly as a job would.

mod atomic;
mod cases;
mod model;
mod remote;
mod suggest;

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use helix_engine::{EngineError, OutputFormat, Source, Summary, TableFormat, Transformation};
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
    /// Mapping/validation threads (default: the available cores, at most 8).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
}

#[derive(Subcommand)]
enum Command {
    /// Transform content files into one result (JSON array or NDJSON) and a reject report.
    ///
    /// Exit codes: 0 done, 1 an error (no result or report file is left behind), 2 bad usage,
    /// 3 too many rejects (--fail-on-rejects, or the context's rejects.max_rate; the result and
    /// the report are written all the same).
    Transform {
        #[command(flatten)]
        mapping: Mapping,
        /// Result file (default: standard output). Written whole or not at all. A name ending in
        /// .ndjson or .jsonl gets NDJSON, .csv a CSV table, .parquet a Parquet file, other names a
        /// JSON array, unless the context sets output.format.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Reject report file (default: beside the output as NAME.rejects.json, else not written).
        #[arg(short, long)]
        rejects: Option<PathBuf>,
        /// Exit with code 3 when more than PCT % of the records are rejected (bare flag: any
        /// reject).
        #[arg(long, value_name = "PCT", num_args = 0..=1, require_equals = true, default_missing_value = "0",
              value_parser = percent)]
        fail_on_rejects: Option<f64>,
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
    /// Install, check or find the embedding model `helix suggest` reads.
    #[command(subcommand)]
    Model(model::Command),
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
    // The engine's record and the job's have one JSON shape: shown as `helix jobs get` shows it.
    for reading in s.inputs.iter().filter_map(|r| serde_json::to_value(r).ok()) {
        if let Ok(reading) = serde_json::from_value::<helix_domain::InputReading>(reading) {
            eprintln!("read {}", remote::output::input_reading(&reading));
        }
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

/// Exit code of `transform` when more records are rejected than tolerated.
const TOO_MANY_REJECTS: u8 = 3;

fn percent(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err("a percentage from 0 to 100".into()),
    }
}

/// What an output file's name asks for: records (a JSON array, NDJSON) or a table.
#[derive(Clone, Copy, PartialEq)]
enum Wanted {
    Records(OutputFormat),
    Table(TableFormat),
}

fn format_of(path: &Path) -> Option<Wanted> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "ndjson" | "jsonl" => Some(Wanted::Records(OutputFormat::Ndjson)),
        "json" => Some(Wanted::Records(OutputFormat::Json)),
        "csv" => Some(Wanted::Table(TableFormat::Csv)),
        "parquet" => Some(Wanted::Table(TableFormat::Parquet)),
        _ => None,
    }
}

fn format_name(format: Wanted) -> &'static str {
    match format {
        Wanted::Records(OutputFormat::Json) => "a JSON array",
        Wanted::Records(OutputFormat::Ndjson) => "NDJSON",
        Wanted::Table(TableFormat::Csv) => "CSV",
        Wanted::Table(TableFormat::Parquet) => "Parquet",
    }
}

/// What a run writes, as the context (or the output's name) decided.
fn written(t: &Transformation) -> Wanted {
    t.table_format().map_or(Wanted::Records(t.output_format()), Wanted::Table)
}

/// Where the run's records go: straight to the output, or through a table writer.
enum Sink<W: Write + Send> {
    Records(W),
    Table(Box<helix_engine::tables::TableWriter<W>>),
}

impl<W: Write + Send> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Records(w) => w.write(buf),
            Sink::Table(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Records(w) => w.flush(),
            Sink::Table(w) => w.flush(),
        }
    }
}

impl<W: Write + Send> Sink<W> {
    /// The output, with the table's end written.
    fn finish(self) -> Result<W, EngineError> {
        match self {
            Sink::Records(w) => Ok(w),
            Sink::Table(w) => (*w).finish(),
        }
    }
}

fn transform(
    mapping: Mapping,
    output: Option<PathBuf>,
    rejects: Option<PathBuf>,
    fail_on_rejects: Option<f64>,
    quiet: bool,
    inputs: Vec<PathBuf>,
) -> Result<ExitCode, String> {
    let mut t = load(mapping.context.as_deref(), mapping.schema.as_deref(), mapping.threads)?;
    if let Some((path, wanted)) = output.as_deref().and_then(|p| Some((p, format_of(p)?))) {
        let applied = match wanted {
            Wanted::Records(format) => t.set_default_output_format(format),
            Wanted::Table(format) => t.set_default_table(format),
        };
        if !applied && written(&t) != wanted && !quiet {
            eprintln!(
                "warning: {} gets {}, as the context says (its name asks for {})",
                path.display(),
                format_name(written(&t)),
                format_name(wanted)
            );
        }
    }
    // No report beside `/dev/null`.
    let rejects = rejects
        .or_else(|| output.as_ref().filter(|o| !atomic::is_special(o)).map(|o| o.with_extension("rejects.json")));
    let out_file = output.as_deref().map(atomic::ResultFile::create).transpose()?;
    let rej_file = rejects.as_deref().map(atomic::ResultFile::create).transpose()?;
    let finished = {
        let out: Box<dyn Write + Send> = match &out_file {
            Some(f) => Box::new(f.file()),
            None => Box::new(io::stdout()),
        };
        // The engine writes its records in batches larger than this, which go straight through
        // (a copy of every output byte less); the buffer gathers the small writes around them.
        let out = BufWriter::with_capacity(64 << 10, out);
        let mut out = match t.table_format() {
            Some(format) => Sink::Table(Box::new(t.table_writer(format, out).map_err(|e| e.to_string())?)),
            None => Sink::Records(out),
        };
        let mut rej: Box<dyn Write> = match &rej_file {
            Some(f) => Box::new(BufWriter::new(f.file())),
            None => Box::new(io::sink()),
        };
        let mut run = t.start(&mut out, &mut rej).map_err(|e| e.to_string())?;
        feed_all(&mut run, &inputs, quiet)?;
        let finished = run.finish();
        let mut out = out.finish().map_err(|e| e.to_string())?;
        out.flush().and_then(|()| rej.flush()).map_err(|e| format!("writing the result: {e}"))?;
        finished
    };
    let summary = match finished {
        Ok(s) => s,
        Err(e @ EngineError::RejectRateExceeded { .. }) => {
            out_file.into_iter().chain(rej_file).try_for_each(atomic::ResultFile::persist)?;
            eprintln!("helix: {e}");
            return Ok(ExitCode::from(TOO_MANY_REJECTS));
        }
        Err(e) => return Err(e.to_string()),
    };
    out_file.into_iter().chain(rej_file).try_for_each(atomic::ResultFile::persist)?;
    if !quiet {
        print_summary(&summary, rejects.as_deref());
    }
    let total = summary.records_out + summary.records_rejected;
    if let Some(max) = fail_on_rejects
        && summary.records_rejected as f64 * 100.0 > max * total as f64
    {
        eprintln!(
            "helix: {} of {total} records were rejected ({:.2} %), more than --fail-on-rejects allows ({max} %)",
            summary.records_rejected,
            summary.records_rejected as f64 * 100.0 / total as f64,
        );
        return Ok(ExitCode::from(TOO_MANY_REJECTS));
    }
    Ok(ExitCode::SUCCESS)
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
        Command::Transform { mapping, output, rejects, fail_on_rejects, quiet, inputs } => {
            transform(mapping, output, rejects, fail_on_rejects, quiet, inputs)
        }
        Command::Preview { mapping, count, inputs } => preview(mapping, count, inputs),
        Command::Test { paths } => cases::run(&paths),
        Command::Suggest(args) => suggest::run(args),
        Command::Model(command) => model::run(command),
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
