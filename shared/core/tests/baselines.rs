//! Behavioural baselines through the whole pipeline on the in-memory ports: one
//! profile read and one update per object, novelty as reasons, retries that change
//! nothing, and a failing store that fails the object for a retry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::Ordering;
use trailhound_core::baseline::{Profile, ProfileUpdate, day_of, profile_key};
use trailhound_core::pipeline::{PipelineConfig, PipelineError, Ports, run_object};
use trailhound_core::ports::{
    InMemoryAlertSink, InMemoryFindingStore, InMemoryModelSource, InMemoryObjectSource,
    InMemoryProfileStore, ObjectRef, Retry,
};
use trailhound_core::timefmt::format_rfc3339;

/// Tuesday 2024-03-12T10:00:00Z.
const NOW: i64 = 1_710_237_600;
const ALICE: &str = "arn:aws:iam::123456789012:user/alice";

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    // The in-memory ports never pend, so polling once completes them.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("in-memory port returned Pending"),
    }
}

fn record(
    i: usize,
    name: &str,
    source: &str,
    ip: &str,
    request: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEALICE",
            "arn": ALICE,
            "accountId": "123456789012",
            "userName": "alice"
        },
        "eventTime": format_rfc3339(NOW + i as i64),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.amzn.2",
        "requestParameters": request,
        "eventID": format!("baseline-evt-{i}"),
        "readOnly": false,
        "recipientAccountId": "123456789012"
    })
}

/// Alice's routine calls, then an access key created for bob from a new network.
fn object() -> Vec<u8> {
    let mut records: Vec<serde_json::Value> = (0..5)
        .map(|i| {
            record(
                i,
                "DescribeInstances",
                "ec2.amazonaws.com",
                "198.51.100.7",
                serde_json::Value::Null,
            )
        })
        .collect();
    records.push(record(
        5,
        "CreateAccessKey",
        "iam.amazonaws.com",
        "203.0.113.9",
        serde_json::json!({"userName": "bob"}),
    ));
    serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap()
}

/// Alice's profile after 20 days of DescribeInstances from 198.51.100.0/24.
fn mature_alice() -> Profile {
    let mut p = Profile::default();
    for d in 1..=20 {
        let t = NOW - d * 86_400;
        let mut seen = Profile::default();
        for _ in 0..5 {
            seen.record_time(t);
        }
        seen.networks.insert("198.51.100", day_of(t));
        seen.regions.insert("us-east-1", day_of(t));
        seen.clients.insert("cli", day_of(t));
        seen.actions.insert("ec2:DescribeInstances", day_of(t));
        seen.services.insert("ec2", day_of(t));
        seen.hours.insert("10", day_of(t));
        p.absorb(&ProfileUpdate {
            key: String::new(),
            origin: format!("day-{d}"),
            seen,
        });
    }
    p
}

struct World {
    objects: InMemoryObjectSource,
    models: InMemoryModelSource,
    store: InMemoryFindingStore,
    alerts: InMemoryAlertSink,
    profiles: InMemoryProfileStore,
    key: ObjectRef,
}

fn world() -> World {
    let key = ObjectRef {
        bucket: "trail".into(),
        key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/12/x.json".into(),
    };
    let objects = InMemoryObjectSource::default();
    objects.insert(key.clone(), object());
    World {
        objects,
        models: InMemoryModelSource::default(),
        store: InMemoryFindingStore::default(),
        alerts: InMemoryAlertSink::default(),
        profiles: InMemoryProfileStore::default(),
        key,
    }
}

fn ports(
    w: &World,
) -> Ports<
    '_,
    InMemoryObjectSource,
    InMemoryModelSource,
    InMemoryFindingStore,
    InMemoryAlertSink,
    InMemoryProfileStore,
> {
    Ports {
        objects: &w.objects,
        models: &w.models,
        findings: &w.store,
        alerts: &w.alerts,
        profiles: &w.profiles,
    }
}

#[test]
fn novelty_of_a_mature_principal_is_a_reason_and_is_learned_after() {
    let w = world();
    let alice = profile_key("123456789012", ALICE);
    w.profiles.insert(alice.clone(), mature_alice());
    let report = block_on(run_object(&w.key, &ports(&w), &PipelineConfig::default())).unwrap();
    assert_eq!(
        w.profiles.reads.load(Ordering::SeqCst),
        1,
        "one read per object"
    );
    assert_eq!(
        w.profiles.writes.load(Ordering::SeqCst),
        1,
        "one update per object"
    );
    let key = report
        .findings
        .iter()
        .find(|f| f.action == "iam:CreateAccessKey")
        .expect("the rule fires");
    let reasons = key.reasons.join("\n");
    assert!(
        reasons.contains("first use of iam by this principal in 30 days (`CreateAccessKey`)"),
        "{reasons}"
    );
    assert!(
        reasons.contains("first call from network 203.0.113 by this principal in 30 days"),
        "{reasons}"
    );
    assert!(!reasons.contains("region"), "us-east-1 is known: {reasons}");
    let learned = &w.profiles.profiles()[&alice];
    assert!(learned.actions.last_seen("iam:CreateAccessKey").is_some());
    assert!(learned.networks.last_seen("203.0.113").is_some());
    assert_eq!(learned.events, 100 + 6);

    // The same object again (a retry): nothing is counted twice.
    block_on(run_object(&w.key, &ports(&w), &PipelineConfig::default())).unwrap();
    assert_eq!(w.profiles.profiles()[&alice].events, 106);
}

#[test]
fn a_principal_in_its_learning_period_gets_no_novelty_reasons() {
    let w = world();
    let report = block_on(run_object(&w.key, &ports(&w), &PipelineConfig::default())).unwrap();
    let key = report
        .findings
        .iter()
        .find(|f| f.action == "iam:CreateAccessKey")
        .expect("rules fire at full severity in the learning period");
    assert!(key.severity_score >= 7.0, "{key:?}");
    assert!(
        key.reasons.iter().all(|r| !r.contains("in 30 days")),
        "{:?}",
        key.reasons
    );
    // Its first profile now exists, young.
    let p = &w.profiles.profiles()[&profile_key("123456789012", ALICE)];
    assert_eq!(p.events, 6);
}

#[test]
fn a_failing_profile_store_fails_the_object_for_a_retry() {
    let w = world();
    w.profiles.fail.store(true, Ordering::SeqCst);
    let err = block_on(run_object(&w.key, &ports(&w), &PipelineConfig::default())).unwrap_err();
    match &err {
        PipelineError::Port { stage, .. } => assert_eq!(*stage, "profiles"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.retry(), Retry::Retryable);
    assert!(
        w.alerts.sent().is_empty(),
        "nothing alerted before the profiles were read"
    );
}
