//! The pipeline's deadline: an object that would take too long is abandoned part
//! way (parse or delivery), and a retry of it stores and alerts nothing twice.

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trailhound_core::Finding;
use trailhound_core::pipeline::{
    Deadline, Margin, PipelineConfig, PipelineError, Ports, run_object_until,
};
use trailhound_core::ports::{
    AlertSink, InMemoryAlertSink, InMemoryFindingStore, InMemoryModelSource, InMemoryObjectSource,
    NoProfiles, ObjectRef, PortError, Retry,
};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    // The in-memory ports never pend, so polling once with a no-op waker completes them.
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("in-memory port returned Pending"),
    }
}

/// A plain CloudTrail file of `n` `StopLogging` calls, each by its own user: every
/// record is a critical finding that alerts (no two share a deduplication key).
fn stop_logging_by_many(n: usize) -> Vec<u8> {
    let records: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "eventVersion": "1.09",
                "userIdentity": {
                    "type": "IAMUser",
                    "principalId": "AIDAEXAMPLEUSERID1234",
                    "arn": format!("arn:aws:iam::123456789012:user/u{i}"),
                    "accountId": "123456789012",
                    "userName": format!("u{i}")
                },
                "eventTime": format!("2024-03-04T10:{:02}:{:02}Z", (i / 60) % 60, i % 60),
                "eventSource": "cloudtrail.amazonaws.com",
                "eventName": "StopLogging",
                "awsRegion": "us-east-1",
                "sourceIPAddress": "198.51.100.7",
                "userAgent": "aws-cli/2.15.0",
                "requestID": format!("req-{i}"),
                "eventID": format!("evt-{i}"),
                "readOnly": false,
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": "123456789012"
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

fn key() -> ObjectRef {
    ObjectRef {
        bucket: "trail".into(),
        key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/123456789012_CloudTrail_us-east-1_20240304T1010Z_deadline.json".into(),
    }
}

/// An alert sink whose first publish takes until `until`: the deadline passes
/// while the first chunk of findings is being delivered.
struct SlowFirstAlert {
    inner: InMemoryAlertSink,
    until: Instant,
    slept: Mutex<bool>,
}

impl AlertSink for SlowFirstAlert {
    async fn publish(&self, finding: &Finding) -> Result<(), PortError> {
        let first = !std::mem::replace(&mut *self.slept.lock().unwrap(), true);
        if first {
            std::thread::sleep(self.until.saturating_duration_since(Instant::now()));
        }
        self.inner.publish(finding).await
    }
}

#[test]
fn a_passed_deadline_stops_an_object_before_it_is_read() {
    let objects = InMemoryObjectSource::default();
    objects.insert(key(), stop_logging_by_many(10));
    let (store, sink) = (
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let ports = Ports {
        objects: &objects,
        models: &InMemoryModelSource::default(),
        findings: &store,
        alerts: &sink,
        profiles: &NoProfiles,
    };
    let past = Deadline::at(Instant::now());
    let err = block_on(run_object_until(
        &key(),
        &ports,
        &PipelineConfig::default(),
        past,
    ))
    .unwrap_err();
    assert!(
        matches!(err, PipelineError::Deadline { records: 0, .. }),
        "{err}"
    );
    assert_eq!(err.retry(), Retry::Retryable);
    assert!(store.findings().is_empty() && store.summaries().is_empty());
}

#[test]
fn a_long_parse_is_abandoned_part_way_at_the_deadline() {
    const RECORDS: usize = 60_000;
    let objects = InMemoryObjectSource::default();
    objects.insert(key(), stop_logging_by_many(RECORDS));
    let (store, sink) = (
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let ports = Ports {
        objects: &objects,
        models: &InMemoryModelSource::default(),
        findings: &store,
        alerts: &sink,
        profiles: &NoProfiles,
    };
    let err = block_on(run_object_until(
        &key(),
        &ports,
        &PipelineConfig::default(),
        Deadline::after(Duration::from_millis(30)),
    ))
    .unwrap_err();
    match err {
        PipelineError::Deadline { records, .. } => assert!(
            (records as usize) < RECORDS,
            "stopped after {records} of {RECORDS} records"
        ),
        other => panic!("expected a deadline stop, got {other}"),
    }
    assert!(store.findings().is_empty(), "stopped before storing");
    assert!(sink.sent().is_empty());
}

#[test]
fn an_object_stopped_mid_delivery_stores_and_alerts_nothing_twice_on_retry() {
    // Three chunks of findings (4096 events a chunk).
    let body = stop_logging_by_many(9_000);
    let objects = InMemoryObjectSource::default();
    objects.insert(key(), body);
    let models = InMemoryModelSource::default();
    let cfg = PipelineConfig::default();

    // What one uninterrupted run stores and alerts.
    let (clean_store, clean_sink) = (
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let clean = Ports {
        objects: &objects,
        models: &models,
        findings: &clean_store,
        alerts: &clean_sink,
        profiles: &NoProfiles,
    };
    block_on(run_object_until(&key(), &clean, &cfg, Deadline::NEVER)).unwrap();
    let ids = |fs: Vec<Finding>| -> Vec<String> {
        let mut v: Vec<String> = fs.into_iter().map(|f| f.finding_id).collect();
        v.sort();
        v
    };
    let want_stored = ids(clean_store.findings());
    let want_alerted = ids(clean_sink.sent());
    assert_eq!(want_alerted.len(), 9_000, "every StopLogging alerts");

    // The deadline passes while the first chunk is delivered: the run stops there.
    let deadline = Instant::now() + Duration::from_secs(3);
    let (store, sink) = (
        InMemoryFindingStore::default(),
        SlowFirstAlert {
            inner: InMemoryAlertSink::default(),
            until: deadline + Duration::from_millis(5),
            slept: Mutex::new(false),
        },
    );
    let ports = Ports {
        objects: &objects,
        models: &models,
        findings: &store,
        alerts: &sink,
        profiles: &NoProfiles,
    };
    let err = block_on(run_object_until(
        &key(),
        &ports,
        &cfg,
        Deadline::at(deadline),
    ))
    .unwrap_err();
    assert!(matches!(err, PipelineError::Deadline { .. }), "{err}");
    let partial = store.findings().len();
    assert!(
        partial > 0 && partial < want_stored.len(),
        "the first chunk was stored before the stop ({partial} of {})",
        want_stored.len()
    );
    assert!(
        store.summaries().is_empty(),
        "no summary for a stopped object"
    );

    // The retry (as SQS redelivers it) completes: the same findings, each alerted once.
    block_on(run_object_until(&key(), &ports, &cfg, Deadline::NEVER)).unwrap();
    assert_eq!(ids(store.findings()), want_stored);
    let alerted = ids(sink.inner.sent());
    let unique: BTreeSet<&String> = alerted.iter().collect();
    assert_eq!(unique.len(), alerted.len(), "an alert went out twice");
    assert_eq!(alerted, want_alerted);
    assert_eq!(store.summaries().len(), 1);
}

#[test]
fn the_margin_is_the_larger_of_its_minimum_and_its_share() {
    let m = Margin::default();
    assert_eq!(m.of(Duration::from_secs(120)), Duration::from_secs(12));
    assert_eq!(m.of(Duration::from_secs(10)), Duration::from_secs(2));
    let odd = Margin {
        min: Duration::ZERO,
        fraction: f64::NAN,
    };
    assert_eq!(odd.of(Duration::from_secs(10)), Duration::ZERO);
}

#[test]
fn a_deadline_before_a_limit_keeps_the_margin_in_reserve() {
    let limit = std::time::SystemTime::now() + Duration::from_secs(100);
    let left = Deadline::before(limit, Margin::default())
        .remaining()
        .unwrap();
    assert!(
        left <= Duration::from_secs(90) && left > Duration::from_secs(85),
        "{left:?}"
    );
    let past = std::time::SystemTime::now() - Duration::from_secs(1);
    assert!(Deadline::before(past, Margin::default()).passed());
    assert!(!Deadline::NEVER.passed() && Deadline::NEVER.remaining().is_none());
}
