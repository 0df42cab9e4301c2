//! `helix login`, `helix logout`, `helix whoami`.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::process::ExitCode;

use serde_json::json;

use super::Context;
use super::credentials::{self, Credentials, now};
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

pub fn login(context: &Context, username: Option<String>, password_stdin: bool) -> Result<ExitCode, CliError> {
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
    let token = context.anonymous_api()?.login(&username, &password)?;
    let credentials = Credentials {
        api_url: context.api_url.clone(),
        username,
        access_token: token.access_token,
        token_type: token.token_type,
        expires_at: now() + token.expires_in,
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
        let minutes = token.expires_in / 60;
        println!(
            "Logged in to {} as {} (session valid for {}h{:02}m)",
            credentials.api_url,
            credentials.username,
            minutes / 60,
            minutes % 60
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Forgets the token here; the server keeps no sessions (tokens are signed and expire on their own).
pub fn logout(context: &Context) -> Result<ExitCode, CliError> {
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

pub fn whoami(context: &Context) -> Result<ExitCode, CliError> {
    let me = context.api()?.me()?.raw;
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
