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
