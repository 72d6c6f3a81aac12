//! Delivery of findings: store → gate → alert. Every pipeline (CloudTrail objects,
//! CloudWatch Logs payloads) hands its scored findings here a chunk at a time, so
//! storage, alert gating and the retry rules are the same whatever the source.
//!
//! What must stay true: a finding is stored before it can alert; an alert goes out
//! only for a finding the store has not marked alerted; a finding is marked alerted
//! only after its publish succeeded, so a failed publish is sent again on retry.

use crate::finding::Finding;
use crate::pipeline::PipelineConfig;
use crate::ports::{AlertSink, FindingStore, PortError, StoreOutcome};
use crate::severity::Severity;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// What delivery did over one object or payload (summed over its chunks).
#[derive(Debug, Default)]
pub struct DeliveryStats {
    /// Findings stored or already stored, by severity.
    pub findings: BTreeMap<Severity, u64>,
    /// Alerts published.
    pub alerts: u64,
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

/// Stores the findings of one chunk that have a severity (others are skipped), then
/// publishes an alert for each one newly stored or not yet alerted at or above
/// `cfg.min_alert_severity`, then marks those published as alerted.
///
/// A store failure is returned at once. A publish failure is kept in `stats` and
/// delivery goes on; call [`DeliveryStats::finish`] at the end of the object.
pub async fn deliver<F, A>(
    findings: &[Finding],
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
    let flagged: Cow<'_, [Finding]> = if findings.iter().all(|f| f.severity.is_some()) {
        Cow::Borrowed(findings)
    } else {
        Cow::Owned(
            findings
                .iter()
                .filter(|f| f.severity.is_some())
                .cloned()
                .collect(),
        )
    };
    if flagged.is_empty() {
        return Ok(());
    }
    let outcomes = store.put_findings(&flagged).await.map_err(store_err)?;
    let mut alerted = Vec::new();
    for (f, outcome) in flagged.iter().zip(&outcomes) {
        if let Some(s) = f.severity {
            *stats.findings.entry(s).or_insert(0) += 1;
        }
        let due = matches!(outcome, StoreOutcome::New | StoreOutcome::Unalerted)
            && f.severity.is_some_and(|s| s >= cfg.min_alert_severity);
        if !due {
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
