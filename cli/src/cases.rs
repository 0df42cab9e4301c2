//! `helix test`: mapping test cases stored beside a context, like `vector test` for its
//! transforms. A file `orders.tests.yaml` next to `orders.yaml`:
//!
//! ```yaml
//! schema: order.schema.json        # optional, relative to this file
//! cases:
//!   - name: maps a line
//!     input: |
//!       ORDER_NO;QTY
//!       45;1.250
//!     expect: [{ "id": "45", "qty": 1250 }]
//!     rejects: [{ line: 3, pointer: /qty, keyword: minimum }]   # each listed key must match
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use helix_engine::Source;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Suite {
    /// Default: the file name without `.tests` (`orders.tests.yaml` → `orders.yaml`).
    context: Option<PathBuf>,
    schema: Option<PathBuf>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    input: String,
    #[serde(default = "default_input_name")]
    input_name: String,
    expect: Option<Vec<Value>>,
    rejects: Option<Vec<serde_json::Map<String, Value>>>,
    /// Expected error text (a substring), for inputs that must fail the run.
    error: Option<String>,
}

fn default_input_name() -> String {
    "input.csv".into()
}

/// The records of a result, JSON array or NDJSON.
pub fn records(out: &[u8]) -> Result<Vec<Value>, serde_json::Error> {
    let text = String::from_utf8_lossy(out);
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(&text);
    }
    text.lines().filter(|l| !l.trim().is_empty()).map(serde_json::from_str).collect()
}

/// Equality with numbers compared by value (`1250` equals `1250.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn run_case(suite_dir: &Path, context: &Path, schema: Option<&Path>, case: &Case) -> Result<(), String> {
    let t = crate::load(Some(context), schema.map(|s| suite_dir.join(s)).as_deref(), Some(1))?;
    let (mut out, mut rej) = (Vec::new(), Vec::new());
    let mut run = t.start(&mut out, &mut rej).map_err(|e| e.to_string())?;
    let result = run.feed(&case.input_name, &mut case.input.as_bytes()).and_then(|()| run.finish());
    if let Some(expected) = &case.error {
        return match result {
            Err(e) if e.to_string().contains(expected.as_str()) => Ok(()),
            Err(e) => Err(format!("expected an error containing `{expected}`, got: {e}")),
            Ok(_) => Err(format!("expected an error containing `{expected}`, the run succeeded")),
        };
    }
    result.map_err(|e| e.to_string())?;
    if let Some(expect) = &case.expect {
        let got = records(&out).map_err(|e| e.to_string())?;
        let want = Value::Array(expect.clone());
        if !same(&Value::Array(got.clone()), &want) {
            return Err(format!(
                "records differ\n    expected: {}\n    got:      {}",
                serde_json::to_string(&want).unwrap_or_default(),
                serde_json::to_string(&got).unwrap_or_default()
            ));
        }
    }
    if let Some(expected) = &case.rejects {
        let report: Value = serde_json::from_slice(&rej).map_err(|e| e.to_string())?;
        let got = report["rejects"].as_array().cloned().unwrap_or_default();
        if got.len() != expected.len() {
            return Err(format!("expected {} rejects, got {}: {}", expected.len(), got.len(), Value::Array(got)));
        }
        for (i, (want, have)) in expected.iter().zip(&got).enumerate() {
            for (k, v) in want {
                if !have.get(k).is_some_and(|h| same(h, v)) {
                    return Err(format!("reject {}: expected {k} = {v}, got {have}", i + 1));
                }
            }
        }
    }
    Ok(())
}

fn suite_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let from_dir = |dir: &Path, files: &mut Vec<PathBuf>| -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".tests.yaml"))
            .collect();
        found.sort();
        files.extend(found);
        Ok(())
    };
    if paths.is_empty() {
        from_dir(Path::new("."), &mut files)?;
    }
    for p in paths {
        let s = p.to_string_lossy();
        if p.is_dir() {
            from_dir(p, &mut files)?;
        } else if s.ends_with(".tests.yaml") {
            files.push(p.clone());
        } else {
            let stem = s.trim_end_matches(".yaml").trim_end_matches(".yml").trim_end_matches(".j2");
            files.push(PathBuf::from(format!("{stem}.tests.yaml")));
        }
    }
    Ok(files)
}

pub fn run(paths: &[PathBuf]) -> Result<ExitCode, String> {
    let files = suite_files(paths)?;
    if files.is_empty() {
        return Err("no *.tests.yaml files found".into());
    }
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let text = crate::read(&file)?;
        let name = file.display().to_string();
        let value = helix_engine::load_yaml(Source { name: &name, text: &text }).map_err(|e| e.to_string())?;
        let suite: Suite = serde_json::from_value(value).map_err(|e| format!("{name}: {e}"))?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let context = match &suite.context {
            Some(c) => dir.join(c),
            None => PathBuf::from(name.replace(".tests.yaml", ".yaml")),
        };
        for case in &suite.cases {
            match run_case(dir, &context, suite.schema.as_deref(), case) {
                Ok(()) => {
                    passed += 1;
                    println!("ok   {name}: {}", case.name);
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL {name}: {}\n    {e}", case.name);
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
