//! One file over many workers on the emulator: a job whose input is above the shard threshold
//! goes out as shard messages on the real job queue, its plan in DynamoDB, its shards' outputs
//! in S3, and its result and reject report are byte for byte those of the same job on a platform
//! that does not split it, for CSV and for flat IDocs. A file with a quote inside an unquoted
//! field runs on one worker and is still right.

use helix_e2e::{Options, StatusCode, TestPlatform};
use serde_json::{Value, json};

const SHARD_BYTES: u64 = 16 * 1024;

const CONTEXT: &str = "fields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n  note: \"{{ note }}\"\n  line: \"{{ meta.line }}\"\n  index: \"{{ meta.index }}\"\n";
const SCHEMA: &str =
    r#"{"type": "object", "required": ["id", "qty"], "properties": {"qty": {"type": "integer", "minimum": 0}}}"#;

/// About 200 KiB with quoted line breaks and escaped quotes, CRLF and LF, blank lines, and
/// every seventh quantity negative (rejected).
fn csv() -> String {
    let mut csv = String::from("id,qty,note\n");
    let mut i = 0i64;
    while csv.len() < 200 * 1024 {
        let qty = if i % 7 == 3 { -i } else { i };
        let note = match i % 4 {
            0 => format!("\"first line\nsecond line of {i}\""),
            1 => format!("\"a \"\"quoted\"\" word,\r\n{}\"", "x".repeat((i % 60) as usize)),
            2 => "plain".to_owned(),
            _ => format!("\"{}\n\n{i}\"", "long ".repeat((i % 90) as usize)),
        };
        csv.push_str(&format!("r{i},{qty},{note}{}", if i % 3 == 0 { "\r\n" } else { "\n" }));
        if i % 100 == 17 {
            csv.push('\n');
        }
        i += 1;
    }
    csv
}

/// The job's final JSON, its result and its reject report.
async fn run(t: &TestPlatform, csv: &str) -> (Value, Vec<u8>, Vec<u8>) {
    run_file(t, ("orders.csv", "text/csv"), csv, CONTEXT).await
}

async fn run_file(
    t: &TestPlatform,
    (name, content_type): (&str, &str),
    text: &str,
    context: &str,
) -> (Value, Vec<u8>, Vec<u8>) {
    let user = t.user().await;
    let content = t.upload(&user.token, name, content_type, "content", text.as_bytes()).await;
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    let request = json!({"content_artifact_ids": [content], "context": context, "schema": schema});
    let (status, job) = t.post_json(&user.token, "/api/v1/jobs", &request).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    let result = t.download(&user.token, job["result_artifact_id"].as_str().unwrap()).await;
    let report = t.download(&user.token, job["error_report_artifact_id"].as_str().unwrap()).await;
    (job, result, report)
}

fn sharding() -> Options {
    Options { shards: (4 * SHARD_BYTES, SHARD_BYTES), ..Options::default() }
}

#[tokio::test]
async fn a_file_over_many_workers_is_byte_identical_to_one_worker() {
    let csv = csv();
    let (_, result, report) = run(&TestPlatform::start().await, &csv).await;
    let (job, sharded_result, sharded_report) = run(&TestPlatform::start_with(sharding()).await, &csv).await;

    let total = job["shards"]["total"].as_u64().unwrap();
    assert!(total >= 8, "{job}");
    assert_eq!(job["shards"], json!({"total": total, "done": total, "failed": 0}));
    assert!(job["records_rejected"].as_u64().unwrap() > 0, "{job}");
    assert_eq!(String::from_utf8_lossy(&sharded_result), String::from_utf8_lossy(&result));
    assert_eq!(String::from_utf8_lossy(&sharded_report), String::from_utf8_lossy(&report));
}

/// About 200 KiB of flat ORDERS IDocs of 2 to 60 segments, some longer than a shard, blank lines
/// between some, CRLF in a quarter, and every fifth order's first quantity negative (rejected).
fn idoc() -> String {
    let segment = |name: &str, docnum: u32, segnum: u32, parent: u32, level: u32, sdata: &str| {
        format!("{name:<30}800{docnum:016}{segnum:06}{parent:06}{level:02}{sdata}")
    };
    let mut text = String::new();
    let mut docnum = 0u32;
    while text.len() < 200 * 1024 {
        let end = if docnum % 4 == 1 { "\r\n" } else { "\n" };
        let mut lines = vec![
            format!("{:<10}800{docnum:016}740 3022  {:<60}{:<30}", "EDI_DC40", "ORDERS05", "ORDERS"),
            segment("E2EDK01005", docnum, 1, 0, 1, &format!("EUR Müller {docnum}")),
        ];
        for item in 0..=(docnum * 7 % 30) {
            let qty = if docnum % 5 == 2 && item == 0 { -7 } else { i64::from(item) };
            lines.push(segment("E2EDP01008", docnum, 2 + 2 * item, 0, 2, &qty.to_string()));
            lines.push(segment("E2EDP19001", docnum, 3 + 2 * item, 2 + 2 * item, 3, "002MAT-4711"));
        }
        text.push_str(&lines.join(end));
        text.push_str(end);
        if docnum % 6 == 5 {
            text.push('\n');
        }
        docnum += 1;
    }
    text
}

#[tokio::test]
async fn a_flat_idoc_file_over_many_workers_is_byte_identical_to_one_worker() {
    let idoc = idoc();
    let context = "fields:\n  id: \"{{ EDI_DC40.DOCNUM }}\"\n  qty: \"{{ E1EDP01[0].SDATA }}\"\n  \
                   note: \"{{ E1EDK01[0].SDATA }} {{ E1EDP01 | length }}\"\n  line: \"{{ meta.line }}\"\n  \
                   index: \"{{ meta.index }}\"\n";
    let file = ("orders.idoc", "text/plain");
    let (_, result, report) = run_file(&TestPlatform::start().await, file, &idoc, context).await;
    let (job, sharded_result, sharded_report) =
        run_file(&TestPlatform::start_with(sharding()).await, file, &idoc, context).await;

    let total = job["shards"]["total"].as_u64().unwrap();
    assert!(total >= 8, "{job}");
    assert_eq!(
        (job["attempts"].clone(), job["shards"].clone()),
        (json!(1), json!({"total": total, "done": total, "failed": 0}))
    );
    assert!(job["records_rejected"].as_u64().unwrap() > 0, "{job}");
    assert_eq!(String::from_utf8_lossy(&sharded_result), String::from_utf8_lossy(&result));
    assert_eq!(String::from_utf8_lossy(&sharded_report), String::from_utf8_lossy(&report));
}

#[tokio::test]
async fn a_quote_inside_an_unquoted_field_runs_on_one_worker() {
    let mut csv = csv();
    let at = csv.len() / 2 + csv[csv.len() / 2..].find("plain").unwrap();
    csv.replace_range(at..at + 5, "5\" tv");
    let (_, result, report) = run(&TestPlatform::start().await, &csv).await;
    let (job, sharded_result, sharded_report) = run(&TestPlatform::start_with(sharding()).await, &csv).await;

    assert_eq!(job["attempts"], 2, "the sharded attempt, then one worker's: {job}");
    assert_eq!(sharded_result, result);
    assert_eq!(sharded_report, report);
}

/// Shards whose outputs are above S3's 5 MiB part minimum: the result is their parts copied
/// inside the bucket (UploadPartCopy, topped up from a shard's head where a part is being filled),
/// still byte for byte one worker's.
#[tokio::test]
async fn big_shard_outputs_are_copied_inside_the_bucket_and_still_identical() {
    const MIB: u64 = 1024 * 1024;
    let mut csv = String::from("id,qty,note\n");
    let mut i = 0u64;
    while (csv.len() as u64) < 12 * MIB {
        csv.push_str(&format!("r{i},{},\"a note, of {i}\"\n", i % 50));
        i += 1;
    }
    let big = |shards| Options { max_upload_bytes: 64 * MIB, shards, ..Options::default() };
    let (_, result, report) = run(&TestPlatform::start_with(big((256 * MIB, 64 * MIB))).await, &csv).await;
    let (job, sharded_result, sharded_report) =
        run(&TestPlatform::start_with(big((4 * MIB, 4 * MIB))).await, &csv).await;

    assert!(job["shards"]["total"].as_u64().unwrap() >= 3, "{job}");
    assert!(result.len() as u64 > 15 * MIB, "every shard's output is above 5 MiB: {}", result.len());
    assert!(sharded_result == result, "the result differs");
    assert_eq!(sharded_report, report);
}
