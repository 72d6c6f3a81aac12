//! The alert as the notifier sees it: the finding JSON that the ingest functions publish
//! as the `default` body of an SNS message (DESIGN.md, "SNS alert").
//!
//! Parsing is lenient on purpose: every field has a default, so an alert whose finding
//! lacks a field still reaches Slack with what it has. Only a body that is not a JSON
//! object at all is refused.

use aws_lambda_events::event::sns::SnsMessage;
use serde::Deserialize;

/// A detector or rule that fired, with its ATT&CK technique when known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Detection {
    /// Stable detection id, e.g. `ct.logging.stop_logging`.
    pub id: String,
    /// MITRE ATT&CK technique id, e.g. `T1562.008`.
    pub technique: Option<String>,
}

/// The finding fields a Slack message shows.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Alert {
    /// Deterministic finding id.
    pub finding_id: String,
    /// CloudTrail `eventID` or CloudWatch Logs event id.
    pub event_id: String,
    /// Log source (`cloudtrail`, `vpcflow`, `access_log`, …).
    pub source: String,
    /// Event time, RFC 3339.
    pub time: String,
    /// AWS account id.
    pub account: String,
    /// AWS region of the event.
    pub region: String,
    /// Principal ARN, or source IP for network sources.
    pub principal: String,
    /// Event name or request line.
    pub action: String,
    /// Anomaly score in 0..1.
    pub score: f64,
    /// Severity, lower case in the finding (`high`); `None` when absent.
    pub severity: Option<String>,
    /// Numeric severity 1.0–10.0.
    pub severity_score: f64,
    /// Detections that fired.
    pub detections: Vec<Detection>,
    /// Human sentences explaining the finding.
    pub reasons: Vec<String>,
    /// Model version that scored the event.
    pub model_version: String,
}

/// Why an SNS record could not be read as an alert.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// The message body is not a JSON object shaped like a finding.
    #[error("sns message {message_id} is not a finding json object")]
    NotAFinding {
        /// SNS message id, safe to log.
        message_id: String,
        /// The JSON error (position only; it does not echo the body).
        #[source]
        source: serde_json::Error,
    },
}

impl Alert {
    /// Reads the finding out of an SNS message; the `severity` message attribute fills
    /// in a severity the body lacks.
    pub fn from_sns(message: &SnsMessage) -> Result<Alert, AlertError> {
        let mut alert: Alert =
            serde_json::from_str(&message.message).map_err(|source| AlertError::NotAFinding {
                message_id: message.message_id.clone(),
                source,
            })?;
        if alert.severity.as_deref().is_none_or(str::is_empty)
            && let Some(attr) = message.message_attributes.get("severity")
        {
            alert.severity = Some(attr.value.clone());
        }
        Ok(alert)
    }

    /// The severity in upper case (`HIGH`), `UNKNOWN` when absent.
    pub fn severity_label(&self) -> String {
        match self.severity.as_deref() {
            Some(s) if !s.is_empty() => s.to_ascii_uppercase(),
            _ => "UNKNOWN".to_owned(),
        }
    }

    /// A one-line title: `action by principal`, with the principal shortened to its
    /// last ARN segment, the way alert subjects are built.
    pub fn title(&self) -> String {
        let principal = self
            .principal
            .rsplit(['/', ':'])
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.principal);
        match (self.action.is_empty(), principal.is_empty()) {
            (false, false) => format!("{} by {}", self.action, principal),
            (false, true) => self.action.clone(),
            (true, false) => format!("activity by {principal}"),
            (true, true) => "trailhound finding".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sns::SnsEvent;

    fn sns(message: &str, severity_attr: Option<&str>) -> SnsMessage {
        let attrs = severity_attr
            .map(|s| serde_json::json!({"severity": {"Type": "String", "Value": s}}))
            .unwrap_or(serde_json::json!({}));
        let event = serde_json::json!({"Records": [{
            "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:t:s",
            "EventSource": "aws:sns",
            "Sns": {"Type": "Notification", "MessageId": "m-1",
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Subject": "[HIGH] x",
                    "Message": message, "Timestamp": "2024-03-04T10:15:31.000Z",
                    "SignatureVersion": "1", "Signature": "", "SigningCertURL": "",
                    "UnsubscribeURL": "", "MessageAttributes": attrs}}]});
        let event: SnsEvent = serde_json::from_value(event).unwrap();
        event.records.into_iter().next().unwrap().sns
    }

    #[test]
    fn reads_the_finding_contract() {
        let body = serde_json::json!({
            "finding_id": "f1", "event_id": "e1", "source": "cloudtrail",
            "time": "2024-03-04T10:15:30Z", "account": "123456789012", "region": "eu-west-1",
            "principal": "arn:aws:iam::123456789012:user/alice", "action": "cloudtrail:StopLogging",
            "score": 0.93, "severity": "critical", "severity_score": 9.4,
            "detections": [{"id": "ct.logging.stop_logging", "technique": "T1562.008"}],
            "reasons": ["CloudTrail logging was stopped"], "model_version": "v3"
        });
        let alert = Alert::from_sns(&sns(&body.to_string(), None)).unwrap();
        assert_eq!(alert.severity_label(), "CRITICAL");
        assert_eq!(alert.title(), "cloudtrail:StopLogging by alice");
        assert_eq!(alert.detections[0].technique.as_deref(), Some("T1562.008"));
    }

    #[test]
    fn missing_fields_fall_back_to_defaults_and_the_attribute() {
        let alert = Alert::from_sns(&sns(r#"{"action":"x"}"#, Some("MEDIUM"))).unwrap();
        assert_eq!(alert.severity_label(), "MEDIUM");
        assert_eq!(alert.title(), "x");
        assert!(alert.reasons.is_empty());
    }

    #[test]
    fn refuses_a_body_that_is_not_json_without_echoing_it() {
        let err = Alert::from_sns(&sns("hello secret-ish text", None)).unwrap_err();
        assert!(err.to_string().contains("m-1"));
        assert!(!err.to_string().contains("secret-ish"));
    }
}
