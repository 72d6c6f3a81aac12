//! The CLI's local stores under hostile conditions: several `trailhound scan`
//! processes writing one findings file or one profiles file at once, a findings
//! file torn by `kill -9` or holding bytes that are not UTF-8, a reader that closes
//! the pipe early, and log fields carrying terminal escape sequences.

// Integration tests fail loudly on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trailhound"))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn ok(args: &[&str]) -> Output {
    let out = bin().args(args).output().expect("run trailhound");
    assert!(
        out.status.success(),
        "trailhound {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn spawn(args: &[String]) -> Child {
    bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn trailhound")
}

fn finish(child: Child, what: &str) -> Output {
    let out = child.wait_with_output().expect("wait for trailhound");
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Two simulated days (different seeds) and four simulated days, each in its own
/// directory, made once for every test.
struct Data {
    _dir: tempfile::TempDir,
    a: PathBuf,
    b: PathBuf,
    four_days: PathBuf,
}

fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let four_days = dir.path().join("four");
        for (out, seed, days) in [(&a, "11", "1"), (&b, "12", "1"), (&four_days, "13", "4")] {
            ok(&[
                "simulate",
                "--out",
                s(out),
                "--days",
                days,
                "--events-per-day",
                "1500",
                "--seed",
                seed,
            ]);
        }
        Data {
            _dir: dir,
            a,
            b,
            four_days,
        }
    })
}

/// Every CloudTrail file under `dir`.
fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".json.gz") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The finding ids of a JSON-lines text, asserting every line parses.
fn ids_of(text: &str, what: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{what} line {}: {e}: {line:.200}", i + 1));
            v["finding_id"]
                .as_str()
                .unwrap_or_else(|| panic!("{what} line {}: no finding_id", i + 1))
                .to_owned()
        })
        .collect()
}

fn alert_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.starts_with("ALERT "))
        .map(str::to_owned)
        .collect()
}

fn scan_args(input: &Path, extra: &[&str]) -> Vec<String> {
    let mut v = vec!["scan".to_owned(), s(input).to_owned()];
    v.extend(extra.iter().map(|x| (*x).to_owned()));
    v
}

/// Regression: four scans appending to one `--findings-out` file at once wrote
/// interleaved, unparseable lines and lost findings, and two scans of the same logs
/// both stored and alerted the same findings.
#[test]
fn concurrent_findings_out_writers_keep_every_finding_once_and_alert_once() {
    let d = data();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("findings.jsonl");
    let flags = ["--findings-out", s(&out), "--alerts", "--dedup-window", "0"];
    // What each input holds, scanned alone without a store.
    let want: HashSet<String> = [&d.a, &d.b]
        .iter()
        .flat_map(|input| {
            let o = ok(&["scan", s(input)]);
            ids_of(&String::from_utf8_lossy(&o.stdout), "plain scan")
        })
        .collect();
    assert!(want.len() > 20, "the simulated days should have findings");
    // The alerts sequential runs print: each input twice, one after the other, into
    // one file (the repeats alert nothing).
    let seq_file = tmp.path().join("sequential.jsonl");
    let mut want_alerts = Vec::new();
    for input in [&d.a, &d.a, &d.b, &d.b] {
        let o = ok(&[
            "scan",
            s(input),
            "--findings-out",
            s(&seq_file),
            "--alerts",
            "--dedup-window",
            "0",
        ]);
        want_alerts.extend(alert_lines(&o.stderr));
    }
    assert!(!want_alerts.is_empty(), "the simulated days should alert");

    for round in 0..2 {
        let _ = std::fs::remove_file(&out);
        let children: Vec<Child> = [&d.a, &d.b, &d.a, &d.b]
            .iter()
            .map(|input| spawn(&scan_args(input, &flags)))
            .collect();
        let mut alerts = Vec::new();
        for c in children {
            alerts.extend(alert_lines(&finish(c, "concurrent scan").stderr));
        }
        let text = std::fs::read_to_string(&out).unwrap();
        let ids = ids_of(&text, "findings file");
        let unique: HashSet<String> = ids.iter().cloned().collect();
        assert_eq!(unique.len(), ids.len(), "round {round}: an id stored twice");
        assert_eq!(unique, want, "round {round}: findings lost or invented");
        let mut got_sorted = alerts.clone();
        got_sorted.sort();
        let mut want_sorted = want_alerts.clone();
        want_sorted.sort();
        assert_eq!(
            got_sorted.len(),
            want_sorted.len(),
            "round {round}: alerts across the concurrent runs"
        );
        assert_eq!(got_sorted, want_sorted, "round {round}: alerts differ");
    }
}

/// Regression: a findings file whose last line was cut by `kill -9` got the next
/// scan's first finding glued onto it, and one byte that is not UTF-8 anywhere in
/// the file made every later scan refuse to start.
#[test]
fn a_torn_or_non_utf8_findings_file_is_repaired_without_losing_stored_lines() {
    let d = data();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("findings.jsonl");
    ok(&["scan", s(&d.a), "--findings-out", s(&out)]);
    let first = std::fs::read(&out).unwrap();
    let first_ids = ids_of(std::str::from_utf8(&first).unwrap(), "first scan");
    // A line that is not UTF-8, then a torn write (a finding cut mid-way).
    let garbage = b"{\"finding_id\":\"\xff\xfe\"}\n".to_vec();
    let torn = b"{\"finding_id\":\"0123456789abcdef\",\"source\":\"cloud".to_vec();
    let mut damaged = first.clone();
    damaged.extend_from_slice(&garbage);
    damaged.extend_from_slice(&torn);
    std::fs::write(&out, &damaged).unwrap();

    let o = ok(&["scan", s(&d.b), "--findings-out", s(&out)]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("repaired 1 torn line"),
        "the repair is reported: {stderr}"
    );
    assert!(
        stderr.contains("skipped 1 line"),
        "the unreadable line is reported: {stderr}"
    );
    let after = std::fs::read(&out).unwrap();
    let kept = [first.as_slice(), garbage.as_slice()].concat();
    assert!(
        after.starts_with(&kept),
        "stored lines are kept byte for byte"
    );
    assert_eq!(
        std::fs::read(tmp.path().join("findings.jsonl.torn")).unwrap(),
        torn,
        "the cut bytes are kept aside"
    );
    let rest = std::str::from_utf8(&after[kept.len()..]).unwrap();
    let new_ids = ids_of(rest, "second scan");
    assert!(!new_ids.is_empty(), "the second scan stored its findings");
    let all: HashSet<&String> = first_ids.iter().chain(&new_ids).collect();
    assert_eq!(all.len(), first_ids.len() + new_ids.len(), "no id twice");

    // A third scan of the same logs adds nothing and repairs nothing.
    let o = ok(&["scan", s(&d.b), "--findings-out", s(&out)]);
    assert_eq!(std::fs::read(&out).unwrap(), after);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("repaired"));
}

fn profiles_of(path: &Path) -> BTreeMap<String, serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["profiles"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn events_of(p: &BTreeMap<String, serde_json::Value>) -> u64 {
    p.values().map(|v| v["events"].as_u64().unwrap()).sum()
}

/// Regression: four scans updating one `--profiles` file at once kept only the
/// last writer's learning (about a quarter of the events).
#[test]
fn concurrent_profile_writers_keep_all_learned_events() {
    let d = data();
    let files = log_files(&d.four_days);
    // Group by UTC date (the last three directories, YYYY/MM/DD, across regions),
    // then into four disjoint groups of consecutive dates (a simulated day can
    // spill past midnight).
    let mut dirs: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for f in files {
        let parts: Vec<String> = f
            .parent()
            .unwrap()
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let date = parts[parts.len().saturating_sub(3)..].join("/");
        dirs.entry(date).or_default().push(f);
    }
    assert!(dirs.len() >= 4, "several days: {:?}", dirs.keys());
    let mut groups: Vec<Vec<PathBuf>> = dirs.into_values().collect();
    while groups.len() > 4 {
        let last = groups.pop().unwrap();
        groups.last_mut().unwrap().extend(last);
    }
    assert_eq!(groups.len(), 4);
    let days = groups;
    let tmp = tempfile::tempdir().unwrap();
    let sequential = tmp.path().join("sequential.json");
    for files in &days {
        let mut args = vec!["scan".to_owned()];
        args.extend(files.iter().map(|f| s(f).to_owned()));
        args.extend(["--profiles".to_owned(), s(&sequential).to_owned()]);
        finish(spawn(&args), "sequential scan");
    }
    let want = profiles_of(&sequential);
    assert!(events_of(&want) > 1000, "the days were learned");

    let parallel = tmp.path().join("parallel.json");
    let children: Vec<Child> = days
        .iter()
        .map(|files| {
            let mut args = vec!["scan".to_owned()];
            args.extend(files.iter().map(|f| s(f).to_owned()));
            args.extend(["--profiles".to_owned(), s(&parallel).to_owned()]);
            spawn(&args)
        })
        .collect();
    for c in children {
        finish(c, "parallel scan");
    }
    let got = profiles_of(&parallel);
    assert_eq!(events_of(&got), events_of(&want), "learned events");
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert_eq!(got, want, "merges commute: the same profiles in any order");
}

/// Regression: `scan … | head -1` exited 2 with an error and did not save the
/// profiles or finish the findings file.
#[test]
fn a_closed_stdout_stops_printing_but_the_stores_complete() {
    let d = data();
    let tmp = tempfile::tempdir().unwrap();
    let profiles = tmp.path().join("profiles.json");
    let findings = tmp.path().join("findings.jsonl");
    // The reference: the same scan with stdout read to the end.
    let ref_findings = tmp.path().join("ref.jsonl");
    ok(&["scan", s(&d.a), "--findings-out", s(&ref_findings)]);
    let want = ids_of(&std::fs::read_to_string(&ref_findings).unwrap(), "ref");

    let mut child = bin()
        .args([
            "scan",
            s(&d.a),
            "--all",
            "--profiles",
            s(&profiles),
            "--findings-out",
            s(&findings),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut r = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with('{'), "{line}");
    } // the read end closes here, like `head -1` exiting
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("error"), "quiet about the pipe: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let got = ids_of(&std::fs::read_to_string(&findings).unwrap(), "findings");
    assert_eq!(
        got.iter().collect::<HashSet<_>>(),
        want.iter().collect::<HashSet<_>>()
    );
    assert!(events_of(&profiles_of(&profiles)) > 100, "profiles saved");
}

/// An ARN carrying the usual terminal attacks: clear screen, an OSC 8 hyperlink,
/// a window title ended by BEL, a one-byte CSI (U+009B) and a right-to-left
/// override.
const HOSTILE_ARN: &str = "arn:aws:iam::123456789012:user/\u{1b}[2J\u{1b}]8;;https://evil.example/\u{1b}\\x\u{1b}]8;;\u{1b}\\\u{1b}]0;pwned\u{7}\u{9b}31m\u{202e}nimda";

fn hostile_log(dir: &Path) -> PathBuf {
    let record = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": HOSTILE_ARN,
            "accountId": "123456789012", "userName": "mallory"},
        "eventTime": "2024-03-04T10:15:30Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "\u{1b}[2J\u{1b}]0;title\u{7}aws-cli/2.15.30",
        "requestParameters": {"name": "main"},
        "responseElements": null,
        "requestID": "1a2b3c4d-0000-4000-8000-0000000000aa",
        "eventID": "e0000000-0000-4000-8000-0000000000aa",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "123456789012",
    });
    let path = dir.join("hostile.json");
    let mut f = std::fs::File::create(&path).unwrap();
    serde_json::to_writer(&mut f, &serde_json::json!({"Records": [record]})).unwrap();
    f.flush().unwrap();
    path
}

fn assert_inert(text: &str, what: &str) {
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(bad), "{what} carries {bad:?} raw: {text:?}");
    }
}

/// Regression: `--alerts` and `--format table` printed escape sequences from log
/// fields raw, so a crafted ARN could clear the screen or plant a hyperlink.
#[test]
fn alerts_table_and_jsonl_print_escape_sequences_inert() {
    let tmp = tempfile::tempdir().unwrap();
    let log = hostile_log(tmp.path());
    let o = ok(&["scan", s(&log), "--format", "table", "--alerts"]);
    let stdout = String::from_utf8(o.stdout).unwrap();
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(stderr.contains("ALERT [CRITICAL]"), "{stderr}");
    assert!(
        stderr.contains("\\x1b]0;pwned\\x07\\u{9b}31m\\u{202e}nimda"),
        "the escapes are shown as text: {stderr}"
    );
    assert!(stdout.contains("StopLogging"), "{stdout}");
    assert_inert(&stdout, "table");
    assert_inert(&stderr, "alerts");

    let o = ok(&["scan", s(&log)]);
    let jsonl = String::from_utf8(o.stdout).unwrap();
    assert_inert(&jsonl, "jsonl");
    let v: serde_json::Value = serde_json::from_str(jsonl.trim()).unwrap();
    assert_eq!(v["principal"], HOSTILE_ARN, "JSON keeps the value exact");
}

/// Regression: `rules list` printed Sigma titles from user files raw.
#[test]
fn rules_list_prints_hostile_titles_inert() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("evil.yml"),
        "title: \"Evil \\e[2J\\e]8;;https://evil.example/\\e\\\\link \\u009b31m \\u202eeman\"\n\
         id: 5f1b8c1e-0000-4000-8000-000000000001\n\
         status: test\n\
         logsource:\n  product: aws\n  service: cloudtrail\n\
         detection:\n  selection:\n    eventName: StopLogging\n  condition: selection\n\
         level: high\n",
    )
    .unwrap();
    let o = ok(&["rules", "list", "--rules", s(tmp.path())]);
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(stdout.contains("Evil"), "the rule loaded: {stdout}");
    assert_inert(&stdout, "rules list");
    assert_inert(&String::from_utf8(o.stderr).unwrap(), "rules list stderr");
}
