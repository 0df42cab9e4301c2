//! A response body that stalls after its headers fails the read (a retryable backend error)
//! instead of holding the job that reads it: S3 is played by a socket that sends the headers
//! and ten of a hundred bytes, then nothing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

// Its `client` is for the emulator tests.
#[allow(dead_code)]
mod s3_common;
use s3_common::client_at;

use helix_aws::S3Blobs;
use helix_domain::{Blobs, StoreError};

/// Answers every request with the start of a 100-byte body, then keeps the connection open
/// and silent.
fn stalling_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                line.clear();
            }
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\n";
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&[b'x'; 10]).unwrap();
            stream.flush().unwrap();
            open.push(stream);
        }
    });
    format!("http://{address}")
}

fn blobs(endpoint: String) -> S3Blobs {
    S3Blobs::new(client_at(&endpoint), "bucket").with_body_idle(Duration::from_millis(300))
}

#[tokio::test]
async fn a_body_that_stalls_fails_the_read_instead_of_waiting_for_ever() {
    let blobs = blobs(stalling_server());
    // A read that waits for the rest of the body would never end: it fails the test instead.
    let deadline = Duration::from_secs(10);
    let whole = tokio::time::timeout(deadline, blobs.get_bytes("input.csv", 1 << 20)).await.expect("the read waited");
    assert!(
        matches!(&whole, Err(StoreError::Backend(m)) if m.contains("sent nothing") && m.contains("after 10 bytes")),
        "{whole:?}"
    );
    let range = tokio::time::timeout(deadline, blobs.read_range("input.csv", 0, 100)).await.expect("the read waited");
    assert!(matches!(&range, Err(StoreError::Backend(m)) if m.contains("sent nothing")), "{range:?}");
}
