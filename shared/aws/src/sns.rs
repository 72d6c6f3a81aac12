//! The [`AlertSink`] on SNS, following DESIGN.md's alert contract: message
//! attributes for filter policies, a `[SEVERITY] title` subject, and a JSON message
//! structure with a readable text for email and the finding JSON for everything else.

use crate::error::port_error;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::json;
use std::fmt::Write as _;
use trailhound_core::Finding;
use trailhound_core::ports::{AlertSink, PortError};

/// SNS subjects must be shorter than 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 99;

/// Publishes one message per finding to a topic.
#[derive(Debug, Clone)]
pub struct SnsAlertSink {
    client: Client,
    topic_arn: String,
}

impl SnsAlertSink {
    /// A sink publishing to `topic_arn`.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

/// The severity of a finding as the alert attribute shows it (`LOW` … `CRITICAL`).
pub fn severity_attribute(f: &Finding) -> &'static str {
    f.severity.map_or("NONE", |s| s.as_upper())
}

/// `[HIGH] <title>`: printable ASCII only (no line breaks or control characters),
/// at most [`MAX_SUBJECT_CHARS`] characters, ending in `...` when cut.
pub fn subject(f: &Finding) -> String {
    let raw = format!("[{}] {}", severity_attribute(f), f.title());
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if clean.len() <= MAX_SUBJECT_CHARS {
        return clean;
    }
    // All ASCII now, so byte indices are character indices.
    format!("{}...", &clean[..MAX_SUBJECT_CHARS - 3])
}

/// Event text for the plain-text email: control characters (newlines included, which
/// would forge lines such as `Severity: LOW`), DEL, C1 controls, bidi embeddings,
/// overrides, isolates and marks, zero-width characters and line separators become
/// visible escapes (`\n`, `\x1b`, `\u{202e}`). SNS sends the `email` text as
/// `text/plain`, so nothing else is interpreted.
pub fn email_safe(s: &str) -> String {
    trailhound_core::text::terminal_safe(s).into_owned()
}

/// The readable text sent to email subscriptions; every event field goes through
/// [`email_safe`].
pub fn email_text(f: &Finding) -> String {
    let mut t = String::new();
    let sev = f.severity.map_or("none", |s| s.as_str());
    let e = email_safe;
    let _ = writeln!(t, "{}", e(&f.title()));
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "Severity:   {} ({:.1})",
        sev.to_uppercase(),
        f.severity_score
    );
    let _ = writeln!(t, "Time:       {}", e(&f.time));
    let _ = writeln!(t, "Account:    {}  Region: {}", e(&f.account), e(&f.region));
    let _ = writeln!(t, "Principal:  {}", e(&f.principal));
    let _ = writeln!(t, "Action:     {}", e(&f.action));
    let _ = writeln!(t, "Anomaly:    {:.3}", f.score);
    if !f.detections.is_empty() {
        let _ = writeln!(t, "\nDetections:");
        for d in &f.detections {
            match &d.technique {
                Some(tech) => {
                    let _ = writeln!(t, "  - {} (MITRE ATT&CK {})", e(&d.id), e(tech));
                }
                None => {
                    let _ = writeln!(t, "  - {}", e(&d.id));
                }
            }
        }
    }
    if !f.reasons.is_empty() {
        let _ = writeln!(t, "\nWhy:");
        for r in &f.reasons {
            let _ = writeln!(t, "  - {}", e(r));
        }
    }
    let _ = writeln!(
        t,
        "\nFinding {}  event {}  source {}  model {}",
        e(&f.finding_id),
        e(&f.event_id),
        e(&f.source),
        e(&f.model_version)
    );
    t
}

/// The `MessageStructure=json` body: the finding JSON for `default`, `sqs` and
/// `lambda`, the readable text for `email`.
pub fn message(f: &Finding) -> Result<String, serde_json::Error> {
    let finding = serde_json::to_string(f)?;
    serde_json::to_string(&json!({
        "default": finding,
        "sqs": finding,
        "lambda": finding,
        "email": email_text(f),
    }))
}

fn attr(data_type: &str, value: &str) -> Result<MessageAttributeValue, PortError> {
    // SNS refuses empty attribute values.
    let value = if value.is_empty() { "unknown" } else { value };
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .map_err(|e| {
            PortError::non_retryable("building an SNS message attribute failed").with_source(e)
        })
}

impl AlertSink for SnsAlertSink {
    async fn publish(&self, f: &Finding) -> Result<(), PortError> {
        let body = message(f).map_err(|e| {
            PortError::non_retryable(format!("encoding the alert for finding {}", f.finding_id))
                .with_source(e)
        })?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject(f))
            .message_structure("json")
            .message(body)
            .message_attributes("severity", attr("String", severity_attribute(f))?)
            .message_attributes(
                "severity_score",
                attr("Number", &format!("{:.1}", f.severity_score))?,
            )
            .message_attributes("source", attr("String", &f.source)?)
            .message_attributes("detection", attr("String", f.primary_detection())?)
            .message_attributes("account", attr("String", &f.account)?)
            .send()
            .await
            .map_err(|e| {
                port_error(
                    e,
                    format_args!("Publish finding {} to {}", f.finding_id, self.topic_arn),
                )
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailhound_core::{Detection, Severity};

    fn finding(action: &str, principal: &str) -> Finding {
        Finding {
            finding_id: "0123456789abcdef0123456789abcdef".into(),
            event_id: "e1".into(),
            source: "cloudtrail".into(),
            time: "2024-03-04T10:15:30Z".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            principal: principal.into(),
            action: action.into(),
            score: 0.8,
            severity: Some(Severity::High),
            severity_score: 7.25,
            detections: vec![Detection {
                id: "ct.iam.create_access_key_other_user".into(),
                technique: Some("T1098.001".into()),
            }],
            reasons: vec!["an access key was created for another user".into()],
            model_version: "cloudtrail-0a1b2c3d".into(),
            triage: Default::default(),
        }
    }

    #[test]
    fn subjects_carry_the_upper_case_severity_and_title() {
        let f = finding(
            "iam.amazonaws.com:CreateAccessKey",
            "arn:aws:iam::123456789012:user/alice",
        );
        assert_eq!(
            subject(&f),
            "[HIGH] iam.amazonaws.com:CreateAccessKey by alice"
        );
    }

    #[test]
    fn long_or_non_ascii_subjects_are_cut_and_cleaned() {
        let f = finding(
            &format!("s3:{}\nPutObject é", "x".repeat(200)),
            "arn:aws:iam::1:user/bob",
        );
        let s = subject(&f);
        assert!(
            s.len() <= MAX_SUBJECT_CHARS && s.len() < 100,
            "{} chars",
            s.len()
        );
        assert!(s.ends_with("..."));
        assert!(s.chars().all(|c| c.is_ascii_graphic() || c == ' '), "{s:?}");
        let short = subject(&finding("a\r\nb é", "bob"));
        assert_eq!(short, "[HIGH] a??b ? by bob");
    }

    #[test]
    fn messages_carry_the_finding_json_and_an_email_text() {
        let f = finding(
            "iam.amazonaws.com:CreateAccessKey",
            "arn:aws:iam::123456789012:user/alice",
        );
        let m: serde_json::Value = serde_json::from_str(&message(&f).unwrap()).unwrap();
        for protocol in ["default", "sqs", "lambda"] {
            let inner: Finding = serde_json::from_str(m[protocol].as_str().unwrap()).unwrap();
            assert_eq!(inner, f, "{protocol}");
        }
        let email = m["email"].as_str().unwrap();
        assert!(
            email.contains("Severity:   HIGH (7.2)") || email.contains("Severity:   HIGH (7.3)"),
            "{email}"
        );
        assert!(email.contains("T1098.001"));
    }

    #[test]
    fn hostile_event_text_cannot_forge_email_lines_or_reorder_them() {
        // Regression: fields went into the email raw, so a newline in a user agent or
        // role name could add a fake "Severity: LOW" line, and U+202E reversed text.
        let benign = email_text(&finding("s3:GetObject", "arn:aws:iam::1:user/bob"));
        let mut f = finding(
            "s3:GetObject\nSeverity:   LOW (1.0)\r\u{1b}[2J",
            "arn:aws:iam::1:user/bob\u{202e}txt.exe\u{2066}",
        );
        f.reasons = vec!["ua curl\u{2028}Why:\u{200b}\u{7f}\u{9b}".into()];
        f.event_id = "e1\n\nFinding forged".into();
        let email = email_text(&f);
        assert_eq!(
            email.lines().count(),
            benign.lines().count(),
            "no extra lines: {email}"
        );
        assert!(
            !email.chars().any(|c| c != '\n' && (c.is_control()
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))),
            "{email:?}"
        );
        for shown in [
            "s3:GetObject\\nSeverity:",
            "\\x1b[2J",
            "bob\\u{202e}txt.exe\\u{2066}",
            "\\u{2028}Why:\\u{200b}\\x7f\\u{9b}",
        ] {
            assert!(email.contains(shown), "{shown} missing from {email}");
        }
    }
}
