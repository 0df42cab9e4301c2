//! `helix costs`: what the teams you administer (a platform admin: every team) cost per team,
//! pipeline, user, job kind or day over a range of days, priced by the server's price table.

use std::process::ExitCode;

use helix_client::CostFilters;

use super::Context;
use super::error::CliError;
use super::output::{cell, print_json, table};

pub async fn costs(context: &Context, filters: CostFilters) -> Result<ExitCode, CliError> {
    let answer = context.api().await?.costs(&filters).await?;
    if context.json {
        print_json(&answer.raw);
        return Ok(ExitCode::SUCCESS);
    }
    let report = answer.value;
    let rows: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|g| {
            vec![
                cell(&g.key, 48),
                usd(g.total_usd),
                g.records.to_string(),
                g.usd_per_million_records.map(|u| format!("{u:.4}")).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    println!(
        "Costs by {} from {} to {} ({}, price table {})",
        report.group_by, report.from, report.to, report.currency, report.price_table
    );
    if rows.is_empty() {
        println!("no costs in this range");
    } else {
        let group = report.group_by.to_ascii_uppercase();
        print!("{}", table(&[group.as_str(), "COST (USD)", "RECORDS", "USD PER 1M RECORDS"], &rows));
    }
    println!("Total: {} {}", usd(report.total_usd), report.currency);
    Ok(ExitCode::SUCCESS)
}

/// Cents, or six decimals below a cent: a local platform's jobs cost fractions of one.
fn usd(amount: f64) -> String {
    if amount.abs() >= 0.01 { format!("{amount:.2}") } else { format!("{amount:.6}") }
}
