//! moto server, from the project's venv, as a child process that dies with its parent.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

pub struct Emulator {
    _child: Child,
    pub endpoint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("{0} not found: run `make setup` (or `make dev`, which runs it) first")]
    NotInstalled(PathBuf),
    #[error("port {0} is taken; stop what runs there or set AWS_ENDPOINT_URL to use that emulator")]
    PortTaken(u16),
    #[error("starting moto server: {0}")]
    Start(std::io::Error),
    #[error("moto server did not answer on port {0} within 30 s")]
    NotReady(u16),
}

pub async fn start_moto(root: &Path, port: u16) -> Result<Emulator, EmulatorError> {
    let python = root.join(".venv/bin/python");
    if !root.join(".venv/bin/moto_server").exists() {
        return Err(EmulatorError::NotInstalled(root.join(".venv/bin/moto_server")));
    }
    if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
        return Err(EmulatorError::PortTaken(port));
    }
    // moto with the one fix to its S3 wire format that the Rust SDK needs (see the script).
    let child = Command::new(&python)
        .arg(root.join("local/moto_server.py"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(EmulatorError::Start)?;
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(Emulator { _child: child, endpoint: format!("http://127.0.0.1:{port}") });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(EmulatorError::NotReady(port))
}
