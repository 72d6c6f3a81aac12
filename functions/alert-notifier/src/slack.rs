//! Builds the Slack message for an alert: Block Kit blocks inside an attachment, so the
//! attachment's colour bar shows the severity.
//!
//! Every text is cut to Slack's documented limits (header 150 characters, section text
//! 3000, section field 2000, button text 75, URL 3000, at most 10 fields and 50 blocks):
//! Slack refuses the whole message with `invalid_blocks` when one of them is exceeded,
//! and an alert that never arrives is worse than a shortened one.

use crate::alert::Alert;
use crate::config::is_region_name;
use serde_json::{Value, json};

/// Maximum characters of a header block's text.
pub const HEADER_TEXT_MAX: usize = 150;
/// Maximum characters of a section block's text.
pub const SECTION_TEXT_MAX: usize = 3000;
/// Maximum characters of one section field.
pub const FIELD_TEXT_MAX: usize = 2000;
/// Maximum fields in one section block.
pub const FIELDS_MAX: usize = 10;
/// Maximum blocks in one message.
pub const BLOCKS_MAX: usize = 50;
/// Maximum characters of a button's text.
pub const BUTTON_TEXT_MAX: usize = 75;
/// Maximum characters of a button's URL.
pub const URL_MAX: usize = 3000;

const ELLIPSIS: char = '…';
const DEFAULT_CONSOLE_REGION: &str = "us-east-1";

/// The attachment colour for a severity label (`LOW` … `CRITICAL`).
pub fn severity_colour(label: &str) -> &'static str {
    match label {
        "CRITICAL" => "#8B0000",
        "HIGH" => "#E01E5A",
        "MEDIUM" => "#ECB22E",
        "LOW" => "#36C5F0",
        _ => "#9E9E9E",
    }
}

/// The Slack webhook payload for one alert. `console_region` is used for the
/// CloudTrail link when the finding has no usable region of its own.
pub fn build_message(alert: &Alert, console_region: Option<&str>) -> Value {
    let label = alert.severity_label();
    let headline = format!("[{label}] {}", alert.title());

    let mut blocks = vec![
        json!({"type": "header",
               "text": {"type": "plain_text", "text": truncate(&headline, HEADER_TEXT_MAX)}}),
        json!({"type": "section", "fields": fields(alert, &label)}),
    ];
    if !alert.reasons.is_empty() {
        blocks.push(json!({"type": "section",
                           "text": {"type": "mrkdwn", "text": reasons_text(&alert.reasons)}}));
    }
    blocks.push(json!({"type": "context",
                       "elements": [{"type": "mrkdwn", "text": context_text(alert)}]}));
    if let Some(url) = cloudtrail_console_url(alert, console_region) {
        blocks.push(json!({"type": "actions", "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": truncate("Open in CloudTrail", BUTTON_TEXT_MAX)},
            "url": url,
        }]}));
    }
    blocks.truncate(BLOCKS_MAX);

    json!({
        // `text` is what notifications and screen readers show.
        "text": truncate(&headline, HEADER_TEXT_MAX),
        "attachments": [{"color": severity_colour(&label), "blocks": blocks}],
    })
}

fn fields(alert: &Alert, label: &str) -> Vec<Value> {
    let severity = if alert.severity_score > 0.0 {
        format!("{label} ({:.1})", alert.severity_score)
    } else {
        label.to_owned()
    };
    let pairs = [
        ("Severity", severity),
        ("Principal", alert.principal.clone()),
        ("Account", alert.account.clone()),
        ("Region", alert.region.clone()),
        ("Action", alert.action.clone()),
        ("Source", alert.source.clone()),
        ("Time", alert.time.clone()),
        ("Anomaly score", format!("{:.2}", alert.score)),
    ];
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .take(FIELDS_MAX)
        .map(|(name, value)| {
            let prefix = format!("*{name}*\n");
            let room = FIELD_TEXT_MAX - prefix.chars().count();
            json!({"type": "mrkdwn", "text": format!("{prefix}{}", escape_truncate(&value, room))})
        })
        .collect()
}

fn reasons_text(reasons: &[String]) -> String {
    // Shortest useful piece of a reason; below this, say how many were left out.
    const MIN_REASON: usize = 20;
    const TITLE: &str = "*Why*";
    const BULLET: &str = "\n• ";
    let mut out = String::from(TITLE);
    let mut used = TITLE.chars().count();
    for (shown, reason) in reasons.iter().enumerate() {
        // Keep room for the "and N more" line so that a cut is always visible.
        let tail = format!("\n…and {} more", reasons.len() - shown);
        let budget = SECTION_TEXT_MAX - used - tail.chars().count();
        if budget < BULLET.chars().count() + MIN_REASON {
            out.push_str(&tail);
            return out;
        }
        let line = format!(
            "{BULLET}{}",
            escape_truncate(reason, budget - BULLET.chars().count())
        );
        used += line.chars().count();
        out.push_str(&line);
    }
    out
}

fn context_text(alert: &Alert) -> String {
    let mut parts: Vec<String> = alert
        .detections
        .iter()
        .take(5)
        .map(|d| match &d.technique {
            Some(t) => format!("{} ({t})", d.id),
            None => d.id.clone(),
        })
        .collect();
    if alert.detections.len() > 5 {
        parts.push(format!("+{} more", alert.detections.len() - 5));
    }
    if !alert.finding_id.is_empty() {
        parts.push(format!("finding {}", alert.finding_id));
    }
    if !alert.model_version.is_empty() {
        parts.push(format!("model {}", alert.model_version));
    }
    if parts.is_empty() {
        parts.push("trailhound".to_owned());
    }
    escape_truncate(&parts.join(" · "), SECTION_TEXT_MAX)
}

/// The CloudTrail console's event-history page for a CloudTrail finding's event, in
/// the event's region (event history is regional).
pub fn cloudtrail_console_url(alert: &Alert, console_region: Option<&str>) -> Option<String> {
    if alert.source != "cloudtrail" || alert.event_id.is_empty() {
        return None;
    }
    let region = Some(alert.region.as_str())
        .filter(|r| is_region_name(r))
        .or(console_region)
        .unwrap_or(DEFAULT_CONSOLE_REGION);
    let url = format!(
        "https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{}",
        percent_encode(&alert.event_id)
    );
    (url.chars().count() <= URL_MAX).then_some(url)
}

/// Cuts `s` to at most `max` characters, ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push(ELLIPSIS);
    out
}

/// Escapes `&`, `<` and `>` for mrkdwn and cuts the result to at most `max`
/// characters without splitting an escape.
pub fn escape_truncate(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    let total: usize = s.chars().map(|c| escaped(c).chars().count()).sum();
    if total <= max {
        for c in s.chars() {
            out.push_str(&escaped(c));
        }
        return out;
    }
    for c in s.chars() {
        let piece = escaped(c);
        let n = piece.chars().count();
        if used + n + 1 > max {
            break;
        }
        out.push_str(&piece);
        used += n;
    }
    if max > 0 {
        out.push(ELLIPSIS);
    }
    out
}

fn escaped(c: char) -> String {
    match c {
        '&' => "&amp;".to_owned(),
        '<' => "&lt;".to_owned(),
        '>' => "&gt;".to_owned(),
        c => c.to_string(),
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Every place where `message` breaks one of Slack's limits, as sentences; empty when
/// the message is within them. The tests hold [`build_message`] to this.
pub fn limit_violations(message: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let blocks = message["attachments"][0]["blocks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if blocks.len() > BLOCKS_MAX {
        out.push(format!("{} blocks > {BLOCKS_MAX}", blocks.len()));
    }
    fn over(what: &str, v: &Value, max: usize) -> Option<String> {
        let n = v.as_str().map_or(0, |s| s.chars().count());
        (n > max).then(|| format!("{what} has {n} characters > {max}"))
    }
    out.extend(over("text", &message["text"], HEADER_TEXT_MAX));
    for (i, b) in blocks.iter().enumerate() {
        match b["type"].as_str() {
            Some("header") => out.extend(over(
                &format!("block {i} header"),
                &b["text"]["text"],
                HEADER_TEXT_MAX,
            )),
            Some("section") => {
                out.extend(over(
                    &format!("block {i} section"),
                    &b["text"]["text"],
                    SECTION_TEXT_MAX,
                ));
                let fields = b["fields"].as_array().cloned().unwrap_or_default();
                if fields.len() > FIELDS_MAX {
                    out.push(format!(
                        "block {i} has {} fields > {FIELDS_MAX}",
                        fields.len()
                    ));
                }
                for f in &fields {
                    out.extend(over(
                        &format!("block {i} field"),
                        &f["text"],
                        FIELD_TEXT_MAX,
                    ));
                }
            }
            Some("context") => {
                for e in b["elements"].as_array().into_iter().flatten() {
                    out.extend(over(
                        &format!("block {i} context"),
                        &e["text"],
                        SECTION_TEXT_MAX,
                    ));
                }
            }
            Some("actions") => {
                for e in b["elements"].as_array().into_iter().flatten() {
                    out.extend(over(
                        &format!("block {i} button"),
                        &e["text"]["text"],
                        BUTTON_TEXT_MAX,
                    ));
                    out.extend(over(&format!("block {i} url"), &e["url"], URL_MAX));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
