//! Finding log files under the paths a user gives: directories are walked,
//! `.json.gz` and `.json` files kept, CloudTrail digest files skipped.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use trailhound_core::sources::cloudtrail::{KeyKind, key_kind};

/// CloudTrail log files under `paths`, sorted, with the number of files skipped.
pub fn cloudtrail_files(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, usize)> {
    let mut out = Vec::new();
    let mut skipped = 0usize;
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_dir() {
            walk(p, &mut out, &mut skipped)?;
        } else {
            // A file named explicitly is read whatever its name, unless it is a digest.
            match key_kind(&p.to_string_lossy()) {
                KeyKind::Digest => skipped += 1,
                _ => out.push(p.clone()),
            }
        }
    }
    out.sort();
    if out.is_empty() {
        bail!(
            "no CloudTrail log files (.json.gz or .json) under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok((out, skipped))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, skipped: &mut usize) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        let ft = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", path.display()))?;
        if ft.is_dir() {
            if path.file_name().is_some_and(|n| n == "CloudTrail-Digest") {
                continue;
            }
            walk(&path, out, skipped)?;
        } else if ft.is_file() {
            match key_kind(&path.to_string_lossy()) {
                KeyKind::LogFile => out.push(path),
                KeyKind::Digest => *skipped += 1,
                KeyKind::Other => {}
            }
        }
    }
    Ok(())
}
