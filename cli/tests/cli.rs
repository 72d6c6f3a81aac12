//! The `trailhound` binary as a user runs it: simulate, train, scan, eval, model,
//! on a small simulated account.

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trailhound"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run trailhound")
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "trailhound {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A training day without attacks, a scanned day with attacks, and a model.
struct Data {
    _dir: tempfile::TempDir,
    train: PathBuf,
    scan: PathBuf,
    model: PathBuf,
}

fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let train = dir.path().join("train");
        let scan = dir.path().join("scan");
        let model = dir.path().join("model.bin");
        let s = |p: &Path| p.to_str().expect("utf-8 path").to_owned();
        ok(&[
            "simulate",
            "--out",
            &s(&train),
            "--days",
            "1",
            "--events-per-day",
            "3000",
            "--no-attacks",
        ]);
        ok(&[
            "simulate",
            "--out",
            &s(&scan),
            "--days",
            "1",
            "--events-per-day",
            "3000",
            "--seed",
            "5",
        ]);
        ok(&["train", &s(&train), "--out", &s(&model)]);
        Data {
            _dir: dir,
            train,
            scan,
            model,
        }
    })
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Keys a finding carries only when they apply (alert hygiene).
const OPTIONAL_FINDING_KEYS: [&str; 3] = ["repeats", "duplicate_of", "suppressed_by"];

const FINDING_KEYS: [&str; 14] = [
    "finding_id",
    "event_id",
    "source",
    "time",
    "account",
    "region",
    "principal",
    "action",
    "score",
    "severity",
    "severity_score",
    "detections",
    "reasons",
    "model_version",
];

#[test]
fn scan_prints_findings_as_json_lines_with_the_documented_keys() {
    let d = data();
    let out = ok(&["scan", p(&d.scan), "--model", p(&d.model)]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert!(!lines.is_empty(), "the simulated attacks give findings");
    for v in &lines {
        let obj = v.as_object().expect("object");
        // Every documented key, plus the deduplication ones where they apply.
        let mut keys: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| !OPTIONAL_FINDING_KEYS.contains(k))
            .collect();
        keys.sort_unstable();
        let mut want = FINDING_KEYS.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want);
        assert!(
            ["low", "medium", "high", "critical"]
                .contains(&v["severity"].as_str().expect("severity"))
        );
        let s = v["severity_score"].as_f64().expect("severity_score");
        assert!((1.0..=10.0).contains(&s));
        assert!(!v["reasons"].as_array().expect("reasons").is_empty());
    }
    assert!(
        lines
            .iter()
            .any(|v| v["action"] == "cloudtrail:StopLogging" && v["severity"] == "critical")
    );
}

#[test]
fn scan_all_prints_every_event_including_those_without_severity() {
    let d = data();
    let all = ok(&["scan", p(&d.scan), "--model", p(&d.model), "--all"]);
    let flagged = ok(&["scan", p(&d.scan), "--model", p(&d.model)]);
    let labels = std::fs::read_to_string(d.scan.join("labels.csv")).expect("labels");
    // Threshold findings (a burst, not one event) come on top of the event lines.
    let thresholds = all
        .lines()
        .filter(|l| l.contains("\"ct.threshold."))
        .count();
    assert!(
        thresholds > 0,
        "the simulated brute force crosses a threshold"
    );
    assert_eq!(
        all.lines().count() - thresholds,
        labels.lines().count() - 1,
        "one line per event"
    );
    let nulls = all
        .lines()
        .filter(|l| l.contains("\"severity\":null"))
        .count();
    assert_eq!(nulls + flagged.lines().count(), all.lines().count());
}

#[test]
fn scan_is_deterministic_and_findings_out_never_duplicates() {
    let d = data();
    let a = ok(&["scan", p(&d.scan), "--model", p(&d.model)]);
    let b = ok(&["scan", p(&d.scan), "--model", p(&d.model)]);
    assert_eq!(a, b);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("findings.jsonl");
    ok(&[
        "scan",
        p(&d.scan),
        "--model",
        p(&d.model),
        "--findings-out",
        p(&store),
    ]);
    let first = std::fs::read_to_string(&store)
        .expect("store")
        .lines()
        .count();
    ok(&[
        "scan",
        p(&d.scan),
        "--model",
        p(&d.model),
        "--findings-out",
        p(&store),
    ]);
    let second = std::fs::read_to_string(&store)
        .expect("store")
        .lines()
        .count();
    assert_eq!(first, a.lines().count());
    assert_eq!(first, second, "a rescan adds nothing");
}

#[test]
fn table_format_has_a_header_and_a_row_per_finding() {
    let d = data();
    let jsonl = ok(&["scan", p(&d.scan), "--model", p(&d.model)]);
    let table = ok(&[
        "scan",
        p(&d.scan),
        "--model",
        p(&d.model),
        "--format",
        "table",
    ]);
    assert!(table.starts_with("SEVERITY"));
    assert_eq!(table.lines().count(), jsonl.lines().count() + 1);
}

#[test]
fn eval_reports_the_metrics_and_every_scenario() {
    let d = data();
    let out = ok(&[
        "eval",
        p(&d.scan),
        "--labels",
        p(&d.scan.join("labels.csv")),
        "--model",
        p(&d.model),
    ]);
    for word in [
        "precision",
        "recall",
        "F1",
        "ROC-AUC",
        "false alerts per 1,000",
        "Confusion matrix",
        "logging-tampering",
    ] {
        assert!(out.contains(word), "missing {word} in\n{out}");
    }
    let json = ok(&[
        "eval",
        p(&d.scan),
        "--labels",
        p(&d.scan.join("labels.csv")),
        "--model",
        p(&d.model),
        "--json",
    ]);
    let m: serde_json::Value = serde_json::from_str(&json).expect("json metrics");
    let auc = m["roc_auc"].as_f64().expect("auc");
    assert!(auc > 0.9, "ROC-AUC {auc}");
    let stop = &m["scenarios"]["logging-tampering"];
    assert!(stop["flagged"].as_u64().expect("flagged") > 0, "{m}");
}

#[test]
fn a_corrupt_file_is_named_and_the_others_still_scanned() {
    let d = data();
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir
        .path()
        .join("123456789012_CloudTrail_us-east-1_20240304T0000Z_bad.json.gz");
    std::fs::write(&bad, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 9, 9, 9]).expect("write");
    let out = run(&["scan", p(dir.path()), p(&d.scan), "--model", p(&d.model)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("_bad.json.gz"), "{err}");
    assert!(!out.stdout.is_empty(), "the good files were still scanned");
}

#[test]
fn a_corrupt_or_foreign_model_is_refused_with_a_clear_error() {
    let d = data();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = std::fs::read(&d.model).expect("model");
    let n = bytes.len();
    bytes[n - 10] ^= 0xff;
    let bad = dir.path().join("bad.bin");
    std::fs::write(&bad, &bytes).expect("write");
    let out = run(&["scan", p(&d.scan), "--model", p(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum"));
    let out = run(&["model", "info", p(&d.scan.join("labels.csv"))]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a trailhound model"));
    let info: serde_json::Value =
        serde_json::from_str(&ok(&["model", "info", p(&d.model)])).expect("info");
    assert_eq!(info["trees"], 100);
    assert!(info["training"]["rows"].as_u64().expect("rows") > 1000);
}

#[test]
fn simulate_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    for out in [&a, &b] {
        ok(&[
            "simulate",
            "--out",
            p(out),
            "--days",
            "1",
            "--events-per-day",
            "500",
            "--seed",
            "3",
        ]);
    }
    assert_eq!(
        std::fs::read(a.join("labels.csv")).expect("a"),
        std::fs::read(b.join("labels.csv")).expect("b")
    );
    let _ = &data().train;
}

/// A file of the repository, for the tests that check the docs.
fn doc(path: &str) -> String {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn docs_document_every_feature_rule_and_command() {
    let cloudtrail = doc("docs/sources/cloudtrail.md");
    for f in trailhound_core::features::cloudtrail::FEATURES {
        assert!(
            cloudtrail.contains(&format!("`{}`", f.name)),
            "docs/sources/cloudtrail.md lacks feature {}",
            f.name
        );
    }
    let vpcflow = doc("docs/sources/vpcflow.md");
    for f in trailhound_core::features::vpcflow::FEATURES {
        assert!(
            vpcflow.contains(&format!("`{}`", f.name)),
            "docs/sources/vpcflow.md lacks window feature {}",
            f.name
        );
    }
    let access_log = doc("docs/sources/access-log.md");
    for f in trailhound_core::features::access_log::FEATURES {
        assert!(
            access_log.contains(&format!("`{}`", f.name)),
            "docs/sources/access-log.md lacks window feature {}",
            f.name
        );
    }
    let detections = doc("docs/detections.md");
    for id in [
        "web.brute_force",
        "web.content_scan",
        "web.http_flood",
        "web.credential_stuffing",
        "net.port_scan",
        "net.brute_force",
        "net.exfiltration",
        "net.lateral_movement",
        "net.syn_flood",
    ] {
        assert!(
            detections.contains(&format!("`{id}`")),
            "docs/detections.md lacks window rule {id}"
        );
    }
    for r in trailhound_core::rules::rules() {
        assert!(
            detections.contains(&format!("`{}`", r.id)),
            "docs/detections.md lacks rule {}",
            r.id
        );
    }
    let readme = doc("README.md");
    let cli = doc("docs/cli.md");
    for cmd in [
        "simulate",
        "train",
        "scan",
        "eval",
        "demo",
        "model info",
        "model push",
    ] {
        assert!(
            readme.contains(&format!("trailhound {cmd}")),
            "README lacks `trailhound {cmd}`"
        );
        assert!(
            cli.contains(&format!("## `trailhound {cmd}"))
                || cli.contains(&format!("and `trailhound {cmd}`")),
            "docs/cli.md has no section for `trailhound {cmd}`"
        );
    }
    for key in FINDING_KEYS.iter().chain(&OPTIONAL_FINDING_KEYS) {
        assert!(
            cli.contains(&format!("`{key}`")),
            "docs/cli.md lacks output field {key}"
        );
    }
}
