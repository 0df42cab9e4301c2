//! `helix teams`, `helix team use NAME`, `helix team usage`: the caller's teams, the team later
//! commands act in when they name none (kept with the stored login), and a team's plan and usage.

use std::process::ExitCode;

use helix_client::credentials::{self, Credentials};
use helix_client::{TeamRead, TeamUsage};
use serde_json::json;

use super::Context;
use super::error::CliError;
use super::output::{print_json, table};

/// Lists the caller's teams; the default team is marked `*`.
pub async fn list(context: &Context) -> Result<ExitCode, CliError> {
    let answer = context.api().await?.teams().await?;
    if context.json {
        print_json(&answer.raw);
        return Ok(ExitCode::SUCCESS);
    }
    let default = context.default_team();
    let rows: Vec<Vec<String>> = answer
        .value
        .items
        .iter()
        .map(|t| {
            let mark = if default == Some(t.id.as_str()) { "*" } else { "" };
            vec![mark.into(), t.id.to_string(), t.role.as_str().into(), t.plan.as_str().into(), t.name.clone()]
        })
        .collect();
    print!("{}", table(&["", "ID", "ROLE", "PLAN", "NAME"], &rows));
    Ok(ExitCode::SUCCESS)
}

/// The one team among `teams` that `wanted` names: by id, else by name (any case).
fn find<'a>(teams: &'a [TeamRead], wanted: &str) -> Result<&'a TeamRead, CliError> {
    if let Some(team) = teams.iter().find(|t| t.id.as_str() == wanted) {
        return Ok(team);
    }
    let named: Vec<&TeamRead> = teams.iter().filter(|t| t.name.eq_ignore_ascii_case(wanted)).collect();
    match named[..] {
        [team] => Ok(team),
        [] => {
            let names: Vec<&str> = teams.iter().map(|t| t.name.as_str()).collect();
            Err(CliError::Input(format!("you are in no team named {wanted:?}; your teams: {}", names.join(", "))))
        }
        _ => {
            let ids: Vec<&str> = named.iter().map(|t| t.id.as_str()).collect();
            Err(CliError::Input(format!(
                "several of your teams are named {wanted:?}: give its id ({})",
                ids.join(", ")
            )))
        }
    }
}

/// Makes the team named `wanted` the one later commands act in, in the stored login.
pub async fn use_team(context: &Context, wanted: &str) -> Result<ExitCode, CliError> {
    if context.as_key() {
        return Err(CliError::Input("an API key acts in its own team only: there is no team to choose".into()));
    }
    let teams = context.api().await?.teams().await?.value.items;
    let team = find(&teams, wanted.trim())?;
    // Read now: the request may have refreshed the stored token.
    let current = credentials::load()?
        .filter(|c| c.api_url == context.api_url)
        .ok_or_else(|| CliError::NotLoggedIn(context.api_url.clone()))?;
    credentials::save(&Credentials { default_team: Some(team.id.to_string()), ..current })?;
    if context.json {
        print_json(&json!({"default_team": {"id": team.id, "name": team.name}}));
    } else {
        println!("Commands now act in team {} ({}) when they name none.", team.name, team.id);
    }
    Ok(ExitCode::SUCCESS)
}

/// `used / limit` and how full, for people.
fn line(what: &str, used: u64, limit: u64, unit: fn(u64) -> String) -> Vec<String> {
    let share = used.saturating_mul(100).checked_div(limit).map_or(100, |share| share.min(100));
    let filled = (share / 5) as usize;
    let bar = format!("[{}{}] {share:>3}%", "#".repeat(filled), ".".repeat(20 - filled));
    vec![what.into(), format!("{} / {}", unit(used), unit(limit)), bar]
}

fn number(n: u64) -> String {
    n.to_string()
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

/// The team's plan and what it uses of it: `team` if given, else the default team, else the
/// personal one.
pub async fn usage(context: &Context, team: Option<String>) -> Result<ExitCode, CliError> {
    let api = context.api().await?;
    let team = match context.team(team) {
        Some(team) => team,
        None => api.teams().await?.value.items.into_iter().find(|t| t.personal).map(|t| t.id.to_string()).ok_or_else(
            || CliError::Input("an API key's usage is for its team's admins: give --team and log in as one".into()),
        )?,
    };
    let answer = api.team_usage(&team).await?;
    if context.json {
        print_json(&answer.raw);
        return Ok(ExitCode::SUCCESS);
    }
    let TeamUsage { plan, limits, usage } = answer.value;
    println!("Team {team}: the {} plan", plan.as_str());
    let rows = [
        line("concurrent jobs", usage.concurrent_jobs, u64::from(limits.concurrent_jobs), number),
        line("storage", usage.storage_bytes, limits.storage_bytes, bytes),
        line("records this month", usage.records_this_month, limits.records_per_month, number),
    ];
    print!("{}", table(&["QUOTA", "USED / LIMIT", "FULL"], &rows));
    println!("One file may be up to {}.", bytes(limits.file_bytes));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_bars_read_as_people_write_them() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(100 << 20), "100.0 MiB");
        assert_eq!(bytes(5 << 30), "5.0 GiB");
        assert_eq!(line("jobs", 1, 2, number), ["jobs", "1 / 2", "[##########..........]  50%"]);
        assert_eq!(line("jobs", 3, 2, number)[2], "[####################] 100%");
    }
}
