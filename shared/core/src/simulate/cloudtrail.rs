//! Deterministic CloudTrail for one AWS account, laid out as CloudTrail writes it to
//! S3 (log files per region and 5-minute window, hourly digests), with injected
//! attack scenarios and hard negatives, and a label for every record.
//!
//! The same [`SimConfig`] always gives byte-identical objects and labels: every part
//! draws from its own seeded stream, and output is produced one UTC day at a time,
//! so memory stays bounded by one day of records.

use super::layout::{Digests, FileInfo, log_file, window};
use super::record::Event;
use super::scenarios;
use super::timefmt::DAY;
use super::world::World;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

pub use super::scenario::{Scenario, UnknownScenario};

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Number of UTC days simulated from `start`.
    pub days: u32,
    /// First second of the span (epoch seconds, a multiple of 300); default Monday
    /// 2024-03-04T00:00:00Z.
    pub start: i64,
    /// The 12-digit account id.
    pub account: String,
    /// Regions in use, busiest first (us-east-1 is always added: global services log there).
    pub regions: Vec<String>,
    /// Normal (unlabelled) records per day, averaged over a week: weekdays carry more
    /// and weekends less, as people and CI rest.
    pub events_per_day: u32,
    /// Scenario instances to inject; a scenario listed twice happens twice.
    pub scenarios: Vec<Scenario>,
    /// Also write the hourly `CloudTrail-Digest` files.
    pub digests: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            days: 7,
            start: 1_709_510_400,
            account: "123456789012".to_owned(),
            regions: [
                "us-east-1",
                "eu-west-1",
                "us-west-2",
                "eu-central-1",
                "ap-southeast-2",
            ]
            .map(String::from)
            .to_vec(),
            events_per_day: 20_000,
            scenarios: Scenario::all(),
            digests: true,
        }
    }
}

/// One S3 object: key relative to the bucket root and its gzipped body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimObject {
    /// `AWSLogs/<acct>/CloudTrail/…` or `AWSLogs/<acct>/CloudTrail-Digest/…`.
    pub key: String,
    /// Gzip of the JSON document.
    pub body: Vec<u8>,
}

/// The ground truth of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The record's `eventID`.
    pub event_id: String,
    /// 1 for attack records, 0 for normal traffic and hard negatives.
    pub label: u8,
    /// Scenario name; empty for plain normal traffic, `benign-…` for hard negatives.
    pub scenario: String,
}

/// Counts of what a run produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimSummary {
    /// Objects emitted (log files and digests).
    pub objects: usize,
    /// Records in all log files.
    pub events: usize,
    /// Records labelled 1.
    pub attack_events: usize,
    /// Records per scenario name, in configuration order.
    pub scenarios: Vec<(String, usize)>,
}

/// Why a run could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration cannot describe a CloudTrail span.
    #[error("invalid simulation config: {0}")]
    Config(String),
    /// A record or digest could not be serialised.
    #[error("encoding a record failed")]
    Encode(#[source] serde_json::Error),
    /// A body could not be compressed.
    #[error("compressing an object failed")]
    Compress(#[source] std::io::Error),
}

impl From<SimError> for std::io::Error {
    fn from(e: SimError) -> Self {
        match e {
            SimError::Config(_) => std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            other => std::io::Error::other(other),
        }
    }
}

fn validate(cfg: &SimConfig) -> Result<(), SimError> {
    if cfg.days == 0 {
        return Err(SimError::Config("days must be at least 1".into()));
    }
    if cfg.account.len() != 12 || !cfg.account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SimError::Config(format!(
            "account {:?} is not a 12-digit id",
            cfg.account
        )));
    }
    if cfg.start.rem_euclid(super::layout::WINDOW) != 0 {
        return Err(SimError::Config(format!(
            "start {} is not on a 5-minute boundary",
            cfg.start
        )));
    }
    Ok(())
}

/// Generates everything, handing each object to `emit` as soon as it is complete
/// (log files in delivery order, then the day's digests) and each record's label to
/// `label`. Errors of either callback stop the run and are returned as they are.
pub fn generate<E: From<SimError>>(
    cfg: &SimConfig,
    mut emit: impl FnMut(SimObject) -> Result<(), E>,
    mut label: impl FnMut(Label) -> Result<(), E>,
) -> Result<SimSummary, E> {
    validate(cfg)?;
    let world = World::new(cfg.seed, &cfg.account, &cfg.regions);
    let span = (cfg.start, cfg.start + i64::from(cfg.days) * DAY);
    let mut injected = Vec::new();
    let mut instances: BTreeMap<Scenario, usize> = BTreeMap::new();
    for s in &cfg.scenarios {
        let n = instances.entry(*s).or_insert(0);
        injected.extend(scenarios::render(&world, *s, *n, span).map_err(SimError::Encode)?);
        *n += 1;
    }
    injected.sort_by_key(|e| e.t);
    let mut digests = Digests::new(
        cfg.seed,
        &cfg.account,
        &world.res.trail_bucket,
        &world.res.trail_key_fingerprint,
    );
    let mut summary = SimSummary::default();
    let mut per_scenario: BTreeMap<&'static str, usize> = BTreeMap::new();
    for d in 0..i64::from(cfg.days) {
        let day_start = span.0 + d * DAY;
        let mut events = super::normal::day_events(&world, cfg.events_per_day, day_start, span)
            .map_err(SimError::Encode)?;
        let lo = injected.partition_point(|e| e.t < day_start);
        let hi = injected.partition_point(|e| e.t < day_start + DAY);
        events.extend(injected[lo..hi].iter().cloned());
        let mut keyed: Vec<(i64, &str, i64, u64, &Event)> = events
            .iter()
            .map(|e| (window(e, day_start), e.region.as_str(), e.t, e.order, e))
            .collect();
        keyed.sort_unstable_by(|a, b| {
            (a.0, a.1, a.2, a.3, &a.4.event_id).cmp(&(b.0, b.1, b.2, b.3, &b.4.event_id))
        });
        let mut files: Vec<FileInfo> = Vec::new();
        for group in keyed.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1) {
            let (w, region) = (group[0].0, group[0].1);
            let records: Vec<&Event> = group.iter().map(|k| k.4).collect();
            let delivered = day_start + (w + 1) * super::layout::WINDOW;
            let (object, info) = log_file(cfg.seed, &cfg.account, region, delivered, &records)
                .map_err(SimError::Compress)?;
            emit(object)?;
            summary.objects += 1;
            files.push(info);
            for e in records {
                summary.events += 1;
                if e.label == 1 {
                    summary.attack_events += 1;
                }
                if !e.scenario.is_empty() {
                    *per_scenario.entry(e.scenario).or_insert(0) += 1;
                }
                label(Label {
                    event_id: e.event_id.clone(),
                    label: e.label,
                    scenario: e.scenario.to_owned(),
                })?;
            }
        }
        if cfg.digests {
            for object in digests
                .day(day_start, &world.regions, &files)
                .map_err(SimError::Compress)?
            {
                emit(object)?;
                summary.objects += 1;
            }
        }
    }
    let mut seen = BTreeSet::new();
    for s in &cfg.scenarios {
        if seen.insert(s.name()) {
            summary.scenarios.push((
                s.name().to_owned(),
                per_scenario.get(s.name()).copied().unwrap_or(0),
            ));
        }
    }
    Ok(summary)
}

/// Writes every object under `dir` (keys become paths) and `dir/labels.csv`
/// (`event_id,label,scenario`, one row per record).
pub fn write_dir(cfg: &SimConfig, dir: &Path) -> std::io::Result<SimSummary> {
    std::fs::create_dir_all(dir)?;
    let mut labels = std::io::BufWriter::new(std::fs::File::create(dir.join("labels.csv"))?);
    labels.write_all(b"event_id,label,scenario\n")?;
    let mut made: BTreeSet<std::path::PathBuf> = BTreeSet::new();
    let summary = generate(
        cfg,
        |obj: SimObject| -> std::io::Result<()> {
            let path = dir.join(&obj.key);
            if let Some(parent) = path.parent()
                && !made.contains(parent)
            {
                std::fs::create_dir_all(parent)?;
                made.insert(parent.to_path_buf());
            }
            std::fs::write(path, obj.body)
        },
        |l: Label| -> std::io::Result<()> {
            writeln!(labels, "{},{},{}", l.event_id, l.label, l.scenario)
        },
    )?;
    labels.flush()?;
    Ok(summary)
}
