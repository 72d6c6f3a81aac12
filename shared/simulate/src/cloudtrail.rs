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
        world.org,
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

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use serde_json::Value;
    use std::collections::BTreeSet;
    use std::io::Read;

    type Run = (Vec<SimObject>, Vec<Label>, SimSummary);

    fn small(seed: u64, days: u32, events_per_day: u32) -> SimConfig {
        SimConfig {
            seed,
            days,
            events_per_day,
            ..SimConfig::default()
        }
    }

    fn run(cfg: &SimConfig) -> Result<Run, SimError> {
        let mut objects = Vec::new();
        let mut labels = Vec::new();
        let summary = generate(
            cfg,
            |o| -> Result<(), SimError> {
                objects.push(o);
                Ok(())
            },
            |l| -> Result<(), SimError> {
                labels.push(l);
                Ok(())
            },
        )?;
        Ok((objects, labels, summary))
    }

    fn gunzip(body: &[u8]) -> Result<Value, Box<dyn std::error::Error>> {
        let mut s = String::new();
        GzDecoder::new(body).read_to_string(&mut s)?;
        Ok(serde_json::from_str(&s)?)
    }

    fn records(objects: &[SimObject]) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
        let mut out = Vec::new();
        for o in objects.iter().filter(|o| o.key.contains("/CloudTrail/")) {
            let doc = gunzip(&o.body)?;
            let recs = doc
                .get("Records")
                .and_then(Value::as_array)
                .ok_or("no Records array")?;
            out.extend(recs.iter().cloned());
        }
        Ok(out)
    }

    #[test]
    fn same_seed_gives_identical_bytes_and_another_seed_does_not() -> Result<(), SimError> {
        let a = run(&small(7, 1, 400))?;
        let b = run(&small(7, 1, 400))?;
        assert_eq!(a.0, b.0);
        assert_eq!(a.1, b.1);
        assert_eq!(a.2, b.2);
        let c = run(&small(8, 1, 400))?;
        assert_ne!(a.0, c.0);
        Ok(())
    }

    #[test]
    fn a_day_comes_out_the_same_whatever_the_span() -> Result<(), SimError> {
        let one = SimConfig {
            scenarios: Vec::new(),
            ..small(4, 1, 300)
        };
        let two = SimConfig {
            days: 2,
            ..one.clone()
        };
        let (a, la, _) = run(&one)?;
        let (b, lb, _) = run(&two)?;
        assert_eq!(a[..], b[..a.len()]);
        assert_eq!(la[..], lb[..la.len()]);
        Ok(())
    }

    #[test]
    fn keys_follow_the_cloudtrail_layout() -> Result<(), Box<dyn std::error::Error>> {
        let (objects, _, summary) = run(&small(3, 2, 300))?;
        assert_eq!(objects.len(), summary.objects);
        let (mut logs, mut digests) = (0, 0);
        for o in &objects {
            let parts: Vec<&str> = o.key.split('/').collect();
            assert_eq!(parts.len(), 8, "{}", o.key);
            assert_eq!(&parts[..2], &["AWSLogs", "123456789012"], "{}", o.key);
            let (kind, region, date, file) = (parts[2], parts[3], parts[4..7].join(""), parts[7]);
            let rest = file
                .strip_prefix(&format!("123456789012_{kind}_{region}_"))
                .ok_or_else(|| format!("bad file name prefix: {}", o.key))?;
            assert!(
                rest.starts_with(&date),
                "file date matches its folder: {}",
                o.key
            );
            assert!(rest.ends_with(".json.gz"), "{}", o.key);
            let stamp = rest.trim_end_matches(".json.gz");
            match kind {
                "CloudTrail" => {
                    logs += 1;
                    let (ts, suffix) = stamp
                        .split_once('_')
                        .ok_or_else(|| format!("no suffix: {}", o.key))?;
                    assert_eq!(ts.len(), "20240304T1015Z".len(), "{}", o.key);
                    assert_eq!(suffix.len(), 16, "{}", o.key);
                    assert!(
                        suffix.bytes().all(|b| b.is_ascii_alphanumeric()),
                        "{}",
                        o.key
                    );
                }
                "CloudTrail-Digest" => {
                    digests += 1;
                    assert_eq!(stamp.len(), "20240304T101530Z".len(), "{}", o.key);
                }
                other => return Err(format!("unexpected kind {other} in {}", o.key).into()),
            }
        }
        assert!(logs > 0);
        // 24 digests per region per day, for the five default regions.
        assert_eq!(digests, 2 * 24 * 5);
        Ok(())
    }

    #[test]
    fn bodies_are_record_documents_with_the_core_fields() -> Result<(), Box<dyn std::error::Error>>
    {
        let (objects, labels, summary) = run(&small(5, 1, 500))?;
        let recs = records(&objects)?;
        assert_eq!(recs.len(), summary.events);
        assert_eq!(labels.len(), summary.events);
        for r in &recs {
            for field in [
                "eventID",
                "eventTime",
                "eventSource",
                "eventName",
                "eventVersion",
                "userIdentity",
                "awsRegion",
                "recipientAccountId",
            ] {
                assert!(r.get(field).is_some(), "{field} missing in {r}");
            }
        }
        for o in objects
            .iter()
            .filter(|o| o.key.contains("CloudTrail-Digest"))
        {
            let d = gunzip(&o.body)?;
            for field in [
                "awsAccountId",
                "digestStartTime",
                "digestEndTime",
                "digestS3Bucket",
                "digestS3Object",
                "logFiles",
            ] {
                assert!(
                    d.get(field).is_some(),
                    "{field} missing in digest {}",
                    o.key
                );
            }
        }
        Ok(())
    }

    #[test]
    fn every_attack_is_labelled_and_its_events_are_in_the_logs()
    -> Result<(), Box<dyn std::error::Error>> {
        let (objects, labels, summary) = run(&small(11, 2, 300))?;
        let ids: BTreeSet<String> = records(&objects)?
            .iter()
            .filter_map(|r| r.get("eventID").and_then(Value::as_str).map(str::to_owned))
            .collect();
        for s in Scenario::all() {
            let mine: Vec<&Label> = labels.iter().filter(|l| l.scenario == s.name()).collect();
            assert!(!mine.is_empty(), "{s} has no events");
            assert!(mine.iter().all(|l| l.label == s.label()), "{s} mislabelled");
            assert!(
                mine.iter().all(|l| ids.contains(&l.event_id)),
                "{s} labels an event not in the logs"
            );
        }
        assert!(
            labels
                .iter()
                .filter(|l| l.scenario.is_empty())
                .all(|l| l.label == 0)
        );
        assert_eq!(
            summary.attack_events,
            labels.iter().filter(|l| l.label == 1).count()
        );
        assert_eq!(summary.scenarios.len(), Scenario::all().len());
        Ok(())
    }

    #[test]
    fn every_identity_type_appears_in_two_days() -> Result<(), Box<dyn std::error::Error>> {
        let (objects, _, _) = run(&small(1, 2, 800))?;
        let mut seen = BTreeSet::new();
        let mut ips = BTreeSet::new();
        for r in records(&objects)? {
            let id = r.get("userIdentity").ok_or("no identity")?;
            seen.insert(
                id.get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("(service event)")
                    .to_owned(),
            );
            let ip = r
                .get("sourceIPAddress")
                .and_then(Value::as_str)
                .unwrap_or_default();
            ips.insert(if ip.contains(':') {
                "v6"
            } else if ip.ends_with("amazonaws.com") || ip == "AWS Internal" {
                "service"
            } else {
                "v4"
            });
        }
        for t in [
            "IAMUser",
            "AssumedRole",
            "Root",
            "AWSService",
            "FederatedUser",
            "AWSAccount",
            "SAMLUser",
            "WebIdentityUser",
            "(service event)",
        ] {
            assert!(seen.contains(t), "{t} missing from {seen:?}");
        }
        assert_eq!(ips.len(), 3, "{ips:?}");
        Ok(())
    }

    #[test]
    fn write_dir_writes_objects_and_one_label_row_per_record()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut cfg = small(2, 1, 200);
        cfg.scenarios = vec![Scenario::RootUsage, Scenario::BenignNewAdmin];
        cfg.digests = false;
        let summary = write_dir(&cfg, dir.path())?;
        let csv = std::fs::read_to_string(dir.path().join("labels.csv"))?;
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("event_id,label,scenario"));
        assert_eq!(lines.count(), summary.events);
        assert!(csv.contains(",1,root-usage\n") && csv.contains(",0,benign-new-admin\n"));
        assert!(
            !dir.path()
                .join("AWSLogs/123456789012/CloudTrail-Digest")
                .exists()
        );
        assert!(
            dir.path()
                .join("AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04")
                .is_dir()
        );
        Ok(())
    }

    #[test]
    fn rejects_configs_that_cannot_be_a_trail() {
        for cfg in [
            SimConfig {
                days: 0,
                ..SimConfig::default()
            },
            SimConfig {
                account: "12345".into(),
                ..SimConfig::default()
            },
            SimConfig {
                start: 1_709_510_401,
                ..SimConfig::default()
            },
        ] {
            assert!(matches!(
                generate(&cfg, |_| Ok::<(), SimError>(()), |_| Ok(())),
                Err(SimError::Config(_))
            ));
        }
    }
}
