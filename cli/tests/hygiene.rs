//! Alert hygiene from the command line: `--suppressions` and `--dedup-window` on a
//! small simulated day with root usage and an access key created for another user
//! (rules only, no model).

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(args)
        .output()
        .expect("run trailhound")
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_owned()
}

struct Day {
    dir: tempfile::TempDir,
    logs: PathBuf,
}

fn day() -> &'static Day {
    static DAY: OnceLock<Day> = OnceLock::new();
    DAY.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path().join("logs");
        let out = run(&[
            "simulate",
            "--out",
            &s(&logs),
            "--days",
            "1",
            "--events-per-day",
            "500",
            "--scenarios",
            "root-usage,access-key-other-user",
            "--no-digest",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Day { dir, logs }
    })
}

fn write(name: &str, text: &str) -> PathBuf {
    let p = day().dir.path().join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// Runs `scan` and returns the findings (JSON lines) and the closing summary.
fn scan(extra: &[&str]) -> (Vec<serde_json::Value>, String) {
    let logs = s(&day().logs);
    let mut args = vec!["scan", logs.as_str()];
    args.extend_from_slice(extra);
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "scan {extra:?}: {stderr}");
    let findings = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON finding"))
        .collect();
    (findings, stderr)
}

/// The number before `word` in the summary line (`… 3 suppressed …`).
fn count(summary: &str, word: &str) -> u64 {
    let line = summary
        .lines()
        .find(|l| l.starts_with("scanned "))
        .unwrap_or_else(|| panic!("no summary line in {summary}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.trim_matches(|c: char| !c.is_alphanumeric()) == word)
        .unwrap_or_else(|| panic!("no `{word}` in {line}"));
    words[at - 1]
        .trim_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or_else(|_| panic!("no count before `{word}` in {line}"))
}

fn detection(f: &serde_json::Value) -> &str {
    f["detections"][0]["id"].as_str().unwrap_or("")
}

#[test]
fn a_bad_suppression_file_is_a_clear_error_with_exit_code_2() {
    let logs = s(&day().logs);
    let cases = [
        (
            "no-reason.yaml",
            "suppressions:\n  - detection: ct.root.usage\n",
            "suppression entry 1",
        ),
        (
            "typo.yaml",
            "suppressions:\n  - detection: ct.root.usage\n    reason: break-glass drill\n    principel: x\n",
            "line 4",
        ),
        (
            "bad-date.yaml",
            "suppressions:\n  - detection: ct.root.usage\n    reason: drill\n    expires: next week\n",
            "YYYY-MM-DD",
        ),
    ];
    for (name, yaml, expected) in cases {
        let file = write(name, yaml);
        let out = run(&["scan", &logs, "--suppressions", &s(&file)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: the file is named: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}: nothing scanned");
    }
    let out = run(&["scan", &logs, "--suppressions", "/nonexistent/s.yaml"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn suppressed_findings_are_printed_with_the_reason_and_counted() {
    let (plain, _) = scan(&["--dedup-window", "0"]);
    let keys = plain
        .iter()
        .filter(|f| detection(f) == "ct.iam.access_key_other_user")
        .count();
    assert!(
        keys > 0,
        "the scenario creates access keys for another user"
    );
    let file = write(
        "ok.yaml",
        "suppressions:\n  - detection: ct.iam.access_key_other_user\n    reason: the helpdesk role issues keys\n  - principal: \"*:role/old-*\"\n    reason: gone\n    expires: 2020-01-01\n",
    );
    let (findings, summary) = scan(&["--dedup-window", "0", "--suppressions", &s(&file)]);
    assert!(
        summary.contains("expired"),
        "the expired entry is reported: {summary}"
    );
    assert_eq!(
        findings.len(),
        plain.len(),
        "suppressed findings are still reported"
    );
    let suppressed: Vec<_> = findings
        .iter()
        .filter(|f| f["suppressed_by"] == "the helpdesk role issues keys")
        .collect();
    assert_eq!(suppressed.len(), keys);
    assert!(
        suppressed
            .iter()
            .all(|f| detection(f) == "ct.iam.access_key_other_user")
    );
    let at_medium = suppressed.iter().filter(|f| f["severity"] != "low").count() as u64;
    assert_eq!(count(&summary, "suppressed"), at_medium);
}

#[test]
fn root_usage_alerts_once_per_window_and_the_rest_is_counted() {
    let (off, summary_off) = scan(&["--dedup-window", "0"]);
    let (on, summary_on) = scan(&["--dedup-window", "1h"]);
    let root = |fs: &[serde_json::Value]| {
        fs.iter()
            .filter(|f| detection(f) == "ct.root.usage")
            .count()
    };
    assert!(root(&off) >= 3, "the scenario makes several root calls");
    assert_eq!(root(&on), root(&off), "every hit is still reported");
    assert_eq!(count(&summary_off, "deduplicated"), 0);
    let deduplicated = count(&summary_on, "deduplicated");
    assert!(deduplicated >= 2, "{summary_on}");
    assert_eq!(
        count(&summary_on, "alerts") + deduplicated,
        count(&summary_off, "alerts"),
        "{summary_on}\n{summary_off}"
    );
    let repeats: Vec<_> = on
        .iter()
        .filter(|f| detection(f) == "ct.root.usage" && f["duplicate_of"].is_string())
        .collect();
    assert!(!repeats.is_empty());
    let first = repeats[0]["duplicate_of"].as_str().unwrap();
    assert!(
        on.iter().any(|f| f["finding_id"] == first),
        "duplicate_of names a reported finding"
    );
}
