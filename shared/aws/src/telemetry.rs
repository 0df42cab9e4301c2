//! Logs and metrics, set up once per process.
//!
//! Metrics are recorded through the `metrics` facade (`helix_jobs::metrics` names them all); which
//! recorder receives them is decided here, once: in Lambda an [`EmfRecorder`] writes each
//! observation as one CloudWatch Embedded Metric Format line on stdout (CloudWatch Logs extracts
//! the metric, no API call), elsewhere a Prometheus registry keeps them for the local platform's
//! `/metrics`.
//!
//! Spans go to the log; and, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the traces-only
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, also to that OpenTelemetry collector over OTLP
//! (HTTP, protobuf), batched on a thread of their own. A request's and its job's spans share the
//! trace the request's `traceparent` names (`helix_jobs::continue_trace`).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use metrics::{Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::{Map, Value, json};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// The CloudWatch namespace of every HelixNet metric.
pub const NAMESPACE: &str = "HelixNet";

static PROMETHEUS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

static TRACER_PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// JSON lines in Lambda (CloudWatch Logs Insights parses them) or with `HELIX_LOG_FORMAT=json`,
/// readable lines on a terminal otherwise;
/// spans over OTLP when a collector is configured; and the metrics recorder. Safe to call more
/// than once: tests build many platforms in one process.
pub fn init() {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let json = lambda || std::env::var("HELIX_LOG_FORMAT").is_ok_and(|f| f == "json");
    let log = tracing_subscriber::fmt::layer().with_target(false);
    let log = match (json, lambda) {
        // CloudWatch stamps each line itself.
        (true, true) => log.json().without_time().boxed(),
        (true, false) => log.json().boxed(),
        (false, _) => log.compact().boxed(),
    };
    let mut layers = vec![log.with_filter(filter()).boxed()];
    if otlp_configured() {
        match otlp_layer(None) {
            Ok(otlp) => layers.push(otlp.with_filter(filter()).boxed()),
            Err(e) => eprintln!("spans are not exported: the OTLP exporter could not be built: {e}"),
        }
    }
    let _ = tracing_subscriber::registry().with(layers).try_init();
    init_metrics();
}

fn otlp_configured() -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// The layer that sends spans to a collector: at `endpoint` (the whole URL, `…/v1/traces`), or
/// where the standard `OTEL_EXPORTER_OTLP_*` variables say. The service is `OTEL_SERVICE_NAME`,
/// else the Lambda function's name, else `helixnet-local`.
pub fn otlp_layer(
    endpoint: Option<&str>,
) -> Result<Box<dyn Layer<Registry> + Send + Sync>, opentelemetry_otlp::ExporterBuildError> {
    let mut exporter = opentelemetry_otlp::SpanExporter::builder().with_http();
    if let Some(endpoint) = endpoint {
        exporter = exporter.with_endpoint(endpoint);
    }
    let service = std::env::var("OTEL_SERVICE_NAME")
        .or_else(|_| std::env::var("AWS_LAMBDA_FUNCTION_NAME"))
        .unwrap_or_else(|_| "helixnet-local".to_owned());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter.build()?)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer("helixnet");
    let _ = TRACER_PROVIDER.set(provider);
    Ok(tracing_opentelemetry::layer().with_tracer(tracer).boxed())
}

/// Sends the spans the exporter holds now, instead of at the batch's next tick (5 s,
/// `OTEL_BSP_SCHEDULE_DELAY`).
pub fn flush_spans() {
    if let Some(provider) = TRACER_PROVIDER.get()
        && let Err(e) = provider.force_flush()
    {
        tracing::warn!(error = %e, "spans could not be sent to the OTLP collector");
    }
}

/// Installs the process's metrics recorder, once, and counts the start: EMF on stdout in Lambda
/// (where a process start is a cold start), a Prometheus registry anywhere else.
pub fn init_metrics() {
    PROMETHEUS.get_or_init(|| {
        let lambda_function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok();
        let handle = match &lambda_function {
            Some(_) => {
                let _ = metrics::set_global_recorder(EmfRecorder::to_stdout());
                None
            }
            None => {
                let recorder = PrometheusBuilder::new().build_recorder();
                let handle = recorder.handle();
                metrics::set_global_recorder(recorder).ok().map(|()| handle)
            }
        };
        helix_jobs::metrics::cold_start(lambda_function.as_deref().unwrap_or("local"));
        handle
    });
}

/// The metrics recorded so far in Prometheus' text format; `None` in Lambda (they went out as
/// EMF) or before [`init_metrics`].
pub fn prometheus_text() -> Option<String> {
    PROMETHEUS.get()?.as_ref().map(PrometheusHandle::render)
}

/// Writes every counter increment, gauge value and histogram sample as one EMF line.
///
/// Each line declares its labels as one dimension set, each label alone as another, and the
/// empty set: CloudWatch then keeps the per-route (or per-kind) series and the totals the alarms
/// read, from one line.
pub struct EmfRecorder {
    sink: Sink,
}

type Sink = Arc<dyn Fn(&str) + Send + Sync>;

impl EmfRecorder {
    pub fn to_stdout() -> Self {
        Self::new(Arc::new(|line| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }))
    }

    /// A recorder handing each line to `sink`.
    pub fn new(sink: Sink) -> Self {
        Self { sink }
    }

    fn metric(&self, key: &Key) -> Arc<EmfMetric> {
        Arc::new(EmfMetric {
            name: key.name().to_owned(),
            labels: key.labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect(),
            sink: self.sink.clone(),
            gauge: AtomicU64::new(0f64.to_bits()),
        })
    }
}

impl metrics::Recorder for EmfRecorder {
    // Units come from the names (see `unit_of`), so descriptions have nowhere to go in EMF.
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.metric(key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.metric(key))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.metric(key))
    }
}

struct EmfMetric {
    name: String,
    labels: Vec<(String, String)>,
    sink: Sink,
    /// A gauge's current value (f64 bits): EMF carries values, not changes.
    gauge: AtomicU64,
}

impl EmfMetric {
    fn emit(&self, value: f64) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        (self.sink)(&emf_line(&self.name, &self.labels, value, now));
    }

    fn add_to_gauge(&self, delta: f64) {
        let previous = self
            .gauge
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |bits| Some((f64::from_bits(bits) + delta).to_bits()))
            .unwrap_or_default();
        self.emit(f64::from_bits(previous) + delta);
    }
}

impl CounterFn for EmfMetric {
    fn increment(&self, value: u64) {
        self.emit(value as f64);
    }

    fn absolute(&self, value: u64) {
        self.emit(value as f64);
    }
}

impl GaugeFn for EmfMetric {
    fn increment(&self, value: f64) {
        self.add_to_gauge(value);
    }

    fn decrement(&self, value: f64) {
        self.add_to_gauge(-value);
    }

    fn set(&self, value: f64) {
        self.gauge.store(value.to_bits(), Ordering::SeqCst);
        self.emit(value);
    }
}

impl HistogramFn for EmfMetric {
    fn record(&self, value: f64) {
        self.emit(value);
    }
}

/// The CloudWatch unit a metric's name declares by its suffix.
fn unit_of(name: &str) -> &'static str {
    if name.ends_with("_seconds") {
        "Seconds"
    } else if name.ends_with("_bytes") || name.ends_with("_bytes_total") {
        "Bytes"
    } else if name.ends_with("_per_second") {
        "Count/Second"
    } else {
        "Count"
    }
}

/// One EMF document: the `_aws` metadata, each label and the value as top-level members.
fn emf_line(name: &str, labels: &[(String, String)], value: f64, timestamp_ms: u64) -> String {
    let keys: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
    let mut dimension_sets = vec![keys.clone()];
    if keys.len() > 1 {
        dimension_sets.extend(keys.iter().map(|k| vec![*k]));
    }
    if !keys.is_empty() {
        dimension_sets.push(Vec::new());
    }
    let mut document = Map::new();
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimension_sets,
                "Metrics": [{ "Name": name, "Unit": unit_of(name) }],
            }],
        }),
    );
    for (key, label) in labels {
        document.insert(key.clone(), Value::String(label.clone()));
    }
    document.insert(name.to_owned(), json!(value));
    Value::Object(document).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use helix_domain::Job;

    /// The lines a recorder writes while `f` records.
    fn emf_lines(f: impl FnOnce()) -> Vec<Value> {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let captured = lines.clone();
        let recorder = EmfRecorder::new(Arc::new(move |line| captured.lock().unwrap().push(line.to_owned())));
        metrics::with_local_recorder(&recorder, f);
        let lines = lines.lock().unwrap();
        lines.iter().map(|line| serde_json::from_str(line).expect("an EMF line is one JSON object")).collect()
    }

    /// The specification's required keys: `_aws.Timestamp` (ms), `_aws.CloudWatchMetrics[]` with a
    /// namespace, dimension sets whose every name is a top-level string member, and metrics whose
    /// every name is a top-level number member with a CloudWatch unit.
    fn assert_valid_emf(document: &Value) {
        let aws = &document["_aws"];
        assert!(aws["Timestamp"].as_u64().is_some_and(|t| t > 1_600_000_000_000), "{document}");
        let directives = aws["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics");
        assert!(!directives.is_empty());
        for directive in directives {
            assert!(directive["Namespace"].as_str().is_some_and(|n| !n.is_empty() && n.len() <= 255));
            let sets = directive["Dimensions"].as_array().expect("Dimensions");
            for set in sets {
                let set = set.as_array().expect("a dimension set is an array");
                assert!(set.len() <= 30);
                for dimension in set {
                    let dimension = dimension.as_str().expect("a dimension is a name");
                    assert!(document[dimension].is_string(), "dimension {dimension} has no value in {document}");
                }
            }
            let metrics = directive["Metrics"].as_array().expect("Metrics");
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for metric in metrics {
                let name = metric["Name"].as_str().expect("a metric has a name");
                assert!(document[name].is_number(), "metric {name} has no value in {document}");
                let unit = metric["Unit"].as_str().expect("a metric has a unit");
                assert!(["Seconds", "Bytes", "Count", "Count/Second"].contains(&unit), "{unit}");
            }
        }
    }

    fn finished_job() -> Job {
        serde_json::from_value(json!({
            "id": "00000000-0000-4000-8000-000000000001",
            "owner_id": "00000000-0000-4000-8000-000000000002",
            "team_id": "00000000-0000-4000-8000-000000000003",
            "status": "COMPLETED",
            "created_at": "2026-11-30T10:00:00.000000Z",
            "started_at": "2026-11-30T10:00:02.000000Z",
            "finished_at": "2026-11-30T10:00:06.500000Z",
            "attempts": 1,
            "inputs": {"content_artifact_ids": [], "context_artifact_id": null, "schema_artifact_id": null},
            "records_in": 100,
            "records_out": 98,
            "records_rejected": 2,
        }))
        .expect("a job as stored")
    }

    #[test]
    fn a_settled_job_writes_valid_emf_lines_without_its_id() {
        let job = finished_job();
        let lines = emf_lines(|| helix_jobs::metrics::job_settled(&job));
        let metric = |name: &str| {
            lines.iter().find(|l| l.get(name).is_some()).unwrap_or_else(|| panic!("no {name} in {lines:?}"))
        };
        for line in &lines {
            assert_valid_emf(line);
            assert!(!line.to_string().contains(&job.id.to_string()), "a job id in {line}");
        }
        assert_eq!(metric("helix_job_duration_seconds")["helix_job_duration_seconds"], 4.5);
        assert_eq!(metric("helix_job_queue_wait_seconds")["helix_job_queue_wait_seconds"], 2.0);
        assert_eq!(metric("helix_job_records_in_total")["helix_job_records_in_total"], 100.0);
        assert_eq!(metric("helix_job_records_rejected_total")["helix_job_records_rejected_total"], 2.0);
        assert_eq!(metric("helix_job_attempts")["helix_job_attempts"], 1.0);
        let settled = metric("helix_jobs_settled_total");
        assert_eq!((settled["kind"].as_str(), settled["status"].as_str()), (Some("transform"), Some("completed")));
        assert_eq!(
            settled["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["kind", "status"], ["kind"], ["status"], []])
        );
        let duration = metric("helix_job_duration_seconds");
        assert_eq!(duration["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"], "Seconds");
        let rate = metric("helix_job_records_per_second");
        assert_eq!(rate["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"], "Count/Second");
    }

    #[test]
    fn api_requests_are_counted_by_route_template_and_status_class() {
        let lines = emf_lines(|| helix_jobs::metrics::api_request("/api/v1/jobs/{id}", "GET", 503, 0.25));
        assert_eq!(lines.len(), 2, "{lines:?}");
        for line in &lines {
            assert_valid_emf(line);
            assert_eq!(line["route"], "/api/v1/jobs/{id}");
            assert_eq!(line["status_class"], "5xx");
        }
        assert_eq!(lines[1]["helix_api_request_duration_seconds"], 0.25);
    }

    #[test]
    fn a_metric_without_labels_has_the_empty_dimension_set() {
        let lines = emf_lines(|| helix_jobs::metrics::job_input_opened(2048));
        assert_valid_emf(&lines[0]);
        assert_eq!(lines[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
        assert_eq!(lines[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"], "Bytes");
        assert_eq!(lines[0]["helix_job_input_bytes_total"], 2048.0);
    }
}
