//! The whole pipeline on the in-memory ports: a simulated account with attacks,
//! a model trained on a clean day, one object processed end to end, then again.

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use trailhound_core::Severity;
use trailhound_core::decode::Limits;
use trailhound_core::models::iforest::IsolationForestParams;
use trailhound_core::models::train::train_cloudtrail;
use trailhound_core::pipeline::{PipelineConfig, PipelineError, Ports, run_object};
use trailhound_core::ports::{
    InMemoryAlertSink, InMemoryFindingStore, InMemoryModelSource, InMemoryObjectSource, ObjectRef,
    Retry,
};
use trailhound_core::sources::cloudtrail::CtBatch;
use trailhound_simulate::cloudtrail::{Scenario, SimConfig, SimObject, generate};

fn simulate(cfg: &SimConfig) -> Vec<SimObject> {
    let mut objects = Vec::new();
    generate::<std::io::Error>(
        cfg,
        |o| {
            objects.push(o);
            Ok(())
        },
        |_| Ok(()),
    )
    .expect("simulate");
    objects.retain(|o| !o.key.contains("CloudTrail-Digest"));
    objects
}

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

struct World {
    objects: InMemoryObjectSource,
    models: InMemoryModelSource,
    store: InMemoryFindingStore,
    alerts: InMemoryAlertSink,
    attack_key: ObjectRef,
}

fn world() -> World {
    let clean = simulate(&SimConfig {
        days: 1,
        events_per_day: 4000,
        scenarios: Scenario::all_benign(),
        ..SimConfig::default()
    });
    let model = train_cloudtrail(
        || {
            clean.iter().map(|o| {
                CtBatch::read(&o.body[..], &Limits::default()).expect("read training object")
            })
        },
        &IsolationForestParams::default(),
    )
    .expect("train");
    // The scanned day: root usage (a rule-level attack) among normal traffic.
    let scanned = simulate(&SimConfig {
        seed: 7,
        days: 1,
        events_per_day: 4000,
        scenarios: vec![Scenario::RootUsage, Scenario::LoggingTampering],
        ..SimConfig::default()
    });
    let objects = InMemoryObjectSource::default();
    let mut attack_key = None;
    for o in scanned {
        let r = ObjectRef {
            bucket: "trail-bucket".into(),
            key: o.key.clone(),
        };
        let text = String::from_utf8_lossy(
            &trailhound_core::decode::read_all(&o.body, 1 << 30).expect("gunzip"),
        )
        .into_owned();
        if text.contains("StopLogging") {
            attack_key = Some(r.clone());
        }
        objects.insert(r, o.body);
    }
    World {
        objects,
        models: InMemoryModelSource {
            model: Some(Arc::new(model)),
        },
        store: InMemoryFindingStore::default(),
        alerts: InMemoryAlertSink::default(),
        attack_key: attack_key.expect("an object with StopLogging"),
    }
}

#[test]
fn stores_and_alerts_once_even_when_the_object_is_processed_twice() {
    let w = world();
    let ports = Ports {
        objects: &w.objects,
        models: &w.models,
        findings: &w.store,
        alerts: &w.alerts,
        profiles: &trailhound_core::ports::NoProfiles,
    };
    let cfg = PipelineConfig::default();
    let first = block_on(run_object(&w.attack_key, &ports, &cfg)).expect("first run");
    let stop = first
        .findings
        .iter()
        .find(|f| f.action == "cloudtrail:StopLogging")
        .expect("StopLogging is a finding");
    assert_eq!(stop.severity, Some(Severity::Critical));
    assert!(
        stop.detections
            .iter()
            .any(|d| d.id == "ct.cloudtrail.stop_logging")
    );
    assert!(!stop.reasons.is_empty());
    let stored = w.store.findings().len();
    let alerted = w.alerts.sent().len();
    assert!(stored >= 1 && alerted >= 1);
    assert!(
        w.alerts
            .sent()
            .iter()
            .all(|f| f.severity >= Some(Severity::Medium))
    );

    let second = block_on(run_object(&w.attack_key, &ports, &cfg)).expect("second run");
    assert_eq!(second.findings.len(), first.findings.len(), "same findings");
    assert_eq!(w.store.findings().len(), stored, "nothing stored twice");
    assert_eq!(w.alerts.sent().len(), alerted, "nothing alerted twice");
    assert_eq!(w.store.summaries().len(), 2);
    assert_eq!(second.summary.alerts, 0);
}

#[test]
fn a_failed_alert_is_sent_on_the_retry_and_only_then() {
    let w = world();
    let ports = Ports {
        objects: &w.objects,
        models: &w.models,
        findings: &w.store,
        alerts: &w.alerts,
        profiles: &trailhound_core::ports::NoProfiles,
    };
    let cfg = PipelineConfig::default();
    w.alerts.fail.store(true, Ordering::SeqCst);
    let err = block_on(run_object(&w.attack_key, &ports, &cfg)).expect_err("alerts fail");
    assert!(matches!(err, PipelineError::Port { stage: "alert", .. }));
    assert_eq!(err.retry(), Retry::Retryable);
    assert!(w.alerts.sent().is_empty());
    w.alerts.fail.store(false, Ordering::SeqCst);
    block_on(run_object(&w.attack_key, &ports, &cfg)).expect("retry");
    let sent = w.alerts.sent().len();
    assert!(sent >= 1);
    block_on(run_object(&w.attack_key, &ports, &cfg)).expect("replay");
    assert_eq!(w.alerts.sent().len(), sent);
}

#[test]
fn digests_and_bad_objects_are_told_apart() {
    let w = world();
    let ports = Ports {
        objects: &w.objects,
        models: &w.models,
        findings: &w.store,
        alerts: &w.alerts,
        profiles: &trailhound_core::ports::NoProfiles,
    };
    let cfg = PipelineConfig::default();
    let digest = ObjectRef {
        bucket: "trail-bucket".into(),
        key: "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/03/04/123456789012_CloudTrail-Digest_us-east-1_20240304T010000Z.json.gz".into(),
    };
    let report = block_on(run_object(&digest, &ports, &cfg)).expect("digest skipped");
    assert!(report.skipped.is_some());

    let corrupt = ObjectRef {
        bucket: "trail-bucket".into(),
        key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/corrupt.json.gz".into(),
    };
    w.objects.insert(
        corrupt.clone(),
        vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3],
    );
    let err = block_on(run_object(&corrupt, &ports, &cfg)).expect_err("corrupt object");
    assert_eq!(err.retry(), Retry::NonRetryable);
    assert!(err.to_string().contains("corrupt.json.gz"), "{err}");

    let without_model = InMemoryModelSource { model: None };
    let rules_only = Ports {
        models: &without_model,
        ..ports
    };
    let report = block_on(run_object(&w.attack_key, &rules_only, &cfg)).expect("rules only");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.action == "cloudtrail:StopLogging")
    );
    assert!(report.findings.iter().all(|f| f.model_version == "none"));
}

/// Regression: an object became one batch, so its memory grew with its event
/// count (2M tiny records: hundreds of MB). It is now read, scored and delivered
/// `SEGMENT_EVENTS` at a time; an object past one segment still gives every
/// finding, the right counts (malformed and oversized records skipped), and one
/// profile update per principal with the events of all segments.
#[test]
fn an_object_larger_than_a_segment_is_scored_segment_by_segment() {
    use trailhound_core::pipeline::SEGMENT_EVENTS;
    use trailhound_core::ports::InMemoryProfileStore;
    let record = |i: usize, name: &str, source: &str| {
        format!(
            r#"{{"userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","userName":"alice"}},"eventTime":"2024-03-04T10:{:02}:{:02}Z","eventSource":"{source}","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10","eventID":"e{i}","recipientAccountId":"123456789012"}}"#,
            (i / 60) % 60,
            i % 60
        )
    };
    let n = SEGMENT_EVENTS + 20;
    let stops = [10, SEGMENT_EVENTS + 10];
    let mut records: Vec<String> = (0..n)
        .map(|i| {
            if stops.contains(&i) {
                record(i, "StopLogging", "cloudtrail.amazonaws.com")
            } else {
                record(i, "ListUsers", "iam.amazonaws.com")
            }
        })
        .collect();
    records.insert(5, r#"{"eventID":"no-time"}"#.to_owned());
    records.insert(
        SEGMENT_EVENTS + 5,
        format!(r#"{{"eventID":"huge","x":"{}"}}"#, "a".repeat(9 << 20)),
    );
    let body = format!("{{\"Records\":[{}]}}", records.join(",")).into_bytes();
    let key = ObjectRef {
        bucket: "b".into(),
        key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/big.json".into(),
    };
    let objects = InMemoryObjectSource::default();
    objects.insert(key.clone(), body);
    let store = InMemoryFindingStore::default();
    let profiles = InMemoryProfileStore::default();
    let ports = Ports {
        objects: &objects,
        models: &InMemoryModelSource { model: None },
        findings: &store,
        alerts: &InMemoryAlertSink::default(),
        profiles: &profiles,
    };
    let report = block_on(run_object(&key, &ports, &PipelineConfig::default())).expect("run");
    assert_eq!(report.summary.records, n as u64 + 2);
    assert_eq!(report.summary.skipped, 2);
    let stopped: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.action == "cloudtrail:StopLogging")
        .map(|f| f.event_id.as_str())
        .collect();
    assert_eq!(stopped, ["e10", &format!("e{}", SEGMENT_EVENTS + 10)]);
    assert_eq!(profiles.writes.load(Ordering::SeqCst), 1, "learned once");
    let learned = profiles.profiles();
    assert_eq!(learned.len(), 1, "one principal");
    let alice = learned.values().next().expect("alice");
    assert_eq!(alice.events, n as u64, "events of both segments");
}
