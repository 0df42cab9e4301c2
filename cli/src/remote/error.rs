//! How a failed remote command ends: one message (or JSON error object) on stderr, one exit code.

use std::process::ExitCode;

use serde_json::json;

pub use helix_client::Error as CliError;

/// Exit codes: 0 done (for `submit --wait`: the job COMPLETED), 1 any error, 2 bad usage (clap),
/// 3 the job FAILED, 4 not logged in or the session was refused.
pub const EXIT_JOB_FAILED: u8 = 3;
const EXIT_AUTH: u8 = 4;

fn needs_login(error: &CliError) -> bool {
    match error {
        CliError::Api { status: 401, authenticated, .. } => *authenticated,
        CliError::NotLoggedIn(_) | CliError::SessionExpired(_) => true,
        _ => false,
    }
}

fn exit_code(error: &CliError) -> u8 {
    match error {
        CliError::Api { status: 401, .. } | CliError::NotLoggedIn(_) | CliError::SessionExpired(_) => EXIT_AUTH,
        _ => 1,
    }
}

/// Writes the error to stderr (as one JSON object with `--json`) and gives the exit code.
pub fn report(error: &CliError, json: bool, login_command: &str) -> ExitCode {
    let hint = needs_login(error).then(|| format!("run `{login_command}` to log in"));
    if json {
        let mut object = json!({"code": error.code(), "message": error.to_string()});
        if let CliError::Api { status, field, .. } = error {
            object["status"] = json!(status);
            if let Some(field) = field {
                object["field"] = json!(field);
            }
        }
        if let Some(hint) = &hint {
            object["hint"] = json!(hint);
        }
        eprintln!("{}", json!({ "error": object }));
    } else {
        match error {
            CliError::Api { field: Some(field), .. } => eprintln!("helix: {error} (field: {field})"),
            _ => eprintln!("helix: {error}"),
        }
        if let Some(hint) = hint {
            eprintln!("hint: {hint}");
        }
    }
    ExitCode::from(exit_code(error))
}
