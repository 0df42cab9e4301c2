//! Contexts and schemas: read whole (they are small), the same way and under the same cap by the
//! API that checks them and the worker that runs them.

use helix_domain::{Artifact, Blobs, StoreError};
use helix_engine::Source;

use crate::JobError;

/// The largest context or schema a job may use.
pub const MAX_DOCUMENT_BYTES: u64 = 5 * 1024 * 1024;

/// A context or schema: its file name and its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub name: String,
    pub text: String,
}

impl Document {
    pub fn source(&self) -> Source<'_> {
        Source { name: &self.name, text: &self.text }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("must be at most {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error("the artifact's object is missing")]
    Missing,
    #[error("must be UTF-8 text")]
    NotText,
    #[error("{0}")]
    Store(StoreError),
}

pub async fn read_document(blobs: &dyn Blobs, artifact: &Artifact) -> Result<Document, DocumentError> {
    let bytes = blobs.get_bytes(&artifact.s3_key, MAX_DOCUMENT_BYTES).await.map_err(|e| match e {
        StoreError::Conflict(_) => DocumentError::TooLarge,
        StoreError::NotFound => DocumentError::Missing,
        other => DocumentError::Store(other),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| DocumentError::NotText)?;
    Ok(Document { name: artifact.filename.clone(), text })
}

/// The lookup tables a context declares, `(table, file)`, once it has compiled; its errors name
/// `field`.
pub fn check_context(context: &Document, field: &str) -> Result<Vec<(String, String)>, JobError> {
    helix_engine::compile(Some(context.source()), None)
        .map(|t| t.lookup_files())
        .map_err(|e| JobError::invalid(field, e.to_string()))
}

pub fn check_schema(schema: &Document, field: &str) -> Result<(), JobError> {
    helix_engine::check_schema(schema.source()).map_err(|e| JobError::invalid(field, e.to_string()))
}
