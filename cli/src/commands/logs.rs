//! CloudWatch Logs subscription files for `train`, `scan`, `eval` and `demo`: a JSON
//! file holding one Lambda event (`{"awslogs":{"data":…}}`), or JSON lines with one
//! Lambda event per line (how `trailhound simulate --source vpcflow|access-log`
//! writes `events.jsonl`, and how a capture of a real subscription is usually kept).
//!
//! Every payload of a file goes into one batch, so windows span the whole file.

use super::block_on;
use crate::local::{FileModelSource, JsonlFindingStore, StderrAlertSink};
use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use trailhound_core::Finding;
use trailhound_core::decode::Limits;
use trailhound_core::logs::{LogsBatch, LogsConfig, LogsPorts, ModelSet, run_batch};
use trailhound_core::pipeline::PipelineConfig;
use trailhound_core::ports::ObjectRef;
use trailhound_core::sources::cwl::SourceMap;
use trailhound_core::text::terminal_safe as safe;

/// A log source named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceArg {
    /// CloudTrail log files (S3 layout), or CloudTrail delivered to CloudWatch Logs.
    Cloudtrail,
    /// VPC Flow Logs subscription events.
    Vpcflow,
    /// Web access log subscription events.
    #[value(name = "access-log", alias = "access_log")]
    AccessLog,
}

impl SourceArg {
    /// The source map that routes every log group to this source (sniffing otherwise).
    pub fn source_map(self) -> SourceMap {
        let spec = match self {
            SourceArg::Cloudtrail => "*=cloudtrail",
            SourceArg::Vpcflow => "*=vpcflow",
            SourceArg::AccessLog => "*=access_log",
        };
        SourceMap::parse(spec).unwrap_or_default()
    }
}

/// Whether a file holds subscription events: its first non-blank bytes open a JSON
/// object that mentions `awslogs`.
pub fn is_subscription_file(path: &Path) -> bool {
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = vec![0u8; 4096];
    let n = f.read(&mut head).unwrap_or(0);
    let head = &head[..n];
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|s| head[s] == b'{') && memchr_find(head, b"\"awslogs\"")
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Subscription files under `paths`: files named explicitly, and `*.jsonl` files
/// (plus `.json` files that hold a subscription event) found in directories.
pub fn subscription_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    if out.is_empty() {
        bail!("no subscription event files (.jsonl) under the given paths");
    }
    Ok(out)
}

/// Subscription files under `dir`: `*.jsonl`, and `*.json` holding a subscription
/// event (symbolic links followed; loops and unreadable entries reported, not fatal).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let w = trailhound_core::walk::walk(dir, |path, entry| match entry {
        trailhound_core::walk::Entry::Dir => true,
        trailhound_core::walk::Entry::File => {
            path.extension().is_some_and(|e| e == "jsonl")
                || (path.extension().is_some_and(|e| e == "json") && is_subscription_file(path))
        }
    });
    crate::files::report_skipped(dir, &w);
    out.extend(w.files);
    Ok(())
}

/// Whether the paths hold subscription events (an explicit `--source` decides when given).
pub fn wants_logs(paths: &[PathBuf], source: Option<SourceArg>) -> bool {
    match source {
        Some(SourceArg::Vpcflow | SourceArg::AccessLog) => true,
        Some(SourceArg::Cloudtrail) => paths.iter().any(|p| p.is_file() && is_subscription_file(p)),
        None => paths.iter().any(|p| {
            if p.is_dir() {
                std::fs::read_dir(p).is_ok_and(|mut d| {
                    d.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "jsonl")))
                })
            } else {
                is_subscription_file(p)
            }
        }),
    }
}

/// Reads every Lambda event of a file into one batch. A line that is not a
/// subscription event is warned about and skipped.
pub fn read_batch(path: &Path, limits: &Limits, sources: &SourceMap) -> Result<LogsBatch> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut batch = LogsBatch::default();
    // One (possibly pretty-printed) Lambda event, or one event per line.
    if batch.add_event(&text, limits, sources).is_ok() {
        return Ok(batch);
    }
    let mut bad = 0u64;
    for line in text.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if let Err(e) = batch.add_event(line, limits, sources) {
            bad += 1;
            if bad <= 3 {
                super::eprint_line(&format!(
                    "warning: {}",
                    safe(&format!("{}: skipping a line: {e}", path.display()))
                ));
            }
        }
    }
    if bad > 0 && batch.counts.payloads == 0 {
        bail!("{}: no readable subscription events", path.display());
    }
    Ok(batch)
}

/// What a logs scan saw.
#[derive(Debug, Default)]
pub struct LogsTotals {
    /// Files read.
    pub files: u64,
    /// Files that failed.
    pub failed: u64,
    /// Payloads.
    pub payloads: u64,
    /// Log events parsed and scored.
    pub events: u64,
    /// Log events skipped (unparsable or unroutable).
    pub skipped: u64,
    /// VPC Flow Logs NODATA/SKIPDATA records (no traffic to score).
    pub no_data: u64,
    /// Findings with a severity.
    pub findings: u64,
    /// Alerts published.
    pub alerts: u64,
}

/// Runs the logs pipeline over subscription files, handing each file's output
/// (flagged findings, or every log event with `keep_all`) to `each`.
pub fn scan_logs(
    files: &[PathBuf],
    model: &FileModelSource,
    store: &JsonlFindingStore,
    alerts: &StderrAlertSink,
    cfg: &PipelineConfig,
    sources: &SourceMap,
    mut each: impl FnMut(&ObjectRef, &[Finding]) -> Result<()>,
) -> Result<LogsTotals> {
    // One model file serves every slot: each scorer ignores a model of another source.
    let models = ModelSet {
        cloudtrail: model,
        vpcflow: model,
        access_log: model,
    };
    let ports = LogsPorts {
        models: &models,
        findings: store,
        alerts,
    };
    let lcfg = LogsConfig {
        pipeline: cfg.clone(),
        sources: sources.clone(),
    };
    let mut t = LogsTotals::default();
    for path in files {
        t.files += 1;
        let batch = match read_batch(path, &cfg.limits, sources) {
            Ok(b) => b,
            Err(e) => {
                super::eprint_line(&format!("error: {}", safe(&format!("{e:#}"))));
                t.failed += 1;
                continue;
            }
        };
        let report = match block_on(run_batch(&batch, &ports, &lcfg)) {
            Ok(r) => r,
            Err(e) => {
                super::eprint_line(&format!(
                    "error: {}",
                    safe(&format!("{}: {e}", path.display()))
                ));
                t.failed += 1;
                continue;
            }
        };
        t.payloads += report.counts.payloads;
        t.events += report.counts.parsed;
        t.skipped += report.counts.skipped + report.counts.unrouted;
        t.no_data += report.counts.no_data;
        t.findings += report.findings.values().sum::<u64>();
        t.alerts += report.alerts;
        let object = ObjectRef {
            bucket: String::new(),
            key: path.to_string_lossy().into_owned(),
        };
        each(&object, &report.output)?;
    }
    store.flush()?;
    Ok(t)
}

/// Trains a VPC Flow Logs or access log model from subscription files (each file
/// read twice: once to learn frequencies, once to encode windows).
pub fn train_logs(
    files: &[PathBuf],
    source: SourceArg,
    params: &trailhound_core::models::iforest::IsolationForestParams,
    limits: &Limits,
) -> Result<trailhound_core::models::artifact::Model> {
    use trailhound_core::models::train::{train_access_log, train_vpcflow};
    let sources = source.source_map();
    let read = |p: &PathBuf| match read_batch(p, limits, &sources) {
        Ok(b) => Some(b),
        Err(e) => {
            super::eprint_line(&format!(
                "warning: {}",
                safe(&format!("skipping {}: {e:#}", p.display()))
            ));
            None
        }
    };
    let model = match source {
        SourceArg::Vpcflow => {
            train_vpcflow(|| files.iter().filter_map(read).map(|b| b.vpcflow), params)?
        }
        SourceArg::AccessLog => train_access_log(
            || files.iter().filter_map(read).map(|b| b.access_log),
            params,
        )?,
        SourceArg::Cloudtrail => bail!(
            "train --source cloudtrail reads CloudTrail log files; give the files without --source"
        ),
    };
    Ok(model)
}

/// `demo --source vpcflow|access-log`: simulate a clean day (hard negatives
/// included) and a day with attacks, train on the first, scan and evaluate the
/// second; prints the top findings and the metrics.
pub fn demo(source: SourceArg, seed: u64, keep: Option<&Path>, top: usize) -> Result<()> {
    use trailhound_core::Severity;
    use trailhound_core::models::iforest::IsolationForestParams;
    use trailhound_simulate::net::{NetScenario, NetSimConfig, NetSource, write_dir};
    let net = match source {
        SourceArg::Vpcflow => NetSource::VpcFlow,
        SourceArg::AccessLog => NetSource::AccessLog,
        SourceArg::Cloudtrail => bail!("demo --source cloudtrail is the default demo"),
    };
    let tmp;
    let root = match keep {
        Some(dir) => dir.to_owned(),
        None => {
            tmp = tempfile::tempdir().context("cannot create a temporary directory")?;
            tmp.path().to_owned()
        }
    };
    let started = std::time::Instant::now();
    let (train_dir, scan_dir) = (root.join("train"), root.join("scan"));
    let mut train_cfg = NetSimConfig::new(net);
    train_cfg.seed = seed;
    train_cfg.scenarios = NetScenario::all_benign(net);
    let mut scan_cfg = NetSimConfig::new(net);
    scan_cfg.seed = seed + 1;
    eprintln!("1/4 simulating a clean day to learn from (hard negatives included)...");
    let s1 = write_dir(&train_cfg, &train_dir).context("simulate training day")?;
    eprintln!("    {} log events in {} payloads", s1.events, s1.payloads);
    eprintln!("2/4 simulating the day to scan, with attacks and hard negatives...");
    let s2 = write_dir(&scan_cfg, &scan_dir).context("simulate scanned day")?;
    eprintln!(
        "    {} log events ({} attack events; {})",
        s2.events,
        s2.attack_events,
        super::demo::scenario_counts(&s2.scenarios)
    );
    eprintln!("3/4 training Isolation Forest, PCA and histograms on 60-second windows...");
    let limits = Limits::default();
    let model = train_logs(
        &[train_dir.join("events.jsonl")],
        source,
        &IsolationForestParams::default(),
        &limits,
    )?;
    let model_path = root.join("model.bin");
    std::fs::write(&model_path, model.to_bytes()?).context("write model")?;
    eprintln!(
        "    model {} from {} log events",
        model.version(),
        model.training.rows
    );
    eprintln!("4/4 scanning and evaluating...");
    let labels = super::eval::read_labels(&scan_dir.join("labels.csv"))?;
    let models = FileModelSource::load(Some(&model_path))?;
    let (metrics, top_findings, _) = super::eval::evaluate(
        &[scan_dir.join("events.jsonl")],
        &labels,
        &models,
        Severity::Medium,
        limits,
        &source.source_map(),
        &None,
        trailhound_core::pipeline::AlertPolicy::default(),
        std::sync::Arc::new(trailhound_core::rules::sigma::RuleSet::default()),
    )?;
    // A reader that goes away (`demo | head`) ends the run quietly (see main).
    let mut out = std::io::stdout().lock();
    super::demo::print_top(&mut out, &top_findings, top, Severity::Medium)?;
    writeln!(out)?;
    super::eval::print_metrics(&mut out, &metrics, Severity::Medium)?;
    writeln!(out)?;
    writeln!(out, "done in {:.1}s", started.elapsed().as_secs_f64())?;
    super::demo::print_next_steps(&mut out, source)?;
    out.flush()?;
    Ok(())
}
