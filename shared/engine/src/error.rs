//! The one error type of the engine. Every variant displays as a sentence naming the file and the
//! position, so the worker can put it verbatim into a FAILED job and the CLI can print it as is.

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The context YAML (or one of its templates) is invalid.
    #[error("{}: {message}", Place { file, line: *line, column: *column, record: None })]
    Context { file: String, line: Option<u64>, column: Option<u64>, message: String },
    /// The target schema is not JSON or not a valid JSON Schema.
    #[error("{}: {message}", Place { file, line: *line, column: *column, record: None })]
    Schema { file: String, line: Option<u64>, column: Option<u64>, message: String },
    /// The content is malformed beyond what a per-record reject can express.
    #[error("{}: {message}", Place { file, line: *line, column: *column, record: *record })]
    Input { file: String, line: Option<u64>, column: Option<u64>, record: Option<u64>, message: String },
    #[error(
        "{rejected} of {total} records were rejected ({:.2} %), more than the context tolerates ({:.2} %, rejects.max_rate); see the reject report",
        percent(*rejected, *total), max_rate * 100.0
    )]
    RejectRateExceeded { rejected: u64, total: u64, max_rate: f64 },
    /// A result record that the output format cannot hold (a CSV or Parquet column it lacks).
    #[error("{0}")]
    Output(String),
    #[error("I/O error: {0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for EngineError {
    /// A table's refusal reaches the run as the error of a write: it is the output's fault, not
    /// the machine's.
    fn from(e: std::io::Error) -> Self {
        match e.get_ref().and_then(|inner| inner.downcast_ref::<crate::tables::TableFault>()) {
            Some(fault) => EngineError::Output(fault.to_string()),
            None => EngineError::Io(e),
        }
    }
}

fn percent(part: u64, total: u64) -> f64 {
    if total == 0 { 0.0 } else { part as f64 * 100.0 / total as f64 }
}

/// "orders.csv line 17, column 3" / "orders.csv record 5" / "orders.csv".
struct Place<'a> {
    file: &'a str,
    line: Option<u64>,
    column: Option<u64>,
    record: Option<u64>,
}

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
            if let Some(column) = self.column {
                write!(f, ", column {column}")?;
            }
        }
        if let Some(record) = self.record {
            let sep = if self.line.is_some() { ", " } else { " " };
            write!(f, "{sep}record {record}")?;
        }
        Ok(())
    }
}

impl EngineError {
    pub(crate) fn context(file: &str, pos: Option<(u64, u64)>, message: impl Into<String>) -> Self {
        EngineError::Context {
            file: file.to_owned(),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            message: message.into(),
        }
    }

    pub(crate) fn input(file: &str, line: Option<u64>, column: Option<u64>, message: impl Into<String>) -> Self {
        EngineError::Input { file: file.to_owned(), line, column, record: None, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_and_position() {
        let e = EngineError::input("orders.csv", Some(17), Some(3), "unterminated quoted field");
        assert_eq!(e.to_string(), "orders.csv line 17, column 3: unterminated quoted field");
        let e = EngineError::RejectRateExceeded { rejected: 5, total: 10, max_rate: 0.1 };
        assert!(e.to_string().starts_with("5 of 10 records were rejected (50.00 %)"));
    }
}
