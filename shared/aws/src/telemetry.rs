use tracing_subscriber::EnvFilter;

/// JSON lines in Lambda (CloudWatch Logs Insights parses them), readable lines on a terminal.
/// Safe to call more than once: tests build many platforms in one process.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        builder.json().without_time().try_init()
    } else {
        builder.compact().try_init()
    };
}
