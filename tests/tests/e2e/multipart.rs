//! Files above the multipart threshold go up in parts through presigned URLs, each part bound
//! to its length and SHA-256, resumably; on moto, and against an S3 that checks signatures and
//! checksums (s3s-fs in `make test`, LocalStack's S3 in `make test-localstack`).

use base64::Engine;
use sha2::{Digest, Sha256};

use helix_e2e::{Options, StatusCode, TestPlatform};
use serde_json::{Value, json};

const MIB: usize = 1024 * 1024;
const PART: usize = 5 * MIB;

fn options(signing_s3: bool) -> Options {
    Options {
        max_upload_bytes: 64 * MIB as u64,
        multipart_threshold_bytes: PART as u64,
        signing_s3,
        ..Default::default()
    }
}

/// A CSV of a little over two parts: two full parts and a short last one.
fn big_csv() -> Vec<u8> {
    let mut csv = b"id,qty\n".to_vec();
    let mut i = 0;
    while csv.len() < 2 * PART + 4000 {
        csv.extend_from_slice(format!("{i:08},{}\n", i % 97).as_bytes());
        i += 1;
    }
    csv
}

fn part(bytes: &[u8], number: usize) -> &[u8] {
    &bytes[(number - 1) * PART..(number * PART).min(bytes.len())]
}

/// A refusal's message and the field it names.
fn refusal(body: &Value) -> (String, Option<String>) {
    let error = &body["error"];
    (error["message"].as_str().unwrap_or_default().to_owned(), error["field"].as_str().map(str::to_owned))
}

fn checksum(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

async fn start_upload(t: &TestPlatform, token: &str, bytes: &[u8], first: &[usize]) -> Value {
    let parts: Vec<Value> =
        first.iter().map(|&n| json!({"part_number": n, "checksum_sha256": checksum(part(bytes, n))})).collect();
    let request = json!({"filename": "big.csv", "content_type": "text/csv", "size_bytes": bytes.len(),
        "kind": "content", "part_size": PART, "parts": parts});
    let (status, ticket) = t.post_json(token, "/api/v1/artifacts/upload", &request).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    ticket
}

async fn try_put_part(t: &TestPlatform, url: &Value, body: &[u8]) -> reqwest::Result<reqwest::Response> {
    let mut request = t.http.put(url["url"].as_str().unwrap()).body(body.to_vec());
    for (name, value) in url["headers"].as_object().unwrap() {
        request = request.header(name, value.as_str().unwrap());
    }
    request.send().await
}

async fn put_part(t: &TestPlatform, url: &Value, body: &[u8]) -> reqwest::Response {
    try_put_part(t, url, body).await.unwrap()
}

/// Whether S3 refused the PUT: an error status, or (s3s-fs) a connection closed before the body
/// was read.
async fn refused(t: &TestPlatform, url: &Value, body: &[u8]) -> bool {
    try_put_part(t, url, body).await.map_or(true, |r| !r.status().is_success())
}

async fn part_urls(t: &TestPlatform, token: &str, id: &str, bytes: &[u8], numbers: &[usize]) -> Vec<Value> {
    let checksums: Vec<String> = numbers.iter().map(|&n| checksum(part(bytes, n))).collect();
    let (status, body) = t
        .post_json(
            token,
            &format!("/api/v1/artifacts/{id}/parts"),
            &json!({"part_numbers": numbers, "checksums_sha256": checksums}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["parts"].as_array().unwrap().clone()
}

async fn etag_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    response.headers()["etag"].to_str().unwrap().to_owned()
}

/// Uploads the big file in parts, the last one after a "reconnect" that asks what is stored.
async fn upload_in_parts(t: &TestPlatform, token: &str, bytes: &[u8]) -> String {
    let ticket = start_upload(t, token, bytes, &[1, 2]).await;
    assert_eq!((ticket["part_size"].as_u64(), ticket["part_count"].as_u64()), (Some(PART as u64), Some(3)), "{ticket}");
    let id = ticket["artifact_id"].as_str().unwrap().to_owned();
    let first = &ticket["parts"].as_array().unwrap()[0];
    assert_eq!(first["part_number"], 1);
    let etag = etag_of(put_part(t, first, part(bytes, 1)).await).await;

    // The connection drops; the client comes back and asks what S3 holds.
    let (status, stored) = t.get(token, &format!("/api/v1/artifacts/{id}/parts")).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    let listed = &stored["parts"];
    assert_eq!(
        (&listed[0]["part_number"], &listed[0]["size"], listed.as_array().unwrap().len()),
        (&json!(1), &json!(PART), 1)
    );
    // s3s-fs lists parts without their ETags; S3, moto and LocalStack with them.
    assert!(listed[0]["etag"] == json!(etag) || listed[0]["etag"] == "", "{stored}");
    let mut etags = vec![etag];
    for url in part_urls(t, token, &id, bytes, &[2, 3]).await {
        let n = url["part_number"].as_u64().unwrap() as usize;
        etags.push(etag_of(put_part(t, &url, part(bytes, n)).await).await);
    }

    let parts: Vec<Value> = etags.iter().enumerate().map(|(i, e)| json!({"part_number": i + 1, "etag": e})).collect();
    let (status, artifact) =
        t.post_json(token, &format!("/api/v1/artifacts/{id}/complete"), &json!({"parts": parts})).await;
    assert_eq!(status, StatusCode::OK, "{artifact}");
    assert_eq!(artifact["status"], "AVAILABLE");
    assert_eq!(artifact["size_bytes"], bytes.len());
    assert!(artifact.get("multipart").is_none(), "{artifact}");
    id
}

#[tokio::test]
async fn a_big_file_goes_up_in_parts_and_a_job_reads_it() {
    let t = TestPlatform::start_with(options(false)).await;
    let user = t.user().await;
    let bytes = big_csv();
    let id = upload_in_parts(&t, &user.token, &bytes).await;
    let (_, artifact) = t.get(&user.token, &format!("/api/v1/artifacts/{id}")).await;
    // S3 says `<checksum of the parts' checksums>-3`; moto gives the whole file's SHA-256.
    let checksum = artifact["checksum_sha256"].as_str().unwrap_or_default();
    assert!(checksum.len() == 44 || checksum.ends_with("-3"), "{artifact}");
    assert_eq!(t.download(&user.token, &id).await, bytes);

    let context = "fields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n";
    let (status, job) =
        t.post_json(&user.token, "/api/v1/jobs", &json!({"content_artifact_ids": [id], "context": context})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = t.wait_job(&user.token, job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert_eq!(job["records_in"].as_u64(), Some(bytes.iter().filter(|&&b| b == b'\n').count() as u64 - 1));
}

/// helix-client's uploads against the S3 that checks signatures: a small file streamed to one
/// PUT (its length signed, the body sent without one of its own), a big one in parts, each bound
/// to its SHA-256; both stored byte for byte. (This S3 sends no upload events, so the small
/// file is read from the bucket: the server never checks it here.)
#[tokio::test]
async fn the_rust_clients_uploads_pass_a_signature_checking_s3() {
    let t = TestPlatform::start_with(options(true)).await;
    let client = t.client(&t.user().await.token);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        helix_client::Upload::of(&path, helix_domain::ArtifactKind::Content).unwrap()
    };

    let small = b"id,qty\n1,2\n";
    let id = client.upload(&write("small.csv", small), None, &helix_client::Silent).await.unwrap();
    let (s3, bucket) = (&t.platform.clients.s3, &t.platform.settings.artifacts.bucket);
    let listed = s3.list_objects_v2().bucket(bucket).prefix("uploads/").send().await.unwrap();
    let key = listed.contents().iter().filter_map(|o| o.key()).find(|k| k.contains(id.as_str())).unwrap();
    let stored = s3.get_object().bucket(bucket).key(key).send().await.unwrap().body.collect().await.unwrap();
    assert_eq!(stored.into_bytes().as_ref(), small);

    let big = big_csv();
    let file = write("big.csv", &big);
    let id = client.upload(&file, None, &helix_client::Silent).await.unwrap();
    client.wait_available(&file, &id).await.unwrap();
    let stored = client.open_artifact(&id).await.unwrap().bytes().await.unwrap();
    assert!(stored == big, "{} bytes stored of {}", stored.len(), big.len());
}

#[tokio::test]
async fn parts_are_checked_by_s3_and_a_cancelled_upload_is_gone() {
    let t = TestPlatform::start_with(options(true)).await;
    let user = t.user().await;
    let bytes = big_csv();

    // S3 refuses a part whose body is not the one whose checksum was signed.
    let ticket = start_upload(&t, &user.token, &bytes, &[1]).await;
    let url = &ticket["parts"][0];
    assert_eq!(url["headers"]["x-amz-checksum-sha256"], checksum(part(&bytes, 1)), "{ticket}");
    let mut forged = part(&bytes, 1).to_vec();
    forged[10] ^= 1;
    // The signature covers the checksum: a part sent with its own checksum is refused...
    let mut claimed = url.clone();
    claimed["headers"]["x-amz-checksum-sha256"] = checksum(&forged).into();
    assert!(refused(&t, &claimed, &forged).await, "a part with another checksum than the signed one was stored");
    // ...and one sent under the signed checksum is refused by S3's check of it (S3 and
    // LocalStack check part checksums; s3s-fs 0.14 does not, and stores the part).
    let checks_checksums = std::env::var("HELIX_TEST_S3S_CHECKS_PART_CHECKSUMS").is_ok_and(|v| v == "1");
    if checks_checksums {
        assert!(refused(&t, url, &forged).await, "a part whose body does not match its signed checksum was stored");
    }

    let id = ticket["artifact_id"].as_str().unwrap();
    let (_, stored) = t.get(&user.token, &format!("/api/v1/artifacts/{id}/parts")).await;
    if checks_checksums {
        assert_eq!(stored["parts"], json!([]), "nothing refused was kept");
    }
    etag_of(put_part(&t, url, part(&bytes, 1)).await).await;

    // Cancelling drops the upload: its parts are gone, and it can no longer be completed.
    let response =
        t.http.delete(t.url(&format!("/api/v1/artifacts/{id}/upload"))).bearer_auth(&user.token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, artifact) = t.get(&user.token, &format!("/api/v1/artifacts/{id}")).await;
    assert_eq!((status, artifact["status"].as_str()), (StatusCode::OK, Some("REJECTED")), "{artifact}");
    let (status, body) = t.get(&user.token, &format!("/api/v1/artifacts/{id}/parts")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // And the whole flow works against the checking S3.
    let id = upload_in_parts(&t, &user.token, &bytes).await;
    assert_eq!(t.download(&user.token, &id).await, bytes);
}

#[tokio::test]
async fn bad_multipart_requests_name_their_field() {
    let t = TestPlatform::start_with(options(false)).await;
    let user = t.user().await;
    let bytes = big_csv();
    let request = |extra: Value| {
        let mut body =
            json!({"filename": "big.csv", "content_type": "text/csv", "size_bytes": bytes.len(), "kind": "content"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (json!({"part_size": 1024}), "part_size", "between 5242880"),
        (
            json!({"parts": [{"part_number": 9, "checksum_sha256": checksum(b"x")}], "part_size": PART}),
            "parts",
            "parts are 1 to 3",
        ),
        (json!({"parts": [{"part_number": 1, "checksum_sha256": "not base64"}]}), "parts", "SHA-256 in base64"),
        (
            json!({"size_bytes": 10, "parts": [{"part_number": 1, "checksum_sha256": checksum(b"x")}]}),
            "parts",
            "one PUT",
        ),
    ];
    for (extra, field, needle) in cases {
        let (status, body) = t.post_json(&user.token, "/api/v1/artifacts/upload", &request(extra.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{extra}: {body}");
        let (message, named) = refusal(&body);
        assert_eq!(named.as_deref(), Some(field), "{body}");
        assert!(message.contains(needle), "{message}");
    }

    let ticket = start_upload(&t, &user.token, &bytes, &[]).await;
    assert_eq!(ticket["parts"], json!([]));
    let id = ticket["artifact_id"].as_str().unwrap();
    let (status, body) = t
        .post_json(
            &user.token,
            &format!("/api/v1/artifacts/{id}/parts"),
            &json!({"part_numbers": [1, 2], "checksums_sha256": [checksum(b"x")]}),
        )
        .await;
    assert_eq!(
        (status, refusal(&body).1.as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("checksums_sha256")),
        "{body}"
    );
    let (status, body) = t
        .post_json(
            &user.token,
            &format!("/api/v1/artifacts/{id}/complete"),
            &json!({"parts": [{"part_number": 1, "etag": "\"x\""}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(refusal(&body).0.contains("the file has 3 parts, 1 were listed"), "{body}");

    // Someone else's upload does not exist for them.
    let other = t.user().await;
    let (status, _) = t.get(&other.token, &format!("/api/v1/artifacts/{id}/parts")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_job_cancelled_while_running_stops_and_publishes_nothing() {
    let t = TestPlatform::start_with(Options { max_upload_bytes: 64 * MIB as u64, ..Default::default() }).await;
    let user = t.user().await;
    let mut csv = b"id,qty\n".to_vec();
    while csv.len() < 24 * MIB {
        csv.extend_from_slice(format!("{:08},{}\n", csv.len(), csv.len() % 97).as_bytes());
    }
    let content = t.upload(&user.token, "big.csv", "text/csv", "content", &csv).await;
    let context = "fields:\n  id: \"{{ id }}\"\n  qty: \"{{ qty }}\"\n";
    let (status, job) =
        t.post_json(&user.token, "/api/v1/jobs", &json!({"content_artifact_ids": [content], "context": context})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    loop {
        let (_, job) = t.get(&user.token, &format!("/api/v1/jobs/{id}")).await;
        match job["status"].as_str() {
            Some("RUNNING") => break,
            Some("PENDING") => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            _ => panic!("the job ended before it could be cancelled: {job}"),
        }
    }
    let (status, cancelled) = t.post_json(&user.token, &format!("/api/v1/jobs/{id}/cancel"), &json!({})).await;
    assert_eq!((status, cancelled["status"].as_str()), (StatusCode::OK, Some("CANCELLED")), "{cancelled}");

    // Within 2 s (the worker looks every second) the run has stopped: its multipart uploads are
    // aborted, nothing is stored under the job's results.
    let s3 = &t.platform.clients.s3;
    let bucket = &t.platform.settings.artifacts.bucket;
    let prefix = format!("results/{id}/");
    let mut settled = false;
    for _ in 0..25 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let uploads = s3.list_multipart_uploads().bucket(bucket).prefix(&prefix).send().await.unwrap();
        let objects = s3.list_objects_v2().bucket(bucket).prefix(&prefix).send().await.unwrap();
        if uploads.uploads().is_empty() && objects.key_count().unwrap_or_default() == 0 {
            settled = true;
            break;
        }
    }
    assert!(settled, "the cancelled run still had uploads open or objects stored after 2.5 s");
    // Longer than the whole run would have taken: it does not finish later.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let (_, job) = t.get(&user.token, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["status"], "CANCELLED", "{job}");
    assert!(job["result_artifact_id"].is_null(), "{job}");
    let objects = s3.list_objects_v2().bucket(bucket).prefix(&prefix).send().await.unwrap();
    assert_eq!(objects.key_count(), Some(0), "nothing is published later either");
}
