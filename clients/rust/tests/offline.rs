//! The client without a HelixNet server: answers read into records and errors, files checked
//! before anything is sent, and which requests are sent again after a failure (against a scripted
//! HTTP server on a loopback port). The calls against a real platform are in the CLI's tests and
//! the end-to-end suite.

use std::sync::{Arc, Mutex};

use helix_client::{Client, Error, Upload, from_response, normalize_url, parse_records};
use helix_domain::ArtifactKind;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[test]
fn results_are_read_as_a_json_array_or_as_ndjson() {
    assert_eq!(parse_records(b" [{\"a\": 1}, {\"a\": 2}]").unwrap(), [json!({"a": 1}), json!({"a": 2})]);
    assert_eq!(parse_records(b"{\"a\": 1}\n\n{\"a\": 2}\n").unwrap(), [json!({"a": 1}), json!({"a": 2})]);
    assert!(parse_records(b"").unwrap().is_empty());
    let broken = parse_records(b"{\"a\": 1}\n{\"a\":").unwrap_err();
    assert!(matches!(broken, Error::Protocol { .. }), "{broken:?}");
}

#[test]
fn an_error_body_names_its_field_and_any_other_body_its_status() {
    let api = from_response(422, r#"{"error": {"code": "invalid", "message": "too long", "field": "name"}}"#, true);
    assert!(matches!(&api, Error::Api { status: 422, field: Some(f), .. } if f == "name"), "{api:?}");
    assert_eq!((api.code(), api.to_string().as_str()), ("invalid", "too long"));
    let proxy = from_response(502, "<html>Bad Gateway</html>", false);
    assert_eq!(
        (proxy.code(), proxy.to_string().as_str()),
        ("http_502", "the server answered HTTP 502: <html>Bad Gateway</html>")
    );
    assert_eq!(from_response(503, "", false).to_string(), "the server answered HTTP 503");
}

#[test]
fn server_addresses_are_checked_and_kept_without_a_trailing_slash() {
    assert_eq!(normalize_url(" https://helix.example.com/ ").unwrap(), "https://helix.example.com");
    assert_eq!(normalize_url("http://127.0.0.1:8000/base/").unwrap(), "http://127.0.0.1:8000/base");
    for bad in ["ftp://helix.example.com", "not a url", "mailto:ops@example.com"] {
        assert!(matches!(normalize_url(bad), Err(Error::Input(_))), "{bad}");
    }
}

#[test]
fn a_file_is_checked_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Upload::of(&dir.path().join("nowhere.csv"), ArtifactKind::Content).err().unwrap();
    assert!(matches!(missing, Error::File { .. }), "{missing:?}");
    let not_a_file = Upload::of(dir.path(), ArtifactKind::Content).err().unwrap();
    assert!(not_a_file.to_string().ends_with("not a file"), "{not_a_file}");
    std::fs::write(dir.path().join("empty.csv"), "").unwrap();
    let empty = Upload::of(&dir.path().join("empty.csv"), ArtifactKind::Content).err().unwrap();
    assert!(empty.to_string().ends_with("the file is empty"), "{empty}");
    std::fs::write(dir.path().join("order.schema.json"), "{}").unwrap();
    let schema = Upload::of(&dir.path().join("order.schema.json"), ArtifactKind::Schema).unwrap();
    assert_eq!((schema.kind_name(), schema.content_type(), schema.size), ("schema", "application/schema+json", 2));
}

/// An HTTP server that answers each request with the next of `answers` (status, body) and
/// records every request's head.
async fn scripted(answers: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let heads = seen.clone();
    tokio::spawn(async move {
        for (status, body) in answers {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                request.extend_from_slice(&buf[..n]);
            }
            heads.lock().unwrap().push(String::from_utf8_lossy(&request).into_owned());
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.unwrap();
        }
    });
    (url, seen)
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|line| line.split_once(": ").filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

#[tokio::test]
async fn a_read_is_sent_again_while_the_server_is_briefly_unavailable() {
    let (url, seen) = scripted(vec![(503, ""), (502, ""), (200, r#"{"email": "a@example.com"}"#)]).await;
    let me = Client::new(&url, Some("token".into())).unwrap().me().await.unwrap();
    assert_eq!(me.value["email"], "a@example.com");
    assert_eq!(seen.lock().unwrap().len(), 3);

    let (url, seen) =
        scripted(vec![(503, ""), (503, ""), (503, r#"{"error": {"code": "unavailable", "message": "later"}}"#)]).await;
    let refused = Client::new(&url, None).unwrap().me().await.err().expect("an error");
    assert_eq!((refused.status(), refused.to_string().as_str()), (Some(503), "later"));
    assert_eq!(seen.lock().unwrap().len(), 3, "three tries, then the error");
}

#[tokio::test]
async fn a_request_that_changes_something_is_sent_again_only_with_its_idempotency_key() {
    let (url, seen) = scripted(vec![(503, "")]).await;
    let refused = Client::new(&url, None).unwrap().cancel_job("job-1").await.err().expect("an error");
    assert_eq!(refused.status(), Some(503));
    assert_eq!(seen.lock().unwrap().len(), 1, "a cancel is not repeated");

    let ticket = r#"{"artifact_id": "a-1", "upload_url": "http://127.0.0.1:9/put", "method": "PUT", "headers": {}}"#;
    let (url, seen) = scripted(vec![(502, ""), (201, ticket)]).await;
    Client::new(&url, None).unwrap().register_upload("o.csv", "text/csv", 3, "content", None).await.unwrap();
    let heads = seen.lock().unwrap();
    let keys: Vec<_> = heads.iter().map(|h| header(h, "idempotency-key").expect("a key on every try")).collect();
    assert_eq!((keys.len(), keys[0]), (2, keys[1]), "the same key twice: {heads:?}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_network_error_naming_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = Client::new(&url, None).unwrap().me().await.err().expect("an error");
    assert!(matches!(&error, Error::Network { url: u, .. } if *u == url), "{error:?}");
    assert_eq!(error.code(), "network");
}

#[tokio::test]
async fn live_events_are_followed_at_the_events_url_when_one_is_given() {
    let (api_url, api_seen) = scripted(vec![]).await;
    let (events_url, events_seen) = scripted(vec![(200, ": keep-alive\n\n")]).await;
    let client = Client::new(&api_url, Some("token".into())).unwrap().with_events_url(&events_url).unwrap();
    // The one stream ends without the job's end and cannot be opened again: an error, after it
    // was asked for at the events URL only.
    assert!(client.follow_job("job-1", |_, _| {}).await.is_err());
    let heads = events_seen.lock().unwrap();
    assert!(heads[0].starts_with("GET /api/v1/jobs/job-1/events HTTP/1.1\r\n"), "{heads:?}");
    assert_eq!(header(&heads[0], "authorization"), Some("Bearer token"));
    assert!(api_seen.lock().unwrap().is_empty());
}
