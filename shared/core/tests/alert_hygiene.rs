//! Alert hygiene through the whole pipeline on the in-memory ports: a burst of root
//! activity in one CloudTrail object alerts once per window, the rest is stored and
//! counted, suppression holds back what it names, and a replay alerts nothing.

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use trailhound_core::alerting::{AlertPolicy, Suppressions};
use trailhound_core::pipeline::{PipelineConfig, Ports, run_object};
use trailhound_core::ports::{
    InMemoryAlertSink, InMemoryFindingStore, InMemoryModelSource, InMemoryObjectSource, NoProfiles,
    ObjectRef,
};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    // The in-memory ports never pend, so one poll with a no-op waker completes them.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(f).as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("in-memory port returned Pending"),
    }
}

fn root_call(n: u32, time: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012","accessKeyId":"ASIAROOTEXAMPLE"}},"eventTime":"{time}","eventSource":"ec2.amazonaws.com","eventName":"DescribeRegions","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.77","userAgent":"aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64","requestParameters":{{"regionSet":{{}}}},"responseElements":null,"requestID":"7c1d2e3f-0000-4000-8000-{n:012}","eventID":"d1000000-0000-4000-8000-{n:012}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}}"#
    )
}

const STOP_LOGGING: &str = r#"{"eventVersion":"1.10","userIdentity":{"type":"AssumedRole","principalId":"AROAOPS:attacker","arn":"arn:aws:sts::123456789012:assumed-role/ops/attacker","accountId":"123456789012","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::123456789012:role/ops","userName":"ops"},"attributes":{"mfaAuthenticated":"false"}}},"eventTime":"2024-03-04T10:23:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"185.220.101.5","userAgent":"Boto3/1.26.0 Python/3.11.2 Linux/6.1.0-kali7-amd64 Botocore/1.29.0","requestParameters":{"name":"arn:aws:cloudtrail:us-east-1:123456789012:trail/main"},"responseElements":null,"eventID":"e0000000-0000-4000-8000-000000000010","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012"}"#;

/// 50 root calls between 10:00 and 10:49, one at 11:05, and a `StopLogging`.
fn object() -> (InMemoryObjectSource, ObjectRef) {
    let mut records: Vec<String> = (0..50)
        .map(|i| root_call(i, &format!("2024-03-04T10:{i:02}:00Z")))
        .collect();
    records.push(root_call(50, "2024-03-04T11:05:00Z"));
    records.push(STOP_LOGGING.to_owned());
    let body = format!("{{\"Records\":[{}]}}", records.join(","));
    let object = ObjectRef {
        bucket: "trail-bucket".into(),
        key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/123456789012_CloudTrail_us-east-1_20240304T1100Z_hygiene.json".into(),
    };
    let objects = InMemoryObjectSource::default();
    objects.insert(object.clone(), body.into_bytes());
    (objects, object)
}

fn cfg(suppressions: &str) -> PipelineConfig {
    let (s, _) = Suppressions::from_yaml(suppressions, "test", 1_700_000_000).unwrap();
    PipelineConfig {
        alert_policy: AlertPolicy {
            suppressions: Arc::new(s),
            ..AlertPolicy::default()
        },
        ..PipelineConfig::default()
    }
}

#[test]
fn a_burst_of_fifty_root_calls_alerts_once_per_window_and_a_replay_alerts_nothing() {
    let (objects, object) = object();
    let (models, store, sink) = (
        InMemoryModelSource::default(),
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let ports = Ports {
        objects: &objects,
        models: &models,
        findings: &store,
        alerts: &sink,
        profiles: &NoProfiles,
    };
    let cfg = cfg("");
    let first = block_on(run_object(&object, &ports, &cfg)).unwrap();
    let root = |f: &&trailhound_core::Finding| f.principal.ends_with(":root");
    assert_eq!(first.findings.iter().filter(root).count(), 51);
    // One alert for 10:00–10:59, one for 11:05, one for StopLogging.
    assert_eq!(first.summary.alerts, 3, "{:?}", first.summary);
    assert_eq!(first.summary.deduplicated, 49);
    assert_eq!(first.summary.suppressed, 0);
    let sent = sink.sent();
    assert_eq!(sent.len(), 3);
    let holder = sent
        .iter()
        .find(|f| f.time == "2024-03-04T10:00:00Z")
        .expect("the first root call alerts");
    let stored = store.findings();
    assert_eq!(stored.len(), 52, "every finding is stored");
    let stored_holder = stored
        .iter()
        .find(|f| f.finding_id == holder.finding_id)
        .unwrap();
    assert_eq!(stored_holder.triage.repeats, 49);
    assert_eq!(
        stored
            .iter()
            .filter(|f| f.triage.duplicate_of.as_deref() == Some(holder.finding_id.as_str()))
            .count(),
        49
    );

    let replay = block_on(run_object(&object, &ports, &cfg)).unwrap();
    assert_eq!(replay.summary.alerts, 0);
    assert_eq!(sink.sent().len(), 3);
    assert_eq!(store.findings().len(), 52);
}

#[test]
fn a_suppression_entry_holds_back_what_it_names_and_nothing_else() {
    let (objects, object) = object();
    let (models, store, sink) = (
        InMemoryModelSource::default(),
        InMemoryFindingStore::default(),
        InMemoryAlertSink::default(),
    );
    let ports = Ports {
        objects: &objects,
        models: &models,
        findings: &store,
        alerts: &sink,
        profiles: &NoProfiles,
    };
    let cfg = cfg(
        "suppressions:\n  - principal: \"arn:aws:iam::*:root\"\n    action: \"ec2:Describe*\"\n    reason: the break-glass drill of 4 March\n",
    );
    let report = block_on(run_object(&object, &ports, &cfg)).unwrap();
    assert_eq!(report.summary.suppressed, 51);
    assert_eq!(report.summary.deduplicated, 0);
    assert_eq!(report.summary.alerts, 1);
    assert_eq!(sink.sent()[0].action, "cloudtrail:StopLogging");
    assert!(
        report
            .findings
            .iter()
            .filter(|f| f.principal.ends_with(":root"))
            .all(|f| f.triage.suppressed_by.as_deref() == Some("the break-glass drill of 4 March"))
    );
}
