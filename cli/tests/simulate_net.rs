//! `trailhound simulate --source vpcflow|access-log` as a user runs it, and the
//! CloudTrail default left as it was.

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};
use trailhound_simulate::net::{NetScenario, NetSource};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(args)
        .output()
        .expect("run trailhound")
}

fn ok(args: &[&str]) {
    let out = run(args);
    assert!(
        out.status.success(),
        "trailhound {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Every file under `dir`, relative path and bytes, sorted.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .expect("prefix")
                    .display()
                    .to_string();
                out.push((rel, std::fs::read(&path).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn cloudtrail_is_the_default_source_and_writes_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let common = ["--days", "1", "--events-per-day", "300", "--seed", "3"];
    ok(&[&["simulate", "--out", p(&a)][..], &common].concat());
    ok(&[
        &["simulate", "--source", "cloudtrail", "--out", p(&b)][..],
        &common,
    ]
    .concat());
    let (ta, tb) = (tree(&a), tree(&b));
    assert!(ta.iter().any(|(k, _)| k.ends_with(".json.gz")));
    assert!(!a.join("events.jsonl").exists());
    assert_eq!(ta, tb);
}

#[test]
fn flow_and_access_logs_become_subscription_events_and_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (source, scenarios, attack) in [
        ("vpcflow", "port-scan,benign_backup_job", ",1,port-scan\n"),
        (
            "access-log",
            "sql_injection,legit_crawler",
            ",1,sql-injection\n",
        ),
    ] {
        let out = dir.path().join(source);
        ok(&[
            "simulate",
            "--source",
            source,
            "--out",
            p(&out),
            "--events-per-day",
            "800",
            "--seed",
            "9",
            "--scenarios",
            scenarios,
        ]);
        let events = std::fs::read_to_string(out.join("events.jsonl")).expect("events.jsonl");
        assert!(events.lines().count() > 10, "{source}");
        for line in events.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json line");
            assert!(v["awslogs"]["data"].is_string(), "{source}: {line:.80}");
        }
        let labels = std::fs::read_to_string(out.join("labels.csv")).expect("labels.csv");
        assert!(labels.starts_with("event_id,label,scenario\n"), "{source}");
        assert!(labels.contains(attack), "{source}");
        assert!(labels.contains(",0,benign-"), "{source}");
        assert!(labels.contains(",0,\n"), "{source}: ordinary traffic");
    }
}

#[test]
fn a_scenario_of_another_source_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&[
        "simulate",
        "--source",
        "vpcflow",
        "--out",
        p(dir.path()),
        "--scenarios",
        "http-flood",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http-flood"));
}

#[test]
fn docs_list_every_network_scenario() {
    let read = |path: &str| {
        std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let simulator = read("docs/simulator.md");
    for source in [NetSource::VpcFlow, NetSource::AccessLog] {
        for s in NetScenario::all(source) {
            assert!(
                simulator.contains(&format!("| `{}` | {} |", s.name(), source)),
                "docs/simulator.md's scenario table lacks {s} ({source})"
            );
        }
    }
    assert!(read("docs/cli.md").contains("--source cloudtrail|vpcflow|access-log"));
}
