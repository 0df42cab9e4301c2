//! `helix transform` on messy files: the result written whole or not at all, too many rejects
//! as an exit code, and the output format the file name asks for.

use std::path::Path;
use std::process::{Command, Output};

fn helix(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_helix")).args(args).current_dir(dir).output().expect("helix runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The names in `dir`, sorted (temporary files included: they start with a dot).
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn a_failed_run_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.csv"), "id,name\n1,\"x\n").unwrap();
    let o = helix(dir.path(), &["transform", "bad.csv", "-o", "out.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("unterminated"), "{}", stderr(&o));
    assert_eq!(files(dir.path()), ["bad.csv"]);

    // An earlier result of that name stays as it was.
    std::fs::write(dir.path().join("out.json"), "[]\n").unwrap();
    let o = helix(dir.path(), &["transform", "bad.csv", "-o", "out.json", "--rejects", "rej.json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(files(dir.path()), ["bad.csv", "out.json"]);
    assert_eq!(std::fs::read_to_string(dir.path().join("out.json")).unwrap(), "[]\n");
}

#[test]
fn a_good_run_replaces_the_output_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id,name\n1,x\n").unwrap();
    std::fs::write(dir.path().join("out.json"), "old").unwrap();
    let o = helix(dir.path(), &["transform", "in.csv", "-o", "out.json", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(files(dir.path()), ["in.csv", "out.json", "out.rejects.json"]);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("out.json")).unwrap()).unwrap();
    assert_eq!(v, serde_json::json!([{"id": "1", "name": "x"}]));
    // Not a regular file: written in place, with no report beside it.
    let o = helix(dir.path(), &["transform", "in.csv", "-o", "/dev/null", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// One record of two is rejected (50 %).
fn half_rejected(fail_on_rejects: &str) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id\n1\nx\n").unwrap();
    std::fs::write(dir.path().join("s.json"), r#"{"properties": {"id": {"type": "integer"}}}"#).unwrap();
    let mut args = vec!["transform", "-s", "s.json", "in.csv", "-o", "out.json"];
    if !fail_on_rejects.is_empty() {
        args.push(fail_on_rejects);
    }
    (helix(dir.path(), &args), dir)
}

#[test]
fn fail_on_rejects_exits_3_above_the_rate() {
    let (o, dir) = half_rejected("--fail-on-rejects");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 of 2 records were rejected (50.00 %), more than --fail-on-rejects allows (0 %)"),
        "{}",
        stderr(&o)
    );
    // The result and the report are there to look at.
    assert_eq!(files(dir.path()), ["in.csv", "out.json", "out.rejects.json", "s.json"]);

    assert_eq!(half_rejected("--fail-on-rejects=49.5").0.status.code(), Some(3));
    for allowed in ["--fail-on-rejects=50", ""] {
        let (o, _) = half_rejected(allowed);
        assert_eq!(o.status.code(), Some(0), "{allowed}: {}", stderr(&o));
    }
    let (o, _) = half_rejected("--fail-on-rejects=150");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn the_context_reject_rate_exits_3_too() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id\n1\nx\n").unwrap();
    std::fs::write(
        dir.path().join("c.yaml"),
        "rejects: { max_rate: 0.1 }\nfields:\n  id: { value: '{{ id }}', type: integer }\n",
    )
    .unwrap();
    let o = helix(dir.path(), &["transform", "-c", "c.yaml", "in.csv", "-o", "out.json"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("rejects.max_rate"), "{}", stderr(&o));
    assert_eq!(files(dir.path()), ["c.yaml", "in.csv", "out.json", "out.rejects.json"]);
}

#[test]
fn the_output_name_chooses_ndjson_unless_the_context_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id\n1\n2\n").unwrap();
    for name in ["out.ndjson", "out.jsonl"] {
        let o = helix(dir.path(), &["transform", "in.csv", "-o", name]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(std::fs::read_to_string(dir.path().join(name)).unwrap(), "{\"id\":\"1\"}\n{\"id\":\"2\"}\n");
    }
    std::fs::write(dir.path().join("c.yaml"), "output: { format: json }\n").unwrap();
    let o = helix(dir.path(), &["transform", "-c", "c.yaml", "in.csv", "-o", "out.ndjson"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("out.ndjson gets a JSON array, as the context says"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("out.ndjson")).unwrap()).unwrap();
    assert_eq!(v, serde_json::json!([{"id": "1"}, {"id": "2"}]));
}

/// The project's Python (scripts/setup.sh makes it; `make test` runs it first).
fn venv_python() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")
}

const ORDERS_CONTEXT: &str = "fields:
  id: \"{{ id | int }}\"
  day: \"{{ day }}\"
  amount: \"{{ amount | decimal('de') }}\"
  customer.name: \"{{ name }}\"
";

const ORDERS_SCHEMA: &str = r#"{"type": "object", "required": ["id", "day"], "properties": {
  "id": {"type": "integer"}, "day": {"type": "string", "format": "date"},
  "amount": {"type": ["number", "null"]},
  "customer": {"type": "object", "properties": {"name": {"type": "string"}}}}}"#;

fn orders(dir: &Path) {
    std::fs::write(dir.join("in.csv"), "id;day;amount;name\n1;2024-03-01;1.234,50;Anna, \"A\"\n2;2024-03-02;;Bert\n")
        .unwrap();
    std::fs::write(dir.join("c.yaml"), ORDERS_CONTEXT).unwrap();
    std::fs::write(dir.join("s.json"), ORDERS_SCHEMA).unwrap();
}

#[test]
fn a_parquet_result_reads_in_pyarrow_with_the_schemas_types() {
    let dir = tempfile::tempdir().unwrap();
    orders(dir.path());
    let o = helix(dir.path(), &["transform", "in.csv", "-c", "c.yaml", "-s", "s.json", "-o", "out.parquet", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let read = "import pyarrow.parquet as pq, json, sys\n\
                t = pq.read_table(sys.argv[1])\n\
                print(json.dumps({'schema': [f'{f.name}:{f.type}' for f in t.schema], 'rows': t.to_pylist()}, default=str))";
    let o = Command::new(venv_python()).args(["-c", read, "out.parquet"]).current_dir(dir.path()).output().unwrap();
    assert!(o.status.success(), "pyarrow: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "schema": ["id:int64", "day:date32[day]", "amount:double", "customer:struct<name: string>"],
            "rows": [
                {"id": 1, "day": "2024-03-01", "amount": 1234.5, "customer": {"name": "Anna, \"A\""}},
                {"id": 2, "day": "2024-03-02", "amount": null, "customer": {"name": "Bert"}}
            ]
        })
    );
}

#[test]
fn a_csv_result_has_the_schemas_columns_and_a_field_it_lacks_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    orders(dir.path());
    let o = helix(dir.path(), &["transform", "in.csv", "-c", "c.yaml", "-s", "s.json", "-o", "out.csv", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "id,day,amount,customer.name\n1,2024-03-01,1234.5,\"Anna, \"\"A\"\"\"\n2,2024-03-02,,Bert\n"
    );
    std::fs::write(dir.path().join("c.yaml"), format!("{ORDERS_CONTEXT}  extra: \"x\"\n")).unwrap();
    let o = helix(dir.path(), &["transform", "in.csv", "-c", "c.yaml", "-s", "s.json", "-o", "t.csv", "-q"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("has a field `extra` that is not a column"), "{}", stderr(&o));
    assert!(!dir.path().join("t.csv").exists(), "no half table");
}
