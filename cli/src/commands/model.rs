//! `trailhound model`: inspect model files.

use crate::local::load_model;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use trailhound_core::timefmt::format_rfc3339;

/// Arguments of `model`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ModelCommand,
}

/// Model subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Check a model file and print its metadata as JSON.
    Info {
        /// The model file.
        path: PathBuf,
    },
}

/// Runs `model`.
pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        ModelCommand::Info { path } => {
            let started = std::time::Instant::now();
            let m = load_model(&path)?;
            let load_ms = started.elapsed().as_secs_f64() * 1000.0;
            let info = serde_json::json!({
                "version": m.version,
                "source": m.source,
                "schema": m.schema,
                "training": {
                    "rows": m.training.rows,
                    "files": m.training.files,
                    "skipped": m.training.skipped,
                    "from": format_rfc3339(m.training.time_start),
                    "to": format_rfc3339(m.training.time_end),
                    "params": m.training.params,
                },
                "trees": m.forest.n_trees(),
                "calibration": {"n": m.calibration.n, "max": m.calibration.max()},
                "load_ms": load_ms,
            });
            println!("{}", serde_json::to_string_pretty(&info)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
