//! `trailhound scan`.

use super::{block_on, progress};
use crate::files::cloudtrail_files;
use crate::local::{FileModelSource, JsonlFindingStore, LocalObjectSource, StderrAlertSink};
use crate::output::{Format, Printer};
use crate::{ReadOpts, parse_severity};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use trailhound_core::Severity;
use trailhound_core::decode::Limits;
use trailhound_core::pipeline::{PipelineConfig, Ports, Report, run_object};
use trailhound_core::ports::ObjectRef;

/// Arguments of `scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudTrail files or directories (walked; `.json.gz` and `.json`; digests skipped).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Model file from `trailhound train` (without one, only rules fire).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Print every scored event, including those with no severity (`"severity": null`).
    #[arg(long)]
    pub all: bool,
    /// Also append new findings to this JSON-lines file (ids already in it are not added again).
    #[arg(long, value_name = "FILE")]
    pub findings_out: Option<PathBuf>,
    /// Print an alert line on standard error for each new finding at or above --alert-severity.
    #[arg(long)]
    pub alerts: bool,
    /// Minimum severity that alerts.
    #[arg(long, default_value = "medium", value_parser = parse_severity)]
    pub alert_severity: Severity,
    #[command(flatten)]
    pub read: ReadOpts,
}

/// Totals of a scan.
#[derive(Debug, Default)]
pub struct Totals {
    /// Files read.
    pub files: u64,
    /// Files that failed.
    pub failed: u64,
    /// Events scored.
    pub events: u64,
    /// Records skipped.
    pub skipped: u64,
    /// Findings with a severity.
    pub findings: u64,
    /// Decompressed bytes are not tracked here; wall time is.
    pub seconds: f64,
}

/// Runs the pipeline over files, handing each report to `each`.
pub fn scan_files(
    files: &[PathBuf],
    model: &FileModelSource,
    store: &JsonlFindingStore,
    alerts: &StderrAlertSink,
    cfg: &PipelineConfig,
    mut each: impl FnMut(&Path, Report) -> Result<()>,
) -> Result<Totals> {
    let started = Instant::now();
    let objects = LocalObjectSource;
    let ports = Ports {
        objects: &objects,
        models: model,
        findings: store,
        alerts,
    };
    let pb = progress(files.len() as u64, "scanning");
    let mut t = Totals::default();
    block_on(async {
        for path in files {
            let object = ObjectRef {
                bucket: String::new(),
                key: path.to_string_lossy().into_owned(),
            };
            t.files += 1;
            match run_object(&object, &ports, cfg).await {
                Ok(report) => {
                    t.events += report.summary.records - report.summary.skipped;
                    t.skipped += report.summary.skipped;
                    t.findings += report.summary.findings.values().sum::<u64>();
                    each(path, report)?;
                }
                Err(e) => {
                    t.failed += 1;
                    pb.suspend(|| eprintln!("error: {e}"));
                }
            }
            pb.inc(1);
        }
        anyhow::Ok(())
    })?;
    pb.finish_and_clear();
    store.flush()?;
    t.seconds = started.elapsed().as_secs_f64();
    Ok(t)
}

/// Runs `scan`.
pub fn run(a: Args) -> Result<ExitCode> {
    let (files, _) = cloudtrail_files(&a.paths)?;
    let model = FileModelSource::load(a.model.as_deref())?;
    if model.model().is_none() {
        eprintln!("note: no --model given: only the built-in rules can fire");
    }
    let store = match &a.findings_out {
        Some(p) => JsonlFindingStore::open(p)?,
        None => JsonlFindingStore::memory(),
    };
    let alerts = StderrAlertSink { enabled: a.alerts };
    let cfg = PipelineConfig {
        limits: Limits {
            max_decompressed_bytes: a.read.max_decompressed_bytes,
            ..Limits::default()
        },
        min_alert_severity: a.alert_severity,
        keep_all: a.all,
    };
    let stdout = std::io::stdout().lock();
    let mut printer = Printer::new(std::io::BufWriter::new(stdout), a.format);
    let t = scan_files(&files, &model, &store, &alerts, &cfg, |_, report| {
        for f in &report.findings {
            printer.print(f)?;
        }
        Ok(())
    })?;
    printer.flush()?;
    eprintln!(
        "scanned {} files, {} events ({} malformed records skipped), {} findings, {} files failed, in {:.2}s",
        t.files, t.events, t.skipped, t.findings, t.failed, t.seconds
    );
    Ok(if t.failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
