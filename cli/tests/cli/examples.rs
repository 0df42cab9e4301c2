//! The examples are the documentation users copy from: each one's test cases must pass, and
//! `helix transform` must run each example end to end.

use std::path::{Path, PathBuf};
use std::process::Command;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn helix(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_helix")).args(args).current_dir(examples()).output().expect("helix runs")
}

#[test]
fn example_test_suites_pass() {
    for suite in ["orders", "fixed-width", "grouping", "idoc"] {
        let out = helix(&["test", suite]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{suite}:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains(" 0 failed"), "{stdout}");
    }
}

#[test]
fn transform_writes_result_and_reject_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.ndjson");
    let o = helix(&[
        "transform",
        "-c",
        "orders/orders.yaml",
        "-s",
        "orders/order_line.schema.json",
        "orders/orders.csv",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 15);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.rejects.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["records_out"], 15);

    let o = helix(&["transform", "-c", "idoc/orders05.yaml", "-s", "idoc/order.schema.json", "idoc/orders05.xml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["message_type"], "ORDRSP");
}

#[test]
fn bad_context_fails_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("c.yaml");
    std::fs::write(&ctx, "fields:\n  a: \"{{ X | }}\"\n").unwrap();
    let o = helix(&["transform", "-c", ctx.to_str().unwrap(), "orders/orders.csv"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("c.yaml line 2"), "{}", String::from_utf8_lossy(&o.stderr));
}
