//! `trailhound train`.

use super::logs::{SourceArg, subscription_files, train_logs};
use super::progress;
use crate::ReadOpts;
use crate::files::cloudtrail_files;
use anyhow::{Context, Result};
use std::cell::Cell;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use trailhound_core::decode::Limits;
use trailhound_core::models::artifact::Model;
use trailhound_core::models::iforest::IsolationForestParams;
use trailhound_core::models::train::train_cloudtrail;
use trailhound_core::sources::cloudtrail::CtBatch;

/// Arguments of `train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudTrail files or directories (walked; `.json.gz` and `.json`; digests skipped),
    /// or with `--source vpcflow|access-log` subscription event files (`.jsonl`).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Where to write the model.
    #[arg(long)]
    pub out: PathBuf,
    /// Trees in the forest.
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    /// Rows per tree.
    #[arg(long, default_value_t = 256)]
    pub max_samples: usize,
    /// Random seed of the forest.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Log source: `vpcflow` or `access-log` train on subscription event files
    /// (`events.jsonl`); without it, CloudTrail files.
    #[arg(long, value_enum)]
    pub source: Option<SourceArg>,
    #[command(flatten)]
    pub read: ReadOpts,
}

/// Reads one file, or warns and returns `None` when it is not readable.
pub fn read_batch(path: &Path, limits: &Limits) -> Option<CtBatch> {
    let result = File::open(path).map_err(anyhow::Error::from).and_then(|f| {
        CtBatch::read(BufReader::with_capacity(256 * 1024, f), limits).map_err(Into::into)
    });
    match result {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("warning: skipping {}: {e:#}", path.display());
            None
        }
    }
}

/// Trains a model from files (shared with `demo`).
pub fn train_files(
    files: &[PathBuf],
    params: &IsolationForestParams,
    limits: &Limits,
) -> Result<Model> {
    let pass = Cell::new(0);
    let model = train_cloudtrail(
        || {
            pass.set(pass.get() + 1);
            let what = if pass.get() == 1 {
                "learning"
            } else {
                "encoding"
            };
            let pb = progress(files.len() as u64, what);
            files.iter().filter_map(move |p| {
                pb.inc(1);
                if pb.position() == pb.length().unwrap_or(0) {
                    pb.finish_and_clear();
                }
                read_batch(p, limits)
            })
        },
        params,
    )?;
    Ok(model)
}

/// Runs `train`.
pub fn run(a: Args) -> Result<ExitCode> {
    let started = Instant::now();
    let limits = Limits {
        max_decompressed_bytes: a.read.max_decompressed_bytes,
        ..Limits::default()
    };
    let params = IsolationForestParams {
        n_trees: a.trees,
        max_samples: a.max_samples,
        seed: a.seed,
    };
    let model = match a.source {
        Some(source @ (SourceArg::Vpcflow | SourceArg::AccessLog)) => {
            train_logs(&subscription_files(&a.paths)?, source, &params, &limits)?
        }
        _ => train_files(&cloudtrail_files(&a.paths)?.0, &params, &limits)?,
    };
    let bytes = model.to_bytes()?;
    std::fs::write(&a.out, &bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
    eprintln!(
        "trained {} on {} events from {} files in {:.1}s -> {} ({} KB)",
        model.version(),
        model.training.rows,
        model.training.files,
        started.elapsed().as_secs_f64(),
        a.out.display(),
        bytes.len() / 1024
    );
    Ok(ExitCode::SUCCESS)
}
