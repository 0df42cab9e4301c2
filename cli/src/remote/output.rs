//! What people read: tables and job summaries on stdout, progress on stderr.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use helix_client::{Progress, Upload};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use helix_domain::{InputReading, JobRead, Timestamp};

pub fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// Columns padded to their widest cell; the last column is left ragged (it holds free text).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| if i == last { cell.clone() } else { format!("{cell:<width$}", width = widths[i]) })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// `2024-05-01T12:00:00.123456Z` → `2024-05-01 12:00:00` (all times are UTC).
pub fn time(at: Timestamp) -> String {
    let text = at.to_string();
    text.get(..19).map(|t| t.replacen('T', " ", 1)).unwrap_or(text)
}

fn count(n: Option<u64>) -> String {
    n.map_or_else(|| "-".into(), |n| n.to_string())
}

/// Keeps a table cell on one line and within `max` characters.
pub fn cell(text: &str, max: usize) -> String {
    let one_line = text.replace(['\n', '\r', '\t'], " ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

pub fn jobs_table(jobs: &[JobRead]) -> String {
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.to_string(),
                j.status.as_str().to_owned(),
                time(j.created_at),
                count(j.records_in),
                count(j.records_out),
                count(j.records_rejected),
                cell(j.name.as_deref().unwrap_or(""), 40),
            ]
        })
        .collect();
    table(&["ID", "STATUS", "CREATED (UTC)", "IN", "OUT", "REJECTED", "NAME"], &rows)
}

pub fn job_details(job: &JobRead) -> String {
    let mut lines: Vec<(&str, String)> = vec![("Job", job.id.to_string())];
    if let Some(name) = &job.name {
        lines.push(("Name", name.clone()));
    }
    lines.push(("Status", job.status.as_str().to_owned()));
    lines.push(("Created", format!("{} UTC", time(job.created_at))));
    if let Some(t) = job.started_at {
        lines.push(("Started", format!("{} UTC", time(t))));
    }
    if let Some(t) = job.finished_at {
        lines.push(("Finished", format!("{} UTC", time(t))));
    }
    lines.push(("Attempts", job.attempts.to_string()));
    if job.records_in.is_some() {
        lines.push((
            "Records",
            format!(
                "{} in, {} out, {} rejected",
                count(job.records_in),
                count(job.records_out),
                count(job.records_rejected)
            ),
        ));
    }
    if !job.auto_mapped_fields.is_empty() {
        let proposed: Vec<String> =
            job.auto_mapped_fields.iter().map(|f| format!("{} ← {} ({:.2})", f.field, f.source, f.score)).collect();
        lines.push(("Auto-map", proposed.join(", ")));
    }
    if job.result_artifact_id.is_some() {
        lines.push(("Result", format!("helix download {}", job.id)));
    }
    if job.records_rejected.unwrap_or(0) > 0 && job.error_report_artifact_id.is_some() {
        lines.push(("Rejects", format!("helix rejects {}", job.id)));
    }
    if let Some(error) = &job.error {
        lines.push(("Error", error.clone()));
    }
    for warning in &job.warnings {
        lines.push(("Warning", warning.clone()));
    }
    for reading in &job.inputs_read {
        lines.push(("Read", input_reading(reading)));
    }
    lines.iter().map(|(k, v)| format!("{k:<9} {v}\n")).collect()
}

/// "orders.csv: csv, windows-1252 (detected), CR lines, delimiter `;` (sep= line), header row 3
/// (detected)": each setting and, unless the context declared it, what decided it.
pub fn input_reading(r: &InputReading) -> String {
    let by = |setting: &str| match r.decided_by.get(setting).map(String::as_str) {
        None | Some("declared") => String::new(),
        Some(by) => format!(" ({by})"),
    };
    let mut parts = vec![r.format.clone(), format!("{}{}", r.encoding, by("encoding"))];
    if let Some(ending) = &r.line_ending {
        parts.push(format!("{ending} line endings"));
    }
    if let Some(delimiter) = &r.delimiter {
        let shown = if delimiter == "\t" { "tab".to_owned() } else { format!("`{delimiter}`") };
        parts.push(format!("delimiter {shown}{}", by("delimiter")));
    }
    match r.header_row {
        Some(row) => parts.push(format!("header row {row}{}", by("header"))),
        None if r.delimiter.is_some() => parts.push(format!("no header row{}", by("header"))),
        None => {}
    }
    if r.skipped_lines > 0 {
        parts.push(format!("{} line(s) skipped{}", r.skipped_lines, by("skip_lines")));
    }
    format!("{}: {}", r.input, parts.join(", "))
}

/// The reject report (`{"rejects": [...], "summary": {...}}`) as a table and a count line.
pub fn rejects_table(report: &Value) -> String {
    let empty = Vec::new();
    let rejects = report["rejects"].as_array().unwrap_or(&empty);
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut out = if rejects.is_empty() {
        "no rejected records\n".to_owned()
    } else {
        let rows: Vec<Vec<String>> = rejects
            .iter()
            .map(|r| {
                vec![
                    cell(&text(&r["input"]), 30),
                    text(&r["line"]),
                    text(&r["record"]),
                    cell(&text(&r["pointer"]), 30),
                    text(&r["keyword"]),
                    cell(&text(&r["message"]), 200),
                ]
            })
            .collect();
        table(&["INPUT", "LINE", "RECORD", "FIELD", "RULE", "MESSAGE"], &rows)
    };
    let summary = &report["summary"];
    if summary.is_object() {
        let n = |key: &str| summary[key].as_u64().map_or_else(|| "-".into(), |n| n.to_string());
        let _ = writeln!(
            out,
            "{} records in, {} out, {} rejected, {} filtered",
            n("records_in"),
            n("records_out"),
            n("records_rejected"),
            n("records_filtered")
        );
    }
    out
}

/// A bar for one file going to or from storage; drawn only on a terminal.
pub fn transfer_bar(len: Option<u64>, label: &str) -> ProgressBar {
    let bar = match len {
        Some(len) => ProgressBar::new(len),
        None => ProgressBar::new_spinner(),
    };
    let template = if len.is_some() {
        "{msg:24!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{spinner} {msg:24!} {bytes} {bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_owned());
    bar
}

pub fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// An upload on the terminal: a bar per file while it goes up, and (unless `quiet`) a line when
/// an upload resumes and when a file is stored.
pub struct UploadBars {
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl UploadBars {
    pub fn new(quiet: bool) -> Self {
        Self { quiet, bar: Mutex::new(None) }
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Progress for UploadBars {
    fn transfer_started(&self, file: &Upload, done: u64) {
        let bar = transfer_bar(Some(file.size), &file.filename);
        bar.set_position(done);
        *self.bar() = Some(bar);
    }

    fn transferred(&self, bytes: u64) {
        if let Some(bar) = self.bar().as_ref() {
            bar.inc(bytes);
        }
    }

    fn transfer_ended(&self) {
        if let Some(bar) = self.bar().take() {
            bar.finish_and_clear();
        }
    }

    fn resuming(&self, file: &Upload, stored: usize, parts: u32) {
        if !self.quiet {
            eprintln!("resuming the upload of {}: {stored} of {parts} parts already stored", file.path.display());
        }
    }

    fn uploaded(&self, file: &Upload) {
        if !self.quiet {
            eprintln!("uploaded {} ({} bytes, {})", file.path.display(), file.size, file.kind_name());
        }
    }
}
