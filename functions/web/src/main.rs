//! The dashboard's Lambda function: serves the embedded single-page app at `/` and `/assets/…`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    helix_aws::telemetry::init();
    lambda_http::run(helix_web::router()).await
}
