//! `trailhound model`: inspect model files.

use crate::local::load_model;
use anyhow::{Context, Result};
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
    /// Upload a model where the Lambda reads it (checked first; a refused model is never uploaded).
    Push {
        /// The model file.
        path: PathBuf,
        /// The model bucket (`MODEL_BUCKET` of the functions).
        #[arg(long)]
        bucket: String,
        /// The object key (`MODEL_KEY` of the functions).
        #[arg(long, default_value = "models/cloudtrail/model.bin")]
        key: String,
    },
}

/// Runs `model`.
pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        ModelCommand::Push { path, bucket, key } => {
            let bytes = std::fs::read(&path)
                .with_context(|| format!("cannot read model {}", path.display()))?;
            let pushed = super::block_on(async {
                let config = trailhound_aws::load_sdk_config().await;
                let client = trailhound_aws::s3_client(&config);
                trailhound_aws::push_model(&client, &bucket, &key, bytes).await
            })
            .with_context(|| format!("cannot push {} to s3://{bucket}/{key}", path.display()))?;
            eprintln!(
                "pushed model {} to s3://{bucket}/{key} (etag {})",
                pushed.version,
                pushed.etag.as_deref().unwrap_or("-")
            );
            Ok(ExitCode::SUCCESS)
        }
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
                "pca": m.pca.as_ref().map(|p| serde_json::json!({
                    "components": p.pca.n_components(),
                    "explained_variance": p.pca.explained,
                    "calibration": {"n": p.calibration.n, "max": p.calibration.max()},
                })),
                "load_ms": load_ms,
            });
            println!("{}", serde_json::to_string_pretty(&info)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
