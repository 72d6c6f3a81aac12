//! `trailhound scan`.

use super::{block_on, progress};
use crate::files::cloudtrail_files;
use crate::local::{FileModelSource, JsonlFindingStore, LocalObjectSource, StderrAlertSink};
use crate::output::{Format, Printer, Sort};
use crate::profiles::LocalProfileStore;
use crate::{ReadOpts, parse_severity};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use trailhound_core::Finding;
use trailhound_core::Severity;
use trailhound_core::decode::Limits;
use trailhound_core::pipeline::{PipelineConfig, Ports, run_object_with};
use trailhound_core::ports::{ObjectRef, ObjectSource};
use trailhound_core::text::terminal_safe;

/// Arguments of `scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudTrail files or directories (walked; `.json.gz` and `.json`; digests
    /// skipped), or `s3://bucket/prefix` (every log file under the prefix).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Model file from `trailhound train` (without one, only rules fire).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Output format [default: table when standard output is a terminal, jsonl
    /// otherwise (a pipe or a file)].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Print findings at or above this severity [default: --alert-severity for
    /// the table; every finding (low) for jsonl]. A summary per severity follows.
    #[arg(long, value_parser = parse_severity, value_name = "SEVERITY")]
    pub min_severity: Option<Severity>,
    /// Order of the findings [default: severity for the table, time for jsonl and
    /// with --all]. By severity, findings print once the scan is done.
    #[arg(long, value_enum)]
    pub sort: Option<Sort>,
    /// Print every scored event, including those with no severity (`"severity":
    /// null`), in time order; --min-severity does not apply.
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
    /// Behavioural baselines: per-principal profiles kept in this file (or
    /// DIR/profiles.json), read before scoring and updated after. Off without it.
    #[arg(long, value_name = "PATH")]
    pub profiles: Option<PathBuf>,
    /// Days of history a principal's profile needs before its novelty counts.
    #[arg(long, default_value_t = trailhound_core::baseline::DEFAULT_LEARNING_DAYS, value_name = "DAYS")]
    pub learning_days: u32,
    /// Log source of the inputs. Without it, files holding CloudWatch Logs
    /// subscription events are recognised by content and routed by log group.
    #[arg(long, value_enum)]
    pub source: Option<super::logs::SourceArg>,
    /// Log group to source patterns for subscription events
    /// (`PATTERN=SOURCE[:FORMAT],…`, as `LOG_GROUP_SOURCES` of logs-ingest).
    #[arg(long, value_name = "SPEC", conflicts_with = "source")]
    pub log_sources: Option<String>,
    #[command(flatten)]
    pub read: ReadOpts,
    #[command(flatten)]
    pub hygiene: crate::hygiene::HygieneOpts,
    #[command(flatten)]
    pub rules: super::rules::RulesOpts,
}

impl Args {
    /// The output format: as asked, else a table for a person at a terminal and
    /// JSON lines for a pipe or a file.
    fn format(&self) -> Format {
        use std::io::IsTerminal as _;
        self.format.unwrap_or_else(|| {
            if std::io::stdout().is_terminal() {
                Format::Table
            } else {
                Format::Jsonl
            }
        })
    }

    /// The printer of this scan's options on `out`.
    fn printer<W: std::io::Write>(&self, out: W) -> Printer<W> {
        let min = if self.all {
            None
        } else {
            match (self.min_severity, self.format()) {
                (Some(s), _) => Some(s),
                (None, Format::Table) => Some(self.alert_severity),
                (None, Format::Jsonl) => None,
            }
        };
        let sort = match (self.sort, self.format()) {
            (Some(s), _) => s,
            (None, _) if self.all => Sort::Time,
            (None, Format::Table) => Sort::Severity,
            (None, Format::Jsonl) => Sort::Time,
        };
        Printer::new(out, self.format())
            .min_severity(min)
            .sort(sort)
    }
}

/// Ends the output: the held findings (sorted by severity) and the summary per
/// severity (after the table, or on standard error for JSON lines).
fn finish_output<W: std::io::Write>(printer: &mut Printer<W>, format: Format) -> Result<()> {
    printer.finish()?;
    let line = printer.counts().line();
    match format {
        Format::Table => {
            printer.line("")?;
            printer.line(&line)?;
            printer.flush()?;
        }
        Format::Jsonl => eprintln!("{line}"),
    }
    Ok(())
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.files += o.files;
        self.failed += o.failed;
        self.events += o.events;
        self.skipped += o.skipped;
        self.findings += o.findings;
        self.seconds += o.seconds;
        self.alerts += o.alerts;
        self.suppressed += o.suppressed;
        self.deduplicated += o.deduplicated;
    }
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
    /// Alerts published.
    pub alerts: u64,
    /// Findings at or above the alert severity held back by a suppression entry.
    pub suppressed: u64,
    /// Findings at or above the alert severity held back as repeats in a window.
    pub deduplicated: u64,
}

/// Runs the pipeline over local files, handing the findings to `each` a chunk at a time.
pub fn scan_files(
    files: &[PathBuf],
    model: &FileModelSource,
    store: &JsonlFindingStore,
    alerts: &StderrAlertSink,
    profiles: &Option<LocalProfileStore>,
    cfg: &PipelineConfig,
    each: impl FnMut(&ObjectRef, &[Finding]) -> Result<()>,
) -> Result<Totals> {
    let objects: Vec<ObjectRef> = files
        .iter()
        .map(|p| ObjectRef {
            bucket: String::new(),
            key: p.to_string_lossy().into_owned(),
        })
        .collect();
    scan_objects(
        &objects,
        &LocalObjectSource,
        model,
        store,
        alerts,
        profiles,
        cfg,
        each,
    )
}

/// Runs the pipeline over objects of one source, handing the findings to `each` a
/// chunk at a time (nothing is kept: memory stays bounded whatever the object).
#[expect(
    clippy::too_many_arguments,
    reason = "the ports of one run, each its own local adapter"
)]
pub fn scan_objects<O: ObjectSource>(
    objects: &[ObjectRef],
    source: &O,
    model: &FileModelSource,
    store: &JsonlFindingStore,
    alerts: &StderrAlertSink,
    profiles: &Option<LocalProfileStore>,
    cfg: &PipelineConfig,
    mut each: impl FnMut(&ObjectRef, &[Finding]) -> Result<()>,
) -> Result<Totals> {
    let started = Instant::now();
    let ports = Ports {
        objects: source,
        models: model,
        findings: store,
        alerts,
        profiles,
    };
    let pb = progress(objects.len() as u64, "scanning");
    let mut t = Totals::default();
    block_on(async {
        for object in objects {
            t.files += 1;
            let mut failed_output = None;
            // Findings go out with the bar cleared, so that on a terminal a line
            // of output never lands on the progress line.
            let result = run_object_with(object, &ports, cfg, |chunk| {
                if failed_output.is_none() {
                    failed_output = pb.suspend(|| each(object, chunk)).err();
                }
            })
            .await;
            if let Some(e) = failed_output {
                return Err(e);
            }
            match result {
                Ok(report) => {
                    t.events += report.summary.records - report.summary.skipped;
                    t.skipped += report.summary.skipped;
                    t.findings += report.summary.findings.values().sum::<u64>();
                    t.alerts += report.summary.alerts;
                    t.suppressed += report.summary.suppressed;
                    t.deduplicated += report.summary.deduplicated;
                }
                Err(e) => {
                    t.failed += 1;
                    let msg = crate::files::error_chain(&e);
                    pb.suspend(|| eprintln!("error: {}", terminal_safe(&msg)));
                }
            }
            pb.inc(1);
        }
        anyhow::Ok(())
    })?;
    pb.finish_and_clear();
    store.flush()?;
    if let Some(p) = profiles {
        p.save()?;
    }
    t.seconds = started.elapsed().as_secs_f64();
    Ok(t)
}

/// Runs `scan`.
pub fn run(a: Args) -> Result<ExitCode> {
    let (s3_paths, local_paths): (Vec<PathBuf>, Vec<PathBuf>) = a
        .paths
        .iter()
        .cloned()
        .partition(|p| p.to_string_lossy().starts_with("s3://"));
    if s3_paths.is_empty() && super::logs::wants_logs(&local_paths, a.source) {
        return run_logs(&a, &local_paths);
    }
    let files = if local_paths.is_empty() {
        Vec::new()
    } else {
        cloudtrail_files(&local_paths)?.0
    };
    let s3_objects = if s3_paths.is_empty() {
        None
    } else {
        Some(crate::s3::list_paths(&s3_paths)?)
    };
    let model = FileModelSource::load(a.model.as_deref())?;
    refuse_foreign_model(a.model.as_deref(), &model, Some("cloudtrail"))?;
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
        alert_policy: a.hygiene.policy()?,
        baseline: trailhound_core::baseline::BaselineConfig {
            learning_days: a.learning_days,
            ..Default::default()
        },
        rules: Some(a.rules.load()),
    };
    let profiles = a
        .profiles
        .as_deref()
        .map(LocalProfileStore::open)
        .transpose()?;
    let stdout = std::io::stdout().lock();
    let mut printer = a.printer(std::io::BufWriter::new(stdout));
    let mut print = |_: &ObjectRef, findings: &[Finding]| {
        for f in findings {
            printer.print(f)?;
        }
        // Out before the progress bar is drawn again.
        printer.flush()?;
        Ok(())
    };
    let mut t = scan_files(&files, &model, &store, &alerts, &profiles, &cfg, &mut print)?;
    if let Some((client, objects)) = &s3_objects {
        let source =
            trailhound_aws::S3ObjectSource::new(client.clone(), cfg.limits.max_decompressed_bytes);
        let t2 = scan_objects(
            objects, &source, &model, &store, &alerts, &profiles, &cfg, &mut print,
        )?;
        t.add(&t2);
    }
    finish_output(&mut printer, a.format())?;
    eprintln!(
        "scanned {} files, {} events ({} malformed records skipped), {} findings, {} alerts ({} suppressed, {} deduplicated), {} files failed, in {:.2}s",
        t.files,
        t.events,
        t.skipped,
        t.findings,
        t.alerts,
        t.suppressed,
        t.deduplicated,
        t.failed,
        t.seconds
    );
    Ok(if t.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Refuses a model trained for another source than the one this scan reads
/// (`reads`; `None` when subscription files are routed by log group, so any
/// source may be read): the scorer would otherwise ignore it without a word.
fn refuse_foreign_model(
    path: Option<&std::path::Path>,
    model: &FileModelSource,
    reads: Option<&str>,
) -> Result<()> {
    if let (Some(path), Some(m), Some(reads)) = (path, model.model(), reads)
        && m.source != reads
    {
        anyhow::bail!(
            "{} is a {} model; this scan reads {reads} (train one with `trailhound train --source {}`)",
            path.display(),
            m.source,
            reads.replace('_', "-")
        );
    }
    Ok(())
}

/// `scan` over CloudWatch Logs subscription files.
fn run_logs(a: &Args, paths: &[PathBuf]) -> Result<ExitCode> {
    use super::logs::{scan_logs, subscription_files};
    let files = subscription_files(paths)?;
    let sources = match (&a.log_sources, a.source) {
        (Some(spec), _) => spec.parse()?,
        (None, Some(s)) => s.source_map(),
        (None, None) => trailhound_core::sources::cwl::SourceMap::default(),
    };
    let model = FileModelSource::load(a.model.as_deref())?;
    let reads = a.source.map(|s| match s {
        super::logs::SourceArg::Cloudtrail => "cloudtrail",
        super::logs::SourceArg::Vpcflow => "vpcflow",
        super::logs::SourceArg::AccessLog => "access_log",
    });
    refuse_foreign_model(a.model.as_deref(), &model, reads)?;
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
        alert_policy: a.hygiene.policy()?,
        rules: Some(a.rules.load()),
        ..PipelineConfig::default()
    };
    let started = Instant::now();
    let stdout = std::io::stdout().lock();
    let mut printer = a.printer(std::io::BufWriter::new(stdout));
    let t = scan_logs(
        &files,
        &model,
        &store,
        &alerts,
        &cfg,
        &sources,
        |_, findings| {
            for f in findings {
                printer.print(f)?;
            }
            Ok(())
        },
    )?;
    finish_output(&mut printer, a.format())?;
    eprintln!(
        "scanned {} files, {} payloads, {} log events ({} scored, {} skipped, {} NODATA/SKIPDATA records), {} findings, {} files failed, in {:.2}s",
        t.files,
        t.payloads,
        t.events + t.skipped + t.no_data,
        t.events,
        t.skipped,
        t.no_data,
        t.findings,
        t.failed,
        started.elapsed().as_secs_f64()
    );
    Ok(if t.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
