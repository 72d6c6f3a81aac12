//! Builds the Slack message for an alert: Block Kit blocks inside an attachment, so the
//! attachment's colour bar shows the severity.
//!
//! Every text is cut to Slack's documented limits (header 150 characters, section text
//! 3000, section field 2000, button text 75, URL 3000, at most 10 fields and 50 blocks):
//! Slack refuses the whole message with `invalid_blocks` when one of them is exceeded,
//! and an alert that never arrives is worse than a shortened one.
//!
//! Almost every text of an alert comes from a log event (principal, action, user agent,
//! request parameters, the reasons and title built from them), so an attacker chooses
//! it. Slack would render it: `*bold*`, `<!channel>` mentions, `<https://evil|click>`
//! links, bare URLs auto-linked, and control or bidi characters that reorder what the
//! reader sees. So:
//!
//! - in mrkdwn, event text is shown only inside inline code spans ([`code`]), where
//!   Slack applies no formatting, mentions, emoji or links; `&`, `<` and `>` are still
//!   escaped (Slack parses them everywhere) and a backtick, which has no escape inside
//!   code, becomes the look-alike `ˋ` (U+02CB) so it cannot close the span;
//! - in plain texts (the header, and the fallback `text` of notifications, which is
//!   sent with `"mrkdwn": false`) it goes through [`plain`];
//! - everywhere, control characters (newlines included: they would end a code span or
//!   forge lines), DEL, C1 controls, bidi overrides and isolates, zero-width and
//!   line-separator characters are shown as visible escapes (`\n`, `\u{202e}`), and
//!   `://` becomes `[://]` so no URL survives to be auto-linked.

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
    let headline = plain(&format!("[{label}] {}", alert.title()));

    let mut blocks = vec![
        json!({"type": "header",
               "text": {"type": "plain_text", "text": truncate(&headline, HEADER_TEXT_MAX),
                        "emoji": false}}),
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
        // `text` is what notifications and screen readers show; not mrkdwn, and escaped
        // because Slack parses `<…>` even in plain text.
        "text": escape_truncate(&headline, HEADER_TEXT_MAX),
        "mrkdwn": false,
        "attachments": [{"color": severity_colour(&label), "blocks": blocks}],
    })
}

fn fields(alert: &Alert, label: &str) -> Vec<Value> {
    let severity = if alert.severity_score > 0.0 {
        format!("{label} ({:.1})", alert.severity_score)
    } else {
        label.to_owned()
    };
    // `true`: text from the event, shown as code.
    let pairs = [
        ("Severity", severity, false),
        ("Principal", alert.principal.clone(), true),
        ("Account", alert.account.clone(), true),
        ("Region", alert.region.clone(), true),
        ("Action", alert.action.clone(), true),
        ("Source", alert.source.clone(), true),
        ("Time", alert.time.clone(), true),
        ("Anomaly score", format!("{:.2}", alert.score), false),
    ];
    pairs
        .into_iter()
        .filter(|(_, v, _)| !v.is_empty())
        .take(FIELDS_MAX)
        .map(|(name, value, untrusted)| {
            let prefix = format!("*{name}*\n");
            let room = FIELD_TEXT_MAX - prefix.chars().count();
            let shown = if untrusted {
                code(&value, room)
            } else {
                escape_truncate(&value, room)
            };
            json!({"type": "mrkdwn", "text": format!("{prefix}{shown}")})
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
        let line = format!("{BULLET}{}", code(reason, budget - BULLET.chars().count()));
        used += line.chars().count();
        out.push_str(&line);
    }
    out
}

fn context_text(alert: &Alert) -> String {
    // Each piece is capped so that the seven of them stay under the section limit.
    const PIECE: usize = 300;
    let mut parts: Vec<String> = alert
        .detections
        .iter()
        .take(5)
        .map(|d| match &d.technique {
            Some(t) => format!("{} ({})", code(&d.id, PIECE), code(t, PIECE)),
            None => code(&d.id, PIECE),
        })
        .collect();
    if alert.detections.len() > 5 {
        parts.push(format!("+{} more", alert.detections.len() - 5));
    }
    if !alert.finding_id.is_empty() {
        parts.push(format!("finding {}", code(&alert.finding_id, PIECE)));
    }
    if !alert.model_version.is_empty() {
        parts.push(format!("model {}", code(&alert.model_version, PIECE)));
    }
    if parts.is_empty() {
        parts.push("trailhound".to_owned());
    }
    parts.join(" · ")
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

/// Whether `c` must be shown as an escape: C0 controls (newline and tab included), DEL,
/// C1 controls, the bidi embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069, and the marks U+200E, U+200F, U+061C), zero-width characters
/// (U+200B–U+200D, U+2060, U+FEFF) and the line and paragraph separators.
pub fn is_hidden_char(c: char) -> bool {
    matches!(
        c,
        '\0'..='\x1f'
            | '\x7f'
            | '\u{80}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// The visible form of a hidden character: `\n`, `\r`, `\t`, `\x1b`, `\u{202e}`.
fn visible(c: char) -> String {
    match c {
        '\n' => "\\n".to_owned(),
        '\r' => "\\r".to_owned(),
        '\t' => "\\t".to_owned(),
        c if u32::from(c) < 0x80 => format!("\\x{:02x}", u32::from(c)),
        c => format!("\\u{{{:x}}}", u32::from(c)),
    }
}

/// Event text for a plain-text context: hidden characters made visible and `://`
/// broken (`[://]`) so nothing is auto-linked. No entity escaping: `plain_text`
/// objects show `&lt;` literally; mrkdwn contexts escape on top of this.
pub fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.replace("://", "[://]").chars() {
        if is_hidden_char(c) {
            out.push_str(&visible(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Event text as an inline code span of at most `max` characters (backticks
/// included; `…` inside the span when cut), made inert for mrkdwn: see the module
/// documentation. An empty text is shown as `(empty)`.
pub fn code(s: &str, max: usize) -> String {
    if s.is_empty() {
        return truncate("(empty)", max);
    }
    if max < 3 {
        return truncate("…", max);
    }
    let room = max - 2;
    let pieces: Vec<String> = plain(s)
        .chars()
        .map(|c| match c {
            '`' => "\u{2cb}".to_owned(),
            c => escaped(c),
        })
        .collect();
    let total: usize = pieces.iter().map(|p| p.chars().count()).sum();
    let mut out = String::from("`");
    if total <= room {
        out.extend(pieces);
    } else {
        let mut used = 0;
        for p in pieces {
            let n = p.chars().count();
            if used + n + 1 > room {
                break;
            }
            out.push_str(&p);
            used += n;
        }
        out.push(ELLIPSIS);
    }
    out.push('`');
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
