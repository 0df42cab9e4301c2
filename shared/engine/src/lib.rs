//! HelixNet's transformation engine: messy business files (CSV, fixed-width, IDoc, JSON, XML) +
//! a context (YAML mapping rules with Jinja templates) + a target JSON Schema → valid JSON
//! records and a reject report, streamed.
//!
//! ```no_run
//! # use helix_engine::*;
//! let t = compile(Some(Source { name: "c.yaml", text: "fields:\n  id: '{{ ID | trim }}'\n" }), None)?;
//! let (mut out, mut rejects) = (Vec::new(), Vec::new());
//! let mut run = t.start(&mut out, &mut rejects)?;
//! run.feed("orders.csv", &mut "ID\n 7 \n".as_bytes())?;
//! let summary = run.finish()?;
//! # Ok::<(), EngineError>(())
//! ```

mod context;
mod direct;
mod error;
pub mod formats;
mod limits;
mod mapping;
mod pipeline;
mod record;
mod slots;
pub mod tables;
mod validate;
mod yaml;

pub use context::{ContextDocument, OutputFormat};
pub use error::EngineError;
pub use limits::Limits;
pub use pipeline::{Frame, PartStart, Run, SplitLayout};
pub use tables::TableFormat;

use context::Plan;
use validate::Target;

/// A named document; the name is used in error messages.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Counts of a finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub records_in: u64,
    pub records_out: u64,
    pub records_rejected: u64,
    /// Records dropped by the context's `filter:` (neither output nor rejected).
    pub records_filtered: u64,
    /// The first rejects (at most `Summary::SAMPLE`), for a quick look without reading the report.
    pub first_rejects: Vec<Reject>,
    /// What the run decided on its own that the user should know, such as a detected encoding.
    pub warnings: Vec<Warning>,
    /// How each content input was read (format, encoding, layout) and what decided it.
    pub inputs: Vec<formats::InputReading>,
}

/// A decision the run took without being told, and its evidence (one per input at most).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Warning {
    /// Content file name.
    pub input: String,
    pub message: String,
}

impl Summary {
    pub const SAMPLE: usize = 20;
}

/// One entry of the reject report (`errors.json`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reject {
    /// Content file name.
    pub input: String,
    /// Source line of the record's first character (segment number for IDocs).
    pub line: u64,
    /// 1-based record index over the whole run.
    pub record: u64,
    /// JSON pointer of the failing target field ("" for the whole record).
    pub pointer: String,
    /// The JSON Schema keyword that failed, or `mapping` / `format` for failures before validation.
    pub keyword: String,
    pub message: String,
}

/// A compiled context + schema, ready to run any number of times (also concurrently).
pub struct Transformation {
    plan: Plan,
    target: Option<Target>,
    /// The direct path, where the mapping has a fixed shape of scalars.
    direct: Option<direct::Shape>,
    threads: usize,
}

/// Compiles a context (`None`: convert content as it is) and a target schema (`None`: no
/// validation) with the default limits.
pub fn compile(context: Option<Source<'_>>, schema: Option<Source<'_>>) -> Result<Transformation, EngineError> {
    compile_with_limits(context, schema, Limits::default())
}

/// Like [`compile`] with explicit limits (the context's `limits:` can still override them,
/// except the YAML ones, which bound the reading of the context itself).
pub fn compile_with_limits(
    context: Option<Source<'_>>,
    schema: Option<Source<'_>>,
    limits: Limits,
) -> Result<Transformation, EngineError> {
    let plan = match context {
        Some(c) => Plan::compile(c, limits)?,
        None => Plan::passthrough(limits),
    };
    let target = schema.map(Target::compile).transpose()?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let direct = direct::Shape::new(&plan, target.as_ref());
    Ok(Transformation { plan, target, direct, threads })
}

/// Checks that a schema is JSON and a valid JSON Schema.
pub fn check_schema(schema: Source<'_>) -> Result<(), EngineError> {
    Target::compile(schema).map(drop)
}

/// Checks that a context is valid (YAML, known options, templates that compile).
pub fn check_context(context: Source<'_>) -> Result<(), EngineError> {
    Plan::compile(context, Limits::default()).map(drop)
}

impl Transformation {
    /// Worker threads for mapping and validation (1: everything on the calling thread).
    /// Defaults to the available parallelism (at most 8).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Every record through the general path (tests compare the two paths).
    #[cfg(test)]
    pub(crate) fn disable_direct(&mut self) {
        self.direct = None;
    }

    pub fn output_format(&self) -> OutputFormat {
        self.plan.output
    }

    /// Writes the result as the table `format` where the context leaves the choice open (as
    /// [`Self::set_default_output_format`]); returns whether it does.
    pub fn set_default_table(&mut self, format: TableFormat) -> bool {
        let open = !self.plan.output_declared && self.plan.document.is_none();
        if open {
            self.plan.output = OutputFormat::Ndjson;
            self.plan.table = Some(format);
        }
        open
    }

    /// The table the result is, when the context asks for one (`output.format: csv` or
    /// `parquet`): write the run's records through [`Self::table_writer`] then.
    pub fn table_format(&self) -> Option<TableFormat> {
        self.plan.table
    }

    /// Where the run's records go to become the table [`Self::table_format`] names, written
    /// to `out`; `finish` it after the run.
    pub fn table_writer<W: std::io::Write + Send>(
        &self,
        format: TableFormat,
        out: W,
    ) -> Result<tables::TableWriter<W>, EngineError> {
        tables::TableWriter::new(format, self.target.as_ref().map(validate::Target::schema), out)
    }

    /// Writes `format` where the context leaves the choice open (no `output.format`, no
    /// whole-document template, whose result is one document); returns whether it does.
    pub fn set_default_output_format(&mut self, format: OutputFormat) -> bool {
        let open = !self.plan.output_declared && self.plan.document.is_none();
        if open {
            self.plan.output = format;
        }
        open
    }

    /// Lookup tables the context declares: (name, file). Provide each with [`Self::add_lookup`].
    pub fn lookup_files(&self) -> Vec<(String, String)> {
        self.plan.lookup_specs.iter().map(|(n, s)| (n.clone(), s.file.clone())).collect()
    }

    /// Loads a declared lookup table from CSV text (header row required).
    pub fn add_lookup(&self, name: &str, csv: Source<'_>) -> Result<(), EngineError> {
        let spec = self.plan.lookup_specs.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone()).ok_or_else(|| {
            EngineError::context(&self.plan.name, None, format!("the context declares no lookup table `{name}`"))
        })?;
        let table = pipeline::load_lookup(csv, &spec.key, self.plan.limits)?;
        self.plan
            .lookups
            .write()
            .map_err(|_| std::io::Error::other("lookup tables poisoned"))?
            .insert(name.to_owned(), table);
        Ok(())
    }

    /// Starts a run writing valid records to `records` (JSON array, or NDJSON if the context
    /// says so) and the reject report to `rejects` (`{"rejects": [...], "summary": {...}}`).
    pub fn start<'w>(
        &self,
        records: &'w mut dyn std::io::Write,
        rejects: &'w mut dyn std::io::Write,
    ) -> Result<Run<'_, 'w>, EngineError> {
        let mut run = self.begin(records, rejects)?;
        run.write_frame_start()?;
        Ok(run)
    }

    /// A run whose lookup tables are all loaded, before anything is written.
    fn begin<'w>(
        &self,
        records: &'w mut dyn std::io::Write,
        rejects: &'w mut dyn std::io::Write,
    ) -> Result<Run<'_, 'w>, EngineError> {
        for (name, spec) in &self.plan.lookup_specs {
            if !self.plan.lookups.read().is_ok_and(|l| l.contains_key(name)) {
                return Err(EngineError::context(
                    &self.plan.name,
                    None,
                    format!("lookup table `{name}` ({}) was not provided", spec.file),
                ));
            }
        }
        Run::new(self, records, rejects)
    }
}

/// Reads a YAML document (bounded like contexts are) as JSON; for tools that keep their own
/// YAML files beside contexts, such as `helix test` cases.
pub fn load_yaml(src: Source<'_>) -> Result<serde_json::Value, EngineError> {
    let limits = Limits::default();
    yaml::load(src.text, yaml::YamlLimits { max_alias_nodes: limits.yaml_alias_nodes, max_depth: limits.yaml_depth })
        .map(|d| d.value)
        .map_err(|e| EngineError::Context {
            file: src.name.to_owned(),
            line: e.pos.map(|p| p.0),
            column: e.pos.map(|p| p.1),
            message: e.message,
        })
}
