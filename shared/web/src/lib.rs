//! The dashboard's static assets, compiled into the binary and served at `/`.

use axum::Router;

pub fn router() -> Router {
    Router::new()
}
