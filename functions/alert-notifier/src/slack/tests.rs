use super::*;
use crate::alert::{Alert, Detection};

fn finding() -> Alert {
    Alert {
        finding_id: "0f3c".into(),
        event_id: "5f4d6c1e-0000-4000-8000-000000000001".into(),
        source: "cloudtrail".into(),
        time: "2024-03-04T10:15:30Z".into(),
        account: "123456789012".into(),
        region: "eu-west-1".into(),
        principal: "arn:aws:iam::123456789012:user/alice".into(),
        action: "cloudtrail:StopLogging".into(),
        score: 0.91,
        severity: Some("high".into()),
        severity_score: 8.2,
        detections: vec![Detection {
            id: "ct.logging.stop_logging".into(),
            technique: Some("T1562.008".into()),
        }],
        reasons: vec![
            "CloudTrail logging was stopped".into(),
            "first time for <alice>".into(),
        ],
        model_version: "v3".into(),
    }
}

#[test]
fn shows_severity_colour_title_principal_account_region_and_reasons() {
    let m = build_message(&finding(), None);
    assert_eq!(m["attachments"][0]["color"], "#E01E5A");
    assert_eq!(m["text"], "[HIGH] cloudtrail:StopLogging by alice");
    let text = m.to_string();
    for needle in [
        "arn:aws:iam::123456789012:user/alice",
        "123456789012",
        "eu-west-1",
        "HIGH (8.2)",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    assert!(
        text.contains("first time for &lt;alice&gt;"),
        "reasons are escaped"
    );
    assert!(limit_violations(&m).is_empty());
}

#[test]
fn links_to_the_cloudtrail_event_in_its_region() {
    let m = build_message(&finding(), Some("us-west-2"));
    let blocks = m["attachments"][0]["blocks"].as_array().unwrap();
    let url = blocks.last().unwrap()["elements"][0]["url"]
        .as_str()
        .unwrap();
    assert_eq!(
        url,
        "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/5f4d6c1e-0000-4000-8000-000000000001"
    );
}

#[test]
fn console_region_fills_in_a_missing_region() {
    let mut a = finding();
    a.region.clear();
    let url = cloudtrail_console_url(&a, Some("us-west-2")).unwrap();
    assert!(
        url.starts_with("https://us-west-2.console.aws.amazon.com/"),
        "{url}"
    );
    assert!(
        cloudtrail_console_url(&a, None)
            .unwrap()
            .contains("region=us-east-1")
    );
}

#[test]
fn network_findings_have_no_cloudtrail_link() {
    let mut a = finding();
    a.source = "vpcflow".into();
    assert_eq!(cloudtrail_console_url(&a, None), None);
    let m = build_message(&a, None);
    assert!(!m.to_string().contains("console.aws.amazon.com"));
}

#[test]
fn event_ids_are_percent_encoded_in_links() {
    let mut a = finding();
    a.event_id = "a b#c".into();
    let url = cloudtrail_console_url(&a, None).unwrap();
    assert!(url.ends_with("/events/a%20b%23c"), "{url}");
}

#[test]
fn a_huge_finding_stays_within_every_limit() {
    let mut a = finding();
    a.action = "x".repeat(5000);
    a.principal = "<&>".repeat(3000);
    a.reasons = (0..400)
        .map(|i| format!("reason {i} {}", "y".repeat(300)))
        .collect();
    a.detections = (0..40)
        .map(|i| Detection {
            id: format!("rule-{i}"),
            technique: None,
        })
        .collect();
    let m = build_message(&a, None);
    assert_eq!(limit_violations(&m), Vec::<String>::new());
    let why = m["attachments"][0]["blocks"][2]["text"]["text"]
        .as_str()
        .unwrap();
    assert!(
        why.contains("more"),
        "the cut is visible: {}",
        &why[why.len() - 40..]
    );
}

#[test]
fn escape_truncate_never_splits_an_entity() {
    for max in 0..12 {
        let s = escape_truncate("a&b<c>d&e", max);
        assert!(s.chars().count() <= max, "{max}: {s}");
        let body = s.trim_end_matches('…');
        assert!(
            !body.contains('&') || body.matches('&').count() == body.matches(';').count(),
            "{max}: {s}"
        );
    }
    assert_eq!(escape_truncate("a&b", 10), "a&amp;b");
}

#[test]
fn truncate_counts_characters_not_bytes() {
    assert_eq!(truncate("ééééé", 5), "ééééé");
    assert_eq!(truncate("éééééé", 5), "éééé…");
}

#[test]
fn unknown_severity_is_grey() {
    let mut a = finding();
    a.severity = None;
    let m = build_message(&a, None);
    assert_eq!(m["attachments"][0]["color"], "#9E9E9E");
    assert!(m["text"].as_str().unwrap().starts_with("[UNKNOWN]"));
}

/// Strings an attacker can put in a user agent, a request parameter or a role name.
const HOSTILE: [&str; 9] = [
    "<!channel>",
    "<!here|here> <@U012345> <#C012345>",
    "*bold* _italic_ ~strike~",
    "https://evil.example/x",
    "<https://evil.example|click>",
    "`code` break ```block```",
    "\u{1b}[31mred\u{1b}]8;;https://evil.example\u{7}",
    "admin\u{202e}txt.exe",
    "line one\n> quoted\n:rotating_light: @channel #general",
];

fn hostile_alert(text: &str) -> Alert {
    Alert {
        principal: format!("arn:aws:iam::123456789012:role/{text}"),
        action: text.to_owned(),
        region: text.to_owned(),
        source: text.to_owned(),
        time: text.to_owned(),
        account: text.to_owned(),
        reasons: vec![format!("user agent {text} is new"), text.to_owned()],
        detections: vec![Detection {
            id: text.to_owned(),
            technique: Some(text.to_owned()),
        }],
        finding_id: text.to_owned(),
        model_version: text.to_owned(),
        ..finding()
    }
}

/// Every mrkdwn string of a message, with where it is.
fn mrkdwn_texts(m: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, b) in m["attachments"][0]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        if b["text"]["type"] == "mrkdwn" {
            out.push((
                format!("block {i} text"),
                b["text"]["text"].as_str().unwrap().to_owned(),
            ));
        }
        for f in b["fields"].as_array().into_iter().flatten() {
            out.push((
                format!("block {i} field"),
                f["text"].as_str().unwrap().to_owned(),
            ));
        }
        for e in b["elements"].as_array().into_iter().flatten() {
            if e["type"] == "mrkdwn" {
                out.push((
                    format!("block {i} context"),
                    e["text"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    out
}

/// Splits mrkdwn into (outside code, inside code) parts; panics on an unclosed span.
fn code_split(text: &str) -> (String, Vec<String>) {
    let mut outside = String::new();
    let mut inside = Vec::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 0 {
            outside.push_str(part);
        } else {
            inside.push(part.to_owned());
        }
    }
    assert!(
        text.matches('`').count() % 2 == 0,
        "unclosed code span in {text:?}"
    );
    (outside, inside)
}

/// A `scheme://` that was not broken into `[://]`.
fn live_url(s: &str) -> bool {
    s.replace("[://]", "").contains("://")
}

fn is_raw_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}')
}

#[test]
fn hostile_event_text_is_inert_in_every_slack_text() {
    for hostile in HOSTILE {
        let m = build_message(&hostile_alert(hostile), Some("us-east-1"));
        assert!(limit_violations(&m).is_empty(), "{hostile:?}");
        assert_eq!(m["mrkdwn"], false, "the fallback text is not mrkdwn");
        for (what, text) in mrkdwn_texts(&m) {
            let (outside, inside) = code_split(&text);
            // Outside code only our own labels and punctuation remain.
            for bad in ["<", "://", "evil", "channel", "red", "~", "_italic"] {
                assert!(
                    !outside.contains(bad),
                    "{hostile:?}: {what} has {bad:?} outside code: {text:?}"
                );
            }
            // Our own layout uses newlines outside code; nothing hidden is raw inside.
            assert!(
                !outside.chars().any(|c| c != '\n' && is_raw_hidden(c)),
                "{hostile:?}: {what} has a raw control or bidi character: {text:?}"
            );
            for span in inside {
                assert!(
                    !span.contains('<') && !span.contains('>'),
                    "{what}: {span:?}"
                );
                assert!(!live_url(&span), "{what}: a URL survived: {span:?}");
                assert!(
                    !span.chars().any(is_raw_hidden),
                    "{hostile:?}: {what} has a raw control or bidi character: {span:?}"
                );
            }
        }
        for plain_text in [
            m["text"].as_str().unwrap(),
            m["attachments"][0]["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap(),
        ] {
            assert!(!live_url(plain_text), "{hostile:?}: {plain_text:?}");
            assert!(
                !plain_text.chars().any(is_raw_hidden),
                "{hostile:?}: {plain_text:?}"
            );
        }
        assert!(
            !m["text"].as_str().unwrap().contains('<'),
            "{hostile:?}: the fallback text must escape <"
        );
    }
}

#[test]
fn mentions_links_and_formatting_show_as_literal_code() {
    let m = build_message(&hostile_alert("<https://evil.example|click> *now*"), None);
    let text = m.to_string();
    assert!(
        text.contains("`&lt;https[://]evil.example|click&gt; *now*`"),
        "{text}"
    );
    let m = build_message(&hostile_alert("<!channel>"), None);
    let reasons = m["attachments"][0]["blocks"][2]["text"]["text"]
        .as_str()
        .unwrap();
    assert_eq!(
        reasons,
        "*Why*\n• `user agent &lt;!channel&gt; is new`\n• `&lt;!channel&gt;`"
    );
}

#[test]
fn backticks_cannot_close_a_code_span() {
    assert_eq!(code("a`b", 100), "`a\u{2cb}b`");
    assert_eq!(code("```", 100), "`\u{2cb}\u{2cb}\u{2cb}`");
    let (_, inside) = code_split(&code("x` *bold* `y", 100));
    assert_eq!(inside, ["x\u{2cb} *bold* \u{2cb}y"]);
}

#[test]
fn control_and_bidi_characters_are_shown_escaped() {
    assert_eq!(code("a\u{202e}b", 100), "`a\\u{202e}b`");
    assert_eq!(code("\u{1b}[2J", 100), "`\\x1b[2J`");
    assert_eq!(code("one\ntwo\r", 100), "`one\\ntwo\\r`");
    assert_eq!(plain("x\u{2066}y\u{feff}"), "x\\u{2066}y\\u{feff}");
    assert_eq!(
        plain("see https://evil.example"),
        "see https[://]evil.example"
    );
}

#[test]
fn code_spans_are_cut_inside_and_stay_closed() {
    for max in 0..40 {
        let c = code("<<<<<<<<<<``````https://evil.example", max);
        assert!(c.chars().count() <= max.max(1), "{max}: {c:?}");
        if max >= 3 {
            assert!(c.starts_with('`') && c.ends_with('`'), "{max}: {c:?}");
            code_split(&c);
        }
        assert!(!c.contains("&l…") && !c.contains("&lt…t"), "{max}: {c:?}");
    }
    assert_eq!(code("", 100), "(empty)");
}
