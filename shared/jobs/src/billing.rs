//! The real bill: an AWS cost export in FOCUS 1.0 CSV form, summed per billing period, day and
//! HelixNet component, stored in place of the period's previous export, and set against the
//! metered estimate.
//!
//! Columns read (by name, in any order; others are ignored):
//! - `BillingPeriodStart`: the billing period (its `YYYY-MM`), the unit an export replaces;
//! - `ChargePeriodStart`: the day a charge belongs to (its `YYYY-MM-DD`, UTC);
//! - `BilledCost`: USD, a decimal number (credits are negative);
//! - `ServiceName`: required, for the error messages of the rows it names;
//! - `Tags`: a JSON object of the resource's tags; `helix:component` names the component
//!   (`functions`, `gpu`, `storage`, `queues`, `tables`, `platform`), a row without it counts as
//!   `untagged`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use helix_domain::StoreError;

/// The tag that names a resource's component.
pub const COMPONENT_TAG: &str = "helix:component";
/// What rows without [`COMPONENT_TAG`] count as.
pub const UNTAGGED: &str = "untagged";
const REQUIRED: [&str; 5] = ["BillingPeriodStart", "ChargePeriodStart", "BilledCost", "ServiceName", "Tags"];

/// The component each line of a metered cost belongs to, as the template tags its resources.
pub fn component_of(line: &str) -> &'static str {
    match line {
        "lambda_compute" | "lambda_requests" => "functions",
        "gpu" => "gpu",
        "s3_storage" | "s3_requests" | "s3_transfer_out" => "storage",
        "sqs" => "queues",
        "dynamodb" => "tables",
        _ => "platform",
    }
}

/// One billing period's billed totals, from one export.
#[derive(Clone, Debug, PartialEq)]
pub struct PeriodTotals {
    /// `YYYY-MM`.
    pub period: String,
    /// SHA-256 (hex) of the export file: the same file again changes nothing.
    pub checksum: String,
    /// (day, component) → USD.
    pub totals: BTreeMap<(String, String), f64>,
}

/// A billed total of one day and component.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct BilledDay {
    pub day: String,
    pub component: String,
    pub billed_usd: f64,
}

/// Why an export cannot be read, naming the line.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ExportError {
    #[error("the export is empty")]
    Empty,
    #[error("the export is not UTF-8 text")]
    NotText,
    #[error("the header has no {0} column (a FOCUS 1.0 CSV export is expected)")]
    MissingColumn(&'static str),
    #[error("line {line}: {reason}")]
    Row { line: usize, reason: String },
}

/// Where billed totals are kept, per billing period.
#[async_trait]
pub trait BillingLedger: Send + Sync {
    /// Stores the period's totals in place of whatever was stored for it; `Ok(false)`, changing
    /// nothing, when the period's stored export has the same checksum.
    async fn replace_period(&self, totals: &PeriodTotals) -> Result<bool, StoreError>;
    /// The period's billed totals, by day then component.
    async fn period(&self, period: &str) -> Result<Vec<BilledDay>, StoreError>;
}

/// Sums an export's rows per billing period, day and component.
pub fn parse_export(bytes: &[u8]) -> Result<Vec<PeriodTotals>, ExportError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ExportError::NotText)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let checksum = hex::encode(Sha256::digest(bytes));
    let mut rows = csv_records(text);
    let (_, header) = rows.next().ok_or(ExportError::Empty)?;
    let header = header.map_err(|reason| ExportError::Row { line: 1, reason })?;
    let column =
        |name: &'static str| header.iter().position(|h| h.trim() == name).ok_or(ExportError::MissingColumn(name));
    let [period_at, charge_at, cost_at, service_at, tags_at] = REQUIRED.map(column);
    let (period_at, charge_at, cost_at, service_at, tags_at) =
        (period_at?, charge_at?, cost_at?, service_at?, tags_at?);
    let mut periods: BTreeMap<String, BTreeMap<(String, String), f64>> = BTreeMap::new();
    for (line, record) in rows {
        let row = |reason: String| ExportError::Row { line, reason };
        let record = record.map_err(row)?;
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        if record.len() != header.len() {
            return Err(row(format!("{} fields where the header has {}", record.len(), header.len())));
        }
        let period = month_of(&record[period_at])
            .ok_or_else(|| row(format!("BillingPeriodStart {:?} is not a date", record[period_at])))?;
        let day = day_of(&record[charge_at])
            .ok_or_else(|| row(format!("ChargePeriodStart {:?} is not a date", record[charge_at])))?;
        let cost: f64 = record[cost_at]
            .trim()
            .parse()
            .ok()
            .filter(|c: &f64| c.is_finite())
            .ok_or_else(|| row(format!("BilledCost {:?} is not a number", record[cost_at])))?;
        if record[service_at].trim().is_empty() {
            return Err(row("ServiceName is empty".into()));
        }
        let component = component_tag(&record[tags_at]).map_err(|reason| row(format!("Tags: {reason}")))?;
        *periods.entry(period).or_default().entry((day, component)).or_default() += cost;
    }
    Ok(periods
        .into_iter()
        .map(|(period, totals)| PeriodTotals { period, checksum: checksum.clone(), totals })
        .collect())
}

/// `2026-11-01T00:00:00Z` (or `2026-11-01 00:00:00`, `2026-11-01`) → `2026-11-01`.
fn day_of(text: &str) -> Option<String> {
    let day = text.trim().get(..10)?;
    let ok = day.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    ok.then(|| day.to_owned())
}

fn month_of(text: &str) -> Option<String> {
    day_of(text).map(|day| day[..7].to_owned())
}

fn component_tag(tags: &str) -> Result<String, String> {
    if tags.trim().is_empty() {
        return Ok(UNTAGGED.to_owned());
    }
    let tags: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(tags).map_err(|e| format!("not a JSON object of tags: {e}"))?;
    Ok(match tags.get(COMPONENT_TAG).and_then(|v| v.as_str()) {
        Some(component) if !component.trim().is_empty() => component.trim().to_owned(),
        _ => UNTAGGED.to_owned(),
    })
}

/// The records of RFC 4180 CSV text with their first line numbers: fields quoted with `"` may
/// hold commas, line breaks and doubled quotes.
fn csv_records(text: &str) -> impl Iterator<Item = (usize, Result<Vec<String>, String>)> + '_ {
    let mut chars = text.chars().peekable();
    let mut line = 1;
    std::iter::from_fn(move || {
        chars.peek()?;
        let first_line = line;
        let mut record = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => {
                    line += usize::from(c == '\n');
                    field.push(c);
                }
                (false, '"') if field.is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                }
                (false, '"') => return Some((first_line, Err("a quote inside an unquoted field".into()))),
                (false, ',') => {
                    record.push(std::mem::take(&mut field));
                    was_quoted = false;
                }
                (false, '\r') if chars.peek() == Some(&'\n') => {}
                (false, '\n') => {
                    line += 1;
                    record.push(field);
                    return Some((first_line, Ok(record)));
                }
                (false, c) => field.push(c),
            }
        }
        if quoted {
            return Some((first_line, Err("a quoted field is not closed".into())));
        }
        record.push(field);
        Some((first_line, Ok(record)))
    })
}

/// The in-memory billing ledger.
#[derive(Default)]
pub struct MemoryBillingLedger {
    periods: Mutex<BTreeMap<String, PeriodTotals>>,
}

#[async_trait]
impl BillingLedger for MemoryBillingLedger {
    async fn replace_period(&self, totals: &PeriodTotals) -> Result<bool, StoreError> {
        let mut periods = self.periods.lock().expect("billing lock");
        if periods.get(&totals.period).is_some_and(|stored| stored.checksum == totals.checksum) {
            return Ok(false);
        }
        periods.insert(totals.period.clone(), totals.clone());
        Ok(true)
    }

    async fn period(&self, period: &str) -> Result<Vec<BilledDay>, StoreError> {
        let periods = self.periods.lock().expect("billing lock");
        Ok(periods
            .get(period)
            .map(|p| {
                p.totals
                    .iter()
                    .map(|((day, component), usd)| BilledDay {
                        day: day.clone(),
                        component: component.clone(),
                        billed_usd: *usd,
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORT: &str = "BillingPeriodStart,ChargePeriodStart,BilledCost,ServiceName,Tags\r\n\
        2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,1.25,AWS Lambda,\"{\"\"helix:component\"\":\"\"functions\"\"}\"\r\n\
        2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,0.75,AWS Lambda,\"{\"\"helix:component\"\":\"\"functions\"\",\"\"helix:team\"\":\"\"t1\"\"}\"\r\n\
        2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,0.10,Amazon Simple Storage Service,\r\n\
        2026-12-01T00:00:00Z,2026-12-01T00:00:00Z,-0.50,AWS Lambda,\"{\"\"helix:component\"\":\"\"functions\"\"}\"\r\n";

    #[test]
    fn an_export_sums_per_period_day_and_component() {
        let periods = parse_export(EXPORT.as_bytes()).unwrap();
        assert_eq!(periods.len(), 2);
        let november = &periods[0];
        assert_eq!(november.period, "2026-11");
        assert_eq!(november.checksum, hex::encode(Sha256::digest(EXPORT.as_bytes())));
        let day = |component: &str| november.totals[&("2026-11-02".to_owned(), component.to_owned())];
        assert_eq!((day("functions"), day(UNTAGGED)), (2.0, 0.10));
        assert_eq!(periods[1].totals[&("2026-12-01".to_owned(), "functions".to_owned())], -0.5);
    }

    #[test]
    fn a_bad_export_names_its_line_and_column() {
        let missing = "BillingPeriodStart,ChargePeriodStart,BilledCost,Tags\n";
        assert_eq!(parse_export(missing.as_bytes()), Err(ExportError::MissingColumn("ServiceName")));
        let bad_cost = EXPORT.replace("0.75", "lots");
        assert_eq!(
            parse_export(bad_cost.as_bytes()).unwrap_err().to_string(),
            "line 3: BilledCost \"lots\" is not a number"
        );
        let bad_tags =
            EXPORT.replace("\"{\"\"helix:component\"\":\"\"functions\"\"}\"\r\n2026-11-01", "{oops}\r\n2026-11-01");
        assert!(
            parse_export(bad_tags.as_bytes()).unwrap_err().to_string().starts_with("line 2: Tags: not a JSON object")
        );
        let short = format!("{EXPORT}2026-11-01,2026-11-03\n");
        assert_eq!(parse_export(short.as_bytes()).unwrap_err().to_string(), "line 6: 2 fields where the header has 5");
        assert_eq!(parse_export(b""), Err(ExportError::Empty));
        assert_eq!(parse_export(b"\xff\xfe"), Err(ExportError::NotText));
        let open = format!("{EXPORT}2026-11-01,\"2026");
        assert!(parse_export(open.as_bytes()).unwrap_err().to_string().contains("not closed"));
    }

    #[tokio::test]
    async fn the_same_export_twice_changes_nothing_and_a_reissue_replaces_its_period() {
        let ledger = MemoryBillingLedger::default();
        let first = parse_export(EXPORT.as_bytes()).unwrap();
        assert!(ledger.replace_period(&first[0]).await.unwrap());
        assert!(!ledger.replace_period(&first[0]).await.unwrap());
        let corrected = EXPORT.replace("1.25", "1.00");
        let reissue = parse_export(corrected.as_bytes()).unwrap();
        assert!(ledger.replace_period(&reissue[0]).await.unwrap());
        let billed = ledger.period("2026-11").await.unwrap();
        assert_eq!(billed[0], BilledDay { day: "2026-11-02".into(), component: "functions".into(), billed_usd: 1.75 });
    }
}
