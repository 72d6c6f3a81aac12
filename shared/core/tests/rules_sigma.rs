//! Sigma rules through the whole pipeline on the in-memory ports: detection hits
//! become detections and reasons, thresholds become one finding per burst with an
//! id that a replay (even in a fresh process) reproduces.

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use trailhound_core::Severity;
use trailhound_core::pipeline::{PipelineConfig, Ports, run_object};
use trailhound_core::ports::{
    InMemoryAlertSink, InMemoryFindingStore, InMemoryModelSource, InMemoryObjectSource, NoProfiles,
    ObjectRef,
};
use trailhound_core::rules::sigma::RuleSet;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("in-memory port returned Pending"),
    }
}

fn fixture(rel: &str) -> Vec<Value> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    match v {
        Value::Object(mut m) if m.contains_key("Records") => match m.remove("Records") {
            Some(Value::Array(a)) => a,
            _ => panic!("Records"),
        },
        one => vec![one],
    }
}

/// A log file: a brute force (12 failures from one address), a stopped trail,
/// and a harmless read.
fn log_file() -> Vec<u8> {
    let mut records = fixture(
        "src/rules/sigma/builtin/tests/console_brute_force/match/one_address_twelve_failures.json",
    );
    records.extend(fixture(
        "tests/fixtures/sigma/rules/tests/cloudtrail_stopped/match/stop_logging.json",
    ));
    records.extend(fixture(
        "tests/fixtures/sigma/rules/tests/root_activity/nomatch/role_describe.json",
    ));
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

fn rules() -> Arc<RuleSet> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sigma/rules");
    let (set, errors) = RuleSet::builder().builtin().dir(&dir).build();
    assert!(errors.is_empty(), "{errors:?}");
    Arc::new(set)
}

fn run(rules: Option<Arc<RuleSet>>) -> Vec<trailhound_core::Finding> {
    let objects = InMemoryObjectSource::default();
    let key = ObjectRef {
        bucket: "trail".to_owned(),
        key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/123456789012_CloudTrail_us-east-1_20240304T1015Z_x.json.gz".to_owned(),
    };
    objects.insert(key.clone(), log_file());
    let ports = Ports {
        objects: &objects,
        models: &InMemoryModelSource::default(),
        findings: &InMemoryFindingStore::default(),
        alerts: &InMemoryAlertSink::default(),
        profiles: &NoProfiles,
    };
    let cfg = PipelineConfig {
        rules,
        ..PipelineConfig::default()
    };
    block_on(run_object(&key, &ports, &cfg)).unwrap().findings
}

#[test]
fn sigma_hits_and_thresholds_become_findings() {
    let without = run(None);
    assert!(
        without
            .iter()
            .all(|f| !f.primary_detection().starts_with("ct.threshold")),
        "no threshold findings without a rule set"
    );
    let findings = run(Some(rules()));
    let stop = findings
        .iter()
        .find(|f| f.action == "cloudtrail:StopLogging")
        .expect("StopLogging finding");
    let ids: Vec<&str> = stop.detections.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "ct.cloudtrail.stop_logging",
            "4d9c2c5e-3c1a-4f57-9d0e-6a1b7c2d8e01"
        ]
    );
    assert!(
        stop.reasons.contains(
            &"Sigma: CloudTrail logging stopped or trail deleted (succeeded) (T1562.008)"
                .to_owned()
        ),
        "{:?}",
        stop.reasons
    );
    // Critical (9.5) beats the built-in rule's 9.2.
    assert_eq!(stop.severity_score, 9.5);

    let burst: Vec<_> = findings
        .iter()
        .filter(|f| f.primary_detection() == "ct.threshold.console_brute_force_ip")
        .collect();
    assert_eq!(burst.len(), 1, "one finding per burst");
    let b = burst[0];
    assert_eq!(b.severity, Some(Severity::High));
    assert_eq!(b.detections[0].technique.as_deref(), Some("T1110.001"));
    assert_eq!(
        b.reasons[1],
        "10 matching events within 10 min (2024-03-04T10:00:00Z to 2024-03-04T10:02:33Z) for sourceIPAddress=203.0.113.66"
    );
    // The same user is targeted too.
    assert!(
        findings
            .iter()
            .any(|f| f.primary_detection() == "ct.threshold.console_brute_force_user")
    );
    // The base rule is silent: failed logins alone are not findings.
    assert!(findings.iter().all(|f| {
        f.detections
            .iter()
            .all(|d| d.id != "ct.base.console_login_failed")
    }));
}

#[test]
fn a_replay_in_a_fresh_process_gives_the_same_threshold_finding_ids() {
    let ids = |fs: Vec<trailhound_core::Finding>| -> Vec<String> {
        let mut v: Vec<String> = fs
            .into_iter()
            .filter(|f| f.primary_detection().starts_with("ct.threshold"))
            .map(|f| f.finding_id)
            .collect();
        v.sort();
        v
    };
    let first = ids(run(Some(rules())));
    let again = ids(run(Some(rules())));
    assert_eq!(first.len(), 2);
    assert_eq!(first, again);
}

#[test]
fn threshold_state_carries_over_between_objects_of_one_rule_set() {
    // Six failures in one object and six in the next: only together do they
    // reach ten, so the state must outlive the first object.
    let records = fixture(
        "src/rules/sigma/builtin/tests/console_brute_force/match/one_address_twelve_failures.json",
    );
    let set = rules();
    let objects = InMemoryObjectSource::default();
    let mut keys = Vec::new();
    for (n, part) in records.chunks(6).enumerate() {
        let key = ObjectRef {
            bucket: "trail".to_owned(),
            key: format!("AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/part{n}.json"),
        };
        objects.insert(
            key.clone(),
            serde_json::to_vec(&json!({"Records": part})).unwrap(),
        );
        keys.push(key);
    }
    let ports = Ports {
        objects: &objects,
        models: &InMemoryModelSource::default(),
        findings: &InMemoryFindingStore::default(),
        alerts: &InMemoryAlertSink::default(),
        profiles: &NoProfiles,
    };
    let cfg = PipelineConfig {
        rules: Some(set),
        ..PipelineConfig::default()
    };
    let first = block_on(run_object(&keys[0], &ports, &cfg))
        .unwrap()
        .findings;
    assert!(
        first
            .iter()
            .all(|f| !f.primary_detection().starts_with("ct.threshold"))
    );
    let second = block_on(run_object(&keys[1], &ports, &cfg))
        .unwrap()
        .findings;
    assert!(
        second
            .iter()
            .any(|f| f.primary_detection() == "ct.threshold.console_brute_force_ip")
    );
}
