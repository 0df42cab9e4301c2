//! Spans exported over OTLP/HTTP to a collector: a stand-in collector on loopback receives the
//! request's span in the trace its `traceparent` named.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use tracing_subscriber::layer::SubscriberExt;

/// (path, content type, body) of each POST the collector receives; it answers 200.
fn collector() -> (String, mpsc::Receiver<(String, String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let (sent, received) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let (mut length, mut content_type) = (0, String::new());
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap(),
                    "content-type" => content_type = value.trim().to_owned(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").unwrap();
            let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
            let _ = sent.send((path, content_type, body));
        }
    });
    (endpoint, received)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// In a Tokio runtime, as every function's `main` sets the exporter up.
#[tokio::test(flavor = "multi_thread")]
async fn a_span_reaches_the_collector_in_the_trace_its_traceparent_names() {
    let (endpoint, received) = collector();
    let layer = helix_aws::telemetry::otlp_layer(Some(&endpoint)).expect("the exporter builds");
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request", path = "/api/v1/jobs");
        helix_jobs::continue_trace(&span, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        span.in_scope(|| tracing::info!("submitted"));
    });
    tokio::task::spawn_blocking(helix_aws::telemetry::flush_spans).await.unwrap();
    let (path, content_type, body) =
        tokio::task::spawn_blocking(move || received.recv_timeout(Duration::from_secs(10)))
            .await
            .unwrap()
            .expect("the collector got the spans");
    assert_eq!((path.as_str(), content_type.as_str()), ("/v1/traces", "application/x-protobuf"));
    let trace_id = [0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36];
    let parent = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];
    assert!(contains(&body, &trace_id), "the span is in the request's trace");
    assert!(contains(&body, &parent), "its parent is the request's span");
    assert!(contains(&body, b"request") && contains(&body, b"helixnet-local"), "the span's name and service");
}
