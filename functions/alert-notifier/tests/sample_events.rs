//! The sample events in infra/events/ have the shapes Lambda delivers: each parses into
//! its aws_lambda_events type, and what it wraps parses too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use aws_lambda_events::event::cloudwatch_logs::LogsEvent;
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sns::SnsEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use serde::de::DeserializeOwned;

fn load<T: DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/../../infra/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn s3_put_is_a_cloudtrail_object_created_event() {
    let event: S3Event = load("s3-put.json");
    let object = &event.records[0].s3.object;
    assert!(
        object
            .key
            .as_deref()
            .unwrap()
            .starts_with("AWSLogs/123456789012/CloudTrail/")
    );
    assert_eq!(
        event.records[0].event_name.as_deref(),
        Some("ObjectCreated:Put")
    );
}

#[test]
fn sqs_events_wrap_s3_notifications() {
    let event: SqsEvent = load("sqs-s3-put.json");
    let body: S3Event = serde_json::from_str(event.records[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body.records.len(), 1);

    let mixed: SqsEvent = load("sqs-s3-put-and-test-event.json");
    let test_event: serde_json::Value =
        serde_json::from_str(mixed.records[1].body.as_deref().unwrap()).unwrap();
    assert_eq!(
        test_event["Event"], "s3:TestEvent",
        "S3 sends one when a notification is added"
    );
}

#[test]
fn cloudwatch_logs_events_decode_to_log_entries() {
    for (name, group) in [
        ("cloudwatch-logs-vpcflow.json", "/vpc/flow-logs"),
        ("cloudwatch-logs-access-log.json", "/nginx/access"),
    ] {
        let event: LogsEvent = load(name);
        assert_eq!(event.aws_logs.data.log_group, group, "{name}");
        assert_eq!(event.aws_logs.data.log_events.len(), 2, "{name}");
    }
}

#[test]
fn sns_alert_carries_the_finding_and_its_attributes() {
    let event: SnsEvent = load("sns-alert.json");
    let sns = &event.records[0].sns;
    for attr in [
        "severity",
        "severity_score",
        "source",
        "detection",
        "account",
    ] {
        assert!(sns.message_attributes.contains_key(attr), "missing {attr}");
    }
    let alert = alert_notifier::alert::Alert::from_sns(sns).unwrap();
    assert_eq!(
        alert.severity_label(),
        sns.message_attributes["severity"].value
    );
}
