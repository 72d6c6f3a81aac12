//! In-memory fakes of the ports, for tests of the pipeline and of callers.

use super::{
    AlertClaim, AlertSink, ClaimHolder, FindingStore, ModelSource, ObjectBody, ObjectRef,
    ObjectSource, ObjectSummary, PortError, StoreOutcome,
};
use crate::alerting::ClaimLedger;
use crate::finding::Finding;
use crate::models::artifact::Model;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another test thread panicked; the data is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Objects held in memory, keyed by bucket and key.
#[derive(Debug, Default)]
pub struct InMemoryObjectSource {
    objects: Mutex<HashMap<ObjectRef, Vec<u8>>>,
}

impl InMemoryObjectSource {
    /// Adds or replaces an object.
    pub fn insert(&self, object: ObjectRef, body: Vec<u8>) {
        lock(&self.objects).insert(object, body);
    }
}

impl ObjectSource for InMemoryObjectSource {
    async fn fetch(&self, object: &ObjectRef) -> Result<ObjectBody, PortError> {
        match lock(&self.objects).get(object) {
            Some(body) => Ok(Box::new(std::io::Cursor::new(body.clone()))),
            None => Err(PortError::non_retryable(format!("no such object {object}"))),
        }
    }
}

/// A fixed model (or none).
#[derive(Debug, Default)]
pub struct InMemoryModelSource {
    /// The model handed out.
    pub model: Option<Arc<Model>>,
}

impl ModelSource for InMemoryModelSource {
    async fn current(&self) -> Result<Option<Arc<Model>>, PortError> {
        Ok(self.model.clone())
    }
}

/// Findings and summaries in memory, with the store's idempotency rules.
#[derive(Debug, Default)]
pub struct InMemoryFindingStore {
    findings: Mutex<HashMap<String, (Finding, bool)>>,
    summaries: Mutex<Vec<ObjectSummary>>,
    claims: ClaimLedger,
}

impl InMemoryFindingStore {
    /// Stored findings, sorted by id.
    pub fn findings(&self) -> Vec<Finding> {
        let mut v: Vec<Finding> = lock(&self.findings)
            .values()
            .map(|(f, _)| f.clone())
            .collect();
        v.sort_by(|a, b| a.finding_id.cmp(&b.finding_id));
        v
    }

    /// Summaries in the order they were written.
    pub fn summaries(&self) -> Vec<ObjectSummary> {
        lock(&self.summaries).clone()
    }
}

impl FindingStore for InMemoryFindingStore {
    async fn put_findings(&self, findings: &[Finding]) -> Result<Vec<StoreOutcome>, PortError> {
        let mut map = lock(&self.findings);
        Ok(findings
            .iter()
            .map(|f| match map.get(&f.finding_id) {
                Some((_, true)) => StoreOutcome::Alerted,
                Some((_, false)) => StoreOutcome::Unalerted,
                None => {
                    map.insert(f.finding_id.clone(), (f.clone(), false));
                    StoreOutcome::New
                }
            })
            .collect())
    }

    async fn mark_alerted(&self, finding_ids: &[String]) -> Result<(), PortError> {
        let mut map = lock(&self.findings);
        for id in finding_ids {
            if let Some(entry) = map.get_mut(id) {
                entry.1 = true;
            }
        }
        Ok(())
    }

    async fn put_summary(&self, summary: &ObjectSummary) -> Result<(), PortError> {
        lock(&self.summaries).push(summary.clone());
        Ok(())
    }

    async fn claim_alert(&self, claim: &AlertClaim<'_>) -> Result<ClaimHolder, PortError> {
        let holder = self.claims.claim(claim)?;
        if let Some((f, _)) = lock(&self.findings).get_mut(&holder.first_finding_id) {
            f.triage.repeats = f.triage.repeats.max(holder.repeats);
        }
        Ok(holder)
    }
}

/// Alerts collected in memory; can be told to fail.
#[derive(Debug, Default)]
pub struct InMemoryAlertSink {
    sent: Mutex<Vec<Finding>>,
    /// When set, every publish fails with a retryable error.
    pub fail: std::sync::atomic::AtomicBool,
}

impl InMemoryAlertSink {
    /// Alerts published so far.
    pub fn sent(&self) -> Vec<Finding> {
        lock(&self.sent).clone()
    }
}

impl AlertSink for InMemoryAlertSink {
    async fn publish(&self, finding: &Finding) -> Result<(), PortError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PortError::retryable("alert sink told to fail"));
        }
        lock(&self.sent).push(finding.clone());
        Ok(())
    }
}
