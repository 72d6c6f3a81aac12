//! `trailhound simulate`.

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::ExitCode;
use trailhound_simulate::cloudtrail::Scenario;
use trailhound_simulate::cloudtrail::{SimConfig, write_dir};
use trailhound_simulate::net::{self, NetScenario, NetSimConfig, NetSource};

/// Which logs to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// CloudTrail log files laid out as in S3.
    Cloudtrail,
    /// VPC Flow Logs as CloudWatch Logs subscription events.
    Vpcflow,
    /// nginx and Express access logs as CloudWatch Logs subscription events.
    #[value(name = "access-log", alias = "access_log")]
    AccessLog,
}

/// Arguments of `simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Which logs: CloudTrail files, or subscription payloads of flow or access logs.
    #[arg(long, value_enum, default_value = "cloudtrail")]
    pub source: Source,
    /// Days of activity [default: 7 for cloudtrail, 1 for vpcflow and access-log].
    #[arg(long)]
    pub days: Option<u32>,
    /// Random seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Normal events per day [default: 20000 for cloudtrail, 100000 log lines for
    /// vpcflow and access-log].
    #[arg(long)]
    pub events_per_day: Option<u32>,
    /// Only normal activity and hard negatives: no attack scenarios (for training data).
    #[arg(long)]
    pub no_attacks: bool,
    /// Only these scenarios (comma-separated names; see docs/simulator.md).
    #[arg(long, value_delimiter = ',', conflicts_with = "no_attacks")]
    pub scenarios: Option<Vec<String>>,
    /// Do not write CloudTrail-Digest files (cloudtrail only).
    #[arg(long)]
    pub no_digest: bool,
}

/// Builds the CloudTrail simulator configuration from the arguments.
pub fn config(a: &Args) -> Result<SimConfig> {
    let mut cfg = SimConfig {
        seed: a.seed,
        days: a.days.unwrap_or(7),
        events_per_day: a.events_per_day.unwrap_or(20_000),
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

/// Builds the flow or access log simulator configuration from the arguments.
pub fn net_config(a: &Args, source: NetSource) -> Result<NetSimConfig> {
    if a.no_digest {
        bail!("--no-digest applies to --source cloudtrail only");
    }
    let mut cfg = NetSimConfig::new(source);
    cfg.seed = a.seed;
    cfg.days = a.days.unwrap_or(1);
    cfg.events_per_day = a.events_per_day.unwrap_or(source.default_events_per_day());
    if a.no_attacks {
        cfg.scenarios = NetScenario::all_benign(source);
    } else if let Some(names) = &a.scenarios {
        cfg.scenarios = Vec::new();
        for n in names {
            let s = n.parse::<NetScenario>().context("unknown scenario")?;
            if s.source() != source {
                bail!("scenario {s} is a {} scenario, not {source}", s.source());
            }
            cfg.scenarios.push(s);
        }
    }
    Ok(cfg)
}

/// Runs `simulate`.
pub fn run(a: Args) -> Result<ExitCode> {
    match a.source {
        Source::Cloudtrail => run_cloudtrail(a),
        Source::Vpcflow => run_net(a, NetSource::VpcFlow),
        Source::AccessLog => run_net(a, NetSource::AccessLog),
    }
}

fn run_cloudtrail(a: Args) -> Result<ExitCode> {
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

fn run_net(a: Args, source: NetSource) -> Result<ExitCode> {
    let cfg = net_config(&a, source)?;
    eprintln!(
        "simulating {source}: {} days x {} lines/day (seed {}) into {}",
        cfg.days,
        cfg.events_per_day,
        cfg.seed,
        a.out.display()
    );
    let started = std::time::Instant::now();
    let summary = net::write_dir(&cfg, &a.out)
        .with_context(|| format!("cannot write {}", a.out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} subscription events ({} control messages, {:.1} MB; {:.1} MB decoded) \
         holding {} log events ({} attack events) to {}, and {} ({:.2} s, {:.0} lines/s)",
        summary.payloads,
        summary.control_messages,
        summary.bytes as f64 / 1e6,
        summary.decoded_bytes as f64 / 1e6,
        summary.events,
        summary.attack_events,
        a.out.join("events.jsonl").display(),
        a.out.join("labels.csv").display(),
        secs,
        summary.events as f64 / secs.max(1e-9)
    );
    for (name, n) in &summary.scenarios {
        eprintln!("  {name:<28} {n:>6} events");
    }
    Ok(ExitCode::SUCCESS)
}
