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
        "--min-severity",
        "low",
        "--sort",
        "time",
    ]);
    assert!(table.starts_with("SEVERITY"));
    let rows = table.lines().skip(1).take_while(|l| !l.is_empty()).count();
    assert_eq!(rows, jsonl.lines().count());
}

/// Severities of table rows, in order, and the closing summary line.
fn table_rows(table: &str) -> (Vec<(String, f64)>, String) {
    let mut lines = table.lines();
    assert!(
        lines.next().unwrap_or("").starts_with("SEVERITY"),
        "{table}"
    );
    let rows = lines
        .by_ref()
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let mut w = l.split_whitespace();
            let sev = w.next().unwrap().to_owned();
            let score: f64 = w.next().unwrap().parse().unwrap();
            (sev, score)
        })
        .collect();
    (rows, lines.next().unwrap_or("").to_owned())
}

#[test]
fn the_table_shows_the_worst_first_then_a_summary_per_severity() {
    let d = data();
    let all: Vec<serde_json::Value> = ok(&["scan", p(&d.scan), "--model", p(&d.model)])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let count = |s: &str| all.iter().filter(|f| f["severity"] == s).count();
    let table = ok(&[
        "scan",
        p(&d.scan),
        "--model",
        p(&d.model),
        "--format",
        "table",
    ]);
    let (rows, summary) = table_rows(&table);
    // Default: what alerts (medium and up), worst first.
    assert_eq!(rows.len(), all.len() - count("low"), "{table}");
    assert!(rows.iter().all(|(s, _)| s != "low"), "{table}");
    assert!(
        rows.windows(2).all(|w| w[0].1 >= w[1].1),
        "sorted by severity score: {table}"
    );
    assert!(rows.first().is_some_and(|r| r.0 == "critical"), "{table}");
    let mut want = Vec::new();
    for s in ["critical", "high", "medium", "low"] {
        if count(s) > 0 {
            want.push(format!("{s} {}", count(s)));
        }
    }
    let want = want.join(" · ");
    assert!(summary.starts_with(&want), "{summary} vs {want}");
    if count("low") > 0 {
        assert!(
            summary.ends_with(&format!(
                "({} hidden: --min-severity low to show)",
                count("low")
            )),
            "{summary}"
        );
    }
    // A higher minimum hides more, and the summary still counts everything.
    let high = ok(&[
        "scan",
        p(&d.scan),
        "--model",
        p(&d.model),
        "--format",
        "table",
        "--min-severity",
        "high",
    ]);
    let (rows, summary) = table_rows(&high);
    assert_eq!(rows.len(), count("critical") + count("high"), "{high}");
    assert!(summary.starts_with(&want), "{summary}");
}

/// The "scanned … N events …, M findings" line of `scan` and the findings it printed.
fn scan_counts(args: &[&str]) -> (u64, u64, String) {
    let out = run(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = stderr
        .lines()
        .find(|l| l.starts_with("scanned "))
        .unwrap_or_else(|| panic!("no summary: {stderr}"))
        .to_owned();
    let number_before = |word: &str| -> u64 {
        let at = line.find(word).unwrap_or_else(|| panic!("{word}: {line}"));
        line[..at]
            .split(|c: char| !c.is_ascii_digit())
            .rfind(|w| !w.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    let (events, findings) = if line.contains("log events") {
        (number_before(" scored"), number_before(" findings"))
    } else {
        (number_before(" events"), number_before(" findings"))
    };
    (events, findings, stderr)
}

fn eval_json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).expect("eval --json")
}

fn attacks_in(labels: &Path) -> u64 {
    std::fs::read_to_string(labels)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some("1"))
        .count() as u64
}

/// Regression: eval counted an event twice when a threshold rule fired on it
/// (7,528 events and 523 attack events where scan read 7,521 and labels.csv had 516).
#[test]
fn scan_and_eval_count_the_same_events_on_the_same_data() {
    let d = data();
    let (events, findings, stderr) = scan_counts(&["scan", p(&d.scan), "--model", p(&d.model)]);
    let m = eval_json(&[
        "eval",
        p(&d.scan),
        "--labels",
        p(&d.scan.join("labels.csv")),
        "--model",
        p(&d.model),
        "--json",
    ]);
    let n = |k: &str| m[k].as_u64().unwrap();
    assert_eq!(n("tp") + n("fp") + n("fn_") + n("tn"), events, "{m}");
    assert_eq!(
        n("tp") + n("fn_"),
        attacks_in(&d.scan.join("labels.csv")),
        "attack events as labelled"
    );
    // The summary per severity adds up to the findings of the closing line.
    let summary = stderr
        .lines()
        .find(|l| l.contains(" · ") || l.starts_with("critical") || l.starts_with("high"))
        .unwrap_or("");
    let total: u64 = summary
        .split(" (")
        .next()
        .unwrap_or("")
        .split(" · ")
        .filter_map(|part| part.split_whitespace().nth(1))
        .map(|n| n.replace(',', "").parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, findings, "{stderr}");
}

#[test]
fn scan_and_eval_count_the_same_flow_log_events() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test, model) = (
        dir.path().join("train"),
        dir.path().join("test"),
        dir.path().join("vpcflow.bin"),
    );
    let s = |x: &Path| x.to_str().unwrap().to_owned();
    ok(&[
        "simulate",
        "--source",
        "vpcflow",
        "--no-attacks",
        "--events-per-day",
        "20000",
        "--out",
        &s(&train),
    ]);
    ok(&[
        "simulate",
        "--source",
        "vpcflow",
        "--seed",
        "2",
        "--events-per-day",
        "20000",
        "--out",
        &s(&test),
    ]);
    let events = s(&train.join("events.jsonl"));
    ok(&["train", "--source", "vpcflow", &events, "--out", &s(&model)]);
    let events = s(&test.join("events.jsonl"));
    let (scored, _, stderr) = scan_counts(&["scan", "--model", &s(&model), &events]);
    let m = eval_json(&[
        "eval",
        "--model",
        &s(&model),
        "--labels",
        &s(&test.join("labels.csv")),
        &events,
        "--json",
    ]);
    let n = |k: &str| m[k].as_u64().unwrap();
    assert_eq!(
        n("tp") + n("fp") + n("fn_") + n("tn"),
        scored,
        "{stderr}\n{m}"
    );
    assert_eq!(n("tp") + n("fn_"), attacks_in(&test.join("labels.csv")));
    // Every log event the simulator wrote is accounted for in the scan's line.
    let rows = std::fs::read_to_string(test.join("labels.csv"))
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    assert!(
        stderr.contains(&format!(" {rows} log events (")),
        "{rows} log events labelled: {stderr}"
    );
}

/// Regression: eval and demo printed with `println!`, which panics (exit 101)
/// when the reader has gone away.
#[test]
fn eval_stops_quietly_when_the_reader_goes_away() {
    let d = data();
    let labels = d.scan.join("labels.csv");
    for args in [
        vec![
            "eval",
            p(&d.scan),
            "--labels",
            p(&labels),
            "--model",
            p(&d.model),
        ],
        vec![
            "eval",
            p(&d.scan),
            "--labels",
            p(&labels),
            "--model",
            p(&d.model),
            "--json",
        ],
    ] {
        let mut child = bin()
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// Regression: `rules test` named threshold rules by their file (`mass_deletion`)
/// and counted fixture files as "rules".
#[test]
fn rules_test_names_rules_as_rules_list_does_and_counts_fixtures() {
    let list = ok(&["rules", "list", "--json"]);
    let ids: Vec<String> = list
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let test = ok(&["rules", "test"]);
    let mut named = std::collections::BTreeSet::new();
    let mut fixtures = 0u64;
    for l in test.lines().filter(|l| l.starts_with("ok    ")) {
        let (names, n) = l["ok    ".len()..].rsplit_once(": ").unwrap();
        fixtures += n.split_whitespace().next().unwrap().parse::<u64>().unwrap();
        let names = names.split(" (rule file").next().unwrap();
        for id in names.split(", ") {
            assert!(
                ids.iter().any(|i| i == id),
                "{id} is not a rules list id: {l}"
            );
            named.insert(id.to_owned());
        }
    }
    let last = test.lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "{fixtures} fixtures for {} rules: {fixtures} passed, 0 failed",
            named.len()
        )
    );
    assert_eq!(named.len(), ids.len(), "every built-in rule has fixtures");
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
