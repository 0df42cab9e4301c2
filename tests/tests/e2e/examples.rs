//! The examples users copy from (`examples/`) run as jobs on the platform: content, context and
//! schema uploaded as artifacts, a job submitted through the API, and the result artifact equal,
//! byte for byte, to the example's expected output (what `helix transform` writes for it).
//! None of the examples uses lookup tables: the job worker does not supply lookup CSVs yet.

use std::path::{Path, PathBuf};

use helix_e2e::{StatusCode, TestPlatform};
use serde_json::json;

struct Example {
    dir: &'static str,
    content: &'static str,
    content_type: &'static str,
    context: &'static str,
    schema: &'static str,
    expected: &'static str,
    records_out: u64,
    records_rejected: u64,
}

const EXAMPLES: [Example; 4] = [
    Example {
        dir: "orders",
        content: "orders.csv",
        content_type: "text/csv",
        context: "orders.yaml",
        schema: "order_line.schema.json",
        expected: "orders.expected.ndjson",
        records_out: 15,
        records_rejected: 0,
    },
    Example {
        dir: "fixed-width",
        content: "stock.txt",
        content_type: "text/plain",
        context: "stock.yaml",
        schema: "stock.schema.json",
        expected: "stock.expected.json",
        records_out: 2,
        records_rejected: 1,
    },
    Example {
        dir: "idoc",
        content: "orders05.xml",
        content_type: "application/xml",
        context: "orders05.yaml",
        schema: "order.schema.json",
        expected: "orders05.expected.json",
        records_out: 1,
        records_rejected: 0,
    },
    Example {
        dir: "grouping",
        content: "orders.csv",
        content_type: "text/csv",
        context: "orders.yaml",
        schema: "order.schema.json",
        expected: "orders.expected.json",
        records_out: 2,
        records_rejected: 0,
    },
];

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn read(dir: &str, file: &str) -> Vec<u8> {
    let path = examples().join(dir).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn every_example_runs_as_a_job_and_gives_its_expected_output() {
    let t = TestPlatform::start().await;
    let user = t.user().await;
    for ex in &EXAMPLES {
        let content = t.upload(&user.token, ex.content, ex.content_type, "content", &read(ex.dir, ex.content)).await;
        let context = t.upload(&user.token, ex.context, "application/yaml", "context", &read(ex.dir, ex.context)).await;
        let schema =
            t.upload(&user.token, ex.schema, "application/schema+json", "schema", &read(ex.dir, ex.schema)).await;
        let (status, job) = t
            .post_json(
                &user.token,
                "/api/v1/jobs",
                &json!({"content_artifact_ids": [content], "context_artifact_id": context, "schema_artifact_id": schema, "name": ex.dir}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{}: {job}", ex.dir);

        let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
        assert_eq!(job["status"], "COMPLETED", "{}: {job}", ex.dir);
        assert_eq!(
            (job["records_out"].as_u64(), job["records_rejected"].as_u64()),
            (Some(ex.records_out), Some(ex.records_rejected)),
            "{}: {job}",
            ex.dir
        );
        let result = t.download(&user.token, job["result_artifact_id"].as_str().unwrap()).await;
        let expected = read(ex.dir, ex.expected);
        assert_eq!(
            String::from_utf8_lossy(&result),
            String::from_utf8_lossy(&expected),
            "{}: result differs from {}",
            ex.dir,
            ex.expected
        );
    }
}
