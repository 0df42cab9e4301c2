//! The reference corpora in `tests/corpora/<family>/<case>/`: real-world file shapes, each with the
//! output or the error it must give (see `tests/corpora/README.md`). Every case runs on one
//! thread and on two (the parallel CSV path splits records differently).

use std::path::{Path, PathBuf};

use helix_engine::{Source, Summary, compile, load_yaml};
use serde_json::Value;

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpora")
}

fn cases() -> Vec<PathBuf> {
    let mut cases = Vec::new();
    for family in std::fs::read_dir(corpora()).expect("tests/corpora exists") {
        let family = family.unwrap().path();
        if !family.is_dir() {
            continue;
        }
        for case in std::fs::read_dir(&family).unwrap() {
            let case = case.unwrap().path();
            if case.join("case.yaml").exists() {
                cases.push(case);
            }
        }
    }
    cases.sort();
    cases
}

fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The run's records (JSON array or NDJSON), its summary, or its error.
fn run(case: &Path, manifest: &Value, threads: usize) -> Result<(Vec<Value>, Summary), String> {
    let text = |key: &str| manifest[key].as_str().map(|file| (file.to_owned(), read_text(&case.join(file))));
    let context = text("context");
    let schema = text("schema");
    let mut t = compile(
        context.as_ref().map(|(name, text)| Source { name, text }),
        schema.as_ref().map(|(name, text)| Source { name, text }),
    )
    .map_err(|e| e.to_string())?;
    t.set_threads(threads);
    let input = manifest["input"].as_str().expect("case.yaml names its input");
    let bytes = std::fs::read(case.join(input)).unwrap();
    let (mut out, mut rejects) = (Vec::new(), Vec::new());
    let summary = {
        let mut run = t.start(&mut out, &mut rejects).map_err(|e| e.to_string())?;
        run.feed(input, &mut bytes.as_slice()).map_err(|e| e.to_string())?;
        run.finish().map_err(|e| e.to_string())?
    };
    let out = String::from_utf8(out).expect("the result is UTF-8");
    let records = if out.trim_start().starts_with('[') {
        serde_json::from_str(&out).expect("the result is a JSON array")
    } else {
        out.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect()
    };
    Ok((records, summary))
}

/// What is wrong with the run of `case`, if anything.
fn check(case: &Path, threads: usize) -> Result<(), String> {
    let manifest = load_yaml(Source { name: "case.yaml", text: &read_text(&case.join("case.yaml")) })
        .map_err(|e| e.to_string())?;
    let result = run(case, &manifest, threads);
    if let Some(expected) = manifest["error"].as_str() {
        return match result {
            Err(e) if e.contains(expected) => Ok(()),
            Err(e) => Err(format!("expected an error containing `{expected}`, got: {e}")),
            Ok((records, _)) => {
                Err(format!("expected an error containing `{expected}`, got {} records", records.len()))
            }
        };
    }
    let (records, summary) = result?;
    if let Some(file) = manifest["expect"].as_str() {
        let expected: Value = serde_json::from_str(&read_text(&case.join(file))).map_err(|e| format!("{file}: {e}"))?;
        if Value::Array(records.clone()) != expected {
            return Err(format!("records differ\n  got:      {}\n  expected: {expected}", Value::Array(records)));
        }
    }
    let rejected = manifest["rejected"].as_u64().unwrap_or(0);
    if summary.records_rejected != rejected {
        return Err(format!(
            "{} records rejected, expected {rejected}: {:?}",
            summary.records_rejected, summary.first_rejects
        ));
    }
    let reading = serde_json::to_value(&summary.inputs[0]).unwrap();
    if let Some(expected) = manifest["reading"].as_object() {
        for (key, value) in expected {
            if &reading[key] != value {
                return Err(format!("reading.{key} is {}, expected {value} (reading: {reading})", reading[key]));
            }
        }
    }
    match manifest["warning"].as_str() {
        Some(expected) if !summary.warnings.iter().any(|w| w.message.contains(expected)) => {
            Err(format!("expected a warning containing `{expected}`, got {:?}", summary.warnings))
        }
        None if !summary.warnings.is_empty() => Err(format!("unexpected warnings: {:?}", summary.warnings)),
        _ => Ok(()),
    }
}

#[test]
fn every_corpus_case_gives_its_output_or_its_error() {
    let cases = cases();
    assert!(cases.len() >= 20, "the corpora hold {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .flat_map(|case| [1, 2].map(|threads| (case, threads)))
        .filter_map(|(case, threads)| {
            let name = case.strip_prefix(corpora()).unwrap_or(case).display().to_string();
            check(case, threads).err().map(|e| format!("{name} (threads {threads}): {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
