//! `trailhound model`: inspect model files, and sign and upload them for the Lambdas.
//!
//! Local commands (`scan --model FILE`, `model info`) trust the file they are given;
//! only models read from S3 by the functions must carry a signature, so `push` is the
//! one way a model reaches them.

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
    /// Sign a model with the stack's key and upload it where the Lambdas read it
    /// (checked first; a model they would refuse is never uploaded).
    Push {
        /// The model file.
        path: PathBuf,
        /// The model bucket (`MODEL_BUCKET` of the functions; stack output ModelBucketName).
        #[arg(long)]
        bucket: String,
        /// The log source the model scores; the object key is `models/SOURCE/model.bin`.
        #[arg(long, default_value = "cloudtrail", value_parser = ["cloudtrail", "vpcflow", "access_log"])]
        source: String,
        /// The object key, when not the source's default (`MODEL_KEY` of the function).
        #[arg(long)]
        key: Option<String>,
        /// The SSM SecureString holding the signing key (stack output
        /// ModelSigningKeyParameter; `MODEL_SIGNING_KEY_PARAMETER` of the functions).
        #[arg(
            long,
            env = "MODEL_SIGNING_KEY_PARAMETER",
            default_value = "/trailhound/model-signing-key"
        )]
        signing_key_parameter: String,
    },
}

/// Runs `model`.
pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        ModelCommand::Push {
            path,
            bucket,
            source,
            key,
            signing_key_parameter,
        } => {
            let key = key.unwrap_or_else(|| format!("models/{source}/model.bin"));
            let bytes = std::fs::read(&path)
                .with_context(|| format!("cannot read model {}", path.display()))?;
            let pushed = super::block_on(async {
                let config = trailhound_aws::load_sdk_config().await;
                let clients = trailhound_aws::Clients::new(&config);
                let signing_key =
                    trailhound_aws::signing::fetch_key(&clients.ssm, &signing_key_parameter)
                        .await
                        .with_context(|| {
                            format!(
                                "cannot read the model signing key {signing_key_parameter} \
                                 (infra/deploy.sh creates it; --signing-key-parameter names another)"
                            )
                        })?;
                trailhound_aws::push_model(&clients.s3, &bucket, &key, bytes, &signing_key)
                    .await
                    .with_context(|| {
                        format!("cannot push {} to s3://{bucket}/{key}", path.display())
                    })
            })?;
            eprintln!(
                "pushed model {} to s3://{bucket}/{key}, signed with {signing_key_parameter} (etag {})",
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
