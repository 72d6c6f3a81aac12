//! The notifier against a fake Slack on loopback: retries, give-ups and truncation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use alert_notifier::deliver::DeliveryError;
use alert_notifier::slack::limit_violations;
use alert_notifier::{Notifier, RetryPolicy, SlackWebhook, WebhookUrl};
use common::{FakeSlack, RecordingSleep, Reply, finding, sns_event_with};
use std::time::Duration;

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(400),
        max_total_wait: Duration::from_secs(30),
    }
}

fn notifier(slack: &FakeSlack, policy: RetryPolicy) -> (Notifier<RecordingSleep>, RecordingSleep) {
    let sleep = RecordingSleep::default();
    let url = WebhookUrl::parse(&slack.url()).unwrap();
    let hook = SlackWebhook::with_sleep(url, policy, sleep.clone()).unwrap();
    (Notifier::new(hook, None), sleep)
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_delivered_once() {
    let slack = FakeSlack::start(vec![
        Reply::new(429, "rate_limited").header("Retry-After", "7"),
        Reply::new(200, "ok"),
    ]);
    let (notifier, sleep) = notifier(&slack, policy(5));
    let outcome = notifier
        .handle(sns_event_with(&finding("high")))
        .await
        .unwrap();
    assert_eq!(outcome.delivered, 1);
    let bodies = slack.bodies();
    assert_eq!(bodies.len(), 2, "one rejected post, one delivered post");
    assert_eq!(bodies[0], bodies[1], "the retry sends the same message");
    assert_eq!(
        sleep.waits(),
        [Duration::from_secs(7)],
        "Retry-After is honoured"
    );
    let message: serde_json::Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(message["text"], "[HIGH] cloudtrail:StopLogging by alice");
}

#[tokio::test]
async fn a_persistent_500_is_returned_as_an_error_after_bounded_attempts() {
    let slack = FakeSlack::start(vec![Reply::new(500, "internal_error")]);
    let (notifier, sleep) = notifier(&slack, policy(4));
    let err = notifier
        .handle(sns_event_with(&finding("critical")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::GaveUp { attempts: 4, .. }),
        "{err}"
    );
    assert_eq!(slack.bodies().len(), 4);
    let ms: Vec<u128> = sleep.waits().iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [100, 200, 400], "exponential backoff, capped");
}

#[tokio::test]
async fn a_retry_after_beyond_the_wait_budget_gives_up_at_once() {
    let slack = FakeSlack::start(vec![
        Reply::new(429, "rate_limited").header("Retry-After", "120"),
    ]);
    let (notifier, sleep) = notifier(&slack, policy(5));
    let err = notifier
        .handle(sns_event_with(&finding("high")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::GaveUp { attempts: 1, .. }),
        "{err}"
    );
    assert!(sleep.waits().is_empty());
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let slack = FakeSlack::start(vec![Reply::new(400, "invalid_blocks")]);
    let (notifier, _) = notifier(&slack, policy(5));
    let err = notifier
        .handle(sns_event_with(&finding("high")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DeliveryError::Rejected { status: 400, body } if body == "invalid_blocks"),
        "{err}"
    );
    assert_eq!(slack.bodies().len(), 1);
}

#[tokio::test]
async fn a_very_long_finding_is_posted_within_slack_limits() {
    let slack = FakeSlack::start(vec![Reply::new(200, "ok")]);
    let (notifier, _) = notifier(&slack, policy(2));
    let mut f = finding("critical");
    f["principal"] = "arn:aws:sts::123456789012:assumed-role/".repeat(400).into();
    f["action"] = "s3:GetObject ".repeat(1000).into();
    f["reasons"] = (0..300)
        .map(|i| format!("reason {i}: {}", "<&>".repeat(200)))
        .collect();
    notifier.handle(sns_event_with(&f)).await.unwrap();
    let bodies = slack.bodies();
    assert_eq!(bodies.len(), 1);
    let message: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(limit_violations(&message), Vec::<String>::new());
    assert!(
        bodies[0].contains("…and "),
        "the cut is visible to the reader"
    );
}

#[tokio::test]
async fn a_record_that_is_not_a_finding_is_skipped_not_retried() {
    let slack = FakeSlack::start(vec![Reply::new(200, "ok")]);
    let (notifier, _) = notifier(&slack, policy(2));
    let mut event = sns_event_with(&finding("high"));
    event.records[0].sns.message = "plain text".into();
    let outcome = notifier.handle(event).await.unwrap();
    assert_eq!((outcome.delivered, outcome.skipped), (0, 1));
    assert!(slack.bodies().is_empty());
}

#[tokio::test]
async fn network_errors_never_reveal_the_webhook_url() {
    // A port that was just free: nothing listens there, so connecting is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = WebhookUrl::parse(&format!(
        "http://127.0.0.1:{port}/services/T/B/sekrit-token"
    ))
    .unwrap();
    let sleep = RecordingSleep::default();
    let hook = SlackWebhook::with_sleep(url, policy(2), sleep).unwrap();
    let err = hook
        .post(&serde_json::json!({"text": "x"}))
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(err, DeliveryError::GaveUp { attempts: 2, .. }),
        "{shown}"
    );
    assert!(!shown.contains("sekrit"), "{shown}");
}
