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

/// A detection rule whose condition is `condition`.
fn rule_with_condition(condition: &str) -> String {
    format!(
        "title: deep\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  selection:\n    eventName: StopLogging\n  condition: {condition}\n"
    )
}

/// Regression: a condition of 15,000 parentheses overflowed the stack and aborted
/// the process (3,000 on a 1 MB stack). 100,000 on a 256 KB stack now only skip
/// the file, with an error naming it.
#[test]
fn a_deeply_nested_condition_skips_its_file_instead_of_overflowing_the_stack() {
    let n = 100_000;
    let deep = rule_with_condition(&format!("{}selection{}", "(".repeat(n), ")".repeat(n)));
    let nots = rule_with_condition(&format!("{}selection", "not ".repeat(n)));
    let fine = rule_with_condition("((selection))");
    let (len, errors) = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let (set, errors) = RuleSet::from_yaml_strs(&[
                ("deep.yml", &deep),
                ("nots.yml", &nots),
                ("fine.yml", &fine),
            ]);
            (set.len(), errors)
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert_eq!(len, 1, "the shallow rule loads: {errors:?}");
    let files: Vec<&str> = errors.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(files, ["deep.yml", "nots.yml"]);
    for e in &errors {
        assert!(e.to_string().contains("deeper than 32 levels"), "{e}");
    }
}

/// Regression: 100,000 `[` in a YAML file took 28 s to parse (quadratic in
/// depth), and aliases of aliases expand without bound. Each is refused by a
/// linear pre-scan with an error naming the file; the parser never sees it.
#[test]
fn hostile_yaml_rule_files_are_refused_before_parsing() {
    let mut block = String::from("title: deep\ndetection:\n");
    for i in 1..100 {
        block.push_str(&format!("{}k{i}:\n", " ".repeat(2 * i)));
    }
    let mut bomb =
        String::from("title: lol\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let refs = vec![format!("*l{}", i - 1); 9].join(", ");
        bomb.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
    }
    bomb.push_str("detection:\n  selection:\n    eventName: *l8\n  condition: selection\n");
    let big = format!(
        "{}\n{}",
        rule_with_condition("selection"),
        "# padding\n".repeat(120_000)
    );
    let cases = [
        (
            "flow.yml",
            format!("title: [{}", "[".repeat(100_000)),
            "nests deeper than 64",
        ),
        (
            "map.yml",
            format!("title: {}", "{".repeat(100_000)),
            "nests deeper than 64",
        ),
        (
            "compact.yml",
            format!("title: x\ntags:\n{}", "- ".repeat(100_000)),
            "nests deeper than 64",
        ),
        ("block.yml", block, "nests deeper than 64"),
        ("bomb.yml", bomb, "aliases"),
        ("big.yml", big, "more than the 1048576 accepted"),
    ];
    let texts: Vec<(&str, &str)> = cases.iter().map(|(n, t, _)| (*n, t.as_str())).collect();
    let (set, errors) = RuleSet::from_yaml_strs(&texts);
    assert!(set.is_empty());
    assert_eq!(errors.len(), cases.len(), "{errors:?}");
    for ((name, _, want), e) in cases.iter().zip(&errors) {
        assert_eq!(e.file, *name);
        assert!(e.reason.starts_with("refused before parsing"), "{e}");
        assert!(e.reason.contains(want), "{e}");
    }
}

/// A rule file larger than the cap is refused without reading it whole.
#[test]
fn an_oversized_rule_file_on_disk_is_a_load_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.yml"), rule_with_condition("selection")).unwrap();
    let huge = format!(
        "{}{}",
        rule_with_condition("selection"),
        "#".repeat(3 << 20)
    );
    std::fs::write(dir.path().join("huge.yml"), huge).unwrap();
    let (set, errors) = RuleSet::load_dir(dir.path());
    assert_eq!(set.len(), 1);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].file.ends_with("huge.yml"), "{}", errors[0]);
    assert!(errors[0].reason.contains("larger than"), "{}", errors[0]);
}
