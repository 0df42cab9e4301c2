//! `helix keys create|list|revoke`: a team's API keys, for its admins and owners.

use std::process::ExitCode;

use serde_json::{Value, json};

use helix_client::ApiKeyRead;
use helix_domain::Timestamp;

use super::Context;
use super::error::CliError;
use super::output::{cell, print_json, table, time};

fn state(key: &ApiKeyRead, now: Timestamp) -> String {
    match (key.revoked_at, key.expires_at) {
        (Some(at), _) => format!("revoked {}", time(at)),
        (None, Some(at)) if at <= now => format!("expired {}", time(at)),
        (None, Some(at)) => format!("expires {}", time(at)),
        (None, None) => "active".into(),
    }
}

/// Prints the key alone on stdout (for `KEY=$(helix keys create …)`), what it is on stderr.
pub async fn create(
    context: &Context,
    team: &str,
    name: &str,
    scopes: &[String],
    expires_at: Option<&str>,
    pipeline: Option<&str>,
) -> Result<ExitCode, CliError> {
    let mut body = json!({"name": name, "scopes": scopes});
    if let Some(at) = expires_at {
        body["expires_at"] = json!(at);
    }
    if let Some(pipeline) = pipeline {
        body["pipeline_id"] = json!(pipeline);
    }
    let created = context.api().await?.create_key(team, &body).await?.raw;
    if context.json {
        print_json(&created);
        return Ok(ExitCode::SUCCESS);
    }
    let text = |field: &str| created[field].as_str().unwrap_or_default().to_owned();
    let scopes: Vec<&str> = created["scopes"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    println!("{}", text("key"));
    eprintln!("API key {} ({}) for team {team}: {}", text("id"), text("name"), scopes.join(", "));
    eprintln!("Keep it now, it is not shown again; send it as HELIX_API_KEY or with `helix login --api-key`.");
    Ok(ExitCode::SUCCESS)
}

pub async fn list(context: &Context, team: &str) -> Result<ExitCode, CliError> {
    let answer = context.api().await?.keys(team).await?;
    if context.json {
        print_json(&answer.raw);
        return Ok(ExitCode::SUCCESS);
    }
    let keys = answer.value.items;
    if keys.is_empty() {
        println!("no API keys");
        return Ok(ExitCode::SUCCESS);
    }
    let now = Timestamp::now();
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.id.to_string(),
                cell(&k.name, 30),
                format!("{}…", k.prefix),
                k.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
                k.created_by.to_string(),
                time(k.created_at),
                k.last_used_at.map_or_else(|| "never".into(), time),
                k.use_count.to_string(),
                state(k, now),
            ]
        })
        .collect();
    let headers = ["ID", "NAME", "PREFIX", "SCOPES", "CREATED BY", "CREATED (UTC)", "LAST USED (UTC)", "USES", "STATE"];
    print!("{}", table(&headers, &rows));
    Ok(ExitCode::SUCCESS)
}

pub async fn revoke(context: &Context, team: &str, key_id: &str) -> Result<ExitCode, CliError> {
    context.api().await?.revoke_key(team, key_id).await?;
    if context.json {
        print_json(&json!({"revoked": key_id}));
    } else {
        println!("Revoked API key {key_id}");
    }
    Ok(ExitCode::SUCCESS)
}
