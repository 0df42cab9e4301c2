//! The examples users copy from (`examples/`) run as jobs on the platform: content, context and
//! schema uploaded through helix-client as users' programs do, the job submitted, and the result
//! artifact equal, byte for byte, to the example's expected output (what `helix transform` writes
//! for it). None of the examples uses lookup tables: the job worker does not supply lookup CSVs yet.

use std::path::{Path, PathBuf};

use helix_client::{Silent, Submission};
use helix_domain::JobStatus;
use helix_e2e::TestPlatform;

struct Example {
    dir: &'static str,
    content: &'static str,
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
        context: "orders.yaml",
        schema: "order_line.schema.json",
        expected: "orders.expected.ndjson",
        records_out: 15,
        records_rejected: 0,
    },
    Example {
        dir: "fixed-width",
        content: "stock.txt",
        context: "stock.yaml",
        schema: "stock.schema.json",
        expected: "stock.expected.json",
        records_out: 2,
        records_rejected: 1,
    },
    Example {
        dir: "idoc",
        content: "orders05.xml",
        context: "orders05.yaml",
        schema: "order.schema.json",
        expected: "orders05.expected.json",
        records_out: 1,
        records_rejected: 0,
    },
    Example {
        dir: "grouping",
        content: "orders.csv",
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
    let client = t.client(&t.user().await.token);
    for ex in &EXAMPLES {
        let dir = examples().join(ex.dir);
        let mut files =
            Submission::new(&[dir.join(ex.content)], Some(&dir.join(ex.context)), Some(&dir.join(ex.schema))).unwrap();
        files.name = Some(ex.dir.to_owned());
        let job = client.submit(&files, &Silent).await.unwrap().value;
        let job = client.wait_job(job.id.as_str(), |_| {}).await.unwrap().value;
        assert_eq!(job.status, JobStatus::Completed, "{}: {job:?}", ex.dir);
        assert_eq!(
            (job.records_out, job.records_rejected),
            (Some(ex.records_out), Some(ex.records_rejected)),
            "{}: {job:?}",
            ex.dir
        );
        let result = client.open_artifact(job.result_artifact_id.as_ref().unwrap()).await.unwrap();
        let expected = read(ex.dir, ex.expected);
        assert_eq!(
            String::from_utf8_lossy(&result.bytes().await.unwrap()),
            String::from_utf8_lossy(&expected),
            "{}: result differs from {}",
            ex.dir,
            ex.expected
        );
    }
}
