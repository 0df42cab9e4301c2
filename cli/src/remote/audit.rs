//! `helix audit list|verify`: a team's audit trail, for its admins and owners. `verify` checks
//! the hash chain here, on the entries as the server sent them, rather than trust the server's
//! word that it holds.

use std::process::ExitCode;

use helix_client::AuditFilters;
use serde_json::json;

use super::Context;
use super::error::CliError;
use super::output::{cell, print_json, table, time};

pub async fn list(context: &Context, team: &str, filters: AuditFilters) -> Result<ExitCode, CliError> {
    let page = context.api().await?.audit(team, &filters).await?;
    if context.json {
        print_json(&page.raw);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = page
        .value
        .items
        .iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                time(e.at),
                e.actor.to_string(),
                e.action.clone(),
                cell(&e.target, 40),
                e.outcome.as_str().to_owned(),
                e.source_ip.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if rows.is_empty() {
        println!("no audit entries");
    } else {
        print!("{}", table(&["SEQ", "TIME (UTC)", "ACTOR", "ACTION", "TARGET", "OUTCOME", "SOURCE IP"], &rows));
    }
    if let Some(cursor) = &page.value.next_cursor {
        eprintln!("more: --cursor {cursor}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the whole chain and checks every link; exits 1 when it is broken.
pub async fn verify(context: &Context, team: &str) -> Result<ExitCode, CliError> {
    let check = context.api().await?.verify_audit(team).await?;
    if context.json {
        print_json(&json!({"team_id": team, "entries": check.entries, "head": check.head(), "broken": check.broken}));
    } else {
        match &check.broken {
            None => println!(
                "The audit chain of team {team} holds: {} entries, head {}",
                check.entries,
                check.head().unwrap_or("(empty)")
            ),
            Some(broken) => {
                println!("The audit chain of team {team} is broken at entry {}: {}", broken.seq, broken.reason)
            }
        }
    }
    Ok(if check.broken.is_none() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
