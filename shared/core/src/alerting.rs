//! Delivery of findings: suppress → deduplicate → store → alert. Every pipeline
//! (CloudTrail objects, CloudWatch Logs payloads) hands its scored findings here a
//! chunk at a time, so storage, alert hygiene and the retry rules are the same
//! whatever the source.
//!
//! What must stay true: a finding is stored before it can alert; an alert goes out
//! only for a finding the store has not marked alerted; a finding is marked alerted
//! only after its publish succeeded, so a failed publish is sent again on retry.
//!
//! **Suppression**: a finding that a [`Suppressions`] entry matches gets
//! `suppressed_by` (the entry's reason), is stored, and does not alert.
//!
//! **Deduplication**: one alert per key and window. The key is
//! `<account>|<primary detection>|<principal>|<severity>` (the full principal: an
//! ARN, or the source IP for network sources; the action when there is no
//! principal). Short names would merge `role/admin` of two accounts. The severity
//! level is part of the key so that a hit that escalates still alerts: a denied
//! `StopLogging` (medium) followed by one that succeeded (critical) is two alerts;
//! a window holds at most one alert per level. Windows are fixed, aligned on
//! multiples of the window length in **event time**, so a replay or a retry falls
//! in the same window as the first run. The first finding to claim a window alerts;
//! later hits are stored with `duplicate_of` and counted in the first one's
//! `repeats`. A claim is idempotent ([`FindingStore::claim_alert`]): the holder
//! that failed to publish still holds the window, and alerts on retry.

mod ledger;
pub mod suppress;

pub use ledger::ClaimLedger;
pub use suppress::{Suppression, SuppressionError, Suppressions};

use crate::finding::Finding;
use crate::pipeline::PipelineConfig;
use crate::ports::{AlertClaim, AlertSink, FindingStore, PortError, StoreOutcome};
use crate::severity::Severity;
use crate::timefmt;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Default deduplication window: one hour.
pub const DEFAULT_DEDUP_WINDOW_SECONDS: u64 = 3600;

/// Alert hygiene settings: deduplication window and suppression entries.
#[derive(Debug, Clone)]
pub struct AlertPolicy {
    /// Length of a deduplication window in seconds; 0 turns deduplication off.
    pub dedup_window_seconds: u64,
    /// Suppression entries in force.
    pub suppressions: Arc<Suppressions>,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        Self {
            dedup_window_seconds: DEFAULT_DEDUP_WINDOW_SECONDS,
            suppressions: Arc::new(Suppressions::default()),
        }
    }
}

/// The deduplication key of a finding (see the module docs).
pub fn dedup_key(f: &Finding) -> String {
    let who = if f.principal.is_empty() {
        &f.action
    } else {
        &f.principal
    };
    let level = f.severity.map_or("none", |s| s.as_str());
    format!("{}|{}|{}|{level}", f.account, f.primary_detection(), who)
}

/// Start of the window (epoch seconds) holding an event time, or `None` when the
/// time does not parse or deduplication is off.
pub fn window_start(time: &str, window_seconds: u64) -> Option<i64> {
    let w = i64::try_from(window_seconds).ok().filter(|w| *w > 0)?;
    let t = timefmt::parse_rfc3339(time)?;
    Some(t.div_euclid(w) * w)
}

/// What delivery did over one object or payload (summed over its chunks).
#[derive(Debug, Default)]
pub struct DeliveryStats {
    /// Findings stored or already stored, by severity.
    pub findings: BTreeMap<Severity, u64>,
    /// Alerts published.
    pub alerts: u64,
    /// Findings at or above the alert severity held back by a suppression entry.
    pub suppressed: u64,
    /// Findings at or above the alert severity held back as repeats in a window.
    pub deduplicated: u64,
    /// The first publish failure, kept until [`DeliveryStats::finish`] so that the
    /// other, independent alerts still go out.
    alert_error: Option<PortError>,
}

impl DeliveryStats {
    /// Ends delivery of one object or payload: returns the first alert failure, if
    /// any, so that the caller fails the item and the retry sends what is missing.
    pub fn finish(&mut self) -> Result<(), DeliveryError> {
        match self.alert_error.take() {
            Some(source) => Err(DeliveryError {
                stage: "alert",
                source,
            }),
            None => Ok(()),
        }
    }
}

/// A port failure during delivery.
#[derive(Debug, thiserror::Error)]
#[error("{stage} failed: {source}")]
pub struct DeliveryError {
    /// `store` or `alert`.
    pub stage: &'static str,
    /// The port's error, with its retry class.
    #[source]
    pub source: PortError,
}

/// Delivers the findings of one chunk. Findings with a severity are annotated in
/// place (`suppressed_by`, `duplicate_of`, `repeats`) and stored; those without are
/// left alone. Then an alert is published for each stored finding that is new or
/// not yet alerted, at or above `cfg.min_alert_severity`, neither suppressed nor a
/// repeat, and those published are marked alerted.
///
/// A store failure is returned at once. A publish failure is kept in `stats` and
/// delivery goes on; call [`DeliveryStats::finish`] at the end of the object.
pub async fn deliver<F, A>(
    findings: &mut [Finding],
    store: &F,
    alerts: &A,
    cfg: &PipelineConfig,
    stats: &mut DeliveryStats,
) -> Result<(), DeliveryError>
where
    F: FindingStore,
    A: AlertSink,
{
    let store_err = |source| DeliveryError {
        stage: "store",
        source,
    };
    let policy = &cfg.alert_policy;
    let alerting = |f: &Finding| f.severity.is_some_and(|s| s >= cfg.min_alert_severity);
    for f in findings.iter_mut().filter(|f| f.severity.is_some()) {
        if let Some(entry) = policy.suppressions.matching(f) {
            f.triage.suppressed_by = Some(entry.reason.clone());
        }
    }
    claim_windows(findings, store, policy.dedup_window_seconds, &alerting)
        .await
        .map_err(store_err)?;

    let all_flagged = findings.iter().all(|f| f.severity.is_some());
    let owned: Vec<Finding>;
    let flagged: &[Finding] = if all_flagged {
        findings
    } else {
        owned = findings
            .iter()
            .filter(|f| f.severity.is_some())
            .cloned()
            .collect();
        &owned
    };
    if flagged.is_empty() {
        return Ok(());
    }
    let outcomes = store.put_findings(flagged).await.map_err(store_err)?;
    let mut alerted = Vec::new();
    for (f, outcome) in flagged.iter().zip(&outcomes) {
        if let Some(s) = f.severity {
            *stats.findings.entry(s).or_insert(0) += 1;
        }
        if !alerting(f) {
            continue;
        }
        if f.triage.suppressed_by.is_some() {
            stats.suppressed += 1;
            continue;
        }
        if f.triage.duplicate_of.is_some() {
            stats.deduplicated += 1;
            continue;
        }
        if !matches!(outcome, StoreOutcome::New | StoreOutcome::Unalerted) {
            continue;
        }
        match alerts.publish(f).await {
            Ok(()) => alerted.push(f.finding_id.clone()),
            // Keep going: the other alerts are independent. The failed one stays
            // unalerted in the store, so the retry of this object sends it.
            Err(e) => {
                stats.alert_error.get_or_insert(e);
            }
        }
    }
    if !alerted.is_empty() {
        store.mark_alerted(&alerted).await.map_err(store_err)?;
    }
    stats.alerts += alerted.len() as u64;
    Ok(())
}

/// Claims the deduplication windows of the chunk's alerting, unsuppressed
/// findings: one claim per key and window, with every finding of the chunk that hit
/// it, in order. Marks repeats `duplicate_of` and the holder's `repeats`.
async fn claim_windows<F: FindingStore>(
    findings: &mut [Finding],
    store: &F,
    window_seconds: u64,
    alerting: &impl Fn(&Finding) -> bool,
) -> Result<(), PortError> {
    if window_seconds == 0 {
        return Ok(());
    }
    // (key, window) → positions in the chunk, in first-seen order.
    let mut groups: Vec<((String, i64), Vec<usize>)> = Vec::new();
    let mut index: std::collections::HashMap<(String, i64), usize> =
        std::collections::HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        if !alerting(f) || f.triage.suppressed_by.is_some() {
            continue;
        }
        let Some(start) = window_start(&f.time, window_seconds) else {
            continue;
        };
        let k = (dedup_key(f), start);
        match index.get(&k) {
            Some(&g) => groups[g].1.push(i),
            None => {
                index.insert(k.clone(), groups.len());
                groups.push((k, vec![i]));
            }
        }
    }
    for ((key, start), positions) in groups {
        let ids: Vec<String> = positions
            .iter()
            .map(|&i| findings[i].finding_id.clone())
            .collect();
        let holder = store
            .claim_alert(&AlertClaim {
                key: &key,
                window_start: start,
                window_seconds,
                finding_ids: &ids,
            })
            .await?;
        for &i in &positions {
            let f = &mut findings[i];
            if f.finding_id == holder.first_finding_id {
                f.triage.repeats = holder.repeats;
            } else {
                f.triage.duplicate_of = Some(holder.first_finding_id.clone());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
