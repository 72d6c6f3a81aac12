//! Ports: the small traits through which the pipeline reaches the outside world.
//! The core only knows these; `trailhound-aws` implements them on S3, DynamoDB and
//! SNS, the CLI on local files and stdout, and `InMemory…` fakes (feature
//! `test-util`) serve tests.
//!
//! Every method returns a `Send` future so that Lambda handlers can await them on a
//! multi-threaded runtime; the core itself depends on no async runtime.

use crate::finding::Finding;
use crate::models::artifact::Model;
use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::io::Read;
use std::sync::Arc;

/// Whether an infrastructure failure is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Retry {
    /// Throttling, timeouts, 5xx: try again later (Lambda retries the item).
    Retryable,
    /// Missing object, access denied, bad data: retrying gives the same answer.
    NonRetryable,
}

/// An error from an adapter, already classified. The message names the resource
/// (bucket and key, table, topic) and never contains record content.
#[derive(Debug, thiserror::Error)]
#[error("{message} ({retry:?})")]
pub struct PortError {
    /// Whether retrying may help.
    pub retry: Retry,
    /// What went wrong, naming the resource.
    pub message: String,
    /// The underlying cause, when there is one.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl PortError {
    /// A failure that a later attempt may not hit.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retry: Retry::Retryable,
            message: message.into(),
            source: None,
        }
    }

    /// A failure that will repeat on retry.
    pub fn non_retryable(message: impl Into<String>) -> Self {
        Self {
            retry: Retry::NonRetryable,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// Where a log object lives: a bucket (or local root) and a key (or path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    /// S3 bucket, or empty for local files.
    pub bucket: String,
    /// S3 key, already URL-decoded, or a local path.
    pub key: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.bucket.is_empty() {
            f.write_str(&self.key)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.key)
        }
    }
}

/// A readable object body. Adapters may stream it or hand over a buffer.
pub type ObjectBody = Box<dyn Read + Send>;

/// Reads log objects.
pub trait ObjectSource: Send + Sync {
    /// Opens one object for reading.
    fn fetch(
        &self,
        object: &ObjectRef,
    ) -> impl Future<Output = Result<ObjectBody, PortError>> + Send;
}

/// Supplies the current model of a source, if there is a usable one.
pub trait ModelSource: Send + Sync {
    /// The model to score with now, or `None` (the pipeline then runs on rules only).
    /// Implementations cache and revalidate; a refused model is logged there.
    fn current(&self) -> impl Future<Output = Result<Option<Arc<Model>>, PortError>> + Send;
}

/// What the store already knew of a finding that the pipeline tried to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreOutcome {
    /// Stored now for the first time: alert on it.
    New,
    /// Stored by an earlier attempt whose alert was not confirmed: alert again.
    Unalerted,
    /// Stored and alerted before: do nothing.
    Alerted,
}

/// What was processed: one summary per object, so operators see every object that
/// went through, with or without findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectSummary {
    /// The object.
    pub object: ObjectRef,
    /// Log source of the object.
    pub source: String,
    /// Records read.
    pub records: u64,
    /// Malformed records skipped.
    pub skipped: u64,
    /// Findings by severity name.
    pub findings: BTreeMap<Severity, u64>,
    /// Alerts published by this run.
    pub alerts: u64,
    /// Findings at or above the alert severity that a suppression entry held back.
    #[serde(default)]
    pub suppressed: u64,
    /// Findings at or above the alert severity held back as repeats of an alert of
    /// the same detection and principal in the same window.
    #[serde(default)]
    pub deduplicated: u64,
    /// Model version used, or `none`.
    pub model_version: String,
    /// Processing time in milliseconds.
    pub duration_ms: u64,
}

/// Stores findings idempotently: the same finding id is stored once.
pub trait FindingStore: Send + Sync {
    /// Stores each finding unless one with its id exists, and says for each what the
    /// store already knew (same order as `findings`).
    fn put_findings(
        &self,
        findings: &[Finding],
    ) -> impl Future<Output = Result<Vec<StoreOutcome>, PortError>> + Send;
    /// Records that alerts for these finding ids were published.
    fn mark_alerted(
        &self,
        finding_ids: &[String],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Records what was processed for one object (overwrites an earlier summary).
    fn put_summary(
        &self,
        summary: &ObjectSummary,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Claims the one alert of a deduplication window for the first of `finding_ids`,
    /// unless another finding holds it already, and adds every id to the window's
    /// set of hits. Idempotent and atomic under concurrent writers: claiming again
    /// with the same ids changes nothing, and of two concurrent first claims one wins.
    /// Stores also keep `repeats` up to date on the holder's stored finding.
    ///
    /// The default keeps no state: the first id holds the claim (no deduplication
    /// across calls). Every adapter of the pipeline overrides it.
    fn claim_alert(
        &self,
        claim: &AlertClaim<'_>,
    ) -> impl Future<Output = Result<ClaimHolder, PortError>> + Send {
        let holder = ClaimHolder {
            first_finding_id: claim.finding_ids.first().cloned().unwrap_or_default(),
            repeats: claim.finding_ids.len().saturating_sub(1) as u64,
        };
        std::future::ready(Ok(holder))
    }
}

/// A claim of the alert of one deduplication window (see
/// [`FindingStore::claim_alert`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertClaim<'a> {
    /// The deduplication key (`<account>|<detection>|<principal>|<severity>`).
    pub key: &'a str,
    /// Start of the window, epoch seconds (a multiple of `window_seconds`).
    pub window_start: i64,
    /// Length of the window in seconds.
    pub window_seconds: u64,
    /// The findings that hit the key in the window, in order; the first claims.
    pub finding_ids: &'a [String],
}

/// Who holds the alert of a deduplication window, as the store answered a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimHolder {
    /// The finding that alerts for the window.
    pub first_finding_id: String,
    /// Distinct other findings that hit the window so far.
    pub repeats: u64,
}

/// Publishes alerts for findings.
pub trait AlertSink: Send + Sync {
    /// Publishes one alert for a finding.
    fn publish(&self, finding: &Finding) -> impl Future<Output = Result<(), PortError>> + Send;
}

mod profiles;
#[cfg(any(test, feature = "test-util"))]
pub use profiles::InMemoryProfileStore;
pub use profiles::{NoProfiles, ProfileStore};

#[cfg(any(test, feature = "test-util"))]
mod memory;
#[cfg(any(test, feature = "test-util"))]
pub use memory::{
    InMemoryAlertSink, InMemoryFindingStore, InMemoryModelSource, InMemoryObjectSource,
};
