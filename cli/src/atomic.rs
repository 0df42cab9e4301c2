//! Files the CLI writes are put in place whole: written to a temporary file beside the target
//! and renamed over it once complete, so a run or download that fails leaves no half file (and
//! an earlier file of that name stays as it was).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A temporary file in `target`'s folder (same file system, so the rename is atomic), hidden and
/// named after it; readable like any file the user creates (tempfile's default is owner-only,
/// which suits secrets, not results). Dropped without `persist`, it is deleted.
pub fn beside(target: &Path) -> io::Result<NamedTempFile> {
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = target.file_name().map_or_else(|| "helix".into(), |n| n.to_string_lossy());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}

/// Where `helix transform` writes a file: beside its path and renamed onto it once complete, or
/// in place where the path is there and not a regular file (`/dev/null`, a pipe): nothing may be
/// renamed over that.
pub enum ResultFile {
    Beside(PathBuf, NamedTempFile),
    InPlace(File),
}

impl ResultFile {
    pub fn create(path: &Path) -> Result<ResultFile, String> {
        let created = if is_special(path) {
            File::create(path).map(ResultFile::InPlace)
        } else {
            beside(path).map(|f| ResultFile::Beside(path.to_owned(), f))
        };
        created.map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn file(&self) -> &File {
        match self {
            ResultFile::Beside(_, f) => f.as_file(),
            ResultFile::InPlace(f) => f,
        }
    }

    /// Puts the file in place (dropped instead, after an error, it is deleted).
    pub fn persist(self) -> Result<(), String> {
        match self {
            ResultFile::Beside(path, f) => {
                f.persist(&path).map(drop).map_err(|e| format!("{}: {}", path.display(), e.error))
            }
            ResultFile::InPlace(_) => Ok(()),
        }
    }
}

/// There, and not a regular file.
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}
