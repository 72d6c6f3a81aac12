//! `trailhound demo`: simulate → train → scan → eval in a temporary directory.

use super::eval::{baselines, evaluate, print_metrics, read_labels};
use super::logs::SourceArg;
use super::train::train_files;
use crate::files::cloudtrail_files;
use crate::local::FileModelSource;
use crate::output::short_principal;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use trailhound_core::Severity;
use trailhound_core::decode::Limits;
use trailhound_core::models::iforest::IsolationForestParams;
use trailhound_core::simulate::cloudtrail::Scenario;
use trailhound_core::simulate::cloudtrail::{SimConfig, write_dir};

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Days of activity in each of the training and the scanned week.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Normal events per day.
    #[arg(long, default_value_t = 10_000)]
    pub events_per_day: u32,
    /// Seed of the training week (the scanned week uses seed + 1).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep the generated files in this directory instead of a temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// How many top findings to show.
    #[arg(long, default_value_t = 12)]
    pub top: usize,
    /// Demo another source: `vpcflow` or `access-log` (one simulated day each to
    /// train on and to scan, as CloudWatch Logs subscription events).
    #[arg(long, value_enum)]
    pub source: Option<super::logs::SourceArg>,
    /// Scan without behavioural baselines (by default, per-principal profiles are
    /// learned from the training week in a temporary store, then kept up to date
    /// while scanning).
    #[arg(long)]
    pub no_profiles: bool,
    /// Days of history a principal's profile needs before its novelty counts.
    #[arg(long, default_value_t = trailhound_core::baseline::DEFAULT_LEARNING_DAYS, value_name = "DAYS")]
    pub learning_days: u32,
    #[command(flatten)]
    pub hygiene: crate::hygiene::HygieneOpts,
    #[command(flatten)]
    pub rules: super::rules::RulesOpts,
}

/// Runs `demo`.
pub fn run(a: Args) -> Result<ExitCode> {
    if let Some(source @ (SourceArg::Vpcflow | SourceArg::AccessLog)) = a.source {
        super::logs::demo(source, a.seed, a.keep.as_deref(), a.top)?;
        return Ok(ExitCode::SUCCESS);
    }
    let tmp;
    let root = match &a.keep {
        Some(dir) => dir.clone(),
        None => {
            tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
            tmp.path().to_owned()
        }
    };
    let started = Instant::now();
    let train_dir = root.join("train");
    let scan_dir = root.join("scan");
    let train_cfg = SimConfig {
        seed: a.seed,
        days: a.days,
        events_per_day: a.events_per_day,
        scenarios: Scenario::all_benign(),
        ..SimConfig::default()
    };
    // The scanned week follows the training week, as it would in an account.
    let scan_cfg = SimConfig {
        seed: a.seed + 1,
        days: a.days,
        events_per_day: a.events_per_day,
        start: train_cfg.start + i64::from(a.days) * 86_400,
        ..SimConfig::default()
    };
    eprintln!(
        "1/4 simulating a clean week to learn from ({} days)...",
        a.days
    );
    let s1 = write_dir(&train_cfg, &train_dir).context("simulate training week")?;
    eprintln!("    {} events in {} objects", s1.events, s1.objects);
    eprintln!("2/4 simulating the week to scan, with attacks and hard negatives...");
    let s2 = write_dir(&scan_cfg, &scan_dir).context("simulate scanned week")?;
    eprintln!(
        "    {} events ({} attack events in {} scenarios)",
        s2.events,
        s2.attack_events,
        s2.scenarios.len()
    );
    eprintln!("3/4 training the Isolation Forest...");
    let limits = Limits::default();
    let (train_files_list, _) = cloudtrail_files(&[train_dir])?;
    let model = train_files(
        &train_files_list,
        &IsolationForestParams::default(),
        &limits,
    )?;
    let model_path = root.join("model.bin");
    std::fs::write(&model_path, model.to_bytes()?).context("write model")?;
    eprintln!(
        "    model {} from {} events",
        model.version(),
        model.training.rows
    );
    eprintln!("4/4 scanning and evaluating...");
    let (scan_files_list, _) = cloudtrail_files(std::slice::from_ref(&scan_dir))?;
    let labels = read_labels(&scan_dir.join("labels.csv"))?;
    let source = FileModelSource::load(Some(&model_path))?;
    let profiles = if a.no_profiles {
        None
    } else {
        baselines(None, &train_files_list, a.learning_days, &limits)?
    };
    let policy = a.hygiene.policy()?;
    let (metrics, top, volume) = evaluate(
        &scan_files_list,
        &labels,
        &source,
        Severity::Medium,
        limits,
        &Default::default(),
        &profiles,
        policy,
        a.rules.load(),
    )?;

    println!();
    println!("Top findings (of {} at medium or above)", top.len());
    for f in top.iter().take(a.top) {
        println!(
            "  [{:<8}] {:>4.1}  {}  {} by {}",
            f.severity.map_or("-", |s| s.as_upper()),
            f.severity_score,
            f.time,
            f.action,
            short_principal(&f.principal)
        );
        for r in f.reasons.iter().take(4) {
            println!("             - {r}");
        }
    }
    println!();
    print_metrics(&metrics, Severity::Medium);
    volume.print();
    println!();
    println!("done in {:.1}s", started.elapsed().as_secs_f64());
    if let Some(dir) = &a.keep {
        println!(
            "files kept in {} (model.bin, train/, scan/labels.csv)",
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
