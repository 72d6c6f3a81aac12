//! The one pipeline: fetch → decode → parse → features → score → findings → store
//! → alert. Lambda handlers and the CLI differ only in the ports they pass in.

pub use crate::alerting::{AlertPolicy, DeliveryError, DeliveryStats, deliver};
use crate::baseline::ProfileUpdate;
use crate::baseline::{self, BaselineConfig};
use crate::decode::Limits;
use crate::finding::Finding;
use crate::ports::{
    AlertSink, FindingStore, ModelSource, NoProfiles, ObjectRef, ObjectSource, ObjectSummary,
    PortError, ProfileStore, Retry,
};
use crate::score::cloudtrail::Scorer;
use crate::severity::Severity;
use crate::sources::cloudtrail::{self, CloudTrailError, CtBatch, CtReader, KeyKind};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

/// The parse loop looks at the clock every this many records…
const DEADLINE_EVERY_RECORDS: u64 = 64;
/// …or after this many decompressed bytes, whichever comes first (a few huge
/// records must not delay the check either).
const DEADLINE_EVERY_BYTES: u64 = 1 << 20;

/// When a run gives up on its object, so that a Lambda stops before its timeout and
/// the rest of its batch completes. Checked before an object starts, between
/// records while parsing, and between chunks of findings before they are stored;
/// whatever was stored before the stop is stored again as a no-op on retry
/// (deterministic finding ids, conditional writes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline: run to completion (the CLI).
    pub const NEVER: Self = Self(None);

    /// Give up once `at` has passed.
    pub fn at(at: Instant) -> Self {
        Self(Some(at))
    }

    /// Give up `after` from now.
    pub fn after(after: Duration) -> Self {
        Self(Instant::now().checked_add(after))
    }

    /// Whether the deadline has passed.
    pub fn passed(&self) -> bool {
        self.0.is_some_and(|at| Instant::now() >= at)
    }

    /// A deadline `margin` ahead of a hard wall-clock `limit` (a Lambda's
    /// timeout), so that the work in progress can be wound down and reported
    /// before the limit. A limit already past gives a deadline already passed.
    pub fn before(limit: SystemTime, margin: Margin) -> Self {
        let available = limit
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        Self::after(available.saturating_sub(margin.of(available)))
    }

    /// Time left, or `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.0
            .map(|at| at.saturating_duration_since(Instant::now()))
    }
}

/// Settings of a pipeline run, built once per binary from its configuration.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Decoding limits.
    pub limits: Limits,
    /// Alerts go out for findings at or above this severity.
    pub min_alert_severity: Severity,
    /// Keep every scored event in the report, not only findings (CLI `--all`).
    pub keep_all: bool,
    /// Deduplication window and suppression entries.
    pub alert_policy: AlertPolicy,
    /// Learning period of the behavioural baselines (used when a profile store is on).
    pub baseline: BaselineConfig,
    /// Sigma rules evaluated on every CloudTrail event (built-in threshold rules
    /// and user rules); `None`: built-in Rust rules only. Shared, so that the
    /// correlation state carries over from object to object.
    pub rules: Option<std::sync::Arc<crate::rules::sigma::RuleSet>>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            min_alert_severity: Severity::Medium,
            keep_all: false,
            alert_policy: AlertPolicy::default(),
            baseline: BaselineConfig::default(),
            rules: None,
        }
    }
}

/// The ports one run uses.
#[derive(Debug)]
pub struct Ports<'a, O, M, F, A, P = NoProfiles> {
    /// Where objects are read from.
    pub objects: &'a O,
    /// Where the model comes from.
    pub models: &'a M,
    /// Where findings are stored.
    pub findings: &'a F,
    /// Where alerts go.
    pub alerts: &'a A,
    /// Per-principal behavioural profiles ([`NoProfiles`]: baselines off).
    pub profiles: &'a P,
}

/// What one run did with one object.
#[derive(Debug, Clone)]
pub struct Report {
    /// The summary stored for the object.
    pub summary: ObjectSummary,
    /// Findings with a severity (stored, whether new or not), or with `keep_all`
    /// every scored event in file order.
    pub findings: Vec<Finding>,
    /// Set when the object was skipped without reading (digest or non-CloudTrail key).
    pub skipped: Option<&'static str>,
}

/// The time kept in reserve before a hard limit: the larger of `min` and
/// `fraction` of the time available.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Margin {
    /// The least reserve.
    pub min: Duration,
    /// The share of the time available kept in reserve (0 to 1).
    pub fraction: f64,
}

impl Default for Margin {
    /// max(2 s, 10 %): 12 s of a 120 s timeout, 6 s of 60 s.
    fn default() -> Self {
        Self {
            min: Duration::from_secs(2),
            fraction: 0.10,
        }
    }
}

impl Margin {
    /// The reserve out of `available`.
    pub fn of(&self, available: Duration) -> Duration {
        // NaN would make `mul_f64` panic.
        let fraction = if self.fraction.is_finite() {
            self.fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        available.mul_f64(fraction).max(self.min)
    }
}

/// Why a run failed for an object.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The object is not a readable CloudTrail file: retrying will not help.
    #[error("bad object {object}: {source}")]
    BadObject {
        /// The object.
        object: ObjectRef,
        /// What is wrong with it.
        #[source]
        source: CloudTrailError,
    },
    /// A port failed.
    #[error("{stage} failed for {object}: {source}")]
    Port {
        /// The object.
        object: ObjectRef,
        /// `fetch`, `model`, `profiles`, `store` or `alert`.
        stage: &'static str,
        /// The port's error, with its retry class.
        #[source]
        source: PortError,
    },
    /// The [`Deadline`] passed before the object was done: retry it with more time.
    #[error("stopped {object} at the deadline after {records} records")]
    Deadline {
        /// The object.
        object: ObjectRef,
        /// Records read before the stop.
        records: u64,
    },
}

impl PipelineError {
    /// Whether Lambda should retry the item.
    pub fn retry(&self) -> Retry {
        match self {
            PipelineError::BadObject { .. } => Retry::NonRetryable,
            PipelineError::Port { source, .. } => source.retry,
            PipelineError::Deadline { .. } => Retry::Retryable,
        }
    }
}

/// Processes one CloudTrail object end to end and returns the findings in the
/// report. Safe to repeat: findings have deterministic ids, the store refuses
/// duplicates, and an alert goes out only for a finding not yet marked alerted.
pub async fn run_object<O, M, F, A, P>(
    object: &ObjectRef,
    ports: &Ports<'_, O, M, F, A, P>,
    cfg: &PipelineConfig,
) -> Result<Report, PipelineError>
where
    O: ObjectSource,
    M: ModelSource,
    F: FindingStore,
    A: AlertSink,
    P: ProfileStore,
{
    run_object_until(object, ports, cfg, Deadline::NEVER).await
}

/// Like [`run_object`], giving up with [`PipelineError::Deadline`] (retryable) once
/// `deadline` passes: the Lambdas pass their timeout less a safety margin.
pub async fn run_object_until<O, M, F, A, P>(
    object: &ObjectRef,
    ports: &Ports<'_, O, M, F, A, P>,
    cfg: &PipelineConfig,
    deadline: Deadline,
) -> Result<Report, PipelineError>
where
    O: ObjectSource,
    M: ModelSource,
    F: FindingStore,
    A: AlertSink,
    P: ProfileStore,
{
    let mut collected = Vec::new();
    let mut report = run(object, ports, cfg, deadline, |chunk| {
        collected.extend_from_slice(chunk)
    })
    .await?;
    report.findings = collected;
    Ok(report)
}

/// Like [`run_object`], but hands the findings (every scored event with
/// `keep_all`) to `each` a chunk at a time instead of keeping them: memory stays
/// bounded by one chunk whatever the object. The report's `findings` is empty.
pub async fn run_object_with<O, M, F, A, P>(
    object: &ObjectRef,
    ports: &Ports<'_, O, M, F, A, P>,
    cfg: &PipelineConfig,
    each: impl FnMut(&[Finding]),
) -> Result<Report, PipelineError>
where
    O: ObjectSource,
    M: ModelSource,
    F: FindingStore,
    A: AlertSink,
    P: ProfileStore,
{
    run(object, ports, cfg, Deadline::NEVER, each).await
}

async fn run<O, M, F, A, P>(
    object: &ObjectRef,
    ports: &Ports<'_, O, M, F, A, P>,
    cfg: &PipelineConfig,
    deadline: Deadline,
    mut each: impl FnMut(&[Finding]),
) -> Result<Report, PipelineError>
where
    O: ObjectSource,
    M: ModelSource,
    F: FindingStore,
    A: AlertSink,
    P: ProfileStore,
{
    let started = Instant::now();
    let stopped = |records: u64| PipelineError::Deadline {
        object: object.clone(),
        records,
    };
    let port_err = |stage: &'static str| {
        move |source: PortError| PipelineError::Port {
            object: object.clone(),
            stage,
            source,
        }
    };
    match cloudtrail::key_kind(&object.key) {
        KeyKind::LogFile => {}
        KeyKind::Digest => return Ok(skipped_report(object, "CloudTrail digest file")),
        KeyKind::Other => return Ok(skipped_report(object, "not a CloudTrail log file")),
    }
    if deadline.passed() {
        return Err(stopped(0));
    }
    let model = ports.models.current().await.map_err(port_err("model"))?;
    let body = ports
        .objects
        .fetch(object)
        .await
        .map_err(port_err("fetch"))?;
    let bad_object = |source| PipelineError::BadObject {
        object: object.clone(),
        source,
    };
    let mut reader = CtReader::open(body, &cfg.limits, cfg.rules.clone()).map_err(bad_object)?;
    let mut delivery = DeliveryStats::default();
    let mut learned = Learned::default();
    let (mut events, mut skipped) = (0u64, 0u64);
    // One segment of events at a time: memory is bounded by the segment, not the
    // object (docs/limits.md). A file found malformed after its first segment
    // fails as before, but what was delivered of it stays delivered.
    while let Some(batch) = read_segment(&mut reader, deadline).map_err(bad_object)? {
        if reader.interrupted() {
            return Err(stopped(reader.records()));
        }
        events += batch.events.len() as u64;
        skipped += batch.skipped;
        // One read of the segment's principals' profiles before scoring.
        let profiles = if ports.profiles.enabled() {
            let keys = baseline::batch_keys(&batch);
            Some(
                ports
                    .profiles
                    .get_profiles(&keys)
                    .await
                    .map_err(port_err("profiles"))?,
            )
        } else {
            None
        };
        let mut scorer = Scorer::new(&batch, model.as_deref(), cfg.keep_all);
        if let Some(p) = &profiles {
            scorer = scorer.with_profiles(p, cfg.baseline);
        }
        while let Some(mut chunk) = scorer.next_chunk() {
            // Between chunks, never inside one: a chunk's findings are stored and
            // alerted together, so a stop leaves nothing stored but unalerted.
            if deadline.passed() {
                return Err(stopped(reader.records()));
            }
            deliver(&mut chunk, ports.findings, ports.alerts, cfg, &mut delivery)
                .await
                .map_err(|e| port_err(e.stage)(e.source))?;
            each(&chunk);
        }
        if profiles.is_some() {
            learned.add(baseline::observe(
                &batch,
                &baseline::origin_of(&object.to_string()),
            ));
        }
    }
    delivery.finish().map_err(|e| port_err(e.stage)(e.source))?;
    // Learn only once everything is stored and alerted: a retry after a failure
    // above must score against the same profiles, or a finding stored unalerted
    // could score lower the second time and never alert.
    if ports.profiles.enabled() && !learned.updates.is_empty() {
        ports
            .profiles
            .merge_profiles(&learned.updates)
            .await
            .map_err(port_err("profiles"))?;
    }

    let summary = ObjectSummary {
        object: object.clone(),
        source: cloudtrail::SOURCE.to_owned(),
        records: events + skipped,
        skipped,
        findings: delivery.findings,
        alerts: delivery.alerts,
        suppressed: delivery.suppressed,
        deduplicated: delivery.deduplicated,
        model_version: model
            .as_deref()
            .map_or_else(|| "none".to_owned(), |m| m.version().to_owned()),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    ports
        .findings
        .put_summary(&summary)
        .await
        .map_err(port_err("store"))?;
    Ok(Report {
        summary,
        findings: Vec::new(),
        skipped: None,
    })
}

/// Reads the next segment of at most [`SEGMENT_EVENTS`] events, with a deadline
/// check every [`DEADLINE_EVERY_RECORDS`] records or [`DEADLINE_EVERY_BYTES`]
/// bytes, so that an object that would take minutes to parse is abandoned in
/// time (then [`CtReader::interrupted`] is set).
fn read_segment(
    reader: &mut CtReader<'_>,
    deadline: Deadline,
) -> Result<Option<CtBatch>, CloudTrailError> {
    let mut checked_at = reader.bytes_read();
    reader.next_batch_until(SEGMENT_EVENTS, |records, bytes| {
        if records % DEADLINE_EVERY_RECORDS == 0 || bytes - checked_at >= DEADLINE_EVERY_BYTES {
            checked_at = bytes;
            return deadline.passed();
        }
        false
    })
}

/// Events of an object read, scored and delivered at a time. Features that count a
/// principal's activity in its 5-minute window count within a segment, so a
/// window that straddles two segments of a very large object is counted in two
/// parts; CloudTrail files hold far fewer events than this.
pub const SEGMENT_EVENTS: usize = 100_000;

/// What an object's segments showed of each principal, one update per principal
/// (segments of one object merge into one update, so the object stays one origin).
#[derive(Default)]
struct Learned {
    updates: Vec<ProfileUpdate>,
    index: std::collections::HashMap<String, usize>,
}

impl Learned {
    fn add(&mut self, updates: Vec<ProfileUpdate>) {
        for u in updates {
            match self.index.get(&u.key) {
                Some(&i) => {
                    if let Some(acc) = self.updates.get_mut(i) {
                        merge_seen(&mut acc.seen, &u.seen);
                    }
                }
                None => {
                    self.index.insert(u.key.clone(), self.updates.len());
                    self.updates.push(u);
                }
            }
        }
    }
}

/// Adds one segment's observations of a principal to those of earlier segments
/// (events add up, times widen, sets unite, then the profile bounds apply).
fn merge_seen(acc: &mut crate::baseline::Profile, more: &crate::baseline::Profile) {
    if more.events == 0 {
        return;
    }
    if acc.events == 0 {
        acc.first_seen = more.first_seen;
        acc.last_seen = more.last_seen;
    } else {
        acc.first_seen = acc.first_seen.min(more.first_seen);
        acc.last_seen = acc.last_seen.max(more.last_seen);
    }
    acc.events = acc.events.saturating_add(more.events);
    for f in crate::baseline::Facet::ALL {
        acc.facet_mut(f).union(more.facet(f));
    }
    acc.prune();
}

fn skipped_report(object: &ObjectRef, why: &'static str) -> Report {
    Report {
        summary: ObjectSummary {
            object: object.clone(),
            source: cloudtrail::SOURCE.to_owned(),
            records: 0,
            skipped: 0,
            findings: BTreeMap::new(),
            alerts: 0,
            suppressed: 0,
            deduplicated: 0,
            model_version: "none".to_owned(),
            duration_ms: 0,
        },
        findings: Vec::new(),
        skipped: Some(why),
    }
}
