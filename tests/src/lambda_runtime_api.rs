//! A stand-in for the Lambda Runtime API, the HTTP endpoint that `AWS_LAMBDA_RUNTIME_API` names
//! inside a Lambda sandbox: a function binary started with that variable pointing here runs exactly
//! as it runs on Lambda (`lambda_runtime`'s own loop: long-poll `next`, answer `response`/`error`).
//!
//! The endpoints and headers are those `lambda_runtime` 1.x uses (its `requests.rs` and
//! `types.rs`): `GET /2018-06-01/runtime/invocation/next` answers one queued event with
//! `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`, `Lambda-Runtime-Invoked-Function-Arn`
//! and `Lambda-Runtime-Trace-Id`; `POST …/invocation/{id}/response` and `POST …/invocation/{id}/error`
//! settle it; `POST /2018-06-01/runtime/init/error` reports a failed start. Streaming responses and
//! the SnapStart endpoints (`restore/next`, `restore/error`) are not served: no function uses them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT_ID: &str = "123456789012";

/// How an invocation ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// `POST …/response`: the handler's answer (JSON for every function here).
    Response(Bytes),
    /// `POST …/error`: the handler failed; `error_type` is the `Lambda-Runtime-Function-Error-Type`
    /// header, `body` the diagnostic (`{"errorType", "errorMessage"}`).
    Error { error_type: Option<String>, body: Value },
}

/// One settled invocation, with the stub's clock readings.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub request_id: String,
    pub outcome: Outcome,
    /// When `invoke` queued the event.
    pub queued: Instant,
    /// When a `next` poll took it (the function's runtime was ready for it).
    pub handed_out: Instant,
    /// When the function posted its answer.
    pub answered: Instant,
}

impl Invocation {
    /// The time the function spent on the event: from handing it out to its answer.
    pub fn in_function(&self) -> Duration {
        self.answered - self.handed_out
    }
}

/// A `POST /runtime/init/error`.
#[derive(Clone, Debug)]
pub struct InitError {
    pub error_type: Option<String>,
    pub body: Value,
}

#[derive(Debug)]
pub enum InvokeError {
    /// The function reported a failed start instead of asking for events.
    Init(InitError),
    /// The function answered `…/error`.
    Function { error_type: Option<String>, body: Value },
    /// No answer before the deadline.
    Timeout(Duration),
    /// The answer is not JSON.
    NotJson(String),
}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Init(e) => write!(f, "init error ({:?}): {}", e.error_type, e.body),
            Self::Function { error_type, body } => write!(f, "function error ({error_type:?}): {body}"),
            Self::Timeout(after) => write!(f, "no answer within {after:?}"),
            Self::NotJson(text) => write!(f, "the answer is not JSON: {text:.500}"),
        }
    }
}

impl std::error::Error for InvokeError {}

struct Queued {
    request_id: String,
    event: Bytes,
    deadline_ms: u128,
    queued: Instant,
    reply: oneshot::Sender<Invocation>,
}

struct Pending {
    reply: oneshot::Sender<Invocation>,
    queued: Instant,
    handed_out: Instant,
}

struct Shared {
    function_arn: String,
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    pending: Mutex<HashMap<String, Pending>>,
    init_errors: Mutex<Vec<InitError>>,
    init_failed: Notify,
    first_poll: OnceLock<Instant>,
    polled: Notify,
}

/// The stub, serving on 127.0.0.1 on a free port until dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    queue: mpsc::UnboundedSender<Queued>,
    /// The function's `Timeout` (the template's is 30 s): the deadline each event carries, and how
    /// long `invoke` waits.
    pub timeout: Duration,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start(function_name: &str) -> Self {
        let (queue, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            function_arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"),
            events: tokio::sync::Mutex::new(events),
            pending: Mutex::new(HashMap::new()),
            init_errors: Mutex::new(Vec::new()),
            init_failed: Notify::new(),
            first_poll: OnceLock::new(),
            polled: Notify::new(),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("the runtime API stub binds");
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, queue, timeout: Duration::from_secs(30), server }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    pub fn function_arn(&self) -> &str {
        &self.shared.function_arn
    }

    /// When the function first asked for an event, i.e. finished its start-up; `None` before.
    pub fn ready_at(&self) -> Option<Instant> {
        self.shared.first_poll.get().copied()
    }

    /// Waits until the function asks for its first event (or reported a failed start).
    pub async fn wait_ready(&self, within: Duration) -> Result<Instant, InvokeError> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let polled = self.shared.polled.notified();
            let failed = self.shared.init_failed.notified();
            if let Some(at) = self.ready_at() {
                return Ok(at);
            }
            if let Some(e) = self.init_errors().into_iter().next() {
                return Err(InvokeError::Init(e));
            }
            tokio::select! {
                _ = polled => {}
                _ = failed => {}
                _ = tokio::time::sleep_until(deadline) => return Err(InvokeError::Timeout(within)),
            }
        }
    }

    /// Every `init/error` the function posted.
    pub fn init_errors(&self) -> Vec<InitError> {
        self.shared.init_errors.lock().unwrap().clone()
    }

    /// Hands `event` to the function and waits for its answer, with the stub's timings.
    pub async fn invoke_timed(&self, event: &Value) -> Result<Invocation, InvokeError> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (reply, answer) = oneshot::channel();
        let deadline = SystemTime::now() + self.timeout;
        let deadline_ms = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis();
        let failed = self.shared.init_failed.notified();
        tokio::pin!(failed);
        failed.as_mut().enable();
        if let Some(e) = self.init_errors().into_iter().next() {
            return Err(InvokeError::Init(e));
        }
        let queued = Queued {
            request_id: request_id.clone(),
            event: Bytes::from(serde_json::to_vec(event).unwrap()),
            deadline_ms,
            queued: Instant::now(),
            reply,
        };
        self.queue.send(queued).expect("the runtime API stub is running");
        // A little past the deadline: the function's own timeout handling, if any, answers first.
        let wait = self.timeout + Duration::from_secs(2);
        let result = tokio::select! {
            answer = answer => Ok(answer.expect("the stub keeps every handed-out event until it is answered")),
            _ = &mut failed => Err(InvokeError::Init(self.init_errors().into_iter().next().unwrap())),
            _ = tokio::time::sleep(wait) => Err(InvokeError::Timeout(wait)),
        };
        if result.is_err() {
            self.shared.pending.lock().unwrap().remove(&request_id);
        }
        result
    }

    /// Hands `event` to the function and returns its JSON answer; an `…/error` is an `Err`.
    pub async fn invoke(&self, event: &Value) -> Result<Value, InvokeError> {
        let invocation = self.invoke_timed(event).await?;
        match invocation.outcome {
            Outcome::Response(body) => serde_json::from_slice(&body)
                .map_err(|_| InvokeError::NotJson(String::from_utf8_lossy(&body).into_owned())),
            Outcome::Error { error_type, body } => Err(InvokeError::Function { error_type, body }),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    if shared.first_poll.set(Instant::now()).is_ok() {
        shared.polled.notify_waiters();
    }
    // One function process polls at a time; a poll dropped mid-wait (the process died) loses no
    // event, since `recv` is cancel-safe.
    let mut events = shared.events.lock().await;
    let Some(queued) = events.recv().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    drop(events);
    let handed_out = Instant::now();
    shared
        .pending
        .lock()
        .unwrap()
        .insert(queued.request_id.clone(), Pending { reply: queued.reply, queued: queued.queued, handed_out });
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    set("content-type", "application/json".into());
    set("lambda-runtime-aws-request-id", queued.request_id);
    set("lambda-runtime-deadline-ms", queued.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", shared.function_arn.clone());
    set("lambda-runtime-trace-id", trace_id());
    (StatusCode::OK, headers, queued.event).into_response()
}

async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    settle(&shared, &id, Outcome::Response(body))
}

async fn error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let outcome = Outcome::Error { error_type: error_type(&headers), body: parse_or_text(&body) };
    settle(&shared, &id, outcome)
}

async fn init_error(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let error = InitError { error_type: error_type(&headers), body: parse_or_text(&body) };
    shared.init_errors.lock().unwrap().push(error);
    shared.init_failed.notify_waiters();
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

fn settle(shared: &Shared, id: &str, outcome: Outcome) -> Response {
    let answered = Instant::now();
    let Some(pending) = shared.pending.lock().unwrap().remove(id) else {
        // What the real API answers for an unknown or already answered request id.
        let body = json!({"errorMessage": format!("Invalid request ID: {id}"), "errorType": "InvalidRequestID"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    let invocation = Invocation {
        request_id: id.to_owned(),
        outcome,
        queued: pending.queued,
        handed_out: pending.handed_out,
        answered,
    };
    let _ = pending.reply.send(invocation);
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers.get("lambda-runtime-function-error-type").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn parse_or_text(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// An X-Ray trace header, as Lambda passes it (`Root=1-{epoch hex}-{24 hex};Parent=…;Sampled=0`).
fn trace_id() -> String {
    let epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{epoch:08x}-{};Parent={};Sampled=0", &random[..24], &random[16..32])
}

// ---------------------------------------------------------------------------------------------
// The events Lambda's event sources send.

/// An API Gateway HTTP API request, as the payload format 2.0 event it reaches a function as.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// HTTP APIs base64-encode bodies they do not take for text (form posts among them).
    pub base64: bool,
}

impl HttpRequest {
    pub fn new(method: &str, path_and_query: &str) -> Self {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: vec![
                ("host".into(), "abcdef1234.execute-api.us-east-1.amazonaws.com".into()),
                ("user-agent".into(), "helix-e2e".into()),
                ("x-forwarded-for".into(), "192.0.2.10".into()),
                ("x-forwarded-port".into(), "443".into()),
                ("x-forwarded-proto".into(), "https".into()),
            ],
            body: None,
            base64: false,
        }
    }

    pub fn get(path: &str) -> Self {
        Self::new("GET", path)
    }

    pub fn post(path: &str) -> Self {
        Self::new("POST", path)
    }

    /// A header; HTTP APIs pass header names in lower case.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.body = Some(serde_json::to_vec(body).unwrap());
        self.base64 = false;
        self.header("content-type", "application/json")
    }

    /// An `application/x-www-form-urlencoded` body, base64-encoded as HTTP APIs pass it.
    pub fn form(mut self, fields: &[(&str, &str)]) -> Self {
        let encoded: Vec<String> =
            fields.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect();
        self.body = Some(encoded.join("&").into_bytes());
        self.base64 = true;
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    pub fn event(&self) -> Value {
        use base64::Engine;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let mut headers = serde_json::Map::new();
        for (name, value) in &self.headers {
            // Repeated headers arrive joined with commas.
            let joined = match headers.get(name).and_then(Value::as_str) {
                Some(before) => format!("{before},{value}"),
                None => value.clone(),
            };
            headers.insert(name.clone(), Value::String(joined));
        }
        if let Some(body) = &self.body {
            headers.insert("content-length".into(), Value::String(body.len().to_string()));
        }
        let mut query = serde_json::Map::new();
        for pair in self.query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            query.insert(k.to_owned(), Value::String(v.to_owned()));
        }
        let route_key = format!("{} {}", self.method, self.path);
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": self.path,
            "rawQueryString": self.query,
            "headers": headers,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": "abcdef1234",
                "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "abcdef1234",
                "http": {
                    "method": self.method,
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "192.0.2.10",
                    "userAgent": "helix-e2e",
                },
                "requestId": uuid::Uuid::new_v4().to_string(),
                "routeKey": route_key,
                "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000",
                "timeEpoch": now.as_millis() as u64,
            },
            "isBase64Encoded": self.base64,
        });
        if !query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        if let Some(body) = &self.body {
            event["body"] = Value::String(if self.base64 {
                base64::engine::general_purpose::STANDARD.encode(body)
            } else {
                String::from_utf8(body.clone()).expect("a text body")
            });
        }
        event
    }
}

fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A function's answer to an HTTP API event (payload format 2.0).
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: serde_json::Map<String, Value>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn from_answer(answer: &Value) -> Self {
        use base64::Engine;
        let status = answer["statusCode"].as_u64().unwrap_or_else(|| panic!("no statusCode in {answer}")) as u16;
        let text = answer["body"].as_str().unwrap_or_default();
        let body = if answer["isBase64Encoded"].as_bool().unwrap_or(false) {
            base64::engine::general_purpose::STANDARD.decode(text).expect("a base64 body")
        } else {
            text.as_bytes().to_vec()
        };
        let headers = answer["headers"].as_object().cloned().unwrap_or_default();
        Self { status, headers, body }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One SQS message, as the SQS event source hands it to a function.
#[derive(Clone, Debug)]
pub struct SqsRecord {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub receive_count: u32,
}

impl SqsRecord {
    pub fn new(message_id: &str, body: &str) -> Self {
        Self {
            message_id: message_id.to_owned(),
            receipt_handle: format!("handle-{message_id}"),
            body: body.to_owned(),
            receive_count: 1,
        }
    }

    /// A message received from a queue.
    pub fn received(message: &aws_sdk_sqs::types::Message) -> Self {
        let receive_count = message
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount))
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        Self {
            message_id: message.message_id().expect("a message id").to_owned(),
            receipt_handle: message.receipt_handle().unwrap_or_default().to_owned(),
            body: message.body().unwrap_or_default().to_owned(),
            receive_count,
        }
    }
}

/// An SQS event-source batch from the queue `queue_arn`.
pub fn sqs_event(queue_arn: &str, records: &[SqsRecord]) -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis().to_string();
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "messageId": r.message_id,
                "receiptHandle": r.receipt_handle,
                "body": r.body,
                "attributes": {
                    "ApproximateReceiveCount": r.receive_count.to_string(),
                    "SentTimestamp": now,
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": now,
                },
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The body S3 sends to SQS for an `ObjectCreated:Put` of `key` (URL-encoded, as S3 writes it).
pub fn s3_object_created(bucket: &str, encoded_key: &str, size: u64) -> Value {
    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventTime": "2026-01-01T00:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:EXAMPLE"},
            "requestParameters": {"sourceIPAddress": "192.0.2.10"},
            "responseElements": {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "uploads",
                "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": format!("arn:aws:s3:::{bucket}")},
                "object": {"key": encoded_key, "size": size, "eTag": "0123456789abcdef0123456789abcdef", "sequencer": "0055AED6DCD90281E5"},
            },
        }]
    })
}

/// The EventBridge event of a `Schedule` (rate/cron) rule.
pub fn scheduled_event(rule: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": "2026-01-01T00:00:00Z",
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule}")],
        "detail": {},
    })
}
