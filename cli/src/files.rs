//! Finding log files under the paths a user gives: directories are walked
//! (symbolic links followed, loops and unreadable entries skipped and reported),
//! `.json.gz` and `.json` files kept, CloudTrail digest files skipped.

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use trailhound_core::sources::cloudtrail::{KeyKind, key_kind};
use trailhound_core::walk::{Entry, Walk, walk};

/// An error and its causes on one line (`a: b: c`), leaving out a cause whose
/// text the message already holds (thiserror messages often embed their source).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cause = c.source();
    }
    msg
}

/// Skipped entries printed one per line before "… and N more".
const SKIPPED_SHOWN: usize = 10;

/// Prints what a walk of `root` left out, if anything, on standard error.
pub fn report_skipped(root: &std::path::Path, w: &Walk) {
    if let Some(s) = w.skipped_summary(SKIPPED_SHOWN) {
        eprintln!("warning: under {}: {s}", root.display());
    }
}

/// CloudTrail log files under `paths`, sorted and without duplicates, with the
/// number of digest files skipped. A file named explicitly must have a CloudTrail
/// log file name (`.json.gz` or `.json`): anything else is refused, since the
/// pipeline would read no events from it.
pub fn cloudtrail_files(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, usize)> {
    let mut out = Vec::new();
    let mut skipped = 0usize;
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_dir() {
            let w = walk(p, |path, entry| match entry {
                Entry::Dir => path.file_name().is_none_or(|n| n != "CloudTrail-Digest"),
                Entry::File => match key_kind(&path.to_string_lossy()) {
                    KeyKind::LogFile => true,
                    KeyKind::Digest => {
                        skipped += 1;
                        false
                    }
                    KeyKind::Other => false,
                },
            });
            report_skipped(p, &w);
            out.extend(w.files);
        } else {
            match key_kind(&p.to_string_lossy()) {
                KeyKind::Digest => skipped += 1,
                KeyKind::LogFile if meta.is_file() => out.push(p.clone()),
                KeyKind::LogFile => bail!(
                    "{} is not a regular file (FIFO, socket or device)",
                    p.display()
                ),
                KeyKind::Other => bail!(
                    "{} is not a CloudTrail log file name (expected .json.gz or .json)",
                    p.display()
                ),
            }
        }
    }
    out.sort();
    out.dedup();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a file that failed to open printed "cannot open X" without
    /// the operating system's reason, which sat in the error's source chain.
    #[test]
    fn error_chain_keeps_the_os_reason_once() {
        use trailhound_core::pipeline::PipelineError;
        use trailhound_core::ports::{ObjectRef, PortError};
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let e = PipelineError::Port {
            object: ObjectRef {
                bucket: String::new(),
                key: "logs/a.json".to_owned(),
            },
            stage: "fetch",
            source: PortError::non_retryable("cannot open logs/a.json").with_source(io),
        };
        let msg = error_chain(&e);
        assert!(msg.ends_with(": permission denied"), "{msg}");
        assert_eq!(msg.matches("cannot open logs/a.json").count(), 1, "{msg}");
    }
}
