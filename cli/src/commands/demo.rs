//! `trailhound demo`: simulate → train → scan → eval in a temporary directory.

use super::eval::{baselines, evaluate, print_metrics, read_labels};
use super::logs::SourceArg;
use super::train::train_files;
use crate::files::cloudtrail_files;
use crate::local::FileModelSource;
use crate::output::short_principal;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use trailhound_core::Finding;
use trailhound_core::Severity;
use trailhound_core::decode::Limits;
use trailhound_core::models::iforest::IsolationForestParams;
use trailhound_core::text::terminal_safe;
use trailhound_simulate::cloudtrail::Scenario;
use trailhound_simulate::cloudtrail::{SimConfig, write_dir};

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
        "1/4 simulating a clean week to learn from ({} day{})...",
        a.days,
        if a.days == 1 { "" } else { "s" }
    );
    let s1 = write_dir(&train_cfg, &train_dir).context("simulate training week")?;
    eprintln!(
        "    {} events in {} objects (log files and their digests)",
        s1.events, s1.objects
    );
    eprintln!("2/4 simulating the week to scan, with attacks and hard negatives...");
    let s2 = write_dir(&scan_cfg, &scan_dir).context("simulate scanned week")?;
    eprintln!(
        "    {} events ({} attack events; {})",
        s2.events,
        s2.attack_events,
        scenario_counts(&s2.scenarios)
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

    // A reader that goes away (`demo | head`) ends the run quietly (see main).
    let mut out = std::io::stdout().lock();
    print_top(&mut out, &top, a.top, Severity::Medium)?;
    writeln!(out)?;
    print_metrics(&mut out, &metrics, Severity::Medium)?;
    volume.print(&mut out)?;
    writeln!(out)?;
    writeln!(out, "done in {:.1}s", started.elapsed().as_secs_f64())?;
    if let Some(dir) = &a.keep {
        writeln!(
            out,
            "files kept in {} (model.bin, train/, scan/labels.csv)",
            terminal_safe(&dir.display().to_string())
        )?;
    }
    print_next_steps(&mut out, SourceArg::Cloudtrail)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// "15 attack scenarios and 4 hard negatives": hard negatives (names starting
/// `benign-`) are benign look-alikes, not attacks.
pub fn scenario_counts(scenarios: &[(String, usize)]) -> String {
    let benign = scenarios
        .iter()
        .filter(|(name, _)| name.starts_with("benign-"))
        .count();
    let attacks = scenarios.len() - benign;
    format!(
        "{attacks} attack scenario{} and {benign} hard negative{}",
        if attacks == 1 { "" } else { "s" },
        if benign == 1 { "" } else { "s" }
    )
}

/// The top findings with their reasons. Every field shown comes from log events
/// (attacker-influenced): shown terminal-safe.
pub fn print_top(
    out: &mut dyn Write,
    top: &[Finding],
    n: usize,
    min: Severity,
) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "Top findings (showing {} of {} at {min} or above)",
        n.min(top.len()),
        top.len()
    )?;
    for f in top.iter().take(n) {
        writeln!(
            out,
            "  [{:<8}] {:>4.1}  {}  {} by {}",
            f.severity.map_or("-", |s| s.as_upper()),
            f.severity_score,
            terminal_safe(&f.time),
            terminal_safe(&f.action),
            terminal_safe(short_principal(&f.principal))
        )?;
        for r in f.reasons.iter().take(4) {
            writeln!(out, "             - {}", terminal_safe(r))?;
        }
    }
    Ok(())
}

/// What to try after a demo of `shown`: the other sources, your own trail, deploying.
pub fn print_next_steps(out: &mut dyn Write, shown: SourceArg) -> std::io::Result<()> {
    let others: Vec<&str> = [
        (SourceArg::Cloudtrail, "trailhound demo"),
        (SourceArg::Vpcflow, "trailhound demo --source vpcflow"),
        (SourceArg::AccessLog, "trailhound demo --source access-log"),
    ]
    .iter()
    .filter(|(s, _)| *s != shown)
    .map(|(_, c)| *c)
    .collect();
    writeln!(out)?;
    writeln!(out, "Next steps")?;
    writeln!(out, "  other sources   {}", others.join("   ·   "))?;
    writeln!(
        out,
        "  your own trail  trailhound train s3://BUCKET/AWSLogs/ --out model.bin"
    )?;
    writeln!(
        out,
        "                  trailhound scan s3://BUCKET/AWSLogs/ --model model.bin --format table"
    )?;
    writeln!(
        out,
        "                  (or local copies: trailhound scan PATH; docs/cli.md has every flag)"
    )?;
    writeln!(
        out,
        "  deploy          docs/deploy.md: the Lambdas, alerts by e-mail or Slack, `trailhound model push`"
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_negatives_are_not_counted_as_attack_scenarios() {
        let s = |n: &str| (n.to_owned(), 3usize);
        let list = [
            s("recon-burst"),
            s("benign-new-admin"),
            s("root-usage"),
            s("benign-terraform-apply"),
        ];
        assert_eq!(
            scenario_counts(&list),
            "2 attack scenarios and 2 hard negatives"
        );
        assert_eq!(
            scenario_counts(&[s("root-usage"), s("benign-x")]),
            "1 attack scenario and 1 hard negative"
        );
    }

    #[test]
    fn next_steps_name_the_other_sources_and_never_the_one_shown() {
        let mut out = Vec::new();
        print_next_steps(&mut out, SourceArg::Vpcflow).unwrap_or_default();
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("trailhound demo --source access-log"),
            "{text}"
        );
        assert!(text.contains("trailhound demo   "), "{text}");
        assert!(!text.contains("--source vpcflow"), "{text}");
        assert!(text.contains("docs/deploy.md"), "{text}");
        assert!(!text.to_lowercase().contains("console"), "{text}");
    }

    #[test]
    fn top_findings_show_log_fields_as_inert_text() {
        let f: Finding = serde_json::from_value(serde_json::json!({
            "finding_id": "f", "event_id": "e", "source": "cloudtrail",
            "time": "2024-03-04T10:15:30Z", "account": "1", "region": "r",
            "principal": "arn:aws:iam::1:user/\u{1b}]0;owned\u{7}",
            "action": "iam:CreateUser\u{202e}", "score": 0.5, "severity": "high",
            "severity_score": 8.0, "detections": [],
            "reasons": ["made by \u{1b}[2Jx"], "model_version": "m"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        print_top(&mut out, &[f], 5, Severity::Medium).unwrap_or_default();
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains(['\u{1b}', '\u{7}', '\u{202e}']), "{text}");
        assert!(text.contains("\\x1b]0;owned"), "{text}");
    }
}
