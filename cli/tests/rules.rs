//! `trailhound rules list` and `trailhound rules test` as a user runs them, on the
//! Sigma corpus of the core's fixtures and on broken copies of it; and `scan
//! --rules` on a log file with a brute force.

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(args)
        .output()
        .expect("run trailhound")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/core/tests/fixtures/sigma")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn rules_list_shows_the_builtin_pack_and_the_loaded_files() {
    let o = run(&["rules", "list"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    for r in trailhound_core::rules::rules() {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{} ", r.id)))
            .unwrap_or_else(|| panic!("{} not listed:\n{text}", r.id));
        assert!(
            line.contains(r.technique) && line.contains("16.1"),
            "{line}"
        );
        assert!(line.contains("built-in"), "{line}");
    }
    assert!(
        text.contains("ct.threshold.console_brute_force_ip"),
        "{text}"
    );

    let dir = fixtures().join("rules");
    let o = run(&["rules", "list", "--rules", path(&dir), "--json"]);
    assert!(o.status.success());
    let rows: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stop = rows
        .iter()
        .find(|r| r["id"] == "4d9c2c5e-3c1a-4f57-9d0e-6a1b7c2d8e01")
        .expect("corpus rule listed");
    assert_eq!(stop["severity"], 9.5);
    assert_eq!(stop["technique"], "T1562.008");
    assert_eq!(stop["kind"], "sigma");
    assert!(
        stop["origin"]
            .as_str()
            .unwrap()
            .ends_with("cloudtrail_stopped.yml")
    );
}

#[test]
fn rules_list_reports_files_that_do_not_load_and_lists_the_rest() {
    let o = run(&["rules", "list", "--rules", path(&fixtures().join("bad"))]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.contains("good-among-bad"), "{text}");
    for (file, why) in [
        ("unknown_modifier.yml", "unknown modifier `containz`"),
        ("missing_detection.yml", "missing `detection`"),
        ("bad_condition.yml", "missing `)`"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("not loaded:") && l.contains(file) && l.contains(why)),
            "{file}: {why}\n{text}"
        );
    }
}

#[test]
fn rules_test_passes_on_the_corpus_and_builtins() {
    let o = run(&["rules", "test", path(&fixtures().join("rules"))]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}");
    assert!(
        text.contains("ok    ct.cloudtrail.stop_logging: 2 fixtures"),
        "{text}"
    );
    assert!(
        text.contains("(rule file failed_logins_burst): 4 fixtures"),
        "{text}"
    );
    assert!(
        text.contains(
            "ok    ct.base.console_login_failed, ct.threshold.console_brute_force_ip, ct.threshold.console_brute_force_user (rule file console_brute_force): 2 fixtures"
        ),
        "{text}"
    );
    let last = text.lines().last().unwrap();
    assert!(
        last.contains(" fixtures for ") && last.contains(" rules: ") && last.ends_with(" 0 failed"),
        "{last}"
    );
}

#[test]
fn rules_test_fails_with_a_per_rule_list_when_a_test_event_disagrees() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("rules"), tmp.path());
    // A non-matching event that now matches: the SSH-from-anywhere record.
    let tests = tmp.path().join("tests/sg_open_world");
    std::fs::copy(
        tests.join("match/ssh_from_anywhere.json"),
        tests.join("nomatch/actually_matches.json"),
    )
    .unwrap();
    // A rule file that no longer loads: its tests fail too.
    let rule = tmp.path().join("scripted_client.yml");
    let text = std::fs::read_to_string(&rule).unwrap();
    std::fs::write(
        &rule,
        text.replace("condition: all of sel_*", "condition: all of nothing_*"),
    )
    .unwrap();
    // A rule file without test events is noted, not failed.
    std::fs::write(
        tmp.path().join("untested.yml"),
        "title: u\ndetection:\n  s:\n    eventName: X\n  condition: s\n",
    )
    .unwrap();

    let o = run(&["rules", "test", path(tmp.path())]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("(rule file sg_open_world): 1 of 5 fixtures failed"),
        "{out}"
    );
    assert!(
        out.contains("actually_matches.json [nomatch]: expected no match, the rule fired"),
        "{out}"
    );
    assert!(
        out.contains("FAIL  scripted_client: 3 of 3 fixtures failed"),
        "{out}"
    );
    assert!(
        out.contains("FAIL  not loaded:") && out.contains("scripted_client.yml"),
        "{out}"
    );
    assert!(out.contains("note: untested has no test events"), "{out}");
    assert!(out.lines().last().unwrap().ends_with(" 5 failed"), "{out}");
}

#[test]
fn scan_with_rules_reports_sigma_hits_and_thresholds() {
    let tmp = tempfile::tempdir().unwrap();
    let core = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/core");
    let burst = core.join(
        "src/rules/sigma/builtin/tests/console_brute_force/match/one_address_twelve_failures.json",
    );
    let stop = fixtures().join("rules/tests/cloudtrail_stopped/match/stop_logging.json");
    let mut records: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(burst).unwrap()).unwrap();
    let stop: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(stop).unwrap()).unwrap();
    records["Records"].as_array_mut().unwrap().push(stop);
    let file = tmp
        .path()
        .join("123456789012_CloudTrail_us-east-1_20240304T1015Z_abc.json");
    std::fs::write(&file, serde_json::to_vec(&records).unwrap()).unwrap();

    let o = run(&[
        "scan",
        path(&file),
        "--rules",
        path(&fixtures().join("rules")),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let findings: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = findings
        .iter()
        .flat_map(|f| f["detections"].as_array().unwrap())
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"ct.threshold.console_brute_force_ip"),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"4d9c2c5e-3c1a-4f57-9d0e-6a1b7c2d8e01"),
        "{ids:?}"
    );
    // Without --rules the built-in threshold rules still run, user rules do not.
    let o = run(&["scan", path(&file)]);
    let text = stdout(&o);
    assert!(text.contains("ct.threshold.console_brute_force_ip"));
    assert!(!text.contains("4d9c2c5e-3c1a-4f57-9d0e-6a1b7c2d8e01"));
}

#[test]
fn docs_document_the_rules_commands_options_and_every_rule() {
    let read = |path: &str| {
        std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let cli = read("docs/cli.md");
    for needle in [
        "trailhound rules list",
        "trailhound rules test",
        "`--rules DIR`",
    ] {
        assert!(cli.contains(needle), "docs/cli.md lacks {needle}");
    }
    let detections = read("docs/detections.md");
    for needle in [
        "trailhound rules test",
        "`--rules DIR`",
        "`RULES_DIR`",
        "tests/<stem>/match/",
        "### Sigma support",
    ] {
        assert!(
            detections.contains(needle),
            "docs/detections.md lacks {needle}"
        );
    }
    let (set, errors) = trailhound_core::rules::sigma::RuleSet::builtin();
    assert!(errors.is_empty());
    for r in set.rules() {
        assert!(
            detections.contains(&format!("`{}`", r.id)),
            "docs/detections.md lacks threshold rule {}",
            r.id
        );
    }
    for r in trailhound_core::rules::rules() {
        let row = detections
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", r.id)))
            .unwrap_or_else(|| panic!("docs/detections.md has no table row for {}", r.id));
        assert!(
            row.contains(r.technique) && row.contains(r.attack_version),
            "docs/detections.md row of {} lacks its technique or ATT&CK version: {row}",
            r.id
        );
    }
}
