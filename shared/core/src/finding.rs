//! The finding: what trailhound reports about one scored event. Its JSON form is a
//! public interface (CLI `--format jsonl`, DynamoDB items, SNS alerts), so field
//! names and meanings stay stable.

use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A detector or rule that fired on an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    /// Stable id, e.g. `iforest` or `ct.logging.stop_logging`.
    pub id: String,
    /// MITRE ATT&CK technique id (e.g. `T1562.008`) where one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
}

/// One scored event, and when it reaches a severity, one finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Deterministic id: the same source and event always give the same id, so a
    /// retried or replayed object never stores or alerts twice.
    pub finding_id: String,
    /// CloudTrail `eventID`, or the CloudWatch Logs event id.
    pub event_id: String,
    /// Log source: `cloudtrail`, `vpcflow`, `access_log`, …
    pub source: String,
    /// Event time, RFC 3339 UTC (`2024-03-04T10:15:30Z`).
    pub time: String,
    /// AWS account the event belongs to (empty when unknown).
    pub account: String,
    /// AWS region of the event (empty when unknown).
    pub region: String,
    /// Who acted: an ARN-like principal, or the source IP for network sources.
    pub principal: String,
    /// What was done: `eventsource:EventName`, or a request line.
    pub action: String,
    /// Anomaly score in 0..1 (higher is more anomalous).
    pub score: f64,
    /// Severity level, or `None` when the event reached no severity.
    pub severity: Option<Severity>,
    /// Numeric severity 1.0–10.0 (0.0 when `severity` is `None`).
    pub severity_score: f64,
    /// Rules and detectors that fired.
    pub detections: Vec<Detection>,
    /// Short human sentences: why this was flagged.
    pub reasons: Vec<String>,
    /// Version of the model that scored the event (`none` when scored without one).
    pub model_version: String,
    /// What alert hygiene decided (suppression, deduplication). Flattened: its keys
    /// appear only when set, and JSON written before they existed still parses.
    #[serde(flatten, default)]
    pub triage: Triage,
}

/// What deduplication and suppression decided for a finding (see
/// [`crate::alerting`]). Every field is empty for a finding that alerted alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triage {
    /// The reason of the suppression entry that matched: stored, not alerted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<String>,
    /// The finding that alerted for the same detection and principal in the same
    /// deduplication window: this one was stored, not alerted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// On the finding that alerted: later hits in its window, not alerted (as
    /// known when the finding was written; the DynamoDB item is kept up to date).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repeats: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Finding {
    /// The primary detection id (the first one), or `anomaly` when none fired.
    pub fn primary_detection(&self) -> &str {
        self.detections
            .first()
            .map(|d| d.id.as_str())
            .unwrap_or("anomaly")
    }

    /// A one-line title for alert subjects and tables.
    pub fn title(&self) -> String {
        format!("{} by {}", self.action, short_principal(&self.principal))
    }
}

/// The last segment of an ARN-like principal (`role/ci-deployer` → `ci-deployer`),
/// or the whole string when it has none.
pub fn short_principal(p: &str) -> &str {
    p.rsplit(['/', ':'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(p)
}

/// The deterministic finding id for an event of a source: the first 128 bits of
/// SHA-256 over `source`, a NUL, and `event_id`, in hex.
pub fn finding_id(source: &str, event_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    h.update([0u8]);
    h.update(event_id.as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(32);
    for b in &digest[..16] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_ids_are_deterministic_and_source_scoped() {
        let a = finding_id("cloudtrail", "5f4d6c1e-0000-4000-8000-000000000001");
        let b = finding_id("cloudtrail", "5f4d6c1e-0000-4000-8000-000000000001");
        let c = finding_id("vpcflow", "5f4d6c1e-0000-4000-8000-000000000001");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
