//! `trailhound simulate`.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use trailhound_core::simulate::cloudtrail::Scenario;
use trailhound_core::simulate::cloudtrail::{SimConfig, write_dir};

/// Arguments of `simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Days of activity.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Random seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Normal events per day.
    #[arg(long, default_value_t = 20_000)]
    pub events_per_day: u32,
    /// Only normal activity and hard negatives: no attack scenarios (for training data).
    #[arg(long)]
    pub no_attacks: bool,
    /// Only these scenarios (comma-separated names; see README).
    #[arg(long, value_delimiter = ',', conflicts_with = "no_attacks")]
    pub scenarios: Option<Vec<String>>,
    /// Do not write CloudTrail-Digest files.
    #[arg(long)]
    pub no_digest: bool,
}

/// Builds the simulator configuration from the arguments.
pub fn config(a: &Args) -> Result<SimConfig> {
    let mut cfg = SimConfig {
        seed: a.seed,
        days: a.days,
        events_per_day: a.events_per_day,
        digests: !a.no_digest,
        ..SimConfig::default()
    };
    if a.no_attacks {
        cfg.scenarios = Scenario::all_benign();
    } else if let Some(names) = &a.scenarios {
        cfg.scenarios = names
            .iter()
            .map(|n| n.parse::<Scenario>())
            .collect::<Result<_, _>>()
            .context("unknown scenario")?;
    }
    Ok(cfg)
}

/// Runs `simulate`.
pub fn run(a: Args) -> Result<ExitCode> {
    let cfg = config(&a)?;
    eprintln!(
        "simulating {} days x {} events/day (seed {}) into {}",
        cfg.days,
        cfg.events_per_day,
        cfg.seed,
        a.out.display()
    );
    let summary =
        write_dir(&cfg, &a.out).with_context(|| format!("cannot write {}", a.out.display()))?;
    eprintln!(
        "wrote {} objects, {} events ({} attack events) and {}",
        summary.objects,
        summary.events,
        summary.attack_events,
        a.out.join("labels.csv").display()
    );
    for (name, n) in &summary.scenarios {
        eprintln!("  {name:<28} {n:>6} events");
    }
    Ok(ExitCode::SUCCESS)
}
