//! `helix login`, `helix logout`, `helix whoami`.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::process::ExitCode;

use serde_json::json;

use helix_domain::API_KEY_PREFIX;
use helix_domain::api_key::DISPLAY_PREFIX_CHARS;

use helix_client::Client;
use helix_client::credentials::{self, API_KEY_TOKEN_TYPE, Credentials, now};

use super::Context;
use super::error::CliError;
use super::output::print_json;

fn ask_username() -> Result<String, CliError> {
    if !io::stdin().is_terminal() {
        return Err(CliError::Input("no terminal to ask for the e-mail address on: give --username".into()));
    }
    eprint!("E-mail: ");
    io::stderr().flush().ok();
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line).map_err(|e| CliError::Input(format!("reading the e-mail address: {e}")))?;
    Ok(line.trim().to_owned())
}

fn password(from_stdin: bool) -> Result<String, CliError> {
    if from_stdin {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Input(format!("reading the password from standard input: {e}")))?;
        // `echo pw | helix login` adds a newline that is not part of the password.
        let text = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
        return Ok(text.to_owned());
    }
    if !io::stdin().is_terminal() {
        return Err(CliError::Input("no terminal to ask for the password on: pipe it with --password-stdin".into()));
    }
    rpassword::prompt_password("Password: ").map_err(|e| CliError::Input(format!("reading the password: {e}")))
}

pub async fn login(context: &Context, username: Option<String>, password_stdin: bool) -> Result<ExitCode, CliError> {
    let username = match username {
        Some(u) => u.trim().to_owned(),
        None => ask_username()?,
    };
    if username.is_empty() {
        return Err(CliError::Input("the e-mail address is empty".into()));
    }
    let password = password(password_stdin)?;
    if password.is_empty() {
        return Err(CliError::Input("the password is empty".into()));
    }
    let token = context.anonymous_api()?.login(&username, &password).await?;
    // Logging in again as the same account keeps the team it chose.
    let default_team = context
        .credentials()
        .filter(|c| c.username == username && !c.is_api_key())
        .and_then(|c| c.default_team.clone());
    let credentials = Credentials {
        api_url: context.api_url.clone(),
        username,
        access_token: token.access_token,
        token_type: token.token_type,
        expires_at: now() + token.expires_in,
        refresh_token: token.refresh_token,
        default_team,
    };
    let path = credentials::save(&credentials)?;
    if context.json {
        print_json(&json!({
            "api_url": credentials.api_url,
            "username": credentials.username,
            "expires_at": credentials.expires_at,
            "credentials_file": path,
        }));
    } else {
        println!("Logged in to {} as {}", credentials.api_url, credentials.username);
    }
    Ok(ExitCode::SUCCESS)
}

/// The key from `HELIX_API_KEY`, else standard input (asked for, unechoed, on a terminal).
fn api_key(context: &Context) -> Result<String, CliError> {
    let key = match &context.api_key {
        Some(key) => key.clone(),
        None if io::stdin().is_terminal() => {
            rpassword::prompt_password("API key: ").map_err(|e| CliError::Input(format!("reading the API key: {e}")))?
        }
        None => {
            let mut text = String::new();
            io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::Input(format!("reading the API key from standard input: {e}")))?;
            text
        }
    };
    let key = key.trim().to_owned();
    if !key.starts_with(API_KEY_PREFIX) {
        return Err(CliError::Input(format!(
            "an API key starts with {API_KEY_PREFIX}: give it in HELIX_API_KEY or on standard input"
        )));
    }
    Ok(key)
}

/// Proves the key with a request every key may make: a key without `jobs:read` is refused it
/// (403), but is a key; only an unknown, revoked or expired one is a 401.
async fn check_key(api: &Client) -> Result<(), CliError> {
    match api.jobs(None, Some(1), None).await {
        Ok(_) | Err(CliError::Api { status: 403, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

fn shown(key: &str) -> String {
    format!("{}…", key.chars().take(DISPLAY_PREFIX_CHARS).collect::<String>())
}

/// `helix login --api-key`: keeps the key as the login of the server, after checking it.
pub async fn login_with_key(context: &Context) -> Result<ExitCode, CliError> {
    let key = api_key(context)?;
    check_key(&Client::new(&context.api_url, Some(key.clone()))?).await?;
    let credentials = Credentials {
        api_url: context.api_url.clone(),
        username: format!("API key {}", shown(&key)),
        access_token: key,
        token_type: API_KEY_TOKEN_TYPE.into(),
        expires_at: u64::MAX,
        refresh_token: None,
        default_team: None,
    };
    let path = credentials::save(&credentials)?;
    if context.json {
        print_json(&json!({
            "api_url": credentials.api_url,
            "username": credentials.username,
            "credentials_file": path,
        }));
    } else {
        println!("Logged in to {} with {}", credentials.api_url, credentials.username);
    }
    Ok(ExitCode::SUCCESS)
}

/// Ends the session on the server (its tokens are refused within a second) and forgets the login here.
pub async fn logout(context: &Context) -> Result<ExitCode, CliError> {
    // The session ends on the server too; offline, the stored login is removed all the same.
    if let Some(refresh) = context.credentials().and_then(|c| c.refresh_token.clone())
        && let Err(e) = context.anonymous_api()?.end_session(&refresh).await
    {
        eprintln!("helix: the server did not confirm the logout ({e}); the login is removed here");
    }
    let removed = credentials::remove()?;
    if context.json {
        print_json(&json!({ "logged_out": removed }));
    } else if removed {
        println!("Logged out");
    } else {
        println!("Not logged in");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn whoami(context: &Context) -> Result<ExitCode, CliError> {
    if context.as_key() {
        let api = context.api().await?;
        check_key(&api).await?;
        let key = shown(api.token().unwrap_or_default());
        if context.json {
            print_json(&json!({ "api_key": key, "api_url": context.api_url }));
        } else {
            println!("API key {key} on {}", context.api_url);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let me = context.api().await?.me().await?.raw;
    if context.json {
        print_json(&me);
        return Ok(ExitCode::SUCCESS);
    }
    let email = me["email"].as_str().unwrap_or_default();
    let mut line = match me["fullname"].as_str() {
        Some(name) => format!("{email} ({name})"),
        None => email.to_owned(),
    };
    if me["is_admin"] == true {
        line.push_str(", admin");
    }
    println!("{line} on {}", context.api_url);
    Ok(ExitCode::SUCCESS)
}
