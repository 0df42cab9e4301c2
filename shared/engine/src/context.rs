//! The context: YAML → a compiled plan. Every error names the context file and the line and
//! column of the offending node.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::Source;
use crate::error::EngineError;
use crate::formats::InputOptions;
use crate::limits::Limits;
use crate::mapping::{self, Cast, Expr, Field, Jinja, Mapping, ValueMap, check, fast, jinja};
use crate::tables::TableFormat;
use crate::yaml::{self, Document, YamlLimits};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Json,
    Ndjson,
}

/// `output.format` as a context writes it: the records as a JSON array or NDJSON, or a table.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum DeclaredOutput {
    Json,
    Ndjson,
    Csv,
    Parquet,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputSpec {
    format: Option<DeclaredOutput>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectSpec {
    max_rate: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupSpec {
    by: String,
    #[serde(default = "default_items")]
    items: String,
}

fn default_items() -> String {
    "items".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupSpec {
    /// The CSV artifact (the CLI resolves it beside the context; the worker from the job's files).
    pub file: String,
    /// Key column.
    pub key: String,
}

pub struct Group {
    pub key: Expr,
    pub var: String,
}

/// A compiled context (absent context: `Plan::passthrough`).
pub struct Plan {
    pub name: String,
    pub input: InputOptions,
    pub output: OutputFormat,
    /// The context says `output.format` (a caller's preference does not override it).
    pub output_declared: bool,
    /// The result as a table: the run writes NDJSON records, which a [`TableWriter`] turns into
    /// rows.
    ///
    /// [`TableWriter`]: crate::tables::TableWriter
    pub table: Option<TableFormat>,
    pub max_rate: Option<f64>,
    pub limits: Limits,
    pub mapping: Option<Mapping>,
    pub filter: Option<Expr>,
    pub group: Option<Group>,
    /// Whole-document template (by name in the environment).
    pub document: Option<String>,
    pub casts: bool,
    pub jinja: Jinja,
    pub vars: fast::Vars,
    pub maps: Arc<Vec<ValueMap>>,
    pub lookups: jinja::Lookups,
    pub lookup_specs: Vec<(String, LookupSpec)>,
}

const TOP_LEVEL: [&str; 12] = [
    "version", "input", "output", "rejects", "limits", "maps", "lookups", "filter", "group", "casts", "template",
    "fields",
];
const FIELD_KEYS: [&str; 7] = ["value", "default", "map", "when", "type", "each", "fields"];

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

struct Compiler<'d> {
    file: &'d str,
    /// The context's text, to place errors inside templates (`None`: positions of nodes only).
    text: Option<&'d str>,
    doc: &'d Document,
    env: minijinja::Environment<'static>,
    /// What the environment defines: its globals, and the filters and tests asked about so far.
    globals: HashSet<String>,
    known: HashMap<(bool, String), bool>,
    sources: Vec<String>,
    vars: fast::Vars,
    map_names: Arc<HashMap<String, usize>>,
    maps: Vec<ValueMap>,
    /// Literal text per loop iteration that needs no counting (see `check::prepare`).
    free_text: usize,
}

/// Literal text per loop iteration that cannot reach `bound` within `fuel` iterations.
fn free_text(bound: jinja::Bound, fuel: u64) -> usize {
    usize::try_from(fuel).map_or(0, |fuel| bound.bytes / fuel.max(1))
}

/// The filters, tests and functions of an environment, for `check::prepare`.
struct EnvNames<'c> {
    env: &'c minijinja::Environment<'static>,
    globals: &'c HashSet<String>,
    known: &'c mut HashMap<(bool, String), bool>,
}

impl EnvNames<'_> {
    /// Whether `name` is a filter (or a test): minijinja looks them up when an expression
    /// applies one, so a tiny expression tells.
    fn probe(&mut self, test: bool, name: &str) -> bool {
        let env = self.env;
        *self.known.entry((test, name.to_owned())).or_insert_with(|| {
            let (src, unknown) = if test {
                (format!("none is {name}"), minijinja::ErrorKind::UnknownTest)
            } else {
                (format!("none | {name}"), minijinja::ErrorKind::UnknownFilter)
            };
            match env.compile_expression_owned(src) {
                Ok(e) => !matches!(e.eval(()), Err(err) if err.kind() == unknown),
                Err(_) => false,
            }
        })
    }
}

impl check::Names for EnvNames<'_> {
    fn filter(&mut self, name: &str) -> bool {
        self.probe(false, name)
    }

    fn test(&mut self, name: &str) -> bool {
        self.probe(true, name)
    }

    fn function(&mut self, name: &str) -> bool {
        self.globals.contains(name)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (u64, u64) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() as u64 + 1, before[line_start..].chars().count() as u64 + 1)
}

/// Where byte `offset` of a scalar's `value` is in the YAML `file`, given the scalar's node
/// position: exact when the text up to there appears in the file as it is (a plain or quoted
/// scalar on one line, or a line of a `|` block scalar); `None` otherwise (escapes, folding).
fn locate(file: &str, node: (u64, u64), value: &str, offset: usize) -> Option<(u64, u64)> {
    let (line, column) = line_column(value, offset);
    let prefix_start = value[..offset].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &value[prefix_start..offset];
    let lines: Vec<&str> = file.lines().collect();
    let first = lines.get(usize::try_from(node.0).ok()?.checked_sub(1)?)?;
    let skip = usize::try_from(node.1).ok()?.checked_sub(1)?;
    let rest = first.char_indices().nth(skip).map(|(i, _)| &first[i..])?;
    // A `|` block scalar's node is its first line of text; its lines are the file's lines.
    let literal_block = (node.0 >= 2)
        .then(|| lines.get(node.0 as usize - 2))
        .flatten()
        .and_then(|prev| prev.trim_end().rsplit(' ').next())
        .is_some_and(|indicator| indicator.starts_with('|'));
    let (file_line, content, content_column) = match rest.chars().next()? {
        _ if literal_block => {
            let l = lines.get(usize::try_from(node.0 + line - 2).ok()?)?;
            (node.0 + line - 1, l.get(skip..)?, node.1)
        }
        '"' | '\'' if line == 1 => (node.0, &rest[1..], node.1 + 1),
        _ if line == 1 => (node.0, rest, node.1),
        _ => return None,
    };
    content.starts_with(prefix).then_some((file_line, content_column + column - 1))
}

impl Compiler<'_> {
    fn err(&self, pointer: &str, message: impl Into<String>) -> EngineError {
        let pos = self.doc.position(pointer);
        let at = if pointer.is_empty() {
            String::new()
        } else {
            format!("{}: ", pointer.trim_start_matches('/').replace('/', "."))
        };
        EngineError::context(self.file, pos, format!("{at}{}", message.into()))
    }

    fn section<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, EngineError> {
        let Some(v) = self.doc.value.get(key) else { return Ok(None) };
        serde_path_to_error::deserialize(v.clone()).map(Some).map_err(|e| {
            let mut pointer = format!("/{key}");
            for seg in e.path().iter() {
                match seg {
                    serde_path_to_error::Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                    serde_path_to_error::Segment::Map { key } => pointer.push_str(&format!("/{}", escape(key))),
                    _ => {}
                }
            }
            self.err(&pointer, e.into_inner().to_string())
        })
    }

    fn jinja_err(&self, pointer: &str, e: &minijinja::Error) -> EngineError {
        let detail = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
        let line = e.line().filter(|&l| l > 1).map(|l| format!(" (template line {l})")).unwrap_or_default();
        self.err(pointer, format!("template error: {detail}{line}"))
    }

    /// An error at byte `offset` of the template `value` (the scalar at `pointer`).
    fn err_in(&self, pointer: &str, value: &str, offset: usize, message: &str) -> EngineError {
        let node = self.doc.position(pointer);
        let exact = node.zip(self.text).and_then(|(node, text)| locate(text, node, value, offset));
        let message = match exact {
            Some(_) => message.to_owned(),
            None => {
                let (line, column) = line_column(value, offset);
                format!("{message} (template line {line}, column {column})")
            }
        };
        let at = pointer.trim_start_matches('/').replace('/', ".");
        EngineError::context(self.file, exact.or(node), format!("{at}: {message}"))
    }

    /// Checks a template or expression (`src`, a part of the scalar `value` at `pointer`)
    /// against the environment and returns it with the size guards; the source as it is when it
    /// does not parse (compiling it then reports the error).
    fn prepare(&mut self, src: &str, expression: bool, value: &str, pointer: &str) -> Result<String, EngineError> {
        let mut names = EnvNames { env: &self.env, globals: &self.globals, known: &mut self.known };
        match check::prepare(src, expression, &mut names, self.free_text) {
            Ok(prepared) => Ok(prepared.unwrap_or_else(|| src.to_owned())),
            Err(problem) => {
                // `src` lies within `value`.
                let base = src.as_ptr() as usize - value.as_ptr() as usize;
                Err(self.err_in(pointer, value, base + problem.offset, &problem.message))
            }
        }
    }

    /// Checks that minijinja can compile `src` (a part of the scalar `value` at `pointer`)
    /// without running out of stack.
    fn chain_length(&self, src: &str, expression: bool, value: &str, pointer: &str) -> Result<(), EngineError> {
        check::chain_length(src, expression).map_err(|problem| {
            let base = src.as_ptr() as usize - value.as_ptr() as usize;
            self.err_in(pointer, value, base + problem.offset, &problem.message)
        })
    }

    /// An expression (conditions, `each`, group keys): `{{ }}` around it is optional.
    fn expression(&mut self, src: &str, pointer: &str) -> Result<Expr, EngineError> {
        let inner = mapping::single_expression(src).unwrap_or(src.trim());
        self.chain_length(inner, true, src, pointer)?;
        if let Err(e) = self.env.compile_expression(inner) {
            return Err(self.jinja_err(pointer, &e));
        }
        let checked = self.prepare(inner, true, src, pointer)?;
        if let Err(e) = self.env.compile_expression(&checked) {
            return Err(self.jinja_err(pointer, &e));
        }
        self.sources.push(checked);
        let slow = self.sources.len() - 1;
        let names = self.map_names.clone();
        Ok(match fast::compile(inner, &mut self.vars, &|m| names.get(m).copied()) {
            Some(f) => Expr::Fast { fast: f, slow },
            None => Expr::Slow(slow),
        })
    }

    /// A field value: constant text, one `{{ expression }}` (typed result) or a text template.
    fn value(&mut self, src: &str, pointer: &str) -> Result<Expr, EngineError> {
        if !mapping::is_template(src) {
            return Ok(Expr::Const(Value::String(src.to_owned())));
        }
        if mapping::single_expression(src).is_some() {
            return self.expression(src, pointer);
        }
        let name = format!("{}{pointer}", self.file);
        self.chain_length(src, false, src, pointer)?;
        self.env.add_template_owned(name.clone(), src.to_owned()).map_err(|e| self.jinja_err(pointer, &e))?;
        let checked = self.prepare(src, false, src, pointer)?;
        self.env.add_template_owned(name.clone(), checked).map_err(|e| self.jinja_err(pointer, &e))?;
        Ok(Expr::Text(name))
    }

    fn value_map(&self, v: &Value, pointer: &str) -> Result<ValueMap, EngineError> {
        let Value::Object(obj) = v else {
            return Err(self.err(pointer, "a value map is a mapping of source value → target value"));
        };
        let structured = obj.contains_key("values") && obj.keys().all(|k| k == "values" || k == "default");
        let (entries, default) = if structured {
            let Some(Value::Object(values)) = obj.get("values") else {
                return Err(self.err(&format!("{pointer}/values"), "must be a mapping"));
            };
            (values, obj.get("default").cloned())
        } else {
            (obj, None)
        };
        Ok(ValueMap { entries: entries.iter().map(|(k, v)| (k.clone(), v.clone())).collect(), default })
    }

    fn fields(&mut self, map: &Map<String, Value>, pointer: &str) -> Result<Mapping, EngineError> {
        let mut fields = Vec::new();
        for (key, v) in map {
            let p = format!("{pointer}/{}", escape(key));
            let path: Vec<String> = key.split('.').map(str::to_owned).collect();
            if path.iter().any(String::is_empty) {
                return Err(self.err(&p, "empty segment in a dotted field name"));
            }
            let mut field = Field { path, value: None, default: None, map: None, when: None, cast: None, each: None };
            match v {
                Value::String(s) => field.value = Some(self.value(s, &p)?),
                Value::Object(spec) => {
                    if let Some(k) = spec.keys().find(|k| !FIELD_KEYS.contains(&k.as_str())) {
                        return Err(self.err(
                            &format!("{p}/{}", escape(k)),
                            format!("unknown field option `{k}` (expected one of {})", FIELD_KEYS.join(", ")),
                        ));
                    }
                    field.value = match spec.get("value") {
                        Some(Value::String(s)) => Some(self.value(s, &format!("{p}/value"))?),
                        Some(other) => Some(Expr::Const(other.clone())),
                        None => None,
                    };
                    field.default = spec.get("default").cloned();
                    if let Some(w) = spec.get("when") {
                        let w = w.as_str().ok_or_else(|| self.err(&format!("{p}/when"), "must be an expression"))?;
                        field.when = Some(self.expression(w, &format!("{p}/when"))?);
                    }
                    field.map = match spec.get("map") {
                        None => None,
                        Some(Value::String(name)) => Some(*self.map_names.get(name).ok_or_else(|| {
                            self.err(&format!("{p}/map"), format!("no value map named `{name}` under maps:"))
                        })?),
                        Some(inline) => {
                            let m = self.value_map(inline, &format!("{p}/map"))?;
                            self.maps.push(m);
                            Some(self.maps.len() - 1)
                        }
                    };
                    field.cast = match spec.get("type").map(|t| t.as_str()) {
                        None => None,
                        Some(Some("string")) => Some(Cast::String),
                        Some(Some("integer")) => Some(Cast::Integer),
                        Some(Some("number")) => Some(Cast::Number),
                        Some(Some("boolean")) => Some(Cast::Boolean),
                        Some(_) => {
                            return Err(
                                self.err(&format!("{p}/type"), "type must be string, integer, number or boolean")
                            );
                        }
                    };
                    match (spec.get("each"), spec.get("fields")) {
                        (Some(Value::String(list)), Some(Value::Object(sub))) => {
                            let list = self.expression(list, &format!("{p}/each"))?;
                            let sub = self.fields(sub, &format!("{p}/fields"))?;
                            field.each = Some((list, sub));
                        }
                        (None, None) => {}
                        _ => {
                            return Err(self
                                .err(&p, "`each` (an expression giving a list) and `fields` (a mapping) go together"));
                        }
                    }
                    if field.value.is_none() && field.each.is_none() && field.default.is_none() {
                        return Err(self.err(&p, "a field needs `value`, `default` or `each`"));
                    }
                }
                other => field.value = Some(Expr::Const(other.clone())),
            }
            fields.push(field);
        }
        let mut mapping = Mapping { fields };
        mapping.share_values();
        Ok(mapping)
    }
}

fn yaml_limits(limits: &Limits) -> YamlLimits {
    YamlLimits { max_alias_nodes: limits.yaml_alias_nodes, max_depth: limits.yaml_depth }
}

/// Overlays the context's `limits:` on the base limits: a context may lower any limit, and
/// raise one up to the platform's maximum ([`Limits::MAX`]). `Err((pointer, message))`.
fn merge_limits(base: &Limits, overlay: &Value) -> Result<Limits, (String, String)> {
    let Value::Object(overlay) = overlay else {
        return Err(("/limits".into(), "limits: is a mapping of limit name → value".into()));
    };
    let mut merged = serde_json::to_value(base).map_err(|e| (String::from("/limits"), e.to_string()))?;
    for (k, v) in overlay {
        let pointer = format!("/limits/{}", escape(k));
        let Some(maximum) = Limits::maximum(k) else {
            let names: Vec<&str> = Limits::MAX.entries().iter().map(|(n, _)| *n).collect();
            return Err((pointer, format!("unknown limit `{k}` (expected one of {})", names.join(", "))));
        };
        let Some(n) = v.as_u64() else {
            return Err((pointer, format!("limits.{k} is a whole number (at most {maximum})")));
        };
        if n > maximum {
            return Err((
                pointer,
                format!(
                    "limits.{k}: {n} is above the maximum of {maximum}; a context may lower a limit, not raise it past the platform's maximum"
                ),
            ));
        }
        if let Value::Object(m) = &mut merged {
            m.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(merged).map_err(|e| (String::from("/limits"), e.to_string()))
}

impl Plan {
    pub fn passthrough(limits: Limits) -> Plan {
        let lookups: jinja::Lookups = Arc::new(RwLock::new(HashMap::new()));
        let maps = Arc::new(Vec::new());
        let env = jinja::environment(
            &limits,
            jinja::value_bound(&limits),
            maps.clone(),
            Arc::new(HashMap::new()),
            lookups.clone(),
        );
        Plan {
            name: String::new(),
            input: InputOptions::default(),
            output: OutputFormat::Json,
            output_declared: false,
            table: None,
            max_rate: None,
            limits,
            mapping: None,
            filter: None,
            group: None,
            document: None,
            casts: true,
            jinja: Jinja::build(env, &[]).expect("no expressions to compile"),
            vars: fast::Vars::default(),
            maps,
            lookups,
            lookup_specs: Vec::new(),
        }
    }

    pub fn compile(src: Source<'_>, base: Limits) -> Result<Plan, EngineError> {
        Plan::read(src, base).map(|(plan, _)| plan)
    }

    /// The plan and the YAML document it was compiled from (`None` for a `.j2` template).
    fn read(src: Source<'_>, base: Limits) -> Result<(Plan, Option<Value>), EngineError> {
        if src.name.ends_with(".j2") {
            return Ok((Plan::document(src, base)?, None));
        }
        let doc =
            yaml::load(src.text, yaml_limits(&base)).map_err(|e| EngineError::context(src.name, e.pos, e.message))?;
        let plan = Plan::from_document(src.name, Some(src.text), &doc, base)?;
        Ok((plan, Some(doc.value)))
    }

    /// A context read from YAML (`text`, if known, for error positions) into `doc` (named
    /// `name` in error messages).
    fn from_document(name: &str, text: Option<&str>, doc: &Document, base: Limits) -> Result<Plan, EngineError> {
        let Value::Object(top) = &doc.value else {
            return Err(EngineError::context(
                name,
                doc.position(""),
                "a context is a YAML mapping (input:, fields:, …)",
            ));
        };
        if let Some(k) = top.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
            return Err(EngineError::context(
                name,
                doc.position(&format!("/{}", escape(k))),
                format!("unknown key `{k}` (expected one of {})", TOP_LEVEL.join(", ")),
            ));
        }
        let limits = match top.get("limits") {
            Some(l) => merge_limits(&base, l).map_err(|(pointer, e)| {
                let message = if e.starts_with("limits.") { e } else { format!("limits: {e}") };
                EngineError::context(name, doc.position(&pointer), message)
            })?,
            None => base,
        };
        let mut maps = Vec::new();
        let mut map_names = HashMap::new();
        let probe = Compiler {
            file: name,
            text,
            doc,
            env: minijinja::Environment::new(),
            globals: HashSet::new(),
            known: HashMap::new(),
            sources: Vec::new(),
            vars: Default::default(),
            map_names: Arc::new(HashMap::new()),
            maps: Vec::new(),
            free_text: 0,
        };
        match top.get("maps") {
            None => {}
            Some(Value::Object(named)) => {
                for (map_name, m) in named {
                    maps.push(probe.value_map(m, &format!("/maps/{}", escape(map_name)))?);
                    map_names.insert(map_name.clone(), maps.len() - 1);
                }
            }
            Some(_) => return Err(probe.err("/maps", "maps: is a mapping of map name → value map")),
        }
        let input: InputOptions = probe.section("input")?.unwrap_or_default();
        input.validate().map_err(|e| probe.err("/input", e))?;
        let output: OutputSpec = probe.section("output")?.unwrap_or_default();
        let rejects: Option<RejectSpec> = probe.section("rejects")?;
        if let Some(r) = &rejects
            && !(0.0..=1.0).contains(&r.max_rate)
        {
            return Err(probe.err("/rejects/max_rate", "max_rate is a fraction between 0 and 1 (0.05 = 5 %)"));
        }
        let group_spec: Option<GroupSpec> = probe.section("group")?;
        let lookup_specs: HashMap<String, LookupSpec> = probe.section("lookups")?.unwrap_or_default();
        let casts: bool = probe.section("casts")?.unwrap_or(true);
        drop(probe);

        // The value maps are final only after the fields (inline maps); the environment's
        // `valuemap` filter only sees named maps, which are all known here.
        let lookups: jinja::Lookups = Arc::new(RwLock::new(HashMap::new()));
        let map_names = Arc::new(map_names);
        let named_maps = Arc::new(
            maps.iter()
                .map(|m| ValueMap { entries: m.entries.clone(), default: m.default.clone() })
                .collect::<Vec<_>>(),
        );
        // A whole-document template builds the whole result: it has a bound of its own.
        let bound = match top.get("template") {
            Some(_) => jinja::document_bound(&limits),
            None => jinja::value_bound(&limits),
        };
        let env = jinja::environment(&limits, bound, named_maps, map_names.clone(), lookups.clone());
        let globals = env.globals().map(|(n, _)| n.to_owned()).collect();
        let mut c = Compiler {
            file: name,
            text,
            doc,
            env,
            globals,
            known: HashMap::new(),
            sources: Vec::new(),
            vars: Default::default(),
            map_names,
            maps,
            free_text: free_text(bound, limits.fuel),
        };

        let filter = match top.get("filter") {
            Some(Value::String(f)) => Some(c.expression(f, "/filter")?),
            Some(_) => return Err(c.err("/filter", "filter is an expression, e.g. STATUS != 'X'")),
            None => None,
        };
        let group = match group_spec {
            Some(g) => Some(Group { key: c.expression(&g.by, "/group/by")?, var: g.items }),
            None => None,
        };
        let document = match top.get("template") {
            Some(Value::String(t)) => {
                let template = format!("{name}#template");
                c.chain_length(t, false, t, "/template")?;
                c.env.add_template_owned(template.clone(), t.clone()).map_err(|e| c.jinja_err("/template", &e))?;
                let checked = c.prepare(t, false, t, "/template")?;
                c.env.add_template_owned(template.clone(), checked).map_err(|e| c.jinja_err("/template", &e))?;
                Some(template)
            }
            Some(_) => return Err(c.err("/template", "template is a Jinja template text")),
            None => None,
        };
        let mapping = match top.get("fields") {
            Some(Value::Object(f)) => Some(c.fields(f, "/fields")?),
            Some(_) => return Err(c.err("/fields", "fields: is a mapping of target field → template or field options")),
            None => None,
        };
        if document.is_some() && (mapping.is_some() || group.is_some()) {
            return Err(
                c.err("/template", "a whole-document template replaces fields: and group:; use one or the other")
            );
        }
        if document.is_some() && matches!(output.format, Some(DeclaredOutput::Csv | DeclaredOutput::Parquet)) {
            return Err(c.err(
                "/output/format",
                "a whole-document template makes one document, not a table: csv and parquet need fields:",
            ));
        }
        let jinja = Jinja::build(c.env, &c.sources).map_err(|e| EngineError::context(name, None, e.to_string()))?;
        Ok(Plan {
            name: name.to_owned(),
            input,
            output: match output.format {
                None | Some(DeclaredOutput::Json) => OutputFormat::Json,
                Some(DeclaredOutput::Ndjson | DeclaredOutput::Csv | DeclaredOutput::Parquet) => OutputFormat::Ndjson,
            },
            output_declared: output.format.is_some(),
            table: match output.format {
                Some(DeclaredOutput::Csv) => Some(TableFormat::Csv),
                Some(DeclaredOutput::Parquet) => Some(TableFormat::Parquet),
                _ => None,
            },
            max_rate: rejects.map(|r| r.max_rate),
            limits,
            mapping,
            filter,
            group,
            document,
            casts,
            jinja,
            vars: c.vars,
            maps: Arc::new(c.maps),
            lookups,
            lookup_specs: lookup_specs.into_iter().collect(),
        })
    }

    /// A `.j2` context: the whole text is a template rendered once over all records.
    fn document(src: Source<'_>, base: Limits) -> Result<Plan, EngineError> {
        let mut plan = Plan::passthrough(base);
        let bound = jinja::document_bound(&base);
        let mut env =
            jinja::environment(&base, bound, plan.maps.clone(), Arc::new(HashMap::new()), plan.lookups.clone());
        let syntax = |e: minijinja::Error| {
            EngineError::context(
                src.name,
                e.line().map(|l| (l as u64, 1)),
                format!("template error: {}", e.detail().unwrap_or("syntax error")),
            )
        };
        let problem = |problem: check::Problem| {
            let pos = line_column(src.text, problem.offset);
            EngineError::context(src.name, Some(pos), format!("template error: {}", problem.message))
        };
        check::chain_length(src.text, false).map_err(problem)?;
        env.add_template_owned(src.name.to_owned(), src.text.to_owned()).map_err(syntax)?;
        let globals = env.globals().map(|(n, _)| n.to_owned()).collect();
        let mut names = EnvNames { env: &env, globals: &globals, known: &mut HashMap::new() };
        let checked = match check::prepare(src.text, false, &mut names, free_text(bound, base.fuel)) {
            Ok(prepared) => prepared.unwrap_or_else(|| src.text.to_owned()),
            Err(p) => return Err(problem(p)),
        };
        env.add_template_owned(src.name.to_owned(), checked).map_err(syntax)?;
        plan.jinja = Jinja::build(env, &[]).map_err(|e| EngineError::context(src.name, None, e.to_string()))?;
        plan.document = Some(src.name.to_owned());
        plan.name = src.name.to_owned();
        Ok(plan)
    }
}

/// A context as the engine reads it, for tools that inspect or extend its field mapping without
/// knowing the context format (auto_map: which target fields are mapped, which columns are read).
/// It is checked like [`crate::check_context`]: a context that does not compile is not read.
#[derive(Debug, Clone)]
pub struct ContextDocument {
    name: String,
    /// The YAML document as JSON; `None` for a `.j2` template context.
    value: Option<Value>,
    input: InputOptions,
    field_mapping: bool,
    targets: Vec<Vec<String>>,
    variables: BTreeSet<String>,
}

impl ContextDocument {
    /// Reads and checks a context (default limits, as [`crate::check_context`]).
    pub fn parse(src: Source<'_>) -> Result<ContextDocument, EngineError> {
        let (plan, value) = Plan::read(src, Limits::default())?;
        Ok(ContextDocument::of(&plan, value))
    }

    fn of(plan: &Plan, value: Option<Value>) -> ContextDocument {
        let mut variables = BTreeSet::new();
        let field_mapping = plan.document.is_none() && plan.mapping.is_some();
        let mut targets = Vec::new();
        if let Some(mapping) = &plan.mapping {
            mapping.variables(&plan.jinja, &mut variables);
            targets.extend(mapping.fields.iter().map(|f| f.path.clone()));
        }
        ContextDocument { name: plan.name.clone(), value, input: plan.input.clone(), field_mapping, targets, variables }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The YAML document as JSON, key order kept; `None` for a `.j2` template context.
    pub fn value(&self) -> Option<&Value> {
        self.value.as_ref()
    }

    /// Whether records are mapped field by field (`fields:`), rather than passed through or
    /// rendered by a whole-document template.
    pub fn is_field_mapping(&self) -> bool {
        self.field_mapping
    }

    /// The `input:` options (default: detect everything).
    pub fn input_options(&self) -> &InputOptions {
        &self.input
    }

    /// The target paths the `fields:` keys write, in order (`customer.id` → `["customer", "id"]`).
    pub fn target_paths(&self) -> &[Vec<String>] {
        &self.targets
    }

    /// Whether a field writes the target at `path`: a field maps its own path and everything
    /// below it (`customer` maps `customer.id`).
    pub fn maps<S: AsRef<str>>(&self, path: &[S]) -> bool {
        self.targets.iter().any(|t| t.len() <= path.len() && t.iter().zip(path).all(|(a, b)| a == b.as_ref()))
    }

    /// The variables the fields read, in their templates and in their `when` and `each`
    /// expressions (nested fields included): source columns, and names such as the functions
    /// the expressions call.
    pub fn read_variables(&self) -> &BTreeSet<String> {
        &self.variables
    }

    /// Adds fields (dotted target, template) to the `fields:` mapping, after the others (a target
    /// already there keeps its place and takes the new template). The context is checked again;
    /// on an error it is left as it was.
    pub fn add_fields<'f>(&mut self, fields: impl IntoIterator<Item = (&'f str, &'f str)>) -> Result<(), EngineError> {
        let missing =
            || EngineError::context(&self.name, None, "the context has no `fields:` mapping to add fields to");
        let mut value = self.value.clone().filter(|_| self.field_mapping).ok_or_else(missing)?;
        let Some(Value::Object(map)) = value.get_mut("fields") else { return Err(missing()) };
        for (target, template) in fields {
            map.insert(target.to_owned(), Value::String(template.to_owned()));
        }
        let doc = Document { value, positions: HashMap::new() };
        let plan = Plan::from_document(&self.name, None, &doc, Limits::default())?;
        *self = ContextDocument::of(&plan, Some(doc.value));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Format;

    fn parse(name: &str, text: &str) -> Result<ContextDocument, EngineError> {
        ContextDocument::parse(Source { name, text })
    }

    #[test]
    fn a_document_tells_what_its_fields_map_and_read() {
        let c = parse(
            "c.yaml",
            r##"
input: { format: csv, delimiter: ";" }
filter: "STATUS != 'X'"
fields:
  id: "{{ ID | trim }}"
  customer.name: { value: "#{{ NAME }} ({{ CITY }})", when: "{{ KIND == 'c' }}", default: "{{ NOT_READ }}" }
  items: { each: "POS", fields: { n: "{{ QTY }}" } }
  fixed: EUR
"##,
        )
        .unwrap();
        assert!(c.is_field_mapping());
        assert_eq!(c.input_options().format, Some(Format::Csv));
        assert_eq!(c.input_options().delimiter.as_deref(), Some(";"));
        let targets: Vec<String> = c.target_paths().iter().map(|p| p.join(".")).collect();
        assert_eq!(targets, ["id", "customer.name", "items", "fixed"]);
        assert!(c.maps(&["customer", "name"]) && c.maps(&["items", "n"]) && c.maps(&["id"]));
        assert!(!c.maps(&["customer"]) && !c.maps(&["customer", "id"]) && !c.maps(&["fixed_x"]));
        // Defaults are constants and the filter is not a field: neither reads a column.
        let read: Vec<&str> = c.read_variables().iter().map(String::as_str).collect();
        assert_eq!(read, ["CITY", "ID", "KIND", "NAME", "POS", "QTY"]);
        assert!(c.value().is_some_and(|v| v["fields"]["fixed"] == "EUR"));
    }

    #[test]
    fn only_field_mappings_take_fields() {
        for (name, text) in [("c.yaml", "input: { format: csv }\n"), ("c.yaml", "template: '[]'\n"), ("c.j2", "[]")] {
            let mut c = parse(name, text).unwrap();
            assert!(!c.is_field_mapping(), "{name}: {text}");
            assert!(c.add_fields([("a", "{{ A }}")]).is_err());
        }
        assert_eq!(parse("c.j2", "[]").unwrap().value(), None);
        assert!(parse("c.yaml", "fields: [a]\n").is_err());
        assert!(parse("c.yaml", "input: { colour: red }\nfields: { a: x }\n").is_err());
    }

    #[test]
    fn added_fields_are_checked_and_read() {
        let mut c = parse("c.yaml", "fields:\n  a: \"{{ A }}\"\n  b: x\n").unwrap();
        c.add_fields([("c.d", "{{ D | trim }}"), ("a", "{{ A2 }}")]).unwrap();
        let keys: Vec<&String> = c.value().unwrap()["fields"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b", "c.d"]);
        assert!(c.maps(&["c", "d"]));
        let read: Vec<&str> = c.read_variables().iter().map(String::as_str).collect();
        assert_eq!(read, ["A2", "D"]);

        let before = c.clone();
        let e = c.add_fields([("e", "{{ E ")]).unwrap_err();
        assert!(e.to_string().contains("template error"), "{e}");
        assert_eq!(c.value(), before.value());
        assert!(!c.maps(&["e"]));
    }
}
