//! `helix audit list|verify`: a team's audit trail, for its admins and owners. `verify` checks
//! the hash chain here, on the entries as the server sent them, rather than trust the server's
//! word that it holds.

use std::process::ExitCode;

use serde_json::{Value, json};

use helix_domain::{AuditEntry, ChainCheck};

use super::Context;
use super::error::CliError;
use super::output::{cell, print_json, table, time};

/// The filters of `helix audit list`.
pub struct Filters {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The most entries a page carries: what `verify` asks for, to read the chain in few requests.
const MAX_PAGE: u32 = 500;

fn entries(context: &Context, page: &Value) -> Result<Vec<AuditEntry>, CliError> {
    serde_json::from_value(page["items"].clone())
        .map_err(|e| CliError::Protocol { url: context.api_url.clone(), reason: e.to_string() })
}

pub fn list(context: &Context, team: &str, filters: Filters) -> Result<ExitCode, CliError> {
    let query: Vec<(&str, String)> = [
        ("action", filters.action),
        ("actor", filters.actor),
        ("from", filters.from),
        ("to", filters.to),
        ("limit", filters.limit.map(|l| l.to_string())),
        ("cursor", filters.cursor),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name, v)))
    .collect();
    let page = context.api()?.audit(team, &query)?.raw;
    if context.json {
        print_json(&page);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = entries(context, &page)?
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
    if let Some(cursor) = page["next_cursor"].as_str() {
        eprintln!("more: --cursor {cursor}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the whole chain and checks every link; exits 1 when it is broken.
pub fn verify(context: &Context, team: &str) -> Result<ExitCode, CliError> {
    let api = context.api()?;
    let mut chain = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", MAX_PAGE.to_string())];
        query.extend(cursor.take().map(|c| ("cursor", c)));
        let page = api.audit(team, &query)?.raw;
        chain.extend(entries(context, &page)?);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let mut check = ChainCheck::default();
    chain.iter().rev().for_each(|entry| check.push(entry));
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
