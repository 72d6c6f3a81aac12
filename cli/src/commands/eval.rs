//! `trailhound eval`: detection quality against labels.

use super::scan::scan_files;
use crate::files::cloudtrail_files;
use crate::hygiene::AlertVolume;
use crate::local::{FileModelSource, JsonlFindingStore, StderrAlertSink};
use crate::profiles::LocalProfileStore;
use crate::{ReadOpts, parse_severity};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trailhound_core::Severity;
use trailhound_core::decode::Limits;
use trailhound_core::eval::{Labelled, Metrics};
use trailhound_core::pipeline::PipelineConfig;

/// Arguments of `eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CloudTrail files or directories, or subscription event files (`.jsonl`;
    /// labels are then per CloudWatch Logs event id).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// `labels.csv` (`event_id,label,scenario`) as `trailhound simulate` writes it.
    #[arg(long)]
    pub labels: PathBuf,
    /// Model file (without one, only rules fire).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// An event counts as flagged at or above this severity.
    #[arg(long, default_value = "medium", value_parser = parse_severity)]
    pub min_severity: Severity,
    /// Print the metrics as one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Log source of the inputs (subscription event files are otherwise recognised
    /// by content and their log groups sniffed).
    #[arg(long, value_enum)]
    pub source: Option<super::logs::SourceArg>,
    /// Behavioural baselines: start from the profiles in this file (or
    /// DIR/profiles.json); the file is not changed.
    #[arg(long, value_name = "PATH")]
    pub profiles: Option<PathBuf>,
    /// Behavioural baselines: learn profiles from these CloudTrail files or
    /// directories first (e.g. the training data), in a temporary store.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub baseline_from: Vec<PathBuf>,
    /// Days of history a principal's profile needs before its novelty counts.
    #[arg(long, default_value_t = trailhound_core::baseline::DEFAULT_LEARNING_DAYS, value_name = "DAYS")]
    pub learning_days: u32,
    #[command(flatten)]
    pub read: ReadOpts,
    #[command(flatten)]
    pub hygiene: crate::hygiene::HygieneOpts,
    #[command(flatten)]
    pub rules: super::rules::RulesOpts,
}

/// Ground truth of one event.
pub use trailhound_core::eval::Truth;

/// Reads `labels.csv` (parsed by the core's [`trailhound_core::eval::parse_labels`],
/// which the `labels_csv` fuzz target covers).
pub fn read_labels(path: &Path) -> Result<HashMap<String, Truth>> {
    let f = std::fs::File::open(path)
        .with_context(|| format!("cannot read labels {}", path.display()))?;
    trailhound_core::eval::parse_labels(BufReader::new(f))
        .with_context(|| format!("bad labels file {}", path.display()))
}

/// Scans and evaluates (shared with `demo`); also returns the top findings and the
/// alert volume after deduplication and suppression (`policy`).
#[expect(
    clippy::too_many_arguments,
    reason = "the inputs of one evaluation, each used once; a struct would only move them"
)]
pub fn evaluate(
    files: &[PathBuf],
    labels: &HashMap<String, Truth>,
    model: &FileModelSource,
    min_severity: Severity,
    limits: Limits,
    sources: &trailhound_core::sources::cwl::SourceMap,
    profiles: &Option<LocalProfileStore>,
    policy: trailhound_core::pipeline::AlertPolicy,
    rules: std::sync::Arc<trailhound_core::rules::sigma::RuleSet>,
) -> Result<(Metrics, Vec<trailhound_core::Finding>, AlertVolume)> {
    let cfg = PipelineConfig {
        limits,
        min_alert_severity: min_severity,
        keep_all: true,
        alert_policy: policy,
        baseline: profiles
            .as_ref()
            .map_or_else(Default::default, LocalProfileStore::config),
        rules: Some(rules),
    };
    let store = JsonlFindingStore::memory();
    let alerts = StderrAlertSink { enabled: false };
    let mut items: Vec<Labelled> = Vec::new();
    // One item per event: a threshold finding names the event that completed it,
    // which also has its own line; counted twice, the metrics would report more
    // events than were read (and than `scan` says it scored).
    let mut item_of: HashMap<String, usize> = HashMap::new();
    let mut top: Vec<trailhound_core::Finding> = Vec::new();
    let mut unlabelled = 0u64;
    let mut volume = AlertVolume::default();
    let (subs, trails): (Vec<PathBuf>, Vec<PathBuf>) = files
        .iter()
        .cloned()
        .partition(|p| super::logs::is_subscription_file(p));
    let mut on_findings = |_: &trailhound_core::ports::ObjectRef,
                           findings: &[trailhound_core::Finding]|
     -> Result<()> {
        for f in findings {
            let truth = labels.get(&f.event_id);
            let flagged = f.severity.is_some_and(|s| s >= min_severity);
            volume.add(
                f,
                flagged,
                truth.is_some_and(|t| t.attack),
                truth.map_or("", |t| t.scenario.as_str()),
            );
            let rank = f.severity_score + f.score;
            match item_of.get(&f.event_id) {
                Some(&i) => {
                    if let Some(item) = items.get_mut(i) {
                        item.rank = item.rank.max(rank);
                        item.flagged |= flagged;
                    }
                }
                None => {
                    if truth.is_none() {
                        unlabelled += 1;
                    }
                    item_of.insert(f.event_id.clone(), items.len());
                    items.push(Labelled {
                        rank,
                        flagged,
                        attack: truth.is_some_and(|t| t.attack),
                        scenario: truth.map(|t| t.scenario.clone()).unwrap_or_default(),
                    });
                }
            }
            if flagged {
                top.push(f.clone());
            }
        }
        Ok(())
    };
    if !trails.is_empty() {
        scan_files(
            &trails,
            model,
            &store,
            &alerts,
            profiles,
            &cfg,
            &mut on_findings,
        )?;
    }
    if !subs.is_empty() {
        let t = super::logs::scan_logs(
            &subs,
            model,
            &store,
            &alerts,
            &cfg,
            sources,
            &mut on_findings,
        )?;
        if t.no_data > 0 {
            eprintln!(
                "note: {} NODATA/SKIPDATA flow log records carry no traffic and are not scored (nor counted below)",
                t.no_data
            );
        }
    }
    // With one line per log event, a window's finding appears once per event: the
    // list of top findings keeps each finding once.
    let mut seen = std::collections::HashSet::new();
    top.retain(|f| seen.insert(f.finding_id.clone()));
    if unlabelled > 0 {
        eprintln!("note: {unlabelled} events have no label and count as normal");
    }
    top.sort_by(|a, b| {
        b.severity_score
            .total_cmp(&a.severity_score)
            .then(b.score.total_cmp(&a.score))
    });
    volume.finish();
    Ok((Metrics::compute(&items), top, volume))
}

/// Prints metrics as tables.
pub fn print_metrics(
    out: &mut dyn Write,
    m: &Metrics,
    min_severity: Severity,
) -> std::io::Result<()> {
    let normal = m.fp + m.tn;
    writeln!(
        out,
        "Detection quality (flagged = severity >= {min_severity})"
    )?;
    writeln!(
        out,
        "  events      {:>10}   attack {:>8}   normal {:>10}",
        m.tp + m.fp + m.fn_ + m.tn,
        m.tp + m.fn_,
        normal
    )?;
    writeln!(out, "  precision   {:>10.4}", m.precision)?;
    writeln!(out, "  recall      {:>10.4}", m.recall)?;
    writeln!(out, "  F1          {:>10.4}", m.f1)?;
    writeln!(out, "  ROC-AUC     {:>10.4}", m.roc_auc)?;
    writeln!(
        out,
        "  false alerts per 1,000 normal events {:>8.3}",
        m.false_alerts_per_1000
    )?;
    writeln!(out)?;
    writeln!(out, "Confusion matrix        flagged   not flagged")?;
    writeln!(out, "  attack            {:>10}  {:>12}", m.tp, m.fn_)?;
    writeln!(out, "  normal            {:>10}  {:>12}", m.fp, m.tn)?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<30} {:>8} {:>8} {:>8}  detected",
        "scenario", "events", "flagged", "recall"
    )?;
    for (name, s) in &m.scenarios {
        let recall = s.flagged as f64 / s.events.max(1) as f64;
        let verdict = match (s.attack, s.flagged > 0) {
            (true, true) => "yes",
            (true, false) => "MISSED",
            (false, true) => "false alert (hard negative)",
            (false, false) => "quiet (hard negative)",
        };
        // Scenario names come from the labels file.
        let name = trailhound_core::text::terminal_safe(name);
        writeln!(
            out,
            "{name:<30} {:>8} {:>8} {:>8.3}  {verdict}",
            s.events, s.flagged, recall
        )?;
    }
    Ok(())
}

/// The profile store of an evaluation: none, a read-only copy of `path`, and/or a
/// temporary one warmed up on `learn_from` (shared with `demo`).
pub fn baselines(
    path: Option<&Path>,
    learn_from: &[PathBuf],
    learning_days: u32,
    limits: &Limits,
) -> Result<Option<LocalProfileStore>> {
    if path.is_none() && learn_from.is_empty() {
        return Ok(None);
    }
    let store = match path {
        Some(p) => LocalProfileStore::open(p)?.read_only(),
        None => LocalProfileStore::temporary(),
    }
    .with_config(trailhound_core::baseline::BaselineConfig {
        learning_days,
        ..Default::default()
    });
    if !learn_from.is_empty() {
        let (files, _) = cloudtrail_files(learn_from)?;
        let w = store.warm_up(&files, limits);
        eprintln!(
            "learned {} principal profiles from {} events in {} files ({} of them successful calls by a principal; {} files unreadable)",
            store.len(),
            w.read,
            files.len(),
            w.learned,
            w.failed
        );
    }
    Ok(Some(store))
}

/// Runs `eval`.
pub fn run(a: Args) -> Result<ExitCode> {
    let logs = super::logs::wants_logs(&a.paths, a.source);
    let files = if logs {
        super::logs::subscription_files(&a.paths)?
    } else {
        cloudtrail_files(&a.paths)?.0
    };
    let sources = a
        .source
        .map(super::logs::SourceArg::source_map)
        .unwrap_or_default();
    let labels = read_labels(&a.labels)?;
    let model = FileModelSource::load(a.model.as_deref())?;
    let limits = Limits {
        max_decompressed_bytes: a.read.max_decompressed_bytes,
        ..Limits::default()
    };
    let profiles = baselines(
        a.profiles.as_deref(),
        &a.baseline_from,
        a.learning_days,
        &limits,
    )?;
    let (m, _, volume) = evaluate(
        &files,
        &labels,
        &model,
        a.min_severity,
        limits,
        &sources,
        &profiles,
        a.hygiene.policy()?,
        a.rules.load(),
    )?;
    // A reader that goes away (`eval … | head`) ends the run quietly (see main).
    let mut out = std::io::stdout().lock();
    if a.json {
        let mut json = serde_json::to_value(&m)?;
        if let Some(o) = json.as_object_mut() {
            o.insert("alert_volume".to_owned(), serde_json::to_value(&volume)?);
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
    } else {
        print_metrics(&mut out, &m, a.min_severity)?;
        volume.print(&mut out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
